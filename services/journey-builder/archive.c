#include "archive.h"

#include "analytics/errbuf.h"
#include "analytics/utf8.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_DAY_MS 86400000LL
/* 0001-01-01 00:00:00 UTC and 10000-01-01 00:00:00 UTC: the times written. */
#define ARCHIVE_TS_MIN (-62135596800000LL)
#define ARCHIVE_TS_END 253402300800000LL

const char archive_columns[] =
    "event_id, event_time, event_type, fingerprint, user_id, site_id, session_id, session_seq, "
    "session_new, session_start_reason, session_client_assigned, late, client_time, received_at, "
    "enriched_at, clock_skew_ms, historical, page_url, page_url_normalized, page_host, page_path, "
    "page_type, referrer_url, referrer_host, channel, utm_source, utm_medium, utm_campaign, "
    "utm_term, utm_content, gclid, fbclid, msclkid, browser_family, browser_version, os_family, "
    "os_version, device_family, device_type, is_bot, bot_reason, country_code, geo_source, "
    "ip_truncated, event_data, consent_specified, consent_necessary, consent_analytics, "
    "consent_marketing, schema_version";

/* By analytics.v1.Channel and DeviceType value. */
static const char *const archive_channels[] = {
    "unknown", "direct", "internal", "organic_search", "paid_search", "social", "email", "referral",
};
static const char *const archive_devices[] = {"unknown", "desktop", "mobile", "tablet", "bot"};

/* ---- one row ---- */

/* A row being written through copybuf: the first failure sticks (rc and
 * err); copybuf itself stops appending once memory ran out. */
struct archive_writer {
    struct copybuf *buf;
    int rc;
    char *err;
    size_t errlen;
};

/* Turns the buffer's failure, when there is one and nothing failed before,
 * into the row's. Returns true while the row is good. */
static bool archive_ok(struct archive_writer *w)
{
    if (w->rc == 0 && copybuf_failed(w->buf)) {
        errbuf_printf(w->err, w->errlen, "out of memory for a row of analytics_events");
        w->rc = ARCHIVE_NOMEM;
    }
    return w->rc == 0;
}

/* Fails the row unless s[0..n), the value of column, is valid UTF-8. */
static void archive_check_utf8(struct archive_writer *w, const char *column, const char *s,
                               size_t n)
{
    size_t bad = 0;

    if (archive_ok(w) && utf8_check(s, n, &bad) != UTF8_VALID) {
        errbuf_printf(w->err, w->errlen, "%s is not valid UTF-8 (byte %zu)", column, bad);
        w->rc = ARCHIVE_INVALID;
    }
}

/* A text column: NULL when s is NULL or empty. */
static void archive_put_text(struct archive_writer *w, const char *column, const char *s)
{
    if (s != NULL && s[0] != '\0') {
        archive_check_utf8(w, column, s, strlen(s));
    }
    copybuf_text(w->buf, s, true);
}

/* Converts day (days since 1970-01-01) to a proleptic Gregorian date (H.
 * Hinnant's days_from_civil, inverted). day must be well inside long long. */
static void archive_civil(long long day, long long *y, unsigned *m, unsigned *d)
{
    long long z = day + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

/* A timestamptz column from ms, which lies in [ARCHIVE_TS_MIN, ARCHIVE_TS_END). */
static void archive_put_ts(struct archive_writer *w, long long ms)
{
    long long day = archive_day(ms), y;
    long long in_day = ms - day * ARCHIVE_DAY_MS;
    unsigned m, d;
    char ts[40];

    archive_civil(day, &y, &m, &d);
    int n = snprintf(ts, sizeof(ts), "%04lld-%02u-%02u %02u:%02u:%02u.%03u+00", y, m, d,
                     (unsigned)(in_day / 3600000), (unsigned)(in_day / 60000 % 60),
                     (unsigned)(in_day / 1000 % 60), (unsigned)(in_day % 1000));
    copybuf_raw(w->buf, ts, (size_t)n);
}

static bool archive_ts_ok(long long ms)
{
    return ms >= ARCHIVE_TS_MIN && ms < ARCHIVE_TS_END;
}

/* An optional timestamptz column: NULL when ms is 0 or cannot be written. */
static void archive_put_ts_opt(struct archive_writer *w, long long ms)
{
    if (ms == 0 || !archive_ts_ok(ms)) {
        copybuf_null(w->buf);
        return;
    }
    archive_put_ts(w, ms);
}

/* An enum column: names[v], names[0] for values past the table. */
static void archive_put_enum(struct archive_writer *w, const char *const *names, size_t n, int v)
{
    const char *name = names[v > 0 && (size_t)v < n ? (size_t)v : 0];

    copybuf_raw(w->buf, name, strlen(name));
}

/* Parses the leading address of s (up to '/' or the end) and its optional
 * "/N" into b, *bits. Returns 4 (b[0..3]; also for IPv4-mapped IPv6), 6, or
 * -1 when s is not that. *bits is -1 without a prefix. */
static int archive_parse_net(const char *s, unsigned char b[16], int *bits)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
    char addr[INET6_ADDRSTRLEN];

    *bits = -1;
    if (n == 0 || n >= sizeof(addr)) {
        return -1;
    }
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (slash != NULL) {
        char *end = NULL;
        long v = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || v > 128) {
            return -1;
        }
        *bits = (int)v;
    }
    if (inet_pton(AF_INET, addr, b) == 1) {
        return *bits <= 32 ? 4 : -1;
    }
    if (inet_pton(AF_INET6, addr, b) != 1) {
        return -1;
    }
    if (memcmp(b, mapped, sizeof(mapped)) == 0) {
        memmove(b, b + 12, 4);
        *bits = *bits > 96 ? *bits - 96 : *bits >= 0 ? 0 : -1;
        return 4;
    }
    return 6;
}

/* The cidr column ip_truncated: the network of s at /24 (IPv4) or /48
 * (IPv6), or the shorter prefix s gives; NULL when s is empty or bad. */
static void archive_put_cidr(struct archive_writer *w, const char *s)
{
    unsigned char b[16];
    char text[INET6_ADDRSTRLEN + 8];
    int bits;
    int fam = s != NULL && s[0] != '\0' ? archive_parse_net(s, b, &bits) : -1;

    if (fam < 0) {
        copybuf_null(w->buf);
        return;
    }
    int max = fam == 4 ? 24 : 48;
    if (bits < 0 || bits > max) {
        bits = max;
    }
    for (int i = 0; i < (fam == 4 ? 4 : 16); i++) {
        int keep = bits - 8 * i; /* bits of byte i inside the prefix */
        b[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, text, sizeof(text)) == NULL) {
        copybuf_null(w->buf);
        return;
    }
    size_t n = strlen(text);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "/%d", bits);
    copybuf_raw(w->buf, text, n);
}

/* Reads four hex digits at p into *v. Returns false (reading no further
 * than the first non-digit) when they are not. */
static bool archive_hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i];
        int x = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (x < 0) {
            return false;
        }
        *v = *v * 16 + (unsigned)x;
    }
    return true;
}

/* The length of the escape "\uXXXX" at p (p[0] is '\\', p[1] is 'u') when
 * jsonb takes it: 6, or 12 for a surrogate pair; 0 for \u0000 and a lone
 * surrogate, which it refuses. A malformed escape (jsonb refuses the whole
 * text anyway) gives 2: only the backslash pair is passed. */
static size_t archive_json_unicode(const char *p)
{
    unsigned hi, lo;

    if (!archive_hex4(p + 2, &hi)) {
        return 2;
    }
    if (hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff)) {
        return 0;
    }
    if (hi < 0xd800 || hi > 0xdbff) {
        return 6;
    }
    if (p[6] == '\\' && p[7] == 'u' && archive_hex4(p + 8, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
        return 12;
    }
    return 0;
}

/* The jsonb column event_data: s ('{}' when empty) with the escapes jsonb
 * refuses replaced by \ufffd. Escapes are found by walking backslash pairs,
 * so "\\u0000" (an escaped backslash, then text) stays. */
static void archive_put_json(struct archive_writer *w, const char *s)
{
    const char *p, *run;

    if (s == NULL || s[0] == '\0') {
        s = "{}";
    }
    archive_check_utf8(w, "event_data", s, strlen(s));
    copybuf_field(w->buf);
    for (p = run = s; *p != '\0';) {
        if (p[0] != '\\') {
            p++;
            continue;
        }
        if (p[1] != 'u') {
            p += p[1] != '\0' ? 2 : 1;
            continue;
        }
        size_t n = archive_json_unicode(p);
        if (n == 0) {
            copybuf_escaped(w->buf, run, (size_t)(p - run));
            copybuf_escaped(w->buf, "\\ufffd", 6);
            run = p + 6;
            n = 6;
        }
        p += n;
    }
    copybuf_escaped(w->buf, run, (size_t)(p - run));
}

/* ---- the columns, in archive_columns' order ---- */

/* Fails the row unless ev has what the NOT NULL columns need. */
static void archive_check(struct archive_writer *w, const Analytics__V1__EnrichedEvent *ev)
{
    const char *why = NULL;

    if (ev->event_id == NULL || ev->event_id[0] == '\0') {
        why = "event without event_id";
    } else if (ev->fingerprint == NULL || ev->fingerprint[0] == '\0') {
        why = "event without fingerprint";
    } else if (ev->event_type == NULL || ev->event_type[0] == '\0') {
        why = "event without event_type";
    } else if (ev->event_ts_ms <= 0 || !archive_ts_ok(ev->event_ts_ms)) {
        why = "event_ts_ms is not a time after 1970 and before 10000";
    } else if (ev->received_ts_ms <= 0 || !archive_ts_ok(ev->received_ts_ms)) {
        why = "received_ts_ms is not a time after 1970 and before 10000";
    } else if (ev->schema_version > SHRT_MAX) {
        why = "schema_version is above 32767";
    }
    if (why != NULL) {
        errbuf_printf(w->err, w->errlen, "%s", why);
        w->rc = ARCHIVE_INVALID;
    }
}

/* event_id .. late */
static void archive_put_ids(struct archive_writer *w, const Analytics__V1__EnrichedEvent *ev)
{
    const Analytics__V1__SessionInfo *s = ev->session;

    archive_put_text(w, "event_id", ev->event_id);
    archive_put_ts(w, ev->event_ts_ms);
    archive_put_text(w, "event_type", ev->event_type);
    archive_put_text(w, "fingerprint", ev->fingerprint);
    archive_put_text(w, "user_id", ev->user_id);
    archive_put_text(w, "site_id", ev->site_id);
    archive_put_text(w, "session_id", s != NULL ? s->session_id : NULL);
    if (s != NULL && s->sequence > 0 && s->sequence <= INT_MAX) {
        copybuf_int(w->buf, s->sequence);
    } else {
        copybuf_null(w->buf);
    }
    copybuf_bool(w->buf, s != NULL && s->new_session);
    archive_put_text(w, "session_start_reason", s != NULL ? s->start_reason : NULL);
    copybuf_bool(w->buf, s != NULL && s->client_assigned);
    copybuf_bool(w->buf, s != NULL && s->late);
}

/* client_time .. referrer_host */
static void archive_put_times_pages(struct archive_writer *w,
                                    const Analytics__V1__EnrichedEvent *ev)
{
    const Analytics__V1__PageInfo *p = ev->page;

    archive_put_ts_opt(w, ev->client_ts_ms);
    archive_put_ts(w, ev->received_ts_ms);
    archive_put_ts_opt(w, ev->enriched_ts_ms);
    copybuf_int(w->buf, ev->clock_skew_ms);
    copybuf_bool(w->buf, ev->historical);
    archive_put_text(w, "page_url", ev->page_url);
    archive_put_text(w, "page_url_normalized", p != NULL ? p->url_normalized : NULL);
    archive_put_text(w, "page_host", p != NULL ? p->host : NULL);
    archive_put_text(w, "page_path", p != NULL ? p->path : NULL);
    archive_put_text(w, "page_type", p != NULL ? p->page_type : NULL);
    archive_put_text(w, "referrer_url", ev->referrer_url);
    archive_put_text(w, "referrer_host", ev->campaign != NULL ? ev->campaign->referrer_host : NULL);
}

/* channel .. msclkid */
static void archive_put_campaign(struct archive_writer *w, const Analytics__V1__Campaign *c)
{
    if (c == NULL) {
        for (int i = 0; i < 9; i++) {
            copybuf_null(w->buf);
        }
        return;
    }
    archive_put_enum(w, archive_channels, sizeof(archive_channels) / sizeof(archive_channels[0]),
                     (int)c->channel);
    archive_put_text(w, "utm_source", c->utm_source);
    archive_put_text(w, "utm_medium", c->utm_medium);
    archive_put_text(w, "utm_campaign", c->utm_campaign);
    archive_put_text(w, "utm_term", c->utm_term);
    archive_put_text(w, "utm_content", c->utm_content);
    archive_put_text(w, "gclid", c->gclid);
    archive_put_text(w, "fbclid", c->fbclid);
    archive_put_text(w, "msclkid", c->msclkid);
}

/* browser_family .. ip_truncated */
static void archive_put_client(struct archive_writer *w, const Analytics__V1__EnrichedEvent *ev)
{
    const Analytics__V1__UserAgentInfo *ua = ev->ua;
    const Analytics__V1__GeoInfo *g = ev->geo;

    archive_put_text(w, "browser_family", ua != NULL ? ua->browser_family : NULL);
    archive_put_text(w, "browser_version", ua != NULL ? ua->browser_version : NULL);
    archive_put_text(w, "os_family", ua != NULL ? ua->os_family : NULL);
    archive_put_text(w, "os_version", ua != NULL ? ua->os_version : NULL);
    archive_put_text(w, "device_family", ua != NULL ? ua->device_family : NULL);
    if (ua != NULL) {
        archive_put_enum(w, archive_devices, sizeof(archive_devices) / sizeof(archive_devices[0]),
                         (int)ua->device_type);
    } else {
        copybuf_null(w->buf);
    }
    copybuf_bool(w->buf, ev->bot != NULL && ev->bot->is_bot);
    archive_put_text(w, "bot_reason", ev->bot != NULL ? ev->bot->reason : NULL);
    archive_put_text(w, "country_code", g != NULL ? g->country_code : NULL);
    archive_put_text(w, "geo_source", g != NULL ? g->source : NULL);
    archive_put_cidr(w, g != NULL ? g->ip_truncated : NULL);
}

int archive_row(struct copybuf *out, const Analytics__V1__EnrichedEvent *ev, char *err,
                size_t errlen)
{
    struct archive_writer w = {.buf = out, .rc = 0, .err = err, .errlen = errlen};
    const Analytics__V1__Consent *c = ev->consent;
    size_t start = copybuf_len(out);

    archive_check(&w, ev);
    if (w.rc == 0) {
        archive_put_ids(&w, ev);
        archive_put_times_pages(&w, ev);
        archive_put_campaign(&w, ev->campaign);
        archive_put_client(&w, ev);
        archive_put_json(&w, ev->event_data_json);
        copybuf_bool(out, c != NULL && c->specified);
        copybuf_bool(out, c != NULL && c->necessary);
        copybuf_bool(out, c != NULL && c->analytics);
        copybuf_bool(out, c != NULL && c->marketing);
        copybuf_int(out, ev->schema_version != 0 ? ev->schema_version : 1);
        copybuf_end_row(out);
    }
    if (!archive_ok(&w)) {
        copybuf_truncate(out, start); /* the row is undone: what is before it stands */
    }
    return w.rc;
}

/* ---- days ---- */

long long archive_day(long long ts_ms)
{
    long long day = ts_ms / ARCHIVE_DAY_MS;

    return ts_ms % ARCHIVE_DAY_MS < 0 ? day - 1 : day;
}

void archive_day_str(long long day, char *buf, size_t len)
{
    long long y;
    unsigned m, d;

    if (buf == NULL || len == 0) {
        return;
    }
    /* Far enough from the ends of long long for archive_civil's sums. */
    if (day > LLONG_MAX / 2 || day < LLONG_MIN / 2) {
        buf[0] = '\0';
        return;
    }
    archive_civil(day, &y, &m, &d);
    snprintf(buf, len, "%04lld-%02u-%02u", y, m, d);
}

/* An id and its position, sorted by id and then position. */
struct archive_pos {
    const char *id;
    size_t i;
};

static int archive_pos_cmp(const void *a, const void *b)
{
    const struct archive_pos *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    if (c != 0) {
        return c;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

int archive_mark_repeats(const char *const *ids, size_t n, bool *repeat)
{
    struct archive_pos *pos;

    if (n < 2) {
        return 0;
    }
    pos = malloc(n * sizeof(*pos));
    if (pos == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        pos[i] = (struct archive_pos){ids[i], i};
    }
    qsort(pos, n, sizeof(*pos), archive_pos_cmp);
    for (size_t k = 1; k < n; k++) {
        if (strcmp(pos[k].id, pos[k - 1].id) == 0) {
            repeat[pos[k].i] = true;
        }
    }
    free(pos);
    return 0;
}
