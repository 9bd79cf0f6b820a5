/*
 * Unit tests for the HTTP server (common/src/http.c) over loopback sockets:
 * routes and 404, a route's header check answering before the body, the
 * body handed whole to the handler, framing (differing Content-Length,
 * Content-Length with Transfer-Encoding, too many header lines), the body
 * limit, the in-flight byte cap (503 after the body, then the cap freed
 * again), a deferred answer given from another thread, the header and body
 * deadlines (408), and a stop that waits for a deferred answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int g_checks; /* calls of the check callback */

static int check_cb(void *arg, struct http_request *r)
{
    (void)arg;
    g_checks++;
    if (http_header(r, "X-Refuse") != NULL) {
        return http_send_json(r, 401, "{\"error\":\"refused\"}", NULL);
    }
    return 0;
}

/* Answers with the body's length and the query's "q". */
static int echo_cb(void *arg, struct http_request *r)
{
    char out[128];
    size_t len;
    const char *q = http_query(r, "q");

    (void)arg;
    http_body(r, &len);
    snprintf(out, sizeof(out), "{\"len\":%zu,\"q\":\"%s\",\"peer\":\"%s\"}", len,
             q != NULL ? q : "", http_peer(r));
    return http_send_json(r, 200, out, "X-Extra: yes\r\n");
}

static void *answer_later(void *arg)
{
    struct http_request *r = arg;
    size_t len;
    char out[64];

    usleep(200000);
    http_body(r, &len); /* still valid while deferred */
    snprintf(out, sizeof(out), "{\"later\":%zu}", len);
    http_send_json(r, 200, out, NULL);
    http_resume(r);
    return NULL;
}

static int later_cb(void *arg, struct http_request *r)
{
    pthread_t t;

    (void)arg;
    http_defer(r);
    assert_int_equal(pthread_create(&t, NULL, answer_later, r), 0);
    pthread_detach(t);
    return 0;
}

/* A slow check: the request is still on its way when the stop begins. */
static int slow_check_cb(void *arg, struct http_request *r)
{
    (void)arg;
    (void)r;
    usleep(300000);
    return 0;
}

static const struct http_route g_routes[] = {
    {"/echo", check_cb, echo_cb, NULL, NULL},
    {"/later", NULL, later_cb, NULL, NULL},
    {"/slow-later", slow_check_cb, later_cb, NULL, NULL},
};

static struct http_server *start(long long inflight)
{
    struct http_opts o;
    char err[256];
    struct http_server *s;

    http_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.header_timeout_ms = 600;
    o.body_timeout_ms = 600;
    o.max_body_bytes = 4096;
    o.inflight_max_bytes = inflight;
    o.max_headers = 10;
    o.routes = g_routes;
    o.n_routes = 3;
    s = http_start(&o, err, sizeof(err));
    assert_non_null(s);
    assert_true(http_bound_port(s) > 0);
    return s;
}

static int dial(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {3, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Reads until the peer closes or a whole response with its body is in.
 * Returns the status (0 when nothing came). */
static int read_response(int fd, char *out, size_t outlen)
{
    size_t got = 0;

    out[0] = '\0';
    while (got + 1 < outlen) {
        ssize_t n = recv(fd, out + got, outlen - 1 - got, 0);
        const char *end, *cl;
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
        out[got] = '\0';
        end = strstr(out, "\r\n\r\n");
        cl = strcasestr(out, "Content-Length:");
        if (end != NULL && cl != NULL && cl < end &&
            got >= (size_t)(end + 4 - out) + strtoul(cl + 15, NULL, 10)) {
            break;
        }
    }
    return strncmp(out, "HTTP/1.1 ", 9) == 0 ? atoi(out + 9) : 0;
}

/* Sends raw and returns the status of the answer; the answer in out. */
static int roundtrip(int port, const char *raw, char *out, size_t outlen)
{
    int fd = dial(port);
    int status;

    assert_int_equal(send(fd, raw, strlen(raw), MSG_NOSIGNAL), (ssize_t)strlen(raw));
    status = read_response(fd, out, outlen);
    close(fd);
    return status;
}

static void test_routes_and_body(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    char out[2048];

    (void)state;
    g_checks = 0;
    assert_int_equal(roundtrip(port,
                               "POST /echo?q=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "\r\nhello",
                               out, sizeof(out)),
                     200);
    assert_non_null(strstr(out, "{\"len\":5,\"q\":\"a b\",\"peer\":\"127.0.0.1\"}"));
    assert_non_null(strstr(out, "X-Extra: yes"));
    assert_int_equal(g_checks, 1);
    assert_int_equal(roundtrip(port, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)),
                     404);
    /* the check answers from the headers; the body is never handed over */
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nX-Refuse: 1\r\n"
                               "Content-Length: 5\r\n\r\nhello",
                               out, sizeof(out)),
                     401);
    assert_int_equal(http_inflight_bytes(s), 0);
    http_stop(s, 1000);
}

static void test_framing(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    char out[2048], raw[2048];
    size_t n = 0;

    (void)state;
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Content-Length: 2\r\n\r\nhello",
                               out, sizeof(out)),
                     400);
    assert_non_null(strstr(out, "conflicting Content-Length"));
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Content-Length: 5\r\n\r\nhello",
                               out, sizeof(out)),
                     200);
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                               out, sizeof(out)),
                     400);
    n += (size_t)snprintf(raw + n, sizeof(raw) - n, "POST /echo HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 12; i++) {
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X-H%d: v\r\n", i);
    }
    snprintf(raw + n, sizeof(raw) - n, "Content-Length: 0\r\n\r\n");
    assert_int_equal(roundtrip(port, raw, out, sizeof(out)), 431);
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
                               out, sizeof(out)),
                     413);
    /* a chunked body over the limit is answered once it ended */
    {
        char *big = malloc(8192);
        size_t m = (size_t)snprintf(big, 8192,
                                    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                    "chunked\r\n\r\n");
        for (int i = 0; i < 3; i++) {
            m += (size_t)snprintf(big + m, 8192 - m, "7d0\r\n");
            memset(big + m, 'x', 2000);
            m += 2000;
            m += (size_t)snprintf(big + m, 8192 - m, "\r\n");
        }
        snprintf(big + m, 8192 - m, "0\r\n\r\n");
        assert_int_equal(roundtrip(port, big, out, sizeof(out)), 413);
        free(big);
    }
    http_stop(s, 1000);
}

static void test_inflight_cap(void **state)
{
    struct http_server *s = start(100);
    int port = http_bound_port(s);
    char out[2048], raw[512];
    char body[201];

    (void)state;
    memset(body, 'x', 200);
    body[200] = '\0';
    snprintf(raw, sizeof(raw), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n%s",
             body);
    assert_int_equal(roundtrip(port, raw, out, sizeof(out)), 503);
    assert_non_null(strstr(out, "Retry-After: 1"));
    assert_int_equal(http_inflight_bytes(s), 0);
    assert_int_equal(roundtrip(port,
                               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                               out, sizeof(out)),
                     200);
    assert_int_equal(http_inflight_bytes(s), 0);
    http_stop(s, 1000);
}

static void test_deferred(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    char out[2048];

    (void)state;
    assert_int_equal(roundtrip(port,
                               "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                               out, sizeof(out)),
                     200);
    assert_non_null(strstr(out, "{\"later\":3}"));
    /* a deferred body is held until the request completes, just after the answer */
    for (int i = 0; i < 100 && http_inflight_bytes(s) != 0; i++) {
        usleep(10000);
    }
    assert_int_equal(http_inflight_bytes(s), 0);
    http_stop(s, 1000);
}

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_deadlines(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    char out[2048];
    long long t0;
    int fd;

    (void)state;
    fd = dial(port);
    t0 = mono_ms();
    send(fd, "POST /echo HTTP/1.1\r\nHo", 23, MSG_NOSIGNAL);
    assert_int_equal(read_response(fd, out, sizeof(out)), 408);
    assert_true(mono_ms() - t0 >= 500 && mono_ms() - t0 < 2500);
    close(fd);
    fd = dial(port);
    t0 = mono_ms();
    send(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", 55, MSG_NOSIGNAL);
    assert_int_equal(read_response(fd, out, sizeof(out)), 408);
    assert_true(mono_ms() - t0 >= 500 && mono_ms() - t0 < 2500);
    close(fd);
    /* a connection that sends nothing gets its 408 at the header deadline */
    fd = dial(port);
    assert_int_equal(read_response(fd, out, sizeof(out)), 408);
    close(fd);
    http_stop(s, 1000);
}

/* Past three quarters of max_connections every answer closes its
 * connection, so idle keep-alive ones do not pile up. */
static void test_pressure_closes(void **state)
{
    struct http_opts o;
    char err[256], out[2048];
    struct http_server *s;
    int idle[7], port;

    (void)state;
    http_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.max_connections = 8;
    o.routes = g_routes;
    o.n_routes = 2;
    s = http_start(&o, err, sizeof(err));
    assert_non_null(s);
    port = http_bound_port(s);
    assert_int_equal(roundtrip(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                               out, sizeof(out)),
                     200);
    assert_null(strcasestr(out, "Connection: close"));
    for (int i = 0; i < 7; i++) {
        idle[i] = dial(port);
    }
    for (int i = 0; i < 100 && http_connections(s) < 7; i++) {
        usleep(10000);
    }
    assert_int_equal(http_connections(s), 7);
    assert_int_equal(roundtrip(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                               out, sizeof(out)),
                     200);
    assert_non_null(strcasestr(out, "Connection: close"));
    for (int i = 0; i < 7; i++) {
        close(idle[i]);
    }
    http_stop(s, 1000);
}

/* http_stop waits for an answer deferred to another thread. */
static void test_stop_waits_for_deferred(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    const char *raw = "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    char out[2048];
    int fd = dial(port);

    (void)state;
    send(fd, raw, strlen(raw), MSG_NOSIGNAL);
    usleep(50000); /* the handler has deferred; the answer comes at 200 ms */
    http_stop(s, 1000);
    assert_int_equal(read_response(fd, out, sizeof(out)), 200);
    close(fd);
}

/* A request whose handler would defer after the drain ran out: it must get
 * an answer (503) instead of libmicrohttpd aborting the stop. */
static void test_stop_during_slow_request(void **state)
{
    struct http_server *s = start(1 << 20);
    int port = http_bound_port(s);
    const char *raw = "POST /slow-later HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    char out[2048];
    int fd = dial(port);
    int status;

    (void)state;
    send(fd, raw, strlen(raw), MSG_NOSIGNAL);
    usleep(50000); /* the check sleeps 300 ms; the drain gives up at 100 */
    http_stop(s, 100);
    status = read_response(fd, out, sizeof(out));
    assert_true(status == 503 || status == 200);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_body),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_inflight_cap),
        cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_pressure_closes),
        cmocka_unit_test(test_stop_waits_for_deferred),
        cmocka_unit_test(test_stop_during_slow_request),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
