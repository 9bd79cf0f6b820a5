/*
 * analytics-dump: reads a topic and prints each message as one JSON line,
 * decoding the pipeline's protobuf messages. For tests and operators.
 *
 * Plain librdkafka with assign() (no consumer group, nothing committed), so
 * it never disturbs the daemons' groups. End offsets are the high watermarks
 * taken at start; enable.partition.eof tells when a partition got there.
 */
#include "analytics/cli.h"
#include "analytics/config.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/pbjson.h"
#include "analytics/utf8.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define PROG "analytics-dump"
#define DUMP_POLL_MS 100

enum dump_mode { DUMP_MESSAGES, DUMP_COUNT, DUMP_WATERMARKS };

struct dump_env {
    char *brokers;
    int log_level;
};

static const struct config_var dump_vars[] = {
    {"ANALYTICS_KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", 0, 0, NULL,
     "bootstrap servers (--brokers wins)", offsetof(struct dump_env, brokers), 0},
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged on stderr", offsetof(struct dump_env, log_level), 0},
};
#define NVARS (sizeof(dump_vars) / sizeof(dump_vars[0]))

struct dump_opts {
    const char *brokers; /* NULL: from the environment */
    const char *topic;
    const char *type;                       /* NULL: from the topic name */
    const ProtobufCMessageDescriptor *desc; /* NULL: bytes */
    bool hex;
    bool from_end;
    bool follow;
    long timeout_ms;
    bool timeout_set;
    enum dump_mode mode;
    const char *group; /* --group: read through the pipeline's consumer group wrapper */
    long max;          /* --max: stop after this many messages (0: no limit) */
};

/* Per-partition state: the watermarks at start and whether it is read out. */
struct dump_part {
    int32_t id;
    int64_t low, high;
    bool done;
};

struct dump_state {
    const struct dump_opts *o;
    rd_kafka_t *rk;
    struct dump_part *parts;
    int nparts;
    long long consumed;
    long long undecodable;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: " PROG " --topic T [options]\n\n"
        "Reads a Kafka topic and prints each message as one JSON line:\n"
        "  {\"topic\":..,\"partition\":..,\"offset\":..,\"timestamp\":..,\"key\":..,"
        "\"value\":{..}}\n"
        "The value is the decoded protobuf message (field names as in the .proto, enums by\n"
        "name, bytes in base64). A value that does not decode is printed as\n"
        "\"error\":\"undecodable\",\"bytes_len\":N instead of \"value\", and reading goes\n"
        "on. A key that is not UTF-8 is given as \"key_base64\". No consumer group is\n"
        "used and nothing is committed.\n\n"
        "Options:\n"
        "  --brokers B        bootstrap servers (default $ANALYTICS_KAFKA_BROKERS or\n"
        "                     127.0.0.1:9092)\n"
        "  --topic T          full topic name, e.g. analytics.events.raw (required)\n"
        "  --type T           how to decode values:\n"
        "                     %s|bytes.\n"
        "                     Default: from the topic name's ending (events.raw -> raw,\n"
        "                     scores -> score, ...), otherwise bytes\n"
        "  --hex              with bytes: print values in hex instead of base64\n"
        "  --from-beginning   start at the oldest message (default)\n"
        "  --from-end         start at the end (only new messages; useful with --follow)\n"
        "  --exit-at-end      stop once every partition reached the end offset it had at\n"
        "                     start (default)\n"
        "  --follow           keep reading until SIGTERM/SIGINT or --timeout-ms\n"
        "  --timeout-ms N     how long to wait for the broker, and when reading to the\n"
        "                     end, the longest pause without progress (default 10000).\n"
        "                     With --follow, if given: the total run time (then exit 0)\n"
        "  --group G          read as member of consumer group G (the daemons' at-least-\n"
        "                     once consumer): commits the offset of each message printed,\n"
        "                     so the next run with G resumes after it; stops after --max\n"
        "                     messages or --timeout-ms without one\n"
        "  --max N            with --group: stop after N messages\n"
        "  --count            print only {\"topic\",\"partitions\",\"count\",\"consumed\",\n"
        "                     \"undecodable\"}: count is the sum over partitions of high -\n"
        "                     low watermark at start, consumed what was actually read\n"
        "  --watermarks       print {\"topic\",\"partitions\":[{\"partition\",\"low\",\"high\"}],\n"
        "                     \"high_total\",\"count\"} without consuming anything\n"
        "  --help, --version\n\n"
        "Exit status: 0 done, 1 broker error (unreachable within the timeout, unknown\n"
        "topic, stalled), 64 bad arguments, 78 bad environment.\n\n",
        pbjson_type_names());
    config_usage(dump_vars, NVARS, out);
}

/* Picks the message type from the topic name's ending; NULL means bytes. */
static const char *type_from_topic(const char *topic)
{
    static const struct {
        const char *suffix, *type;
    } map[] = {
        {"events.raw", "raw"},        {"events.enriched", "enriched"}, {"scores", "score"},
        {"journeys", "journey"},      {"triggers", "trigger"},         {"privacy", "privacy"},
        {"deadletter", "deadletter"},
    };
    size_t tl = strlen(topic);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t sl = strlen(map[i].suffix);
        if (tl >= sl && strcmp(topic + tl - sl, map[i].suffix) == 0 &&
            (tl == sl || topic[tl - sl - 1] == '.')) {
            return map[i].type;
        }
    }
    return NULL;
}

/* Reports a bad argument. Returns -1. */
__attribute__((format(printf, 1, 2))) static int bad_arg(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try --help)\n", stderr);
    return -1;
}

/* Checks combinations and resolves the type. Returns 0 or -1 (reported). */
static int check_opts(struct dump_opts *o, bool exit_at_end, bool from_beginning)
{
    if (o->topic == NULL || o->topic[0] == '\0') {
        return bad_arg("--topic is required");
    }
    if (exit_at_end && o->follow) {
        return bad_arg("--exit-at-end and --follow exclude each other");
    }
    if (from_beginning && o->from_end) {
        return bad_arg("--from-beginning and --from-end exclude each other");
    }
    if (o->mode != DUMP_MESSAGES && o->follow) {
        return bad_arg("--count and --watermarks read up to the end; not with --follow");
    }
    if (o->type == NULL) {
        o->type = type_from_topic(o->topic);
    }
    if (o->type != NULL && strcmp(o->type, "bytes") != 0) {
        o->desc = pbjson_descriptor_for(o->type);
        if (o->desc == NULL) {
            return bad_arg("--type must be one of %s|bytes, got '%s'", pbjson_type_names(),
                           o->type);
        }
    }
    if (o->hex && o->desc != NULL) {
        return bad_arg("--hex applies to --type bytes only");
    }
    return 0;
}

/* Parses argv into o. Returns 1 when --help or --version was handled, 0 to
 * run, -1 on a bad argument (reported). */
static int parse_args(int argc, char **argv, struct dump_opts *o)
{
    enum {
        O_BROKERS = 256,
        O_TOPIC,
        O_TYPE,
        O_HEX,
        O_BEGIN,
        O_END,
        O_EXIT,
        O_FOLLOW,
        O_TIMEOUT,
        O_COUNT,
        O_WMARKS,
        O_GROUP,
        O_MAX,
        O_VERSION
    };
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, O_BROKERS},
        {"topic", required_argument, NULL, O_TOPIC},
        {"type", required_argument, NULL, O_TYPE},
        {"hex", no_argument, NULL, O_HEX},
        {"from-beginning", no_argument, NULL, O_BEGIN},
        {"from-end", no_argument, NULL, O_END},
        {"exit-at-end", no_argument, NULL, O_EXIT},
        {"follow", no_argument, NULL, O_FOLLOW},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"count", no_argument, NULL, O_COUNT},
        {"watermarks", no_argument, NULL, O_WMARKS},
        {"group", required_argument, NULL, O_GROUP},
        {"max", required_argument, NULL, O_MAX},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    bool exit_at_end = false, from_beginning = false;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        char *end;

        switch (c) {
        case O_BROKERS:
            o->brokers = optarg;
            break;
        case O_TOPIC:
            o->topic = optarg;
            break;
        case O_TYPE:
            o->type = optarg;
            break;
        case O_HEX:
            o->hex = true;
            break;
        case O_BEGIN:
            from_beginning = true;
            break;
        case O_END:
            o->from_end = true;
            break;
        case O_EXIT:
            exit_at_end = true;
            break;
        case O_FOLLOW:
            o->follow = true;
            break;
        case O_TIMEOUT:
            errno = 0;
            o->timeout_ms = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o->timeout_ms < 1 ||
                o->timeout_ms > 86400000L) {
                return bad_arg("--timeout-ms must be 1..86400000, got '%s'", optarg);
            }
            o->timeout_set = true;
            break;
        case O_GROUP:
            o->group = optarg;
            break;
        case O_MAX:
            errno = 0;
            o->max = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o->max < 1) {
                return bad_arg("--max must be a positive integer, got '%s'", optarg);
            }
            break;
        case O_COUNT:
        case O_WMARKS:
            if (o->mode != DUMP_MESSAGES) {
                return bad_arg("--count and --watermarks exclude each other");
            }
            o->mode = c == O_COUNT ? DUMP_COUNT : DUMP_WATERMARKS;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case O_VERSION:
            printf(PROG " %s\n", ANALYTICS_VERSION);
            return 1;
        case ':':
            return bad_arg("%s needs a value", argv[optind - 1]);
        default:
            return bad_arg("unknown argument '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return bad_arg("unexpected argument '%s'", argv[optind]);
    }
    return check_opts(o, exit_at_end, from_beginning);
}

/* librdkafka's own log lines are diagnostics: debug level. What matters is
 * reported once, where the decision is made. */
static void dump_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_debug("rdkafka.log", LOG_INT("level", level), LOG_STR("fac", fac), LOG_STR("msg", buf));
}

static void dump_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    log_debug("kafka.error", LOG_STR("error", rd_kafka_err2name((rd_kafka_resp_err_t)err)),
              LOG_STR("reason", reason));
}

/* Creates the consumer handle (no group). Returns it, or NULL (logged). */
static rd_kafka_t *dump_consumer_new(const char *brokers)
{
    static const char *const settings[][2] = {
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"client.id", PROG},
        {"log.connection.close", "false"},
        {"reconnect.backoff.max.ms", "1000"},
        /* assign() needs a group id in librdkafka 2.0; nothing joins or commits */
        {"group.id", "analytics-dump.assign-only"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        goto out_conf;
    }
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            goto out_conf;
        }
    }
    rd_kafka_conf_set_log_cb(conf, dump_log_cb);
    rd_kafka_conf_set_error_cb(conf, dump_error_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        goto out_conf;
    }
    return rk; /* rd_kafka_new took conf */

out_conf:
    rd_kafka_conf_destroy(conf);
    log_error("dump.consumer_failed", LOG_STR("error", errstr));
    return NULL;
}

/* Milliseconds left until deadline (a lifecycle_mono_ms value), at least 1. */
static int dump_remaining(long long deadline)
{
    long long left = deadline - lifecycle_mono_ms();

    return left < 1 ? 1 : left > 3600000 ? 3600000 : (int)left;
}

/* The topic's entry in md, or NULL. */
static const rd_kafka_metadata_topic_t *dump_find_topic(const struct rd_kafka_metadata *md,
                                                        const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0) {
            return &md->topics[i];
        }
    }
    return NULL;
}

/* Fetches the topic's partitions and their watermarks into st. Returns 0,
 * or -1 (logged). Asks for the metadata of all topics: a request naming one
 * topic may create it (the devbroker's mock cluster always does). */
static int dump_load_partitions(struct dump_state *st)
{
    const struct dump_opts *o = st->o;
    long long deadline = lifecycle_mono_ms() + o->timeout_ms;
    const struct rd_kafka_metadata *md = NULL;
    const rd_kafka_metadata_topic_t *mt;
    rd_kafka_resp_err_t err;
    int rc = -1;

    err = rd_kafka_metadata(st->rk, 1, NULL, &md, dump_remaining(deadline));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("dump.broker_unreachable", LOG_STR("brokers", o->brokers),
                  LOG_STR("error", rd_kafka_err2str(err)), LOG_INT("timeout_ms", o->timeout_ms));
        return -1;
    }
    mt = dump_find_topic(md, o->topic);
    if (mt == NULL || mt->err != RD_KAFKA_RESP_ERR_NO_ERROR || mt->partition_cnt == 0) {
        log_error("dump.unknown_topic", LOG_STR("topic", o->topic),
                  LOG_STR("error", mt != NULL ? rd_kafka_err2str(mt->err) : "no such topic"));
        goto out;
    }
    st->parts = calloc((size_t)mt->partition_cnt, sizeof(*st->parts));
    if (st->parts == NULL) {
        log_error("dump.out_of_memory");
        goto out;
    }
    st->nparts = mt->partition_cnt;
    for (int i = 0; i < st->nparts; i++) {
        struct dump_part *p = &st->parts[i];

        p->id = mt->partitions[i].id;
        err = rd_kafka_query_watermark_offsets(st->rk, o->topic, p->id, &p->low, &p->high,
                                               dump_remaining(deadline));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error("dump.watermarks_failed", LOG_STR("topic", o->topic),
                      LOG_INT("partition", p->id), LOG_STR("error", rd_kafka_err2str(err)));
            goto out;
        }
        p->done = !o->follow && (o->from_end || p->high <= p->low);
    }
    rc = 0;
out:
    rd_kafka_metadata_destroy(md);
    return rc;
}

static struct dump_part *dump_find_part(struct dump_state *st, int32_t id)
{
    for (int i = 0; i < st->nparts; i++) {
        if (st->parts[i].id == id) {
            return &st->parts[i];
        }
    }
    return NULL;
}

static bool dump_all_done(const struct dump_state *st)
{
    for (int i = 0; i < st->nparts; i++) {
        if (!st->parts[i].done) {
            return false;
        }
    }
    return true;
}

/* errno of the first failed write to stdout, 0 while none failed. */
static int dump_stdout_errno;

/* Flushes stdout. Returns 0, or -1 with dump_stdout_errno set. */
static int dump_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (dump_stdout_errno == 0) {
            dump_stdout_errno = errno != 0 ? errno : EIO;
        }
        return -1;
    }
    return 0;
}

/* Writes one JSON document and a newline to stdout, and frees it. Returns 0,
 * or -1 when stdout fails (dump_stdout_errno set) or out of memory. */
static int dump_emit(cJSON *doc, bool flush)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    int rc = -1;

    if (text != NULL) {
        errno = 0;
        if (fputs(text, stdout) != EOF && putchar('\n') != EOF) {
            rc = flush ? dump_flush() : 0;
        } else {
            (void)dump_flush(); /* records errno */
        }
    } else {
        log_error("dump.out_of_memory");
    }
    free(text);
    cJSON_Delete(doc);
    return rc;
}

/* Hex of len bytes. Returns a new string (caller frees), or NULL. */
static char *dump_hex(const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(len * 2 + 1);

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

/* Adds "key" (a string, or null) and, for a key that is not UTF-8,
 * "key_base64". Returns false when out of memory. */
static bool dump_add_key(cJSON *line, const rd_kafka_message_t *m)
{
    char *text, *b64;
    bool ok;

    if (m->key == NULL) {
        return cJSON_AddNullToObject(line, "key") != NULL;
    }
    if (utf8_valid(m->key, m->key_len) && memchr(m->key, '\0', m->key_len) == NULL) {
        text = strndup(m->key, m->key_len);
        ok = text != NULL && cJSON_AddStringToObject(line, "key", text) != NULL;
        free(text);
        return ok;
    }
    b64 = pbjson_base64_encode(m->key, m->key_len);
    ok = b64 != NULL && cJSON_AddNullToObject(line, "key") != NULL &&
         cJSON_AddStringToObject(line, "key_base64", b64) != NULL;
    free(b64);
    return ok;
}

/* Adds "value" (decoded, or the bytes), or "error":"undecodable" and
 * "bytes_len". Sets *undecodable. Returns false when out of memory. */
static bool dump_add_value(cJSON *line, const struct dump_opts *o, const rd_kafka_message_t *m,
                           bool *undecodable)
{
    ProtobufCMessage *msg;
    cJSON *value;
    char *enc;

    *undecodable = false;
    if (m->payload == NULL) {
        return cJSON_AddNullToObject(line, "value") != NULL;
    }
    if (o->desc == NULL) {
        enc = o->hex ? dump_hex(m->payload, m->len) : pbjson_base64_encode(m->payload, m->len);
        value = enc != NULL ? cJSON_CreateString(enc) : NULL;
        free(enc);
        return value != NULL && cJSON_AddItemToObject(line, "value", value);
    }
    msg = protobuf_c_message_unpack(o->desc, NULL, m->len, m->payload);
    if (msg == NULL) {
        *undecodable = true;
        return cJSON_AddStringToObject(line, "error", "undecodable") != NULL &&
               cJSON_AddNumberToObject(line, "bytes_len", (double)m->len) != NULL;
    }
    value = pbjson_from_message(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    return value != NULL && cJSON_AddItemToObject(line, "value", value);
}

/* Prints one consumed message (or only counts it). Returns 0, or -1 when
 * stdout fails. */
static int dump_message(struct dump_state *st, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    cJSON *line;
    bool undecodable = false;

    st->consumed++;
    if (st->o->mode == DUMP_COUNT) {
        if (st->o->desc != NULL && m->payload != NULL) {
            ProtobufCMessage *msg =
                protobuf_c_message_unpack(st->o->desc, NULL, m->len, m->payload);
            undecodable = msg == NULL;
            protobuf_c_message_free_unpacked(msg, NULL);
        }
        st->undecodable += undecodable;
        return 0;
    }
    line = cJSON_CreateObject();
    if (line == NULL ||
        cJSON_AddStringToObject(line, "topic", rd_kafka_topic_name(m->rkt)) == NULL ||
        cJSON_AddNumberToObject(line, "partition", m->partition) == NULL ||
        cJSON_AddNumberToObject(line, "offset", (double)m->offset) == NULL ||
        (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
             ? cJSON_AddNullToObject(line, "timestamp")
             : cJSON_AddNumberToObject(line, "timestamp", (double)ts)) == NULL ||
        !dump_add_key(line, m) || !dump_add_value(line, st->o, m, &undecodable)) {
        cJSON_Delete(line);
        log_error("dump.out_of_memory");
        return -1;
    }
    st->undecodable += undecodable;
    return dump_emit(line, st->o->follow);
}

/* Assigns every partition still to read. Returns 0, or -1 (logged). */
static int dump_assign(struct dump_state *st)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(st->nparts);
    rd_kafka_resp_err_t err;

    for (int i = 0; i < st->nparts; i++) {
        if (!st->parts[i].done) {
            rd_kafka_topic_partition_list_add(list, st->o->topic, st->parts[i].id)->offset =
                st->o->from_end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    err = rd_kafka_assign(st->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("dump.assign_failed", LOG_STR("error", rd_kafka_err2str(err)));
        return -1;
    }
    return 0;
}

/* Handles one polled event. Returns 1 on progress (a message or an end of
 * partition), 0 for nothing of note, -1 to stop with an error (logged). */
static int dump_handle(struct dump_state *st, const rd_kafka_message_t *m)
{
    struct dump_part *p = dump_find_part(st, m->partition);

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p != NULL) {
            p->done = !st->o->follow;
        }
        return 1;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("dump.consume_error", LOG_STR("error", rd_kafka_err2str(m->err)),
                 LOG_INT("partition", m->partition));
        return m->err == RD_KAFKA_RESP_ERR__FATAL ? -1 : 0;
    }
    if (p == NULL || p->done) {
        return 1; /* past the end taken at start */
    }
    if (!st->o->follow && m->offset >= p->high) {
        p->done = true;
        return 1;
    }
    if (dump_message(st, m) == -1) {
        return -1;
    }
    if (!st->o->follow && m->offset >= p->high - 1) {
        p->done = true;
    }
    return 1;
}

/* Reads until every partition is done, a signal, the run time (follow) or a
 * pause without progress (exit-at-end). Returns 0 or -1 (logged). */
static int dump_consume(struct dump_state *st)
{
    const struct dump_opts *o = st->o;
    long long stall_deadline = lifecycle_mono_ms() + o->timeout_ms;
    long long run_deadline = lifecycle_mono_ms() + o->timeout_ms;

    if (dump_all_done(st)) {
        return 0; /* nothing to read: no assignment, no waiting */
    }
    if (dump_assign(st) == -1) {
        return -1;
    }
    while (o->follow || !dump_all_done(st)) {
        rd_kafka_message_t *m;
        int sig = lifecycle_wait(0);
        int rc = 0;

        if (sig != 0) {
            log_info("dump.stopped", LOG_STR("signal", strsignal(sig)));
            return o->follow ? 0 : -1;
        }
        if (o->follow && o->timeout_set && lifecycle_mono_ms() >= run_deadline) {
            return 0;
        }
        if (!o->follow && lifecycle_mono_ms() >= stall_deadline) {
            log_error("dump.stalled", LOG_STR("topic", o->topic),
                      LOG_INT("timeout_ms", o->timeout_ms), LOG_INT("consumed", st->consumed));
            return -1;
        }
        m = rd_kafka_consumer_poll(st->rk, DUMP_POLL_MS);
        if (m != NULL) {
            rc = dump_handle(st, m);
            rd_kafka_message_destroy(m);
        }
        if (rc == -1) {
            return -1;
        }
        if (rc == 1) {
            stall_deadline = lifecycle_mono_ms() + o->timeout_ms;
        }
    }
    return 0;
}

static int dump_print_watermarks(const struct dump_state *st)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr;
    long long high_total = 0, count = 0;

    cJSON_AddStringToObject(doc, "topic", st->o->topic);
    arr = cJSON_AddArrayToObject(doc, "partitions");
    for (int i = 0; arr != NULL && i < st->nparts; i++) {
        cJSON *p = cJSON_CreateObject();

        cJSON_AddNumberToObject(p, "partition", st->parts[i].id);
        cJSON_AddNumberToObject(p, "low", (double)st->parts[i].low);
        cJSON_AddNumberToObject(p, "high", (double)st->parts[i].high);
        cJSON_AddItemToArray(arr, p);
        high_total += st->parts[i].high;
        count += st->parts[i].high - st->parts[i].low;
    }
    cJSON_AddNumberToObject(doc, "high_total", (double)high_total);
    cJSON_AddNumberToObject(doc, "count", (double)count);
    return dump_emit(doc, true);
}

static int dump_print_count(const struct dump_state *st)
{
    cJSON *doc = cJSON_CreateObject();
    long long count = 0;

    for (int i = 0; i < st->nparts; i++) {
        count += st->parts[i].high - st->parts[i].low;
    }
    cJSON_AddStringToObject(doc, "topic", st->o->topic);
    cJSON_AddNumberToObject(doc, "partitions", st->nparts);
    cJSON_AddNumberToObject(doc, "count", (double)count);
    cJSON_AddNumberToObject(doc, "consumed", (double)st->consumed);
    if (st->o->desc != NULL) {
        cJSON_AddNumberToObject(doc, "undecodable", (double)st->undecodable);
    }
    return dump_emit(doc, true);
}

/* Runs the chosen mode. Returns the exit code. */
/* --group: reads through the at-least-once group consumer of common/ (what
 * the daemons use). Each message's offset is stored only after its line is
 * written, so a later run with the same group starts right after the last
 * message printed. Stops after --max messages or --timeout-ms without one. */
static int dump_group_run(const struct dump_opts *o)
{
    const char *topics[] = {o->topic, NULL};
    const char *extra[] = {"session.timeout.ms", "6000", NULL};
    struct kafka_consumer_opts co = {
        .brokers = o->brokers, .group = o->group, .topics = topics, .extra = extra};
    struct dump_state st = {.o = o};
    struct kafka_consumer *c;
    long long idle_since = lifecycle_mono_ms();
    char err[512];
    int rc = 0;

    c = kafka_consumer_new(&co, err, sizeof(err));
    if (c == NULL) {
        log_error("dump.consumer_failed", LOG_STR("error", err));
        return 1;
    }
    while (rc == 0 && (o->max == 0 || st.consumed < o->max) &&
           lifecycle_mono_ms() - idle_since < o->timeout_ms) {
        struct kafka_message m;
        int got = kafka_consumer_poll(c, 100, &m);

        if (lifecycle_wait(0) != 0) {
            break;
        }
        if (got < 0) {
            rc = -1;
        } else if (got == 1) {
            idle_since = lifecycle_mono_ms();
            rc = dump_message(&st, m.priv) == 0 && dump_flush() == 0 ? 0 : -1;
            if (rc == 0) {
                kafka_consumer_store(c, &m); /* only once its line is out */
            }
            kafka_message_release(&m);
        }
    }
    kafka_consumer_close(c); /* commits what was stored */
    return rc == 0 ? 0 : 1;
}

static int dump_run(const struct dump_opts *o)
{
    struct dump_state st = {.o = o};
    int rc = -1;

    st.rk = dump_consumer_new(o->brokers);
    if (st.rk == NULL) {
        return 1;
    }
    if (dump_load_partitions(&st) == -1) {
        goto out;
    }
    if (o->mode == DUMP_WATERMARKS) {
        rc = dump_print_watermarks(&st);
        goto out;
    }
    rc = dump_consume(&st);
    if (dump_flush() == -1) {
        rc = -1;
    }
    if (rc == 0 && o->mode == DUMP_COUNT) {
        rc = dump_print_count(&st);
    }
out:
    if (dump_stdout_errno == EPIPE) {
        rc = 0; /* the reader went away (| head): not our failure */
    } else if (dump_stdout_errno != 0) {
        log_error("dump.write_failed", LOG_STR("error", strerror(dump_stdout_errno)));
    }
    rd_kafka_consumer_close(st.rk);
    rd_kafka_destroy(st.rk);
    free(st.parts);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct dump_opts o = {.timeout_ms = 10000};
    struct dump_env env = {0};
    int rc;

    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        return rc == 1 ? 0 : CLI_EX_USAGE;
    }
    if (config_load(dump_vars, NVARS, &env, environ, stderr) != 0) {
        config_free(dump_vars, NVARS, &env);
        return CONFIG_EX_CONFIG;
    }
    if (o.brokers == NULL) {
        o.brokers = env.brokers;
    }
    log_init(PROG, (enum log_level)env.log_level);
    if (lifecycle_block_signals() == -1) {
        log_error("lifecycle.signals_failed");
        config_free(dump_vars, NVARS, &env);
        return 1;
    }
    rc = o.group != NULL ? dump_group_run(&o) : dump_run(&o);
    config_free(dump_vars, NVARS, &env);
    return rc;
}
