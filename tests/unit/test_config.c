/* Unit tests for the environment configuration loader (common/src/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/config.h"
#include "analytics/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the test daemon's configuration ---- */

struct tcfg {
    char *name;
    long long count;
    long long neg;
    bool flag;
    int mode;
    char *addr;
    char *opt;
    char *token;
    long long pin;
    char *db_addr;
    char *req;
};

#define F(field) offsetof(struct tcfg, field)

static const struct config_var tvars[] = {
    {"ANALYTICS_T_NAME", CONFIG_STRING, "svc", 0, 0, NULL, "service name", F(name), 0},
    {"ANALYTICS_T_COUNT", CONFIG_INT, "10", 1, 100, NULL, "how many", F(count), 0},
    {"ANALYTICS_T_NEG", CONFIG_INT, "-5", -10, -1, NULL, "a negative number", F(neg), 0},
    {"ANALYTICS_T_FLAG", CONFIG_BOOL, "false", 0, 0, NULL, "a switch", F(flag), 0},
    {"ANALYTICS_T_MODE", CONFIG_ENUM, "fast", 0, 0, "fast|safe|off", "the mode", F(mode), 0},
    {"ANALYTICS_T_ADDR", CONFIG_HOSTPORT, "127.0.0.1:8080", 0, 0, NULL, "listener", F(addr), 0},
    {"ANALYTICS_T_OPT", CONFIG_STRING, NULL, 0, 0, NULL, "optional, no default", F(opt), 0},
    {"ANALYTICS_T_TOKEN", CONFIG_STRING, NULL, 0, 0, NULL, "a secret string", F(token),
     CONFIG_SECRET},
    {"ANALYTICS_T_PIN", CONFIG_INT, "1234", 0, 9999, NULL, "a secret number", F(pin),
     CONFIG_SECRET},
    {"ANALYTICS_T_DB_ADDR", CONFIG_HOSTPORT, NULL, 0, 0, NULL, "a secret address", F(db_addr),
     CONFIG_SECRET},
    {"ANALYTICS_T_REQ", CONFIG_STRING, NULL, 0, 0, NULL, "must be given", F(req), CONFIG_REQUIRED},
};

#define NTVARS (sizeof(tvars) / sizeof(tvars[0]))

/* The required variable, so that each case reports only what it is about. */
#define REQ "ANALYTICS_T_REQ=r"

/* ---- helpers ---- */

/* What one config_load call returned and wrote. */
struct loaded {
    struct tcfg cfg;
    int bad;
    char *err; /* everything written to the err stream (caller frees) */
};

/* Loads tvars from envp into l, capturing the error stream. */
static void load(struct loaded *l, char *const *envp)
{
    size_t errlen = 0;
    FILE *err;

    memset(l, 0, sizeof(*l));
    err = open_memstream(&l->err, &errlen);
    assert_non_null(err);
    l->bad = config_load(tvars, NTVARS, &l->cfg, envp, err);
    assert_int_equal(fclose(err), 0);
    assert_non_null(l->err);
}

static void unload(struct loaded *l)
{
    config_free(tvars, NTVARS, &l->cfg);
    free(l->err);
    l->err = NULL;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Asserts text has a line starting "config: NAME: ". */
static void assert_reported(const char *text, const char *name)
{
    char prefix[128];
    const char *p = text;

    snprintf(prefix, sizeof(prefix), "config: %s: ", name);
    for (;;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            return;
        }
        p = strchr(p, '\n');
        if (p == NULL || *++p == '\0') {
            fail_msg("no line for %s in:\n%s", name, text);
        }
    }
}

/* Loads one variable with a bad value and asserts exactly that variable is
 * reported, on one line. */
static void assert_one_bad(const char *name, const char *entry)
{
    char *envp[] = {REQ, (char *)entry, NULL};
    struct loaded l;

    load(&l, envp);
    if (l.bad != 1 || count_lines(l.err) != 1) {
        fail_msg("%s: bad=%d, output:\n%s", entry, l.bad, l.err);
    }
    assert_reported(l.err, name);
    unload(&l);
}

/* Loads one variable with a good value and asserts nothing is reported. */
static struct tcfg load_good(struct loaded *l, const char *entry)
{
    char *envp[] = {REQ, (char *)entry, NULL};

    load(l, envp);
    if (l->bad != 0 || l->err[0] != '\0') {
        fail_msg("%s: bad=%d, output:\n%s", entry, l->bad, l->err);
    }
    return l->cfg;
}

/* ---- config_getenv ---- */

static void test_getenv(void **state)
{
    char *envp[] = {"ANALYTICS_T=short",  "ANALYTICS_T_COUNTX=9", "ANALYTICS_T_COUNT=7",
                    "ANALYTICS_T_EMPTY=", "ANALYTICS_T_EQ=a=b",   NULL};

    (void)state;
    assert_string_equal(config_getenv(envp, "ANALYTICS_T_COUNT"), "7");
    assert_string_equal(config_getenv(envp, "ANALYTICS_T"), "short");
    assert_string_equal(config_getenv(envp, "ANALYTICS_T_EQ"), "a=b");
    assert_ptr_equal(config_getenv(envp, "ANALYTICS_T_COUNT"),
                     envp[2] + strlen("ANALYTICS_T_COUNT="));
    assert_null(config_getenv(envp, "ANALYTICS_T_EMPTY"));
    assert_null(config_getenv(envp, "ANALYTICS_T_MISSING"));
    assert_null(config_getenv(envp, "ANALYTICS_T_COUN"));
    assert_null(config_getenv(NULL, "ANALYTICS_T_COUNT"));
}

/* ---- config_split_hostport ---- */

static void test_split_hostport_good(void **state)
{
    char host[64];
    int port = -1;

    (void)state;
    assert_int_equal(config_split_hostport("localhost:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 8080);
    assert_int_equal(config_split_hostport("0.0.0.0:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 0);
    assert_int_equal(config_split_hostport("h:65535", host, sizeof(host), &port), 0);
    assert_string_equal(host, "h");
    assert_int_equal(port, 65535);
    /* the last colon separates the port */
    assert_int_equal(config_split_hostport("[::1]:443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "[::1]");
    assert_int_equal(port, 443);
    /* a host of exactly hostlen - 1 bytes fits */
    assert_int_equal(config_split_hostport("abcd:1", host, 5, &port), 0);
    assert_string_equal(host, "abcd");
    assert_int_equal(port, 1);
}

static void test_split_hostport_bad(void **state)
{
    static const char *const bad[] = {
        "localhost",  "localhost:", ":80",     ":",       "",
        "host:65536", "host:-1",    "host:8x", "host:x8", "host:99999999999999999999",
        "host:80 ",
    };
    char host[64];
    int port = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(host, sizeof(host), "untouched");
        if (config_split_hostport(bad[i], host, sizeof(host), &port) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 7);
    }
    /* a host longer than hostlen - 1 bytes is refused, not truncated */
    assert_int_equal(config_split_hostport("abcde:1", host, 5, &port), -1);
}

/* ---- config_load: defaults, empty values, good values ---- */

static void test_defaults(void **state)
{
    char *envp[] = {REQ, NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 0);
    assert_string_equal(l.err, "");
    assert_string_equal(l.cfg.name, "svc");
    assert_ptr_not_equal(l.cfg.name, tvars[0].def); /* a heap copy */
    assert_int_equal(l.cfg.count, 10);
    assert_int_equal(l.cfg.neg, -5);
    assert_false(l.cfg.flag);
    assert_int_equal(l.cfg.mode, 0);
    assert_string_equal(l.cfg.addr, "127.0.0.1:8080");
    assert_null(l.cfg.opt);
    assert_null(l.cfg.token);
    assert_int_equal(l.cfg.pin, 1234);
    assert_null(l.cfg.db_addr);
    assert_string_equal(l.cfg.req, "r");
    unload(&l);
}

static void test_empty_is_unset(void **state)
{
    char *envp[] = {REQ,
                    "ANALYTICS_T_NAME=",
                    "ANALYTICS_T_COUNT=",
                    "ANALYTICS_T_NEG=",
                    "ANALYTICS_T_FLAG=",
                    "ANALYTICS_T_MODE=",
                    "ANALYTICS_T_ADDR=",
                    "ANALYTICS_T_OPT=",
                    "ANALYTICS_T_TOKEN=",
                    "ANALYTICS_T_PIN=",
                    "ANALYTICS_T_DB_ADDR=",
                    NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 0);
    assert_string_equal(l.err, "");
    assert_string_equal(l.cfg.name, "svc");
    assert_int_equal(l.cfg.count, 10);
    assert_int_equal(l.cfg.neg, -5);
    assert_false(l.cfg.flag);
    assert_int_equal(l.cfg.mode, 0);
    assert_string_equal(l.cfg.addr, "127.0.0.1:8080");
    assert_null(l.cfg.opt);
    assert_null(l.cfg.token);
    assert_int_equal(l.cfg.pin, 1234);
    assert_null(l.cfg.db_addr);
    unload(&l);
}

static void test_values_from_env(void **state)
{
    char *envp[] = {"ANALYTICS_T_REQ=needed",
                    "ANALYTICS_T_NAME=collector",
                    "ANALYTICS_T_COUNT=42",
                    "ANALYTICS_T_NEG=-10",
                    "ANALYTICS_T_FLAG=true",
                    "ANALYTICS_T_MODE=off",
                    "ANALYTICS_T_ADDR=example.org:443",
                    "ANALYTICS_T_OPT=given",
                    "ANALYTICS_T_TOKEN=tok",
                    "ANALYTICS_T_PIN=0",
                    "ANALYTICS_T_DB_ADDR=db:5432",
                    NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 0);
    assert_string_equal(l.err, "");
    assert_string_equal(l.cfg.req, "needed");
    assert_string_equal(l.cfg.name, "collector");
    assert_int_equal(l.cfg.count, 42);
    assert_int_equal(l.cfg.neg, -10);
    assert_true(l.cfg.flag);
    assert_int_equal(l.cfg.mode, 2);
    assert_string_equal(l.cfg.addr, "example.org:443");
    assert_string_equal(l.cfg.opt, "given");
    assert_string_equal(l.cfg.token, "tok");
    assert_int_equal(l.cfg.pin, 0);
    assert_string_equal(l.cfg.db_addr, "db:5432");
    unload(&l);
}

static void test_null_err_stream(void **state)
{
    char *envp[] = {"ANALYTICS_T_COUNT=x", "ANALYTICS_T_FLAG=x", NULL};
    struct tcfg c;

    (void)state;
    memset(&c, 0, sizeof(c));
    /* the bad COUNT, FLAG and the missing REQ are counted without a stream */
    assert_int_equal(config_load(tvars, NTVARS, &c, envp, NULL), 3);
    config_free(tvars, NTVARS, &c);
}

/* ---- integers ---- */

static void test_int_bounds_inclusive(void **state)
{
    struct loaded l;

    (void)state;
    assert_int_equal(load_good(&l, "ANALYTICS_T_COUNT=1").count, 1);
    unload(&l);
    assert_int_equal(load_good(&l, "ANALYTICS_T_COUNT=100").count, 100);
    unload(&l);
    assert_int_equal(load_good(&l, "ANALYTICS_T_NEG=-1").neg, -1);
    unload(&l);
    assert_int_equal(load_good(&l, "ANALYTICS_T_NEG=-10").neg, -10);
    unload(&l);
}

static void test_int_not_numeric(void **state)
{
    (void)state;
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=abc");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=-");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT= ");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=1.5");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=0x10");
}

static void test_int_trailing_junk(void **state)
{
    (void)state;
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=12x");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=12 ");
    assert_one_bad("ANALYTICS_T_NEG", "ANALYTICS_T_NEG=-3abc");
}

static void test_int_out_of_range(void **state)
{
    (void)state;
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=0");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=101");
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=-1");
    assert_one_bad("ANALYTICS_T_NEG", "ANALYTICS_T_NEG=0");
    assert_one_bad("ANALYTICS_T_NEG", "ANALYTICS_T_NEG=-11");
}

static void test_int_overflow(void **state)
{
    (void)state;
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=99999999999999999999");
    assert_one_bad("ANALYTICS_T_NEG", "ANALYTICS_T_NEG=-99999999999999999999");
    /* LLONG_MAX + 1 wraps to nothing: refused, not saturated into range */
    assert_one_bad("ANALYTICS_T_COUNT", "ANALYTICS_T_COUNT=9223372036854775808");
}

static void test_int_message(void **state)
{
    char *envp[] = {REQ, "ANALYTICS_T_COUNT=12x", NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 1);
    /* the reason states the range and the value that was given */
    assert_non_null(strstr(l.err, "100"));
    assert_non_null(strstr(l.err, "12x"));
    unload(&l);
}

/* ---- booleans ---- */

static void test_bool_good(void **state)
{
    static const char *const yes[] = {"ANALYTICS_T_FLAG=true", "ANALYTICS_T_FLAG=1",
                                      "ANALYTICS_T_FLAG=yes", "ANALYTICS_T_FLAG=on"};
    static const char *const no[] = {"ANALYTICS_T_FLAG=false", "ANALYTICS_T_FLAG=0",
                                     "ANALYTICS_T_FLAG=no", "ANALYTICS_T_FLAG=off"};
    struct loaded l;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_true(load_good(&l, yes[i]).flag);
        unload(&l);
    }
    for (size_t i = 0; i < 4; i++) {
        char *envp[] = {REQ, (char *)no[i], NULL};
        struct tcfg c;

        /* start from true so a no-op parse would be caught */
        memset(&c, 0, sizeof(c));
        c.flag = true;
        assert_int_equal(config_load(tvars, NTVARS, &c, envp, NULL), 0);
        assert_false(c.flag);
        config_free(tvars, NTVARS, &c);
    }
}

static void test_bool_bad(void **state)
{
    (void)state;
    assert_one_bad("ANALYTICS_T_FLAG", "ANALYTICS_T_FLAG=maybe");
    assert_one_bad("ANALYTICS_T_FLAG", "ANALYTICS_T_FLAG=2");
    assert_one_bad("ANALYTICS_T_FLAG", "ANALYTICS_T_FLAG=tru");
    assert_one_bad("ANALYTICS_T_FLAG", "ANALYTICS_T_FLAG=truex");
    assert_one_bad("ANALYTICS_T_FLAG", "ANALYTICS_T_FLAG= true");
}

/* ---- enums ---- */

static void test_enum_good(void **state)
{
    struct loaded l;

    (void)state;
    assert_int_equal(load_good(&l, "ANALYTICS_T_MODE=fast").mode, 0);
    unload(&l);
    assert_int_equal(load_good(&l, "ANALYTICS_T_MODE=safe").mode, 1);
    unload(&l);
    assert_int_equal(load_good(&l, "ANALYTICS_T_MODE=off").mode, 2);
    unload(&l);
}

static void test_enum_bad(void **state)
{
    char *envp[] = {REQ, "ANALYTICS_T_MODE=slow", NULL};
    struct loaded l;

    (void)state;
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=slow");
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=fas");
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=fastx");
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=of");
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=safe|off");
    assert_one_bad("ANALYTICS_T_MODE", "ANALYTICS_T_MODE=|");
    /* the message lists the choices */
    load(&l, envp);
    assert_non_null(strstr(l.err, "fast|safe|off"));
    unload(&l);
}

/* ---- host:port ---- */

static void test_hostport_good(void **state)
{
    struct loaded l;

    (void)state;
    assert_string_equal(load_good(&l, "ANALYTICS_T_ADDR=localhost:0").addr, "localhost:0");
    unload(&l);
    assert_string_equal(load_good(&l, "ANALYTICS_T_ADDR=h:65535").addr, "h:65535");
    unload(&l);
    assert_string_equal(load_good(&l, "ANALYTICS_T_ADDR=[::1]:80").addr, "[::1]:80");
    unload(&l);
}

static void test_hostport_bad(void **state)
{
    char longhost[400];
    char entry[440];

    (void)state;
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost:");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost:65536");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost:-1");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost:http");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=localhost:80x");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=:8080");
    assert_one_bad("ANALYTICS_T_ADDR", "ANALYTICS_T_ADDR=:");
    /* a host too long for any buffer is refused, not truncated */
    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    snprintf(entry, sizeof(entry), "ANALYTICS_T_ADDR=%s:80", longhost);
    assert_one_bad("ANALYTICS_T_ADDR", entry);
}

/* ---- required ---- */

static void test_required_missing(void **state)
{
    char *absent[] = {"ANALYTICS_T_NAME=x", NULL};
    char *empty[] = {"ANALYTICS_T_REQ=", NULL};
    struct loaded l;

    (void)state;
    load(&l, absent);
    assert_int_equal(l.bad, 1);
    assert_int_equal(count_lines(l.err), 1);
    assert_reported(l.err, "ANALYTICS_T_REQ");
    assert_null(l.cfg.req);
    unload(&l);

    load(&l, empty);
    assert_int_equal(l.bad, 1);
    assert_int_equal(count_lines(l.err), 1);
    assert_reported(l.err, "ANALYTICS_T_REQ");
    assert_null(l.cfg.req);
    unload(&l);

    load(&l, NULL);
    assert_int_equal(l.bad, 1);
    assert_reported(l.err, "ANALYTICS_T_REQ");
    unload(&l);
}

/* ---- all bad variables reported ---- */

static void test_all_bad_reported(void **state)
{
    static const char *const names[] = {
        "ANALYTICS_T_COUNT", "ANALYTICS_T_NEG", "ANALYTICS_T_FLAG",    "ANALYTICS_T_MODE",
        "ANALYTICS_T_ADDR",  "ANALYTICS_T_PIN", "ANALYTICS_T_DB_ADDR", "ANALYTICS_T_REQ",
    };
    char *envp[] = {"ANALYTICS_T_COUNT=12x",
                    "ANALYTICS_T_NEG=99999999999999999999",
                    "ANALYTICS_T_FLAG=maybe",
                    "ANALYTICS_T_MODE=slow",
                    "ANALYTICS_T_ADDR=nocolon",
                    "ANALYTICS_T_PIN=10000",
                    "ANALYTICS_T_DB_ADDR=db:",
                    "ANALYTICS_T_NAME=fine",
                    NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 8);
    assert_int_equal(count_lines(l.err), 8);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_reported(l.err, names[i]);
    }
    /* the good variable is loaded and not reported */
    assert_string_equal(l.cfg.name, "fine");
    assert_null(strstr(l.err, "ANALYTICS_T_NAME"));
    unload(&l);
}

/* ---- secrets ---- */

static void test_secret_not_echoed(void **state)
{
    char *envp[] = {REQ, "ANALYTICS_T_PIN=hunter2-pin", "ANALYTICS_T_DB_ADDR=hunter2-addr",
                    "ANALYTICS_T_COUNT=visible-value", NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 3);
    assert_reported(l.err, "ANALYTICS_T_PIN");
    assert_reported(l.err, "ANALYTICS_T_DB_ADDR");
    assert_null(strstr(l.err, "hunter2"));
    /* the check above can fail: a non-secret value is echoed */
    assert_non_null(strstr(l.err, "visible-value"));
    unload(&l);
}

/* Sends stderr to a temporary file; returns the saved descriptor. */
static int capture_begin(FILE **tmp)
{
    int saved;

    fflush(stderr);
    *tmp = tmpfile();
    assert_non_null(*tmp);
    saved = dup(STDERR_FILENO);
    assert_true(saved != -1);
    assert_true(dup2(fileno(*tmp), STDERR_FILENO) != -1);
    return saved;
}

/* Restores stderr and returns what was written (caller frees). */
static char *capture_end(FILE *tmp, int saved)
{
    long size;
    char *text;

    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) != -1);
    close(saved);
    assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
    size = ftell(tmp);
    assert_true(size >= 0);
    rewind(tmp);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, tmp), (size_t)size);
    text[size] = '\0';
    fclose(tmp);
    return text;
}

static void test_secret_not_logged(void **state)
{
    char *envp[] = {REQ,
                    "ANALYTICS_T_TOKEN=hunter2-token",
                    "ANALYTICS_T_PIN=4321",
                    "ANALYTICS_T_DB_ADDR=hunter2-db:5432",
                    "ANALYTICS_T_NAME=shown-name",
                    NULL};
    struct loaded l;
    FILE *tmp;
    char *text;
    int saved;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 0);
    log_init("test_config", LOG_LEVEL_DEBUG);
    saved = capture_begin(&tmp);
    config_log(tvars, NTVARS, &l.cfg);
    text = capture_end(tmp, saved);
    log_init("test_config", LOG_LEVEL_INFO);

    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "4321"));
    assert_non_null(strstr(text, "***"));
    /* every variable is logged, non-secrets with their value */
    assert_int_equal(count_lines(text), NTVARS);
    assert_non_null(strstr(text, "shown-name"));
    free(text);
    unload(&l);
}

/* ---- ownership ---- */

static void test_strings_are_heap_copies(void **state)
{
    char name[] = "ANALYTICS_T_NAME=original";
    char addr[] = "ANALYTICS_T_ADDR=host:1";
    char *envp[] = {REQ, name, addr, NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 0);
    assert_ptr_not_equal(l.cfg.name, name + strlen("ANALYTICS_T_NAME="));
    /* changing the environment afterwards does not change the config */
    memset(name + strlen("ANALYTICS_T_NAME="), 'X', strlen("original"));
    memset(addr + strlen("ANALYTICS_T_ADDR="), 'X', strlen("host"));
    assert_string_equal(l.cfg.name, "original");
    assert_string_equal(l.cfg.addr, "host:1");
    assert_string_equal(l.cfg.req, "r");

    config_free(tvars, NTVARS, &l.cfg);
    assert_null(l.cfg.name);
    assert_null(l.cfg.addr);
    assert_null(l.cfg.req);
    assert_null(l.cfg.opt);
    /* a second config_free is harmless */
    config_free(tvars, NTVARS, &l.cfg);
    free(l.err);
}

static void test_reload_frees_previous(void **state)
{
    char *first[] = {REQ, "ANALYTICS_T_NAME=one", "ANALYTICS_T_TOKEN=t1", NULL};
    char *second[] = {REQ, "ANALYTICS_T_NAME=two", "ANALYTICS_T_TOKEN=t2", NULL};
    struct tcfg c;

    (void)state;
    memset(&c, 0, sizeof(c));
    /* a leak here is caught by the sanitizer build */
    assert_int_equal(config_load(tvars, NTVARS, &c, first, NULL), 0);
    assert_int_equal(config_load(tvars, NTVARS, &c, second, NULL), 0);
    assert_string_equal(c.name, "two");
    assert_string_equal(c.token, "t2");
    config_free(tvars, NTVARS, &c);
}

static void test_free_after_failed_load(void **state)
{
    char *envp[] = {"ANALYTICS_T_NAME=kept", "ANALYTICS_T_COUNT=bad", NULL};
    struct tcfg c;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(config_load(tvars, NTVARS, &c, envp, NULL), 2);
    assert_string_equal(c.name, "kept");
    config_free(tvars, NTVARS, &c);
    assert_null(c.name);
}

/* ---- usage ---- */

static void test_usage(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    (void)state;
    assert_non_null(out);
    config_usage(tvars, NTVARS, out);
    assert_int_equal(fclose(out), 0);
    for (size_t i = 0; i < NTVARS; i++) {
        if (strstr(text, tvars[i].name) == NULL) {
            fail_msg("usage lacks %s:\n%s", tvars[i].name, text);
        }
        assert_non_null(strstr(text, tvars[i].help));
    }
    assert_non_null(strstr(text, "1..100"));
    assert_non_null(strstr(text, "-10..-1"));
    assert_non_null(strstr(text, "fast|safe|off"));
    assert_non_null(strstr(text, "default 127.0.0.1:8080"));
    assert_non_null(strstr(text, "required"));
    assert_non_null(strstr(text, "host:port"));
    free(text);
}

/* ---- known bugs (skipped) ---- */

/* BUG (config.c, config_load): a bad non-secret value is echoed raw inside
 * "(got \"%s\")", so a value holding a newline breaks "one line per bad
 * variable" and can forge extra "config: ..." lines. Expected: exactly one
 * line for the one bad variable (the value escaped or left out). Remove the
 * skip() once fixed. */
static void test_value_with_newline_stays_one_line(void **state)
{
    char *envp[] = {REQ, "ANALYTICS_T_COUNT=1\nconfig: ANALYTICS_T_FORGED: injected", NULL};
    struct loaded l;

    (void)state;
    load(&l, envp);
    assert_int_equal(l.bad, 1);
    assert_int_equal(count_lines(l.err), 1);
    assert_null(strstr(l.err, "\nconfig: ANALYTICS_T_FORGED"));
    unload(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getenv),
        cmocka_unit_test(test_split_hostport_good),
        cmocka_unit_test(test_split_hostport_bad),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_is_unset),
        cmocka_unit_test(test_values_from_env),
        cmocka_unit_test(test_null_err_stream),
        cmocka_unit_test(test_int_bounds_inclusive),
        cmocka_unit_test(test_int_not_numeric),
        cmocka_unit_test(test_int_trailing_junk),
        cmocka_unit_test(test_int_out_of_range),
        cmocka_unit_test(test_int_overflow),
        cmocka_unit_test(test_int_message),
        cmocka_unit_test(test_bool_good),
        cmocka_unit_test(test_bool_bad),
        cmocka_unit_test(test_enum_good),
        cmocka_unit_test(test_enum_bad),
        cmocka_unit_test(test_hostport_good),
        cmocka_unit_test(test_hostport_bad),
        cmocka_unit_test(test_required_missing),
        cmocka_unit_test(test_all_bad_reported),
        cmocka_unit_test(test_secret_not_echoed),
        cmocka_unit_test(test_secret_not_logged),
        cmocka_unit_test(test_strings_are_heap_copies),
        cmocka_unit_test(test_reload_frees_previous),
        cmocka_unit_test(test_free_after_failed_load),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_value_with_newline_stays_one_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
