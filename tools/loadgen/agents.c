#include "agents.h"

#include "analytics/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AGENTS_MAX_LEN 400

struct loadgen_agents {
    char **browsers; /* sorted, distinct, each its own malloc */
    size_t n;
    size_t cap;
};

/* Crawlers a small business site really sees; written here so the share of
 * bots is ours to choose rather than whatever a test file holds. */
static const char *const agents_bots[] = {
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.6099.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
};
#define AGENTS_NBOTS (sizeof(agents_bots) / sizeof(agents_bots[0]))

bool loadgen_agents_crawler_words(const char *ua)
{
    static const char *const words[] = {
        "bot",     "crawl",    "spider",  "slurp",   "http",       "fetch",        "feed",
        "preview", "archive",  "scan",    "monitor", "headless",   "phantom",      "python",
        "curl",    "wget",     "java/",   "check",   "validator",  "proxy",        "link",
        "scrape",  "ptst",     "openvas", "httrack", "statuscake", "pingdom",      "catchpoint",
        "gomez",   "datanyze", "zyborg",  "scooter", "wired/",     "maui runtime",
    };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasestr(ua, words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

/* True when s is a browser-like agent worth keeping. */
static bool agents_keep(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > AGENTS_MAX_LEN) {
        return false;
    }
    if (strncmp(s, "Mozilla/", 8) != 0 && strncmp(s, "Opera/", 6) != 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return false;
        }
    }
    return !loadgen_agents_crawler_words(s);
}

/* Appends a copy of s. Returns 0, or -1 when out of memory. */
static int agents_push(struct loadgen_agents *a, const char *s)
{
    char *copy;

    if (a->n == a->cap) {
        size_t cap = a->cap != 0 ? a->cap * 2 : 256;
        char **grown = realloc(a->browsers, cap * sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        a->browsers = grown;
        a->cap = cap;
    }
    copy = strdup(s);
    if (copy == NULL) {
        return -1;
    }
    a->browsers[a->n++] = copy;
    return 0;
}

/* Unquotes a YAML scalar in place: 'single' ('' for a quote), "double"
 * (rejected when it holds a backslash escape) or plain (trailing comment and
 * blanks cut). Returns the value, or NULL when it is not one we can read. */
static char *agents_unquote(char *v)
{
    size_t len = strlen(v);
    char *w, *r;

    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        v[--len] = '\0';
    }
    if (v[0] == '"') {
        char *close = strrchr(v + 1, '"');

        if (close == NULL || close == v || strchr(v + 1, '\\') != NULL) {
            return NULL;
        }
        *close = '\0';
        return v + 1;
    }
    if (v[0] != '\'') {
        char *hash = strstr(v, " #");

        if (hash != NULL) {
            *hash = '\0';
        }
        return v;
    }
    for (r = v + 1, w = v; *r != '\0'; r++) {
        if (*r == '\'') {
            if (r[1] != '\'') {
                *w = '\0';
                return v;
            }
            r++;
        }
        *w++ = *r;
    }
    return NULL; /* no closing quote */
}

/* Handles one line of the file. Returns 0, or -1 when out of memory. */
static int agents_line(struct loadgen_agents *a, char *line)
{
    static const char key[] = "user_agent_string:";
    char *p = line, *v;

    line[strcspn(line, "\r\n")] = '\0';
    while (*p == ' ' || *p == '\t' || *p == '-') {
        p++;
    }
    if (strncmp(p, key, sizeof(key) - 1) != 0) {
        return 0;
    }
    p += sizeof(key) - 1;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    v = agents_unquote(p);
    if (v == NULL || !agents_keep(v)) {
        return 0;
    }
    return agents_push(a, v);
}

static int agents_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorts and drops duplicates. */
static void agents_dedup(struct loadgen_agents *a)
{
    size_t w = 0;

    if (a->n == 0) {
        return; /* qsort takes no NULL array */
    }
    qsort(a->browsers, a->n, sizeof(a->browsers[0]), agents_cmp);
    for (size_t r = 0; r < a->n; r++) {
        if (w > 0 && strcmp(a->browsers[w - 1], a->browsers[r]) == 0) {
            free(a->browsers[r]);
            continue;
        }
        a->browsers[w++] = a->browsers[r];
    }
    a->n = w;
}

struct loadgen_agents *loadgen_agents_load(const char *path, char *err, size_t errlen)
{
    struct loadgen_agents *a = calloc(1, sizeof(*a));
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;

    if (a == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        errbuf_printf(err, errlen, "%s: %s", path, strerror(errno));
        goto out_free;
    }
    while (getline(&line, &cap, f) != -1) {
        if (agents_line(a, line) != 0) {
            errbuf_printf(err, errlen, "out of memory");
            goto out_free;
        }
    }
    if (ferror(f)) {
        errbuf_printf(err, errlen, "%s: read error", path);
        goto out_free;
    }
    agents_dedup(a);
    if (a->n == 0) {
        errbuf_printf(err, errlen, "%s: no browser user_agent_string found", path);
        goto out_free;
    }
    free(line);
    fclose(f);
    return a;

out_free:
    free(line);
    if (f != NULL) {
        fclose(f);
    }
    loadgen_agents_free(a);
    return NULL;
}

struct loadgen_agents *loadgen_agents_from(const char *const *browsers, size_t n)
{
    struct loadgen_agents *a;

    if (n == 0) {
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (agents_push(a, browsers[i]) != 0) {
            loadgen_agents_free(a);
            return NULL;
        }
    }
    return a;
}

size_t loadgen_agents_browsers(const struct loadgen_agents *a)
{
    return a->n;
}

size_t loadgen_agents_total(const struct loadgen_agents *a)
{
    return a->n + AGENTS_NBOTS;
}

const char *loadgen_agents_get(const struct loadgen_agents *a, size_t i)
{
    return i < a->n ? a->browsers[i] : agents_bots[i - a->n];
}

bool loadgen_agents_is_bot(const struct loadgen_agents *a, size_t i)
{
    return i >= a->n;
}

void loadgen_agents_free(struct loadgen_agents *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->browsers[i]);
    }
    free(a->browsers);
    free(a);
}
