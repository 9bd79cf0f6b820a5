#define PCRE2_CODE_UNIT_WIDTH 8
#include "bot.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/log.h"

/*
 * How matching is fast: PCRE2 tries the branches of an alternation one by
 * one at every start position, so one regex of all ~1500 patterns costs
 * hundreds of microseconds per agent. Instead each pattern is compiled (JIT)
 * on its own and filed under one 3-byte string that every match of it must
 * contain (a "gram", taken from the pattern's literal runs, the rarest among
 * the patterns). Matching looks up each 3-byte window of the agent in a hash
 * table of grams and runs only the patterns filed there. The few patterns
 * without such a literal form one alternation that always runs.
 */

/* The package's file is about 0.5 MiB; anything far larger is not it. */
#define BOT_PATTERNS_MAX_BYTES (64u * 1024u * 1024u)

/* JavaScript's "$" matches only at the very end; so does PCRE2's with
 * DOLLAR_ENDONLY. No UTF: agents are arbitrary bytes, patterns are ASCII. */
#define BOT_PCRE2_OPTIONS PCRE2_DOLLAR_ENDONLY

/* Most literal grams one pattern yields that are considered. */
#define BOT_MAX_GRAMS 256

struct bot_gram {
    uint32_t key;   /* gram | 1 << 24; 0 marks an empty slot */
    uint32_t first; /* into cands */
    uint32_t count;
};

struct bot_detector {
    pcre2_code **res; /* one per usable pattern, JIT-compiled */
    size_t patterns;  /* entries of res */
    size_t skipped;   /* entries rejected */
    struct bot_gram *grams;
    size_t gmask;       /* slots - 1 (a power of two minus one) */
    uint32_t *cands;    /* pattern ids grouped by gram */
    pcre2_code *rest;   /* alternation of patterns with no gram, or NULL */
    uint32_t *rest_ids; /* the same patterns, tried one by one if rest is NULL */
    size_t nrest;
};

/* ---- per-thread match data ---------------------------------------------- */

static pthread_key_t bot_md_key;
static pthread_once_t bot_md_once = PTHREAD_ONCE_INIT;
static int bot_md_key_rc = -1;

static void bot_md_destroy(void *p)
{
    pcre2_match_data_free(p);
}

static void bot_md_key_create(void)
{
    bot_md_key_rc = pthread_key_create(&bot_md_key, bot_md_destroy);
}

/* Returns this thread's match block (one ovector pair: only "did it match" is
 * asked), creating it on first use; freed when the thread exits. Returns
 * NULL when memory runs out. */
static pcre2_match_data *bot_md_get(void)
{
    pcre2_match_data *md;

    if (pthread_once(&bot_md_once, bot_md_key_create) != 0 || bot_md_key_rc != 0) {
        return NULL;
    }
    md = pthread_getspecific(bot_md_key);
    if (md != NULL) {
        return md;
    }
    md = pcre2_match_data_create(1, NULL);
    if (md == NULL) {
        return NULL;
    }
    if (pthread_setspecific(bot_md_key, md) != 0) {
        pcre2_match_data_free(md);
        return NULL;
    }
    return md;
}

/* ---- literal grams of a pattern ------------------------------------------ */

static int bot_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Returns the index just past the group or class that starts at p[i] ('('
 * or '['), or 0 when it is not closed. */
static size_t bot_skip_nested(const char *p, size_t i)
{
    int depth = 0;
    bool in_class = false;

    for (; p[i] != '\0'; i++) {
        char c = p[i];
        if (c == '\\') {
            if (p[i + 1] == '\0') {
                return 0;
            }
            i++;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
            if (p[i + 1] == '^') {
                i++;
            }
            if (p[i + 1] == ']') {
                i++;
            }
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth == 0) {
                return i + 1;
            }
        }
        if (!in_class && depth == 0) {
            return i + 1; /* a class at top level just closed */
        }
    }
    return 0;
}

/* Adds the grams of run[0..len) to grams (at most BOT_MAX_GRAMS). */
static void bot_run_grams(const unsigned char *run, size_t len, uint32_t *grams, size_t *n)
{
    for (size_t i = 0; i + 3 <= len && *n < BOT_MAX_GRAMS; i++) {
        grams[(*n)++] = (uint32_t)run[i] << 16 | (uint32_t)run[i + 1] << 8 | run[i + 2];
    }
}

/* Finds the 3-byte strings every match of pattern p must contain: the ones
 * inside runs of literal characters at the top level of the pattern.
 * Conservative: a pattern with a top-level '|', "(?", an escape it does not
 * know or a brace yields none. Returns the number written to grams. */
static size_t bot_pattern_grams(const char *p, uint32_t *grams)
{
    unsigned char run[512];
    size_t rlen = 0;
    size_t n = 0;
    size_t i = 0;

    if (strstr(p, "(?") != NULL) {
        return 0;
    }
    while (p[i] != '\0') {
        unsigned char c = (unsigned char)p[i];
        unsigned char q;
        if (c == '(' || c == '[') {
            size_t j = bot_skip_nested(p, i);
            if (j == 0) {
                return 0;
            }
            bot_run_grams(run, rlen, grams, &n);
            rlen = 0;
            i = j;
            continue;
        }
        if (c == '|' || c == '{' || c == '}' || c == ')' || c == ']') {
            return 0;
        }
        if (c == '.' || c == '^' || c == '$' || c == '?' || c == '*' || c == '+') {
            bot_run_grams(run, rlen, grams, &n);
            rlen = 0;
            i++;
            continue;
        }
        if (c == '\\') {
            c = (unsigned char)p[i + 1];
            if (c == '\0') {
                return 0;
            }
            if (bot_is_alnum(c)) {
                if (strchr("dDwWsSbB", c) == NULL) {
                    return 0; /* \x41, \u0041, \1, ...: not worth decoding */
                }
                bot_run_grams(run, rlen, grams, &n);
                rlen = 0;
                i += 2;
                continue;
            }
            i++; /* an escaped punctuation character is itself */
        }
        /* c is a literal character at p[i]; a quantifier may follow. */
        q = (unsigned char)p[i + 1];
        if (q == '?' || q == '*' || q == '{') {
            bot_run_grams(run, rlen, grams, &n); /* c is optional */
            rlen = 0;
            i++;
            continue;
        }
        if (rlen == sizeof(run)) {
            bot_run_grams(run, rlen, grams, &n);
            rlen = 0;
        }
        run[rlen++] = c;
        i++;
        if (q == '+') {
            bot_run_grams(run, rlen, grams, &n); /* c repeats: the run ends */
            rlen = 0;
        }
    }
    bot_run_grams(run, rlen, grams, &n);
    return n;
}

/* ---- a small counting table of grams ----------------------------------------- */

/* Returns the slot of gram in the table (slots mask + 1, open addressing),
 * which holds it or is empty. */
static struct bot_gram *bot_gram_slot(struct bot_gram *t, size_t mask, uint32_t gram)
{
    uint32_t key = gram | 1u << 24;
    size_t h = (size_t)((key * 2654435761u) >> 8) & mask;

    while (t[h].key != 0 && t[h].key != key) {
        h = (h + 1) & mask;
    }
    return &t[h];
}

static const struct bot_gram *bot_gram_find(const struct bot_gram *t, size_t mask, uint32_t gram)
{
    uint32_t key = gram | 1u << 24;
    size_t h = (size_t)((key * 2654435761u) >> 8) & mask;

    while (t[h].key != 0) {
        if (t[h].key == key) {
            return &t[h];
        }
        h = (h + 1) & mask;
    }
    return NULL;
}

/* ---- loading -------------------------------------------------------------- */
/* Builds "(?:p1)|(?:p2)|..." of the patterns ids[0..n) into a new string
 * (caller frees), or NULL when memory runs out. */
static char *bot_join(const char *const *pats, const uint32_t *ids, size_t n, size_t *len_out)
{
    size_t len = 0;
    char *s;
    char *w;

    for (size_t i = 0; i < n; i++) {
        len += strlen(pats[ids[i]]) + sizeof("(?:)|") - 1;
    }
    s = malloc(len + 1);
    if (s == NULL) {
        return NULL;
    }
    w = s;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(pats[ids[i]]);
        if (i > 0) {
            *w++ = '|';
        }
        memcpy(w, "(?:", 3);
        w += 3;
        memcpy(w, pats[ids[i]], k);
        w += k;
        *w++ = ')';
    }
    *w = '\0';
    *len_out = (size_t)(w - s);
    return s;
}

/* Compiles one pattern (JIT when the platform has it). Returns NULL when
 * PCRE2 rejects it, with the message in msg and the offset in *off. */
static pcre2_code *bot_compile(const char *src, size_t len, char *msg, size_t msglen, size_t *off)
{
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, len, BOT_PCRE2_OPTIONS, &ecode, &eoff, NULL);

    if (re == NULL) {
        if (pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, msglen) < 0 && msglen > 0) {
            msg[0] = '\0';
        }
        *off = eoff;
        return NULL;
    }
    /* Without JIT support pcre2_match interprets; still correct. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

/* Collects the "pattern" strings of the array that PCRE2 accepts into
 * pats (borrowed from root) and compiles each into d->res. Entries without
 * one, or that PCRE2 rejects, are logged and counted in d->skipped. Returns
 * 0, or -1 with the reason in err. */
static int bot_compile_all(struct bot_detector *d, const cJSON *root, const char **pats, char *err,
                           size_t errlen)
{
    const cJSON *item;
    int idx = -1;

    cJSON_ArrayForEach(item, root)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "pattern");
        char msg[256];
        size_t off = 0;
        pcre2_code *re;

        idx++;
        if (!cJSON_IsString(p) || p->valuestring[0] == '\0') {
            log_warn("bot.pattern_skipped", LOG_INT("index", idx),
                     LOG_STR("error", "no \"pattern\" string"));
            d->skipped++;
            continue;
        }
        re = bot_compile(p->valuestring, strlen(p->valuestring), msg, sizeof(msg), &off);
        if (re == NULL) {
            log_warn("bot.pattern_skipped", LOG_INT("index", idx),
                     LOG_STR("pattern", p->valuestring), LOG_STR("error", msg),
                     LOG_INT("offset", off));
            d->skipped++;
            continue;
        }
        pats[d->patterns] = p->valuestring;
        d->res[d->patterns++] = re;
    }
    if (d->patterns == 0) {
        errbuf_printf(err, errlen, "no usable pattern (%zu skipped)", d->skipped);
        return -1;
    }
    return 0;
}

static int bot_cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a;
    const uint64_t *y = b;

    return *x < *y ? -1 : *x > *y;
}

/* Files every pattern under its rarest gram (d->grams, d->cands), or into
 * the always-run set (d->rest) when it has none. Returns 0, or -1 when
 * memory runs out. */
static int bot_index(struct bot_detector *d, const char *const *pats)
{
    size_t n = d->patterns;
    size_t slots = 16;
    struct bot_gram *count = NULL;
    uint64_t *pairs = NULL; /* gram << 32 | pattern id */
    uint32_t *grams = NULL;
    size_t npairs = 0;
    int rc = -1;

    size_t total = 0;

    grams = calloc(BOT_MAX_GRAMS, sizeof(*grams));
    if (grams == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        total += bot_pattern_grams(pats[i], grams);
    }
    /* At most half full, so probing always ends at an empty slot. */
    while (slots < 2 * total + 16) {
        slots *= 2;
    }
    count = calloc(slots, sizeof(*count));
    d->grams = calloc(slots, sizeof(*d->grams));
    pairs = calloc(n, sizeof(*pairs));
    d->cands = calloc(n, sizeof(*d->cands));
    d->rest_ids = calloc(n, sizeof(*d->rest_ids));
    if (count == NULL || d->grams == NULL || pairs == NULL || grams == NULL || d->cands == NULL ||
        d->rest_ids == NULL) {
        goto out;
    }
    d->gmask = slots - 1;
    /* How many patterns each gram occurs in (a pattern counted once per
     * occurrence: close enough to choose by). */
    for (size_t i = 0; i < n; i++) {
        size_t ng = bot_pattern_grams(pats[i], grams);
        for (size_t g = 0; g < ng; g++) {
            struct bot_gram *s = bot_gram_slot(count, d->gmask, grams[g]);
            s->key = grams[g] | 1u << 24;
            s->count++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t ng = bot_pattern_grams(pats[i], grams);
        uint32_t best = 0;
        uint32_t best_count = UINT32_MAX;
        for (size_t g = 0; g < ng; g++) {
            uint32_t c = bot_gram_slot(count, d->gmask, grams[g])->count;
            if (c < best_count) {
                best_count = c;
                best = grams[g];
            }
        }
        if (ng == 0) {
            d->rest_ids[d->nrest++] = (uint32_t)i;
        } else {
            pairs[npairs++] = (uint64_t)best << 32 | i;
        }
    }
    qsort(pairs, npairs, sizeof(*pairs), bot_cmp_pair);
    for (size_t i = 0; i < npairs; i++) {
        struct bot_gram *s = bot_gram_slot(d->grams, d->gmask, (uint32_t)(pairs[i] >> 32));
        if (s->key == 0) {
            s->key = (uint32_t)(pairs[i] >> 32) | 1u << 24;
            s->first = (uint32_t)i;
        }
        s->count++;
        d->cands[i] = (uint32_t)pairs[i];
    }
    if (d->nrest > 0) {
        size_t len;
        char msg[256];
        size_t off;
        char *src = bot_join(pats, d->rest_ids, d->nrest, &len);
        if (src == NULL) {
            goto out;
        }
        /* Each part compiled alone; together they only fail if too large,
         * and then bot_match_ua tries them one by one. */
        d->rest = bot_compile(src, len, msg, sizeof(msg), &off);
        free(src);
    }
    rc = 0;
out:
    free(grams);
    free(pairs);
    free(count);
    return rc;
}

struct bot_detector *bot_detector_new(const char *patterns_json_path, char *err, size_t errlen)
{
    struct bot_detector *d = NULL;
    cJSON *root = NULL;
    const char **pats = NULL;
    int size;

    if (patterns_json_path == NULL || patterns_json_path[0] == '\0') {
        errbuf_printf(err, errlen, "no bot patterns file given");
        return NULL;
    }
    root = fileio_read_json(patterns_json_path, BOT_PATTERNS_MAX_BYTES, FILEIO_JSON_ARRAY, err,
                            errlen);
    if (root == NULL) {
        return NULL;
    }
    size = cJSON_GetArraySize(root);
    if (size <= 0) {
        errbuf_printf(err, errlen, "%s: the array of patterns is empty", patterns_json_path);
        goto out_fail;
    }
    d = calloc(1, sizeof(*d));
    pats = calloc((size_t)size, sizeof(*pats));
    if (d == NULL || pats == NULL || (d->res = calloc((size_t)size, sizeof(*d->res))) == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_fail;
    }
    if (bot_compile_all(d, root, pats, err, errlen) != 0) {
        goto out_fail;
    }
    if (bot_index(d, pats) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_fail;
    }
    log_info("bot.patterns_loaded", LOG_STR("path", patterns_json_path),
             LOG_INT("patterns", d->patterns), LOG_INT("skipped", d->skipped),
             LOG_INT("always_run", d->nrest));
    free(pats);
    cJSON_Delete(root);
    return d;

out_fail:
    free(pats);
    bot_detector_free(d);
    cJSON_Delete(root);
    return NULL;
}

void bot_detector_free(struct bot_detector *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->patterns; i++) {
        pcre2_code_free(d->res[i]);
    }
    free(d->res);
    pcre2_code_free(d->rest);
    free(d->rest_ids);
    free(d->cands);
    free(d->grams);
    free(d);
}

/* True when re matches ua; a JIT stack overflow is retried interpreted. */
static bool bot_run(const pcre2_code *re, const char *ua, size_t len, pcre2_match_data *md)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)ua, len, 0, 0, md, NULL);

    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        /* The interpreter keeps its backtracking on the heap. */
        rc = pcre2_match(re, (PCRE2_SPTR)ua, len, 0, PCRE2_NO_JIT, md, NULL);
    }
    return rc >= 0;
}

bool bot_match_ua(const struct bot_detector *d, const char *ua)
{
    pcre2_match_data *md;
    const unsigned char *u = (const unsigned char *)ua;
    size_t len;

    if (d == NULL || ua == NULL || ua[0] == '\0') {
        return false;
    }
    md = bot_md_get();
    if (md == NULL) {
        return false;
    }
    len = strlen(ua);
    if (d->rest != NULL) {
        if (bot_run(d->rest, ua, len, md)) {
            return true;
        }
    } else {
        for (size_t i = 0; i < d->nrest; i++) {
            if (bot_run(d->res[d->rest_ids[i]], ua, len, md)) {
                return true;
            }
        }
    }
    for (size_t i = 0; i + 3 <= len; i++) {
        uint32_t gram = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
        const struct bot_gram *g = bot_gram_find(d->grams, d->gmask, gram);
        if (g == NULL) {
            continue;
        }
        for (uint32_t k = g->first; k < g->first + g->count; k++) {
            if (bot_run(d->res[d->cands[k]], ua, len, md)) {
                return true;
            }
        }
    }
    return false;
}

bool bot_match_ua_exhaustive(const struct bot_detector *d, const char *ua)
{
    pcre2_match_data *md;
    size_t len;

    if (d == NULL || ua == NULL || ua[0] == '\0') {
        return false;
    }
    md = bot_md_get();
    if (md == NULL) {
        return false;
    }
    len = strlen(ua);
    for (size_t i = 0; i < d->patterns; i++) {
        if (bot_run(d->res[i], ua, len, md)) {
            return true;
        }
    }
    return false;
}

size_t bot_detector_pattern_count(const struct bot_detector *d)
{
    return d->patterns;
}

size_t bot_detector_skipped_count(const struct bot_detector *d)
{
    return d->skipped;
}

/* ---- rate ------------------------------------------------------------------ */

struct bot_rate_entry {
    struct bot_rate_entry *hnext; /* hash chain */
    struct bot_rate_entry *prev;  /* LRU list, toward most recent */
    struct bot_rate_entry *next;  /* LRU list, toward least recent */
    uint64_t hash;
    double tokens; /* may go down to -burst: events owed */
    long long last_ms;
    char key[];
};

struct bot_rate {
    double per_sec;
    double burst;
    size_t max_keys;
    size_t count;
    size_t mask; /* buckets - 1, a power of two minus one */
    struct bot_rate_entry **buckets;
    struct bot_rate_entry *head; /* most recently seen */
    struct bot_rate_entry *tail; /* least recently seen */
};

static uint64_t bot_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct bot_rate *bot_rate_new(double max_events_per_sec, double burst, size_t max_keys)
{
    struct bot_rate *r;
    size_t nb = 16;

    if (!(max_events_per_sec > 0.0) || !(burst >= 1.0) || max_keys == 0) {
        return NULL;
    }
    while (nb < max_keys && nb < ((size_t)1 << 30)) {
        nb *= 2;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->buckets = calloc(nb, sizeof(*r->buckets));
    if (r->buckets == NULL) {
        free(r);
        return NULL;
    }
    r->per_sec = max_events_per_sec;
    r->burst = burst;
    r->max_keys = max_keys;
    r->mask = nb - 1;
    return r;
}

void bot_rate_free(struct bot_rate *r)
{
    struct bot_rate_entry *e;

    if (r == NULL) {
        return;
    }
    e = r->head;
    while (e != NULL) {
        struct bot_rate_entry *next = e->next;
        free(e);
        e = next;
    }
    free(r->buckets);
    free(r);
}

static void bot_rate_unlink(struct bot_rate *r, struct bot_rate_entry *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        r->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        r->tail = e->prev;
    }
    e->prev = NULL;
    e->next = NULL;
}

static void bot_rate_push_front(struct bot_rate *r, struct bot_rate_entry *e)
{
    e->prev = NULL;
    e->next = r->head;
    if (r->head != NULL) {
        r->head->prev = e;
    } else {
        r->tail = e;
    }
    r->head = e;
}

/* Forgets the least recently seen fingerprint. */
static void bot_rate_evict(struct bot_rate *r)
{
    struct bot_rate_entry *e = r->tail;
    struct bot_rate_entry **pp;

    if (e == NULL) {
        return;
    }
    for (pp = &r->buckets[e->hash & r->mask]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    }
    bot_rate_unlink(r, e);
    free(e);
    r->count--;
}

/* Returns the entry of key, created with a full bucket when new (evicting
 * the least recent at max_keys), or NULL when memory runs out. */
static struct bot_rate_entry *bot_rate_lookup(struct bot_rate *r, const char *key, long long now_ms)
{
    size_t len = strlen(key);
    uint64_t h = bot_hash(key, len);
    struct bot_rate_entry *e;

    for (e = r->buckets[h & r->mask]; e != NULL; e = e->hnext) {
        if (e->hash == h && strcmp(e->key, key) == 0) {
            if (e != r->head) {
                bot_rate_unlink(r, e);
                bot_rate_push_front(r, e);
            }
            return e;
        }
    }
    if (r->count >= r->max_keys) {
        bot_rate_evict(r);
    }
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL) {
        return NULL;
    }
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->tokens = r->burst;
    e->last_ms = now_ms;
    e->hnext = r->buckets[h & r->mask];
    r->buckets[h & r->mask] = e;
    bot_rate_push_front(r, e);
    r->count++;
    return e;
}

bool bot_rate_exceeded(struct bot_rate *r, const char *fingerprint, long long now_ms)
{
    struct bot_rate_entry *e;
    bool over;

    if (r == NULL || fingerprint == NULL || fingerprint[0] == '\0') {
        return false;
    }
    e = bot_rate_lookup(r, fingerprint, now_ms);
    if (e == NULL) {
        return false;
    }
    if (now_ms > e->last_ms) {
        e->tokens += (double)(now_ms - e->last_ms) * r->per_sec / 1000.0;
        if (e->tokens > r->burst) {
            e->tokens = r->burst;
        }
        e->last_ms = now_ms;
    }
    over = e->tokens < 1.0;
    e->tokens -= 1.0;
    if (e->tokens < -r->burst) {
        e->tokens = -r->burst;
    }
    return over;
}

size_t bot_rate_count(const struct bot_rate *r)
{
    return r->count;
}
