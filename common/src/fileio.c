#include "analytics/fileio.h"

#include "analytics/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads f to its end into a growing buffer, at most max_bytes. Returns the
 * buffer (NUL-terminated) or NULL with the reason in err. */
static char *fileio_slurp(FILE *f, const char *path, size_t max_bytes, size_t *len_out, char *err,
                          size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;

    for (;;) {
        if (len == cap) {
            size_t ncap = cap == 0 ? 16384 : cap * 2;
            if (cap > max_bytes) {
                errbuf_printf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
                goto out_free;
            }
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                errbuf_printf(err, errlen, "%s: out of memory", path);
                goto out_free;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        errbuf_printf(err, errlen, "%s: read error", path);
        goto out_free;
    }
    if (len > max_bytes) {
        errbuf_printf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
        goto out_free;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;

out_free:
    free(buf);
    return NULL;
}

char *fileio_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    FILE *f;
    char *buf;

    if (path == NULL || path[0] == '\0') {
        errbuf_printf(err, errlen, "no file name given");
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        errbuf_printf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
        errbuf_printf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    buf = fileio_slurp(f, path, max_bytes, len, err, errlen);
    fclose(f);
    return buf;
}
