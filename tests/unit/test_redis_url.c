/* Unit tests for the Redis URL parser (common/src/redis_url.c): hosts,
 * ports, databases and credentials, and each malformed form refused with its
 * reason, never with the password in it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/redis_url.h"

#include <string.h>

static void test_accepted(void **state)
{
    struct redis_url u;
    char err[256];

    (void)state;
    assert_int_equal(redis_url_parse("redis://localhost", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_false(u.has_pass);
    assert_int_equal(redis_url_parse("REDIS://10.0.0.2:6380/3", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "10.0.0.2");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);
    assert_int_equal(redis_url_parse("redis://[::1]:7000/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(redis_url_parse("redis://:s%40cret@h", &u, err, sizeof(err)), 0);
    assert_true(u.has_pass);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "s@cret");
    assert_int_equal(redis_url_parse("redis://ann:p%3Aw@d@h:1", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "ann"); /* the last '@' ends the credentials */
    assert_string_equal(u.pass, "p:w@d");
    assert_string_equal(u.host, "h");
}

static void refused(const char *url, const char *why)
{
    struct redis_url u;
    char err[256] = "";

    assert_int_equal(redis_url_parse(url, &u, err, sizeof(err)), -1);
    if (strstr(err, why) == NULL) {
        fail_msg("%s: \"%s\" does not say \"%s\"", url, err, why);
    }
    assert_null(strstr(err, "hunter2"));
}

static void test_refused(void **state)
{
    char host[300];

    (void)state;
    refused(NULL, "must start with redis://");
    refused("rediss://h", "must start with redis://");
    refused("redis://h?x=1", "query and fragment");
    refused("redis://hunter2@h", "credentials need a ':'");
    refused("redis://:hunter2%zz@h", "bad password");
    refused("redis://", "empty host");
    refused("redis://[::1", "unterminated '['");
    refused("redis://h:0", "bad port");
    refused("redis://h:99999", "bad port '99999'");
    refused("redis://h:12x", "bad port");
    refused("redis://:hunter2@h:70000", "bad port");
    refused("redis://h/x", "bad database");
    refused("redis://h/-1", "bad database");
    memset(host, 'a', sizeof(host));
    memcpy(host, "redis://", 8);
    host[sizeof(host) - 1] = '\0';
    refused(host, "too long host");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
