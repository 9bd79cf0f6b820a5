#ifndef PUSH_GATEWAY_PCOND_H
#define PUSH_GATEWAY_PCOND_H

/*
 * The condition language of the personalisation rules and the audiences:
 *
 *   {"field": "lead_score", "op": ">=", "value": 70}
 *   {"field": "persona", "op": "in", "value": ["price comparer", "form starter"]}
 *   {"field": "returning_visitor", "op": "=", "value": true}
 *   {"field": "last_seen_at", "op": ">=", "days_ago": 7}
 *   {"all": [c, ...]}   {"any": [c, ...]}   {"not": c}
 *
 * Fields come from a fixed table the caller gives (a schema), each a
 * number, a text, a boolean or a time. Numbers take = != < <= > >=; texts
 * = != and in (a list); booleans = and !=; times < <= > >= against now
 * minus days_ago days (a number, fractions allowed). A term on a field the
 * visitor lacks (missing, empty or unparsable) is false; not, all and any
 * then combine plain truth values. all and any hold 1..PCOND_TERMS_MAX
 * conditions, nesting at most PCOND_DEPTH_MAX deep.
 *
 * A parsed condition is read-only: threads share it. Evaluation is pure
 * and allocates nothing; the SQL form is a WHERE clause whose column names
 * come only from the schema and whose every value is a $N parameter.
 */

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define PCOND_FIELDS_MAX 32 /* fields of a schema */
#define PCOND_DEPTH_MAX 8   /* all/any/not nested in one another */
#define PCOND_NODES_MAX 64  /* terms and combinators of one condition */
#define PCOND_TERMS_MAX 32  /* conditions of one all or any */
#define PCOND_IN_MAX 32     /* strings of one in list */
#define PCOND_STRS_MAX 128  /* strings of one condition */
#define PCOND_TEXT_MAX 128  /* bytes of one string value */
#define PCOND_DAYS_MAX 3660 /* days_ago, at most */
#define PCOND_PARAMS_MAX 64 /* $N parameters of one clause */
#define PCOND_SQL_MAX 4096  /* bytes of one clause */

enum pcond_type { PCOND_NUM, PCOND_TEXT, PCOND_BOOL, PCOND_TIME };

/* One field a condition may name. */
struct pcond_field {
    const char *name; /* in the file; for SQL also the column */
    enum pcond_type type;
    bool integral;    /* values must be whole numbers (an integer column) */
    bool nullable;    /* SQL: the column may be NULL */
    const char *cast; /* SQL: the type its parameters are cast to */
};

/* The fields a visitor has, by index in the schema. */
struct pcond_values {
    double num[PCOND_FIELDS_MAX];       /* PCOND_NUM; PCOND_BOOL 0 or 1; PCOND_TIME ms */
    const char *text[PCOND_FIELDS_MAX]; /* PCOND_TEXT, borrowed */
    bool have[PCOND_FIELDS_MAX];
    long long now_ms; /* what days_ago counts back from */
};

/* A clause and its parameters ($1 is params[0]). */
struct pcond_sql {
    char text[PCOND_SQL_MAX];
    const char *params[PCOND_PARAMS_MAX]; /* point into arena */
    size_t nparams;
    char arena[PCOND_PARAMS_MAX * (PCOND_TEXT_MAX + 1)];
    size_t used;
};

struct pcond;

/* Parses the condition j against the schema fields[0..nfields). where
 * names it in errors (e.g. "file: rule 2 \"x\": when"); paths inside are
 * appended ("when.all[1].op"). Returns a new condition (caller frees with
 * pcond_free), or NULL with the reason in err: not an object, none or more
 * than one of field/all/any/not, an unknown key or field, an operator the
 * field's type does not take, a value of the wrong type (a fraction for a
 * whole-number field, a string too long or empty), an empty or too long
 * list, nested too deep, too many terms or strings. */
struct pcond *pcond_parse(const struct cJSON *j, const struct pcond_field *fields, size_t nfields,
                          const char *where, char *err, size_t errlen);

/* Frees c. Accepts NULL. */
void pcond_free(struct pcond *c);

/* Whether v meets c (parsed against the schema v is indexed by). Pure. */
bool pcond_eval(const struct pcond *c, const struct pcond_values *v);

/* Writes c as a WHERE clause into out (reset first), its parameters
 * numbered from $1, time parameters as UTC instants of now_ms minus their
 * days. fields must be the schema c was parsed against. The clause binds
 * tighter than AND, so "<clause> AND fingerprint > $<nparams+1>" means what
 * it says. Returns 0, or -1 when the clause would pass PCOND_SQL_MAX bytes
 * or PCOND_PARAMS_MAX parameters. */
int pcond_sql(const struct pcond *c, const struct pcond_field *fields, long long now_ms,
              struct pcond_sql *out);

/* Parses the whole of s as a decimal number, strictly: [-]digits[.digits]
 * [e[+-]digits], finite; no spaces, no hex, no inf or nan. Returns 0 with
 * *out set, or -1 (s NULL, empty or not such a number). */
int pcond_number(const char *s, double *out);

#endif
