#include "analytics/cli.h"

#include <stdio.h>
#include <string.h>

int cli_handle(int argc, char **argv, const char *prog, const char *summary,
               const struct config_var *vars, size_t nvars)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: %s [--help] [--version]\n\n%s\n\n", prog, summary);
            config_usage(vars, nvars, stdout);
            return 1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", prog, ANALYTICS_VERSION);
            return 1;
        }
        fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", prog, argv[i]);
        return -1;
    }
    return 0;
}
