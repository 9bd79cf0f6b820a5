/*
 * Synchronous Redis client over hiredis (its URL read by redis_url.c): connect with AUTH and
 * SELECT, reconnect with exponential backoff, and the few commands the
 * enricher needs.
 *
 * hiredis rules kept here: every reply goes through freeReplyObject; once
 * ctx->err is set the context is unusable, so it is freed and a new one made
 * on the next call; a context belongs to one client, used by one thread.
 */
#include "analytics/redis.h"
#include "analytics/redis_url.h"

#include "analytics/errbuf.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#define RC_BACKOFF_MIN_MS 100
#define RC_BACKOFF_MAX_MS 5000
#define RC_TIMEOUT_MAX_MS 600000
#define RC_ERR_MAX 256

enum rc_state { RC_STATE_UNKNOWN = 0, RC_STATE_UP, RC_STATE_DOWN };

struct redis_client {
    redisContext *ctx;  /* NULL while disconnected */
    struct redis_url u; /* where and as whom to connect */
    struct timeval tv;
    enum rc_state state;
    long long backoff_ms;  /* 0 while connected */
    long long next_try_ms; /* lifecycle_mono_ms() before which no reconnect */
    char last_err[RC_ERR_MAX];
};

/* Records the reason for a failure of c. */
__attribute__((format(printf, 2, 3))) static void set_err(struct redis_client *c, const char *fmt,
                                                          ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->last_err, sizeof(c->last_err), fmt, ap);
    va_end(ap);
}

/* Sends one handshake command on ctx and checks for the expected status.
 * Returns 0, REDIS_CLIENT_EDOWN on I/O failure or REDIS_CLIENT_EREPLY when the
 * server refused (reason in c->last_err, prefixed with what). */
static int handshake_cmd(struct redis_client *c, redisContext *ctx, const char *what,
                         const char *expect, const char *fmt, ...)
{
    va_list ap;
    int rc = 0;

    va_start(ap, fmt);
    redisReply *r = redisvCommand(ctx, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        set_err(c, "%s: %s", what, ctx->err ? ctx->errstr : "no reply");
        return REDIS_CLIENT_EDOWN;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "%s rejected: %s", what, r->str);
        rc = REDIS_CLIENT_EREPLY;
    } else if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, expect) != 0) {
        set_err(c, "%s: unexpected reply (type %d)", what, r->type);
        rc = REDIS_CLIENT_EREPLY;
    }
    freeReplyObject(r);
    return rc;
}

/* Opens a connection: connect, AUTH, SELECT, PING (which also reveals a
 * server that wants a password we lack). On success c->ctx is set. Returns
 * 0, REDIS_CLIENT_EDOWN (unreachable) or REDIS_CLIENT_EREPLY (refused). */
static int rc_connect(struct redis_client *c)
{
    int rc;
    redisContext *ctx = redisConnectWithTimeout(c->u.host, c->u.port, c->tv);

    if (ctx == NULL) {
        set_err(c, "connect: out of memory");
        return REDIS_CLIENT_EDOWN;
    }
    if (ctx->err) {
        set_err(c, "connect %s:%d: %s", c->u.host, c->u.port, ctx->errstr);
        rc = REDIS_CLIENT_EDOWN;
        goto out_free_ctx;
    }
    if (redisSetTimeout(ctx, c->tv) != REDIS_OK) {
        set_err(c, "set timeout: %s", ctx->errstr);
        rc = REDIS_CLIENT_EDOWN;
        goto out_free_ctx;
    }
    if (c->u.has_pass && c->u.user[0] != '\0') {
        rc = handshake_cmd(c, ctx, "AUTH", "OK", "AUTH %s %s", c->u.user, c->u.pass);
    } else if (c->u.has_pass) {
        rc = handshake_cmd(c, ctx, "AUTH", "OK", "AUTH %s", c->u.pass);
    } else {
        rc = 0;
    }
    if (rc == 0 && c->u.db != 0) {
        rc = handshake_cmd(c, ctx, "SELECT", "OK", "SELECT %d", c->u.db);
    }
    if (rc == 0) {
        rc = handshake_cmd(c, ctx, "PING", "PONG", "PING");
    }
    if (rc != 0) {
        goto out_free_ctx;
    }
    c->ctx = ctx;
    return 0;

out_free_ctx:
    redisFree(ctx);
    return rc;
}

/* Enters the down state: schedules the next attempt and logs the change. */
static void mark_down(struct redis_client *c)
{
    if (c->backoff_ms == 0) {
        c->backoff_ms = RC_BACKOFF_MIN_MS;
    } else if (c->backoff_ms < RC_BACKOFF_MAX_MS) {
        c->backoff_ms *= 2;
        if (c->backoff_ms > RC_BACKOFF_MAX_MS) {
            c->backoff_ms = RC_BACKOFF_MAX_MS;
        }
    }
    c->next_try_ms = lifecycle_mono_ms() + c->backoff_ms;
    if (c->state != RC_STATE_DOWN) {
        log_warn("redis.disconnected", LOG_STR("host", c->u.host), LOG_INT("port", c->u.port),
                 LOG_STR("error", c->last_err));
        c->state = RC_STATE_DOWN;
    }
}

/* Enters the up state after a successful connect. */
static void mark_up(struct redis_client *c)
{
    c->backoff_ms = 0;
    c->next_try_ms = 0;
    if (c->state != RC_STATE_UP) {
        log_info("redis.connected", LOG_STR("host", c->u.host), LOG_INT("port", c->u.port),
                 LOG_INT("db", c->u.db));
        c->state = RC_STATE_UP;
    }
}

/* Drops a context whose err is set (hiredis: unusable from then on). */
static void drop_conn(struct redis_client *c)
{
    if (c->ctx != NULL) {
        set_err(c, "%s", c->ctx->err ? c->ctx->errstr : "connection failed");
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    mark_down(c);
}

/* Makes sure c has a connection, reconnecting unless in backoff.
 * Returns 0 or REDIS_CLIENT_EDOWN. */
static int ensure_conn(struct redis_client *c)
{
    if (c->ctx != NULL) {
        return 0;
    }
    if (lifecycle_mono_ms() < c->next_try_ms) {
        return REDIS_CLIENT_EDOWN; /* last_err still says why */
    }
    if (rc_connect(c) != 0) {
        mark_down(c);
        return REDIS_CLIENT_EDOWN;
    }
    mark_up(c);
    return 0;
}

/* Runs one command. On 0, *out is a non-error reply the caller frees with
 * freeReplyObject. Otherwise *out is NULL and the result is
 * REDIS_CLIENT_EDOWN (connection dropped) or REDIS_CLIENT_EREPLY. */
static int rc_exec(struct redis_client *c, redisReply **out, const char *fmt, ...)
{
    va_list ap;

    *out = NULL;
    if (ensure_conn(c) != 0) {
        return REDIS_CLIENT_EDOWN;
    }
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c->ctx, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        drop_conn(c);
        return REDIS_CLIENT_EDOWN;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "server error: %s", r->str);
        freeReplyObject(r);
        return REDIS_CLIENT_EREPLY;
    }
    *out = r;
    return 0;
}

/* Records an unexpected reply type for cmd and frees r. */
static int unexpected(struct redis_client *c, const char *cmd, redisReply *r)
{
    set_err(c, "%s: unexpected reply type %d", cmd, r->type);
    freeReplyObject(r);
    return REDIS_CLIENT_EREPLY;
}

/* Records an invalid argument of fn. */
static int bad_arg(struct redis_client *c, const char *fn)
{
    set_err(c, "%s: invalid argument", fn);
    return REDIS_CLIENT_EREPLY;
}

/* Maps a SET ... NX reply to 1 (set), 0 (existed) or REDIS_CLIENT_EREPLY,
 * recording the reason in c. Does not free r. */
static int set_nx_result(struct redis_client *c, const redisReply *r)
{
    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
        return 1;
    }
    if (r->type == REDIS_REPLY_NIL) {
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "server error: %s", r->str);
    } else {
        set_err(c, "SET NX: unexpected reply type %d", r->type);
    }
    return REDIS_CLIENT_EREPLY;
}

struct redis_client *redis_client_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
    if (timeout_ms <= 0 || timeout_ms > RC_TIMEOUT_MAX_MS) {
        errbuf_printf(err, errlen, "Redis timeout %d ms out of range (1-%d)", timeout_ms,
                      RC_TIMEOUT_MAX_MS);
        return NULL;
    }
    struct redis_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (redis_url_parse(url, &c->u, err, errlen) == -1) {
        goto out_free;
    }
    c->tv.tv_sec = timeout_ms / 1000;
    c->tv.tv_usec = (timeout_ms % 1000) * 1000;

    int rc = rc_connect(c);
    if (rc == REDIS_CLIENT_EREPLY) {
        errbuf_printf(err, errlen, "Redis %s:%d: %s", c->u.host, c->u.port, c->last_err);
        goto out_free;
    }
    if (rc != 0) {
        mark_down(c); /* reachable later: the calls reconnect */
    } else {
        mark_up(c);
    }
    return c;

out_free:
    redis_client_free(c);
    return NULL;
}

void redis_client_free(struct redis_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    explicit_bzero(c->u.pass, sizeof(c->u.pass));
    free(c);
}

bool redis_client_ready(struct redis_client *c)
{
    redisReply *r;

    if (rc_exec(c, &r, "PING") != 0) {
        return false;
    }
    bool ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (!ok) {
        set_err(c, "PING: unexpected reply type %d", r->type);
    }
    freeReplyObject(r);
    return ok;
}

const char *redis_client_last_error(const struct redis_client *c)
{
    return c->last_err;
}

int redis_set_nx(struct redis_client *c, const char *key, const char *val, long long ttl_ms)
{
    redisReply *r;

    if (key == NULL || val == NULL || ttl_ms <= 0) {
        return bad_arg(c, "redis_set_nx");
    }
    int rc = rc_exec(c, &r, "SET %s %s NX PX %lld", key, val, ttl_ms);
    if (rc != 0) {
        return rc;
    }
    rc = set_nx_result(c, r);
    freeReplyObject(r);
    return rc;
}

/* Runs n commands in one pipeline: append(i) queues command i, then
 * reply(i, r) takes reply i (and must not free it). Returns 0, or
 * REDIS_CLIENT_EDOWN when the connection failed (the context is dropped:
 * some commands may have run). */
struct pipeline_ops {
    int (*append)(redisContext *ctx, size_t i, void *arg);
    void (*reply)(struct redis_client *c, size_t i, const redisReply *r, void *arg);
    void *arg;
};

static int run_pipeline(struct redis_client *c, size_t n, const struct pipeline_ops *ops)
{
    if (ensure_conn(c) != 0) {
        return REDIS_CLIENT_EDOWN;
    }
    /* Appending only fills hiredis's output buffer; a failure here (out of
     * memory) leaves it half-filled, so the context is dropped. */
    for (size_t i = 0; i < n; i++) {
        if (ops->append(c->ctx, i, ops->arg) != REDIS_OK) {
            drop_conn(c);
            return REDIS_CLIENT_EDOWN;
        }
    }
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(c->ctx, &reply) != REDIS_OK || reply == NULL) {
            drop_conn(c);
            return REDIS_CLIENT_EDOWN;
        }
        ops->reply(c, i, reply, ops->arg);
        freeReplyObject(reply);
    }
    return 0;
}

static bool strings_valid(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL) {
            return false;
        }
    }
    return true;
}

struct set_nx_many_args {
    const char *const *keys;
    const char *const *vals;
    const char *ttl; /* decimal ms */
    int *results;
};

static int set_nx_many_append(redisContext *ctx, size_t i, void *arg)
{
    const struct set_nx_many_args *a = arg;
    const char *val = a->vals != NULL ? a->vals[i] : "1";

    const char *argv[] = {"SET", a->keys[i], val, "NX", "PX", a->ttl};
    size_t lens[] = {3, strlen(a->keys[i]), strlen(val), 2, 2, strlen(a->ttl)};

    return redisAppendCommandArgv(ctx, 6, argv, lens);
}

static void set_nx_many_reply(struct redis_client *c, size_t i, const redisReply *r, void *arg)
{
    struct set_nx_many_args *a = arg;

    a->results[i] = set_nx_result(c, r);
}

int redis_set_nx_many(struct redis_client *c, const char *const *keys, const char *const *vals,
                      size_t n, long long ttl_ms, int *results)
{
    if (n == 0) {
        return 0;
    }
    if (keys == NULL || results == NULL || ttl_ms <= 0 || !strings_valid(keys, n) ||
        (vals != NULL && !strings_valid(vals, n))) {
        return bad_arg(c, "redis_set_nx_many");
    }
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", ttl_ms);
    struct set_nx_many_args a = {keys, vals, ttl, results};
    struct pipeline_ops ops = {set_nx_many_append, set_nx_many_reply, &a};
    return run_pipeline(c, n, &ops);
}

/* Raises the integer at KEYS[1] to ARGV[1] (a missing key counts as lower). */
static const char set_max_script[] =
    "local v = tonumber(redis.call('GET', KEYS[1]))\n"
    "if v == nil or v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end\n"
    "return 0";

struct set_max_many_args {
    const char *const *keys;
    const long long *values;
    int *results;
};

static int set_max_many_append(redisContext *ctx, size_t i, void *arg)
{
    const struct set_max_many_args *a = arg;
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", a->values[i]);
    const char *argv[] = {"EVAL", set_max_script, "1", a->keys[i], num};
    size_t lens[] = {4, sizeof(set_max_script) - 1, 1, strlen(a->keys[i]), (size_t)n};

    return redisAppendCommandArgv(ctx, 5, argv, lens);
}

static void set_max_many_reply(struct redis_client *c, size_t i, const redisReply *r, void *arg)
{
    struct set_max_many_args *a = arg;

    if (r->type == REDIS_REPLY_INTEGER) {
        a->results[i] = r->integer != 0;
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "server error: %s", r->str);
    } else {
        set_err(c, "EVAL: unexpected reply type %d", r->type);
    }
    a->results[i] = REDIS_CLIENT_EREPLY;
}

int redis_set_max_many(struct redis_client *c, const char *const *keys, const long long *values,
                       size_t n, int *results)
{
    if (n == 0) {
        return 0;
    }
    if (keys == NULL || values == NULL || results == NULL || !strings_valid(keys, n)) {
        return bad_arg(c, "redis_set_max_many");
    }
    struct set_max_many_args a = {keys, values, results};
    struct pipeline_ops ops = {set_max_many_append, set_max_many_reply, &a};
    return run_pipeline(c, n, &ops);
}

struct get_many_args {
    const char *const *keys;
    redis_value_fn *fn;
    void *arg;
};

static int get_many_append(redisContext *ctx, size_t i, void *arg)
{
    const struct get_many_args *a = arg;

    const char *argv[] = {"GET", a->keys[i]};
    size_t lens[] = {3, strlen(a->keys[i])};

    return redisAppendCommandArgv(ctx, 2, argv, lens);
}

static void get_many_reply(struct redis_client *c, size_t i, const redisReply *r, void *arg)
{
    const struct get_many_args *a = arg;

    if (r->type == REDIS_REPLY_STRING) {
        a->fn(i, 1, r->str, r->len, a->arg);
    } else if (r->type == REDIS_REPLY_NIL) {
        a->fn(i, 0, NULL, 0, a->arg);
    } else {
        if (r->type == REDIS_REPLY_ERROR) {
            set_err(c, "server error: %s", r->str);
        } else {
            set_err(c, "GET: unexpected reply type %d", r->type);
        }
        a->fn(i, REDIS_CLIENT_EREPLY, NULL, 0, a->arg);
    }
}

int redis_get_many(struct redis_client *c, const char *const *keys, size_t n, redis_value_fn *fn,
                   void *arg)
{
    if (n == 0) {
        return 0;
    }
    if (keys == NULL || fn == NULL || !strings_valid(keys, n)) {
        return bad_arg(c, "redis_get_many");
    }
    struct get_many_args a = {keys, fn, arg};
    struct pipeline_ops ops = {get_many_append, get_many_reply, &a};
    return run_pipeline(c, n, &ops);
}

struct set_px_many_args {
    const char *const *keys;
    const char *const *vals;
    const size_t *lens;
    const char *ttl; /* decimal ms */
    int *results;
};

static int set_px_many_append(redisContext *ctx, size_t i, void *arg)
{
    const struct set_px_many_args *a = arg;

    const char *argv[] = {"SET", a->keys[i], a->vals[i], "PX", a->ttl};
    size_t lens[] = {3, strlen(a->keys[i]), a->lens[i], 2, strlen(a->ttl)};

    return redisAppendCommandArgv(ctx, 5, argv, lens);
}

static void set_px_many_reply(struct redis_client *c, size_t i, const redisReply *r, void *arg)
{
    struct set_px_many_args *a = arg;

    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
        a->results[i] = 0;
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "server error: %s", r->str);
    } else {
        set_err(c, "SET PX: unexpected reply type %d", r->type);
    }
    a->results[i] = REDIS_CLIENT_EREPLY;
}

int redis_set_px_many(struct redis_client *c, const char *const *keys, const char *const *vals,
                      const size_t *lens, size_t n, long long ttl_ms, int *results)
{
    if (n == 0) {
        return 0;
    }
    if (keys == NULL || vals == NULL || lens == NULL || results == NULL || ttl_ms <= 0 ||
        !strings_valid(keys, n) || !strings_valid(vals, n)) {
        return bad_arg(c, "redis_set_px_many");
    }
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", ttl_ms);
    struct set_px_many_args a = {keys, vals, lens, ttl, results};
    struct pipeline_ops ops = {set_px_many_append, set_px_many_reply, &a};
    return run_pipeline(c, n, &ops);
}

struct hset_many_args {
    const struct redis_hash *h;
    const char *ttl; /* decimal ms */
    int *results;
};

/* Command 2i is hash i's HSET, 2i + 1 its PEXPIRE. */
static int hset_many_append(redisContext *ctx, size_t i, void *arg)
{
    const struct hset_many_args *a = arg;
    const struct redis_hash *h = &a->h[i / 2];

    if (i % 2 == 1) {
        const char *argv[] = {"PEXPIRE", h->key, a->ttl};
        size_t lens[] = {7, strlen(h->key), strlen(a->ttl)};
        return redisAppendCommandArgv(ctx, 3, argv, lens);
    }
    size_t argc = 2 + 2 * h->nfields;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *lens = malloc(argc * sizeof(*lens));
    int rc = REDIS_ERR;
    if (argv != NULL && lens != NULL) {
        argv[0] = "HSET";
        argv[1] = h->key;
        for (size_t f = 0; f < h->nfields; f++) {
            argv[2 + 2 * f] = h->fields[f];
            argv[3 + 2 * f] = h->values[f];
        }
        for (size_t k = 0; k < argc; k++) {
            lens[k] = strlen(argv[k]);
        }
        rc = redisAppendCommandArgv(ctx, (int)argc, argv, lens);
    }
    free(argv);
    free(lens);
    return rc;
}

static void hset_many_reply(struct redis_client *c, size_t i, const redisReply *r, void *arg)
{
    struct hset_many_args *a = arg;
    int *res = &a->results[i / 2];

    if (i % 2 == 0) {
        *res = 0;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(c, "server error: %s", r->str);
    } else {
        set_err(c, "%s: unexpected reply type %d", i % 2 == 0 ? "HSET" : "PEXPIRE", r->type);
    }
    *res = REDIS_CLIENT_EREPLY;
}

int redis_hset_px_many(struct redis_client *c, const struct redis_hash *h, size_t n,
                       long long ttl_ms, int *results)
{
    if (n == 0) {
        return 0;
    }
    if (h == NULL || results == NULL || ttl_ms <= 0) {
        return bad_arg(c, "redis_hset_px_many");
    }
    for (size_t i = 0; i < n; i++) {
        if (h[i].key == NULL || h[i].nfields == 0 || h[i].fields == NULL || h[i].values == NULL ||
            !strings_valid(h[i].fields, h[i].nfields) ||
            !strings_valid(h[i].values, h[i].nfields)) {
            return bad_arg(c, "redis_hset_px_many");
        }
    }
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", ttl_ms);
    struct hset_many_args a = {h, ttl, results};
    struct pipeline_ops ops = {hset_many_append, hset_many_reply, &a};
    return run_pipeline(c, 2 * n, &ops);
}

int redis_get(struct redis_client *c, const char *key, char *buf, size_t buflen, size_t *len)
{
    redisReply *r;

    if (key == NULL || buf == NULL || buflen == 0) {
        return bad_arg(c, "redis_get");
    }
    int rc = rc_exec(c, &r, "GET %s", key);
    if (rc != 0) {
        return rc;
    }
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING) {
        return unexpected(c, "GET", r);
    }
    if (len != NULL) {
        *len = r->len;
    }
    if (r->len >= buflen) {
        set_err(c, "GET: value of %zu bytes does not fit %zu", r->len, buflen);
        log_warn("redis.value_too_long", LOG_STR("key", key), LOG_INT("len", r->len),
                 LOG_INT("buflen", buflen));
        freeReplyObject(r);
        return REDIS_CLIENT_EREPLY;
    }
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    freeReplyObject(r);
    return 1;
}

int redis_hgetall(struct redis_client *c, const char *key, size_t max_fields, redis_field_fn *fn,
                  void *arg)
{
    redisReply *r;

    if (key == NULL || fn == NULL) {
        return bad_arg(c, "redis_hgetall");
    }
    int rc = rc_exec(c, &r, "HGETALL %s", key);
    if (rc != 0) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        return unexpected(c, "HGETALL", r);
    }
    if (r->elements % 2 != 0 || r->elements / 2 > max_fields) {
        set_err(c, "HGETALL: %zu elements, not a hash of at most %zu fields", r->elements,
                max_fields);
        freeReplyObject(r);
        return REDIS_CLIENT_EREPLY;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            return unexpected(c, "HGETALL", r);
        }
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        fn(r->element[i]->str, r->element[i + 1]->str, arg);
    }
    rc = (int)(r->elements / 2);
    freeReplyObject(r);
    return rc;
}

int redis_set_px(struct redis_client *c, const char *key, const char *val, size_t len,
                 long long ttl_ms)
{
    redisReply *r;

    if (key == NULL || (val == NULL && len > 0) || ttl_ms <= 0) {
        return bad_arg(c, "redis_set_px");
    }
    int rc = rc_exec(c, &r, "SET %s %b PX %lld", key, val != NULL ? val : "", len, ttl_ms);
    if (rc != 0) {
        return rc;
    }
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        return unexpected(c, "SET PX", r);
    }
    freeReplyObject(r);
    return 0;
}

int redis_del(struct redis_client *c, const char *key)
{
    redisReply *r;

    if (key == NULL) {
        return bad_arg(c, "redis_del");
    }
    int rc = rc_exec(c, &r, "DEL %s", key);
    if (rc != 0) {
        return rc;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        return unexpected(c, "DEL", r);
    }
    rc = r->integer > 0 ? 1 : 0;
    freeReplyObject(r);
    return rc;
}
