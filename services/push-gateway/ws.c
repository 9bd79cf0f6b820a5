#include "ws.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "ws_proto.h"

#include <civetweb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WS_PATH "/api/analytics/ws"
#define WS_WRITER_STACK ((size_t)256 * 1024)
#define WS_WRITER_WAIT_MS 1000

struct gw_ws {
    struct gw_ws_opts o;
    atomic_int clients;
    struct metric *connected, *refused, *refused_origin, *errors;
};

/* One connection. Its reader is civetweb's thread; writer is ours. */
struct ws_conn {
    struct gw_ws *w;
    struct mg_connection *conn;
    struct hub_client *client;
    struct ws_session session;
    pthread_t writer;
    bool writer_started;
    atomic_bool closing, authenticated;
    long long opened_mono;
};

/* ---- writing ---- */

static int ws_send_text(struct mg_connection *c, const char *text, size_t len)
{
    return mg_websocket_write(c, MG_WEBSOCKET_OPCODE_TEXT, text, len) > 0 ? 0 : -1;
}

static void ws_send_error(struct ws_conn *wc, const struct ws_error *e)
{
    char buf[WS_REPLY_MAX];
    int n = ws_render_error(buf, sizeof(buf), e);

    metric_add(wc->w->errors, 1);
    if (n > 0) {
        (void)ws_send_text(wc->conn, buf, (size_t)n);
    }
}

/* Tells a connection that did not authenticate in time, and closes it. */
static void ws_auth_timeout(struct ws_conn *wc)
{
    struct ws_error e = {0};

    ws_error_set(&e, WS_ERR_NOT_AUTHENTICATED, "authenticate first, within %d ms",
                 wc->w->o.auth_timeout_ms);
    ws_send_error(wc, &e);
    (void)mg_websocket_write(wc->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf0", 2);
}

/* The writer: the hub client's frames to the socket until the connection
 * closes (or the client stops reading long enough that a write fails). */
static void *ws_writer(void *arg)
{
    struct ws_conn *wc = arg;
    struct hub_out out = {0};

    while (!atomic_load(&wc->closing)) {
        int r = hub_client_next(wc->client, WS_WRITER_WAIT_MS, &out);
        if (r < 0) {
            break;
        }
        if (r == 0) {
            if (!atomic_load(&wc->authenticated) &&
                lifecycle_mono_ms() - wc->opened_mono > wc->w->o.auth_timeout_ms) {
                ws_auth_timeout(wc); /* a silent connection holds a thread: not for long */
                break;
            }
            continue;
        }
        int rc = ws_send_text(wc->conn, out.text, out.len);
        hub_out_release(&out);
        if (rc != 0) {
            break;
        }
    }
    return NULL;
}

/* ---- civetweb's handlers ---- */

static int ws_on_connect(const struct mg_connection *c, void *cbdata)
{
    struct gw_ws *w = cbdata;

    if (!ws_origin_allowed(w->o.cors, mg_get_header(c, "Origin"), mg_get_header(c, "Host"))) {
        metric_add(w->refused_origin, 1);
        log_warn("gateway.ws_origin_refused", LOG_STR("origin", mg_get_header(c, "Origin")));
        return 1; /* as below: no handshake */
    }
    if (atomic_fetch_add(&w->clients, 1) >= w->o.max_clients) {
        atomic_fetch_sub(&w->clients, 1);
        metric_add(w->refused, 1);
        return 1; /* refused: civetweb answers the handshake with an error */
    }
    return 0;
}

static void ws_on_ready(struct mg_connection *c, void *cbdata)
{
    struct gw_ws *w = cbdata;
    struct ws_conn *wc = calloc(1, sizeof(*wc));
    pthread_attr_t attr;

    if (wc == NULL || (wc->client = hub_client_add(w->o.hub)) == NULL) {
        free(wc);
        mg_set_user_connection_data(c, NULL);
        return;
    }
    wc->w = w;
    wc->conn = c;
    wc->opened_mono = lifecycle_mono_ms();
    ws_session_init(&wc->session, w->o.rate, w->o.burst, wc->opened_mono);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WS_WRITER_STACK);
    wc->writer_started = pthread_create(&wc->writer, &attr, ws_writer, wc) == 0;
    pthread_attr_destroy(&attr);
    if (!wc->writer_started) { /* a client nothing would be written to: closed at its first frame */
        log_error("gateway.ws_writer_failed", LOG_STR("error", "no thread for the writer"));
        hub_client_remove(wc->client);
        free(wc);
        mg_set_user_connection_data(c, NULL);
        return;
    }
    mg_set_user_connection_data(c, wc);
    metric_add(w->connected, 1);
}

/* Handles one parsed message. Returns 1 to keep the connection, 0 to close. */
static int ws_handle(struct ws_conn *wc, const struct ws_msg *m)
{
    struct gw_ws *w = wc->w;
    struct ws_error e = {0};
    char buf[WS_REPLY_MAX];
    int n = -1;

    switch (m->type) {
    case WS_AUTH:
        if (tokens_find(w->o.tokens, m->token) == NULL) {
            ws_error_set(&e, WS_ERR_UNAUTHORIZED, "the token is not one of ANALYTICS_API_TOKENS");
            ws_send_error(wc, &e);
            return 0;
        }
        ws_session_authenticated(&wc->session);
        atomic_store(&wc->authenticated, true);
        n = ws_render_authenticated(buf, sizeof(buf), hub_instance(w->o.hub), hub_seq(w->o.hub));
        break;
    case WS_SUBSCRIBE: {
        int rc = hub_client_subscribe(wc->client, m->channel, &m->filter);
        if (rc == HUB_ETOOMANY) {
            ws_error_set(&e, WS_ERR_TOO_MANY_SUBSCRIPTIONS,
                         "no more subscriptions on this connection");
            ws_send_error(wc, &e);
            return 1;
        }
        if (rc != 0) {
            ws_error_set(&e, WS_ERR_INTERNAL, "the subscription failed");
            ws_send_error(wc, &e);
            return 1;
        }
        n = ws_render_subscribed(buf, sizeof(buf), m->channel);
        break;
    }
    case WS_UNSUBSCRIBE:
        (void)hub_client_unsubscribe(wc->client, m->channel);
        n = ws_render_unsubscribed(buf, sizeof(buf), m->channel);
        break;
    case WS_RESUME: {
        const char *reason = NULL;
        (void)hub_client_resume(wc->client, m->instance, m->seq, &reason);
        return 1; /* the replayed messages, or the resync notice, come from the writer */
    }
    case WS_PING:
        n = ws_render_pong(buf, sizeof(buf));
        break;
    }
    if (n > 0 && ws_send_text(wc->conn, buf, (size_t)n) != 0) {
        return 0;
    }
    return 1;
}

static int ws_on_data(struct mg_connection *c, int bits, char *data, size_t len, void *cbdata)
{
    struct ws_conn *wc = mg_get_user_connection_data(c);
    int opcode = bits & 0x0f;
    struct ws_error e = {0};
    struct ws_msg m;

    (void)cbdata;
    if (wc == NULL) {
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_PING || opcode == MG_WEBSOCKET_OPCODE_PONG) {
        return 1; /* civetweb answers pings itself */
    }
    if (!wc->session.authenticated &&
        lifecycle_mono_ms() - wc->opened_mono > wc->w->o.auth_timeout_ms) {
        ws_error_set(&e, WS_ERR_NOT_AUTHENTICATED, "authenticate first, within %d ms",
                     wc->w->o.auth_timeout_ms);
        ws_send_error(wc, &e);
        return 0;
    }
    if (opcode != MG_WEBSOCKET_OPCODE_TEXT || (bits & 0x80) == 0) {
        ws_error_set(&e, WS_ERR_BAD_MESSAGE,
                     "only whole text frames of JSON are taken (no binary, no fragments)");
        ws_send_error(wc, &e);
        return 0;
    }
    if (ws_session_accept(&wc->session, data, len, lifecycle_mono_ms(), &m, &e) != 0) {
        ws_send_error(wc, &e);
        /* Before authentication any error closes; after it a bad message is
         * only refused, but a flood past the guard or a frame too large
         * closes too. */
        return wc->session.authenticated && e.code != WS_ERR_TOO_LARGE ? 1 : 0;
    }
    return ws_handle(wc, &m);
}

static void ws_on_close(const struct mg_connection *c, void *cbdata)
{
    struct gw_ws *w = cbdata;
    struct ws_conn *wc = mg_get_user_connection_data(c);

    if (wc != NULL) {
        atomic_store(&wc->closing, true);
        hub_client_wake(wc->client);
        if (wc->writer_started) {
            pthread_join(wc->writer, NULL);
        }
        hub_client_remove(wc->client);
        free(wc);
    }
    atomic_fetch_sub(&w->clients, 1);
}

/* The hub's counters, read at render time. */
static double ws_stat(struct gw_ws *w, size_t which)
{
    struct hub_stats st;

    hub_stats(w->o.hub, &st);
    switch (which) {
    case 0:
        return (double)st.clients;
    case 1:
        return (double)st.dropped;
    case 2:
        return (double)st.lagged;
    case 3:
        return (double)st.delivered;
    case 4:
        return (double)st.resumed;
    default:
        return (double)st.resyncs;
    }
}
static double ws_stat_clients(void *arg)
{
    return ws_stat(arg, 0);
}
static double ws_stat_dropped(void *arg)
{
    return ws_stat(arg, 1);
}
static double ws_stat_lagged(void *arg)
{
    return ws_stat(arg, 2);
}
static double ws_stat_delivered(void *arg)
{
    return ws_stat(arg, 3);
}
static double ws_stat_resumed(void *arg)
{
    return ws_stat(arg, 4);
}
static double ws_stat_resyncs(void *arg)
{
    return ws_stat(arg, 5);
}

static void ws_register_stats(struct gw_ws *w, struct metrics *m)
{
    metrics_gauge_fn(m, "analytics_gateway_ws_clients", "WebSocket clients connected now", NULL,
                     ws_stat_clients, w);
    metrics_gauge_fn(m, "analytics_gateway_ws_dropped_total",
                     "Messages dropped for a client whose queue was full (it alone), since start",
                     NULL, ws_stat_dropped, w);
    metrics_gauge_fn(m, "analytics_gateway_ws_lagged_total",
                     "Lagged notices given to slow clients, since start", NULL, ws_stat_lagged, w);
    metrics_gauge_fn(m, "analytics_gateway_ws_delivered_total",
                     "Messages queued to clients (one message to 3 clients counts 3), since start",
                     NULL, ws_stat_delivered, w);
    metrics_gauge_fn(m, "analytics_gateway_ws_resumed_total",
                     "Resumes served from the ring, since start", NULL, ws_stat_resumed, w);
    metrics_gauge_fn(m, "analytics_gateway_ws_resyncs_total",
                     "Resumes refused (the client re-reads by REST), since start", NULL,
                     ws_stat_resyncs, w);
}

struct gw_ws *gw_ws_register(struct mg_context *ctx, const struct gw_ws_opts *o)
{
    struct gw_ws *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        return NULL;
    }
    w->o = *o;
    atomic_init(&w->clients, 0);
    w->connected = metrics_counter(o->metrics, "analytics_gateway_ws_connections_total",
                                   "WebSocket connections opened", NULL);
    w->refused = metrics_counter(o->metrics, "analytics_gateway_ws_refused_total",
                                 "WebSocket handshakes refused: too many clients", NULL);
    w->refused_origin = metrics_counter(
        o->metrics, "analytics_gateway_ws_origin_refused_total",
        "WebSocket handshakes refused: a page of an origin not its own nor allowed", NULL);
    w->errors = metrics_counter(o->metrics, "analytics_gateway_ws_errors_total",
                                "Error messages sent to WebSocket clients", NULL);
    ws_register_stats(w, o->metrics);
    mg_set_websocket_handler(ctx, WS_PATH, ws_on_connect, ws_on_ready, ws_on_data, ws_on_close, w);
    return w;
}

int gw_ws_clients(const struct gw_ws *w)
{
    return atomic_load(&w->clients);
}

void gw_ws_free(struct gw_ws *w)
{
    free(w);
}
