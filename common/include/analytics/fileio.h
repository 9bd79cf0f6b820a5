#ifndef ANALYTICS_FILEIO_H
#define ANALYTICS_FILEIO_H

/* Reading small files whole: rule files, pattern lists, SQL migrations;
 * telling when one was replaced (models refitted under a running daemon);
 * and writing one so that a reader never sees half of it. */

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* What tells one version of a file from the next: its device and inode (a
 * file renamed over it), size and modification time. */
struct fileio_stamp {
    unsigned long long dev, ino;
    long long size, mtime_ns;
};

/* The stamp of the file at path now (following links) into *out. Returns
 * 0, or -1 (errno set, *out zeroed) when it cannot be stat'ed. */
int fileio_stamp(const char *path, struct fileio_stamp *out);

/* Whether a and b are the same version of a file. Pure. */
bool fileio_stamp_same(const struct fileio_stamp *a, const struct fileio_stamp *b);

/* Reads the file at path into a new buffer with a NUL after its bytes
 * (caller frees), its length in *len. Returns NULL with the reason in err
 * ("<path>: <why>") when it cannot be opened or read, is not a regular file
 * (a directory, say), is larger than max_bytes, or when memory runs out. */
char *fileio_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);

/* The JSON document a file holds. */
enum fileio_json_kind { FILEIO_JSON_OBJECT, FILEIO_JSON_ARRAY };

/* Reads and parses the JSON file at path (at most max_bytes), which must be
 * one document of the given kind with nothing but whitespace after it.
 * Returns the document (caller frees with cJSON_Delete), or NULL with the
 * reason in err: "<path>: <why>", naming the byte where malformed JSON
 * stops. */
struct cJSON *fileio_read_json(const char *path, size_t max_bytes, enum fileio_json_kind kind,
                               char *err, size_t errlen);

/* Builds an object from a rules document: root (from fileio_read_json or
 * a reader like it; NULL when reading failed, its reason already in err)
 * is given to build with a zeroed object of size bytes, and deleted. On a
 * build failure drop frees the object with whatever build left in it.
 * Returns the object (the caller frees it as drop does), or NULL with the
 * reason in err ("<path>: out of memory" when allocation failed). */
void *fileio_build_doc(struct cJSON *root, size_t size,
                       int (*build)(void *obj, const struct cJSON *root, const char *path,
                                    char *err, size_t errlen),
                       void (*drop)(void *obj), const char *path, char *err, size_t errlen);

/* Checks that every key of the JSON object obj is one of keys[0..n).
 * Returns 0, or -1 with "<where>: unknown key \"k\"" in err. */
int fileio_check_keys(const struct cJSON *obj, const char *const *keys, size_t n, const char *where,
                      char *err, size_t errlen);

/* Writes len bytes of buf (and a newline after them when newline) to path
 * through a new temporary file beside it (mode 0644, flushed to disk) and a
 * rename over path, so a reader sees the old file or the new one whole.
 * Returns 0, or -1 with the reason in err ("<file>: <why>"); on failure path
 * is untouched and the temporary file removed. */
int fileio_write_atomic(const char *path, const void *buf, size_t len, bool newline, char *err,
                        size_t errlen);

#endif
