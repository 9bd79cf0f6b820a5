#ifndef ANALYTICS_ENRICHER_BOT_H
#define ANALYTICS_ENRICHER_BOT_H

/*
 * Bot detection for the enricher, two independent parts:
 *
 * - struct bot_detector: the crawler pattern list of the crawler-user-agents
 *   npm package (crawler-user-agents.json, installed by scripts/setup),
 *   each compiled with PCRE2 (JIT) and filed under a 3-byte literal it
 *   requires, so an agent runs only the few patterns whose literal it
 *   contains. Matching is case-sensitive, as the package's own validation
 *   matches them.
 * - struct bot_rate: behaviour; a per-fingerprint token bucket that says when
 *   one fingerprint sends more events per second than a person can.
 *
 * The uap-core spider family (reason "ua") is decided by the UA parser.
 */

#include <stdbool.h>
#include <stddef.h>

/* Why an event is flagged as a bot, as written into the enriched event. */
#define BOT_REASON_UA "ua"           /* uap-core device family "Spider" */
#define BOT_REASON_PATTERN "pattern" /* a crawler-user-agents pattern matched */
#define BOT_REASON_RATE "rate"       /* too many events per second */

/* Defaults for bot_rate_new: 10 events/s sustained, bursts of 20. */
#define BOT_RATE_DEFAULT_PER_SEC 10.0
#define BOT_RATE_DEFAULT_BURST 20.0
#define BOT_RATE_DEFAULT_MAX_KEYS 100000

struct bot_detector;
struct bot_rate;

/* Loads the crawler-user-agents JSON file at patterns_json_path (an array of
 * objects with a "pattern" string) and compiles every pattern. A pattern
 * PCRE2 rejects is skipped with a warning log (bot.pattern_skipped) and
 * counted. Returns a new detector (caller frees with bot_detector_free), or
 * NULL with the reason in err when the file cannot be read, is not such an
 * array, or yields no usable pattern. */
struct bot_detector *bot_detector_new(const char *patterns_json_path, char *err, size_t errlen);

/* Frees the detector. Accepts NULL. */
void bot_detector_free(struct bot_detector *d);

/* True when ua matches one of the crawler patterns. A NULL or empty ua is
 * never a match. Thread-safe: any number of threads may match with one
 * detector (each thread keeps its own small match block). */
bool bot_match_ua(const struct bot_detector *d, const char *ua);

/* The same answer as bot_match_ua, found by trying every pattern in turn
 * without the prefilter: hundreds of times slower; for tests that check the
 * prefilter loses nothing. */
bool bot_match_ua_exhaustive(const struct bot_detector *d, const char *ua);

/* Number of patterns compiled, and number skipped because PCRE2 rejected
 * them or the entry had no "pattern" string. */
size_t bot_detector_pattern_count(const struct bot_detector *d);
size_t bot_detector_skipped_count(const struct bot_detector *d);

/* Returns a new rate tracker (caller frees with bot_rate_free): each
 * fingerprint may send max_events_per_sec sustained with bursts of burst
 * events; at most max_keys fingerprints are remembered, the least recently
 * seen forgotten first. Returns NULL when max_events_per_sec <= 0,
 * burst < 1, max_keys == 0, or memory runs out. Not thread-safe: use one per
 * thread or serialise the calls. */
struct bot_rate *bot_rate_new(double max_events_per_sec, double burst, size_t max_keys);

/* Frees the tracker. Accepts NULL. */
void bot_rate_free(struct bot_rate *r);

/* Records one event from fingerprint at now_ms (milliseconds, any
 * monotonic-enough clock; a time earlier than the last event counts as no
 * time passed). Returns true when this event is over the limit. Every event
 * counts, flagged or not, so a sustained flood stays flagged; the debt is
 * capped at one burst, so a fingerprint that goes quiet recovers after about
 * (burst + 1) / max_events_per_sec seconds. A NULL or empty fingerprint is
 * never over the limit and is not stored. */
bool bot_rate_exceeded(struct bot_rate *r, const char *fingerprint, long long now_ms);

/* Number of fingerprints currently remembered. */
size_t bot_rate_count(const struct bot_rate *r);

#endif
