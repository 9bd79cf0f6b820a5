#include "collector_config.h"

#include "analytics/http.h"
#include "analytics/kafka.h"
#include "ingest.h"

#include <limits.h>
#include <stddef.h>

#define F(field) offsetof(struct collector_config, field)

const struct config_var collector_config_vars[] = {
    {"ANALYTICS_COLLECTOR_LISTEN", CONFIG_HOSTPORT, "0.0.0.0:8080", 0, 0, NULL,
     "public HTTP listener for events (port 0 picks a free port)", F(listen), 0},
    {"ANALYTICS_COLLECTOR_SPOOL_DIR", CONFIG_STRING, "/var/lib/analytics/spool", 0, 0, NULL,
     "directory of the disk spool for events the broker could not take yet", F(spool_dir), 0},
    {"ANALYTICS_COLLECTOR_SPOOL_MAX_MB", CONFIG_INT, "1024", 1, 1048576, NULL,
     "spool size bound in MiB; beyond it requests get 503 with Retry-After", F(spool_max_mb), 0},
    {"ANALYTICS_COLLECTOR_SPOOL_FSYNC", CONFIG_BOOL, "false", 0, 0, NULL,
     "fdatasync every spool append (survives power loss, not only a process crash)", F(spool_fsync),
     0},
    {"ANALYTICS_COLLECTOR_ACK", CONFIG_ENUM, "delivered", 0, 0, "delivered|queued",
     "answer 202 once the broker acknowledged the event or it is in the spool (delivered), "
     "or once the producer holds it in memory (queued: faster, a crash loses the queue)",
     F(ack), 0},
    {"ANALYTICS_COLLECTOR_THREADS", CONFIG_INT, "4", 2, 256, NULL,
     "HTTP event-loop threads: each reads many connections and parses their requests "
     "(a request waiting for the broker holds none)",
     F(threads), 0},
    {"ANALYTICS_COLLECTOR_MAX_CONNECTIONS", CONFIG_INT, "10000", 16, 1000000, NULL,
     "open connections at most; beyond, new ones are closed at once", F(max_connections), 0},
    {"ANALYTICS_COLLECTOR_HEADER_TIMEOUT_MS", CONFIG_INT, "10000", 100, 600000, NULL,
     "time for a request's line and headers to arrive; later gets 408 and a close",
     F(header_timeout_ms), 0},
    {"ANALYTICS_COLLECTOR_BODY_TIMEOUT_MS", CONFIG_INT, "10000", 100, 600000, NULL,
     "time for a request's body to arrive after its headers; later gets 408 and a close",
     F(body_timeout_ms), 0},
    {"ANALYTICS_COLLECTOR_KEEP_ALIVE_MS", CONFIG_INT, "15000", 100, 600000, NULL,
     "idle keep-alive connection closed after this (at once past 3/4 of the connections)",
     F(keep_alive_ms), 0},
    {"ANALYTICS_COLLECTOR_INFLIGHT_MAX_MB", CONFIG_INT, "64", 1, 65536, NULL,
     "request bodies held at once; a request past it gets 503 with Retry-After", F(inflight_max_mb),
     0},
    {"ANALYTICS_COLLECTOR_MAX_BODY_BYTES", CONFIG_INT, "1048576", 1024, 67108864, NULL,
     "largest request body accepted; larger gets 413", F(max_body_bytes), 0},
    {"ANALYTICS_COLLECTOR_MAX_BATCH", CONFIG_INT, "500", 1, 10000, NULL,
     "most events in one request", F(max_batch), 0},
    {"ANALYTICS_COLLECTOR_CORS_ORIGINS", CONFIG_STRING, "", 0, 0, NULL,
     "allowed browser origins, comma-separated (https://shop.example); * allows any",
     F(cors_origins), 0},
    {"ANALYTICS_COLLECTOR_WRITE_KEYS", CONFIG_STRING, "", 0, 0, NULL,
     "per-site write keys, site:key comma-separated; empty turns keys off", F(write_keys),
     CONFIG_SECRET},
    {"ANALYTICS_COLLECTOR_TRUSTED_PROXIES", CONFIG_STRING, "", 0, 0, NULL,
     "proxies (IPs or CIDRs) whose X-Forwarded-For is believed", F(trusted_proxies), 0},
    {"ANALYTICS_COLLECTOR_RATE_LIMIT", CONFIG_INT, "100", 0, 1000000, NULL,
     "requests per second per client (an IPv4 address or IPv6 network), wrong write keys "
     "included; 0 turns the limit off",
     F(rate_limit), 0},
    {"ANALYTICS_COLLECTOR_RATE_BURST", CONFIG_INT, "200", 1, 10000000, NULL,
     "requests a client IP may send at once before the rate applies", F(rate_burst), 0},
    {"ANALYTICS_COLLECTOR_RATE_LIMIT_IPV6_PREFIX", CONFIG_INT, "64", 32, 128, NULL,
     "IPv6 clients share one rate-limit bucket per network of this many bits (64: one "
     "subscriber's /64; 128: per address)",
     F(rate_limit_ipv6_prefix), 0},
    {"ANALYTICS_COLLECTOR_LINGER_MS", CONFIG_INT, "2", 0, 1000, NULL,
     "producer batching delay in ms", F(linger_ms), 0},
    {"ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS", CONFIG_INT, "4000", 1000, 4000, NULL,
     "how long the broker may take before an event is spooled instead (at most 4 s, so "
     "a shutdown fits in 10 s)",
     F(produce_timeout_ms), 0},
    {"ANALYTICS_COLLECTOR_QUEUE_MAX_EVENTS", CONFIG_INT, "200000", 1000, 10000000, NULL,
     "events the producer may hold in memory; beyond that (a slow broker) they go to the spool",
     F(queue_max_events), 0},
    {"ANALYTICS_COLLECTOR_CLOCK_SKEW_S", CONFIG_INT, "86400", 1, 31622400, NULL,
     "client clock difference beyond which an event is flagged clock_skew_suspect",
     F(skew_tolerance_s), 0},
    {"ANALYTICS_COLLECTOR_FUTURE_DAYS", CONFIG_INT, "2", 0, 2, NULL,
     "days after today (UTC) an event may be dated; later is rejected as future (the "
     "journey-builder refuses more than 2)",
     F(future_days), 0},
    {"ANALYTICS_COLLECTOR_TRACKER_DIR", CONFIG_STRING, "/usr/local/share/analytics/tracker", 0, 0,
     NULL,
     "directory of the built browser tracker (analytics.js and its analytics-*.js chunks, "
     "web/tracker), served at GET /analytics.js; missing files answer 404, events are taken "
     "all the same",
     F(tracker_dir), 0},
};

const size_t collector_config_nvars =
    sizeof(collector_config_vars) / sizeof(collector_config_vars[0]);

void collector_config_http(const struct collector_config *c, struct http_opts *ho)
{
    http_opts_default(ho);
    ho->listen = c->listen;
    ho->threads = (int)c->threads;
    ho->max_connections = (int)c->max_connections;
    ho->header_timeout_ms = (int)c->header_timeout_ms;
    ho->body_timeout_ms = (int)c->body_timeout_ms;
    ho->keep_alive_ms = (int)c->keep_alive_ms;
    ho->max_body_bytes = c->max_body_bytes;
    ho->inflight_max_bytes = c->inflight_max_mb << 20;
}

void collector_config_ingest(const struct collector_config *c, struct collector_topics *t,
                             struct ingest_opts *io)
{
    const char *prefix = c->svc.topic_prefix;

    *io = (struct ingest_opts){
        .brokers = c->svc.brokers,
        .kafka_debug = c->svc.kafka_debug,
        .topic_raw = kafka_topic_name(prefix, "events.raw", t->raw, sizeof(t->raw)),
        .topic_deadletter =
            kafka_topic_name(prefix, "deadletter", t->deadletter, sizeof(t->deadletter)),
        .linger_ms = (int)c->linger_ms,
        .produce_timeout_ms = (int)c->produce_timeout_ms,
        .queue_max_events = (int)c->queue_max_events,
    };
}
