#ifndef ANALYTICS_ERRBUF_H
#define ANALYTICS_ERRBUF_H

#include <stddef.h>

/* Formats a reason into err, the caller's error buffer of errlen bytes, for
 * functions that report "NULL/-1 with the reason in err". Does nothing when
 * err is NULL or errlen is 0. */
__attribute__((format(printf, 3, 4))) void errbuf_printf(char *err, size_t errlen, const char *fmt,
                                                         ...);

#endif
