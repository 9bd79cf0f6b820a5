/*
 * Unit tests for the push-gateway's API tokens (services/push-gateway/
 * tokens.c): a list parsed with names, scopes and tokens; every way an
 * entry is refused, the reason naming the entry and never its token; a
 * presented token found among many (first, last, none, a prefix, one byte
 * longer, empty, far too long); scopes (admin allows read, read not
 * admin); Bearer headers in their accepted and refused forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_parse(void **state)
{
    struct tokens t;
    char err[256];
    (void)state;

    assert_int_equal(tokens_parse("dash:read:0123456789abcdef,ops:admin:ABCDEFGHIJKLMNOP-_~!", &t,
                                  err, sizeof(err)),
                     0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.e[0].name, "dash");
    assert_int_equal(t.e[0].scope, TOKEN_READ);
    assert_string_equal(t.e[0].token, "0123456789abcdef");
    assert_int_equal(t.e[1].scope, TOKEN_ADMIN);
    assert_int_equal(t.e[1].token_len, 20);
}

static void test_refused(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "no tokens"},
        {"dash:read", "entry 1 is not name:scope:token"},
        {"dash:read:0123456789abcdef,", "entry 2 is not name:scope:token"},
        {":read:0123456789abcdef", "entry 1: the name"},
        {"da sh:read:0123456789abcdef", "entry 1: the name"},
        {"dash:write:0123456789abcdef", "entry 1 (dash): the scope must be read or admin"},
        {"dash:READ:0123456789abcdef", "the scope must be read or admin"},
        {"dash:read:short", "entry 1 (dash): the token must be 16..256"},
        {"dash:read:0123456789abcdef:x", "the token must be"},
        {"dash:read:0123456789 abcdef", "the token must be"},
        {"dash:read:0123456789abcd\xc3\xa9", "the token must be"},
        {"a:read:0123456789abcdef,a:admin:0123456789abcdeX", "entry 2: the name a is given twice"},
        {"a:read:0123456789abcdef,b:admin:0123456789abcdef", "entry 2 (b): its token is a's too"},
    };
    struct tokens t;
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(tokens_parse(cases[i].text, &t, err, sizeof(err)), -1);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
        assert_null(strstr(err, "0123456789abcd")); /* never the token */
    }
    assert_int_equal(tokens_parse(NULL, &t, err, sizeof(err)), -1);
}

static void test_too_long_and_too_many(void **state)
{
    const size_t cap = (size_t)70 * 300;
    char *text = malloc(cap);
    char tok[300];
    struct tokens t;
    char err[256];
    size_t len = 0;
    (void)state;

    assert_non_null(text);
    memset(tok, 'k', 257);
    tok[257] = '\0';
    snprintf(text, cap, "a:read:%s", tok);
    assert_int_equal(tokens_parse(text, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the token must be"));
    for (int i = 0; i < TOKENS_MAX + 1; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%sn%d:read:token-number-%08d",
                                i > 0 ? "," : "", i, i);
    }
    assert_int_equal(tokens_parse(text, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 64 entries"));
    free(text);
}

static void test_find(void **state)
{
    struct tokens t;
    char err[256], big[1000];
    (void)state;

    assert_int_equal(tokens_parse("a:read:aaaaaaaaaaaaaaaa,b:read:bbbbbbbbbbbbbbbb,"
                                  "c:admin:cccccccccccccccc",
                                  &t, err, sizeof(err)),
                     0);
    assert_string_equal(tokens_find(&t, "aaaaaaaaaaaaaaaa")->name, "a");
    assert_string_equal(tokens_find(&t, "cccccccccccccccc")->name, "c");
    assert_null(tokens_find(&t, "cccccccccccccccd"));
    assert_null(tokens_find(&t, "ccccccccccccccc"));
    assert_null(tokens_find(&t, "ccccccccccccccccc"));
    assert_null(tokens_find(&t, ""));
    assert_null(tokens_find(&t, NULL));
    memset(big, 'c', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(tokens_find(&t, big));
}

static void test_scopes(void **state)
{
    (void)state;
    assert_true(tokens_allows(TOKEN_ADMIN, TOKEN_READ));
    assert_true(tokens_allows(TOKEN_ADMIN, TOKEN_ADMIN));
    assert_true(tokens_allows(TOKEN_READ, TOKEN_READ));
    assert_false(tokens_allows(TOKEN_READ, TOKEN_ADMIN));
    assert_false(tokens_allows(TOKEN_NONE, TOKEN_READ));
    assert_string_equal(tokens_scope_name(TOKEN_ADMIN), "admin");
    assert_string_equal(tokens_scope_name(TOKEN_NONE), "none");
}

static void test_bearer(void **state)
{
    (void)state;
    assert_string_equal(tokens_bearer("Bearer abc"), "abc");
    assert_string_equal(tokens_bearer("bearer   abc"), "abc");
    assert_null(tokens_bearer("Bearer"));
    assert_null(tokens_bearer("Bearer "));
    assert_null(tokens_bearer("Bearerabc"));
    assert_null(tokens_bearer("Basic abc"));
    assert_null(tokens_bearer(""));
    assert_null(tokens_bearer(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_too_long_and_too_many),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_bearer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
