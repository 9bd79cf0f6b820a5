#include "session_features.h"

#include "analytics/site_events.h"
#include "analytics/tz.h"

#include <math.h>

/* What a page without statistics (new, or in no closed session yet)
 * counts as: the means of the UCI data's BounceRates and ExitRates, and no
 * value (Google Analytics gives a page no conversion came after a value of
 * 0). The model never saw these features missing in training, so NaN would
 * send them down branches no data chose. */
#define FEATURES_PRIOR_BOUNCE 0.02219
#define FEATURES_PRIOR_EXIT 0.04307

/* The means of the session's pages' rates. */
static void features_pages(const struct profile_session *s, const struct pagestats *ps,
                           float x[LEAD_F_COUNT])
{
    double bounce = 0, exit = 0, value = 0;

    for (int i = 0; i < s->npages; i++) {
        struct page_rates r;
        if (!pagestats_rates(ps, s->pages[i].hash, &r)) {
            r = (struct page_rates){FEATURES_PRIOR_BOUNCE, FEATURES_PRIOR_EXIT, 0.0};
        }
        bounce += r.bounce;
        exit += r.exit;
        value += r.value;
    }
    int n = s->npages > 0 ? s->npages : 1;
    x[LEAD_F_BOUNCE_RATE] = (float)(s->npages > 0 ? bounce / n : FEATURES_PRIOR_BOUNCE);
    x[LEAD_F_EXIT_RATE] = (float)(s->npages > 0 ? exit / n : FEATURES_PRIOR_EXIT);
    x[LEAD_F_PAGE_VALUE] = (float)(value / n);
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
    lead_features_derive(x);
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
