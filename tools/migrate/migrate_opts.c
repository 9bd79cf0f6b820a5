/* analytics-migrate's command line and environment. */
#include "migrate_opts.h"

#include "analytics/errbuf.h"
#include "analytics/pg.h"

#include <string.h>

#define F(field) offsetof(struct migrate_config, field)

/* The migrations default to this source tree's deploy/sql (the container
 * image sets ANALYTICS_MIGRATIONS_DIR to its installed copy). */
const struct config_var migrate_config_vars[] = {
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged", F(log_level), 0},
    {"ANALYTICS_PG_DSN", CONFIG_STRING, PG_DSN_DEFAULT, 0, 0, NULL,
     "PostgreSQL: postgresql://user[:password]@host[:port]/db or key=value pairs", F(pg_dsn),
     CONFIG_SECRET},
    {"ANALYTICS_PG_CONNECT_TIMEOUT_S", CONFIG_INT, "5", 1, PG_CONNECT_TIMEOUT_MAX_S, NULL,
     "seconds to wait for PostgreSQL to answer a connection (libpq waits at least 2)",
     F(connect_timeout_s), 0},
    {"ANALYTICS_MIGRATIONS_DIR", CONFIG_STRING, ANALYTICS_MIGRATIONS_DEFAULT_DIR, 0, 0, NULL,
     "directory of the NNN_name.sql migrations (--dir overrides it)", F(migrations_dir), 0},
};

const size_t migrate_config_nvars = sizeof(migrate_config_vars) / sizeof(migrate_config_vars[0]);

/* Sets the mode once. Returns 0, or -1 when another mode was chosen. */
static int migrate_opts_mode(struct migrate_opts *o, enum migrate_mode m, bool *chosen, char *err,
                             size_t errlen)
{
    if (*chosen && o->mode != m) {
        errbuf_printf(err, errlen, "--status and --check exclude each other");
        return -1;
    }
    o->mode = m;
    *chosen = true;
    return 0;
}

int migrate_opts_parse(int argc, char **argv, struct migrate_opts *o, char *err, size_t errlen)
{
    bool chosen = false;

    *o = (struct migrate_opts){.mode = MIGRATE_MODE_APPLY};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
        } else if (strcmp(a, "--version") == 0) {
            o->version = true;
        } else if (strcmp(a, "--status") == 0) {
            rc = migrate_opts_mode(o, MIGRATE_MODE_STATUS, &chosen, err, errlen);
        } else if (strcmp(a, "--check") == 0) {
            rc = migrate_opts_mode(o, MIGRATE_MODE_CHECK, &chosen, err, errlen);
        } else if (strncmp(a, "--dir=", 6) == 0 && a[6] != '\0') {
            o->dir = a + 6;
        } else if (strcmp(a, "--dir") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            o->dir = argv[++i];
        } else if (strcmp(a, "--dir") == 0 || strcmp(a, "--dir=") == 0) {
            errbuf_printf(err, errlen, "--dir needs a directory");
            rc = -1;
        } else {
            errbuf_printf(err, errlen, "unknown argument '%s'", a);
            rc = -1;
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}
