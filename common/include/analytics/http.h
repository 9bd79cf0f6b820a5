#ifndef ANALYTICS_HTTP_H
#define ANALYTICS_HTTP_H

/*
 * An HTTP/1.1 server for the daemons' listeners, over libmicrohttpd's
 * event loops: connections are read without holding a thread, so a slow
 * or idle client costs a socket and a little memory, never a worker.
 *
 * A handler runs only once a request has fully arrived, on one of
 * `threads` polling threads; a handler that must wait (for a broker, say)
 * defers its answer instead of blocking the thread and every connection on
 * it. Every limit a stranger could push against is bounded here:
 *
 *   - open connections (beyond max_connections new ones are closed at once);
 *   - time: the request line and headers must arrive within
 *     header_timeout_ms of the connection, the body within body_timeout_ms
 *     of the headers (408, then close); on a kept-alive connection the next
 *     request's headers must arrive within keep_alive_ms of the previous
 *     answer (then it is closed without a word: libmicrohttpd does not say
 *     when a next request began), and past three quarters of
 *     max_connections every answer closes its connection;
 *   - size: more than max_headers header lines is 431, a body over
 *     max_body_bytes is 413, and when the bodies held by all requests in
 *     flight would pass inflight_max_bytes the request gets 503 with
 *     Retry-After before its body is read;
 *   - framing: two Content-Length headers that differ, a Content-Length that
 *     is not a number, or Content-Length beside Transfer-Encoding is 400.
 */

#include <stdbool.h>
#include <stddef.h>

struct metrics;
struct http_server;
struct http_request;

/* A request handler. Sends the response with http_send and returns its
 * status. req is borrowed for the call. */
struct http_route {
    const char *path; /* exact path, without the query string */
    /* Optional: runs once the headers are in, before the body is read.
     * Returns 0 to read the body and call handle, or the status of a
     * response it sent (the body is then never read). */
    int (*check)(void *arg, struct http_request *req);
    int (*handle)(void *arg, struct http_request *req);
    /* Optional: told the status of each answer the server gave a request
     * for this path by itself (400 framing, 413, 431, 503, 408). */
    void (*refused)(void *arg, int status);
    void *arg;
};

struct http_opts {
    const char *listen;              /* host:port; port 0 picks a free one */
    int threads;                     /* polling threads (2 at least): they read, run handlers */
    int max_connections;             /* open connections at most */
    int header_timeout_ms;           /* request line and headers */
    int body_timeout_ms;             /* the body, from the end of the headers */
    int keep_alive_ms;               /* an idle keep-alive connection */
    long long max_body_bytes;        /* one request's body */
    long long inflight_max_bytes;    /* bodies held by all requests at once */
    int max_headers;                 /* header lines of one request */
    const struct http_route *routes; /* borrowed; must outlive the server */
    size_t n_routes;
    const char *name;        /* for log lines and metric labels, e.g. "collector" */
    struct metrics *metrics; /* optional, borrowed: registers analytics_http_* */
};

/* Fills o with the defaults for a listener (limits sized for the admin
 * port); the caller then sets listen, routes and what differs. */
void http_opts_default(struct http_opts *o);

/* Starts a server. Returns it (stop with http_stop), or NULL with the
 * reason in err. Logs http.listening with the bound port. */
struct http_server *http_start(const struct http_opts *o, char *err, size_t errlen);

/* The bound port, or -1. */
int http_bound_port(const struct http_server *s);

/* Stops taking connections, waits up to drain_ms for the requests whose
 * headers have arrived to be answered, then closes everything and frees
 * the server. Accepts NULL. */
void http_stop(struct http_server *s, int drain_ms);

/* Bytes of request bodies held right now, and open connections. */
long long http_inflight_bytes(const struct http_server *s);
int http_connections(const struct http_server *s);

/* The request's method ("POST"), path (without the query) and peer address
 * (textual IP, no port). Borrowed; valid during the handler call. */
const char *http_method(const struct http_request *r);
const char *http_path(const struct http_request *r);
const char *http_peer(const struct http_request *r);

/* The first header of that name (case-insensitive), or NULL. Borrowed. */
const char *http_header(const struct http_request *r, const char *name);

/* Stores up to max values of every header line of that name, in the order
 * they came, into out. Returns how many there are (which may exceed max). */
size_t http_headers(const struct http_request *r, const char *name, const char **out, size_t max);

/* A query-string argument, URL-decoded, or NULL. Borrowed. */
const char *http_query(const struct http_request *r, const char *name);

/* The Content-Length the client declared, or -1 when it sent none. */
long long http_content_length(const struct http_request *r);

/* The body, len in *len (NULL and 0 before it is read, in check). Borrowed:
 * the server frees it once the handler returns. It is NUL-terminated. */
const char *http_body(const struct http_request *r, size_t *len);

/* Sends a complete response. extra_headers holds whole lines
 * "Name: value\r\n" or is NULL; "Connection: close" closes the connection
 * after the response. Returns status (500 when the response could not be
 * queued), so a handler can `return http_send(...)`. One response per
 * request; a second call is ignored and returns 500. */
int http_send(struct http_request *r, int status, const char *content_type, const char *body,
              size_t len, const char *extra_headers);

/* Tells the server the handler will answer later, from any thread: the
 * connection is suspended (no deadline runs) and r and its body stay valid
 * until http_resume. The handler then returns 0. */
void http_defer(struct http_request *r);

/* Ends a deferral: call once, after http_send (500 is sent when nothing
 * was). r must not be touched after this returns. */
void http_resume(struct http_request *r);

/* http_send for a NUL-terminated JSON body. */
int http_send_json(struct http_request *r, int status, const char *json, const char *extra_headers);

#endif
