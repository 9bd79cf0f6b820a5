#ifndef MIGRATE_DB_H
#define MIGRATE_DB_H

/*
 * analytics-migrate's database steps, over one connection. Every step
 * returns 0 (or a count) on success and -1 with a one-line reason in err.
 */

#include "migration.h"

#include <libpq-fe.h>

/* The session-level advisory lock that serialises migrators: (classid,
 * objid) = (1634626676, 1), "anlt" in ASCII and 1. The partition functions
 * of 001_analytics_events.sql use (1634626676, 2). */
#define MIGRATE_LOCK_KEY "1634626676, 1"

/* Takes the migration lock, waiting while another analytics-migrate holds
 * it (logged once as "migrate.lock_wait"). Held until migrate_db_unlock or
 * the connection closes. */
int migrate_db_lock(PGconn *conn, char *err, size_t errlen);

/* Releases the migration lock. */
int migrate_db_unlock(PGconn *conn, char *err, size_t errlen);

/* Creates schema_migrations unless it exists. Call under the lock. */
int migrate_db_create_table(PGconn *conn, char *err, size_t errlen);

/* Reads the applied migrations into applied (empty on entry), sorted by
 * version. A missing schema_migrations table gives an empty list. Returns 1
 * when the table exists, 0 when it does not, -1 on error (applied may hold
 * entries: free it with migration_list_fini either way). */
int migrate_db_read(PGconn *conn, struct migration_list *applied, char *err, size_t errlen);

/* Runs m's SQL in a transaction of its own, records it in schema_migrations
 * (version, name, checksum, time taken) and commits; *ms gets the time
 * taken. On failure rolls back, so neither the changes nor the record stay,
 * and err names the file and the line of the error. A migration may not end
 * the transaction itself (COMMIT, ROLLBACK): that is reported as a failure
 * and the migration is not recorded. */
int migrate_db_apply(PGconn *conn, const struct migration *m, long long *ms, char *err,
                     size_t errlen);

/* When analytics_ensure_partitions exists (migration 1 made it), creates the
 * missing analytics_events partitions from yesterday to days_ahead days
 * after today (UTC). Returns how many it created (0 also when the function
 * does not exist), or -1. */
int migrate_db_ensure_partitions(PGconn *conn, int days_ahead, char *err, size_t errlen);

#endif
