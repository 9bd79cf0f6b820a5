/*
 * The store's writes: what a batch produced (sessions, journeys, funnel
 * progress, rollups, reach), staged by COPY and merged. Contract in store.h.
 */
#include "store_priv.h"
#include "archive.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing a batch ---- */

/* A date column from days since 1970-01-01. */
static void store_day(struct copybuf *b, long long day)
{
    char buf[32];

    archive_day_str(day, buf, sizeof(buf));
    copybuf_raw(b, buf, strlen(buf));
}

#define STORE_SESSION_COLS                                                                         \
    "session_id, fingerprint, user_id, site_id, started_at, ended_at, duration_s, page_views,"     \
    " events, entry_page, exit_page, channel, referrer_host, utm_source, utm_medium,"              \
    " utm_campaign, device_type, country_code, is_bot, bounced, converted, closed,"                \
    " last_event_id, kafka_partition, entry_at, exit_at, funnel_steps, revenue"

/* A numeric column from millionths (|micros| <= LLONG_MAX: never LLONG_MIN). */
static void store_micros(struct copybuf *b, long long micros)
{
    char buf[48];
    long long m = micros < 0 ? -micros : micros;
    int n = snprintf(buf, sizeof(buf), "%s%lld.%06lld", micros < 0 ? "-" : "", m / SITE_MICROS,
                     m % SITE_MICROS);

    copybuf_raw(b, buf, (size_t)n);
}

/* The session's funnel steps as JSON ({"booking": 5}), or NULL. Caller
 * frees. */
static char *store_steps_json(const struct store *st, const struct jstate_session *s)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    for (size_t i = 0; o != NULL && i < s->nfunnels && i < st->ctx->funnels->n; i++) {
        if (s->funnel_steps[i] != 0 && cJSON_AddNumberToObject(o, st->ctx->funnels->funnels[i].name,
                                                               s->funnel_steps[i]) == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    if (o != NULL) {
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    return out;
}

static void store_session_row(const struct store *st, struct copybuf *b,
                              const struct jstate_session *s)
{
    char *steps = store_steps_json(st, s);

    if (steps == NULL) {
        copybuf_fail(b);
        return;
    }
    copybuf_text(b, s->session_id, false);
    copybuf_text(b, s->fingerprint, false);
    copybuf_text(b, s->user_id, true);
    copybuf_text(b, s->site_id, true);
    copybuf_ts_ms(b, s->s.start_ms);
    copybuf_ts_ms(b, s->s.end_ms);
    copybuf_int(b, jsession_duration_s(&s->s));
    copybuf_int(b, s->s.page_views);
    copybuf_int(b, s->s.events);
    copybuf_text(b, s->s.entry_page, true);
    copybuf_text(b, s->s.exit_page, true);
    copybuf_text(b, pb_channel_name(s->s.channel), false);
    copybuf_text(b, s->referrer_host, true);
    copybuf_text(b, s->utm_source, true);
    copybuf_text(b, s->utm_medium, true);
    copybuf_text(b, s->utm_campaign, true);
    copybuf_text(b, pb_device_name(s->s.device_type), false);
    copybuf_text(b, s->country, true);
    copybuf_bool(b, false);
    copybuf_bool(b, jsession_bounced(&s->s));
    copybuf_bool(b, s->s.converted);
    copybuf_bool(b, s->s.closed);
    copybuf_text(b, s->last_event_id, true);
    copybuf_int(b, s->partition);
    if (s->s.entry_page != NULL) {
        copybuf_ts_ms(b, s->s.entry_ms);
        copybuf_ts_ms(b, s->s.exit_ms);
    } else {
        copybuf_null(b);
        copybuf_null(b);
    }
    copybuf_text(b, steps, false);
    store_micros(b, s->s.revenue_micros);
    copybuf_end_row(b);
    free(steps);
}

/* COPYs st->buf into staging table stage (columns cols), then runs merge. */
static int store_stage_merge(struct store *st, const char *stage, const char *cols,
                             const char *merge, const char *what)
{
    char sql[1024];
    int rc;

    if (copybuf_failed(&st->buf)) {
        pgsink_set_error(st->sink, "%s: out of memory", what);
        return PGSINK_REFUSED;
    }
    if (copybuf_len(&st->buf) == 0) {
        return PGSINK_OK;
    }
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", stage, cols);
    rc = pgsink_copy_in(st->sink, sql, copybuf_data(&st->buf), copybuf_len(&st->buf), what);
    if (rc == PGSINK_OK) {
        rc = pgsink_cmd(st->sink, merge, what);
    }
    if (rc == PGSINK_OK) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", stage);
        rc = pgsink_cmd(st->sink, sql, what);
    }
    return rc;
}

static int store_write_sessions(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nsessions; i++) {
        if (o->sessions[i]->s.events > 0) {
            store_session_row(st, &st->buf, o->sessions[i]);
        }
    }
    return store_stage_merge(
        st, "jb_sessions", STORE_SESSION_COLS,
        "INSERT INTO sessions (" STORE_SESSION_COLS ") SELECT " STORE_SESSION_COLS
        " FROM jb_sessions ON CONFLICT (session_id) DO UPDATE SET"
        " user_id = EXCLUDED.user_id, site_id = EXCLUDED.site_id,"
        " started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,"
        " duration_s = EXCLUDED.duration_s, page_views = EXCLUDED.page_views,"
        " events = EXCLUDED.events, entry_page = EXCLUDED.entry_page,"
        " exit_page = EXCLUDED.exit_page, channel = EXCLUDED.channel,"
        " referrer_host = EXCLUDED.referrer_host, utm_source = EXCLUDED.utm_source,"
        " utm_medium = EXCLUDED.utm_medium, utm_campaign = EXCLUDED.utm_campaign,"
        " device_type = EXCLUDED.device_type, country_code = EXCLUDED.country_code,"
        " bounced = EXCLUDED.bounced, converted = EXCLUDED.converted, closed = EXCLUDED.closed,"
        " last_event_id = EXCLUDED.last_event_id, kafka_partition = EXCLUDED.kafka_partition,"
        " entry_at = EXCLUDED.entry_at, exit_at = EXCLUDED.exit_at,"
        " funnel_steps = EXCLUDED.funnel_steps, revenue = EXCLUDED.revenue, updated_at = now()",
        "write sessions");
}

static int store_write_journeys(struct store *st, const struct apply_out *o)
{
    struct copybuf *b = &st->buf;

    copybuf_reset(b);
    for (size_t i = 0; i < o->nrows; i++) {
        const struct apply_journey_row *j = &o->rows[i];
        copybuf_text(b, j->event_id, false);
        copybuf_text(b, j->fingerprint, false);
        copybuf_text(b, j->user_id, true);
        copybuf_text(b, j->session_id, true);
        copybuf_int(b, j->seq);
        copybuf_text(b, j->stage, false);
        copybuf_text(b, j->previous_stage, true);
        copybuf_text(b, j->touchpoint, false);
        copybuf_text(b, pb_channel_name(j->channel), false);
        copybuf_text(b, j->page_url, true);
        copybuf_ts_ms(b, j->ts_ms);
        if (j->time_spent_s >= 0) {
            copybuf_int(b, j->time_spent_s);
        } else {
            copybuf_null(b);
        }
        copybuf_end_row(b);
    }
    if (copybuf_failed(b)) {
        pgsink_set_error(st->sink, "write journeys: out of memory");
        return PGSINK_REFUSED;
    }
    if (copybuf_len(b) == 0) {
        return PGSINK_OK;
    }
    return pgsink_copy_in(
        st->sink,
        "COPY customer_journeys (event_id, fingerprint, user_id, session_id, seq,"
        " stage, previous_stage, touchpoint, channel, page_url, occurred_at, time_spent_s)"
        " FROM STDIN",
        copybuf_data(b), copybuf_len(b), "write journeys");
}

static int store_write_spent(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nspent; i++) {
        copybuf_text(&st->buf, o->spent[i].event_id, false);
        copybuf_int(&st->buf, o->spent[i].seconds);
        copybuf_end_row(&st->buf);
    }
    return store_stage_merge(
        st, "jb_spent", "event_id, seconds",
        "UPDATE customer_journeys c SET time_spent_s = CASE WHEN s.seconds >= 0 THEN s.seconds"
        " ELSE (SELECT GREATEST(0, floor(extract(epoch FROM se.ended_at - c.occurred_at)))::int"
        "       FROM sessions se WHERE se.session_id = c.session_id) END"
        " FROM jb_spent s WHERE c.event_id = s.event_id",
        "write time spent");
}

#define STORE_PROGRESS_COLS                                                                        \
    "fingerprint, funnel, kafka_partition, started_at, day, channel, device_type, reached_ms,"     \
    " inferred, furthest, abandoned, session_id, abandon_at, abandoned_at"

static void store_progress_row(struct copybuf *b, const struct jstate_visitor *v,
                               const struct funnel *f, const struct jstate_funnel *fs)
{
    char arr[FUNNEL_STEPS_MAX * 22 + 4], *p = arr;

    for (int k = 0; k < f->nsteps; k++) {
        p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "%s%lld", k > 0 ? "," : "{",
                      fs->p.reached_ms[k]);
    }
    p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "}");
    copybuf_text(b, v->fingerprint, false);
    copybuf_text(b, f->name, false);
    copybuf_int(b, v->partition);
    copybuf_ts_ms(b, fs->p.started_ms);
    store_day(b, fs->day);
    copybuf_text(b, pb_channel_name(fs->channel), false);
    copybuf_text(b, pb_device_name(fs->device_type), false);
    copybuf_raw(b, arr, (size_t)(p - arr));
    copybuf_int(b, fs->p.inferred);
    copybuf_int(b, fs->p.furthest + 1);
    copybuf_bool(b, fs->p.abandoned);
    copybuf_text(b, fs->session_id, true);
    if (fs->abandon_at_ms != 0) {
        copybuf_ts_ms(b, fs->abandon_at_ms);
    } else {
        copybuf_null(b);
    }
    if (fs->abandoned_ms != 0) {
        copybuf_ts_ms(b, fs->abandoned_ms);
    } else {
        copybuf_null(b);
    }
    copybuf_end_row(b);
}

static int store_write_progress(struct store *st, const struct apply_out *o)
{
    const struct funnel_set *set = st->ctx->funnels;

    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nvisitors; i++) {
        const struct jstate_visitor *v = o->visitors[i];
        for (size_t k = 0; k < v->nfunnels && k < set->n; k++) {
            if (v->funnels[k].dirty && v->funnels[k].p.started_ms != 0) {
                store_progress_row(&st->buf, v, &set->funnels[k], &v->funnels[k]);
            }
        }
    }
    return store_stage_merge(
        st, "jb_progress", STORE_PROGRESS_COLS,
        "INSERT INTO funnel_progress (" STORE_PROGRESS_COLS ") SELECT " STORE_PROGRESS_COLS
        " FROM jb_progress ON CONFLICT (fingerprint, funnel) DO UPDATE SET"
        " kafka_partition = EXCLUDED.kafka_partition, started_at = EXCLUDED.started_at,"
        " day = EXCLUDED.day, channel = EXCLUDED.channel, device_type = EXCLUDED.device_type,"
        " reached_ms = EXCLUDED.reached_ms, inferred = EXCLUDED.inferred,"
        " furthest = EXCLUDED.furthest, abandoned = EXCLUDED.abandoned,"
        " session_id = EXCLUDED.session_id, abandon_at = EXCLUDED.abandon_at,"
        " abandoned_at = EXCLUDED.abandoned_at, updated_at = now()",
        "write funnel progress");
}

#define STORE_ROLLUP_COLS                                                                          \
    "funnel, day, step, channel, device_type, attempts, sessions, inferred, abandoned,"            \
    " since_prev_n, since_prev_sum_s, since_prev_hist"

static void store_rollup_row(struct copybuf *b, const struct funnel_set *set,
                             const struct rollup_delta *d)
{
    char arr[ROLLUP_HIST_BUCKETS * 22 + 4], *p = arr;

    for (int k = 0; k < ROLLUP_HIST_BUCKETS; k++) {
        p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "%s%lld", k > 0 ? "," : "{", d->hist[k]);
    }
    p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "}");
    copybuf_text(b, set->funnels[d->key.funnel].name, false);
    store_day(b, d->key.day);
    copybuf_int(b, d->key.step + 1);
    copybuf_text(b, pb_channel_name(d->key.channel), false);
    copybuf_text(b, pb_device_name(d->key.device_type), false);
    copybuf_int(b, d->attempts);
    copybuf_int(b, d->sessions);
    copybuf_int(b, d->inferred);
    copybuf_int(b, d->abandoned);
    copybuf_int(b, d->since_prev_n);
    copybuf_double(b, d->since_prev_sum_s);
    copybuf_raw(b, arr, (size_t)(p - arr));
    copybuf_end_row(b);
}

static int store_write_rollups(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->rollup.n; i++) {
        store_rollup_row(&st->buf, st->ctx->funnels, &o->rollup.d[i]);
    }
    /* An abandonment taken back (apply.h: late events) subtracts from a row
     * an earlier batch counted it in: applied to that row first, as the
     * row proposed by the upsert may not be negative. */
    return store_stage_merge(
        st, "jb_rollup", STORE_ROLLUP_COLS,
        "UPDATE funnel_daily r SET abandoned = r.abandoned + s.abandoned FROM jb_rollup s"
        " WHERE s.abandoned < 0 AND (r.funnel, r.day, r.step, r.channel, r.device_type) ="
        " (s.funnel, s.day, s.step, s.channel, s.device_type);"
        " UPDATE jb_rollup SET abandoned = 0 WHERE abandoned < 0;"
        " INSERT INTO funnel_daily AS r (" STORE_ROLLUP_COLS ") SELECT " STORE_ROLLUP_COLS
        " FROM jb_rollup ON CONFLICT (funnel, day, step, channel, device_type) DO UPDATE SET"
        " attempts = r.attempts + EXCLUDED.attempts, sessions = r.sessions + EXCLUDED.sessions,"
        " inferred = r.inferred + EXCLUDED.inferred, abandoned = r.abandoned + EXCLUDED.abandoned,"
        " since_prev_n = r.since_prev_n + EXCLUDED.since_prev_n,"
        " since_prev_sum_s = r.since_prev_sum_s + EXCLUDED.since_prev_sum_s,"
        " since_prev_hist = funnel_hist_add(r.since_prev_hist, EXCLUDED.since_prev_hist),"
        " updated_at = now()",
        "write funnel rollups");
}

#define STORE_REACH_COLS "funnel, day, step, channel, device_type, fp, inferred"

/* A batch's visitors per rollup row, added to the rows' visitor sets (the
 * rows exist: store_write_rollups ran first), to the per-day sets over
 * every channel and device and to funnel_visitors, in that order. Rows
 * written before migration 008 (no set) take none of them: they count
 * their attempts (see 008_funnel_visitors.sql). */
static const char store_reach_merge_sql[] =
    "UPDATE funnel_daily r SET visitors_hll = hll_union(r.visitors_hll, x.v),"
    " inferred_hll = hll_union(r.inferred_hll, coalesce(x.i, funnel_hll_empty())),"
    " updated_at = now()"
    " FROM (SELECT funnel, day, step, channel, device_type,"
    "   hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon) AS v,"
    "   hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)"
    "     FILTER (WHERE inferred) AS i"
    "   FROM jb_reach, funnel_hll_params() p GROUP BY 1, 2, 3, 4, 5) x"
    " WHERE r.funnel = x.funnel AND r.day = x.day AND r.step = x.step AND r.channel = x.channel"
    " AND r.device_type = x.device_type AND r.visitors_hll IS NOT NULL;"
    "INSERT INTO funnel_daily_visitors AS r (funnel, day, step, visitors_hll, inferred_hll)"
    " SELECT x.funnel, x.day, x.step,"
    "   hll_add_agg(hll_hash_text(x.fp), p.log2m, p.regwidth, p.expthresh, p.sparseon),"
    "   coalesce(hll_add_agg(hll_hash_text(x.fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)"
    "     FILTER (WHERE x.inferred), funnel_hll_empty())"
    " FROM jb_reach x JOIN funnel_daily d USING (funnel, day, step, channel, device_type),"
    "   funnel_hll_params() p"
    " WHERE d.visitors_hll IS NOT NULL GROUP BY 1, 2, 3"
    " ON CONFLICT (funnel, day, step) DO UPDATE SET"
    " visitors_hll = hll_union(r.visitors_hll, EXCLUDED.visitors_hll),"
    " inferred_hll = hll_union(r.inferred_hll, EXCLUDED.inferred_hll);"
    "INSERT INTO funnel_visitors AS r (funnel, step, day, channel, device_type, visitor, inferred)"
    " SELECT x.funnel, x.step, x.day, x.channel, x.device_type, hashtextextended(x.fp, 0),"
    "   bool_or(x.inferred)"
    " FROM jb_reach x JOIN funnel_daily d USING (funnel, day, step, channel, device_type)"
    " WHERE d.visitors_hll IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
    " ON CONFLICT (funnel, step, day, channel, device_type, visitor) DO UPDATE SET inferred = true"
    " WHERE EXCLUDED.inferred AND NOT r.inferred";

static int store_write_reach(struct store *st, const struct apply_out *o)
{
    const struct funnel_set *set = st->ctx->funnels;
    struct copybuf *b = &st->buf;

    copybuf_reset(b);
    for (size_t i = 0; i < o->nreach; i++) {
        const struct apply_reach *r = &o->reach[i];
        copybuf_text(b, set->funnels[r->key.funnel].name, false);
        store_day(b, r->key.day);
        copybuf_int(b, r->key.step + 1);
        copybuf_text(b, pb_channel_name(r->key.channel), false);
        copybuf_text(b, pb_device_name(r->key.device_type), false);
        copybuf_text(b, r->fingerprint, false);
        copybuf_bool(b, r->inferred);
        copybuf_end_row(b);
    }
    return store_stage_merge(st, "jb_reach", STORE_REACH_COLS, store_reach_merge_sql,
                             "write funnel visitors");
}

int store_write(struct store *st, const struct apply_out *o)
{
    int rc = store_write_sessions(st, o);

    if (rc == PGSINK_OK) {
        rc = store_write_journeys(st, o);
    }
    if (rc == PGSINK_OK) {
        rc = store_write_spent(st, o);
    }
    if (rc == PGSINK_OK) {
        rc = store_write_progress(st, o);
    }
    if (rc == PGSINK_OK) {
        rc = store_write_rollups(st, o);
    }
    if (rc == PGSINK_OK) {
        rc = store_write_reach(st, o);
    }
    return rc;
}
