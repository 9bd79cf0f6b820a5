/* Unit tests for JSON-lines logging (common/src/log.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192 /* LOG_LINE_MAX in log.c, newline included */

/* ---- helpers ---- */

struct capture {
    FILE *tmp;
    int saved;
};

/* Sends stderr (fd 2) to a temporary file until capture_end. */
static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved != -1);
    assert_true(dup2(fileno(c->tmp), STDERR_FILENO) != -1);
}

/* Restores stderr and returns what was written to it (caller frees). */
static char *capture_end(struct capture *c)
{
    long size;
    char *text;

    assert_true(dup2(c->saved, STDERR_FILENO) != -1);
    close(c->saved);
    assert_int_equal(fseek(c->tmp, 0, SEEK_END), 0);
    size = ftell(c->tmp);
    assert_true(size >= 0);
    rewind(c->tmp);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, c->tmp), (size_t)size);
    text[size] = '\0';
    fclose(c->tmp);
    return text;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Parses one JSON line of len bytes (newline excluded). Returns the object,
 * or NULL when it is not exactly one JSON object. */
static cJSON *parse_json(const char *line, size_t len)
{
    char *copy = malloc(len + 1);
    const char *end = NULL;
    cJSON *j;

    assert_non_null(copy);
    memcpy(copy, line, len);
    copy[len] = '\0';
    j = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    free(copy);
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* Asserts text is exactly one JSON object followed by a newline and returns
 * it (caller frees with cJSON_Delete). */
static cJSON *parse_line(const char *text)
{
    size_t len = strlen(text);
    cJSON *j;

    if (len == 0 || text[len - 1] != '\n' || count_lines(text) != 1) {
        fail_msg("not one line: %s", text);
    }
    assert_true(len <= LINE_MAX_BYTES);
    j = parse_json(text, len - 1);
    if (j == NULL) {
        fail_msg("not a JSON object: %s", text);
    }
    return j;
}

/* Asserts s looks like 2024-01-31T23:59:59.123Z. */
static void assert_timestamp(const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    assert_int_equal(strlen(s), strlen(pattern));
    for (size_t i = 0; pattern[i] != '\0'; i++) {
        if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i]) {
            fail_msg("bad timestamp %s", s);
        }
    }
}

/* Asserts the leading keys ts, lvl, svc, event in that order with these
 * values, and returns the first field after them. */
static const cJSON *assert_head(const cJSON *j, const char *lvl, const char *svc, const char *event)
{
    const cJSON *it = j->child;

    assert_non_null(it);
    assert_string_equal(it->string, "ts");
    assert_true(cJSON_IsString(it));
    assert_timestamp(it->valuestring);
    it = it->next;
    assert_non_null(it);
    assert_string_equal(it->string, "lvl");
    assert_string_equal(cJSON_GetStringValue(it), lvl);
    it = it->next;
    assert_non_null(it);
    assert_string_equal(it->string, "svc");
    assert_string_equal(cJSON_GetStringValue(it), svc);
    it = it->next;
    assert_non_null(it);
    assert_string_equal(it->string, "event");
    assert_string_equal(cJSON_GetStringValue(it), event);
    return it->next;
}

/* Escapes s into a fresh buffer of capacity cap; returns the length. */
static size_t escape(char *dst, size_t cap, const char *s)
{
    return log_json_escape(dst, 0, cap, s);
}

static int teardown_log(void **state)
{
    (void)state;
    log_init("test_log", LOG_LEVEL_INFO);
    return 0;
}

/* ---- log_json_escape ---- */

static void test_escape_plain(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(escape(buf, sizeof(buf), "hello world"), 11);
    assert_string_equal(buf, "hello world");
    assert_int_equal(escape(buf, sizeof(buf), ""), 0);
    assert_string_equal(buf, "");
    /* UTF-8 and DEL pass through unchanged */
    assert_int_equal(escape(buf, sizeof(buf), "caf\xc3\xa9\x7f"), 6);
    assert_string_equal(buf, "caf\xc3\xa9\x7f");
}

static void test_escape_specials(void **state)
{
    char buf[64];

    (void)state;
    escape(buf, sizeof(buf), "a\"b");
    assert_string_equal(buf, "a\\\"b");
    escape(buf, sizeof(buf), "a\\b");
    assert_string_equal(buf, "a\\\\b");
    escape(buf, sizeof(buf), "a\nb");
    assert_string_equal(buf, "a\\nb");
    assert_int_equal(escape(buf, sizeof(buf), "\"\\\n"), 6);
    assert_string_equal(buf, "\\\"\\\\\\n");
}

static void test_escape_control(void **state)
{
    char buf[64];

    (void)state;
    escape(buf, sizeof(buf), "\x01");
    assert_string_equal(buf, "\\u0001");
    escape(buf, sizeof(buf), "\x1f");
    assert_string_equal(buf, "\\u001f");
    escape(buf, sizeof(buf), "a\tb\rc");
    assert_string_equal(buf, "a\\u0009b\\u000dc");
    escape(buf, sizeof(buf), "\x10\x1b");
    assert_string_equal(buf, "\\u0010\\u001b");
    /* every control character yields an escape JSON accepts */
    for (int c = 1; c < 0x20; c++) {
        char in[2] = {(char)c, '\0'};
        char quoted[16];
        cJSON *j;

        quoted[0] = '"';
        escape(quoted + 1, sizeof(quoted) - 2, in);
        assert_true(quoted[1] == '\\');
        memcpy(quoted + strlen(quoted), "\"", 2);
        j = cJSON_Parse(quoted);
        assert_non_null(j);
        assert_true(cJSON_IsString(j));
        assert_int_equal(strlen(j->valuestring), 1);
        assert_int_equal((unsigned char)j->valuestring[0], c);
        cJSON_Delete(j);
    }
}

static void test_escape_appends(void **state)
{
    char buf[16] = "ab";

    (void)state;
    assert_int_equal(log_json_escape(buf, 2, sizeof(buf), "\"c"), 5);
    assert_string_equal(buf, "ab\\\"c");
}

/* For every capacity, the result is the longest prefix of the full escape
 * that ends between two escapes and fits with its NUL. */
static void test_escape_truncation(void **state)
{
    static const char input[] = "a\"b\\c\nd\x01"
                                "e\x1f"
                                "f";
    size_t bounds[sizeof(input)];
    char full[128];
    char buf[128];
    size_t nb = 0;

    (void)state;
    /* the escape's boundaries: the lengths of the escapes of each prefix */
    for (size_t i = 0; i <= strlen(input); i++) {
        char prefix[sizeof(input)];

        memcpy(prefix, input, i);
        prefix[i] = '\0';
        bounds[nb++] = escape(full, sizeof(full), prefix);
    }
    assert_int_equal(escape(full, sizeof(full), input), bounds[nb - 1]);
    assert_string_equal(full, "a\\\"b\\\\c\\nd\\u0001e\\u001ff");

    for (size_t cap = 1; cap <= bounds[nb - 1] + 2; cap++) {
        size_t want = 0;
        size_t got;

        for (size_t i = 0; i < nb; i++) {
            if (bounds[i] < cap) {
                want = bounds[i];
            }
        }
        memset(buf, 'Z', sizeof(buf));
        got = escape(buf, cap, input);
        if (got != want) {
            fail_msg("cap %zu: got %zu bytes, want %zu", cap, got, want);
        }
        assert_true(got < cap);
        assert_int_equal(buf[got], '\0');
        assert_memory_equal(buf, full, got);
        /* nothing written past the capacity */
        assert_int_equal(buf[cap], 'Z');
    }
}

/* ---- log_level_parse, log_enabled ---- */

static void test_level_parse(void **state)
{
    static const char *const bad[] = {"", "verbose", "warning", "info ", " info", "err", "inf"};
    enum log_level lvl = LOG_LEVEL_ERROR;

    (void)state;
    assert_int_equal(log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("info", &lvl), 0);
    assert_int_equal(lvl, LOG_LEVEL_INFO);
    assert_int_equal(log_level_parse("warn", &lvl), 0);
    assert_int_equal(lvl, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("error", &lvl), 0);
    assert_int_equal(lvl, LOG_LEVEL_ERROR);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (log_level_parse(bad[i], &lvl) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
}

static void test_level_filtering(void **state)
{
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    log_init("test_log", LOG_LEVEL_WARN);
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_WARN));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    capture_begin(&c);
    log_debug("t.debug");
    log_info("t.info", LOG_INT("n", 1));
    text = capture_end(&c);
    assert_string_equal(text, "");
    free(text);

    capture_begin(&c);
    log_warn("t.warn");
    text = capture_end(&c);
    j = parse_line(text);
    assert_null(assert_head(j, "warn", "test_log", "t.warn"));
    cJSON_Delete(j);
    free(text);

    capture_begin(&c);
    log_error("t.error", LOG_STR("why", "x"));
    text = capture_end(&c);
    j = parse_line(text);
    assert_non_null(assert_head(j, "error", "test_log", "t.error"));
    cJSON_Delete(j);
    free(text);

    log_init("test_log", LOG_LEVEL_DEBUG);
    assert_true(log_enabled(LOG_LEVEL_DEBUG));
    capture_begin(&c);
    log_debug("t.debug");
    log_info("t.info");
    text = capture_end(&c);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text, "\"lvl\":\"debug\""));
    assert_non_null(strstr(text, "\"lvl\":\"info\""));
    free(text);
}

static void test_event_fields(void **state)
{
    struct capture c;
    const cJSON *it;
    char *text;
    cJSON *j;

    (void)state;
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.fields", LOG_STR("s", "say \"hi\"\\\n\x01"), LOG_INT("i", -1234567890123LL),
             LOG_INT("zero", 0), LOG_DBL("d", 2.5), LOG_DBL("small", 0.001), LOG_BOOL("yes", 1),
             LOG_BOOL("no", 0), LOG_STR("n", NULL), LOG_STR("empty", ""));
    text = capture_end(&c);
    j = parse_line(text);

    it = assert_head(j, "info", "test_log", "t.fields");
    assert_non_null(it);
    assert_string_equal(it->string, "s");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "say \"hi\"\\\n\x01");
    it = it->next;
    assert_string_equal(it->string, "i");
    assert_true(cJSON_IsNumber(it));
    assert_true(it->valuedouble == -1234567890123.0);
    it = it->next;
    assert_string_equal(it->string, "zero");
    assert_true(cJSON_IsNumber(it));
    assert_true(it->valuedouble == 0);
    it = it->next;
    assert_string_equal(it->string, "d");
    assert_true(cJSON_IsNumber(it));
    assert_true(it->valuedouble == 2.5);
    it = it->next;
    assert_string_equal(it->string, "small");
    assert_true(cJSON_IsNumber(it));
    assert_true(fabs(it->valuedouble - 0.001) < 1e-12);
    it = it->next;
    assert_string_equal(it->string, "yes");
    assert_true(cJSON_IsTrue(it));
    it = it->next;
    assert_string_equal(it->string, "no");
    assert_true(cJSON_IsFalse(it));
    it = it->next;
    assert_string_equal(it->string, "n");
    assert_true(cJSON_IsNull(it));
    it = it->next;
    assert_string_equal(it->string, "empty");
    assert_string_equal(cJSON_GetStringValue(it), "");
    assert_null(it->next);
    /* integers are written exactly, as integers */
    assert_non_null(strstr(text, "\"i\":-1234567890123,"));
    cJSON_Delete(j);
    free(text);
}

static void test_svc_and_event_escaped(void **state)
{
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    log_init("svc \"q\"", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.ev\nent");
    text = capture_end(&c);
    log_init("test_log", LOG_LEVEL_INFO);
    j = parse_line(text);
    assert_null(assert_head(j, "info", "svc \"q\"", "t.ev\nent"));
    cJSON_Delete(j);
    free(text);
}

/* A field, if present, holds a prefix of what was logged. */
static void assert_prefix_or_absent(const cJSON *j, const char *key, const char *logged)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);

    if (f != NULL) {
        assert_true(cJSON_IsString(f));
        assert_true(strlen(f->valuestring) <= strlen(logged));
        assert_memory_equal(f->valuestring, logged, strlen(f->valuestring));
    }
}

static void test_long_value(void **state)
{
    static char big[20000];
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.long", LOG_INT("before", 1), LOG_STR("big", big), LOG_INT("after", 2));
    text = capture_end(&c);
    j = parse_line(text);
    assert_non_null(assert_head(j, "info", "test_log", "t.long"));
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "before")->valuedouble == 1);
    assert_prefix_or_absent(j, "big", big);
    cJSON_Delete(j);
    free(text);
}

static void test_long_escaped_value(void **state)
{
    static const char unit[] = "\"\\\n\x01x";
    static char big[15000];
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    for (size_t i = 0; i + 1 < sizeof(big); i++) {
        big[i] = unit[i % (sizeof(unit) - 1)];
    }
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.long", LOG_STR("a", big), LOG_STR("b", big));
    text = capture_end(&c);
    j = parse_line(text);
    assert_non_null(assert_head(j, "info", "test_log", "t.long"));
    assert_prefix_or_absent(j, "a", big);
    assert_prefix_or_absent(j, "b", big);
    cJSON_Delete(j);
    free(text);
}

static void test_many_fields_over_limit(void **state)
{
    static char v[3000];
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    memset(v, 'v', sizeof(v) - 1);
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.many", LOG_STR("a", v), LOG_STR("b", v), LOG_STR("c", v), LOG_STR("d", v));
    text = capture_end(&c);
    j = parse_line(text);
    assert_non_null(assert_head(j, "info", "test_log", "t.many"));
    /* the fields that fit are whole */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "a")), v);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "b")), v);
    assert_prefix_or_absent(j, "c", v);
    assert_prefix_or_absent(j, "d", v);
    cJSON_Delete(j);
    free(text);
}

/* ---- known bugs (skipped) ---- */

/* BUG (log.c, log_append_field): when a field's key fits in the last bytes of
 * the line but its number does not, log_append leaves the length unchanged and
 * the "len >= cap - 2" check does not fire, so the line ends in ,"n":} which
 * is not JSON. Expected: the whole field is dropped and the line stays valid.
 * The sweep pads a string so the int field lands on every position near the
 * 8 KiB limit. Remove the skip() once fixed. */
static void test_number_at_line_limit(void **state)
{
    static char pad[8200 + 1];
    struct capture c;
    char *text;
    const char *line;

    (void)state;
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    for (size_t n = 8000; n < 8200; n++) {
        memset(pad, 'p', n);
        pad[n] = '\0';
        log_info("t.edge", LOG_STR("s", pad), LOG_INT("n", 1234567890123LL));
    }
    text = capture_end(&c);
    line = text;
    for (const char *nl = strchr(line, '\n'); nl != NULL; nl = strchr(line, '\n')) {
        cJSON *j = parse_json(line, (size_t)(nl - line));

        if (j == NULL) {
            fail_msg("invalid JSON line ending in: %.40s", nl - 40);
        }
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(text);
}

/* BUG (log.c, log_append_field, LOG_T_DBL): doubles are written with "%.6g",
 * so NaN and infinities come out as nan / inf / -inf, which JSON does not
 * allow. Expected: a valid JSON line (the value written as null).
 * Remove the skip() once fixed. */
static void test_non_finite_double(void **state)
{
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("t.nan", LOG_DBL("nan", NAN), LOG_DBL("inf", INFINITY), LOG_DBL("ninf", -INFINITY));
    text = capture_end(&c);
    j = parse_line(text);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "nan")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "inf")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "ninf")));
    cJSON_Delete(j);
    free(text);
}

/* BUG (log.c, log_event): the header (ts, lvl, svc, event) is built with the
 * full 8192-byte capacity, so an event name (or svc) of 8 KiB or more fills
 * buf up to index 8191; the closing quote no longer fits and then
 * buf[len++] = '}' and buf[len++] = '\n' write buf[8191] and buf[8192], one
 * byte past the stack buffer (ASan: stack-buffer-overflow), and the line is
 * not JSON. Expected: the header limited like the fields, a valid line of at
 * most 8192 bytes. Remove the skip() once fixed. */
static void test_long_event_name(void **state)
{
    static char event[10000];
    struct capture c;
    char *text;
    cJSON *j;

    (void)state;
    memset(event, 'e', sizeof(event) - 1);
    log_init("test_log", LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info(event);
    text = capture_end(&c);
    j = parse_line(text);
    cJSON_Delete(j);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_plain),
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_control),
        cmocka_unit_test(test_escape_appends),
        cmocka_unit_test(test_escape_truncation),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test_teardown(test_level_filtering, teardown_log),
        cmocka_unit_test_teardown(test_event_fields, teardown_log),
        cmocka_unit_test_teardown(test_svc_and_event_escaped, teardown_log),
        cmocka_unit_test_teardown(test_long_value, teardown_log),
        cmocka_unit_test_teardown(test_long_escaped_value, teardown_log),
        cmocka_unit_test_teardown(test_many_fields_over_limit, teardown_log),
        cmocka_unit_test_teardown(test_number_at_line_limit, teardown_log),
        cmocka_unit_test_teardown(test_non_finite_double, teardown_log),
        cmocka_unit_test_teardown(test_long_event_name, teardown_log),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
