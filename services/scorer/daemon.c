/*
 * The scorer's loop (see daemon.h): a batch's messages, read back and
 * applied to profiles, scored, and written in one transaction on the stage
 * runtime (stage.h), its PostgreSQL sink (pgsink.h) and partitions
 * (txparts.h).
 */
#include "daemon_priv.h"

#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/lru.h"
#include "analytics/metrics.h"
#include "analytics/pgsink.h"
#include "analytics/redis.h"
#include "analytics/txparts.h"
#include "analytics/tz.h"
#include "churn_due.h"
#include "outputs.h"
#include "pagestats.h"
#include "profile_codec.h"
#include "session_features.h"
#include "sstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SC_REDIS_TIMEOUT_MS 1000 /* one Redis command */
#define SC_PAGES_EVERY_MS 60000  /* page statistics read back this often */
#define SC_REDIS_CHECK_MS 1000   /* Redis pinged between batches this often */
#define SC_EXPLAIN_MOVE 5        /* a lead score this far from the last explained: explain */
#define SC_DAY_MS 86400000.0
#define SC_PAGE_NAMES 16384   /* pages whose names are remembered (the most recently viewed) */
#define SC_PAGE_NAME_MAX 4096 /* bytes of a page's name (host and path) */

/* One prediction's time (features, lead, churn, persona), in seconds. */
static const double sc_predict_bounds[] = {2.5e-6,  5e-6,   7.5e-6, 10e-6,  12.5e-6, 15e-6,
                                           17.5e-6, 20e-6,  25e-6,  30e-6,  40e-6,   50e-6,
                                           75e-6,   100e-6, 250e-6, 500e-6, 1e-3,    10e-3};

static void sc_register_metrics(struct scorer_daemon *d)
{
    struct metrics *r = d->o.metrics;
    struct sc_metrics *m = &d->m;

    m->scored = metrics_counter(r, "analytics_scorer_events_scored_total",
                                "Visitor events applied to profiles", NULL);
    m->bots = metrics_counter(r, "analytics_scorer_bot_events_total",
                              "Bot events counted and never scored", NULL);
    m->updates = metrics_counter(r, "analytics_scorer_updates_produced_total",
                                 "Score updates the broker acknowledged", NULL);
    m->explained = metrics_counter(r, "analytics_scorer_explanations_total",
                                   "Reasons recomputed (exact TreeSHAP)", NULL);
    m->loaded = metrics_counter(r, "analytics_scorer_profiles_loaded_total",
                                "Profiles read back from PostgreSQL on a cache miss", NULL);
    m->unreadable = metrics_counter(r, "analytics_scorer_state_unreadable_total",
                                    "Stored profile states that could not be read (the "
                                    "visitor's profile started again)",
                                    NULL);
    m->redis_errors = metrics_counter(r, "analytics_scorer_redis_errors_total",
                                      "Hot profile writes Redis failed", NULL);
    m->skipped = metrics_counter(r, "analytics_scorer_replayed_skipped_total",
                                 "Messages skipped because the database had applied them", NULL);
    m->predict = metrics_histogram(r, "analytics_scorer_predict_seconds",
                                   "One profile scored: features, lead score, churn risk, persona",
                                   NULL, sc_predict_bounds,
                                   sizeof(sc_predict_bounds) / sizeof(sc_predict_bounds[0]));
    m->warnings = metrics_counter(r, "analytics_scorer_churn_warnings_total",
                                  "Churn warnings sent to silent visitors (churn_warning and "
                                  "lapse_warning ScoreUpdates)",
                                  NULL);
    m->reloads = metrics_counter(r, "analytics_scorer_model_reloads_total",
                                 "Models taken in place of those in use (SIGHUP, a churn model "
                                 "file replaced)",
                                 NULL);
    m->reload_failures = metrics_counter(r, "analytics_scorer_model_reload_failures_total",
                                         "Model files that failed to load while running (the "
                                         "model in use stayed)",
                                         NULL);
}

/* Empties the batch's visitors and their index. */
static void sc_entries_clear(struct scorer_daemon *d)
{
    if (d->nentries > 0 && d->index != NULL) {
        memset(d->index, 0, d->index_cap * sizeof(*d->index));
    }
    d->nentries = 0;
}

/* ---- the batch ---- */

static void sc_release(struct scorer_daemon *d)
{
    for (size_t i = 0; i < d->nslots; i++) {
        analytics__v1__enriched_event__free_unpacked(d->slots[i].ev, NULL);
        analytics__v1__journey_update__free_unpacked(d->slots[i].ju, NULL);
    }
    for (size_t i = 0; i < d->nupdates; i++) {
        free(d->updates[i].buf);
    }
    sc_entries_clear(d);
    d->nslots = d->nupdates = 0;
}

void scorer_daemon_reset_attempt(struct scorer_daemon *d)
{
    for (size_t i = 0; i < d->nupdates; i++) {
        free(d->updates[i].buf);
    }
    d->nupdates = 0;
    d->n_scored = d->n_bots = d->n_loaded = d->n_explained = d->n_unreadable = 0;
    sc_entries_clear(d);
    for (size_t i = 0; i < d->nslots; i++) {
        d->slots[i].entry = -1;
    }
    sstore_reset(d->store);
}

static void sc_forget_states(void *arg)
{
    struct scorer_daemon *d = arg;

    lru_clear(d->cache);
}

static void sc_drop(void *arg)
{
    sc_release(arg);
}

static void sc_revoked(void *arg)
{
    struct scorer_daemon *d = arg;

    if (d->tp != NULL) {
        txparts_forget(d->tp); /* and the cached profiles: another replica may move them */
    }
}

static const char *sc_fingerprint(const struct sc_slot *s)
{
    const char *fp = s->ev != NULL ? s->ev->fingerprint : s->ju != NULL ? s->ju->fingerprint : NULL;

    return fp != NULL ? fp : "";
}

/* Decodes the slot's message by its topic. */
static void sc_decode(struct scorer_daemon *d, struct sc_slot *s)
{
    s->entry = -1;
    if (txparts_is_applied(d->tp, &s->m)) {
        s->kind = SC_SKIP;
        return;
    }
    if (s->m.topic == d->topics[1]) {
        s->ju = analytics__v1__journey_update__unpack(NULL, s->m.len, s->m.payload);
        s->kind = s->ju != NULL ? SC_JOURNEY : SC_DEAD;
        s->dead_code = "undecodable";
    } else {
        s->ev = analytics__v1__enriched_event__unpack(NULL, s->m.len, s->m.payload);
        s->kind = s->ev != NULL ? SC_EVENT : SC_DEAD;
        s->dead_code = "undecodable";
    }
    if (s->kind != SC_DEAD && sc_fingerprint(s)[0] == '\0') {
        s->kind = SC_DEAD;
        s->dead_code = "no_fingerprint";
    }
}

/* Whether ev is a crawler's (NULL, no event: not). */
static bool sc_is_bot(const Analytics__V1__EnrichedEvent *ev)
{
    return ev != NULL && ev->bot != NULL && ev->bot->is_bot;
}

/* A linear scan: a batch holds a few thousand visitors at most, and the
 * scan is cheap next to scoring. */
/* The index slot of fp: its entry's, or the empty one it would take. */
static uint32_t *sc_slot_of(struct scorer_daemon *d, const char *fp)
{
    size_t mask = d->index_cap - 1, i = (size_t)prof_page_hash(fp, NULL) & mask;

    while (d->index[i] != 0 && strcmp(d->entries[d->index[i] - 1].v.p.fingerprint, fp) != 0) {
        i = (i + 1) & mask;
    }
    return &d->index[i];
}

int scorer_daemon_entry(struct scorer_daemon *d, const char *fp, int partition)
{
    uint32_t *slot = sc_slot_of(d, fp);

    if (*slot != 0) {
        return (int)*slot - 1;
    }
    *slot = (uint32_t)d->nentries + 1;
    struct sc_entry *e = &d->entries[d->nentries];
    memset(e, 0, sizeof(*e));
    e->partition = partition;
    prof_init(&e->v.p, fp);
    if (lru_get(d->cache, fp, strlen(fp), &e->v, sizeof(e->v), NULL)) {
        e->known = true;
    }
    return (int)d->nentries++;
}

/* One stored state read back (sstore_load's callback). */
static void sc_loaded(void *arg, const char *fp, const char *state)
{
    struct scorer_daemon *d = arg;
    char why[256];

    uint32_t *slot = sc_slot_of(d, fp);
    if (*slot != 0) {
        struct sc_entry *e = &d->entries[*slot - 1];
        if (e->known) {
            return;
        }
        int bad = prof_decode(state, &e->v.p, why, sizeof(why));
        if (bad == 0 && strcmp(e->v.p.fingerprint, fp) != 0) {
            errbuf_printf(why, sizeof(why), "the state is another visitor's");
            bad = -1;
        }
        if (bad != 0) { /* the visitor starts again rather than stop the partition */
            log_warn("scorer.state_unreadable", LOG_STR("fingerprint", fp), LOG_STR("error", why),
                     LOG_STR("action", "profile started again"));
            prof_init(&e->v.p, fp);
            d->n_unreadable++;
        }
        e->known = true;
        d->n_loaded++;
    }
}

int scorer_daemon_load_missing(struct scorer_daemon *d)
{
    const char **missing = malloc((d->nentries + 1) * sizeof(*missing));
    size_t n = 0;
    int rc;

    if (missing == NULL) {
        pgsink_set_error(d->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    for (size_t i = 0; i < d->nentries; i++) {
        if (!d->entries[i].known) {
            missing[n++] = d->entries[i].v.p.fingerprint;
        }
    }
    rc = sstore_load(d->store, missing, n, sc_loaded, d);
    for (size_t i = 0; i < d->nentries; i++) {
        d->entries[i].known = true; /* not stored: a new visitor */
    }
    free(missing);
    return rc;
}

/* Assigns the batch's messages to visitors and reads back the unknown. */
static int sc_gather(struct scorer_daemon *d)
{
    for (size_t i = 0; i < d->nslots; i++) {
        struct sc_slot *s = &d->slots[i];
        if (s->kind == SC_JOURNEY || (s->kind == SC_EVENT && !sc_is_bot(s->ev))) {
            s->entry = scorer_daemon_entry(d, sc_fingerprint(s), s->m.partition);
        }
    }
    return scorer_daemon_load_missing(d);
}

/* ---- applying ---- */

long long scorer_daemon_utc_offset_ms(const struct scorer_daemon *d, long long utc_ms)
{
    return (long long)tz_utc_offset(d->o.tz, utc_ms) * 1000;
}

/* The local day (fractional) of utc_ms in the site's zone. */
static double sc_local_day(const struct scorer_daemon *d, long long utc_ms)
{
    return (double)(utc_ms + scorer_daemon_utc_offset_ms(d, utc_ms)) / SC_DAY_MS;
}

/* Remembers a viewed page's name under its hash (page_names), so the page
 * statistics written when its session closes say which page it is. */
static void sc_note_page(const struct scorer_daemon *d, const Analytics__V1__PageInfo *pg,
                         uint64_t hash)
{
    char name[SC_PAGE_NAME_MAX];
    const char *host = pg->host != NULL ? pg->host : "";
    const char *path = pg->path != NULL ? pg->path : "";
    int n;

    if (hash == 0 || lru_get(d->page_names, &hash, sizeof(hash), name, sizeof(name), NULL)) {
        return; /* known already (and now the most recently used) */
    }
    n = snprintf(name, sizeof(name), "%s%s", host, path);
    if (n > 0 && (size_t)n < sizeof(name)) {
        (void)lru_put(d->page_names, &hash, sizeof(hash), name, (size_t)n);
    }
}

/* What the profile takes from an enriched event. */
static void sc_event(const struct scorer_daemon *d, const Analytics__V1__EnrichedEvent *ev,
                     struct profile_event *pe)
{
    const Analytics__V1__PageInfo *pg = ev->page;
    const struct site_conversion *cv = site_events_conversion(d->o.site, ev->event_type);

    *pe = (struct profile_event){
        .event_type = ev->event_type,
        .user_id = ev->user_id,
        .session_id = ev->session != NULL ? ev->session->session_id : "",
        .new_session = ev->session != NULL && ev->session->new_session,
        .ts_ms = ev->event_ts_ms,
        .local_day = tz_local_day(d->o.tz, ev->event_ts_ms),
        .page_view = site_events_is_page_view(d->o.site, ev->event_type),
        .page_type =
            pg != NULL && pg->page_type != NULL && pg->page_type[0] != '\0' ? pg->page_type : NULL,
        .page_hash = pg != NULL ? prof_page_hash(pg->host, pg->path) : 0,
        .channel = ev->campaign != NULL ? (int)ev->campaign->channel : 0,
        .device = ev->ua != NULL ? (int)ev->ua->device_type : 0,
        .is_conversion = cv != NULL,
    };
    if (pe->page_view && pg != NULL) {
        sc_note_page(d, pg, pe->page_hash);
    }
    pe->counters =
        scorer_rules_classify(d->o.rules, ev->event_type, ev->event_data_json, &pe->depth);
    if (cv != NULL && cv->value_property != NULL) {
        (void)site_value_micros(ev->event_data_json, cv->value_property, &pe->conversion_micros);
    }
}

/* score_profile for p at local day day, timed in analytics_scorer_predict_seconds. */
static void sc_predict(struct scorer_daemon *d, const struct profile *p, double day,
                       struct score_result *r)
{
    char err[256];
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc =
        score_profile(&d->models.m, &d->o.score, d->o.rules, d->pages, p, day, r, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &b);
    metric_observe(d->m.predict,
                   (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    if (rc != 0) {
        log_warn("scorer.predict_failed", LOG_STR("error", err));
    }
}

/* Scores an entry whose change made no ScoreUpdate (no feature moved), for
 * its row: the reasons are the last explained. */
static void sc_rescore(struct scorer_daemon *d, struct sc_entry *e)
{
    sc_predict(d, &e->v.p, sc_local_day(d, e->v.p.last_seen_ms), &e->r);
    memcpy(e->r.reasons, e->v.p.explained.reasons, sizeof(e->r.reasons));
    e->r.nreasons = (size_t)e->v.p.explained.nreasons;
    e->scored = true;
    e->stale = false;
}

/* Gives a closed session's pages to the batch's and the live statistics.
 * The rows changed since their last score are scored first, with the
 * statistics their change saw: a row then says the same however the
 * stream is cut into batches. */
static int sc_close_session(struct scorer_daemon *d, struct profile *p)
{
    struct profile_page_stats st;
    long long day = (long long)(p->cur.start_ms / 86400000LL);

    if (!prof_close_session(p, &st)) {
        return PGSINK_OK;
    }
    for (size_t i = 0; i < d->nentries; i++) {
        if (d->entries[i].stale) {
            sc_rescore(d, &d->entries[i]);
        }
    }
    d->pages_dirty = true;
    if (features_add_session(d->pages, &st) != 0) {
        pgsink_set_error(d->sink, "page statistics: out of memory");
        return PGSINK_REFUSED;
    }
    return sstore_add_pages(d->store, day, &st, d->page_names);
}

/* Whether the reasons are refreshed with this score. */
static bool sc_explain_due(const struct profile_explained *x, const struct score_result *r,
                           unsigned changed)
{
    return x->score < 0 || (changed & PROFILE_NEW_SESSION) != 0 ||
           abs(r->lead_score - x->score) >= SC_EXPLAIN_MOVE || r->persona != x->persona;
}

const char *scorer_daemon_persona(const struct scorer_daemon *d, int persona)
{
    const struct persona_model *pm = d->models.m.personas;

    return pm != NULL && persona >= 0 && persona < pm->k ? pm->names[persona] : NULL;
}

int scorer_daemon_score(struct scorer_daemon *d, struct sc_entry *e, unsigned changed,
                        const char *cause_id, long long ts_ms, const char *extra_reason)
{
    struct score_result *r = &e->r;
    struct sc_visitor *v = &e->v;
    struct profile_explained *x = &v->p.explained;
    char err[256];
    double day = sc_local_day(d, ts_ms);

    sc_predict(d, &v->p, day, r);
    if (extra_reason != NULL || sc_explain_due(x, r, changed)) {
        if (score_explain(&d->models.m, &d->o.score, &v->p, day, r, err, sizeof(err)) != 0) {
            log_warn("scorer.explain_failed", LOG_STR("error", err));
        }
        x->score = r->lead_score;
        x->persona = r->persona;
        memcpy(x->reasons, r->reasons, sizeof(x->reasons));
        x->nreasons = (int)r->nreasons;
        d->n_explained++;
    } else {
        memcpy(r->reasons, x->reasons, sizeof(r->reasons));
        r->nreasons = (size_t)x->nreasons;
    }
    e->scored = true;
    e->stale = false;
    const char *persona = scorer_daemon_persona(d, r->persona);
    struct sc_update *u = &d->updates[d->nupdates];
    if (outputs_score_update(&v->p, r, persona, cause_id, ts_ms, extra_reason, &u->buf, &u->len) !=
        0) {
        pgsink_set_error(d->sink, "score update: out of memory");
        return PGSINK_REFUSED;
    }
    u->entry = (int)(e - d->entries);
    d->nupdates++;
    sstore_add_prediction(d->store, &v->p, r, persona, cause_id, ts_ms);
    return PGSINK_OK;
}

static int sc_apply_event(struct scorer_daemon *d, struct sc_slot *s)
{
    struct sc_entry *e = &d->entries[s->entry];
    struct profile_event pe;
    int rc = PGSINK_OK;

    sc_event(d, s->ev, &pe);
    if (prof_starts_session(&e->v.p, &pe)) {
        rc = sc_close_session(d, &e->v.p);
    }
    unsigned changed = prof_apply(&e->v.p, d->o.rules, &pe);
    e->changed = true;
    e->stale = true;
    e->partition = s->m.partition; /* the events' partition: the warning's clock */
    e->last_event_id = s->ev->event_id;
    e->last_event_ms = s->ev->event_ts_ms;
    d->n_scored++;
    if (rc == PGSINK_OK && (changed & (PROFILE_FEATURES | PROFILE_NEW_SESSION)) != 0) {
        rc = scorer_daemon_score(d, e, changed, s->ev->event_id, s->ev->event_ts_ms, NULL);
    }
    return rc;
}

static int sc_apply_journey(struct scorer_daemon *d, struct sc_slot *s)
{
    struct sc_entry *e = &d->entries[s->entry];
    const Analytics__V1__JourneyUpdate *ju = s->ju;

    if (ju->kind == ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_STAGE_CHANGED &&
        ju->stage != NULL) {
        snprintf(e->v.p.stage, sizeof(e->v.p.stage), "%s", ju->stage);
        e->changed = e->v.p.events > 0;
        e->stale = e->stale || e->changed;
    } else if (ju->kind == ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_SESSION_CLOSED &&
               ju->session_id != NULL && strcmp(ju->session_id, e->v.p.cur.id) == 0) {
        int rc = sc_close_session(d, &e->v.p);
        e->changed = e->v.p.events > 0;
        e->stale = e->stale || e->changed; /* its pages have statistics now */
        return rc;
    }
    return PGSINK_OK;
}

/* Applies the batch's messages in order. */
static int sc_apply(struct scorer_daemon *d, int64_t *stream)
{
    int rc = PGSINK_OK;

    for (size_t i = 0; rc == PGSINK_OK && i < d->nslots; i++) {
        struct sc_slot *s = &d->slots[i];
        long long ts = 0;
        if (s->kind == SC_EVENT && sc_is_bot(s->ev)) {
            d->n_bots++; /* a crawler's clock moves no warning */
        } else if (s->kind == SC_EVENT) {
            rc = sc_apply_event(d, s);
            ts = txparts_event_clock_ms(s->ev->event_ts_ms, s->ev->received_ts_ms);
        } else if (s->kind == SC_JOURNEY) {
            rc = sc_apply_journey(d, s);
            ts = s->ju->ts_ms;
        }
        for (size_t k = 0; ts > 0 && k < d->batch.n; k++) {
            if (d->batch.topic[k] == s->m.topic && d->batch.part[k] == s->m.partition &&
                ts > stream[k]) {
                stream[k] = ts;
            }
        }
    }
    return rc;
}

/* Stages every changed visitor's row and churn warning. */
static void sc_stage_rows(struct scorer_daemon *d)
{
    for (size_t i = 0; i < d->nentries; i++) {
        struct sc_entry *e = &d->entries[i];
        if (!e->changed || e->v.p.events == 0) {
            continue;
        }
        if (e->stale) { /* changed by a click or a journey update since its last score */
            sc_rescore(d, e);
        }
        struct churn_due due;
        churn_due_plan(&d->models.m, &d->o.score, &e->v.p,
                       scorer_daemon_utc_offset_ms(d, e->v.p.last_seen_ms), &due);
        struct sstore_visitor sv = {
            .p = &e->v.p,
            .r = e->scored ? &e->r : NULL,
            .persona = e->scored ? scorer_daemon_persona(d, e->r.persona) : NULL,
            .partition = e->partition,
            .last_event_id = e->last_event_id,
            .last_event_ms = e->last_event_ms,
            .warn_at_ms = due.at_ms,
            .warn_reason = due.reason,
        };
        sstore_add_visitor(d->store, &sv);
    }
}

void scorer_daemon_committed(struct scorer_daemon *d)
{
    for (size_t i = 0; i < d->nentries; i++) {
        const struct sc_entry *e = &d->entries[i];
        (void)lru_put(d->cache, e->v.p.fingerprint, strlen(e->v.p.fingerprint), &e->v,
                      sizeof(e->v));
    }
    metric_add(d->m.updates, (double)d->nupdates);
    metric_add(d->m.scored, (double)d->n_scored);
    metric_add(d->m.bots, (double)d->n_bots);
    metric_add(d->m.loaded, (double)d->n_loaded);
    metric_add(d->m.explained, (double)d->n_explained);
    metric_add(d->m.unreadable, (double)d->n_unreadable);
    d->n_scored = d->n_bots = d->n_loaded = d->n_explained = d->n_unreadable = 0;
    for (size_t i = 0; i < d->nupdates; i++) {
        free(d->updates[i].buf);
    }
    d->nupdates = 0;
    sc_entries_clear(d);
}

/* After the commit: the profiles into the cache, the offsets to the stage. */
static int sc_done(struct scorer_daemon *d)
{
    scorer_daemon_committed(d);
    for (size_t i = 0; i < d->nslots; i++) {
        if (d->slots[i].kind == SC_SKIP) {
            metric_add(d->m.skipped, 1);
        } else if (d->slots[i].kind == SC_DEAD) {
            stage_count_deadletters(d->rt, 1);
        }
    }
    d->pages_dirty = false;
    if (txparts_store_offsets(d->tp, &d->batch, d->started_mono) != 0) {
        log_error("scorer.out_of_memory", LOG_STR("where", "offsets"));
        return -1;
    }
    sc_release(d);
    return 0;
}

/* One attempt at the whole batch in hand. */
static enum stage_step sc_process(struct scorer_daemon *d)
{
    int64_t *stream = calloc(d->batch.n + 1, sizeof(*stream));
    enum stage_step st = txparts_connect(d->tp), wait = STAGE_DONE;
    int rc;

    if (stream == NULL) {
        log_error("scorer.out_of_memory", LOG_STR("where", "batch"));
        return STAGE_FATAL;
    }
    if (st != STAGE_DONE) {
        goto out;
    }
    if (!atomic_load(&d->redis_up) && !redis_client_ready(d->redis)) {
        st = STAGE_WAIT_BACKEND; /* no attempt, nor its ScoreUpdates again, until Redis answers */
        goto out;
    }
    scorer_daemon_reset_attempt(d);
    rc = PGSINK_OK;
    if (d->pages_dirty) { /* an attempt that did not commit added its closed sessions */
        rc = sstore_read_pages(d->store, d->o.page_stats_days, d->pages);
        d->pages_dirty = rc != PGSINK_OK;
    }
    if (rc == PGSINK_OK) {
        rc = txparts_load(d->tp, &d->batch, true);
    }
    for (size_t i = 0; rc == PGSINK_OK && i < d->nslots; i++) {
        if (d->slots[i].ev == NULL && d->slots[i].ju == NULL) {
            sc_decode(d, &d->slots[i]);
        } else if (txparts_is_applied(d->tp, &d->slots[i].m)) {
            d->slots[i].kind = SC_SKIP;
        }
    }
    for (size_t k = 0; k < d->batch.n; k++) {
        const struct txpart *p = txparts_get(d->tp, d->batch.topic[k], d->batch.part[k]);
        stream[k] = p != NULL ? p->stream_ms : 0;
    }
    if (rc == PGSINK_OK) {
        rc = sc_gather(d);
    }
    if (rc == PGSINK_OK) {
        rc = sc_apply(d, stream);
    }
    if (rc == PGSINK_OK) {
        sc_stage_rows(d);
        rc = scorer_daemon_transact(d, &d->batch, stream, &wait);
    }
    if (rc != PGSINK_OK) {
        st = txparts_failed(d->tp, rc, "batch");
    } else if (wait != STAGE_DONE) {
        st = wait;
    } else {
        st = sc_done(d) == 0 ? STAGE_DONE : STAGE_FATAL;
    }
out:
    free(stream);
    return st;
}

static enum stage_step sc_process_cb(void *arg, const struct stage_batch *sb)
{
    struct scorer_daemon *d = arg;
    size_t bad = 0;

    if (d->nslots == 0) {
        for (size_t i = 0; i < sb->n; i++) {
            d->slots[i] = (struct sc_slot){.m = sb->msgs[i], .entry = -1};
        }
        d->nslots = sb->n;
        d->started_mono = sb->started_mono_ms;
        if (txparts_batch_collect(&d->batch, sb->msgs, sb->n, &bad) != 0) {
            log_error("scorer.partition_out_of_range",
                      LOG_INT("partition", sb->msgs[bad].partition));
            return STAGE_FATAL;
        }
    }
    return sc_process(d);
}

/* Between batches: reconnect, the models, the page statistics read back
 * once a minute, and the churn warnings falling due. */
static enum stage_step sc_tick(void *arg)
{
    struct scorer_daemon *d = arg;
    enum stage_step st = txparts_connect(d->tp);
    long long now = lifecycle_mono_ms();

    scorer_daemon_models(d, now);
    if (st != STAGE_DONE) {
        return st;
    }
    if (!atomic_load(&d->redis_up) || now >= d->redis_at_mono) {
        bool up = redis_client_ready(d->redis);
        if (up != atomic_exchange(&d->redis_up, up)) {
            if (up) {
                log_info("scorer.redis_available");
            } else {
                log_warn("scorer.redis_unavailable",
                         LOG_STR("error", redis_client_last_error(d->redis)));
            }
        }
        d->redis_at_mono = now + SC_REDIS_CHECK_MS;
        if (!up) {
            return STAGE_WAIT_BACKEND;
        }
    }
    if (now >= d->pages_at_mono) {
        int rc = sstore_read_pages(d->store, d->o.page_stats_days, d->pages);
        if (rc != PGSINK_OK) {
            return txparts_failed(d->tp, rc, "read page statistics");
        }
        d->pages_at_mono = now + SC_PAGES_EVERY_MS;
    }
    return scorer_daemon_due(d);
}

static bool sc_ready(void *arg, char *why, size_t whylen)
{
    struct scorer_daemon *d = arg;

    if (!txparts_ready(d->tp, why, whylen)) {
        return false;
    }
    if (!atomic_load(&d->redis_up)) { /* the client is the consumer thread's: only its verdict */
        errbuf_printf(why, whylen, "Redis unreachable");
        return false;
    }
    return true;
}

/* ---- life cycle ---- */

static int sc_stage(struct scorer_daemon *d, char *err, size_t errlen)
{
    const struct scorer_daemon_opts *o = &d->o;
    const char *topics[] = {o->topic_enriched, o->topic_journeys, NULL};
    struct stage_opts so = o->stage;

    so.metric_prefix = "analytics_scorer";
    so.backend = "postgresql";
    so.topics = topics;
    so.producer_queue_max = (int)so.batch_max * 4 + 10000;
    so.metrics = o->metrics;
    so.ops = (struct stage_ops){.process = sc_process_cb,
                                .tick = sc_tick,
                                .ready = sc_ready,
                                .drop = sc_drop,
                                .revoked = sc_revoked};
    so.arg = d;
    d->rt = stage_new(&so, err, errlen);
    if (d->rt == NULL) {
        return -1;
    }
    d->producer = stage_producer(d->rt);
    d->topics[0] = stage_topic(d->rt, 0);
    d->topics[1] = stage_topic(d->rt, 1);
    struct txparts_opts to = {
        .stage = d->rt,
        .sink = d->sink,
        .topics = d->topics,
        .ntopics = 2,
        .connect_timeout_s = o->pg_connect_timeout_s,
        .metric_prefix = "analytics_scorer",
        .metrics = o->metrics,
        .forget = sc_forget_states,
        .arg = d,
    };
    d->tp = txparts_new(&to);
    if (d->tp == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct scorer_daemon *scorer_daemon_start(const struct scorer_daemon_opts *o, char *err,
                                          size_t errlen)
{
    struct scorer_daemon *d = calloc(1, sizeof(*d));
    size_t n = o->stage.batch_max + 1;

    if (d == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    d->o = *o;
    d->handover = scorer_daemon_handover_new();
    d->slots = calloc(n, sizeof(*d->slots));
    d->entries = calloc(n, sizeof(*d->entries));
    for (d->index_cap = 64; d->index_cap < 2 * n; d->index_cap *= 2) {
    }
    d->index = calloc(d->index_cap, sizeof(*d->index));
    d->updates = calloc(n, sizeof(*d->updates));
    d->cache = lru_new(o->visitor_cache);
    d->page_names = lru_new(SC_PAGE_NAMES);
    d->pages = pagestats_new();
    d->sink = pgsink_new(o->pg_dsn, "analytics-scorer", "scorer_offsets");
    d->store = d->sink != NULL ? sstore_new(d->sink) : NULL;
    if (d->slots == NULL || d->entries == NULL || d->index == NULL || d->updates == NULL ||
        d->cache == NULL || d->page_names == NULL || d->pages == NULL || d->store == NULL ||
        d->handover == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    d->redis = redis_client_new(o->redis_url, SC_REDIS_TIMEOUT_MS, err, errlen);
    if (d->redis == NULL) {
        goto out_free;
    }
    atomic_store(&d->redis_up, false); /* until the consumer thread's first ping */
    sc_register_metrics(d);
    (void)scorer_models_take(&d->models, o->models); /* before the consumer thread starts */
    if (sc_stage(d, err, errlen) != 0 || stage_start(d->rt, err, errlen) != 0) {
        (void)scorer_models_take(o->models, &d->models); /* the caller's again */
        goto out_free;
    }
    return d;

out_free:
    scorer_daemon_free(d);
    return NULL;
}

struct stage *scorer_daemon_stage(struct scorer_daemon *d)
{
    return d->rt;
}

void scorer_daemon_free(struct scorer_daemon *d)
{
    if (d == NULL) {
        return;
    }
    stage_free(d->rt);
    d->rt = NULL;
    if (d->slots != NULL && d->updates != NULL) { /* what sc_release walks */
        sc_release(d);
    }
    txparts_free(d->tp);
    sstore_free(d->store);
    pgsink_free(d->sink);
    redis_client_free(d->redis);
    lru_free(d->cache);
    lru_free(d->page_names);
    pagestats_free(d->pages);
    free(d->slots);
    free(d->entries);
    free(d->index);
    free(d->updates);
    scorer_models_fini(&d->models);
    scorer_daemon_handover_free(d->handover);
    free(d);
}
