#include "pcond.h"
#include "pcond_priv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const op_sql[] = {"=", "<>", "<", "<=", ">", ">=", "IN"};

/* Appends to out->text; -1 when it would not fit. */
__attribute__((format(printf, 2, 3))) static int sql_put(struct pcond_sql *out, const char *fmt,
                                                         ...)
{
    size_t len = strlen(out->text);
    va_list ap;

    va_start(ap, fmt);
    int w = vsnprintf(out->text + len, sizeof(out->text) - len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(out->text) - len) {
        out->text[len] = '\0';
        return -1;
    }
    return 0;
}

/* Adds a parameter with the text fmt makes and writes its "$N::cast". */
__attribute__((format(printf, 3, 4))) static int sql_param(struct pcond_sql *out, const char *cast,
                                                           const char *fmt, ...)
{
    size_t room = sizeof(out->arena) - out->used;
    va_list ap;

    if (out->nparams == PCOND_PARAMS_MAX) {
        return -1;
    }
    va_start(ap, fmt);
    int w = vsnprintf(out->arena + out->used, room, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= room) {
        return -1;
    }
    out->params[out->nparams++] = out->arena + out->used;
    out->used += (size_t)w + 1;
    return sql_put(out, "$%zu::%s", out->nparams, cast);
}

/* The UTC instant of ms as ISO 8601 with milliseconds. */
static void iso_utc(long long ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms - (long long)s * 1000);
}

/* The value part of a term: "$N::cast" or "($N::cast, ...)". */
static int sql_value(const struct pcond *c, const struct pcond_node *n, const struct pcond_field *f,
                     long long now_ms, struct pcond_sql *out)
{
    char when[80];
    int rc = 0;

    switch (n->type) {
    case PCOND_TEXT:
        if (n->op != OP_IN) {
            return sql_param(out, f->cast, "%s", c->strs[n->s0]);
        }
        rc = sql_put(out, "(");
        for (unsigned i = 0; rc == 0 && i < n->ns; i++) {
            rc = (i > 0 ? sql_put(out, ", ") : 0) ||
                 sql_param(out, f->cast, "%s", c->strs[n->s0 + i]);
        }
        return rc != 0 ? -1 : sql_put(out, ")");
    case PCOND_BOOL:
        return sql_param(out, f->cast, "%s", n->num != 0 ? "true" : "false");
    case PCOND_TIME:
        iso_utc(now_ms - llround(n->num * 86400000.0), when, sizeof(when));
        return sql_param(out, f->cast, "%s", when);
    default:
        return sql_param(out, f->cast, "%.15g", n->num);
    }
}

static int sql_at(const struct pcond *c, size_t i, const struct pcond_field *fields,
                  long long now_ms, struct pcond_sql *out)
{
    const struct pcond_node *n = &c->nodes[i];
    size_t k = i + 1;

    if (n->kind == K_TERM) {
        const struct pcond_field *f = &fields[n->field];
        int rc = f->nullable ? sql_put(out, "(%s IS NOT NULL AND ", f->name) : 0;
        if (rc != 0 || sql_put(out, "%s %s ", f->name, op_sql[n->op]) != 0 ||
            sql_value(c, n, f, now_ms, out) != 0) {
            return -1;
        }
        return f->nullable ? sql_put(out, ")") : 0;
    }
    if (n->kind == K_NOT) {
        return sql_put(out, "NOT ") != 0 || sql_at(c, k, fields, now_ms, out) != 0 ? -1 : 0;
    }
    if (sql_put(out, "(") != 0) {
        return -1;
    }
    for (unsigned j = 0; j < n->nkids; j++, k += c->nodes[k].size) {
        if ((j > 0 && sql_put(out, n->kind == K_ALL ? " AND " : " OR ") != 0) ||
            sql_at(c, k, fields, now_ms, out) != 0) {
            return -1;
        }
    }
    return sql_put(out, ")");
}

int pcond_sql(const struct pcond *c, const struct pcond_field *fields, long long now_ms,
              struct pcond_sql *out)
{
    out->text[0] = '\0';
    out->nparams = 0;
    out->used = 0;
    return sql_at(c, 0, fields, now_ms, out);
}
