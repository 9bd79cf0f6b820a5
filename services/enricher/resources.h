#ifndef ENRICHER_RESOURCES_H
#define ENRICHER_RESOURCES_H

/* The databases the enricher loads once at start, from the files its
 * configuration names. */

#include <stddef.h>

#include "enrich.h"
#include "enricher_config.h"
#include "session.h"

struct enricher_resources {
    struct ua_parser *ua;
    struct bot_detector *bots;
    struct geo_db *geo;
    struct page_rules *pages;
    struct session_config sessions; /* the site's time zone and idle timeout */
};

/* Loads every file cfg names and the session rules (the time zone).
 * Returns 0, or -1 after writing one "config: NAME: reason" line per
 * variable that failed to err. Release with enricher_resources_fini
 * whatever the result. */
int enricher_resources_load(struct enricher_resources *r, const struct enricher_config *cfg,
                            FILE *err);

void enricher_resources_fini(struct enricher_resources *r);

/* Reads raw events as JSON, one per line (the RawEvent fields, user_agent and
 * client_ip included), and writes each enriched event as one JSON line, with
 * no broker or Redis (sessions and dedup off). A line that cannot be read or
 * enriched gives {"line":N,"error":"..."} in its place. Returns the number
 * of such lines, or -1 when writing fails. */
long enricher_stdin_run(const struct enrich_ctx *ctx, FILE *in, FILE *out);

/* --enrich-stdin: enricher_stdin_run on stdin and stdout. Returns the exit
 * code: 0, 65 when some line could not be enriched, 1 when writing failed. */
int enricher_stdin_main(const struct enricher_resources *r);

/* Share of user agents answered from ua's parse cache (a gauge's fn). */
double enricher_ua_hit_ratio(void *ua);

#endif
