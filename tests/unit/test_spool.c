/* Unit tests for the collector's disk spool (services/collector/spool.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "spool.h"

#include "analytics/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HDR 17u       /* frame header bytes, see spool.c */
#define KEY_LEN 10u   /* "key-000000" */
#define VALUE_LEN 64u /* "val-000000" padded with 'x' */
#define FRAME (HDR + KEY_LEN + VALUE_LEN)
#define BIG (UINT64_C(1) << 30)

struct fixture {
    char dir[64];
    char path[128]; /* spool directory: dir/spool */
    int saved_stderr;
    char log[1 << 16]; /* stderr captured between capture_begin and capture_end */
};

/* ---- helpers ---- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_spool.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/spool", f->dir);
    *state = f;
    return 0;
}

/* Sends stderr (the log) to a file until capture_end. */
static void capture_begin(struct fixture *f)
{
    char path[96];
    int fd;

    snprintf(path, sizeof(path), "%s/log", f->dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd != -1);
    f->saved_stderr = dup(STDERR_FILENO);
    assert_true(f->saved_stderr != -1);
    assert_true(dup2(fd, STDERR_FILENO) != -1);
    close(fd);
}

/* Restores stderr, echoes and returns the log lines written since
 * capture_begin (held in f->log until the next capture). */
static const char *capture_end(struct fixture *f)
{
    char path[96];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/log", f->dir);
    assert_true(dup2(f->saved_stderr, STDERR_FILENO) != -1);
    close(f->saved_stderr);
    fd = open(path, O_RDONLY);
    assert_true(fd != -1);
    n = read(fd, f->log, sizeof(f->log) - 1);
    assert_true(n >= 0);
    f->log[n] = '\0';
    close(fd);
    unlink(path);
    fputs(f->log, stderr);
    return f->log;
}

/* Asserts the log has no warn or error line. */
static void assert_log_quiet(const char *log)
{
    assert_null(strstr(log, "\"lvl\":\"warn\""));
    assert_null(strstr(log, "\"lvl\":\"error\""));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    chmod(f->path, 0700);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct spool *open_spool(const struct fixture *f, uint64_t max_bytes, uint64_t seg_bytes)
{
    char err[256] = "";
    struct spool *s = spool_open(f->path, max_bytes, seg_bytes, false, err, sizeof(err));

    if (s == NULL) {
        fail_msg("spool_open: %s", err);
    }
    return s;
}

static void make_record(int i, char *key, char *value)
{
    snprintf(key, KEY_LEN + 1, "key-%06d", i);
    memset(value, 'x', VALUE_LEN);
    memcpy(value, "val-", 4);
    for (int d = 9, v = i; d >= 4; d--, v /= 10) {
        value[d] = (char)('0' + v % 10);
    }
}

static void append_range(struct spool *s, int from, int to)
{
    char key[KEY_LEN + 1];
    char value[VALUE_LEN];

    for (int i = from; i < to; i++) {
        make_record(i, key, value);
        assert_int_equal(spool_append(s, i % 2, key, KEY_LEN, value, VALUE_LEN), 0);
    }
}

static void check_record(const struct spool_record *r, int i)
{
    char key[KEY_LEN + 1];
    char value[VALUE_LEN];

    make_record(i, key, value);
    assert_int_equal(r->topic, i % 2);
    assert_int_equal(r->key_len, KEY_LEN);
    assert_memory_equal(r->key, key, KEY_LEN);
    assert_int_equal(r->value_len, VALUE_LEN);
    assert_memory_equal(r->value, value, VALUE_LEN);
}

/* Peeks and commits everything, checking the records are exactly
 * first .. first + count - 1, in batches of batch. */
static void drain_expect(struct spool *s, int first, int count, size_t batch)
{
    struct spool_record recs[64];
    int next = first;

    assert_true(batch <= 64);
    for (;;) {
        int n = spool_peek(s, recs, batch);
        assert_true(n >= 0);
        if (n == 0) {
            break;
        }
        for (int k = 0; k < n; k++) {
            check_record(&recs[k], next++);
        }
        assert_int_equal(spool_commit(s, (size_t)n), 0);
    }
    assert_int_equal(next, first + count);
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_pending_bytes(s), 0);
}

static int count_segments(const char *path)
{
    struct dirent *de;
    int n = 0;
    DIR *d = opendir(path);

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void seg_path(const struct fixture *f, uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg-%016llu.spool", f->path, (unsigned long long)seq);
}

static off_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* XORs one byte of a file at off. */
static void flip_byte(const char *path, off_t off)
{
    unsigned char c;
    int fd = open(path, O_RDWR);

    assert_true(fd != -1);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* ---- tests ---- */

static void test_empty_peek(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[4];
    struct spool *s = open_spool(f, BIG, BIG);

    assert_int_equal(spool_peek(s, recs, 4), 0);
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_pending_bytes(s), 0);
    assert_int_equal(spool_commit(s, 0), 0);
    assert_int_equal(spool_commit(s, 1), -1);
    spool_close(s);
    spool_close(NULL);
}

static void test_order_across_segments(void **state)
{
    struct fixture *f = *state;
    struct spool *s = open_spool(f, BIG, 4 * FRAME);

    append_range(s, 0, 40);
    assert_int_equal(spool_pending_records(s), 40);
    assert_int_equal(spool_pending_bytes(s), 40 * FRAME);
    assert_int_equal(count_segments(f->path), 10);
    drain_expect(s, 0, 40, 7);
    /* Consumed segments are gone; the tail stays for the writer. */
    assert_int_equal(count_segments(f->path), 1);
    append_range(s, 40, 45);
    drain_expect(s, 40, 5, 64);
    spool_close(s);
}

static void test_reopen_resumes_at_cursor(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[12];
    struct spool *s = open_spool(f, BIG, 5 * FRAME);

    append_range(s, 0, 30);
    assert_int_equal(spool_peek(s, recs, 12), 5); /* one segment per peek */
    assert_int_equal(spool_commit(s, 5), 0);
    assert_int_equal(spool_peek(s, recs, 3), 3);
    assert_int_equal(spool_commit(s, 3), 0);
    assert_int_equal(spool_pending_records(s), 22);
    spool_close(s);

    capture_begin(f);
    s = open_spool(f, BIG, 5 * FRAME);
    assert_log_quiet(capture_end(f));
    assert_int_equal(spool_pending_records(s), 22);
    assert_int_equal(spool_pending_bytes(s), 22 * FRAME);
    append_range(s, 30, 33);
    drain_expect(s, 8, 25, 4);
    spool_close(s);

    /* Everything consumed: reopening finds nothing pending, appends go on. */
    s = open_spool(f, BIG, 5 * FRAME);
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_peek(s, recs, 12), 0);
    append_range(s, 33, 35);
    drain_expect(s, 33, 2, 12);
    spool_close(s);
}

static void test_partial_commit(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[10];
    struct spool *s = open_spool(f, BIG, BIG);

    append_range(s, 0, 20);
    assert_int_equal(spool_peek(s, recs, 10), 10);
    for (int i = 0; i < 10; i++) {
        check_record(&recs[i], i);
    }
    assert_int_equal(spool_commit(s, 4), 0);
    assert_int_equal(spool_pending_records(s), 16);
    assert_int_equal(spool_pending_bytes(s), 16 * FRAME);
    /* The rest of that peek is gone: commit needs a new peek. */
    assert_int_equal(spool_commit(s, 1), -1);
    assert_int_equal(spool_peek(s, recs, 10), 10);
    for (int i = 0; i < 10; i++) {
        check_record(&recs[i], i + 4);
    }
    assert_int_equal(spool_commit(s, 11), -1);
    /* Peeking again without a commit returns the same records. */
    assert_int_equal(spool_peek(s, recs, 3), 3);
    check_record(&recs[0], 4);
    assert_int_equal(spool_commit(s, 0), 0);
    drain_expect(s, 4, 16, 5);
    spool_close(s);
}

static void test_full_and_space_returns(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[3];
    char key[KEY_LEN + 1];
    char value[VALUE_LEN];
    struct spool *s = open_spool(f, 10 * FRAME, 3 * FRAME);

    append_range(s, 0, 10);
    make_record(10, key, value);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    assert_int_equal(spool_pending_records(s), 10);
    assert_int_equal(spool_pending_bytes(s), 10 * FRAME);
    /* Peeked but not committed still counts. */
    assert_int_equal(spool_peek(s, recs, 3), 3);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    assert_int_equal(spool_commit(s, 2), 0);
    append_range(s, 10, 12);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    drain_expect(s, 2, 10, 3);
    spool_close(s);
}

static void test_torn_tail(void **state)
{
    struct fixture *f = *state;
    /* Cut points: inside the header, inside key and value, one byte short. */
    static const off_t cuts[] = {1, 10, HDR + 3, FRAME - 1};

    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        struct spool_record recs[16];
        const char *log;
        char path[256];
        struct spool *s;

        snprintf(f->path, sizeof(f->path), "%s/spool%zu", f->dir, c);
        seg_path(f, 1, path, sizeof(path));
        s = open_spool(f, BIG, BIG);
        append_range(s, 0, 10);
        spool_close(s);
        assert_int_equal(file_size(path), 10 * FRAME);
        assert_int_equal(truncate(path, 9 * FRAME + cuts[c]), 0);

        capture_begin(f);
        s = open_spool(f, BIG, BIG);
        log = capture_end(f);
        assert_non_null(strstr(log, "\"lvl\":\"warn\""));
        assert_non_null(strstr(log, "\"event\":\"spool.tail_truncated\""));
        assert_non_null(strstr(log, "\"reason\":\"incomplete\""));
        assert_int_equal(spool_pending_records(s), 9);
        assert_int_equal(spool_pending_bytes(s), 9 * FRAME);
        assert_int_equal(file_size(path), 9 * FRAME);
        append_range(s, 100, 101);
        assert_int_equal(count_segments(f->path), 1);
        spool_close(s);

        capture_begin(f);
        s = open_spool(f, BIG, BIG);
        assert_log_quiet(capture_end(f));
        assert_int_equal(spool_pending_records(s), 10);
        assert_int_equal(spool_peek(s, recs, 16), 10);
        for (int i = 0; i < 9; i++) {
            check_record(&recs[i], i);
        }
        check_record(&recs[9], 100);
        assert_int_equal(spool_commit(s, 10), 0);
        assert_int_equal(spool_pending_bytes(s), 0);
        spool_close(s);
    }
}

static void test_flipped_byte_last_segment(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[16];
    const char *log;
    char path[256];
    struct spool *s = open_spool(f, BIG, BIG);

    append_range(s, 0, 10);
    spool_close(s);
    seg_path(f, 1, path, sizeof(path));
    flip_byte(path, 6 * FRAME + HDR + KEY_LEN + 20); /* inside record 6's value */

    capture_begin(f);
    s = open_spool(f, BIG, BIG);
    log = capture_end(f);
    assert_non_null(strstr(log, "\"lvl\":\"error\""));
    assert_non_null(strstr(log, "\"event\":\"spool.tail_truncated\""));
    assert_non_null(strstr(log, "\"reason\":\"bad_crc\""));
    assert_non_null(strstr(log, "\"dropped_bytes\":364")); /* 4 frames of 91 bytes */
    assert_int_equal(spool_pending_records(s), 6);
    assert_int_equal(file_size(path), 6 * FRAME);
    append_range(s, 6, 8);
    assert_int_equal(spool_peek(s, recs, 16), 8);
    for (int i = 0; i < 8; i++) {
        check_record(&recs[i], i);
    }
    spool_close(s);
}

static void test_flipped_byte_middle_segment(void **state)
{
    struct fixture *f = *state;
    /* Where to break record 5 (the second of segment 2): payload, magic, length. */
    static const off_t where[] = {FRAME + HDR + 2, FRAME + 0, FRAME + 5};

    for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
        struct spool_record recs[16];
        static const int expect[] = {0, 1, 2, 3, 4, 8, 9, 10, 11};
        const char *log;
        char path[256];
        struct spool *s;
        int n;

        snprintf(f->path, sizeof(f->path), "%s/spool%zu", f->dir, w);
        s = open_spool(f, BIG, 4 * FRAME);
        append_range(s, 0, 12);
        spool_close(s);
        seg_path(f, 2, path, sizeof(path));
        flip_byte(path, where[w]);

        capture_begin(f);
        s = open_spool(f, BIG, 4 * FRAME);
        log = capture_end(f);
        assert_non_null(strstr(log, "\"event\":\"spool.segment_corrupt\""));
        assert_non_null(strstr(log, "seg-0000000000000002.spool"));
        assert_null(strstr(log, "seg-0000000000000001.spool"));
        assert_null(strstr(log, "spool.tail_truncated"));
        assert_int_equal(spool_pending_records(s), 9);
        assert_int_equal(spool_pending_bytes(s), 9 * FRAME);
        /* The damaged segment is kept as is, only the tail is ever cut. */
        assert_int_equal(file_size(path), 4 * FRAME);
        n = 0;
        for (;;) {
            int got = spool_peek(s, recs, 16);
            assert_true(got >= 0);
            if (got == 0) {
                break;
            }
            for (int k = 0; k < got; k++) {
                assert_true(n < 9);
                check_record(&recs[k], expect[n++]);
            }
            assert_int_equal(spool_commit(s, (size_t)got), 0);
        }
        assert_int_equal(n, 9);
        assert_int_equal(spool_pending_records(s), 0);
        assert_int_equal(count_segments(f->path), 1);
        spool_close(s);
    }
}

static void test_corruption_found_by_peek(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[16];
    const char *log;
    char path[256];
    struct spool *s = open_spool(f, BIG, BIG);

    append_range(s, 0, 8);
    seg_path(f, 1, path, sizeof(path));
    flip_byte(path, 3 * FRAME + HDR + 1); /* behind the open spool's back */
    assert_int_equal(spool_peek(s, recs, 16), 3);
    check_record(&recs[2], 2);
    assert_int_equal(spool_commit(s, 3), 0);
    /* The rest of the segment is dropped (logged), the counts follow. */
    capture_begin(f);
    assert_int_equal(spool_peek(s, recs, 16), 0);
    log = capture_end(f);
    assert_non_null(strstr(log, "\"event\":\"spool.segment_corrupt\""));
    assert_non_null(strstr(log, "\"dropped_records\":5"));
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_pending_bytes(s), 0);
    /* The writer moves to a new segment and the reader follows. */
    append_range(s, 20, 22);
    assert_int_equal(count_segments(f->path), 2);
    drain_expect(s, 20, 2, 16);
    assert_int_equal(count_segments(f->path), 1);
    spool_close(s);
}

static void test_large_record(void **state)
{
    struct fixture *f = *state;
    size_t big_len = (size_t)6 << 20; /* larger than one read chunk (4 MiB) */
    struct spool_record recs[4];
    unsigned char *big = malloc(big_len);
    struct spool *s = open_spool(f, BIG, BIG);

    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (unsigned char)(i * 31 + 7);
    }
    append_range(s, 0, 1);
    assert_int_equal(spool_append(s, SPOOL_TOPIC_DEADLETTER, NULL, 0, big, big_len), 0);
    append_range(s, 1, 2);
    spool_close(s);

    s = open_spool(f, BIG, BIG);
    assert_int_equal(spool_pending_records(s), 3);
    assert_int_equal(spool_peek(s, recs, 4), 1);
    check_record(&recs[0], 0);
    assert_int_equal(spool_commit(s, 1), 0);
    assert_int_equal(spool_peek(s, recs, 4), 1);
    assert_int_equal(recs[0].topic, SPOOL_TOPIC_DEADLETTER);
    assert_null(recs[0].key);
    assert_int_equal(recs[0].key_len, 0);
    assert_int_equal(recs[0].value_len, big_len);
    assert_memory_equal(recs[0].value, big, big_len);
    assert_int_equal(spool_commit(s, 1), 0);
    drain_expect(s, 1, 1, 4);
    spool_close(s);
    free(big);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    struct spool_record rec;
    struct spool *s;

    assert_null(spool_open(f->path, 0, BIG, false, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(spool_open(f->path, BIG, 0, false, err, sizeof(err)));
    assert_null(spool_open("", BIG, BIG, false, err, sizeof(err)));
    assert_null(spool_open(NULL, BIG, BIG, false, NULL, 0));

    s = open_spool(f, BIG, BIG);
    assert_int_equal(spool_append(s, 2, "k", 1, "v", 1), -1);
    assert_int_equal(spool_append(s, -1, "k", 1, "v", 1), -1);
    assert_int_equal(spool_append(s, 0, NULL, 1, "v", 1), -1);
    assert_int_equal(spool_append(s, 0, "k", 1, NULL, 1), -1);
    assert_int_equal(spool_append(s, 0, "k", 1, "v", (size_t)64 << 20), -1);
    assert_int_equal(spool_append(s, 0, "k", SIZE_MAX, "v", 1), -1);
    assert_int_equal(spool_pending_records(s), 0);
    /* An empty record is fine. */
    assert_int_equal(spool_append(s, SPOOL_TOPIC_RAW, NULL, 0, NULL, 0), 0);
    assert_int_equal(spool_pending_bytes(s), HDR);
    assert_int_equal(spool_peek(s, &rec, 1), 1);
    assert_null(rec.key);
    assert_int_equal(rec.key_len, 0);
    assert_int_equal(rec.value_len, 0);
    assert_int_equal(spool_commit(s, 1), 0);
    spool_close(s);
}

static void test_open_on_regular_file(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    assert_true(fd != -1);
    close(fd);
    assert_null(spool_open(f->path, BIG, BIG, false, err, sizeof(err)));
    assert_non_null(strstr(err, "not a directory"));
    assert_non_null(strstr(err, f->path));
}

static void test_unwritable_dir(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    char sub[192];

    if (geteuid() != 0) {
        assert_int_equal(mkdir(f->path, 0500), 0);
        assert_null(spool_open(f->path, BIG, BIG, false, err, sizeof(err)));
        assert_non_null(strstr(err, "Permission denied"));
        snprintf(sub, sizeof(sub), "%s/below", f->path);
        assert_null(spool_open(sub, BIG, BIG, false, err, sizeof(err)));
        assert_non_null(strstr(err, "cannot create"));
        return;
    }
    /* root ignores modes: procfs refuses new files and directories to anyone. */
    assert_null(spool_open("/proc/self", BIG, BIG, false, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create a segment"));
    assert_null(spool_open("/proc/self/spool/x", BIG, BIG, false, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create"));
}

static void test_creates_missing_dirs_and_locks(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    struct stat st;
    struct spool *s;
    struct spool *other;

    snprintf(f->path, sizeof(f->path), "%s/a/b/spool", f->dir);
    s = open_spool(f, BIG, BIG);
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    other = spool_open(f->path, BIG, BIG, false, err, sizeof(err));
    assert_null(other);
    assert_non_null(strstr(err, "in use"));
    spool_close(s);
    s = open_spool(f, BIG, BIG);
    spool_close(s);
}

static void test_cursor_damage_and_leftovers(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[8];
    char path[256];
    int fd;
    struct spool *s = open_spool(f, BIG, 4 * FRAME);

    append_range(s, 0, 12);
    assert_int_equal(spool_peek(s, recs, 8), 4);
    assert_int_equal(spool_commit(s, 4), 0);
    assert_int_equal(count_segments(f->path), 2);
    spool_close(s);

    /* A consumed segment left behind by a crash before its unlink. */
    seg_path(f, 1, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd != -1);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    capture_begin(f);
    s = open_spool(f, BIG, 4 * FRAME);
    assert_log_quiet(capture_end(f));
    assert_int_equal(spool_pending_records(s), 8);
    assert_int_equal(access(path, F_OK), -1);
    spool_close(s);

    /* A damaged cursor: replay everything still on disk (at least once). */
    snprintf(path, sizeof(path), "%s/cursor", f->path);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd != -1);
    assert_int_equal(write(fd, "not a cursor", 12), 12);
    close(fd);
    capture_begin(f);
    s = open_spool(f, BIG, 4 * FRAME);
    assert_non_null(strstr(capture_end(f), "\"event\":\"spool.cursor_invalid\""));
    assert_int_equal(spool_pending_records(s), 8);
    drain_expect(s, 4, 8, 8);
    spool_close(s);
}

static void test_fsync_each(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    struct spool *s = spool_open(f->path, BIG, 8 * FRAME, true, err, sizeof(err));

    assert_non_null(s);
    append_range(s, 0, 20);
    drain_expect(s, 0, 20, 6);
    spool_close(s);
}

/* ---- a full disk, the cursor ---- */

/* Total bytes of the segment files in the spool directory. */
static off_t segment_bytes(const char *path)
{
    char file[512];
    struct dirent *de;
    off_t total = 0;
    DIR *d = opendir(path);

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) == 0) {
            snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
            total += file_size(file);
        }
    }
    closedir(d);
    return total;
}

/* Number of this process's open files under path that are deleted: an
 * unlinked segment still open keeps its blocks. */
static int deleted_open_files(const char *path)
{
    char link[300];
    char target[512];
    struct dirent *de;
    int n = 0;
    DIR *d = opendir("/proc/self/fd");

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        ssize_t len;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        if (strncmp(target, path, strlen(path)) == 0 && strstr(target, "(deleted)") != NULL) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Reads the cursor file into buf (at least SPOOL_CURSOR_FILE + 1 bytes).
 * Returns its length. */
static size_t read_cursor(const struct fixture *f, unsigned char *buf, size_t cap)
{
    char path[192];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/cursor", f->path);
    fd = open(path, O_RDONLY);
    assert_true(fd != -1);
    n = read(fd, buf, cap);
    assert_true(n >= 0);
    close(fd);
    return (size_t)n;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* Writes a version-1 cursor file (28 bytes, renamed into place by older
 * collectors) for position seq/off. */
static void write_v1_cursor(const struct fixture *f, uint64_t seq, uint64_t off)
{
    unsigned char b[28];
    char path[192];
    int fd;

    put_le(b, 0x52435053u, 4);
    put_le(b + 4, 1, 4);
    put_le(b + 8, seq, 8);
    put_le(b + 16, off, 8);
    put_le(b + 24, crc32(crc32(0L, Z_NULL, 0), b, 24), 4);
    snprintf(path, sizeof(path), "%s/cursor", f->path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd != -1);
    assert_int_equal(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
    close(fd);
}

/* Peeks and commits count records in peeks of at most batch, expecting every
 * commit to return commit_rc. */
static void consume(struct spool *s, int first, int count, size_t batch, int commit_rc)
{
    struct spool_record recs[64];
    int next = first;

    assert_true(batch <= 64);
    while (next < first + count) {
        size_t want =
            (size_t)(first + count - next) < batch ? (size_t)(first + count - next) : batch;
        int n = spool_peek(s, recs, want);
        assert_true(n > 0);
        for (int k = 0; k < n; k++) {
            check_record(&recs[k], next++);
        }
        assert_int_equal(spool_commit(s, (size_t)n), commit_rc);
    }
}

static void test_cursor_record(void **state)
{
    unsigned char file[SPOOL_CURSOR_FILE];
    unsigned char v1[28];
    struct spool_pos pos = {7, 12345};
    struct spool_pos got;
    uint64_t gen = 99;

    (void)state;
    assert_int_equal(spool_cursor_slot(1), SPOOL_CURSOR_SLOT);
    assert_int_equal(spool_cursor_slot(2), 0);
    assert_true(SPOOL_CURSOR_RECORD <= SPOOL_CURSOR_SLOT);
    assert_true(2 * SPOOL_CURSOR_SLOT <= SPOOL_CURSOR_FILE);

    /* A fresh (zeroed) file holds no record. */
    memset(file, 0, sizeof(file));
    assert_int_equal(spool_cursor_decode(file, sizeof(file), &gen, &got), -1);

    /* One record in its slot. */
    spool_cursor_encode(file + spool_cursor_slot(5), 5, &pos);
    assert_int_equal(spool_cursor_decode(file, sizeof(file), &gen, &got), 0);
    assert_int_equal(gen, 5);
    assert_int_equal(got.seq, 7);
    assert_int_equal(got.off, 12345);

    /* The next generation goes to the other slot and wins. */
    pos.off = 20000;
    spool_cursor_encode(file + spool_cursor_slot(6), 6, &pos);
    assert_int_equal(spool_cursor_decode(file, sizeof(file), &gen, &got), 0);
    assert_int_equal(gen, 6);
    assert_int_equal(got.off, 20000);

    /* A torn write of generation 6: generation 5 is still there. */
    file[spool_cursor_slot(6) + 30] ^= 0x5a;
    assert_int_equal(spool_cursor_decode(file, sizeof(file), &gen, &got), 0);
    assert_int_equal(gen, 5);
    assert_int_equal(got.off, 12345);

    /* A record is believed only in the slot of its generation. */
    memset(file, 0, sizeof(file));
    spool_cursor_encode(file + spool_cursor_slot(4), 5, &pos);
    assert_int_equal(spool_cursor_decode(file, sizeof(file), &gen, &got), -1);

    /* Wrong lengths, NULL. */
    spool_cursor_encode(file + spool_cursor_slot(5), 5, &pos);
    assert_int_equal(spool_cursor_decode(file, sizeof(file) - 1, &gen, &got), -1);
    assert_int_equal(spool_cursor_decode(file, 0, &gen, &got), -1);
    assert_int_equal(spool_cursor_decode(file, SPOOL_CURSOR_RECORD, &gen, &got), -1);
    assert_int_equal(spool_cursor_decode(NULL, sizeof(file), &gen, &got), -1);

    /* The 28-byte cursor of version 1 is still read, as generation 0. */
    put_le(v1, 0x52435053u, 4);
    put_le(v1 + 4, 1, 4);
    put_le(v1 + 8, 3, 8);
    put_le(v1 + 16, 910, 8);
    put_le(v1 + 24, crc32(crc32(0L, Z_NULL, 0), v1, 24), 4);
    assert_int_equal(spool_cursor_decode(v1, sizeof(v1), &gen, &got), 0);
    assert_int_equal(gen, 0);
    assert_int_equal(got.seq, 3);
    assert_int_equal(got.off, 910);
    v1[20] ^= 1;
    assert_int_equal(spool_cursor_decode(v1, sizeof(v1), &gen, &got), -1);
}

static void test_resume_point(void **state)
{
    static const uint64_t segs[] = {3, 4, 5};
    struct spool_pos cur;
    struct spool_pos at;

    (void)state;
    /* No cursor: everything on disk, from the oldest segment. */
    assert_int_equal(spool_resume_point(NULL, segs, 3, &at), 0);
    assert_int_equal(at.seq, 3);
    assert_int_equal(at.off, 0);
    /* The cursor's segment is there: resume exactly at the cursor. */
    cur = (struct spool_pos){4, 100};
    assert_int_equal(spool_resume_point(&cur, segs, 3, &at), 1);
    assert_int_equal(at.seq, 4);
    assert_int_equal(at.off, 100);
    /* A cursor write failed since segment 2: segments 2 and 3 were drained
     * and removed all the same, so the replay starts at the beginning of
     * segment 4: at most the consumed part of one segment again. */
    cur = (struct spool_pos){2, 500};
    assert_int_equal(spool_resume_point(&cur, segs + 1, 2, &at), 0);
    assert_int_equal(at.seq, 4);
    assert_int_equal(at.off, 0);
    /* Everything consumed, the segments left over are removed. */
    cur = (struct spool_pos){6, 0};
    assert_int_equal(spool_resume_point(&cur, segs, 3, &at), 3);
    assert_int_equal(at.seq, 7);
    assert_int_equal(at.off, 0);
    /* Nothing on disk. */
    assert_int_equal(spool_resume_point(NULL, NULL, 0, &at), 0);
    assert_int_equal(at.seq, 1);
    cur = (struct spool_pos){9, 50};
    assert_int_equal(spool_resume_point(&cur, NULL, 0, &at), 0);
    assert_int_equal(at.seq, 10);
    assert_int_equal(at.off, 0);
}

/* A drained spool holds no data on disk: the drained tail goes too, and no
 * open file keeps an unlinked segment's blocks. */
static void test_drained_tail_removed(void **state)
{
    struct fixture *f = *state;
    struct spool *s = open_spool(f, BIG, BIG);
    char path[256];

    append_range(s, 0, 10);
    assert_int_equal(segment_bytes(f->path), 10 * FRAME);
    drain_expect(s, 0, 10, 4);
    seg_path(f, 1, path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(segment_bytes(f->path), 0);
    assert_int_equal(count_segments(f->path), 1);
    assert_int_equal(deleted_open_files(f->path), 0);
    append_range(s, 10, 13);
    spool_close(s);

    capture_begin(f);
    s = open_spool(f, BIG, BIG);
    assert_log_quiet(capture_end(f));
    assert_int_equal(spool_pending_records(s), 3);
    drain_expect(s, 10, 3, 64);
    assert_int_equal(segment_bytes(f->path), 0);
    spool_close(s);
}

/* The cursor file is made at open, whole, and then only written in place. */
static void test_cursor_preallocated(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[SPOOL_CURSOR_FILE + 1];
    struct spool_pos pos;
    struct stat before, after;
    char path[192];
    uint64_t gen;
    struct spool *s = open_spool(f, BIG, 4 * FRAME);

    snprintf(path, sizeof(path), "%s/cursor", f->path);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(before.st_size, SPOOL_CURSOR_FILE);
    assert_true((uint64_t)before.st_blocks * 512 >= SPOOL_CURSOR_FILE); /* not sparse */
    append_range(s, 0, 10);
    drain_expect(s, 0, 10, 3);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino); /* never replaced by a rename */
    assert_int_equal(after.st_size, SPOOL_CURSOR_FILE);
    assert_int_equal(read_cursor(f, buf, sizeof(buf)), SPOOL_CURSOR_FILE);
    assert_int_equal(spool_cursor_decode(buf, SPOOL_CURSOR_FILE, &gen, &pos), 0);
    assert_true(gen > 4);
    assert_int_equal(pos.seq, 4); /* the drained tail (3) rolled over to 4 */
    assert_int_equal(pos.off, 0);
    spool_close(s);
}

/* A cursor of the previous version is honoured and replaced. */
static void test_cursor_v1_upgrade(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[SPOOL_CURSOR_FILE + 1];
    char path[256];
    struct spool *s = open_spool(f, BIG, 4 * FRAME);

    append_range(s, 0, 12);
    spool_close(s);
    write_v1_cursor(f, 2, FRAME); /* record 5 is next */

    capture_begin(f);
    s = open_spool(f, BIG, 4 * FRAME);
    assert_log_quiet(capture_end(f));
    seg_path(f, 1, path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(spool_pending_records(s), 7);
    assert_int_equal(read_cursor(f, buf, sizeof(buf)), SPOOL_CURSOR_FILE);
    spool_close(s);
    s = open_spool(f, BIG, 4 * FRAME);
    drain_expect(s, 5, 7, 64);
    spool_close(s);
}

/* A torn cursor write (a crash in it) costs one commit, not the spool. */
static void test_cursor_torn_slot(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[SPOOL_CURSOR_FILE + 1];
    struct spool_record recs[8];
    struct spool_pos pos;
    char path[192];
    uint64_t gen;
    struct spool *s = open_spool(f, BIG, BIG);

    append_range(s, 0, 20);
    assert_int_equal(spool_peek(s, recs, 5), 5);
    assert_int_equal(spool_commit(s, 5), 0);
    assert_int_equal(spool_peek(s, recs, 5), 5);
    assert_int_equal(spool_commit(s, 5), 0);
    spool_close(s);
    assert_int_equal(read_cursor(f, buf, sizeof(buf)), SPOOL_CURSOR_FILE);
    assert_int_equal(spool_cursor_decode(buf, SPOOL_CURSOR_FILE, &gen, &pos), 0);
    assert_int_equal(pos.off, 10 * FRAME);
    snprintf(path, sizeof(path), "%s/cursor", f->path);
    flip_byte(path, (off_t)spool_cursor_slot(gen) + 20);

    capture_begin(f);
    s = open_spool(f, BIG, BIG);
    assert_log_quiet(capture_end(f));
    assert_int_equal(spool_pending_records(s), 15);
    drain_expect(s, 5, 15, 64);
    spool_close(s);
}

/* An append that finds the disk full is SPOOL_FULL, cut back, logged once,
 * and the spool takes records again once there is space. */
static void test_append_disk_full(void **state)
{
    struct fixture *f = *state;
    char key[KEY_LEN + 1];
    char value[VALUE_LEN];
    char path[256];
    const char *log;
    struct spool *s = open_spool(f, BIG, 4 * FRAME);

    append_range(s, 0, 6); /* segment 1: 0..3, segment 2: 4, 5 */
    seg_path(f, 2, path, sizeof(path));
    make_record(6, key, value);
    capture_begin(f);
    spool_fault_set(s, SPOOL_FAULT_APPEND, ENOSPC, 2);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    log = capture_end(f);
    assert_int_equal(count_substr(log, "\"event\":\"spool.disk_full\""), 1);
    assert_null(strstr(log, "spool.write_failed"));
    assert_null(strstr(log, "\"lvl\":\"error\""));
    assert_int_equal(spool_pending_records(s), 6);
    assert_int_equal(file_size(path), 2 * FRAME); /* the half-written frame is cut off */

    log_init("test_spool", LOG_LEVEL_INFO);
    capture_begin(f);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), 0);
    assert_non_null(strstr(capture_end(f), "\"event\":\"spool.disk_space_returned\""));
    log_init("test_spool", LOG_LEVEL_WARN);

    /* Other write errors stay errors. */
    make_record(7, key, value);
    capture_begin(f);
    spool_fault_set(s, SPOOL_FAULT_APPEND, EIO, 1);
    assert_int_equal(spool_append(s, 1, key, KEY_LEN, value, VALUE_LEN), -1);
    assert_non_null(strstr(capture_end(f), "\"event\":\"spool.write_failed\""));
    assert_int_equal(spool_append(s, 1, key, KEY_LEN, value, VALUE_LEN), 0);

    /* No room for a new segment file is a full disk too. */
    make_record(8, key, value);
    capture_begin(f);
    spool_fault_set(s, SPOOL_FAULT_SEGMENT, ENOSPC, 1);
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), SPOOL_FULL);
    log = capture_end(f);
    assert_non_null(strstr(log, "\"event\":\"spool.disk_full\""));
    assert_null(strstr(log, "\"lvl\":\"error\""));
    assert_int_equal(spool_append(s, 0, key, KEY_LEN, value, VALUE_LEN), 0);
    assert_int_equal(spool_pending_records(s), 9);
    spool_close(s);

    capture_begin(f);
    s = open_spool(f, BIG, 4 * FRAME);
    assert_log_quiet(capture_end(f)); /* nothing torn was left behind */
    drain_expect(s, 0, 9, 5);
    spool_close(s);
}

/* Cursor writes fail (a full disk, say) for the whole replay: drained
 * segments are removed all the same, and a restart replays at most the
 * consumed part of one segment. */
static void test_cursor_failure_replays_one_segment(void **state)
{
    struct fixture *f = *state;
    const char *log;
    struct spool *s = open_spool(f, BIG, 5 * FRAME);

    append_range(s, 0, 30); /* six segments of five */
    capture_begin(f);
    spool_fault_set(s, SPOOL_FAULT_CURSOR, ENOSPC, -1);
    consume(s, 0, 23, 4, -1);
    log = capture_end(f);
    assert_int_equal(count_substr(log, "\"event\":\"spool.cursor_write_failed\""), 1);
    assert_int_equal(count_segments(f->path), 2); /* 1 .. 4 are gone */
    assert_int_equal(segment_bytes(f->path), 10 * FRAME);
    assert_int_equal(deleted_open_files(f->path), 0);
    assert_int_equal(spool_pending_records(s), 7);
    spool_close(s);

    s = open_spool(f, BIG, 5 * FRAME);
    assert_int_equal(spool_pending_records(s), 10); /* 20, 21, 22 again */
    consume(s, 20, 5, 5, 0);                        /* cursor writes work again */
    spool_close(s);
    s = open_spool(f, BIG, 5 * FRAME);
    drain_expect(s, 25, 5, 64);
    spool_close(s);
}

/* The same without the fault hook (so it runs against any version): a
 * directory named cursor.tmp makes every cursor write fail. A restart after
 * 23 of 30 records replays the 7 left and at most one segment (5) more. */
static void test_cursor_unwritable_replays_one_segment(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[8];
    char tmp[192];
    int next = 0;
    struct spool *s;

    assert_int_equal(mkdir(f->path, 0700), 0);
    snprintf(tmp, sizeof(tmp), "%s/cursor.tmp", f->path);
    assert_int_equal(mkdir(tmp, 0700), 0);
    s = open_spool(f, BIG, 5 * FRAME);
    append_range(s, 0, 30);
    while (next < 23) {
        int n = spool_peek(s, recs, (size_t)(23 - next < 4 ? 23 - next : 4));
        assert_true(n > 0);
        next += n;
        spool_commit(s, (size_t)n);
    }
    spool_close(s);
    s = open_spool(f, BIG, 5 * FRAME);
    assert_true(spool_pending_records(s) <= 7 + 5);
    assert_true(spool_pending_records(s) >= 7);
    assert_int_equal(rmdir(tmp), 0);
    drain_expect(s, 30 - (int)spool_pending_records(s), (int)spool_pending_records(s), 64);
    spool_close(s);
}

/* With the cursor failing, draining everything still leaves nothing to
 * replay: the drained tail is removed too. */
static void test_cursor_failure_full_drain(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[8];
    struct spool *s = open_spool(f, BIG, 5 * FRAME);

    append_range(s, 0, 12);
    spool_fault_set(s, SPOOL_FAULT_CURSOR, ENOSPC, -1);
    consume(s, 0, 12, 5, -1);
    assert_int_equal(segment_bytes(f->path), 0);
    spool_close(s);
    s = open_spool(f, BIG, 5 * FRAME);
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_peek(s, recs, 8), 0);
    append_range(s, 12, 14);
    drain_expect(s, 12, 2, 8);
    spool_close(s);
}

/* The cursor file cannot be made at open (cursor.tmp is in the way, as a
 * full disk would refuse it): the spool still opens, says so, and makes the
 * file at a later commit. */
static void test_cursor_reserve_retried(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[SPOOL_CURSOR_FILE + 1];
    char tmp[192];
    char path[192];
    const char *log;
    struct spool *s;

    assert_int_equal(mkdir(f->path, 0700), 0);
    snprintf(tmp, sizeof(tmp), "%s/cursor.tmp", f->path);
    snprintf(path, sizeof(path), "%s/cursor", f->path);
    assert_int_equal(mkdir(tmp, 0700), 0);
    capture_begin(f);
    s = open_spool(f, BIG, 4 * FRAME);
    log = capture_end(f);
    assert_non_null(strstr(log, "\"event\":\"spool.cursor_reserve_failed\""));
    assert_int_equal(access(path, F_OK), -1);
    append_range(s, 0, 10);
    capture_begin(f);
    consume(s, 0, 5, 5, -1);
    log = capture_end(f);
    assert_null(strstr(log, "cursor_write_failed")); /* said once already */
    assert_int_equal(count_segments(f->path), 2);
    assert_int_equal(rmdir(tmp), 0);
    log_init("test_spool", LOG_LEVEL_INFO);
    capture_begin(f);
    consume(s, 5, 2, 5, 0);
    assert_non_null(strstr(capture_end(f), "\"event\":\"spool.cursor_write_recovered\""));
    log_init("test_spool", LOG_LEVEL_WARN);
    assert_int_equal(read_cursor(f, buf, sizeof(buf)), SPOOL_CURSOR_FILE);
    spool_close(s);
    s = open_spool(f, BIG, 4 * FRAME);
    drain_expect(s, 7, 3, 64);
    spool_close(s);
}

/* ---- threads ---- */

#define THREADS 4
#define PER_THREAD 5000

struct writer {
    struct spool *s;
    int id;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char key[8];
    char value[64];

    snprintf(key, sizeof(key), "t%d", w->id);
    for (int i = 0; i < PER_THREAD; i++) {
        int len = snprintf(value, sizeof(value), "%d:%08d", w->id, i);
        if (spool_append(w->s, SPOOL_TOPIC_RAW, key, strlen(key), value, (size_t)len) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

/* Checks one record of a writer: from the thread its key names, and next in
 * that thread's order. Returns 0 or -1. */
static int check_threaded(const struct spool_record *r, int *next)
{
    char value[32];
    int t;
    int i;

    if (r->key_len != 2 || r->value_len >= sizeof(value)) {
        return -1;
    }
    t = ((const char *)r->key)[1] - '0';
    memcpy(value, r->value, r->value_len);
    value[r->value_len] = '\0';
    if (t < 0 || t >= THREADS || sscanf(value, "%d:%d", &t, &i) != 2 || t < 0 || t >= THREADS ||
        i != next[t]) {
        return -1;
    }
    next[t]++;
    return 0;
}

static void start_writers(struct spool *s, pthread_t *tid, struct writer *w)
{
    for (int t = 0; t < THREADS; t++) {
        w[t].s = s;
        w[t].id = t;
        w[t].failures = 0;
        assert_int_equal(pthread_create(&tid[t], NULL, writer_main, &w[t]), 0);
    }
}

static void join_writers(pthread_t *tid, struct writer *w)
{
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }
}

static void test_concurrent_appends(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[500];
    pthread_t tid[THREADS];
    struct writer w[THREADS];
    int next[THREADS] = {0};
    int total = 0;
    struct spool *s = open_spool(f, BIG, 64 << 10);

    start_writers(s, tid, w);
    join_writers(tid, w);
    assert_int_equal(spool_pending_records(s), THREADS * PER_THREAD);
    spool_close(s);

    capture_begin(f);
    s = open_spool(f, BIG, 64 << 10); /* all of it survives a reopen too */
    assert_log_quiet(capture_end(f));
    assert_int_equal(spool_pending_records(s), THREADS * PER_THREAD);
    for (;;) {
        int n = spool_peek(s, recs, 500);
        assert_true(n >= 0);
        if (n == 0) {
            break;
        }
        for (int k = 0; k < n; k++) {
            assert_int_equal(check_threaded(&recs[k], next), 0);
        }
        total += n;
        assert_int_equal(spool_commit(s, (size_t)n), 0);
    }
    assert_int_equal(total, THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(next[t], PER_THREAD);
    }
    assert_int_equal(spool_pending_bytes(s), 0);
    spool_close(s);
}

static void test_concurrent_appends_and_replay(void **state)
{
    struct fixture *f = *state;
    struct spool_record recs[128];
    pthread_t tid[THREADS];
    struct writer w[THREADS];
    int next[THREADS] = {0};
    int total = 0;
    int idle = 0;
    struct spool *s = open_spool(f, BIG, 16 << 10);

    start_writers(s, tid, w);
    while (total < THREADS * PER_THREAD && idle < 1000000) {
        int n = spool_peek(s, recs, 128);
        assert_true(n >= 0);
        if (n == 0) {
            idle++;
            sched_yield();
            continue;
        }
        for (int k = 0; k < n; k++) {
            assert_int_equal(check_threaded(&recs[k], next), 0);
        }
        total += n;
        assert_int_equal(spool_commit(s, (size_t)n), 0);
    }
    join_writers(tid, w);
    assert_int_equal(total, THREADS * PER_THREAD);
    assert_int_equal(spool_peek(s, recs, 128), 0);
    assert_int_equal(spool_pending_records(s), 0);
    assert_int_equal(spool_pending_bytes(s), 0);
    assert_int_equal(count_segments(f->path), 1);
    spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_peek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_across_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_resumes_at_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_and_space_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_last_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_middle_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_found_by_peek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_on_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_missing_dirs_and_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_damage_and_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_each, setup, teardown),
        cmocka_unit_test(test_cursor_record),
        cmocka_unit_test(test_resume_point),
        cmocka_unit_test_setup_teardown(test_drained_tail_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_preallocated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_v1_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_torn_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_failure_replays_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_unwritable_replays_one_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cursor_failure_full_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_reserve_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends_and_replay, setup, teardown),
    };

    log_init("test_spool", LOG_LEVEL_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
