/*
 * Unit tests for what the journey-builder does with events
 * (services/journey-builder): apply.c (journey rows, times spent, sessions,
 * funnel rollups, abandonment and the journey updates they produce) with the
 * shipped deploy/config/journeys.json and funnels.json or small funnel files
 * written here, and the pieces under it: rollup.c (deltas per key,
 * histogram buckets), jcache.c (the LRU cache of states) and jstate.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/journey_update.pb-c.h"
#include "apply.h"
#include "due.h"
#include "jcache.h"
#include "jstate.h"
#include "rollup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC_MS 1000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define T0 1764000000000LL /* 2025-11-24 16:00:00 UTC */
#define DAY0 20416LL       /* T0's UTC day; the next starts at T0 + 8 h */

#define CH_DIRECT 1
#define CH_INTERNAL 2
#define CH_ORGANIC 3
#define CH_EMAIL 6
#define DEV_DESKTOP 1
#define DEV_MOBILE 2

#define K_STAGE ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_STAGE_CHANGED
#define K_STEP ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_FUNNEL_STEP
#define K_CLOSED ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_SESSION_CLOSED
#define K_ABANDONED ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_ABANDONED

/* The shipped booking funnel: the 0-based steps, and where abandonment
 * starts (step 3, 60 minutes). */
#define B_SERVICE 0
#define B_PRICING 1
#define B_STARTED 2
#define B_DONE 3
#define B_ABANDON_MS (60 * MIN_MS)

static char g_config[1024];    /* deploy/config of this source tree */
static struct fixture_tmp g_t; /* g_t.file: the file a test writes */
static char g_jfile[128];      /* journeys written by a test */

static int group_setup(void **state)
{
    (void)state;

    snprintf(g_config, sizeof(g_config), "%s/deploy/config", ANALYTICS_TEST_SOURCE_DIR);
    snprintf(g_t.dir, sizeof(g_t.dir), "/tmp/test_apply.XXXXXX");
    if (mkdtemp(g_t.dir) == NULL) {
        return -1;
    }
    snprintf(g_t.file, sizeof(g_t.file), "%s/funnels.json", g_t.dir);
    snprintf(g_jfile, sizeof(g_jfile), "%s/journeys.json", g_t.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g_t.file);
    unlink(g_jfile);
    rmdir(g_t.dir);
    return 0;
}

static void assert_near(double got, double want)
{
    double d = got - want;

    if (d < -1e-6 || d > 1e-6) {
        fail_msg("%.9f is not %.9f", got, want);
    }
}

/* got is want, both possibly NULL. */
static void check_str(const char *got, const char *want)
{
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

/* ---- the rules, the output and events ---- */

struct fx {
    struct journey_rules *rules;
    struct funnel_set funnels;
    struct apply_ctx ctx;
    struct apply_out out;
};

/* Writes text to path. */
static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* Loads the shipped journeys (journeys_json NULL) or those of
 * journeys_json, and the shipped funnels (funnels_json NULL) or those of
 * funnels_json. */
static void fx_init_rules(struct fx *f, const char *journeys_json, const char *funnels_json)
{
    char path[1100], err[512] = "";

    memset(f, 0, sizeof(*f));
    if (journeys_json == NULL) {
        snprintf(path, sizeof(path), "%s/journeys.json", g_config);
    } else {
        write_text(g_jfile, journeys_json);
        snprintf(path, sizeof(path), "%s", g_jfile);
    }
    f->rules = journey_rules_load(path, err, sizeof(err));
    if (f->rules == NULL) {
        fail_msg("journeys: %s", err);
    }
    if (funnels_json == NULL) {
        snprintf(path, sizeof(path), "%s/funnels.json", g_config);
    } else {
        write_text(g_t.file, funnels_json);
        snprintf(path, sizeof(path), "%s", g_t.file);
    }
    if (funnel_set_load(&f->funnels, path, err, sizeof(err)) != 0) {
        fail_msg("funnels: %s", err);
    }
    f->ctx.rules = f->rules;
    f->ctx.funnels = &f->funnels;
    apply_out_init(&f->out);
}

/* The shipped journeys, and the shipped funnels (funnels_json NULL) or
 * those of funnels_json. */
static void fx_init(struct fx *f, const char *funnels_json)
{
    fx_init_rules(f, NULL, funnels_json);
}

/* Call before freeing the visitors and sessions: apply_out_fini unmarks the
 * states the output lists. */
static void fx_fini(struct fx *f)
{
    apply_out_fini(&f->out);
    funnel_set_fini(&f->funnels);
    journey_rules_free(f->rules);
}

static struct jstate_visitor *fx_visitor(struct fx *f, const char *fp)
{
    struct jstate_visitor *v = jstate_visitor_new(fp, 0, f->funnels.n);

    assert_non_null(v);
    return v;
}

static struct jstate_session *fx_session(struct fx *f, const char *sid, const char *fp)
{
    struct jstate_session *s = jstate_session_new(sid, fp, 0, f->funnels.n);

    assert_non_null(s);
    return s;
}

/* An enriched event and the messages it points to. */
struct tev {
    Analytics__V1__EnrichedEvent ev;
    Analytics__V1__PageInfo page;
    Analytics__V1__SessionInfo session;
    Analytics__V1__Campaign campaign;
    Analytics__V1__UserAgentInfo ua;
    Analytics__V1__GeoInfo geo;
};

/* Makes t an event of v in s (NULL: none) at ts: its id, type, page type
 * (NULL: none), channel and device (analytics.v1 values). Returns t. */
static struct tev *tev_set(struct tev *t, const struct jstate_visitor *v,
                           const struct jstate_session *s, const char *id, const char *type,
                           const char *page_type, long long ts, int channel, int device)
{
    *t = (struct tev){.ev = ANALYTICS__V1__ENRICHED_EVENT__INIT,
                      .page = ANALYTICS__V1__PAGE_INFO__INIT,
                      .session = ANALYTICS__V1__SESSION_INFO__INIT,
                      .campaign = ANALYTICS__V1__CAMPAIGN__INIT,
                      .ua = ANALYTICS__V1__USER_AGENT_INFO__INIT,
                      .geo = ANALYTICS__V1__GEO_INFO__INIT};
    t->ev.schema_version = 1;
    t->ev.event_id = (char *)id;
    t->ev.event_type = (char *)type;
    t->ev.fingerprint = v->fingerprint;
    t->ev.event_ts_ms = ts;
    t->ev.site_id = "site-1";
    t->page.page_type = (char *)(page_type != NULL ? page_type : "");
    t->ev.page = &t->page;
    t->campaign.channel = (Analytics__V1__Channel)channel;
    t->campaign.utm_source = "news";
    t->ev.campaign = &t->campaign;
    t->ua.device_type = (Analytics__V1__DeviceType)device;
    t->ev.ua = &t->ua;
    t->geo.country_code = "DE";
    t->ev.geo = &t->geo;
    if (s != NULL) {
        t->session.session_id = s->session_id;
        t->ev.session = &t->session;
    }
    return t;
}

/* Applies t to v and s; t stays borrowed by f's output until it is reset. */
static void fx_run(struct fx *f, struct jstate_visitor *v, struct jstate_session *s, struct tev *t)
{
    assert_int_equal(apply_event(&f->ctx, v, s, &t->ev, &f->out), 0);
}

/* tev_set, then fx_run. */
static void fx_apply(struct fx *f, struct tev *t, struct jstate_visitor *v,
                     struct jstate_session *s, const char *id, const char *type,
                     const char *page_type, long long ts, int channel, int device)
{
    fx_run(f, v, s, tev_set(t, v, s, id, type, page_type, ts, channel, device));
}

/* ---- reading the output ---- */

/* The i-th journey update of o, unpacked (free with upd_free). */
static Analytics__V1__JourneyUpdate *upd_at(const struct apply_out *o, size_t i)
{
    Analytics__V1__JourneyUpdate *u;

    assert_true(i < o->nmsgs);
    u = analytics__v1__journey_update__unpack(NULL, o->msgs[i].len, o->msgs[i].buf);
    assert_non_null(u);
    assert_string_equal(o->msgs[i].key, u->fingerprint);
    assert_int_equal(u->schema_version, 1);
    return u;
}

static void upd_free(Analytics__V1__JourneyUpdate *u)
{
    analytics__v1__journey_update__free_unpacked(u, NULL);
}

static size_t count_kind(const struct apply_out *o, int kind)
{
    size_t n = 0;

    for (size_t i = 0; i < o->nmsgs; i++) {
        Analytics__V1__JourneyUpdate *u = upd_at(o, i);
        n += (int)u->kind == kind ? 1 : 0;
        upd_free(u);
    }
    return n;
}

/* The index of the nth (0-based) update of kind; fails when there is none. */
static size_t find_kind(const struct apply_out *o, int kind, size_t nth)
{
    size_t seen = 0;

    for (size_t i = 0; i < o->nmsgs; i++) {
        Analytics__V1__JourneyUpdate *u = upd_at(o, i);
        bool hit = (int)u->kind == kind;
        upd_free(u);
        if (hit && seen++ == nth) {
            return i;
        }
    }
    fail_msg("no update %zu of kind %d among %zu", nth, kind, o->nmsgs);
    return 0;
}

static void check_stage_msg(const struct apply_out *o, size_t i, const char *fp, const char *cause,
                            const char *stage, const char *prev, const char *tp, unsigned seq)
{
    Analytics__V1__JourneyUpdate *u = upd_at(o, i);

    assert_int_equal(u->kind, K_STAGE);
    assert_string_equal(u->fingerprint, fp);
    assert_string_equal(u->cause_event_id, cause);
    assert_string_equal(u->stage, stage);
    assert_string_equal(u->previous_stage, prev);
    assert_string_equal(u->touchpoint, tp);
    assert_int_equal(u->sequence, seq);
    assert_null(u->session);
    upd_free(u);
}

static void check_step_msg(const struct apply_out *o, size_t i, const char *cause,
                           const char *funnel, unsigned step, const char *name, bool inferred)
{
    Analytics__V1__JourneyUpdate *u = upd_at(o, i);

    assert_int_equal(u->kind, K_STEP);
    assert_string_equal(u->cause_event_id, cause);
    assert_string_equal(u->funnel, funnel);
    assert_int_equal(u->funnel_step, step);
    assert_string_equal(u->funnel_step_name, name);
    assert_int_equal(u->funnel_step_inferred, inferred);
    upd_free(u);
}

static void check_row(const struct apply_journey_row *r, const char *id, int seq, const char *stage,
                      const char *prev, const char *tp)
{
    assert_string_equal(r->event_id, id);
    assert_int_equal(r->seq, seq);
    assert_string_equal(r->stage, stage);
    check_str(r->previous_stage, prev);
    assert_string_equal(r->touchpoint, tp);
}

static void check_spent(const struct apply_out *o, size_t i, const char *id, long long seconds)
{
    assert_true(i < o->nspent);
    assert_string_equal(o->spent[i].event_id, id);
    assert_int_equal(o->spent[i].seconds, seconds);
}

/* The delta of a key, without creating it; NULL when o has none. */
static const struct rollup_delta *find_delta(const struct apply_out *o, int funnel, long long day,
                                             int step, int channel, int device)
{
    for (size_t i = 0; i < o->rollup.n; i++) {
        const struct rollup_key *k = &o->rollup.d[i].key;
        if (k->funnel == funnel && k->day == day && k->step == step && k->channel == channel &&
            k->device_type == device) {
            return &o->rollup.d[i];
        }
    }
    return NULL;
}

/* Like find_delta, failing when the delta is missing. */
static const struct rollup_delta *get_delta(const struct apply_out *o, int funnel, long long day,
                                            int step, int channel, int device)
{
    const struct rollup_delta *d = find_delta(o, funnel, day, step, channel, device);

    if (d == NULL) {
        fail_msg("no delta for funnel %d day %lld step %d channel %d device %d", funnel, day, step,
                 channel, device);
    }
    return d;
}

static void check_counts(const struct rollup_delta *d, long long attempts, long long sessions,
                         long long inferred, long long abandoned)
{
    assert_int_equal(d->attempts, attempts);
    assert_int_equal(d->sessions, sessions);
    assert_int_equal(d->inferred, inferred);
    assert_int_equal(d->abandoned, abandoned);
}

/* d counts exactly one time from the previous step, of s seconds, in bucket. */
static void check_one_since_prev(const struct rollup_delta *d, double s, int bucket)
{
    assert_int_equal(d->since_prev_n, 1);
    assert_near(d->since_prev_sum_s, s);
    for (int b = 0; b < ROLLUP_HIST_BUCKETS; b++) {
        assert_int_equal(d->hist[b], b == bucket ? 1 : 0);
    }
}

static void check_no_since_prev(const struct rollup_delta *d)
{
    assert_int_equal(d->since_prev_n, 0);
    assert_near(d->since_prev_sum_s, 0);
    for (int b = 0; b < ROLLUP_HIST_BUCKETS; b++) {
        assert_int_equal(d->hist[b], 0);
    }
}

/* ---- journey rows ---- */

static void test_stage_rows(void **state)
{
    struct fx f;
    struct tev e[9];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *va = fx_visitor(&f, "fp-a"), *vb = fx_visitor(&f, "fp-b");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp-a");

    tev_set(&e[0], va, s1, "e1", "page_view", "home", T0, CH_ORGANIC, DEV_DESKTOP);
    e[0].page.url_normalized = "https://x.test/";
    e[0].ev.user_id = "u1";
    fx_run(&f, va, s1, &e[0]);
    assert_int_equal(f.out.nmsgs, 1);
    fx_apply(&f, &e[1], va, s1, "e2", "page_view", "blog", T0 + 10 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nmsgs, 1); /* the same stage: a row, no update */
    fx_apply(&f, &e[2], va, s1, "e3", "scroll", "blog", T0 + 15 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nrows, 2); /* not a touchpoint */
    assert_int_equal(f.out.nmsgs, 1);
    fx_apply(&f, &e[3], va, s1, "e4", "page_view", "service", T0 + 20 * SEC_MS, 0, 0);
    fx_apply(&f, &e[4], va, s1, "e5", "page_view", "pricing", T0 + 30 * SEC_MS, 0, 0);
    fx_apply(&f, &e[5], va, s1, "e6", "booking_completed", "booking", T0 + 40 * SEC_MS, 0, 0);

    assert_int_equal(f.out.nrows, 5);
    const struct apply_journey_row *r = f.out.rows;
    check_row(&r[0], "e1", 1, "awareness", NULL, "home_page");
    assert_string_equal(r[0].fingerprint, "fp-a");
    assert_string_equal(r[0].user_id, "u1");
    assert_string_equal(r[0].session_id, "s1");
    assert_int_equal(r[0].channel, CH_ORGANIC);
    assert_string_equal(r[0].page_url, "https://x.test/");
    assert_int_equal(r[0].ts_ms, T0);
    check_row(&r[1], "e2", 2, "awareness", "awareness", "blog_post");
    check_row(&r[2], "e4", 3, "interest", "awareness", "service_page");
    check_row(&r[3], "e5", 4, "consideration", "interest", "pricing_page");
    check_row(&r[4], "e6", 5, "conversion", "consideration", "booking_completed");
    assert_int_equal(r[4].ts_ms, T0 + 40 * SEC_MS);
    assert_int_equal(va->seq, 5);
    assert_int_equal(va->stage, 3);

    /* Stage changes, each followed by the funnel steps of its event. */
    assert_int_equal(f.out.nmsgs, 8);
    check_stage_msg(&f.out, 0, "fp-a", "e1", "awareness", "", "home_page", 1);
    check_stage_msg(&f.out, 1, "fp-a", "e4", "interest", "awareness", "service_page", 3);
    check_step_msg(&f.out, 2, "e4", "booking", 1, "awareness: service page", false);
    check_stage_msg(&f.out, 3, "fp-a", "e5", "consideration", "interest", "pricing_page", 4);
    check_step_msg(&f.out, 4, "e5", "booking", 2, "interest: pricing viewed", false);
    check_stage_msg(&f.out, 5, "fp-a", "e6", "conversion", "consideration", "booking_completed", 5);
    check_step_msg(&f.out, 6, "e6", "booking", 3, "consideration: booking started", true);
    check_step_msg(&f.out, 7, "e6", "booking", 4, "conversion: booking completed", false);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, 0);
    assert_string_equal(u->user_id, "u1");
    assert_string_equal(u->session_id, "s1");
    assert_int_equal(u->ts_ms, T0);
    upd_free(u);
    assert_int_equal(f.out.stats.touchpoints, 5);
    assert_int_equal(f.out.stats.stage_changes, 4);
    assert_int_equal(f.out.stats.funnel_steps, 4);

    /* Another visitor numbers from 1; an event without a session. */
    fx_apply(&f, &e[6], vb, NULL, "e7", "page_view", "pricing", T0, 0, 0);
    assert_int_equal(f.out.nrows, 6);
    check_row(&f.out.rows[5], "e7", 1, "consideration", NULL, "pricing_page");
    assert_string_equal(f.out.rows[5].session_id, "");
    check_stage_msg(&f.out, 8, "fp-b", "e7", "consideration", "", "pricing_page", 1);
    assert_string_equal(f.out.msgs[8].key, "fp-b");

    /* The sequence is the visitor's, not the batch's. */
    apply_out_reset(&f.out);
    fx_apply(&f, &e[7], va, s1, "e8", "page_view", "contact", T0 + 50 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nrows, 1);
    check_row(&f.out.rows[0], "e8", 6, "interest", "conversion", "contact_page");
    check_stage_msg(&f.out, 0, "fp-a", "e8", "interest", "conversion", "contact_page", 6);

    /* The page URL falls back to the raw one. */
    tev_set(&e[8], va, s1, "e9", "page_view", "contact", T0 + 60 * SEC_MS, 0, 0);
    e[8].ev.page_url = "https://x.test/raw?q=1";
    fx_run(&f, va, s1, &e[8]);
    assert_string_equal(f.out.rows[1].page_url, "https://x.test/raw?q=1");
    check_row(&f.out.rows[1], "e9", 7, "interest", "interest", "contact_page");
    assert_int_equal(f.out.nmsgs, 1);

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_visitor_free(va);
    jstate_visitor_free(vb);
}

/* ---- time spent ---- */

/* A touchpoint's time spent: into its row while the row is in the batch,
 * else an update (o->spent); -1 across sessions, to the end on close. */
static void test_time_spent(void **state)
{
    struct fx f;
    struct tev e[10], ew[4];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp"), *w = fx_visitor(&f, "fp-w");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp"), *s2 = fx_session(&f, "s2", "fp"),
                          *s3 = fx_session(&f, "s3", "fp"), *s4 = fx_session(&f, "s4", "fp"),
                          *sw = fx_session(&f, "sw", "fp-w");

    /* Batch 1. */
    tev_set(&e[0], v, s1, "e1", "page_view", "home", T0, 0, 0);
    e[0].page.url_normalized = "/";
    fx_run(&f, v, s1, &e[0]);
    assert_int_equal(f.out.rows[0].time_spent_s, -1);
    assert_string_equal(v->tp_event_id, "e1");
    /* Another visitor's touchpoint in between. */
    fx_apply(&f, &ew[0], w, sw, "w1", "page_view", "home", T0 + SEC_MS, 0, 0);
    tev_set(&e[1], v, s1, "e2", "page_view", "service", T0 + 42500, 0, 0);
    e[1].page.url_normalized = "/service";
    fx_run(&f, v, s1, &e[1]);
    assert_int_equal(f.out.rows[0].time_spent_s, 42); /* the same session: whole seconds */
    assert_int_equal(f.out.rows[1].time_spent_s, -1); /* w's */
    assert_int_equal(f.out.nspent, 0);
    /* An earlier event arriving late: never a negative time. */
    tev_set(&e[2], v, s1, "e3", "page_view", "blog", T0 + 40 * SEC_MS, 0, 0);
    e[2].page.url_normalized = "/blog";
    fx_run(&f, v, s1, &e[2]);
    assert_int_equal(f.out.rows[2].time_spent_s, 0);
    /* The next touchpoint in another session: until the end of e3's. */
    fx_apply(&f, &e[3], v, s2, "e4", "page_view", "pricing", T0 + HOUR_MS, 0, 0);
    assert_int_equal(f.out.nrows, 5);
    assert_int_equal(f.out.rows[3].time_spent_s, -1);
    assert_int_equal(f.out.nspent, 1);
    check_spent(&f.out, 0, "e3", -1);
    assert_string_equal(v->tp_event_id, "e4");
    assert_string_equal(v->tp_session_id, "s2");
    assert_int_equal(v->tp_ms, T0 + HOUR_MS);
    assert_int_equal(f.out.rows[1].time_spent_s, -1);

    /* Closing s1 leaves the open touchpoint, in s2, alone. */
    assert_int_equal(apply_close_session(&f.ctx, v, s1, &f.out), 0);
    assert_int_equal(f.out.nspent, 1);
    assert_int_equal(f.out.rows[4].time_spent_s, -1);
    assert_true(s1->s.closed);
    size_t i = find_kind(&f.out, K_CLOSED, 0);
    assert_int_equal(i, f.out.nmsgs - 1);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, i);
    assert_string_equal(u->session_id, "s1");
    assert_string_equal(u->cause_event_id, "e3"); /* the latest applied */
    assert_int_equal(u->ts_ms, T0 + 42500);
    assert_non_null(u->session);
    assert_string_equal(u->session->session_id, "s1");
    assert_int_equal(u->session->start_ts_ms, T0);
    assert_int_equal(u->session->end_ts_ms, T0 + 42500);
    assert_int_equal(u->session->page_views, 3);
    assert_int_equal(u->session->events, 3);
    assert_string_equal(u->session->entry_page, "/");
    assert_string_equal(u->session->exit_page, "/service"); /* the latest page view */
    assert_false(u->session->bounced);
    assert_false(u->session->converted);
    upd_free(u);
    assert_int_equal(f.out.stats.sessions_closed, 1);
    /* Once only. */
    size_t nmsgs = f.out.nmsgs;
    assert_int_equal(apply_close_session(&f.ctx, v, s1, &f.out), 0);
    assert_int_equal(f.out.nmsgs, nmsgs);
    assert_int_equal(f.out.stats.sessions_closed, 1);

    /* Batch 2: closing s2 gives e4, written in batch 1, the time to the
     * session's end as an update. */
    apply_out_reset(&f.out);
    fx_apply(&f, &e[4], v, s2, "e5", "scroll", NULL, T0 + HOUR_MS + 95500, 0, 0);
    assert_int_equal(apply_close_session(&f.ctx, v, s2, &f.out), 0);
    assert_int_equal(f.out.nrows, 0);
    assert_int_equal(f.out.nspent, 1);
    check_spent(&f.out, 0, "e4", 95);
    /* Kept, final: only an event in s2 (reopening it) moves it again. */
    assert_string_equal(v->tp_event_id, "e4");
    assert_true(v->tp_final);
    assert_int_equal(f.out.stats.sessions_closed, 1);

    /* The touchpoint open is final (s2 closed): nothing to measure. */
    fx_apply(&f, &e[5], v, s3, "e6", "page_view", "home", T0 + 2 * HOUR_MS, 0, 0);
    assert_int_equal(f.out.nspent, 1);
    assert_string_equal(v->tp_event_id, "e6");
    fx_apply(&f, &e[6], v, s3, "e7", "page_view", "contact", T0 + 2 * HOUR_MS + 10 * SEC_MS, 0, 0);
    assert_int_equal(f.out.rows[0].time_spent_s, 10);
    /* Closing s3 gives e7, in this batch, the time to the end in its row. */
    fx_apply(&f, &e[7], v, s3, "e8", "scroll", NULL, T0 + 2 * HOUR_MS + 25 * SEC_MS, 0, 0);
    assert_int_equal(apply_close_session(&f.ctx, v, s3, &f.out), 0);
    assert_int_equal(f.out.rows[1].time_spent_s, 15);
    assert_int_equal(f.out.nspent, 1);
    assert_true(v->tp_final);
    fx_apply(&f, &e[8], v, s4, "e9", "page_view", "home", T0 + 3 * HOUR_MS, 0, 0);
    assert_int_equal(f.out.nrows, 3);

    /* Batch 3: e9's row (index 2 of batch 2) is gone; the row at index 2
     * now is w's, and keeps its own time. */
    apply_out_reset(&f.out);
    fx_apply(&f, &ew[1], w, sw, "w2", "page_view", "blog", T0 + 3 * HOUR_MS, 0, 0);
    fx_apply(&f, &ew[2], w, sw, "w3", "page_view", "blog", T0 + 3 * HOUR_MS + 5 * SEC_MS, 0, 0);
    fx_apply(&f, &ew[3], w, sw, "w4", "page_view", "blog", T0 + 3 * HOUR_MS + 8 * SEC_MS, 0, 0);
    fx_apply(&f, &e[9], v, s4, "e10", "page_view", "service", T0 + 3 * HOUR_MS + 20 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nrows, 4);
    assert_int_equal(f.out.nspent, 2);
    check_spent(&f.out, 0, "w1", 3 * 3600 - 1); /* its row was in batch 1 */
    check_spent(&f.out, 1, "e9", 20);
    assert_int_equal(f.out.rows[0].time_spent_s, 5);
    assert_int_equal(f.out.rows[1].time_spent_s, 3);
    assert_string_equal(f.out.rows[2].event_id, "w4");
    assert_int_equal(f.out.rows[2].time_spent_s, -1);
    assert_int_equal(f.out.rows[3].time_spent_s, -1);
    assert_int_equal(v->seq, 8); /* e5 and e8 are not touchpoints */

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_session_free(s3);
    jstate_session_free(s4);
    jstate_session_free(sw);
    jstate_visitor_free(v);
    jstate_visitor_free(w);
}

/* A touchpoint whose row was in an earlier batch gets an update, even when
 * the row at its old index now is another visitor's. */
static void test_time_spent_past_batch(void **state)
{
    static const char *const xids[] = {"x1", "x2", "x3", "x4", "x5"};
    struct fx f;
    struct tev ey[5], ex[5];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *x = fx_visitor(&f, "fp-x"), *y = fx_visitor(&f, "fp-y");
    struct jstate_session *sx = fx_session(&f, "sx", "fp-x"), *sy = fx_session(&f, "sy", "fp-y");

    for (int i = 0; i < 3; i++) {
        fx_apply(&f, &ex[i], x, sx, xids[i], "page_view", "blog", T0 + i * SEC_MS, 0, 0);
    }
    fx_apply(&f, &ey[0], y, sy, "y1", "page_view", "home", T0 + 10 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nrows, 4);

    apply_out_reset(&f.out);
    fx_apply(&f, &ex[3], x, sx, xids[3], "page_view", "blog", T0 + 20 * SEC_MS, 0, 0);
    fx_apply(&f, &ex[4], x, sx, xids[4], "page_view", "blog", T0 + 22 * SEC_MS, 0, 0);
    fx_apply(&f, &ey[1], y, sy, "y2", "scroll", NULL, T0 + 40 * SEC_MS, 0, 0);
    fx_apply(&f, &ey[2], y, sy, "y3", "page_view", "home", T0 + 45 * SEC_MS, 0, 0);
    /* y1's row was index 3 of the first batch; index 3 now is y3's... */
    assert_int_equal(f.out.nrows, 3);
    assert_int_equal(f.out.nspent, 2);
    check_spent(&f.out, 0, "x3", 18);
    check_spent(&f.out, 1, "y1", 35);
    assert_int_equal(f.out.rows[0].time_spent_s, 2);
    assert_int_equal(f.out.rows[1].time_spent_s, -1);
    assert_int_equal(f.out.rows[2].time_spent_s, -1);

    /* ... and closing x's session next batch finds x5's old index taken. */
    apply_out_reset(&f.out);
    fx_apply(&f, &ey[3], y, sy, "y4", "page_view", "home", T0 + 50 * SEC_MS, 0, 0);
    fx_apply(&f, &ey[4], y, sy, "y5", "page_view", "home", T0 + 51 * SEC_MS, 0, 0);
    assert_int_equal(f.out.nrows, 2);
    assert_int_equal(apply_close_session(&f.ctx, x, sx, &f.out), 0);
    assert_int_equal(f.out.nspent, 2);
    check_spent(&f.out, 0, "y3", 5);
    check_spent(&f.out, 1, "x5", 0); /* the session ended with it */
    assert_int_equal(f.out.rows[0].time_spent_s, 1);
    assert_int_equal(f.out.rows[1].time_spent_s, -1);
    assert_string_equal(x->tp_event_id, "x5");
    assert_true(x->tp_final);

    fx_fini(&f);
    jstate_session_free(sx);
    jstate_session_free(sy);
    jstate_visitor_free(x);
    jstate_visitor_free(y);
}

/* ---- sessions ---- */

static void test_sessions(void **state)
{
    struct fx f;
    struct tev e[6];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp"), *s2 = fx_session(&f, "s2", "fp");

    /* Applied out of order: the click from the newsletter happened first. */
    tev_set(&e[0], v, s1, "b", "page_view", "home", T0 + 5 * SEC_MS, CH_ORGANIC, DEV_MOBILE);
    e[0].page.url_normalized = "https://x.test/";
    e[0].campaign.referrer_host = "www.google.com";
    e[0].campaign.utm_source = "";
    fx_run(&f, v, s1, &e[0]);
    tev_set(&e[1], v, s1, "a", "click", NULL, T0, CH_EMAIL, DEV_DESKTOP);
    e[1].campaign.utm_source = "newsletter";
    e[1].campaign.utm_medium = "email";
    e[1].geo.country_code = "FR";
    fx_run(&f, v, s1, &e[1]);
    tev_set(&e[2], v, s1, "c", "page_view", "pricing", T0 + 30 * SEC_MS, CH_INTERNAL, DEV_MOBILE);
    e[2].page.url_normalized = "https://x.test/pricing";
    e[2].ev.user_id = "u9";
    fx_run(&f, v, s1, &e[2]);
    fx_apply(&f, &e[3], v, s1, "d", "booking_completed", "booking", T0 + 60 * SEC_MS, CH_INTERNAL,
             DEV_MOBILE);

    assert_int_equal(s1->s.events, 4);
    assert_int_equal(s1->s.page_views, 2);
    assert_int_equal(s1->s.start_ms, T0);
    assert_int_equal(s1->s.end_ms, T0 + 60 * SEC_MS);
    assert_string_equal(s1->s.entry_page, "https://x.test/");
    assert_string_equal(s1->s.exit_page, "https://x.test/pricing");
    assert_int_equal(s1->s.channel, CH_EMAIL); /* the earliest event's */
    assert_int_equal(s1->s.device_type, DEV_DESKTOP);
    assert_true(s1->s.converted);
    assert_false(jsession_bounced(&s1->s));
    assert_string_equal(s1->user_id, "u9");
    assert_string_equal(s1->site_id, "site-1");
    /* Where the session came from: the earliest event's, as its channel. */
    check_str(s1->utm_source, "newsletter");
    check_str(s1->utm_medium, "email");
    check_str(s1->utm_campaign, NULL);
    check_str(s1->referrer_host, NULL);
    check_str(s1->country, "FR");
    assert_string_equal(s1->last_event_id, "d");
    assert_int_equal(f.out.nsessions, 1); /* once, however many events */
    assert_ptr_equal(f.out.sessions[0], s1);
    assert_true(s1->listed);

    /* One page view and an event short of conversion: bounced, not converted. */
    tev_set(&e[4], v, s2, "f", "page_view", "blog", T0 + HOUR_MS, CH_DIRECT, DEV_DESKTOP);
    e[4].page.url_normalized = "https://x.test/blog";
    fx_run(&f, v, s2, &e[4]);
    fx_apply(&f, &e[5], v, s2, "g", "booking_started", NULL, T0 + HOUR_MS + SEC_MS, 0, 0);
    assert_int_equal(f.out.nsessions, 2);
    assert_ptr_equal(f.out.sessions[1], s2);
    assert_int_equal(s2->s.page_views, 1);
    assert_int_equal(s2->s.events, 2);
    assert_true(jsession_bounced(&s2->s));
    assert_false(s2->s.converted);
    assert_null(s2->user_id);

    assert_int_equal(apply_close_session(&f.ctx, v, s1, &f.out), 0);
    assert_int_equal(f.out.nsessions, 2);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, find_kind(&f.out, K_CLOSED, 0));
    assert_string_equal(u->user_id, "u9");
    assert_string_equal(u->cause_event_id, "d");
    assert_int_equal(u->session->channel, CH_EMAIL);
    assert_int_equal(u->session->device_type, DEV_DESKTOP);
    assert_int_equal(u->session->page_views, 2);
    assert_int_equal(u->session->events, 4);
    assert_int_equal(u->session->start_ts_ms, T0);
    assert_int_equal(u->session->end_ts_ms, T0 + 60 * SEC_MS);
    assert_string_equal(u->session->entry_page, "https://x.test/");
    assert_string_equal(u->session->exit_page, "https://x.test/pricing");
    assert_true(u->session->converted);
    assert_false(u->session->bounced);
    upd_free(u);
    assert_int_equal(apply_close_session(&f.ctx, v, s2, &f.out), 0);
    u = upd_at(&f.out, find_kind(&f.out, K_CLOSED, 1));
    assert_string_equal(u->user_id, "");
    assert_true(u->session->bounced);
    assert_false(u->session->converted);
    assert_string_equal(u->session->entry_page, "https://x.test/blog");
    upd_free(u);

    assert_string_equal(pb_channel_name(CH_ORGANIC), "organic_search");
    assert_string_equal(pb_channel_name(7), "referral");
    assert_string_equal(pb_channel_name(8), "unknown");
    assert_string_equal(pb_channel_name(-1), "unknown");
    assert_string_equal(pb_device_name(DEV_MOBILE), "mobile");
    assert_string_equal(pb_device_name(4), "bot");
    assert_string_equal(pb_device_name(5), "unknown");

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_visitor_free(v);
}

/* ---- a site's own event names ---- */

/* A shop's stream: page views are "view", a purchase converts with its
 * price; no rule names the purchase. */
static const char shop_journeys[] =
    "{\"version\":1,\"stages\":[\"awareness\",\"interest\",\"consideration\",\"conversion\"],"
    "\"page_views\":[\"view\"],"
    "\"conversions\":[{\"event_type\":\"purchase\",\"value_property\":\"price\"}],"
    "\"rules\":[{\"event_type\":\"cart\",\"stage\":\"consideration\",\"touchpoint\":\"cart\"},"
    "{\"event_type\":\"page_view\",\"page_type\":\"product\",\"stage\":\"interest\","
    "\"touchpoint\":\"product_page\"}]}";
static const char shop_funnels[] =
    "{\"version\":1,\"funnels\":[{\"name\":\"shop\",\"steps\":["
    "{\"name\":\"product\",\"event_type\":\"page_view\",\"page_type\":\"product\"},"
    "{\"name\":\"cart\",\"event_type\":\"cart\"},"
    "{\"name\":\"purchase\",\"event_type\":\"purchase\"}]}]}";

static void test_site_events(void **state)
{
    struct fx f;
    struct tev e[6];
    (void)state;

    fx_init_rules(&f, shop_journeys, shop_funnels);
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s = fx_session(&f, "shop-session-1", "fp");

    tev_set(&e[0], v, s, "v1", "view", "product", T0, CH_ORGANIC, DEV_MOBILE);
    e[0].page.url_normalized = "https://shop.test/product/1";
    fx_run(&f, v, s, &e[0]);
    tev_set(&e[1], v, s, "v2", "view", "product", T0 + 10 * SEC_MS, CH_INTERNAL, DEV_MOBILE);
    e[1].page.url_normalized = "https://shop.test/product/2";
    fx_run(&f, v, s, &e[1]);
    fx_apply(&f, &e[2], v, s, "c1", "cart", "product", T0 + 20 * SEC_MS, CH_INTERNAL, DEV_MOBILE);
    tev_set(&e[3], v, s, "p1", "purchase", "other", T0 + 30 * SEC_MS, CH_INTERNAL, DEV_MOBILE);
    e[3].ev.event_data_json = "{\"product_id\":2,\"price\":19.99}";
    fx_run(&f, v, s, &e[3]);
    tev_set(&e[4], v, s, "p2", "purchase", "other", T0 + 40 * SEC_MS, CH_INTERNAL, DEV_MOBILE);
    e[4].ev.event_data_json = "{\"price\":\"5.01\"}";
    fx_run(&f, v, s, &e[4]);

    /* Page views, bounce and conversion from the shop's own names. */
    assert_int_equal(s->s.events, 5);
    assert_int_equal(s->s.page_views, 2);
    assert_false(jsession_bounced(&s->s));
    assert_string_equal(s->s.entry_page, "https://shop.test/product/1");
    assert_string_equal(s->s.exit_page, "https://shop.test/product/2");
    assert_true(s->s.converted);
    assert_int_equal(s->s.revenue_micros, 25000000);

    /* Journeys: the rule on "page_view" takes the views; the purchases,
     * which no rule names, are conversion touchpoints. */
    assert_int_equal(f.out.nrows, 5);
    check_row(&f.out.rows[0], "v1", 1, "interest", NULL, "product_page");
    check_row(&f.out.rows[1], "v2", 2, "interest", "interest", "product_page");
    check_row(&f.out.rows[2], "c1", 3, "consideration", "interest", "cart");
    check_row(&f.out.rows[3], "p1", 4, "conversion", "consideration", "purchase");
    check_row(&f.out.rows[4], "p2", 5, "conversion", "conversion", "purchase");
    assert_int_equal(count_kind(&f.out, K_STAGE), 3);
    check_stage_msg(&f.out, find_kind(&f.out, K_STAGE, 2), "fp", "p1", "conversion",
                    "consideration", "purchase", 4);

    /* The funnel's page_view step is reached by "view" (the second
     * purchase starts another attempt, its earlier steps inferred). */
    check_counts(get_delta(&f.out, 0, DAY0, 0, CH_ORGANIC, DEV_MOBILE), 2, 1, 1, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 1, CH_ORGANIC, DEV_MOBILE), 2, 1, 1, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 2, CH_ORGANIC, DEV_MOBILE), 2, 1, 0, 0);

    /* The closing summary carries the revenue. */
    assert_int_equal(apply_close_session(&f.ctx, v, s, &f.out), 0);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, find_kind(&f.out, K_CLOSED, 0));
    assert_int_equal(u->session->page_views, 2);
    assert_false(u->session->bounced);
    assert_true(u->session->converted);
    assert_near(u->session->revenue, 25.0);
    upd_free(u);
    fx_fini(&f);
    jstate_session_free(s);
    jstate_visitor_free(v);

    /* The shipped rules: booking_completed's "value" is its revenue. */
    fx_init(&f, NULL);
    v = fx_visitor(&f, "fp2");
    s = fx_session(&f, "s2", "fp2");
    tev_set(&e[5], v, s, "b1", "booking_completed", "booking", T0, CH_DIRECT, DEV_DESKTOP);
    e[5].ev.event_data_json = "{\"booking_id\":\"b-1\",\"value\":89,\"currency\":\"EUR\"}";
    fx_run(&f, v, s, &e[5]);
    assert_true(s->s.converted);
    assert_int_equal(s->s.revenue_micros, 89000000);
    assert_int_equal(s->s.page_views, 0);
    fx_fini(&f);
    jstate_session_free(s);
    jstate_visitor_free(v);
}

/* ---- funnels ---- */

static void test_funnel_strict_path(void **state)
{
    struct fx f;
    struct tev e[5];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s = fx_session(&f, "s1", "fp");
    const struct jstate_funnel *fs = &v->funnels[0];

    fx_apply(&f, &e[0], v, s, "h", "page_view", "home", T0, CH_ORGANIC, DEV_DESKTOP);
    assert_int_equal(f.out.rollup.n, 0);
    assert_int_equal(f.out.nvisitors, 0);
    /* Internal navigation: the attempt still counts under the session's channel. */
    fx_apply(&f, &e[1], v, s, "e1", "page_view", "service", T0 + SEC_MS, CH_INTERNAL, DEV_MOBILE);
    assert_int_equal(fs->day, DAY0);
    assert_int_equal(fs->channel, CH_ORGANIC);
    assert_int_equal(fs->device_type, DEV_DESKTOP);
    assert_string_equal(fs->session_id, "s1");
    assert_true(fs->dirty);
    assert_int_equal(f.out.nvisitors, 1);
    assert_true(v->listed);
    fx_apply(&f, &e[2], v, s, "e2", "page_view", "pricing", T0 + 31 * SEC_MS, 0, 0);
    assert_int_equal(fs->abandon_at_ms, 0); /* step 3 not reached yet */
    fx_apply(&f, &e[3], v, s, "e3", "booking_started", NULL, T0 + 91 * SEC_MS, 0, 0);
    assert_int_equal(fs->abandon_at_ms, T0 + 91 * SEC_MS + B_ABANDON_MS);
    fx_apply(&f, &e[4], v, s, "e4", "booking_completed", NULL, T0 + 151 * SEC_MS, 0, 0);
    assert_int_equal(fs->abandon_at_ms, 0);
    assert_int_equal(fs->p.furthest, B_DONE);
    assert_int_equal(f.out.nvisitors, 1);

    assert_int_equal(f.out.rollup.n, 4);
    const struct rollup_delta *d = get_delta(&f.out, 0, DAY0, B_SERVICE, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_PRICING, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_one_since_prev(d, 30, 9); /* [30, 45) */
    d = get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_one_since_prev(d, 60, 11); /* [60, 90) */
    d = get_delta(&f.out, 0, DAY0, B_DONE, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_one_since_prev(d, 60, 11);
    assert_null(find_delta(&f.out, 0, DAY0, B_SERVICE, CH_INTERNAL, DEV_MOBILE));

    assert_int_equal(count_kind(&f.out, K_STEP), 4);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 0), "e1", "booking", 1,
                   "awareness: service page", false);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 1), "e2", "booking", 2,
                   "interest: pricing viewed", false);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 2), "e3", "booking", 3,
                   "consideration: booking started", false);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 3), "e4", "booking", 4,
                   "conversion: booking completed", false);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, find_kind(&f.out, K_STEP, 3));
    assert_string_equal(u->session_id, "s1");
    assert_int_equal(u->ts_ms, T0 + 151 * SEC_MS);
    upd_free(u);
    assert_int_equal(f.out.stats.funnel_steps, 4);

    fx_fini(&f);
    jstate_session_free(s);
    jstate_visitor_free(v);
}

/* The bucket edges, end to end: six steps, the times between them 0, 0.999,
 * 1, 604800 and 10^7 seconds. */
static void test_funnel_hist_edges(void **state)
{
    static const char *const types[] = {"ha", "hb", "hc", "hd", "he", "hf"};
    const long long gap_ms[] = {0, 0, 999, 1000, 604800 * SEC_MS, 10000000 * SEC_MS};
    const int bucket[] = {-1, 0, 0, 1, ROLLUP_HIST_BUCKETS - 1, ROLLUP_HIST_BUCKETS - 1};
    struct fx f;
    struct tev e[6];
    long long ts = T0;
    (void)state;

    fx_init(&f,
            "{\"version\":1,\"funnels\":[{\"name\":\"h\",\"window_hours\":8784,\"steps\":["
            "{\"name\":\"1\",\"event_type\":\"ha\"},{\"name\":\"2\",\"event_type\":\"hb\"},"
            "{\"name\":\"3\",\"event_type\":\"hc\"},{\"name\":\"4\",\"event_type\":\"hd\"},"
            "{\"name\":\"5\",\"event_type\":\"he\"},{\"name\":\"6\",\"event_type\":\"hf\"}]}]}");
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s = fx_session(&f, "s1", "fp");
    for (int i = 0; i < 6; i++) {
        ts += gap_ms[i];
        fx_apply(&f, &e[i], v, s, types[i], types[i], NULL, ts, CH_DIRECT, DEV_DESKTOP);
    }
    assert_int_equal(f.out.rollup.n, 6);
    for (int i = 0; i < 6; i++) {
        const struct rollup_delta *d = get_delta(&f.out, 0, DAY0, i, CH_DIRECT, DEV_DESKTOP);
        check_counts(d, 1, 1, 0, 0);
        if (bucket[i] < 0) {
            check_no_since_prev(d);
        } else {
            check_one_since_prev(d, (double)gap_ms[i] / 1000.0, bucket[i]);
        }
    }
    fx_fini(&f);
    jstate_session_free(s);
    jstate_visitor_free(v);
}

static void test_funnel_inferred(void **state)
{
    struct fx f;
    struct tev e[5];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *va = fx_visitor(&f, "fp-a"), *vb = fx_visitor(&f, "fp-b");
    struct jstate_session *sa = fx_session(&f, "sa", "fp-a"), *sb = fx_session(&f, "sb", "fp-b");

    /* Straight from the service page to a completed booking. */
    fx_apply(&f, &e[0], va, sa, "a1", "page_view", "service", T0, CH_DIRECT, DEV_DESKTOP);
    size_t first = f.out.nmsgs;
    fx_apply(&f, &e[1], va, sa, "a2", "booking_completed", NULL, T0 + MIN_MS, CH_DIRECT,
             DEV_DESKTOP);
    /* The stage change, then the steps in order. */
    assert_int_equal(f.out.nmsgs, first + 4);
    check_step_msg(&f.out, first + 1, "a2", "booking", 2, "interest: pricing viewed", true);
    check_step_msg(&f.out, first + 2, "a2", "booking", 3, "consideration: booking started", true);
    check_step_msg(&f.out, first + 3, "a2", "booking", 4, "conversion: booking completed", false);
    assert_int_equal(va->funnels[0].p.inferred, (1u << B_PRICING) | (1u << B_STARTED));

    const struct rollup_delta *d = get_delta(&f.out, 0, DAY0, B_PRICING, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 1, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_STARTED, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 1, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_DONE, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_no_since_prev(d); /* the step before was inferred */

    /* Pricing skipped: booking started is counted but not timed, the
     * completion after it is. */
    fx_apply(&f, &e[2], vb, sb, "b1", "page_view", "service", T0, CH_DIRECT, DEV_DESKTOP);
    fx_apply(&f, &e[3], vb, sb, "b2", "booking_started", NULL, T0 + 10 * SEC_MS, 0, 0);
    fx_apply(&f, &e[4], vb, sb, "b3", "booking_completed", NULL, T0 + 70 * SEC_MS, 0, 0);
    assert_int_equal(f.out.rollup.n, 4);
    d = get_delta(&f.out, 0, DAY0, B_SERVICE, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 2, 2, 0, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_PRICING, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 2, 2, 2, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_STARTED, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 2, 2, 1, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, B_DONE, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 2, 2, 0, 0);
    check_one_since_prev(d, 60, 11);
    assert_int_equal(f.out.stats.funnel_steps, 8);

    fx_fini(&f);
    jstate_session_free(sa);
    jstate_session_free(sb);
    jstate_visitor_free(va);
    jstate_visitor_free(vb);
}

/* A session counts once per step however many attempts reach the step in
 * it; an attempt counts on the day it started, under its session's channel
 * and device. */
static void test_funnel_sessions_and_key(void **state)
{
    struct fx f;
    struct tev e[9];
    const long long t = T0 + 7 * HOUR_MS + 30 * MIN_MS; /* 23:30 */
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp"), *s2 = fx_session(&f, "s2", "fp");

    fx_apply(&f, &e[0], v, s1, "h", "page_view", "home", t, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(&f, &e[1], v, s1, "e1", "page_view", "service", t + MIN_MS, CH_INTERNAL, DEV_MOBILE);
    fx_apply(&f, &e[2], v, s1, "e2", "page_view", "pricing", t + HOUR_MS, 0, 0); /* the next day */
    fx_apply(&f, &e[3], v, s1, "e3", "booking_started", NULL, t + HOUR_MS + MIN_MS, 0, 0);
    fx_apply(&f, &e[4], v, s1, "e4", "booking_completed", NULL, t + HOUR_MS + 2 * MIN_MS, 0, 0);
    assert_int_equal(s1->funnel_steps[0], 0xf);
    /* A second attempt in the same session, started the next day. */
    fx_apply(&f, &e[5], v, s1, "e5", "page_view", "service", t + HOUR_MS + 3 * MIN_MS, 0, 0);
    assert_int_equal(v->funnels[0].day, DAY0 + 1);
    assert_int_equal(v->funnels[0].channel, CH_ORGANIC);
    fx_apply(&f, &e[6], v, s1, "e6", "page_view", "pricing", t + HOUR_MS + 4 * MIN_MS, 0, 0);
    /* It goes on in a session with another channel. */
    fx_apply(&f, &e[7], v, s2, "e7", "page_view", "home", t + 3 * HOUR_MS, CH_EMAIL, DEV_MOBILE);
    fx_apply(&f, &e[8], v, s2, "e8", "booking_started", NULL, t + 3 * HOUR_MS + 31 * MIN_MS, 0, 0);

    assert_int_equal(f.out.rollup.n, 7);
    for (int k = B_SERVICE; k <= B_DONE; k++) {
        check_counts(get_delta(&f.out, 0, DAY0, k, CH_ORGANIC, DEV_DESKTOP), 1, 1, 0, 0);
    }
    const struct rollup_delta *d =
        get_delta(&f.out, 0, DAY0 + 1, B_SERVICE, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 0, 0, 0); /* s1 counted at this step already */
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0 + 1, B_PRICING, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 0, 0, 0);
    check_one_since_prev(d, 60, 11);
    d = get_delta(&f.out, 0, DAY0 + 1, B_STARTED, CH_ORGANIC, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);                     /* s2 had not reached it */
    check_one_since_prev(d, 2 * 3600 + 27 * 60, 25); /* 8820 s: [7200, 10800) */
    assert_null(find_delta(&f.out, 0, DAY0 + 1, B_DONE, CH_ORGANIC, DEV_DESKTOP));
    assert_int_equal(s1->funnel_steps[0], 0xf);
    assert_int_equal(s2->funnel_steps[0], 1u << B_STARTED);
    assert_string_equal(v->funnels[0].session_id, "s2");
    assert_int_equal(v->funnels[0].abandon_at_ms, t + 3 * HOUR_MS + 31 * MIN_MS + B_ABANDON_MS);

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_visitor_free(v);
}

static void test_funnel_any_order(void **state)
{
    struct fx f;
    struct tev e[5];
    (void)state;

    fx_init(&f, "{\"version\":1,\"funnels\":[{\"name\":\"signup\",\"order\":\"any\","
                "\"window_hours\":24,\"steps\":["
                "{\"name\":\"plans\",\"event_type\":\"page_view\",\"page_type\":\"pricing\"},"
                "{\"name\":\"form\",\"event_type\":\"form_start\"},"
                "{\"name\":\"done\",\"event_type\":\"signup\"}]}]}");
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s = fx_session(&f, "s1", "fp");

    fx_apply(&f, &e[0], v, s, "e1", "form_start", "contact", T0, CH_DIRECT, DEV_DESKTOP);
    fx_apply(&f, &e[1], v, s, "e2", "page_view", "pricing", T0 + 10 * SEC_MS, 0, 0);
    fx_apply(&f, &e[2], v, s, "e3", "form_start", "contact", T0 + 15 * SEC_MS, 0, 0); /* reached */
    fx_apply(&f, &e[3], v, s, "e4", "signup", NULL, T0 + 20 * SEC_MS, 0, 0);
    assert_int_equal(count_kind(&f.out, K_STEP), 3);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 0), "e1", "signup", 2, "form", false);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 1), "e2", "signup", 1, "plans", false);
    check_step_msg(&f.out, find_kind(&f.out, K_STEP, 2), "e4", "signup", 3, "done", false);
    assert_int_equal(v->funnels[0].p.inferred, 0);

    /* Rows are levels: row k counts the attempts that reached k + 1
     * distinct steps, whichever they were; the time is from the previous
     * distinct step reached. */
    const struct rollup_delta *d = get_delta(&f.out, 0, DAY0, 0, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_no_since_prev(d);
    d = get_delta(&f.out, 0, DAY0, 1, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_one_since_prev(d, 10, 6); /* plans, 10 s after the form: [10, 15) */
    d = get_delta(&f.out, 0, DAY0, 2, CH_DIRECT, DEV_DESKTOP);
    check_counts(d, 1, 1, 0, 0);
    check_one_since_prev(d, 10, 6); /* done, 10 s after plans */
    assert_true(funnel_completed(&f.funnels.funnels[0], &v->funnels[0].p));
    assert_int_equal(funnel_level(&f.funnels.funnels[0], &v->funnels[0].p), 2);
    /* Each hit names its visitor and row, for the distinct counts. */
    assert_int_equal(f.out.nreach, 3);
    for (size_t i = 0; i < f.out.nreach; i++) {
        assert_int_equal(f.out.reach[i].key.step, (int)i);
        assert_int_equal(f.out.reach[i].key.day, DAY0);
        assert_ptr_equal(f.out.reach[i].fingerprint, v->fingerprint);
        assert_false(f.out.reach[i].inferred);
    }

    /* Completed (every step reached): the form again starts another
     * attempt, at level 1 again. */
    fx_apply(&f, &e[4], v, s, "e5", "form_start", NULL, T0 + 30 * SEC_MS, 0, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 0, CH_DIRECT, DEV_DESKTOP), 2, 1, 0, 0);
    assert_int_equal(v->funnels[0].p.started_ms, T0 + 30 * SEC_MS);
    assert_int_equal(f.out.nreach, 4);
    assert_int_equal(f.out.reach[3].key.step, 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 0);

    fx_fini(&f);
    jstate_session_free(s);
    jstate_visitor_free(v);
}

/* A one-hour window: an event past it starts a new attempt, and the one it
 * replaces is counted abandoned when it had reached abandon_from without
 * completing. */
static void test_window_expiry(void **state)
{
    struct fx f;
    struct tev e[7];
    (void)state;

    fx_init(&f,
            "{\"version\":1,\"funnels\":[{\"name\":\"w\",\"window_hours\":1,"
            "\"abandon_from_step\":2,\"steps\":[{\"name\":\"wa\",\"event_type\":\"wa\"},"
            "{\"name\":\"wb\",\"event_type\":\"wb\"},{\"name\":\"wc\",\"event_type\":\"wc\"}]}]}");
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp"), *s2 = fx_session(&f, "s2", "fp");
    const struct jstate_funnel *fs = &v->funnels[0];

    tev_set(&e[0], v, s1, "e1", "wa", NULL, T0, CH_ORGANIC, DEV_DESKTOP);
    e[0].ev.user_id = "u1";
    fx_run(&f, v, s1, &e[0]);
    fx_apply(&f, &e[1], v, s1, "e2", "wb", NULL, T0 + 10 * MIN_MS, 0, 0);
    assert_int_equal(fs->abandon_at_ms, 0); /* abandoned only at session close */
    check_one_since_prev(get_delta(&f.out, 0, DAY0, 1, CH_ORGANIC, DEV_DESKTOP), 600, 18);
    /* At the window's end exactly: the same attempt (wa reached already). */
    size_t n = f.out.nmsgs;
    fx_apply(&f, &e[2], v, s1, "e3", "wa", NULL, T0 + HOUR_MS, 0, 0);
    assert_int_equal(f.out.nmsgs, n);
    assert_int_equal(fs->p.started_ms, T0);

    /* Past it: a new attempt, and the old one abandoned at wb. */
    fx_apply(&f, &e[3], v, s2, "e4", "wa", NULL, T0 + HOUR_MS + 1, CH_EMAIL, DEV_MOBILE);
    assert_int_equal(f.out.nmsgs, n + 2);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, n);
    assert_int_equal(u->kind, K_ABANDONED);
    assert_string_equal(u->cause_event_id, "e4");
    assert_int_equal(u->ts_ms, T0 + HOUR_MS + 1);
    assert_string_equal(u->funnel, "w");
    assert_int_equal(u->funnel_step, 2);
    assert_string_equal(u->funnel_step_name, "wb");
    assert_string_equal(u->session_id, "s1");
    assert_null(u->session);
    upd_free(u);
    check_step_msg(&f.out, n + 1, "e4", "w", 1, "wa", false);
    check_counts(get_delta(&f.out, 0, DAY0, 1, CH_ORGANIC, DEV_DESKTOP), 1, 1, 0, 1);
    check_counts(get_delta(&f.out, 0, DAY0, 0, CH_ORGANIC, DEV_DESKTOP), 1, 1, 0, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 0, CH_EMAIL, DEV_MOBILE), 1, 1, 0, 0);
    assert_int_equal(fs->p.started_ms, T0 + HOUR_MS + 1);
    assert_false(fs->p.abandoned);
    assert_int_equal(fs->channel, CH_EMAIL);
    assert_string_equal(fs->session_id, "s2");
    assert_int_equal(f.out.stats.abandoned, 1);

    /* Completed (wb inferred), then replaced: not abandoned. */
    fx_apply(&f, &e[4], v, s2, "e5", "wc", NULL, T0 + HOUR_MS + 5 * MIN_MS, 0, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 1, CH_EMAIL, DEV_MOBILE), 1, 1, 1, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 2, CH_EMAIL, DEV_MOBILE), 1, 1, 0, 0);
    fx_apply(&f, &e[5], v, s2, "e6", "wa", NULL, T0 + 3 * HOUR_MS, 0, 0);
    /* Expired short of abandon_from, then replaced: not abandoned either. */
    fx_apply(&f, &e[6], v, s2, "e7", "wa", NULL, T0 + 5 * HOUR_MS, 0, 0);
    check_counts(get_delta(&f.out, 0, DAY0, 0, CH_EMAIL, DEV_MOBILE), 3, 1, 0, 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1);
    assert_int_equal(f.out.stats.abandoned, 1);

    /* The abandoned attempt's session closing does not count it again. */
    assert_int_equal(apply_close_session(&f.ctx, v, s1, &f.out), 0);
    assert_int_equal(apply_close_session(&f.ctx, v, s2, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1);
    assert_int_equal(get_delta(&f.out, 0, DAY0, 1, CH_ORGANIC, DEV_DESKTOP)->abandoned, 1);

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_visitor_free(v);
}

/* ---- abandonment ---- */

/* service, pricing and booking started for visitor v: the first in sa, the
 * others in sb, from t a minute apart; channel organic, desktop. */
static void booking_to_started(struct fx *f, struct jstate_visitor *v, struct jstate_session *sa,
                               struct jstate_session *sb, struct tev *e, const char *const *ids,
                               long long t)
{
    tev_set(&e[0], v, sa, ids[0], "page_view", "service", t, CH_ORGANIC, DEV_DESKTOP);
    e[0].ev.user_id = "u1";
    fx_run(f, v, sa, &e[0]);
    fx_apply(f, &e[1], v, sb, ids[1], "page_view", "pricing", t + MIN_MS, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(f, &e[2], v, sb, ids[2], "booking_started", NULL, t + 2 * MIN_MS, CH_ORGANIC,
             DEV_DESKTOP);
}

static void test_abandon_at_close(void **state)
{
    static const char *const ida[] = {"a1", "a2", "a3"}, *const idb[] = {"b1", "b2", "b3"};
    struct fx f;
    struct tev ea[3], eb[3], ec[2];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *va = fx_visitor(&f, "fp-a"), *vb = fx_visitor(&f, "fp-b"),
                          *vc = fx_visitor(&f, "fp-c");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp-a"), *s2 = fx_session(&f, "s2", "fp-b"),
                          *s3 = fx_session(&f, "s3", "fp-b"), *s4 = fx_session(&f, "s4", "fp-c");

    booking_to_started(&f, va, s1, s1, ea, ida, T0);
    assert_int_equal(va->funnels[0].abandon_at_ms, T0 + 2 * MIN_MS + B_ABANDON_MS);
    size_t n = f.out.nmsgs;
    assert_int_equal(apply_close_session(&f.ctx, va, s1, &f.out), 0);
    assert_int_equal(f.out.nmsgs, n + 2);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, n);
    assert_int_equal(u->kind, K_CLOSED);
    upd_free(u);
    u = upd_at(&f.out, n + 1);
    assert_int_equal(u->kind, K_ABANDONED);
    assert_string_equal(u->fingerprint, "fp-a");
    assert_string_equal(u->cause_event_id, "a3");
    assert_int_equal(u->ts_ms, T0 + 2 * MIN_MS);
    assert_string_equal(u->funnel, "booking");
    assert_int_equal(u->funnel_step, 3);
    assert_string_equal(u->funnel_step_name, "consideration: booking started");
    assert_string_equal(u->session_id, "s1");
    assert_string_equal(u->user_id, "u1");
    assert_non_null(u->session);
    assert_string_equal(u->session->session_id, "s1");
    assert_int_equal(u->session->page_views, 2);
    assert_int_equal(u->session->events, 3);
    assert_int_equal(u->session->start_ts_ms, T0);
    assert_int_equal(u->session->end_ts_ms, T0 + 2 * MIN_MS);
    assert_int_equal(u->session->channel, CH_ORGANIC);
    assert_false(u->session->converted);
    upd_free(u);
    check_counts(get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP), 1, 1, 0, 1);
    assert_int_equal(get_delta(&f.out, 0, DAY0, B_PRICING, CH_ORGANIC, DEV_DESKTOP)->abandoned, 0);
    assert_true(va->funnels[0].p.abandoned);
    assert_int_equal(va->funnels[0].abandon_at_ms, 0);
    assert_int_equal(f.out.stats.abandoned, 1);
    /* Not again by time. */
    n = f.out.nmsgs;
    assert_int_equal(apply_abandon_due(&f.ctx, va, s1, T0 + 10 * HOUR_MS, &f.out), 0);
    assert_int_equal(f.out.nmsgs, n);

    /* Only the session of the latest step abandons an attempt. */
    booking_to_started(&f, vb, s2, s3, eb, idb, T0);
    n = f.out.nmsgs;
    assert_int_equal(apply_close_session(&f.ctx, vb, s2, &f.out), 0);
    assert_int_equal(f.out.nmsgs, n + 1);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1);
    assert_int_equal(apply_close_session(&f.ctx, vb, s3, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 2);
    u = upd_at(&f.out, f.out.nmsgs - 1);
    assert_int_equal(u->kind, K_ABANDONED);
    assert_string_equal(u->cause_event_id, "b3");
    assert_string_equal(u->session->session_id, "s3");
    upd_free(u);

    /* Short of abandon_from: nothing to abandon. */
    fx_apply(&f, &ec[0], vc, s4, "c1", "page_view", "service", T0, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(&f, &ec[1], vc, s4, "c2", "page_view", "pricing", T0 + MIN_MS, 0, 0);
    assert_int_equal(apply_close_session(&f.ctx, vc, s4, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 2);
    assert_int_equal(f.out.stats.abandoned, 2);
    check_counts(get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP), 2, 2, 0, 2);
    check_counts(get_delta(&f.out, 0, DAY0, B_PRICING, CH_ORGANIC, DEV_DESKTOP), 3, 3, 0, 0);

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_session_free(s3);
    jstate_session_free(s4);
    jstate_visitor_free(va);
    jstate_visitor_free(vb);
    jstate_visitor_free(vc);
}

static void test_abandon_by_time(void **state)
{
    static const char *const ida[] = {"a1", "a2", "a3"}, *const idb[] = {"b1", "b2", "b3"},
                             *const idc[] = {"c1", "c2", "c3"};
    const long long due = T0 + 2 * MIN_MS + B_ABANDON_MS;
    struct fx f;
    struct tev ea[4], eb[3], ec[4];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *va = fx_visitor(&f, "fp-a"), *vb = fx_visitor(&f, "fp-b"),
                          *vc = fx_visitor(&f, "fp-c");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp-a"), *s2 = fx_session(&f, "s2", "fp-b"),
                          *s3 = fx_session(&f, "s3", "fp-c");
    struct jstate_funnel *fa = &va->funnels[0];

    booking_to_started(&f, va, s1, s1, ea, ida, T0);
    assert_int_equal(fa->abandon_at_ms, due);
    apply_out_reset(&f.out);

    /* Not before it is due. */
    assert_int_equal(apply_abandon_due(&f.ctx, va, s1, due - 1, &f.out), 0);
    assert_int_equal(f.out.nmsgs, 0);
    assert_int_equal(f.out.nvisitors, 0);
    assert_int_equal(f.out.rollup.n, 0);
    assert_int_equal(fa->abandon_at_ms, due);
    assert_false(fa->dirty);

    assert_int_equal(apply_abandon_due(&f.ctx, va, s1, due, &f.out), 0);
    assert_int_equal(f.out.nmsgs, 1);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, 0);
    assert_int_equal(u->kind, K_ABANDONED);
    assert_string_equal(u->cause_event_id, "");
    assert_int_equal(u->ts_ms, due);
    assert_string_equal(u->funnel, "booking");
    assert_int_equal(u->funnel_step, 3);
    assert_string_equal(u->funnel_step_name, "consideration: booking started");
    assert_string_equal(u->session_id, "s1");
    assert_string_equal(u->user_id, "u1");
    assert_non_null(u->session);
    assert_string_equal(u->session->session_id, "s1");
    assert_int_equal(u->session->events, 3);
    upd_free(u);
    assert_int_equal(f.out.rollup.n, 1);
    check_counts(get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP), 0, 0, 0, 1);
    assert_int_equal(fa->abandon_at_ms, 0);
    assert_true(fa->p.abandoned);
    assert_true(fa->dirty);
    assert_int_equal(f.out.nvisitors, 1);
    assert_ptr_equal(f.out.visitors[0], va);
    assert_int_equal(f.out.stats.abandoned, 1);

    /* Never twice: not by time, not at the session's close, not on
     * going on (the booking completed after all). */
    assert_int_equal(apply_abandon_due(&f.ctx, va, s1, due + 10 * HOUR_MS, &f.out), 0);
    assert_int_equal(apply_close_session(&f.ctx, va, s1, &f.out), 0);
    fx_apply(&f, &ea[3], va, s1, "a4", "booking_completed", NULL, due + HOUR_MS, 0, 0);
    assert_int_equal(fa->abandon_at_ms, 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1);
    assert_int_equal(f.out.stats.abandoned, 1);

    /* The session unknown, or another one: no summary. */
    booking_to_started(&f, vb, s2, s2, eb, idb, T0);
    size_t n = f.out.nmsgs;
    assert_int_equal(apply_abandon_due(&f.ctx, vb, s1, due, &f.out), 0);
    assert_int_equal(f.out.nmsgs, n + 1);
    u = upd_at(&f.out, n);
    assert_int_equal(u->kind, K_ABANDONED);
    assert_string_equal(u->fingerprint, "fp-b");
    assert_string_equal(u->session_id, "s2");
    assert_string_equal(u->user_id, "");
    assert_null(u->session);
    upd_free(u);
    assert_true(vb->funnels[0].p.abandoned);

    /* Completed before it fell due: cleared, never counted. */
    booking_to_started(&f, vc, s3, s3, ec, idc, T0);
    fx_apply(&f, &ec[3], vc, s3, "c4", "booking_completed", NULL, T0 + 30 * MIN_MS, 0, 0);
    assert_int_equal(vc->funnels[0].abandon_at_ms, 0);
    n = f.out.nmsgs;
    assert_int_equal(apply_abandon_due(&f.ctx, vc, s3, due + HOUR_MS, &f.out), 0);
    assert_int_equal(f.out.nmsgs, n);
    /* A due time left from before the completion (read back) is cleared. */
    apply_out_reset(&f.out);
    vc->funnels[0].abandon_at_ms = due;
    assert_int_equal(apply_abandon_due(&f.ctx, vc, NULL, due, &f.out), 0);
    assert_int_equal(f.out.nmsgs, 0);
    assert_int_equal(f.out.rollup.n, 0);
    assert_int_equal(vc->funnels[0].abandon_at_ms, 0);
    assert_false(vc->funnels[0].p.abandoned);
    assert_true(vc->funnels[0].dirty);
    assert_int_equal(f.out.nvisitors, 1);
    assert_ptr_equal(f.out.visitors[0], vc);
    assert_int_equal(f.out.stats.abandoned, 0);

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_session_free(s3);
    jstate_visitor_free(va);
    jstate_visitor_free(vb);
    jstate_visitor_free(vc);
}

/* ---- the output ---- */

static void test_out_reset(void **state)
{
    static const char *const ids[] = {"e1", "e2", "e3"};
    struct fx f;
    struct tev e[4];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp");
    struct jstate_session *s1 = fx_session(&f, "s1", "fp"), *s2 = fx_session(&f, "s2", "fp");

    booking_to_started(&f, v, s1, s2, e, ids, T0);
    assert_int_equal(apply_close_session(&f.ctx, v, s2, &f.out), 0);
    assert_true(s1->listed);
    assert_true(s2->listed);
    assert_true(v->listed);
    assert_true(v->funnels[0].dirty);
    assert_int_equal(f.out.nsessions, 2);
    assert_int_equal(f.out.nvisitors, 1);
    assert_int_equal(f.out.nrows, 3);
    assert_int_equal(f.out.nspent, 1); /* e1: across sessions; e2 and e3 in their rows */
    assert_true(f.out.nmsgs > 0);
    assert_true(f.out.rollup.n > 0);

    apply_out_reset(&f.out);
    assert_false(s1->listed);
    assert_false(s2->listed);
    assert_false(v->listed);
    assert_false(v->funnels[0].dirty);
    assert_int_equal(f.out.nrows, 0);
    assert_int_equal(f.out.nspent, 0);
    assert_int_equal(f.out.nmsgs, 0);
    assert_int_equal(f.out.nsessions, 0);
    assert_int_equal(f.out.nvisitors, 0);
    assert_int_equal(f.out.rollup.n, 0);
    assert_int_equal(f.out.stats.touchpoints, 0);
    assert_int_equal(f.out.stats.stage_changes, 0);
    assert_int_equal(f.out.stats.funnel_steps, 0);
    assert_int_equal(f.out.stats.sessions_closed, 0);
    assert_int_equal(f.out.stats.abandoned, 0);

    /* Listed again by the next batch. */
    fx_apply(&f, &e[3], v, s1, "e4", "scroll", NULL, T0 + 5 * MIN_MS, 0, 0);
    assert_int_equal(f.out.nsessions, 1);
    assert_ptr_equal(f.out.sessions[0], s1);
    assert_true(s1->listed);
    assert_false(s2->listed);
    assert_int_equal(f.out.nvisitors, 0); /* no funnel step */

    fx_fini(&f);
    jstate_session_free(s1);
    jstate_session_free(s2);
    jstate_visitor_free(v);
}

/* ---- rollup ---- */

static void check_key(const struct rollup_key *got, const struct rollup_key *want)
{
    assert_int_equal(got->funnel, want->funnel);
    assert_int_equal(got->day, want->day);
    assert_int_equal(got->step, want->step);
    assert_int_equal(got->channel, want->channel);
    assert_int_equal(got->device_type, want->device_type);
}

static struct rollup_key key_of(int i)
{
    return (struct rollup_key){i % 3, DAY0 + i / 60, i % 4, i % 8, i % 5};
}

static void test_rollup(void **state)
{
    struct rollup r;
    struct rollup_key k = {0, DAY0, 1, CH_ORGANIC, DEV_DESKTOP};
    (void)state;

    rollup_init(&r);
    struct rollup_delta *d = rollup_at(&r, &k);
    assert_non_null(d);
    assert_int_equal(r.n, 1);
    assert_int_equal(d->attempts, 0);
    check_key(&d->key, &k);
    d->attempts = 5;
    assert_ptr_equal(rollup_at(&r, &k), d);
    assert_int_equal(r.n, 1);
    /* Each field tells keys apart. */
    struct rollup_key others[] = {{1, DAY0, 1, CH_ORGANIC, DEV_DESKTOP},
                                  {0, DAY0 + 1, 1, CH_ORGANIC, DEV_DESKTOP},
                                  {0, DAY0, 2, CH_ORGANIC, DEV_DESKTOP},
                                  {0, DAY0, 1, CH_EMAIL, DEV_DESKTOP},
                                  {0, DAY0, 1, CH_ORGANIC, DEV_MOBILE}};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        struct rollup_delta *o = rollup_at(&r, &others[i]);
        assert_non_null(o);
        assert_int_equal(o->attempts, 0);
        o->attempts = 100 + (long long)i;
        assert_int_equal(r.n, i + 2);
    }
    assert_int_equal(rollup_at(&r, &k)->attempts, 5);
    assert_int_equal(rollup_at(&r, &others[2])->attempts, 102);

    /* Growth past 64 and 128 deltas keeps every value. */
    rollup_reset(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(rollup_at(&r, &k)->attempts, 0); /* forgotten */
    rollup_fini(&r);
    assert_null(r.d);
    for (int i = 0; i < 300; i++) {
        struct rollup_key ki = key_of(i);
        d = rollup_at(&r, &ki);
        assert_non_null(d);
        assert_int_equal(d->attempts, 0);
        d->attempts = i + 1;
        d->hist[i % ROLLUP_HIST_BUCKETS] = i;
        assert_int_equal(r.n, (size_t)i + 1);
        if (i == 63 || i == 64 || i == 127 || i == 128 || i == 299) {
            for (int j = 0; j <= i; j++) {
                struct rollup_key kj = key_of(j);
                d = rollup_at(&r, &kj);
                assert_int_equal(d->attempts, j + 1);
                assert_int_equal(d->hist[j % ROLLUP_HIST_BUCKETS], j);
                check_key(&d->key, &kj);
            }
            assert_int_equal(r.n, (size_t)i + 1);
        }
    }
    rollup_fini(&r);
    assert_int_equal(r.n, 0);
    rollup_fini(&r);
}

static void test_rollup_hist(void **state)
{
    struct rollup_delta d;
    (void)state;

    assert_int_equal(rollup_hist_bucket(0), 0);
    assert_int_equal(rollup_hist_bucket(0.999), 0);
    assert_int_equal(rollup_hist_bucket(1), 1);
    assert_int_equal(rollup_hist_bucket(1.5), 1);
    assert_int_equal(rollup_hist_bucket(2), 2);
    assert_int_equal(rollup_hist_bucket(604799.999), ROLLUP_HIST_BUCKETS - 2);
    assert_int_equal(rollup_hist_bucket(604800), ROLLUP_HIST_BUCKETS - 1);
    assert_int_equal(rollup_hist_bucket(1e12), ROLLUP_HIST_BUCKETS - 1);
    /* Every bound starts its own bucket. */
    for (int i = 0; i < ROLLUP_HIST_BUCKETS - 1; i++) {
        assert_int_equal(rollup_hist_bucket(rollup_hist_bounds[i]), i + 1);
        if (i > 0) {
            assert_true(rollup_hist_bounds[i] > rollup_hist_bounds[i - 1]);
        }
    }

    memset(&d, 0, sizeof(d));
    rollup_add_since_prev(&d, 999);
    rollup_add_since_prev(&d, 1000);
    rollup_add_since_prev(&d, 90500);
    assert_int_equal(d.since_prev_n, 3);
    assert_near(d.since_prev_sum_s, 92.499);
    assert_int_equal(d.hist[0], 1);
    assert_int_equal(d.hist[1], 1);
    assert_int_equal(d.hist[12], 1); /* [90, 120) */
}

/* ---- jcache ---- */

struct item {
    int id;
    int *freed; /* counts the frees */
    int *last;  /* the id freed last */
};

static void item_free(void *p)
{
    struct item *it = p;

    if (it == NULL) {
        return;
    }
    (*it->freed)++;
    *it->last = it->id;
    free(it);
}

static struct item *item_new(int id, int *freed, int *last)
{
    struct item *it = malloc(sizeof(*it));

    assert_non_null(it);
    *it = (struct item){id, freed, last};
    return it;
}

static void sum_ids(void *val, void *arg)
{
    *(int *)arg += ((struct item *)val)->id;
}

static void test_jcache(void **state)
{
    int freed = 0, last = 0, sum = 0;
    char key[32];
    (void)state;

    struct jcache *c = jcache_new(3, item_free);
    assert_non_null(c);
    assert_null(jcache_get(c, "a"));
    assert_int_equal(jcache_count(c), 0);
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(jcache_put(c, names[i], item_new(i + 1, &freed, &last)), 0);
    }
    assert_int_equal(jcache_count(c), 5); /* eviction only in trim */
    assert_int_equal(((struct item *)jcache_get(c, "b"))->id, 2);

    /* Replacing frees the old value; the same value again is kept. */
    struct item *c2 = item_new(30, &freed, &last);
    assert_int_equal(jcache_put(c, "c", c2), 0);
    assert_int_equal(freed, 1);
    assert_int_equal(last, 3);
    assert_int_equal(jcache_put(c, "c", c2), 0);
    assert_int_equal(freed, 1);
    assert_ptr_equal(jcache_get(c, "c"), c2);
    assert_int_equal(jcache_count(c), 5);

    /* Recency now, oldest first: a d e b c. a looked up: d e b c a. */
    assert_non_null(jcache_get(c, "a"));
    jcache_trim(c);
    assert_int_equal(jcache_count(c), 3);
    assert_int_equal(freed, 3);
    assert_null(jcache_get(c, "d"));
    assert_null(jcache_get(c, "e"));
    assert_int_equal(last, 5);
    jcache_each(c, sum_ids, &sum);
    assert_int_equal(sum, 2 + 30 + 1);
    jcache_trim(c);
    assert_int_equal(freed, 3);

    jcache_clear(c);
    assert_int_equal(jcache_count(c), 0);
    assert_int_equal(freed, 6);
    assert_null(jcache_get(c, "a"));
    sum = 0;
    jcache_each(c, sum_ids, &sum);
    assert_int_equal(sum, 0);

    /* Beyond one entry per bucket (1024): the table grows, nothing lost. */
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(jcache_put(c, key, item_new(i, &freed, &last)), 0);
    }
    assert_int_equal(jcache_count(c), 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        struct item *it = jcache_get(c, key);
        assert_non_null(it);
        assert_int_equal(it->id, i);
    }
    /* All looked up in order: the first 2997 are the least recent. */
    jcache_trim(c);
    assert_int_equal(jcache_count(c), 3);
    assert_int_equal(freed, 6 + 2997);
    assert_null(jcache_get(c, "k2996"));
    assert_non_null(jcache_get(c, "k2997"));
    assert_non_null(jcache_get(c, "k2999"));
    jcache_free(c);
    assert_int_equal(freed, 6 + 3000);
    jcache_free(NULL);
}

/* ---- jstate ---- */

static void test_jstate(void **state)
{
    char *slot = NULL;
    (void)state;

    assert_int_equal(jstate_set_str(&slot, "x"), 0);
    assert_string_equal(slot, "x");
    assert_int_equal(jstate_set_str(&slot, slot), 0); /* itself */
    assert_string_equal(slot, "x");
    assert_int_equal(jstate_set_str(&slot, ""), 0);
    assert_null(slot);
    assert_int_equal(jstate_set_str(&slot, NULL), 0);
    assert_null(slot);

    struct jstate_visitor *v = jstate_visitor_new("fp", 7, 2);
    assert_non_null(v);
    assert_string_equal(v->fingerprint, "fp");
    assert_int_equal(v->partition, 7);
    assert_int_equal(v->stage, -1);
    assert_int_equal(v->seq, 0);
    assert_int_equal(v->nfunnels, 2);
    assert_int_equal(v->funnels[1].p.furthest, -1);
    assert_int_equal(v->funnels[1].p.started_ms, 0);
    assert_int_equal(jstate_visitor_set_tp(v, "e1", "s1", T0), 0);
    assert_string_equal(v->tp_event_id, "e1");
    assert_string_equal(v->tp_session_id, "s1");
    assert_int_equal(v->tp_ms, T0);
    assert_int_equal(jstate_visitor_set_tp(v, NULL, "s1", T0), 0);
    assert_null(v->tp_event_id);
    assert_null(v->tp_session_id);
    assert_int_equal(v->tp_ms, 0);
    assert_int_equal(jstate_set_str(&v->funnels[0].session_id, "s1"), 0);
    jstate_visitor_free(v);
    jstate_visitor_free(NULL);

    struct jstate_session *s = jstate_session_new("s1", "fp", 3, 2);
    assert_non_null(s);
    assert_string_equal(s->session_id, "s1");
    assert_int_equal(s->partition, 3);
    assert_int_equal(s->nfunnels, 2);
    assert_int_equal(s->funnel_steps[0] | s->funnel_steps[1], 0);
    assert_int_equal(s->s.events, 0);
    assert_false(s->listed);
    jstate_session_free(s);
    jstate_session_free(NULL);
}

/* ---- late events ---- */

/* A late event in a closed session reopens it: closed again, the summary
 * and the abandonment are those of both events arriving together. */
static void test_late_event_reopens(void **state)
{
    struct fx f;
    struct tev e[3], g[3];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *v = fx_visitor(&f, "fp-late"), *w = fx_visitor(&f, "fp-together");
    struct jstate_session *s = fx_session(&f, "late-s", "fp-late"),
                          *t = fx_session(&f, "together-s", "fp-together");

    fx_apply(&f, &e[0], v, s, "l1", "page_view", "service", T0, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(&f, &e[1], v, s, "l2", "page_view", "pricing", T0 + MIN_MS, CH_ORGANIC, DEV_DESKTOP);
    assert_int_equal(apply_close_session(&f.ctx, v, s, &f.out), 0);
    assert_true(s->s.closed);
    assert_false(v->funnels[0].p.abandoned); /* step 2: before abandon_from_step */
    assert_int_equal(count_kind(&f.out, K_CLOSED), 1);

    fx_apply(&f, &e[2], v, s, "l3", "booking_started", NULL, T0 + 2 * MIN_MS, CH_ORGANIC,
             DEV_DESKTOP);
    assert_false(s->s.closed);
    assert_int_equal(f.out.stats.reopened, 1);
    assert_int_equal(s->s.events, 3);
    assert_int_equal(s->s.end_ms, T0 + 2 * MIN_MS);
    /* The time on the pricing page, final at the close, moves to l3. */
    assert_int_equal(f.out.rows[1].time_spent_s, 60);
    assert_int_equal(apply_close_session(&f.ctx, v, s, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_CLOSED), 2);
    Analytics__V1__JourneyUpdate *u = upd_at(&f.out, find_kind(&f.out, K_CLOSED, 1));
    assert_int_equal(u->session->events, 3);
    assert_int_equal(u->session->end_ts_ms, T0 + 2 * MIN_MS);
    upd_free(u);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1);
    assert_true(v->funnels[0].p.abandoned);
    assert_int_equal(v->funnels[0].abandoned_ms, T0 + 2 * MIN_MS);

    /* The same three events together, one close. */
    fx_apply(&f, &g[0], w, t, "t1", "page_view", "service", T0, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(&f, &g[1], w, t, "t2", "page_view", "pricing", T0 + MIN_MS, CH_ORGANIC, DEV_DESKTOP);
    fx_apply(&f, &g[2], w, t, "t3", "booking_started", NULL, T0 + 2 * MIN_MS, CH_ORGANIC,
             DEV_DESKTOP);
    assert_int_equal(apply_close_session(&f.ctx, w, t, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 2);
    /* Both visitors counted alike: two attempts abandoned at step 3. */
    check_counts(get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP), 2, 2, 0, 2);
    assert_int_equal(get_delta(&f.out, 0, DAY0, B_PRICING, CH_ORGANIC, DEV_DESKTOP)->abandoned, 0);
    assert_int_equal(f.out.rows[4].time_spent_s, 60);

    fx_fini(&f);
    jstate_session_free(s);
    jstate_session_free(t);
    jstate_visitor_free(v);
    jstate_visitor_free(w);
}

/* An abandonment is taken back by an event that moves the attempt on from
 * before it (its session, reopened, or an older time); not by a visitor
 * coming back later. */
static void test_late_event_unabandons(void **state)
{
    static const char *const ida[] = {"a1", "a2", "a3"}, *const idb[] = {"b1", "b2", "b3"},
                             *const idc[] = {"c1", "c2", "c3"};
    struct fx f;
    struct tev ea[4], eb[4], ec[4];
    (void)state;

    fx_init(&f, NULL);
    struct jstate_visitor *va = fx_visitor(&f, "fp-a"), *vb = fx_visitor(&f, "fp-b"),
                          *vc = fx_visitor(&f, "fp-c");
    struct jstate_session *sa = fx_session(&f, "sa", "fp-a"), *sb = fx_session(&f, "sb", "fp-b"),
                          *sb2 = fx_session(&f, "sb2", "fp-b"), *sc = fx_session(&f, "sc", "fp-c"),
                          *sc2 = fx_session(&f, "sc2", "fp-c");
    const struct rollup_delta *d;

    /* a: abandoned at its session's close; the completion, late, in it. */
    booking_to_started(&f, va, sa, sa, ea, ida, T0);
    assert_int_equal(apply_close_session(&f.ctx, va, sa, &f.out), 0);
    assert_true(va->funnels[0].p.abandoned);
    fx_apply(&f, &ea[3], va, sa, "a4", "booking_completed", NULL, T0 + 3 * MIN_MS, CH_ORGANIC,
             DEV_DESKTOP);
    assert_false(va->funnels[0].p.abandoned);
    assert_int_equal(va->funnels[0].abandoned_ms, 0);
    assert_int_equal(f.out.stats.abandon_reverted, 1);
    d = get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP);
    assert_int_equal(d->abandoned, 0);
    assert_int_equal(apply_close_session(&f.ctx, va, sa, &f.out), 0);
    assert_int_equal(count_kind(&f.out, K_ABANDONED), 1); /* the first one only: completed */

    /* b: abandoned, then back two days later in a new session: it was
     * abandoned (and recovered), it stays counted. */
    booking_to_started(&f, vb, sb, sb, eb, idb, T0);
    assert_int_equal(apply_close_session(&f.ctx, vb, sb, &f.out), 0);
    fx_apply(&f, &eb[3], vb, sb2, "b4", "booking_completed", NULL, T0 + 48 * HOUR_MS, CH_ORGANIC,
             DEV_DESKTOP);
    assert_true(vb->funnels[0].p.abandoned);
    assert_int_equal(f.out.stats.abandon_reverted, 1);

    /* c: abandoned by time, an hour after its last step; an event from
     * before that, in another session, arrives late and completes it. */
    booking_to_started(&f, vc, sc, sc, ec, idc, T0);
    long long due = vc->funnels[0].abandon_at_ms;
    assert_int_equal(apply_abandon_due(&f.ctx, vc, sc, due, &f.out), 0);
    assert_true(vc->funnels[0].p.abandoned);
    assert_int_equal(vc->funnels[0].abandoned_ms, due);
    fx_apply(&f, &ec[3], vc, sc2, "c4", "booking_completed", NULL, due - 10 * MIN_MS, CH_ORGANIC,
             DEV_DESKTOP);
    assert_false(vc->funnels[0].p.abandoned);
    assert_int_equal(f.out.stats.abandon_reverted, 2);
    /* a and c taken back, b kept. */
    d = get_delta(&f.out, 0, DAY0, B_STARTED, CH_ORGANIC, DEV_DESKTOP);
    assert_int_equal(d->abandoned, 1);

    fx_fini(&f);
    jstate_session_free(sa);
    jstate_session_free(sb);
    jstate_session_free(sb2);
    jstate_session_free(sc);
    jstate_session_free(sc2);
    jstate_visitor_free(va);
    jstate_visitor_free(vb);
    jstate_visitor_free(vc);
}

/* The queue of what falls due: by time, closings first, then by key; a
 * thing not due yet stays. */
static void test_due_queue(void **state)
{
    static const char *const keys[] = {"s-b", "s-a", "v-a", "s-c", "s-a"};
    static const long long at[] = {50, 50, 50, 10, 90};
    static const enum due_kind kinds[] = {DUE_CLOSE, DUE_CLOSE, DUE_ABANDON, DUE_ABANDON,
                                          DUE_CLOSE};
    struct due_queue q;
    struct due_item it;
    (void)state;

    due_init(&q);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 200; i++) { /* past the first allocation */
            int k = (i * 7 + round) % 5;
            struct due_item in = {at[k] + (i / 5) * 1000, kinds[k], keys[k], NULL};
            assert_int_equal(due_push(&q, &in), 0);
        }
        assert_false(due_pop(&q, 9, &it));
        assert_true(due_pop(&q, 10, &it));
        assert_int_equal(it.at_ms, 10);
        assert_string_equal(it.key, "s-c");
        assert_false(due_pop(&q, 49, &it));
        const char *want[] = {"s-a", "s-b", "v-a"};
        for (int i = 0; i < 3; i++) {
            assert_true(due_pop(&q, 60, &it));
            assert_int_equal(it.at_ms, 50);
            assert_string_equal(it.key, want[i]);
        }
        assert_false(due_pop(&q, 60, &it));
        long long last = 0;
        size_t left = 0;
        while (due_pop(&q, 1LL << 40, &it)) {
            assert_true(it.at_ms >= last);
            last = it.at_ms;
            left++;
        }
        assert_int_equal(left, 200 - 4);
        due_clear(&q);
    }
    due_fini(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage_rows),
        cmocka_unit_test(test_time_spent),
        cmocka_unit_test(test_time_spent_past_batch),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_site_events),
        cmocka_unit_test(test_funnel_strict_path),
        cmocka_unit_test(test_funnel_hist_edges),
        cmocka_unit_test(test_funnel_inferred),
        cmocka_unit_test(test_funnel_sessions_and_key),
        cmocka_unit_test(test_funnel_any_order),
        cmocka_unit_test(test_window_expiry),
        cmocka_unit_test(test_abandon_at_close),
        cmocka_unit_test(test_abandon_by_time),
        cmocka_unit_test(test_out_reset),
        cmocka_unit_test(test_rollup),
        cmocka_unit_test(test_rollup_hist),
        cmocka_unit_test(test_jcache),
        cmocka_unit_test(test_late_event_reopens),
        cmocka_unit_test(test_late_event_unabandons),
        cmocka_unit_test(test_due_queue),
        cmocka_unit_test(test_jstate),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
