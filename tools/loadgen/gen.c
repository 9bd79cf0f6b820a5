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
#define GEN_ALL 0xff               /* gen_kind.books: every visit of the spell */
#define GEN_SPELL_GAP_DAYS_MIN 180 /* between a human's spells of visits */
#define GEN_SPELL_GAP_DAYS_MAX 720

enum gen_click { GEN_CLICK_NAV, GEN_CLICK_CTA, GEN_CLICK_TEL };
enum gen_form { GEN_FORM_BOOKING, GEN_FORM_CONTACT };
enum gen_booking { GEN_BOOK_NONE, GEN_BOOK_COMPLETE, GEN_BOOK_ABANDON };

/* One planned event of a visitor: what, where, and how long after the
 * previous one. */
struct gen_step {
    uint8_t kind; /* enum loadgen_kind */
    uint8_t page; /* page_view: the page shown; click: its target */
    uint8_t arg;  /* scroll depth, enum gen_click, enum gen_form, rage click element, exit
                     intent trigger */
    uint8_t n;    /* rage click: clicks */
    uint32_t gap_ms;
};

/*
 * How a kind of human visitor behaves. A visitor makes a spell of visits
 * (visits, return_h hours apart), then comes back half a year to two years
 * later (GEN_SPELL_GAP_DAYS_*) for another spell, so a run of less than half
 * a year shows every visitor's kind undiluted. Of a spell's visits, books (at most all) head for
 * the booking page and book or abandon there; a contact seeker's every visit heads for the contact
 * page. A visit views pages pages (then its goal, if it has one), dwell seconds each. Ranges are
 * {lo, hi}: integers uniform, times log-uniform.
 */
struct gen_kind {
    const char *name;
    unsigned share;    /* per mille of human visitors */
    uint8_t visits[2]; /* of a spell */
    uint8_t books[2];  /* booking visits of a spell; GEN_ALL: every one */
    uint8_t pages[2];  /* page views of a visit, its goal not counted */
    uint8_t goal;      /* enum loadgen_page_type a goal visit heads for, or GEN_NONE */
    uint8_t booking;   /* enum gen_booking: what a booking visit does there */
    float dwell[2];    /* seconds on a page */
    float return_h[2]; /* hours between the visits of a spell */
    float scroll[2];   /* chance of the first scroll milestone, of each further one */
    float rage[2];     /* chance of a rage click on the landing page, on the others */
    float exit[2];     /* chance of an exit intent on a page, on the visit's last */
    float contact[2];  /* on a contact page: chance of the form, of a tel click */
    unsigned prefer[LOADGEN_PAGE_TYPE_COUNT]; /* liking for home, service, pricing,
                                                 booking, contact, blog, other */
};

/* What most kinds do now and then: the background the kinds stand out of
 * (a rage click on a page, an exit intent as a visit ends, the contact form
 * or the phone number on a contact page). */
#define GEN_RARE_RAGE 0.005f
#define GEN_RARE_EXIT 0.04f
#define GEN_RARE_CONTACT 0.02f

/* The kinds, by enum loadgen_visitor_kind; the crawler's row only names it
 * (crawlers keep their own plan). The README's load generator section lists
 * the same shares. */
static const struct gen_kind gen_kinds[LOADGEN_VK_COUNT] = {
    [LOADGEN_VK_CRAWLER] = {.name = "crawler"},
    [LOADGEN_VK_BOUNCER] = {.name = "bouncer",
                            .share = 220,
                            .visits = {1, 1},
                            .pages = {1, 1},
                            .goal = GEN_NONE,
                            .dwell = {5, 60},
                            .return_h = {24, 24},
                            .scroll = {0.3f, 0.2f},
                            .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                            .exit = {0, GEN_RARE_EXIT},
                            .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                            .prefer = {40, 35, 5, 0, 0, 20, 0}},
    [LOADGEN_VK_READER] = {.name = "reader",
                           .share = 110,
                           .visits = {2, 4},
                           .pages = {3, 8},
                           .goal = GEN_NONE,
                           .dwell = {60, 600},
                           .return_h = {72, 480},
                           .scroll = {0.95f, 0.85f},
                           .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                           .exit = {0, GEN_RARE_EXIT},
                           .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                           .prefer = {5, 5, 0, 0, 0, 85, 5}},
    [LOADGEN_VK_COMPARER] = {.name = "price_comparer",
                             .share = 100,
                             .visits = {3, 6},
                             .pages = {4, 9},
                             .goal = GEN_NONE,
                             .dwell = {15, 120},
                             .return_h = {2, 72},
                             .scroll = {0.5f, 0.45f},
                             .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                             .exit = {0, GEN_RARE_EXIT},
                             .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                             .prefer = {5, 20, 60, 3, 2, 0, 10}},
    [LOADGEN_VK_ABANDONER] = {.name = "booking_abandoner",
                              .share = 90,
                              .visits = {1, 3},
                              .books = {GEN_ALL, GEN_ALL},
                              .pages = {2, 5},
                              .goal = LOADGEN_PAGE_BOOKING,
                              .booking = GEN_BOOK_ABANDON,
                              .dwell = {10, 90},
                              .return_h = {4, 72},
                              .scroll = {0.4f, 0.4f},
                              .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                              .exit = {0, 0.9f},
                              .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                              .prefer = {10, 40, 40, 0, 0, 0, 10}},
    [LOADGEN_VK_BOOKER] = {.name = "booker",
                           .share = 80,
                           .visits = {1, 1},
                           .books = {1, 1},
                           .pages = {1, 3},
                           .goal = LOADGEN_PAGE_BOOKING,
                           .booking = GEN_BOOK_COMPLETE,
                           .dwell = {8, 60},
                           .return_h = {24, 24},
                           .scroll = {0.4f, 0.3f},
                           .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                           .exit = {0, GEN_RARE_EXIT},
                           .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                           .prefer = {20, 50, 30, 0, 0, 0, 0}},
    [LOADGEN_VK_REPEAT_BOOKER] = {.name = "repeat_booker",
                                  .share = 50,
                                  .visits = {4, 8},
                                  .books = {2, 4},
                                  .pages = {1, 4},
                                  .goal = LOADGEN_PAGE_BOOKING,
                                  .booking = GEN_BOOK_COMPLETE,
                                  .dwell = {10, 90},
                                  .return_h = {72, 288},
                                  .scroll = {0.4f, 0.4f},
                                  .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                                  .exit = {0, GEN_RARE_EXIT},
                                  .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                                  .prefer = {30, 40, 10, 0, 10, 0, 10}},
    [LOADGEN_VK_RETURNER] = {.name = "loyal_returner",
                             .share = 100,
                             .visits = {6, 14},
                             .pages = {2, 6},
                             .goal = GEN_NONE,
                             .dwell = {15, 120},
                             .return_h = {24, 120},
                             .scroll = {0.5f, 0.4f},
                             .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                             .exit = {0, GEN_RARE_EXIT},
                             .contact = {0.05f, 0.08f},
                             .prefer = {30, 20, 0, 0, 5, 25, 20}},
    [LOADGEN_VK_FRUSTRATED] = {.name = "frustrated",
                               .share = 70,
                               .visits = {1, 2},
                               .pages = {1, 3},
                               .goal = GEN_NONE,
                               .dwell = {5, 40},
                               .return_h = {1, 48},
                               .scroll = {0.3f, 0.2f},
                               .rage = {1, 0.6f},
                               .exit = {0, 0.3f},
                               .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                               .prefer = {30, 30, 20, 0, 10, 0, 10}},
    [LOADGEN_VK_LEAVER] = {.name = "on_the_way_out",
                           .share = 80,
                           .visits = {1, 2},
                           .pages = {1, 3},
                           .goal = GEN_NONE,
                           .dwell = {5, 45},
                           .return_h = {12, 240},
                           .scroll = {0.25f, 0},
                           .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                           .exit = {0.5f, 1},
                           .contact = {GEN_RARE_CONTACT, GEN_RARE_CONTACT},
                           .prefer = {40, 30, 10, 0, 0, 10, 10}},
    [LOADGEN_VK_CONTACT] = {.name = "contact_seeker",
                            .share = 100,
                            .visits = {1, 2},
                            .pages = {1, 3},
                            .goal = LOADGEN_PAGE_CONTACT,
                            .dwell = {8, 60},
                            .return_h = {24, 240},
                            .scroll = {0.4f, 0.3f},
                            .rage = {GEN_RARE_RAGE, GEN_RARE_RAGE},
                            .exit = {0, GEN_RARE_EXIT},
                            .contact = {0.75f, 0.5f},
                            .prefer = {40, 30, 10, 0, 0, 0, 20}},
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
    uint8_t bot, ipv6, service;
    uint8_t kind;        /* enum loadgen_visitor_kind */
    uint8_t visits_left; /* humans: visits of the spell still to come after this one */
    uint8_t books_left;  /* humans: of them, booking visits */
    uint8_t goal;        /* humans: the page type this visit heads for, GEN_NONE for none */
    uint8_t page;        /* the page being viewed */
    uint8_t prev_page;   /* the one before it in this visit, GEN_NONE on the landing page */
    uint8_t pages_left;  /* page views still to make in this visit (humans: the goal's too) */
    uint8_t npages;      /* page views made in this visit */
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
    "page_view",         "click",      "scroll",      "form_start", "booking_started",
    "booking_completed", "rage_click", "exit_intent",
};
static const char *const gen_page_names[LOADGEN_PAGE_TYPE_COUNT] = {
    "home", "service", "pricing", "booking", "contact", "blog", "other",
};
static const char *const gen_channel_names[LOADGEN_CH_COUNT] = {
    "direct", "organic", "social", "email", "paid", "referral",
};
/* What a rage click hits (gen_plan_rage picks the index). */
static const char *const gen_rage_elements[] = {
    "cta", "nav", "image", "price_table", "form_submit", "map",
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

const char *loadgen_visitor_kind_name(enum loadgen_visitor_kind k)
{
    return gen_kinds[k].name;
}

double loadgen_visitor_kind_share(enum loadgen_visitor_kind k)
{
    return gen_kinds[k].share / 1000.0;
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
    /* A page plans at most 4 scrolls, a rage click, 4 booking steps or 2
     * contact steps, an exit intent and 2 steps to the next page. */
    assert(v->nq < GEN_QMAX);
    if (v->nq < GEN_QMAX) {
        v->q[v->nq++] = (struct gen_step){(uint8_t)kind, page, arg, 0, gap_ms};
    }
}

/* A whole number in [r[0], r[1]]. */
static uint8_t gen_range(uint64_t *rng, const uint8_t r[2])
{
    return (uint8_t)(r[0] + rng_below(rng, (uint32_t)(r[1] - r[0]) + 1));
}

/* Starts a human's spell of visits: how many, and how many book. */
static void gen_spell_begin(struct gen_visitor *v)
{
    const struct gen_kind *k = &gen_kinds[v->kind];
    uint8_t books;

    v->visits_left = gen_range(&v->rng, k->visits);
    books = k->books[0] == GEN_ALL ? v->visits_left : gen_range(&v->rng, k->books);
    v->books_left = books < v->visits_left ? books : v->visits_left;
}

/* Plans a human's visit: its goal (booking visits are spread over the
 * spell at random) and its number of pages. */
static void gen_visit_plan(struct gen_visitor *v)
{
    const struct gen_kind *k = &gen_kinds[v->kind];

    if (v->visits_left == 0) {
        gen_spell_begin(v);
    }
    v->goal = GEN_NONE;
    if (k->goal == LOADGEN_PAGE_BOOKING) {
        if (v->books_left > 0 && rng_below(&v->rng, v->visits_left) < v->books_left) {
            v->goal = LOADGEN_PAGE_BOOKING;
            v->books_left--;
        }
    } else if (k->goal != GEN_NONE) {
        v->goal = k->goal;
    }
    v->visits_left--;
    v->pages_left = (uint8_t)(gen_range(&v->rng, k->pages) - 1 + (v->goal != GEN_NONE));
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
        gen_visit_plan(v);
        loadgen_site_source(&v->rng, v->visits > 0, &v->src);
        landing = loadgen_site_pick(
            &v->rng, loadgen_site_landing_type(&v->rng, &v->src, gen_kinds[v->kind].prefer));
    }
    v->visits++;
    v->next_ts = ts;
    gen_push(v, LOADGEN_PAGE_VIEW, landing, 0, 0);
}

/* Schedules the visitor's next visit after one that just ended at ts: a
 * human's next of the spell, or the first of another spell. */
static void gen_visit_return(struct gen_visitor *v, long long ts)
{
    const struct gen_kind *k = &gen_kinds[v->kind];
    long long gap;

    if (v->bot) {
        gap = gen_log_ms(&v->rng, 3600e3, 48 * 3600e3);
    } else if (v->visits_left > 0) {
        gap = gen_log_ms(&v->rng, k->return_h[0] * 3600e3, k->return_h[1] * 3600e3);
    } else {
        gap =
            gen_log_ms(&v->rng, GEN_SPELL_GAP_DAYS_MIN * 86400e3, GEN_SPELL_GAP_DAYS_MAX * 86400e3);
    }
    gen_visit_begin(v, ts + (gap > GEN_MIN_RETURN_MS ? gap : GEN_MIN_RETURN_MS));
}

/* The milliseconds planned on the current page so far. */
static uint32_t gen_planned_ms(const struct gen_visitor *v)
{
    uint32_t ms = 0;

    for (uint8_t i = 0; i < v->nq; i++) {
        ms += v->q[i].gap_ms;
    }
    return ms;
}

/* Plans scroll milestones (25, 50, 75, 100%) on the current page, spread
 * over the dwell_ms the visitor stays: the first with the kind's chance,
 * each further one with its other chance. */
static void gen_plan_scrolls(struct gen_visitor *v, const struct gen_kind *k, uint32_t dwell_ms)
{
    static const uint8_t depths[] = {25, 50, 75, 100};

    for (int i = 0; i < 4 && rng_chance(&v->rng, k->scroll[i > 0]); i++) {
        gen_push(v, LOADGEN_SCROLL, v->page, depths[i],
                 500 + (uint32_t)(dwell_ms * (0.05 + 0.15 * rng_unit(&v->rng))));
    }
}

/* A rage click on the current page: an element that does not answer,
 * clicked 3 to 6 times. */
static void gen_plan_rage(struct gen_visitor *v, enum loadgen_page_type t)
{
    /* The element: one of the page type's own, or a general one. */
    static const uint8_t own[LOADGEN_PAGE_TYPE_COUNT] = {
        [LOADGEN_PAGE_HOME] = 0,    [LOADGEN_PAGE_SERVICE] = 0, [LOADGEN_PAGE_PRICING] = 3,
        [LOADGEN_PAGE_BOOKING] = 4, [LOADGEN_PAGE_CONTACT] = 5, [LOADGEN_PAGE_BLOG] = 2,
        [LOADGEN_PAGE_OTHER] = 1,
    };
    uint8_t el = rng_chance(&v->rng, 0.6) ? own[t] : (uint8_t)rng_below(&v->rng, 3);

    gen_push(v, LOADGEN_RAGE_CLICK, v->page, el, gen_gap(&v->rng, 1, 8));
    v->q[v->nq - 1].n = (uint8_t)(3 + rng_below(&v->rng, 4));
}

/* The booking page of a booking visit: form, booking started, then either
 * completed and the thank-you page, or (abandoning) left there, mostly
 * after starting. Returns 1 when the thank-you page is queued. */
static int gen_plan_booking(struct gen_visitor *v, const struct gen_kind *k)
{
    gen_push(v, LOADGEN_FORM_START, v->page, GEN_FORM_BOOKING, gen_gap(&v->rng, 3, 40));
    if (k->booking == GEN_BOOK_ABANDON && !rng_chance(&v->rng, 0.85)) {
        return 0;
    }
    v->booking = rng_next(&v->rng) & 0xffffffffULL;
    gen_push(v, LOADGEN_BOOKING_STARTED, v->page, 0, gen_gap(&v->rng, 15, 120));
    if (k->booking != GEN_BOOK_COMPLETE) {
        return 0;
    }
    gen_push(v, LOADGEN_BOOKING_COMPLETED, v->page, 0, gen_gap(&v->rng, 30, 300));
    gen_push(v, LOADGEN_PAGE_VIEW, LOADGEN_SITE_THANKS, 0, gen_gap(&v->rng, 0.3, 3));
    return 1;
}

/* A contact page: the contact form and the phone number, each with the
 * kind's chance; a visit that came for it does at least one. */
static void gen_plan_contact(struct gen_visitor *v, const struct gen_kind *k, int goal)
{
    int form = rng_chance(&v->rng, k->contact[0]), tel = rng_chance(&v->rng, k->contact[1]);

    if (form || (goal && !tel)) {
        gen_push(v, LOADGEN_FORM_START, v->page, GEN_FORM_CONTACT, gen_gap(&v->rng, 3, 40));
    }
    if (tel) {
        gen_push(v, LOADGEN_CLICK, v->page, GEN_CLICK_TEL, gen_gap(&v->rng, 2, 30));
    }
}

/* Plans the way to the next page, dwell_ms after the page view (at least
 * a second after the last step planned on it). */
static void gen_plan_next(struct gen_visitor *v, const struct gen_kind *k, uint32_t dwell_ms)
{
    enum loadgen_page_type t = loadgen_site_page(v->page)->type, next;
    uint32_t used = gen_planned_ms(v), gap = dwell_ms > used + 1000 ? dwell_ms - used : 1000;
    uint8_t target;

    next = v->pages_left == 1 && v->goal != GEN_NONE
               ? (enum loadgen_page_type)v->goal
               : loadgen_site_next_type(&v->rng, t, k->prefer);
    v->pages_left--;
    if (next == LOADGEN_PAGE_BOOKING) {
        gen_push(v, LOADGEN_CLICK, LOADGEN_SITE_BOOK, GEN_CLICK_CTA, gap);
        gen_push(v, LOADGEN_PAGE_VIEW, LOADGEN_SITE_BOOK, 0, gen_gap(&v->rng, 0.3, 2));
        return;
    }
    target = loadgen_site_pick(&v->rng, next);
    if (rng_chance(&v->rng, 0.6)) {
        gen_push(v, LOADGEN_CLICK, target, GEN_CLICK_NAV, gap);
        gen_push(v, LOADGEN_PAGE_VIEW, target, 0, gen_gap(&v->rng, 0.3, 2));
    } else {
        gen_push(v, LOADGEN_PAGE_VIEW, target, 0, gap);
    }
}

/* Plans what a human does on the page just viewed, ending with the next
 * page view, or nothing when the visit ends there. */
static void gen_plan_human(struct gen_visitor *v)
{
    const struct gen_kind *k = &gen_kinds[v->kind];
    enum loadgen_page_type t = loadgen_site_page(v->page)->type;
    uint32_t dwell = gen_gap(&v->rng, k->dwell[0], k->dwell[1]);
    int goal = v->goal != GEN_NONE && t == v->goal;

    if (v->page == LOADGEN_SITE_THANKS) {
        v->pages_left = 0;
        if (rng_chance(&v->rng, 0.2)) {
            gen_push(v, LOADGEN_PAGE_VIEW, 0, 0, gen_gap(&v->rng, 5, 60));
        }
        return;
    }
    gen_plan_scrolls(v, k, dwell);
    if (rng_chance(&v->rng, k->rage[v->npages > 1])) {
        gen_plan_rage(v, t);
    }
    if (goal) {
        v->goal = GEN_NONE;
        v->pages_left = 0; /* what the visit came for is its last page */
        if (t == LOADGEN_PAGE_BOOKING && gen_plan_booking(v, k)) {
            return;
        }
    }
    if (t == LOADGEN_PAGE_CONTACT) {
        gen_plan_contact(v, k, goal);
    }
    if (v->npages >= GEN_MAX_PAGES) {
        v->pages_left = 0;
    }
    if (rng_chance(&v->rng, k->exit[v->pages_left == 0])) { /* trigger: see gen_data */
        gen_push(v, LOADGEN_EXIT_INTENT, v->page, (uint8_t)rng_below(&v->rng, 5),
                 gen_gap(&v->rng, 1, 10));
    }
    if (v->pages_left > 0) {
        gen_plan_next(v, k, dwell);
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
    case LOADGEN_RAGE_CLICK:
        snprintf(buf, len, "{\"element\":\"%s\",\"clicks\":%u}", gen_rage_elements[s->arg],
                 (unsigned)s->n);
        break;
    case LOADGEN_EXIT_INTENT: /* arg 0..4: the pointer leaving at the top three times in five */
        snprintf(buf, len, "{\"trigger\":\"%s\"}",
                 s->arg < 3    ? "pointer_top"
                 : s->arg == 3 ? "scroll_up"
                               : "tab_hidden");
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
    ev->visitor_kind = (enum loadgen_visitor_kind)v->kind;
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

/* A human kind, by the shares, from u in [0, 1). */
static uint8_t gen_human_kind(double u)
{
    unsigned x = (unsigned)(u * 1000);

    for (int k = LOADGEN_VK_CRAWLER + 1; k < LOADGEN_VK_COUNT - 1; k++) {
        if (x < gen_kinds[k].share) {
            return (uint8_t)k;
        }
        x -= gen_kinds[k].share;
    }
    return LOADGEN_VK_COUNT - 1;
}

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
    u = rng_unit(&v->rng); /* drawn by crawlers too: their events are as before kinds */
    v->kind = v->bot ? LOADGEN_VK_CRAWLER : gen_human_kind(u);
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

void loadgen_gen_visitor(const struct loadgen_gen *g, uint32_t i, struct loadgen_visitor_info *out)
{
    const struct gen_visitor *v = &g->v[i];

    out->visitor = v->index;
    out->fingerprint = v->fingerprint;
    out->kind = (enum loadgen_visitor_kind)v->kind;
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
