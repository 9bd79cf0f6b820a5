#include "analytics/lead_features.h"

#include <math.h>

const char *const lead_feature_names[LEAD_F_COUNT] = {
    [LEAD_F_ADMIN_PAGES] = "admin_pages",
    [LEAD_F_ADMIN_SECONDS] = "admin_seconds",
    [LEAD_F_INFO_PAGES] = "info_pages",
    [LEAD_F_INFO_SECONDS] = "info_seconds",
    [LEAD_F_PRODUCT_PAGES] = "product_pages",
    [LEAD_F_PRODUCT_SECONDS] = "product_seconds",
    [LEAD_F_BOUNCE_RATE] = "bounce_rate",
    [LEAD_F_EXIT_RATE] = "exit_rate",
    [LEAD_F_PAGE_VALUE] = "page_value",
    [LEAD_F_SPECIAL_DAY] = "special_day",
    [LEAD_F_MONTH] = "month",
    [LEAD_F_RETURNING] = "returning",
    [LEAD_F_WEEKEND] = "weekend",
    [LEAD_F_PRODUCT_SHARE] = "product_share",
    [LEAD_F_ADMIN_SECONDS_EACH] = "admin_seconds_each",
    [LEAD_F_VALUE_SEEN] = "value_seen",
};

void lead_features_derive(float x[LEAD_F_COUNT])
{
    double pages = (double)x[LEAD_F_ADMIN_PAGES] + (double)x[LEAD_F_INFO_PAGES] +
                   (double)x[LEAD_F_PRODUCT_PAGES];

    x[LEAD_F_PRODUCT_SHARE] = pages > 0.0 ? (float)((double)x[LEAD_F_PRODUCT_PAGES] / pages) : NAN;
    x[LEAD_F_ADMIN_SECONDS_EACH] =
        x[LEAD_F_ADMIN_PAGES] > 0.0f
            ? (float)((double)x[LEAD_F_ADMIN_SECONDS] / (double)x[LEAD_F_ADMIN_PAGES])
            : NAN;
    x[LEAD_F_VALUE_SEEN] = x[LEAD_F_PAGE_VALUE] > 0.0f ? 1.0f : 0.0f;
}
