#include "pcond.h"
#include "pcond_priv.h"

#include "analytics/errbuf.h"
#include "rulefile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {"=", "!=", "<", "<=", ">", ">=", "in"};

/* What parsing carries down. */
struct pcond_parser {
    struct pcond *c;
    const struct pcond_field *fields;
    size_t nfields;
    char *err;
    size_t errlen;
};

void pcond_free(struct pcond *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nstrs; i++) {
        free(c->strs[i]);
    }
    free(c);
}

int pcond_number(const char *s, double *out)
{
    const char *p = s;
    char *end = NULL;

    if (s == NULL) {
        return -1;
    }
    p += *p == '-';
    if (*p < '0' || *p > '9') {
        return -1;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    if (*p == '.') {
        if (*++p < '0' || *p > '9') {
            return -1;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '+' || *p == '-';
        if (*p < '0' || *p > '9') {
            return -1;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p != '\0' || p - s > 64) {
        return -1;
    }
    double v = strtod(s, &end);
    if (end != p || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

static const char *type_name(enum pcond_type t)
{
    return t == PCOND_NUM    ? "number"
           : t == PCOND_TEXT ? "text"
           : t == PCOND_BOOL ? "boolean"
                             : "time";
}

/* A new node, or NULL (reason in err) when the condition is full. */
static struct pcond_node *node_new(struct pcond_parser *ps, const char *where)
{
    if (ps->c->n == PCOND_NODES_MAX) {
        errbuf_printf(ps->err, ps->errlen,
                      "%s: more than %d terms and combinators in one condition", where,
                      PCOND_NODES_MAX);
        return NULL;
    }
    struct pcond_node *n = &ps->c->nodes[ps->c->n++];
    memset(n, 0, sizeof(*n));
    return n;
}

/* Keeps a copy of a text value of a term at where. */
static int str_add(struct pcond_parser *ps, const cJSON *v, const char *where)
{
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;

    if (!cJSON_IsString(v) || len == 0 || len > PCOND_TEXT_MAX) {
        errbuf_printf(ps->err, ps->errlen, "%s: not a string of 1..%d bytes", where,
                      PCOND_TEXT_MAX);
        return -1;
    }
    if (ps->c->nstrs == PCOND_STRS_MAX) {
        errbuf_printf(ps->err, ps->errlen, "%s: more than %d strings in one condition", where,
                      PCOND_STRS_MAX);
        return -1;
    }
    if ((ps->c->strs[ps->c->nstrs] = strdup(v->valuestring)) == NULL) {
        errbuf_printf(ps->err, ps->errlen, "%s: out of memory", where);
        return -1;
    }
    ps->c->nstrs++;
    return 0;
}

/* Finds the field a term names. */
static int term_field(struct pcond_parser *ps, const cJSON *f, const char *where, size_t *idx)
{
    char known[600];
    size_t used = 0;

    if (!cJSON_IsString(f)) {
        errbuf_printf(ps->err, ps->errlen, "%s.field: not a string", where);
        return -1;
    }
    for (size_t i = 0; i < ps->nfields; i++) {
        if (strcmp(ps->fields[i].name, f->valuestring) == 0) {
            *idx = i;
            return 0;
        }
    }
    known[0] = '\0';
    for (size_t i = 0; i < ps->nfields && used < sizeof(known); i++) {
        int w = snprintf(known + used, sizeof(known) - used, "%s%s", i > 0 ? ", " : "",
                         ps->fields[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    errbuf_printf(ps->err, ps->errlen, "%s.field: unknown field \"%s\" (known: %s)", where,
                  f->valuestring, known);
    return -1;
}

/* Checks the operator op_text against the field's type. */
static int term_op(struct pcond_parser *ps, const cJSON *op, const struct pcond_field *f,
                   const char *where, int *out)
{
    static const char *const allowed[] = {
        [PCOND_NUM] = "=, !=, <, <=, >, >=",
        [PCOND_TEXT] = "=, != or in",
        [PCOND_BOOL] = "= or !=",
        [PCOND_TIME] = "<, <=, > or >=",
    };
    int o = 0;

    if (!cJSON_IsString(op)) {
        errbuf_printf(ps->err, ps->errlen, "%s.op: missing or not a string", where);
        return -1;
    }
    while (o <= OP_IN && strcmp(op_names[o], op->valuestring) != 0) {
        o++;
    }
    bool ok = o <= OP_IN && (f->type == PCOND_NUM    ? o != OP_IN
                             : f->type == PCOND_TEXT ? o == OP_EQ || o == OP_NE || o == OP_IN
                             : f->type == PCOND_BOOL ? o == OP_EQ || o == OP_NE
                                                     : o >= OP_LT && o <= OP_GE);
    if (!ok) {
        errbuf_printf(ps->err, ps->errlen,
                      "%s.op: \"%s\" does not apply to the %s field %s (use %s)", where,
                      op->valuestring, type_name(f->type), f->name, allowed[f->type]);
        return -1;
    }
    *out = o;
    return 0;
}

/* Reads a term's value (or days_ago) into n. */
static int term_value(struct pcond_parser *ps, const cJSON *j, const struct pcond_field *f,
                      struct pcond_node *n, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(j, "days_ago");
    char at[512];

    if (f->type == PCOND_TIME) {
        if (v != NULL || !cJSON_IsNumber(days) || !(days->valuedouble >= 0) ||
            days->valuedouble > PCOND_DAYS_MAX) {
            errbuf_printf(ps->err, ps->errlen,
                          "%s: %s is a time: give \"days_ago\" (a number of days, 0..%d) and no "
                          "\"value\"",
                          where, f->name, PCOND_DAYS_MAX);
            return -1;
        }
        n->num = days->valuedouble;
        return 0;
    }
    if (days != NULL) {
        errbuf_printf(ps->err, ps->errlen, "%s.days_ago: %s is not a time field", where, f->name);
        return -1;
    }
    snprintf(at, sizeof(at), "%s.value", where);
    if (f->type == PCOND_NUM) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
            (f->integral &&
             (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e15))) {
            errbuf_printf(ps->err, ps->errlen, "%s: %s takes a %snumber", at, f->name,
                          f->integral ? "whole " : "");
            return -1;
        }
        n->num = v->valuedouble;
        return 0;
    }
    if (f->type == PCOND_BOOL) {
        if (!cJSON_IsBool(v)) {
            errbuf_printf(ps->err, ps->errlen, "%s: %s takes true or false", at, f->name);
            return -1;
        }
        n->num = cJSON_IsTrue(v) ? 1 : 0;
        return 0;
    }
    n->s0 = (unsigned short)ps->c->nstrs;
    if (n->op != OP_IN) {
        n->ns = 1;
        return str_add(ps, v, at);
    }
    int size = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (size < 1 || size > PCOND_IN_MAX) {
        errbuf_printf(ps->err, ps->errlen, "%s: in takes a list of 1..%d strings", at,
                      PCOND_IN_MAX);
        return -1;
    }
    for (int i = 0; i < size; i++) {
        char ati[540];
        snprintf(ati, sizeof(ati), "%s[%d]", at, i);
        if (str_add(ps, cJSON_GetArrayItem(v, i), ati) != 0) {
            return -1;
        }
        n->ns++;
    }
    return 0;
}

static int parse_term(struct pcond_parser *ps, const cJSON *j, const char *where)
{
    static const char *const keys[] = {"field", "op", "value", "days_ago"};
    struct pcond_node *n;
    size_t idx;
    int op;

    if (rulefile_keys(j, keys, 4, where, ps->err, ps->errlen) != 0 ||
        term_field(ps, cJSON_GetObjectItemCaseSensitive(j, "field"), where, &idx) != 0 ||
        term_op(ps, cJSON_GetObjectItemCaseSensitive(j, "op"), &ps->fields[idx], where, &op) != 0 ||
        (n = node_new(ps, where)) == NULL) {
        return -1;
    }
    n->kind = K_TERM;
    n->op = (unsigned char)op;
    n->field = (unsigned short)idx;
    n->type = (unsigned char)ps->fields[idx].type;
    n->size = 1;
    return term_value(ps, j, &ps->fields[idx], n, where);
}

static int parse_at(struct pcond_parser *ps, const cJSON *j, const char *where, int depth);

/* An all, any or not whose operand(s) are in sub. */
static int parse_combinator(struct pcond_parser *ps, const cJSON *sub, int kind, const char *where,
                            int depth)
{
    static const char *const names[] = {[K_ALL] = "all", [K_ANY] = "any", [K_NOT] = "not"};
    size_t at = ps->c->n;
    char w[512];
    int size = kind == K_NOT ? 1 : cJSON_IsArray(sub) ? cJSON_GetArraySize(sub) : 0;

    if (depth >= PCOND_DEPTH_MAX) {
        errbuf_printf(ps->err, ps->errlen, "%s: all/any/not nested more than %d deep", where,
                      PCOND_DEPTH_MAX);
        return -1;
    }
    if (size < 1 || size > PCOND_TERMS_MAX) {
        errbuf_printf(ps->err, ps->errlen, "%s.%s: not a list of 1..%d conditions", where,
                      names[kind], PCOND_TERMS_MAX);
        return -1;
    }
    if (node_new(ps, where) == NULL) {
        return -1;
    }
    for (int i = 0; i < size; i++) {
        if (kind == K_NOT) {
            snprintf(w, sizeof(w), "%s.not", where);
        } else {
            snprintf(w, sizeof(w), "%s.%s[%d]", where, names[kind], i);
        }
        if (parse_at(ps, kind == K_NOT ? sub : cJSON_GetArrayItem(sub, i), w, depth + 1) != 0) {
            return -1;
        }
    }
    struct pcond_node *n = &ps->c->nodes[at];
    n->kind = (unsigned char)kind;
    n->nkids = (unsigned short)size;
    n->size = (unsigned short)(ps->c->n - at);
    return 0;
}

static int parse_at(struct pcond_parser *ps, const cJSON *j, const char *where, int depth)
{
    static const char *const one[] = {"all", "any", "not"};
    const cJSON *sub = NULL;
    int kind = K_TERM, given = 0;

    if (!cJSON_IsObject(j)) {
        errbuf_printf(ps->err, ps->errlen, "%s: not an object", where);
        return -1;
    }
    for (int k = 0; k < 3; k++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, one[k]);
        if (s != NULL) {
            sub = s;
            kind = K_ALL + k;
            given++;
        }
    }
    given += cJSON_GetObjectItemCaseSensitive(j, "field") != NULL;
    if (given != 1) {
        errbuf_printf(ps->err, ps->errlen,
                      "%s: give exactly one of \"field\", \"all\", \"any\" or "
                      "\"not\"",
                      where);
        return -1;
    }
    if (kind == K_TERM) {
        return parse_term(ps, j, where);
    }
    if (cJSON_GetArraySize(j) != 1) {
        errbuf_printf(ps->err, ps->errlen, "%s: \"%s\" takes no other key", where,
                      one[kind - K_ALL]);
        return -1;
    }
    return parse_combinator(ps, sub, kind, where, depth);
}

struct pcond *pcond_parse(const struct cJSON *j, const struct pcond_field *fields, size_t nfields,
                          const char *where, char *err, size_t errlen)
{
    struct pcond_parser ps = {NULL, fields, nfields, err, errlen};

    if (j == NULL) {
        errbuf_printf(err, errlen, "%s: missing", where);
        return NULL;
    }
    ps.c = calloc(1, sizeof(*ps.c));
    if (ps.c == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return NULL;
    }
    if (parse_at(&ps, j, where, 0) != 0) {
        pcond_free(ps.c);
        return NULL;
    }
    return ps.c;
}

static bool compare(double a, int op, double b)
{
    switch (op) {
    case OP_EQ:
        return a == b;
    case OP_NE:
        return a != b;
    case OP_LT:
        return a < b;
    case OP_LE:
        return a <= b;
    case OP_GT:
        return a > b;
    default:
        return a >= b;
    }
}

static bool eval_term(const struct pcond *c, const struct pcond_node *n,
                      const struct pcond_values *v)
{
    if (!v->have[n->field]) {
        return false;
    }
    if (n->type == PCOND_TEXT) {
        const char *t = v->text[n->field];
        bool in = false;
        for (unsigned i = 0; i < n->ns && !in; i++) {
            in = strcmp(t, c->strs[n->s0 + i]) == 0;
        }
        return n->op == OP_NE ? !in : in;
    }
    if (n->type == PCOND_TIME) {
        return compare(v->num[n->field], n->op, (double)v->now_ms - n->num * 86400000.0);
    }
    return compare(v->num[n->field], n->op, n->num);
}

/* The truth of the subtree at nodes[i]. Recursion is bounded by
 * PCOND_DEPTH_MAX, which parsing enforces. */
static bool eval_at(const struct pcond *c, size_t i, const struct pcond_values *v)
{
    const struct pcond_node *n = &c->nodes[i];
    size_t k = i + 1;

    switch (n->kind) {
    case K_TERM:
        return eval_term(c, n, v);
    case K_NOT:
        return !eval_at(c, k, v);
    case K_ALL:
        for (unsigned left = n->nkids; left > 0; left--, k += c->nodes[k].size) {
            if (!eval_at(c, k, v)) {
                return false;
            }
        }
        return true;
    default:
        for (unsigned left = n->nkids; left > 0; left--, k += c->nodes[k].size) {
            if (eval_at(c, k, v)) {
                return true;
            }
        }
        return false;
    }
}

bool pcond_eval(const struct pcond *c, const struct pcond_values *v)
{
    return eval_at(c, 0, v);
}
