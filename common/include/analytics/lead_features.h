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
 *
 * After the UCI quantities come three derived from them
 * (lead_features_derive), chosen by 5-fold cross-validation on the
 * training rows only (10 fold seeds besides the 5 used to choose): out of
 * fold they raise ROC-AUC by 0.0020 and PR-AUC by 0.0041, more than the
 * spread between fold seeds, and no seed did worse. A ratio with nothing
 * to divide is missing (NaN), not 0: 0 would lump pages seen for no time
 * with no pages at all.
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
    /* Derived: */
    LEAD_F_PRODUCT_SHARE,      /* product pages / all pages; missing without pages */
    LEAD_F_ADMIN_SECONDS_EACH, /* admin seconds / admin pages; missing without them */
    LEAD_F_VALUE_SEEN,         /* 1 when the page value is above 0, else 0 */
    LEAD_F_COUNT
};

/* The UCI quantities: x[0..LEAD_F_BASE) are read or computed, the rest
 * derived from them. */
#define LEAD_F_BASE LEAD_F_PRODUCT_SHARE

/* The features' names, in order: the keys of ScoreUpdate.features and of
 * the model file's feature_names. */
extern const char *const lead_feature_names[LEAD_F_COUNT];

/* Sets x's derived features from its UCI ones. Pure; the trainer and the
 * scorer both call it, so the two agree. */
void lead_features_derive(float x[LEAD_F_COUNT]);

#endif
