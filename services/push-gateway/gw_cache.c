#include "gw_cache.h"

#include "analytics/lifecycle.h"
#include "analytics/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GW_CACHE_WAIT_MS 100 /* a waiter looks again at least this often */

struct gw_cache_entry {
    char key[GW_CACHE_KEY_MAX];
    char *text;        /* the latest answer, or NULL */
    long long made_ms; /* when (monotonic) */
    long long used_ms; /* last asked for: the oldest is reused first */
    bool busy;         /* a thread computes it now */
};

struct gw_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;
    struct gw_cache_entry e[GW_CACHE_SLOTS];
    struct metric *hits, *computed;
};

struct gw_cache *gw_cache_new(struct metrics *m)
{
    struct gw_cache *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;

    if (c == NULL) {
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    if (m != NULL) {
        c->hits = metrics_counter(m, "analytics_gateway_cache_total",
                                  "Cached answers (realtime, funnel): served or computed",
                                  "result=\"hit\"");
        c->computed = metrics_counter(m, "analytics_gateway_cache_total",
                                      "Cached answers (realtime, funnel): served or computed",
                                      "result=\"computed\"");
    }
    return c;
}

void gw_cache_free(struct gw_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (int i = 0; i < GW_CACHE_SLOTS; i++) {
        free(c->e[i].text);
    }
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The slot of key, or -1. Called locked. */
static int gw_cache_find(const struct gw_cache *c, const char *key)
{
    for (int i = 0; i < GW_CACHE_SLOTS; i++) {
        if (c->e[i].key[0] != '\0' && strcmp(c->e[i].key, key) == 0) {
            return i;
        }
    }
    return -1;
}

/* A slot for a new key: an empty one, else the least recently asked for
 * that nobody computes; -1 when all are busy. Called locked. */
static int gw_cache_victim(const struct gw_cache *c)
{
    int best = -1;

    for (int i = 0; i < GW_CACHE_SLOTS; i++) {
        if (c->e[i].key[0] == '\0') {
            return i;
        }
        if (!c->e[i].busy && (best < 0 || c->e[i].used_ms < c->e[best].used_ms)) {
            best = i;
        }
    }
    return best;
}

int gw_cache_get(struct gw_cache *c, const char *key, long long ttl_ms, char **text, int *slot)
{
    size_t klen = strlen(key);
    int i;

    *text = NULL;
    *slot = -1;
    if (klen == 0 || klen >= GW_CACHE_KEY_MAX) {
        metric_add(c->computed, 1);
        return 1;
    }
    pthread_mutex_lock(&c->mu);
    for (;;) {
        long long now = lifecycle_mono_ms();
        i = gw_cache_find(c, key);
        if (i >= 0 && c->e[i].busy) {
            struct timespec ts;
            lifecycle_deadline(CLOCK_MONOTONIC, GW_CACHE_WAIT_MS, &ts);
            (void)pthread_cond_timedwait(&c->done, &c->mu, &ts);
            continue;
        }
        if (i >= 0 && c->e[i].text != NULL && now - c->e[i].made_ms < ttl_ms) {
            c->e[i].used_ms = now;
            *text = strdup(c->e[i].text);
            pthread_mutex_unlock(&c->mu);
            if (*text == NULL) {
                metric_add(c->computed, 1);
                return 1;
            }
            metric_add(c->hits, 1);
            return 0;
        }
        break;
    }
    if (i < 0 && (i = gw_cache_victim(c)) >= 0) {
        free(c->e[i].text);
        c->e[i].text = NULL;
        memcpy(c->e[i].key, key, klen + 1);
    }
    if (i >= 0) {
        c->e[i].busy = true;
        c->e[i].used_ms = lifecycle_mono_ms();
    }
    pthread_mutex_unlock(&c->mu);
    *slot = i;
    metric_add(c->computed, 1);
    return 1;
}

void gw_cache_put(struct gw_cache *c, int slot, const char *text)
{
    char *copy = text != NULL ? strdup(text) : NULL;

    if (slot < 0 || slot >= GW_CACHE_SLOTS) {
        free(copy);
        return;
    }
    pthread_mutex_lock(&c->mu);
    if (copy != NULL) {
        free(c->e[slot].text);
        c->e[slot].text = copy;
        c->e[slot].made_ms = lifecycle_mono_ms();
    }
    c->e[slot].busy = false;
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
}
