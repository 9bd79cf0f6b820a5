/*
 * The wire format's raw-text checks: duplicate keys, and one scan of the body
 * for NULs, unstorable numbers and where event_data lies. Contract in event.h.
 */
#include "event_priv.h"
#include "analytics/textcheck.h"

#include <stdlib.h>
#include <string.h>

/* ---- duplicate keys ---- */

static int event_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key of member c, "" when it has none. */
const char *event_key(const cJSON *c)
{
    return c->string != NULL ? c->string : "";
}

/* Finds a key that appears twice among the members of the object obj (keys
 * as cJSON decoded them). Small objects are compared pairwise, larger ones
 * sorted. Returns 1 with the key in *dup (borrowed from the tree), 0 when
 * every key is unique, -1 when out of memory. */
int event_dup_in_object(const cJSON *obj, const char **dup)
{
    const char **keys;
    size_t n = 0, k = 0;
    int rc = 0;

    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        n++;
    }
    if (n <= EVENT_SMALL_OBJECT) {
        for (const cJSON *c = obj->child; c != NULL; c = c->next) {
            const char *kc = event_key(c);

            for (const cJSON *d = c->next; d != NULL; d = d->next) {
                const char *kd = event_key(d);

                if (kc[0] == kd[0] && strcmp(kc, kd) == 0) {
                    *dup = event_key(c);
                    return 1;
                }
            }
        }
        return 0;
    }
    keys = malloc(n * sizeof(*keys));
    if (keys == NULL) {
        return -1;
    }
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        keys[k++] = event_key(c);
    }
    qsort(keys, n, sizeof(*keys), event_key_cmp);
    for (k = 1; k < n && rc == 0; k++) {
        if (strcmp(keys[k - 1], keys[k]) == 0) {
            *dup = keys[k];
            rc = 1;
        }
    }
    free(keys);
    return rc;
}

/* Looks for a key twice in one object anywhere in node (an object, array or
 * scalar), leaving out the member skip (NULL for none) and what is under it.
 * Recurses once per level: the nesting check bounds the depth before cJSON
 * builds the tree. Returns 1 with the key in *dup, 0 when none, -1 when out
 * of memory. */
int event_find_dup(const cJSON *node, const cJSON *skip, const char **dup)
{
    int rc = 0;

    if (cJSON_IsObject(node)) {
        rc = event_dup_in_object(node, dup);
    }
    for (const cJSON *c = node->child; c != NULL && rc == 0; c = c->next) {
        if (c != skip && c->child != NULL) {
            rc = event_find_dup(c, NULL, dup);
        }
    }
    return rc;
}

/* ---- the raw-text scanner ----
 *
 * cJSON keeps no positions and rewrites what it prints (numbers go through a
 * double, so 2^53 + 1 loses its last digit). So one linear pass over the raw
 * body, after cJSON has accepted it, finds per event:
 *  - the raw text of its first "event_data" object, which becomes
 *    event_data_json once whitespace is dropped (exact, and faster than
 *    printing the tree);
 *  - the first string holding a \u0000 escape (which cJSON decodes into a NUL
 *    that silently cuts the string short) or number PostgreSQL's numeric
 *    refuses, anywhere in the event, keys included; outside the events such
 *    a string or number is noted for the whole body.
 * Events are found by position: the member of the body that the tree says is
 * "events", then its elements, counted by commas, so escaped keys do not
 * matter. "event_data" is matched by its raw text: a key written with
 * escapes ("\u0065vent_data") is not recognised, and its position is checked
 * against the tree before a span is used, so a mismatch only means falling
 * back to cJSON_PrintUnformatted. */

static inline size_t event_number_run_exp(const char *s, size_t n, bool *has_exp);

/* One open container, as the scanner sees it. */
struct event_scan_level {
    bool is_obj;
    bool expect_key;
    size_t idx;      /* element index of an array, member index of an object */
    const char *key; /* an object's current raw key */
    size_t key_len;
};

/* The scanner's state. */
struct event_scanner {
    const char *body;
    size_t ev_level; /* depth of an event object: 1 for a single event, 3 in a batch */
    bool is_batch;
    struct event_scan_level lv[EVENT_SCAN_LEVELS + 1]; /* by depth, 1-based */
    size_t depth;
    bool in_events; /* the depth-2 container is the events array */
    struct event_span *spans;
    size_t total;
    struct event_span *cur; /* the event object being scanned, or NULL */
    size_t data_keys;       /* raw "event_data" keys seen in cur */
    bool capturing;         /* inside cur's event_data object */
    size_t events_ord;      /* member index of "events" in the body (from the tree), or SIZE_MAX */
    struct event_scan_result *out;
};

static bool event_raw_key_is(const struct event_scan_level *l, const char *name, size_t n)
{
    return l->key != NULL && l->key_len == n && memcmp(l->key, name, n) == 0;
}

/* Notes a bad string or number at body offset at: in the event the scanner
 * is inside (the first one found there), else for the whole body. */
static void event_scan_note(struct event_scanner *sc, enum event_bad bad, size_t at)
{
    size_t idx = SIZE_MAX;

    if (!sc->is_batch && sc->depth >= 1) {
        idx = 0;
    } else if (sc->is_batch && sc->in_events && sc->depth >= 2) {
        idx = sc->lv[2].idx;
    }
    if (idx < sc->total) {
        struct event_span *sp = &sc->spans[idx];

        if (sp->bad == EVENT_BAD_NONE) {
            sp->bad = (unsigned char)bad;
            sp->bad_ord = sc->depth >= sc->ev_level ? sc->lv[sc->ev_level].idx : SIZE_MAX;
        }
    } else if (sc->out->body_bad == EVENT_BAD_NONE) {
        sc->out->body_bad = (unsigned char)bad;
        sc->out->body_bad_at = at;
    }
}

/* Notes a string that ends at *p (the closing quote), holds a \u0000 escape
 * when nul, and started at s. */
static void event_scan_string(struct event_scanner *sc, const char *s, const char *p, bool nul)
{
    size_t d = sc->depth;
    struct event_scan_level *l = d >= 1 && d <= EVENT_SCAN_LEVELS ? &sc->lv[d] : NULL;

    if (l != NULL && l->is_obj && l->expect_key) {
        l->key = s;
        l->key_len = (size_t)(p - s);
        l->expect_key = false;
        if (d == sc->ev_level && sc->cur != NULL && event_raw_key_is(l, "event_data", 10)) {
            sc->data_keys++;
        }
    }
    if (nul) {
        event_scan_note(sc, EVENT_BAD_NUL, (size_t)(s - 1 - sc->body));
    }
}

/* Handles '{' or '[' at p. */
static void event_scan_open(struct event_scanner *sc, const char *p)
{
    size_t e = sc->ev_level;
    struct event_scan_level *l;

    if (sc->depth == e && sc->cur != NULL && *p == '{' && sc->data_keys == 1 &&
        event_raw_key_is(&sc->lv[e], "event_data", 10) && !sc->cur->has_data) {
        sc->cur->data_start = (size_t)(p - sc->body);
        sc->cur->data_ord = sc->lv[e].idx;
        sc->capturing = true;
    }
    sc->depth++;
    if (sc->depth > EVENT_SCAN_LEVELS) {
        return;
    }
    l = &sc->lv[sc->depth];
    l->is_obj = *p == '{';
    l->expect_key = l->is_obj;
    l->idx = 0;
    l->key = NULL;
    l->key_len = 0;
    if (sc->depth == 2) {
        sc->in_events = sc->is_batch && *p == '[' && sc->lv[1].idx == sc->events_ord;
    }
    if (sc->depth == e) {
        size_t idx = sc->is_batch ? sc->lv[2].idx : 0;

        sc->cur = NULL;
        if (l->is_obj && (!sc->is_batch || sc->in_events) && idx < sc->total) {
            sc->cur = &sc->spans[idx];
            sc->data_keys = 0;
        }
    }
}

/* Handles '}' or ']' at p. */
static void event_scan_close(struct event_scanner *sc, const char *p)
{
    if (sc->depth == 0) {
        return;
    }
    if (sc->capturing && sc->depth == sc->ev_level + 1) {
        sc->cur->data_end = (size_t)(p + 1 - sc->body);
        sc->cur->has_data = true;
        sc->capturing = false;
        sc->out->data_bytes += sc->cur->data_end - sc->cur->data_start + 1;
    }
    if (sc->depth == sc->ev_level) {
        sc->cur = NULL;
    }
    sc->depth--;
}

/* Scans body (accepted by cJSON, an object on top, whose member at index
 * events_ord is the events array, SIZE_MAX for a single event) into
 * spans[0..total) (zeroed) and *out. */
void event_scan(const char *body, size_t len, size_t events_ord, struct event_span *spans,
                size_t total, struct event_scan_result *out)
{
    struct event_scanner sc;
    const char *p = body, *end = body + len;

    memset(&sc, 0, sizeof(sc));
    memset(out, 0, sizeof(*out));
    sc.body = body;
    sc.is_batch = events_ord != SIZE_MAX;
    sc.ev_level = sc.is_batch ? 3 : 1;
    sc.spans = spans;
    sc.total = total;
    sc.events_ord = events_ord;
    sc.out = out;
    while (p < end) {
        char c = *p;

        if (c == '"') {
            const char *s = ++p;
            bool nul = false;

            while (p < end && *p != '"') {
                if (*p == '\\') {
                    if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0) {
                        nul = true;
                    }
                    p += end - p >= 2 ? 2 : 1;
                } else {
                    p++;
                }
            }
            event_scan_string(&sc, s, p, nul);
        } else if (c == '{' || c == '[') {
            event_scan_open(&sc, p);
        } else if (c == '}' || c == ']') {
            event_scan_close(&sc, p);
        } else if (c == ',' && sc.depth >= 1 && sc.depth <= EVENT_SCAN_LEVELS) {
            sc.lv[sc.depth].idx++;
            sc.lv[sc.depth].expect_key = sc.lv[sc.depth].is_obj;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            bool has_exp = false;
            size_t k = event_number_run_exp(p, (size_t)(end - p), &has_exp);

            /* without an exponent, fewer digits than numeric's scale always fit */
            if ((has_exp || k > TEXTCHECK_PG_MAX_DSCALE) && !textcheck_numeric(p, k)) {
                event_scan_note(&sc, EVENT_BAD_NUMBER, (size_t)(p - body));
            }
            p += k - 1;
        }
        p++;
    }
}

/* Length of the run of number characters cJSON collects at s[0..n); sets
 * *has_exp when it holds an e or E. */
static inline size_t event_number_run_exp(const char *s, size_t n, bool *has_exp)
{
    size_t i = 0;

    for (; i < n; i++) {
        char c = s[i];

        if (c == 'e' || c == 'E') {
            *has_exp = true;
        } else if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
            break;
        }
    }
    return i;
}

/* Length of the run of number characters cJSON collects at s[0..n). */
static size_t event_number_run(const char *s, size_t n)
{
    bool has_exp = false;

    return event_number_run_exp(s, n, &has_exp);
}

/* True when s[0..n) is a number as RFC 8259 writes it (cJSON takes more: +1, .5, 01). */
static bool event_json_number(const char *s, size_t n)
{
    size_t i = 0, k;

    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else {
        for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    if (i < n && s[i] == '.') {
        for (k = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    return i == n;
}

/* Copies the JSON text in[0..n) to out (room for n + 1) without whitespace
 * and NUL-terminates it. Returns 0, or -1 when the text is not strict JSON
 * (a raw control character in a string, a number such as +1 or .5 that cJSON
 * accepts): then cJSON must print it instead. */
static int event_minify(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        unsigned char c = (unsigned char)in[i];

        if (c <= ' ') { /* cJSON's whitespace */
            i++;
        } else if (c == '"') {
            out[o++] = in[i++];
            while (i < n && in[i] != '"') {
                if ((unsigned char)in[i] < 0x20) {
                    return -1;
                }
                if (in[i] == '\\' && i + 1 < n) {
                    out[o++] = in[i++];
                }
                out[o++] = in[i++];
            }
            if (i < n) {
                out[o++] = in[i++];
            }
        } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
            size_t k = event_number_run(in + i, n - i);

            if (!event_json_number(in + i, k)) {
                return -1;
            }
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    return 0;
}

/* Returns event_data of the event at index as compact JSON in the batch's
 * memory, or NULL when out of memory. data is a non-empty object at member
 * position data_ord of the event. */
const char *event_data_json(struct event_ctx *ctx, const cJSON *data, size_t data_ord, size_t index)
{
    struct event_priv *priv = ctx->priv;
    const struct event_span *sp = priv->spans != NULL ? &priv->spans[index] : NULL;

    if (sp != NULL && sp->has_data && sp->data_ord == data_ord) {
        size_t n = sp->data_end - sp->data_start;

        if (priv->data_buf == NULL) {
            priv->data_buf = malloc(priv->data_cap);
            if (priv->data_buf == NULL) {
                return NULL;
            }
        }
        if (n + 1 <= priv->data_cap - priv->data_used &&
            event_minify(ctx->body + sp->data_start, n, priv->data_buf + priv->data_used) == 0) {
            char *out = priv->data_buf + priv->data_used;

            priv->data_used += strlen(out) + 1;
            return out;
        }
    }
    priv->owned[index] = cJSON_PrintUnformatted(data);
    return priv->owned[index];
}
