/* The routes about visitors: the best leads, one visitor's insights. */
#include "routes_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const route_no_names[] = {NULL};
const char *const route_leads_names[] = {"min_score", "limit", "cursor", NULL};

/* The best leads now: lead score, then fingerprint; the cursor is the last
 * row's "score:fingerprint", opaque to the caller. */
int route_leads(struct gw_req *r)
{
    long long min_score, limit;
    char cursor[GW_VALUE_MAX], cscore[8] = "101", cfp[GW_VALUE_MAX] = "";
    char smin[24], slimit[24];
    int rc = gw_check_names(r, route_leads_names);

    if (rc == 0) {
        rc = gw_param_int(r, "min_score", 0, 100, 0, &min_score);
    }
    if (rc == 0) {
        rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);
    }
    if (rc != 0) {
        return rc;
    }
    rc = gw_param(r, "cursor", cursor, sizeof(cursor));
    if (rc > 1) {
        return rc;
    }
    if (rc == 1) {
        char *colon = strchr(cursor, ':');
        char *end;
        long v = colon != NULL ? strtol(cursor, &end, 10) : -1;
        if (colon == NULL || end != colon || v < 0 || v > 100 || colon[1] == '\0') {
            return gw_send_error(r->conn, 400, "bad_parameter",
                                 "cursor is not one this route gave");
        }
        snprintf(cscore, sizeof(cscore), "%ld", v);
        snprintf(cfp, sizeof(cfp), "%s", colon + 1);
    }
    snprintf(smin, sizeof(smin), "%lld", min_score);
    snprintf(slimit, sizeof(slimit), "%lld", limit);
    const char *params[] = {smin, slimit, cscore, cfp};
    return gw_json_query(
        r, "leads",
        "WITH page AS ("
        "  SELECT p.fingerprint, p.lead_score, p.conversion_probability, p.churn_risk,"
        "         p.segment AS persona, p.journey_stage, p.sessions, p.bookings_completed,"
        "         p.last_seen_at,"
        "         (SELECT m.reasons FROM ml_predictions m WHERE m.fingerprint = p.fingerprint"
        "           ORDER BY m.predicted_at DESC LIMIT 1) AS reasons"
        "    FROM user_behavior_profiles p"
        "   WHERE p.lead_score >= $1::int"
        "     AND (p.lead_score < $3::int OR (p.lead_score = $3::int AND p.fingerprint > $4))"
        "   ORDER BY p.lead_score DESC, p.fingerprint LIMIT $2::int)"
        " SELECT json_build_object("
        "   'leads', coalesce((SELECT json_agg(page ORDER BY lead_score DESC, fingerprint)"
        "                        FROM page), '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT lead_score || ':' || fingerprint FROM page"
        "       ORDER BY lead_score, fingerprint DESC LIMIT 1) END)::text",
        4, params, NULL);
}

/* One visitor: profile, latest scores with reasons, persona, sessions,
 * journey and prediction history. */
int route_insights(struct gw_req *r)
{
    int rc = gw_check_names(r, route_no_names);

    if (rc != 0) {
        return rc;
    }
    const char *params[] = {r->params[0]};
    return gw_json_query(
        r, "insights",
        "SELECT (SELECT json_build_object("
        "  'fingerprint', p.fingerprint, 'user_id', p.user_id,"
        "  'profile', json_build_object('first_seen_at', p.first_seen_at,"
        "     'last_seen_at', p.last_seen_at, 'sessions', p.sessions, 'events', p.events,"
        "     'page_views', p.page_views, 'pricing_views', p.pricing_views,"
        "     'bookings_started', p.bookings_started, 'bookings_completed', p.bookings_completed,"
        "     'forms_started', p.forms_started, 'rage_clicks', p.rage_clicks,"
        "     'exit_intents', p.exit_intents, 'deepest_scroll', p.deepest_scroll,"
        "     'returning_visitor', p.returning_visitor, 'first_channel', p.first_channel,"
        "     'first_device', p.first_device, 'page_types', p.page_types),"
        "  'scores', json_build_object('lead_score', p.lead_score,"
        "     'conversion_probability', p.conversion_probability, 'churn_risk', p.churn_risk,"
        "     'p_alive', p.p_alive, 'expected_visits', p.expected_visits,"
        "     'model_version', p.model_version, 'features', p.features,"
        "     'reasons', (SELECT m.reasons FROM ml_predictions m WHERE m.fingerprint ="
        "                 p.fingerprint ORDER BY m.predicted_at DESC LIMIT 1)),"
        "  'persona', p.segment, 'journey_stage', p.journey_stage,"
        "  'sessions', coalesce((SELECT json_agg(s ORDER BY s.started_at DESC) FROM ("
        "     SELECT session_id, started_at, ended_at, page_views, converted"
        "       FROM sessions WHERE fingerprint = p.fingerprint"
        "      ORDER BY started_at DESC LIMIT 50) s), '[]'::json),"
        "  'journey', coalesce((SELECT json_agg(j ORDER BY j.occurred_at) FROM ("
        "     SELECT occurred_at, stage, touchpoint FROM customer_journeys"
        "      WHERE fingerprint = p.fingerprint ORDER BY occurred_at DESC LIMIT 200) j),"
        "     '[]'::json),"
        "  'predictions', coalesce((SELECT json_agg(m ORDER BY m.predicted_at) FROM ("
        "     SELECT predicted_at, lead_score, conversion_probability, churn_risk, segment,"
        "            reasons, model_version FROM ml_predictions WHERE fingerprint = p.fingerprint"
        "      ORDER BY predicted_at DESC LIMIT 200) m), '[]'::json))::text"
        " FROM user_behavior_profiles p WHERE p.fingerprint = $1)",
        1, params, "no visitor with that fingerprint");
}
