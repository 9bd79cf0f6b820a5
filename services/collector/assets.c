/*
 * The tracker's files on the public listener (analytics.js and its
 * chunks): held in memory with a gzip copy, reloaded when the file changes.
 * Contract in assets.h.
 */
#include "assets.h"

#include "analytics/http.h"
#include "analytics/httpcache.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#define ZLIB_CONST /* next_in is const: the file's bytes are not ours to change */
#include <zlib.h>

#define ASSETS_STATUSES 5 /* 200, 304, 404, 405, other */

/* One file served. */
struct asset {
    struct assets *set;
    char path[PATH_MAX];
    char url[64]; /* "/analytics.js" */
    pthread_mutex_t lock;
    bool loaded;            /* body, gz and etag hold the stamp's version */
    bool failing;           /* the last load failed (logged once per failure) */
    struct fileio_stamp st; /* of the version held */
    char *body;
    size_t len;
    char *gz; /* NULL when compressing failed: body is served */
    size_t gzlen;
    char etag[64];
};

struct assets {
    struct asset files[ASSETS_MAX];
    struct http_route routes[ASSETS_MAX];
    size_t n;
    struct metric *m_status[ASSETS_STATUSES];
};

static const int assets_statuses[ASSETS_STATUSES] = {200, 304, 404, 405, 0};
static const char *const assets_status_labels[ASSETS_STATUSES] = {
    "status=\"200\"", "status=\"304\"", "status=\"404\"", "status=\"405\"", "status=\"other\""};

/* ---- pure parts ---- */

bool assets_name_ok(const char *name)
{
    static const char pre[] = "analytics-";
    size_t n = strlen(name);

    if (strcmp(name, ASSETS_MAIN) == 0) {
        return true;
    }
    if (n <= sizeof(pre) - 1 + 3 || strncmp(name, pre, sizeof(pre) - 1) != 0 ||
        strcmp(name + n - 3, ".js") != 0) {
        return false;
    }
    for (size_t i = sizeof(pre) - 1; i < n - 3; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

void assets_etag(const struct fileio_stamp *st, char *out, size_t outlen)
{
    snprintf(out, outlen, "\"%llx-%llx\"", (unsigned long long)st->size,
             (unsigned long long)st->mtime_ns);
}

char *assets_gzip(const char *in, size_t len, size_t *outlen)
{
    z_stream zs;
    char *out = NULL;
    size_t cap;

    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16: a gzip wrapper around the deflate stream */
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return NULL;
    }
    cap = deflateBound(&zs, (uLong)len);
    out = malloc(cap);
    if (out == NULL) {
        goto out_end;
    }
    zs.next_in = (const Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        free(out);
        out = NULL;
        goto out_end;
    }
    *outlen = cap - zs.avail_out;
out_end:
    deflateEnd(&zs);
    return out;
}

/* ---- one file ---- */

/* Forgets the version held (the file is gone). */
static void asset_drop(struct asset *a)
{
    free(a->body);
    free(a->gz);
    a->body = a->gz = NULL;
    a->len = a->gzlen = 0;
    a->loaded = false;
}

/* Loads a's file when it changed since the version held (or none is).
 * A file gone is gone; one that cannot be read, or changed while it was
 * read (a build writing it), leaves the old version served. Called with
 * a->lock held. */
static void asset_refresh(struct asset *a)
{
    struct fileio_stamp before, after;
    char err[PATH_MAX + 64];
    size_t len = 0, gzlen = 0;
    char *body, *gz;

    if (fileio_stamp(a->path, &before) == -1) {
        snprintf(err, sizeof(err), "%s: %s", a->path, strerror(errno));
        asset_drop(a);
        goto out_failed;
    }
    if (a->loaded && fileio_stamp_same(&before, &a->st)) {
        return;
    }
    body = fileio_read(a->path, ASSETS_FILE_MAX, &len, err, sizeof(err));
    if (body == NULL) {
        goto out_failed;
    }
    if (fileio_stamp(a->path, &after) == -1 || !fileio_stamp_same(&before, &after)) {
        free(body);
        return; /* being written: the next request looks again */
    }
    gz = assets_gzip(body, len, &gzlen);
    asset_drop(a);
    a->body = body;
    a->len = len;
    a->gz = gz;
    a->gzlen = gz != NULL ? gzlen : 0;
    a->st = before;
    assets_etag(&before, a->etag, sizeof(a->etag));
    a->loaded = true;
    a->failing = false;
    log_info("collector.tracker_loaded", LOG_STR("file", a->path), LOG_INT("bytes", (long long)len),
             LOG_INT("gzip_bytes", (long long)a->gzlen));
    return;
out_failed:
    if (!a->failing) {
        log_warn("collector.tracker_unavailable", LOG_STR("url", a->url), LOG_STR("error", err),
                 LOG_STR("hint", "build it (cmake --build build) or set "
                                 "ANALYTICS_COLLECTOR_TRACKER_DIR"));
    }
    a->failing = true;
}

static void asset_count(struct asset *a, int status)
{
    for (int i = 0; i < ASSETS_STATUSES; i++) {
        if (assets_statuses[i] == status || assets_statuses[i] == 0) {
            metric_add(a->set->m_status[i], 1);
            return;
        }
    }
}

/* Sends the version held (a->lock held): 304, or 200 with the gzip copy
 * when the client takes it. */
static int asset_send(struct asset *a, struct http_request *r)
{
    bool gz = a->gz != NULL &&
              (http_accept_codings(http_header(r, "Accept-Encoding")) & HTTP_CODING_GZIP) != 0;
    char headers[512];

    snprintf(headers, sizeof(headers),
             "Cache-Control: " ASSETS_CACHE_CONTROL "\r\nETag: %s\r\nVary: Accept-Encoding\r\n"
             "Access-Control-Allow-Origin: *\r\nCross-Origin-Resource-Policy: cross-origin\r\n"
             "X-Content-Type-Options: nosniff\r\n%s",
             a->etag, gz ? "Content-Encoding: gzip\r\n" : "");
    if (http_etag_match(http_header(r, "If-None-Match"), a->etag)) {
        return http_send(r, 304, NULL, NULL, 0, headers);
    }
    return http_send(r, 200, "text/javascript; charset=utf-8", gz ? a->gz : a->body,
                     gz ? a->gzlen : a->len, headers);
}

/* The route's check: a GET or HEAD has no body, so the answer is given
 * here. Returns the status sent. */
static int asset_serve(void *arg, struct http_request *r)
{
    struct asset *a = arg;
    const char *m = http_method(r);
    int status;

    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        status = http_send_json(r, 405, "{\"error\":\"method not allowed; use GET\"}\n",
                                "Allow: GET, HEAD\r\n");
        asset_count(a, status);
        return status;
    }
    pthread_mutex_lock(&a->lock);
    asset_refresh(a);
    if (a->loaded) {
        status = asset_send(a, r);
    } else {
        status = http_send_json(r, 404,
                                "{\"error\":\"the tracker script is not installed on this "
                                "collector\"}\n",
                                "Cache-Control: no-store\r\n");
    }
    pthread_mutex_unlock(&a->lock);
    asset_count(a, status);
    return status;
}

/* Never called: asset_serve answers every request before a body. */
static int asset_handle(void *arg, struct http_request *r)
{
    (void)arg;
    return http_send_json(r, 500, "{\"error\":\"no response\"}\n", NULL);
}

static void asset_refused(void *arg, int status)
{
    asset_count(arg, status);
}

/* ---- the set ---- */

/* Adds dir/name to a. Returns 0, or -1 when it is full or the path is too
 * long. */
static int assets_add(struct assets *a, const char *dir, const char *name)
{
    struct asset *f;

    if (a->n == ASSETS_MAX) {
        return -1;
    }
    f = &a->files[a->n];
    if (snprintf(f->path, sizeof(f->path), "%s/%s", dir, name) >= (int)sizeof(f->path)) {
        return -1;
    }
    snprintf(f->url, sizeof(f->url), "/%s", name);
    f->set = a;
    pthread_mutex_init(&f->lock, NULL);
    a->routes[a->n] = (struct http_route){f->url, asset_serve, asset_handle, asset_refused, f};
    a->n++;
    pthread_mutex_lock(&f->lock);
    asset_refresh(f);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* Adds the chunks (analytics-*.js) in dir, in name order. */
static void assets_scan(struct assets *a, const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        return; /* the main file's load has said why */
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ASSETS_MAIN) != 0 && assets_name_ok(name) &&
            assets_add(a, dir, name) != 0) {
            log_warn("collector.tracker_skipped", LOG_STR("file", name),
                     LOG_STR("why", "too many files or too long a path"));
        }
        free(names[i]);
    }
    free(names);
}

struct assets *assets_new(const char *dir, struct metrics *metrics)
{
    struct assets *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    if (dir == NULL) {
        dir = "";
    }
    for (int i = 0; i < ASSETS_STATUSES && metrics != NULL; i++) {
        a->m_status[i] =
            metrics_counter(metrics, "analytics_collector_tracker_requests_total",
                            "Requests for the tracker's files by status", assets_status_labels[i]);
    }
    if (assets_add(a, dir, ASSETS_MAIN) != 0) {
        log_warn("collector.tracker_unavailable", LOG_STR("dir", dir),
                 LOG_STR("error", "path too long"));
    }
    assets_scan(a, dir);
    log_info("collector.tracker_files", LOG_STR("dir", dir), LOG_INT("files", (long long)a->n));
    return a;
}

void assets_free(struct assets *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        pthread_mutex_destroy(&a->files[i].lock);
        free(a->files[i].body);
        free(a->files[i].gz);
    }
    free(a);
}

size_t assets_routes(const struct assets *a, const struct http_route **routes)
{
    *routes = a->routes;
    return a->n;
}
