#ifndef TRAIN_CSV_H
#define TRAIN_CSV_H

/*
 * A CSV file read whole: a header row naming the columns, then data rows of
 * as many comma-separated fields. LF or CRLF line endings, a final newline
 * or none; fields may be quoted ("a,b", with "" for a quote). Blank lines
 * are skipped. The whole file is held in memory (the data sets here are a
 * few MB).
 */

#include <stddef.h>

struct csv {
    char *buf;    /* the file, fields cut in place */
    char **cells; /* rows x cols pointers into buf; row 0 is the header */
    size_t rows;  /* data rows (the header not counted) */
    size_t cols;
    size_t *line_no; /* the file line of each row (0 the header), for messages */
};

/* Reads path (at most max_bytes). Returns 0, or -1 with the reason in err
 * ("<path>: line N: has 3 fields, the header 5"). Free with csv_free. */
int csv_read(struct csv *c, const char *path, size_t max_bytes, char *err, size_t errlen);

/* Releases what csv_read made. Accepts a zeroed struct. */
void csv_free(struct csv *c);

/* The index of the column named name, or -1. */
int csv_column(const struct csv *c, const char *name);

/* The field of data row r (0-based) in column col. */
const char *csv_cell(const struct csv *c, size_t r, size_t col);

/* The file line of data row r, for messages. */
size_t csv_line(const struct csv *c, size_t r);

#endif
