#ifndef PUSH_GATEWAY_AUDIENCES_H
#define PUSH_GATEWAY_AUDIENCES_H

/*
 * The audiences (deploy/config/audiences.json): named conditions (pcond.h)
 * over the columns of user_behavior_profiles, each compiled to a
 * parameterised WHERE clause the daemon pages through:
 *
 *   {"version": 1,
 *    "audiences": [{"name": "hot-leads-no-booking",
 *                   "description": "Lead score over 80 and no booking yet",
 *                   "when": {"all": [{"field": "lead_score", "op": ">", "value": 80},
 *                                    {"field": "bookings_completed", "op": "=", "value": 0}]}}]}
 *
 *   SELECT ... FROM user_behavior_profiles
 *   WHERE <clause> AND fingerprint > $<nparams+1> ORDER BY fingerprint LIMIT n
 *
 * Column names come only from audiences_fields; every value is a $N
 * parameter cast to its column's type, never spliced into the text. A
 * term on a column that may be NULL is false for a NULL, as in the
 * personalisation rules (so "not" includes those rows). Loaded audiences
 * are read-only: threads share them. Pure but for reading the file.
 */

#include "pcond.h"

#include <stddef.h>

#define AUDIENCES_FILE_MAX ((size_t)1 << 20)
#define AUDIENCES_MAX 128
#define AUDIENCES_NAME_MAX 64         /* letters, digits, '-', '_', '.': it goes in a URL */
#define AUDIENCES_DESCRIPTION_MAX 512 /* bytes */
#define AUDIENCES_FIELDS 25

/* The columns a condition may name, with their types. */
extern const struct pcond_field audiences_fields[AUDIENCES_FIELDS];

struct audiences;

/* Loads and checks the file at path, compiling every audience once so that
 * audiences_where cannot fail later. Returns the audiences (free with
 * audiences_free), or NULL with the reason in err naming the file and, for
 * an audience, its position and name: what prules_load refuses of a file,
 * a bad or repeated name, a description too long, a bad condition, one
 * whose clause is too long or has too many parameters. */
struct audiences *audiences_load(const char *path, char *err, size_t errlen);

/* Frees a. Accepts NULL. */
void audiences_free(struct audiences *a);

/* The number of audiences, and audience i's name and description ("" when
 * none), borrowed until audiences_free. */
size_t audiences_count(const struct audiences *a);
const char *audiences_name(const struct audiences *a, size_t i);
const char *audiences_description(const struct audiences *a, size_t i);

/* The index of the audience called name, or -1. */
long audiences_find(const struct audiences *a, const char *name);

/* Audience i's WHERE clause and parameters into out (pcond_sql), times
 * counted back from now_ms. Returns 0, or -1 when i is out of range. */
int audiences_where(const struct audiences *a, size_t i, long long now_ms, struct pcond_sql *out);

#endif
