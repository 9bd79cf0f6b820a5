#include "csv.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Cuts the field starting at *p in place (unquoting it) and moves *p past
 * its separator or line end. Returns the field. */
static char *csv_field(char **p, bool *bad_quote)
{
    char *s = *p, *out = s, *start = s;

    if (*s == '"') {
        s++;
        for (;;) {
            if (*s == '\0') {
                *bad_quote = true;
                break;
            }
            if (*s == '"' && s[1] == '"') {
                *out++ = '"';
                s += 2;
            } else if (*s == '"') {
                s++;
                break;
            } else {
                *out++ = *s++;
            }
        }
    } else {
        while (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0') {
            s++;
        }
        out = s;
    }
    if (*s == '\r' && s[1] == '\n') {
        s++;
    }
    if (*s != '\0') {
        s++;
    }
    *out = '\0';
    *p = s;
    return start;
}

/* Counts the fields of the line at p (without cutting). */
static size_t csv_count(const char *p)
{
    size_t n = 1;
    bool quoted = false;

    for (; *p != '\0' && (quoted || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (*p == ',' && !quoted) {
            n++;
        }
    }
    return n;
}

static bool csv_blank(const char *p)
{
    return *p == '\n' || (*p == '\r' && p[1] == '\n');
}

/* Moves p past one line ending. */
static char *csv_skip_eol(char *p)
{
    return p + (*p == '\r' ? 2 : 1);
}

/* Makes room for row (0 the header). */
static int csv_grow(struct csv *c, size_t row, size_t *cap)
{
    if (row < *cap) {
        return 0;
    }
    size_t ncap = *cap == 0 ? 1024 : *cap * 2;
    char **cells = realloc(c->cells, ncap * c->cols * sizeof(*cells));
    size_t *lines = realloc(c->line_no, ncap * sizeof(*lines));
    if (cells != NULL) {
        c->cells = cells;
    }
    if (lines != NULL) {
        c->line_no = lines;
    }
    if (cells == NULL || lines == NULL) {
        return -1;
    }
    *cap = ncap;
    return 0;
}

int csv_read(struct csv *c, const char *path, size_t max_bytes, char *err, size_t errlen)
{
    size_t len = 0, cap = 0, line = 1;
    char *p;

    memset(c, 0, sizeof(*c));
    c->buf = fileio_read(path, max_bytes, &len, err, errlen);
    if (c->buf == NULL) {
        return -1;
    }
    p = c->buf;
    if (*p == '\0' || csv_blank(p)) {
        errbuf_printf(err, errlen, "%s: no header row", path);
        goto fail;
    }
    c->cols = csv_count(p);
    for (size_t row = 0; *p != '\0'; line++) {
        if (csv_blank(p)) {
            p = csv_skip_eol(p);
            continue;
        }
        size_t n = csv_count(p);
        if (n != c->cols) {
            errbuf_printf(err, errlen, "%s: line %zu: has %zu fields, the header %zu", path, line,
                          n, c->cols);
            goto fail;
        }
        if (csv_grow(c, row, &cap) != 0) {
            errbuf_printf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        bool bad = false;
        for (size_t i = 0; i < c->cols; i++) {
            c->cells[row * c->cols + i] = csv_field(&p, &bad);
        }
        if (bad) {
            errbuf_printf(err, errlen, "%s: line %zu: a quote is not closed", path, line);
            goto fail;
        }
        c->line_no[row] = line;
        row++;
        c->rows = row - 1;
    }
    return 0;

fail:
    csv_free(c);
    return -1;
}

void csv_free(struct csv *c)
{
    free(c->buf);
    free(c->cells);
    free(c->line_no);
    memset(c, 0, sizeof(*c));
}

int csv_column(const struct csv *c, const char *name)
{
    for (size_t i = 0; i < c->cols; i++) {
        if (strcmp(c->cells[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *csv_cell(const struct csv *c, size_t r, size_t col)
{
    return c->cells[(r + 1) * c->cols + col];
}

size_t csv_line(const struct csv *c, size_t r)
{
    return c->line_no[r + 1];
}
