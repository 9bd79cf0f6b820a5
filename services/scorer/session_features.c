#include "session_features.h"

#include "analytics/site_events.h"
#include "analytics/tz.h"

#include <math.h>

/* The means of the pages' rates over those with statistics. */
static void features_pages(const struct profile_session *s, const struct pagestats *ps,
                           float x[LEAD_F_COUNT])
{
    double bounce = 0, exit = 0, value = 0;
    int known = 0;

    for (int i = 0; i < s->npages; i++) {
        struct page_rates r;
        if (pagestats_rates(ps, s->pages[i].hash, &r)) {
            bounce += r.bounce;
            exit += r.exit;
            value += r.value;
            known++;
        }
    }
    x[LEAD_F_BOUNCE_RATE] = known > 0 ? (float)(bounce / known) : NAN;
    x[LEAD_F_EXIT_RATE] = known > 0 ? (float)(exit / known) : NAN;
    x[LEAD_F_PAGE_VALUE] = known > 0 ? (float)(value / known) : NAN;
}

void features_build(const struct profile *p, const struct scorer_rules *r,
                    const struct pagestats *ps, float x[LEAD_F_COUNT])
{
    const struct profile_session *s = &p->cur;
    long long y;
    int m, d, wday = tz_weekday(s->local_day);

    tz_civil_from_days(s->local_day, &y, &m, &d);
    x[LEAD_F_ADMIN_PAGES] = (float)s->views[PAGE_CAT_ADMIN];
    x[LEAD_F_ADMIN_SECONDS] = (float)((double)s->ms[PAGE_CAT_ADMIN] / 1000.0);
    x[LEAD_F_INFO_PAGES] = (float)s->views[PAGE_CAT_INFO];
    x[LEAD_F_INFO_SECONDS] = (float)((double)s->ms[PAGE_CAT_INFO] / 1000.0);
    x[LEAD_F_PRODUCT_PAGES] = (float)s->views[PAGE_CAT_PRODUCT];
    x[LEAD_F_PRODUCT_SECONDS] = (float)((double)s->ms[PAGE_CAT_PRODUCT] / 1000.0);
    features_pages(s, ps, x);
    x[LEAD_F_SPECIAL_DAY] = (float)scorer_special_day(r, s->local_day);
    x[LEAD_F_MONTH] = (float)m;
    x[LEAD_F_RETURNING] = p->sessions > 1 ? 1.0f : 0.0f;
    x[LEAD_F_WEEKEND] = wday == 0 || wday == 6 ? 1.0f : 0.0f;
}

int features_add_session(struct pagestats *ps, const struct profile_page_stats *s)
{
    for (int i = 0; i < s->npages; i++) {
        const struct profile_page *pg = &s->pages[i];
        struct page_totals t = {
            .entrances = pg->hash == s->entry,
            .bounces = pg->hash == s->entry && s->bounced,
            .page_views = pg->views,
            .exits = pg->hash == s->exit,
            .unique_views = 1,
            .value = (double)pg->value_micros / SITE_MICROS,
        };
        if (pagestats_add(ps, pg->hash, &t) != 0) {
            return -1;
        }
    }
    return 0;
}
