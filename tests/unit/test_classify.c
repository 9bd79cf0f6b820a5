/* Unit tests for referrer, campaign and page classification
 * (services/enricher/classify.c) and deploy/config/pages.json. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "classify.h"

#include "analytics/v1/common.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_pages[1024];  /* deploy/config/pages.json of this source tree */
static char g_tmp[64];      /* scratch directory */
static char g_tmpfile[128]; /* g_tmp/rules.json */

static int group_setup(void **state)
{
    const char *src = getenv("ANALYTICS_SOURCE_DIR");

    (void)state;
    snprintf(g_pages, sizeof(g_pages), "%s/deploy/config/pages.json",
             src != NULL && src[0] != '\0' ? src : ANALYTICS_TEST_SOURCE_DIR);
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/test_classify.XXXXXX");
    if (mkdtemp(g_tmp) == NULL) {
        return -1;
    }
    snprintf(g_tmpfile, sizeof(g_tmpfile), "%s/rules.json", g_tmp);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g_tmpfile);
    rmdir(g_tmp);
    return 0;
}

/* ---- URL parsing and normalisation ---- */

static void test_parse_parts(void **state)
{
    struct classify_url u;
    const char *url = "HTTPS://user:pw@Shop.Example.COM.:8443/a/B?x=1&y#top";

    (void)state;
    assert_int_equal(classify_url_parse(url, &u), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "shop.example.com");
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.path.len, 4);
    assert_memory_equal(u.path.p, "/a/B", 4);
    assert_true(u.has_query);
    assert_int_equal(u.query.len, 5);
    assert_memory_equal(u.query.p, "x=1&y", 5);
    assert_true(u.has_fragment);
    assert_int_equal(u.fragment.len, 3);
    assert_memory_equal(u.fragment.p, "top", 3);

    assert_int_equal(classify_url_parse("http://a.b", &u), 0);
    assert_int_equal(u.port, -1);
    assert_int_equal(u.path.len, 0);
    assert_false(u.has_query);
    assert_false(u.has_fragment);

    assert_int_equal(classify_url_parse("android-app://com.google.android.gm/", &u), 0);
    assert_string_equal(u.scheme, "android-app");
    assert_string_equal(u.host, "com.google.android.gm");

    assert_int_equal(classify_url_parse("http://[2001:DB8::1]:8080/", &u), 0);
    assert_string_equal(u.host, "[2001:db8::1]");
    assert_int_equal(u.port, 8080);

    assert_int_equal(classify_url_parse("http://a.com:/x", &u), 0);
    assert_int_equal(u.port, -1);
}

static void expect_norm(const char *in, const char *want)
{
    struct classify_result r;

    if (classify_event(in, NULL, &r) != 0) {
        fail_msg("classify_event(%s) failed", in);
    }
    if (strcmp(r.url, want) != 0) {
        fail_msg("normalise %s: got \"%s\", want \"%s\"", in, r.url, want);
    }
}

static void test_normalize(void **state)
{
    (void)state;
    /* case of scheme and host, default ports, fragment */
    expect_norm("HTTPS://Example.COM:443/Path/Page?b=2&a=1#frag",
                "https://example.com/Path/Page?b=2&a=1");
    expect_norm("http://example.com:80", "http://example.com/");
    expect_norm("http://example.com:8080/x", "http://example.com:8080/x");
    expect_norm("https://example.com:80/", "https://example.com:80/");
    expect_norm("http://example.com:443/", "http://example.com:443/");
    expect_norm("https://example.com?x=1", "https://example.com/?x=1");
    expect_norm("https://example.com/p?", "https://example.com/p");
    expect_norm("https://example.com/p#", "https://example.com/p");
    expect_norm("https://user:pw@Example.com./x", "https://example.com/x");
    expect_norm("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x");
    /* tracking parameters removed, the rest kept in order, ref kept */
    expect_norm("https://example.com/p?utm_source=x&id=5&gclid=abc&ref=tw&fbclid=1"
                "&UTM_Medium=y&_ga=1&_gl=2&msclkid=3&dclid=4&gbraid=5&wbraid=6&yclid=7"
                "&mc_cid=8&mc_eid=9&utm_id=10&page=2#x",
                "https://example.com/p?id=5&ref=tw&page=2");
    expect_norm("https://example.com/p?utm_source=x&utm_medium=y", "https://example.com/p");
    expect_norm("https://example.com/p?utm%5Fsource=x&k", "https://example.com/p?k");
    expect_norm("https://example.com/?&&a=1&", "https://example.com/?a=1");
    expect_norm("https://example.com/?utmost=1&gclidx=2", "https://example.com/?utmost=1&gclidx=2");
    /* percent-encoding and '+' kept as sent, path case kept */
    expect_norm("https://example.com/A%20b/caf%C3%A9?q=caf%C3%A9&x=a+b",
                "https://example.com/A%20b/caf%C3%A9?q=caf%C3%A9&x=a+b");
}

static void test_normalize_too_long(void **state)
{
    struct classify_url u;
    char url[CLASSIFY_URL_MAX + 64];
    char out[32];
    struct classify_result r;

    (void)state;
    snprintf(url, sizeof(url), "https://example.com/");
    memset(url + 20, 'a', CLASSIFY_URL_MAX);
    url[20 + CLASSIFY_URL_MAX] = '\0';
    assert_int_equal(classify_event(url, NULL, &r), -1);
    assert_string_equal(r.url, "");

    /* Long only because of tracking parameters: fits once they are gone. */
    snprintf(url, sizeof(url), "https://example.com/?utm_content=");
    memset(url + 33, 'b', CLASSIFY_URL_MAX);
    url[33 + CLASSIFY_URL_MAX] = '\0';
    assert_int_equal(classify_event(url, NULL, &r), 0);
    assert_string_equal(r.url, "https://example.com/");
    assert_int_equal(strlen(r.utm_content), CLASSIFY_FIELD_MAX - 1);

    assert_int_equal(classify_url_parse("https://example.com/some/long/path", &u), 0);
    assert_int_equal(classify_url_normalize(&u, out, sizeof(out)), -1);
    assert_string_equal(out, "");
    assert_int_equal(classify_url_normalize(&u, out, 0), -1);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "example.com/x",
        "//example.com/",
        "http:/example.com",
        "http:example.com",
        "http://",
        "http:///x",
        "http://?q",
        "http://exa mple.com/",
        "http://example.com/a b",
        " http://example.com/",
        "http://example.com/\t",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:123456/",
        "http://example.com:12a/",
        "http://ex%41mple.com/",
        "http://[::1/",
        "http://[zz]/",
        "http://[::1]x/",
        "http://example..com/",
        "http://.example.com/",
        "http://./",
        "1http://example.com/",
        "javascript:alert(1)",
        "http://example.com/\x01",
        "\xff\xfe\xfd",
        "ht\xc3\xa9tp://example.com/",
        "averyveryverylongscheme://example.com/",
    };
    struct classify_url u;
    struct classify_result r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (classify_url_parse(bad[i], &u) != -1) {
            fail_msg("parsed malformed URL \"%s\"", bad[i]);
        }
        assert_int_equal(classify_event(bad[i], NULL, &r), -1);
        assert_string_equal(r.url, "");
        assert_int_equal(r.channel, CLASSIFY_CHANNEL_UNKNOWN);
    }
    assert_int_equal(classify_url_parse(NULL, &u), -1);
    assert_int_equal(classify_event(NULL, NULL, &r), -1);
    /* Parses, but a page must be http(s). */
    assert_int_equal(classify_url_parse("ftp://example.com/", &u), 0);
    assert_int_equal(classify_event("ftp://example.com/", NULL, &r), -1);
    assert_int_equal(classify_event("android-app://com.x/", NULL, &r), -1);
}

/* ---- campaign fields ---- */

static void test_utm_extraction(void **state)
{
    struct classify_result r;

    (void)state;
    assert_int_equal(classify_event("https://shop.example/p?utm_source=News%20Letter"
                                    "&utm_medium=email&utm_campaign=spring+sale"
                                    "&utm_term=caf%C3%A9&utm_content=a%26b%3Dc"
                                    "&gclid=G1&fbclid=F1&msclkid=M1&other=1",
                                    "", &r),
                     0);
    assert_string_equal(r.utm_source, "News Letter");
    assert_string_equal(r.utm_medium, "email");
    assert_string_equal(r.utm_campaign, "spring sale");
    assert_string_equal(r.utm_term, "caf\xc3\xa9");
    assert_string_equal(r.utm_content, "a&b=c");
    assert_string_equal(r.gclid, "G1");
    assert_string_equal(r.fbclid, "F1");
    assert_string_equal(r.msclkid, "M1");
    assert_string_equal(r.url, "https://shop.example/p?other=1");
    assert_string_equal(r.host, "shop.example");
    assert_string_equal(r.path, "/p");
    assert_string_equal(r.referrer_host, "");

    /* first occurrence wins; name without case; no '=' is an empty value */
    assert_int_equal(
        classify_event("https://a.com/?UTM_SOURCE=one&utm_source=two&utm_medium", NULL, &r), 0);
    assert_string_equal(r.utm_source, "one");
    assert_string_equal(r.utm_medium, "");
    assert_string_equal(r.path, "/");

    /* Not text once decoded: kept as sent. Bad escapes kept literally. */
    assert_int_equal(classify_event("https://a.com/?utm_source=%FF%FE&utm_medium=a%00b"
                                    "&utm_campaign=50%25+off%zz%4&utm_term=%E2%82&utm_content=%0A",
                                    NULL, &r),
                     0);
    assert_string_equal(r.utm_source, "%FF%FE");
    assert_string_equal(r.utm_medium, "a%00b");
    assert_string_equal(r.utm_campaign, "50% off%zz%4");
    assert_string_equal(r.utm_term, "%E2%82");
    assert_string_equal(r.utm_content, "%0A");
    /* Raw bytes that are not UTF-8 become '?'. */
    assert_int_equal(classify_event("https://a.com/?utm_source=a\xff%FFb", NULL, &r), 0);
    assert_string_equal(r.utm_source, "a?%FFb");
    /* The fragment is not the query. */
    assert_int_equal(classify_event("https://a.com/#utm_source=x", NULL, &r), 0);
    assert_string_equal(r.utm_source, "");
}

static void test_utm_truncation(void **state)
{
    char url[4096];
    size_t n;
    struct classify_result r;

    (void)state;
    /* 200 x "é" (2 bytes each) cut to whole characters under the cap. */
    n = (size_t)snprintf(url, sizeof(url), "https://a.com/?utm_term=");
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(url + n, sizeof(url) - n, "%%C3%%A9");
    }
    assert_int_equal(classify_event(url, NULL, &r), 0);
    assert_int_equal(strlen(r.utm_term), 254);
    assert_memory_equal(r.utm_term + 252, "\xc3\xa9", 2);
}

static void test_query_get(void **state)
{
    struct classify_span q = {"a=1&b=x%2By+z&c", 15};
    char out[8];

    (void)state;
    assert_int_equal(classify_query_get(q, "b", out, sizeof(out)), 1);
    assert_string_equal(out, "x+y z");
    assert_int_equal(classify_query_get(q, "c", out, sizeof(out)), 1);
    assert_string_equal(out, "");
    assert_int_equal(classify_query_get(q, "d", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_true(classify_is_tracking_param("utm_anything", 12));
    assert_true(classify_is_tracking_param("FBCLID", 6));
    assert_false(classify_is_tracking_param("ref", 3));
    assert_false(classify_is_tracking_param("utm", 3));
}

/* ---- channels ---- */

struct channel_case {
    const char *page;
    const char *referrer;
    enum classify_channel want;
};

static void test_channels(void **state)
{
    static const struct channel_case cases[] = {
        /* paid search: click ids and paid media, before everything else */
        {"https://shop.example/?gclid=abc", "https://www.google.com/",
         CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?msclkid=abc", NULL, CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?utm_medium=cpc&utm_source=google", NULL,
         CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?utm_medium=PPC", NULL, CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?utm_medium=paidsearch", NULL, CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?utm_medium=paid", "https://shop.example/",
         CLASSIFY_CHANNEL_PAID_SEARCH},
        {"https://shop.example/?gclid=1&fbclid=2", NULL, CLASSIFY_CHANNEL_PAID_SEARCH},
        /* paid social */
        {"https://shop.example/?fbclid=abc", "https://l.facebook.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/?fbclid=abc&utm_medium=email", NULL, CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/?utm_medium=paid_social", NULL, CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/?utm_medium=paidsocial", NULL, CLASSIFY_CHANNEL_SOCIAL},
        /* email */
        {"https://shop.example/?utm_medium=email", NULL, CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/?utm_medium=e-mail", "https://www.google.com/",
         CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/?utm_medium=Newsletter", NULL, CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/?utm_source=email", NULL, CLASSIFY_CHANNEL_EMAIL},
        /* social by medium */
        {"https://shop.example/?utm_medium=social", NULL, CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/?utm_medium=social-network", NULL, CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/?utm_medium=sm", "https://bing.com/", CLASSIFY_CHANNEL_SOCIAL},
        /* organic by medium */
        {"https://shop.example/?utm_medium=organic", NULL, CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        /* direct, and campaign without referrer */
        {"https://shop.example/", NULL, CLASSIFY_CHANNEL_DIRECT},
        {"https://shop.example/", "", CLASSIFY_CHANNEL_DIRECT},
        {"https://shop.example/?ref=x", "not a url", CLASSIFY_CHANNEL_DIRECT},
        {"https://shop.example/?utm_source=partner", NULL, CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/?utm_campaign=spring", NULL, CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/?utm_medium=banner", NULL, CLASSIFY_CHANNEL_REFERRAL},
        /* internal: same host, www. variant either way */
        {"https://shop.example/b", "https://shop.example/a", CLASSIFY_CHANNEL_INTERNAL},
        {"https://www.shop.example/b", "https://shop.example/a", CLASSIFY_CHANNEL_INTERNAL},
        {"https://shop.example/b", "http://WWW.shop.example:8080/a", CLASSIFY_CHANNEL_INTERNAL},
        {"https://shop.example/b", "https://blog.shop.example/", CLASSIFY_CHANNEL_REFERRAL},
        /* search engines */
        {"https://shop.example/", "https://www.google.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.google.co.uk/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://google.de/search?q=x", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.google.com.au/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.bing.com/search", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://duckduckgo.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://search.yahoo.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://yandex.ru/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.baidu.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.ecosia.org/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://search.brave.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.startpage.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "https://www.qwant.com/", CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        {"https://shop.example/", "android-app://com.google.android.googlequicksearchbox/",
         CLASSIFY_CHANNEL_ORGANIC_SEARCH},
        /* look-alikes are referrals */
        {"https://shop.example/", "https://google.evil.example.net/", CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/", "https://notbing.com/", CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/", "https://xt.co/", CLASSIFY_CHANNEL_REFERRAL},
        /* social */
        {"https://shop.example/", "https://www.facebook.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://m.facebook.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://l.facebook.com/l.php", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://www.instagram.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://t.co/abc", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://twitter.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://x.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://www.linkedin.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://lnkd.in/x", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://old.reddit.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://www.pinterest.co.uk/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://pinterest.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://www.youtube.com/", CLASSIFY_CHANNEL_SOCIAL},
        {"https://shop.example/", "https://www.tiktok.com/", CLASSIFY_CHANNEL_SOCIAL},
        /* webmail, before search */
        {"https://shop.example/", "https://mail.google.com/mail/u/0/", CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/", "https://outlook.live.com/", CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/", "https://mail.yahoo.com/", CLASSIFY_CHANNEL_EMAIL},
        {"https://shop.example/", "android-app://com.google.android.gm/", CLASSIFY_CHANNEL_EMAIL},
        /* anything else */
        {"https://shop.example/", "https://forum.example.org/t/1", CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/?utm_source=partner", "https://partner.example/",
         CLASSIFY_CHANNEL_REFERRAL},
        {"https://shop.example/", "http://[2001:db8::1]/", CLASSIFY_CHANNEL_REFERRAL},
    };
    struct classify_result r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct channel_case *c = &cases[i];
        assert_int_equal(classify_event(c->page, c->referrer, &r), 0);
        if (r.channel != c->want) {
            fail_msg("case %zu: %s from %s: got %s, want %s", i, c->page,
                     c->referrer != NULL ? c->referrer : "(none)", classify_channel_name(r.channel),
                     classify_channel_name(c->want));
        }
    }
    assert_int_equal(classify_event("https://shop.example/", "HTTPS://WWW.Google.COM./x", &r), 0);
    assert_string_equal(r.referrer_host, "www.google.com");
    print_message("classify: %zu channel cases\n", sizeof(cases) / sizeof(cases[0]));
}

static void test_channel_enum(void **state)
{
    (void)state;
    assert_int_equal(CLASSIFY_CHANNEL_UNKNOWN, ANALYTICS__V1__CHANNEL__CHANNEL_UNKNOWN);
    assert_int_equal(CLASSIFY_CHANNEL_DIRECT, ANALYTICS__V1__CHANNEL__CHANNEL_DIRECT);
    assert_int_equal(CLASSIFY_CHANNEL_INTERNAL, ANALYTICS__V1__CHANNEL__CHANNEL_INTERNAL);
    assert_int_equal(CLASSIFY_CHANNEL_ORGANIC_SEARCH,
                     ANALYTICS__V1__CHANNEL__CHANNEL_ORGANIC_SEARCH);
    assert_int_equal(CLASSIFY_CHANNEL_PAID_SEARCH, ANALYTICS__V1__CHANNEL__CHANNEL_PAID_SEARCH);
    assert_int_equal(CLASSIFY_CHANNEL_SOCIAL, ANALYTICS__V1__CHANNEL__CHANNEL_SOCIAL);
    assert_int_equal(CLASSIFY_CHANNEL_EMAIL, ANALYTICS__V1__CHANNEL__CHANNEL_EMAIL);
    assert_int_equal(CLASSIFY_CHANNEL_REFERRAL, ANALYTICS__V1__CHANNEL__CHANNEL_REFERRAL);
    assert_string_equal(classify_channel_name(CLASSIFY_CHANNEL_ORGANIC_SEARCH), "ORGANIC_SEARCH");
    assert_string_equal(classify_channel_name(CLASSIFY_CHANNEL_UNKNOWN), "UNKNOWN");
    assert_string_equal(classify_channel_name((enum classify_channel)99), "UNKNOWN");
}

/* ---- page rules ---- */

struct page_case {
    const char *url;
    const char *want;
};

static void test_pages_default_file(void **state)
{
    static const struct page_case cases[] = {
        {"https://fixit.example/", "home"},
        {"https://fixit.example", "home"},
        {"https://fixit.example/index.html", "home"},
        {"https://fixit.example/?utm_source=x", "home"},
        {"https://fixit.example/services", "service"},
        {"https://fixit.example/services/", "service"},
        {"https://fixit.example/Repairs/iphone-13-screen", "service"},
        {"https://fixit.example/repair/macbook", "service"},
        {"https://fixit.example/laptop-repair", "service"},
        {"https://fixit.example/battery-replacement", "service"},
        {"https://fixit.example/pricing", "pricing"},
        {"https://fixit.example/prices/iphone", "pricing"},
        {"https://fixit.example/get-a-quote?device=pixel", "pricing"},
        {"https://fixit.example/book", "booking"},
        {"https://fixit.example/booking/confirm", "booking"},
        {"https://fixit.example/appointments", "booking"},
        {"https://fixit.example/contact", "contact"},
        {"https://fixit.example/contact-us#map", "contact"},
        {"https://fixit.example/find-us", "contact"},
        {"https://fixit.example/blog", "blog"},
        {"https://fixit.example/blog/how-to-save-a-wet-phone", "blog"},
        {"https://fixit.example/guides/battery", "blog"},
        {"https://fixit.example/about", "other"},
        {"https://fixit.example/servicesx", "other"},
        {"https://fixit.example/my/services", "other"},
        {"https://fixit.example/index.htmlx", "other"},
    };
    char err[256] = "";
    struct page_rules *rules = page_rules_load(g_pages, err, sizeof(err));
    struct classify_result r;

    (void)state;
    if (rules == NULL) {
        fail_msg("load %s: %s", g_pages, err);
    }
    assert_int_equal(page_rules_count(rules), 6);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got;
        assert_int_equal(classify_event(cases[i].url, NULL, &r), 0);
        got = page_rules_match(rules, r.host, r.path);
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("%s: got %s, want %s", cases[i].url, got, cases[i].want);
        }
    }
    assert_string_equal(page_rules_match(rules, NULL, "/blog"), "blog");
    page_rules_free(rules);
    page_rules_free(NULL);
}

static void write_rules(const char *text)
{
    FILE *f = fopen(g_tmpfile, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void test_pages_first_match_and_host(void **state)
{
    char err[256] = "";
    struct page_rules *rules;

    (void)state;
    write_rules("{\"version\":1,\"rules\":["
                "{\"type\":\"docs\",\"path\":\"^/\",\"host\":\"^docs\\\\.\"},"
                "{\"type\":\"special\",\"path\":\"^/services/special$\"},"
                "{\"type\":\"service\",\"path\":\"^/services\"},"
                "{\"type\":\"never\",\"path\":\"^/services/special$\"}],"
                "\"default\":\"misc\"}\n");
    rules = page_rules_load(g_tmpfile, err, sizeof(err));
    if (rules == NULL) {
        fail_msg("load: %s", err);
    }
    assert_string_equal(page_rules_match(rules, "shop.example", "/services/special"), "special");
    assert_string_equal(page_rules_match(rules, "shop.example", "/services/other"), "service");
    assert_string_equal(page_rules_match(rules, "docs.example", "/services/special"), "docs");
    assert_string_equal(page_rules_match(rules, NULL, "/services/special"), "special");
    assert_string_equal(page_rules_match(rules, "shop.example", "/about"), "misc");
    assert_string_equal(page_rules_match(rules, "shop.example", NULL), "misc");
    page_rules_free(rules);

    /* No default: "other". Empty rules are allowed. */
    write_rules("{\"version\":1,\"rules\":[]}");
    rules = page_rules_load(g_tmpfile, err, sizeof(err));
    assert_non_null(rules);
    assert_int_equal(page_rules_count(rules), 0);
    assert_string_equal(page_rules_match(rules, "a", "/"), "other");
    page_rules_free(rules);
}

struct loader_case {
    const char *text;
    const char *want;
};

static void test_pages_loader_errors(void **state)
{
    static const struct loader_case cases[] = {
        {"", "malformed JSON at byte 0"},
        {"{\"version\":1,\"rules\":[}", "malformed JSON at byte 22"},
        {"{\"version\":1,\"rules\":[]} x", "unexpected data after the JSON at byte 25"},
        {"[]", "not a JSON object"},
        {"{\"rules\":[]}", "\"version\" must be 1"},
        {"{\"version\":2,\"rules\":[]}", "\"version\" must be 1"},
        {"{\"version\":\"1\",\"rules\":[]}", "\"version\" must be 1"},
        {"{\"version\":1}", "\"rules\" must be an array"},
        {"{\"version\":1,\"rules\":{}}", "\"rules\" must be an array"},
        {"{\"version\":1,\"rules\":[],\"default\":\"\"}", "\"default\" must be a non-empty"},
        {"{\"version\":1,\"rules\":[],\"default\":3}", "\"default\" must be a non-empty"},
        {"{\"version\":1,\"rules\":[{\"type\":\"a\",\"path\":\"^/\"},7]}",
         "rule 1 is not an object"},
        {"{\"version\":1,\"rules\":[{\"path\":\"^/\"}]}", "rule 0: \"type\" must be a non-empty"},
        {"{\"version\":1,\"rules\":[{\"type\":\"\",\"path\":\"^/\"}]}",
         "rule 0: \"type\" must be a non-empty"},
        {"{\"version\":1,\"rules\":[{\"type\":\"a\",\"path\":\"^/\"},{\"type\":\"b\"}]}",
         "rule 1: \"path\" must be a string"},
        {"{\"version\":1,\"rules\":[{\"type\":\"b\",\"path\":5}]}",
         "rule 0: \"path\" must be a string"},
        {"{\"version\":1,\"rules\":[{\"type\":\"b\",\"path\":\"/\",\"host\":[]}]}",
         "rule 0: \"host\" must be a string"},
        {"{\"version\":1,\"rules\":[{\"type\":\"b\",\"path\":\"/\",\"hots\":\"x\"}]}",
         "rule 0: unknown key \"hots\""},
        {"{\"version\":1,\"rules\":[{\"type\":\"a\",\"path\":\"^/\"},"
         "{\"type\":\"b\",\"path\":\"^/(blog\"}]}",
         "rule 1: bad path regex at offset 7: missing closing parenthesis"},
        {"{\"version\":1,\"rules\":[{\"type\":\"b\",\"path\":\"^/\",\"host\":\"[a-\"}]}",
         "rule 0: bad host regex"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_rules(cases[i].text);
        err[0] = '\0';
        assert_null(page_rules_load(g_tmpfile, err, sizeof(err)));
        if (strstr(err, cases[i].want) == NULL || strstr(err, g_tmpfile) == NULL) {
            fail_msg("case %zu: err \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    assert_null(page_rules_load("/nonexistent/pages.json", err, sizeof(err)));
    assert_non_null(strstr(err, "page rules: /nonexistent/pages.json: No such file"));
    assert_null(page_rules_load(g_tmp, err, sizeof(err))); /* a directory */
    assert_non_null(strstr(err, g_tmp));
    assert_null(page_rules_load("/nonexistent/pages.json", NULL, 0));
}

static void test_pages_too_big(void **state)
{
    FILE *f = fopen(g_tmpfile, "w");
    char err[256] = "";

    (void)state;
    assert_non_null(f);
    assert_int_equal(fputs("{\"version\":1,\"rules\":[]}", f) >= 0, 1);
    for (int i = 0; i < PAGE_RULES_FILE_MAX / 64 + 1; i++) {
        assert_true(fputs("                                                               \n", f) >=
                    0);
    }
    assert_int_equal(fclose(f), 0);
    assert_null(page_rules_load(g_tmpfile, err, sizeof(err)));
    assert_non_null(strstr(err, "larger than"));
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_speed(void **state)
{
    static const char *const pages[] = {
        "https://fixit.example/services/iphone-screen?utm_source=google&utm_medium=cpc&gclid=x1",
        "https://fixit.example/blog/wet-phone",
        "https://www.fixit.example/book?utm_source=newsletter&utm_medium=email&utm_campaign=may",
        "https://fixit.example/"};
    static const char *const refs[] = {"https://www.google.co.uk/", "", "https://mail.google.com/",
                                       "https://l.facebook.com/"};
    const int rounds = 100000;
    char err[256] = "";
    struct page_rules *rules = page_rules_load(g_pages, err, sizeof(err));
    struct classify_result r;
    double t0, t1, t2;
    size_t sum = 0;

    (void)state;
    assert_non_null(rules);
    t0 = now_sec();
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(classify_event(pages[i % 4], refs[i % 4], &r), 0);
        sum += r.channel;
    }
    t1 = now_sec();
    for (int i = 0; i < rounds; i++) {
        sum += strlen(page_rules_match(rules, "fixit.example", i % 2 ? "/blog/x" : "/about"));
    }
    t2 = now_sec();
    assert_true(sum > 0);
    print_message("classify: %.0f ns per classify_event, %.0f ns per page_rules_match\n",
                  (t1 - t0) * 1e9 / rounds, (t2 - t1) * 1e9 / rounds);
    page_rules_free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_parts),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_normalize_too_long),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_utm_extraction),
        cmocka_unit_test(test_utm_truncation),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_channel_enum),
        cmocka_unit_test(test_pages_default_file),
        cmocka_unit_test(test_pages_first_match_and_host),
        cmocka_unit_test(test_pages_loader_errors),
        cmocka_unit_test(test_pages_too_big),
        cmocka_unit_test(test_speed),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
