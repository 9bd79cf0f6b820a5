#ifndef SCORER_SESSION_FEATURES_H
#define SCORER_SESSION_FEATURES_H

/*
 * The lead model's features of a visitor's current session
 * (analytics/lead_features.h), from their profile, the rules and the
 * site's page statistics; and what a closed session adds to those
 * statistics. Pure.
 */

#include "analytics/lead_features.h"
#include "pagestats.h"
#include "profile.h"
#include "rules.h"

/* Fills x: page views and seconds per category of the current session;
 * the mean bounce rate, exit rate and page value of its distinct pages (a
 * page without statistics counts the UCI data's mean rates and no value);
 * SpecialDay, month (1..12) and weekend (1 on Saturday and Sunday) of its
 * local start day; returning (1 from the visitor's second session on). */
void features_build(const struct profile *p, const struct scorer_rules *r,
                    const struct pagestats *ps, float x[LEAD_F_COUNT]);

/* Adds the closed session s to ps. Returns 0, or -1 when memory runs out. */
int features_add_session(struct pagestats *ps, const struct profile_page_stats *s);

#endif
