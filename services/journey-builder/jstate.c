#include "jstate.h"

#include <stdlib.h>
#include <string.h>

int jstate_set_str(char **slot, const char *val)
{
    char *copy = NULL;

    if (val != NULL && val[0] != '\0' && (copy = strdup(val)) == NULL) {
        return -1;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

struct jstate_visitor *jstate_visitor_new(const char *fingerprint, int partition, size_t nfunnels)
{
    struct jstate_visitor *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        return NULL;
    }
    v->fingerprint = strdup(fingerprint);
    v->funnels = calloc(nfunnels > 0 ? nfunnels : 1, sizeof(*v->funnels));
    if (v->fingerprint == NULL || v->funnels == NULL) {
        jstate_visitor_free(v);
        return NULL;
    }
    v->partition = partition;
    v->stage = -1;
    v->nfunnels = nfunnels;
    for (size_t i = 0; i < nfunnels; i++) {
        funnel_progress_reset(&v->funnels[i].p);
    }
    return v;
}

void jstate_visitor_free(void *arg)
{
    struct jstate_visitor *v = arg;

    if (v == NULL) {
        return;
    }
    for (size_t i = 0; v->funnels != NULL && i < v->nfunnels; i++) {
        free(v->funnels[i].session_id);
    }
    free(v->funnels);
    free(v->fingerprint);
    free(v->tp_event_id);
    free(v->tp_session_id);
    free(v);
}

int jstate_visitor_set_tp(struct jstate_visitor *v, const char *event_id, const char *session_id,
                          long long ts_ms)
{
    if (jstate_set_str(&v->tp_event_id, event_id) != 0 ||
        jstate_set_str(&v->tp_session_id, event_id != NULL ? session_id : NULL) != 0) {
        return -1;
    }
    v->tp_ms = event_id != NULL ? ts_ms : 0;
    v->tp_final = false;
    return 0;
}

struct jstate_session *jstate_session_new(const char *session_id, const char *fingerprint,
                                          int partition, size_t nfunnels)
{
    struct jstate_session *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    jsession_init(&s->s);
    s->session_id = strdup(session_id);
    s->fingerprint = strdup(fingerprint);
    s->funnel_steps = calloc(nfunnels > 0 ? nfunnels : 1, sizeof(*s->funnel_steps));
    if (s->session_id == NULL || s->fingerprint == NULL || s->funnel_steps == NULL) {
        jstate_session_free(s);
        return NULL;
    }
    s->partition = partition;
    s->nfunnels = nfunnels;
    return s;
}

void jstate_session_free(void *arg)
{
    struct jstate_session *s = arg;

    if (s == NULL) {
        return;
    }
    jsession_fini(&s->s);
    free(s->session_id);
    free(s->fingerprint);
    free(s->user_id);
    free(s->site_id);
    free(s->referrer_host);
    free(s->utm_source);
    free(s->utm_medium);
    free(s->utm_campaign);
    free(s->country);
    free(s->funnel_steps);
    free(s->last_event_id);
    free(s);
}
