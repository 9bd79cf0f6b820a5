#include "gen.h"

#include "analytics/errbuf.h"
#include "analytics/rng.h"
#include "site.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_QMAX 16
#define GEN_MAX_PAGES 30 /* page views of one human visit */
#define GEN_MIN_RETURN_MS (31LL * 60 * 1000)
#define GEN_NONE 0xff
#define GEN_SITE_MAX 256

enum gen_click { GEN_CLICK_NAV, GEN_CLICK_CTA, GEN_CLICK_TEL };
enum gen_form { GEN_FORM_BOOKING, GEN_FORM_CONTACT };

/* One planned event of a visitor: what, where, and how long after the
 * previous one. */
struct gen_step {
    uint8_t kind; /* enum loadgen_kind */
    uint8_t page; /* page_view: the page shown; click: its target */
    uint8_t arg;  /* scroll depth, enum gen_click or enum gen_form */
    uint32_t gap_ms;
};

struct gen_visitor {
    uint64_t rng;
    long long next_ts; /* time of q[qhead] */
    uint64_t session;
    uint64_t user;    /* 0 until a booking completed */
    uint64_t booking; /* current booking id */
    struct loadgen_source src;
    uint32_t index;
    uint32_t agent;
    uint32_t visits;
    float intent;
    uint8_t bot, ipv6, service;
    uint8_t page;       /* the page being viewed */
    uint8_t prev_page;  /* the one before it in this visit, GEN_NONE on the landing page */
    uint8_t pages_left; /* crawlers: page views still to make in this visit */
    uint8_t npages;     /* page views made in this visit */
    uint8_t nq, qhead;
    struct gen_step q[GEN_QMAX];
    char fingerprint[20];
    char ip[INET6_ADDRSTRLEN];
};

struct loadgen_gen {
    struct loadgen_params p;
    const struct loadgen_agents *agents;
    uint32_t *popular; /* browser agents in order of popularity (a seeded shuffle) */
    size_t nbrowsers;
    struct gen_visitor *v;
    uint32_t *heap; /* indexes into v, ordered by (next_ts, index) */
    uint32_t n;
    char site[GEN_SITE_MAX];
};

static const char *const gen_kind_names[LOADGEN_KIND_COUNT] = {
    "page_view", "click", "scroll", "form_start", "booking_started", "booking_completed",
};
static const char *const gen_page_names[LOADGEN_PAGE_TYPE_COUNT] = {
    "home", "service", "pricing", "booking", "contact", "blog", "other",
};
static const char *const gen_channel_names[LOADGEN_CH_COUNT] = {
    "direct", "organic", "social", "email", "paid", "referral",
};

const char *loadgen_kind_name(enum loadgen_kind k)
{
    return gen_kind_names[k];
}

const char *loadgen_page_type_name(enum loadgen_page_type t)
{
    return gen_page_names[t];
}

const char *loadgen_channel_name(enum loadgen_channel c)
{
    return gen_channel_names[c];
}

void loadgen_params_default(struct loadgen_params *p)
{
    *p = (struct loadgen_params){
        .seed = 1,
        .visitors = 10000,
        .start_ms = 0,
        .window_ms = 3600 * 1000LL,
        .site = "https://shop.example",
        .bot_share = 0.02,
        .ipv6_share = 0.10,
        .shard = 0,
        .shards = 1,
    };
}

/* ---- random helpers ---- */

/* A whole number of milliseconds, log-uniform in [lo, hi]: many short
 * gaps, a few long ones. */
static long long gen_log_ms(uint64_t *rng, double lo, double hi)
{
    return (long long)exp(log(lo) + rng_unit(rng) * (log(hi) - log(lo)));
}

static uint32_t gen_gap(uint64_t *rng, double lo_s, double hi_s)
{
    return (uint32_t)gen_log_ms(rng, lo_s * 1000, hi_s * 1000);
}

/* True for IPv4 addresses that are not public unicast (RFC 6890 and
 * friends): private, loopback, link-local, CGNAT, documentation,
 * benchmarking, multicast and reserved. */
static int gen_ipv4_reserved(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
    } r[] = {
        {0x00000000, 0xff000000}, {0x0a000000, 0xff000000}, {0x64400000, 0xffc00000},
        {0x7f000000, 0xff000000}, {0xa9fe0000, 0xffff0000}, {0xac100000, 0xfff00000},
        {0xc0000000, 0xffffff00}, {0xc0000200, 0xffffff00}, {0xc0a80000, 0xffff0000},
        {0xc6120000, 0xfffe0000}, {0xc6336400, 0xffffff00}, {0xcb007100, 0xffffff00},
        {0xe0000000, 0xe0000000},
    };

    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        if ((a & r[i].mask) == r[i].net) {
            return 1;
        }
    }
    return 0;
}

/* Writes a random public address into v->ip. */
static void gen_ip(struct gen_visitor *v, double ipv6_share)
{
    /* First 16 bits of prefixes the RIRs have handed to ISPs. */
    static const uint16_t v6_prefixes[] = {
        0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2003, 0x2600, 0x2601, 0x2603, 0x2604,
        0x2605, 0x2607, 0x2406, 0x2409, 0x240e, 0x2800, 0x2804, 0x2c0f,
    };
    unsigned char addr[16];

    v->ipv6 = (uint8_t)rng_chance(&v->rng, ipv6_share);
    if (v->ipv6) {
        uint16_t pre =
            v6_prefixes[rng_below(&v->rng, sizeof(v6_prefixes) / sizeof(v6_prefixes[0]))];
        uint64_t hi = rng_next(&v->rng), lo = rng_next(&v->rng);

        for (int i = 0; i < 8; i++) {
            addr[i] = (unsigned char)(hi >> (56 - 8 * i));
            addr[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
        }
        addr[0] = (unsigned char)(pre >> 8);
        addr[1] = (unsigned char)pre;
        inet_ntop(AF_INET6, addr, v->ip, sizeof(v->ip));
        return;
    }
    for (;;) {
        uint32_t a = (uint32_t)(rng_next(&v->rng) >> 32);

        if (!gen_ipv4_reserved(a)) {
            uint32_t be = htonl(a);

            inet_ntop(AF_INET, &be, v->ip, sizeof(v->ip));
            return;
        }
    }
}

/* Writes a UUID v4 made of the visitor's random bits. */
static void gen_uuid(uint64_t *rng, char out[37])
{
    uint64_t hi = rng_next(rng), lo = rng_next(rng);

    hi = (hi & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
    snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(hi >> 32), (uint32_t)(hi >> 16) & 0xffff, (uint32_t)hi & 0xffff,
             (uint32_t)(lo >> 48), (uint64_t)(lo & 0xffffffffffffULL));
}

/* ---- the heap of visitors by next event time ---- */

static int gen_before(const struct loadgen_gen *g, uint32_t a, uint32_t b)
{
    const struct gen_visitor *x = &g->v[a], *y = &g->v[b];

    return x->next_ts < y->next_ts || (x->next_ts == y->next_ts && x->index < y->index);
}

static void gen_sift_down(struct loadgen_gen *g, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i, t;

        if (l < g->n && gen_before(g, g->heap[l], g->heap[m])) {
            m = l;
        }
        if (r < g->n && gen_before(g, g->heap[r], g->heap[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        t = g->heap[i];
        g->heap[i] = g->heap[m];
        g->heap[m] = t;
        i = m;
    }
}

/* ---- planning a visit ---- */

static void gen_push(struct gen_visitor *v, enum loadgen_kind kind, uint8_t page, uint8_t arg,
                     uint32_t gap_ms)
{
    assert(v->nq < GEN_QMAX); /* a page plans at most 4 scrolls and 4 more steps */
    if (v->nq < GEN_QMAX) {
        v->q[v->nq++] = (struct gen_step){(uint8_t)kind, page, arg, gap_ms};
    }
}

/* Starts a visit at ts: a new session, a source, the landing page. */
static void gen_visit_begin(struct gen_visitor *v, long long ts)
{
    uint8_t landing;

    v->session = rng_next(&v->rng);
    v->npages = 0;
    v->prev_page = GEN_NONE;
    v->nq = v->qhead = 0;
    if (v->bot) {
        v->src = (struct loadgen_source){LOADGEN_CH_DIRECT, 0, 0, 0};
        v->pages_left = (uint8_t)(1 + rng_below(&v->rng, 10));
        landing = loadgen_site_pick_any(&v->rng);
    } else {
        loadgen_site_source(&v->rng, v->visits > 0, &v->src);
        landing = loadgen_site_pick(&v->rng, loadgen_site_landing_type(&v->rng, &v->src));
    }
    v->visits++;
    v->next_ts = ts;
    gen_push(v, LOADGEN_PAGE_VIEW, landing, 0, 0);
}

/* Schedules the visitor's next visit after one that just ended at ts. */
static void gen_visit_return(struct gen_visitor *v, long long ts)
{
    long long gap;

    if (v->bot) {
        gap = gen_log_ms(&v->rng, 3600e3, 48 * 3600e3);
    } else if (rng_chance(&v->rng, 0.3)) {
        gap = gen_log_ms(&v->rng, (double)GEN_MIN_RETURN_MS, 4 * 3600e3);
    } else {
        gap = gen_log_ms(&v->rng, 4 * 3600e3, 10 * 86400e3);
    }
    gen_visit_begin(v, ts + (gap > GEN_MIN_RETURN_MS ? gap : GEN_MIN_RETURN_MS));
}

/* Plans scroll milestones (25, 50, 75, 100%) on the current page, the first
 * with probability p_first, each further one less likely. */
static void gen_plan_scrolls(struct gen_visitor *v, double p_first)
{
    static const uint8_t depths[] = {25, 50, 75, 100};
    static const double p_more[] = {0.45, 0.4, 0.35};

    if (!rng_chance(&v->rng, p_first)) {
        return;
    }
    gen_push(v, LOADGEN_SCROLL, v->page, depths[0], gen_gap(&v->rng, 2, 20));
    for (int i = 1; i < 4 && rng_chance(&v->rng, p_more[i - 1]); i++) {
        gen_push(v, LOADGEN_SCROLL, v->page, depths[i], gen_gap(&v->rng, 2, 25));
    }
}

/* The booking page: form, booking started, completed, thank-you page.
 * Returns 1 when the booking completed (the thank-you page is queued). */
static int gen_plan_booking(struct gen_visitor *v)
{
    double boost = 0.75 + 0.5 * v->intent;

    if (!rng_chance(&v->rng, 0.7 * boost)) {
        return 0;
    }
    gen_push(v, LOADGEN_FORM_START, v->page, GEN_FORM_BOOKING, gen_gap(&v->rng, 3, 40));
    if (!rng_chance(&v->rng, 0.6 * boost)) {
        return 0;
    }
    v->booking = rng_next(&v->rng) & 0xffffffffULL;
    gen_push(v, LOADGEN_BOOKING_STARTED, v->page, 0, gen_gap(&v->rng, 15, 120));
    if (!rng_chance(&v->rng, 0.5 * boost)) {
        return 0;
    }
    gen_push(v, LOADGEN_BOOKING_COMPLETED, v->page, 0, gen_gap(&v->rng, 30, 300));
    gen_push(v, LOADGEN_PAGE_VIEW, LOADGEN_SITE_THANKS, 0, gen_gap(&v->rng, 0.3, 3));
    return 1;
}

/* Plans what a human does on the page just viewed, ending with the next
 * page view, or nothing when the visit ends there. */
static void gen_plan_human(struct gen_visitor *v)
{
    enum loadgen_page_type t = loadgen_site_page(v->page)->type;
    uint8_t target;
    int next;

    if (v->page == LOADGEN_SITE_THANKS) {
        if (rng_chance(&v->rng, 0.2)) {
            gen_push(v, LOADGEN_PAGE_VIEW, 0, 0, gen_gap(&v->rng, 5, 60));
        }
        return;
    }
    gen_plan_scrolls(v, t == LOADGEN_PAGE_BLOG ? 0.6 : 0.4);
    if (t == LOADGEN_PAGE_BOOKING && gen_plan_booking(v)) {
        return;
    }
    if (t == LOADGEN_PAGE_CONTACT) {
        if (rng_chance(&v->rng, 0.3)) {
            gen_push(v, LOADGEN_FORM_START, v->page, GEN_FORM_CONTACT, gen_gap(&v->rng, 3, 40));
        }
        if (rng_chance(&v->rng, 0.15)) {
            gen_push(v, LOADGEN_CLICK, v->page, GEN_CLICK_TEL, gen_gap(&v->rng, 2, 30));
        }
    }
    next = v->npages >= GEN_MAX_PAGES ? -1 : loadgen_site_next_type(&v->rng, t, v->intent);
    if (next < 0) {
        return;
    }
    if (next == LOADGEN_PAGE_BOOKING) {
        gen_push(v, LOADGEN_CLICK, LOADGEN_SITE_BOOK, GEN_CLICK_CTA, gen_gap(&v->rng, 3, 60));
        gen_push(v, LOADGEN_PAGE_VIEW, LOADGEN_SITE_BOOK, 0, gen_gap(&v->rng, 0.3, 2));
        return;
    }
    target = loadgen_site_pick(&v->rng, (enum loadgen_page_type)next);
    if (rng_chance(&v->rng, 0.6)) {
        gen_push(v, LOADGEN_CLICK, target, GEN_CLICK_NAV, gen_gap(&v->rng, 3, 60));
        gen_push(v, LOADGEN_PAGE_VIEW, target, 0, gen_gap(&v->rng, 0.3, 2));
    } else {
        gen_push(v, LOADGEN_PAGE_VIEW, target, 0,
                 gen_gap(&v->rng, 4, t == LOADGEN_PAGE_BLOG ? 240 : 90));
    }
}

/* A crawler fetches pages a second or two apart. */
static void gen_plan_bot(struct gen_visitor *v)
{
    if (v->pages_left == 0) {
        return;
    }
    v->pages_left--;
    gen_push(v, LOADGEN_PAGE_VIEW, loadgen_site_pick_any(&v->rng), 0, gen_gap(&v->rng, 0.5, 5));
}

/* ---- making the event ---- */

/* Writes the URL of page (with the landing query on the landing page, and
 * the visitor's service on the booking page reached from inside). */
static void gen_page_url(const struct loadgen_gen *g, const struct gen_visitor *v, uint8_t page,
                         int landing, char *buf, size_t len)
{
    char query[160] = "";

    if (landing) {
        loadgen_site_landing_query(&v->src, query, sizeof(query));
    } else if (page == LOADGEN_SITE_BOOK) {
        snprintf(query, sizeof(query), "?service=%s", loadgen_site_service(v->service));
    }
    snprintf(buf, len, "%s%s%s", g->site, loadgen_site_page(page)->path, query);
}

/* Fills the event's URLs: the current page, and the referrer the browser
 * gave that page (the previous page, or the source on the landing page). */
static void gen_urls(const struct loadgen_gen *g, const struct gen_visitor *v,
                     struct loadgen_event *ev)
{
    int landing = v->prev_page == GEN_NONE;

    gen_page_url(g, v, v->page, landing, ev->page_url, sizeof(ev->page_url));
    if (v->bot) {
        ev->referrer_url[0] = '\0';
    } else if (landing) {
        loadgen_site_landing_referrer(&v->src, ev->referrer_url, sizeof(ev->referrer_url));
    } else {
        gen_page_url(g, v, v->prev_page, 0, ev->referrer_url, sizeof(ev->referrer_url));
    }
}

static void gen_data_click(const struct gen_step *s, char *buf, size_t len)
{
    const char *path = loadgen_site_page(s->page)->path;

    switch (s->arg) {
    case GEN_CLICK_CTA:
        snprintf(buf, len, "{\"element\":\"cta\",\"text\":\"Book a repair\",\"target\":\"%s\"}",
                 path);
        break;
    case GEN_CLICK_TEL:
        snprintf(buf, len, "{\"element\":\"tel\",\"target\":\"tel:+15550100\"}");
        break;
    default:
        snprintf(buf, len, "{\"element\":\"nav\",\"text\":\"%s\",\"target\":\"%s\"}",
                 loadgen_site_page(s->page)->title, path);
        break;
    }
}

/* Writes the event's event_data object. */
static void gen_data(struct gen_visitor *v, const struct gen_step *s, char *buf, size_t len)
{
    switch ((enum loadgen_kind)s->kind) {
    case LOADGEN_PAGE_VIEW:
        snprintf(buf, len, "{\"title\":\"%s\",\"load_ms\":%lld}", loadgen_site_page(s->page)->title,
                 gen_log_ms(&v->rng, 150, 4000));
        break;
    case LOADGEN_SCROLL:
        snprintf(buf, len, "{\"depth_pct\":%u}", (unsigned)s->arg);
        break;
    case LOADGEN_CLICK:
        gen_data_click(s, buf, len);
        break;
    case LOADGEN_FORM_START:
        snprintf(buf, len, "{\"form_id\":\"%s\",\"field\":\"name\"}",
                 s->arg == GEN_FORM_BOOKING ? "booking" : "contact");
        break;
    case LOADGEN_BOOKING_STARTED:
        snprintf(buf, len,
                 "{\"booking_id\":\"b-%08" PRIx64 "\",\"service\":\"%s\",\"device\":\"%s\"}",
                 v->booking, loadgen_site_service(v->service), loadgen_site_device(v->service));
        break;
    case LOADGEN_BOOKING_COMPLETED:
        snprintf(buf, len,
                 "{\"booking_id\":\"b-%08" PRIx64 "\",\"service\":\"%s\",\"device\":\"%s\","
                 "\"value\":%d,\"currency\":\"EUR\"}",
                 v->booking, loadgen_site_service(v->service), loadgen_site_device(v->service),
                 loadgen_site_price(v->service));
        break;
    default:
        snprintf(buf, len, "{}");
        break;
    }
}

/* Fills ev from step s of visitor v (the page view already moved v->page). */
static void gen_fill(const struct loadgen_gen *g, struct gen_visitor *v, const struct gen_step *s,
                     struct loadgen_event *ev)
{
    ev->visitor = v->index;
    ev->agent = v->agent;
    ev->fingerprint = v->fingerprint;
    ev->user_agent = loadgen_agents_get(g->agents, v->agent);
    ev->client_ip = v->ip;
    ev->kind = (enum loadgen_kind)s->kind;
    ev->event_type = gen_kind_names[s->kind];
    ev->page_type = loadgen_site_page(v->page)->type;
    ev->channel = v->src.channel;
    ev->bot = v->bot != 0;
    ev->ipv6 = v->ipv6 != 0;
    ev->ts_ms = v->next_ts;
    ev->received_ms = v->next_ts + gen_log_ms(&v->rng, 20, 800);
    gen_uuid(&v->rng, ev->event_id);
    snprintf(ev->session_id, sizeof(ev->session_id), "s-%016" PRIx64, v->session);
    if (s->kind == LOADGEN_BOOKING_COMPLETED && v->user == 0) {
        v->user = rng_next(&v->rng) | 1;
    }
    ev->user_id[0] = '\0';
    if (v->user != 0) {
        snprintf(ev->user_id, sizeof(ev->user_id), "u-%016" PRIx64, v->user);
    }
    gen_urls(g, v, ev);
    gen_data(v, s, ev->event_data, sizeof(ev->event_data));
}

/* Emits the visitor's planned event and plans the one after it. */
static void gen_emit(const struct loadgen_gen *g, struct gen_visitor *v, struct loadgen_event *ev)
{
    struct gen_step s = v->q[v->qhead++];

    ev->visit_start = s.kind == LOADGEN_PAGE_VIEW && v->npages == 0;
    if (s.kind == LOADGEN_PAGE_VIEW) {
        if (v->npages > 0) {
            v->prev_page = v->page;
        }
        v->page = s.page;
        v->npages++;
    }
    gen_fill(g, v, &s, ev);
    if (s.kind == LOADGEN_PAGE_VIEW) {
        v->nq = v->qhead = 0; /* a page view is always the last step planned */
        if (v->bot) {
            gen_plan_bot(v);
        } else {
            gen_plan_human(v);
        }
    }
    ev->visit_end = v->qhead == v->nq;
    if (ev->visit_end) {
        gen_visit_return(v, ev->ts_ms);
    } else {
        v->next_ts += v->q[v->qhead].gap_ms;
    }
}

void loadgen_gen_next(struct loadgen_gen *g, struct loadgen_event *ev)
{
    gen_emit(g, &g->v[g->heap[0]], ev);
    gen_sift_down(g, 0);
}

/* ---- the population ---- */

/* Gives the visitor its identity and first visit. */
static void gen_visitor_init(const struct loadgen_gen *g, struct gen_visitor *v, uint32_t index)
{
    const struct loadgen_params *p = &g->p;
    double u;

    memset(v, 0, sizeof(*v));
    v->index = index;
    v->rng = rng_mix(p->seed, index);
    snprintf(v->fingerprint, sizeof(v->fingerprint), "fp-%016" PRIx64, rng_next(&v->rng));
    gen_ip(v, p->ipv6_share);
    v->bot = (uint8_t)rng_chance(&v->rng, p->bot_share);
    if (v->bot) {
        size_t nbots = loadgen_agents_total(g->agents) - g->nbrowsers;

        v->agent = (uint32_t)(g->nbrowsers + rng_below(&v->rng, (uint32_t)nbots));
    } else {
        u = rng_unit(&v->rng); /* squared: popular agents are picked more */
        v->agent = g->popular[(size_t)(u * u * (double)g->nbrowsers)];
    }
    v->intent = (float)rng_unit(&v->rng);
    v->service = (uint8_t)rng_below(&v->rng, loadgen_site_nservices());
    gen_visit_begin(v, p->start_ms + (long long)(rng_unit(&v->rng) * (double)p->window_ms));
}

/* Checks the parameters. Returns 0, or -1 with the reason in err. */
static int gen_check(const struct loadgen_params *p, char *err, size_t errlen)
{
    if (p->visitors == 0 || p->shards == 0 || p->shard >= p->shards) {
        errbuf_printf(err, errlen, "visitors and shards must be at least 1, shard below shards");
        return -1;
    }
    if (p->shard >= p->visitors) {
        errbuf_printf(err, errlen, "shard %u has no visitor (only %u visitors)", p->shard,
                      p->visitors);
        return -1;
    }
    if (p->window_ms < 0 || !(p->bot_share >= 0 && p->bot_share <= 1) ||
        !(p->ipv6_share >= 0 && p->ipv6_share <= 1)) {
        errbuf_printf(err, errlen, "window must be >= 0, shares within 0..1");
        return -1;
    }
    if (p->site == NULL || strlen(p->site) >= GEN_SITE_MAX) {
        errbuf_printf(err, errlen, "site URL missing or longer than 255 bytes");
        return -1;
    }
    return 0;
}

/* Orders browser agents by popularity: a shuffle seeded by the run. */
static void gen_shuffle_agents(struct loadgen_gen *g)
{
    uint64_t rng = rng_mix(g->p.seed, 0xa6e47ULL);

    for (size_t i = 0; i < g->nbrowsers; i++) {
        g->popular[i] = (uint32_t)i;
    }
    for (size_t i = g->nbrowsers; i > 1; i--) {
        size_t j = rng_below(&rng, (uint32_t)i);
        uint32_t t = g->popular[i - 1];

        g->popular[i - 1] = g->popular[j];
        g->popular[j] = t;
    }
}

struct loadgen_gen *loadgen_gen_new(const struct loadgen_params *p,
                                    const struct loadgen_agents *agents, char *err, size_t errlen)
{
    struct loadgen_gen *g;

    if (gen_check(p, err, errlen) != 0) {
        return NULL;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        goto out_oom;
    }
    g->p = *p;
    g->agents = agents;
    snprintf(g->site, sizeof(g->site), "%s", p->site);
    g->p.site = g->site;
    g->nbrowsers = loadgen_agents_browsers(agents);
    g->n = (p->visitors - p->shard + p->shards - 1) / p->shards;
    g->popular = calloc(g->nbrowsers, sizeof(*g->popular));
    g->v = calloc(g->n, sizeof(*g->v));
    g->heap = calloc(g->n, sizeof(*g->heap));
    if (g->popular == NULL || g->v == NULL || g->heap == NULL) {
        goto out_oom;
    }
    gen_shuffle_agents(g);
    for (uint32_t i = 0; i < g->n; i++) {
        gen_visitor_init(g, &g->v[i], p->shard + i * p->shards);
        g->heap[i] = i;
    }
    for (uint32_t i = g->n / 2; i-- > 0;) {
        gen_sift_down(g, i);
    }
    return g;

out_oom:
    errbuf_printf(err, errlen, "out of memory for %u visitors", p->visitors);
    loadgen_gen_free(g);
    return NULL;
}

uint32_t loadgen_gen_visitors(const struct loadgen_gen *g)
{
    return g->n;
}

void loadgen_gen_free(struct loadgen_gen *g)
{
    if (g == NULL) {
        return;
    }
    free(g->popular);
    free(g->v);
    free(g->heap);
    free(g);
}
