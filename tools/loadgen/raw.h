#ifndef LOADGEN_RAW_H
#define LOADGEN_RAW_H

/*
 * A generated event in the pipeline's two input shapes: the RawEvent the
 * collector would put on events.raw, and the JSON object a browser posts to
 * the collector.
 */

#include <cjson/cJSON.h>

#include "analytics/v1/raw_event.pb-c.h"
#include "gen.h"

#define LOADGEN_COLLECTOR_ID "loadgen"

/* Fills m and consent (the caller's storage; both initialised here) as the
 * collector would for ev: schema_version 1, the client's event id, client
 * and receive times, consent all granted, client IP, user agent, the site's
 * origin, collector_id "loadgen". The strings are borrowed from ev and from
 * origin: m is valid while they are. */
void loadgen_raw_fill(Analytics__V1__RawEvent *m, Analytics__V1__Consent *consent,
                      const struct loadgen_event *ev, const char *origin);

/* The event as the collector's input (event_id, event_type, fingerprint,
 * user_id, session_id, timestamp, page_url, referrer_url, event_data,
 * consent). Returns a new cJSON object (caller frees with cJSON_Delete), or
 * NULL when out of memory. */
cJSON *loadgen_raw_wire(const struct loadgen_event *ev);

#endif
