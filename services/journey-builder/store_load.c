/*
 * The store's reads: visitors' and sessions' states back from the tables.
 * Contract in store.h.
 */
#include "store_priv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading states back ---- */

#define STORE_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static int store_enum(const char *name, const char *(*name_of)(int), int max)
{
    for (int i = 0; i <= max; i++) {
        if (strcmp(name, name_of(i)) == 0) {
            return i;
        }
    }
    return 0;
}

/* Parses "{1,2,0}" into out[0..n). Returns 0 when it held exactly n. */
static int store_parse_ms(const char *s, long long *out, int n)
{
    int k = 0;
    char *end;

    if (*s++ != '{') {
        return -1;
    }
    while (*s != '}' && *s != '\0') {
        if (k == n) {
            return -1;
        }
        errno = 0;
        out[k++] = strtoll(s, &end, 10);
        if (end == s || errno != 0) {
            return -1;
        }
        s = *end == ',' ? end + 1 : end;
    }
    return k == n && *s == '}' ? 0 : -1;
}

static int store_funnel_index(const struct funnel_set *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->funnels[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Row r of the journeys query into v. Returns 0 or -1. */
static int store_take_journey(const struct store *st, struct jstate_visitor *v, const PGresult *res,
                              int r)
{
    const char *stage = PQgetvalue(res, r, 2);

    v->seq = (int)pgsink_ll(res, r, 1);
    v->stage = -1;
    for (int i = 0; i < journey_stage_count(st->ctx->rules); i++) {
        if (strcmp(journey_stage_name(st->ctx->rules, i), stage) == 0) {
            v->stage = i;
        }
    }
    if (jstate_visitor_set_tp(v, PQgetvalue(res, r, 3), pgsink_str(res, r, 5),
                              pgsink_ll(res, r, 4)) != 0) {
        return -1;
    }
    v->tp_final = strcmp(PQgetvalue(res, r, 6), "t") != 0; /* its time spent is set */
    return 0;
}

/* Row r of the attempts query into v. An attempt whose funnel changed its
 * steps since is dropped: it cannot be followed any more. */
static int store_take_progress(const struct store *st, struct jstate_visitor *v,
                               const PGresult *res, int r)
{
    int fi = store_funnel_index(st->ctx->funnels, PQgetvalue(res, r, 1));
    struct jstate_funnel *fs;

    if (fi < 0 || (size_t)fi >= v->nfunnels) {
        return 0;
    }
    fs = &v->funnels[fi];
    const struct funnel *f = &st->ctx->funnels->funnels[fi];
    if (store_parse_ms(PQgetvalue(res, r, 6), fs->p.reached_ms, f->nsteps) != 0) {
        funnel_progress_reset(&fs->p);
        return 0;
    }
    fs->p.started_ms = pgsink_ll(res, r, 2);
    fs->day = pgsink_ll(res, r, 3);
    fs->channel = store_enum(PQgetvalue(res, r, 4), pb_channel_name, 7);
    fs->device_type = store_enum(PQgetvalue(res, r, 5), pb_device_name, 4);
    fs->p.inferred = (uint32_t)pgsink_ll(res, r, 7);
    fs->p.furthest = (int)pgsink_ll(res, r, 8) - 1;
    fs->p.abandoned = strcmp(PQgetvalue(res, r, 9), "t") == 0;
    fs->abandon_at_ms = pgsink_ll(res, r, 11);
    fs->abandoned_ms = pgsink_ll(res, r, 12);
    return jstate_set_str(&fs->session_id, pgsink_str(res, r, 10));
}

/* The state a row is about: its first column is the 1-based position, in
 * the array the query was given, of its key (unnest ... WITH ORDINALITY). */
static void *store_row_state(void *const *states, size_t n, const PGresult *res, int r)
{
    long long i = pgsink_ll(res, r, 0);

    return i >= 1 && (size_t)i <= n ? states[i - 1] : NULL;
}

int store_load_visitors(struct store *st, struct jstate_visitor *const *vs, size_t n)
{
    const char **fps = calloc(n + 1, sizeof(*fps));
    PGresult *res = NULL;
    int rc = PGSINK_REFUSED;

    for (size_t i = 0; fps != NULL && i < n; i++) {
        fps[i] = vs[i]->fingerprint;
    }
    const char *arr = fps != NULL ? pgsink_text_array(st->sink, fps, n) : NULL;
    free(fps);
    if (arr == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    const char *params[] = {arr};
    rc = pgsink_query(st->sink,
                      "SELECT f.i, j.seq, j.stage, j.event_id, j.ms, j.session_id, j.open"
                      " FROM unnest($1::text[]) WITH ORDINALITY AS f(fp, i) CROSS JOIN LATERAL ("
                      "SELECT seq, stage, event_id, " STORE_MS(
                          "occurred_at") " AS ms, session_id,"
                                         " time_spent_s IS NULL AS open FROM customer_journeys c"
                                         " WHERE c.fingerprint = f.fp ORDER BY seq DESC LIMIT 1) j",
                      1, params, PGRES_TUPLES_OK, "read journeys", &res);
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        struct jstate_visitor *v = store_row_state((void *const *)vs, n, res, r);
        if (v != NULL && store_take_journey(st, v, res, r) != 0) {
            rc = PGSINK_REFUSED;
        }
    }
    PQclear(res);
    if (rc != PGSINK_OK) {
        return rc;
    }
    rc = pgsink_query(st->sink,
                      "SELECT f.i, p.funnel, " STORE_MS(
                          "p.started_at") ","
                                          " p.day - DATE '1970-01-01', p.channel, p.device_type, "
                                          "p.reached_ms::text,"
                                          " p.inferred, p.furthest, p.abandoned, "
                                          "p.session_id, " STORE_MS("p.abandon_at") ", " STORE_MS(
                                              "p.abandoned_at") " FROM unnest($1::text[]) WITH "
                                                                "ORDINALITY AS f(fp, "
                                                                "i)"
                                                                " JOIN funnel_progress p ON "
                                                                "p.fingerprint = f.fp",
                      1, params, PGRES_TUPLES_OK, "read funnel progress", &res);
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        struct jstate_visitor *v = store_row_state((void *const *)vs, n, res, r);
        if (v != NULL && store_take_progress(st, v, res, r) != 0) {
            rc = PGSINK_REFUSED;
        }
    }
    PQclear(res);
    return rc;
}

/* The funnel steps of a session ({"booking": 5}) into s. */
static void store_take_steps(const struct store *st, struct jstate_session *s, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *it;

    cJSON_ArrayForEach(it, o)
    {
        int fi = store_funnel_index(st->ctx->funnels, it->string);
        if (fi >= 0 && (size_t)fi < s->nfunnels && cJSON_IsNumber(it)) {
            s->funnel_steps[fi] = (uint32_t)it->valuedouble;
        }
    }
    cJSON_Delete(o);
}

/* Row r of the sessions query into s. Returns 0 or -1. */
static int store_take_session(const struct store *st, struct jstate_session *s, const PGresult *res,
                              int r)
{
    int rc = 0;

    s->s.start_ms = pgsink_ll(res, r, 4);
    s->s.end_ms = pgsink_ll(res, r, 5);
    s->s.page_views = (uint32_t)pgsink_ll(res, r, 6);
    s->s.events = (uint32_t)pgsink_ll(res, r, 7);
    rc |= jstate_set_str(&s->s.entry_page, pgsink_str(res, r, 8));
    rc |= jstate_set_str(&s->s.exit_page, pgsink_str(res, r, 9));
    s->s.channel = store_enum(PQgetvalue(res, r, 10), pb_channel_name, 7);
    s->s.device_type = store_enum(PQgetvalue(res, r, 15), pb_device_name, 4);
    s->s.converted = strcmp(PQgetvalue(res, r, 17), "t") == 0;
    s->s.closed = strcmp(PQgetvalue(res, r, 18), "t") == 0;
    s->s.entry_ms = pgsink_ll(res, r, 21);
    s->s.exit_ms = pgsink_ll(res, r, 22);
    if (s->s.page_views > 0 && s->s.entry_page == NULL) {
        rc |= jstate_set_str(&s->s.entry_page, "-"); /* never NULL once a page was viewed */
    }
    rc |= jstate_set_str(&s->user_id, pgsink_str(res, r, 2));
    rc |= jstate_set_str(&s->site_id, pgsink_str(res, r, 3));
    rc |= jstate_set_str(&s->referrer_host, pgsink_str(res, r, 11));
    rc |= jstate_set_str(&s->utm_source, pgsink_str(res, r, 12));
    rc |= jstate_set_str(&s->utm_medium, pgsink_str(res, r, 13));
    rc |= jstate_set_str(&s->utm_campaign, pgsink_str(res, r, 14));
    rc |= jstate_set_str(&s->country, pgsink_str(res, r, 16));
    rc |= jstate_set_str(&s->last_event_id, pgsink_str(res, r, 19));
    store_take_steps(st, s, PQgetvalue(res, r, 23));
    s->s.revenue_micros = pgsink_ll(res, r, 24);
    return rc != 0 ? -1 : 0;
}

/* The sessions of the ids in $1 (a text array), f.i the 1-based index of
 * each: the columns store_take_session reads, in its order. */
/* clang-format off */
#define STORE_SESSION_READ                                                                         \
    "SELECT f.i, s.fingerprint, s.user_id, s.site_id,"                                             \
    " " STORE_MS("s.started_at") ", " STORE_MS("s.ended_at") ","                                   \
    " s.page_views, s.events, s.entry_page, s.exit_page, s.channel, s.referrer_host,"              \
    " s.utm_source, s.utm_medium, s.utm_campaign, s.device_type, s.country_code, s.converted,"     \
    " s.closed, s.last_event_id, s.kafka_partition,"                                               \
    " COALESCE(" STORE_MS("s.entry_at") ", 0), COALESCE(" STORE_MS("s.exit_at") ", 0),"            \
    " s.funnel_steps::text, (s.revenue * 1000000)::bigint"                                         \
    " FROM unnest($1::text[]) WITH ORDINALITY AS f(id, i) JOIN sessions s ON s.session_id = f.id"
/* clang-format on */

int store_load_sessions(struct store *st, struct jstate_session *const *ss, size_t n)
{
    const char **ids = calloc(n + 1, sizeof(*ids));
    PGresult *res = NULL;
    int rc;

    for (size_t i = 0; ids != NULL && i < n; i++) {
        ids[i] = ss[i]->session_id;
    }
    const char *arr = ids != NULL ? pgsink_text_array(st->sink, ids, n) : NULL;
    free(ids);
    if (arr == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    const char *params[] = {arr};
    rc = pgsink_query(st->sink, STORE_SESSION_READ, 1, params, PGRES_TUPLES_OK, "read sessions",
                      &res);
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        struct jstate_session *s = store_row_state((void *const *)ss, n, res, r);
        if (s != NULL && store_take_session(st, s, res, r) != 0) {
            pgsink_set_error(st->sink, "out of memory");
            rc = PGSINK_REFUSED;
        }
    }
    PQclear(res);
    return rc;
}
