#ifndef MIGRATE_MIGRATION_DIR_H
#define MIGRATE_MIGRATION_DIR_H

/* Reading the migration files of a directory. */

#include "migration.h"

#define MIGRATION_FILE_MAX (16u << 20) /* bytes of one migration file */

/* Reads every migration of dir into files, which must be empty: each entry
 * gets its text and checksum, and the list comes back sorted and validated
 * (1..N, no gaps). Entries that are not .sql files are skipped. Returns 0,
 * or -1 with the reason in err: dir unreadable or without migrations, a .sql
 * file with a bad name, a gap or repeat, a file unreadable, too large or
 * holding a NUL byte. files may hold entries after a failure: the caller
 * frees it with migration_list_fini either way. */
int migration_dir_load(const char *dir, struct migration_list *files, char *err, size_t errlen);

#endif
