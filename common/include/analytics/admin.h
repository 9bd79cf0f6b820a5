#ifndef ANALYTICS_ADMIN_H
#define ANALYTICS_ADMIN_H

/*
 * The admin listener every daemon runs: GET /healthz (alive), GET /readyz
 * (200 only when the daemon's dependencies are reachable), GET /metrics
 * (Prometheus text).
 */

#include <stdbool.h>
#include <stddef.h>

struct metrics;
struct admin;

struct admin_opts {
    const char *listen;      /* host:port */
    struct metrics *metrics; /* borrowed; must outlive the admin listener */
    /* Returns true when ready; otherwise writes what is missing to why. */
    bool (*ready)(void *arg, char *why, size_t whylen);
    void *arg;
};

/* Starts the listener. Returns it (stop with admin_stop), or NULL with the
 * reason in err. */
struct admin *admin_start(const struct admin_opts *o, char *err, size_t errlen);

/* The bound port, or -1. */
int admin_port(const struct admin *a);

/* Stops and frees. Accepts NULL. */
void admin_stop(struct admin *a);

#endif
