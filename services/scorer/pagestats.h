#ifndef SCORER_PAGESTATS_H
#define SCORER_PAGESTATS_H

/*
 * Site-wide page statistics, per page (the hash of its host and path), as
 * Google Analytics defines them and the UCI data uses them: a page's
 * bounce rate is the share of the sessions entering on it that viewed one
 * page only; its exit rate the share of its page views that were a
 * session's last; its page value the conversion value of the sessions in
 * which it came before the conversion, over its unique page views.
 *
 * The totals are additive daily rollups in PostgreSQL that every replica
 * adds its closed sessions to and reads back (a trailing window) every
 * minute; this table holds them in memory for the features. Pure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The additive counts of one page. */
struct page_totals {
    long long entrances, bounces, page_views, exits, unique_views;
    double value;
};

/* The rates the features take. */
struct page_rates {
    double bounce, exit, value;
};

struct pagestats;

/* An empty table. Returns NULL when memory runs out. */
struct pagestats *pagestats_new(void);

/* Frees ps. Accepts NULL. */
void pagestats_free(struct pagestats *ps);

/* Sets the totals of page (replacing them). Returns 0, or -1 when memory
 * runs out. */
int pagestats_set(struct pagestats *ps, uint64_t page, const struct page_totals *t);

/* Adds t to the totals of page. Returns 0 or -1 (memory). */
int pagestats_add(struct pagestats *ps, uint64_t page, const struct page_totals *t);

/* The rates of page into *out. Returns false when the page has no totals
 * (never seen, or seen in no closed session). */
bool pagestats_rates(const struct pagestats *ps, uint64_t page, struct page_rates *out);

/* Pages held. */
size_t pagestats_count(const struct pagestats *ps);

/* Calls fn for every page held (order unspecified). */
void pagestats_each(const struct pagestats *ps,
                    void (*fn)(void *arg, uint64_t page, const struct page_totals *t), void *arg);

/* Empties ps (keeping its memory). */
void pagestats_clear(struct pagestats *ps);

#endif
