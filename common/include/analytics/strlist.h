#ifndef ANALYTICS_STRLIST_H
#define ANALYTICS_STRLIST_H

/*
 * Comma-separated lists as configuration gives them ("a, b,c"): items are
 * trimmed of white space and borrowed from the list text, never copied.
 * Pure: no I/O, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>

/* True when s is NULL or holds only white space. */
bool strlist_blank(const char *s);

/* Shrinks [*s, *s + *len) past leading and trailing white space. */
void strlist_trim(const char **s, size_t *len);

/* Steps through a comma-separated list. *pos starts at the list and becomes
 * NULL after the last item. Returns false when there is no item left;
 * otherwise sets the trimmed item (borrowed, not NUL-terminated, maybe
 * empty). */
bool strlist_next(const char **pos, const char **item, size_t *len);

/* Counts the items of the comma-separated list s (commas + 1). */
size_t strlist_count(const char *s);

#endif
