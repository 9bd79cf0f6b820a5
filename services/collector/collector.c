#include "collector.h"

#include "analytics/bytebuf.h"
#include "analytics/deadletter.h"
#include "analytics/http.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/clientip.h"
#include "analytics/cors.h"
#include "analytics/ratelimit.h"
#include "analytics/write_keys.h"
#include "ingest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define COLLECTOR_ORIGIN_MAX 255       /* bytes of an Origin header we echo */
#define COLLECTOR_BODY_MAX (16u << 20) /* bytes of a response body we build */

static const int collector_statuses[COLLECTOR_STATUS_SLOTS] = {202, 204, 400, 401, 403, 405, 408,
                                                               413, 415, 429, 431, 500, 503, 0};
static const char *const collector_status_labels[COLLECTOR_STATUS_SLOTS] = {
    "status=\"202\"", "status=\"204\"", "status=\"400\"", "status=\"401\"",  "status=\"403\"",
    "status=\"405\"", "status=\"408\"", "status=\"413\"", "status=\"415\"",  "status=\"429\"",
    "status=\"431\"", "status=\"500\"", "status=\"503\"", "status=\"other\""};

/* Appends s to a response body as a JSON string body (escaped, no quotes). */
static void collector_body_escape(struct bytebuf *b, const char *s)
{
    size_t worst = strlen(s) * 6;

    if (bytebuf_reserve(b, worst) != NULL) {
        bytebuf_commit(b, log_json_escape(b->data, b->len, b->cap, s) - b->len);
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
static int collector_error(struct http_request *c, int status, const char *msg, const char *cors,
                           const char *extra)
{
    struct bytebuf b;
    char headers[1024];
    int rc;

    bytebuf_init(&b, COLLECTOR_BODY_MAX);
    snprintf(headers, sizeof(headers), "%s%s", cors != NULL ? cors : "",
             extra != NULL ? extra : "");
    bytebuf_addstr(&b, "{\"error\":\"");
    collector_body_escape(&b, msg);
    bytebuf_addstr(&b, "\"}\n");
    if (bytebuf_failed(&b)) {
        rc = http_send_json(c, 500, "{\"error\":\"out of memory\"}\n", headers);
    } else {
        rc = http_send(c, status, "application/json", b.data, b.len, headers);
    }
    bytebuf_fini(&b);
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
    Analytics__V1__DeadLetter dl;
    struct deadletter_src src = {
        .service = "analytics-collector",
        .code = code,
        .reason = reason,
        .cause_event_id = cause_id,
        .fingerprint = fingerprint,
        .original = original,
        .len = len,
        .content_type = "application/json",
        .ts_ms = lifecycle_now_ms(),
        .batch_index = (uint32_t)index,
    };
    size_t n;
    int rc;

    deadletter_init(&dl, &src);
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
static void collector_batch_body(struct bytebuf *b, const struct event_batch *batch,
                                 size_t accepted, size_t first_unsent)
{
    char num[96];
    const char *sep = "";

    snprintf(num, sizeof(num), "{\"accepted\":%zu,\"rejected\":[", accepted);
    bytebuf_addstr(b, num);
    for (size_t i = 0; i < batch->n_rejected; i++, sep = ",") {
        snprintf(num, sizeof(num), "%s{\"index\":%zu,\"error\":\"", sep, batch->rejected[i].index);
        bytebuf_addstr(b, num);
        collector_body_escape(b, batch->rejected[i].error);
        bytebuf_addstr(b, "\"}");
    }
    for (size_t i = first_unsent; i < batch->n_events; i++, sep = ",") {
        snprintf(num, sizeof(num), "%s{\"index\":%u,\"error\":\"", sep,
                 (unsigned)batch->events[i].batch_index);
        bytebuf_addstr(b, num);
        bytebuf_addstr(b, "broker unreachable and spool full; retry\",\"retryable\":true}");
    }
    bytebuf_addstr(b, "]}\n");
}

/* Hands the batch's events and dead letters to the ingest, with w (NULL in
 * queued mode). Returns 0, or INGEST_FULL / -1 when some could not be
 * taken. *accepted counts those taken; *first_unsent is the first event not
 * submitted (n_events when all were). */
static int collector_submit(struct collector *col, const struct event_batch *batch,
                            struct ingest_wait *w, size_t *accepted, size_t *first_unsent)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;

    *accepted = 0;
    *first_unsent = batch->n_events;
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
    free(buf);
    return rc;
}

/* One parsed request on its way: in delivered mode it waits, its
 * connection suspended, until the broker acknowledged every event. The
 * events' strings borrowed from the request (IP, user agent) die with the
 * handler's frame: once submitted, only counts and rejections are read. */
struct collector_pending {
    struct collector *col;
    struct http_request *c;
    struct event_batch batch;
    struct ingest_wait wait;
    size_t accepted;
    size_t first_unsent;
    int rc;
    long long t0; /* monotonic ms at the start of the handler */
    char cors[600];
};

/* Answers a submitted batch and returns the status. failed events (not
 * delivered, not spooled) are taken off the accepted count. */
static int collector_answer(struct collector_pending *p, int failed)
{
    struct bytebuf b;
    int status;

    if (failed > 0) {
        p->accepted -= (size_t)failed < p->accepted ? (size_t)failed : p->accepted;
        p->first_unsent = SIZE_MAX; /* cannot be pinned to an event */
        p->rc = INGEST_FULL;
    }
    metric_add(p->col->m_in, (double)p->accepted);
    metric_add(p->col->m_rejected, (double)p->batch.n_rejected);
    /* 503 only when nothing was taken or we cannot say what was: a client
     * retrying a partly taken batch would otherwise send events twice. */
    if (p->rc != 0 && (p->accepted == 0 || p->first_unsent == SIZE_MAX)) {
        return collector_error(p->c, 503,
                               p->rc == INGEST_FULL ? "broker unreachable and spool full"
                                                    : "spool write failed",
                               p->cors, "Retry-After: 5\r\n");
    }
    status = p->batch.n_events == 0 ? 400 : 202;
    bytebuf_init(&b, COLLECTOR_BODY_MAX);
    collector_batch_body(&b, &p->batch, p->accepted, p->first_unsent);
    if (bytebuf_failed(&b)) {
        bytebuf_fini(&b);
        return collector_error(p->c, 500, "out of memory", p->cors, NULL);
    }
    http_send(p->c, status, "application/json", b.data, b.len, p->cors);
    bytebuf_fini(&b);
    return status;
}

static void collector_pending_free(struct collector_pending *p)
{
    if (p == NULL) {
        return;
    }
    event_batch_fini(&p->batch);
    ingest_wait_fini(&p->wait);
    free(p);
}

static void collector_account(struct collector *col, int status, long long t0)
{
    collector_count_status(col, status);
    metric_observe(col->m_latency, (double)(lifecycle_mono_ms() - t0) / 1000.0);
}

/* The last event of a deferred request is resolved (usually on the
 * producer's delivery thread): answer, resume the connection, free. */
static void collector_delivered(void *arg, int failed)
{
    struct collector_pending *p = arg;
    int status = collector_answer(p, failed);

    collector_account(p->col, status, p->t0);
    http_resume(p->c);
    collector_pending_free(p);
}

/* Parses and submits a body; sends the response, or in delivered mode
 * defers it to collector_delivered. Returns the status, or 0 when deferred. */
static int collector_process(struct collector *col, struct http_request *c, const char *body,
                             size_t len, const struct event_request *req, const char *cors,
                             long long t0)
{
    struct collector_pending *p = calloc(1, sizeof(*p));
    char err[256];
    int status;

    if (p == NULL) {
        return collector_error(c, 503, "out of memory; retry", cors, "Retry-After: 1\r\n");
    }
    p->col = col;
    p->c = c;
    p->t0 = t0;
    snprintf(p->cors, sizeof(p->cors), "%s", cors);
    ingest_wait_init(&p->wait);
    if (event_batch_parse(body, len, &col->limits, req, &p->batch, err, sizeof(err)) != 0) {
        uint8_t *buf = NULL;
        size_t cap = 0;
        collector_deadletter(col, "malformed_request", err, body, len, NULL, NULL, 0, &buf, &cap);
        free(buf);
        metric_add(col->m_rejected, 1);
        collector_pending_free(p);
        return collector_error(c, 400, err, cors, NULL);
    }
    if (!col->delivered) {
        p->rc = collector_submit(col, &p->batch, NULL, &p->accepted, &p->first_unsent);
        status = collector_answer(p, 0);
        collector_pending_free(p);
        return status;
    }
    /* suspend first: the answer may come from the delivery thread at once */
    http_defer(c);
    p->rc = collector_submit(col, &p->batch, &p->wait, &p->accepted, &p->first_unsent);
    if (ingest_wait_seal(&p->wait, collector_delivered, p)) {
        collector_delivered(p, ingest_wait_failed(&p->wait));
    }
    return 0;
}

static int collector_preflight(struct http_request *c, enum cors_decision d, const char *origin)
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
static const char *collector_write_key(struct http_request *c)
{
    const char *h = http_header(c, "X-Write-Key");

    return h != NULL ? h : http_query(c, "write_key");
}

#define COLLECTOR_XFF_LINES 64 /* X-Forwarded-For lines read (a request has at most 63 headers) */

/* Joins every X-Forwarded-For line of the request into buf (xff_join keeps
 * the right-most entries when they do not all fit), so a client's own line
 * cannot hide the one its proxy added. Returns buf, or NULL when the
 * request has no such line. */
static const char *collector_xff(struct http_request *c, char *buf, size_t buflen)
{
    const char *lines[COLLECTOR_XFF_LINES];
    size_t n = http_headers(c, "X-Forwarded-For", lines, COLLECTOR_XFF_LINES);

    if (n > COLLECTOR_XFF_LINES) {
        n = COLLECTOR_XFF_LINES;
    }
    if (n == 0 || xff_join(lines, n, buf, buflen) < 0) {
        return NULL;
    }
    return buf;
}

/* Checks rate limit, write key and content type. The rate limit comes
 * first, so requests with a missing or wrong key are counted and limited
 * too: a key-guessing flood gets 429 after the burst. A client is keyed by
 * its IPv4 address or its IPv6 network (client_ip_key). Returns 0 to go on,
 * or the status already sent. */
static int collector_guard(struct collector *col, struct http_request *c, const char *ip,
                           const char **site_id, const char *cors)
{
    char rlkey[64];
    int retry;

    *site_id = NULL;
    if (client_ip_key(ip, (unsigned)col->cfg->rate_limit_ipv6_prefix, rlkey, sizeof(rlkey)) != 0) {
        snprintf(rlkey, sizeof(rlkey), "%s", ip); /* not an address: its text is the key */
    }
    if (!ratelimit_allow(col->ratelimit, rlkey, 1.0, lifecycle_mono_ms(), &retry)) {
        char extra[64];
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry);
        return collector_error(c, 429, "rate limit exceeded", cors, extra);
    }
    *site_id = write_keys_match(col->keys, collector_write_key(c));
    if (*site_id == NULL) {
        return collector_error(c, 401, "missing or invalid write key", cors, NULL);
    }
    if (!collector_content_type_ok(http_header(c, "Content-Type"))) {
        return collector_error(c, 415, "content type must be application/json or text/plain", cors,
                               NULL);
    }
    return 0;
}

/* The CORS decision for the request's Origin; an Origin longer than any
 * real one is refused before it reaches a header. */
static enum cors_decision collector_cors(const struct collector *col, struct http_request *c,
                                         char *cors, size_t corslen)
{
    const char *origin = http_header(c, "Origin");
    enum cors_decision d = origin != NULL && strlen(origin) > COLLECTOR_ORIGIN_MAX
                               ? CORS_DENIED
                               : cors_check(col->cors, origin);

    collector_cors_headers(d, origin, cors, corslen);
    return d;
}

/* The client's IP: from X-Forwarded-For when the peer is a trusted proxy. */
static void collector_client_ip(const struct collector *col, struct http_request *c, char *ip,
                                size_t iplen)
{
    char xff[2048];

    if (client_ip_resolve(col->proxies, http_peer(c), collector_xff(c, xff, sizeof(xff)), ip,
                          iplen) != 0) {
        snprintf(ip, iplen, "%s", http_peer(c));
    }
}

/* Everything decided from the headers alone: method, origin, write key,
 * rate limit, content type. Returns 0 to read the body, or the status sent. */
static int collector_check_headers(struct collector *col, struct http_request *c)
{
    const char *method = http_method(c);
    const char *site_id;
    char cors[600], ip[64];
    enum cors_decision d;

    if (strcmp(method, "OPTIONS") == 0) {
        d = collector_cors(col, c, cors, sizeof(cors));
        return collector_preflight(c, d, http_header(c, "Origin"));
    }
    if (strcmp(method, "POST") != 0) {
        return collector_error(c, 405, "method not allowed; use POST", NULL,
                               "Allow: POST, OPTIONS\r\n");
    }
    if (collector_cors(col, c, cors, sizeof(cors)) == CORS_DENIED) {
        return collector_error(c, 403, "origin not allowed", NULL, NULL);
    }
    collector_client_ip(col, c, ip, sizeof(ip));
    return collector_guard(col, c, ip, &site_id, cors);
}

/* The body is in: parses it and submits the events. Returns the status, or
 * 0 when the answer is deferred. */
static int collector_handle(struct collector *col, struct http_request *c, long long t0)
{
    struct event_request req = {0};
    char cors[600], ip[64];
    const char *body;
    size_t len;

    collector_cors(col, c, cors, sizeof(cors));
    collector_client_ip(col, c, ip, sizeof(ip));
    body = http_body(c, &len);
    req.site_id = write_keys_match(col->keys, collector_write_key(c));
    req.received_ms = lifecycle_now_ms();
    req.client_ip = ip;
    req.user_agent = http_header(c, "User-Agent");
    req.origin = http_header(c, "Origin");
    req.collector_id = col->collector_id;
    return collector_process(col, c, body != NULL ? body : "", len, &req, cors, t0);
}

int collector_check_events(void *arg, struct http_request *c)
{
    struct collector *col = arg;
    long long t0 = lifecycle_mono_ms();
    int status = collector_check_headers(col, c);

    if (status != 0) {
        collector_account(col, status, t0);
    }
    return status;
}

void collector_refused_events(void *arg, int status)
{
    collector_count_status(arg, status);
}

int collector_handle_events(void *arg, struct http_request *c)
{
    struct collector *col = arg;
    long long t0 = lifecycle_mono_ms();
    int status = collector_handle(col, c, t0);

    if (status != 0) { /* a deferred answer is accounted when it is given */
        collector_account(col, status, t0);
    }
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
    col->limits.retention_days = cfg->svc.retention_days;
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
    if ((cfg->inflight_max_mb << 20) < cfg->max_body_bytes) {
        /* else a body of the largest size allowed could never be taken */
        fprintf(err,
                "config: ANALYTICS_COLLECTOR_INFLIGHT_MAX_MB: %lld MB holds less than one body of "
                "ANALYTICS_COLLECTOR_MAX_BODY_BYTES (%lld)\n",
                cfg->inflight_max_mb, cfg->max_body_bytes);
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
    assets_free(col->assets);
    memset(col, 0, sizeof(*col));
}

static double collector_spool_records(void *arg)
{
    return (double)spool_pending_records(arg);
}

static double collector_spool_bytes(void *arg)
{
    return (double)spool_pending_bytes(arg);
}

void collector_spool_metrics(struct metrics *metrics, struct spool *spool)
{
    metrics_gauge_fn(metrics, "analytics_collector_spool_pending_events",
                     "Events waiting in the disk spool", NULL, collector_spool_records, spool);
    metrics_gauge_fn(metrics, "analytics_collector_spool_pending_bytes",
                     "Bytes waiting in the disk spool", NULL, collector_spool_bytes, spool);
}

struct http_server *collector_listen(struct collector *col, struct metrics *metrics, char *err,
                                     size_t errlen)
{
    const struct http_route *files = NULL;
    size_t n_files;
    struct http_opts ho;

    if (col->assets == NULL && (col->assets = assets_new(col->cfg->tracker_dir, metrics)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n_files = assets_routes(col->assets, &files);
    collector_config_http(col->cfg, &ho);
    col->routes[0] = (struct http_route){"/api/analytics/events", collector_check_events,
                                         collector_handle_events, collector_refused_events, col};
    for (size_t i = 0; i < n_files; i++) {
        col->routes[1 + i] = files[i];
    }
    ho.routes = col->routes;
    ho.n_routes = 1 + n_files;
    ho.name = "collector";
    ho.metrics = metrics;
    return http_start(&ho, err, errlen);
}
