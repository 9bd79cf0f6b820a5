/* Sessionisation: the session decision and the state's serialisation (see
 * session.h); time zones are common's (analytics/tz.h). */
#include "session.h"

#include "analytics/errbuf.h"
#include "analytics/tz.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ----------------------------------------------------- */

int session_config_init(struct session_config *cfg, long long idle_ms, const char *tz_name,
                        const char *zoneinfo_dir, char *err, size_t errlen)
{
    struct tz *tz = NULL;

    if (cfg == NULL || idle_ms <= 0) {
        errbuf_printf(err, errlen, "idle timeout must be positive");
        return -1;
    }
    if (tz_open(tz_name, zoneinfo_dir, &tz, err, errlen) != 0) {
        return -1;
    }
    cfg->idle_ms = idle_ms;
    cfg->tz = tz;
    return 0;
}

void session_config_fini(struct session_config *cfg)
{
    if (cfg != NULL) {
        tz_free(cfg->tz);
        cfg->tz = NULL;
    }
}

long session_utc_offset(const struct session_config *cfg, long long utc_ms)
{
    return tz_utc_offset(cfg->tz, utc_ms);
}

long long session_local_day(const struct session_config *cfg, long long utc_ms)
{
    return tz_local_day(cfg->tz, utc_ms);
}

/* ---- decision ---------------------------------------------------------- */

static int id_valid(const char *id)
{
    size_t n = id != NULL ? strnlen(id, SESSION_ID_MAX) : 0;

    return n > 0 && n < SESSION_ID_MAX;
}

static int state_valid(const struct session_state *st)
{
    return id_valid(st->session_id) &&
           strnlen(st->campaign, SESSION_CAMPAIGN_MAX) < SESSION_CAMPAIGN_MAX &&
           st->sequence >= 1 && st->last_event_ms >= st->started_ms;
}

/* Copies src into a campaign field, truncated to its size. */
static void campaign_copy(char dst[SESSION_CAMPAIGN_MAX], const char *src)
{
    size_t n = strnlen(src, SESSION_CAMPAIGN_MAX - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* a - b > limit, without overflow. */
static int gap_exceeds(long long a, long long b, long long limit)
{
    long long gap;

    if (__builtin_sub_overflow(a, b, &gap)) {
        return a > b;
    }
    return gap > limit;
}

static void state_start(struct session_state *st, const struct session_config *cfg, const char *id,
                        long long event_ms, const char *campaign)
{
    memset(st, 0, sizeof(*st));
    memcpy(st->session_id, id, strlen(id) + 1);
    st->started_ms = event_ms;
    st->last_event_ms = event_ms;
    st->sequence = 1;
    st->start_day = session_local_day(cfg, event_ms);
    campaign_copy(st->campaign, campaign);
}

/* Why a server session must end before event_ms, or NULL to continue. */
static const char *server_break(const struct session_config *cfg, const struct session_state *cur,
                                long long event_ms, const char *campaign)
{
    if (event_ms < cur->last_event_ms) {
        return NULL; /* out of order: never reopens or breaks (rule 3) */
    }
    if (gap_exceeds(event_ms, cur->last_event_ms, cfg->idle_ms)) {
        return "idle";
    }
    if (campaign[0] != '\0' && strcmp(campaign, cur->campaign) != 0) {
        return "campaign";
    }
    if (session_local_day(cfg, event_ms) != session_local_day(cfg, cur->last_event_ms)) {
        return "midnight";
    }
    return NULL;
}

static int server_late(const struct session_config *cfg, const struct session_state *cur,
                       long long event_ms)
{
    if (event_ms >= cur->last_event_ms) {
        return 0;
    }
    return gap_exceeds(cur->started_ms, event_ms, cfg->idle_ms) ||
           session_local_day(cfg, event_ms) != session_local_day(cfg, cur->last_event_ms);
}

int session_assign(const struct session_config *cfg, const struct session_state *prev,
                   long long event_ms, const char *campaign_key, const char *client_session_id,
                   const char *new_id_candidate, struct session_state *next,
                   struct session_decision *out)
{
    struct session_state st;
    struct session_decision d;
    char campaign[SESSION_CAMPAIGN_MAX];
    const char *reason = NULL;
    const char *id = new_id_candidate;
    int client = client_session_id != NULL && client_session_id[0] != '\0';

    if (cfg == NULL || next == NULL || out == NULL || cfg->idle_ms <= 0 ||
        (prev != NULL && !state_valid(prev))) {
        return -1;
    }
    campaign_copy(campaign, campaign_key != NULL ? campaign_key : "");
    memset(&d, 0, sizeof(d));
    if (client) {
        id = client_session_id;
        if (prev == NULL || strcmp(prev->session_id, id) != 0) {
            reason = prev == NULL ? "first" : "client";
        }
    } else {
        reason = prev == NULL ? "first" : server_break(cfg, prev, event_ms, campaign);
    }
    if (reason != NULL) {
        if (!id_valid(id)) {
            return -1;
        }
        state_start(&st, cfg, id, event_ms, campaign);
    } else {
        st = *prev;
        st.sequence++;
        if (event_ms > st.last_event_ms) {
            st.last_event_ms = event_ms;
        }
        if (client && campaign[0] != '\0') {
            memcpy(st.campaign, campaign, sizeof(campaign));
        }
        d.late = !client && server_late(cfg, prev, event_ms);
    }
    memcpy(d.session_id, st.session_id, sizeof(d.session_id));
    d.sequence = st.sequence;
    d.new_session = reason != NULL;
    d.client_assigned = client;
    d.start_reason = reason != NULL ? reason : "";
    *next = st;
    *out = d;
    return 0;
}

/* ---- serialisation ----------------------------------------------------- */

int session_state_encode(const struct session_state *st, char *buf, size_t len)
{
    int n;

    if (st == NULL || buf == NULL || !state_valid(st)) {
        return -1;
    }
    n = snprintf(buf, len, "S1 %lld %lld %lld %lld %zu:%s %zu:%s", st->started_ms,
                 st->last_event_ms, st->sequence, st->start_day, strlen(st->session_id),
                 st->session_id, strlen(st->campaign), st->campaign);
    if (n < 0 || (size_t)n >= len) {
        return -1;
    }
    return n;
}

struct cursor {
    const char *p, *end;
};

static int cur_expect(struct cursor *c, char ch)
{
    if (c->p >= c->end || *c->p != ch) {
        return -1;
    }
    c->p++;
    return 0;
}

/* An optionally negative decimal of 1 to 19 digits, then sep. */
static int cur_number(struct cursor *c, long long *out, char sep)
{
    int neg = 0, digits = 0;
    long long v = 0;

    if (c->p < c->end && *c->p == '-') {
        neg = 1;
        c->p++;
    }
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (LLONG_MAX - (*c->p - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (*c->p - '0');
        c->p++;
        digits++;
    }
    if (digits == 0) {
        return -1;
    }
    *out = neg ? -v : v;
    return cur_expect(c, sep);
}

/* "<len>:<bytes>" into dst of size cap, len in [min, cap - 1]. */
static int cur_string(struct cursor *c, char *dst, size_t cap, long long min)
{
    long long n;

    if (cur_number(c, &n, ':') != 0 || n < min || n >= (long long)cap || n > c->end - c->p ||
        memchr(c->p, '\0', (size_t)n) != NULL) {
        return -1;
    }
    memcpy(dst, c->p, (size_t)n);
    dst[n] = '\0';
    c->p += n;
    return 0;
}

int session_state_decode(const char *buf, size_t len, struct session_state *st)
{
    struct cursor c;

    if (buf == NULL || st == NULL || len < 3 || memcmp(buf, "S1 ", 3) != 0) {
        return -1;
    }
    c.p = buf + 3;
    c.end = buf + len;
    memset(st, 0, sizeof(*st));
    if (cur_number(&c, &st->started_ms, ' ') != 0 || cur_number(&c, &st->last_event_ms, ' ') != 0 ||
        cur_number(&c, &st->sequence, ' ') != 0 || cur_number(&c, &st->start_day, ' ') != 0 ||
        cur_string(&c, st->session_id, sizeof(st->session_id), 1) != 0 ||
        cur_expect(&c, ' ') != 0 || cur_string(&c, st->campaign, sizeof(st->campaign), 0) != 0 ||
        c.p != c.end) {
        return -1;
    }
    return state_valid(st) ? 0 : -1;
}
