/* User-agent parsing with uap-core's regexes.yaml (see ua.h for the rules). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "ua.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/lru.h"

#include <errno.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define UA_REPL_MAX 5    /* replacement fields per rule */
#define UA_OVEC_PAIRS 32 /* capture pairs per match (uap uses at most 9 groups) */
#define UA_SCRATCH 1024  /* bytes for one expanded replacement before truncation */

enum ua_set { UA_SET_AGENT = 0, UA_SET_OS, UA_SET_DEVICE, UA_SET_COUNT };

/* The YAML key of each rule set, and the keys of its replacement fields in
 * result order (browser: family, major, minor, patch; OS: family, major,
 * minor, patch, patch_minor; device: family, brand, model). */
static const char *const set_keys[UA_SET_COUNT] = {"user_agent_parsers", "os_parsers",
                                                   "device_parsers"};
static const char *const repl_keys[UA_SET_COUNT][UA_REPL_MAX] = {
    {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"},
    {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement",
     "os_v4_replacement"},
    {"device_replacement", "brand_replacement", "model_replacement", NULL, NULL},
};

struct ua_rule {
    pcre2_code *re;
    char *repl[UA_REPL_MAX]; /* NULL when the rule has no such replacement */
};

struct ua_ruleset {
    struct ua_rule *rules;
    size_t n;
};

struct ua_parser {
    struct ua_ruleset sets[UA_SET_COUNT];
    struct lru *cache;
};

/* ---- strings ---- */

static bool ua_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Copies len bytes of src into dst (capacity cap >= 1), trimmed of
 * whitespace, truncated at a UTF-8 character boundary when too long. */
static void ua_field_set(char *dst, size_t cap, const char *src, size_t len)
{
    while (len > 0 && ua_is_space(src[0])) {
        src++;
        len--;
    }
    while (len > 0 && ua_is_space(src[len - 1])) {
        len--;
    }
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80) {
            len--; /* src[len] would start the cut: do not split a character */
        }
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* ---- matching ---- */

struct ua_match {
    const char *subject;
    const PCRE2_SIZE *ov;
    int ngroups; /* pcre2_match's result: groups 0..ngroups-1 may be set */
};

/* Points *s and *len at group n of m, or returns false when it is unset. */
static bool ua_group(const struct ua_match *m, int n, const char **s, size_t *len)
{
    if (n >= m->ngroups || m->ov[2 * n] == PCRE2_UNSET) {
        return false;
    }
    *s = m->subject + m->ov[2 * n];
    *len = m->ov[2 * n + 1] - m->ov[2 * n];
    return true;
}

/* Writes repl with $1..$9 replaced by m's groups (unset: empty) into dst. */
static void ua_expand(const char *repl, const struct ua_match *m, char *dst, size_t cap)
{
    char buf[UA_SCRATCH];
    size_t o = 0;

    for (const char *c = repl; *c != '\0' && o < sizeof(buf); c++) {
        const char *g;
        size_t glen;
        if (c[0] == '$' && c[1] >= '1' && c[1] <= '9') {
            if (ua_group(m, c[1] - '0', &g, &glen)) {
                if (glen > sizeof(buf) - o) {
                    glen = sizeof(buf) - o;
                }
                memcpy(buf + o, g, glen);
                o += glen;
            }
            c++;
        } else {
            buf[o++] = *c;
        }
    }
    ua_field_set(dst, cap, buf, o);
}

/* Fills dst from field i of rule r: its replacement when it has one,
 * otherwise capture group `group` (0: none). */
static void ua_fill(const struct ua_rule *r, int i, int group, const struct ua_match *m, char *dst,
                    size_t cap)
{
    const char *g;
    size_t glen;

    if (r->repl[i] != NULL) {
        ua_expand(r->repl[i], m, dst, cap);
    } else if (group > 0 && ua_group(m, group, &g, &glen)) {
        ua_field_set(dst, cap, g, glen);
    } else {
        dst[0] = '\0';
    }
}

/* Returns the first rule of set that matches ua (filling m), or NULL. */
static const struct ua_rule *ua_find(const struct ua_ruleset *set, const char *ua, size_t len,
                                     pcre2_match_data *md, struct ua_match *m)
{
    for (size_t i = 0; i < set->n; i++) {
        int rc = pcre2_match(set->rules[i].re, (PCRE2_SPTR)ua, len, 0, 0, md, NULL);
        if (rc == 0) {
            rc = UA_OVEC_PAIRS; /* more groups than pairs: the first ones are set */
        }
        if (rc > 0) {
            m->subject = ua;
            m->ov = pcre2_get_ovector_pointer(md);
            m->ngroups = rc;
            return &set->rules[i];
        }
        /* No match, or a match error (limits): try the next rule, as a
         * non-matching regex would. */
    }
    return NULL;
}

static bool ua_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool ua_in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0) {
            return true;
        }
    }
    return false;
}

/* The device type of a parsed agent (rules in ua.h). */
static enum ua_device_type ua_device_type_of(const struct ua_result *r, const char *ua)
{
    static const char *const tablet_names[] = {"iPad",     "Tablet",  "Kindle",     "TouchPad",
                                               "Playbook", "Surface", "Galaxy Tab", NULL};
    static const char *const mobile_devices[] = {"iPhone", "iPod", "Generic Smartphone",
                                                 "Generic Feature Phone", NULL};
    static const char *const mobile_os[] = {"iOS",
                                            "Android",
                                            "Windows Phone",
                                            "BlackBerry OS",
                                            "Symbian OS",
                                            "KaiOS",
                                            "Firefox OS",
                                            "Sailfish",
                                            "webOS",
                                            "Tizen",
                                            "Bada",
                                            "Ubuntu Touch",
                                            "Windows Mobile",
                                            NULL};

    if (strcmp(r->device_family, "Spider") == 0) {
        return UA_DEVICE_BOT;
    }
    for (const char *const *t = tablet_names; *t != NULL; t++) {
        if (ua_contains_ci(r->device_family, *t) || ua_contains_ci(r->device_model, *t)) {
            return UA_DEVICE_TABLET;
        }
    }
    if (strcmp(r->os_family, "Android") == 0 && strstr(ua, "Mobile") == NULL) {
        return UA_DEVICE_TABLET;
    }
    if (ua_in_list(r->device_family, mobile_devices) || ua_in_list(r->os_family, mobile_os) ||
        strstr(ua, "Mobi") != NULL) {
        return UA_DEVICE_MOBILE;
    }
    return UA_DEVICE_DESKTOP;
}

static void ua_result_other(struct ua_result *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->browser_family, "Other", sizeof("Other"));
    memcpy(out->os_family, "Other", sizeof("Other"));
    memcpy(out->device_family, "Other", sizeof("Other"));
}

/* Joins the leading non-empty parts (the list ends with "") with dots into
 * out, which has room for every part (each under UA_VERSION_MAX bytes). */
static void ua_join_version(char *out, const char *const *parts)
{
    size_t len = 0;

    for (size_t i = 0; parts[i][0] != '\0'; i++) {
        size_t n = strlen(parts[i]);
        if (i > 0) {
            out[len++] = '.';
        }
        memcpy(out + len, parts[i], n);
        len += n;
    }
    out[len] = '\0';
}

/* Parses the first len bytes of ua (NUL-terminated at len or later). */
static int ua_parse_len(const struct ua_parser *p, const char *ua, size_t len,
                        struct ua_result *out)
{
    struct ua_match m;
    const struct ua_rule *r;
    pcre2_match_data *md;

    ua_result_other(out);
    md = pcre2_match_data_create(UA_OVEC_PAIRS, NULL);
    if (md == NULL) {
        return -1;
    }
    if ((r = ua_find(&p->sets[UA_SET_AGENT], ua, len, md, &m)) != NULL) {
        ua_fill(r, 0, 1, &m, out->browser_family, sizeof(out->browser_family));
        ua_fill(r, 1, 2, &m, out->browser_major, sizeof(out->browser_major));
        ua_fill(r, 2, 3, &m, out->browser_minor, sizeof(out->browser_minor));
        ua_fill(r, 3, 4, &m, out->browser_patch, sizeof(out->browser_patch));
    }
    if ((r = ua_find(&p->sets[UA_SET_OS], ua, len, md, &m)) != NULL) {
        ua_fill(r, 0, 1, &m, out->os_family, sizeof(out->os_family));
        ua_fill(r, 1, 2, &m, out->os_major, sizeof(out->os_major));
        ua_fill(r, 2, 3, &m, out->os_minor, sizeof(out->os_minor));
        ua_fill(r, 3, 4, &m, out->os_patch, sizeof(out->os_patch));
        ua_fill(r, 4, 5, &m, out->os_patch_minor, sizeof(out->os_patch_minor));
    }
    if ((r = ua_find(&p->sets[UA_SET_DEVICE], ua, len, md, &m)) != NULL) {
        ua_fill(r, 0, 1, &m, out->device_family, sizeof(out->device_family));
        ua_fill(r, 1, 0, &m, out->device_brand, sizeof(out->device_brand));
        ua_fill(r, 2, 1, &m, out->device_model, sizeof(out->device_model));
    }
    pcre2_match_data_free(md);

    if (out->browser_family[0] == '\0') {
        memcpy(out->browser_family, "Other", sizeof("Other"));
    }
    if (out->os_family[0] == '\0') {
        memcpy(out->os_family, "Other", sizeof("Other"));
    }
    if (out->device_family[0] == '\0') {
        memcpy(out->device_family, "Other", sizeof("Other"));
    }
    out->device_type = ua_device_type_of(out, ua);
    ua_join_version(
        out->browser_version,
        (const char *const[]){out->browser_major, out->browser_minor, out->browser_patch, ""});
    ua_join_version(out->os_version, (const char *const[]){out->os_major, out->os_minor,
                                                           out->os_patch, out->os_patch_minor, ""});
    return 0;
}

/* ---- loading regexes.yaml ---- */

/* Returns the scalar text of node n, or NULL when it is not a scalar. */
static const char *ua_scalar(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* Compiles regex into r->re. Returns 0, or -1 with the reason in err. */
static int ua_rule_compile(struct ua_rule *r, const char *regex, bool caseless, size_t line,
                           char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    PCRE2_UCHAR msg[256];

    r->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, caseless ? PCRE2_CASELESS : 0,
                          &code, &off, NULL);
    if (r->re == NULL) {
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0) {
            memcpy(msg, "unknown error", sizeof("unknown error"));
        }
        errbuf_printf(err, errlen, "line %zu: regex '%s' does not compile at offset %zu: %s", line,
                      regex, (size_t)off, (const char *)msg);
        return -1;
    }
    /* JIT is an optimisation: without it (not built in, no executable
     * memory) pcre2_match interprets the pattern. */
    (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
    return 0;
}

/* Builds rule r of set s from mapping node n. Returns 0, or -1 with the reason
 * in err (r then holds only what must be freed). */
static int ua_rule_load(yaml_document_t *doc, yaml_node_t *n, enum ua_set s, struct ua_rule *r,
                        char *err, size_t errlen)
{
    const char *regex = NULL;
    bool caseless = false;
    size_t line = n->start_mark.line + 1;

    if (n->type != YAML_MAPPING_NODE) {
        errbuf_printf(err, errlen, "line %zu: %s entry is not a mapping", line, set_keys[s]);
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *k = ua_scalar(yaml_document_get_node(doc, pr->key));
        const char *v = ua_scalar(yaml_document_get_node(doc, pr->value));
        if (k == NULL || v == NULL) {
            errbuf_printf(err, errlen, "line %zu: %s entry has a non-scalar field", line,
                          set_keys[s]);
            return -1;
        }
        if (strcmp(k, "regex") == 0) {
            regex = v;
        } else if (strcmp(k, "regex_flag") == 0) {
            caseless = strchr(v, 'i') != NULL;
        } else {
            for (int i = 0; i < UA_REPL_MAX; i++) {
                if (repl_keys[s][i] != NULL && strcmp(k, repl_keys[s][i]) == 0) {
                    free(r->repl[i]);
                    if ((r->repl[i] = strndup(v, strlen(v))) == NULL) {
                        errbuf_printf(err, errlen, "out of memory");
                        return -1;
                    }
                }
            }
            /* Other keys are ignored, as other uap implementations do. */
        }
    }
    if (regex == NULL) {
        errbuf_printf(err, errlen, "line %zu: %s entry has no regex", line, set_keys[s]);
        return -1;
    }
    return ua_rule_compile(r, regex, caseless, line, err, errlen);
}

/* Loads sequence node n into set s of p. Returns 0, or -1 with the reason. */
static int ua_set_load(struct ua_parser *p, yaml_document_t *doc, yaml_node_t *n, enum ua_set s,
                       char *err, size_t errlen)
{
    struct ua_ruleset *set = &p->sets[s];
    size_t count;

    if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
        errbuf_printf(err, errlen, "%s is not a list", set_keys[s]);
        return -1;
    }
    if (set->rules != NULL) {
        errbuf_printf(err, errlen, "%s appears twice", set_keys[s]);
        return -1;
    }
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    set->rules = calloc(count > 0 ? count : 1, sizeof(*set->rules));
    if (set->rules == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        set->n = i + 1; /* rule i is freed by ua_parser_free even when half built */
        if (item == NULL || ua_rule_load(doc, item, s, &set->rules[i], err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Reads path into doc. Returns 0, or -1 with the reason (doc not set). */
static int ua_yaml_load(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
    yaml_parser_t parser;
    FILE *f = fopen(path, "rb");
    int rc = -1;

    if (f == NULL) {
        errbuf_printf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_close;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, doc)) {
        errbuf_printf(err, errlen, "%s: line %zu column %zu: %s", path,
                      (size_t)parser.problem_mark.line + 1, (size_t)parser.problem_mark.column + 1,
                      parser.problem != NULL ? parser.problem : "malformed YAML");
        goto out_parser;
    }
    if (yaml_document_get_root_node(doc) == NULL) {
        errbuf_printf(err, errlen, "%s: empty document", path);
        yaml_document_delete(doc);
        goto out_parser;
    }
    rc = 0;
out_parser:
    yaml_parser_delete(&parser);
out_close:
    fclose(f);
    return rc;
}

/* Fills p's rule sets from the loaded document. Returns 0, or -1. */
static int ua_doc_load(struct ua_parser *p, yaml_document_t *doc, const char *path, char *err,
                       size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);

    if (root->type != YAML_MAPPING_NODE) {
        errbuf_printf(err, errlen, "%s: top level is not a mapping", path);
        return -1;
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const char *k = ua_scalar(yaml_document_get_node(doc, pr->key));
        for (int s = 0; k != NULL && s < UA_SET_COUNT; s++) {
            if (strcmp(k, set_keys[s]) == 0 &&
                ua_set_load(p, doc, yaml_document_get_node(doc, pr->value), (enum ua_set)s, err,
                            errlen) != 0) {
                return -1;
            }
        }
    }
    for (int s = 0; s < UA_SET_COUNT; s++) {
        if (p->sets[s].rules == NULL) {
            errbuf_printf(err, errlen, "%s: no %s", path, set_keys[s]);
            return -1;
        }
    }
    return 0;
}

/* ---- public API ---- */

struct ua_parser *ua_parser_new(const char *regexes_path, size_t cache_entries, char *err,
                                size_t errlen)
{
    struct ua_parser *p;
    yaml_document_t doc;
    int rc;

    if (regexes_path == NULL) {
        errbuf_printf(err, errlen, "no regexes path");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->cache = lru_new(cache_entries)) == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        free(p);
        return NULL;
    }
    if (ua_yaml_load(regexes_path, &doc, err, errlen) != 0) {
        ua_parser_free(p);
        return NULL;
    }
    rc = ua_doc_load(p, &doc, regexes_path, err, errlen);
    yaml_document_delete(&doc);
    if (rc != 0) {
        ua_parser_free(p);
        return NULL;
    }
    log_debug("ua.loaded", LOG_STR("path", regexes_path),
              LOG_INT("rules", (long long)ua_parser_rule_count(p)));
    return p;
}

int ua_parse_uncached(const struct ua_parser *p, const char *ua, struct ua_result *out)
{
    if (out == NULL) {
        return -1;
    }
    if (p == NULL) {
        ua_result_other(out);
        return -1;
    }
    if (ua == NULL) {
        ua = "";
    }
    return ua_parse_len(p, ua, strnlen(ua, UA_INPUT_MAX), out);
}

int ua_parse_tagged(struct ua_parser *p, const char *ua, struct ua_result *out, ua_tag_fn *tag,
                    void *arg)
{
    size_t len;
    char *copy = NULL;
    int rc;

    if (p == NULL || out == NULL) {
        return ua_parse_uncached(p, ua, out);
    }
    if (ua == NULL) {
        ua = "";
    }
    len = strnlen(ua, UA_INPUT_MAX);
    if (lru_get(p->cache, ua, len, out, sizeof(*out), NULL)) {
        return 0;
    }
    if (ua[len] != '\0') {
        /* Over UA_INPUT_MAX: parse a terminated copy of the prefix. */
        if ((copy = strndup(ua, len)) == NULL) {
            ua_result_other(out);
            return -1;
        }
        ua = copy;
    }
    rc = ua_parse_len(p, ua, len, out);
    if (rc == 0) {
        out->tag = tag != NULL ? tag(ua, out, arg) : 0;
        (void)lru_put(p->cache, ua, len, out, sizeof(*out)); /* no memory: not cached */
    }
    free(copy);
    return rc;
}

int ua_parse(struct ua_parser *p, const char *ua, struct ua_result *out)
{
    return ua_parse_tagged(p, ua, out, NULL, NULL);
}

void ua_parser_stats(const struct ua_parser *p, uint64_t *hits, uint64_t *misses)
{
    uint64_t h = 0, m = 0;

    if (p != NULL) {
        lru_stats(p->cache, &h, &m, NULL);
    }
    if (hits != NULL) {
        *hits = h;
    }
    if (misses != NULL) {
        *misses = m;
    }
}

size_t ua_parser_rule_count(const struct ua_parser *p)
{
    size_t n = 0;
    for (int s = 0; p != NULL && s < UA_SET_COUNT; s++) {
        n += p->sets[s].n;
    }
    return n;
}

const char *ua_device_type_name(enum ua_device_type t)
{
    switch (t) {
    case UA_DEVICE_MOBILE:
        return "mobile";
    case UA_DEVICE_TABLET:
        return "tablet";
    case UA_DEVICE_BOT:
        return "bot";
    case UA_DEVICE_DESKTOP:
    default:
        return "desktop";
    }
}

void ua_parser_free(struct ua_parser *p)
{
    if (p == NULL) {
        return;
    }
    for (int s = 0; s < UA_SET_COUNT; s++) {
        for (size_t i = 0; i < p->sets[s].n; i++) {
            pcre2_code_free(p->sets[s].rules[i].re);
            for (int j = 0; j < UA_REPL_MAX; j++) {
                free(p->sets[s].rules[i].repl[j]);
            }
        }
        free(p->sets[s].rules);
        p->sets[s].rules = NULL;
    }
    lru_free(p->cache);
    p->cache = NULL;
    free(p);
}
