#include "collector.h"

#include "analytics/http.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/v1/dead_letter.pb-c.h"
#include "guard.h"
#include "ingest.h"

#include <civetweb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define COLLECTOR_ORIGIN_MAX 255       /* bytes of an Origin header we echo */
#define COLLECTOR_DEADLETTER_MAX 65536 /* bytes of original input kept in a dead letter */

static const int collector_statuses[COLLECTOR_STATUS_SLOTS] = {202, 204, 400, 401, 403, 405,
                                                               413, 415, 429, 500, 503, 0};
static const char *const collector_status_labels[COLLECTOR_STATUS_SLOTS] = {
    "status=\"202\"", "status=\"204\"", "status=\"400\"", "status=\"401\"",
    "status=\"403\"", "status=\"405\"", "status=\"413\"", "status=\"415\"",
    "status=\"429\"", "status=\"500\"", "status=\"503\"", "status=\"other\""};

/* A growable response buffer; on allocation failure it sets failed. */
struct collector_buf {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
};

static void collector_buf_reserve(struct collector_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    char *np;

    if (b->failed || need <= b->cap) {
        return;
    }
    np = realloc(b->p, need * 2);
    if (np == NULL) {
        b->failed = true;
        return;
    }
    b->p = np;
    b->cap = need * 2;
}

static void collector_buf_puts(struct collector_buf *b, const char *s)
{
    size_t n = strlen(s);

    collector_buf_reserve(b, n);
    if (!b->failed) {
        memcpy(b->p + b->len, s, n + 1);
        b->len += n;
    }
}

/* Appends s as a JSON string body (escaped, no quotes). */
static void collector_buf_escape(struct collector_buf *b, const char *s)
{
    size_t worst = strlen(s) * 6 + 1;

    collector_buf_reserve(b, worst);
    if (!b->failed) {
        b->len = log_json_escape(b->p, b->len, b->cap, s);
    }
}

static void collector_count_status(struct collector *col, int status)
{
    for (int i = 0; i < COLLECTOR_STATUS_SLOTS; i++) {
        if (collector_statuses[i] == status || collector_statuses[i] == 0) {
            metric_add(col->m_status[i], 1);
            return;
        }
    }
}

/* Builds "Access-Control-Allow-Origin" lines for an allowed origin. */
static void collector_cors_headers(enum cors_decision d, const char *origin, char *out,
                                   size_t outlen)
{
    out[0] = '\0';
    if (d == CORS_ALLOWED) {
        snprintf(out, outlen, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
    }
}

/* Sends a {"error":...} body with extra headers. */
static int collector_error(struct mg_connection *c, int status, const char *msg, const char *cors,
                           const char *extra)
{
    struct collector_buf b = {0};
    char headers[1024];
    int rc;

    snprintf(headers, sizeof(headers), "%s%s", cors != NULL ? cors : "",
             extra != NULL ? extra : "");
    collector_buf_puts(&b, "{\"error\":\"");
    collector_buf_escape(&b, msg);
    collector_buf_puts(&b, "\"}\n");
    if (b.failed) {
        rc = http_send_json(c, 500, "{\"error\":\"out of memory\"}\n", headers);
    } else {
        rc = http_send(c, status, "application/json", b.p, b.len, headers);
    }
    free(b.p);
    return rc;
}

static bool collector_content_type_ok(const char *ct)
{
    static const char *const ok[] = {"application/json", "text/plain"};

    if (ct == NULL) {
        return false;
    }
    while (*ct == ' ') {
        ct++;
    }
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ')) {
            return true;
        }
    }
    return false;
}

/* Reads the body into a new buffer (caller frees). Returns 0, 413 when it
 * exceeds max, or 400 when the client stopped sending early. */
static int collector_read_body(struct mg_connection *c, long long declared, size_t max, char **out,
                               size_t *outlen)
{
    size_t cap = declared >= 0 ? (size_t)declared + 1 : (max < 16384 ? max + 1 : 16384);
    size_t len = 0;
    char *buf;

    if (declared > (long long)max) {
        return 413;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        return 500;
    }
    for (;;) {
        int n;
        if (len == cap) {
            if (cap > max) {
                free(buf);
                return 413;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return 500;
            }
            buf = nb;
            cap *= 2;
        }
        n = mg_read(c, buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return 400; /* the client broke off mid-body */
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > max) {
            free(buf);
            return 413;
        }
    }
    if (declared >= 0 && (long long)len != declared) {
        free(buf);
        return 400;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* Packs a message into buf (grown as needed). Returns the length, or 0 on
 * allocation failure. */
static size_t collector_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *cap)
{
    size_t n = protobuf_c_message_get_packed_size(m);

    if (n > *cap) {
        uint8_t *nb = realloc(*buf, n);
        if (nb == NULL) {
            return 0;
        }
        *buf = nb;
        *cap = n;
    }
    return protobuf_c_message_pack(m, *buf);
}

/* Sends one rejected input to the dead-letter topic. Returns 0 or an ingest
 * error. */
static int collector_deadletter(struct collector *col, const char *code, const char *reason,
                                const char *original, size_t len, const char *fingerprint,
                                const char *cause_id, size_t index, uint8_t **buf, size_t *cap)
{
    Analytics__V1__DeadLetter dl = ANALYTICS__V1__DEAD_LETTER__INIT;
    size_t n;
    int rc;

    dl.schema_version = 1;
    dl.cause_event_id = (char *)(cause_id != NULL ? cause_id : "");
    dl.source_service = "analytics-collector";
    dl.error_code = (char *)code;
    dl.reason = (char *)reason;
    dl.original.data = (uint8_t *)original;
    dl.original.len = len > COLLECTOR_DEADLETTER_MAX ? COLLECTOR_DEADLETTER_MAX : len;
    dl.original_truncated = len > COLLECTOR_DEADLETTER_MAX;
    dl.original_content_type = "application/json";
    dl.ts_ms = lifecycle_now_ms();
    dl.fingerprint = (char *)(fingerprint != NULL ? fingerprint : "");
    dl.batch_index = (uint32_t)index;
    n = collector_pack(&dl.base, buf, cap);
    if (n == 0) {
        return -1;
    }
    rc = ingest_submit(col->ingest, SPOOL_TOPIC_DEADLETTER, dl.fingerprint, strlen(dl.fingerprint),
                       *buf, n, NULL);
    if (rc == 0) {
        metric_add(col->m_deadletters, 1);
    }
    return rc;
}

/* Writes {"accepted":N,"rejected":[...]} for a parsed batch. */
/* Writes {"accepted":N,"rejected":[...]} for a parsed batch. Events from
 * first_unsent on were valid but not taken (spool full): they are listed as
 * retryable, so a client resends only those. */
static void collector_batch_body(struct collector_buf *b, const struct event_batch *batch,
                                 size_t accepted, size_t first_unsent)
{
    char num[96];
    const char *sep = "";

    snprintf(num, sizeof(num), "{\"accepted\":%zu,\"rejected\":[", accepted);
    collector_buf_puts(b, num);
    for (size_t i = 0; i < batch->n_rejected; i++, sep = ",") {
        snprintf(num, sizeof(num), "%s{\"index\":%zu,\"error\":\"", sep, batch->rejected[i].index);
        collector_buf_puts(b, num);
        collector_buf_escape(b, batch->rejected[i].error);
        collector_buf_puts(b, "\"}");
    }
    for (size_t i = first_unsent; i < batch->n_events; i++, sep = ",") {
        snprintf(num, sizeof(num), "%s{\"index\":%u,\"error\":\"", sep,
                 (unsigned)batch->events[i].batch_index);
        collector_buf_puts(b, num);
        collector_buf_puts(b, "broker unreachable and spool full; retry\",\"retryable\":true}");
    }
    collector_buf_puts(b, "]}\n");
}

/* Hands the batch's events and dead letters to the ingest. Returns 0, or
 * INGEST_FULL / -1 when some could not be taken. *accepted counts those taken;
 * *first_unsent is the first event not submitted (n_events when all were),
 * or SIZE_MAX when a delivered-mode failure cannot be pinned to an event. */
static int collector_submit(struct collector *col, const struct event_batch *batch,
                            size_t *accepted, size_t *first_unsent)
{
    struct ingest_wait wait;
    struct ingest_wait *w = col->delivered ? &wait : NULL;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;

    *accepted = 0;
    *first_unsent = batch->n_events;
    if (w != NULL) {
        ingest_wait_init(w);
    }
    for (size_t i = 0; i < batch->n_events && rc == 0; i++) {
        const Analytics__V1__RawEvent *ev = &batch->events[i];
        size_t n = collector_pack(&ev->base, &buf, &cap);
        if (n == 0) {
            rc = -1;
            break;
        }
        rc = ingest_submit(col->ingest, SPOOL_TOPIC_RAW, ev->fingerprint, strlen(ev->fingerprint),
                           buf, n, w);
        if (rc == 0) {
            (*accepted)++;
        } else {
            *first_unsent = i;
        }
    }
    for (size_t i = 0; i < batch->n_rejected; i++) {
        const struct event_rejection *r = &batch->rejected[i];
        collector_deadletter(col, r->code, r->error, r->original, strlen(r->original),
                             r->fingerprint, NULL, r->index, &buf, &cap);
    }
    if (w != NULL) {
        int failed = ingest_wait_done(w);
        ingest_wait_fini(w);
        if (failed > 0) {
            *accepted -= (size_t)failed < *accepted ? (size_t)failed : *accepted;
            *first_unsent = SIZE_MAX;
            rc = INGEST_FULL;
        }
    }
    free(buf);
    return rc;
}

/* Parses and submits a body; sends the response. */
static int collector_process(struct collector *col, struct mg_connection *c, const char *body,
                             size_t len, const struct event_request *req, const char *cors)
{
    struct event_batch batch = {0};
    struct collector_buf b = {0};
    char err[256];
    size_t accepted = 0, first_unsent;
    int status;
    int rc;

    if (event_batch_parse(body, len, &col->limits, req, &batch, err, sizeof(err)) != 0) {
        uint8_t *buf = NULL;
        size_t cap = 0;
        collector_deadletter(col, "malformed_request", err, body, len, NULL, NULL, 0, &buf, &cap);
        free(buf);
        metric_add(col->m_rejected, 1);
        event_batch_fini(&batch);
        return collector_error(c, 400, err, cors, NULL);
    }
    rc = collector_submit(col, &batch, &accepted, &first_unsent);
    metric_add(col->m_in, (double)accepted);
    metric_add(col->m_rejected, (double)batch.n_rejected);
    /* 503 only when nothing was taken or we cannot say what was: a client
     * retrying a partly taken batch would otherwise send events twice. */
    if (rc != 0 && (accepted == 0 || first_unsent == SIZE_MAX)) {
        event_batch_fini(&batch);
        return collector_error(
            c, 503, rc == INGEST_FULL ? "broker unreachable and spool full" : "spool write failed",
            cors, "Retry-After: 5\r\n");
    }
    status = batch.n_events == 0 ? 400 : 202;
    collector_batch_body(&b, &batch, accepted, first_unsent);
    event_batch_fini(&batch);
    if (b.failed) {
        free(b.p);
        return collector_error(c, 500, "out of memory", cors, NULL);
    }
    http_send(c, status, "application/json", b.p, b.len, cors);
    free(b.p);
    return status;
}

static int collector_preflight(struct mg_connection *c, enum cors_decision d, const char *origin)
{
    char headers[1024];

    if (d != CORS_ALLOWED) {
        return collector_error(c, 403, "origin not allowed", NULL, NULL);
    }
    snprintf(headers, sizeof(headers),
             "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
             "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
             "Access-Control-Allow-Headers: Content-Type, X-Write-Key\r\n"
             "Access-Control-Max-Age: 86400\r\n",
             origin);
    return http_send(c, 204, NULL, NULL, 0, headers);
}

/* Finds the request's write key: X-Write-Key, else ?write_key=. */
static const char *collector_write_key(struct mg_connection *c, char *buf, size_t buflen)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *h = mg_get_header(c, "X-Write-Key");

    if (h != NULL) {
        return h;
    }
    if (ri->query_string != NULL &&
        mg_get_var(ri->query_string, strlen(ri->query_string), "write_key", buf, buflen) > 0) {
        return buf;
    }
    return NULL;
}

/* Checks write key, rate limit and content type. Returns 0 to go on, or
 * the status already sent. */
static int collector_guard(struct collector *col, struct mg_connection *c, const char *ip,
                           const char **site_id, const char *cors)
{
    char keybuf[256];
    int retry;

    *site_id = write_keys_match(col->keys, collector_write_key(c, keybuf, sizeof(keybuf)));
    if (*site_id == NULL) {
        return collector_error(c, 401, "missing or invalid write key", cors, NULL);
    }
    if (!ratelimit_allow(col->ratelimit, ip, 1.0, lifecycle_mono_ms(), &retry)) {
        char extra[64];
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry);
        return collector_error(c, 429, "rate limit exceeded", cors, extra);
    }
    if (!collector_content_type_ok(mg_get_header(c, "Content-Type"))) {
        return collector_error(c, 415, "content type must be application/json or text/plain", cors,
                               NULL);
    }
    return 0;
}

static int collector_handle(struct collector *col, struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *origin = mg_get_header(c, "Origin");
    /* an Origin longer than any real one is refused before it reaches a header */
    enum cors_decision d = origin != NULL && strlen(origin) > COLLECTOR_ORIGIN_MAX
                               ? CORS_DENIED
                               : cors_check(col->cors, origin);
    struct event_request req = {0};
    char cors[600], ip[64];
    char *body = NULL;
    size_t len = 0;
    int status;

    if (strcmp(ri->request_method, "OPTIONS") == 0) {
        return collector_preflight(c, d, origin);
    }
    if (strcmp(ri->request_method, "POST") != 0) {
        return collector_error(c, 405, "method not allowed; use POST", NULL,
                               "Allow: POST, OPTIONS\r\n");
    }
    if (d == CORS_DENIED) {
        return collector_error(c, 403, "origin not allowed", NULL, NULL);
    }
    collector_cors_headers(d, origin, cors, sizeof(cors));
    if (client_ip_resolve(col->proxies, ri->remote_addr, mg_get_header(c, "X-Forwarded-For"), ip,
                          sizeof(ip)) != 0) {
        snprintf(ip, sizeof(ip), "%s", ri->remote_addr);
    }
    status = collector_guard(col, c, ip, &req.site_id, cors);
    if (status != 0) {
        return status;
    }
    status =
        collector_read_body(c, ri->content_length, (size_t)col->cfg->max_body_bytes, &body, &len);
    if (status != 0) {
        char msg[96];
        if (status == 413) {
            snprintf(msg, sizeof(msg), "body exceeds %lld bytes", col->cfg->max_body_bytes);
        } else {
            snprintf(msg, sizeof(msg), "%s",
                     status == 400 ? "incomplete request body" : "out of memory");
        }
        return collector_error(c, status, msg, cors, "Connection: close\r\n");
    }
    req.received_ms = lifecycle_now_ms();
    req.client_ip = ip;
    req.user_agent = mg_get_header(c, "User-Agent");
    req.origin = origin;
    req.collector_id = col->collector_id;
    status = collector_process(col, c, body, len, &req, cors);
    free(body);
    return status;
}

int collector_handle_events(struct mg_connection *c, void *arg)
{
    struct collector *col = arg;
    long long t0 = lifecycle_mono_ms();
    int status = collector_handle(col, c);

    collector_count_status(col, status);
    metric_observe(col->m_latency, (double)(lifecycle_mono_ms() - t0) / 1000.0);
    return status;
}

static void collector_metrics(struct collector *col, struct metrics *m)
{
    for (int i = 0; i < COLLECTOR_STATUS_SLOTS; i++) {
        col->m_status[i] = metrics_counter(m, "analytics_http_requests_total",
                                           "HTTP requests to the events endpoint by status",
                                           collector_status_labels[i]);
    }
    col->m_in = metrics_counter(m, "analytics_events_in_total", "Events accepted", NULL);
    col->m_rejected =
        metrics_counter(m, "analytics_events_rejected_total", "Events or bodies rejected", NULL);
    col->m_deadletters = metrics_counter(m, "analytics_dead_letters_total",
                                         "Rejected inputs sent to the dead-letter topic", NULL);
    col->m_latency = metrics_histogram(m, "analytics_processing_latency_seconds",
                                       "Time to handle one events request", NULL,
                                       metrics_latency_bounds, metrics_latency_bounds_n);
}

int collector_init(struct collector *col, const struct collector_config *cfg,
                   struct metrics *metrics, FILE *err)
{
    char why[256];
    int bad = 0;

    memset(col, 0, sizeof(*col));
    col->cfg = cfg;
    col->delivered = cfg->ack == COLLECTOR_ACK_DELIVERED;
    event_limits_default(&col->limits);
    col->limits.max_batch = (size_t)cfg->max_batch;
    col->limits.max_skew_ms = cfg->skew_tolerance_s * 1000;
    col->limits.retention_days = cfg->retention_days;
    col->limits.future_days = cfg->future_days;
    if (gethostname(col->collector_id, sizeof(col->collector_id)) == -1) {
        snprintf(col->collector_id, sizeof(col->collector_id), "unknown");
    }
    col->collector_id[sizeof(col->collector_id) - 1] = '\0';
    if ((col->cors = cors_new(cfg->cors_origins, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_COLLECTOR_CORS_ORIGINS: %s\n", why);
        bad++;
    }
    if ((col->keys = write_keys_new(cfg->write_keys, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_COLLECTOR_WRITE_KEYS: %s\n", why);
        bad++;
    }
    if ((col->proxies = proxy_list_new(cfg->trusted_proxies, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_COLLECTOR_TRUSTED_PROXIES: %s\n", why);
        bad++;
    }
    if (kafka_debug_check(cfg->kafka_debug, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_KAFKA_DEBUG: %s\n", why);
        bad++;
    }
    col->ratelimit = ratelimit_new((double)cfg->rate_limit, (double)cfg->rate_burst, 65536);
    if (col->ratelimit == NULL) {
        fprintf(err, "collector: out of memory\n");
        bad++;
    }
    collector_metrics(col, metrics);
    return bad;
}

void collector_fini(struct collector *col)
{
    cors_free(col->cors);
    write_keys_free(col->keys);
    proxy_list_free(col->proxies);
    ratelimit_free(col->ratelimit);
    memset(col, 0, sizeof(*col));
}
