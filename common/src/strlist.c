/*
 * Comma-separated lists in configuration values (origins, keys, proxies).
 * Contracts in strlist.h.
 */
#include "analytics/strlist.h"

#include <ctype.h>
#include <string.h>

bool strlist_blank(const char *s)
{
    if (s == NULL) {
        return true;
    }
    for (; *s != '\0'; s++) {
        if (!isspace((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

/* Shrinks [*s, *s + *len) past leading and trailing white space. */
void strlist_trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

/* Steps through a comma-separated list. *pos starts at the list and becomes
 * NULL after the last item. Returns false when there is no item left;
 * otherwise sets the trimmed item (not NUL-terminated, maybe empty). */
bool strlist_next(const char **pos, const char **item, size_t *len)
{
    const char *p = *pos;
    const char *comma;

    if (p == NULL) {
        return false;
    }
    comma = strchr(p, ',');
    *item = p;
    *len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    *pos = comma != NULL ? comma + 1 : NULL;
    strlist_trim(item, len);
    return true;
}

/* Counts the items of a comma-separated list (commas + 1). */
size_t strlist_count(const char *s)
{
    size_t n = 1;

    for (; *s != '\0'; s++) {
        n += *s == ',';
    }
    return n;
}
