#include "analytics/lead_features.h"

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
};
