#ifndef ENRICHER_CLASSIFY_H
#define ENRICHER_CLASSIFY_H

/*
 * Referrer, campaign and page (issue 4): URL parsing, the normalised page URL,
 * UTM fields and click ids, the acquisition channel, and the page type from a
 * rules file (deploy/config/pages.json).
 *
 * Everything here is pure (no I/O, no globals, no allocation) except the page
 * rules, which are loaded from a file and own compiled regexes.
 */

#include <stdbool.h>
#include <stddef.h>

struct page_rules;

/* Longest normalised URL and path kept; longer page URLs are an error. */
#define CLASSIFY_URL_MAX 2048
/* Longest host name (RFC 1035: 253) plus room for an IPv6 literal's brackets. */
#define CLASSIFY_HOST_MAX 256
/* Longest UTM value or click id kept; longer values are cut at a UTF-8
 * character boundary. */
#define CLASSIFY_FIELD_MAX 256
/* Longest page rules file read. */
#define PAGE_RULES_FILE_MAX (1024 * 1024)

/* Acquisition channel. The values equal the proto enum analytics.v1.Channel
 * (proto/analytics/v1/common.proto), so they can be assigned directly. */
enum classify_channel {
    CLASSIFY_CHANNEL_UNKNOWN = 0,
    CLASSIFY_CHANNEL_DIRECT = 1,
    CLASSIFY_CHANNEL_INTERNAL = 2,
    CLASSIFY_CHANNEL_ORGANIC_SEARCH = 3,
    CLASSIFY_CHANNEL_PAID_SEARCH = 4,
    CLASSIFY_CHANNEL_SOCIAL = 5,
    CLASSIFY_CHANNEL_EMAIL = 6,
    CLASSIFY_CHANNEL_REFERRAL = 7,
};

/* A piece of a parsed URL: borrowed from the parsed string, not terminated. */
struct classify_span {
    const char *p;
    size_t len;
};

/* The parts of "scheme://[userinfo@]host[:port][/path][?query][#fragment]".
 * Spans borrow from the string given to classify_url_parse and are valid while
 * it is; has_query/has_fragment tell "?" (empty query) from no "?" at all. */
struct classify_url {
    char scheme[16];               /* lower-cased */
    char host[CLASSIFY_HOST_MAX];  /* lower-cased, trailing dot removed; IPv6 in [] */
    int port;                      /* -1 when absent */
    struct classify_span path;     /* may be empty */
    struct classify_span query;    /* without the '?' */
    struct classify_span fragment; /* without the '#' */
    bool has_query;
    bool has_fragment;
};

/* Everything classify_event derives from a page view. Strings are always
 * NUL-terminated; "" means absent. */
struct classify_result {
    char url[CLASSIFY_URL_MAX];   /* normalised page URL */
    char host[CLASSIFY_HOST_MAX]; /* page host, lower-cased */
    char path[CLASSIFY_URL_MAX];  /* page path as sent ("/" when empty) */
    enum classify_channel channel;
    char referrer_host[CLASSIFY_HOST_MAX]; /* "" without a (valid) referrer */
    char utm_source[CLASSIFY_FIELD_MAX];   /* percent-decoded */
    char utm_medium[CLASSIFY_FIELD_MAX];
    char utm_campaign[CLASSIFY_FIELD_MAX];
    char utm_term[CLASSIFY_FIELD_MAX];
    char utm_content[CLASSIFY_FIELD_MAX];
    char gclid[CLASSIFY_FIELD_MAX];
    char fbclid[CLASSIFY_FIELD_MAX];
    char msclkid[CLASSIFY_FIELD_MAX];
};

/* Parses an absolute URL with an authority ("scheme://host..."). Any scheme
 * is accepted (referrers may be "android-app://..."); the host must be
 * non-empty and made of letters, digits, '-', '.' and '_' (or be a bracketed
 * IPv6 literal), the port 1-65535. Spaces and control characters anywhere
 * are rejected. Returns 0, or -1 when url is NULL or malformed (out is then
 * unspecified). */
int classify_url_parse(const char *url, struct classify_url *out);

/* Finds the first parameter called name (compared case-insensitively after
 * percent-decoding the name) in query (without '?', '&'-separated) and writes
 * its value, percent-decoded with '+' as space, to out (outlen bytes, cut at a
 * UTF-8 boundary). A value that does not decode to valid UTF-8, or decodes to
 * a control character, is kept as sent. Returns 1 when found (a parameter
 * without '=' has value ""), 0 when absent (out is then ""). */
int classify_query_get(struct classify_span query, const char *name, char *out, size_t outlen);

/* True when name (len bytes, as sent) is a tracking parameter that the
 * normalised URL drops: utm_*, click ids and mailing/analytics tags; the
 * table is in classify.c. */
bool classify_is_tracking_param(const char *name, size_t len);

/* Writes the normalised form of a parsed URL to out: scheme and host
 * lower-cased, the scheme's default port (80 for http, 443 for https)
 * dropped, no user info, path as sent or "/" when empty, tracking parameters
 * removed from the query (the rest kept in order, as sent), no fragment.
 * Returns 0, or -1 when it does not fit in outlen bytes (out is then ""). */
int classify_url_normalize(const struct classify_url *u, char *out, size_t outlen);

/* The channel of a visit from the parsed page URL's campaign fields (in r)
 * and the referrer host ("" for none), by these rules, first match wins:
 *   gclid/msclkid, or utm_medium cpc/ppc/paidsearch/paid-search/paid_search/
 *     paid                                                  -> PAID_SEARCH
 *   fbclid, or utm_medium paid_social/paidsocial/paid-social -> SOCIAL
 *   utm_medium email/e-mail/newsletter, or utm_source email  -> EMAIL
 *   utm_medium social/social-network/social-media/sm         -> SOCIAL
 *   utm_medium organic                                      -> ORGANIC_SEARCH
 *   no referrer and no utm_* field                          -> DIRECT
 *   no referrer, some utm_* field (e.g. only utm_source)   -> REFERRAL
 *   referrer host = page host, ignoring a leading "www."    -> INTERNAL
 *   referrer a known webmail host                           -> EMAIL
 *   referrer a known search engine                          -> ORGANIC_SEARCH
 *   referrer a known social network                         -> SOCIAL
 *   any other referrer                                      -> REFERRAL
 * (Webmail is tested before search so that mail.google.com is not Google
 * search.) The host tables are in classify.c. */
enum classify_channel classify_channel_of(const struct classify_result *r, const char *page_host,
                                          const char *referrer_host);

/* Name of a channel as in the proto enum without its prefix ("DIRECT", ...);
 * "UNKNOWN" for anything else. Static storage. */
const char *classify_channel_name(enum classify_channel c);

/* Classifies a page view: parses and normalises page_url (must be http or
 * https), extracts UTM fields and click ids, parses referrer_url (NULL or ""
 * for none; a malformed referrer is treated as none) and sets the channel.
 * Fills every field of out. Returns 0, or -1 when page_url is malformed, not
 * http(s) or too long (out is then zeroed). */
int classify_event(const char *page_url, const char *referrer_url, struct classify_result *out);

/* Loads page-type rules from a JSON file:
 *   {"version": 1,
 *    "rules": [{"type": "home", "path": "^/$", "host": "optional regex"}, ...],
 *    "default": "other"}
 * "path" (and "host" when present) are PCRE2 regexes matched without case
 * against the normalised path and the lower-cased host; "default" is optional
 * ("other"). Returns new rules (caller frees with page_rules_free), or NULL
 * with the reason in err: a missing or unreadable file, a file over
 * PAGE_RULES_FILE_MAX, bad JSON (with the byte offset), a wrong version, a
 * rule that is not an object or lacks a string type/path, or a regex that
 * does not compile (naming the rule index, the field and PCRE2's message). */
struct page_rules *page_rules_load(const char *path, char *err, size_t errlen);

/* Frees rules. Accepts NULL. */
void page_rules_free(struct page_rules *rules);

/* The type of the first rule whose path regex (and host regex, if any)
 * matches, or the default type. host may be NULL (rules with a host regex then
 * never match). Borrowed; valid until page_rules_free. Uses scratch match data
 * inside rules, so one page_rules must not be used by two threads at once. */
const char *page_rules_match(struct page_rules *rules, const char *host, const char *path);

/* Number of rules loaded. */
size_t page_rules_count(const struct page_rules *rules);

#endif
