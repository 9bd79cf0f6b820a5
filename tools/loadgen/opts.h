#ifndef LOADGEN_OPTS_H
#define LOADGEN_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "run.h"

/* Prints the usage text (options; the environment table is separate). */
void loadgen_opts_usage(FILE *out);

enum loadgen_opts_result {
    LOADGEN_OPTS_BAD = -1, /* reported on stderr */
    LOADGEN_OPTS_RUN = 0,
    LOADGEN_OPTS_HELP = 1,
    LOADGEN_OPTS_VERSION = 2,
};

/* Parses argv into o (defaults first). *seed_set and *start_set tell whether
 * --seed and --start-ms were given. Returns an enum loadgen_opts_result;
 * prints nothing but the reason for LOADGEN_OPTS_BAD. */
int loadgen_opts_parse(int argc, char **argv, struct loadgen_opts *o, bool *seed_set,
                       bool *start_set);

#endif
