/* Reading the migration files of a directory. */
#include "migration_dir.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads dir/name (version v) and appends it with its text and checksum. */
static int migration_dir_add(struct migration_list *files, const char *dir, const char *name, int v,
                             char *err, size_t errlen)
{
    char path[4096], sum[MIGRATION_CHECKSUM_HEX + 1];
    size_t len = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        errbuf_printf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    char *sql = fileio_read(path, MIGRATION_FILE_MAX, &len, err, errlen);
    if (sql == NULL) {
        return -1;
    }
    if (memchr(sql, '\0', len) != NULL || migration_checksum(sql, len, sum) != 0) {
        errbuf_printf(err, errlen, "%s: holds a NUL byte, or its checksum failed", path);
        free(sql);
        return -1;
    }
    struct migration *m = migration_list_add(files, v, name, sum, NULL);
    if (m == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        free(sql);
        return -1;
    }
    m->sql = sql;
    m->sql_len = len;
    return 0;
}

int migration_dir_load(const char *dir, struct migration_list *files, char *err, size_t errlen)
{
    struct dirent *e;
    int rc = 0;
    DIR *d = opendir(dir);

    if (d == NULL) {
        errbuf_printf(err, errlen, "migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int v = 0;
        switch (migration_parse_name(e->d_name, &v)) {
        case MIGRATION_NAME_OK:
            rc = migration_dir_add(files, dir, e->d_name, v, err, errlen);
            break;
        case MIGRATION_NAME_BAD:
            errbuf_printf(err, errlen,
                          "%s/%s: a migration is named NNN_name.sql (NNN from 1, name of "
                          "letters, digits, _ and -)",
                          dir, e->d_name);
            rc = -1;
            break;
        default:
            break;
        }
    }
    closedir(d);
    if (rc == 0 && files->n == 0) {
        errbuf_printf(err, errlen, "migrations directory %s holds no NNN_name.sql file", dir);
        rc = -1;
    }
    if (rc == 0) {
        migration_list_sort(files);
        char why[512];
        if (migration_list_validate(files, why, sizeof(why)) != 0) {
            errbuf_printf(err, errlen, "%s: %s", dir, why);
            rc = -1;
        }
    }
    return rc;
}
