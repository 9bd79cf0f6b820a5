#ifndef ENRICHER_UA_H
#define ENRICHER_UA_H

/*
 * User-agent parsing with the uap-core database (regexes.yaml, read with
 * libyaml, regexes compiled with PCRE2, JIT when available), behind an LRU
 * cache keyed by the UA string.
 *
 *   char err[256];
 *   struct ua_parser *p = ua_parser_new("/usr/share/uap-core/regexes.yaml", 4096,
 *                                       err, sizeof(err));
 *   struct ua_result r;
 *   if (p != NULL && ua_parse(p, agent, &r) == 0) { ... r.browser_family ... }
 *   ua_parser_free(p);
 *
 * Results follow the uap-core specification: the first parser (in file order)
 * whose regex matches anywhere in the string wins. A replacement string
 * (family_replacement, v1_replacement, os_replacement, device_replacement,
 * brand_replacement, model_replacement, ...) has $1..$9 replaced by the
 * capture groups (an unset group is empty), then is trimmed of whitespace.
 * Without a replacement, the browser family is group 1, major 2, minor 3,
 * patch 4; the OS family is group 1, major 2, minor 3, patch 4, patch_minor 5;
 * the device family and model are group 1 and the brand is empty. An empty
 * family is "Other"; other empty fields are "" (uap's null). Fields longer
 * than their array are truncated (at a UTF-8 character boundary).
 *
 * Device type, derived after parsing (first rule that applies):
 *   1. bot:     device family "Spider" (uap-core's crawler rules).
 *   2. tablet:  device family or model names a tablet ("iPad", "Tablet",
 *               "Kindle", "TouchPad", "Playbook", "Surface", "Galaxy Tab"),
 *               or OS "Android" and the UA does not contain "Mobile".
 *   3. mobile:  device family "iPhone", "iPod", "Generic Smartphone" or
 *               "Generic Feature Phone"; or a mobile OS (iOS, Android,
 *               Windows Phone, BlackBerry OS, Symbian OS, KaiOS, Firefox OS,
 *               Sailfish, webOS, Tizen, Bada, Ubuntu Touch); or the UA contains
 *               "Mobi" (MDN's advice for everything else).
 *   4. desktop: everything else (Windows, Mac, Linux, Chrome OS, unknown;
 *               iPadOS 13+ Safari, which sends a Mac UA, is desktop too).
 *
 * Thread safety: one parser may be shared by several threads (the regexes are
 * read-only after ua_parser_new; the cache has a mutex).
 */

#include <stddef.h>
#include <stdint.h>

struct ua_parser;

enum ua_device_type {
    UA_DEVICE_DESKTOP = 0,
    UA_DEVICE_MOBILE,
    UA_DEVICE_TABLET,
    UA_DEVICE_BOT,
};

#define UA_FAMILY_MAX 128 /* bytes, NUL included, of family/brand/model */
#define UA_VERSION_MAX 32 /* bytes, NUL included, of a version part */

/* UAs longer than this are parsed (and cached) by their first UA_INPUT_MAX
 * bytes, which bounds regex time per event. */
#define UA_INPUT_MAX 2048

struct ua_result {
    char browser_family[UA_FAMILY_MAX];
    char browser_major[UA_VERSION_MAX];
    char browser_minor[UA_VERSION_MAX];
    char browser_patch[UA_VERSION_MAX];
    char os_family[UA_FAMILY_MAX];
    char os_major[UA_VERSION_MAX];
    char os_minor[UA_VERSION_MAX];
    char os_patch[UA_VERSION_MAX];
    char os_patch_minor[UA_VERSION_MAX];
    char device_family[UA_FAMILY_MAX];
    char device_brand[UA_FAMILY_MAX];
    char device_model[UA_FAMILY_MAX];
    enum ua_device_type device_type;
    char browser_version[4 * UA_VERSION_MAX]; /* "major.minor.patch", empty parts dropped */
    char os_version[5 * UA_VERSION_MAX];      /* "major.minor.patch.patch_minor" */
    int tag; /* the caller's verdict on this agent (ua_parse_tagged), else 0 */
};

/* A caller's classification of an agent, computed once per distinct agent
 * and cached with its result (e.g. "matches a crawler pattern"). */
typedef int ua_tag_fn(const char *ua, const struct ua_result *res, void *arg);

/* Loads and compiles the uap-core database at regexes_path. cache_entries
 * bounds the LRU cache (0 disables it). Returns a new parser (caller frees
 * with ua_parser_free), or NULL with the reason in err (unreadable file,
 * malformed YAML, a parser without a regex, a regex that does not compile,
 * out of memory). */
struct ua_parser *ua_parser_new(const char *regexes_path, size_t cache_entries, char *err,
                                size_t errlen);

/* Parses ua (NUL-terminated; NULL is treated as "") into out, served from the
 * cache when it holds ua. Returns 0, or -1 when p or out is NULL or memory
 * runs out (out then holds "Other" families). */
int ua_parse(struct ua_parser *p, const char *ua, struct ua_result *out);

/* As ua_parse, and on a cache miss sets out->tag to tag(ua, out, arg)
 * (called with the terminated, possibly shortened agent) before caching;
 * tag may be NULL (tag 0). A cached result keeps the tag it was stored
 * with, so one parser is used with one tag function. */
int ua_parse_tagged(struct ua_parser *p, const char *ua, struct ua_result *out, ua_tag_fn *tag,
                    void *arg);

/* Parses ua without touching the cache (for benchmarks and tests). Returns
 * as ua_parse. */
int ua_parse_uncached(const struct ua_parser *p, const char *ua, struct ua_result *out);

/* Cache hits and misses since ua_parser_new (either pointer may be NULL). */
void ua_parser_stats(const struct ua_parser *p, uint64_t *hits, uint64_t *misses);

/* Number of regexes compiled (user agent + OS + device parsers). */
size_t ua_parser_rule_count(const struct ua_parser *p);

/* "desktop", "mobile", "tablet" or "bot". Borrowed; static storage. */
const char *ua_device_type_name(enum ua_device_type t);

/* Frees p and everything it owns. Accepts NULL. */
void ua_parser_free(struct ua_parser *p);

#endif
