#include "analytics/fileio.h"

#include "analytics/errbuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The first byte after the document that is not whitespace, or len. */
static size_t fileio_json_tail(const char *buf, size_t len, const char *end)
{
    size_t pos = (size_t)(end - buf);

    while (pos < len && strchr(" \t\r\n", buf[pos]) != NULL) {
        pos++;
    }
    return pos;
}

void *fileio_build_doc(struct cJSON *root, size_t size,
                       int (*build)(void *obj, const struct cJSON *root, const char *path,
                                    char *err, size_t errlen),
                       void (*drop)(void *obj), const char *path, char *err, size_t errlen)
{
    void *obj;

    if (root == NULL) {
        return NULL;
    }
    obj = calloc(1, size);
    if (obj == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
    } else if (build(obj, root, path, err, errlen) != 0) {
        drop(obj);
        obj = NULL;
    }
    cJSON_Delete(root);
    return obj;
}

struct cJSON *fileio_read_json(const char *path, size_t max_bytes, enum fileio_json_kind kind,
                               char *err, size_t errlen)
{
    const char *end = NULL;
    size_t len = 0, pos;
    char *buf = fileio_read(path, max_bytes, &len, err, errlen);
    cJSON *root;

    if (buf == NULL) {
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (root == NULL) {
        pos = end != NULL && end >= buf ? (size_t)(end - buf) : 0;
        errbuf_printf(err, errlen, "%s: malformed JSON at byte %zu", path, pos);
    } else if ((pos = fileio_json_tail(buf, len, end)) < len) {
        errbuf_printf(err, errlen, "%s: unexpected data after the JSON at byte %zu", path, pos);
    } else if (kind == FILEIO_JSON_OBJECT ? !cJSON_IsObject(root) : !cJSON_IsArray(root)) {
        errbuf_printf(err, errlen, "%s: not a JSON %s", path,
                      kind == FILEIO_JSON_OBJECT ? "object" : "array");
    } else {
        free(buf);
        return root;
    }
    cJSON_Delete(root);
    free(buf);
    return NULL;
}

int fileio_check_keys(const struct cJSON *obj, const char *const *keys, size_t n, const char *where,
                      char *err, size_t errlen)
{
    const cJSON *k;

    cJSON_ArrayForEach(k, obj)
    {
        size_t i = 0;
        while (i < n && strcmp(keys[i], k->string) != 0) {
            i++;
        }
        if (i == n) {
            errbuf_printf(err, errlen, "%s: unknown key \"%s\"", where, k->string);
            return -1;
        }
    }
    return 0;
}

int fileio_stamp(const char *path, struct fileio_stamp *out)
{
    struct stat st;

    memset(out, 0, sizeof(*out));
    if (stat(path, &st) == -1) {
        return -1;
    }
    *out = (struct fileio_stamp){
        .dev = (unsigned long long)st.st_dev,
        .ino = (unsigned long long)st.st_ino,
        .size = (long long)st.st_size,
        .mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
    };
    return 0;
}

bool fileio_stamp_same(const struct fileio_stamp *a, const struct fileio_stamp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Writes all len bytes of buf to fd. Returns 0 or -1 (errno set). */
static int fileio_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int fileio_write_atomic(const char *path, const void *buf, size_t len, bool newline, char *err,
                        size_t errlen)
{
    size_t tmplen = strlen(path) + sizeof(".tmp.XXXXXX");
    char *tmp = malloc(tmplen);
    int fd;

    if (tmp == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, tmplen, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd == -1) {
        errbuf_printf(err, errlen, "%s: cannot create a file beside it: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    if (fchmod(fd, 0644) == -1 || fileio_write_all(fd, buf, len) == -1 ||
        (newline && fileio_write_all(fd, "\n", 1) == -1) || fsync(fd) == -1) {
        errbuf_printf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    if (close(fd) == -1) {
        errbuf_printf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) == -1) {
        errbuf_printf(err, errlen, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;

fail:
    unlink(tmp);
    free(tmp);
    return -1;
}
