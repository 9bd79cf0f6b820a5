#ifndef ANALYTICS_HTTPCACHE_H
#define ANALYTICS_HTTPCACHE_H

/*
 * The conditional and content-coding request headers of a static file
 * server (the collector's tracker files, the push-gateway's dashboard):
 * pure, on the header's text as received (NULL when absent).
 */

#include <stdbool.h>

/* Content codings a client takes, as a mask. */
enum http_coding {
    HTTP_CODING_GZIP = 1,
    HTTP_CODING_BR = 2,
};

/* The codings of an Accept-Encoding header that the client takes (RFC 9110
 * 12.5.3): each named one with a q above 0 (case-insensitive; "q=0", with
 * any zeros after the point, refuses it), and "*" with a q above 0 for
 * those not named. NULL or "": none. */
int http_accept_codings(const char *accept_encoding);

/* Whether an If-None-Match header matches etag (a quoted entity tag, W/
 * allowed): "*", or one of its comma-separated quoted tags, compared
 * weakly (RFC 9110 13.1.2: W/ ignored on both). A header that is not such
 * a list (a tag unquoted or unterminated, two without a comma) matches
 * nothing. */
bool http_etag_match(const char *if_none_match, const char *etag);

#endif
