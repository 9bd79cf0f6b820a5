#ifndef MIGRATE_OPTS_H
#define MIGRATE_OPTS_H

/* analytics-migrate's command line and environment. */

#include "analytics/config.h"

#include <stdbool.h>
#include <stddef.h>

enum migrate_mode {
    MIGRATE_MODE_APPLY,  /* apply what is pending (the default) */
    MIGRATE_MODE_STATUS, /* --status: list applied and pending, change nothing */
    MIGRATE_MODE_CHECK,  /* --check: exit 0 only when up to date, change nothing */
};

struct migrate_opts {
    enum migrate_mode mode;
    const char *dir; /* --dir, borrowed from argv; NULL when not given */
    bool help;
    bool version;
};

/* Parses the arguments after argv[0]: --help/-h, --version, --status,
 * --check, --dir DIR or --dir=DIR. Returns 0, or -1 with the reason in err
 * (an unknown argument, --dir without a value, --status with --check). */
int migrate_opts_parse(int argc, char **argv, struct migrate_opts *o, char *err, size_t errlen);

struct migrate_config {
    int log_level;
    char *pg_dsn;
    char *migrations_dir;
    long long connect_timeout_s;
};

extern const struct config_var migrate_config_vars[];
extern const size_t migrate_config_nvars;

#endif
