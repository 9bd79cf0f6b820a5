#include "stream.h"

#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pbjson.h"
#include "analytics/stage.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/journey_update.pb-c.h"
#include "analytics/v1/score_update.pb-c.h"
#include "analytics/v1/trigger_fired.pb-c.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_TOPICS 4

struct gw_stream {
    struct stage *rt;
    struct hub *hub;
    char topics[STREAM_TOPICS][256];
    const char *topic_ptrs[STREAM_TOPICS + 1];
    enum hub_channel channel_of[STREAM_TOPICS];
    struct metric *undecodable, *published, *bots;
};

static const ProtobufCMessageDescriptor *stream_descriptor(enum hub_channel ch)
{
    switch (ch) {
    case HUB_EVENTS:
        return &analytics__v1__enriched_event__descriptor;
    case HUB_SCORES:
        return &analytics__v1__score_update__descriptor;
    case HUB_JOURNEYS:
        return &analytics__v1__journey_update__descriptor;
    case HUB_TRIGGERS:
        return &analytics__v1__trigger_fired__descriptor;
    default:
        return NULL;
    }
}

/* The filterable fields of message m of channel ch. */
static void stream_attrs(enum hub_channel ch, const ProtobufCMessage *m, struct hub_attrs *a)
{
    memset(a, 0, sizeof(*a));
    if (ch == HUB_EVENTS) {
        const Analytics__V1__EnrichedEvent *ev = (const Analytics__V1__EnrichedEvent *)m;
        a->v[HUB_EVENT_TYPE] = ev->event_type;
        a->v[HUB_FINGERPRINT] = ev->fingerprint;
        a->v[HUB_PAGE_TYPE] = ev->page != NULL ? ev->page->page_type : NULL;
        a->v[HUB_COUNTRY] = ev->geo != NULL ? ev->geo->country_code : NULL;
    } else if (ch == HUB_SCORES) {
        a->v[HUB_FINGERPRINT] = ((const Analytics__V1__ScoreUpdate *)m)->fingerprint;
    } else if (ch == HUB_JOURNEYS) {
        a->v[HUB_FINGERPRINT] = ((const Analytics__V1__JourneyUpdate *)m)->fingerprint;
    } else if (ch == HUB_TRIGGERS) {
        a->v[HUB_FINGERPRINT] = ((const Analytics__V1__TriggerFired *)m)->fingerprint;
    }
    for (int f = 0; f < HUB_FIELDS; f++) {
        if (a->v[f] != NULL && a->v[f][0] == '\0') {
            a->v[f] = NULL; /* empty is unknown: a filter on it matches nothing */
        }
    }
}

int stream_convert(enum hub_channel ch, const void *payload, size_t len, char **json,
                   struct hub_attrs *attrs, void **keep)
{
    const ProtobufCMessageDescriptor *d = stream_descriptor(ch);
    ProtobufCMessage *m;
    cJSON *o;

    *json = NULL;
    *keep = NULL;
    if (d == NULL ||
        (m = protobuf_c_message_unpack(d, NULL, len, (const uint8_t *)payload)) == NULL) {
        return -1;
    }
    if (ch == HUB_EVENTS && ((Analytics__V1__EnrichedEvent *)m)->bot != NULL &&
        ((Analytics__V1__EnrichedEvent *)m)->bot->is_bot) {
        protobuf_c_message_free_unpacked(m, NULL);
        return 0;
    }
    o = pbjson_from_message(m);
    *json = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (*json == NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        return -1;
    }
    stream_attrs(ch, m, attrs);
    *keep = m;
    return 1;
}

void stream_keep_free(enum hub_channel ch, void *keep)
{
    (void)ch;
    if (keep != NULL) {
        protobuf_c_message_free_unpacked(keep, NULL);
    }
}

static enum hub_channel stream_channel(const struct gw_stream *s, const char *topic)
{
    for (int i = 0; i < STREAM_TOPICS; i++) {
        if (topic == stage_topic(s->rt, (size_t)i) || strcmp(topic, s->topic_ptrs[i]) == 0) {
            return s->channel_of[i];
        }
    }
    return HUB_CHANNELS;
}

static enum stage_step stream_process(void *arg, const struct stage_batch *b)
{
    struct gw_stream *s = arg;
    long long bad = 0, out = 0, bots = 0;

    for (size_t i = 0; i < b->n; i++) {
        const struct kafka_message *m = &b->msgs[i];
        enum hub_channel ch = stream_channel(s, m->topic);
        struct hub_attrs attrs;
        char *json;
        void *keep;
        int rc =
            ch < HUB_CHANNELS ? stream_convert(ch, m->payload, m->len, &json, &attrs, &keep) : -1;
        if (rc < 0) {
            bad++;
            continue;
        }
        if (rc == 0) {
            bots++;
            continue;
        }
        if (hub_publish(s->hub, ch, json, strlen(json), &attrs) > 0) {
            out++;
        }
        free(json);
        stream_keep_free(ch, keep);
    }
    metric_add(s->undecodable, (double)bad);
    metric_add(s->published, (double)out);
    metric_add(s->bots, (double)bots);
    if (bad > 0) {
        log_warn("gateway.undecodable", LOG_INT("messages", bad));
    }
    return STAGE_DONE;
}

struct gw_stream *gw_stream_start(const struct stage_opts *o, const char *prefix, struct hub *hub,
                                  char *err, size_t errlen)
{
    static const char *const names[STREAM_TOPICS] = {"events.enriched", "scores", "journeys",
                                                     "triggers"};
    static const enum hub_channel chans[STREAM_TOPICS] = {HUB_EVENTS, HUB_SCORES, HUB_JOURNEYS,
                                                          HUB_TRIGGERS};
    static const char *const latest[] = {"auto.offset.reset", "latest", NULL};
    struct gw_stream *s = calloc(1, sizeof(*s));
    struct stage_opts so = *o;

    if (s == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    s->hub = hub;
    for (int i = 0; i < STREAM_TOPICS; i++) {
        s->topic_ptrs[i] = kafka_topic_name(prefix, names[i], s->topics[i], sizeof(s->topics[i]));
        s->channel_of[i] = chans[i];
    }
    s->undecodable = metrics_counter(o->metrics, "analytics_gateway_undecodable_total",
                                     "Messages that did not decode (skipped)", NULL);
    s->published = metrics_counter(o->metrics, "analytics_gateway_stream_published_total",
                                   "Pipeline messages published to the WebSocket hub", NULL);
    s->bots = metrics_counter(o->metrics, "analytics_gateway_stream_bots_total",
                              "Bots' enriched events not streamed", NULL);
    so.topics = s->topic_ptrs;
    so.consumer_extra = latest;
    so.ops.process = stream_process; /* the caller's ready (the API's backends) stays */
    so.arg = s;
    s->rt = stage_new(&so, err, errlen);
    if (s->rt == NULL || stage_start(s->rt, err, errlen) != 0) {
        gw_stream_free(s);
        return NULL;
    }
    return s;
}

struct stage *gw_stream_stage(struct gw_stream *s)
{
    return s->rt;
}

void gw_stream_free(struct gw_stream *s)
{
    if (s == NULL) {
        return;
    }
    stage_free(s->rt);
    free(s);
}
