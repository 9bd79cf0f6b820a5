#include "server.h"

#include "analytics/http.h"
#include "analytics/log.h"

#define HTTP_DRAIN_MS 5000 /* requests in flight at SIGTERM get this long */

int collector_server_start(struct collector_server *c, struct metrics *m)
{
    struct ingest_opts io;
    char err[512];

    c->m = m;
    c->spool = spool_open(c->cfg.spool_dir, (uint64_t)c->cfg.spool_max_mb << 20, 64u << 20,
                          c->cfg.spool_fsync, err, sizeof(err));
    if (c->spool == NULL) {
        log_error("spool.open_failed", LOG_STR("dir", c->cfg.spool_dir), LOG_STR("error", err));
        return -1;
    }
    collector_spool_metrics(m, c->spool);
    collector_config_ingest(&c->cfg, &c->topics, &io);
    io.spool = c->spool;
    io.metrics = m;
    c->ing = c->col.ingest = ingest_new(&io, err, sizeof(err));
    if (c->ing == NULL) {
        log_error("kafka.producer_failed", LOG_STR("error", err));
        return -1;
    }
    return 0;
}

int collector_server_serve(struct collector_server *c, int admin_port)
{
    char err[512];

    c->http = collector_listen(&c->col, c->m, err, sizeof(err));
    if (c->http == NULL) {
        log_error("http.listen_failed", LOG_STR("error", err));
        return -1;
    }
    log_info("collector.started", LOG_INT("port", http_bound_port(c->http)),
             LOG_INT("admin_port", admin_port),
             LOG_STR("ack", c->cfg.ack == COLLECTOR_ACK_DELIVERED ? "delivered" : "queued"));
    return 0;
}

void collector_server_stop(struct collector_server *c, long long deadline_mono_ms)
{
    if (c->ing != NULL) {
        ingest_begin_stop(c->ing);         /* the replay batch ends while requests drain */
        http_stop(c->http, HTTP_DRAIN_MS); /* delivered-mode waits included */
        c->http = NULL;
        ingest_stop(c->ing, deadline_mono_ms);
    }
}

void collector_server_fini(struct collector_server *c)
{
    http_stop(c->http, 0);
    c->http = NULL;
    ingest_free(c->ing);
    c->ing = NULL;
    spool_close(c->spool);
    c->spool = NULL;
    collector_fini(&c->col);
}
