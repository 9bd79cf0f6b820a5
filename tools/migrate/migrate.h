#ifndef MIGRATE_MIGRATE_H
#define MIGRATE_MIGRATE_H

/*
 * analytics-migrate's three modes over one connection. Each returns the
 * process's exit code:
 *   MIGRATE_EX_OK       0  done, or up to date
 *   MIGRATE_EX_FAIL     1  the database failed (connection, a migration's SQL)
 *   MIGRATE_EX_PENDING  2  --check: migrations are pending (the database is behind)
 *   MIGRATE_EX_DATAERR 65  refused: the database is ahead of the files, an
 *                          applied file changed, a file would run out of
 *                          order, or the files themselves are bad
 * Results go to out as text; progress and errors to the log (stderr).
 */

#include "migration.h"

#include <stdio.h>

#include <libpq-fe.h>

#define MIGRATE_EX_OK 0
#define MIGRATE_EX_FAIL 1
#define MIGRATE_EX_PENDING 2
#define MIGRATE_EX_DATAERR 65 /* sysexits.h EX_DATAERR */

/* Partitions of analytics_events kept ready after every run: yesterday to
 * this many days after today (UTC). */
#define MIGRATE_PARTITION_DAYS_AHEAD 7

/* Applies the pending files in order under the migration lock, then makes
 * sure the analytics_events partitions exist. files are sorted and
 * validated, from dir (named in messages). */
int migrate_apply(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out);

/* Prints every migration's state and a verdict. Changes nothing. Exit 0
 * unless the database could not be read. */
int migrate_status(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out);

/* pg_schema_check against the files' highest version (as a daemon checks
 * against its build's), then the checksums. Prints one line. Changes
 * nothing. */
int migrate_check(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out);

/* Prints the table of --status for files and applied with plan's verdict.
 * Pure apart from writing to out. */
void migrate_print_status(const struct migration_list *files, const struct migration_list *applied,
                          const struct migration_plan *plan, const char *dir, FILE *out);

#endif
