#include "gw_static.h"

#include "analytics/httpcache.h"
#include "analytics/log.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_CHUNK 16384

struct gw_static {
    char *dir;           /* as configured; "" when off */
    atomic_bool missing; /* logged missing, and not seen since */
};

/* Extensions and their types; the text kinds are worth compressing. */
static const struct {
    const char *ext;
    const char *type;
    bool text;
} static_types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json", true},
    {".map", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".png", "image/png", false},
    {".ico", "image/x-icon", false},
    {".webp", "image/webp", false},
    {".woff2", "font/woff2", false},
};

#define STATIC_NTYPES (sizeof(static_types) / sizeof(static_types[0]))

/* The security headers of a page (the dashboard talks to its own origin
 * only; ECharts' tooltips carry inline styles). */
#define STATIC_PAGE_HEADERS                                                                        \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; "                             \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "           \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'\r\n"           \
    "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"

/* ---- pure parts ---- */

/* Whether the segment s[0..n) may name a file or directory. */
static bool static_segment_ok(const char *s, size_t n)
{
    if (n == 0 || n > 255 || s[0] == '.') { /* also "." and ".." */
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            return false;
        }
    }
    return true;
}

int gw_static_resolve(const char *path, char *rel, size_t rellen)
{
    size_t len;

    if (path == NULL || path[0] != '/' || rellen == 0) {
        return -1;
    }
    path++;
    if (path[0] == '\0') {
        path = "index.html";
    }
    len = strlen(path);
    if (len >= rellen || len >= GW_STATIC_PATH_MAX) {
        return -1;
    }
    for (const char *seg = path;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
        if (!static_segment_ok(seg, n)) { /* a trailing '/' is an empty segment: no listing */
            return -1;
        }
        if (slash == NULL) {
            break;
        }
        seg = slash + 1;
    }
    memcpy(rel, path, len + 1);
    return 0;
}

/* The entry of static_types for rel's extension, or -1. */
static int static_kind(const char *rel)
{
    const char *dot = strrchr(rel, '.');
    const char *slash = strrchr(rel, '/');

    if (dot == NULL || (slash != NULL && dot < slash)) {
        return -1;
    }
    for (size_t i = 0; i < STATIC_NTYPES; i++) {
        if (strcasecmp(dot, static_types[i].ext) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *gw_static_type(const char *rel)
{
    int k = static_kind(rel);

    return k >= 0 ? static_types[k].type : "application/octet-stream";
}

bool gw_static_compressible(const char *rel)
{
    int k = static_kind(rel);

    return k >= 0 && static_types[k].text;
}

const char *gw_static_cache_control(const char *rel)
{
    /* The build names what is under assets/ by content hash, so a name
     * never changes meaning; index.html names the current ones. */
    return strncmp(rel, "assets/", 7) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
}

/* ---- serving ---- */

struct gw_static *gw_static_new(const char *dir)
{
    struct gw_static *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->dir = strdup(dir != NULL && strcmp(dir, "off") != 0 ? dir : "");
    if (s->dir == NULL) {
        free(s);
        return NULL;
    }
    atomic_init(&s->missing, false);
    return s;
}

void gw_static_free(struct gw_static *s)
{
    if (s == NULL) {
        return;
    }
    free(s->dir);
    free(s);
}

/* The directory's real path into root (PATH_MAX bytes). Returns 0, or -1
 * when it is not there (or not a directory). */
static int static_root(const struct gw_static *s, char *root)
{
    struct stat st;

    if (s->dir[0] == '\0' || realpath(s->dir, root) == NULL) {
        return -1;
    }
    return stat(root, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Whether the directory holds an index.html now. */
static bool static_present(const struct gw_static *s)
{
    char root[PATH_MAX], index[PATH_MAX + 16];
    struct stat st;

    if (static_root(s, root) != 0) {
        return false;
    }
    snprintf(index, sizeof(index), "%s/index.html", root);
    return stat(index, &st) == 0 && S_ISREG(st.st_mode);
}

#define STATIC_MISSING_HINT                                                                        \
    "build it (cmake --build build, target web) or set ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR; "     \
    "meanwhile / answers 503 and the API works"

void gw_static_log_state(struct gw_static *s)
{
    if (s->dir[0] == '\0') {
        log_info("gateway.dashboard_off",
                 LOG_STR("why", "ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR is off"));
    } else if (static_present(s)) {
        log_info("gateway.dashboard", LOG_STR("dir", s->dir));
    } else {
        atomic_store(&s->missing, true);
        log_warn("gateway.dashboard_missing", LOG_STR("dir", s->dir),
                 LOG_STR("hint", STATIC_MISSING_HINT));
    }
}

/* Opens root/rel (suffix appended: ".br", ".gz" or "") for reading when it
 * is a regular file whose real path is under root. Returns the descriptor
 * with *st, or -1. */
static int static_open(const char *root, const char *rel, const char *suffix, struct stat *st)
{
    char path[PATH_MAX + GW_STATIC_PATH_MAX + 8], real[PATH_MAX];
    size_t rn = strlen(root);
    int n = snprintf(path, sizeof(path), "%s/%s%s", root, rel, suffix);

    if (n < 0 || (size_t)n >= sizeof(path) || realpath(path, real) == NULL ||
        strncmp(real, root, rn) != 0 || real[rn] != '/') {
        return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        return -1;
    }
    if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A plain-text answer with status (errors of the static side: the API's
 * are JSON, a browser shows these). */
static int static_text(struct mg_connection *c, int status, const char *extra, const char *text)
{
    size_t n = strlen(text);

    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\n%s\r\n",
              status, mg_get_response_code_text(c, status), n, extra != NULL ? extra : "");
    mg_write(c, text, n);
    return status;
}

/* The 503 of a missing directory, logged once while it stays missing. */
static int static_missing(struct gw_static *s, struct mg_connection *c)
{
    if (!atomic_exchange(&s->missing, true)) {
        log_warn("gateway.dashboard_missing", LOG_STR("dir", s->dir),
                 LOG_STR("hint", STATIC_MISSING_HINT));
    }
    return static_text(c, 503, "Retry-After: 10\r\n",
                       "The dashboard is not built here yet: its directory "
                       "(ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR) is missing. The API under "
                       "/api/analytics/ works.\n");
}

/* Writes the open file fd of size bytes to c. */
static void static_copy(struct mg_connection *c, int fd, long long size)
{
    char buf[STATIC_CHUNK];
    long long left = size;

    while (left > 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || mg_write(c, buf, (size_t)n) <= 0) {
            break; /* the length was sent: the client sees a short body and retries */
        }
        left -= n;
    }
}

int gw_static_serve(struct gw_static *s, struct mg_connection *c, const char *method,
                    const char *path)
{
    char rel[GW_STATIC_PATH_MAX], root[PATH_MAX], etag[96];
    const char *enc = "", *suffix = "";
    struct stat st;
    int fd = -1;
    bool head = strcmp(method, "HEAD") == 0;

    if (!head && strcmp(method, "GET") != 0) {
        return static_text(c, 405, "Allow: GET, HEAD\r\n", "Only GET and HEAD here.\n");
    }
    if (s->dir[0] == '\0') {
        return static_text(c, 404, NULL, "Not found (no dashboard is configured).\n");
    }
    if (static_root(s, root) != 0) {
        return static_missing(s, c);
    }
    if (gw_static_resolve(path, rel, sizeof(rel)) != 0) {
        return static_text(c, 404, NULL, "Not found.\n");
    }
    int accepts =
        gw_static_compressible(rel) ? http_accept_codings(mg_get_header(c, "Accept-Encoding")) : 0;
    if ((accepts & HTTP_CODING_BR) != 0 && (fd = static_open(root, rel, ".br", &st)) != -1) {
        enc = "Content-Encoding: br\r\n", suffix = "-br";
    } else if ((accepts & HTTP_CODING_GZIP) != 0 &&
               (fd = static_open(root, rel, ".gz", &st)) != -1) {
        enc = "Content-Encoding: gzip\r\n", suffix = "-gz";
    } else if ((fd = static_open(root, rel, "", &st)) == -1) {
        return strcmp(rel, "index.html") == 0 ? static_missing(s, c)
                                              : static_text(c, 404, NULL, "Not found.\n");
    }
    if (atomic_load(&s->missing) && atomic_exchange(&s->missing, false)) {
        log_info("gateway.dashboard_found", LOG_STR("dir", s->dir));
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st.st_mtim.tv_nsec,
             suffix);
    const char *page =
        strcmp(gw_static_type(rel), static_types[0].type) == 0 ? STATIC_PAGE_HEADERS : "";
    const char *vary = gw_static_compressible(rel) ? "Vary: Accept-Encoding\r\n" : "";
    if (http_etag_match(mg_get_header(c, "If-None-Match"), etag)) {
        mg_printf(c, "HTTP/1.1 304 Not Modified\r\nETag: %s\r\nCache-Control: %s\r\n%s\r\n", etag,
                  gw_static_cache_control(rel), vary);
        close(fd);
        return 304;
    }
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\nETag: %s\r\n"
              "Cache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n%s%s%s\r\n",
              gw_static_type(rel), (long long)st.st_size, etag, gw_static_cache_control(rel), enc,
              vary, page);
    if (!head) {
        static_copy(c, fd, (long long)st.st_size);
    }
    close(fd);
    return 200;
}
