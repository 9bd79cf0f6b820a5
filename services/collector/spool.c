/*
 * The collector's disk spool (see spool.h for the contract).
 *
 * On disk, one directory holds:
 *
 *   seg-<seq, 16 decimal digits>.spool   segment files, seq counts up from 1
 *   cursor                               the committed read position
 *   cursor.tmp                           a new cursor file while it is made
 *   (the directory itself is flock()ed so two processes never share it)
 *
 * A segment is a run of frames, nothing else. One frame, all integers
 * little-endian:
 *
 *   off  size  field
 *   0    4     magic "SPL1" (0x314c5053): also the format version
 *   4    4     frame length, header included (17 .. SPOOL_FRAME_MAX)
 *   8    4     crc32 (zlib) of bytes 12 .. frame length
 *   12   1     topic (enum spool_topic)
 *   13   4     key length
 *   17   ...   key, then the value (frame length - 17 - key length bytes)
 *
 * The cursor file is SPOOL_CURSOR_FILE (4096) bytes, made once at open (all
 * of it written, then fdatasync'ed and renamed from cursor.tmp) and then only
 * overwritten in place, so moving the cursor never needs a new block: it
 * works on a full disk. It has two slots, at 0 and SPOOL_CURSOR_SLOT; each
 * write goes to the slot of its generation, so the slots alternate and a
 * torn write leaves the previous record. One record, 36 bytes:
 *
 *   0    4     magic "SPCR" (0x52435053)
 *   4    4     version 2
 *   8    8     generation (counts up with each write; the highest valid wins)
 *   16   8     segment seq of the read position
 *   24   8     byte offset of the next unconsumed frame in it
 *   32   4     crc32 of bytes 0 .. 32
 *
 * Version 1 was a 28-byte file (magic, version 1, seq, offset, crc32 of the
 * first 24 bytes) renamed into place at every commit: it is still read, and
 * replaced by the preallocated file at open.
 *
 * Segments are unlinked as soon as the reader has passed them, whether or not
 * the cursor write succeeded: the next open resumes at the cursor when its
 * segment is still there, else at the start of the oldest segment left, so a
 * failed cursor write makes a restart send at most one segment again. When the
 * reader drains the tail, the writer moves to a new (empty) segment and the
 * drained one is unlinked, so a drained spool holds no data on disk.
 *
 * A write that fails with ENOSPC or EDQUOT is cut back and reported as
 * SPOOL_FULL: the spool is full until the replay frees space; every append
 * tries the disk again, so the spool takes records again by itself then.
 *
 * Each append is one write(2) of the whole frame to the tail segment
 * (O_APPEND) under the mutex, so a completed append survives kill -9, and a
 * crash mid-write leaves at most one torn frame at the end of the last
 * segment, which spool_open cuts off. Segments are bounded by segment_bytes
 * unless a single frame is larger. Pending bytes count whole frames.
 *
 * Locking: s->lock guards the segment table, the tail file, the roll and
 * disk_full flags and the pending counters. The read position, the read
 * file, the peek buffer and the cursor file belong to the replayer thread
 * alone (and to spool_open before it); it learns how far it may read (the
 * end of the frames completely written) from the segment table under the
 * lock.
 */
#include "spool.h"
#include "analytics/errbuf.h"

#include "analytics/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_MAGIC 0x314c5053u /* "SPL1" */
#define SPOOL_HDR 17u
#define SPOOL_FRAME_MAX (16u << 20) /* largest frame, header included */
#define SPOOL_CHUNK (4u << 20)      /* read size for peeks and the open scan */
#define SPOOL_STACK_FRAME 4096u     /* frames up to this size are built on the stack */

#define SPOOL_CURSOR_MAGIC 0x52435053u /* "SPCR" */
#define SPOOL_CURSOR_VERSION 2u
#define SPOOL_CURSOR_V1 1u
#define SPOOL_CURSOR_V1_LEN 28u
#define SPOOL_CURSOR_NAME "cursor"
#define SPOOL_CURSOR_TMP "cursor.tmp"

#define SPOOL_SEG_PREFIX "seg-"
#define SPOOL_SEG_SUFFIX ".spool"
#define SPOOL_SEG_DIGITS 16u
#define SPOOL_SEG_NAME_MAX 32u

struct spool_seg {
    uint64_t seq;
    uint64_t end;     /* end of the complete frames; the tail's write offset */
    uint64_t records; /* frames pending (not committed) before end */
};

struct spool {
    char *dir;
    int dir_fd; /* holds the flock */
    uint64_t max_bytes;
    uint64_t segment_bytes;
    bool fsync_each;

    pthread_mutex_t lock;
    struct spool_seg *segs; /* ascending seq; the last one is the tail */
    size_t nsegs;
    size_t segs_cap;
    int tail_fd;
    bool roll;      /* start a new segment before the next append */
    bool disk_full; /* the last append found the filesystem full */
    uint64_t pending_bytes;
    uint64_t pending_records;
    int fault_errno[SPOOL_FAULT_OPS]; /* spool_fault_set */
    int fault_count[SPOOL_FAULT_OPS];

    /* Replayer only. */
    uint64_t rd_seq; /* read position: next unconsumed frame */
    uint64_t rd_off;
    int rd_fd; /* open on segment rd_fd_seq, or -1 */
    uint64_t rd_fd_seq;
    unsigned char *buf; /* holds bytes buf_off .. buf_off + buf_len of buf_seq */
    size_t buf_cap;
    size_t buf_len;
    uint64_t buf_seq;
    uint64_t buf_off;
    size_t npeek;       /* records returned by the last peek */
    uint64_t saved_seq; /* position in the cursor file */
    uint64_t saved_off;
    int cursor_fd;       /* the preallocated cursor file, or -1 until made */
    uint64_t cursor_gen; /* generation of the last record written or read */
    bool cursor_failing; /* the last cursor write failed (logged once) */
};

enum spool_frame_status { SPOOL_FRAME_OK, SPOOL_FRAME_SHORT, SPOOL_FRAME_BAD };

/* ---- little helpers ---- */

static void spool_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t spool_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void spool_put_u64(unsigned char *p, uint64_t v)
{
    spool_put_u32(p, (uint32_t)v);
    spool_put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t spool_get_u64(const unsigned char *p)
{
    return (uint64_t)spool_get_u32(p) | (uint64_t)spool_get_u32(p + 4) << 32;
}

/* True for the errors that mean the filesystem has no room left. */
static bool spool_errno_full(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

/* Consumes one injected failure of op (see spool_fault_set). Returns true
 * with errno set when op is to fail now. */
static bool spool_fault_hit(struct spool *s, enum spool_fault_op op)
{
    if (s->fault_count[op] == 0) {
        return false;
    }
    if (s->fault_count[op] > 0) {
        s->fault_count[op]--;
    }
    errno = s->fault_errno[op];
    return true;
}

void spool_fault_set(struct spool *s, enum spool_fault_op op, int err_no, int count)
{
    if (s == NULL || (unsigned)op >= SPOOL_FAULT_OPS) {
        return;
    }
    s->fault_errno[op] = err_no;
    s->fault_count[op] = count;
}

static void spool_seg_name(char *buf, size_t len, uint64_t seq)
{
    snprintf(buf, len, SPOOL_SEG_PREFIX "%016" PRIu64 SPOOL_SEG_SUFFIX, seq);
}

/* Full path of segment seq, for log lines. */
static void spool_seg_path(const struct spool *s, uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%s/" SPOOL_SEG_PREFIX "%016" PRIu64 SPOOL_SEG_SUFFIX, s->dir, seq);
}

/* Parses "seg-<16 digits>.spool". Returns 0 and sets *seq, or -1. */
static int spool_parse_seg_name(const char *name, uint64_t *seq)
{
    size_t plen = strlen(SPOOL_SEG_PREFIX);
    uint64_t v = 0;

    if (strlen(name) != plen + SPOOL_SEG_DIGITS + strlen(SPOOL_SEG_SUFFIX) ||
        strncmp(name, SPOOL_SEG_PREFIX, plen) != 0 ||
        strcmp(name + plen + SPOOL_SEG_DIGITS, SPOOL_SEG_SUFFIX) != 0) {
        return -1;
    }
    for (size_t i = plen; i < plen + SPOOL_SEG_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (v == 0 || v == UINT64_MAX) {
        return -1;
    }
    *seq = v;
    return 0;
}

static int spool_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Writes all of p, looping on short writes and EINTR. Returns 0 or -1 (errno). */
static int spool_write_full(int fd, const void *p, size_t len)
{
    const unsigned char *c = p;

    while (len > 0) {
        ssize_t n = write(fd, c, len);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads up to len bytes at off, looping on short reads. Returns the count
 * (less than len only at end of file) or -1 (errno). */
static ssize_t spool_pread_full(int fd, void *p, size_t len, uint64_t off)
{
    unsigned char *c = p;
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, c + got, len - got, (off_t)(off + got));
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Makes sure the peek buffer holds at least want bytes; contents move with it.
 * Returns 0 or -1. */
static int spool_buf_reserve(struct spool *s, size_t want)
{
    unsigned char *p;

    if (want <= s->buf_cap) {
        return 0;
    }
    p = realloc(s->buf, want);
    if (p == NULL) {
        return -1;
    }
    s->buf = p;
    s->buf_cap = want;
    return 0;
}

/* Decodes the frame at p (avail bytes there). On SPOOL_FRAME_OK fills rec and
 * sets *need to the frame length; on SPOOL_FRAME_SHORT *need is how many bytes
 * are needed to go on; on SPOOL_FRAME_BAD *why says what is wrong. */
static enum spool_frame_status spool_frame_parse(const unsigned char *p, size_t avail, size_t *need,
                                                 struct spool_record *rec, const char **why)
{
    uint32_t len;
    uint32_t key_len;

    if (avail < SPOOL_HDR) {
        *need = SPOOL_HDR;
        return SPOOL_FRAME_SHORT;
    }
    len = spool_get_u32(p + 4);
    key_len = spool_get_u32(p + 13);
    if (spool_get_u32(p) != SPOOL_MAGIC) {
        *why = "bad_magic";
        return SPOOL_FRAME_BAD;
    }
    if (len < SPOOL_HDR || len > SPOOL_FRAME_MAX || key_len > len - SPOOL_HDR ||
        p[12] > SPOOL_TOPIC_DEADLETTER) {
        *why = "bad_header";
        return SPOOL_FRAME_BAD;
    }
    *need = len;
    if (avail < len) {
        return SPOOL_FRAME_SHORT;
    }
    if (crc32(crc32(0L, Z_NULL, 0), p + 12, (uInt)(len - 12)) != spool_get_u32(p + 8)) {
        *why = "bad_crc";
        return SPOOL_FRAME_BAD;
    }
    rec->topic = p[12];
    rec->key_len = key_len;
    rec->key = key_len > 0 ? p + SPOOL_HDR : NULL;
    rec->value = p + SPOOL_HDR + key_len;
    rec->value_len = len - SPOOL_HDR - key_len;
    return SPOOL_FRAME_OK;
}

/* ---- segment table (callers hold s->lock, or are spool_open) ---- */

static struct spool_seg *spool_seg_find(struct spool *s, uint64_t seq, size_t *idx)
{
    for (size_t i = 0; i < s->nsegs; i++) {
        if (s->segs[i].seq == seq) {
            if (idx != NULL) {
                *idx = i;
            }
            return &s->segs[i];
        }
    }
    return NULL;
}

/* Appends an entry to the table. Returns 0 or -1 (out of memory). */
static int spool_seg_push(struct spool *s, uint64_t seq, uint64_t end, uint64_t records)
{
    if (s->nsegs == s->segs_cap) {
        size_t cap = s->segs_cap == 0 ? 8 : s->segs_cap * 2;
        struct spool_seg *p = realloc(s->segs, cap * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        s->segs = p;
        s->segs_cap = cap;
    }
    s->segs[s->nsegs].seq = seq;
    s->segs[s->nsegs].end = end;
    s->segs[s->nsegs].records = records;
    s->nsegs++;
    return 0;
}

/* fsyncs the directory (new, renamed or removed entries) when fsync_each. */
static void spool_sync_dir(const struct spool *s)
{
    if (s->fsync_each && fsync(s->dir_fd) == -1) {
        log_warn("spool.dir_sync_failed", LOG_STR("path", s->dir),
                 LOG_STR("error", strerror(errno)));
    }
}

/* Creates segment seq as the new tail (closing the old tail file). Caller
 * holds the lock. Returns 0, or -1 with errno kept (logged unless the
 * filesystem is full: the caller reports that). */
static int spool_seg_create(struct spool *s, uint64_t seq)
{
    char name[SPOOL_SEG_NAME_MAX];
    char path[PATH_MAX];
    int fd = -1;

    if (spool_seg_push(s, seq, 0, 0) == -1) {
        log_error("spool.out_of_memory", LOG_STR("path", s->dir));
        errno = ENOMEM;
        return -1;
    }
    spool_seg_name(name, sizeof(name), seq);
    if (!spool_fault_hit(s, SPOOL_FAULT_SEGMENT)) {
        fd = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    }
    if (fd == -1) {
        int saved = errno;
        spool_seg_path(s, seq, path, sizeof(path));
        if (!spool_errno_full(saved)) {
            log_error("spool.segment_create_failed", LOG_STR("path", path),
                      LOG_STR("error", strerror(saved)));
        }
        s->nsegs--;
        errno = saved;
        return -1;
    }
    spool_sync_dir(s);
    if (s->tail_fd != -1) {
        close(s->tail_fd);
    }
    s->tail_fd = fd;
    s->roll = false;
    return 0;
}

/* ---- cursor ---- */

uint64_t spool_cursor_slot(uint64_t gen)
{
    return (gen % 2) * SPOOL_CURSOR_SLOT;
}

void spool_cursor_encode(unsigned char *out, uint64_t gen, const struct spool_pos *pos)
{
    spool_put_u32(out, SPOOL_CURSOR_MAGIC);
    spool_put_u32(out + 4, SPOOL_CURSOR_VERSION);
    spool_put_u64(out + 8, gen);
    spool_put_u64(out + 16, pos->seq);
    spool_put_u64(out + 24, pos->off);
    spool_put_u32(out + 32, (uint32_t)crc32(crc32(0L, Z_NULL, 0), out, 32));
}

/* Decodes one record of the current version. Returns 0, or -1 when it is
 * not a valid record. */
static int spool_cursor_record_decode(const unsigned char *p, uint64_t *gen, struct spool_pos *pos)
{
    if (spool_get_u32(p) != SPOOL_CURSOR_MAGIC || spool_get_u32(p + 4) != SPOOL_CURSOR_VERSION ||
        crc32(crc32(0L, Z_NULL, 0), p, 32) != spool_get_u32(p + 32)) {
        return -1;
    }
    *gen = spool_get_u64(p + 8);
    pos->seq = spool_get_u64(p + 16);
    pos->off = spool_get_u64(p + 24);
    return 0;
}

/* Decodes the 28-byte cursor file of version 1. Returns 0 or -1. */
static int spool_cursor_v1_decode(const unsigned char *p, struct spool_pos *pos)
{
    if (spool_get_u32(p) != SPOOL_CURSOR_MAGIC || spool_get_u32(p + 4) != SPOOL_CURSOR_V1 ||
        crc32(crc32(0L, Z_NULL, 0), p, 24) != spool_get_u32(p + 24)) {
        return -1;
    }
    pos->seq = spool_get_u64(p + 8);
    pos->off = spool_get_u64(p + 16);
    return 0;
}

int spool_cursor_decode(const unsigned char *file, size_t len, uint64_t *gen, struct spool_pos *pos)
{
    bool found = false;

    if (file == NULL || gen == NULL || pos == NULL) {
        return -1;
    }
    if (len == SPOOL_CURSOR_V1_LEN) {
        *gen = 0;
        return spool_cursor_v1_decode(file, pos);
    }
    if (len != SPOOL_CURSOR_FILE) {
        return -1;
    }
    for (uint64_t slot = 0; slot < 2; slot++) {
        struct spool_pos p;
        uint64_t g;
        /* A record is valid only in the slot its generation writes to. */
        if (spool_cursor_record_decode(file + slot * SPOOL_CURSOR_SLOT, &g, &p) == 0 &&
            spool_cursor_slot(g) == slot * SPOOL_CURSOR_SLOT && (!found || g > *gen)) {
            *gen = g;
            *pos = p;
            found = true;
        }
    }
    return found ? 0 : -1;
}

/* Reads the cursor file. Returns 1 with *pos set, 0 when there is no usable
 * cursor (missing, or invalid: logged), or -1 on an I/O error (err set). A
 * file of the preallocated size stays open in s->cursor_fd for writing, and
 * s->cursor_gen is the generation read. */
static int spool_cursor_read(struct spool *s, struct spool_pos *pos, char *err, size_t errlen)
{
    unsigned char b[SPOOL_CURSOR_FILE + 1];
    bool writable = true;
    uint64_t gen = 0;
    ssize_t n;
    int fd;

    fd = openat(s->dir_fd, SPOOL_CURSOR_NAME, O_RDWR | O_CLOEXEC);
    if (fd == -1 && errno == EACCES) {
        fd = openat(s->dir_fd, SPOOL_CURSOR_NAME, O_RDONLY | O_CLOEXEC);
        writable = false; /* read it; a new file is made and renamed over it */
    }
    if (fd == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        errbuf_printf(err, errlen, "cannot open %s/%s: %s", s->dir, SPOOL_CURSOR_NAME,
                      strerror(errno));
        return -1;
    }
    n = spool_pread_full(fd, b, sizeof(b), 0);
    if (n == -1) {
        errbuf_printf(err, errlen, "cannot read %s/%s: %s", s->dir, SPOOL_CURSOR_NAME,
                      strerror(errno));
        close(fd);
        return -1;
    }
    if (n == SPOOL_CURSOR_FILE && writable) {
        s->cursor_fd = fd; /* already preallocated: written in place from now on */
    } else {
        close(fd);
    }
    if (spool_cursor_decode(b, (size_t)n, &gen, pos) == -1) {
        log_warn("spool.cursor_invalid", LOG_STR("path", s->dir),
                 LOG_STR("action", "replaying from the oldest segment"));
        return 0;
    }
    s->cursor_gen = gen;
    return 1;
}

/* Makes the preallocated cursor file holding the read position: the whole
 * image is written to cursor.tmp, fdatasync'ed and renamed over cursor, and
 * stays open in s->cursor_fd. Needs free space, unlike the writes after it.
 * Returns 0, or -1 with *what and errno set (nothing left behind). */
static int spool_cursor_reserve(struct spool *s, const char **what)
{
    unsigned char img[SPOOL_CURSOR_FILE];
    struct spool_pos pos = {s->rd_seq, s->rd_off};
    uint64_t gen = s->cursor_gen + 1;
    int saved;
    int fd;

    memset(img, 0, sizeof(img));
    spool_cursor_encode(img + spool_cursor_slot(gen), gen, &pos);
    *what = "create";
    fd = openat(s->dir_fd, SPOOL_CURSOR_TMP, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd == -1) {
        return -1;
    }
    *what = "write";
    if (spool_write_full(fd, img, sizeof(img)) == -1) {
        goto fail_unlink;
    }
    *what = "fdatasync";
    if (fdatasync(fd) == -1) {
        goto fail_unlink;
    }
    *what = "rename";
    if (renameat(s->dir_fd, SPOOL_CURSOR_TMP, s->dir_fd, SPOOL_CURSOR_NAME) == -1) {
        goto fail_unlink;
    }
    spool_sync_dir(s);
    s->cursor_fd = fd;
    s->cursor_gen = gen;
    return 0;

fail_unlink:
    saved = errno;
    close(fd);
    unlinkat(s->dir_fd, SPOOL_CURSOR_TMP, 0);
    errno = saved;
    return -1;
}

/* Overwrites the slot of the next generation with the read position and
 * fdatasyncs: no new block is needed. Returns 0, or -1 with *what and errno
 * set (the other slot still holds the previous position). */
static int spool_cursor_put(struct spool *s, const char **what)
{
    unsigned char rec[SPOOL_CURSOR_RECORD];
    struct spool_pos pos = {s->rd_seq, s->rd_off};
    uint64_t gen = s->cursor_gen + 1;
    ssize_t n;

    spool_cursor_encode(rec, gen, &pos);
    *what = "pwrite";
    do {
        n = pwrite(s->cursor_fd, rec, sizeof(rec), (off_t)spool_cursor_slot(gen));
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        return -1;
    }
    if ((size_t)n != sizeof(rec)) {
        errno = EIO; /* a short write inside one allocated block */
        return -1;
    }
    *what = "fdatasync";
    if (fdatasync(s->cursor_fd) == -1) {
        return -1;
    }
    s->cursor_gen = gen;
    return 0;
}

/* Persists the read position, making the cursor file first when open could
 * not. A failure is logged once (spool.cursor_write_failed) until a write
 * succeeds again (spool.cursor_write_recovered). Returns 0 or -1. */
static int spool_cursor_write(struct spool *s)
{
    const char *what = "pwrite";
    int rc;

    if (spool_fault_hit(s, SPOOL_FAULT_CURSOR)) {
        rc = -1;
    } else if (s->cursor_fd == -1) {
        rc = spool_cursor_reserve(s, &what);
    } else {
        rc = spool_cursor_put(s, &what);
    }
    if (rc == -1) {
        if (!s->cursor_failing) {
            log_error("spool.cursor_write_failed", LOG_STR("path", s->dir), LOG_STR("op", what),
                      LOG_STR("error", strerror(errno)),
                      LOG_STR("action", "drained segments are still removed; a restart "
                                        "sends at most one segment again"));
            s->cursor_failing = true;
        }
        return -1;
    }
    if (s->cursor_failing) {
        log_info("spool.cursor_write_recovered", LOG_STR("path", s->dir));
        s->cursor_failing = false;
    }
    s->saved_seq = s->rd_seq;
    s->saved_off = s->rd_off;
    return 0;
}

/* ---- open: directory, scan, recovery ---- */

/* Creates dir and its missing parents. Returns 0 or -1 with err set. */
static int spool_mkdirs(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len >= sizeof(path)) {
        errbuf_printf(err, errlen, "spool directory path too long");
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        char c = path[i];
        if (c != '/' && c != '\0') {
            continue;
        }
        path[i] = '\0';
        if (mkdir(path, 0750) == -1 && errno != EEXIST) {
            errbuf_printf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        path[i] = c;
    }
    return 0;
}

/* Makes sure dir exists as a directory, opens and locks it. Returns 0 or -1
 * with err set. */
static int spool_open_dir(struct spool *s, char *err, size_t errlen)
{
    struct stat st;

    if (stat(s->dir, &st) == -1) {
        if (errno != ENOENT) {
            errbuf_printf(err, errlen, "cannot stat %s: %s", s->dir, strerror(errno));
            return -1;
        }
        if (spool_mkdirs(s->dir, err, errlen) == -1) {
            return -1;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        errbuf_printf(err, errlen, "%s is not a directory", s->dir);
        return -1;
    }
    s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd == -1) {
        errbuf_printf(err, errlen, "cannot open %s: %s", s->dir, strerror(errno));
        return -1;
    }
    if (flock(s->dir_fd, LOCK_EX | LOCK_NB) == -1) {
        errbuf_printf(err, errlen, "cannot lock %s: %s", s->dir,
                      errno == EWOULDBLOCK ? "in use by another spool" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Lists the segment numbers in the directory, ascending, into a new array
 * (*seqs, caller frees). Returns 0 or -1 with err set. */
static int spool_list(struct spool *s, uint64_t **seqs, size_t *n, char *err, size_t errlen)
{
    uint64_t *v = NULL;
    size_t cap = 0;
    struct dirent *de;
    DIR *d;

    *n = 0;
    d = opendir(s->dir);
    if (d == NULL) {
        errbuf_printf(err, errlen, "cannot list %s: %s", s->dir, strerror(errno));
        return -1;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        if (spool_parse_seg_name(de->d_name, &seq) == -1) {
            continue;
        }
        if (*n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            uint64_t *p = realloc(v, ncap * sizeof(*p));
            if (p == NULL) {
                errbuf_printf(err, errlen, "out of memory listing %s", s->dir);
                goto fail;
            }
            v = p;
            cap = ncap;
        }
        v[(*n)++] = seq;
        errno = 0;
    }
    if (errno != 0) {
        errbuf_printf(err, errlen, "cannot list %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    closedir(d);
    if (*n > 0) {
        qsort(v, *n, sizeof(*v), spool_cmp_u64);
    }
    *seqs = v;
    return 0;

fail:
    closedir(d);
    free(v);
    *n = 0;
    return -1;
}

/* Validates the frames of fd (size bytes) from offset start. Sets *end past
 * the last good frame, *records to the good frames, *why to the reason the
 * scan stopped short of size (NULL when it did not). Returns 0 or -1 (errno). */
static int spool_scan(struct spool *s, int fd, uint64_t start, uint64_t size, uint64_t *end,
                      uint64_t *records, const char **why)
{
    uint64_t off = start;

    *records = 0;
    *why = NULL;
    while (off < size) {
        size_t want = (size - off < s->buf_cap) ? (size_t)(size - off) : s->buf_cap;
        ssize_t got = spool_pread_full(fd, s->buf, want, off);
        size_t pos = 0;

        if (got == -1) {
            return -1;
        }
        if ((size_t)got < want) {
            size = off + (uint64_t)got; /* shrank under us: treat as the end */
        }
        for (;;) {
            struct spool_record rec;
            size_t need = 0;
            enum spool_frame_status st =
                spool_frame_parse(s->buf + pos, (size_t)got - pos, &need, &rec, why);
            if (st == SPOOL_FRAME_BAD) {
                *end = off + pos;
                return 0;
            }
            if (st == SPOOL_FRAME_SHORT) {
                if (off + pos == size) {
                    break; /* every byte read was a good frame */
                }
                if (off + pos + need > size) {
                    *why = "incomplete";
                    *end = off + pos;
                    return 0;
                }
                if (pos == 0 && spool_buf_reserve(s, need) == -1) {
                    errno = ENOMEM;
                    return -1;
                }
                break;
            }
            pos += need;
            (*records)++;
        }
        off += pos;
    }
    *end = off;
    return 0;
}

/* Scans segment seq from start and enters it in the table. The last segment
 * is opened read-write, cut back to its last good frame and becomes the
 * tail; in an earlier one a bad frame hides the rest of that segment.
 * Returns 0 or -1 with err set. */
static int spool_recover_seg(struct spool *s, uint64_t seq, uint64_t start, bool last, char *err,
                             size_t errlen)
{
    char name[SPOOL_SEG_NAME_MAX];
    char path[PATH_MAX];
    const char *why;
    uint64_t end;
    uint64_t records;
    struct stat st;
    int fd;

    spool_seg_name(name, sizeof(name), seq);
    spool_seg_path(s, seq, path, sizeof(path));
    fd = openat(s->dir_fd, name, (last ? O_RDWR | O_APPEND : O_RDONLY) | O_CLOEXEC);
    if (fd == -1) {
        errbuf_printf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        errbuf_printf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (start > (uint64_t)st.st_size) {
        log_warn("spool.cursor_past_end", LOG_STR("path", path), LOG_INT("offset", start),
                 LOG_INT("size", st.st_size));
        start = (uint64_t)st.st_size;
    }
    if (spool_scan(s, fd, start, (uint64_t)st.st_size, &end, &records, &why) == -1) {
        errbuf_printf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (why != NULL && last) {
        enum log_level lvl = strcmp(why, "incomplete") == 0 ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR;
        log_event(lvl, "spool.tail_truncated", LOG_STR("path", path), LOG_STR("reason", why),
                  LOG_INT("offset", end), LOG_INT("dropped_bytes", (uint64_t)st.st_size - end),
                  LOG_T_END);
        if (ftruncate(fd, (off_t)end) == -1 || (s->fsync_each && fdatasync(fd) == -1)) {
            errbuf_printf(err, errlen, "cannot truncate %s: %s", path, strerror(errno));
            goto fail;
        }
    } else if (why != NULL) {
        log_error("spool.segment_corrupt", LOG_STR("path", path), LOG_STR("reason", why),
                  LOG_INT("offset", end), LOG_INT("skipped_bytes", (uint64_t)st.st_size - end));
    }
    if (spool_seg_push(s, seq, end, records) == -1) {
        errbuf_printf(err, errlen, "out of memory");
        goto fail;
    }
    if (s->nsegs == 1) {
        s->rd_seq = seq; /* the oldest segment kept: reading starts here */
        s->rd_off = start;
    }
    s->pending_bytes += end - start;
    s->pending_records += records;
    if (last) {
        s->tail_fd = fd;
    } else {
        close(fd);
    }
    return 0;

fail:
    close(fd);
    return -1;
}

size_t spool_resume_point(const struct spool_pos *cursor, const uint64_t *seqs, size_t n,
                          struct spool_pos *at)
{
    size_t first = 0;

    if (cursor != NULL) {
        while (first < n && seqs[first] < cursor->seq) {
            first++;
        }
    }
    if (first < n) {
        at->seq = seqs[first];
        at->off = (cursor != NULL && seqs[first] == cursor->seq) ? cursor->off : 0;
    } else {
        at->seq = cursor != NULL ? cursor->seq + 1 : 1;
        at->off = 0;
    }
    return first;
}

/* Rebuilds the table from the directory and the cursor, removes segments
 * already consumed, and makes sure there is a tail. Returns 0 or -1 with err
 * set. */
static int spool_recover(struct spool *s, char *err, size_t errlen)
{
    struct spool_pos cur = {0, 0};
    struct spool_pos at;
    uint64_t *seqs = NULL;
    size_t n = 0;
    size_t first;
    int rc = -1;
    int have;

    have = spool_cursor_read(s, &cur, err, errlen);
    if (have == -1 || spool_list(s, &seqs, &n, err, errlen) == -1) {
        goto out;
    }
    first = spool_resume_point(have == 1 ? &cur : NULL, seqs, n, &at);
    /* Segments before the resume point were consumed; a crash kept them. */
    for (size_t i = 0; i < first; i++) {
        char name[SPOOL_SEG_NAME_MAX];
        spool_seg_name(name, sizeof(name), seqs[i]);
        if (unlinkat(s->dir_fd, name, 0) == -1) {
            log_warn("spool.segment_unlink_failed", LOG_STR("path", s->dir),
                     LOG_STR("segment", name), LOG_STR("error", strerror(errno)));
        }
    }
    for (size_t i = first; i < n; i++) {
        uint64_t start = seqs[i] == at.seq ? at.off : 0;
        if (spool_recover_seg(s, seqs[i], start, i + 1 == n, err, errlen) == -1) {
            goto out;
        }
    }
    if (s->nsegs == 0) {
        if (at.seq == 0 || at.seq == UINT64_MAX || spool_seg_create(s, at.seq) == -1) {
            errbuf_printf(err, errlen, "cannot create a segment in %s: %s", s->dir,
                          strerror(errno));
            goto out;
        }
        s->rd_seq = at.seq;
        s->rd_off = 0;
    }
    rc = 0;
out:
    free(seqs);
    return rc;
}

/* Makes sure the cursor file is preallocated, so that no later cursor write
 * needs space. When it cannot be made now (a full disk at start), logs it
 * and leaves it to the next commit. */
static void spool_cursor_prepare(struct spool *s)
{
    const char *what = "create";

    if (s->cursor_fd != -1) {
        return;
    }
    if (spool_cursor_reserve(s, &what) == -1) {
        log_warn("spool.cursor_reserve_failed", LOG_STR("path", s->dir), LOG_STR("op", what),
                 LOG_STR("error", strerror(errno)),
                 LOG_STR("action", "retried at the next replay"));
        s->cursor_failing = true;
    }
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, uint64_t segment_bytes,
                         bool fsync_each, char *err, size_t errlen)
{
    struct spool *s;

    if (dir == NULL || dir[0] == '\0' || max_bytes == 0 || segment_bytes == 0) {
        errbuf_printf(err, errlen, "spool needs a directory and non-zero sizes");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    s->dir_fd = -1;
    s->tail_fd = -1;
    s->rd_fd = -1;
    s->cursor_fd = -1;
    s->max_bytes = max_bytes;
    s->segment_bytes = segment_bytes;
    s->fsync_each = fsync_each;
    s->dir = strdup(dir);
    s->buf = malloc(SPOOL_CHUNK);
    if (s->dir == NULL || s->buf == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto fail_free;
    }
    s->buf_cap = SPOOL_CHUNK;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        errbuf_printf(err, errlen, "cannot create a mutex");
        goto fail_free;
    }
    if (spool_open_dir(s, err, errlen) == -1 || spool_recover(s, err, errlen) == -1) {
        goto fail_mutex;
    }
    s->saved_seq = s->rd_seq;
    s->saved_off = s->rd_off;
    spool_cursor_prepare(s);
    log_info("spool.opened", LOG_STR("path", s->dir), LOG_INT("segments", s->nsegs),
             LOG_INT("pending_records", s->pending_records),
             LOG_INT("pending_bytes", s->pending_bytes));
    return s;

fail_mutex:
    pthread_mutex_destroy(&s->lock);
fail_free:
    if (s->tail_fd != -1) {
        close(s->tail_fd);
    }
    if (s->cursor_fd != -1) {
        close(s->cursor_fd);
    }
    if (s->dir_fd != -1) {
        close(s->dir_fd);
    }
    free(s->segs);
    free(s->buf);
    free(s->dir);
    free(s);
    return NULL;
}

/* ---- append ---- */

/* After a failed write or sync, cuts the tail back to its last complete frame;
 * when even that fails, the next append starts a new segment. Caller holds
 * the lock. */
static void spool_tail_rollback(struct spool *s, uint64_t end)
{
    if (ftruncate(s->tail_fd, (off_t)end) == -1) {
        s->roll = true;
    }
}

/* Writes the frame, the whole of it or (on an injected failure) half of it
 * before failing like a disk filling mid-write. Returns 0 or -1 (errno). */
static int spool_frame_write(struct spool *s, const unsigned char *frame, size_t len)
{
    if (spool_fault_hit(s, SPOOL_FAULT_APPEND)) {
        int saved = errno;
        (void)spool_write_full(s->tail_fd, frame, len / 2);
        errno = saved;
        return -1;
    }
    return spool_write_full(s->tail_fd, frame, len);
}

/* Appends a built frame to the tail, starting a new segment when due.
 * Caller holds the lock. Returns 0, SPOOL_FULL (the bound, or the disk:
 * then *err_no is set), or -1 with *op and *err_no set (*op NULL when
 * already logged). */
static int spool_append_locked(struct spool *s, const unsigned char *frame, size_t len,
                               const char **op, int *err_no)
{
    struct spool_seg *tail;

    if (s->pending_bytes + len > s->max_bytes) {
        return SPOOL_FULL;
    }
    tail = &s->segs[s->nsegs - 1];
    if (s->roll || (tail->end > 0 && tail->end + len > s->segment_bytes)) {
        if (spool_seg_create(s, tail->seq + 1) == -1) {
            *err_no = errno;
            return spool_errno_full(errno) ? SPOOL_FULL : -1;
        }
        tail = &s->segs[s->nsegs - 1];
    }
    if (spool_frame_write(s, frame, len) == -1) {
        *op = "write";
    } else if (s->fsync_each && fdatasync(s->tail_fd) == -1) {
        *op = "fdatasync";
    }
    if (*op != NULL) {
        *err_no = errno;
        spool_tail_rollback(s, tail->end);
        return spool_errno_full(*err_no) ? SPOOL_FULL : -1;
    }
    tail->end += len;
    tail->records++;
    s->pending_bytes += len;
    s->pending_records++;
    return 0;
}

/* Builds the frame of a record into frame (len bytes). */
static void spool_frame_build(unsigned char *frame, size_t len, int topic, const void *key,
                              size_t key_len, const void *value, size_t value_len)
{
    spool_put_u32(frame, SPOOL_MAGIC);
    spool_put_u32(frame + 4, (uint32_t)len);
    frame[12] = (unsigned char)topic;
    spool_put_u32(frame + 13, (uint32_t)key_len);
    if (key_len > 0) {
        memcpy(frame + SPOOL_HDR, key, key_len);
    }
    if (value_len > 0) {
        memcpy(frame + SPOOL_HDR + key_len, value, value_len);
    }
    spool_put_u32(frame + 8, (uint32_t)crc32(crc32(0L, Z_NULL, 0), frame + 12, (uInt)(len - 12)));
}

int spool_append(struct spool *s, int topic, const void *key, size_t key_len, const void *value,
                 size_t value_len)
{
    unsigned char stack[SPOOL_STACK_FRAME];
    unsigned char *frame = stack;
    const char *op = NULL;
    bool was_full;
    uint64_t pending = 0;
    size_t len;
    int err_no = 0;
    int rc;

    if (s == NULL || (topic != SPOOL_TOPIC_RAW && topic != SPOOL_TOPIC_DEADLETTER) ||
        (key == NULL && key_len > 0) || (value == NULL && value_len > 0)) {
        log_error("spool.bad_record", LOG_INT("topic", topic));
        return -1;
    }
    if (key_len > SPOOL_FRAME_MAX - SPOOL_HDR ||
        value_len > SPOOL_FRAME_MAX - SPOOL_HDR - key_len) {
        log_error("spool.record_too_large", LOG_INT("key_len", key_len),
                  LOG_INT("value_len", value_len), LOG_INT("max", SPOOL_FRAME_MAX - SPOOL_HDR));
        return -1;
    }
    len = SPOOL_HDR + key_len + value_len;
    if (len > sizeof(stack)) {
        frame = malloc(len);
        if (frame == NULL) {
            log_error("spool.out_of_memory", LOG_INT("bytes", len));
            return -1;
        }
    }
    spool_frame_build(frame, len, topic, key, key_len, value, value_len);

    pthread_mutex_lock(&s->lock);
    rc = spool_append_locked(s, frame, len, &op, &err_no);
    was_full = s->disk_full;
    if (rc == 0 || err_no != 0) {
        s->disk_full = rc == SPOOL_FULL; /* only a write tells whether the disk is full */
    }
    pending = s->pending_bytes;
    pthread_mutex_unlock(&s->lock);
    if (rc == SPOOL_FULL && err_no != 0 && !was_full) {
        log_warn("spool.disk_full", LOG_STR("path", s->dir), LOG_STR("error", strerror(err_no)),
                 LOG_INT("pending_bytes", pending),
                 LOG_STR("action", "answering spool full until the replay frees space"));
    } else if (rc == 0 && was_full) {
        log_info("spool.disk_space_returned", LOG_STR("path", s->dir),
                 LOG_INT("pending_bytes", pending));
    } else if (rc == -1 && op != NULL) {
        log_error("spool.write_failed", LOG_STR("path", s->dir), LOG_STR("op", op),
                  LOG_STR("error", strerror(err_no)));
    }
    if (frame != stack) {
        free(frame);
    }
    return rc;
}

/* ---- peek and commit (replayer thread) ---- */

/* What the replayer may know about segment seq, copied under the lock. */
struct spool_view {
    uint64_t end;
    uint64_t next_seq;
    bool last;
};

static int spool_view_get(struct spool *s, uint64_t seq, struct spool_view *v)
{
    struct spool_seg *g;
    size_t i = 0;

    pthread_mutex_lock(&s->lock);
    g = spool_seg_find(s, seq, &i);
    if (g != NULL) {
        v->end = g->end;
        v->last = i + 1 == s->nsegs;
        v->next_seq = v->last ? 0 : s->segs[i + 1].seq;
    }
    pthread_mutex_unlock(&s->lock);
    if (g == NULL) {
        log_error("spool.segment_missing", LOG_STR("path", s->dir), LOG_INT("segment", seq));
        return -1;
    }
    return 0;
}

/* Moves the read position to the start of segment seq. */
static void spool_reader_move(struct spool *s, uint64_t seq)
{
    s->rd_seq = seq;
    s->rd_off = 0;
    s->buf_len = 0;
}

/* Opens the read file for rd_seq when not already open. Returns 0 or -1. */
static int spool_reader_open(struct spool *s)
{
    char name[SPOOL_SEG_NAME_MAX];
    char path[PATH_MAX];

    if (s->rd_fd != -1 && s->rd_fd_seq == s->rd_seq) {
        return 0;
    }
    if (s->rd_fd != -1) {
        close(s->rd_fd);
        s->rd_fd = -1;
    }
    spool_seg_name(name, sizeof(name), s->rd_seq);
    s->rd_fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (s->rd_fd == -1) {
        spool_seg_path(s, s->rd_seq, path, sizeof(path));
        log_error("spool.read_failed", LOG_STR("path", path), LOG_STR("error", strerror(errno)));
        return -1;
    }
    s->rd_fd_seq = s->rd_seq;
    return 0;
}

/* Makes the buffer start at the read position, keeping bytes already read. */
static void spool_buf_rebase(struct spool *s)
{
    if (s->buf_len > 0 && s->buf_seq == s->rd_seq && s->rd_off >= s->buf_off &&
        s->rd_off <= s->buf_off + s->buf_len) {
        size_t skip = (size_t)(s->rd_off - s->buf_off);
        memmove(s->buf, s->buf + skip, s->buf_len - skip);
        s->buf_len -= skip;
    } else {
        s->buf_len = 0;
    }
    if (s->buf_len == 0 && s->buf_cap > SPOOL_CHUNK) {
        unsigned char *p = realloc(s->buf, SPOOL_CHUNK); /* after a large frame */
        if (p != NULL) {
            s->buf = p;
            s->buf_cap = SPOOL_CHUNK;
        }
    }
    s->buf_seq = s->rd_seq;
    s->buf_off = s->rd_off;
}

/* Drops the rest of the read segment after a bad frame at the read position:
 * the data there is lost (logged); the writer moves to a new segment if it
 * was writing this one. */
static void spool_skip_corrupt(struct spool *s, const char *why)
{
    char path[PATH_MAX];
    uint64_t bytes = 0;
    uint64_t records = 0;
    struct spool_seg *g;
    size_t i = 0;

    pthread_mutex_lock(&s->lock);
    g = spool_seg_find(s, s->rd_seq, &i);
    if (g != NULL && g->end > s->rd_off) {
        bytes = g->end - s->rd_off;
        records = g->records;
        s->pending_bytes -= bytes;
        s->pending_records -= records;
        g->end = s->rd_off;
        g->records = 0;
        if (i + 1 == s->nsegs) {
            s->roll = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    s->buf_len = 0;
    spool_seg_path(s, s->rd_seq, path, sizeof(path));
    log_error("spool.segment_corrupt", LOG_STR("path", path), LOG_STR("reason", why),
              LOG_INT("offset", s->rd_off), LOG_INT("dropped_records", records),
              LOG_INT("dropped_bytes", bytes));
}

/* Decodes up to max frames from the read position of a segment readable up
 * to v->end, reading more as needed. Returns the count, sets *why when a bad
 * frame stopped it at the read position, or returns -1 on an I/O error. */
static int spool_peek_segment(struct spool *s, const struct spool_view *v, struct spool_record *out,
                              size_t max, const char **why)
{
    size_t pos = 0;
    size_t n = 0;

    for (;;) {
        uint64_t have_end;
        size_t need = 0;
        size_t want;
        ssize_t got;

        while (n < max) {
            enum spool_frame_status st =
                spool_frame_parse(s->buf + pos, s->buf_len - pos, &need, &out[n], why);
            if (st == SPOOL_FRAME_BAD) {
                return (int)n;
            }
            if (st == SPOOL_FRAME_SHORT) {
                break;
            }
            pos += need;
            n++;
        }
        have_end = s->buf_off + s->buf_len;
        if (n == max || (pos == s->buf_len && have_end >= v->end)) {
            return (int)n;
        }
        if (have_end >= v->end) {
            *why = "frame_past_end";
            return (int)n;
        }
        if (s->buf_len == s->buf_cap) {
            if (n > 0) {
                return (int)n; /* records point into the buffer: do not move it */
            }
            if (spool_buf_reserve(s, need) == -1) {
                log_error("spool.out_of_memory", LOG_INT("bytes", need));
                return -1;
            }
        }
        want = s->buf_cap - s->buf_len;
        if (v->end - have_end < want) {
            want = (size_t)(v->end - have_end);
        }
        got = spool_pread_full(s->rd_fd, s->buf + s->buf_len, want, have_end);
        if (got == -1) {
            char path[PATH_MAX];
            spool_seg_path(s, s->rd_seq, path, sizeof(path));
            log_error("spool.read_failed", LOG_STR("path", path),
                      LOG_STR("error", strerror(errno)));
            return -1;
        }
        if ((size_t)got < want) {
            *why = "short_read";
            return (int)n;
        }
        s->buf_len += want;
    }
}

int spool_peek(struct spool *s, struct spool_record *out, size_t max)
{
    if (s == NULL || (out == NULL && max > 0)) {
        return -1;
    }
    s->npeek = 0;
    if (max > INT_MAX) {
        max = INT_MAX;
    }
    while (max > 0) {
        struct spool_view v;
        const char *why = NULL;
        int n;

        if (spool_view_get(s, s->rd_seq, &v) == -1) {
            return -1;
        }
        if (s->rd_off >= v.end) {
            if (v.last) {
                return 0;
            }
            spool_reader_move(s, v.next_seq);
            continue;
        }
        if (spool_reader_open(s) == -1) {
            return -1;
        }
        spool_buf_rebase(s);
        n = spool_peek_segment(s, &v, out, max, &why);
        if (n != 0 || why == NULL) {
            s->npeek = n > 0 ? (size_t)n : 0;
            return n;
        }
        spool_skip_corrupt(s, why);
    }
    return 0;
}

/* Unlinks the segments before the read position, and closes the read file
 * when it was one of them (an open file keeps its blocks). Caller holds the
 * lock and is the replayer. Returns the number of segments removed. */
static size_t spool_unlink_consumed(struct spool *s)
{
    size_t k = 0;

    while (k < s->nsegs && s->segs[k].seq < s->rd_seq) {
        char name[SPOOL_SEG_NAME_MAX];
        spool_seg_name(name, sizeof(name), s->segs[k].seq);
        if (unlinkat(s->dir_fd, name, 0) == -1 && errno != ENOENT) {
            log_warn("spool.segment_unlink_failed", LOG_STR("path", s->dir),
                     LOG_STR("segment", name), LOG_STR("error", strerror(errno)));
        }
        k++;
    }
    if (s->rd_fd != -1 && s->rd_fd_seq < s->rd_seq) {
        close(s->rd_fd);
        s->rd_fd = -1;
    }
    if (k > 0) {
        memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof(*s->segs));
        s->nsegs -= k;
        spool_sync_dir(s);
    }
    return k;
}

/* When the reader has drained the tail, moves the writer to a new empty
 * segment and the reader with it, so the drained one can go (its space is
 * needed most when the disk is full). When the new segment cannot be made,
 * the next append tries again. Caller holds the lock. */
static void spool_roll_drained_tail(struct spool *s)
{
    struct spool_seg *tail = &s->segs[s->nsegs - 1];

    if (tail->seq != s->rd_seq || tail->end == 0 || s->rd_off < tail->end) {
        return;
    }
    if (tail->seq + 1 == UINT64_MAX || spool_seg_create(s, tail->seq + 1) == -1) {
        s->roll = true;
        return;
    }
    spool_reader_move(s, s->segs[s->nsegs - 1].seq);
}

int spool_commit(struct spool *s, size_t n)
{
    struct spool_seg *g;
    uint64_t bytes = 0;
    bool space_back;
    size_t i = 0;
    int rc = 0;

    if (s == NULL) {
        return -1;
    }
    if (n > s->npeek) {
        log_error("spool.commit_invalid", LOG_INT("records", n), LOG_INT("peeked", s->npeek));
        return -1;
    }
    /* The peeked frames start the buffer, which starts at the read position. */
    for (size_t k = 0; k < n; k++) {
        bytes += spool_get_u32(s->buf + bytes + 4);
    }
    s->npeek = 0;

    pthread_mutex_lock(&s->lock);
    g = spool_seg_find(s, s->rd_seq, &i);
    if (g != NULL) {
        g->records -= n;
        s->pending_records -= n;
        s->pending_bytes -= bytes;
        s->rd_off += bytes;
        /* Step over finished segments so they go now, not after the next peek. */
        while (i + 1 < s->nsegs && s->rd_off >= s->segs[i].end) {
            i++;
            spool_reader_move(s, s->segs[i].seq);
        }
        spool_roll_drained_tail(s);
    }
    pthread_mutex_unlock(&s->lock);
    if (g == NULL) {
        log_error("spool.segment_missing", LOG_STR("path", s->dir), LOG_INT("segment", s->rd_seq));
        return -1;
    }
    if (s->rd_seq == s->saved_seq && s->rd_off == s->saved_off) {
        return 0;
    }
    /* The cursor goes first, so a crash before the unlinks only leaves
     * segments that the next open removes. The unlinks happen even when the
     * cursor write failed: a full disk needs their space back, and the next
     * open then starts at the oldest segment left. */
    if (spool_cursor_write(s) == -1) {
        rc = -1;
    }
    pthread_mutex_lock(&s->lock);
    space_back = spool_unlink_consumed(s) > 0 && s->disk_full;
    if (space_back) {
        s->disk_full = false; /* the next append finds out for sure */
    }
    pthread_mutex_unlock(&s->lock);
    if (space_back) {
        log_info("spool.disk_space_returned", LOG_STR("path", s->dir),
                 LOG_STR("reason", "drained segments removed"));
    }
    return rc;
}

/* ---- accessors and close ---- */

uint64_t spool_pending_records(struct spool *s)
{
    uint64_t v;

    pthread_mutex_lock(&s->lock);
    v = s->pending_records;
    pthread_mutex_unlock(&s->lock);
    return v;
}

uint64_t spool_pending_bytes(struct spool *s)
{
    uint64_t v;

    pthread_mutex_lock(&s->lock);
    v = s->pending_bytes;
    pthread_mutex_unlock(&s->lock);
    return v;
}

void spool_close(struct spool *s)
{
    if (s == NULL) {
        return;
    }
    if (s->tail_fd != -1) {
        if (fdatasync(s->tail_fd) == -1) {
            log_warn("spool.sync_failed", LOG_STR("path", s->dir),
                     LOG_STR("error", strerror(errno)));
        }
        close(s->tail_fd);
    }
    if (s->rd_fd != -1) {
        close(s->rd_fd);
    }
    if (s->cursor_fd != -1) {
        close(s->cursor_fd);
    }
    if (s->dir_fd != -1) {
        close(s->dir_fd); /* releases the flock */
    }
    pthread_mutex_destroy(&s->lock);
    free(s->segs);
    free(s->buf);
    free(s->dir);
    free(s);
}
