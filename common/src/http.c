#include "analytics/http.h"

#include "analytics/config.h"
#include "analytics/log.h"

#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_library_init(void)
{
    mg_init_library(0);
}

static int http_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    log_warn("http.server_message", LOG_STR("message", message));
    return 1; /* handled: civetweb writes nothing itself */
}

struct mg_context *http_start(const struct http_opts *o, char *err, size_t errlen)
{
    char host[256], ports[300], threads[16], timeout[16], keepalive[16];
    const char *options[] = {"listening_ports", ports, "num_threads", threads, "request_timeout_ms",
                             timeout, "keep_alive_timeout_ms", keepalive, "enable_keep_alive",
                             "yes", "tcp_nodelay", "1", "listen_backlog", "1024",
                             /* CORS is the handlers' decision, not civetweb's */
                             "access_control_allow_origin", "", "access_control_allow_methods", "",
                             NULL};
    struct mg_callbacks cb;
    struct mg_context *ctx;
    int port;

    if (config_split_hostport(o->listen, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "bad listen address '%s'", o->listen);
        return NULL;
    }
    pthread_once(&http_once, http_library_init);
    snprintf(ports, sizeof(ports), "%s:%d", host, port);
    snprintf(threads, sizeof(threads), "%d", o->threads);
    snprintf(timeout, sizeof(timeout), "%d", o->request_timeout_ms);
    snprintf(keepalive, sizeof(keepalive), "%d", o->keep_alive_ms);
    memset(&cb, 0, sizeof(cb));
    cb.log_message = http_log_message;
    ctx = mg_start(&cb, NULL, options);
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot listen on %s (in use or not allowed?)", o->listen);
        return NULL;
    }
    log_info("http.listening", LOG_STR("server", o->name), LOG_STR("host", host),
             LOG_INT("port", http_bound_port(ctx)), LOG_INT("threads", o->threads));
    return ctx;
}

int http_bound_port(const struct mg_context *ctx)
{
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(ctx, 4, ports);

    return n > 0 ? ports[0].port : -1;
}

void http_stop(struct mg_context *ctx)
{
    if (ctx != NULL) {
        mg_stop(ctx);
    }
}

static const char *http_reason(int status)
{
    const char *r = mg_get_response_code_text(NULL, status);

    return r != NULL ? r : "";
}

int http_send(struct mg_connection *c, int status, const char *content_type, const char *body,
              size_t len, const char *extra_headers)
{
    char buf[8192];
    char clen[48] = "";
    int n;

    if (extra_headers != NULL && strstr(extra_headers, "Connection: close") != NULL) {
        /* otherwise civetweb keeps the connection and reads an unread body */
        mg_disable_connection_keep_alive(c);
    }
    if (status != 204) {
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", len);
    }
    /* One write for head and body: half the syscalls of civetweb's header API. */
    n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\n%s%s%s%s%s\r\n", status, http_reason(status),
                 content_type != NULL ? "Content-Type: " : "",
                 content_type != NULL ? content_type : "", content_type != NULL ? "\r\n" : "", clen,
                 extra_headers != NULL ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        mg_write(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 57);
        return 500;
    }
    if ((size_t)n + len <= sizeof(buf)) {
        if (len > 0) {
            memcpy(buf + n, body, len);
        }
        mg_write(c, buf, (size_t)n + len);
    } else {
        mg_write(c, buf, (size_t)n);
        mg_write(c, body, len);
    }
    return status;
}

int http_send_json(struct mg_connection *c, int status, const char *json, const char *extra_headers)
{
    return http_send(c, status, "application/json", json, strlen(json), extra_headers);
}
