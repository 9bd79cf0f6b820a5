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

/* What spool_append returns. */
enum spool_rc {
    SPOOL_OK = 0,
    SPOOL_ERROR = -1, /* an I/O error */
    /* the size bound would be exceeded, or the filesystem is full (ENOSPC,
     * EDQUOT). Either heals by itself once the replay frees space. */
    SPOOL_FULL = -2,
};

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

/* Appends one record. Thread-safe. Returns 0, SPOOL_FULL (a full disk is
 * logged once as spool.disk_full, its end as spool.disk_space_returned), or
 * -1 on another I/O error (logged). A failed append leaves nothing behind. */
int spool_append(struct spool *s, int topic, const void *key, size_t key_len, const void *value,
                 size_t value_len);

/* Fills out with up to max of the oldest pending records, without consuming
 * them. Only the replayer thread calls this. Returns the number of records
 * (0 when empty) or -1 on an I/O error. The records point into memory the
 * spool owns: valid until the next spool_peek, spool_commit or spool_close. */
int spool_peek(struct spool *s, struct spool_record *out, size_t max);

/* Consumes the first n records of the last peek, persists the read position
 * (overwriting the cursor file in place: it never needs a new block) and
 * removes segments wholly consumed, the drained tail too (the writer moves to
 * a new segment). Returns 0, or -1 when the position could not be persisted
 * (logged): the records are consumed all the same and drained segments still
 * removed, so a restart then sends at most one segment's records again. */
int spool_commit(struct spool *s, size_t n);

/* Pending records and bytes (thread-safe). */
uint64_t spool_pending_records(struct spool *s);
uint64_t spool_pending_bytes(struct spool *s);

/* Closes files and frees s. Pending records stay on disk. Accepts NULL. */
void spool_close(struct spool *s);

/* ---- pure parts of the on-disk format (exposed for tests) ---- */

/* A read position: byte offset off in segment seq. */
struct spool_pos {
    uint64_t seq;
    uint64_t off;
};

#define SPOOL_CURSOR_RECORD 36u /* one encoded cursor record */
#define SPOOL_CURSOR_SLOT 512u  /* record k lives at k * SPOOL_CURSOR_SLOT */
#define SPOOL_CURSOR_FILE 4096u /* the preallocated cursor file: two slots */

/* Encodes generation gen of the position into out (SPOOL_CURSOR_RECORD
 * bytes, with its crc32). Which slot it goes to is spool_cursor_slot(gen). */
void spool_cursor_encode(unsigned char *out, uint64_t gen, const struct spool_pos *pos);

/* Byte offset of the slot for generation gen: the two slots alternate, so a
 * write torn by a crash leaves the previous generation intact. */
uint64_t spool_cursor_slot(uint64_t gen);

/* Decodes a whole cursor file image of len bytes: the SPOOL_CURSOR_FILE
 * format (the valid slot of the highest generation) or the 28-byte file of
 * older versions (generation 0). Returns 0 with *gen and *pos set, or -1 when
 * no valid record is there. */
int spool_cursor_decode(const unsigned char *file, size_t len, uint64_t *gen,
                        struct spool_pos *pos);

/* Where reading resumes, given the cursor (NULL when there is none) and the
 * n segment numbers on disk, ascending. Segments before the cursor's are
 * consumed; when the cursor's own segment is gone (drained segments are
 * removed even when the cursor could not be written), reading starts at the
 * next segment's beginning, so a stale cursor costs at most one segment.
 * Returns the index of the first segment to keep (the caller removes those
 * before it) and sets *at; when none is kept (n returned), *at is the
 * segment to create. */
size_t spool_resume_point(const struct spool_pos *cursor, const uint64_t *seqs, size_t n,
                          struct spool_pos *at);

/* Fault injection for tests: the next count operations op fail with err_no
 * (count -1: until called again with count 0). An injected append failure
 * first writes half the frame, like a disk filling mid-write. Call only while
 * no other thread uses s. */
enum spool_fault_op {
    SPOOL_FAULT_APPEND = 0,  /* the frame write of spool_append */
    SPOOL_FAULT_SEGMENT = 1, /* creating a segment file */
    SPOOL_FAULT_CURSOR = 2,  /* the in-place cursor write */
    SPOOL_FAULT_OPS = 3
};
void spool_fault_set(struct spool *s, enum spool_fault_op op, int err_no, int count);

#endif
