/* Migrations as data: names, lists, checksums and the plan. No I/O. */
#include "migration.h"

#include "analytics/errbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MIGRATION_VERSION_DIGITS 6
#define MIGRATION_SHORT_SUM 12 /* checksum digits shown in messages */

/* True for the characters allowed in the name part of a file name. */
static bool migration_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

enum migration_name migration_parse_name(const char *file, int *version)
{
    size_t len = file != NULL ? strlen(file) : 0;
    size_t digits = 0;
    long v = 0;

    if (len < 4 || file[0] == '.' || strcmp(file + len - 4, ".sql") != 0) {
        return MIGRATION_NAME_IGNORED;
    }
    while (digits < len && file[digits] >= '0' && file[digits] <= '9') {
        v = v * 10 + (file[digits] - '0');
        if (++digits > MIGRATION_VERSION_DIGITS) {
            return MIGRATION_NAME_BAD;
        }
    }
    /* digits, '_', at least one name character, ".sql" */
    if (digits == 0 || v < 1 || file[digits] != '_' || digits + 1 >= len - 4) {
        return MIGRATION_NAME_BAD;
    }
    for (size_t i = digits + 1; i < len - 4; i++) {
        if (!migration_name_char(file[i])) {
            return MIGRATION_NAME_BAD;
        }
    }
    *version = (int)v;
    return MIGRATION_NAME_OK;
}

/* A heap copy of s, or NULL for NULL. Sets *fail when the copy failed. */
static char *migration_dup(const char *s, bool *fail)
{
    char *d = s != NULL ? strdup(s) : NULL;

    if (s != NULL && d == NULL) {
        *fail = true;
    }
    return d;
}

struct migration *migration_list_add(struct migration_list *l, int version, const char *file,
                                     const char *checksum, const char *applied_at)
{
    bool fail = false;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct migration *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            return NULL;
        }
        l->items = items;
        l->cap = cap;
    }
    struct migration m = {.version = version};
    m.file = migration_dup(file, &fail);
    m.checksum = migration_dup(checksum, &fail);
    m.applied_at = migration_dup(applied_at, &fail);
    if (fail) {
        free(m.file);
        free(m.checksum);
        free(m.applied_at);
        return NULL;
    }
    l->items[l->n] = m;
    return &l->items[l->n++];
}

void migration_list_fini(struct migration_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].file);
        free(l->items[i].checksum);
        free(l->items[i].sql);
        free(l->items[i].applied_at);
    }
    free(l->items);
    *l = (struct migration_list){0};
}

static int migration_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

void migration_list_sort(struct migration_list *l)
{
    if (l->n > 1) {
        qsort(l->items, l->n, sizeof(l->items[0]), migration_cmp);
    }
}

const struct migration *migration_list_find(const struct migration_list *l, int version)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].version == version) {
            return &l->items[i];
        }
    }
    return NULL;
}

int migration_list_top(const struct migration_list *l)
{
    int top = 0;

    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].version > top) {
            top = l->items[i].version;
        }
    }
    return top;
}

int migration_list_validate(const struct migration_list *files, char *err, size_t errlen)
{
    for (size_t i = 0; i < files->n; i++) {
        const struct migration *m = &files->items[i];
        if (i > 0 && m->version == files->items[i - 1].version) {
            errbuf_printf(err, errlen, "%s and %s have the same version %d",
                          files->items[i - 1].file, m->file, m->version);
            return -1;
        }
        if (m->version != (int)i + 1) {
            errbuf_printf(err, errlen,
                          "%s: expected migration %zu next (versions run 1..N without gaps)",
                          m->file, i + 1);
            return -1;
        }
    }
    return 0;
}

int migration_checksum(const void *buf, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen * 2 != MIGRATION_CHECKSUM_HEX) {
        return -1;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
    return 0;
}

int migration_line_at(const char *sql, size_t len, long pos)
{
    int line = 1;
    long chars = 0;

    for (size_t i = 0; i < len; i++) {
        /* A character starts at every byte that is not a UTF-8 continuation. */
        if (((unsigned char)sql[i] & 0xC0) != 0x80 && ++chars >= pos) {
            break;
        }
        line += sql[i] == '\n';
    }
    return line;
}

const char *migration_state_name(enum migration_state s)
{
    switch (s) {
    case MIGRATION_PENDING:
        return "pending";
    case MIGRATION_APPLIED:
        return "applied";
    case MIGRATION_CHANGED:
        return "changed";
    case MIGRATION_UNKNOWN:
        return "unknown";
    }
    return "?";
}

enum migration_state migration_file_state(const struct migration *file,
                                          const struct migration_list *applied)
{
    const struct migration *rec = migration_list_find(applied, file->version);

    if (rec == NULL) {
        return MIGRATION_PENDING;
    }
    if (rec->checksum == NULL || file->checksum == NULL || rec->file == NULL ||
        strcmp(rec->checksum, file->checksum) != 0 || strcmp(rec->file, file->file) != 0) {
        return MIGRATION_CHANGED;
    }
    return MIGRATION_APPLIED;
}

/* The problem message for a changed file. */
static void migration_changed_problem(const struct migration *file,
                                      const struct migration_list *applied, const char *dir,
                                      char *out, size_t outlen)
{
    const struct migration *rec = migration_list_find(applied, file->version);
    const char *was = rec->file != NULL ? rec->file : "?";

    if (strcmp(was, file->file) != 0) {
        errbuf_printf(out, outlen,
                      "migration %d was applied as %s but %s has %s in its place: applied "
                      "migrations must not be renamed or replaced; add a new migration instead",
                      file->version, was, dir, file->file);
        return;
    }
    errbuf_printf(out, outlen,
                  "migration %s was applied with checksum %.*s but the file in %s now has "
                  "%.*s: applied migrations must not be edited; restore the file and add a new "
                  "migration for the change",
                  file->file, MIGRATION_SHORT_SUM, rec->checksum != NULL ? rec->checksum : "?", dir,
                  MIGRATION_SHORT_SUM, file->checksum);
}

/* Counts the files' states into plan and notes the first changed or
 * out-of-order file. */
static void migration_plan_files(const struct migration_list *files,
                                 const struct migration_list *applied, const char *dir,
                                 struct migration_plan *plan)
{
    char changed[MIGRATION_PROBLEM_MAX] = "", order[MIGRATION_PROBLEM_MAX] = "";

    for (size_t i = 0; i < files->n; i++) {
        const struct migration *f = &files->items[i];
        switch (migration_file_state(f, applied)) {
        case MIGRATION_PENDING:
            plan->pending++;
            if (f->version < plan->db_version && order[0] == '\0') {
                errbuf_printf(order, sizeof(order),
                              "migration %s is not applied but %d is: it would run out of order; "
                              "give it a version above %d",
                              f->file, plan->db_version, plan->db_version);
            }
            break;
        case MIGRATION_CHANGED:
            plan->changed++;
            if (changed[0] == '\0') {
                migration_changed_problem(f, applied, dir, changed, sizeof(changed));
            }
            break;
        default:
            plan->applied++;
        }
    }
    if (plan->problem[0] == '\0') {
        snprintf(plan->problem, sizeof(plan->problem), "%s", changed[0] ? changed : order);
    }
}

void migration_plan_make(const struct migration_list *files, const struct migration_list *applied,
                         const char *dir, struct migration_plan *plan)
{
    *plan = (struct migration_plan){0};
    plan->db_version = migration_list_top(applied);
    plan->code_version = migration_list_top(files);
    for (size_t i = 0; i < applied->n; i++) {
        if (migration_list_find(files, applied->items[i].version) == NULL) {
            plan->unknown++;
        }
    }
    if (plan->unknown > 0) {
        errbuf_printf(plan->problem, sizeof(plan->problem),
                      "database schema is at %d, ahead of the migrations in %s (up to %d): %zu "
                      "applied migration(s) have no file here; a newer release migrated this "
                      "database: use that release's analytics-migrate and binaries",
                      plan->db_version, dir, plan->code_version, plan->unknown);
    }
    migration_plan_files(files, applied, dir, plan);
    if (plan->problem[0] != '\0') {
        plan->verdict = MIGRATION_REFUSE;
    } else {
        plan->verdict = plan->pending > 0 ? MIGRATION_WORK : MIGRATION_UP_TO_DATE;
    }
}
