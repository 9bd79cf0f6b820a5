#include "devbroker.h"

#include "analytics/fileio.h"

#include "analytics/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

const char *const devbroker_pipeline_topics[] = {
    "events.raw", "events.enriched", "scores",     "journeys",
    "triggers",   "privacy",         "deadletter", NULL,
};

struct devbroker {
    rd_kafka_t *rk; /* hosts the cluster; produces nothing */
    rd_kafka_mock_cluster_t *mcluster;
    int broker_cnt;
};

/* librdkafka logs (syslog levels) as JSON lines. */
static void devbroker_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum log_level lvl = level <= 3   ? LOG_LEVEL_ERROR
                         : level == 4 ? LOG_LEVEL_WARN
                         : level <= 6 ? LOG_LEVEL_INFO
                                      : LOG_LEVEL_DEBUG;

    (void)rk;
    log_event(lvl, "rdkafka.log", LOG_STR("fac", fac), LOG_STR("msg", buf), LOG_T_END);
}

struct devbroker *devbroker_new(int broker_cnt, char *err, size_t errlen)
{
    struct devbroker *b = calloc(1, sizeof(*b));
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];

    if (b == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->broker_cnt = broker_cnt;
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, devbroker_log_cb);
    /* The host handle itself never connects anywhere: keep its chatter out
     * unless debugging. */
    if (rd_kafka_conf_set(conf, "log_level", log_enabled(LOG_LEVEL_DEBUG) ? "7" : "4", errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", "analytics-devbroker", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "librdkafka configuration: %s", errstr);
        goto out_conf;
    }
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (b->rk == NULL) {
        snprintf(err, errlen, "rd_kafka_new: %s", errstr);
        goto out_conf;
    }
    conf = NULL; /* rd_kafka_new took it */
    b->mcluster = rd_kafka_mock_cluster_new(b->rk, broker_cnt);
    if (b->mcluster == NULL) {
        snprintf(err, errlen, "rd_kafka_mock_cluster_new failed (cannot listen on 127.0.0.1?)");
        goto out_rk;
    }
    return b;

out_rk:
    rd_kafka_destroy(b->rk);
out_conf:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    free(b);
    return NULL;
}

int devbroker_create_topic(struct devbroker *b, const char *topic, int partition_cnt, char *err,
                           size_t errlen)
{
    int rf = b->broker_cnt < 3 ? b->broker_cnt : 3;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(b->mcluster, topic, partition_cnt, rf);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot create topic %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

const char *devbroker_bootstraps(const struct devbroker *b)
{
    return rd_kafka_mock_cluster_bootstraps(b->mcluster);
}

int devbroker_set_up(struct devbroker *b, int up)
{
    rd_kafka_resp_err_t e;

    /* -1 addresses every broker (rdkafka_mock.h); fall back to one by one
     * should a build not take it. */
    e = up ? rd_kafka_mock_broker_set_up(b->mcluster, -1)
           : rd_kafka_mock_broker_set_down(b->mcluster, -1);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0;
    }
    for (int id = 1; id <= b->broker_cnt; id++) {
        e = up ? rd_kafka_mock_broker_set_up(b->mcluster, id)
               : rd_kafka_mock_broker_set_down(b->mcluster, id);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error("devbroker.set_state_failed", LOG_INT("broker", id), LOG_BOOL("up", up),
                      LOG_STR("error", rd_kafka_err2str(e)));
            return -1;
        }
    }
    return 0;
}

void devbroker_free(struct devbroker *b)
{
    if (b == NULL) {
        return;
    }
    if (b->mcluster != NULL) {
        rd_kafka_mock_cluster_destroy(b->mcluster);
        b->mcluster = NULL;
    }
    if (b->rk != NULL) {
        rd_kafka_destroy(b->rk);
        b->rk = NULL;
    }
    free(b);
}

int devbroker_write_file(const char *path, const char *text, char *err, size_t errlen)
{
    return fileio_write_atomic(path, text, strlen(text), true, err, errlen);
}
