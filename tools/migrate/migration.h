#ifndef MIGRATE_MIGRATION_H
#define MIGRATE_MIGRATION_H

/*
 * Migrations as data, with no I/O: file names, the ordered list of files or
 * of the database's records, checksums, and the plan that compares the two.
 *
 * A migration file is named NNN_name.sql: a version of 1 to 6 digits
 * (leading zeros allowed), an underscore, a name of letters, digits, '_'
 * and '-'. The files of a directory run 1..N without gaps or repeats; N is
 * the schema version they make.
 */

#include <stdbool.h>
#include <stddef.h>

#define MIGRATION_VERSION_MAX 999999
#define MIGRATION_CHECKSUM_HEX 64 /* sha256 as lower-case hex */
#define MIGRATION_PROBLEM_MAX 1024

/* A migration file or a record of an applied one. Strings are owned by the
 * list that holds the migration (migration_list_fini frees them). */
struct migration {
    int version;
    char *file;       /* "001_analytics_events.sql" */
    char *checksum;   /* MIGRATION_CHECKSUM_HEX hex digits */
    char *sql;        /* the file's text, NUL-terminated; NULL for records */
    size_t sql_len;   /* bytes of sql */
    char *applied_at; /* ISO-8601 UTC, for records; NULL for files */
};

struct migration_list {
    struct migration *items;
    size_t n;
    size_t cap;
};

enum migration_name {
    MIGRATION_NAME_BAD = -1,    /* ends in .sql but is not NNN_name.sql */
    MIGRATION_NAME_OK = 0,      /* a migration: *version is set */
    MIGRATION_NAME_IGNORED = 1, /* not a .sql file (README, editor backup, dot file) */
};

/* Classifies a directory entry's name and parses its version. */
enum migration_name migration_parse_name(const char *file, int *version);

/* Appends a migration with copies of file, checksum and applied_at (each
 * may be NULL). Returns the new entry (valid until the next append), or
 * NULL when memory ran out (the list is unchanged). */
struct migration *migration_list_add(struct migration_list *l, int version, const char *file,
                                     const char *checksum, const char *applied_at);

/* Frees every entry's strings and the array; leaves an empty list. */
void migration_list_fini(struct migration_list *l);

/* Sorts by version. */
void migration_list_sort(struct migration_list *l);

/* The entry with that version, or NULL. Borrowed from l. */
const struct migration *migration_list_find(const struct migration_list *l, int version);

/* Highest version in l, 0 when empty. */
int migration_list_top(const struct migration_list *l);

/* Checks that the sorted files run 1..N with no gap or repeat. Returns 0, or
 * -1 with the reason in err. */
int migration_list_validate(const struct migration_list *files, char *err, size_t errlen);

/* Writes the sha256 of len bytes at buf as hex into out (at least
 * MIGRATION_CHECKSUM_HEX + 1 bytes). Returns 0, or -1 when the digest
 * failed. */
int migration_checksum(const void *buf, size_t len, char *out);

/* The 1-based line of sql (len bytes, UTF-8) that holds character number
 * pos (1-based, as PostgreSQL counts an error position). A pos beyond the
 * text gives the last line; pos < 1 gives 1. */
int migration_line_at(const char *sql, size_t len, long pos);

enum migration_state {
    MIGRATION_PENDING, /* a file not yet applied */
    MIGRATION_APPLIED, /* applied, and the file is unchanged */
    MIGRATION_CHANGED, /* applied, but the file's checksum or name differs now */
    MIGRATION_UNKNOWN, /* a record with no file: the database is ahead */
};

/* "pending", "applied", "changed" or "unknown". Static storage. */
const char *migration_state_name(enum migration_state s);

/* The state of one file against the database's records. */
enum migration_state migration_file_state(const struct migration *file,
                                          const struct migration_list *applied);

enum migration_verdict {
    MIGRATION_UP_TO_DATE = 0, /* every file applied, nothing unknown or changed */
    MIGRATION_WORK = 1,       /* files pending, and nothing stops applying them */
    MIGRATION_REFUSE = 2,     /* the database is ahead, a file changed, or out of order */
};

/* What the files and the database's records say together. */
struct migration_plan {
    enum migration_verdict verdict;
    int db_version;   /* highest applied, 0 when none */
    int code_version; /* highest file, 0 when none */
    size_t applied, pending, changed, unknown;
    char problem[MIGRATION_PROBLEM_MAX]; /* why REFUSE; "" otherwise */
};

/* Compares the files (sorted and validated, from dir, which is named in the
 * messages) with the database's records (sorted). Refuses, in this order of
 * precedence, when: a record has no file (the database is ahead of this
 * code); an applied file's checksum or name changed (applied migrations must
 * not be edited); a pending file is older than an applied one (it would run
 * out of order). */
void migration_plan_make(const struct migration_list *files, const struct migration_list *applied,
                         const char *dir, struct migration_plan *plan);

#endif
