#include "train_db.h"

#include "analytics/config.h"
#include "analytics/pg.h"

#include <stddef.h>
#include <stdio.h>

extern char **environ;

struct train_db_config {
    char *pg_dsn;
    long long connect_timeout_s;
};

#define F(field) offsetof(struct train_db_config, field)

static const struct config_var train_db_vars[] = {
    {"ANALYTICS_PG_DSN", CONFIG_STRING, PG_DSN_DEFAULT, 0, 0, NULL,
     "PostgreSQL (--from-db): postgresql://user[:password]@host[:port]/db or key=value pairs",
     F(pg_dsn), CONFIG_SECRET},
    {"ANALYTICS_PG_CONNECT_TIMEOUT_S", CONFIG_INT, "5", 1, PG_CONNECT_TIMEOUT_MAX_S, NULL,
     "seconds to wait for PostgreSQL to answer a connection (libpq waits at least 2)",
     F(connect_timeout_s), 0},
};

#define TRAIN_DB_NVARS (sizeof(train_db_vars) / sizeof(train_db_vars[0]))

/* Checks the schema of conn. Returns conn, or NULL (closed) with the
 * reason printed. */
static PGconn *train_db_check(PGconn *conn, const char *prog)
{
    char err[1024];

    switch (pg_schema_check(conn, ANALYTICS_SCHEMA_VERSION, err, sizeof(err))) {
    case PG_SCHEMA_OK:
        return conn;
    case PG_SCHEMA_AHEAD:
        fprintf(stderr, "%s: warning: %s\n", prog, err);
        return conn;
    default:
        fprintf(stderr, "%s: PostgreSQL: %s\n", prog, err);
        PQfinish(conn);
        return NULL;
    }
}

PGconn *train_db_open(const char *prog, int *rc)
{
    struct train_db_config cfg = {0};
    PGconn *conn = NULL;
    char err[1024];

    *rc = CONFIG_EX_CONFIG;
    if (config_load(train_db_vars, TRAIN_DB_NVARS, &cfg, environ, stderr) != 0) {
        goto out;
    }
    if (pg_dsn_check(cfg.pg_dsn, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_PG_DSN: %s\n", err);
        goto out;
    }
    *rc = 1;
    conn = pg_connect(cfg.pg_dsn, (int)cfg.connect_timeout_s, "analytics-train", err, sizeof(err));
    if (conn == NULL) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    conn = train_db_check(conn, prog);
out:
    config_free(train_db_vars, TRAIN_DB_NVARS, &cfg);
    return conn;
}

void train_db_usage(FILE *out)
{
    config_usage(train_db_vars, TRAIN_DB_NVARS, out);
}
