#include "analytics/http.h"

#include "analytics/config.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_SWEEP_MS 100            /* how often deadlines are checked */
#define HTTP_CHUNKED_START 16384     /* first buffer for a body of unknown length */
#define HTTP_FD_RESERVE 64           /* descriptors kept for everything but connections */
#define HTTP_CL_MAX 8                /* Content-Length lines compared */
#define HTTP_LOG_EVERY_MS 1000       /* at most one libmicrohttpd message a second */
#define HTTP_SUSPENDED_WAIT_MS 15000 /* at stop, for deferred answers still owed */
#define HTTP_RESUMED_WAIT_MS 1000    /* at stop, for resumed answers to be written */
/* libmicrohttpd's memory per connection: the read buffer and the parsed
 * request line and headers, cleared for every request. 32 KiB takes headers
 * of up to about 16 KB (civetweb's limit before); larger ones get 431. */
#define HTTP_CONN_MEMORY 32768

static const char http_408[] = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                               "Content-Type: application/json\r\nContent-Length: 47\r\n\r\n"
                               "{\"error\":\"request not received in time; retry\"}";

/* What the sweeper does when a connection's deadline passes. */
enum http_expiry {
    HTTP_EXPIRE_NONE,  /* no deadline: a handler is running */
    HTTP_EXPIRE_408,   /* the request is late: answer 408, then close */
    HTTP_EXPIRE_CLOSE, /* idle or sending: close without a word */
    HTTP_EXPIRE_CUT,   /* the sweeper claimed it and shut it down: final */
};

/* One open connection, registered while libmicrohttpd holds it. */
struct http_conn {
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
    atomic_llong deadline_ms; /* monotonic; meaningful unless expiry is NONE */
    atomic_int expiry;        /* enum http_expiry; moved by compare-and-swap */
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *mc;
    struct http_conn *conn; /* NULL if the connection could not be registered */
    const struct http_route *route;
    const char *method;
    const char *path;
    char peer[INET6_ADDRSTRLEN];
    long long declared; /* Content-Length, or -1 */
    char *body;
    size_t len;
    size_t cap;
    long long reserved; /* bytes counted against inflight_max_bytes */
    long long dropped;  /* bytes of a refused body read and thrown away */
    int refuse_status;  /* answer this once the body is in (0: none) */
    bool responded;
    bool send_failed;           /* no answer could be queued: close the connection */
    bool deferred;              /* the handler answers later, from another thread */
    struct MHD_Response *ready; /* a deferred answer, queued once resumed */
    unsigned int ready_status;
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_opts o;
    char name[32];
    pthread_mutex_t lock; /* guards conns */
    struct http_conn *conns;
    atomic_int n_conns;
    atomic_llong inflight;
    atomic_int requests;  /* headers in, not yet completed */
    atomic_bool stopping; /* responses close their connections */
    atomic_bool sweeper_exit;
    atomic_llong last_log_ms;
    pthread_t sweeper;
    bool sweeper_started;
    atomic_int suspended; /* connections waiting for a deferred answer */
    atomic_int active;    /* polling threads inside http_access */
    atomic_bool closing;  /* after the drain: no handler may run (and defer) any more */
    pthread_mutex_t sweep_lock;
    pthread_cond_t sweep_cond;

    struct metric *m_timeouts;
    struct metric *m_busy;
};

void http_opts_default(struct http_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->threads = 2;
    o->max_connections = 256;
    o->header_timeout_ms = 5000;
    o->body_timeout_ms = 5000;
    o->keep_alive_ms = 5000;
    o->max_body_bytes = 65536;
    o->inflight_max_bytes = 1 << 20;
    o->max_headers = 63;
    o->name = "http";
}

/* ---- connections and their deadlines ---- */

/* Sets c's next deadline, unless the sweeper has cut it already. */
static void http_conn_arm(struct http_conn *c, enum http_expiry e, int in_ms)
{
    int cur;

    if (c == NULL) {
        return;
    }
    atomic_store(&c->deadline_ms, lifecycle_mono_ms() + in_ms);
    cur = atomic_load(&c->expiry);
    while (cur != HTTP_EXPIRE_CUT && !atomic_compare_exchange_weak(&c->expiry, &cur, (int)e)) {
    }
}

/* Takes a late request away from the sweeper before its handler runs.
 * Returns false when the sweeper won: it answers 408 and closes, and the
 * handler must not run. */
static bool http_conn_claim(struct http_conn *c)
{
    int cur = HTTP_EXPIRE_408;

    if (c == NULL) {
        return true;
    }
    return atomic_compare_exchange_strong(&c->expiry, &cur, HTTP_EXPIRE_NONE) ||
           cur != HTTP_EXPIRE_CUT;
}

static void http_conn_started(struct http_server *s, struct MHD_Connection *mc, void **ctx)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct http_conn *c = calloc(1, sizeof(*c));

    *ctx = c;
    if (c == NULL || ci == NULL) {
        free(c);
        *ctx = NULL;
        return;
    }
    c->fd = ci->connect_fd;
    http_conn_arm(c, HTTP_EXPIRE_408, s->o.header_timeout_ms);
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&s->n_conns, 1);
}

/* libmicrohttpd calls this before it closes the socket, so once c is out
 * of the list (under the lock) the sweeper can no longer touch its fd. */
static void http_conn_closed(struct http_server *s, struct http_conn *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_sub(&s->n_conns, 1);
    free(c);
}

static void http_notify_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn_started(s, mc, socket_context);
    } else {
        http_conn_closed(s, *socket_context);
        *socket_context = NULL;
    }
}

/* Shuts down every connection whose deadline passed; a late request first
 * gets a 408 (written while libmicrohttpd only reads from that socket). */
static void http_sweep(struct http_server *s)
{
    long long now = lifecycle_mono_ms();

    pthread_mutex_lock(&s->lock);
    for (struct http_conn *c = s->conns; c != NULL; c = c->next) {
        int e = atomic_load(&c->expiry);
        if (e == HTTP_EXPIRE_NONE || e == HTTP_EXPIRE_CUT || now < atomic_load(&c->deadline_ms)) {
            continue;
        }
        /* claim it: a handler about to run takes it back with
         * http_conn_claim, and exactly one of the two wins */
        if (!atomic_compare_exchange_strong(&c->expiry, &e, HTTP_EXPIRE_CUT)) {
            continue;
        }
        if (e == HTTP_EXPIRE_408) {
            ssize_t n = send(c->fd, http_408, sizeof(http_408) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)n; /* best effort: the close below is what matters */
            metric_add(s->m_timeouts, 1);
        }
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
}

static void *http_sweeper_main(void *arg)
{
    struct http_server *s = arg;

    pthread_mutex_lock(&s->sweep_lock);
    while (!atomic_load(&s->sweeper_exit)) {
        struct timespec ts;
        lifecycle_deadline(CLOCK_MONOTONIC, HTTP_SWEEP_MS,
                           &ts); /* the condition variable's clock */
        pthread_cond_timedwait(&s->sweep_cond, &s->sweep_lock, &ts);
        pthread_mutex_unlock(&s->sweep_lock);
        http_sweep(s);
        pthread_mutex_lock(&s->sweep_lock);
    }
    pthread_mutex_unlock(&s->sweep_lock);
    return NULL;
}

/* ---- requests ---- */

static bool http_under_pressure(const struct http_server *s)
{
    return atomic_load(&s->n_conns) * 4 > s->o.max_connections * 3;
}

static void http_release(struct http_request *r)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    if (r->reserved > 0) {
        atomic_fetch_sub(&r->srv->inflight, r->reserved);
        r->reserved = 0;
    }
}

/* Counts n more bytes against the in-flight cap. Returns 0, or -1 (nothing
 * counted) when the cap would be passed. */
static int http_reserve(struct http_request *r, long long n)
{
    struct http_server *s = r->srv;

    if (atomic_fetch_add(&s->inflight, n) + n > s->o.inflight_max_bytes) {
        atomic_fetch_sub(&s->inflight, n);
        return -1;
    }
    r->reserved += n;
    return 0;
}

static const struct http_route *http_route_find(const struct http_server *s, const char *path)
{
    for (size_t i = 0; i < s->o.n_routes; i++) {
        if (strcmp(s->o.routes[i].path, path) == 0) {
            return &s->o.routes[i];
        }
    }
    return NULL;
}

static void http_peer_text(struct MHD_Connection *mc, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    snprintf(out, outlen, "0.0.0.0");
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
        } else {
            inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
        }
    }
}

static struct http_request *http_request_new(struct http_server *s, struct MHD_Connection *mc,
                                             const char *url, const char *method)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct http_request *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->srv = s;
    r->mc = mc;
    r->conn = ci != NULL ? ci->socket_context : NULL;
    r->method = method;
    r->path = url;
    r->declared = -1;
    http_peer_text(mc, r->peer, sizeof(r->peer));
    return r;
}

struct http_collect {
    const char *name;
    const char **out;
    size_t max;
    size_t n;
};

static enum MHD_Result http_collect_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    struct http_collect *c = cls;

    (void)kind;
    if (key != NULL && strcasecmp(key, c->name) == 0) {
        if (c->n < c->max) {
            c->out[c->n] = value != NULL ? value : "";
        }
        c->n++;
    }
    return MHD_YES;
}

/* Checks the framing: header count and Content-Length. Returns 0, or the
 * status to answer, with the reason in *why. */
static int http_framing(struct http_request *r, const char **why)
{
    const char *cl[HTTP_CL_MAX];
    size_t n_cl = http_headers(r, "Content-Length", cl, HTTP_CL_MAX);
    int n_headers = MHD_get_connection_values(r->mc, MHD_HEADER_KIND, NULL, NULL);

    if (n_headers > r->srv->o.max_headers) {
        *why = "too many header lines";
        return 431;
    }
    for (size_t i = 1; i < n_cl && i < HTTP_CL_MAX; i++) {
        if (strcmp(cl[i], cl[0]) != 0) {
            *why = "conflicting Content-Length headers";
            return 400;
        }
    }
    if (n_cl > 0 && http_header(r, "Transfer-Encoding") != NULL) {
        *why = "Content-Length with Transfer-Encoding";
        return 400;
    }
    if (n_cl > 0) {
        char *end;
        errno = 0;
        long long v = strtoll(cl[0], &end, 10);
        if (errno != 0 || end == cl[0] || *end != '\0' || v < 0) {
            *why = "bad Content-Length";
            return 400;
        }
        r->declared = v;
    }
    return 0;
}

static int http_refuse(struct http_request *r, int status, const char *why, const char *extra)
{
    char body[160];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", why);

    if (r->route != NULL && r->route->refused != NULL) {
        r->route->refused(r->route->arg, status);
    }
    return http_send(r, status, "application/json", body, (size_t)n, extra);
}

/* The first call for a request: its headers are in. Checks the framing,
 * the route, the size limits and the route's own check, and reserves the
 * body's bytes. Leaves r->responded set when it answered. */
static void http_begin(struct http_request *r)
{
    struct http_server *s = r->srv;
    const char *why = NULL;
    long long want;
    int status;

    r->route = http_route_find(s, r->path);
    status = http_framing(r, &why);
    if (status != 0) {
        http_refuse(r, status, why, "Connection: close\r\n");
        return;
    }
    if (r->route == NULL) {
        http_refuse(r, 404, "not found", NULL);
        return;
    }
    if (r->declared > s->o.max_body_bytes) {
        char msg[64];
        snprintf(msg, sizeof(msg), "body exceeds %lld bytes", s->o.max_body_bytes);
        http_refuse(r, 413, msg, "Connection: close\r\n");
        return;
    }
    if (r->route->check != NULL && r->route->check(r->route->arg, r) != 0) {
        r->route = NULL; /* answered by the route: not a refusal of ours */
        if (!r->responded) {
            http_refuse(r, 500, "no response", "Connection: close\r\n");
        }
        return;
    }
    want = r->declared >= 0                           ? r->declared
           : HTTP_CHUNKED_START < s->o.max_body_bytes ? HTTP_CHUNKED_START
                                                      : s->o.max_body_bytes;
    if (want > 0 && http_reserve(r, want) != 0) {
        /* Read the body without keeping it and answer 503 once it is in: a
         * client that is still sending would not see an answer sent now. */
        metric_add(s->m_busy, 1);
        r->refuse_status = 503;
        http_conn_arm(r->conn, HTTP_EXPIRE_408, s->o.body_timeout_ms);
        return;
    }
    r->cap = (size_t)want + 1;
    r->body = malloc(r->cap);
    if (r->body == NULL) {
        http_release(r);
        r->refuse_status = 503;
    } else {
        r->body[0] = '\0';
    }
    http_conn_arm(r->conn, HTTP_EXPIRE_408, s->o.body_timeout_ms);
}

/* Appends a piece of body. A body past the limits is dropped from then on
 * and answered (413 or 503) once it has all arrived. Returns 0, or -1 to
 * close the connection: a refused body went on past max_body_bytes. */
static int http_append(struct http_request *r, const char *data, size_t n)
{
    struct http_server *s = r->srv;

    if (r->refuse_status != 0) {
        r->dropped += (long long)n;
        return r->dropped > s->o.max_body_bytes ? -1 : 0;
    }
    if ((long long)(r->len + n) > s->o.max_body_bytes ||
        (r->declared >= 0 && (long long)(r->len + n) > r->declared)) {
        r->refuse_status = 413;
        r->dropped = (long long)(r->len + n);
        http_release(r);
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t ncap = r->cap * 2 > r->len + n + 1 ? r->cap * 2 : r->len + n + 1;
        char *nb;
        if (http_reserve(r, (long long)(ncap - r->cap)) != 0 ||
            (nb = realloc(r->body, ncap)) == NULL) {
            metric_add(s->m_busy, 1);
            r->refuse_status = 503;
            r->dropped = (long long)(r->len + n);
            http_release(r);
            return 0;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

/* Runs the route's handler on the body in hand, then frees the body
 * (unless the handler deferred its answer: then the body lives until the
 * request completes). */
static void http_run(struct http_request *r)
{
    r->route->handle(r->route->arg, r);
    if (r->deferred) {
        return; /* r belongs to the answering thread until it resumes */
    }
    if (!r->responded) {
        http_refuse(r, 500, "no response", "Connection: close\r\n");
    }
    http_release(r); /* the response is copied: free the body before it is sent */
}

/* The last call: the whole body is in. Runs the handler. */
static void http_finish(struct http_request *r)
{
    struct http_server *s = r->srv;

    if (r->refuse_status == 413) {
        char msg[64];
        snprintf(msg, sizeof(msg), "body exceeds %lld bytes", s->o.max_body_bytes);
        http_refuse(r, 413, msg, "Connection: close\r\n");
        return;
    }
    if (r->refuse_status != 0) {
        http_refuse(r, 503, "server busy; retry", "Retry-After: 1\r\n");
        return;
    }
    if (!http_conn_claim(r->conn)) {
        return; /* the sweeper is answering 408 and closing */
    }
    if (atomic_load(&s->closing)) {
        /* stopping: a handler now could defer after the last check */
        http_refuse(r, 503, "shutting down; retry", "Retry-After: 1\r\nConnection: close\r\n");
        return;
    }
    http_run(r);
}

/* One call of libmicrohttpd's for request *con_cls: the headers are in
 * (first call), a piece of body, or the end of the body (and again after a
 * resume). MHD_NO closes the connection. */
static enum MHD_Result http_step(struct http_server *s, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_request *r = *con_cls;

    if (r == NULL) {
        r = http_request_new(s, mc, url, method);
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        atomic_fetch_add(&s->requests, 1);
        http_begin(r);
        return r->send_failed ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size > 0) {
        int rc = r->responded ? 0 : http_append(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return rc == 0 ? MHD_YES : MHD_NO;
    }
    if (r->ready != NULL) {
        /* resumed: queue the deferred answer here, on the polling thread */
        enum MHD_Result ok = MHD_queue_response(mc, r->ready_status, r->ready);
        MHD_destroy_response(r->ready);
        r->ready = NULL;
        return ok;
    }
    if (!r->responded && !r->deferred) {
        http_finish(r);
    }
    /* an answer that could not be queued: close rather than leave it hanging */
    return r->send_failed && !r->deferred ? MHD_NO : MHD_YES;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *mc, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    enum MHD_Result rc;

    (void)version;
    atomic_fetch_add(&s->active, 1); /* before any look at closing: see http_stop */
    rc = http_step(s, mc, url, method, upload_data, upload_data_size, con_cls);
    atomic_fetch_sub(&s->active, 1);
    return rc;
}

static void http_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_request *r = *con_cls;

    (void)mc;
    (void)toe;
    if (r == NULL) {
        return;
    }
    http_conn_arm(r->conn, HTTP_EXPIRE_CLOSE, s->o.keep_alive_ms);
    if (r->ready != NULL) {
        MHD_destroy_response(r->ready); /* the connection died before it resumed */
    }
    http_release(r);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->requests, 1);
}

/* ---- responses ---- */

/* Adds "Name: value\r\n" lines to resp. Returns 0, or -1 on a line that is
 * not one. */
static int http_add_headers(struct MHD_Response *resp, const char *lines)
{
    while (lines != NULL && *lines != '\0') {
        const char *eol = strstr(lines, "\r\n");
        const char *colon = strchr(lines, ':');
        char name[128], value[1024];
        size_t nl, vl;

        if (eol == NULL || colon == NULL || colon > eol) {
            return -1;
        }
        nl = (size_t)(colon - lines);
        colon++;
        while (*colon == ' ') {
            colon++;
        }
        vl = (size_t)(eol - colon);
        if (nl == 0 || nl >= sizeof(name) || vl >= sizeof(value)) {
            return -1;
        }
        memcpy(name, lines, nl);
        name[nl] = '\0';
        memcpy(value, colon, vl);
        value[vl] = '\0';
        if (MHD_add_response_header(resp, name, value) != MHD_YES) {
            return -1;
        }
        lines = eol + 2;
    }
    return 0;
}

int http_send(struct http_request *r, int status, const char *content_type, const char *body,
              size_t len, const char *extra_headers)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;

    if (r->responded) {
        return 500;
    }
    r->responded = true;
    r->send_failed = true; /* until the answer is queued or kept */
    resp =
        MHD_create_response_from_buffer(len, (void *)(len > 0 ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return 500;
    }
    if ((content_type != NULL &&
         MHD_add_response_header(resp, "Content-Type", content_type) != MHD_YES) ||
        http_add_headers(resp, extra_headers) != 0) {
        MHD_destroy_response(resp);
        return 500;
    }
    if (http_under_pressure(r->srv) || atomic_load(&r->srv->stopping)) {
        /* connections are short: do not keep this one idle */
        MHD_add_response_header(resp, "Connection", "close");
    }
    if (r->deferred) {
        /* not from this thread: the polling thread queues it after resume */
        r->ready = resp;
        r->ready_status = (unsigned int)status;
        r->send_failed = false;
        return status;
    }
    ok = MHD_queue_response(r->mc, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    r->send_failed = ok != MHD_YES;
    http_conn_arm(r->conn, HTTP_EXPIRE_CLOSE, r->srv->o.body_timeout_ms);
    return ok == MHD_YES ? status : 500;
}

void http_defer(struct http_request *r)
{
    r->deferred = true;
    atomic_fetch_add(&r->srv->suspended, 1);
    MHD_suspend_connection(r->mc);
}

void http_resume(struct http_request *r)
{
    struct http_server *s = r->srv;
    struct MHD_Connection *mc = r->mc;

    if (!r->responded) {
        http_refuse(r, 500, "no response", "Connection: close\r\n");
    }
    http_conn_arm(r->conn, HTTP_EXPIRE_CLOSE, s->o.body_timeout_ms);
    /* once resumed, the polling thread may complete and free r */
    MHD_resume_connection(mc);
    atomic_fetch_sub(&s->suspended, 1);
}

int http_send_json(struct http_request *r, int status, const char *json, const char *extra_headers)
{
    return http_send(r, status, "application/json", json, strlen(json), extra_headers);
}

/* ---- request accessors ---- */

const char *http_method(const struct http_request *r)
{
    return r->method;
}

const char *http_path(const struct http_request *r)
{
    return r->path;
}

const char *http_peer(const struct http_request *r)
{
    return r->peer;
}

const char *http_header(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, name);
}

size_t http_headers(const struct http_request *r, const char *name, const char **out, size_t max)
{
    struct http_collect c = {name, out, max, 0};

    MHD_get_connection_values(r->mc, MHD_HEADER_KIND, http_collect_one, &c);
    return c.n;
}

const char *http_query(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, name);
}

long long http_content_length(const struct http_request *r)
{
    return r->declared;
}

const char *http_body(const struct http_request *r, size_t *len)
{
    *len = r->body != NULL ? r->len : 0;
    return r->body;
}

/* ---- the server ---- */

__attribute__((format(printf, 2, 0))) static void http_log_message(void *cls, const char *fmt,
                                                                   va_list ap)
{
    struct http_server *s = cls;
    long long now = lifecycle_mono_ms();
    long long last = atomic_load(&s->last_log_ms);
    char msg[512];
    size_t n;

    if (now - last < HTTP_LOG_EVERY_MS ||
        !atomic_compare_exchange_strong(&s->last_log_ms, &last, now)) {
        return; /* a flood of refused connections must not flood the log */
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    log_warn("http.server_message", LOG_STR("server", s->name), LOG_STR("message", msg));
}

/* Resolves host:port into *ss. Returns 0 or -1. */
static int http_address(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256], port_s[16];
    struct addrinfo hints, *res = NULL;
    int port;

    if (config_split_hostport(listen, host, sizeof(host), &port) != 0) {
        return -1;
    }
    snprintf(port_s, sizeof(port_s), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host[0] != '\0' ? host : NULL, port_s, &hints, &res) != 0 || res == NULL) {
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Raises the descriptor limit so max_connections fit; lowers
 * max_connections when the hard limit does not allow them. */
static void http_fit_fd_limit(struct http_server *s)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)s->o.max_connections + HTTP_FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        int fit = rl.rlim_cur > HTTP_FD_RESERVE * 2 ? (int)(rl.rlim_cur - HTTP_FD_RESERVE)
                                                    : (int)rl.rlim_cur / 2;
        log_warn("http.connections_limited", LOG_STR("server", s->name),
                 LOG_INT("wanted", s->o.max_connections), LOG_INT("max_connections", fit),
                 LOG_STR("why", "RLIMIT_NOFILE"));
        s->o.max_connections = fit;
    }
}

static void http_metrics(struct http_server *s)
{
    if (s->o.metrics == NULL) {
        return;
    }
    s->m_timeouts = metrics_counter(s->o.metrics, "analytics_http_timeouts_total",
                                    "Requests answered 408: not received in time", NULL);
    s->m_busy = metrics_counter(s->o.metrics, "analytics_http_busy_total",
                                "Requests answered 503: the bytes in flight were at the cap", NULL);
}

static void http_free(struct http_server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->sweeper_started) {
        pthread_mutex_lock(&s->sweep_lock);
        atomic_store(&s->sweeper_exit, true);
        pthread_cond_signal(&s->sweep_cond);
        pthread_mutex_unlock(&s->sweep_lock);
        pthread_join(s->sweeper, NULL);
    }
    if (s->d != NULL) {
        MHD_stop_daemon(s->d);
    }
    pthread_cond_destroy(&s->sweep_cond);
    pthread_mutex_destroy(&s->sweep_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct http_server *http_start(const struct http_opts *o, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                         MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    struct http_server *s;
    int idle_s;

    if (http_address(o->listen, &ss, &sslen) != 0) {
        snprintf(err, errlen, "bad listen address '%s'", o->listen);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = *o;
    snprintf(s->name, sizeof(s->name), "%s", o->name != NULL ? o->name : "http");
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->sweep_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall clock set back must not stall it */
    pthread_cond_init(&s->sweep_cond, &ca);
    pthread_condattr_destroy(&ca);
    http_fit_fd_limit(s);
    http_metrics(s);
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    /* At least a pool of two: with one internal thread, libmicrohttpd 0.9.75
     * took ~200 ms to act on a resumed connection (561 deferred answers a
     * second against 42k with two). libmicrohttpd's own idle timeout backs
     * the sweeper up. */
    idle_s = (o->header_timeout_ms > o->keep_alive_ms ? o->header_timeout_ms : o->keep_alive_ms);
    idle_s = (idle_s > o->body_timeout_ms ? idle_s : o->body_timeout_ms) / 1000 + 2;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, http_access, s, MHD_OPTION_EXTERNAL_LOGGER, http_log_message, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(o->threads > 2 ? o->threads : 2), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)s->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)idle_s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, s, MHD_OPTION_END);
    if (s->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s (in use or not allowed?)", o->listen);
        http_free(s);
        return NULL;
    }
    if (pthread_create(&s->sweeper, NULL, http_sweeper_main, s) != 0) {
        snprintf(err, errlen, "cannot start the sweeper thread");
        http_free(s);
        return NULL;
    }
    s->sweeper_started = true;
    log_info("http.listening", LOG_STR("server", s->name), LOG_STR("listen", o->listen),
             LOG_INT("port", http_bound_port(s)), LOG_INT("threads", o->threads),
             LOG_INT("max_connections", s->o.max_connections));
    return s;
}

int http_bound_port(const struct http_server *s)
{
    const union MHD_DaemonInfo *di;

    if (s == NULL || s->d == NULL) {
        return -1;
    }
    di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return di != NULL ? (int)di->port : -1;
}

long long http_inflight_bytes(const struct http_server *s)
{
    return atomic_load(&s->inflight);
}

int http_connections(const struct http_server *s)
{
    return atomic_load(&s->n_conns);
}

void http_stop(struct http_server *s, int drain_ms)
{
    long long until;
    MHD_socket fd;

    if (s == NULL) {
        return;
    }
    atomic_store(&s->stopping, true); /* responses from now on close their connection */
    fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    until = lifecycle_mono_ms() + drain_ms;
    while (atomic_load(&s->requests) > 0 && lifecycle_mono_ms() < until) {
        usleep(10000);
    }
    /* From here no handler runs, so none defers: a request that reaches its
     * end gets 503. A polling thread already inside http_access (active)
     * may still defer; once none is, the suspended count can only fall. */
    atomic_store(&s->closing, true);
    until = lifecycle_mono_ms() + HTTP_SUSPENDED_WAIT_MS;
    while ((atomic_load(&s->active) > 0 || atomic_load(&s->suspended) > 0) &&
           lifecycle_mono_ms() < until) {
        usleep(10000);
    }
    if (atomic_load(&s->suspended) > 0) {
        /* libmicrohttpd aborts when stopped with a connection suspended; a
         * deferred answer is always given (the ingest resolves every wait
         * within its produce timeout), so this means a bug: say so */
        log_error("http.stop_suspended", LOG_STR("server", s->name),
                  LOG_INT("suspended", atomic_load(&s->suspended)));
        return; /* leave the daemon running rather than abort: the process is ending */
    }
    /* answers just resumed are still being written: give them a moment */
    until = lifecycle_mono_ms() + HTTP_RESUMED_WAIT_MS;
    while (atomic_load(&s->requests) > 0 && lifecycle_mono_ms() < until) {
        usleep(10000);
    }
    http_free(s);
}
