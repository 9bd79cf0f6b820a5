#ifndef TRAIN_TRAIN_H
#define TRAIN_TRAIN_H

/*
 * analytics-train's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the exit code: 0, 1 (a failure
 * while running: a file unreadable, the database away), 64 (bad
 * arguments) or 65 (bad data).
 */

#define TRAIN_EX_USAGE 64
#define TRAIN_EX_DATAERR 65

/* lead: the gradient-boosted conversion model (lead_cmd.c). */
int train_lead_main(int argc, char **argv);

/* bgnbd: the BG/NBD churn model (bgnbd_cmd.c). */
int train_bgnbd_main(int argc, char **argv);

/* segments: the personas, k-means++ (segments_cmd.c). */
int train_segments_main(int argc, char **argv);

#endif
