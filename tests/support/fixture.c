/* Test fixtures (fixture.h). */
#include "fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * A Firefox on Linux desktop in Germany, from a Google search, on the
 * pricing page of shop.example, the third event of session s-1 (started by
 * idle), a person not a bot, consent given for necessary and analytics but
 * not marketing; client clock 500 ms behind, enriched 7 ms after receipt.
 */
void fixture_enriched_full(struct fixture_enriched *f)
{
    f->ev = (Analytics__V1__EnrichedEvent)ANALYTICS__V1__ENRICHED_EVENT__INIT;
    f->ua = (Analytics__V1__UserAgentInfo)ANALYTICS__V1__USER_AGENT_INFO__INIT;
    f->geo = (Analytics__V1__GeoInfo)ANALYTICS__V1__GEO_INFO__INIT;
    f->campaign = (Analytics__V1__Campaign)ANALYTICS__V1__CAMPAIGN__INIT;
    f->page = (Analytics__V1__PageInfo)ANALYTICS__V1__PAGE_INFO__INIT;
    f->session = (Analytics__V1__SessionInfo)ANALYTICS__V1__SESSION_INFO__INIT;
    f->bot = (Analytics__V1__BotInfo)ANALYTICS__V1__BOT_INFO__INIT;
    f->consent = (Analytics__V1__Consent)ANALYTICS__V1__CONSENT__INIT;

    f->ev.schema_version = 1;
    f->ev.event_id = "e-1";
    f->ev.event_type = "page_view";
    f->ev.fingerprint = "fp-1";
    f->ev.user_id = "u-1";
    f->ev.site_id = "site-1";
    f->ev.client_ts_ms = FIXTURE_ENRICHED_TS_MS - 500;
    f->ev.received_ts_ms = FIXTURE_ENRICHED_TS_MS;
    f->ev.event_ts_ms = FIXTURE_ENRICHED_TS_MS;
    f->ev.enriched_ts_ms = FIXTURE_ENRICHED_TS_MS + 7;
    f->ev.clock_skew_ms = -500;
    f->ev.historical = 0;
    f->ev.page_url = "https://shop.example/pricing?x=1";
    f->ev.referrer_url = "https://www.google.com/search?q=repair";
    f->ev.event_data_json = "{\"k\":\"v\"}";

    f->ua.browser_family = "Firefox";
    f->ua.browser_version = "133.0";
    f->ua.os_family = "Linux";
    f->ua.os_version = "";
    f->ua.device_family = "Other";
    f->ua.device_type = ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_DESKTOP;
    f->geo.country_code = "DE";
    f->geo.ip_truncated = "203.0.113.0";
    f->geo.source = "geoipdb";
    f->campaign.channel = ANALYTICS__V1__CHANNEL__CHANNEL_ORGANIC_SEARCH;
    f->campaign.referrer_host = "www.google.com";
    f->campaign.utm_source = "google";
    f->page.url_normalized = "https://shop.example/pricing";
    f->page.host = "shop.example";
    f->page.path = "/pricing";
    f->page.page_type = "pricing";
    f->session.session_id = "s-1";
    f->session.sequence = 3;
    f->session.new_session = 1;
    f->session.client_assigned = 0;
    f->session.start_reason = "idle";
    f->session.late = 0;
    f->bot.is_bot = 0;
    f->bot.reason = "";
    f->consent.specified = 1;
    f->consent.necessary = 1;
    f->consent.analytics = 1;
    f->consent.marketing = 0;

    f->ev.ua = &f->ua;
    f->ev.geo = &f->geo;
    f->ev.campaign = &f->campaign;
    f->ev.page = &f->page;
    f->ev.session = &f->session;
    f->ev.bot = &f->bot;
    f->ev.consent = &f->consent;
}

int fixture_tmp_open(struct fixture_tmp *t, const char *prog, const char *file)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", prog);
    if (mkdtemp(t->dir) == NULL) {
        return -1;
    }
    snprintf(t->file, sizeof(t->file), "%s/%s", t->dir, file);
    return 0;
}

void fixture_tmp_close(struct fixture_tmp *t)
{
    unlink(t->file);
    rmdir(t->dir);
}

int fixture_tmp_write(struct fixture_tmp *t, const char *prog, const char *file, const char *text)
{
    FILE *f;

    if (fixture_tmp_open(t, prog, file) != 0) {
        return -1;
    }
    f = fopen(t->file, "w");
    if (f == NULL || fputs(text, f) == EOF) {
        if (f != NULL) {
            fclose(f);
        }
        fixture_tmp_close(t);
        return -1;
    }
    if (fclose(f) != 0) {
        fixture_tmp_close(t);
        return -1;
    }
    return 0;
}

void fixture_appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= cap - *n) {
        fprintf(stderr, "fixture_appendf: %zu bytes are too few\n", cap);
        abort();
    }
    *n += (size_t)w;
}
