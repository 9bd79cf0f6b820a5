#ifndef ANALYTICS_FILEIO_H
#define ANALYTICS_FILEIO_H

/* Reading small files whole: rule files, pattern lists, SQL migrations. */

#include <stddef.h>

/* Reads the file at path into a new buffer with a NUL after its bytes
 * (caller frees), its length in *len. Returns NULL with the reason in err
 * ("<path>: <why>") when it cannot be opened or read, is not a regular file
 * (a directory, say), is larger than max_bytes, or when memory runs out. */
char *fileio_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);

#endif
