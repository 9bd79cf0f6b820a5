#include "site.h"

#include "analytics/rng.h"

#include <inttypes.h>
#include <stdio.h>

#define SITE_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct loadgen_page site_pages[] = {
    {LOADGEN_PAGE_HOME, "/", "FixIt Repairs"},
    {LOADGEN_PAGE_SERVICE, "/services", "Our repair services"},
    {LOADGEN_PAGE_SERVICE, "/services/screen-repair", "Screen repair"},
    {LOADGEN_PAGE_SERVICE, "/services/battery-replacement", "Battery replacement"},
    {LOADGEN_PAGE_SERVICE, "/services/water-damage", "Water damage repair"},
    {LOADGEN_PAGE_SERVICE, "/data-recovery", "Data recovery"},
    {LOADGEN_PAGE_SERVICE, "/laptop-repairs", "Laptop repairs"},
    {LOADGEN_PAGE_SERVICE, "/phone-repairs/iphone", "iPhone repairs"},
    {LOADGEN_PAGE_SERVICE, "/phone-repairs/samsung", "Samsung repairs"},
    {LOADGEN_PAGE_SERVICE, "/tablet-repairs", "Tablet repairs"},
    {LOADGEN_PAGE_PRICING, "/pricing", "Prices"},
    {LOADGEN_PAGE_PRICING, "/pricing/phones", "Phone repair prices"},
    {LOADGEN_PAGE_PRICING, "/pricing/laptops", "Laptop repair prices"},
    {LOADGEN_PAGE_PRICING, "/get-a-quote", "Get a quote"},
    {LOADGEN_PAGE_BOOKING, "/book", "Book a repair"},               /* LOADGEN_SITE_BOOK */
    {LOADGEN_PAGE_BOOKING, "/book/thank-you", "Booking confirmed"}, /* LOADGEN_SITE_THANKS */
    {LOADGEN_PAGE_CONTACT, "/contact", "Contact us"},
    {LOADGEN_PAGE_CONTACT, "/locations/downtown", "Downtown store"},
    {LOADGEN_PAGE_CONTACT, "/find-us", "Find us"},
    {LOADGEN_PAGE_BLOG, "/blog", "Blog"},
    {LOADGEN_PAGE_BLOG, "/blog/battery-health-explained", "Battery health explained"},
    {LOADGEN_PAGE_BLOG, "/blog/water-damage-first-aid", "Water damage first aid"},
    {LOADGEN_PAGE_BLOG, "/blog/repair-or-replace-your-phone", "Repair or replace?"},
    {LOADGEN_PAGE_BLOG, "/guides/back-up-before-a-repair", "Back up before a repair"},
    {LOADGEN_PAGE_BLOG, "/news/new-store-opening", "Our new store"},
    {LOADGEN_PAGE_OTHER, "/about", "About us"},
    {LOADGEN_PAGE_OTHER, "/faq", "FAQ"},
    {LOADGEN_PAGE_OTHER, "/warranty", "Warranty"},
    {LOADGEN_PAGE_OTHER, "/reviews", "Reviews"},
    {LOADGEN_PAGE_OTHER, "/privacy", "Privacy policy"},
};

/* How often a page of each type (row) links to pages of each type (home,
 * service, pricing, booking, contact, blog, other). */
static const unsigned site_moves[LOADGEN_PAGE_TYPE_COUNT][LOADGEN_PAGE_TYPE_COUNT] = {
    [LOADGEN_PAGE_HOME] = {0, 30, 14, 5, 8, 10, 8},
    [LOADGEN_PAGE_SERVICE] = {4, 18, 25, 10, 7, 5, 3},
    [LOADGEN_PAGE_PRICING] = {4, 12, 6, 22, 10, 2, 3},
    [LOADGEN_PAGE_BOOKING] = {3, 5, 10, 0, 10, 0, 2},
    [LOADGEN_PAGE_CONTACT] = {6, 8, 6, 12, 2, 2, 4},
    [LOADGEN_PAGE_BLOG] = {8, 14, 6, 2, 3, 25, 2},
    [LOADGEN_PAGE_OTHER] = {15, 15, 8, 3, 10, 5, 8},
};

static const struct {
    const char *name, *device;
    int price;
} site_services[] = {
    {"screen-repair", "iphone", 89},         {"battery-replacement", "samsung-galaxy", 59},
    {"water-damage", "pixel", 79},           {"data-recovery", "macbook", 149},
    {"laptop-repair", "windows-laptop", 99}, {"tablet-repair", "ipad", 69},
};

static const char *const site_search_refs[] = {
    "https://www.google.com/", "https://www.google.com/",   "https://www.google.com/",
    "https://www.google.com/", "https://www.google.com/",   "https://www.google.com/",
    "https://www.google.com/", "https://www.google.co.uk/", "https://www.bing.com/",
    "https://www.bing.com/",   "https://duckduckgo.com/",
};
static const char *const site_social_refs[] = {
    "https://www.facebook.com/",  "https://l.facebook.com/",  "https://m.facebook.com/",
    "https://www.instagram.com/", "https://l.instagram.com/",
};
static const char *const site_referral_refs[] = {
    "https://www.yelp.com/biz/fixit-repairs-downtown",
    "https://www.reddit.com/r/mobilerepair/comments/abc123/",
    "https://www.trustpilot.com/review/fixit-repairs.example",
    "https://citynews.example/business/new-repair-shop-opens",
};
static const char *const site_campaigns[] = {
    "spring-screen-offer", "battery-month", "newsletter-weekly", "back-to-school",
    "black-friday",        "brand-search",  "repair-near-me",
};

const struct loadgen_page *loadgen_site_page(uint8_t i)
{
    return &site_pages[i];
}

uint8_t loadgen_site_npages(void)
{
    return (uint8_t)SITE_LEN(site_pages);
}

uint8_t loadgen_site_pick(uint64_t *rng, enum loadgen_page_type t)
{
    uint8_t match[SITE_LEN(site_pages)] = {0};
    uint8_t n = 0;

    for (uint8_t i = 0; i < SITE_LEN(site_pages); i++) {
        if (site_pages[i].type == t && i != LOADGEN_SITE_THANKS) {
            match[n++] = i;
        }
    }
    return n > 0 ? match[rng_below(rng, n)] : 0; /* every type has pages */
}

uint8_t loadgen_site_pick_any(uint64_t *rng)
{
    uint8_t i = (uint8_t)rng_below(rng, SITE_LEN(site_pages) - 1);

    return i >= LOADGEN_SITE_THANKS ? (uint8_t)(i + 1) : i;
}

/* Picks an index by integer weights (not all 0). */
static int site_weighted(uint64_t *rng, const unsigned *w, int n)
{
    unsigned total = 0, x;

    for (int i = 0; i < n; i++) {
        total += w[i];
    }
    x = rng_below(rng, total);
    for (int i = 0; i < n; i++) {
        if (x < w[i]) {
            return i;
        }
        x -= w[i];
    }
    return n - 1;
}

/* Picks a page type by the products of two weight vectors, or by prefer
 * alone when every product is 0. */
static enum loadgen_page_type site_pick_type(uint64_t *rng, const unsigned *site,
                                             const unsigned *prefer)
{
    unsigned w[LOADGEN_PAGE_TYPE_COUNT], total = 0;

    for (int i = 0; i < LOADGEN_PAGE_TYPE_COUNT; i++) {
        w[i] = site[i] * prefer[i];
        total += w[i];
    }
    return (enum loadgen_page_type)site_weighted(rng, total > 0 ? w : prefer,
                                                 LOADGEN_PAGE_TYPE_COUNT);
}

enum loadgen_page_type loadgen_site_next_type(uint64_t *rng, enum loadgen_page_type from,
                                              const unsigned *prefer)
{
    return site_pick_type(rng, site_moves[from], prefer);
}

void loadgen_site_source(uint64_t *rng, int returning, struct loadgen_source *s)
{
    /* direct, organic, social, email, paid, referral */
    static const unsigned first[LOADGEN_CH_COUNT] = {25, 33, 12, 5, 18, 7};
    static const unsigned again[LOADGEN_CH_COUNT] = {40, 22, 8, 15, 10, 5};

    s->channel =
        (enum loadgen_channel)site_weighted(rng, returning ? again : first, LOADGEN_CH_COUNT);
    s->campaign = (uint8_t)rng_below(rng, SITE_LEN(site_campaigns));
    s->click_id = 0;
    switch (s->channel) {
    case LOADGEN_CH_ORGANIC:
        s->source = (uint8_t)rng_below(rng, SITE_LEN(site_search_refs));
        break;
    case LOADGEN_CH_SOCIAL:
        s->source = (uint8_t)rng_below(rng, SITE_LEN(site_social_refs));
        if (rng_chance(rng, 0.5)) {
            s->click_id = rng_next(rng) | 1;
        }
        break;
    case LOADGEN_CH_EMAIL:
        s->source = (uint8_t)rng_chance(rng, 0.3); /* 1: opened in webmail */
        break;
    case LOADGEN_CH_PAID:
        s->source = (uint8_t)rng_chance(rng, 0.3); /* 0: Google Ads, 1: Facebook */
        if (rng_chance(rng, s->source == 0 ? 0.8 : 0.6)) {
            s->click_id = rng_next(rng) | 1;
        }
        break;
    case LOADGEN_CH_REFERRAL:
        s->source = (uint8_t)rng_below(rng, SITE_LEN(site_referral_refs));
        break;
    default:
        s->source = 0;
        break;
    }
}

enum loadgen_page_type loadgen_site_landing_type(uint64_t *rng, const struct loadgen_source *s,
                                                 const unsigned *prefer)
{
    /* home, service, pricing, booking, contact, blog, other */
    static const unsigned land[LOADGEN_CH_COUNT][LOADGEN_PAGE_TYPE_COUNT] = {
        [LOADGEN_CH_DIRECT] = {70, 8, 6, 6, 6, 2, 2},
        [LOADGEN_CH_ORGANIC] = {15, 45, 10, 0, 5, 25, 0},
        [LOADGEN_CH_SOCIAL] = {30, 25, 5, 0, 0, 40, 0},
        [LOADGEN_CH_EMAIL] = {10, 25, 35, 10, 0, 20, 0},
        [LOADGEN_CH_PAID] = {10, 50, 30, 10, 0, 0, 0},
        [LOADGEN_CH_REFERRAL] = {50, 20, 5, 0, 15, 0, 10},
    };

    return site_pick_type(rng, land[s->channel], prefer);
}

void loadgen_site_landing_query(const struct loadgen_source *s, char *buf, size_t len)
{
    const char *camp = site_campaigns[s->campaign];
    int n = 0;

    buf[0] = '\0';
    switch (s->channel) {
    case LOADGEN_CH_EMAIL:
        n = snprintf(buf, len, "?utm_source=newsletter&utm_medium=email&utm_campaign=%s", camp);
        break;
    case LOADGEN_CH_PAID:
        n = snprintf(buf, len, "?utm_source=%s&utm_medium=%s&utm_campaign=%s",
                     s->source == 0 ? "google" : "facebook", s->source == 0 ? "cpc" : "paid_social",
                     camp);
        if (s->click_id != 0 && n > 0 && (size_t)n < len) {
            snprintf(buf + n, len - (size_t)n, "&%s=%016" PRIx64,
                     s->source == 0 ? "gclid" : "fbclid", s->click_id);
        }
        break;
    case LOADGEN_CH_SOCIAL:
        if (s->click_id != 0) {
            snprintf(buf, len, "?fbclid=%016" PRIx64, s->click_id);
        }
        break;
    default:
        break;
    }
}

void loadgen_site_landing_referrer(const struct loadgen_source *s, char *buf, size_t len)
{
    const char *ref = "";

    switch (s->channel) {
    case LOADGEN_CH_ORGANIC:
        ref = site_search_refs[s->source];
        break;
    case LOADGEN_CH_SOCIAL:
        ref = site_social_refs[s->source];
        break;
    case LOADGEN_CH_EMAIL:
        ref = s->source == 1 ? "https://mail.google.com/" : "";
        break;
    case LOADGEN_CH_PAID:
        ref = s->source == 0 ? "https://www.google.com/" : "https://m.facebook.com/";
        break;
    case LOADGEN_CH_REFERRAL:
        ref = site_referral_refs[s->source];
        break;
    default:
        break;
    }
    snprintf(buf, len, "%s", ref);
}

const char *loadgen_site_service(uint8_t i)
{
    return site_services[i].name;
}

const char *loadgen_site_device(uint8_t i)
{
    return site_services[i].device;
}

int loadgen_site_price(uint8_t i)
{
    return site_services[i].price;
}

uint8_t loadgen_site_nservices(void)
{
    return (uint8_t)SITE_LEN(site_services);
}
