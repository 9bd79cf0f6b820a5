#ifndef LOADGEN_SITE_H
#define LOADGEN_SITE_H

/*
 * The synthetic site: a phone and laptop repair business. Its pages (paths
 * that deploy/config/pages.json classifies as the type given here), how
 * visitors move between page types, and where visits come from (referrers
 * and campaign URLs). Pure; randomness comes from the caller's stream.
 */

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

struct loadgen_page {
    enum loadgen_page_type type;
    const char *path;
    const char *title;
};

/* Index of the booking page and its thank-you page in the table. */
#define LOADGEN_SITE_BOOK 14
#define LOADGEN_SITE_THANKS 15

/* The page table. Static. */
const struct loadgen_page *loadgen_site_page(uint8_t i);
uint8_t loadgen_site_npages(void);

/* A random page of type t (never the thank-you page). */
uint8_t loadgen_site_pick(uint64_t *rng, enum loadgen_page_type t);

/* A random page of any type but the thank-you page (for crawlers). */
uint8_t loadgen_site_pick_any(uint64_t *rng);

/* The page type a human visitor goes to next from a page of type from: how
 * often the site links there from such a page, times the visitor's liking
 * for it (prefer: LOADGEN_PAGE_TYPE_COUNT weights, not all 0). By prefer
 * alone when the two have no type in common. (How long a visit lasts is the
 * visitor's to decide, not the site's.) */
enum loadgen_page_type loadgen_site_next_type(uint64_t *rng, enum loadgen_page_type from,
                                              const unsigned *prefer);

/* Where one visit comes from. */
struct loadgen_source {
    enum loadgen_channel channel;
    uint8_t source;    /* which referrer or ad network within the channel */
    uint8_t campaign;  /* index of the utm_campaign value */
    uint64_t click_id; /* gclid or fbclid value, 0 for none */
};

/* Picks the channel and source of a visit; returning visitors come more
 * often directly or from email. */
void loadgen_site_source(uint64_t *rng, int returning, struct loadgen_source *s);

/* The page type a visit from s lands on: where the channel leads, times
 * the visitor's liking (prefer, as for loadgen_site_next_type). */
enum loadgen_page_type loadgen_site_landing_type(uint64_t *rng, const struct loadgen_source *s,
                                                 const unsigned *prefer);

/* Writes the query string of a landing URL from s ("" when none, else
 * starting with '?') into buf. */
void loadgen_site_landing_query(const struct loadgen_source *s, char *buf, size_t len);

/* Writes the referrer of a landing page reached from s ("" for none). */
void loadgen_site_landing_referrer(const struct loadgen_source *s, char *buf, size_t len);

/* The services the business sells: name ("screen-repair"), device and price. */
const char *loadgen_site_service(uint8_t i);
const char *loadgen_site_device(uint8_t i);
int loadgen_site_price(uint8_t i);
uint8_t loadgen_site_nservices(void);

#endif
