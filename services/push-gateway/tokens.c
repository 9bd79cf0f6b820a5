#include "tokens.h"

#include "analytics/errbuf.h"
#include "analytics/secret.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool tokens_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOKENS_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* Printable ASCII but the separators and space. */
static bool tokens_token_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == ',' || c == ':') {
            return false;
        }
    }
    return true;
}

static enum token_scope tokens_scope_of(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "read", 4) == 0) {
        return TOKEN_READ;
    }
    if (n == 5 && memcmp(s, "admin", 5) == 0) {
        return TOKEN_ADMIN;
    }
    return TOKEN_NONE;
}

/* Parses one entry s[0..n) into *e. Returns 0 or -1 with the reason. */
static int tokens_entry(const char *s, size_t n, size_t pos, struct token_entry *e, char *err,
                        size_t errlen)
{
    const char *c1 = memchr(s, ':', n);
    const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(s + n - c1 - 1)) : NULL;

    if (c2 == NULL) {
        errbuf_printf(err, errlen, "entry %zu is not name:scope:token", pos);
        return -1;
    }
    size_t nlen = (size_t)(c1 - s), slen = (size_t)(c2 - c1 - 1), tlen = (size_t)(s + n - c2 - 1);
    if (!tokens_name_ok(s, nlen)) {
        errbuf_printf(err, errlen,
                      "entry %zu: the name must be 1..%d letters, digits, '-', '_' or '.'", pos,
                      TOKENS_NAME_MAX);
        return -1;
    }
    memcpy(e->name, s, nlen);
    e->name[nlen] = '\0';
    e->scope = tokens_scope_of(c1 + 1, slen);
    if (e->scope == TOKEN_NONE) {
        errbuf_printf(err, errlen, "entry %zu (%s): the scope must be read or admin", pos, e->name);
        return -1;
    }
    if (tlen < TOKENS_TOKEN_MIN || tlen > TOKENS_TOKEN_MAX || !tokens_token_ok(c2 + 1, tlen)) {
        errbuf_printf(err, errlen,
                      "entry %zu (%s): the token must be %d..%d printable ASCII bytes without "
                      "spaces, ',' or ':'",
                      pos, e->name, TOKENS_TOKEN_MIN, TOKENS_TOKEN_MAX);
        return -1;
    }
    memcpy(e->token, c2 + 1, tlen);
    e->token[tlen] = '\0';
    e->token_len = tlen;
    return 0;
}

/* Refuses an entry whose name or token an earlier one has. */
static int tokens_unique(const struct tokens *t, const struct token_entry *e, size_t pos, char *err,
                         size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->e[i].name, e->name) == 0) {
            errbuf_printf(err, errlen, "entry %zu: the name %s is given twice", pos, e->name);
            return -1;
        }
        if (t->e[i].token_len == e->token_len && strcmp(t->e[i].token, e->token) == 0) {
            errbuf_printf(err, errlen, "entry %zu (%s): its token is %s's too", pos, e->name,
                          t->e[i].name);
            return -1;
        }
    }
    return 0;
}

int tokens_parse(const char *text, struct tokens *out, char *err, size_t errlen)
{
    const char *p = text != NULL ? text : "";

    memset(out, 0, sizeof(*out));
    for (size_t pos = 1;; pos++) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        struct token_entry e;

        if (n == 0 && end == NULL && pos == 1) {
            errbuf_printf(err, errlen, "no tokens: give name:scope:token entries");
            return -1;
        }
        if (out->n == TOKENS_MAX) {
            errbuf_printf(err, errlen, "more than %d entries", TOKENS_MAX);
            return -1;
        }
        if (tokens_entry(p, n, pos, &e, err, errlen) != 0 ||
            tokens_unique(out, &e, pos, err, errlen) != 0) {
            memset(&e, 0, sizeof(e));
            return -1;
        }
        out->e[out->n++] = e;
        memset(&e, 0, sizeof(e));
        if (end == NULL) {
            return 0;
        }
        p = end + 1;
    }
}

const struct token_entry *tokens_find(const struct tokens *t, const char *got)
{
    size_t got_len = got != NULL ? strnlen(got, TOKENS_TOKEN_MAX + 1) : 0;
    size_t hit = t->n; /* none */

    if (got == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        /* No early exit and no branch on the result: every entry costs the
         * same whether it matches. */
        size_t mask =
            (size_t)0 - (size_t)secret_equal(t->e[i].token, t->e[i].token_len, got, got_len);
        hit = (hit & ~mask) | (i & mask);
    }
    return hit < t->n ? &t->e[hit] : NULL;
}

bool tokens_allows(enum token_scope have, enum token_scope need)
{
    return have != TOKEN_NONE && have >= need;
}

const char *tokens_scope_name(enum token_scope s)
{
    return s == TOKEN_ADMIN ? "admin" : s == TOKEN_READ ? "read" : "none";
}

const char *tokens_bearer(const char *header)
{
    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 || header[6] != ' ') {
        return NULL;
    }
    header += 6;
    while (*header == ' ') {
        header++;
    }
    return *header != '\0' ? header : NULL;
}
