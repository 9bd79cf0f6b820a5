#include "duebatch.h"

#include "analytics/pgsink.h"
#include "apply.h"
#include "jcache.h"
#include "jsession.h"
#include "jstate.h"
#include "store.h"

#include <stdlib.h>

void duebatch_init(struct duebatch *b, const struct apply_ctx *ctx, struct jcache *visitors,
                   struct jcache *sessions, long long idle_ms)
{
    for (size_t i = 0; i < DUEBATCH_PARTS_MAX; i++) {
        due_init(&b->q[i]);
    }
    b->found = NULL;
    b->nfound = 0;
    b->ctx = ctx;
    b->visitors = visitors;
    b->sessions = sessions;
    b->idle_ms = idle_ms;
}

void duebatch_fini(struct duebatch *b)
{
    store_due_free(b->found, b->nfound);
    b->found = NULL;
    b->nfound = 0;
    for (size_t i = 0; i < DUEBATCH_PARTS_MAX; i++) {
        due_fini(&b->q[i]);
    }
}

static struct due_queue *duebatch_queue(struct duebatch *b, int partition)
{
    return partition >= 0 && partition < DUEBATCH_PARTS_MAX ? &b->q[partition] : NULL;
}

/* The earliest abandonment time among v's attempts; 0 when none is due. */
static long long duebatch_abandon_next(const struct jstate_visitor *v)
{
    long long next = 0;

    for (size_t i = 0; i < v->nfunnels; i++) {
        long long at = v->funnels[i].abandon_at_ms;
        next = at > 0 && (next == 0 || at < next) ? at : next;
    }
    return next;
}

int duebatch_session(struct duebatch *b, struct jstate_session *s)
{
    struct due_queue *q = duebatch_queue(b, s->partition);

    if (q == NULL || s->s.closed || s->s.events == 0) {
        return 0;
    }
    struct due_item it = {s->s.end_ms + b->idle_ms, DUE_CLOSE, s->session_id, s};
    return due_push(q, &it);
}

int duebatch_visitor(struct duebatch *b, struct jstate_visitor *v)
{
    struct due_queue *q = duebatch_queue(b, v->partition);
    long long at = duebatch_abandon_next(v);

    if (q == NULL || at == 0) {
        return 0;
    }
    struct due_item it = {at, DUE_ABANDON, v->fingerprint, v};
    return due_push(q, &it);
}

/* The session of the latest step of v's first attempt due by clock, when
 * in memory (the abandonment's summary); NULL otherwise. */
static struct jstate_session *duebatch_abandon_session(struct duebatch *b, struct jstate_visitor *v,
                                                       long long clock)
{
    for (size_t i = 0; i < v->nfunnels; i++) {
        const struct jstate_funnel *fs = &v->funnels[i];
        if (fs->abandon_at_ms > 0 && fs->abandon_at_ms <= clock && fs->session_id != NULL) {
            return jcache_get(b->sessions, fs->session_id);
        }
    }
    return NULL;
}

/* Applies one item taken out of a queue, when it is still due by clock. */
static int duebatch_apply(struct duebatch *b, const struct due_item *it, long long clock,
                          struct apply_out *out)
{
    if (it->kind == DUE_CLOSE) {
        struct jstate_session *s = it->state;
        struct jstate_visitor *v = jcache_get(b->visitors, s->fingerprint);
        if (v != NULL && jsession_idle(&s->s, clock, b->idle_ms)) {
            return apply_close_session(b->ctx, v, s, out);
        }
        return 0;
    }
    struct jstate_visitor *v = it->state;
    long long at = duebatch_abandon_next(v);
    if (at > 0 && at <= clock) {
        return apply_abandon_due(b->ctx, v, duebatch_abandon_session(b, v, clock), clock, out);
    }
    return 0;
}

int duebatch_drain(struct duebatch *b, int32_t part, long long clock, struct apply_out *out)
{
    struct due_queue *q = duebatch_queue(b, part);
    struct due_item it;

    while (q != NULL && due_pop(q, clock, &it)) {
        if (duebatch_apply(b, &it, clock, out) != 0) {
            return -1;
        }
    }
    return 0;
}

int duebatch_start(struct duebatch *b, const int32_t *parts, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        due_clear(&b->q[parts[k]]);
    }
    for (size_t i = 0; i < b->nfound; i++) {
        const struct store_due *u = &b->found[i];
        struct jstate_session *s =
            u->close && u->session_id != NULL ? jcache_get(b->sessions, u->session_id) : NULL;
        struct jstate_visitor *v = u->close ? NULL : jcache_get(b->visitors, u->fingerprint);
        if ((s != NULL && duebatch_session(b, s) != 0) ||
            (v != NULL && duebatch_visitor(b, v) != 0)) {
            return -1;
        }
    }
    return 0;
}

int duebatch_find(struct duebatch *b, struct store *st, const int32_t *parts, size_t n,
                  const int64_t *end)
{
    int64_t close_before[DUEBATCH_PARTS_MAX], now[DUEBATCH_PARTS_MAX];

    store_due_free(b->found, b->nfound);
    b->found = NULL;
    b->nfound = 0;
    for (size_t k = 0; k < n; k++) {
        /* 1 ms more: the database's times are rounded; duebatch_drain checks. */
        now[k] = end[parts[k]] + 1;
        close_before[k] = now[k] - b->idle_ms;
    }
    return store_find_due(st, parts, close_before, now, n, 0, &b->found, &b->nfound);
}

/* A fresh visitor state for fps in the cache, to be filled (into vs). */
static int duebatch_fresh_visitor(struct duebatch *b, const char *fp, int32_t part,
                                  struct jstate_visitor **vs, size_t *nv)
{
    if (jcache_get(b->visitors, fp) != NULL) {
        return 0;
    }
    struct jstate_visitor *v = jstate_visitor_new(fp, part, b->ctx->funnels->n);
    if (v == NULL || jcache_put(b->visitors, fp, v) != 0) {
        jstate_visitor_free(v);
        return -1;
    }
    vs[(*nv)++] = v;
    return 0;
}

/* A fresh session state for sid in the cache, to be filled (into ss). */
static int duebatch_fresh_session(struct duebatch *b, const char *sid, const char *fp, int32_t part,
                                  struct jstate_session **ss, size_t *ns)
{
    if (sid == NULL || jcache_get(b->sessions, sid) != NULL) {
        return 0;
    }
    struct jstate_session *s = jstate_session_new(sid, fp, part, b->ctx->funnels->n);
    if (s == NULL || jcache_put(b->sessions, sid, s) != 0) {
        jstate_session_free(s);
        return -1;
    }
    ss[(*ns)++] = s;
    return 0;
}

int duebatch_load(struct duebatch *b, struct store *st, const char *const *fps,
                  const char *const *sids, const int32_t *parts, size_t n)
{
    struct jstate_visitor **vs = calloc(n + 1, sizeof(struct jstate_visitor *));
    struct jstate_session **ss = calloc(n + 1, sizeof(struct jstate_session *));
    size_t nv = 0, ns = 0;
    int rc = PGSINK_REFUSED;

    pgsink_set_error(store_sink(st), "out of memory");
    if (vs == NULL || ss == NULL) {
        goto out;
    }
    /* The missing ones go in the cache fresh at once (so each is read
     * once), then are filled from the database in two queries. */
    for (size_t i = 0; i < n; i++) {
        if (duebatch_fresh_visitor(b, fps[i], parts[i], vs, &nv) != 0 ||
            duebatch_fresh_session(b, sids[i], fps[i], parts[i], ss, &ns) != 0) {
            goto out;
        }
    }
    rc = nv > 0 ? store_load_visitors(st, vs, nv) : PGSINK_OK;
    if (rc == PGSINK_OK && ns > 0) {
        rc = store_load_sessions(st, ss, ns);
    }
out:
    free(vs);
    free(ss);
    return rc;
}

int duebatch_load_batch(struct duebatch *b, struct store *st, const char *const *fps,
                        const char *const *sids, const int32_t *parts, size_t n)
{
    size_t total = n + b->nfound;
    const char **f = calloc(total + 1, sizeof(*f)), **s = calloc(total + 1, sizeof(*s));
    int32_t *p = calloc(total + 1, sizeof(*p));
    int rc = PGSINK_REFUSED;

    pgsink_set_error(store_sink(st), "out of memory");
    if (f != NULL && s != NULL && p != NULL) {
        for (size_t i = 0; i < total; i++) {
            const struct store_due *u = i >= n ? &b->found[i - n] : NULL;
            f[i] = u != NULL ? u->fingerprint : fps[i];
            s[i] = u != NULL ? u->session_id : sids[i];
            p[i] = u != NULL ? u->partition : parts[i];
        }
        rc = duebatch_load(b, st, f, s, p, total);
    }
    free(f);
    free(s);
    free(p);
    return rc;
}
