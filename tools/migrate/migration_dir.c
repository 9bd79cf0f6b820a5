/* Reading the migration files of a directory. */
#include "migration_dir.h"

#include "analytics/errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the whole regular file at path into a new NUL-terminated buffer
 * (caller frees). Returns the buffer, or NULL with the reason in err. */
static char *migration_dir_read(const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        errbuf_printf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > MIGRATION_FILE_MAX) {
        errbuf_printf(err, errlen, "%s: not a regular file of at most %u bytes", path,
                      MIGRATION_FILE_MAX);
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        goto out_close;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            errbuf_printf(err, errlen, "%s: %s", path, n == 0 ? "file shrank" : strerror(errno));
            free(buf);
            buf = NULL;
            goto out_close;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
out_close:
    close(fd);
    return buf;
}

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
    char *sql = migration_dir_read(path, &len, err, errlen);
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
