#ifndef ANALYTICS_HTTP_H
#define ANALYTICS_HTTP_H

/*
 * Thin helpers over civetweb (one thread per connection: size the pool to
 * the expected concurrent keep-alive connections).
 */

#include <stddef.h>

struct mg_context;
struct mg_connection;

struct http_opts {
    const char *listen;     /* host:port; port 0 picks a free one */
    int threads;            /* worker threads */
    int request_timeout_ms; /* per request read/write timeout */
    int keep_alive_ms;      /* idle keep-alive timeout */
    const char *name;       /* for log lines, e.g. "collector" or "admin" */
};

/* Starts a server. Safe to call several times per process (civetweb's library
 * init is done once). Returns the context (stop with http_stop), or NULL with
 * the reason in err. Logs http.listening with the bound port. */
struct mg_context *http_start(const struct http_opts *o, char *err, size_t errlen);

/* The first bound port of ctx, or -1. */
int http_bound_port(const struct mg_context *ctx);

/* Stops the server: closes the listener and waits for running handlers to
 * return. Accepts NULL. */
void http_stop(struct mg_context *ctx);

/* Sends a complete response with Content-Length. extra_headers holds whole
 * lines "Name: value\r\n" or is NULL. Returns the status, so a handler can
 * `return http_send(...)`. */
int http_send(struct mg_connection *c, int status, const char *content_type, const char *body,
              size_t len, const char *extra_headers);

/* http_send for a NUL-terminated JSON body. */
int http_send_json(struct mg_connection *c, int status, const char *json,
                   const char *extra_headers);

#endif
