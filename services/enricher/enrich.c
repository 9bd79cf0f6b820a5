#include "enrich.h"

#include "analytics/errbuf.h"

#include <string.h>

static Analytics__V1__DeviceType enrich_device_type(enum ua_device_type t)
{
    switch (t) {
    case UA_DEVICE_DESKTOP:
        return ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_DESKTOP;
    case UA_DEVICE_MOBILE:
        return ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_MOBILE;
    case UA_DEVICE_TABLET:
        return ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_TABLET;
    case UA_DEVICE_BOT:
        return ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_BOT;
    }
    return ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_UNKNOWN;
}

/* ua_tag_fn: 1 when the agent matches a crawler pattern. */
static int enrich_bot_tag(const char *ua, const struct ua_result *res, void *arg)
{
    (void)res;
    return bot_match_ua(arg, ua) ? 1 : 0;
}

static void enrich_user_agent(const struct enrich_ctx *ctx, const char *ua_string,
                              struct enrich_out *out)
{
    struct ua_result *r = &out->uar;

    if (ua_parse_tagged(ctx->ua, ua_string, r, ctx->bots != NULL ? enrich_bot_tag : NULL,
                        (void *)ctx->bots) != 0) {
        memset(r, 0, sizeof(*r));
        r->device_type = UA_DEVICE_DESKTOP;
        r->tag = ctx->bots != NULL && bot_match_ua(ctx->bots, ua_string);
    }
    out->ua.browser_family = r->browser_family;
    out->ua.browser_version = r->browser_version;
    out->ua.os_family = r->os_family;
    out->ua.os_version = r->os_version;
    out->ua.device_family = r->device_family;
    out->ua.device_type = enrich_device_type(r->device_type);
}

/* Flags bots: uap's spider family, then the crawler patterns (checked once
 * per distinct agent, cached with its parse), then (with a
 * rate tracker) more events per second than a person makes, by the events'
 * own times, so a backlog consumed at once is not mistaken for a flood. */
static void enrich_bot(const struct enrich_ctx *ctx, const Analytics__V1__RawEvent *raw,
                       struct enrich_out *out)
{
    const char *reason = "";

    if (out->uar.device_type == UA_DEVICE_BOT) {
        reason = BOT_REASON_UA;
    } else if (out->uar.tag == 1) {
        reason = BOT_REASON_PATTERN;
    } else if (ctx->rate != NULL && !raw->historical &&
               bot_rate_exceeded(ctx->rate, raw->fingerprint, out->ev.event_ts_ms)) {
        reason = BOT_REASON_RATE;
    }
    out->bot.is_bot = reason[0] != '\0';
    out->bot.reason = (char *)reason;
}

/* Country from the full IP, then only the truncated IP is kept. */
static void enrich_geo(const struct enrich_ctx *ctx, const char *ip, struct enrich_out *out)
{
    int source = GEO_SOURCE_NONE;

    out->country[0] = '\0';
    out->ip_truncated[0] = '\0';
    if (ip[0] != '\0' && geo_truncate(ip, out->ip_truncated, sizeof(out->ip_truncated)) == 0 &&
        ctx->geo != NULL) {
        source = geo_lookup(ctx->geo, ip, out->country);
        if (source < 0) {
            source = GEO_SOURCE_NONE;
            out->country[0] = '\0';
        }
    }
    out->geo.country_code = out->country;
    out->geo.ip_truncated = out->ip_truncated;
    out->geo.source = (char *)geo_source_name(source);
}

static void enrich_campaign_and_page(const struct enrich_ctx *ctx,
                                     const Analytics__V1__RawEvent *raw, struct enrich_out *out)
{
    struct classify_result *c = &out->cls;
    const char *type = "other";

    if (classify_event(raw->page_url, raw->referrer_url, c) != 0) {
        memset(c, 0, sizeof(*c));
        c->channel = CLASSIFY_CHANNEL_DIRECT;
        if (raw->page_url[0] == '\0' && raw->referrer_url[0] != '\0') {
            c->channel = CLASSIFY_CHANNEL_REFERRAL;
        }
    } else if (ctx->pages != NULL) {
        const char *t = page_rules_match(ctx->pages, c->host, c->path);
        type = t != NULL ? t : type;
    }
    out->campaign.channel = (Analytics__V1__Channel)c->channel;
    out->campaign.referrer_host = c->referrer_host;
    out->campaign.utm_source = c->utm_source;
    out->campaign.utm_medium = c->utm_medium;
    out->campaign.utm_campaign = c->utm_campaign;
    out->campaign.utm_term = c->utm_term;
    out->campaign.utm_content = c->utm_content;
    out->campaign.gclid = c->gclid;
    out->campaign.fbclid = c->fbclid;
    out->campaign.msclkid = c->msclkid;
    out->page.url_normalized = c->url;
    out->page.host = c->host;
    out->page.path = c->path;
    out->page.page_type = (char *)type;
}

long long enrich_event_time(const Analytics__V1__RawEvent *raw)
{
    if (!raw->historical && raw->clock_skew_suspect) {
        return raw->received_ts_ms;
    }
    return raw->client_ts_ms;
}

/* Initialises the submessages and links them into the event. */
static void enrich_init(struct enrich_out *out)
{
    Analytics__V1__EnrichedEvent ev = ANALYTICS__V1__ENRICHED_EVENT__INIT;
    Analytics__V1__UserAgentInfo ua = ANALYTICS__V1__USER_AGENT_INFO__INIT;
    Analytics__V1__GeoInfo geo = ANALYTICS__V1__GEO_INFO__INIT;
    Analytics__V1__Campaign campaign = ANALYTICS__V1__CAMPAIGN__INIT;
    Analytics__V1__PageInfo page = ANALYTICS__V1__PAGE_INFO__INIT;
    Analytics__V1__SessionInfo session = ANALYTICS__V1__SESSION_INFO__INIT;
    Analytics__V1__BotInfo bot = ANALYTICS__V1__BOT_INFO__INIT;
    Analytics__V1__Consent consent = ANALYTICS__V1__CONSENT__INIT;

    out->ev = ev;
    out->ua = ua;
    out->geo = geo;
    out->campaign = campaign;
    out->page = page;
    out->session = session;
    out->bot = bot;
    out->consent = consent;
    out->ev.ua = &out->ua;
    out->ev.geo = &out->geo;
    out->ev.campaign = &out->campaign;
    out->ev.page = &out->page;
    out->ev.session = &out->session;
    out->ev.bot = &out->bot;
    out->ev.consent = &out->consent;
}

int enrich_event(const struct enrich_ctx *ctx, const Analytics__V1__RawEvent *raw, long long now_ms,
                 struct enrich_out *out, char *err, size_t errlen)
{
    if (raw->event_id == NULL || raw->event_id[0] == '\0' || raw->fingerprint == NULL ||
        raw->fingerprint[0] == '\0' || raw->event_type == NULL || raw->event_type[0] == '\0') {
        errbuf_printf(err, errlen, "raw event without event_id, event_type or fingerprint");
        return -1;
    }
    enrich_init(out);
    out->ev.schema_version = 1;
    out->ev.event_id = raw->event_id;
    out->ev.event_type = raw->event_type;
    out->ev.fingerprint = raw->fingerprint;
    out->ev.user_id = raw->user_id;
    out->ev.client_ts_ms = raw->client_ts_ms;
    out->ev.received_ts_ms = raw->received_ts_ms;
    out->ev.event_ts_ms = enrich_event_time(raw);
    out->ev.clock_skew_ms = raw->clock_skew_ms;
    out->ev.page_url = raw->page_url;
    out->ev.referrer_url = raw->referrer_url;
    out->ev.event_data_json = raw->event_data_json;
    out->ev.historical = raw->historical;
    out->ev.site_id = raw->site_id;
    out->ev.enriched_ts_ms = now_ms;
    if (raw->consent != NULL) {
        out->consent = *raw->consent;
        out->consent.base =
            (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(&analytics__v1__consent__descriptor);
    }
    /* Sessions are the daemon's (Redis); the client's id stands until then. */
    out->session.session_id = raw->session_id;
    out->session.client_assigned = raw->session_id[0] != '\0';

    enrich_user_agent(ctx, raw->user_agent, out);
    enrich_bot(ctx, raw, out);
    enrich_geo(ctx, raw->client_ip, out);
    enrich_campaign_and_page(ctx, raw, out);
    return 0;
}
