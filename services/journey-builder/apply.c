#include "apply.h"

#include "archive.h"

#include "analytics/v1/journey_update.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define MS_PER_S 1000

/* ---- the output lists ---- */

/* Makes room for one more element in *arr (n used of *cap). Returns 0 or -1. */
static int apply_reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) {
        return 0;
    }
    size_t ncap = *cap == 0 ? 64 : *cap * 2;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL) {
        return -1;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

void apply_out_init(struct apply_out *o)
{
    memset(o, 0, sizeof(*o));
    rollup_init(&o->rollup);
    o->gen = 1;
}

void apply_out_reset(struct apply_out *o)
{
    for (size_t i = 0; i < o->nspent; i++) {
        free(o->spent[i].event_id);
    }
    for (size_t i = 0; i < o->nmsgs; i++) {
        free(o->msgs[i].key);
        free(o->msgs[i].buf);
    }
    for (size_t i = 0; i < o->nsessions; i++) {
        o->sessions[i]->listed = false;
    }
    for (size_t i = 0; i < o->nvisitors; i++) {
        struct jstate_visitor *v = o->visitors[i];
        v->listed = false;
        for (size_t k = 0; k < v->nfunnels; k++) {
            v->funnels[k].dirty = false;
        }
    }
    o->nrows = o->nspent = o->nmsgs = o->nsessions = o->nvisitors = o->nreach = 0;
    o->gen = o->gen + 1 != 0 ? o->gen + 1 : 1;
    rollup_reset(&o->rollup);
    memset(&o->stats, 0, sizeof(o->stats));
}

void apply_out_fini(struct apply_out *o)
{
    apply_out_reset(o);
    unsigned gen = o->gen;
    free(o->rows);
    free(o->spent);
    free(o->msgs);
    free(o->reach);
    free(o->sessions);
    free(o->visitors);
    rollup_fini(&o->rollup);
    apply_out_init(o);
    o->gen = gen; /* states may outlive o's memory, not its generations */
}

static int apply_list_session(struct apply_out *o, struct jstate_session *s)
{
    if (s->listed) {
        return 0;
    }
    if (apply_reserve((void **)&o->sessions, &o->capsessions, o->nsessions, sizeof(*o->sessions)) !=
        0) {
        return -1;
    }
    o->sessions[o->nsessions++] = s;
    s->listed = true;
    return 0;
}

static int apply_list_visitor(struct apply_out *o, struct jstate_visitor *v)
{
    if (v->listed) {
        return 0;
    }
    if (apply_reserve((void **)&o->visitors, &o->capvisitors, o->nvisitors, sizeof(*o->visitors)) !=
        0) {
        return -1;
    }
    o->visitors[o->nvisitors++] = v;
    v->listed = true;
    return 0;
}

static int apply_add_spent(struct apply_out *o, const char *event_id, long long seconds)
{
    if (apply_reserve((void **)&o->spent, &o->capspent, o->nspent, sizeof(*o->spent)) != 0) {
        return -1;
    }
    char *id = strdup(event_id);
    if (id == NULL) {
        return -1;
    }
    o->spent[o->nspent++] = (struct apply_spent){id, seconds < 0 && seconds != -1 ? 0 : seconds};
    return 0;
}

/* Gives v's latest touchpoint seconds of time spent (-1: until its
 * session's end, which the database knows): into its row when the row is
 * in this batch, else as an update, one per touchpoint and batch (a session
 * closed and reopened in one batch measures it twice: the later wins). */
static int apply_tp_spent(struct apply_out *o, struct jstate_visitor *v, long long seconds)
{
    if (seconds >= 0 && v->tp_gen == o->gen && v->tp_row < o->nrows) {
        o->rows[v->tp_row].time_spent_s = seconds;
        return 0;
    }
    if (v->tp_spent_gen == o->gen && v->tp_spent < o->nspent &&
        strcmp(o->spent[v->tp_spent].event_id, v->tp_event_id) == 0) {
        o->spent[v->tp_spent].seconds = seconds;
        return 0;
    }
    if (apply_add_spent(o, v->tp_event_id, seconds) != 0) {
        return -1;
    }
    v->tp_spent = o->nspent - 1;
    v->tp_spent_gen = o->gen;
    return 0;
}

/* ---- journey updates ---- */

static void apply_summary(const struct jstate_session *s, Analytics__V1__SessionSummary *sum)
{
    sum->session_id = s->session_id;
    sum->start_ts_ms = s->s.start_ms;
    sum->end_ts_ms = s->s.end_ms;
    sum->page_views = s->s.page_views;
    sum->events = s->s.events;
    sum->entry_page = s->s.entry_page != NULL ? s->s.entry_page : "";
    sum->exit_page = s->s.exit_page != NULL ? s->s.exit_page : "";
    sum->channel = (Analytics__V1__Channel)s->s.channel;
    sum->device_type = (Analytics__V1__DeviceType)s->s.device_type;
    sum->bounced = jsession_bounced(&s->s);
    sum->converted = s->s.converted;
    sum->revenue = (double)s->s.revenue_micros / SITE_MICROS;
}

/* Packs u (keyed by its fingerprint) onto o's messages. Returns 0 or -1. */
static int apply_emit(struct apply_out *o, Analytics__V1__JourneyUpdate *u)
{
    struct apply_msg m;

    if (apply_reserve((void **)&o->msgs, &o->capmsgs, o->nmsgs, sizeof(*o->msgs)) != 0) {
        return -1;
    }
    u->schema_version = 1;
    m.len = analytics__v1__journey_update__get_packed_size(u);
    m.buf = malloc(m.len > 0 ? m.len : 1);
    m.key = strdup(u->fingerprint);
    if (m.buf == NULL || m.key == NULL) {
        free(m.buf);
        free(m.key);
        return -1;
    }
    analytics__v1__journey_update__pack(u, m.buf);
    o->msgs[o->nmsgs++] = m;
    return 0;
}

/* An update about v caused by event_id (may be NULL) at ts_ms. */
static void apply_update_init(Analytics__V1__JourneyUpdate *u, const struct jstate_visitor *v,
                              Analytics__V1__JourneyUpdateKind kind, const char *event_id,
                              long long ts_ms)
{
    analytics__v1__journey_update__init(u);
    u->kind = kind;
    u->fingerprint = v->fingerprint;
    u->cause_event_id = event_id != NULL ? (char *)event_id : "";
    u->ts_ms = ts_ms;
}

/* ---- events ---- */

static const char *apply_str(const char *s)
{
    return s != NULL ? s : "";
}

static const char *apply_page_url(const Analytics__V1__EnrichedEvent *ev)
{
    if (ev->page != NULL && ev->page->url_normalized != NULL && ev->page->url_normalized[0]) {
        return ev->page->url_normalized;
    }
    return apply_str(ev->page_url);
}

static int apply_channel(const Analytics__V1__EnrichedEvent *ev)
{
    return ev->campaign != NULL ? (int)ev->campaign->channel : 0;
}

static int apply_device(const Analytics__V1__EnrichedEvent *ev)
{
    return ev->ua != NULL ? (int)ev->ua->device_type : 0;
}

/* Copies what a session takes from its first (earliest) event, as its
 * channel and device. Returns 0 or -1. */
static int apply_session_origin(struct jstate_session *s, const Analytics__V1__EnrichedEvent *ev)
{
    const Analytics__V1__Campaign *cp = ev->campaign;
    int rc = jstate_set_str(&s->site_id, ev->site_id);

    rc |= jstate_set_str(&s->country, ev->geo != NULL ? ev->geo->country_code : NULL);
    rc |= jstate_set_str(&s->referrer_host, cp != NULL ? cp->referrer_host : NULL);
    rc |= jstate_set_str(&s->utm_source, cp != NULL ? cp->utm_source : NULL);
    rc |= jstate_set_str(&s->utm_medium, cp != NULL ? cp->utm_medium : NULL);
    rc |= jstate_set_str(&s->utm_campaign, cp != NULL ? cp->utm_campaign : NULL);
    return rc != 0 ? -1 : 0;
}

/* Adds ev to its session s: a page view when page_view (one of the site's
 * page-view types), a conversion with its value as jv says. */
static int apply_session_event(struct jstate_session *s, const Analytics__V1__EnrichedEvent *ev,
                               bool page_view, const struct journey_verdict *jv,
                               struct apply_out *o)
{
    struct jsession_event je = {
        .ts_ms = ev->event_ts_ms,
        .page_view = page_view,
        .page_url = apply_page_url(ev),
        .channel = apply_channel(ev),
        .device_type = apply_device(ev),
        .conversion = jv->conversion,
        .value_micros = jv->value_micros,
    };

    /* Earlier than every event so far (as jsession_add decides the channel). */
    if ((s->s.events == 0 || ev->event_ts_ms < s->s.start_ms) && apply_session_origin(s, ev) != 0) {
        return -1;
    }
    if (s->s.closed) {
        o->stats.reopened++; /* jsession_add reopens it */
    }
    if (ev->user_id != NULL && ev->user_id[0] != '\0' && jstate_set_str(&s->user_id, ev->user_id)) {
        return -1;
    }
    if (jsession_add(&s->s, &je) != 0 || jstate_set_str(&s->last_event_id, ev->event_id) != 0) {
        return -1;
    }
    return apply_list_session(o, s);
}

static int apply_touchpoint(const struct apply_ctx *c, struct jstate_visitor *v,
                            const Analytics__V1__EnrichedEvent *ev, int stage,
                            const char *touchpoint, struct apply_out *o)
{
    const char *session = ev->session != NULL ? apply_str(ev->session->session_id) : "";
    int prev = v->stage;

    if (apply_reserve((void **)&o->rows, &o->caprows, o->nrows, sizeof(*o->rows)) != 0) {
        return -1;
    }
    bool same = v->tp_event_id != NULL && v->tp_session_id != NULL &&
                strcmp(v->tp_session_id, session) == 0;
    /* A final time (its session closed) changes only when that session
     * goes on (reopened). */
    if (v->tp_event_id != NULL && (same || !v->tp_final)) {
        long long spent = same ? (ev->event_ts_ms - v->tp_ms) / MS_PER_S : -1;
        if (apply_tp_spent(o, v, same && spent < 0 ? 0 : spent) != 0) {
            return -1;
        }
    }
    if (jstate_visitor_set_tp(v, ev->event_id, session, ev->event_ts_ms) != 0) {
        return -1;
    }
    v->seq++;
    v->stage = stage;
    o->rows[o->nrows++] = (struct apply_journey_row){
        .event_id = ev->event_id,
        .fingerprint = ev->fingerprint,
        .user_id = ev->user_id,
        .session_id = session,
        .seq = v->seq,
        .stage = journey_stage_name(c->rules, stage),
        .previous_stage = prev >= 0 ? journey_stage_name(c->rules, prev) : NULL,
        .touchpoint = touchpoint,
        .channel = apply_channel(ev),
        .page_url = apply_page_url(ev),
        .ts_ms = ev->event_ts_ms,
        .time_spent_s = -1,
    };
    v->tp_row = o->nrows - 1;
    v->tp_gen = o->gen;
    o->stats.touchpoints++;
    if (prev == stage) {
        return 0;
    }
    Analytics__V1__JourneyUpdate u;
    apply_update_init(&u, v, ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_STAGE_CHANGED,
                      ev->event_id, ev->event_ts_ms);
    u.user_id = ev->user_id;
    u.session_id = (char *)session;
    u.stage = (char *)journey_stage_name(c->rules, stage);
    u.previous_stage = prev >= 0 ? (char *)journey_stage_name(c->rules, prev) : "";
    u.touchpoint = (char *)touchpoint;
    u.sequence = (uint32_t)v->seq;
    o->stats.stage_changes++;
    return apply_emit(o, &u);
}

/* ---- funnels ---- */

/* When fs's attempt falls due for abandonment by time; 0 when never. */
static long long apply_abandon_at(const struct funnel *f, const struct jstate_funnel *fs)
{
    const struct funnel_progress *p = &fs->p;

    if (f->abandon_from < 0 || f->abandon_after_ms <= 0 || p->started_ms == 0 || p->abandoned ||
        funnel_completed(f, p) || funnel_level(f, p) < f->abandon_from) {
        return 0;
    }
    return funnel_last_step_ms(f, p) + f->abandon_after_ms;
}

/* The rollup key of fs's attempt at funnel at row (funnel_level's). */
static struct rollup_key apply_key(int funnel, const struct jstate_funnel *fs, int row)
{
    return (struct rollup_key){funnel, fs->day, row, fs->channel, fs->device_type};
}

static struct rollup_delta *apply_delta(struct apply_out *o, int funnel,
                                        const struct jstate_funnel *fs, int row)
{
    struct rollup_key k = apply_key(funnel, fs, row);

    return rollup_at(&o->rollup, &k);
}

/* Records that v reached row of fs's attempt at funnel (inferred or not). */
static int apply_add_reach(struct apply_out *o, const struct jstate_visitor *v, int funnel,
                           const struct jstate_funnel *fs, int row, bool inferred)
{
    if (apply_reserve((void **)&o->reach, &o->capreach, o->nreach, sizeof(*o->reach)) != 0) {
        return -1;
    }
    o->reach[o->nreach++] =
        (struct apply_reach){apply_key(funnel, fs, row), v->fingerprint, inferred};
    return 0;
}

/* Counts fs's attempt at funnel fi abandoned, with an ABANDONED update. s:
 * the session of its latest step, or NULL. */
static int apply_abandon(const struct apply_ctx *c, struct jstate_visitor *v, int fi,
                         struct jstate_funnel *fs, const struct jstate_session *s,
                         const char *cause, long long ts_ms, struct apply_out *o)
{
    const struct funnel *f = &c->funnels->funnels[fi];
    struct rollup_delta *d = apply_delta(o, fi, fs, funnel_level(f, &fs->p));
    Analytics__V1__SessionSummary sum;
    Analytics__V1__JourneyUpdate u;

    if (d == NULL) {
        return -1;
    }
    d->abandoned++;
    fs->p.abandoned = true;
    fs->abandoned_ms = ts_ms;
    fs->abandon_at_ms = 0;
    fs->dirty = true;
    apply_update_init(&u, v, ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_ABANDONED,
                      cause, ts_ms);
    u.session_id = fs->session_id != NULL ? fs->session_id : "";
    u.funnel = f->name;
    u.funnel_step = (uint32_t)fs->p.furthest + 1;
    u.funnel_step_name = f->steps[fs->p.furthest].name;
    if (s != NULL) {
        analytics__v1__session_summary__init(&sum);
        apply_summary(s, &sum);
        u.session = &sum;
        u.user_id = s->user_id != NULL ? s->user_id : "";
    }
    o->stats.abandoned++;
    if (apply_emit(o, &u) != 0) {
        return -1;
    }
    return apply_list_visitor(o, v);
}

/* Counts one step hit of fs's attempt at funnel fi in the row of its level
 * (a session once per row), with a FUNNEL_STEP update naming the listed
 * step reached. v is listed in o by the caller. */
static int apply_hit(const struct apply_ctx *c, struct jstate_visitor *v, int fi,
                     struct jstate_funnel *fs, struct jstate_session *s, const struct funnel_hit *h,
                     const Analytics__V1__EnrichedEvent *ev, struct apply_out *o)
{
    const struct funnel *f = &c->funnels->funnels[fi];
    struct rollup_delta *d = apply_delta(o, fi, fs, h->level);
    Analytics__V1__JourneyUpdate u;

    if (d == NULL) {
        return -1;
    }
    d->attempts++;
    d->inferred += h->inferred ? 1 : 0;
    if (h->since_prev_ms >= 0) {
        rollup_add_since_prev(d, h->since_prev_ms);
    }
    if (s != NULL && (s->funnel_steps[fi] & (1u << h->level)) == 0) {
        s->funnel_steps[fi] |= 1u << h->level;
        d->sessions++;
    }
    if (apply_add_reach(o, v, fi, fs, h->level, h->inferred) != 0) {
        return -1;
    }
    apply_update_init(&u, v, ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_FUNNEL_STEP,
                      ev->event_id, ev->event_ts_ms);
    u.user_id = ev->user_id;
    u.session_id = s != NULL ? s->session_id : "";
    u.funnel = f->name;
    u.funnel_step = (uint32_t)h->step + 1;
    u.funnel_step_name = f->steps[h->step].name;
    u.funnel_step_inferred = h->inferred;
    o->stats.funnel_steps++;
    return apply_emit(o, &u);
}

/* Takes back the abandonment of fs's attempt at funnel fi (before: its
 * state before the event) when the event that moved it on belongs before
 * it: in the session the attempt was abandoned with (reopened), or older
 * than the abandonment. */
static int apply_unabandon(const struct funnel *f, struct jstate_funnel *fs, int fi,
                           const struct jstate_funnel *before, const struct jstate_session *s,
                           const Analytics__V1__EnrichedEvent *ev, struct apply_out *o)
{
    bool same =
        s != NULL && before->session_id != NULL && strcmp(before->session_id, s->session_id) == 0;

    if (!before->p.abandoned || (!same && ev->event_ts_ms >= before->abandoned_ms)) {
        return 0;
    }
    struct rollup_delta *d = apply_delta(o, fi, before, funnel_level(f, &before->p));
    if (d == NULL) {
        return -1;
    }
    d->abandoned--;
    fs->p.abandoned = false;
    fs->abandoned_ms = 0;
    o->stats.abandon_reverted++;
    return 0;
}

static int apply_funnel(const struct apply_ctx *c, struct jstate_visitor *v, int fi,
                        struct jstate_session *s, const Analytics__V1__EnrichedEvent *ev,
                        const struct match_event *me, struct apply_out *o)
{
    const struct funnel *f = &c->funnels->funnels[fi];
    struct jstate_funnel *fs = &v->funnels[fi];
    struct jstate_funnel before = *fs;
    struct funnel_hit hits[FUNNEL_STEPS_MAX];
    int n = funnel_advance(f, &fs->p, me, ev->event_ts_ms, hits);

    if (n == 0) {
        return 0;
    }
    if (hits[0].new_attempt) {
        /* An attempt replaced before it could be abandoned is counted now. */
        if (funnel_abandon_due(f, &before.p, ev->event_ts_ms, true)) {
            struct funnel_progress next = fs->p;
            fs->p = before.p;
            int rc = apply_abandon(c, v, fi, fs, NULL, ev->event_id, ev->event_ts_ms, o);
            fs->p = next;
            if (rc != 0) {
                return -1;
            }
        }
        fs->day = archive_day(ev->event_ts_ms);
        fs->channel = s != NULL && s->s.events > 0 ? s->s.channel : apply_channel(ev);
        fs->device_type = s != NULL && s->s.events > 0 ? s->s.device_type : apply_device(ev);
        fs->abandoned_ms = 0;
    } else if (apply_unabandon(f, fs, fi, &before, s, ev, o) != 0) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (apply_hit(c, v, fi, fs, s, &hits[i], ev, o) != 0) {
            return -1;
        }
    }
    if (jstate_set_str(&fs->session_id, s != NULL ? s->session_id : NULL) != 0) {
        return -1;
    }
    fs->abandon_at_ms = apply_abandon_at(f, fs);
    fs->dirty = true;
    if (s != NULL && apply_list_session(o, s) != 0) {
        return -1;
    }
    return apply_list_visitor(o, v);
}

int apply_event(const struct apply_ctx *c, struct jstate_visitor *v, struct jstate_session *s,
                const Analytics__V1__EnrichedEvent *ev, struct apply_out *o)
{
    struct match_event me = {
        .event_type = apply_str(ev->event_type),
        .page_type = ev->page != NULL ? apply_str(ev->page->page_type) : "",
        .channel = ev->campaign != NULL ? pb_channel_name(apply_channel(ev)) : "",
    };
    struct journey_verdict jv;

    /* The site's page-view types meet conditions on "page_view" (match.h). */
    me.page_view = journey_is_page_view(c->rules, me.event_type);
    journey_classify(c->rules, &me, ev->event_data_json, &jv);
    if (s != NULL && apply_session_event(s, ev, me.page_view, &jv, o) != 0) {
        return -1;
    }
    if (jv.stage >= 0 && apply_touchpoint(c, v, ev, jv.stage, jv.touchpoint, o) != 0) {
        return -1;
    }
    for (size_t i = 0; i < c->funnels->n && i < v->nfunnels; i++) {
        if (apply_funnel(c, v, (int)i, s, ev, &me, o) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- closing and abandonment ---- */

int apply_close_session(const struct apply_ctx *c, struct jstate_visitor *v,
                        struct jstate_session *s, struct apply_out *o)
{
    Analytics__V1__SessionSummary sum;
    Analytics__V1__JourneyUpdate u;

    if (s->s.closed) {
        return 0;
    }
    s->s.closed = true;
    if (apply_list_session(o, s) != 0) {
        return -1;
    }
    if (v->tp_event_id != NULL && v->tp_session_id != NULL &&
        strcmp(v->tp_session_id, s->session_id) == 0) {
        long long spent = (s->s.end_ms - v->tp_ms) / MS_PER_S;
        if (apply_tp_spent(o, v, spent < 0 ? 0 : spent) != 0) {
            return -1;
        }
        v->tp_final = true; /* kept: a late event in s moves it again */
    }
    analytics__v1__session_summary__init(&sum);
    apply_summary(s, &sum);
    apply_update_init(&u, v, ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_SESSION_CLOSED,
                      s->last_event_id, s->s.end_ms);
    u.user_id = s->user_id != NULL ? s->user_id : "";
    u.session_id = s->session_id;
    u.session = &sum;
    o->stats.sessions_closed++;
    if (apply_emit(o, &u) != 0) {
        return -1;
    }
    for (size_t i = 0; i < c->funnels->n && i < v->nfunnels; i++) {
        struct jstate_funnel *fs = &v->funnels[i];
        if (fs->session_id != NULL && strcmp(fs->session_id, s->session_id) == 0 &&
            funnel_abandon_due(&c->funnels->funnels[i], &fs->p, s->s.end_ms, true) &&
            apply_abandon(c, v, (int)i, fs, s, s->last_event_id, s->s.end_ms, o) != 0) {
            return -1;
        }
    }
    return 0;
}

int apply_abandon_due(const struct apply_ctx *c, struct jstate_visitor *v, struct jstate_session *s,
                      long long now_ms, struct apply_out *o)
{
    for (size_t i = 0; i < c->funnels->n && i < v->nfunnels; i++) {
        const struct funnel *f = &c->funnels->funnels[i];
        struct jstate_funnel *fs = &v->funnels[i];
        if (fs->abandon_at_ms == 0 || fs->abandon_at_ms > now_ms) {
            continue;
        }
        const struct jstate_session *fss =
            s != NULL && fs->session_id != NULL && strcmp(s->session_id, fs->session_id) == 0
                ? s
                : NULL;
        if (funnel_abandon_due(f, &fs->p, now_ms, false)) {
            if (apply_abandon(c, v, (int)i, fs, fss, NULL, fs->abandon_at_ms, o) != 0) {
                return -1;
            }
        } else {
            fs->abandon_at_ms = 0; /* completed or counted meanwhile */
            fs->dirty = true;
            if (apply_list_visitor(o, v) != 0) {
                return -1;
            }
        }
    }
    return 0;
}
