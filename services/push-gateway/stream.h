#ifndef PUSH_GATEWAY_STREAM_H
#define PUSH_GATEWAY_STREAM_H

/*
 * The pipeline's streams into the hub: a consumer stage on events.enriched,
 * scores, journeys and triggers, in a consumer group of this instance alone
 * (each replica sees every message) that starts at the end of each
 * partition (a live view, not a replay); each message decoded, turned into
 * JSON and published on its channel with its filterable fields. Bots'
 * events are not streamed. A message that does not decode is counted and
 * skipped: nothing here is durable, so there is nothing to dead-letter.
 */

#include <stdbool.h>
#include <stddef.h>

#include "hub.h"

struct metrics;
struct stage;
struct stage_opts;
struct gw_stream;

/* Decodes payload[0..len) of a message on channel ch into the JSON text
 * (*json, caller frees) and attrs' values (pointing into *keep, which the
 * caller frees with stream_keep_free after publishing). Returns 1 to
 * publish, 0 to skip (a bot's event), -1 when it does not decode. Pure. */
int stream_convert(enum hub_channel ch, const void *payload, size_t len, char **json,
                   struct hub_attrs *attrs, void **keep);
void stream_keep_free(enum hub_channel ch, void *keep);

/* Starts the stage with o's shared settings (brokers, debug, fetch wait),
 * the topics named with prefix, group (made unique by the caller). */
struct gw_stream *gw_stream_start(const struct stage_opts *o, const char *prefix, struct hub *hub,
                                  char *err, size_t errlen);
struct stage *gw_stream_stage(struct gw_stream *s);
void gw_stream_free(struct gw_stream *s);

#endif
