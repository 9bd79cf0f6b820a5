#ifndef COLLECTOR_ASSETS_H
#define COLLECTOR_ASSETS_H

/*
 * The browser tracker's files on the public listener: GET (and HEAD)
 * /analytics.js and the chunks it imports (/analytics-<name>.js), read from
 * ANALYTICS_COLLECTOR_TRACKER_DIR, so a site adds one script tag pointing at
 * its collector.
 *
 * Each file is held in memory with a gzip copy (made with zlib) and
 * reloaded when it changes on disk (its device, inode, size or mtime), so a
 * new build is served without a restart. Answers: 200 with
 * text/javascript, Cache-Control (five minutes), an ETag from the file's
 * size and mtime, the gzip copy to clients that accept it, and
 * Access-Control-Allow-Origin: * (the chunks are ES modules, fetched in
 * CORS mode from the site's pages); 304 for a matching If-None-Match; 404
 * while the file is missing or unreadable (logged once, with the path and
 * the reason; the collector keeps taking events); 405 for other methods.
 *
 * /analytics.js is always routed; chunks are those present in the
 * directory when the collector starts.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/fileio.h"

struct http_route;
struct metrics;
struct assets;

#define ASSETS_MAX 16              /* files served at most */
#define ASSETS_FILE_MAX (4u << 20) /* bytes of one file */
#define ASSETS_MAIN "analytics.js" /* the script tag's file */
#define ASSETS_CACHE_CONTROL "public, max-age=300"

/* Makes the file set of dir (borrowed for the call): analytics.js and each
 * analytics-*.js in it now, loaded at once (a missing file is logged and
 * answered 404 until it appears). metrics (optional, borrowed for the
 * registry's life) gets analytics_collector_tracker_requests_total.
 * Returns the set (caller frees with assets_free), or NULL when memory ran
 * out. */
struct assets *assets_new(const char *dir, struct metrics *metrics);

/* Frees the set. Accepts NULL. Its routes must not be served any more. */
void assets_free(struct assets *a);

/* The routes, one per file (borrowed; valid until assets_free). Returns
 * their number. */
size_t assets_routes(const struct assets *a, const struct http_route **routes);

/* ---- pure parts (for the tests) ---- */

/* Whether name is a file we serve: "analytics.js", or "analytics-" and one
 * or more of [a-z0-9-] and ".js". */
bool assets_name_ok(const char *name);

/* Writes the strong ETag of a file version (quotes included) into out. */
void assets_etag(const struct fileio_stamp *st, char *out, size_t outlen);

/* Compresses in[0..len) as a gzip file into a new buffer (caller frees),
 * its length in *outlen. Returns NULL when memory ran out or zlib failed. */
char *assets_gzip(const char *in, size_t len, size_t *outlen);

#endif
