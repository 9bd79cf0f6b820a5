/*
 * Unit tests for reading the rule files an operator edits (services/
 * push-gateway/rulefile.c, and how prules.c and audiences.c use it): the
 * worst files. Malformed JSON named by byte, line and column; data after
 * the document; a top level that is not an object; a missing file, a
 * directory; unknown and repeated keys at every level; unknown fields;
 * wrong types; operators a field does not take; 10,000 levels of nesting
 * (refused before parsing) and conditions nested past their own bound; a
 * file over the cap; invalid UTF-8 and "\u0000" in strings; bad and
 * repeated names; an empty and an overlong rule list; lists and strings
 * too long. Every message names the file, and the rule when there is one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audiences.h"
#include "fixture.h"
#include "prules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes len bytes of text to a fresh personalize.json (or audiences.json
 * when aud) and loads it; returns whether it loaded, the reason in err. */
static bool load_bytes(const char *text, size_t len, bool aud, char *err, size_t errlen)
{
    struct fixture_tmp t;
    bool ok;
    FILE *f;

    assert_int_equal(
        fixture_tmp_open(&t, "test_pg_rules_files", aud ? "audiences.json" : "personalize.json"),
        0);
    f = fopen(t.file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    err[0] = '\0';
    if (aud) {
        struct audiences *a = audiences_load(t.file, err, errlen);
        ok = a != NULL;
        audiences_free(a);
    } else {
        struct prules *r = prules_load(t.file, err, errlen);
        ok = r != NULL;
        prules_free(r);
    }
    fixture_tmp_close(&t);
    return ok;
}

/* Fails unless text is refused with want in the reason, and the file. */
static void refused(const char *text, bool aud, const char *want)
{
    char err[1024];

    if (load_bytes(text, strlen(text), aud, err, sizeof(err))) {
        fail_msg("loaded, want \"%s\": %s", want, text);
    }
    if (strstr(err, want) == NULL ||
        strstr(err, aud ? "audiences.json: " : "personalize.json: ") == NULL) {
        fail_msg("got \"%s\", want \"%s\"", err, want);
    }
}

#define HEAD                                                                                       \
    "{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},\"default\":{\"id\":\"d\"},"
#define TERM "{\"field\":\"lead_score\",\"op\":\">\",\"value\":1}"
#define RULE(name, when) "{\"name\":\"" name "\",\"when\":" when ",\"answer\":{\"id\":\"x\"}}"
#define FILE1(rule) HEAD "\"rules\":[" RULE("ok", TERM) "," rule "]}"

static void test_syntax(void **state)
{
    (void)state;
    refused("{\"version\":1,\n  \"bands\": {\"medium\": 40,,}}", false,
            "malformed JSON at byte 40 (line 2, column 27)");
    refused("", false, "malformed JSON at byte 0 (line 1, column 1)");
    refused("{\"version\":1} {}", false,
            "unexpected data after the JSON at byte 14 (line 1, column 15)");
    refused("[]", false, "not a JSON object");
    refused("\"rules\"", true, "not a JSON object");
    refused(HEAD "\"rules\":[{\"name\":\"a\",\"answer\":{\"id\":\"x\\u0000y\"}}]}", false,
            "a \\u0000 in a string at byte 113 (line 1, column 114)");
}

static void test_unreadable(void **state)
{
    char err[512] = "";
    (void)state;

    assert_null(prules_load("/nonexistent/personalize.json", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/personalize.json: No such file"));
    assert_null(audiences_load("/tmp", err, sizeof(err)));
    assert_non_null(strstr(err, "/tmp: not a regular file"));
    assert_null(prules_load("", err, sizeof(err)));
    assert_non_null(strstr(err, "no file name"));
}

static void test_nesting(void **state)
{
    enum { LEVELS = 10000, CAP = 5 * LEVELS + 64 };
    char *deep = malloc(CAP), err[512];
    size_t n = 0;
    (void)state;

    assert_non_null(deep);
    fixture_appendf(deep, CAP, &n, "{\"rules\":");
    for (int i = 0; i < LEVELS; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < LEVELS; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    assert_false(load_bytes(deep, n, false, err, sizeof(err)));
    assert_non_null(strstr(err, "personalize.json: nested deeper than 32 at byte 40"));
    /* objects too, in the audiences file */
    n = 0;
    for (int i = 0; i < LEVELS; i++) {
        fixture_appendf(deep, CAP, &n, "{\"a\":");
    }
    assert_false(load_bytes(deep, n, true, err, sizeof(err)));
    assert_non_null(strstr(err, "audiences.json: nested deeper than 32"));
    free(deep);

    /* within the file's bound, past the conditions' own */
    char cond[1024] = "";
    size_t cn = 0;
    for (int i = 0; i <= PCOND_DEPTH_MAX; i++) {
        fixture_appendf(cond, sizeof(cond), &cn, "{\"not\":");
    }
    fixture_appendf(cond, sizeof(cond), &cn, TERM);
    for (int i = 0; i <= PCOND_DEPTH_MAX; i++) {
        fixture_appendf(cond, sizeof(cond), &cn, "}");
    }
    char text[4096];
    snprintf(text, sizeof(text), HEAD "\"rules\":[" RULE("deep", "%s") "]}", cond);
    refused(text, false,
            "rule 1 \"deep\": when.not.not.not.not.not.not.not.not: all/any/not nested more than "
            "8 deep");
}

static void test_size_cap(void **state)
{
    size_t len = PRULES_FILE_MAX + 1;
    char *big = malloc(len), err[512];
    (void)state;

    assert_non_null(big);
    memset(big, ' ', len);
    big[0] = '{';
    big[1] = '}';
    assert_false(load_bytes(big, len, false, err, sizeof(err)));
    assert_non_null(strstr(err, "personalize.json: larger than 1048576 bytes"));
    assert_false(load_bytes(big, AUDIENCES_FILE_MAX + 1, true, err, sizeof(err)));
    assert_non_null(strstr(err, "audiences.json: larger than"));
    free(big);
}

static void test_keys_and_types(void **state)
{
    (void)state;
    refused(HEAD "\"rules\":[" RULE("a", TERM) "],\"rulez\":[]}", false, ": unknown key \"rulez\"");
    refused("{\"version\":1,\"version\":1}", false, ": key \"version\" given twice");
    refused("{\"version\":\"1\"}", false, "\"version\" must be 1");
    refused("{\"version\":2}", false, "\"version\" must be 1");
    refused("{\"version\":1,\"default\":{\"id\":\"d\"},\"rules\":[]}", false,
            "bands: missing or not an object");
    refused("{\"version\":1,\"bands\":{\"medium\":40,\"high\":30,\"hot\":85}}", false,
            "bands.high: give medium, high and hot lead scores, rising");
    refused("{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":101}}", false,
            "bands.hot:");
    refused("{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85,\"warm\":20}}", false,
            "bands: unknown key \"warm\"");
    refused("{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},\"rules\":[]}", false,
            "default: missing or not an object");
    refused(HEAD "\"rules\":{}}", false, "\"rules\" must be a list of 1..256 rules");
    refused(FILE1("[]"), false, "rule 2: not an object");
    refused(FILE1("{\"when\":" TERM "}"), false, "rule 2: \"name\" missing");
    refused(FILE1("{\"name\":7}"), false, "rule 2: \"name\" missing");
    refused(FILE1("{\"name\":\"has space\"}"), false, "rule 2: \"name\" missing, or not 1..64");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"id\":\"x\"},\"then\":1}"), false,
            "rule 2 \"b\": unknown key \"then\"");
    refused(FILE1("{\"name\":\"b\",\"answer\":{\"id\":\"x\"}}"), false,
            "rule 2 \"b\": when: missing");
    refused(FILE1("{\"name\":\"b\",\"when\":[]}"), false, "rule 2 \"b\": when: not an object");
    refused(FILE1(RULE("b", "{}")), false,
            "rule 2 \"b\": when: give exactly one of \"field\", \"all\", \"any\" or \"not\"");
    refused(FILE1(RULE("b", "{\"all\":[" TERM "],\"field\":\"lead_score\"}")), false,
            "rule 2 \"b\": when: give exactly one of");
    refused(FILE1(RULE("b", "{\"all\":[" TERM "],\"comment\":\"x\"}")), false,
            "rule 2 \"b\": when: \"all\" takes no other key");
    refused(FILE1(RULE("b", "{\"any\":[]}")), false,
            "rule 2 \"b\": when.any: not a list of 1..32 conditions");
    refused(FILE1(RULE("b", "{\"all\":" TERM "}")), false, "when.all: not a list");
    refused(FILE1(RULE("b", "{\"all\":[" TERM ",7]}")), false, "when.all[1]: not an object");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\">\",\"value\":1,\"x\":2}")), false,
            "rule 2 \"b\": when: unknown key \"x\"");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\">\",\"value\":1,\"op\":\"<\"}")),
            false, "rule 2 \"b\": when: key \"op\" given twice");
    refused(FILE1(RULE("b", "{\"field\":\"leadscore\",\"op\":\">\",\"value\":1}")), false,
            "rule 2 \"b\": when.field: unknown field \"leadscore\" (known: lead_score, "
            "conversion_probability,");
    refused(FILE1(RULE("b", "{\"field\":7,\"op\":\">\",\"value\":1}")), false,
            "when.field: not a string");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\"==\",\"value\":1}")), false,
            "rule 2 \"b\": when.op: \"==\" does not apply to the number field lead_score (use =, "
            "!=, <, <=, >, >=)");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"value\":1}")), false,
            "when.op: missing or not a string");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"<\",\"value\":\"a\"}")), false,
            "when.op: \"<\" does not apply to the text field persona (use =, != or in)");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\"in\",\"value\":[1]}")), false,
            "\"in\" does not apply to the number field");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\">\",\"value\":\"50\"}")), false,
            "rule 2 \"b\": when.value: lead_score takes a number");
    refused(FILE1(RULE("b", "{\"field\":\"lead_score\",\"op\":\">\"}")), false,
            "when.value: lead_score takes a number");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":3}")), false,
            "when.value: not a string of 1..128 bytes");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":\"\"}")), false,
            "when.value: not a string of 1..128 bytes");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"in\",\"value\":[]}")), false,
            "when.value: in takes a list of 1..32 strings");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"in\",\"value\":\"a\"}")), false,
            "when.value: in takes a list");
    refused(
        FILE1(RULE("b", "{\"any\":[{\"field\":\"persona\",\"op\":\"in\",\"value\":[\"a\",2]}]}")),
        false, "rule 2 \"b\": when.any[0].value[1]: not a string");
    refused(FILE1(RULE("b", "{\"field\":\"returning\",\"op\":\"=\",\"value\":\"yes\"}")), false,
            "returning takes true or false");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM "}"), false,
            "rule 2 \"b\": answer: missing or not an object");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"message\":\"m\"}}"), false,
            "rule 2 \"b\": answer.id: missing");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"id\":\"x\",\"message\":1}}"),
            false, "rule 2 \"b\": answer.message: not a string");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"id\":\"x\",\"html\":\"<b>\"}}"),
            false, "rule 2 \"b\": answer: unknown key \"html\"");
}

enum { TEXT_CAP = 1 << 20 };

static void test_limits(void **state)
{
    char *text = malloc(TEXT_CAP);
    size_t n;
    (void)state;

    assert_non_null(text);
    /* an empty rule list */
    refused(HEAD "\"rules\":[]}", false, "\"rules\" must be a list of 1..256 rules (it is empty)");
    refused("{\"version\":1,\"audiences\":[]}", true,
            "\"audiences\" must be a list of 1..128 audiences (it is empty)");

    /* too many rules */
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n, HEAD "\"rules\":[");
    for (int i = 0; i <= PRULES_RULES_MAX; i++) {
        fixture_appendf(text, TEXT_CAP, &n,
                        "%s{\"name\":\"r%d\",\"when\":" TERM ",\"answer\":{\"id\":\"x\"}}",
                        i ? "," : "", i);
    }
    fixture_appendf(text, TEXT_CAP, &n, "]}");
    refused(text, false, "\"rules\" must be a list of 1..256 rules (it has more)");

    /* too many terms in one all, and in one condition */
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n, HEAD "\"rules\":[{\"name\":\"wide\",\"when\":{\"all\":[");
    for (int i = 0; i <= PCOND_TERMS_MAX; i++) {
        fixture_appendf(text, TEXT_CAP, &n, "%s" TERM, i ? "," : "");
    }
    fixture_appendf(text, TEXT_CAP, &n, "]},\"answer\":{\"id\":\"x\"}}]}");
    refused(text, false, "rule 1 \"wide\": when.all: not a list of 1..32 conditions");
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n, HEAD "\"rules\":[{\"name\":\"many\",\"when\":{\"any\":[");
    for (int i = 0; i < 3; i++) {
        fixture_appendf(text, TEXT_CAP, &n, "%s{\"all\":[", i ? "," : "");
        for (int k = 0; k < 30; k++) {
            fixture_appendf(text, TEXT_CAP, &n, "%s" TERM, k ? "," : "");
        }
        fixture_appendf(text, TEXT_CAP, &n, "]}");
    }
    fixture_appendf(text, TEXT_CAP, &n, "]},\"answer\":{\"id\":\"x\"}}]}");
    refused(text, false, "rule 1 \"many\": when.any[2].all[");
    refused(text, false, "more than 64 terms and combinators in one condition");

    /* too many strings in one condition: 5 lists of 32 */
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n, HEAD "\"rules\":[{\"name\":\"lists\",\"when\":{\"any\":[");
    for (int i = 0; i < 5; i++) {
        fixture_appendf(text, TEXT_CAP, &n, "%s{\"field\":\"persona\",\"op\":\"in\",\"value\":[",
                        i ? "," : "");
        for (int k = 0; k < PCOND_IN_MAX; k++) {
            fixture_appendf(text, TEXT_CAP, &n, "%s\"p%d\"", k ? "," : "", k);
        }
        fixture_appendf(text, TEXT_CAP, &n, "]}");
    }
    fixture_appendf(text, TEXT_CAP, &n, "]},\"answer\":{\"id\":\"x\"}}]}");
    refused(text, false,
            "rule 1 \"lists\": when.any[4].value[0]: more than 128 strings in one condition");

    /* a string value, an id, a message, a content too long */
    char longs[200];
    memset(longs, 'a', 129);
    longs[129] = '\0';
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n,
                    FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":\"%s\"}")),
                    longs);
    refused(text, false, "rule 2 \"b\": when.value: not a string of 1..128 bytes");
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n,
                    FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"id\":\"%s\"}}"), longs);
    refused(text, false, "rule 2 \"b\": answer.id: missing, or not 1..64");
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n, FILE1("{\"name\":\"%s\"}"), longs);
    refused(text, false, "rule 2: \"name\" missing, or not 1..64");
    char *msg = malloc(PRULES_MESSAGE_MAX + 2);
    assert_non_null(msg);
    memset(msg, 'm', PRULES_MESSAGE_MAX + 1);
    msg[PRULES_MESSAGE_MAX + 1] = '\0';
    n = 0;
    fixture_appendf(
        text, TEXT_CAP, &n,
        FILE1("{\"name\":\"b\",\"when\":" TERM ",\"answer\":{\"id\":\"x\",\"message\":\"%s\"}}"),
        msg);
    free(msg);
    refused(text, false, "rule 2 \"b\": answer.message: not a string of at most 1024 bytes");
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n,
                    HEAD "\"rules\":[" RULE("a", TERM) "],\"default\":{\"id\":\"y\","
                                                       "\"content\":[");
    for (int i = 0; i < 5000; i++) {
        fixture_appendf(text, TEXT_CAP, &n, "%s1234", i ? "," : "");
    }
    fixture_appendf(text, TEXT_CAP, &n, "]}}");
    refused(text, false, "key \"default\" given twice");
    n = 0;
    fixture_appendf(text, TEXT_CAP, &n,
                    "{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},"
                    "\"rules\":[" RULE("a", TERM) "],\"default\":{\"id\":\"y\","
                                                  "\"content\":[");
    for (int i = 0; i < 5000; i++) {
        fixture_appendf(text, TEXT_CAP, &n, "%s1234", i ? "," : "");
    }
    fixture_appendf(text, TEXT_CAP, &n, "]}}");
    refused(text, false, "personalize.json: default.content: more than 16384 bytes");
    free(text);
}

static void test_names_and_utf8(void **state)
{
    (void)state;
    refused(HEAD
            "\"rules\":[" RULE("same", TERM) "," RULE("other", TERM) "," RULE("same", TERM) "]}",
            false, "rule 3 \"same\": the name is rule 1's too");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM
                  ",\"answer\":{\"id\":\"x\",\"message\":\"caf\xc3\"}}"),
            false, "rule 2 \"b\": a string is not valid UTF-8");
    refused(FILE1("{\"name\":\"b\",\"when\":" TERM
                  ",\"answer\":{\"id\":\"x\",\"content\":{\"\xff\":1}}}"),
            false, "rule 2 \"b\": a string is not valid UTF-8");
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":\"\xed\xa0\x80\"}")),
            false, "rule 2 \"b\": a string is not valid UTF-8"); /* a surrogate */
    refused(FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":\"\xc0\xaf\"}")), false,
            "rule 2 \"b\": a string is not valid UTF-8"); /* an overlong '/' */
    refused("{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},"
            "\"default\":{\"id\":\"d\",\"message\":\"\xfe\"},\"rules\":[]}",
            false, "personalize.json: default: a string is not valid UTF-8");
    /* well-formed UTF-8 is fine, escaped or not */
    char err[512];
    const char *ok = FILE1(RULE("b", "{\"field\":\"persona\",\"op\":\"=\",\"value\":\"caf\xc3\xa9 "
                                     "\\u00e9 \\ud83d\\ude00\"}"));
    if (!load_bytes(ok, strlen(ok), false, err, sizeof(err))) {
        fail_msg("%s", err);
    }

    /* the audiences file names the audience the same way */
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a\",\"when\":" TERM "},"
            "{\"name\":\"a\",\"when\":" TERM "}]}",
            true, "audience 2 \"a\": the name is audience 1's too");
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a\",\"description\":\"\xff\",\"when\":" TERM
            "}]}",
            true, "audience 1 \"a\": a string is not valid UTF-8");
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a/b\",\"when\":" TERM "}]}", true,
            "audience 1: \"name\" missing, or not 1..64");
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a\",\"when\":" TERM ",\"sql\":\"1=1\"}]}",
            true, "audience 1 \"a\": unknown key \"sql\"");
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a\",\"description\":5,\"when\":" TERM "}]}",
            true, "audience 1 \"a\": \"description\" is not a string");
    refused("{\"version\":1,\"audiences\":[{\"name\":\"a\"}]}", true,
            "audience 1 \"a\": when: missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),         cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_nesting),        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_keys_and_types), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_names_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
