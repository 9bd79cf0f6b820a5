#include "jb_config.h"

#include "analytics/kafka.h"
#include "daemon.h"

#include <stddef.h>

#define F(field) offsetof(struct jb_config, field)

const struct config_var jb_config_vars[] = {
    {"ANALYTICS_JOURNEYS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/journeys.json", 0,
     0, NULL, "journey stage rules (JSON)", F(journeys_file), 0},
    {"ANALYTICS_FUNNELS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/funnels.json", 0,
     0, NULL, "funnel definitions (JSON)", F(funnels_file), 0},
    {"ANALYTICS_JOURNEY_BUILDER_SESSION_IDLE_S", CONFIG_INT, "1800", 1, 86400, NULL,
     "seconds without an event after which a session closes (match the enricher's idle "
     "minutes)",
     F(session_idle_s), 0},
    {"ANALYTICS_JOURNEY_BUILDER_VISITOR_CACHE", CONFIG_INT, "200000", 1, 10000000, NULL,
     "visitors' journey and funnel states kept in memory (the rest are read back from "
     "PostgreSQL)",
     F(visitor_cache), 0},
    {"ANALYTICS_JOURNEY_BUILDER_SESSION_CACHE", CONFIG_INT, "200000", 1, 10000000, NULL,
     "session states kept in memory", F(session_cache), 0},
};

const size_t jb_config_nvars = sizeof(jb_config_vars) / sizeof(jb_config_vars[0]);

const struct service_stage jb_stage_rows = {
    .group = "analytics-journey-builder",
    .group_help = "Kafka consumer group; a new group reads events.enriched from the start, and "
                  "what the database has applied already (journey_offsets) is skipped",
    .batch = "10000",
    .batch_help = "enriched events consumed and written in one transaction",
    .prefetch_help = "enriched messages fetched ahead, in MB",
};

void jb_config_opts(const struct jb_config *c, struct jb_topics *t, struct jb_daemon_opts *o)
{
    const char *prefix = c->svc.topic_prefix;

    *o = (struct jb_daemon_opts){
        .topic_enriched =
            kafka_topic_name(prefix, "events.enriched", t->enriched, sizeof(t->enriched)),
        .topic_journeys = kafka_topic_name(prefix, "journeys", t->journeys, sizeof(t->journeys)),
        .topic_deadletter =
            kafka_topic_name(prefix, "deadletter", t->deadletter, sizeof(t->deadletter)),
        .pg_dsn = c->svc.pg_dsn,
        .pg_connect_timeout_s = (int)c->svc.pg_connect_timeout_s,
        .session_idle_ms = c->session_idle_s * 1000,
        .retention_days = (int)c->svc.retention_days,
        .visitor_cache = (size_t)c->visitor_cache,
        .session_cache = (size_t)c->session_cache,
    };
    service_stage_opts(&c->svc, &o->stage);
}
