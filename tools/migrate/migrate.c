/* analytics-migrate's modes: apply, status, check. */
#include "migrate.h"

#include "analytics/log.h"
#include "analytics/pg.h"
#include "migrate_db.h"

#include <string.h>

#define MIGRATE_ERR_MAX 2048

/* Applies the files plan says are pending, in order. Returns 0, or -1 with
 * the reason in err (that migration rolled back; earlier ones stay). */
static int migrate_apply_pending(PGconn *conn, const struct migration_list *files,
                                 const struct migration_list *applied, FILE *out, char *err,
                                 size_t errlen)
{
    for (size_t i = 0; i < files->n; i++) {
        const struct migration *m = &files->items[i];
        long long ms = 0;
        if (migration_file_state(m, applied) != MIGRATION_PENDING) {
            continue;
        }
        if (migrate_db_apply(conn, m, &ms, err, errlen) != 0) {
            return -1;
        }
        log_info("migrate.applied", LOG_INT("version", m->version), LOG_STR("file", m->file),
                 LOG_INT("ms", ms));
        fprintf(out, "applied %s in %lld ms\n", m->file, ms);
    }
    return 0;
}

/* The part of migrate_apply that runs under the lock. */
static int migrate_apply_locked(PGconn *conn, const struct migration_list *files, const char *dir,
                                FILE *out)
{
    struct migration_list applied = {0};
    struct migration_plan plan;
    char err[MIGRATE_ERR_MAX];
    int code = MIGRATE_EX_FAIL;

    if (migrate_db_create_table(conn, err, sizeof(err)) != 0 ||
        migrate_db_read(conn, &applied, err, sizeof(err)) < 0) {
        log_error("migrate.failed", LOG_STR("error", err));
        goto out;
    }
    migration_plan_make(files, &applied, dir, &plan);
    if (plan.verdict == MIGRATION_REFUSE) {
        log_error("migrate.refused", LOG_STR("error", plan.problem));
        code = MIGRATE_EX_DATAERR;
        goto out;
    }
    if (migrate_apply_pending(conn, files, &applied, out, err, sizeof(err)) != 0) {
        log_error("migrate.failed", LOG_STR("error", err));
        goto out;
    }
    int created =
        migrate_db_ensure_partitions(conn, MIGRATE_PARTITION_DAYS_AHEAD, err, sizeof(err));
    if (created < 0) {
        log_error("migrate.partitions_failed", LOG_STR("error", err));
        goto out;
    }
    log_info("migrate.done", LOG_INT("version", plan.code_version),
             LOG_INT("applied", plan.pending), LOG_INT("partitions_created", created));
    if (plan.pending > 0) {
        fprintf(out, "database schema is at %d: applied %zu migration(s)\n", plan.code_version,
                plan.pending);
    } else {
        fprintf(out, "database schema is at %d, up to date\n", plan.code_version);
    }
    code = MIGRATE_EX_OK;
out:
    migration_list_fini(&applied);
    return code;
}

int migrate_apply(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out)
{
    char err[MIGRATE_ERR_MAX];

    if (migrate_db_lock(conn, err, sizeof(err)) != 0) {
        log_error("migrate.failed", LOG_STR("error", err));
        return MIGRATE_EX_FAIL;
    }
    int code = migrate_apply_locked(conn, files, dir, out);
    if (PQstatus(conn) == CONNECTION_OK && migrate_db_unlock(conn, err, sizeof(err)) != 0) {
        log_warn("migrate.unlock_failed", LOG_STR("error", err));
    }
    return code;
}

/* One row of the status table. */
static void migrate_print_row(int version, const char *state, const char *applied_at,
                              const char *file, FILE *out)
{
    fprintf(out, "  %7d  %-8s %-21s %s\n", version, state, applied_at ? applied_at : "-", file);
}

void migrate_print_status(const struct migration_list *files, const struct migration_list *applied,
                          const struct migration_plan *plan, const char *dir, FILE *out)
{
    fprintf(out, "migrations in %s: up to %d; database schema at %d\n", dir, plan->code_version,
            plan->db_version);
    fprintf(out, "  %7s  %-8s %-21s %s\n", "version", "state", "applied_at", "file");
    for (size_t i = 0; i < files->n; i++) {
        const struct migration *f = &files->items[i];
        const struct migration *rec = migration_list_find(applied, f->version);
        migrate_print_row(f->version, migration_state_name(migration_file_state(f, applied)),
                          rec ? rec->applied_at : NULL, f->file, out);
    }
    for (size_t i = 0; i < applied->n; i++) {
        const struct migration *rec = &applied->items[i];
        if (migration_list_find(files, rec->version) == NULL) {
            migrate_print_row(rec->version, migration_state_name(MIGRATION_UNKNOWN),
                              rec->applied_at, rec->file, out);
        }
    }
    switch (plan->verdict) {
    case MIGRATION_UP_TO_DATE:
        fprintf(out, "up to date\n");
        break;
    case MIGRATION_WORK:
        fprintf(out, "%zu pending: run analytics-migrate\n", plan->pending);
        break;
    case MIGRATION_REFUSE:
        fprintf(out, "refused: %s\n", plan->problem);
        break;
    }
}

int migrate_status(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out)
{
    struct migration_list applied = {0};
    struct migration_plan plan;
    char err[MIGRATE_ERR_MAX];
    int code = MIGRATE_EX_FAIL;

    if (migrate_db_read(conn, &applied, err, sizeof(err)) < 0) {
        log_error("migrate.failed", LOG_STR("error", err));
    } else {
        migration_plan_make(files, &applied, dir, &plan);
        migrate_print_status(files, &applied, &plan, dir, out);
        code = MIGRATE_EX_OK;
    }
    migration_list_fini(&applied);
    return code;
}

int migrate_check(PGconn *conn, const struct migration_list *files, const char *dir, FILE *out)
{
    struct migration_list applied = {0};
    struct migration_plan plan;
    char msg[MIGRATE_ERR_MAX];
    int code = MIGRATE_EX_FAIL;

    enum pg_schema_status st = pg_schema_check(conn, migration_list_top(files), msg, sizeof(msg));
    if (st == PG_SCHEMA_ERROR) {
        log_error("migrate.failed", LOG_STR("error", msg));
        return MIGRATE_EX_FAIL;
    }
    if (st != PG_SCHEMA_OK) {
        fprintf(out, "%s\n", msg);
        return st == PG_SCHEMA_AHEAD ? MIGRATE_EX_DATAERR : MIGRATE_EX_PENDING;
    }
    if (migrate_db_read(conn, &applied, msg, sizeof(msg)) < 0) {
        log_error("migrate.failed", LOG_STR("error", msg));
        goto out;
    }
    migration_plan_make(files, &applied, dir, &plan);
    if (plan.verdict == MIGRATION_UP_TO_DATE) {
        fprintf(out, "database schema is at %d, up to date\n", plan.db_version);
        code = MIGRATE_EX_OK;
    } else if (plan.verdict == MIGRATION_WORK) {
        fprintf(out, "%zu migration(s) pending: run analytics-migrate\n", plan.pending);
        code = MIGRATE_EX_PENDING;
    } else {
        fprintf(out, "%s\n", plan.problem);
        code = MIGRATE_EX_DATAERR;
    }
out:
    migration_list_fini(&applied);
    return code;
}
