#include "rpool.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/redis.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct rpool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    struct redis_client **idle;
    int n_idle, n;
    struct redis_client **all;
    atomic_bool up;
};

struct rpool *rpool_new(const char *url, int n, int timeout_ms, char *err, size_t errlen)
{
    struct rpool *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->idle = calloc((size_t)n, sizeof(struct redis_client *))) == NULL ||
        (p->all = calloc((size_t)n, sizeof(struct redis_client *))) == NULL) {
        if (p != NULL) {
            free(p->idle);
        }
        free(p);
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    atomic_init(&p->up, true);
    for (int i = 0; i < n; i++) {
        p->all[i] = redis_client_new(url, timeout_ms, err, errlen);
        if (p->all[i] == NULL) {
            p->n = i;
            rpool_free(p);
            return NULL;
        }
        p->idle[p->n_idle++] = p->all[i];
    }
    p->n = n;
    return p;
}

void rpool_free(struct rpool *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < p->n; i++) {
        redis_client_free(p->all[i]);
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p->all);
    free(p->idle);
    free(p);
}

struct redis_client *rpool_take(struct rpool *p)
{
    struct redis_client *c;

    pthread_mutex_lock(&p->mu);
    while (p->n_idle == 0) {
        pthread_cond_wait(&p->freed, &p->mu);
    }
    c = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->mu);
    return c;
}

void rpool_give(struct rpool *p, struct redis_client *c, bool ok)
{
    if (ok != atomic_exchange(&p->up, ok)) {
        if (ok) {
            log_info("gateway.redis_available");
        } else {
            log_warn("gateway.redis_unavailable", LOG_STR("error", redis_client_last_error(c)));
        }
    }
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

bool rpool_up(const struct rpool *p)
{
    return atomic_load(&p->up);
}
