/*
 * The journey-builder's store: the store itself and what every new
 * connection of its sink sets up (staging tables, the histogram bounds,
 * the funnel definitions). Contract in store.h.
 */
#include "store_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The staging tables a transaction fills with COPY before merging them. */
static const char store_staging_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS jb_sessions (LIKE sessions INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_spent (event_id text, seconds integer) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_progress (LIKE funnel_progress INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_rollup (LIKE funnel_daily INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_reach (funnel text, day date, step smallint,"
    "  channel text, device_type text, fp text, inferred boolean) ON COMMIT DELETE ROWS;";

/* ---- set-up on each connection ---- */

static int store_check_bounds(struct store *st)
{
    char want[1024], *p = want;
    PGresult *res = NULL;
    int rc;

    for (int i = 0; i < ROLLUP_HIST_BUCKETS - 1; i++) {
        p += snprintf(p, sizeof(want) - (size_t)(p - want), "%s%g", i > 0 ? "," : "{",
                      rollup_hist_bounds[i]);
    }
    snprintf(p, sizeof(want) - (size_t)(p - want), "}");
    const char *params[] = {want};
    rc = pgsink_query(st->sink, "SELECT funnel_hist_bounds() = $1::double precision[]", 1, params,
                      PGRES_TUPLES_OK, "funnel_hist_bounds", &res);
    if (rc != PGSINK_OK) {
        return rc;
    }
    bool same = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!same) {
        pgsink_set_error(st->sink,
                         "funnel_hist_bounds() in the database differs from this build's buckets");
        return PGSINK_REFUSED;
    }
    return PGSINK_OK;
}

static int store_define_funnel(struct store *st, const struct funnel *f)
{
    const char *names[FUNNEL_STEPS_MAX];
    char window[32], from[16], after[32];

    for (int i = 0; i < f->nsteps; i++) {
        names[i] = f->steps[i].name;
    }
    const char *steps = pgsink_text_array(st->sink, names, (size_t)f->nsteps);
    if (steps == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    snprintf(window, sizeof(window), "%lld", f->window_ms / 3600000);
    snprintf(from, sizeof(from), "%d", f->abandon_from + 1);
    snprintf(after, sizeof(after), "%lld", f->abandon_after_ms / 60000);
    const char *params[] = {f->name, steps, f->strict ? "t" : "f", window, from, after};
    return pgsink_exec(
        st->sink,
        "INSERT INTO funnel_definitions AS d (funnel, steps, strict, window_hours,"
        " abandon_from_step, abandon_after_minutes) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (funnel) DO UPDATE SET steps = EXCLUDED.steps, strict = EXCLUDED.strict,"
        " window_hours = EXCLUDED.window_hours, abandon_from_step = EXCLUDED.abandon_from_step,"
        " abandon_after_minutes = EXCLUDED.abandon_after_minutes, updated_at = now()"
        " WHERE (d.steps, d.strict, d.window_hours, d.abandon_from_step, d.abandon_after_minutes)"
        " IS DISTINCT FROM (EXCLUDED.steps, EXCLUDED.strict, EXCLUDED.window_hours,"
        " EXCLUDED.abandon_from_step, EXCLUDED.abandon_after_minutes)",
        6, params, "funnel_definitions");
}

/* The sink's on-connect step: the session's staging tables, then the
 * checks and definitions the tables' contents depend on. */
static int store_prepare(struct pgsink *sink, void *arg)
{
    struct store *st = arg;
    int rc = pgsink_cmd(sink, store_staging_sql, "create staging tables");

    if (rc == PGSINK_OK) {
        rc = store_check_bounds(st);
    }
    for (size_t i = 0; rc == PGSINK_OK && i < st->ctx->funnels->n; i++) {
        rc = store_define_funnel(st, &st->ctx->funnels->funnels[i]);
    }
    return rc;
}

/* ---- the store ---- */

struct store *store_new(struct pgsink *sink, const struct apply_ctx *c)
{
    struct store *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    st->sink = sink;
    st->ctx = c;
    copybuf_init(&st->buf);
    copybuf_init(&st->sub);
    pgsink_on_connect(sink, store_prepare, st);
    return st;
}

void store_free(struct store *st)
{
    if (st == NULL) {
        return;
    }
    pgsink_on_connect(st->sink, NULL, NULL);
    copybuf_fini(&st->buf);
    copybuf_fini(&st->sub);
    free(st);
}

struct pgsink *store_sink(struct store *st)
{
    return st->sink;
}
