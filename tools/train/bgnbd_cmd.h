#ifndef TRAIN_BGNBD_CMD_H
#define TRAIN_BGNBD_CMD_H

/* analytics-train bgnbd's command line (the command is train_bgnbd_main in
 * train.h). */

#include "analytics/bgnbd.h"

#include <stdbool.h>
#include <stddef.h>

enum bgnbd_cmd_mode {
    BGNBD_CMD_FIT,     /* fit from --transactions */
    BGNBD_CMD_PREDICT, /* --predict: score --transactions with --model */
    BGNBD_CMD_FROM_DB, /* --from-db: fit from the sessions table */
};

struct bgnbd_cmd_opts {
    enum bgnbd_cmd_mode mode;
    const char *transactions; /* borrowed from argv; NULL when not given */
    const char *model;
    const char *out;
    bool help;
    bool has_cal_end, has_unit, has_basis, has_horizon;
    long long cal_end; /* days since 1970-01-01 */
    enum bgnbd_unit unit;
    enum bgnbd_basis basis;
    double horizon;
};

/*
 * Parses the arguments after argv[0] ("bgnbd"): options as "--name value"
 * or "--name=value". Checks what each mode needs and refuses what it does
 * not take: a fit needs --transactions, --calibration-end and --out;
 * --predict needs --model, --transactions and --horizon (> 0, in units);
 * --from-db needs --out and takes --basis sessions|bookings. --help alone is
 * enough. Returns 0, or -1 with the reason in err.
 */
int bgnbd_cmd_parse(int argc, char **argv, struct bgnbd_cmd_opts *o, char *err, size_t errlen);

#endif
