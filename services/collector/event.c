/*
 * The collector's wire format: one event from its fields, and the batch
 * (the body, the scan, ids, rejections). Contract in event.h; the fields in
 * event_field.c, the raw-text checks in event_scan.c.
 */
#include "event_priv.h"
#include "analytics/textcheck.h"
#include "analytics/errbuf.h"
#include "analytics/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

void event_limits_default(struct event_limits *l)
{
    l->max_batch = 500;
    l->max_id_len = 128;
    l->max_type_len = 64;
    l->max_url_len = 4096;
    l->max_string_len = 2048;
    l->max_props = 100;
    l->max_depth = 5;
    l->max_skew_ms = 86400000LL;
    l->max_nesting = 32;
    l->retention_days = 400;
    l->future_days = 2;
}

/* ---- one event ---- */

/* Appends a rejection for the event item at index. Returns 0, or -1 when out of memory. */
static int event_reject(struct event_ctx *ctx, const cJSON *item, size_t index,
                        const struct event_fail *f)
{
    struct event_batch *b = ctx->batch;
    struct event_rejection *r;
    const cJSON *fp;
    char *original;

    if (b->rejected == NULL) {
        size_t cap = b->total - index;

        b->rejected = malloc(cap * sizeof(*b->rejected));
        if (b->rejected == NULL) {
            return -1;
        }
        ctx->priv->cap_rejected = cap;
    }
    if (b->n_rejected >= ctx->priv->cap_rejected) {
        return -1; /* cannot happen: one rejection per remaining event at most */
    }
    original = cJSON_PrintUnformatted(item);
    if (original == NULL) {
        return -1;
    }
    r = &b->rejected[b->n_rejected++];
    r->index = index;
    memcpy(r->error, f->msg, sizeof(r->error));
    r->code = f->code;
    r->original = original;
    r->fingerprint = NULL;
    fp = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "fingerprint") : NULL;
    if (fp != NULL && cJSON_IsString(fp)) {
        r->fingerprint = fp->valuestring;
    }
    return 0;
}

/* Fills the batch's pool with random bytes for up to want ids. Returns 0 or -1. */
static int event_fill_pool(struct event_priv *priv, size_t want)
{
    size_t n = (want < EVENT_ID_POOL ? want : EVENT_ID_POOL) * 16, got = 0;

    while (got < n) {
        ssize_t r = getrandom(priv->pool + got, n - got, 0);

        if (r == -1 && errno == EINTR) {
            continue;
        }
        if (r == -1) {
            return -1;
        }
        got += (size_t)r;
    }
    priv->pool_len = n;
    priv->pool_pos = 0;
    return 0;
}

/* Returns a new random (version 4) event id for the event at index, in the
 * batch's memory, or NULL when out of memory. The random bytes come from one
 * getrandom() call per EVENT_ID_POOL ids: libuuid's uuid_generate_random costs
 * three system calls per id and reseeds the process's random(). */
static const char *event_new_id(struct event_ctx *ctx, size_t index)
{
    struct event_priv *priv = ctx->priv;
    uuid_t u = {0};
    char *id;

    if (priv->ids == NULL) {
        priv->ids = malloc((ctx->batch->total - index) * sizeof(*priv->ids));
        if (priv->ids == NULL) {
            return NULL;
        }
    }
    id = priv->ids[priv->n_ids++];
    if (priv->pool_pos < priv->pool_len || event_fill_pool(priv, ctx->batch->total - index) == 0) {
        memcpy(u, priv->pool + priv->pool_pos, sizeof(u));
        priv->pool_pos += sizeof(u);
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    } else {
        uuid_generate_random(u);
    }
    uuid_unparse_lower(u, id);
    return id;
}

/* The validated fields of one event. */
struct event_fields {
    const char *str[EVENT_F_COUNT]; /* string fields, NULL when absent */
    long long ts_ms;
    bool ts_present;
    const cJSON *data; /* event_data, NULL when absent or null */
    size_t data_ord;   /* its position among the event's members */
    Analytics__V1__Consent consent;
};

/* The key of the member of obj at position ord, or NULL (ord SIZE_MAX or beyond). */
static const char *event_member_name(const cJSON *obj, size_t ord)
{
    const cJSON *c = obj->child;

    for (size_t i = 0; c != NULL && i < ord; i++) {
        c = c->next;
    }
    return ord != SIZE_MAX && c != NULL ? c->string : NULL;
}

/* Rejects the event for what the scanner found bad in it (sp->bad set).
 * Returns -1 with f set. */
static int event_fail_span(const cJSON *obj, const struct event_span *sp, struct event_fail *f)
{
    const char *name = event_member_name(obj, sp->bad_ord);
    char where[64];

    if (name != NULL) {
        snprintf(where, sizeof(where), "field '%.40s'", name);
    } else {
        snprintf(where, sizeof(where), "the event");
    }
    if (sp->bad == EVENT_BAD_NUL) {
        return event_fail(f, "invalid_value", "%s contains a NUL character (\\u0000)", where);
    }
    return event_fail(f, "invalid_value",
                      "%s has a number PostgreSQL's numeric cannot hold (over 131072 digits "
                      "before the point or 16383 after)",
                      where);
}

/* What the checks of one event return. */
enum event_check_rc {
    EVENT_CHECK_OK = 0,
    EVENT_CHECK_REJECT = -1, /* the event is rejected, f says why */
    EVENT_CHECK_NOMEM = -2,  /* out of memory: the whole request fails */
};

/* Rejects the event obj when an object in it has a key twice. The caller
 * has matched obj's own keys to the known fields: known_dup is a known field
 * seen twice (or NULL), n_unknown the members that are no known field (a
 * known field never equals one of those). Returns an enum event_check_rc
 * (EVENT_CHECK_REJECT with f set). */
static int event_check_dups(const cJSON *obj, const char *known_dup, size_t n_unknown,
                            struct event_fail *f)
{
    const char *dup = known_dup;
    int rc = dup != NULL ? 1 : n_unknown >= 2 ? event_dup_in_object(obj, &dup) : 0;

    if (rc > 0) {
        return event_fail(f, "duplicate_key", "field '%.40s' appears twice", dup);
    }
    for (const cJSON *c = obj->child; c != NULL && rc == 0; c = c->next) {
        if (c->child != NULL) {
            rc = event_find_dup(c, NULL, &dup);
            if (rc > 0) {
                return event_fail(f, "duplicate_key", "key '%.40s' appears twice in field '%.40s'",
                                  dup, event_key(c));
            }
        }
    }
    return rc < 0 ? EVENT_CHECK_NOMEM : EVENT_CHECK_OK;
}

/* Validates the fields of one event object into out. Returns an enum
 * event_check_rc (EVENT_CHECK_REJECT with f set). */
static int event_check_fields(struct event_ctx *ctx, const cJSON *obj, size_t index,
                              struct event_fields *out, struct event_fail *f)
{
    static const struct {
        enum event_field field;
        bool required;
        enum event_charset cs;
    } strings[] = {
        {EVENT_F_EVENT_TYPE, true, EVENT_CS_TOKEN},   {EVENT_F_FINGERPRINT, true, EVENT_CS_TEXT},
        {EVENT_F_EVENT_ID, false, EVENT_CS_TOKEN},    {EVENT_F_USER_ID, false, EVENT_CS_TEXT},
        {EVENT_F_SESSION_ID, false, EVENT_CS_TEXT},   {EVENT_F_PAGE_URL, false, EVENT_CS_TEXT},
        {EVENT_F_REFERRER_URL, false, EVENT_CS_TEXT},
    };
    const struct event_limits *lim = ctx->lim;
    const struct event_span *sp = ctx->priv->spans != NULL ? &ctx->priv->spans[index] : NULL;
    const cJSON *slot[EVENT_F_COUNT] = {0};
    const char *known_dup = NULL;
    size_t ord = 0, n_unknown = 0;
    int rc;

    for (const cJSON *c = obj->child; c != NULL; c = c->next, ord++) {
        int i = c->string != NULL ? event_field_index(c->string, strlen(c->string)) : -1;

        if (i < 0) {
            n_unknown++;
        } else if (slot[i] == NULL) {
            slot[i] = c;
            if (i == EVENT_F_EVENT_DATA) {
                out->data_ord = ord;
            }
        } else if (known_dup == NULL) {
            known_dup = event_field_table[i].name; /* rejected below */
        }
    }
    if (sp != NULL && sp->bad != EVENT_BAD_NONE) {
        return event_fail_span(obj, sp, f);
    }
    rc = event_check_dups(obj, known_dup, n_unknown, f);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        enum event_field fld = strings[i].field;
        size_t maxlen = lim->max_id_len;

        if (fld == EVENT_F_EVENT_TYPE) {
            maxlen = lim->max_type_len;
        } else if (fld == EVENT_F_PAGE_URL || fld == EVENT_F_REFERRER_URL) {
            maxlen = lim->max_url_len;
        }
        if (event_check_string(slot[fld], fld, strings[i].required, maxlen, strings[i].cs,
                               &out->str[fld], f) != 0) {
            return EVENT_CHECK_REJECT;
        }
    }
    rc = event_check_timestamp(slot[EVENT_F_TIMESTAMP], ctx->batch->historical, &out->ts_ms, f);
    if (rc < 0) {
        return EVENT_CHECK_REJECT;
    }
    out->ts_present = rc == 1;
    if (event_check_age(lim, ctx->batch->historical, ctx->req->received_ms, out->ts_present,
                        out->ts_ms, f) != 0) {
        return EVENT_CHECK_REJECT;
    }
    if (event_check_event_data(slot[EVENT_F_EVENT_DATA], lim, f) != 0) {
        return EVENT_CHECK_REJECT;
    }
    out->data = slot[EVENT_F_EVENT_DATA];
    analytics__v1__consent__init(&out->consent);
    return event_check_consent(slot[EVENT_F_CONSENT], &out->consent, f);
}

/* Fills the next event of the batch from the validated fields. Returns 0, or
 * -1 when out of memory. */
static int event_emit(struct event_ctx *ctx, size_t index, const struct event_fields *in)
{
    struct event_batch *b = ctx->batch;
    struct event_priv *priv = ctx->priv;
    const struct event_request *req = ctx->req;
    Analytics__V1__RawEvent *ev = &b->events[b->n_events];
    Analytics__V1__Consent *consent = &priv->consents[b->n_events];
    const cJSON *data = in->data;
    const char *id = in->str[EVENT_F_EVENT_ID];
    const char *data_json = "{}";

    if (data != NULL && cJSON_IsObject(data) && data->child != NULL) {
        data_json = event_data_json(ctx, data, in->data_ord, index);
        if (data_json == NULL) {
            return -1;
        }
    }
    analytics__v1__raw_event__init(ev);
    if (id == NULL) {
        id = event_new_id(ctx, index);
        if (id == NULL) {
            return -1;
        }
        ev->event_id_assigned = 1;
    }
    *consent = in->consent;
    ev->schema_version = 1;
    ev->event_id = (char *)id;
    ev->event_type = event_pb_str(in->str[EVENT_F_EVENT_TYPE]);
    ev->fingerprint = event_pb_str(in->str[EVENT_F_FINGERPRINT]);
    ev->user_id = event_pb_str(in->str[EVENT_F_USER_ID]);
    ev->session_id = event_pb_str(in->str[EVENT_F_SESSION_ID]);
    ev->received_ts_ms = req->received_ms;
    ev->client_ts_ms = in->ts_present ? in->ts_ms : req->received_ms;
    ev->client_ts_present = in->ts_present;
    ev->clock_skew_ms = ev->received_ts_ms - ev->client_ts_ms;
    ev->clock_skew_suspect =
        event_skew_suspect(ctx->lim, b->historical, ev->received_ts_ms, ev->client_ts_ms);
    ev->page_url = event_pb_str(in->str[EVENT_F_PAGE_URL]);
    ev->referrer_url = event_pb_str(in->str[EVENT_F_REFERRER_URL]);
    ev->event_data_json = (char *)data_json;
    ev->consent = consent;
    ev->client_ip = event_pb_str(req->client_ip);
    ev->user_agent = event_pb_str(req->user_agent);
    ev->historical = b->historical;
    ev->origin = event_pb_str(req->origin);
    ev->site_id = event_pb_str(req->site_id);
    ev->collector_id = event_pb_str(req->collector_id);
    ev->batch_index = (uint32_t)index;
    b->n_events++;
    return 0;
}

/* Validates one event and adds it to the events or the rejections. Returns 0,
 * or -1 when out of memory. */
static int event_parse_one(struct event_ctx *ctx, const cJSON *item, size_t index)
{
    struct event_fields fields;
    struct event_fail f;
    int rc;

    if (!cJSON_IsObject(item)) {
        event_fail(&f, "invalid_type", "event must be a JSON object");
        return event_reject(ctx, item, index, &f);
    }
    memset(&fields, 0, sizeof(fields));
    rc = event_check_fields(ctx, item, index, &fields, &f);
    if (rc == EVENT_CHECK_NOMEM) {
        return -1;
    }
    if (rc != 0) {
        return event_reject(ctx, item, index, &f);
    }
    return event_emit(ctx, index, &fields);
}

/* ---- the batch ---- */

/* Allocates the batch's arrays for total events. Returns 0 or -1. */
static int event_batch_alloc(struct event_batch *b, cJSON *root, size_t total)
{
    struct event_priv *priv = calloc(1, sizeof(*priv));

    if (priv == NULL) {
        return -1;
    }
    b->priv = priv;
    b->total = total;
    priv->root = root;
    b->events = malloc(total * sizeof(*b->events));
    priv->consents = malloc(total * sizeof(*priv->consents));
    priv->owned = calloc(total, sizeof(*priv->owned));
    priv->spans = calloc(total, sizeof(*priv->spans));
    if (b->events == NULL || priv->consents == NULL || priv->owned == NULL || priv->spans == NULL) {
        return -1;
    }
    return 0;
}

/* Parses body and checks the request's shape; on success *root is the tree,
 * *events the events array (NULL for a single event) and *total the count.
 * Nesting is bounded on the raw text before cJSON recurses into it; in a
 * batch, a key twice in an object outside the events fails the request. */
static int event_parse_body(const char *body, size_t len, const struct event_limits *lim,
                            cJSON **root_out, cJSON **events_out, bool *historical, size_t *total,
                            char *err, size_t errlen)
{
    const char *end = NULL, *nul, *dup = NULL;
    const cJSON *hist;
    cJSON *root, *events;
    size_t bad = 0, n = 0, pos;
    size_t max_nesting = lim->max_nesting == 0 || lim->max_nesting > EVENT_NESTING_MAX
                             ? EVENT_NESTING_MAX
                             : lim->max_nesting;
    int rc;

    if (len > 0 && body == NULL) {
        errbuf_printf(err, errlen, "no body");
        return -1;
    }
    if (len == 0) {
        errbuf_printf(err, errlen, "empty body");
        return -1;
    }
    if (utf8_check(body, len, &bad) != UTF8_VALID) {
        errbuf_printf(err, errlen, "invalid UTF-8 at byte %zu", bad);
        return -1;
    }
    nul = memchr(body, '\0', len);
    if (nul != NULL) {
        errbuf_printf(err, errlen, "malformed JSON: NUL byte at byte %zu", (size_t)(nul - body));
        return -1;
    }
    if (textcheck_nesting(body, len, max_nesting, &bad) != 0) {
        errbuf_printf(err, errlen,
                      "too_deep: arrays and objects nest deeper than %zu levels at byte %zu",
                      max_nesting, bad);
        return -1;
    }
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        pos = end != NULL && end >= body ? (size_t)(end - body) : 0;
        errbuf_printf(err, errlen, "malformed JSON at byte %zu", pos);
        return -1;
    }
    pos = (size_t)(end - body);
    while (pos < len &&
           (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\n' || body[pos] == '\r')) {
        pos++;
    }
    if (pos < len) {
        errbuf_printf(err, errlen, "malformed JSON: unexpected data after the value at byte %zu",
                      pos);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        errbuf_printf(err, errlen, "the body must be a JSON object");
        goto fail;
    }
    events = cJSON_GetObjectItemCaseSensitive(root, "events");
    rc = events != NULL ? event_find_dup(root, events, &dup) : 0;
    if (rc != 0) {
        if (rc > 0) {
            errbuf_printf(err, errlen, "duplicate_key: key '%.40s' appears twice in the batch",
                          dup);
        } else {
            errbuf_printf(err, errlen, "out of memory");
        }
        goto fail;
    }
    hist = cJSON_GetObjectItemCaseSensitive(root, "historical");
    if (hist != NULL && !cJSON_IsBool(hist)) {
        errbuf_printf(err, errlen, "field 'historical' must be a boolean");
        goto fail;
    }
    *historical = cJSON_IsTrue(hist);
    if (events != NULL) {
        if (!cJSON_IsArray(events)) {
            errbuf_printf(err, errlen, "field 'events' must be an array");
            goto fail;
        }
        for (const cJSON *c = events->child; c != NULL && n <= lim->max_batch; c = c->next) {
            n++;
        }
        if (n == 0) {
            errbuf_printf(err, errlen, "field 'events' is empty");
            goto fail;
        }
        if (n > lim->max_batch) {
            errbuf_printf(err, errlen, "more than %zu events in the batch", lim->max_batch);
            goto fail;
        }
    } else {
        n = 1;
    }
    *root_out = root;
    *events_out = events;
    *total = n;
    return 0;

fail:
    cJSON_Delete(root);
    return -1;
}

/* Runs the raw-text scanner over the body and sizes the buffer for the
 * minified event_data texts (allocated on first use). Returns 0, or -1 with
 * the reason in err when a string or number outside the events is bad. */
static int event_scan_body(struct event_ctx *ctx, const cJSON *root, const cJSON *events,
                           size_t len, char *err, size_t errlen)
{
    struct event_priv *priv = ctx->priv;
    struct event_scan_result res;
    size_t events_ord = SIZE_MAX;

    if (events != NULL) {
        events_ord = 0;
        for (const cJSON *c = root->child; c != NULL && c != events; c = c->next) {
            events_ord++;
        }
    }
    event_scan(ctx->body, len, events_ord, priv->spans, ctx->batch->total, &res);
    priv->data_cap = res.data_bytes;
    if (res.body_bad == EVENT_BAD_NUL) {
        errbuf_printf(err, errlen,
                      "invalid_value: a string holds a NUL character (\\u0000) at byte %zu",
                      res.body_bad_at);
        return -1;
    }
    if (res.body_bad == EVENT_BAD_NUMBER) {
        errbuf_printf(err, errlen,
                      "invalid_value: the number at byte %zu does not fit PostgreSQL's numeric "
                      "(over 131072 digits before the point or 16383 after)",
                      res.body_bad_at);
        return -1;
    }
    return 0;
}

int event_batch_parse(const char *body, size_t len, const struct event_limits *lim,
                      const struct event_request *req, struct event_batch *batch, char *err,
                      size_t errlen)
{
    static const struct event_request no_req;
    struct event_limits deflim;
    struct event_ctx ctx;
    cJSON *root = NULL, *events = NULL;
    const cJSON *item;
    bool historical = false;
    size_t total = 0, i;

    memset(batch, 0, sizeof(*batch));
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (lim == NULL) {
        event_limits_default(&deflim);
        lim = &deflim;
    }
    if (event_parse_body(body, len, lim, &root, &events, &historical, &total, err, errlen) != 0) {
        return -1;
    }
    if (event_batch_alloc(batch, root, total) != 0) {
        if (batch->priv == NULL) {
            cJSON_Delete(root);
        }
        goto oom;
    }
    batch->historical = historical;
    ctx.lim = lim;
    ctx.req = req != NULL ? req : &no_req;
    ctx.batch = batch;
    ctx.priv = batch->priv;
    ctx.body = body;
    if (event_scan_body(&ctx, root, events, len, err, errlen) != 0) {
        event_batch_fini(batch);
        return -1;
    }
    item = events != NULL ? events->child : root;
    for (i = 0; i < total && item != NULL; i++, item = item->next) {
        if (event_parse_one(&ctx, item, i) != 0) {
            goto oom;
        }
    }
    return 0;

oom:
    event_batch_fini(batch);
    errbuf_printf(err, errlen, "out of memory");
    return -1;
}

void event_batch_fini(struct event_batch *batch)
{
    struct event_priv *priv;

    if (batch == NULL) {
        return;
    }
    priv = batch->priv;
    for (size_t i = 0; i < batch->n_rejected; i++) {
        cJSON_free(batch->rejected[i].original);
    }
    free(batch->rejected);
    free(batch->events);
    if (priv != NULL) {
        if (priv->owned != NULL) {
            for (size_t i = 0; i < batch->total; i++) {
                cJSON_free(priv->owned[i]);
            }
        }
        free(priv->owned);
        free(priv->consents);
        free(priv->ids);
        free(priv->spans);
        free(priv->data_buf);
        cJSON_Delete(priv->root);
        free(priv);
    }
    memset(batch, 0, sizeof(*batch));
}
