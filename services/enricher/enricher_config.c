#include "enricher_config.h"

#include "analytics/kafka.h"
#include "daemon.h"

#include <stddef.h>

#define F(field) offsetof(struct enricher_config, field)

/* Data files default to where Debian installs them, and to this source tree
 * for the project's own files (the container image sets them explicitly). */
const struct config_var enricher_config_vars[] = {
    {"ANALYTICS_PAGES_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/pages.json", 0, 0,
     NULL, "page type rules (JSON)", F(pages_file), 0},
    {"ANALYTICS_UAP_REGEXES", CONFIG_STRING, "/usr/share/uap-core/regexes.yaml", 0, 0, NULL,
     "uap-core user agent database", F(uap_regexes), 0},
    {"ANALYTICS_BOT_PATTERNS", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/node_modules/crawler-user-agents/crawler-user-agents.json", 0, 0, NULL,
     "crawler-user-agents patterns (JSON)", F(bot_patterns), 0},
    {"ANALYTICS_GEOIP_DIR", CONFIG_STRING, "/usr/share/tor", 0, 0, NULL,
     "directory of Tor's geoip and geoip6 range files", F(geoip_dir), 0},
    {"ANALYTICS_GEOIP_MMDB", CONFIG_STRING, NULL, 0, 0, NULL,
     "a MaxMind .mmdb country database, used first when set", F(geoip_mmdb), 0},
    {"ANALYTICS_ENRICHER_UA_CACHE", CONFIG_INT, "10000", 0, 10000000, NULL,
     "user agents kept parsed (LRU); 0 turns the cache off", F(ua_cache), 0},
    {"ANALYTICS_ENRICHER_SESSION_CACHE", CONFIG_INT, "100000", 0, 10000000, NULL,
     "visitors' session states kept in memory (LRU) while their partitions stay assigned, so "
     "they need not be read back from Redis; 0 turns the cache off",
     F(session_cache), 0},
    {"ANALYTICS_ENRICHER_SESSION_IDLE_MIN", CONFIG_INT, "30", 1, 1440, NULL,
     "minutes without an event after which a visitor's next event starts a new session",
     F(session_idle_min), 0},
    {"ANALYTICS_ENRICHER_DEDUP_HOURS", CONFIG_INT, "24", 1, 720, NULL,
     "an event id seen within this many hours is dropped as a duplicate", F(dedup_ttl_h), 0},
    {"ANALYTICS_ENRICHER_INFLIGHT_BATCHES", CONFIG_INT, "8", 1, 1000, NULL,
     "batches awaiting the broker's acknowledgement before consumption waits", F(inflight_batches),
     0},
    {"ANALYTICS_ENRICHER_BOT_RATE", CONFIG_INT, "10", 1, 100000, NULL,
     "events per second one fingerprint may send, sustained, before it is flagged a bot",
     F(bot_rate), 0},
    {"ANALYTICS_ENRICHER_BOT_BURST", CONFIG_INT, "20", 1, 1000000, NULL,
     "events one fingerprint may send at once before the rate applies", F(bot_burst), 0},
};

const size_t enricher_config_nvars = sizeof(enricher_config_vars) / sizeof(enricher_config_vars[0]);

const struct service_stage enricher_stage_rows = {
    .group = "analytics-enricher",
    .batch = "2000",
    .batch_help = "raw events consumed and enriched together (one Redis round trip per step)",
    .prefetch_help = "raw messages fetched ahead, in MB: bounds memory, and (librdkafka 2.0 "
                     "refetches once a second when it is full) also throughput to about this "
                     "many MB a second",
};

void enricher_config_opts(const struct enricher_config *c, struct enricher_topics *t,
                          struct enricher_daemon_opts *o)
{
    const char *prefix = c->svc.topic_prefix;

    *o = (struct enricher_daemon_opts){
        .topic_raw = kafka_topic_name(prefix, "events.raw", t->raw, sizeof(t->raw)),
        .topic_enriched =
            kafka_topic_name(prefix, "events.enriched", t->enriched, sizeof(t->enriched)),
        .topic_deadletter =
            kafka_topic_name(prefix, "deadletter", t->deadletter, sizeof(t->deadletter)),
        .redis_url = c->svc.redis_url,
        .redis_timeout_ms = 1000,
        .key_prefix = prefix,
        .dedup_ttl_ms = c->dedup_ttl_h * 3600000,
        .session_ttl_ms = c->session_idle_min * 60000 + 3600000,
        .session_cache = (size_t)c->session_cache,
        .inflight_max = (int)c->inflight_batches,
        .bot_rate_per_sec = (double)c->bot_rate,
        .bot_rate_burst = (double)c->bot_burst,
    };
    service_stage_opts(&c->svc, &o->stage);
}
