#ifndef PUSH_GATEWAY_TOKENS_H
#define PUSH_GATEWAY_TOKENS_H

/*
 * The API tokens of ANALYTICS_API_TOKENS: comma-separated
 * "name:scope:token" entries, scope "read" or "admin" (admin may also make
 * privacy requests). A presented token is compared with every configured
 * one in constant time (secret.h), so neither its match nor its position
 * shows in the time taken. Pure logic; the set is read-only once parsed,
 * so threads share it.
 */

#include <stdbool.h>
#include <stddef.h>

#define TOKENS_MAX 64       /* entries */
#define TOKENS_NAME_MAX 64  /* a name's bytes: letters, digits, '-', '_', '.' */
#define TOKENS_TOKEN_MIN 16 /* a token's bytes, at least (a guessable one is refused) */
#define TOKENS_TOKEN_MAX 256

enum token_scope { TOKEN_NONE = 0, TOKEN_READ = 1, TOKEN_ADMIN = 2 };

struct token_entry {
    char name[TOKENS_NAME_MAX + 1];
    enum token_scope scope;
    char token[TOKENS_TOKEN_MAX + 1];
    size_t token_len;
};

struct tokens {
    struct token_entry e[TOKENS_MAX];
    size_t n;
};

/* Parses text (the variable's value) into *out. Returns 0, or -1 with the
 * reason in err naming the entry by position and name, never its token:
 * an empty list, an entry without three parts, a bad name or scope, a
 * token too short, too long or with bytes other than printable ASCII
 * without ',' and ':', a name or a token given twice, too many entries. */
int tokens_parse(const char *text, struct tokens *out, char *err, size_t errlen);

/* The entry whose token equals got (NUL-terminated), or NULL. Every entry
 * is compared in full whatever matches. */
const struct token_entry *tokens_find(const struct tokens *t, const char *got);

/* Whether scope have allows what needs (admin allows read). */
bool tokens_allows(enum token_scope have, enum token_scope need);

/* "read", "admin" or "none". */
const char *tokens_scope_name(enum token_scope s);

/* The token of an Authorization header value "Bearer <token>" (the scheme
 * case-insensitive, one or more spaces), or NULL when it is not one. The
 * result points into header. */
const char *tokens_bearer(const char *header);

#endif
