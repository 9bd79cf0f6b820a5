/* Unit tests for the load generator (tools/loadgen): the agent list, the
 * visitor generator (determinism, time order, variety, funnel, URLs that
 * deploy/config/pages.json classifies as intended, the visitor kinds' shares
 * and behaviour over weeks), the two event shapes (RawEvent and the
 * collector's JSON, checked with the collector's own parser) and the latency
 * histogram. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agents.h"
#include "gen.h"
#include "raw.h"
#include "stats.h"

#include "event.h"
#include "analytics/pbjson.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_EVENTS 20000
#define SITE "https://shop.example"
#define T0 1764000000000LL
#define IDLE_MS (30LL * 60 * 1000)

static struct loadgen_agents *g_agents; /* uap-core's test agents */
static char g_pages[1024];              /* deploy/config/pages.json of this tree */

static int group_setup(void **state)
{
    char err[256];

    (void)state;
    snprintf(g_pages, sizeof(g_pages), "%s/deploy/config/pages.json", ANALYTICS_TEST_SOURCE_DIR);
    g_agents = loadgen_agents_load(LOADGEN_AGENTS_FILE, err, sizeof(err));
    if (g_agents == NULL) {
        fprintf(stderr, "cannot load agents: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    loadgen_agents_free(g_agents);
    return 0;
}

static void params(struct loadgen_params *p, uint64_t seed, uint32_t visitors)
{
    loadgen_params_default(p);
    p->seed = seed;
    p->visitors = visitors;
    p->start_ms = T0;
    p->site = SITE;
}

/* Makes n events into a new array (caller frees). */
static struct loadgen_event *make_events(const struct loadgen_params *p, size_t n)
{
    struct loadgen_event *ev = calloc(n, sizeof(*ev));
    struct loadgen_gen *g = loadgen_gen_new(p, g_agents, NULL, 0);

    assert_non_null(ev);
    assert_non_null(g);
    for (size_t i = 0; i < n; i++) {
        loadgen_gen_next(g, &ev[i]);
    }
    loadgen_gen_free(g); /* the borrowed strings die with it: */
    for (size_t i = 0; i < n; i++) {
        ev[i].fingerprint = ev[i].user_agent = ev[i].client_ip = NULL;
    }
    return ev;
}

/* ---- agents ---- */

static void test_agents_from_uap_core(void **state)
{
    size_t nb = loadgen_agents_browsers(g_agents), total = loadgen_agents_total(g_agents);

    (void)state;
    assert_true(nb >= 300);
    assert_true(total > nb && total - nb >= 5);
    for (size_t i = 0; i < nb; i++) {
        const char *ua = loadgen_agents_get(g_agents, i);

        assert_false(loadgen_agents_is_bot(g_agents, i));
        assert_false(loadgen_agents_crawler_words(ua));
        assert_true(strncmp(ua, "Mozilla/", 8) == 0 || strncmp(ua, "Opera/", 6) == 0);
        if (i > 0) {
            assert_true(strcmp(loadgen_agents_get(g_agents, i - 1), ua) < 0); /* sorted, distinct */
        }
    }
    for (size_t i = nb; i < total; i++) {
        assert_true(loadgen_agents_is_bot(g_agents, i));
        assert_true(loadgen_agents_crawler_words(loadgen_agents_get(g_agents, i)));
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_agents_quoting_and_filter(void **state)
{
    char path[] = "/tmp/test_loadgen.XXXXXX";
    int fd = mkstemp(path);
    struct loadgen_agents *a;
    char err[256];

    (void)state;
    assert_true(fd != -1);
    close(fd);
    write_file(path, "test_cases:\n"
                     "  - user_agent_string: 'Mozilla/5.0 (X11; it''s) Firefox/99'\n"
                     "    family: 'Firefox'\n"
                     "  - user_agent_string: \"Mozilla/5.0 (Mac) Safari/1\"\n"
                     "  - user_agent_string: Opera/9.80 (Windows) Presto # comment\n"
                     "  - user_agent_string: 'Mozilla/5.0 (compatible; Googlebot/2.1)'\n"
                     "  - user_agent_string: 'curl/8.0'\n"
                     "  - user_agent_string: \"Mozilla/5.0 \\\"escaped\\\"\"\n"
                     "  - user_agent_string: 'Mozilla/5.0 (unterminated\n"
                     "  - user_agent_string: 'Mozilla/5.0 (Mac) Safari/1'\n");
    a = loadgen_agents_load(path, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(loadgen_agents_browsers(a), 3);
    assert_string_equal(loadgen_agents_get(a, 0), "Mozilla/5.0 (Mac) Safari/1");
    assert_string_equal(loadgen_agents_get(a, 1), "Mozilla/5.0 (X11; it's) Firefox/99");
    assert_string_equal(loadgen_agents_get(a, 2), "Opera/9.80 (Windows) Presto");
    loadgen_agents_free(a);

    write_file(path, "  - user_agent_string: 'curl/8.0'\n");
    assert_null(loadgen_agents_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "no browser"));
    unlink(path);
    assert_null(loadgen_agents_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    loadgen_agents_free(NULL);
}

/* ---- the generator ---- */

static void test_gen_bad_params(void **state)
{
    struct loadgen_params p;
    char err[256];

    (void)state;
    params(&p, 1, 0);
    assert_null(loadgen_gen_new(&p, g_agents, err, sizeof(err)));
    params(&p, 1, 10);
    p.shards = 4;
    p.shard = 4;
    assert_null(loadgen_gen_new(&p, g_agents, err, sizeof(err)));
    params(&p, 1, 2);
    p.shards = 4;
    p.shard = 3;
    assert_null(loadgen_gen_new(&p, g_agents, err, sizeof(err)));
    assert_non_null(strstr(err, "no visitor"));
    params(&p, 1, 10);
    p.bot_share = 1.5;
    assert_null(loadgen_gen_new(&p, g_agents, err, sizeof(err)));
    loadgen_gen_free(NULL);
}

static bool same_event(const struct loadgen_event *a, const struct loadgen_event *b)
{
    return a->visitor == b->visitor && a->agent == b->agent && a->kind == b->kind &&
           a->visitor_kind == b->visitor_kind && a->ts_ms == b->ts_ms &&
           a->received_ms == b->received_ms && strcmp(a->event_id, b->event_id) == 0 &&
           strcmp(a->session_id, b->session_id) == 0 && strcmp(a->user_id, b->user_id) == 0 &&
           strcmp(a->page_url, b->page_url) == 0 && strcmp(a->referrer_url, b->referrer_url) == 0 &&
           strcmp(a->event_data, b->event_data) == 0;
}

static void test_gen_deterministic(void **state)
{
    struct loadgen_params p;
    struct loadgen_event *a, *b, *c;
    size_t n = 5000, differ = 0, kinds[LOADGEN_KIND_COUNT] = {0};
    bool visitor_kinds[LOADGEN_VK_COUNT] = {false};

    (void)state;
    params(&p, 42, 1000);
    a = make_events(&p, n);
    b = make_events(&p, n);
    p.seed = 43;
    c = make_events(&p, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(same_event(&a[i], &b[i]));
        differ += !same_event(&a[i], &c[i]);
        kinds[a[i].kind]++;
        visitor_kinds[a[i].visitor_kind] = true;
    }
    assert_true(differ > n * 9 / 10);
    /* ... with every event kind and every kind of visitor in it */
    for (int k = 0; k < LOADGEN_KIND_COUNT; k++) {
        assert_true(kinds[k] > 0);
    }
    for (int k = 0; k < LOADGEN_VK_COUNT; k++) {
        assert_true(visitor_kinds[k]);
    }
    free(a);
    free(b);
    free(c);
}

/* What one visitor did so far, for the order and funnel checks. */
struct visitor_track {
    long long last_ts;
    unsigned events;
    unsigned visits;
    bool in_visit;
    bool booking_page, started, completed;
};

static void test_gen_time_order_and_visits(void **state)
{
    struct loadgen_params p;
    struct loadgen_event ev;
    struct loadgen_gen *g;
    struct visitor_track *t;
    long long prev = 0;
    size_t returns = 0;

    (void)state;
    params(&p, 7, 2000);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    t = calloc(p.visitors, sizeof(*t));
    assert_non_null(g);
    assert_non_null(t);
    for (int i = 0; i < N_EVENTS; i++) {
        struct visitor_track *v;

        loadgen_gen_next(g, &ev);
        v = &t[ev.visitor];
        assert_true(ev.ts_ms >= prev); /* time order overall */
        assert_true(ev.ts_ms >= T0);
        prev = ev.ts_ms;
        assert_true(ev.received_ms > ev.ts_ms && ev.received_ms - ev.ts_ms < 1000);
        if (v->events > 0) {
            assert_true(ev.ts_ms >= v->last_ts); /* and per visitor */
            if (ev.visit_start) {
                assert_true(ev.ts_ms - v->last_ts > IDLE_MS); /* a return is a new session */
                returns++;
            } else {
                assert_true(ev.ts_ms - v->last_ts < IDLE_MS);
            }
        }
        assert_true(ev.visit_start == !v->in_visit);
        assert_true(!ev.visit_start || ev.kind == LOADGEN_PAGE_VIEW);
        v->in_visit = !ev.visit_end;
        v->last_ts = ev.ts_ms;
        v->events++;
    }
    assert_true(returns > 50);
    free(t);
    loadgen_gen_free(g);
}

static bool is_uuid_v4(const char *s)
{
    if (strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL) {
            return false;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_gen_event_ids(void **state)
{
    struct loadgen_params p;
    struct loadgen_event *ev;
    char **ids = calloc(N_EVENTS, sizeof(*ids));

    (void)state;
    params(&p, 11, 3000);
    ev = make_events(&p, N_EVENTS);
    for (int i = 0; i < N_EVENTS; i++) {
        assert_true(is_uuid_v4(ev[i].event_id));
        ids[i] = ev[i].event_id;
    }
    qsort(ids, N_EVENTS, sizeof(*ids), cmp_str);
    for (int i = 1; i < N_EVENTS; i++) {
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    }
    free(ids);
    free(ev);
}

static void test_gen_variety(void **state)
{
    struct loadgen_params p;
    struct loadgen_event ev;
    struct loadgen_gen *g;
    struct loadgen_seen seen;
    size_t channels[LOADGEN_CH_COUNT] = {0}, kinds[LOADGEN_KIND_COUNT] = {0};
    size_t types[LOADGEN_PAGE_TYPE_COUNT] = {0};
    size_t visitors = 0, v6 = 0, bots = 0, bot_events = 0;
    bool *counted;

    (void)state;
    params(&p, 3, 10000);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    counted = calloc(p.visitors, sizeof(*counted));
    assert_non_null(g);
    assert_int_equal(loadgen_seen_init(&seen, loadgen_agents_total(g_agents), p.visitors), 0);
    for (int i = 0; i < N_EVENTS; i++) {
        loadgen_gen_next(g, &ev);
        loadgen_seen_add(&seen, &ev);
        kinds[ev.kind]++;
        types[ev.page_type]++;
        bot_events += ev.bot;
        assert_int_equal(ev.bot, loadgen_agents_is_bot(g_agents, ev.agent));
        assert_int_equal(ev.ipv6, strchr(ev.client_ip, ':') != NULL);
        if (ev.visit_start) {
            channels[ev.channel]++;
        }
        if (!counted[ev.visitor]) {
            counted[ev.visitor] = true;
            visitors++;
            v6 += ev.ipv6;
            bots += ev.bot;
        }
    }
    printf("agents %zu, visitors %zu, IPv6 %zu, bots %zu (%zu events)\n",
           loadgen_seen_agents(&seen), visitors, v6, bots, bot_events);
    assert_true(loadgen_seen_agents(&seen) >= 200);
    assert_int_equal(loadgen_seen_visitors(&seen), visitors);
    assert_true(v6 > visitors / 20 && v6 < visitors * 3 / 20);       /* ~10% */
    assert_true(bots > visitors / 200 && bots < visitors * 4 / 100); /* ~2% */
    assert_true(bot_events < N_EVENTS / 20);
    for (int c = 0; c < LOADGEN_CH_COUNT; c++) {
        assert_true(channels[c] > 0);
    }
    for (int k = 0; k < LOADGEN_KIND_COUNT; k++) {
        assert_true(kinds[k] > 0);
        assert_true(k == LOADGEN_PAGE_VIEW || kinds[k] < kinds[LOADGEN_PAGE_VIEW]);
    }
    for (int t = 0; t < LOADGEN_PAGE_TYPE_COUNT; t++) {
        assert_true(types[t] > 0);
    }
    loadgen_seen_fini(&seen);
    free(counted);
    loadgen_gen_free(g);
}

static void test_gen_funnel(void **state)
{
    struct loadgen_params p;
    struct loadgen_event ev;
    struct loadgen_gen *g;
    struct visitor_track *t;
    size_t viewed = 0, booking_page = 0, started = 0, completed = 0;
    size_t form_start = 0, n_started = 0, n_completed = 0;

    (void)state;
    params(&p, 5, 5000);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    t = calloc(p.visitors, sizeof(*t));
    assert_non_null(g);
    for (int i = 0; i < N_EVENTS; i++) {
        struct visitor_track *v;

        loadgen_gen_next(g, &ev);
        v = &t[ev.visitor];
        viewed += v->events++ == 0;
        if (ev.kind == LOADGEN_PAGE_VIEW && ev.page_type == LOADGEN_PAGE_BOOKING &&
            !v->booking_page) {
            v->booking_page = true;
            booking_page++;
        }
        form_start += ev.kind == LOADGEN_FORM_START;
        if (ev.kind == LOADGEN_BOOKING_STARTED) {
            assert_true(v->booking_page);
            started += !v->started;
            v->started = true;
            n_started++;
        }
        if (ev.kind == LOADGEN_BOOKING_COMPLETED) {
            assert_true(v->started);
            assert_true(ev.user_id[0] != '\0');
            completed += !v->completed;
            v->completed = true;
            n_completed++;
        }
        if (v->completed) {
            assert_true(ev.user_id[0] != '\0'); /* known from then on */
        }
    }
    printf("funnel: %zu visitors, %zu booking page, %zu started, %zu completed\n", viewed,
           booking_page, started, completed);
    assert_true(viewed > booking_page);
    assert_true(booking_page > started);
    assert_true(started > completed);
    assert_true(completed > 0);
    assert_true(form_start > n_started && n_started > n_completed);
    free(t);
    loadgen_gen_free(g);
}

/* pages.json's rules, compiled. */
struct page_rules {
    regex_t re[16];
    enum loadgen_page_type type[16];
    int n;
};

static enum loadgen_page_type type_named(const char *name)
{
    for (int t = 0; t < LOADGEN_PAGE_TYPE_COUNT; t++) {
        if (strcmp(loadgen_page_type_name((enum loadgen_page_type)t), name) == 0) {
            return (enum loadgen_page_type)t;
        }
    }
    fail_msg("unknown page type %s in pages.json", name);
    return LOADGEN_PAGE_OTHER;
}

static void load_rules(struct page_rules *r)
{
    FILE *f = fopen(g_pages, "r");
    char buf[8192];
    size_t len;
    cJSON *doc;
    const cJSON *rule;

    assert_non_null(f);
    len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    doc = cJSON_Parse(buf);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "default")->valuestring, "other");
    r->n = 0;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItem(doc, "rules"))
    {
        assert_true(r->n < 16);
        assert_int_equal(regcomp(&r->re[r->n], cJSON_GetObjectItem(rule, "path")->valuestring,
                                 REG_EXTENDED | REG_NOSUB),
                         0);
        r->type[r->n++] = type_named(cJSON_GetObjectItem(rule, "type")->valuestring);
    }
    cJSON_Delete(doc);
}

/* The type pages.json gives a URL of the site. */
static enum loadgen_page_type classify(const struct page_rules *r, const char *url)
{
    char path[LOADGEN_URL_MAX];

    assert_true(strncmp(url, SITE "/", strlen(SITE) + 1) == 0);
    snprintf(path, sizeof(path), "%s", url + strlen(SITE));
    path[strcspn(path, "?#")] = '\0';
    for (int i = 0; i < r->n; i++) {
        if (regexec(&r->re[i], path, 0, NULL, 0) == 0) {
            return r->type[i];
        }
    }
    return LOADGEN_PAGE_OTHER;
}

static void test_gen_pages_match_config(void **state)
{
    struct page_rules r;
    struct loadgen_params p;
    struct loadgen_event *ev;

    (void)state;
    load_rules(&r);
    params(&p, 9, 2000);
    ev = make_events(&p, N_EVENTS);
    for (int i = 0; i < N_EVENTS; i++) {
        if (classify(&r, ev[i].page_url) != ev[i].page_type) {
            fail_msg("%s: generator says %s", ev[i].page_url,
                     loadgen_page_type_name(ev[i].page_type));
        }
    }
    for (int i = 0; i < r.n; i++) {
        regfree(&r.re[i]);
    }
    free(ev);
}

/* The landing page's referrer and query fit the channel; later pages are
 * referred from the site itself. */
static void test_gen_sources(void **state)
{
    struct loadgen_params p;
    struct loadgen_event *ev;
    size_t gclid = 0, fbclid = 0;

    (void)state;
    params(&p, 13, 5000);
    ev = make_events(&p, N_EVENTS);
    for (int i = 0; i < N_EVENTS; i++) {
        const char *url = ev[i].page_url, *ref = ev[i].referrer_url;

        gclid += strstr(url, "gclid=") != NULL;
        fbclid += strstr(url, "fbclid=") != NULL;
        if (ev[i].bot) {
            assert_string_equal(ref, "");
            continue;
        }
        if (!ev[i].visit_start) {
            continue;
        }
        switch (ev[i].channel) {
        case LOADGEN_CH_DIRECT:
            assert_string_equal(ref, "");
            assert_null(strchr(url, '?'));
            break;
        case LOADGEN_CH_ORGANIC:
            assert_true(strstr(ref, "google.") || strstr(ref, "bing.com") ||
                        strstr(ref, "duckduckgo.com"));
            break;
        case LOADGEN_CH_SOCIAL:
            assert_true(strstr(ref, "facebook.com") || strstr(ref, "instagram.com"));
            break;
        case LOADGEN_CH_EMAIL:
            assert_non_null(strstr(url, "utm_medium=email"));
            assert_non_null(strstr(url, "utm_campaign="));
            break;
        case LOADGEN_CH_PAID:
            assert_non_null(strstr(url, "utm_source="));
            assert_true(strstr(url, "utm_medium=cpc") || strstr(url, "utm_medium=paid_social"));
            break;
        default:
            assert_true(ref[0] != '\0' && strncmp(ref, SITE, strlen(SITE)) != 0);
            break;
        }
    }
    for (int i = 0; i < N_EVENTS; i++) {
        if (!ev[i].bot && ev[i].kind == LOADGEN_PAGE_VIEW && !ev[i].visit_start) {
            assert_true(strncmp(ev[i].referrer_url, SITE "/", strlen(SITE) + 1) == 0);
        }
    }
    assert_true(gclid > 0 && fbclid > 0);
    free(ev);
}

/* Sharding splits visitors, never a visitor's events: each shard's events
 * are exactly the whole stream's events of its visitors. */
static void test_gen_shards(void **state)
{
    struct loadgen_params p;
    struct loadgen_event *all, ev;
    size_t n = 6000, matched = 0;
    long long until;

    (void)state;
    params(&p, 21, 900);
    all = make_events(&p, n);
    until = all[n - 1].ts_ms;
    for (uint32_t s = 0; s < 3; s++) {
        struct loadgen_gen *g;
        size_t next = 0;

        p.shard = s;
        p.shards = 3;
        g = loadgen_gen_new(&p, g_agents, NULL, 0);
        assert_non_null(g);
        assert_int_equal(loadgen_gen_visitors(g), 300);
        for (;;) {
            loadgen_gen_next(g, &ev);
            if (ev.ts_ms >= until) {
                break;
            }
            assert_int_equal(ev.visitor % 3, s);
            while (all[next].visitor % 3 != s) {
                next++;
            }
            assert_true(same_event(&ev, &all[next]));
            next++;
            matched++;
        }
        loadgen_gen_free(g);
    }
    assert_true(matched >= n - 50);
    free(all);
}

/* ---- the kinds of visitor ---- */

/* Kinds come with their shares, and every event carries its visitor's. */
static void test_gen_kind_shares(void **state)
{
    struct loadgen_params p;
    struct loadgen_gen *g;
    struct loadgen_visitor_info info;
    struct loadgen_event ev;
    size_t count[LOADGEN_VK_COUNT] = {0}, humans;
    double total = 0;

    (void)state;
    assert_true(loadgen_visitor_kind_share(LOADGEN_VK_CRAWLER) == 0);
    for (int k = 0; k < LOADGEN_VK_COUNT; k++) {
        const char *name = loadgen_visitor_kind_name((enum loadgen_visitor_kind)k);

        assert_non_null(name);
        for (int j = 0; j < k; j++) {
            assert_string_not_equal(name, loadgen_visitor_kind_name((enum loadgen_visitor_kind)j));
        }
        assert_true(k == LOADGEN_VK_CRAWLER || loadgen_visitor_kind_share(k) >= 0.04);
        total += loadgen_visitor_kind_share((enum loadgen_visitor_kind)k);
    }
    assert_true(fabs(total - 1) < 1e-9);

    params(&p, 31, 40000);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    assert_non_null(g);
    for (uint32_t i = 0; i < loadgen_gen_visitors(g); i++) {
        loadgen_gen_visitor(g, i, &info);
        assert_int_equal(info.visitor, i);
        count[info.kind]++;
    }
    humans = p.visitors - count[LOADGEN_VK_CRAWLER];
    assert_true(count[LOADGEN_VK_CRAWLER] > p.visitors / 100 &&
                count[LOADGEN_VK_CRAWLER] < p.visitors * 3 / 100); /* ~2% */
    for (int k = 1; k < LOADGEN_VK_COUNT; k++) {
        double want = loadgen_visitor_kind_share((enum loadgen_visitor_kind)k) * (double)humans;

        printf("%-18s %5zu visitors (%.0f expected)\n",
               loadgen_visitor_kind_name((enum loadgen_visitor_kind)k), count[k], want);
        assert_true(fabs((double)count[k] - want) < 0.1 * want); /* >= 4 standard deviations */
    }
    for (int i = 0; i < 20000; i++) {
        loadgen_gen_next(g, &ev);
        loadgen_gen_visitor(g, ev.visitor, &info);
        assert_int_equal(ev.visitor_kind, info.kind);
        assert_string_equal(ev.fingerprint, info.fingerprint);
        assert_int_equal(ev.bot, info.kind == LOADGEN_VK_CRAWLER);
    }
    loadgen_gen_free(g);
}

/* What the persona features are made of, per visitor, from its events. */
enum {
    ST_SESSIONS,
    ST_PAGES_PER_SESSION,
    ST_SECONDS_PER_SESSION, /* first to last event of a visit */
    ST_PRICING,             /* page views of pricing pages */
    ST_STARTED,
    ST_COMPLETED,
    ST_ABANDONED, /* started, not completed */
    ST_FORMS,
    ST_RAGE,
    ST_EXITS_PER_SESSION,
    ST_SCROLL, /* deepest, percent */
    ST_ACTIVE_DAYS,
    ST_CONTACT_PER_SESSION, /* page views of contact pages */
    ST_COUNT
};

static const char *const st_names[ST_COUNT] = {
    "sess",  "pg/s", "sec/s",  "price",  "start", "done",   "aband",
    "forms", "rage", "exit/s", "scroll", "days",  "cont/s",
};

struct kind_track {
    enum loadgen_visitor_kind kind;
    bool seen, in_visit;
    long long first_ts, last_ts, visit_ts, seconds_ms;
    unsigned events, sessions, pages, visit_pages, max_visit_pages;
    unsigned pricing, started, completed, forms, rage, exits, deepest, contact;
};

/* The depth_pct of a scroll's event data, {"depth_pct":N}, checked. */
static unsigned scroll_depth(const char *data)
{
    const char *prefix = "{\"depth_pct\":";
    char *end;
    unsigned long d;

    assert_true(strncmp(data, prefix, strlen(prefix)) == 0);
    d = strtoul(data + strlen(prefix), &end, 10);
    assert_string_equal(end, "}");
    assert_true(d == 25 || d == 50 || d == 75 || d == 100);
    return (unsigned)d;
}

/* Checks ev's order against its visitor's previous event and counts it. */
static void kind_track_add(struct kind_track *t, const struct loadgen_event *ev)
{
    unsigned depth;

    if (t->seen) {
        assert_true(ev->ts_ms >= t->last_ts);
        assert_true(ev->visit_start ? ev->ts_ms - t->last_ts > IDLE_MS
                                    : ev->ts_ms - t->last_ts < IDLE_MS);
        assert_int_equal(ev->visitor_kind, t->kind);
    } else {
        t->seen = true;
        t->kind = ev->visitor_kind;
        t->first_ts = ev->ts_ms;
    }
    assert_true(ev->visit_start == !t->in_visit);
    if (ev->visit_start) {
        t->sessions++;
        t->visit_ts = ev->ts_ms;
        t->visit_pages = 0;
    }
    t->in_visit = !ev->visit_end;
    t->last_ts = ev->ts_ms;
    t->events++;
    switch (ev->kind) {
    case LOADGEN_PAGE_VIEW:
        t->pages++;
        t->visit_pages++;
        t->max_visit_pages =
            t->visit_pages > t->max_visit_pages ? t->visit_pages : t->max_visit_pages;
        t->pricing += ev->page_type == LOADGEN_PAGE_PRICING;
        t->contact += ev->page_type == LOADGEN_PAGE_CONTACT;
        break;
    case LOADGEN_BOOKING_STARTED:
        t->started++;
        break;
    case LOADGEN_BOOKING_COMPLETED:
        t->completed++;
        break;
    case LOADGEN_FORM_START:
        t->forms++;
        break;
    case LOADGEN_RAGE_CLICK:
        t->rage++;
        break;
    case LOADGEN_EXIT_INTENT:
        t->exits++;
        break;
    case LOADGEN_SCROLL:
        depth = scroll_depth(ev->event_data);
        t->deepest = depth > t->deepest ? depth : t->deepest;
        break;
    default:
        break;
    }
    if (ev->visit_end) {
        t->seconds_ms += ev->ts_ms - t->visit_ts;
    }
}

static void kind_track_stats(const struct kind_track *t, double st[ST_COUNT])
{
    double s = t->sessions;

    st[ST_SESSIONS] = s;
    st[ST_PAGES_PER_SESSION] = t->pages / s;
    st[ST_SECONDS_PER_SESSION] = (double)t->seconds_ms / 1000 / s;
    st[ST_PRICING] = t->pricing;
    st[ST_STARTED] = t->started;
    st[ST_COMPLETED] = t->completed;
    st[ST_ABANDONED] = (double)t->started - t->completed;
    st[ST_FORMS] = t->forms;
    st[ST_RAGE] = t->rage;
    st[ST_EXITS_PER_SESSION] = t->exits / s;
    st[ST_SCROLL] = t->deepest;
    st[ST_ACTIVE_DAYS] = (double)(t->last_ts - t->first_ts) / 86400e3;
    st[ST_CONTACT_PER_SESSION] = t->contact / s;
}

/* Asserts that kind k's mean of statistic st is above every other human
 * kind's (mean[kind][stat]). */
static void assert_highest(double mean[LOADGEN_VK_COUNT][ST_COUNT], int k, int st)
{
    for (int o = 1; o < LOADGEN_VK_COUNT; o++) {
        if (o != k && !(mean[k][st] > mean[o][st])) {
            fail_msg("%s: %s %.2f, not above %s's %.2f", st_names[st],
                     loadgen_visitor_kind_name((enum loadgen_visitor_kind)k), mean[k][st],
                     loadgen_visitor_kind_name((enum loadgen_visitor_kind)o), mean[o][st]);
        }
    }
}

#define HORIZON_MS (100LL * 86400 * 1000) /* longer than a repeat booker's spell */

/* Drives a population through 100 days and returns each visitor's track,
 * checking time order overall, per visitor and between visits on the way
 * (caller frees). */
static struct kind_track *run_kinds(const struct loadgen_params *p)
{
    struct kind_track *t = calloc(p->visitors, sizeof(*t));
    struct loadgen_gen *g = loadgen_gen_new(p, g_agents, NULL, 0);
    struct loadgen_event ev;
    long long prev = 0;

    assert_non_null(t);
    assert_non_null(g);
    for (;;) {
        loadgen_gen_next(g, &ev);
        assert_true(ev.ts_ms >= prev);
        prev = ev.ts_ms;
        if (ev.ts_ms >= T0 + HORIZON_MS) {
            break;
        }
        kind_track_add(&t[ev.visitor], &ev);
    }
    loadgen_gen_free(g);
    return t;
}

/* Over 100 days each kind does what sets it apart, in the features the
 * personas are trained on. */
static void test_gen_kinds_behave(void **state)
{
    struct loadgen_params p;
    struct kind_track *t;
    double mean[LOADGEN_VK_COUNT][ST_COUNT] = {{0}}, st[ST_COUNT];
    size_t n[LOADGEN_VK_COUNT] = {0}, deep_readers = 0, started = 0, contact_forms = 0;

    (void)state;
    params(&p, 33, 3000);
    t = run_kinds(&p);
    for (uint32_t i = 0; i < p.visitors; i++) {
        const struct kind_track *v = &t[i];

        assert_true(v->seen);
        kind_track_stats(v, st);
        for (int s = 0; s < ST_COUNT; s++) {
            mean[v->kind][s] += st[s];
        }
        n[v->kind]++;
        if (v->kind != LOADGEN_VK_BOOKER && v->kind != LOADGEN_VK_REPEAT_BOOKER) {
            assert_int_equal(v->completed, 0); /* only bookers book */
        }
        switch (v->kind) {
        case LOADGEN_VK_BOUNCER:
            assert_int_equal(v->max_visit_pages, 1);
            assert_true(v->sessions <= 2);
            break;
        case LOADGEN_VK_READER:
            assert_int_equal(v->pricing, 0);
            deep_readers += v->deepest == 100;
            break;
        case LOADGEN_VK_COMPARER:
            assert_true(v->sessions >= 3 && v->pricing >= 3);
            assert_int_equal(v->started, 0);
            break;
        case LOADGEN_VK_ABANDONER:
            assert_true(v->forms >= 1);
            started += v->started >= 1;
            break;
        case LOADGEN_VK_BOOKER:
            assert_true(v->completed >= 1 && v->started == v->completed);
            assert_true(v->sessions <= 2);
            break;
        case LOADGEN_VK_REPEAT_BOOKER:
            assert_true(v->completed >= 2 && v->sessions >= 2);
            break;
        case LOADGEN_VK_RETURNER:
            assert_true(v->sessions >= 6 && v->started == 0);
            break;
        case LOADGEN_VK_FRUSTRATED:
            assert_true(v->rage >= v->sessions);
            break;
        case LOADGEN_VK_LEAVER:
            assert_true(v->exits >= v->sessions && v->deepest <= 25);
            break;
        case LOADGEN_VK_CONTACT:
            assert_true(v->contact >= v->sessions && v->started == 0);
            contact_forms += v->forms >= 1;
            break;
        default:
            break;
        }
    }
    printf("%-18s %5s", "kind", "n");
    for (int s = 0; s < ST_COUNT; s++) {
        printf(" %6s", st_names[s]);
    }
    printf("\n");
    for (int k = 0; k < LOADGEN_VK_COUNT; k++) {
        assert_true(n[k] > 0);
        printf("%-18s %5zu", loadgen_visitor_kind_name((enum loadgen_visitor_kind)k), n[k]);
        for (int s = 0; s < ST_COUNT; s++) {
            mean[k][s] /= (double)n[k];
            printf(" %6.2f", mean[k][s]);
        }
        printf("\n");
    }
    assert_true(deep_readers > n[LOADGEN_VK_READER] * 9 / 10);
    assert_true(started > n[LOADGEN_VK_ABANDONER] * 8 / 10);
    assert_true(contact_forms > n[LOADGEN_VK_CONTACT] * 7 / 10);
    for (int k = 1; k < LOADGEN_VK_COUNT; k++) {
        assert_true(k == LOADGEN_VK_BOUNCER ||
                    mean[k][ST_PAGES_PER_SESSION] > mean[LOADGEN_VK_BOUNCER][ST_PAGES_PER_SESSION]);
        assert_true(k == LOADGEN_VK_BOUNCER ||
                    mean[k][ST_SESSIONS] >= mean[LOADGEN_VK_BOUNCER][ST_SESSIONS]);
    }
    assert_highest(mean, LOADGEN_VK_READER, ST_SECONDS_PER_SESSION);
    assert_highest(mean, LOADGEN_VK_READER, ST_SCROLL);
    assert_highest(mean, LOADGEN_VK_COMPARER, ST_PRICING);
    assert_highest(mean, LOADGEN_VK_ABANDONER, ST_ABANDONED);
    assert_highest(mean, LOADGEN_VK_REPEAT_BOOKER, ST_COMPLETED);
    assert_highest(mean, LOADGEN_VK_RETURNER, ST_SESSIONS);
    assert_highest(mean, LOADGEN_VK_FRUSTRATED, ST_RAGE);
    assert_highest(mean, LOADGEN_VK_LEAVER, ST_EXITS_PER_SESSION);
    assert_highest(mean, LOADGEN_VK_CONTACT, ST_CONTACT_PER_SESSION);
    /* the booker goes straight there: fewer pages than anyone but a bouncer */
    assert_true(mean[LOADGEN_VK_BOOKER][ST_PAGES_PER_SESSION] <
                mean[LOADGEN_VK_REPEAT_BOOKER][ST_PAGES_PER_SESSION] + 1);
    assert_true(mean[LOADGEN_VK_BOOKER][ST_ACTIVE_DAYS] < 1 &&
                mean[LOADGEN_VK_REPEAT_BOOKER][ST_ACTIVE_DAYS] > 14 &&
                mean[LOADGEN_VK_RETURNER][ST_ACTIVE_DAYS] > 14);
    free(t);
}

/* rage_click and exit_intent carry the data a site's script would send. */
static void test_gen_new_event_data(void **state)
{
    struct loadgen_params p;
    struct loadgen_event *ev;
    size_t rage = 0, exits = 0, triggers[3] = {0};

    (void)state;
    params(&p, 35, 2000);
    ev = make_events(&p, N_EVENTS);
    for (int i = 0; i < N_EVENTS; i++) {
        cJSON *d = cJSON_Parse(ev[i].event_data);
        const cJSON *x;

        assert_true(cJSON_IsObject(d));
        if (ev[i].kind == LOADGEN_RAGE_CLICK) {
            assert_string_equal(ev[i].event_type, "rage_click");
            assert_true(cJSON_IsString(cJSON_GetObjectItem(d, "element")));
            x = cJSON_GetObjectItem(d, "clicks");
            assert_true(cJSON_IsNumber(x) && x->valueint >= 3 && x->valueint <= 6);
            rage++;
        }
        if (ev[i].kind == LOADGEN_EXIT_INTENT) {
            const char *trig;

            assert_string_equal(ev[i].event_type, "exit_intent");
            x = cJSON_GetObjectItem(d, "trigger");
            assert_true(cJSON_IsString(x));
            trig = x->valuestring;
            if (strcmp(trig, "pointer_top") == 0) {
                triggers[0]++;
            } else if (strcmp(trig, "scroll_up") == 0) {
                triggers[1]++;
            } else {
                assert_string_equal(trig, "tab_hidden");
                triggers[2]++;
            }
            exits++;
        }
        cJSON_Delete(d);
    }
    assert_true(rage > 50 && exits > 50);
    assert_true(triggers[0] > triggers[1] && triggers[1] > 0 && triggers[2] > 0);
    free(ev);
}

/* ---- the event shapes ---- */

static void test_raw_fill(void **state)
{
    struct loadgen_params p;
    struct loadgen_event ev;
    struct loadgen_gen *g;
    Analytics__V1__RawEvent m, *back;
    Analytics__V1__Consent consent;
    uint8_t buf[4096];
    size_t len;
    cJSON *json;

    (void)state;
    params(&p, 17, 10);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    assert_non_null(g);
    loadgen_gen_next(g, &ev);
    loadgen_raw_fill(&m, &consent, &ev, SITE);
    len = analytics__v1__raw_event__pack(&m, buf);
    back = analytics__v1__raw_event__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->schema_version, 1);
    assert_string_equal(back->event_id, ev.event_id);
    assert_false(back->event_id_assigned);
    assert_string_equal(back->event_type, "page_view");
    assert_string_equal(back->fingerprint, ev.fingerprint);
    assert_string_equal(back->session_id, ev.session_id);
    assert_int_equal(back->client_ts_ms, ev.ts_ms);
    assert_true(back->client_ts_present);
    assert_int_equal(back->received_ts_ms, ev.received_ms);
    assert_int_equal(back->clock_skew_ms, ev.received_ms - ev.ts_ms);
    assert_string_equal(back->page_url, ev.page_url);
    assert_string_equal(back->event_data_json, ev.event_data);
    assert_true(back->consent->specified && back->consent->necessary && back->consent->analytics &&
                back->consent->marketing);
    assert_string_equal(back->client_ip, ev.client_ip);
    assert_string_equal(back->user_agent, ev.user_agent);
    assert_string_equal(back->collector_id, "loadgen");
    assert_string_equal(back->origin, SITE);
    analytics__v1__raw_event__free_unpacked(back, NULL);

    json = pbjson_from_message(&m.base); /* what --json prints */
    assert_non_null(json);
    assert_string_equal(cJSON_GetObjectItem(json, "user_agent")->valuestring, ev.user_agent);
    assert_string_equal(cJSON_GetObjectItem(json, "client_ip")->valuestring, ev.client_ip);
    cJSON_Delete(json);
    json = cJSON_Parse(ev.event_data);
    assert_true(cJSON_IsObject(json));
    cJSON_Delete(json);
    loadgen_gen_free(g);
}

/* Events as --http posts them pass the collector's own parser unchanged. */
static void test_raw_wire_parses(void **state)
{
    enum { N = 300 };
    struct loadgen_params p;
    struct loadgen_event *ev = calloc(N, sizeof(*ev));
    struct loadgen_gen *g;
    struct event_limits lim;
    struct event_request req = {.received_ms = T0, .client_ip = "203.0.113.1"};
    struct event_batch batch = {0};
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "events");
    char *body, err[256];

    (void)state;
    params(&p, 19, 50);
    g = loadgen_gen_new(&p, g_agents, NULL, 0);
    assert_non_null(g);
    assert_non_null(ev);
    for (size_t i = 0; i < N; i++) {
        cJSON *o;

        loadgen_gen_next(g, &ev[i]);
        o = loadgen_raw_wire(&ev[i]);
        assert_non_null(o);
        cJSON_AddItemToArray(arr, o);
    }
    body = cJSON_PrintUnformatted(root);
    event_limits_default(&lim);
    lim.max_batch = N;
    assert_int_equal(event_batch_parse(body, strlen(body), &lim, &req, &batch, err, sizeof(err)),
                     0);
    assert_int_equal(batch.n_rejected, 0);
    assert_int_equal(batch.n_events, N);
    for (size_t i = 0; i < N; i++) {
        const Analytics__V1__RawEvent *m = &batch.events[i];
        cJSON *a = cJSON_Parse(m->event_data_json), *b = cJSON_Parse(ev[i].event_data);

        assert_string_equal(m->event_id, ev[i].event_id);
        assert_false(m->event_id_assigned);
        assert_string_equal(m->event_type, ev[i].event_type);
        assert_string_equal(m->fingerprint, ev[i].fingerprint);
        assert_int_equal(m->client_ts_ms, ev[i].ts_ms);
        assert_string_equal(m->page_url, ev[i].page_url);
        assert_string_equal(m->referrer_url, ev[i].referrer_url);
        assert_string_equal(m->session_id, ev[i].session_id);
        assert_string_equal(m->user_id, ev[i].user_id);
        assert_true(cJSON_Compare(a, b, 1));
        assert_true(m->consent->specified && m->consent->marketing);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    event_batch_fini(&batch);
    free(body);
    cJSON_Delete(root);
    loadgen_gen_free(g);
    free(ev);
}

/* ---- statistics ---- */

static void test_hist(void **state)
{
    struct loadgen_hist *h = calloc(1, sizeof(*h)), *h2 = calloc(1, sizeof(*h2));

    (void)state;
    assert_int_equal(loadgen_hist_quantile(h, 0.5), 0);
    for (uint64_t v = 1; v <= 100000; v++) {
        loadgen_hist_add(v % 2 ? h : h2, v);
    }
    loadgen_hist_merge(h, h2);
    assert_int_equal(h->count, 100000);
    assert_int_equal(loadgen_hist_quantile(h, 1.0), 100000);
    assert_true(llabs((long long)loadgen_hist_quantile(h, 0.5) - 50000) < 50000 * 3 / 100);
    assert_true(llabs((long long)loadgen_hist_quantile(h, 0.99) - 99000) < 99000 * 3 / 100);
    assert_true(llabs((long long)loadgen_hist_quantile(h, 0.01) - 1000) < 1000 * 3 / 100);

    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 10; i++) {
        loadgen_hist_add(h, 7); /* small values are exact */
    }
    loadgen_hist_add(h, UINT64_MAX / 2);
    assert_int_equal(loadgen_hist_quantile(h, 0.5), 7);
    assert_int_equal(loadgen_hist_quantile(h, 0.9), 7);
    assert_true(loadgen_hist_quantile(h, 0.99) <= UINT64_MAX / 2);
    free(h);
    free(h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_from_uap_core),
        cmocka_unit_test(test_agents_quoting_and_filter),
        cmocka_unit_test(test_gen_bad_params),
        cmocka_unit_test(test_gen_deterministic),
        cmocka_unit_test(test_gen_time_order_and_visits),
        cmocka_unit_test(test_gen_event_ids),
        cmocka_unit_test(test_gen_variety),
        cmocka_unit_test(test_gen_funnel),
        cmocka_unit_test(test_gen_pages_match_config),
        cmocka_unit_test(test_gen_sources),
        cmocka_unit_test(test_gen_shards),
        cmocka_unit_test(test_gen_kind_shares),
        cmocka_unit_test(test_gen_kinds_behave),
        cmocka_unit_test(test_gen_new_event_data),
        cmocka_unit_test(test_raw_fill),
        cmocka_unit_test(test_raw_wire_parses),
        cmocka_unit_test(test_hist),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
