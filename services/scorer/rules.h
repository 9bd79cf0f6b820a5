#ifndef SCORER_RULES_H
#define SCORER_RULES_H

/*
 * The scorer's rules (deploy/config/scorer.json, ANALYTICS_SCORER_RULES_FILE):
 * how the site's pages and events become a behaviour profile and the lead
 * model's session features.
 *
 *   {"version": 1,
 *    "page_categories": {"administrative": ["account", "login"],
 *                        "informational": ["contact", "blog", "other"],
 *                        "product_related": ["home", "service", "pricing", "booking"]},
 *    "pricing_page_types": ["pricing"],
 *    "events": {"pricing_view": ["pricing_viewed"],
 *               "booking_started": ["booking_started"],
 *               "booking_completed": ["booking_completed"],
 *               "form_started": ["form_start", "form_interaction.action=start"],
 *               "rage_click": ["rage_click"], "exit_intent": ["exit_intent"],
 *               "scroll": ["scroll", "scroll_milestone"]},
 *    "scroll_depth_properties": ["depth_pct", "percent"],
 *    "special_days": ["2026-02-14", "2026-12-25"]}
 *
 * page_categories: the UCI data's three page categories, each a list of the
 * enricher's page types (pages.json); a page type in none of them is
 * counted as a page view but in no category. A type may be in one only.
 * pricing_page_types: a page view of such a type is a pricing view (so is
 * an event of events.pricing_view on another page). events: which event
 * types count for each profile counter; "type.key=value" counts only events
 * whose event_data has that top-level string property. scroll_depth_properties:
 * the event_data number properties read, in order, as a scroll event's
 * depth in percent. special_days: ISO dates in the site's time zone; a
 * session's closeness to one is the UCI SpecialDay feature (scorer_special_day).
 * Every key is optional except version; an unknown key is an error.
 */

#include <stdbool.h>
#include <stddef.h>

#define SCORER_RULES_FILE_MAX ((size_t)1 << 20)
#define SCORER_RULES_LIST_MAX 64    /* entries of one list */
#define SCORER_SPECIAL_DAYS_MAX 512 /* dates of special_days */

/* The UCI page categories. */
enum page_category {
    PAGE_CAT_NONE = -1,
    PAGE_CAT_ADMIN = 0,
    PAGE_CAT_INFO,
    PAGE_CAT_PRODUCT,
    PAGE_CAT_COUNT
};

/* The profile counters an event may count for (a bit each). */
enum scorer_counter {
    SCORER_EV_PRICING_VIEW,
    SCORER_EV_BOOKING_STARTED,
    SCORER_EV_BOOKING_COMPLETED,
    SCORER_EV_FORM_STARTED,
    SCORER_EV_RAGE_CLICK,
    SCORER_EV_EXIT_INTENT,
    SCORER_EV_SCROLL,
    SCORER_EV_COUNT
};

struct scorer_rules;

/* Loads and checks the file at path. Returns the rules (free with
 * scorer_rules_free), or NULL with the reason in err naming the file and
 * the key: unreadable, not JSON, another version, an unknown key, a list
 * that is not of non-empty strings, a page type in two categories, an
 * event entry "type.key=value" malformed, a date that is not YYYY-MM-DD. */
struct scorer_rules *scorer_rules_load(const char *path, char *err, size_t errlen);

/* Frees r. Accepts NULL. */
void scorer_rules_free(struct scorer_rules *r);

/* The category of page_type (may be NULL): PAGE_CAT_NONE when in none. */
enum page_category scorer_rules_category(const struct scorer_rules *r, const char *page_type);

/* True when a page view of page_type is a pricing view. */
bool scorer_rules_pricing_page(const struct scorer_rules *r, const char *page_type);

/* The counters (bit 1 << enum scorer_counter) event_type counts for, given
 * its event_data (JSON text; NULL or "" when none). For a scroll, *depth is
 * set to its depth in percent (0..100), or -1 when none is given. Pure. */
unsigned scorer_rules_classify(const struct scorer_rules *r, const char *event_type,
                               const char *event_data_json, int *depth);

/* The UCI SpecialDay feature of a session on local day number day: 0 but
 * in the 2 to 12 days before a special day, rising to 1 six days before it
 * and falling after, in steps of 0.2 (the data set's own values; after its
 * description of Valentine's Day: nonzero from February 2 to 12, 1 on
 * February 8). The largest over the special days. */
double scorer_special_day(const struct scorer_rules *r, long long day);

#endif
