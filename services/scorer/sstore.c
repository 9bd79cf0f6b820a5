#include "sstore.h"

#include "analytics/copybuf.h"
#include "analytics/lru.h"
#include "analytics/pbenums.h"
#include "analytics/pgsink.h"
#include "analytics/site_events.h"
#include "analytics/tz.h"
#include "profile_codec.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSTORE_PAGES_MAX 65536    /* distinct (day, page) pairs of one batch */
#define SSTORE_PAGE_NAME_MAX 4096 /* bytes of a page's name kept (host and path) */

static const char sstore_staging_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS sc_profiles (LIKE user_behavior_profiles INCLUDING DEFAULTS)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sc_predictions (LIKE ml_predictions INCLUDING DEFAULTS)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sc_pages (LIKE page_stats_daily INCLUDING DEFAULTS)"
    "  ON COMMIT DELETE ROWS;"
    /* Not LIKE scorer_churn_due: LIKE copies NOT NULL, and a NULL due_at
     * is how a row says the warning is to be deleted. */
    "CREATE TEMP TABLE IF NOT EXISTS sc_churn (fingerprint text, kafka_partition integer,"
    "  due_at timestamptz, reason text, risk_at_due real) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sc_warned (fingerprint text, churn_risk real, p_alive real,"
    "  expected_visits real, model_version text, state jsonb) ON COMMIT DELETE ROWS;";

#define SSTORE_PROFILE_COLS                                                                        \
    "fingerprint, user_id, first_seen_at, last_seen_at, sessions, events, page_views,"             \
    " total_time_s, pricing_views, bookings_started, bookings_completed, journey_stage,"           \
    " lead_score, churn_risk, conversion_probability, segment, features, model_version,"           \
    " last_event_id, last_event_at, kafka_partition, state, forms_started, rage_clicks,"           \
    " exit_intents, deepest_scroll, returning_visitor, first_channel, first_device,"               \
    " page_types, visit_days, p_alive, expected_visits"

static const char sstore_merge_sql[] =
    "INSERT INTO user_behavior_profiles AS u (" SSTORE_PROFILE_COLS ")"
    " SELECT " SSTORE_PROFILE_COLS " FROM sc_profiles"
    " ON CONFLICT (fingerprint) DO UPDATE SET user_id = EXCLUDED.user_id,"
    " first_seen_at = EXCLUDED.first_seen_at, last_seen_at = EXCLUDED.last_seen_at,"
    " sessions = EXCLUDED.sessions, events = EXCLUDED.events, page_views = EXCLUDED.page_views,"
    " total_time_s = EXCLUDED.total_time_s, pricing_views = EXCLUDED.pricing_views,"
    " bookings_started = EXCLUDED.bookings_started,"
    " bookings_completed = EXCLUDED.bookings_completed, journey_stage = EXCLUDED.journey_stage,"
    " lead_score = EXCLUDED.lead_score, churn_risk = EXCLUDED.churn_risk,"
    " conversion_probability = EXCLUDED.conversion_probability, segment = EXCLUDED.segment,"
    " features = EXCLUDED.features, model_version = EXCLUDED.model_version,"
    " last_event_id = EXCLUDED.last_event_id, last_event_at = EXCLUDED.last_event_at,"
    " kafka_partition = EXCLUDED.kafka_partition, state = EXCLUDED.state,"
    " forms_started = EXCLUDED.forms_started, rage_clicks = EXCLUDED.rage_clicks,"
    " exit_intents = EXCLUDED.exit_intents, deepest_scroll = EXCLUDED.deepest_scroll,"
    " returning_visitor = EXCLUDED.returning_visitor, first_channel = EXCLUDED.first_channel,"
    " first_device = EXCLUDED.first_device, page_types = EXCLUDED.page_types,"
    " visit_days = EXCLUDED.visit_days, p_alive = EXCLUDED.p_alive,"
    " expected_visits = EXCLUDED.expected_visits, updated_at = now();"
    "INSERT INTO ml_predictions (cause_event_id, model_version, fingerprint, user_id,"
    " predicted_at, lead_score, churn_risk, conversion_probability, segment, reasons, features)"
    " SELECT cause_event_id, model_version, fingerprint, user_id, predicted_at, lead_score,"
    " churn_risk, conversion_probability, segment, reasons, features FROM sc_predictions"
    " ON CONFLICT DO NOTHING;"
    "INSERT INTO page_stats_daily AS p (day, page_hash, page, entrances, bounces, page_views,"
    " exits, unique_views, value)"
    " SELECT day, page_hash, page, entrances, bounces, page_views, exits, unique_views, value"
    " FROM sc_pages ON CONFLICT (day, page_hash) DO UPDATE SET"
    " page = coalesce(p.page, EXCLUDED.page),"
    " entrances = p.entrances + EXCLUDED.entrances, bounces = p.bounces + EXCLUDED.bounces,"
    " page_views = p.page_views + EXCLUDED.page_views, exits = p.exits + EXCLUDED.exits,"
    " unique_views = p.unique_views + EXCLUDED.unique_views, value = p.value + EXCLUDED.value;"
    "UPDATE user_behavior_profiles u SET churn_risk = w.churn_risk, p_alive = w.p_alive,"
    " expected_visits = w.expected_visits, model_version = w.model_version, state = w.state,"
    " updated_at = now() FROM sc_warned w WHERE u.fingerprint = w.fingerprint;"
    "DELETE FROM scorer_churn_due c USING sc_churn s"
    " WHERE c.fingerprint = s.fingerprint AND s.due_at IS NULL;"
    "INSERT INTO scorer_churn_due AS c (fingerprint, kafka_partition, due_at, reason)"
    " SELECT fingerprint, kafka_partition, due_at, reason FROM sc_churn WHERE due_at IS NOT NULL"
    " ON CONFLICT (fingerprint) DO UPDATE SET kafka_partition = EXCLUDED.kafka_partition,"
    " due_at = EXCLUDED.due_at, reason = EXCLUDED.reason";

/* One (day, page)'s additions in a batch. */
struct sstore_page {
    long long day;
    uint64_t hash;
    char *name; /* host and path, owned; NULL when not known */
    struct page_totals t;
};

struct sstore {
    struct pgsink *sink;
    struct copybuf profiles, predictions, churn, warned;
    struct sstore_page *pages;
    size_t npages, cap;
    size_t nprofiles, npredictions, nchurn, nwarned;
};

static int sstore_prepare(struct pgsink *sink, void *arg)
{
    (void)arg;
    return pgsink_cmd(sink, sstore_staging_sql, "create staging tables");
}

struct sstore *sstore_new(struct pgsink *sink)
{
    struct sstore *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    st->sink = sink;
    copybuf_init(&st->profiles);
    copybuf_init(&st->predictions);
    copybuf_init(&st->churn);
    copybuf_init(&st->warned);
    pgsink_on_connect(sink, sstore_prepare, st);
    return st;
}

void sstore_free(struct sstore *st)
{
    if (st == NULL) {
        return;
    }
    pgsink_on_connect(st->sink, NULL, NULL);
    copybuf_fini(&st->profiles);
    copybuf_fini(&st->predictions);
    copybuf_fini(&st->churn);
    copybuf_fini(&st->warned);
    for (size_t i = 0; i < st->npages; i++) {
        free(st->pages[i].name);
    }
    free(st->pages);
    free(st);
}

void sstore_reset(struct sstore *st)
{
    for (size_t i = 0; i < st->npages; i++) {
        free(st->pages[i].name);
    }
    copybuf_reset(&st->profiles);
    copybuf_reset(&st->predictions);
    copybuf_reset(&st->churn);
    copybuf_reset(&st->warned);
    st->npages = st->nprofiles = st->npredictions = st->nchurn = st->nwarned = 0;
}

int sstore_load(struct sstore *st, const char *const *fps, size_t n,
                void (*fn)(void *arg, const char *fp, const char *state), void *arg)
{
    PGresult *res = NULL;

    if (n == 0) {
        return PGSINK_OK;
    }
    const char *arr = pgsink_text_array(st->sink, fps, n);
    if (arr == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    const char *params[] = {arr};
    int rc = pgsink_query(st->sink,
                          "SELECT fingerprint, state::text FROM user_behavior_profiles"
                          " WHERE fingerprint = ANY($1::text[]) AND state IS NOT NULL",
                          1, params, PGRES_TUPLES_OK, "read profiles", &res);
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        fn(arg, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return rc;
}

/* ---- rows ---- */

/* The lead features as a JSON object, missing ones left out. */
static char *sstore_features(const struct score_result *r)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    for (int f = 0; r != NULL && f < LEAD_F_COUNT; f++) {
        if (!isnan(r->x[f])) {
            cJSON_AddNumberToObject(o, lead_feature_names[f], r->x[f]);
        }
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Views and seconds by page type as a JSON object. */
static char *sstore_page_types(const struct profile *p)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    for (int i = 0; i < p->ntypes; i++) {
        cJSON *t = cJSON_AddObjectToObject(o, p->types[i].type);
        cJSON_AddNumberToObject(t, "views", p->types[i].views);
        cJSON_AddNumberToObject(t, "seconds", (double)p->types[i].seconds);
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* A JSON text as a field (NULL, from memory running out, fails the buffer). */
static void sstore_json_field(struct copybuf *b, char *json)
{
    if (json == NULL) {
        copybuf_fail(b);
        return;
    }
    copybuf_text(b, json, false);
    free(json);
}

static void sstore_opt_double(struct copybuf *b, bool have, double v)
{
    if (have && isfinite(v)) {
        copybuf_double(b, v);
    } else {
        copybuf_null(b);
    }
}

void sstore_add_visitor(struct sstore *st, const struct sstore_visitor *v)
{
    const struct profile *p = v->p;
    const struct score_result *r = v->r;
    struct copybuf *b = &st->profiles;

    copybuf_text(b, p->fingerprint, false);
    copybuf_text(b, p->user_id, true);
    copybuf_ts_ms(b, p->first_seen_ms);
    copybuf_ts_ms(b, p->last_seen_ms > p->first_seen_ms ? p->last_seen_ms : p->first_seen_ms);
    copybuf_int(b, p->sessions);
    copybuf_int(b, p->events);
    copybuf_int(b, p->page_views);
    copybuf_int(b, p->seconds);
    copybuf_int(b, p->pricing_views);
    copybuf_int(b, p->bookings_started);
    copybuf_int(b, p->bookings_completed);
    copybuf_text(b, p->stage, true);
    copybuf_int(b, r != NULL && r->have_lead ? r->lead_score : 0);
    sstore_opt_double(b, r != NULL && r->have_churn, r != NULL ? r->churn_risk : 0);
    sstore_opt_double(b, r != NULL && r->have_lead, r != NULL ? r->probability : 0);
    copybuf_text(b, v->persona != NULL ? v->persona : "", true);
    sstore_json_field(b, sstore_features(r));
    copybuf_text(b, r != NULL ? r->model_version : "", true);
    copybuf_text(b, v->last_event_id != NULL ? v->last_event_id : "", true);
    copybuf_ts_ms(b, v->last_event_ms);
    copybuf_int(b, v->partition);
    sstore_json_field(b, prof_encode(p));
    copybuf_int(b, p->forms_started);
    copybuf_int(b, p->rage_clicks);
    copybuf_int(b, p->exit_intents);
    copybuf_int(b, p->deepest_scroll);
    copybuf_bool(b, p->sessions > 1);
    copybuf_text(b, pb_channel_name(p->first_channel), false);
    copybuf_text(b, pb_device_name(p->first_device), false);
    sstore_json_field(b, sstore_page_types(p));
    copybuf_int(b, p->visit_days);
    sstore_opt_double(b, r != NULL && r->have_churn, r != NULL ? r->p_alive : 0);
    sstore_opt_double(b, r != NULL && r->have_churn, r != NULL ? r->expected : 0);
    copybuf_end_row(b);
    st->nprofiles++;

    sstore_add_due(st, p->fingerprint, v->partition, v->warn_at_ms, v->warn_reason);
}

void sstore_add_due(struct sstore *st, const char *fingerprint, int partition, long long at_ms,
                    const char *reason)
{
    struct copybuf *b = &st->churn;

    /* The churn warning: its due time, or a row that deletes it. */
    copybuf_text(b, fingerprint, false);
    copybuf_int(b, partition);
    if (at_ms > 0) {
        copybuf_ts_ms(b, at_ms);
    } else {
        copybuf_null(b);
    }
    copybuf_text(b, reason != NULL ? reason : "churn_warning", false);
    copybuf_null(b);
    copybuf_end_row(b);
    st->nchurn++;
}

void sstore_add_warned(struct sstore *st, const struct profile *p, const struct score_result *r)
{
    struct copybuf *b = &st->warned;

    copybuf_text(b, p->fingerprint, false);
    sstore_opt_double(b, r->have_churn, r->churn_risk);
    sstore_opt_double(b, r->have_churn, r->p_alive);
    sstore_opt_double(b, r->have_churn, r->expected);
    copybuf_text(b, r->model_version, true);
    sstore_json_field(b, prof_encode(p));
    copybuf_end_row(b);
    st->nwarned++;
}

void sstore_add_prediction(struct sstore *st, const struct profile *p, const struct score_result *r,
                           const char *persona, const char *event_id, long long ts_ms)
{
    struct copybuf *b = &st->predictions;
    const char *strs[SCORE_REASONS_MAX];

    copybuf_text(b, event_id, false);
    copybuf_text(b, r->model_version, false);
    copybuf_text(b, p->fingerprint, false);
    copybuf_text(b, p->user_id, true);
    copybuf_ts_ms(b, ts_ms);
    copybuf_int(b, r->have_lead ? r->lead_score : 0);
    copybuf_double(b, r->have_churn && isfinite(r->churn_risk) ? r->churn_risk : 0.0);
    copybuf_double(b, r->have_lead ? r->probability : 0.0);
    copybuf_text(b, persona != NULL ? persona : "", true);
    for (size_t i = 0; i < r->nreasons; i++) { /* text[]: an array literal */
        strs[i] = r->reasons[i];
    }
    const char *arr = pgsink_text_array(st->sink, strs, r->nreasons);
    if (arr == NULL) {
        copybuf_fail(b);
    } else {
        copybuf_text(b, arr, false);
    }
    sstore_json_field(b, sstore_features(r));
    copybuf_end_row(b);
    st->npredictions++;
}

/* The name names holds for hash, as a new string (caller frees), or NULL. */
static char *sstore_page_name(struct lru *names, uint64_t hash)
{
    char buf[SSTORE_PAGE_NAME_MAX + 1];
    size_t n = 0;

    if (names == NULL || !lru_get(names, &hash, sizeof(hash), buf, SSTORE_PAGE_NAME_MAX, &n)) {
        return NULL;
    }
    buf[n] = '\0';
    return strdup(buf);
}

int sstore_add_pages(struct sstore *st, long long day, const struct profile_page_stats *s,
                     struct lru *names)
{
    for (int i = 0; i < s->npages; i++) {
        const struct profile_page *pg = &s->pages[i];
        struct page_totals t = {
            .entrances = pg->hash == s->entry,
            .bounces = pg->hash == s->entry && s->bounced,
            .page_views = pg->views,
            .exits = pg->hash == s->exit,
            .unique_views = 1,
            .value = (double)pg->value_micros / SITE_MICROS,
        };
        size_t k = 0;
        while (k < st->npages && !(st->pages[k].day == day && st->pages[k].hash == pg->hash)) {
            k++;
        }
        if (k == st->npages) {
            if (st->npages == st->cap) {
                size_t ncap = st->cap == 0 ? 256 : st->cap * 2;
                struct sstore_page *np =
                    ncap <= SSTORE_PAGES_MAX ? realloc(st->pages, ncap * sizeof(*np)) : NULL;
                if (np == NULL) {
                    pgsink_set_error(st->sink, "page statistics: out of memory");
                    return PGSINK_REFUSED;
                }
                st->pages = np;
                st->cap = ncap;
            }
            st->pages[st->npages++] =
                (struct sstore_page){day, pg->hash, sstore_page_name(names, pg->hash), {0}};
        }
        struct page_totals *a = &st->pages[k].t;
        a->entrances += t.entrances;
        a->bounces += t.bounces;
        a->page_views += t.page_views;
        a->exits += t.exits;
        a->unique_views += t.unique_views;
        a->value += t.value;
    }
    return PGSINK_OK;
}

/* The batch's page rows, COPY text. */
static void sstore_page_rows(const struct sstore *st, struct copybuf *b)
{
    for (size_t i = 0; i < st->npages; i++) {
        const struct sstore_page *pg = &st->pages[i];
        char day[16];
        long long y;
        int m, d;
        tz_civil_from_days(pg->day, &y, &m, &d);
        snprintf(day, sizeof(day), "%04lld-%02d-%02d", y, m, d);
        copybuf_text(b, day, false);
        copybuf_int(b, (long long)pg->hash); /* stored signed: the same 64 bits */
        copybuf_text(b, pg->name, true);
        copybuf_int(b, pg->t.entrances);
        copybuf_int(b, pg->t.bounces);
        copybuf_int(b, pg->t.page_views);
        copybuf_int(b, pg->t.exits);
        copybuf_int(b, pg->t.unique_views);
        copybuf_double(b, pg->t.value);
        copybuf_end_row(b);
    }
}

static int sstore_copy(struct sstore *st, const char *sql, const struct copybuf *b, size_t rows,
                       const char *what)
{
    if (rows == 0) {
        return PGSINK_OK;
    }
    if (copybuf_failed(b)) {
        pgsink_set_error(st->sink, "%s: out of memory", what);
        return PGSINK_REFUSED;
    }
    return pgsink_copy_in(st->sink, sql, copybuf_data(b), copybuf_len(b), what);
}

int sstore_write(struct sstore *st)
{
    struct copybuf pages;
    int rc;

    copybuf_init(&pages);
    sstore_page_rows(st, &pages);
    rc = sstore_copy(st, "COPY sc_profiles (" SSTORE_PROFILE_COLS ") FROM STDIN", &st->profiles,
                     st->nprofiles, "stage profiles");
    if (rc == PGSINK_OK) {
        rc = sstore_copy(st,
                         "COPY sc_predictions (cause_event_id, model_version, fingerprint,"
                         " user_id, predicted_at, lead_score, churn_risk, conversion_probability,"
                         " segment, reasons, features) FROM STDIN",
                         &st->predictions, st->npredictions, "stage predictions");
    }
    if (rc == PGSINK_OK) {
        rc = sstore_copy(st,
                         "COPY sc_pages (day, page_hash, page, entrances, bounces, page_views,"
                         " exits, unique_views, value) FROM STDIN",
                         &pages, st->npages, "stage page statistics");
    }
    if (rc == PGSINK_OK) {
        rc = sstore_copy(st,
                         "COPY sc_churn (fingerprint, kafka_partition, due_at, reason,"
                         " risk_at_due) FROM STDIN",
                         &st->churn, st->nchurn, "stage churn warnings");
    }
    if (rc == PGSINK_OK) {
        rc = sstore_copy(st,
                         "COPY sc_warned (fingerprint, churn_risk, p_alive, expected_visits,"
                         " model_version, state) FROM STDIN",
                         &st->warned, st->nwarned, "stage warned visitors");
    }
    if (rc == PGSINK_OK) {
        rc = pgsink_cmd(st->sink, sstore_merge_sql, "write profiles");
    }
    copybuf_fini(&pages);
    sstore_reset(st);
    return rc;
}

int sstore_read_pages(struct sstore *st, int days, struct pagestats *ps)
{
    char n[16];
    PGresult *res = NULL;

    snprintf(n, sizeof(n), "%d", days);
    const char *params[] = {n};
    int rc = pgsink_query(st->sink,
                          "SELECT page_hash, sum(entrances), sum(bounces), sum(page_views),"
                          " sum(exits), sum(unique_views), sum(value)::float8"
                          " FROM page_stats_daily"
                          " WHERE day > (now() AT TIME ZONE 'UTC')::date - $1::int"
                          " GROUP BY page_hash",
                          1, params, PGRES_TUPLES_OK, "read page statistics", &res);
    if (rc == PGSINK_OK) {
        pagestats_clear(ps);
    }
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        struct page_totals t = {pgsink_ll(res, r, 1), pgsink_ll(res, r, 2),
                                pgsink_ll(res, r, 3), pgsink_ll(res, r, 4),
                                pgsink_ll(res, r, 5), strtod(PQgetvalue(res, r, 6), NULL)};
        if (pagestats_set(ps, (uint64_t)pgsink_ll(res, r, 0), &t) != 0) {
            pgsink_set_error(st->sink, "page statistics: out of memory");
            rc = PGSINK_REFUSED;
        }
    }
    PQclear(res);
    return rc;
}

/* ---- churn warnings falling due ---- */

void sstore_due_free(struct sstore_due *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        free(d[i].fingerprint);
    }
    free(d);
}

/* The rows of a find_due result into a new array. */
static int sstore_take_due(struct sstore *st, const PGresult *res, struct sstore_due **out,
                           size_t *nout)
{
    size_t n = (size_t)PQntuples(res);
    struct sstore_due *d = calloc(n > 0 ? n : 1, sizeof(*d));

    if (d == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].fingerprint = strdup(PQgetvalue(res, (int)i, 0));
        if (d[i].fingerprint == NULL) {
            sstore_due_free(d, n);
            pgsink_set_error(st->sink, "out of memory");
            return PGSINK_REFUSED;
        }
        d[i].partition = (int)pgsink_ll(res, (int)i, 1);
        d[i].at_ms = pgsink_ll(res, (int)i, 2);
        snprintf(d[i].reason, sizeof(d[i].reason), "%s", PQgetvalue(res, (int)i, 3));
    }
    *out = d;
    *nout = n;
    return PGSINK_OK;
}

int sstore_find_due(struct sstore *st, const int32_t *parts, const int64_t *clocks, size_t n,
                    size_t limit, struct sstore_due **out, size_t *nout)
{
    char *a = pgsink_int32_array(parts, n), *b = pgsink_int64_array(clocks, n), lim[32];
    PGresult *res = NULL;
    int rc = PGSINK_REFUSED;

    *out = NULL;
    *nout = 0;
    snprintf(lim, sizeof(lim), "%zu", limit);
    if (a == NULL || b == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        goto out;
    }
    const char *params[] = {a, b, lim};
    rc = pgsink_query(st->sink,
                      "SELECT c.fingerprint, c.kafka_partition,"
                      " (extract(epoch FROM c.due_at) * 1000)::bigint, c.reason"
                      " FROM scorer_churn_due c"
                      " JOIN unnest($1::int[], $2::bigint[]) AS x(p, t) ON c.kafka_partition = x.p"
                      " WHERE c.due_at <= to_timestamp(x.t / 1000.0)"
                      " ORDER BY c.due_at, c.fingerprint LIMIT $3::int",
                      3, params, PGRES_TUPLES_OK, "find churn warnings due", &res);
    if (rc == PGSINK_OK) {
        rc = sstore_take_due(st, res, out, nout);
    }
    PQclear(res);
out:
    free(a);
    free(b);
    return rc;
}
