#include "analytics/kafka.h"

#include "analytics/log.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kafka_producer {
    rd_kafka_t *rk;
    pthread_t poller;
    atomic_bool running;
    atomic_bool brokers_up;
    atomic_bool fatal;
    void (*on_delivery)(const struct kafka_delivery *d, void *arg);
    void *arg;
};

struct kafka_consumer {
    rd_kafka_t *rk;
    bool paused; /* consumer thread only */
    void (*on_revoke)(void *arg);
    void *revoke_arg;
};

const char *kafka_topic_name(const char *prefix, const char *name, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%s%s", prefix != NULL ? prefix : "", name);
    return buf;
}

/* Routes librdkafka's own log lines into ours (syslog levels). Connection
 * failures ("FAIL") are already reported once through the error callback.
 * Level 7 lines come only with the debug property set: they were asked for,
 * so they are written at info. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level >= 7) {
        log_info("kafka.debug", LOG_STR("facility", fac), LOG_STR("message", buf));
    } else if (strcmp(fac, "FAIL") == 0 || level > 4) {
        log_debug("kafka.log", LOG_STR("facility", fac), LOG_STR("message", buf));
    } else if (level <= 2) {
        log_error("kafka.log", LOG_STR("facility", fac), LOG_STR("message", buf));
    } else {
        log_warn("kafka.log", LOG_STR("facility", fac), LOG_STR("message", buf));
    }
}

/* Sets name=value, writing the reason to err on failure. */
static int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                          size_t errlen)
{
    if (rd_kafka_conf_set(conf, name, value, err, errlen) != RD_KAFKA_CONF_OK) {
        return -1;
    }
    return 0;
}

static int kafka_conf_set_int(rd_kafka_conf_t *conf, const char *name, long long v, char *err,
                              size_t errlen)
{
    char num[32];

    snprintf(num, sizeof(num), "%lld", v);
    return kafka_conf_set(conf, name, num, err, errlen);
}

static int kafka_conf_set_extra(rd_kafka_conf_t *conf, const char *const *extra, char *err,
                                size_t errlen)
{
    for (; extra != NULL && extra[0] != NULL && extra[1] != NULL; extra += 2) {
        if (kafka_conf_set(conf, extra[0], extra[1], err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Sets librdkafka's debug property when contexts is not empty. */
static int kafka_conf_set_debug(rd_kafka_conf_t *conf, const char *contexts, char *err,
                                size_t errlen)
{
    if (contexts == NULL || contexts[0] == '\0') {
        return 0;
    }
    return kafka_conf_set(conf, "debug", contexts, err, errlen);
}

int kafka_debug_check(const char *contexts, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = kafka_conf_set_debug(conf, contexts, err, errlen);

    rd_kafka_conf_destroy(conf);
    return rc;
}

static void kafka_producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_producer *p = opaque;

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (atomic_exchange(&p->brokers_up, false)) {
            log_warn("kafka.brokers_down", LOG_STR("reason", reason));
        }
        return;
    }
    if (rd_kafka_fatal_error(rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_store(&p->fatal, true);
        log_error("kafka.fatal", LOG_STR("error", rd_kafka_err2str(err)),
                  LOG_STR("reason", reason));
        return;
    }
    log_warn("kafka.error", LOG_STR("error", rd_kafka_err2str(err)), LOG_STR("reason", reason));
}

static void kafka_producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_producer *p = opaque;
    struct kafka_delivery d;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (!atomic_exchange(&p->brokers_up, true)) {
            log_info("kafka.brokers_up");
        }
    }
    if (p->on_delivery == NULL) {
        return;
    }
    d.err = m->err;
    d.errstr = m->err != 0 ? rd_kafka_err2str(m->err) : NULL;
    d.topic = rd_kafka_topic_name(m->rkt);
    d.key = m->key;
    d.key_len = m->key_len;
    d.payload = m->payload;
    d.len = m->len;
    d.opaque = m->_private;
    d.possibly_persisted = rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
    d.latency_us = rd_kafka_message_latency(m);
    p->on_delivery(&d, p->arg);
}

static void *kafka_producer_poll_loop(void *arg)
{
    struct kafka_producer *p = arg;

    while (atomic_load(&p->running)) {
        rd_kafka_poll(p->rk, 100);
    }
    return NULL;
}

static rd_kafka_conf_t *kafka_producer_conf(const struct kafka_producer_opts *o,
                                            struct kafka_producer *p, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) != 0 ||
        kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) != 0 ||
        kafka_conf_set(conf, "acks", "all", err, errlen) != 0 ||
        kafka_conf_set_int(conf, "linger.ms", o->linger_ms, err, errlen) != 0 ||
        kafka_conf_set_int(conf, "message.timeout.ms", o->message_timeout_ms, err, errlen) != 0 ||
        kafka_conf_set_int(conf, "queue.buffering.max.messages", o->queue_max_messages, err,
                           errlen) != 0 ||
        kafka_conf_set(conf, "reconnect.backoff.max.ms", "1000", err, errlen) != 0 ||
        kafka_conf_set(conf, "socket.nagle.disable", "true", err, errlen) != 0 ||
        kafka_conf_set(conf, "log.connection.close", "false", err, errlen) != 0 ||
        kafka_conf_set_debug(conf, o->debug, err, errlen) != 0 ||
        kafka_conf_set_extra(conf, o->extra, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_producer_dr_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_producer_error_cb);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    return conf;
}

struct kafka_producer *kafka_producer_new(const struct kafka_producer_opts *o, char *err,
                                          size_t errlen)
{
    struct kafka_producer *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf;

    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->on_delivery = o->on_delivery;
    p->arg = o->arg;
    atomic_init(&p->brokers_up, true);
    atomic_init(&p->fatal, false);
    atomic_init(&p->running, true);
    conf = kafka_producer_conf(o, p, err, errlen);
    if (conf == NULL) {
        goto out_free;
    }
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (p->rk == NULL) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes the conf on success only */
        goto out_free;
    }
    conf = NULL;
    if (pthread_create(&p->poller, NULL, kafka_producer_poll_loop, p) != 0) {
        snprintf(err, errlen, "cannot start the poller thread");
        rd_kafka_destroy(p->rk);
        goto out_free;
    }
    return p;

out_free:
    free(p);
    return NULL;
}

int kafka_producer_send(struct kafka_producer *p, const char *topic, const void *key,
                        size_t key_len, const void *payload, size_t len, void *opaque, char *err,
                        size_t errlen)
{
    rd_kafka_resp_err_t e;

    e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY((void *)key, key_len),
                          RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_OPAQUE(opaque),
                          RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0;
    }
    if (err != NULL) {
        snprintf(err, errlen, "%s", rd_kafka_err2str(e));
    }
    return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? KAFKA_QUEUE_FULL : -1;
}

bool kafka_producer_fatal(const struct kafka_producer *p)
{
    return atomic_load(&p->fatal);
}

bool kafka_producer_brokers_up(const struct kafka_producer *p)
{
    return atomic_load(&p->brokers_up);
}

int kafka_producer_probe(struct kafka_producer *p, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;

    e = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    if (!atomic_exchange(&p->brokers_up, true)) {
        log_info("kafka.brokers_up");
    }
    return 0;
}

int kafka_producer_outq_len(const struct kafka_producer *p)
{
    return rd_kafka_outq_len(p->rk);
}

int kafka_producer_flush(struct kafka_producer *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

void kafka_producer_purge(struct kafka_producer *p, int timeout_ms)
{
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, timeout_ms); /* serves the failed reports */
}

void kafka_producer_free(struct kafka_producer *p)
{
    if (p == NULL) {
        return;
    }
    atomic_store(&p->running, false);
    pthread_join(p->poller, NULL);
    rd_kafka_destroy(p->rk);
    free(p);
}

/* ---- consumer ---- */

static void kafka_consumer_log_partitions(const char *event,
                                          const rd_kafka_topic_partition_list_t *parts)
{
    char buf[1024];
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && len < sizeof(buf) - 64; i++) {
        int n = snprintf(buf + len, sizeof(buf) - len, "%s%s[%d]", i > 0 ? "," : "",
                         parts->elems[i].topic, (int)parts->elems[i].partition);
        if (n < 0 || (size_t)n >= sizeof(buf) - len) {
            break;
        }
        len += (size_t)n;
    }
    log_info(event, LOG_INT("count", parts->cnt), LOG_STR("partitions", buf));
}

/* Pauses or resumes parts. Returns 0 or -1 (logged). */
static int kafka_consumer_set_paused(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                                     bool pause)
{
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(rk, parts) : rd_kafka_resume_partitions(rk, parts);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn(pause ? "kafka.pause_failed" : "kafka.resume_failed",
                 LOG_STR("error", rd_kafka_err2str(e)));
        return -1;
    }
    return 0;
}

/* Eager rebalance: on revoke, the application settles what it has in flight
 * (on_revoke), then what was stored is committed so the next owner starts
 * right after the last delivered message. A new assignment inherits the
 * consumer's paused state. Only assigned partitions carry a pause flag
 * (librdkafka keeps it on a partition across assignments, and resuming a
 * partition whose assignment is still starting can stall its fetcher). */
static void kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_consumer *c = opaque;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        kafka_consumer_log_partitions("kafka.partitions_assigned", parts);
        rd_kafka_assign(rk, parts);
        if (c->paused) {
            kafka_consumer_set_paused(rk, parts, true);
        }
        return;
    }
    kafka_consumer_log_partitions("kafka.partitions_revoked", parts);
    if (c->on_revoke != NULL) {
        c->on_revoke(c->revoke_arg);
    }
    rd_kafka_commit(rk, NULL, 0);
    if (c->paused) {
        kafka_consumer_set_paused(rk, parts, false);
    }
    rd_kafka_assign(rk, NULL);
}

/* The group session timeout and the prefetch bound of o, when set. */
static int kafka_conf_set_consumer_bounds(rd_kafka_conf_t *conf,
                                          const struct kafka_consumer_opts *o, char *err,
                                          size_t errlen)
{
    char session[32], heartbeat[32], queued_kb[32], fetch_bytes[32], fetch_wait[32];

    if (o->session_timeout_ms > 0) {
        snprintf(session, sizeof(session), "%d", o->session_timeout_ms);
        snprintf(heartbeat, sizeof(heartbeat), "%d", o->session_timeout_ms / 3);
        if (kafka_conf_set(conf, "session.timeout.ms", session, err, errlen) != 0 ||
            kafka_conf_set(conf, "heartbeat.interval.ms", heartbeat, err, errlen) != 0) {
            return -1;
        }
    }
    if (o->fetch_wait_ms > 0) {
        snprintf(fetch_wait, sizeof(fetch_wait), "%d", o->fetch_wait_ms);
        if (kafka_conf_set(conf, "fetch.wait.max.ms", fetch_wait, err, errlen) != 0) {
            return -1;
        }
    }
    if (o->prefetch_mb > 0) {
        snprintf(queued_kb, sizeof(queued_kb), "%d", o->prefetch_mb * 1024);
        snprintf(fetch_bytes, sizeof(fetch_bytes), "%d", o->prefetch_mb * 1024 * 1024);
        if (kafka_conf_set(conf, "queued.max.messages.kbytes", queued_kb, err, errlen) != 0 ||
            kafka_conf_set(conf, "fetch.max.bytes", fetch_bytes, err, errlen) != 0 ||
            kafka_conf_set(conf, "max.partition.fetch.bytes", "1048576", err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

struct kafka_consumer *kafka_consumer_new(const struct kafka_consumer_opts *o, char *err,
                                          size_t errlen)
{
    struct kafka_consumer *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *topics = NULL;
    size_t n = 0;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out_conf;
    }
    if (kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) != 0 ||
        kafka_conf_set(conf, "group.id", o->group, err, errlen) != 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "true", err, errlen) != 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) != 0 ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) != 0 ||
        kafka_conf_set(conf, "auto.commit.interval.ms", "1000", err, errlen) != 0 ||
        kafka_conf_set(conf, "socket.nagle.disable", "true", err, errlen) != 0 ||
        kafka_conf_set(conf, "log.connection.close", "false", err, errlen) != 0 ||
        kafka_conf_set_debug(conf, o->debug, err, errlen) != 0 ||
        kafka_conf_set_consumer_bounds(conf, o, err, errlen) != 0 ||
        kafka_conf_set_extra(conf, o->extra, err, errlen) != 0) {
        goto out_conf;
    }
    c->on_revoke = o->on_revoke;
    c->revoke_arg = o->revoke_arg;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (c->rk == NULL) {
        goto out_conf;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    while (o->topics[n] != NULL) {
        n++;
    }
    topics = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(topics, o->topics[i], RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(c->rk);
        goto out_conf;
    }
    return c;

out_conf:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    free(c);
    return NULL;
}

int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms, struct kafka_message *msg)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);

    if (m == NULL) {
        return 0;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        int fatal = m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
                    rd_kafka_fatal_error(c->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("kafka.consume_error", LOG_STR("error", rd_kafka_message_errstr(m)));
        }
        rd_kafka_message_destroy(m);
        return fatal ? -1 : 0;
    }
    msg->topic = rd_kafka_topic_name(m->rkt);
    msg->partition = m->partition;
    msg->offset = m->offset;
    msg->key = m->key;
    msg->key_len = m->key_len;
    msg->payload = m->payload;
    msg->len = m->len;
    msg->priv = m;
    return 1;
}

int kafka_consumer_store(struct kafka_consumer *c, const struct kafka_message *msg)
{
    rd_kafka_resp_err_t e =
        rd_kafka_offset_store(((rd_kafka_message_t *)msg->priv)->rkt, msg->partition, msg->offset);

    (void)c;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("kafka.offset_store_failed", LOG_STR("topic", msg->topic),
                 LOG_INT("partition", msg->partition), LOG_INT("offset", msg->offset),
                 LOG_STR("error", rd_kafka_err2str(e)));
        return -1;
    }
    return 0;
}

int kafka_consumer_store_offset(struct kafka_consumer *c, const char *topic, int32_t partition,
                                int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, parts);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        e = parts->elems[0].err;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("kafka.offset_store_failed", LOG_STR("topic", topic),
                 LOG_INT("partition", partition), LOG_INT("offset", next_offset),
                 LOG_STR("error", rd_kafka_err2str(e)));
        return -1;
    }
    return 0;
}

/* Applies paused to the current assignment. */
static int kafka_consumer_apply_pause(struct kafka_consumer *c, bool paused)
{
    rd_kafka_topic_partition_list_t *parts = NULL;

    c->paused = paused;
    if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return -1;
    }
    int rc = kafka_consumer_set_paused(c->rk, parts, paused);
    rd_kafka_topic_partition_list_destroy(parts);
    if (rc == 0) {
        log_info(paused ? "kafka.consumer_paused" : "kafka.consumer_resumed");
    }
    return rc;
}

int kafka_consumer_pause(struct kafka_consumer *c)
{
    return c->paused ? 0 : kafka_consumer_apply_pause(c, true);
}

int kafka_consumer_resume(struct kafka_consumer *c)
{
    return c->paused ? kafka_consumer_apply_pause(c, false) : 0;
}

bool kafka_consumer_paused(const struct kafka_consumer *c)
{
    return c->paused;
}

int kafka_consumer_assignment(struct kafka_consumer *c, int32_t *parts, size_t max)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    int n = 0;

    if (rd_kafka_assignment(c->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return -1;
    }
    for (int i = 0; i < list->cnt && (size_t)n < max; i++) {
        parts[n++] = list->elems[i].partition;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return n;
}

int kafka_consumer_assignment_of(struct kafka_consumer *c, const char *topic, int32_t *parts,
                                 size_t max)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    int n = 0;

    if (rd_kafka_assignment(c->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return -1;
    }
    for (int i = 0; i < list->cnt && (size_t)n < max; i++) {
        if (strcmp(list->elems[i].topic, topic) == 0) {
            parts[n++] = list->elems[i].partition;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return n;
}

int kafka_consumer_commit(struct kafka_consumer *c)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);

    return (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET) ? 0 : -1;
}

int kafka_consumer_cluster_id(struct kafka_consumer *c, int timeout_ms, char *buf, size_t len)
{
    char *id = rd_kafka_clusterid(c->rk, timeout_ms);

    if (len > 0) {
        snprintf(buf, len, "%s", id != NULL ? id : "");
    }
    if (id == NULL) {
        return -1;
    }
    rd_kafka_mem_free(c->rk, id);
    return 0;
}

int kafka_consumer_watermarks(struct kafka_consumer *c, const char *topic, int32_t partition,
                              int timeout_ms, int64_t *low, int64_t *high)
{
    rd_kafka_resp_err_t e = rd_kafka_get_watermark_offsets(c->rk, topic, partition, low, high);

    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && *high >= 0) {
        return 0; /* as the last fetch response said */
    }
    e = rd_kafka_query_watermark_offsets(c->rk, topic, partition, low, high, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("kafka.watermarks_failed", LOG_STR("topic", topic),
                 LOG_INT("partition", partition), LOG_STR("error", rd_kafka_err2str(e)));
        return -1;
    }
    return 0;
}

int kafka_consumer_fetched_high(struct kafka_consumer *c, const char *topic, int32_t partition,
                                int64_t *high)
{
    int64_t low = -1;

    *high = -1;
    if (rd_kafka_get_watermark_offsets(c->rk, topic, partition, &low, high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        *high < 0) {
        *high = -1;
        return -1;
    }
    return 0;
}

int kafka_consumer_position(struct kafka_consumer *c, const char *topic, int32_t partition,
                            int64_t *pos)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    int rc = -1;

    *pos = -1;
    if (list == NULL) {
        return -1;
    }
    rd_kafka_topic_partition_list_add(list, topic, partition);
    if (rd_kafka_position(c->rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[0].offset >= 0) {
        *pos = list->elems[0].offset;
        rc = 0;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

void kafka_message_release(struct kafka_message *msg)
{
    if (msg->priv != NULL) {
        rd_kafka_message_destroy(msg->priv);
        msg->priv = NULL;
    }
}

void kafka_consumer_close(struct kafka_consumer *c)
{
    if (c == NULL) {
        return;
    }
    rd_kafka_consumer_close(c->rk); /* commits the stored offsets */
    rd_kafka_destroy(c->rk);
    free(c);
}
