#ifndef ENRICHER_ENRICH_H
#define ENRICHER_ENRICH_H

/*
 * One raw event to one enriched event: user agent, bot flag, country and
 * truncated IP, channel and campaign, normalised page and its type. Pure
 * apart from the lookups in the loaded databases; sessions and dedup (which
 * need Redis) are the daemon's and are filled in after this.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/raw_event.pb-c.h"
#include "bot.h"
#include "classify.h"
#include "geo.h"
#include "ua.h"

/* The loaded databases. All borrowed. ua, bots and geo may be shared by
 * threads; pages and rate are per thread. rate may be NULL (no rate check). */
struct enrich_ctx {
    struct ua_parser *ua;
    const struct bot_detector *bots;
    const struct geo_db *geo;
    struct page_rules *pages;
    struct bot_rate *rate;
};

/* The enriched message and every buffer it points into. The caller owns the
 * storage (it is large: keep it off small stacks, reuse it per event). */
struct enrich_out {
    Analytics__V1__EnrichedEvent ev;
    Analytics__V1__UserAgentInfo ua;
    Analytics__V1__GeoInfo geo;
    Analytics__V1__Campaign campaign;
    Analytics__V1__PageInfo page;
    Analytics__V1__SessionInfo session;
    Analytics__V1__BotInfo bot;
    Analytics__V1__Consent consent;
    struct ua_result uar;
    struct classify_result cls;
    char country[3];
    char ip_truncated[64];
};

/* The time downstream stages use: the client's for historical events, the
 * collector's when the client clock was flagged as off, else the client's. */
long long enrich_event_time(const Analytics__V1__RawEvent *raw);

/* Fills out from raw. Strings of out->ev point into out and into raw: valid
 * while both are. A page URL that does not parse leaves the page fields
 * empty (type "other") and a bad client IP leaves geo empty: neither is a
 * reason to lose the event. Returns 0, or -1 with the reason in err when the
 * event cannot be enriched at all (no event_id or fingerprint), for the
 * dead-letter topic. */
int enrich_event(const struct enrich_ctx *ctx, const Analytics__V1__RawEvent *raw, long long now_ms,
                 struct enrich_out *out, char *err, size_t errlen);

#endif
