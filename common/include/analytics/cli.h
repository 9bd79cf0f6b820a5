#ifndef ANALYTICS_CLI_H
#define ANALYTICS_CLI_H

#include "analytics/config.h"

#define CLI_EX_USAGE 64 /* sysexits.h EX_USAGE */

/* Handles --help and --version for a daemon whose only other input is the
 * environment. Returns 1 when it printed help or version (exit 0), 0 when the
 * daemon should run, -1 on an unknown argument (message printed; exit 64). */
int cli_handle(int argc, char **argv, const char *prog, const char *summary,
               const struct config_var *vars, size_t nvars);

#endif
