/* analytics-migrate: applies deploy/sql/NNN_name.sql in order. Wiring only. */
#include "analytics/config.h"
#include "analytics/log.h"
#include "analytics/pg.h"
#include "migrate.h"
#include "migrate_opts.h"
#include "migration_dir.h"

#include <stdio.h>

#define PROG "analytics-migrate"

extern char **environ;

static void migrate_usage(void)
{
    printf("Usage: " PROG " [--dir DIR] [--status | --check] [--help] [--version]\n\n"
           "Applies the migrations DIR/NNN_name.sql that the database lacks, in order, each in\n"
           "its own transaction, recorded in " PG_SCHEMA_TABLE " (version, name, sha256,\n"
           "applied_at). Replicas may start together: an advisory lock serialises them and the\n"
           "later ones find nothing to do. Then makes sure analytics_events has its daily\n"
           "partitions from yesterday to %d days ahead.\n\n"
           "  --dir DIR  the migrations (default: ANALYTICS_MIGRATIONS_DIR)\n"
           "  --status   list every migration as applied, pending, changed or unknown\n"
           "  --check    exit 0 when the database is up to date, else as below; changes nothing\n\n"
           "Exit: 0 done or up to date; 1 database unreachable or a migration failed (rolled\n"
           "back); 2 (--check) migrations pending; 64 bad arguments; 65 refused: the database\n"
           "is ahead of DIR, an applied file changed, or DIR's files are bad; 78 bad variable.\n"
           "This build's daemons need schema %d.\n\n",
           MIGRATE_PARTITION_DAYS_AHEAD, ANALYTICS_SCHEMA_VERSION);
    config_usage(migrate_config_vars, migrate_config_nvars, stdout);
}

/* Loads the files, connects and runs the mode. Returns the exit code. */
static int migrate_main(const struct migrate_opts *o, const struct migrate_config *cfg)
{
    struct migration_list files = {0};
    PGconn *conn = NULL;
    const char *dir = o->dir != NULL ? o->dir : cfg->migrations_dir;
    char err[2048];
    int code = MIGRATE_EX_DATAERR;

    if (migration_dir_load(dir, &files, err, sizeof(err)) != 0) {
        log_error("migrate.bad_files", LOG_STR("error", err));
        goto out;
    }
    if (migration_list_top(&files) != ANALYTICS_SCHEMA_VERSION) {
        log_warn("migrate.dir_mismatch", LOG_STR("dir", dir),
                 LOG_INT("dir_version", migration_list_top(&files)),
                 LOG_INT("build_version", ANALYTICS_SCHEMA_VERSION));
    }
    code = MIGRATE_EX_FAIL;
    conn = pg_connect(cfg->pg_dsn, (int)cfg->connect_timeout_s, PROG, err, sizeof(err));
    if (conn == NULL) {
        log_error("pg.connect_failed", LOG_STR("error", err));
        goto out;
    }
    switch (o->mode) {
    case MIGRATE_MODE_STATUS:
        code = migrate_status(conn, &files, dir, stdout);
        break;
    case MIGRATE_MODE_CHECK:
        code = migrate_check(conn, &files, dir, stdout);
        break;
    default:
        code = migrate_apply(conn, &files, dir, stdout);
    }
out:
    PQfinish(conn);
    migration_list_fini(&files);
    return code;
}

int main(int argc, char **argv)
{
    struct migrate_opts o;
    struct migrate_config cfg = {0};
    char err[512];
    int code = CONFIG_EX_CONFIG;

    if (migrate_opts_parse(argc, argv, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s (try --help)\n", err);
        return 64;
    }
    if (o.help || o.version) {
        if (o.help) {
            migrate_usage();
        } else {
            printf(PROG " %s (schema %d)\n", ANALYTICS_VERSION, ANALYTICS_SCHEMA_VERSION);
        }
        return 0;
    }
    if (config_load(migrate_config_vars, migrate_config_nvars, &cfg, environ, stderr) == 0) {
        log_init(PROG, (enum log_level)cfg.log_level);
        if (pg_dsn_check(cfg.pg_dsn, err, sizeof(err)) != 0) {
            fprintf(stderr, "config: ANALYTICS_PG_DSN: %s\n", err);
        } else {
            code = migrate_main(&o, &cfg);
        }
    }
    config_free(migrate_config_vars, migrate_config_nvars, &cfg);
    fflush(stdout);
    return code;
}
