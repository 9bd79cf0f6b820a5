#include "jb_config.h"

#include "analytics/pg.h"

#include <stddef.h>

#define F(field) offsetof(struct jb_config, field)

const struct config_var jb_config_vars[] = {
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged", F(log_level), 0},
    {"ANALYTICS_KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", 0, 0, NULL,
     "Kafka bootstrap servers, comma-separated", F(brokers), 0},
    {"ANALYTICS_KAFKA_DEBUG", CONFIG_STRING, NULL, 0, 0, NULL,
     "librdkafka debug contexts for the Kafka clients (cgrp,fetch,topic,consumer or all), "
     "logged as kafka.debug lines at info; empty is off",
     F(kafka_debug), 0},
    {"ANALYTICS_TOPIC_PREFIX", CONFIG_STRING, "analytics.", 0, 0, NULL,
     "prefix of every topic name, so two stacks can share a cluster", F(topic_prefix), 0},
    {"ANALYTICS_PG_DSN", CONFIG_STRING, PG_DSN_DEFAULT, 0, 0, NULL,
     "PostgreSQL (a postgresql:// URI or key=value pairs), migrated by analytics-migrate",
     F(pg_dsn), CONFIG_SECRET},
    {"ANALYTICS_PG_CONNECT_TIMEOUT_S", CONFIG_INT, "5", 1, PG_CONNECT_TIMEOUT_MAX_S, NULL,
     "seconds to wait for PostgreSQL to answer a connection", F(pg_connect_timeout_s), 0},
    {"ANALYTICS_JOURNEY_BUILDER_ADMIN_LISTEN", CONFIG_HOSTPORT, "0.0.0.0:9104", 0, 0, NULL,
     "health and metrics listener", F(admin_listen), 0},
    {"ANALYTICS_JOURNEY_BUILDER_GROUP", CONFIG_STRING, "analytics-journey-builder", 0, 0, NULL,
     "Kafka consumer group; a new group reads events.enriched from the start, and what the "
     "database has applied already (journey_offsets) is skipped",
     F(group), 0},
    {"ANALYTICS_JOURNEYS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/journeys.json", 0,
     0, NULL, "journey stage rules (JSON)", F(journeys_file), 0},
    {"ANALYTICS_FUNNELS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/funnels.json", 0,
     0, NULL, "funnel definitions (JSON)", F(funnels_file), 0},
    {"ANALYTICS_RETENTION_DAYS", CONFIG_INT, "400", 1, 36500, NULL,
     "days of events, sessions and journeys kept; older daily partitions are dropped",
     F(retention_days), 0},
    {"ANALYTICS_JOURNEY_BUILDER_SESSION_IDLE_S", CONFIG_INT, "1800", 1, 86400, NULL,
     "seconds without an event after which a session closes (match the enricher's idle "
     "minutes)",
     F(session_idle_s), 0},
    {"ANALYTICS_JOURNEY_BUILDER_BATCH", CONFIG_INT, "10000", 1, 100000, NULL,
     "enriched events consumed and written in one transaction", F(batch), 0},
    {"ANALYTICS_JOURNEY_BUILDER_LINGER_MS", CONFIG_INT, "5", 0, 1000, NULL,
     "producer batching delay in ms for journey updates", F(linger_ms), 0},
    {"ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS", CONFIG_INT, "10000", 1000, 300000, NULL,
     "consumer group session timeout: how soon a dead replica's partitions move",
     F(group_session_timeout_ms), 0},
    {"ANALYTICS_JOURNEY_BUILDER_PREFETCH_MB", CONFIG_INT, "32", 1, 1024, NULL,
     "enriched messages fetched ahead, in MB", F(prefetch_mb), 0},
    {"ANALYTICS_JOURNEY_BUILDER_VISITOR_CACHE", CONFIG_INT, "200000", 1, 10000000, NULL,
     "visitors' journey and funnel states kept in memory (the rest are read back from "
     "PostgreSQL)",
     F(visitor_cache), 0},
    {"ANALYTICS_JOURNEY_BUILDER_SESSION_CACHE", CONFIG_INT, "200000", 1, 10000000, NULL,
     "session states kept in memory", F(session_cache), 0},
};

const size_t jb_config_nvars = sizeof(jb_config_vars) / sizeof(jb_config_vars[0]);
