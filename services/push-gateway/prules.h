#ifndef PUSH_GATEWAY_PRULES_H
#define PUSH_GATEWAY_PRULES_H

/*
 * The personalisation rules (deploy/config/personalize.json): what the
 * site should show a visitor now, chosen from the hot profile the scorer
 * keeps in Redis (hash <prefix>profile:<fingerprint>, services/scorer/
 * outputs.c). The format is in RULES.md:
 *
 *   {"version": 1,
 *    "bands": {"medium": 40, "high": 70, "hot": 85},
 *    "default": {"id": "welcome", "message": "...", "content": {...}},
 *    "rules": [{"name": "price-comparer-discount",
 *               "when": {"all": [{"field": "persona", "op": "=", "value": "price comparer"},
 *                                {"field": "bookings_completed", "op": "=", "value": 0}]},
 *               "answer": {"id": "offer-10pct", "message": "...", "content": {...}}}]}
 *
 * The first rule whose condition (pcond.h) holds wins, in file order; none
 * holding, or no profile at all, gives the default answer. The band is the
 * lead score's: low below "medium", then medium, high and hot from each
 * threshold up. Loaded rules are read-only: threads share them. Pure but
 * for reading the file.
 */

#include "pcond.h"

#include <stddef.h>

#define PRULES_FILE_MAX ((size_t)1 << 20)
#define PRULES_RULES_MAX 256
#define PRULES_NAME_MAX 64       /* rule names and answer ids */
#define PRULES_MESSAGE_MAX 1024  /* bytes */
#define PRULES_CONTENT_MAX 16384 /* bytes of an answer's content, printed compactly */

enum prules_band { PRULES_LOW, PRULES_MEDIUM, PRULES_HIGH, PRULES_HOT };

/* The fields of the hot profile a condition may name (prules_profile_set
 * reads them from the hash; seconds_since_* and lead_band are derived). */
enum prules_field {
    PRULES_F_LEAD_SCORE,
    PRULES_F_CONVERSION_PROBABILITY,
    PRULES_F_CHURN_RISK,
    PRULES_F_SESSIONS,
    PRULES_F_PAGE_VIEWS,
    PRULES_F_PRICING_VIEWS,
    PRULES_F_BOOKINGS_STARTED,
    PRULES_F_BOOKINGS_COMPLETED,
    PRULES_F_RETURNING,
    PRULES_F_SECONDS_SINCE_LAST_SEEN,  /* from last_seen_ms */
    PRULES_F_SECONDS_SINCE_FIRST_SEEN, /* from first_seen_ms */
    PRULES_F_PERSONA,
    PRULES_F_STAGE,
    PRULES_F_FIRST_CHANNEL,
    PRULES_F_FIRST_DEVICE,
    PRULES_F_LEAD_BAND, /* low, medium, high, hot: of lead_score by the file's bands */
    PRULES_F_COUNT
};

/* The schema conditions are parsed against, PRULES_F_COUNT fields. */
extern const struct pcond_field prules_fields[PRULES_F_COUNT];

/* A visitor's hot profile, in the caller's storage. Strings are borrowed
 * from the caller's hash reply: valid while it is. */
struct prules_profile {
    struct pcond_values v;
};

/* An answer: borrowed from the rules, valid until prules_free. */
struct prules_answer {
    const char *rule;         /* the rule's name; NULL for the default answer */
    const char *id;           /* the offer or content id */
    const char *message;      /* "" when none */
    const char *content_json; /* compact JSON text; "null" when none */
    enum prules_band band;
};

struct prules;

/* Loads and checks the file at path. Returns the rules (free with
 * prules_free), or NULL with the reason in err naming the file and, for a
 * rule, its position and name: unreadable, over PRULES_FILE_MAX, malformed
 * JSON (the byte), nested too deep, invalid UTF-8, a "\u0000", an unknown
 * or repeated key, a missing or wrong-typed value, bands out of order, no
 * rules or more than PRULES_RULES_MAX, a bad or repeated rule name, a bad
 * condition (pcond_parse), an answer id, message or content too long. */
struct prules *prules_load(const char *path, char *err, size_t errlen);

/* Frees r. Accepts NULL. */
void prules_free(struct prules *r);

/* The number of rules. */
size_t prules_count(const struct prules *r);

/* Empties p: a visitor who has no field yet. now_ms is the time
 * seconds_since_* count to. */
void prules_profile_init(struct prules_profile *p, long long now_ms);

/* Sets one field of the hash (its name and text as Redis returned them):
 * numbers parsed strictly (pcond_number), returning "0" or "1", texts
 * non-empty; last_seen_ms and first_seen_ms give seconds_since_*. Returns
 * 0 when set, 1 when the field is not one rules read (model_version,
 * reasons, ...), -1 when its text is unparsable or empty: the field then
 * stays missing, and every term on it is false. */
int prules_profile_set(struct prules_profile *p, const char *field, const char *value);

/* Empties p and sets it from an HGETALL reply's n strings, alternately a
 * field and its value (n odd: the last is ignored), as prules_profile_set
 * does each. Returns how many fields were unparsable or empty. */
size_t prules_profile_hash(struct prules_profile *p, long long now_ms, const char *const *fv,
                           size_t n);

/* The band of lead score score under r's thresholds. */
enum prules_band prules_band_of(const struct prules *r, double score);

/* "low", "medium", "high" or "hot". */
const char *prules_band_name(enum prules_band b);

/* What to show the visitor of profile p (NULL: none known, which gets the
 * default answer and the low band; so does a profile without a lead
 * score). Pure, allocates nothing, never fails. */
struct prules_answer prules_eval(const struct prules *r, const struct prules_profile *p);

#endif
