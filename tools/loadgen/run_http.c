/*
 * --http: visitors posting to the collector, as browsers do. Each thread
 * owns a shard of the visitors (so one visitor's requests go out in order)
 * and one keep-alive connection. A request carries up to --batch events of
 * one visitor, with that visitor's User-Agent and X-Forwarded-For; it goes
 * out when the batch is full or the visit ends.
 */
#include "run.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "raw.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_STATUS 600
#define HTTP_RESPONSE_CAP 65536
#define HTTP_TIMEOUT_MS 30000L
#define HTTP_LOGGED_FAILURES 5

/* A visitor's events not sent yet. ua and ip are borrowed from the generator. */
struct http_pending {
    cJSON *events; /* array, NULL when empty */
    int n;
    const char *ua;
    const char *ip;
};

struct http_worker {
    const struct loadgen_ctx *c;
    uint32_t id;
    pthread_t thread;
    long long quota; /* events to make; -1: no limit */
    struct loadgen_gen *gen;
    struct http_pending *pending; /* per visitor of the shard */
    CURL *curl;
    char resp[HTTP_RESPONSE_CAP];
    size_t resp_len;
    struct loadgen_pace pace;
    /* results */
    long long events, sent, requests, accepted, rejected;
    long long status[HTTP_MAX_STATUS]; /* [0]: no answer */
    struct loadgen_hist hist;          /* request latency, microseconds */
    struct loadgen_seen seen;
    int failures_logged;
    int error;
};

static atomic_int http_stop;
static atomic_int http_running;

static size_t http_on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_worker *w = arg;
    size_t len = size * n, room = sizeof(w->resp) - 1 - w->resp_len;

    if (len > room) {
        len = room;
    }
    memcpy(w->resp + w->resp_len, data, len);
    w->resp_len += len;
    w->resp[w->resp_len] = '\0';
    return size * n;
}

/* Logs a failed request, the first few times. */
static void http_log_failure(struct http_worker *w, long status, const char *why)
{
    if (w->failures_logged++ < HTTP_LOGGED_FAILURES) {
        log_warn("loadgen.request_failed", LOG_INT("status", status), LOG_STR("error", why),
                 LOG_STR("body", w->resp));
    }
}

/* Counts a 202's accepted and rejected events from its body. */
static void http_count_accepted(struct http_worker *w, int sent)
{
    cJSON *doc = cJSON_ParseWithLength(w->resp, w->resp_len);
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(doc, "accepted");
    const cJSON *rej = cJSON_GetObjectItemCaseSensitive(doc, "rejected");

    if (cJSON_IsNumber(acc)) {
        w->accepted += (long long)acc->valuedouble;
        w->rejected += cJSON_IsArray(rej) ? cJSON_GetArraySize(rej) : 0;
    } else {
        w->rejected += sent; /* an answer we cannot read proves nothing */
    }
    cJSON_Delete(doc);
}

/* The request's headers. Returns a new list (caller frees with
 * curl_slist_free_all), or NULL when out of memory. */
static struct curl_slist *http_headers(const char *ip)
{
    char xff[96];
    const char *lines[] = {"Content-Type: application/json", "Expect:", xff};
    struct curl_slist *list = NULL, *next;

    snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", ip);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        next = curl_slist_append(list, lines[i]);
        if (next == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    return list;
}

/* POSTs body for a visitor. Records status and latency. */
static void http_post(struct http_worker *w, const char *body, int nevents, const char *ua,
                      const char *ip)
{
    struct curl_slist *hdrs = http_headers(ip); /* "Expect:": no 100-continue wait */
    long status = 0;
    long long t0;
    CURLcode res;

    if (hdrs == NULL) {
        log_error("loadgen.out_of_memory");
        w->error = 1;
        return;
    }
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(w->curl, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    w->resp_len = 0;
    w->resp[0] = '\0';
    t0 = loadgen_mono_us();
    res = curl_easy_perform(w->curl);
    loadgen_hist_add(&w->hist, (uint64_t)(loadgen_mono_us() - t0));
    curl_slist_free_all(hdrs);
    w->requests++;
    w->sent += nevents;
    if (res != CURLE_OK) {
        w->status[0]++;
        w->rejected += nevents;
        http_log_failure(w, 0, curl_easy_strerror(res));
        return;
    }
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    w->status[status > 0 && status < HTTP_MAX_STATUS ? status : 0]++;
    if (status == 202) {
        http_count_accepted(w, nevents);
    } else {
        w->rejected += nevents;
        http_log_failure(w, status, "unexpected status");
    }
}

/* Sends the visitor's pending events as one {"events":[...]} request. */
static void http_flush(struct http_worker *w, struct http_pending *p)
{
    cJSON *root;
    char *body = NULL;

    if (p->events == NULL) {
        return;
    }
    root = cJSON_CreateObject();
    if (root != NULL && cJSON_AddItemToObject(root, "events", p->events)) {
        p->events = NULL; /* root owns it now */
        body = cJSON_PrintUnformatted(root);
    }
    if (body != NULL) {
        http_post(w, body, p->n, p->ua, p->ip);
    } else {
        log_error("loadgen.out_of_memory");
        w->error = 1;
    }
    free(body);
    cJSON_Delete(root);
    cJSON_Delete(p->events);
    p->events = NULL;
    p->n = 0;
}

/* Adds ev to its visitor's batch and sends the batch when full or when the
 * visit ends. */
static void http_take(struct http_worker *w, const struct loadgen_event *ev)
{
    struct http_pending *p = &w->pending[ev->visitor / w->c->o->concurrency];
    cJSON *obj = loadgen_raw_wire(ev);

    if (p->events == NULL) {
        p->events = cJSON_CreateArray();
        p->ua = ev->user_agent;
        p->ip = ev->client_ip;
    }
    if (obj == NULL || p->events == NULL || !cJSON_AddItemToArray(p->events, obj)) {
        cJSON_Delete(obj);
        log_error("loadgen.out_of_memory");
        w->error = 1;
        return;
    }
    p->n++;
    if (p->n >= w->c->o->batch || ev->visit_end) {
        http_flush(w, p);
    }
}

static void *http_worker_main(void *arg)
{
    struct http_worker *w = arg;
    const struct loadgen_opts *o = w->c->o;
    long long deadline =
        o->duration_s > 0 ? loadgen_mono_us() + (long long)(o->duration_s * 1e6) : 0;
    struct loadgen_event ev;

    loadgen_pace_init(&w->pace, o->rate / o->concurrency);
    while (!atomic_load(&http_stop) && !w->error && (w->quota < 0 || w->events < w->quota) &&
           (deadline == 0 || loadgen_mono_us() < deadline)) {
        loadgen_pace_wait(&w->pace, w->events, &http_stop); /* events are due when made */
        if (atomic_load(&http_stop)) {
            break;
        }
        loadgen_gen_next(w->gen, &ev);
        loadgen_seen_add(&w->seen, &ev);
        w->events++;
        http_take(w, &ev);
    }
    for (uint32_t i = 0; i < loadgen_gen_visitors(w->gen) && !w->error; i++) {
        http_flush(w, &w->pending[i]); /* what the visitors still hold */
    }
    atomic_fetch_sub(&http_running, 1);
    return NULL;
}

/* Sets up worker i. Returns 0, or -1 (logged). */
static int http_worker_init(struct http_worker *w, const struct loadgen_ctx *c, uint32_t i)
{
    const struct loadgen_opts *o = c->o;
    struct loadgen_params p = o->params;
    char err[256];

    w->c = c;
    w->id = i;
    w->quota = o->count == 0 ? -1 : o->count / o->concurrency + (i < o->count % o->concurrency);
    p.shard = i;
    p.shards = (uint32_t)o->concurrency;
    w->gen = loadgen_gen_new(&p, c->agents, err, sizeof(err));
    if (w->gen == NULL) {
        log_error("loadgen.bad_parameters", LOG_STR("error", err));
        return -1;
    }
    w->pending = calloc(loadgen_gen_visitors(w->gen), sizeof(*w->pending));
    w->curl = curl_easy_init();
    if (w->pending == NULL || w->curl == NULL ||
        loadgen_seen_init(&w->seen, loadgen_agents_total(c->agents), o->params.visitors) != 0) {
        log_error("loadgen.out_of_memory");
        return -1;
    }
    curl_easy_setopt(w->curl, CURLOPT_URL, o->url);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
    return 0;
}

static void http_worker_fini(struct http_worker *w)
{
    if (w->pending != NULL) {
        for (uint32_t i = 0; i < loadgen_gen_visitors(w->gen); i++) {
            cJSON_Delete(w->pending[i].events);
        }
    }
    free(w->pending);
    curl_easy_cleanup(w->curl);
    loadgen_gen_free(w->gen);
    loadgen_seen_fini(&w->seen);
}

/* Adds worker src's results into dst. */
static void http_merge(struct http_worker *dst, const struct http_worker *src)
{
    dst->events += src->events;
    dst->sent += src->sent;
    dst->requests += src->requests;
    dst->accepted += src->accepted;
    dst->rejected += src->rejected;
    dst->error |= src->error;
    for (int i = 0; i < HTTP_MAX_STATUS; i++) {
        dst->status[i] += src->status[i];
    }
    loadgen_hist_merge(&dst->hist, &src->hist);
    loadgen_seen_merge(&dst->seen, &src->seen);
}

static double http_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

/* Prints the summary of the merged results. Returns the exit status. */
static int http_summary(const struct loadgen_ctx *c, struct http_worker *all, double seconds)
{
    cJSON *s = loadgen_summary_new(c, "http", all->sent, seconds, &all->seen);
    cJSON *st = cJSON_CreateObject(), *lat = cJSON_CreateObject();
    bool clean = !all->error && all->rejected == 0 && all->accepted == all->sent;
    char code[8];

    for (int i = 0; i < HTTP_MAX_STATUS; i++) {
        if (all->status[i] != 0) {
            snprintf(code, sizeof(code), "%d", i);
            cJSON_AddNumberToObject(st, code, (double)all->status[i]);
            clean = clean && i == 202;
        }
    }
    cJSON_AddNumberToObject(lat, "p50", http_ms(loadgen_hist_quantile(&all->hist, 0.50)));
    cJSON_AddNumberToObject(lat, "p90", http_ms(loadgen_hist_quantile(&all->hist, 0.90)));
    cJSON_AddNumberToObject(lat, "p99", http_ms(loadgen_hist_quantile(&all->hist, 0.99)));
    cJSON_AddNumberToObject(lat, "max", http_ms(loadgen_hist_quantile(&all->hist, 1.0)));
    if (s != NULL) {
        cJSON_AddNumberToObject(s, "requests", (double)all->requests);
        cJSON_AddNumberToObject(s, "requests_per_sec",
                                seconds > 0 ? (double)(long long)(all->requests / seconds) : 0);
        cJSON_AddNumberToObject(s, "accepted", (double)all->accepted);
        cJSON_AddNumberToObject(s, "rejected", (double)all->rejected);
        cJSON_AddItemToObject(s, "statuses", st);
        cJSON_AddItemToObject(s, "latency_ms", lat);
    } else {
        cJSON_Delete(st);
        cJSON_Delete(lat);
    }
    loadgen_summary_emit(s, true);
    return clean ? 0 : 1;
}

/* Waits for the workers, turning a signal into a stop request. */
static void http_wait(void)
{
    static const struct timespec ts = {0, 50 * 1000000L};

    while (atomic_load(&http_running) > 0) {
        if (loadgen_signalled()) {
            atomic_store(&http_stop, 1);
        }
        nanosleep(&ts, NULL);
    }
}

int loadgen_run_http(const struct loadgen_ctx *c)
{
    int nw = c->o->concurrency, started = 0, rc = 1;
    struct http_worker *w = calloc((size_t)nw + 1, sizeof(*w));
    struct http_worker *all = w != NULL ? &w[nw] : NULL;
    long long t0;

    if (w == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("loadgen.http_init_failed");
        free(w);
        return 1;
    }
    for (int i = 0; i < nw; i++) {
        if (http_worker_init(&w[i], c, (uint32_t)i) != 0) {
            goto out;
        }
    }
    if (loadgen_seen_init(&all->seen, loadgen_agents_total(c->agents), c->o->params.visitors) !=
        0) {
        log_error("loadgen.out_of_memory");
        goto out;
    }
    log_info("loadgen.started", LOG_STR("mode", "http"), LOG_STR("url", c->o->url),
             LOG_INT("concurrency", nw), LOG_INT("batch", c->o->batch),
             LOG_DBL("rate", c->o->rate));
    t0 = loadgen_mono_us();
    atomic_store(&http_running, nw);
    for (; started < nw; started++) {
        if (pthread_create(&w[started].thread, NULL, http_worker_main, &w[started]) != 0) {
            log_error("loadgen.thread_failed");
            atomic_store(&http_stop, 1);
            atomic_fetch_sub(&http_running, nw - started);
            all->error = 1;
            break;
        }
    }
    http_wait();
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        http_merge(all, &w[i]);
    }
    rc = http_summary(c, all, (double)(loadgen_mono_us() - t0) / 1e6);
out:
    for (int i = 0; i <= nw; i++) {
        http_worker_fini(&w[i]);
    }
    free(w);
    curl_global_cleanup();
    return rc;
}
