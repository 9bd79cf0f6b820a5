#ifndef TRAIN_TRAIN_DB_H
#define TRAIN_TRAIN_DB_H

/*
 * The database the --from-db modes read: ANALYTICS_PG_DSN and
 * ANALYTICS_PG_CONNECT_TIMEOUT_S from the environment, as the daemons take
 * them, and a schema no older than this build's.
 */

#include <libpq-fe.h>
#include <stdio.h>

/* Connects. Returns the connection (caller PQfinish-es it), or NULL with
 * the reason printed under prog and *rc the exit code: 78 for a bad
 * variable, 1 for a database away, refusing or not migrated. */
PGconn *train_db_open(const char *prog, int *rc);

/* Prints the variables train_db_open reads (for --help). */
void train_db_usage(FILE *out);

#endif
