#include "rulefile.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/textcheck.h"
#include "analytics/utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* The 1-based line and column of byte pos of buf. */
static void rulefile_line_col(const char *buf, size_t pos, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The offset of the first "\u0000" escape inside a string of buf[0..len),
 * or len when there is none: cJSON would end the string there and keep the
 * rest out of sight. */
static size_t rulefile_find_nul_escape(const char *buf, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '"') {
            in_string = !in_string;
        } else if (in_string && buf[i] == '\\' && i + 1 < len) {
            if (buf[i + 1] == 'u' && len - i >= 6 && memcmp(buf + i + 2, "0000", 4) == 0) {
                return i;
            }
            i++; /* the escaped byte */
        }
    }
    return len;
}

/* The first byte at or after pos that is not JSON whitespace, or len. */
static size_t rulefile_skip_ws(const char *buf, size_t len, size_t pos)
{
    while (pos < len && strchr(" \t\r\n", buf[pos]) != NULL) {
        pos++;
    }
    return pos;
}

struct cJSON *rulefile_read(const char *path, size_t max_bytes, char *err, size_t errlen)
{
    const char *end = NULL;
    size_t len = 0, pos = 0, line, col;
    char *buf = fileio_read(path, max_bytes, &len, err, errlen);
    cJSON *root = NULL;

    if (buf == NULL) {
        return NULL;
    }
    if (textcheck_nesting(buf, len, RULEFILE_DEPTH_MAX, &pos) != 0) {
        rulefile_line_col(buf, pos, &line, &col);
        errbuf_printf(err, errlen, "%s: nested deeper than %d at byte %zu (line %zu, column %zu)",
                      path, RULEFILE_DEPTH_MAX, pos, line, col);
        goto out;
    }
    if ((pos = rulefile_find_nul_escape(buf, len)) < len) {
        rulefile_line_col(buf, pos, &line, &col);
        errbuf_printf(err, errlen, "%s: a \\u0000 in a string at byte %zu (line %zu, column %zu)",
                      path, pos, line, col);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (root == NULL) {
        pos = end != NULL && end >= buf ? (size_t)(end - buf) : 0;
        rulefile_line_col(buf, pos, &line, &col);
        errbuf_printf(err, errlen, "%s: malformed JSON at byte %zu (line %zu, column %zu)", path,
                      pos, line, col);
    } else if ((pos = rulefile_skip_ws(buf, len, (size_t)(end - buf))) < len) {
        rulefile_line_col(buf, pos, &line, &col);
        errbuf_printf(err, errlen,
                      "%s: unexpected data after the JSON at byte %zu (line %zu, column %zu)", path,
                      pos, line, col);
    } else if (!cJSON_IsObject(root)) {
        errbuf_printf(err, errlen, "%s: not a JSON object", path);
    } else {
        free(buf);
        return root;
    }
out:
    cJSON_Delete(root);
    free(buf);
    return NULL;
}

int rulefile_keys(const struct cJSON *obj, const char *const *keys, size_t n, const char *where,
                  char *err, size_t errlen)
{
    const cJSON *k, *o;

    if (fileio_check_keys(obj, keys, n, where, err, errlen) != 0) {
        return -1;
    }
    cJSON_ArrayForEach(k, obj)
    {
        for (o = k->next; o != NULL; o = o->next) {
            if (strcmp(k->string, o->string) == 0) {
                errbuf_printf(err, errlen, "%s: key \"%s\" given twice", where, k->string);
                return -1;
            }
        }
    }
    return 0;
}

/* True when s (NULL counts as none) is well-formed UTF-8. */
static bool rulefile_text_ok(const char *s)
{
    return s == NULL || utf8_valid(s, strlen(s));
}

bool rulefile_utf8(const struct cJSON *j)
{
    const cJSON *c;

    if (j->string != NULL && !rulefile_text_ok(j->string)) {
        return false;
    }
    if (cJSON_IsString(j)) {
        return rulefile_text_ok(j->valuestring);
    }
    cJSON_ArrayForEach(c, j)
    {
        if (!rulefile_utf8(c)) {
            return false;
        }
    }
    return true;
}

bool rulefile_name_ok(const char *s, size_t max)
{
    size_t n = 0;

    if (s == NULL) {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.')) {
            return false;
        }
    }
    return n >= 1 && n <= max;
}
