#ifndef COLLECTOR_SPOOL_H
#define COLLECTOR_SPOOL_H

/*
 * The collector's disk spool: an append-only FIFO of Kafka records the broker
 * could not take yet, kept in segment files under one directory so it
 * survives a restart (and kill -9: every append is a completed write(2)
 * before spool_append returns; with fsync on, also a completed fdatasync).
 *
 * Many threads may append at once; one thread (the replayer) peeks and
 * commits. A record torn by a crash mid-write is detected by its checksum at
 * open and cut off.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_FULL (-2) /* spool_append: the size bound would be exceeded */

enum spool_topic { SPOOL_TOPIC_RAW = 0, SPOOL_TOPIC_DEADLETTER = 1 };

struct spool;

struct spool_record {
    int topic;       /* enum spool_topic */
    const void *key; /* may be NULL when key_len is 0 */
    size_t key_len;
    const void *value;
    size_t value_len;
};

/* Opens (creating when needed) the spool in dir, which must exist or be
 * creatable. max_bytes bounds the pending data on disk; segment_bytes is the
 * size at which a new segment file starts. Returns a new spool (caller frees
 * with spool_close), or NULL with the reason in err. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, uint64_t segment_bytes,
                         bool fsync_each, char *err, size_t errlen);

/* Appends one record. Thread-safe. Returns 0, SPOOL_FULL, or -1 on an I/O
 * error (logged). */
int spool_append(struct spool *s, int topic, const void *key, size_t key_len, const void *value,
                 size_t value_len);

/* Fills out with up to max of the oldest pending records, without consuming
 * them. Only the replayer thread calls this. Returns the number of records
 * (0 when empty) or -1 on an I/O error. The records point into memory the
 * spool owns: valid until the next spool_peek, spool_commit or spool_close. */
int spool_peek(struct spool *s, struct spool_record *out, size_t max);

/* Consumes the first n records of the last peek, persists the read position
 * and removes segments wholly consumed. Returns 0 or -1. */
int spool_commit(struct spool *s, size_t n);

/* Pending records and bytes (thread-safe). */
uint64_t spool_pending_records(struct spool *s);
uint64_t spool_pending_bytes(struct spool *s);

/* Closes files and frees s. Pending records stay on disk. Accepts NULL. */
void spool_close(struct spool *s);

#endif
