/* Unit tests for sessionisation (services/enricher/session.c): the decision
 * rules, local days across DST, TZif loading, and the state's encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define IDLE SESSION_IDLE_MS_DEFAULT
#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"
#define ID_C "33333333-3333-4333-8333-333333333333"

static char g_tmp[64]; /* scratch zoneinfo directory */

/* UTC ms of a calendar time given in UTC. */
static long long utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (long long)timegm(&tm) * 1000;
}

/* Day number of a calendar date. */
static long long day_of(int y, int mo, int d)
{
    return utc_ms(y, mo, d, 0, 0) / 1000 / 86400;
}

static void config(struct session_config *cfg, const char *tz)
{
    char err[256] = "";

    if (session_config_init(cfg, IDLE, tz, NULL, err, sizeof(err)) != 0) {
        fail_msg("config %s: %s", tz != NULL ? tz : "(null)", err);
    }
}

/* One assignment that must succeed; returns the decision, updates st. */
static struct session_decision step(const struct session_config *cfg, struct session_state *st,
                                    int have_prev, long long ms, const char *campaign,
                                    const char *client, const char *candidate)
{
    struct session_decision d;

    assert_int_equal(
        session_assign(cfg, have_prev ? st : NULL, ms, campaign, client, candidate, st, &d), 0);
    return d;
}

static void expect(const struct session_decision *d, const char *id, long long seq, int is_new,
                   const char *reason, int late)
{
    assert_string_equal(d->session_id, id);
    assert_int_equal(d->sequence, seq);
    assert_int_equal(d->new_session, is_new);
    assert_string_equal(d->start_reason, reason);
    assert_int_equal(d->late, late);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/test_session.XXXXXX");
    return mkdtemp(g_tmp) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    const char *names[] = {"Slim/London",   "Slim/Sydney", "Bad/garbage",
                           "Bad/truncated", "Bad/footer",  "Bad/v1only"};
    char path[128];

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", g_tmp, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/Slim", g_tmp);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/Bad", g_tmp);
    rmdir(path);
    rmdir(g_tmp);
    return 0;
}

/* ---- decision rules (UTC) ---- */

static void test_first_event(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    config(&cfg, "UTC");
    d = step(&cfg, &st, 0, t, "google|cpc|spring", NULL, ID_A);
    expect(&d, ID_A, 1, 1, "first", 0);
    assert_false(d.client_assigned);
    assert_string_equal(st.session_id, ID_A);
    assert_int_equal(st.started_ms, t);
    assert_int_equal(st.last_event_ms, t);
    assert_int_equal(st.sequence, 1);
    assert_int_equal(st.start_day, day_of(2026, 5, 4));
    assert_string_equal(st.campaign, "google|cpc|spring");
    session_config_fini(&cfg);
}

static void test_continue_and_idle_boundary(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    config(&cfg, NULL);
    step(&cfg, &st, 0, t, "", NULL, ID_A);
    d = step(&cfg, &st, 1, t + 5 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    assert_int_equal(st.last_event_ms, t + 5 * MIN_MS);
    /* A gap of exactly idle_ms continues the session (the rule is "> idle"). */
    d = step(&cfg, &st, 1, t + 5 * MIN_MS + IDLE, "", NULL, ID_B);
    expect(&d, ID_A, 3, 0, "", 0);
    assert_int_equal(st.started_ms, t);
    /* One millisecond more ends it. */
    d = step(&cfg, &st, 1, t + 5 * MIN_MS + 2 * IDLE + 1, "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "idle", 0);
    assert_int_equal(st.started_ms, t + 5 * MIN_MS + 2 * IDLE + 1);
    session_config_fini(&cfg);
}

static void test_idle_expiry(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    char err[128];
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    /* A configured timeout of 10 minutes. */
    assert_int_equal(session_config_init(&cfg, 10 * MIN_MS, "", NULL, err, sizeof(err)), 0);
    step(&cfg, &st, 0, t, "", NULL, ID_A);
    d = step(&cfg, &st, 1, t + 10 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    d = step(&cfg, &st, 1, t + 21 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "idle", 0);
    d = step(&cfg, &st, 1, t + 3 * HOUR_MS, "", NULL, ID_C);
    expect(&d, ID_C, 1, 1, "idle", 0);
    session_config_fini(&cfg);
}

static void test_campaign_change(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    config(&cfg, "UTC");
    step(&cfg, &st, 0, t, "google|cpc|spring", NULL, ID_A);
    d = step(&cfg, &st, 1, t + MIN_MS, "google|cpc|spring", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    d = step(&cfg, &st, 1, t + 2 * MIN_MS, "newsletter|email|may", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "campaign", 0);
    assert_string_equal(st.campaign, "newsletter|email|may");
    session_config_fini(&cfg);
}

static void test_no_campaign_keeps_session(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    config(&cfg, "UTC");
    step(&cfg, &st, 0, t, "google|cpc|spring", NULL, ID_A);
    d = step(&cfg, &st, 1, t + MIN_MS, "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    d = step(&cfg, &st, 1, t + 2 * MIN_MS, NULL, NULL, ID_B);
    expect(&d, ID_A, 3, 0, "", 0);
    assert_string_equal(st.campaign, "google|cpc|spring");
    /* A session that started without a campaign is broken by one. */
    step(&cfg, &st, 0, t, "", NULL, ID_A);
    d = step(&cfg, &st, 1, t + MIN_MS, "bing|cpc|x", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "campaign", 0);
    session_config_fini(&cfg);
}

static void test_midnight_utc(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;

    (void)state;
    config(&cfg, "UTC");
    step(&cfg, &st, 0, utc_ms(2026, 5, 4, 23, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 5, 4, 23, 59), "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    d = step(&cfg, &st, 1, utc_ms(2026, 5, 5, 0, 0), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    assert_int_equal(st.start_day, day_of(2026, 5, 5));
    /* Idle wins over midnight when both hold (checks run in order). */
    d = step(&cfg, &st, 1, utc_ms(2026, 5, 6, 0, 10), "", NULL, ID_C);
    expect(&d, ID_C, 1, 1, "idle", 0);
    session_config_fini(&cfg);
}

/* ---- time zones ---- */

static void test_london_offsets(void **state)
{
    struct session_config cfg;

    (void)state;
    config(&cfg, "Europe/London");
    /* 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 29, 1, 0) - 1), 0);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 29, 1, 0)), 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 10, 25, 1, 0) - 1), 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 10, 25, 1, 0)), 0);
    /* 23:30 UTC is still 28 March locally (GMT), 23:30 UTC on 29 March is
     * 00:30 on 30 March (BST). */
    assert_int_equal(session_local_day(&cfg, utc_ms(2026, 3, 28, 23, 30)), day_of(2026, 3, 28));
    assert_int_equal(session_local_day(&cfg, utc_ms(2026, 3, 29, 23, 30)), day_of(2026, 3, 30));
    assert_int_equal(session_local_day(&cfg, utc_ms(2026, 10, 24, 23, 30)), day_of(2026, 10, 25));
    assert_int_equal(session_local_day(&cfg, utc_ms(2026, 10, 25, 23, 30)), day_of(2026, 10, 25));
    /* Before 1970 and beyond the file's transitions (footer rule). */
    assert_int_equal(session_utc_offset(&cfg, utc_ms(1960, 1, 1, 12, 0)), 0);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2060, 7, 1, 12, 0)), 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2060, 12, 1, 12, 0)), 0);
    session_config_fini(&cfg);
}

static void test_midnight_london_dst(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;

    (void)state;
    config(&cfg, "Europe/London");
    /* Last day of BST: 22:50 UTC 24 Oct = 23:50 BST; 23:10 UTC = 00:10 on
     * the 25th, a new local day although UTC has not reached midnight. */
    step(&cfg, &st, 0, utc_ms(2026, 10, 24, 22, 50), "", NULL, ID_A);
    assert_int_equal(st.start_day, day_of(2026, 10, 24));
    d = step(&cfg, &st, 1, utc_ms(2026, 10, 24, 23, 10), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    assert_int_equal(st.start_day, day_of(2026, 10, 25));
    /* The 25th is 25 hours long: 23:40 UTC is 23:40 GMT, still the 25th;
     * 00:05 UTC on the 26th is the next day. */
    step(&cfg, &st, 0, utc_ms(2026, 10, 25, 23, 20), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 10, 25, 23, 40), "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    d = step(&cfg, &st, 1, utc_ms(2026, 10, 26, 0, 5), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    /* March: 23:50 UTC on the 28th is 23:50 GMT; 00:10 UTC on the 29th is
     * the 29th. After the change, 22:50 -> 23:10 UTC on the 29th crosses
     * local midnight (BST). */
    step(&cfg, &st, 0, utc_ms(2026, 3, 28, 23, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 3, 29, 0, 10), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    step(&cfg, &st, 0, utc_ms(2026, 3, 29, 22, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 3, 29, 23, 10), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    assert_int_equal(st.start_day, day_of(2026, 3, 30));
    session_config_fini(&cfg);
}

static void test_midnight_new_york(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;

    (void)state;
    config(&cfg, "America/New_York");
    /* 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC. */
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 8, 7, 0) - 1), -5 * 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 8, 7, 0)), -4 * 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 11, 1, 6, 0) - 1), -4 * 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 11, 1, 6, 0)), -5 * 3600);
    /* UTC midnight is 19:00 EST: the session continues. */
    step(&cfg, &st, 0, utc_ms(2026, 1, 14, 23, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 1, 15, 0, 10), "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    assert_int_equal(st.start_day, day_of(2026, 1, 14));
    /* Local midnight in EST is 05:00 UTC, in EDT 04:00 UTC. */
    step(&cfg, &st, 0, utc_ms(2026, 1, 15, 4, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 1, 15, 5, 10), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    step(&cfg, &st, 0, utc_ms(2026, 7, 1, 3, 50), "", NULL, ID_A);
    d = step(&cfg, &st, 1, utc_ms(2026, 7, 1, 4, 10), "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "midnight", 0);
    assert_int_equal(st.start_day, day_of(2026, 7, 1));
    session_config_fini(&cfg);
}

/* Checks our offsets against the C library's for many instants. The only
 * place TZ is set: a test process, single-threaded. */
static void test_offsets_match_libc(void **state)
{
    const char *zones[] = {"Europe/London",    "America/New_York", "Australia/Sydney",
                           "Asia/Kolkata",     "Asia/Kathmandu",   "Australia/Lord_Howe",
                           "America/Santiago", "Pacific/Chatham",  "Africa/Casablanca"};
    long checked = 0;

    (void)state;
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        struct session_config cfg;

        config(&cfg, zones[z]);
        assert_int_equal(setenv("TZ", zones[z], 1), 0);
        tzset();
        for (long long t = utc_ms(1975, 1, 1, 0, 0) / 1000; t < utc_ms(2075, 1, 1, 0, 0) / 1000;
             t += 3 * 3600 + 17 * 60 + 11) {
            time_t tt = (time_t)t;
            struct tm tm;

            assert_non_null(localtime_r(&tt, &tm));
            if (tm.tm_gmtoff != session_utc_offset(&cfg, t * 1000)) {
                fail_msg("%s at %lld: libc %ld, ours %ld", zones[z], t, tm.tm_gmtoff,
                         session_utc_offset(&cfg, t * 1000));
            }
            checked++;
        }
        session_config_fini(&cfg);
    }
    unsetenv("TZ");
    tzset();
    print_message("session: %ld offsets match libc\n", checked);
}

/* Writes a TZif version 2 file with no transitions, one type of offset off,
 * and footer rule (what a "slim" zic writes for a rule-only zone). */
static void write_slim_tzif(const char *name, long off, const char *rule)
{
    unsigned char hdr[44] = {'T', 'Z', 'i', 'f', '2'};
    unsigned char type[6] = {(unsigned char)((unsigned long)off >> 24),
                             (unsigned char)((unsigned long)off >> 16),
                             (unsigned char)((unsigned long)off >> 8),
                             (unsigned char)off,
                             0,
                             0};
    char path[128];
    FILE *f;

    hdr[39] = 1; /* typecnt */
    hdr[43] = 4; /* charcnt */
    snprintf(path, sizeof(path), "%s/%s", g_tmp, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (int v = 0; v < 2; v++) {
        fwrite(hdr, 1, sizeof(hdr), f);
        fwrite(type, 1, sizeof(type), f);
        fwrite("STD", 1, 4, f);
    }
    fprintf(f, "\n%s\n", rule);
    assert_int_equal(fclose(f), 0);
}

static void write_bytes(const char *name, const void *data, size_t len)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_tmp, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_footer_rule_only(void **state)
{
    struct session_config cfg, real;
    char dir[128], err[256] = "";

    (void)state;
    snprintf(dir, sizeof(dir), "%s/Slim", g_tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_slim_tzif("Slim/London", 0, "GMT0BST,M3.5.0/1,M10.5.0");
    write_slim_tzif("Slim/Sydney", 36000, "AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_int_equal(session_config_init(&cfg, IDLE, "Slim/London", g_tmp, err, sizeof(err)), 0);
    config(&real, "Europe/London");
    for (long long t = utc_ms(2000, 1, 1, 0, 0); t < utc_ms(2030, 1, 1, 0, 0); t += 3 * HOUR_MS) {
        assert_int_equal(session_utc_offset(&cfg, t), session_utc_offset(&real, t));
    }
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 29, 1, 0) - 1), 0);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 3, 29, 1, 0)), 3600);
    session_config_fini(&cfg);
    session_config_fini(&real);
    /* Southern hemisphere: DST spans the new year. */
    assert_int_equal(session_config_init(&cfg, IDLE, "Slim/Sydney", g_tmp, err, sizeof(err)), 0);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 1, 1, 0, 0)), 11 * 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 7, 1, 0, 0)), 10 * 3600);
    /* 2026: AEDT ends 5 April 03:00 local = 4 April 16:00 UTC. */
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 4, 4, 16, 0) - 1), 11 * 3600);
    assert_int_equal(session_utc_offset(&cfg, utc_ms(2026, 4, 4, 16, 0)), 10 * 3600);
    session_config_fini(&cfg);
}

static void expect_config_error(const char *name, const char *dir, const char *want)
{
    struct session_config cfg = {0};
    char err[256] = "";

    if (session_config_init(&cfg, IDLE, name, dir, err, sizeof(err)) != -1) {
        fail_msg("zone %s accepted", name);
    }
    if (strstr(err, want) == NULL) {
        fail_msg("zone %s: error \"%s\" lacks \"%s\"", name, err, want);
    }
    assert_null(cfg.tz);
}

static void test_bad_timezone(void **state)
{
    struct session_config cfg = {0};
    unsigned char buf[200] = {'T', 'Z', 'i', 'f', '2'};
    char dir[128], err[128] = "";

    (void)state;
    expect_config_error("Europe/Atlantis", NULL, "cannot read");
    expect_config_error("Not A Zone", NULL, "not a zone name");
    expect_config_error("/etc/passwd", NULL, "not a zone name");
    expect_config_error("../../etc/passwd", NULL, "not a zone name");
    expect_config_error("Europe", NULL, "cannot read"); /* a directory */
    snprintf(dir, sizeof(dir), "%s/Bad", g_tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_bytes("Bad/garbage", "hello, world\n", 13);
    expect_config_error("Bad/garbage", g_tmp, "not a TZif file");
    /* A v2 header claiming 5 transitions with no data behind it. */
    buf[35] = 5;
    buf[39] = 1;
    buf[43] = 4;
    write_bytes("Bad/truncated", buf, 44);
    expect_config_error("Bad/truncated", g_tmp, "truncated");
    write_slim_tzif("Bad/footer", 0, "nonsense");
    expect_config_error("Bad/footer", g_tmp, "unsupported TZ rule");
    /* A version 1 file is fine: one fixed offset of +05:30. */
    buf[4] = '\0';
    buf[35] = 0;
    buf[44] = 0;
    buf[45] = 0;
    buf[46] = 0x4d;
    buf[47] = 0x58;
    write_bytes("Bad/v1only", buf, 44 + 6 + 4);
    assert_int_equal(session_config_init(&cfg, IDLE, "Bad/v1only", g_tmp, err, sizeof(err)), 0);
    assert_int_equal(session_utc_offset(&cfg, 0), 19800);
    session_config_fini(&cfg);
    /* UTC needs no file; a bad idle timeout is an error too. */
    assert_int_equal(session_config_init(&cfg, IDLE, "UTC", "/nonexistent", err, sizeof(err)), 0);
    assert_null(cfg.tz);
    assert_int_equal(session_utc_offset(&cfg, 123456789), 0);
    session_config_fini(&cfg);
    assert_int_equal(session_config_init(&cfg, 0, "UTC", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "idle"));
}

/* ---- out of order ---- */

static void test_out_of_order_within_session(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 0);

    (void)state;
    config(&cfg, "UTC");
    step(&cfg, &st, 0, t, "", NULL, ID_A);
    step(&cfg, &st, 1, t + 10 * MIN_MS, "", NULL, ID_B);
    /* Earlier than the last event but inside the session: continues. */
    d = step(&cfg, &st, 1, t + 4 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_A, 3, 0, "", 0);
    assert_int_equal(st.last_event_ms, t + 10 * MIN_MS);
    /* A little before the session's start (within idle): not late either,
     * and a different campaign does not break on an out-of-order event. */
    d = step(&cfg, &st, 1, t - 20 * MIN_MS, "other|cpc|x", NULL, ID_B);
    expect(&d, ID_A, 4, 0, "", 0);
    assert_int_equal(st.started_ms, t);
    assert_int_equal(st.last_event_ms, t + 10 * MIN_MS);
    assert_string_equal(st.campaign, "");
    session_config_fini(&cfg);
}

static void test_very_late_event(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 10, 20);
    long long m = utc_ms(2026, 5, 4, 0, 20);

    (void)state;
    config(&cfg, "UTC");
    step(&cfg, &st, 0, t, "", NULL, ID_A);
    /* More than idle_ms before the start: same session, flagged late. */
    d = step(&cfg, &st, 1, t - IDLE - 1, "", NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 1);
    /* Exactly idle_ms before the start is not late. */
    d = step(&cfg, &st, 1, t - IDLE, "", NULL, ID_B);
    expect(&d, ID_A, 3, 0, "", 0);
    /* Days old: still the current session, late; state does not move. */
    d = step(&cfg, &st, 1, t - 72 * HOUR_MS, "", NULL, ID_B);
    expect(&d, ID_A, 4, 0, "", 1);
    assert_int_equal(st.started_ms, t);
    assert_int_equal(st.last_event_ms, t);
    assert_int_equal(st.start_day, day_of(2026, 5, 4));
    /* The next in-order event continues normally. */
    d = step(&cfg, &st, 1, t + MIN_MS, "", NULL, ID_B);
    expect(&d, ID_A, 5, 0, "", 0);
    /* Within idle_ms of the start but from the previous local day (23:55
     * before a session started at 00:20): late. */
    step(&cfg, &st, 0, m, "", NULL, ID_C);
    d = step(&cfg, &st, 1, m - 10 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_C, 2, 0, "", 0);
    d = step(&cfg, &st, 1, m - 25 * MIN_MS, "", NULL, ID_B);
    expect(&d, ID_C, 3, 0, "", 1);
    session_config_fini(&cfg);
}

/* ---- client ids ---- */

static void test_client_session_id(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    long long t = utc_ms(2026, 5, 4, 23, 50);

    (void)state;
    config(&cfg, "UTC");
    d = step(&cfg, &st, 0, t, "", "client-1", NULL);
    expect(&d, "client-1", 1, 1, "first", 0);
    assert_true(d.client_assigned);
    /* Idle, midnight and campaign do not split a client's session. */
    d = step(&cfg, &st, 1, t + 2 * HOUR_MS, "mail|email|x", "client-1", NULL);
    expect(&d, "client-1", 2, 0, "", 0);
    assert_true(d.client_assigned);
    assert_string_equal(st.campaign, "mail|email|x");
    d = step(&cfg, &st, 1, t + 2 * HOUR_MS + MIN_MS, "", "client-1", NULL);
    expect(&d, "client-1", 3, 0, "", 0);
    /* Another id restarts the count; switching back restarts it again. */
    d = step(&cfg, &st, 1, t + 3 * HOUR_MS, "", "client-2", ID_A);
    expect(&d, "client-2", 1, 1, "client", 0);
    d = step(&cfg, &st, 1, t + 3 * HOUR_MS + MIN_MS, "", "client-2", ID_A);
    expect(&d, "client-2", 2, 0, "", 0);
    d = step(&cfg, &st, 1, t + 3 * HOUR_MS + 2 * MIN_MS, "", "client-1", ID_A);
    expect(&d, "client-1", 1, 1, "client", 0);
    /* An event without a client id continues the stored session by the
     * server's rules. */
    d = step(&cfg, &st, 1, t + 3 * HOUR_MS + 3 * MIN_MS, "", NULL, ID_A);
    expect(&d, "client-1", 2, 0, "", 0);
    assert_false(d.client_assigned);
    d = step(&cfg, &st, 1, t + 5 * HOUR_MS, "", "", ID_A);
    expect(&d, ID_A, 1, 1, "idle", 0);
    assert_false(d.client_assigned);
    session_config_fini(&cfg);
}

static void test_assign_errors(void **state)
{
    struct session_config cfg;
    struct session_state st, bad;
    struct session_decision d;
    char long_id[SESSION_ID_MAX + 1];

    (void)state;
    config(&cfg, "UTC");
    memset(long_id, 'x', SESSION_ID_MAX);
    long_id[SESSION_ID_MAX] = '\0';
    assert_int_equal(session_assign(NULL, NULL, 0, "", NULL, ID_A, &st, &d), -1);
    assert_int_equal(session_assign(&cfg, NULL, 0, "", NULL, ID_A, NULL, &d), -1);
    assert_int_equal(session_assign(&cfg, NULL, 0, "", NULL, ID_A, &st, NULL), -1);
    /* A new server session needs a candidate id. */
    assert_int_equal(session_assign(&cfg, NULL, 0, "", NULL, NULL, &st, &d), -1);
    assert_int_equal(session_assign(&cfg, NULL, 0, "", NULL, "", &st, &d), -1);
    assert_int_equal(session_assign(&cfg, NULL, 0, "", NULL, long_id, &st, &d), -1);
    assert_int_equal(session_assign(&cfg, NULL, 0, "", long_id, NULL, &st, &d), -1);
    /* An invalid stored state is refused, not trusted. */
    step(&cfg, &st, 0, 1000, "", NULL, ID_A);
    bad = st;
    bad.sequence = 0;
    assert_int_equal(session_assign(&cfg, &bad, 2000, "", NULL, ID_B, &st, &d), -1);
    bad = st;
    bad.session_id[0] = '\0';
    assert_int_equal(session_assign(&cfg, &bad, 2000, "", NULL, ID_B, &st, &d), -1);
    bad = st;
    bad.last_event_ms = bad.started_ms - 1;
    assert_int_equal(session_assign(&cfg, &bad, 2000, "", NULL, ID_B, &st, &d), -1);
    /* A continuing session needs no candidate. */
    d = step(&cfg, &st, 1, 2000, "", NULL, NULL);
    expect(&d, ID_A, 2, 0, "", 0);
    /* Extreme timestamps do not overflow. */
    d = step(&cfg, &st, 1, 0x7fffffffffffffffLL, "", NULL, ID_B);
    expect(&d, ID_B, 1, 1, "idle", 0);
    d = step(&cfg, &st, 1, -0x7fffffffffffffffLL, "", NULL, ID_C);
    expect(&d, ID_B, 2, 0, "", 1);
    session_config_fini(&cfg);
}

static void test_long_campaign_truncated(void **state)
{
    struct session_config cfg;
    struct session_state st;
    struct session_decision d;
    char key[SESSION_CAMPAIGN_MAX + 50];

    (void)state;
    config(&cfg, "UTC");
    memset(key, 'c', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    step(&cfg, &st, 0, 1000, key, NULL, ID_A);
    assert_int_equal(strlen(st.campaign), SESSION_CAMPAIGN_MAX - 1);
    d = step(&cfg, &st, 1, 2000, key, NULL, ID_B);
    expect(&d, ID_A, 2, 0, "", 0);
    session_config_fini(&cfg);
}

/* ---- encoding ---- */

static void fill_state(struct session_state *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->session_id, sizeof(st->session_id), "%s", "id with space|pipe");
    st->started_ms = 1777777777000LL;
    st->last_event_ms = 1777777999123LL;
    st->sequence = 42;
    st->start_day = 20575;
    snprintf(st->campaign, sizeof(st->campaign), "%s", "google|cpc|spring sale");
}

static void expect_same_state(const struct session_state *a, const struct session_state *b)
{
    assert_string_equal(a->session_id, b->session_id);
    assert_int_equal(a->started_ms, b->started_ms);
    assert_int_equal(a->last_event_ms, b->last_event_ms);
    assert_int_equal(a->sequence, b->sequence);
    assert_int_equal(a->start_day, b->start_day);
    assert_string_equal(a->campaign, b->campaign);
}

static void test_encode_round_trip(void **state)
{
    struct session_state st, back;
    char buf[SESSION_STATE_ENCODED_MAX];
    char big[SESSION_STATE_ENCODED_MAX];
    int n;

    (void)state;
    fill_state(&st);
    n = session_state_encode(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "S1 1777777777000 1777777999123 42 20575 18:id with space|pipe "
                             "22:google|cpc|spring sale");
    assert_int_equal(session_state_decode(buf, (size_t)n, &back), 0);
    expect_same_state(&st, &back);
    /* Empty campaign, negative day, largest fields. */
    st.campaign[0] = '\0';
    st.start_day = -3;
    st.started_ms = -5000;
    st.last_event_ms = -5000;
    n = session_state_encode(&st, buf, sizeof(buf));
    assert_int_equal(session_state_decode(buf, (size_t)n, &back), 0);
    expect_same_state(&st, &back);
    memset(st.session_id, 'i', SESSION_ID_MAX - 1);
    memset(st.campaign, 'c', SESSION_CAMPAIGN_MAX - 1);
    st.started_ms = -0x7fffffffffffffffLL;
    st.last_event_ms = 0x7fffffffffffffffLL;
    st.sequence = 0x7fffffffffffffffLL;
    n = session_state_encode(&st, big, sizeof(big));
    assert_true(n > 0);
    assert_int_equal(session_state_decode(big, (size_t)n, &back), 0);
    expect_same_state(&st, &back);
    /* Too small a buffer or an invalid state. */
    assert_int_equal(session_state_encode(&st, buf, 10), -1);
    st.sequence = 0;
    assert_int_equal(session_state_encode(&st, big, sizeof(big)), -1);
}

static void expect_decode_fails(const char *text)
{
    struct session_state st;

    if (session_state_decode(text, strlen(text), &st) != -1) {
        fail_msg("decoded: \"%s\"", text);
    }
}

static void test_decode_garbage(void **state)
{
    struct session_state st, back;
    char buf[SESSION_STATE_ENCODED_MAX];
    int n;

    (void)state;
    fill_state(&st);
    n = session_state_encode(&st, buf, sizeof(buf));
    /* Every truncation fails, and so does a trailing byte. */
    for (int i = 0; i < n; i++) {
        assert_int_equal(session_state_decode(buf, (size_t)i, &back), -1);
    }
    buf[n] = ' ';
    assert_int_equal(session_state_decode(buf, (size_t)n + 1, &back), -1);
    assert_int_equal(session_state_decode(NULL, 0, &back), -1);
    expect_decode_fails("");
    expect_decode_fails("garbage");
    expect_decode_fails("{\"session_id\":\"x\"}");
    expect_decode_fails("S2 1 2 3 4 1:a 0:");                    /* another version */
    expect_decode_fails("s1 1 2 3 4 1:a 0:");                    /* case matters */
    expect_decode_fails("S1 1 2 0 4 1:a 0:");                    /* sequence 0 */
    expect_decode_fails("S1 5 2 1 4 1:a 0:");                    /* last before start */
    expect_decode_fails("S1 1 2 1 4 0: 0:");                     /* empty id */
    expect_decode_fails("S1 1 2 1 4 2:a 0:");                    /* id length past the end */
    expect_decode_fails("S1 1 2 1 4 1:a 1:");                    /* campaign past the end */
    expect_decode_fails("S1 1 2 1 4 1:a 0:x");                   /* trailing */
    expect_decode_fails("S1 +1 2 1 4 1:a 0:");                   /* sign */
    expect_decode_fails("S1 1  2 1 4 1:a 0:");                   /* double space */
    expect_decode_fails("S1 1 2 1 4 -1:a 0:");                   /* negative length */
    expect_decode_fails("S1 1 2 1 4 1:a0:");                     /* missing separator */
    expect_decode_fails("S1 1 2 1x 4 1:a 0:");                   /* junk in a number */
    expect_decode_fails("S1 1 2 1 4 130:a 0:");                  /* id too long */
    expect_decode_fails("S1 99999999999999999999 2 1 4 1:a 0:"); /* overflow */
    expect_decode_fails("S1 1 2 1 4 1:a 512:");                  /* campaign too long */
    /* An embedded NUL is not a valid id byte. */
    assert_int_equal(session_state_decode("S1 1 2 1 4 1:\0 0:", 17, &back), -1);
    assert_int_equal(session_state_decode("S1 1 2 1 4 1:a 0:", 17, &back), 0);
    assert_string_equal(back.session_id, "a");
    assert_int_equal(back.sequence, 1);
}

static void test_decode_fuzz(void **state)
{
    struct session_state st, back;
    char buf[SESSION_STATE_ENCODED_MAX];
    int n, accepted = 0;
    unsigned int seed = 12345;

    (void)state;
    fill_state(&st);
    n = session_state_encode(&st, buf, sizeof(buf));
    /* Random byte flips never crash and never yield an invalid state. */
    for (int i = 0; i < 20000; i++) {
        char copy[SESSION_STATE_ENCODED_MAX];

        memcpy(copy, buf, (size_t)n);
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % (unsigned)n] = (char)(seed >> 20);
        if (session_state_decode(copy, (size_t)n, &back) == 0) {
            assert_true(back.sequence >= 1);
            assert_true(back.last_event_ms >= back.started_ms);
            assert_true(back.session_id[0] != '\0');
            accepted++;
        }
    }
    print_message("session: %d of 20000 mutated encodings still decode\n", accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_event),
        cmocka_unit_test(test_continue_and_idle_boundary),
        cmocka_unit_test(test_idle_expiry),
        cmocka_unit_test(test_campaign_change),
        cmocka_unit_test(test_no_campaign_keeps_session),
        cmocka_unit_test(test_midnight_utc),
        cmocka_unit_test(test_london_offsets),
        cmocka_unit_test(test_midnight_london_dst),
        cmocka_unit_test(test_midnight_new_york),
        cmocka_unit_test(test_offsets_match_libc),
        cmocka_unit_test(test_footer_rule_only),
        cmocka_unit_test(test_bad_timezone),
        cmocka_unit_test(test_out_of_order_within_session),
        cmocka_unit_test(test_very_late_event),
        cmocka_unit_test(test_client_session_id),
        cmocka_unit_test(test_assign_errors),
        cmocka_unit_test(test_long_campaign_truncated),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_decode_garbage),
        cmocka_unit_test(test_decode_fuzz),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
