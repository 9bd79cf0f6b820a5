#include "lead_split.h"

#include "csv.h"

#include "analytics/errbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t *lead_split_lines(const char *raw, size_t len, size_t *nlines)
{
    size_t n = 0, cap = 1;
    size_t *start;

    for (size_t i = 0; i < len; i++) {
        cap += raw[i] == '\n';
    }
    start = calloc(cap + 1, sizeof(*start));
    if (start == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(raw + i, '\n', len - i);

        start[n++] = i;
        i = nl != NULL ? (size_t)(nl - raw) + 1 : len;
    }
    start[n] = len;
    *nlines = n;
    return start;
}

/* A line of nothing but its ending. */
static bool lead_split_blank(const char *s, size_t n)
{
    return (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n');
}

/* Checks that c's rows are the file's non-blank lines, one each. */
static int lead_split_check(const char *path, const char *raw, const size_t *start, size_t nlines,
                            const struct csv *c, char *err, size_t errlen)
{
    size_t nonblank = 0;

    if (nlines == 0) {
        errbuf_printf(err, errlen, "%s: no header line", path);
        return LEAD_SPLIT_ELINE;
    }
    for (size_t l = 0; l < nlines; l++) {
        nonblank += !lead_split_blank(raw + start[l], start[l + 1] - start[l]);
    }
    if (nonblank != c->rows + 1) {
        errbuf_printf(err, errlen,
                      "%s: %zu rows on %zu lines: a quoted field spans lines; --split copies "
                      "rows of one line",
                      path, c->rows, nonblank - 1);
        return LEAD_SPLIT_ELINE;
    }
    for (size_t r = 0; r < c->rows; r++) {
        if (csv_line(c, r) < 2 || csv_line(c, r) > nlines) {
            errbuf_printf(err, errlen, "%s: row %zu is not on a line of the file", path, r + 1);
            return LEAD_SPLIT_ELINE;
        }
    }
    return 0;
}

/* Writes line l (1-based) of raw to f, ending it like eol when it has no
 * ending of its own. */
static int lead_split_put(FILE *f, const char *raw, const size_t *start, size_t l, const char *eol)
{
    size_t n = start[l] - start[l - 1];
    const char *s = raw + start[l - 1];

    if (fwrite(s, 1, n, f) != n) {
        return -1;
    }
    if (n == 0 || s[n - 1] != '\n') {
        return fputs(eol, f) == EOF ? -1 : 0;
    }
    return 0;
}

/* One output: its path, its temporary file, which rows go to it. */
struct lead_split_out {
    const char *path;
    char *tmp;
    unsigned want;
};

/* Writes out's rows to a new temporary file beside out->path. */
static int lead_split_write(struct lead_split_out *out, const char *raw, const size_t *start,
                            const struct csv *c, const unsigned *test, char *err, size_t errlen)
{
    size_t plen = strlen(out->path), hlen = start[1] - start[0];
    const char *eol = hlen >= 2 && raw[hlen - 2] == '\r' ? "\r\n" : "\n";
    FILE *f;
    int fd, bad;

    out->tmp = malloc(plen + 8);
    if (out->tmp == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", out->path);
        return LEAD_SPLIT_EIO;
    }
    snprintf(out->tmp, plen + 8, "%s.XXXXXX", out->path);
    fd = mkstemp(out->tmp);
    if (fd == -1 || (f = fdopen(fd, "wb")) == NULL) {
        errbuf_printf(err, errlen, "%s: %s", out->tmp, strerror(errno));
        if (fd != -1) {
            close(fd);
            unlink(out->tmp);
        }
        free(out->tmp);
        out->tmp = NULL;
        return LEAD_SPLIT_EIO;
    }
    bad = fchmod(fd, 0644) == -1 || lead_split_put(f, raw, start, 1, eol) != 0;
    for (size_t r = 0; !bad && r < c->rows; r++) {
        if (test[r] == out->want) {
            bad = lead_split_put(f, raw, start, csv_line(c, r), eol) != 0;
        }
    }
    bad = bad || fflush(f) != 0 || fsync(fd) == -1;
    if (fclose(f) != 0 || bad) {
        errbuf_printf(err, errlen, "%s: %s", out->tmp, strerror(errno));
        return LEAD_SPLIT_EIO;
    }
    return 0;
}

int lead_split_files(const char *path, const char *raw, size_t len, const struct csv *c,
                     const unsigned *test, const char *train_out, const char *test_out, char *err,
                     size_t errlen)
{
    struct lead_split_out outs[2] = {{train_out, NULL, 0}, {test_out, NULL, 1}};
    size_t nlines = 0;
    size_t *start = lead_split_lines(raw, len, &nlines);
    int rc;

    if (start == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return LEAD_SPLIT_EIO;
    }
    rc = lead_split_check(path, raw, start, nlines, c, err, errlen);
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        rc = lead_split_write(&outs[i], raw, start, c, test, err, errlen);
    }
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        if (rename(outs[i].tmp, outs[i].path) == -1) {
            errbuf_printf(err, errlen, "%s: %s", outs[i].path, strerror(errno));
            rc = LEAD_SPLIT_EIO;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        if (outs[i].tmp != NULL && rc != 0) {
            unlink(outs[i].tmp);
        }
        free(outs[i].tmp);
    }
    free(start);
    return rc;
}
