#ifndef LOADGEN_GEN_H
#define LOADGEN_GEN_H

/*
 * Synthetic visitors of a small repair business's site, as a deterministic
 * stream of browser events. Pure: no I/O and no clock; the same parameters
 * give the same events, byte for byte.
 *
 * A population of visitors, each with a stable fingerprint, one user agent
 * and one client IP, makes visits: a landing page reached through a channel
 * (direct, search, social, email, paid, referral), then page views seconds
 * apart with scrolls, clicks, form starts, rage clicks and exit intents, and
 * for some a booking funnel (booking page, form, booking_started,
 * booking_completed). Every visitor is of one kind (enum
 * loadgen_visitor_kind): a crawler, or one of ten human behaviours drawn
 * with fixed shares (loadgen_visitor_kind_share), each differing in pages
 * per visit, time on page, scroll depth, pricing views, bookings, forms,
 * rage clicks, exit intents and how often and for how long it returns.
 * After a visit a visitor comes back later (more than 30 minutes idle,
 * sometimes days; after its kind's spell of visits, half a year or more),
 * so the stream never ends. Each visitor draws from its own random stream, seeded from the
 * run's seed and its index, so its kind and events do not depend on the
 * others or on sharding. Events come out in time order overall, hence in
 * time order per visitor, with visitors interleaved.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agents.h"

enum loadgen_kind {
    LOADGEN_PAGE_VIEW,
    LOADGEN_CLICK,
    LOADGEN_SCROLL,
    LOADGEN_FORM_START,
    LOADGEN_BOOKING_STARTED,
    LOADGEN_BOOKING_COMPLETED,
    LOADGEN_RAGE_CLICK,  /* {"element":..., "clicks":3..6} */
    LOADGEN_EXIT_INTENT, /* {"trigger":"pointer_top"|"scroll_up"|"tab_hidden"} */
    LOADGEN_KIND_COUNT
};

/* Who a visitor is: the ground truth a persona model can be checked
 * against. All but the crawler are humans. */
enum loadgen_visitor_kind {
    LOADGEN_VK_CRAWLER,       /* a bot: pages a second apart, no referrer */
    LOADGEN_VK_BOUNCER,       /* one page, rarely back */
    LOADGEN_VK_READER,        /* blog, long on each page, scrolls to the end */
    LOADGEN_VK_COMPARER,      /* pricing pages over several visits, no booking */
    LOADGEN_VK_ABANDONER,     /* starts bookings and forms, never completes, exit intent */
    LOADGEN_VK_BOOKER,        /* a few pages straight to a completed booking */
    LOADGEN_VK_REPEAT_BOOKER, /* back over weeks, books several times */
    LOADGEN_VK_RETURNER,      /* many visits over weeks, no booking */
    LOADGEN_VK_FRUSTRATED,    /* rage clicks, short visits */
    LOADGEN_VK_LEAVER,        /* exit intents, shallow */
    LOADGEN_VK_CONTACT,       /* the contact page: contact form, phone number */
    LOADGEN_VK_COUNT
};

/* Page types as deploy/config/pages.json names them. */
enum loadgen_page_type {
    LOADGEN_PAGE_HOME,
    LOADGEN_PAGE_SERVICE,
    LOADGEN_PAGE_PRICING,
    LOADGEN_PAGE_BOOKING,
    LOADGEN_PAGE_CONTACT,
    LOADGEN_PAGE_BLOG,
    LOADGEN_PAGE_OTHER,
    LOADGEN_PAGE_TYPE_COUNT
};

/* How a visit arrived (what the enricher should conclude from the URLs). */
enum loadgen_channel {
    LOADGEN_CH_DIRECT,
    LOADGEN_CH_ORGANIC,
    LOADGEN_CH_SOCIAL,
    LOADGEN_CH_EMAIL,
    LOADGEN_CH_PAID,
    LOADGEN_CH_REFERRAL,
    LOADGEN_CH_COUNT
};

struct loadgen_params {
    uint64_t seed;
    uint32_t visitors;  /* population size, >= 1 */
    long long start_ms; /* first visits start in [start_ms, start_ms + window_ms) */
    long long window_ms;
    const char *site;  /* origin of the site's URLs, e.g. "https://shop.example"; borrowed */
    double bot_share;  /* share of visitors that are crawlers, 0..1 */
    double ipv6_share; /* share of visitors with an IPv6 address, 0..1 */
    uint32_t shard;    /* this generator makes visitors whose index % shards == shard */
    uint32_t shards;   /* >= 1 */
};

#define LOADGEN_URL_MAX 512
#define LOADGEN_DATA_MAX 256

/* One event. The strings marked borrowed belong to the generator and stay
 * valid until loadgen_gen_free; the arrays are the event's own. */
struct loadgen_event {
    uint32_t visitor;        /* index in the population */
    uint32_t agent;          /* index in the agent list */
    const char *fingerprint; /* borrowed */
    const char *user_agent;  /* borrowed */
    const char *client_ip;   /* borrowed */
    const char *event_type;  /* static: "page_view", "click", ... */
    enum loadgen_kind kind;
    enum loadgen_visitor_kind visitor_kind; /* the visitor's, the same for all its events */
    enum loadgen_page_type page_type;       /* of page_url */
    enum loadgen_channel channel;           /* of the visit */
    bool bot;
    bool ipv6;
    bool visit_start;      /* first event of a visit */
    bool visit_end;        /* last event of a visit: the visitor's next one opens another */
    long long ts_ms;       /* client time */
    long long received_ms; /* when a collector would have received it (ts + network) */
    char event_id[37];     /* UUID v4 */
    char session_id[20];   /* the visit's client session id */
    char user_id[20];      /* "" until the visitor completed a booking */
    char page_url[LOADGEN_URL_MAX];
    char referrer_url[LOADGEN_URL_MAX]; /* "" when none */
    char event_data[LOADGEN_DATA_MAX];  /* a JSON object */
};

struct loadgen_gen;

/* Fills p with defaults: seed 1, 10000 visitors, start 0, window 1 h, site
 * "https://shop.example", 2% bots, 10% IPv6, one shard. */
void loadgen_params_default(struct loadgen_params *p);

/* Makes the population. agents is borrowed and must outlive the generator.
 * Returns a new generator (caller frees with loadgen_gen_free), or NULL with
 * the reason in err (bad parameters, no visitor in this shard, out of
 * memory). */
struct loadgen_gen *loadgen_gen_new(const struct loadgen_params *p,
                                    const struct loadgen_agents *agents, char *err, size_t errlen);

/* Writes the next event into ev. The stream is endless. */
void loadgen_gen_next(struct loadgen_gen *g, struct loadgen_event *ev);

/* Visitors this generator makes (its shard of the population). */
uint32_t loadgen_gen_visitors(const struct loadgen_gen *g);

/* Who a visitor is, without making its events. */
struct loadgen_visitor_info {
    uint32_t visitor;        /* index in the population */
    const char *fingerprint; /* borrowed; valid until loadgen_gen_free */
    enum loadgen_visitor_kind kind;
};

/* The generator's visitor i (i < loadgen_gen_visitors, in population order)
 * into out. */
void loadgen_gen_visitor(const struct loadgen_gen *g, uint32_t i, struct loadgen_visitor_info *out);

/* Frees the generator. Accepts NULL. */
void loadgen_gen_free(struct loadgen_gen *g);

/* Static names: the event type, the page type as pages.json has it, the
 * channel ("direct", "organic", "social", "email", "paid", "referral") and
 * the visitor kind ("crawler", "bouncer", "reader", ...). */
const char *loadgen_kind_name(enum loadgen_kind k);
const char *loadgen_page_type_name(enum loadgen_page_type t);
const char *loadgen_channel_name(enum loadgen_channel c);
const char *loadgen_visitor_kind_name(enum loadgen_visitor_kind k);

/* The share of human visitors (0..1) that are of kind k; 0 for the crawler,
 * whose share is loadgen_params.bot_share of all visitors. The human shares
 * add up to 1. */
double loadgen_visitor_kind_share(enum loadgen_visitor_kind k);

#endif
