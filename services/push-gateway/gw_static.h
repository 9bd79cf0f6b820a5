#ifndef PUSH_GATEWAY_GW_STATIC_H
#define PUSH_GATEWAY_GW_STATIC_H

/*
 * The dashboard's built files (web/dashboard, built into
 * ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR) served at / on the public
 * listener, next to the API: GET and HEAD only; / is index.html; a path
 * with an empty, "." or ".." segment, a segment starting with '.', a
 * backslash or a control byte is refused (404), and so is a directory (no
 * listing) and anything that resolves outside the directory (a symbolic
 * link out of it). Each file goes with its Content-Type, a strong ETag
 * (size, modification time and encoding), If-None-Match answered 304, a
 * pre-compressed sibling (.br, .gz) when the client accepts it, and a
 * Cache-Control by kind: under assets/ (content-hashed names) a year and
 * immutable, anything else (index.html) revalidated every time.
 *
 * The directory is looked for on every request: a missing one answers 503
 * saying so (logged once, gateway.dashboard_missing, while it stays
 * missing) and the API goes on; once it is built the files are served.
 * civetweb serves the request on one thread, so gw_static_serve blocks
 * that thread while it writes.
 */

#include <stdbool.h>
#include <stddef.h>

struct mg_connection;
struct gw_static;

#define GW_STATIC_PATH_MAX 1024 /* bytes of a file's path under the directory */

/* A server of the files under dir (copied). dir NULL, "" or "off": no
 * dashboard, every path 404. Returns NULL only when out of memory. */
struct gw_static *gw_static_new(const char *dir);
void gw_static_free(struct gw_static *s);

/* Logs what is served at / now: gateway.dashboard (the directory),
 * gateway.dashboard_off (none configured) or gateway.dashboard_missing (no
 * index.html there; not logged again until it has been found). */
void gw_static_log_state(struct gw_static *s);

/* Answers the request on c for path (decoded, as civetweb's local_uri)
 * with method. Returns the status sent. */
int gw_static_serve(struct gw_static *s, struct mg_connection *c, const char *method,
                    const char *path);

/* ---- pure parts, for the unit tests ---- */

/* The file path under the directory that the URL path names into
 * rel[rellen] ("/" is "index.html"). Returns 0, or -1 for a path refused
 * (see above) or too long. */
int gw_static_resolve(const char *path, char *rel, size_t rellen);

/* The Content-Type for rel by its extension (application/octet-stream for
 * one not known). */
const char *gw_static_type(const char *rel);

/* Whether a file of this name is worth sending compressed (text kinds). */
bool gw_static_compressible(const char *rel);

/* The Cache-Control value for rel. */
const char *gw_static_cache_control(const char *rel);

#endif
