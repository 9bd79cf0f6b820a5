#include "pgpool.h"

#include "analytics/errbuf.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/pg.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PGPOOL_RETRY_MS 1000

struct pgpool {
    struct pgpool_opts o;
    pthread_mutex_t mu;
    pthread_cond_t freed;
    PGconn **idle; /* o.size slots; n_idle used */
    int n_idle, n_out;
    long long retry_at_mono; /* no connect before this after a failure */
    atomic_bool up;
};

struct pgpool *pgpool_new(const struct pgpool_opts *o)
{
    struct pgpool *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->idle = calloc((size_t)o->size, sizeof(PGconn *))) == NULL) {
        free(p);
        return NULL;
    }
    p->o = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    atomic_init(&p->up, true);
    return p;
}

void pgpool_free(struct pgpool *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < p->n_idle; i++) {
        PQfinish(p->idle[i]);
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p);
}

/* A new connection, read-only, with the statement timeout, without JIT:
 * the routes' queries are short, and over a month of partitions their
 * cost estimates pass jit_above_cost, so PostgreSQL compiled each one for
 * longer than it ran (realtime at 3M events: 300 ms of JIT in 410). */
static PGconn *pgpool_connect(struct pgpool *p, char *err, size_t errlen)
{
    char sql[128];
    PGconn *c = pg_connect(p->o.dsn, p->o.connect_timeout_s, "analytics-push-gateway", err, errlen);

    if (c == NULL) {
        return NULL;
    }
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %d; SET default_transaction_read_only = on; SET jit = off",
             p->o.statement_timeout_ms);
    if (pg_exec(c, sql, err, errlen) != 0) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Waits on freed until deadline (CLOCK_REALTIME ms). */
static void pgpool_wait(struct pgpool *p, long long deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};

    (void)pthread_cond_timedwait(&p->freed, &p->mu, &ts);
}

PGconn *pgpool_take(struct pgpool *p, char *err, size_t errlen)
{
    struct timespec now;
    PGconn *c = NULL;

    clock_gettime(CLOCK_REALTIME, &now);
    long long deadline = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + p->o.wait_ms;
    pthread_mutex_lock(&p->mu);
    while (p->n_idle == 0 && p->n_out >= p->o.size) {
        clock_gettime(CLOCK_REALTIME, &now);
        if ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= deadline) {
            pthread_mutex_unlock(&p->mu);
            errbuf_printf(err, errlen, "all %d PostgreSQL connections busy", p->o.size);
            return NULL;
        }
        pgpool_wait(p, deadline);
    }
    if (p->n_idle > 0) {
        c = p->idle[--p->n_idle];
        p->n_out++;
        pthread_mutex_unlock(&p->mu);
        return c;
    }
    if (lifecycle_mono_ms() < p->retry_at_mono) {
        pthread_mutex_unlock(&p->mu);
        errbuf_printf(err, errlen, "PostgreSQL unreachable");
        return NULL;
    }
    p->n_out++;
    pthread_mutex_unlock(&p->mu);
    c = pgpool_connect(p, err, errlen);
    if (c == NULL) {
        pthread_mutex_lock(&p->mu);
        p->n_out--;
        p->retry_at_mono = lifecycle_mono_ms() + PGPOOL_RETRY_MS;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->mu);
        if (atomic_exchange(&p->up, false)) {
            log_warn("gateway.pg_unavailable", LOG_STR("error", err));
        }
        return NULL;
    }
    if (!atomic_exchange(&p->up, true)) {
        log_info("gateway.pg_available");
    }
    return c;
}

void pgpool_give(struct pgpool *p, PGconn *conn, bool broken)
{
    if (conn == NULL) {
        return;
    }
    broken = broken || PQstatus(conn) != CONNECTION_OK;
    pthread_mutex_lock(&p->mu);
    p->n_out--;
    if (!broken) {
        p->idle[p->n_idle++] = conn;
        conn = NULL;
    } else {
        p->retry_at_mono = 0; /* the next taker tries at once: the server may be back */
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
    if (conn != NULL) {
        PQfinish(conn);
        if (atomic_exchange(&p->up, false)) {
            log_warn("gateway.pg_unavailable", LOG_STR("error", "the connection broke"));
        }
    }
}

bool pgpool_up(const struct pgpool *p)
{
    return atomic_load(&p->up);
}
