/*
 * Unit tests for the enricher's bot detection (services/enricher/bot.c):
 * crawler patterns of the crawler-user-agents npm package against its own
 * example agents (all flagged) and uap-core's browser test agents (none
 * flagged), loader errors, and the per-fingerprint rate tracker.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bot.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#define UAP_TEST_UA "/usr/share/uap-core/tests/test_ua.yaml"
#define CUA_REL "node_modules/crawler-user-agents/crawler-user-agents.json"

/* ---- helpers ---- */

/* The package's JSON under $ANALYTICS_SOURCE_DIR, else under this tree. */
static void patterns_path(char *out, size_t cap)
{
    const char *src = getenv("ANALYTICS_SOURCE_DIR");

    snprintf(out, cap, "%s/%s", src != NULL && src[0] != '\0' ? src : ANALYTICS_TEST_SOURCE_DIR,
             CUA_REL);
}

static char *slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)len + 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    *len_out = (size_t)len;
    return buf;
}

static cJSON *load_package_json(void)
{
    char path[4096];
    size_t len = 0;
    char *buf;
    cJSON *root;

    patterns_path(path, sizeof(path));
    buf = slurp(path, &len);
    if (buf == NULL) {
        fail_msg("%s missing: run scripts/setup", path);
    }
    root = cJSON_ParseWithLengthOpts(buf, len, NULL, 0);
    free(buf);
    assert_non_null(root);
    return root;
}

static struct bot_detector *detector_ok(void)
{
    char path[4096];
    char err[512] = "";
    struct bot_detector *d;

    patterns_path(path, sizeof(path));
    d = bot_detector_new(path, err, sizeof(err));
    if (d == NULL) {
        fail_msg("bot_detector_new(%s): %s (run scripts/setup)", path, err);
    }
    return d;
}

/* Writes text to a new temporary file; its path goes to path. */
static void write_tmp(char *path, size_t cap, const char *text)
{
    int fd;
    size_t n = strlen(text);

    snprintf(path, cap, "/tmp/test_bot_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static struct bot_detector *detector_from_text(const char *text, char *err, size_t errlen)
{
    char path[64];
    struct bot_detector *d;

    write_tmp(path, sizeof(path), text);
    d = bot_detector_new(path, err, errlen);
    unlink(path);
    return d;
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- uap-core browser agents ---- */

/* uap-core families of ordinary browsers people use. */
static const char *const browser_families[] = {
    "Chrome",
    "Chrome Mobile",
    "Chrome Mobile iOS",
    "Chrome Mobile WebView",
    "Chromium",
    "Firefox",
    "Firefox Mobile",
    "Firefox iOS",
    "Safari",
    "Mobile Safari",
    "Mobile Safari UI/WKWebView",
    "Edge",
    "Edge Mobile",
    "Opera",
    "Opera Mini",
    "Opera Mobile",
    "Samsung Internet",
    "IE",
    "IE Mobile",
    "UC Browser",
    "Yandex Browser",
    "Android",
    "Amazon Silk",
    "QQ Browser",
    "QQ Browser Mobile",
    "Vivaldi",
    "Pale Moon",
    "Whale",
    "Brave",
    "Silk",
};

static bool is_browser_family(const char *family)
{
    size_t i;

    for (i = 0; i < sizeof(browser_families) / sizeof(browser_families[0]); i++) {
        if (strcmp(family, browser_families[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Agents uap-core's tests expect under a browser family that are in fact
 * automated: Google's page preview renderer runs Chrome. */
static bool is_known_bot(const char *ua)
{
    return strstr(ua, "Google Web Preview") != NULL;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p;

    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (k != NULL && v != NULL && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            return (const char *)v->data.scalar.value;
        }
    }
    return NULL;
}

struct ua_list {
    char **ua;
    size_t n;
};

/* The user_agent_string of every test case of test_ua.yaml whose family is a
 * common browser. */
static struct ua_list load_browser_agents(void)
{
    struct ua_list l = {NULL, 0};
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    yaml_node_t *cases = NULL;
    yaml_node_item_t *it;
    FILE *f = fopen(UAP_TEST_UA, "rb");

    if (f == NULL) {
        fail_msg("%s missing: run scripts/setup", UAP_TEST_UA);
    }
    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_file(&parser, f);
    assert_true(yaml_parser_load(&parser, &doc));
    root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    assert_int_equal(root->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        if (k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, "test_cases") == 0) {
            cases = yaml_document_get_node(&doc, p->value);
        }
    }
    assert_non_null(cases);
    assert_int_equal(cases->type, YAML_SEQUENCE_NODE);
    l.ua = calloc((size_t)(cases->data.sequence.items.top - cases->data.sequence.items.start),
                  sizeof(*l.ua));
    assert_non_null(l.ua);
    for (it = cases->data.sequence.items.start; it < cases->data.sequence.items.top; it++) {
        yaml_node_t *tc = yaml_document_get_node(&doc, *it);
        const char *ua;
        const char *family;
        if (tc == NULL || tc->type != YAML_MAPPING_NODE) {
            continue;
        }
        ua = scalar(&doc, tc, "user_agent_string");
        family = scalar(&doc, tc, "family");
        if (ua != NULL && family != NULL && is_browser_family(family)) {
            l.ua[l.n] = strdup(ua);
            assert_non_null(l.ua[l.n]);
            l.n++;
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return l;
}

static void ua_list_free(struct ua_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->ua[i]);
    }
    free(l->ua);
}

/* ---- pattern tests ---- */

static void test_crawler_examples_flagged(void **state)
{
    (void)state;
    struct bot_detector *d = detector_ok();
    cJSON *root = load_package_json();
    const cJSON *entry;
    size_t total = 0;
    size_t flagged = 0;

    cJSON_ArrayForEach(entry, root)
    {
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(entry, "instances");
        const cJSON *ua;
        cJSON_ArrayForEach(ua, inst)
        {
            if (!cJSON_IsString(ua)) {
                continue;
            }
            total++;
            assert_int_equal(bot_match_ua(d, ua->valuestring),
                             bot_match_ua_exhaustive(d, ua->valuestring));
            if (bot_match_ua(d, ua->valuestring)) {
                flagged++;
            } else {
                printf("  not flagged: %s\n", ua->valuestring);
            }
        }
    }
    printf("crawler patterns: %zu compiled, %zu skipped\n", bot_detector_pattern_count(d),
           bot_detector_skipped_count(d));
    printf("crawler examples flagged: %.2f%% (%zu/%zu)\n",
           total ? 100.0 * (double)flagged / (double)total : 0.0, flagged, total);
    assert_true(total > 1000);
    assert_true((double)flagged >= 0.99 * (double)total);
    cJSON_Delete(root);
    bot_detector_free(d);
}

static void test_browsers_not_flagged(void **state)
{
    (void)state;
    struct bot_detector *d = detector_ok();
    struct ua_list l = load_browser_agents();
    size_t fp = 0;

    size_t n = 0;

    for (size_t i = 0; i < l.n; i++) {
        bool hit = bot_match_ua(d, l.ua[i]);
        assert_int_equal(hit, bot_match_ua_exhaustive(d, l.ua[i]));
        if (is_known_bot(l.ua[i])) {
            /* uap-core files it under a browser family; it is a bot. */
            assert_true(hit);
            continue;
        }
        n++;
        if (hit) {
            fp++;
            printf("  browser flagged: %s\n", l.ua[i]);
        }
    }
    printf("uap-core browser agents flagged (false positives): %.2f%% (%zu/%zu)\n",
           n ? 100.0 * (double)fp / (double)n : 0.0, fp, n);
    assert_true(n > 100);
    /* Measured 1/146 (crawler-user-agents 1.60.0: "008\/" matches the
     * version "4.39008/" of an Opera Mini agent). */
    assert_true((double)fp <= 0.01 * (double)n);
    ua_list_free(&l);
    bot_detector_free(d);
}

static void test_match_basics(void **state)
{
    (void)state;
    struct bot_detector *d = detector_ok();

    assert_true(bot_match_ua(d, "Mozilla/5.0 (compatible; Googlebot/2.1; "
                                "+http://www.google.com/bot.html)"));
    assert_true(bot_match_ua(d, "Mozilla/5.0 (compatible; bingbot/2.0; "
                                "+http://www.bing.com/bingbot.htm)"));
    assert_true(bot_match_ua(d, "curl/8.5.0"));
    assert_false(bot_match_ua(d, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
                                 "like Gecko) Chrome/126.0.0.0 Safari/537.36"));
    assert_false(bot_match_ua(d, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
                                 "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
                                 "Mobile/15E148 Safari/604.1"));
    assert_false(bot_match_ua(d, ""));
    assert_false(bot_match_ua(d, NULL));
    assert_false(bot_match_ua(NULL, "Googlebot/2.1"));
    bot_detector_free(d);
}

static void test_match_speed(void **state)
{
    (void)state;
    struct bot_detector *d = detector_ok();
    static const char *const agents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    };
    const size_t na = sizeof(agents) / sizeof(agents[0]);
    const size_t iters = 20000;
    size_t hits = 0;
    double t0;
    double ns;

    t0 = now_ns();
    for (size_t i = 0; i < iters; i++) {
        hits += bot_match_ua(d, agents[i % na]) ? 1 : 0;
    }
    ns = (now_ns() - t0) / (double)iters;
    printf("bot_match_ua: %.0f ns per agent (%zu agents, 2 of 6 bots)\n", ns, iters);
    /* Trying every pattern costs ~250 us; the prefilter ~0.3 us (ASan ~1). */
    assert_true(ns < 20000.0);
    assert_int_equal(hits, iters / na * 2 + (iters % na > 4 ? iters % na - 4 : 0));
    bot_detector_free(d);
}

struct match_thread {
    const struct bot_detector *d;
    size_t wrong;
};

static void *match_thread_run(void *arg)
{
    struct match_thread *t = arg;

    for (int i = 0; i < 2000; i++) {
        if (!bot_match_ua(t->d,
                          "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)")) {
            t->wrong++;
        }
        if (bot_match_ua(t->d, "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 "
                               "Firefox/127.0")) {
            t->wrong++;
        }
    }
    return NULL;
}

static void test_match_threads(void **state)
{
    (void)state;
    struct bot_detector *d = detector_ok();
    pthread_t th[4];
    struct match_thread mt[4];

    for (int i = 0; i < 4; i++) {
        mt[i].d = d;
        mt[i].wrong = 0;
        assert_int_equal(pthread_create(&th[i], NULL, match_thread_run, &mt[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(mt[i].wrong, 0);
    }
    bot_detector_free(d);
}

/* ---- loader errors ---- */

static void test_load_missing_file(void **state)
{
    (void)state;
    char err[256] = "";

    assert_null(bot_detector_new("/nonexistent/crawler-user-agents.json", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/crawler-user-agents.json"));
    assert_non_null(strstr(err, "No such file"));
    err[0] = '\0';
    assert_null(bot_detector_new(NULL, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_null(bot_detector_new("", NULL, 0));
}

static void test_load_bad_json(void **state)
{
    (void)state;
    char err[256] = "";

    assert_null(detector_from_text("[{\"pattern\": \"bot\"", err, sizeof(err)));
    assert_non_null(strstr(err, "malformed JSON"));
    err[0] = '\0';
    assert_null(detector_from_text("", err, sizeof(err)));
    assert_non_null(strstr(err, "malformed JSON"));
    err[0] = '\0';
    assert_null(detector_from_text("{\"pattern\": \"bot\"}", err, sizeof(err)));
    assert_non_null(strstr(err, "not a JSON array"));
}

static void test_load_empty_array(void **state)
{
    (void)state;
    char err[256] = "";

    assert_null(detector_from_text("[]", err, sizeof(err)));
    assert_non_null(strstr(err, "empty"));
    err[0] = '\0';
    assert_null(detector_from_text("[{\"url\": \"x\"}, 3, {\"pattern\": \"\"}]", err, sizeof(err)));
    assert_non_null(strstr(err, "no usable pattern"));
    err[0] = '\0';
    assert_null(detector_from_text("[{\"pattern\": \"a(\"}]", err, sizeof(err)));
    assert_non_null(strstr(err, "no usable pattern"));
}

static void test_load_skips_bad_patterns(void **state)
{
    (void)state;
    char err[256] = "";
    struct bot_detector *d = detector_from_text(
        "[{\"pattern\": \"Alphabot\"}, {\"pattern\": \"broken(\"}, {\"pattern\": \"Betabot\\\\/\"},"
        " {\"url\": \"no pattern\"}, {\"pattern\": \"[unclosed\"}, {\"pattern\": \"^Gamma$\"}]",
        err, sizeof(err));

    if (d == NULL) {
        fail_msg("bot_detector_new: %s", err);
    }
    assert_int_equal(bot_detector_pattern_count(d), 3);
    assert_int_equal(bot_detector_skipped_count(d), 3);
    assert_true(bot_match_ua(d, "x Alphabot y"));
    assert_true(bot_match_ua(d, "Betabot/1.0"));
    assert_false(bot_match_ua(d, "Betabot 1.0"));
    assert_true(bot_match_ua(d, "Gamma"));
    /* JavaScript's $ is the very end, not before a final newline. */
    assert_false(bot_match_ua(d, "Gamma\n"));
    /* Case-sensitive, as the package's own validation matches. */
    assert_false(bot_match_ua(d, "alphabot"));
    assert_false(bot_match_ua(d, "broken"));
    bot_detector_free(d);
}

static void test_prefilter_agrees(void **state)
{
    (void)state;
    char err[256] = "";
    /* Quantifiers, groups, classes, escapes and alternation: the prefilter
     * must never lose a match the patterns make. */
    struct bot_detector *d = detector_from_text(
        "[{\"pattern\": \"ab?cdef\"}, {\"pattern\": \"xx+yz\"}, {\"pattern\": "
        "\"(foo|bar)bazq\"}, {\"pattern\": \"a|bcd\"}, {\"pattern\": \"[Cc]rawlr\"},"
        " {\"pattern\": \"\\\\dbotx\"}, {\"pattern\": \"\\\\x41bcq\"}, {\"pattern\": "
        "\"mn*opq\"}, {\"pattern\": \"uv{2}wxy\"}, {\"pattern\": \"^Jk\\\\/\"}, "
        "{\"pattern\": \"zz\\\\.zz\"}, {\"pattern\": \"rr(st)?uuu\"}]",
        err, sizeof(err));
    static const char *const agents[] = {
        "acdef", "abcdef", "abbcdef", "xyz",     "xxyz",   "xxxxyz", "foobazq", "barbazq",
        "bazq",  "a",      "bcd",     "Crawlr",  "crawlr", "CRAWLR", "1botx",   "botx",
        "Abcq",  "x41bcq", "mopq",    "mnnopq",  "uvvwxy", "uvwxy",  "Jk/",     " Jk/",
        "zz.zz", "zzxzz",  "rruuu",   "rrstuuu", "rrsuuu", "q",      "zz",      "",
    };
    size_t hits = 0;

    if (d == NULL) {
        fail_msg("bot_detector_new: %s", err);
    }
    for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
        bool hit = bot_match_ua(d, agents[i]);
        if (hit != bot_match_ua_exhaustive(d, agents[i])) {
            fail_msg("prefilter disagrees on \"%s\"", agents[i]);
        }
        hits += hit ? 1 : 0;
    }
    assert_int_equal(hits, 21); /* as Python's re finds */
    bot_detector_free(d);
}

/* ---- rate ---- */

static void test_rate_under_limit(void **state)
{
    (void)state;
    struct bot_rate *r = bot_rate_new(10.0, 20.0, 100);
    long long t = 1000000;

    assert_non_null(r);
    /* A person: 5 events per second for a minute. */
    for (int i = 0; i < 300; i++, t += 200) {
        assert_false(bot_rate_exceeded(r, "fp-a", t));
    }
    /* Exactly the sustained rate after the burst is spent stays allowed. */
    for (int i = 0; i < 20; i++) {
        assert_false(bot_rate_exceeded(r, "fp-b", t));
    }
    for (int i = 0; i < 100; i++) {
        t += 100;
        assert_false(bot_rate_exceeded(r, "fp-b", t));
    }
    bot_rate_free(r);
}

static void test_rate_burst_then_flagged(void **state)
{
    (void)state;
    struct bot_rate *r = bot_rate_new(10.0, 20.0, 100);
    long long t = 5000;
    int flagged = 0;

    assert_non_null(r);
    for (int i = 0; i < 20; i++) {
        assert_false(bot_rate_exceeded(r, "fp", t));
    }
    assert_true(bot_rate_exceeded(r, "fp", t));
    /* A sustained flood of 100/s stays flagged throughout, every event. */
    for (int i = 0; i < 1000; i++) {
        t += 10;
        flagged += bot_rate_exceeded(r, "fp", t) ? 1 : 0;
    }
    assert_int_equal(flagged, 1000);
    bot_rate_free(r);
}

static void test_rate_recovers(void **state)
{
    (void)state;
    struct bot_rate *r = bot_rate_new(10.0, 20.0, 100);
    long long t = 0;

    assert_non_null(r);
    for (int i = 0; i < 100; i++) {
        (void)bot_rate_exceeded(r, "fp", t);
    }
    assert_true(bot_rate_exceeded(r, "fp", t));
    /* Debt is capped at one burst: (20 + 1) / 10 s later it is a person again. */
    t += 1000;
    assert_true(bot_rate_exceeded(r, "fp", t));
    t += 2200;
    assert_false(bot_rate_exceeded(r, "fp", t));
    /* A clock going backwards counts as no time passing. */
    for (int i = 0; i < 40; i++) {
        (void)bot_rate_exceeded(r, "fp", t - 5000);
    }
    assert_true(bot_rate_exceeded(r, "fp", t));
    t += 60000;
    for (int i = 0; i < 20; i++) {
        assert_false(bot_rate_exceeded(r, "fp", t));
    }
    bot_rate_free(r);
}

static void test_rate_keys_independent(void **state)
{
    (void)state;
    struct bot_rate *r = bot_rate_new(10.0, 5.0, 100);

    assert_non_null(r);
    for (int i = 0; i < 5; i++) {
        assert_false(bot_rate_exceeded(r, "a", 0));
    }
    assert_true(bot_rate_exceeded(r, "a", 0));
    for (int i = 0; i < 5; i++) {
        assert_false(bot_rate_exceeded(r, "b", 0));
    }
    assert_true(bot_rate_exceeded(r, "b", 0));
    assert_false(bot_rate_exceeded(r, "c", 0));
    assert_false(bot_rate_exceeded(r, NULL, 0));
    assert_false(bot_rate_exceeded(r, "", 0));
    assert_false(bot_rate_exceeded(NULL, "a", 0));
    assert_int_equal(bot_rate_count(r), 3);
    bot_rate_free(r);
}

static void test_rate_eviction(void **state)
{
    (void)state;
    struct bot_rate *r = bot_rate_new(1.0, 2.0, 2);
    char key[32];

    assert_non_null(r);
    for (int i = 0; i < 2; i++) {
        assert_false(bot_rate_exceeded(r, "a", 0));
        assert_false(bot_rate_exceeded(r, "b", 0));
    }
    assert_true(bot_rate_exceeded(r, "a", 0));  /* a is now the most recent */
    assert_false(bot_rate_exceeded(r, "c", 0)); /* evicts b, the least recent */
    assert_int_equal(bot_rate_count(r), 2);
    assert_true(bot_rate_exceeded(r, "a", 0));  /* a remembered: still over */
    assert_false(bot_rate_exceeded(r, "b", 0)); /* b forgotten: fresh (evicts c) */
    assert_true(bot_rate_exceeded(r, "a", 0));
    assert_false(bot_rate_exceeded(r, "c", 0)); /* c forgotten too (evicts b) */
    /* Many keys through a small table stay bounded. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_false(bot_rate_exceeded(r, key, 0));
    }
    assert_int_equal(bot_rate_count(r), 2);
    bot_rate_free(r);
}

static void test_rate_bad_args(void **state)
{
    (void)state;

    assert_null(bot_rate_new(0.0, 20.0, 10));
    assert_null(bot_rate_new(-1.0, 20.0, 10));
    assert_null(bot_rate_new(10.0, 0.5, 10));
    assert_null(bot_rate_new(10.0, 20.0, 0));
    bot_rate_free(NULL);
    bot_detector_free(NULL);
    assert_string_equal(BOT_REASON_UA, "ua");
    assert_string_equal(BOT_REASON_PATTERN, "pattern");
    assert_string_equal(BOT_REASON_RATE, "rate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crawler_examples_flagged),
        cmocka_unit_test(test_browsers_not_flagged),
        cmocka_unit_test(test_match_basics),
        cmocka_unit_test(test_match_speed),
        cmocka_unit_test(test_match_threads),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_bad_json),
        cmocka_unit_test(test_load_empty_array),
        cmocka_unit_test(test_load_skips_bad_patterns),
        cmocka_unit_test(test_prefilter_agrees),
        cmocka_unit_test(test_rate_under_limit),
        cmocka_unit_test(test_rate_burst_then_flagged),
        cmocka_unit_test(test_rate_recovers),
        cmocka_unit_test(test_rate_keys_independent),
        cmocka_unit_test(test_rate_eviction),
        cmocka_unit_test(test_rate_bad_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
