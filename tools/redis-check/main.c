/*
 * analytics-redis-check: runs one command through common/'s Redis client
 * (redis.h) and prints the result as one JSON line. For tests and operators.
 *
 *   ANALYTICS_REDIS_URL=redis://127.0.0.1:6379/0 analytics-redis-check get k
 *
 * Exit 0 on success, 1 when Redis is unreachable or refuses, 64 on bad
 * arguments.
 */
#include "analytics/cli.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "analytics-redis-check"
#define DEFAULT_URL "redis://127.0.0.1:6379/0"
#define TIMEOUT_MS 1000
#define GET_BUF 1024 /* small on purpose: longer values show the too-long path */
#define LOOP_STEP_MS 50

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " COMMAND [ARGS...]\n"
            "Runs one Redis command through the analytics client; prints a JSON line.\n"
            "URL from ANALYTICS_REDIS_URL (default " DEFAULT_URL ").\n\n"
            "  setnx KEY VAL TTL_MS       SET NX PX: result 1 new, 0 existed\n"
            "  get KEY                    GET (values up to %d bytes)\n"
            "  setpx KEY VAL TTL_MS       SET PX\n"
            "  del KEY                    DEL: result 1 deleted, 0 missing\n"
            "  setnx-many TTL_MS KEY...   pipelined SET NX PX, value 1\n"
            "  get-many KEY...            pipelined GET: values (null when missing)\n"
            "  setpx-many TTL_MS KEY VAL [KEY VAL]...  pipelined SET PX\n"
            "  setmax-many KEY N [KEY N]...            pipelined raise-to-max\n"
            "  hsetpx TTL_MS KEY FIELD VAL [FIELD VAL]...  HSET and PEXPIRE, pipelined\n"
            "  ready                      PING; exit 1 when not ready\n"
            "  loop SECONDS               SET NX on a fresh key every %d ms; counts\n\n"
            "Exit 0 ok, 1 Redis unreachable or error, 64 bad arguments.\n",
            GET_BUF - 1, LOOP_STEP_MS);
}

/* Writes s as a JSON string (with quotes) on stdout. */
static void put_str(const char *s)
{
    char buf[4 * GET_BUF];
    size_t n = log_json_escape(buf, 0, sizeof(buf), s);

    printf("\"%.*s\"", (int)n, buf);
}

/* Parses a positive decimal up to max. Returns 0, or -1 (message printed). */
static int parse_pos(const char *what, const char *s, long long max, long long *out)
{
    char *end = NULL;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > max) {
        fprintf(stderr, PROG ": bad %s '%s' (1-%lld)\n", what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Prints a failure line for cmd and returns the exit code. */
static int fail(struct redis_client *rc, const char *cmd, int code)
{
    printf("{\"cmd\":");
    put_str(cmd);
    printf(",\"error\":");
    put_str(redis_client_last_error(rc));
    printf(",\"down\":%s}\n", code == REDIS_CLIENT_EDOWN ? "true" : "false");
    return 1;
}

static int cmd_setnx(struct redis_client *rc, char **argv)
{
    long long ttl;

    if (parse_pos("TTL_MS", argv[3], 1LL << 40, &ttl) == -1) {
        return CLI_EX_USAGE;
    }
    int r = redis_set_nx(rc, argv[1], argv[2], ttl);
    if (r < 0) {
        return fail(rc, "setnx", r);
    }
    printf("{\"cmd\":\"setnx\",\"key\":");
    put_str(argv[1]);
    printf(",\"result\":%d}\n", r);
    return 0;
}

static int cmd_get(struct redis_client *rc, char **argv)
{
    char buf[GET_BUF];
    size_t len = 0;

    int r = redis_get(rc, argv[1], buf, sizeof(buf), &len);
    if (r < 0) {
        return fail(rc, "get", r);
    }
    printf("{\"cmd\":\"get\",\"key\":");
    put_str(argv[1]);
    printf(",\"found\":%s", r == 1 ? "true" : "false");
    if (r == 1) {
        printf(",\"len\":%zu,\"value\":", len);
        put_str(buf);
    }
    printf("}\n");
    return 0;
}

static int cmd_setpx(struct redis_client *rc, char **argv)
{
    long long ttl;

    if (parse_pos("TTL_MS", argv[3], 1LL << 40, &ttl) == -1) {
        return CLI_EX_USAGE;
    }
    int r = redis_set_px(rc, argv[1], argv[2], strlen(argv[2]), ttl);
    if (r < 0) {
        return fail(rc, "setpx", r);
    }
    printf("{\"cmd\":\"setpx\",\"key\":");
    put_str(argv[1]);
    printf(",\"ok\":true}\n");
    return 0;
}

static int cmd_del(struct redis_client *rc, char **argv)
{
    int r = redis_del(rc, argv[1]);

    if (r < 0) {
        return fail(rc, "del", r);
    }
    printf("{\"cmd\":\"del\",\"key\":");
    put_str(argv[1]);
    printf(",\"result\":%d}\n", r);
    return 0;
}

/* Prints {"cmd":CMD,"results":[...]} for the n results of a pipelined call. */
static void print_results(const char *cmd, const int *results, size_t n)
{
    printf("{\"cmd\":\"%s\",\"results\":[", cmd);
    for (size_t i = 0; i < n; i++) {
        printf("%s%d", i ? "," : "", results[i]);
    }
    printf("]}\n");
}

static int cmd_setnx_many(struct redis_client *rc, int argc, char **argv)
{
    long long ttl;
    size_t n = (size_t)argc - 2;

    if (parse_pos("TTL_MS", argv[1], 1LL << 40, &ttl) == -1) {
        return CLI_EX_USAGE;
    }
    int *results = calloc(n, sizeof(*results));
    if (results == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    int r = redis_set_nx_many(rc, (const char *const *)(argv + 2), NULL, n, ttl, results);
    if (r < 0) {
        free(results);
        return fail(rc, "setnx-many", r);
    }
    print_results("setnx-many", results, n);
    free(results);
    return 0;
}

/* Appends value i of get-many to the FILE in arg, as a JSON array item. */
static void get_many_print(size_t i, int status, const char *val, size_t len, void *arg)
{
    char buf[GET_BUF], esc[4 * GET_BUF];
    FILE *out = arg;

    fputs(i ? "," : "", out);
    if (status == 1) {
        snprintf(buf, sizeof(buf), "%.*s", (int)len, val);
        size_t n = log_json_escape(esc, 0, sizeof(esc), buf);
        fprintf(out, "\"%.*s\"", (int)n, esc);
    } else {
        fputs(status == 0 ? "null" : "\"error\"", out);
    }
}

static int cmd_get_many(struct redis_client *rc, int argc, char **argv)
{
    char *items = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&items, &len);

    if (out == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    int r =
        redis_get_many(rc, (const char *const *)(argv + 1), (size_t)argc - 1, get_many_print, out);
    fclose(out);
    if (r == 0) {
        printf("{\"cmd\":\"get-many\",\"values\":[%s]}\n", items);
    }
    free(items);
    return r < 0 ? fail(rc, "get-many", r) : 0;
}

static int cmd_setpx_many(struct redis_client *rc, int argc, char **argv)
{
    long long ttl;
    size_t n = ((size_t)argc - 2) / 2;

    if (parse_pos("TTL_MS", argv[1], 1LL << 40, &ttl) == -1 || (argc - 2) % 2 != 0) {
        return CLI_EX_USAGE;
    }
    const char **keys = calloc(n, sizeof(*keys));
    const char **vals = calloc(n, sizeof(*vals));
    size_t *lens = calloc(n, sizeof(*lens));
    int *results = calloc(n, sizeof(*results));
    int code = 0;
    if (keys == NULL || vals == NULL || lens == NULL || results == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        code = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = argv[2 + 2 * i];
        vals[i] = argv[3 + 2 * i];
        lens[i] = strlen(vals[i]);
    }
    int r = redis_set_px_many(rc, keys, vals, lens, n, ttl, results);
    if (r < 0) {
        code = fail(rc, "setpx-many", r);
        goto out;
    }
    print_results("setpx-many", results, n);
out:
    free(keys);
    free(vals);
    free(lens);
    free(results);
    return code;
}

static int cmd_setmax_many(struct redis_client *rc, int argc, char **argv)
{
    size_t n = ((size_t)argc - 1) / 2;

    if ((argc - 1) % 2 != 0) {
        return CLI_EX_USAGE;
    }
    const char **keys = calloc(n, sizeof(*keys));
    long long *vals = calloc(n, sizeof(*vals));
    int *results = calloc(n, sizeof(*results));
    int code = 0;
    if (keys == NULL || vals == NULL || results == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        code = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = argv[1 + 2 * i];
        if (parse_pos("N", argv[2 + 2 * i], 1LL << 62, &vals[i]) == -1) {
            code = CLI_EX_USAGE;
            goto out;
        }
    }
    int r = redis_set_max_many(rc, keys, vals, n, results);
    if (r < 0) {
        code = fail(rc, "setmax-many", r);
        goto out;
    }
    print_results("setmax-many", results, n);
out:
    free(keys);
    free(vals);
    free(results);
    return code;
}

static int cmd_hsetpx(struct redis_client *rc, int argc, char **argv)
{
    long long ttl;
    size_t n = ((size_t)argc - 3) / 2;

    if ((argc - 3) % 2 != 0 || parse_pos("TTL_MS", argv[1], 1LL << 40, &ttl) == -1) {
        return CLI_EX_USAGE;
    }
    const char **fields = calloc(n, sizeof(*fields));
    const char **vals = calloc(n, sizeof(*vals));
    int result = 0, code = 0;
    if (fields == NULL || vals == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        code = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fields[i] = argv[3 + 2 * i];
        vals[i] = argv[4 + 2 * i];
    }
    struct redis_hash h = {argv[2], fields, vals, n};
    int r = redis_hset_px_many(rc, &h, 1, ttl, &result);
    if (r < 0) {
        code = fail(rc, "hsetpx", r);
        goto out;
    }
    print_results("hsetpx", &result, 1);
out:
    free(fields);
    free(vals);
    return code;
}

static int cmd_ready(struct redis_client *rc)
{
    bool ok = redis_client_ready(rc);

    printf("{\"cmd\":\"ready\",\"ready\":%s", ok ? "true" : "false");
    if (!ok) {
        printf(",\"error\":");
        put_str(redis_client_last_error(rc));
    }
    printf("}\n");
    return ok ? 0 : 1;
}

/* SET NX on a fresh key every LOOP_STEP_MS for the given seconds (or until
 * SIGTERM/SIGINT), counting successes, errors and successes after the first
 * error: a reconnect test without restarting the client. */
static int cmd_loop(struct redis_client *rc, char **argv)
{
    long long secs;
    long long ok = 0, err = 0, dup = 0, ok_after_err = 0;
    char key[96];

    if (parse_pos("SECONDS", argv[1], 3600, &secs) == -1) {
        return CLI_EX_USAGE;
    }
    long long deadline = lifecycle_mono_ms() + secs * 1000;
    for (long long i = 0; lifecycle_mono_ms() < deadline; i++) {
        snprintf(key, sizeof(key), "redis-check:loop:%ld:%lld", (long)getpid(), i);
        int r = redis_set_nx(rc, key, "1", 60000);
        if (r == 1) {
            ok++;
            ok_after_err += err > 0;
        } else if (r == 0) {
            dup++;
        } else {
            err++;
        }
        if (lifecycle_wait(LOOP_STEP_MS) != 0) {
            break;
        }
    }
    printf("{\"cmd\":\"loop\",\"ok\":%lld,\"err\":%lld,\"dup\":%lld,\"ok_after_err\":%lld}\n", ok,
           err, dup, ok_after_err);
    return 0;
}

/* Runs argv[1] (arguments checked by args_ok). Returns the exit code. */
static int run(struct redis_client *rc, int argc, char **argv)
{
    const char *cmd = argv[1];
    int nargs = argc - 1;

    if (strcmp(cmd, "setnx") == 0) {
        return cmd_setnx(rc, argv + 1);
    }
    if (strcmp(cmd, "get") == 0) {
        return cmd_get(rc, argv + 1);
    }
    if (strcmp(cmd, "setpx") == 0) {
        return cmd_setpx(rc, argv + 1);
    }
    if (strcmp(cmd, "del") == 0) {
        return cmd_del(rc, argv + 1);
    }
    if (strcmp(cmd, "setnx-many") == 0) {
        return cmd_setnx_many(rc, nargs, argv + 1);
    }
    if (strcmp(cmd, "get-many") == 0) {
        return cmd_get_many(rc, nargs, argv + 1);
    }
    if (strcmp(cmd, "setpx-many") == 0) {
        return cmd_setpx_many(rc, nargs, argv + 1);
    }
    if (strcmp(cmd, "setmax-many") == 0) {
        return cmd_setmax_many(rc, nargs, argv + 1);
    }
    if (strcmp(cmd, "hsetpx") == 0) {
        return cmd_hsetpx(rc, nargs, argv + 1);
    }
    if (strcmp(cmd, "ready") == 0) {
        return cmd_ready(rc);
    }
    if (strcmp(cmd, "loop") == 0) {
        return cmd_loop(rc, argv + 1);
    }
    usage(stderr);
    return CLI_EX_USAGE;
}

/* True when argv[1] names a known command with the right argument count. */
static bool args_ok(int argc, char **argv)
{
    static const struct {
        const char *name;
        int min, max;
    } cmds[] = {{"setnx", 4, 4},
                {"get", 2, 2},
                {"setpx", 4, 4},
                {"del", 2, 2},
                {"ready", 1, 1},
                {"loop", 2, 2},
                {"setnx-many", 3, 1 << 20},
                {"get-many", 2, 1 << 20},
                {"setpx-many", 4, 1 << 20},
                {"hsetpx", 5, 1 << 20},
                {"setmax-many", 3, 1 << 20}};

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            return argc - 1 >= cmds[i].min && argc - 1 <= cmds[i].max;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    char err[512];

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || !args_ok(argc, argv)) {
        usage(stderr);
        return CLI_EX_USAGE;
    }
    if (lifecycle_block_signals() == -1) {
        fprintf(stderr, PROG ": cannot set up signals\n");
        return 1;
    }
    log_init("redis-check", LOG_LEVEL_INFO);

    const char *url = getenv("ANALYTICS_REDIS_URL");
    if (url == NULL || url[0] == '\0') {
        url = DEFAULT_URL;
    }
    struct redis_client *rc = redis_client_new(url, TIMEOUT_MS, err, sizeof(err));
    if (rc == NULL) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    int code = run(rc, argc, argv);
    redis_client_free(rc);
    rc = NULL;
    fflush(stdout);
    return code;
}
