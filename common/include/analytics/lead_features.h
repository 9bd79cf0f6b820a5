#ifndef ANALYTICS_LEAD_FEATURES_H
#define ANALYTICS_LEAD_FEATURES_H

/*
 * The lead model's features: the quantities of the UCI Online Shoppers
 * Purchasing Intention data (Sakar et al. 2019) that are not opaque codes,
 * in the model's column order. analytics-train reads them from that CSV;
 * the scorer computes the same quantities online for the current session,
 * so a model trained on those sessions applies to ours.
 *
 * The UCI columns left out: OperatingSystems, Browser, Region, TrafficType
 * (integer codes whose meaning the data does not give).
 */

enum lead_feature {
    LEAD_F_ADMIN_PAGES,     /* Administrative: pages of account and site administration */
    LEAD_F_ADMIN_SECONDS,   /* Administrative_Duration */
    LEAD_F_INFO_PAGES,      /* Informational: pages about the site, contact, terms */
    LEAD_F_INFO_SECONDS,    /* Informational_Duration */
    LEAD_F_PRODUCT_PAGES,   /* ProductRelated */
    LEAD_F_PRODUCT_SECONDS, /* ProductRelated_Duration */
    LEAD_F_BOUNCE_RATE,     /* BounceRates: mean bounce rate of the session's pages */
    LEAD_F_EXIT_RATE,       /* ExitRates: mean exit rate of the session's pages */
    LEAD_F_PAGE_VALUE,      /* PageValues: mean page value of the session's pages */
    LEAD_F_SPECIAL_DAY,     /* SpecialDay: closeness to a special day, 0..1 */
    LEAD_F_MONTH,           /* Month: 1..12 */
    LEAD_F_RETURNING,       /* VisitorType: 1 Returning_Visitor, 0 New_Visitor, missing Other */
    LEAD_F_WEEKEND,         /* Weekend: 1 or 0 */
    LEAD_F_COUNT
};

/* The features' names, in order: the keys of ScoreUpdate.features and of
 * the model file's feature_names. */
extern const char *const lead_feature_names[LEAD_F_COUNT];

#endif
