/* Referrer, campaign and page classification. See classify.h. */
#include "classify.h"

#include "analytics/bytebuf.h"
#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/utf8.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- host tables ----
 *
 * A plain entry matches the host itself and its subdomains ("bing.com"
 * matches "www.bing.com", "cn.bing.com"). An entry "name.*" matches
 * name.<tld> and name.<sld>.<cc> such as google.de, google.co.uk, yahoo.co.jp,
 * google.com.au, and their subdomains. Android apps send their package name
 * as the referrer host ("android-app://com.google.android.gm/"), so the
 * common ones are listed too. Sources: the default channel groupings of the
 * usual analytics tools; extend as sites need. */

/* Webmail: tested first, since mail.google.com is not Google search. */
static const char *const classify_webmail_hosts[] = {
    "mail.google.com",       "com.google.android.gm", "outlook.live.com", "outlook.office.com",
    "outlook.office365.com", "mail.yahoo.com",        "mail.aol.com",     "mail.proton.me",
    "mail.zoho.com",         "mail.yandex.ru",        "e.mail.ru",
};

static const char *const classify_search_hosts[] = {
    "google.*",         "com.google.android.googlequicksearchbox",
    "bing.com",         "duckduckgo.com",
    "yahoo.*",          "yandex.*",
    "baidu.com",        "ecosia.org",
    "search.brave.com", "startpage.com",
    "qwant.com",        "ask.com",
    "search.aol.com",   "naver.com",
    "seznam.cz",        "sogou.com",
    "so.com",           "kagi.com",
    "yahoo.co.jp",      "search.yahoo.com",
};

static const char *const classify_social_hosts[] = {
    "facebook.com",
    "fb.com",
    "messenger.com",
    "instagram.com",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "reddit.com",
    "pinterest.*",
    "youtube.com",
    "youtu.be",
    "tiktok.com",
    "threads.net",
    "bsky.app",
    "mastodon.social",
    "tumblr.com",
    "vk.com",
    "whatsapp.com",
    "wa.me",
    "t.me",
    "telegram.org",
    "snapchat.com",
    "quora.com",
    "news.ycombinator.com",
    "nextdoor.com",
    "com.facebook.katana",
    "com.instagram.android",
    "com.linkedin.android",
    "com.reddit.frontpage",
};

/* Query parameters the normalised URL drops (compared without case; "utm_"
 * is a prefix). ref is deliberately kept: sites use it for their own links. */
static const char *const classify_tracking_params[] = {
    "gclid", "fbclid", "msclkid", "dclid",  "gbraid", "wbraid", "yclid", "mc_cid",  "mc_eid",
    "_ga",   "_gl",    "igshid",  "ttclid", "twclid", "_hsenc", "_hsmi", "mkt_tok", "li_fat_id",
};

#define CLASSIFY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers ---- */

static int classify_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool classify_is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool classify_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int classify_hex(int c)
{
    if (classify_is_digit(c)) {
        return c - '0';
    }
    c = classify_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Copies the span into out (outlen bytes). Returns 0, or -1 when too long. */
static int classify_span_copy(struct classify_span s, char *out, size_t outlen)
{
    if (s.len >= outlen) {
        return -1;
    }
    memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return 0;
}

/* ---- UTF-8 ---- */

/* True when s[0..n) holds an ASCII control character (C0 or DEL). */
static bool classify_has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Checks s[0..n) is UTF-8 without control characters. Returns UTF8_VALID
 * (*valid = n), UTF8_TRUNCATED when only a sequence the end cuts short
 * ends it (*valid set to the length before it), or UTF8_INVALID. */
static enum utf8_status classify_utf8_check(const char *s, size_t n, size_t *valid)
{
    enum utf8_status st = utf8_check(s, n, valid);

    if (st == UTF8_INVALID || classify_has_control(s, st == UTF8_VALID ? n : *valid)) {
        return UTF8_INVALID;
    }
    if (st == UTF8_VALID) {
        *valid = n;
    }
    return st;
}

/* Percent-decodes s into out (outlen >= 1 bytes), '+' as space when plus is
 * true; a '%' not followed by two hex digits is kept. Writes at most
 * outlen - 1 bytes. Returns the bytes written; *cut is set when s did not
 * fit. */
static size_t classify_decode(struct classify_span s, bool plus, char *out, size_t outlen,
                              bool *cut)
{
    size_t n = 0;

    *cut = false;
    for (size_t i = 0; i < s.len; i++) {
        int c = (unsigned char)s.p[i];

        if (n + 1 >= outlen) {
            *cut = true;
            break;
        }
        if (c == '%' && i + 2 < s.len && classify_hex((unsigned char)s.p[i + 1]) >= 0 &&
            classify_hex((unsigned char)s.p[i + 2]) >= 0) {
            c = classify_hex((unsigned char)s.p[i + 1]) * 16 +
                classify_hex((unsigned char)s.p[i + 2]);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

/* Writes the decoded value of s to out as classify_query_get describes. */
static void classify_decode_value(struct classify_span s, char *out, size_t outlen)
{
    bool cut;
    size_t valid;
    size_t n = classify_decode(s, true, out, outlen, &cut);
    enum utf8_status st = classify_utf8_check(out, n, &valid);

    if (st == UTF8_VALID || (st == UTF8_TRUNCATED && cut)) {
        out[valid] = '\0';
        return;
    }
    /* Not text once decoded: keep it as sent (ASCII, since the parser
     * rejects controls; other bytes >= 0x80 that are not UTF-8 become '?'). */
    n = s.len < outlen ? s.len : outlen - 1;
    memcpy(out, s.p, n);
    out[n] = '\0';
    if (classify_utf8_check(out, n, &valid) == UTF8_VALID) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] >= 0x80) {
            out[i] = '?';
        }
    }
}

/* ---- URL parsing ---- */

static bool classify_host_char(int c)
{
    return classify_is_alpha(c) || classify_is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* Parses the host and port of authority [p, end) into out. */
static int classify_parse_hostport(const char *p, const char *end, struct classify_url *out)
{
    const char *at = NULL;
    const char *h, *hend, *port = NULL;
    size_t n;

    for (const char *q = p; q < end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    h = at != NULL ? at + 1 : p;
    if (h < end && *h == '[') {
        char buf[INET6_ADDRSTRLEN];
        unsigned char addr[16];
        const char *rb = memchr(h, ']', (size_t)(end - h));

        if (rb == NULL || (size_t)(rb - h - 1) >= sizeof(buf)) {
            return -1;
        }
        memcpy(buf, h + 1, (size_t)(rb - h - 1));
        buf[rb - h - 1] = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1) {
            return -1;
        }
        hend = rb + 1;
        if (hend < end && *hend != ':') {
            return -1;
        }
    } else {
        hend = h;
        while (hend < end && *hend != ':') {
            if (!classify_host_char((unsigned char)*hend)) {
                return -1;
            }
            hend++;
        }
    }
    if (hend < end) {
        port = hend + 1;
    }
    n = (size_t)(hend - h);
    if (n > 1 && h[n - 1] == '.') {
        n--; /* "example.com." is example.com */
    }
    if (n == 0 || n >= sizeof(out->host) || h[0] == '.' || memmem(h, n, "..", 2) != NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        out->host[i] = (char)classify_lower((unsigned char)h[i]);
    }
    out->host[n] = '\0';
    out->port = -1;
    if (port != NULL && port < end) {
        long v = 0;
        if (end - port > 5) {
            return -1;
        }
        for (const char *q = port; q < end; q++) {
            if (!classify_is_digit((unsigned char)*q)) {
                return -1;
            }
            v = v * 10 + (*q - '0');
        }
        if (v < 1 || v > 65535) {
            return -1;
        }
        out->port = (int)v;
    }
    return 0;
}

int classify_url_parse(const char *url, struct classify_url *out)
{
    const char *p, *auth, *end;
    size_t n = 0;

    if (url == NULL) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    for (p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            return -1;
        }
    }
    end = p;
    /* scheme ":" "//" */
    if (!classify_is_alpha((unsigned char)url[0])) {
        return -1;
    }
    for (p = url; p < end && *p != ':'; p++) {
        if (!(classify_is_alpha((unsigned char)*p) || classify_is_digit((unsigned char)*p) ||
              *p == '+' || *p == '-' || *p == '.') ||
            ++n >= sizeof(out->scheme)) {
            return -1;
        }
        out->scheme[n - 1] = (char)classify_lower((unsigned char)*p);
    }
    if (end - p < 3 || p[1] != '/' || p[2] != '/') {
        return -1;
    }
    auth = p + 3;
    p = auth + strcspn(auth, "/?#");
    if (classify_parse_hostport(auth, p, out) != 0) {
        return -1;
    }
    out->path.p = p;
    out->path.len = strcspn(p, "?#");
    p += out->path.len;
    if (*p == '?') {
        out->has_query = true;
        out->query.p = p + 1;
        out->query.len = strcspn(p + 1, "#");
        p += 1 + out->query.len;
    }
    if (*p == '#') {
        out->has_fragment = true;
        out->fragment.p = p + 1;
        out->fragment.len = (size_t)(end - p - 1);
    }
    return 0;
}

/* ---- query parameters ---- */

/* Iterates the '&'-separated parameters of a query: *pos is the cursor
 * (start at 0). Sets *seg to the whole parameter, *name to its name and *value
 * to its value (empty without '='). Returns false at the end. */
static bool classify_query_next(struct classify_span q, size_t *pos, struct classify_span *seg,
                                struct classify_span *name, struct classify_span *value)
{
    const char *amp, *eq;

    if (*pos > q.len || q.p == NULL) {
        return false;
    }
    seg->p = q.p + *pos;
    amp = memchr(seg->p, '&', q.len - *pos);
    seg->len = amp != NULL ? (size_t)(amp - seg->p) : q.len - *pos;
    *pos += seg->len + 1;
    eq = memchr(seg->p, '=', seg->len);
    name->p = seg->p;
    name->len = eq != NULL ? (size_t)(eq - seg->p) : seg->len;
    value->p = eq != NULL ? eq + 1 : seg->p + seg->len;
    value->len = eq != NULL ? seg->len - name->len - 1 : 0;
    return true;
}

/* Decodes a parameter name into buf (64 bytes). Returns false when it is too
 * long to be one we know. */
static bool classify_param_name(struct classify_span name, char buf[64])
{
    bool cut;

    classify_decode(name, true, buf, 64, &cut);
    return !cut;
}

bool classify_is_tracking_param(const char *name, size_t len)
{
    if (len >= 4 && strncasecmp(name, "utm_", 4) == 0) {
        return true;
    }
    for (size_t i = 0; i < CLASSIFY_ARRAY_LEN(classify_tracking_params); i++) {
        const char *t = classify_tracking_params[i];
        if (strlen(t) == len && strncasecmp(name, t, len) == 0) {
            return true;
        }
    }
    return false;
}

int classify_query_get(struct classify_span query, const char *name, char *out, size_t outlen)
{
    struct classify_span seg, pname, value;
    size_t pos = 0;
    char buf[64];

    out[0] = '\0';
    while (classify_query_next(query, &pos, &seg, &pname, &value)) {
        if (classify_param_name(pname, buf) && strcasecmp(buf, name) == 0) {
            classify_decode_value(value, out, outlen);
            return 1;
        }
    }
    return 0;
}

/* ---- normalisation ---- */

static int classify_default_port(const char *scheme)
{
    if (strcmp(scheme, "http") == 0) {
        return 80;
    }
    if (strcmp(scheme, "https") == 0) {
        return 443;
    }
    return -1;
}

int classify_url_normalize(const struct classify_url *u, char *out, size_t outlen)
{
    struct bytebuf b;
    struct classify_span seg, name, value;
    size_t pos = 0;
    bool first = true;
    char buf[64];

    if (outlen == 0) {
        return -1;
    }
    bytebuf_init_fixed(&b, out, outlen);
    bytebuf_addstr(&b, u->scheme);
    bytebuf_addstr(&b, "://");
    bytebuf_addstr(&b, u->host);
    if (u->port != -1 && u->port != classify_default_port(u->scheme)) {
        char port[8];
        int n = snprintf(port, sizeof(port), ":%d", u->port);
        bytebuf_add(&b, port, (size_t)n);
    }
    if (u->path.len > 0) {
        bytebuf_add(&b, u->path.p, u->path.len);
    } else {
        bytebuf_addstr(&b, "/");
    }
    while (u->has_query && classify_query_next(u->query, &pos, &seg, &name, &value)) {
        if (seg.len == 0 ||
            (classify_param_name(name, buf) && classify_is_tracking_param(buf, strlen(buf)))) {
            continue;
        }
        bytebuf_addstr(&b, first ? "?" : "&");
        bytebuf_add(&b, seg.p, seg.len);
        first = false;
    }
    if (bytebuf_failed(&b)) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- channel ---- */

/* True when host is name (nlen bytes) followed by a TLD-like suffix: one
 * label, or two where the first has at most 3 characters and the last 2
 * (co.uk, com.au). */
static bool classify_match_wild(const char *host, const char *name, size_t nlen)
{
    const char *rest, *dot;

    if (strncmp(host, name, nlen) != 0 || host[nlen] != '.') {
        return false;
    }
    rest = host + nlen + 1;
    dot = strchr(rest, '.');
    if (*rest == '\0') {
        return false;
    }
    if (dot == NULL) {
        return true;
    }
    return dot - rest <= 3 && dot > rest && strchr(dot + 1, '.') == NULL && strlen(dot + 1) == 2;
}

/* True when host matches the table entry pat (see the tables above). */
static bool classify_host_match(const char *host, const char *pat)
{
    size_t plen = strlen(pat);
    size_t hlen = strlen(host);

    if (plen > 2 && strcmp(pat + plen - 2, ".*") == 0) {
        for (const char *p = host; p != NULL; p = strchr(p, '.')) {
            p += *p == '.';
            if (classify_match_wild(p, pat, plen - 2)) {
                return true;
            }
        }
        return false;
    }
    if (hlen == plen) {
        return strcmp(host, pat) == 0;
    }
    return hlen > plen && host[hlen - plen - 1] == '.' && strcmp(host + hlen - plen, pat) == 0;
}

static bool classify_host_in(const char *host, const char *const *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (classify_host_match(host, table[i])) {
            return true;
        }
    }
    return false;
}

static const char *classify_strip_www(const char *host)
{
    return strncmp(host, "www.", 4) == 0 ? host + 4 : host;
}

static bool classify_in(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(v, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

enum classify_channel classify_channel_of(const struct classify_result *r, const char *page_host,
                                          const char *referrer_host)
{
    static const char *const paid[] = {"cpc",         "ppc",         "paidsearch",
                                       "paid-search", "paid_search", "paid"};
    static const char *const paid_social[] = {"paid_social", "paidsocial", "paid-social"};
    static const char *const email[] = {"email", "e-mail", "newsletter"};
    static const char *const social[] = {"social", "social-network", "social-media", "sm"};
    const char *medium = r->utm_medium;
    bool any_utm = r->utm_source[0] != '\0' || r->utm_medium[0] != '\0' ||
                   r->utm_campaign[0] != '\0' || r->utm_term[0] != '\0' ||
                   r->utm_content[0] != '\0';

    if (r->gclid[0] != '\0' || r->msclkid[0] != '\0' ||
        classify_in(medium, paid, CLASSIFY_ARRAY_LEN(paid))) {
        return CLASSIFY_CHANNEL_PAID_SEARCH;
    }
    if (r->fbclid[0] != '\0' || classify_in(medium, paid_social, CLASSIFY_ARRAY_LEN(paid_social))) {
        return CLASSIFY_CHANNEL_SOCIAL;
    }
    if (classify_in(medium, email, CLASSIFY_ARRAY_LEN(email)) ||
        strcasecmp(r->utm_source, "email") == 0) {
        return CLASSIFY_CHANNEL_EMAIL;
    }
    if (classify_in(medium, social, CLASSIFY_ARRAY_LEN(social))) {
        return CLASSIFY_CHANNEL_SOCIAL;
    }
    if (strcasecmp(medium, "organic") == 0) {
        return CLASSIFY_CHANNEL_ORGANIC_SEARCH;
    }
    if (referrer_host == NULL || referrer_host[0] == '\0') {
        return any_utm ? CLASSIFY_CHANNEL_REFERRAL : CLASSIFY_CHANNEL_DIRECT;
    }
    if (page_host != NULL &&
        strcmp(classify_strip_www(page_host), classify_strip_www(referrer_host)) == 0) {
        return CLASSIFY_CHANNEL_INTERNAL;
    }
    if (classify_host_in(referrer_host, classify_webmail_hosts,
                         CLASSIFY_ARRAY_LEN(classify_webmail_hosts))) {
        return CLASSIFY_CHANNEL_EMAIL;
    }
    if (classify_host_in(referrer_host, classify_search_hosts,
                         CLASSIFY_ARRAY_LEN(classify_search_hosts))) {
        return CLASSIFY_CHANNEL_ORGANIC_SEARCH;
    }
    if (classify_host_in(referrer_host, classify_social_hosts,
                         CLASSIFY_ARRAY_LEN(classify_social_hosts))) {
        return CLASSIFY_CHANNEL_SOCIAL;
    }
    return CLASSIFY_CHANNEL_REFERRAL;
}

const char *classify_channel_name(enum classify_channel c)
{
    switch (c) {
    case CLASSIFY_CHANNEL_DIRECT:
        return "DIRECT";
    case CLASSIFY_CHANNEL_INTERNAL:
        return "INTERNAL";
    case CLASSIFY_CHANNEL_ORGANIC_SEARCH:
        return "ORGANIC_SEARCH";
    case CLASSIFY_CHANNEL_PAID_SEARCH:
        return "PAID_SEARCH";
    case CLASSIFY_CHANNEL_SOCIAL:
        return "SOCIAL";
    case CLASSIFY_CHANNEL_EMAIL:
        return "EMAIL";
    case CLASSIFY_CHANNEL_REFERRAL:
        return "REFERRAL";
    default:
        return "UNKNOWN";
    }
}

/* ---- classify_event ---- */

int classify_event(const char *page_url, const char *referrer_url, struct classify_result *out)
{
    struct classify_url u;
    struct classify_url ref;
    static const struct classify_span root = {"/", 1};

    memset(out, 0, sizeof(*out));
    if (classify_url_parse(page_url, &u) != 0 || classify_default_port(u.scheme) == -1 ||
        classify_url_normalize(&u, out->url, sizeof(out->url)) != 0 ||
        classify_span_copy(u.path.len > 0 ? u.path : root, out->path, sizeof(out->path)) != 0) {
        goto fail;
    }
    memcpy(out->host, u.host, sizeof(out->host));
    if (u.has_query) {
        classify_query_get(u.query, "utm_source", out->utm_source, sizeof(out->utm_source));
        classify_query_get(u.query, "utm_medium", out->utm_medium, sizeof(out->utm_medium));
        classify_query_get(u.query, "utm_campaign", out->utm_campaign, sizeof(out->utm_campaign));
        classify_query_get(u.query, "utm_term", out->utm_term, sizeof(out->utm_term));
        classify_query_get(u.query, "utm_content", out->utm_content, sizeof(out->utm_content));
        classify_query_get(u.query, "gclid", out->gclid, sizeof(out->gclid));
        classify_query_get(u.query, "fbclid", out->fbclid, sizeof(out->fbclid));
        classify_query_get(u.query, "msclkid", out->msclkid, sizeof(out->msclkid));
    }
    if (referrer_url != NULL && referrer_url[0] != '\0' &&
        classify_url_parse(referrer_url, &ref) == 0) {
        memcpy(out->referrer_host, ref.host, sizeof(out->referrer_host));
    }
    out->channel = classify_channel_of(out, out->host, out->referrer_host);
    return 0;

fail:
    memset(out, 0, sizeof(*out));
    return -1;
}

/* ---- page rules ---- */

struct page_rule {
    char *type;
    pcre2_code *path_re;
    pcre2_code *host_re; /* NULL when the rule has no host */
};

struct page_rules {
    struct page_rule *rules;
    size_t n;
    char *default_type;
    pcre2_match_data *md;
};

void page_rules_free(struct page_rules *rules)
{
    if (rules == NULL) {
        return;
    }
    for (size_t i = 0; i < rules->n; i++) {
        free(rules->rules[i].type);
        pcre2_code_free(rules->rules[i].path_re);
        pcre2_code_free(rules->rules[i].host_re);
    }
    free(rules->rules);
    free(rules->default_type);
    pcre2_match_data_free(rules->md);
    free(rules);
}

size_t page_rules_count(const struct page_rules *rules)
{
    return rules->n;
}

/* Compiles a rule's regex (case-insensitive, JIT when available). */
static pcre2_code *page_rules_compile(const char *file, size_t idx, const char *field,
                                      const char *pat, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &code, &off, NULL);

    if (re == NULL) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0) {
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        }
        errbuf_printf(err, errlen, "page rules: %s: rule %zu: bad %s regex at offset %zu: %s", file,
                      idx, field, (size_t)off, (const char *)msg);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted when JIT is absent */
    return re;
}

/* Fills r from the JSON rule object item (index idx). */
static int page_rules_one(const char *file, size_t idx, const cJSON *item, struct page_rule *r,
                          char *err, size_t errlen)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(item, "host");
    const cJSON *f;

    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "page rules: %s: rule %zu is not an object", file, idx);
        return -1;
    }
    cJSON_ArrayForEach(f, item)
    {
        if (f->string == NULL ||
            (strcmp(f->string, "type") != 0 && strcmp(f->string, "path") != 0 &&
             strcmp(f->string, "host") != 0)) {
            errbuf_printf(err, errlen, "page rules: %s: rule %zu: unknown key \"%s\"", file, idx,
                          f->string != NULL ? f->string : "");
            return -1;
        }
    }
    if (!cJSON_IsString(type) || type->valuestring[0] == '\0') {
        errbuf_printf(err, errlen, "page rules: %s: rule %zu: \"type\" must be a non-empty string",
                      file, idx);
        return -1;
    }
    if (!cJSON_IsString(path)) {
        errbuf_printf(err, errlen, "page rules: %s: rule %zu: \"path\" must be a string", file,
                      idx);
        return -1;
    }
    if (host != NULL && !cJSON_IsString(host)) {
        errbuf_printf(err, errlen, "page rules: %s: rule %zu: \"host\" must be a string", file,
                      idx);
        return -1;
    }
    r->type = strdup(type->valuestring);
    if (r->type == NULL) {
        errbuf_printf(err, errlen, "page rules: out of memory");
        return -1;
    }
    r->path_re = page_rules_compile(file, idx, "path", path->valuestring, err, errlen);
    if (r->path_re == NULL) {
        return -1;
    }
    if (host != NULL) {
        r->host_re = page_rules_compile(file, idx, "host", host->valuestring, err, errlen);
        if (r->host_re == NULL) {
            return -1;
        }
    }
    return 0;
}

/* Checks the top level of the document and fills rules from it. */
static int page_rules_build(const char *file, const cJSON *root, struct page_rules *rules,
                            char *err, size_t errlen)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "rules");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "default");
    const cJSON *item;
    size_t n;

    if (!cJSON_IsNumber(version) || version->valuedouble != 1.0) {
        errbuf_printf(err, errlen, "page rules: %s: \"version\" must be 1", file);
        return -1;
    }
    if (!cJSON_IsArray(list)) {
        errbuf_printf(err, errlen, "page rules: %s: \"rules\" must be an array", file);
        return -1;
    }
    if (def != NULL && (!cJSON_IsString(def) || def->valuestring[0] == '\0')) {
        errbuf_printf(err, errlen, "page rules: %s: \"default\" must be a non-empty string", file);
        return -1;
    }
    rules->default_type = strdup(def != NULL ? def->valuestring : "other");
    n = (size_t)cJSON_GetArraySize(list);
    rules->rules = calloc(n > 0 ? n : 1, sizeof(*rules->rules));
    if (rules->default_type == NULL || rules->rules == NULL) {
        errbuf_printf(err, errlen, "page rules: out of memory");
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        /* Counted before filling, so page_rules_free frees a partial rule. */
        struct page_rule *r = &rules->rules[rules->n++];
        if (page_rules_one(file, rules->n - 1, item, r, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

struct page_rules *page_rules_load(const char *path, char *err, size_t errlen)
{
    struct page_rules *rules = NULL;
    char why[512];
    cJSON *root = fileio_read_json(path, PAGE_RULES_FILE_MAX, FILEIO_JSON_OBJECT, why, sizeof(why));

    if (root == NULL) {
        errbuf_printf(err, errlen, "page rules: %s", why);
        return NULL;
    }
    rules = calloc(1, sizeof(*rules));
    if (rules == NULL || (rules->md = pcre2_match_data_create(1, NULL)) == NULL) {
        errbuf_printf(err, errlen, "page rules: out of memory");
        goto out_free_rules;
    }
    if (page_rules_build(path, root, rules, err, errlen) != 0) {
        goto out_free_rules;
    }
    goto out;

out_free_rules:
    page_rules_free(rules);
    rules = NULL;
out:
    cJSON_Delete(root);
    return rules;
}

/* True when re matches s (s may be NULL: no match). */
static bool page_rules_hit(struct page_rules *rules, const pcre2_code *re, const char *s)
{
    return s != NULL && pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, rules->md, NULL) >= 0;
}

const char *page_rules_match(struct page_rules *rules, const char *host, const char *path)
{
    for (size_t i = 0; i < rules->n; i++) {
        const struct page_rule *r = &rules->rules[i];
        if (page_rules_hit(rules, r->path_re, path) &&
            (r->host_re == NULL || page_rules_hit(rules, r->host_re, host))) {
            return r->type;
        }
    }
    return rules->default_type;
}
