#ifndef TRAIN_LEAD_SPLIT_H
#define TRAIN_LEAD_SPLIT_H

/*
 * analytics-train lead --split: the data file's own lines, divided as
 * training divides its rows, so the hold-out file is evaluated on exactly
 * the rows training held out.
 */

#include <stddef.h>

struct csv;

/* lead_split_files' failures. */
#define LEAD_SPLIT_EIO (-1)   /* a file could not be written */
#define LEAD_SPLIT_ELINE (-2) /* the CSV's rows are not one line each */

/* The start of each line of the len bytes at raw (a line ends after '\n',
 * or at the end), and their count in *nlines: a new array of *nlines + 1
 * offsets, the last len (caller frees). NULL when memory runs out. */
size_t *lead_split_lines(const char *raw, size_t len, size_t *nlines);

/*
 * Writes the header line of raw (the bytes of the file c was read from,
 * named path in messages) then the line of each data row r with test[r]
 * == 0 to train_out, and with test[r] == 1 to test_out, in file order,
 * each line as it is (a last line without an ending gets the header's).
 * Both go to temporary files beside them, renamed in place only when both
 * are whole. Returns 0, or LEAD_SPLIT_EIO / LEAD_SPLIT_ELINE with the
 * reason in err (a quoted field spanning lines makes the rows not one
 * line each).
 */
int lead_split_files(const char *path, const char *raw, size_t len, const struct csv *c,
                     const unsigned *test, const char *train_out, const char *test_out, char *err,
                     size_t errlen);

#endif
