/*
 * The scorer's models while it runs (see daemon_priv.h): those SIGHUP
 * loaded handed over to the consumer thread, and the churn model taken
 * again when its file is replaced.
 */
#include "daemon_priv.h"

#include "analytics/fileio.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <pthread.h>
#include <stdlib.h>

/* Takes the models in ms in place of those in use (the consumer thread's
 * own), and says so. */
static void sc_take_models(struct scorer_daemon *d, struct scorer_models *ms, const char *trigger)
{
    unsigned which = scorer_models_take(&d->models, ms);
    const struct score_models *m = &d->models.m;

    if (which == 0) {
        return;
    }
    metric_add(d->m.reloads, 1);
    log_info("scorer.models_reloaded", LOG_STR("trigger", trigger),
             LOG_BOOL("lead", (which & (1u << SCORER_MODEL_LEAD)) != 0),
             LOG_BOOL("churn", (which & (1u << SCORER_MODEL_CHURN)) != 0),
             LOG_BOOL("personas", (which & (1u << SCORER_MODEL_PERSONAS)) != 0),
             LOG_STR("lead_version", m->lead != NULL ? lead_model_version(m->lead) : ""),
             LOG_STR("churn_version", m->have_churn ? m->churn.model_version : ""),
             LOG_STR("persona_version", m->personas != NULL ? m->personas->version : ""));
}

void scorer_daemon_reload(struct scorer_daemon *d, struct scorer_models *ms, int failed)
{
    struct sc_handover *h = d->handover;

    metric_add(d->m.reload_failures, failed);
    pthread_mutex_lock(&h->mu);
    (void)scorer_models_take(&h->pending, ms);
    pthread_mutex_unlock(&h->mu);
}

struct sc_handover *scorer_daemon_handover_new(void)
{
    struct sc_handover *h = calloc(1, sizeof(*h));

    if (h != NULL && pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        h = NULL;
    }
    return h;
}

void scorer_daemon_handover_free(struct sc_handover *h)
{
    if (h == NULL) {
        return;
    }
    scorer_models_fini(&h->pending);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* Between batches: the models handed over, and the churn model again when
 * its file was replaced (analytics-train bgnbd --from-db refits it on a
 * schedule). A file that fails to load is logged once per version of it;
 * the model in use stays. */
void scorer_daemon_models(struct scorer_daemon *d, long long now)
{
    struct scorer_models ms = {0};
    struct fileio_stamp st;
    char why[512];

    pthread_mutex_lock(&d->handover->mu);
    (void)scorer_models_take(&ms, &d->handover->pending);
    pthread_mutex_unlock(&d->handover->mu);
    sc_take_models(d, &ms, "sighup");
    if (now < d->models_at_mono || d->o.churn_model_path == NULL) {
        return;
    }
    d->models_at_mono = now + SC_MODELS_CHECK_MS;
    if (fileio_stamp(d->o.churn_model_path, &st) != 0 ||
        fileio_stamp_same(&st, &d->models.churn_stamp) ||
        fileio_stamp_same(&st, &d->churn_failed)) {
        return; /* gone (being replaced, say), unchanged, or known bad */
    }
    if (scorer_models_load(&ms, SCORER_MODEL_CHURN, d->o.churn_model_path, why, sizeof(why)) != 0) {
        d->churn_failed = st;
        metric_add(d->m.reload_failures, 1);
        log_error("scorer.reload_failed", LOG_STR("variable", "ANALYTICS_SCORER_CHURN_MODEL"),
                  LOG_STR("path", d->o.churn_model_path), LOG_STR("error", why),
                  LOG_STR("keeping", "the model in use"));
        return;
    }
    sc_take_models(d, &ms, "file_changed");
}
