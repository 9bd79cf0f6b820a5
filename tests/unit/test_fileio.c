/*
 * Unit tests for reading small files whole (common/src/fileio.c): contents
 * and length, the size cap at and around its limit, an empty file, and the
 * errors for a missing file, a directory and no name; a JSON file of the
 * wanted kind, and each way one is refused (malformed, trailing data, the
 * other kind, a nesting too deep for the parser, too large); a file's
 * stamp, changed by a rewrite of another size and by a file renamed over
 * it, not by reading it; a file written whole through a temporary one,
 * replacing the old, and each way that fails leaving the old file and no
 * temporary file behind (no directory, a directory in the way).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "analytics/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char g_template[] = "/tmp/test_fileio.XXXXXX";
static char g_path[sizeof(g_template)];

/* Writes n bytes of 'x' to g_path. */
static void write_bytes(size_t n)
{
    FILE *f = fopen(g_path, "wb");

    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fputc('x', f);
    }
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    int fd;
    (void)state;

    memcpy(g_path, g_template, sizeof(g_template));
    fd = mkstemp(g_path);
    if (fd == -1) {
        return -1;
    }
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return 0;
}

static void test_reads_whole_file(void **state)
{
    char err[256] = "";
    size_t len = 0;
    FILE *f = fopen(g_path, "wb");
    (void)state;

    assert_non_null(f);
    fputs("{\"a\": 1}\n", f);
    fclose(f);
    char *buf = fileio_read(g_path, 1024, &len, err, sizeof(err));
    assert_non_null(buf);
    assert_int_equal(len, 9);
    assert_string_equal(buf, "{\"a\": 1}\n");
    free(buf);
}

static void test_size_cap(void **state)
{
    char err[256] = "";
    size_t len = 0;
    (void)state;

    /* Around the reader's first and second buffer sizes too. */
    const size_t sizes[] = {0, 1, 16383, 16384, 16385, 40000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        write_bytes(sizes[i]);
        char *buf = fileio_read(g_path, sizes[i], &len, err, sizeof(err));
        assert_non_null(buf);
        assert_int_equal(len, sizes[i]);
        assert_int_equal(buf[len], '\0');
        free(buf);
        if (sizes[i] > 0) {
            assert_null(fileio_read(g_path, sizes[i] - 1, &len, err, sizeof(err)));
            assert_non_null(strstr(err, "larger than"));
            assert_non_null(strstr(err, g_path));
        }
    }
}

static void test_errors(void **state)
{
    char err[256] = "";
    size_t len = 0;
    (void)state;

    assert_null(fileio_read("/nonexistent/rules.json", 100, &len, err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/rules.json: No such file or directory");
    assert_null(fileio_read("/tmp", 100, &len, err, sizeof(err)));
    assert_string_equal(err, "/tmp: not a regular file");
    assert_null(fileio_read("", 100, &len, err, sizeof(err)));
    assert_string_equal(err, "no file name given");
    assert_null(fileio_read(NULL, 100, &len, err, sizeof(err)));
}

/* Writes text to g_path. */
static void write_text(const char *text)
{
    FILE *f = fopen(g_path, "wb");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Expects g_path with text to be refused, the reason ending in want. */
static void expect_json_refused(const char *text, enum fileio_json_kind kind, const char *want)
{
    char err[256] = "";

    write_text(text);
    assert_null(fileio_read_json(g_path, 4096, kind, err, sizeof(err)));
    if (strncmp(err, g_path, strlen(g_path)) != 0 || strstr(err, want) == NULL) {
        fail_msg("%s: got \"%s\", want \"%s\"", text, err, want);
    }
}

static void test_json(void **state)
{
    char err[256] = "";
    char deep[3000];
    cJSON *doc;
    (void)state;

    write_text(" {\"a\": [1, 2]}\n\t ");
    doc = fileio_read_json(g_path, 4096, FILEIO_JSON_OBJECT, err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "a")), 2);
    cJSON_Delete(doc);
    write_text("[\"x\"]");
    doc = fileio_read_json(g_path, 4096, FILEIO_JSON_ARRAY, err, sizeof(err));
    assert_non_null(doc);
    cJSON_Delete(doc);

    expect_json_refused("", FILEIO_JSON_OBJECT, ": malformed JSON at byte 0");
    expect_json_refused("{\"a\":1,}", FILEIO_JSON_OBJECT, ": malformed JSON at byte 7");
    expect_json_refused("{} {}", FILEIO_JSON_OBJECT, ": unexpected data after the JSON at byte 3");
    expect_json_refused("[1]", FILEIO_JSON_OBJECT, ": not a JSON object");
    expect_json_refused("{}", FILEIO_JSON_ARRAY, ": not a JSON array");
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    expect_json_refused(deep, FILEIO_JSON_ARRAY, ": malformed JSON at byte");
    write_bytes(5000);
    assert_null(fileio_read_json(g_path, 4096, FILEIO_JSON_OBJECT, err, sizeof(err)));
    assert_non_null(strstr(err, "larger than 4096 bytes"));
}

static void test_stamp(void **state)
{
    struct fileio_stamp a, b, c;
    char other[sizeof(g_template) + 4];
    (void)state;

    write_bytes(10);
    assert_int_equal(fileio_stamp(g_path, &a), 0);
    assert_int_equal(a.size, 10);
    size_t len;
    char err[128];
    free(fileio_read(g_path, 100, &len, err, sizeof(err)));
    assert_int_equal(fileio_stamp(g_path, &b), 0);
    assert_true(fileio_stamp_same(&a, &b));
    write_bytes(11);
    assert_int_equal(fileio_stamp(g_path, &b), 0);
    assert_false(fileio_stamp_same(&a, &b));
    /* The same size, renamed over it: another inode. */
    snprintf(other, sizeof(other), "%s.new", g_path);
    FILE *f = fopen(other, "wb");
    assert_non_null(f);
    fputs("xxxxxxxxxxx", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(other, g_path), 0);
    assert_int_equal(fileio_stamp(g_path, &c), 0);
    assert_int_equal(c.size, 11);
    assert_false(fileio_stamp_same(&b, &c));
    assert_int_equal(fileio_stamp("/nonexistent/file", &c), -1);
    assert_int_equal(c.size, 0);
}

/* How many entries of dir begin with prefix. */
static int entries_with(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return n;
}

static void test_write_atomic(void **state)
{
    char dir[] = "/tmp/test_fileio_w.XXXXXX";
    char path[64], sub[64], err[256];
    struct stat st;
    size_t len;
    char *back;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/model.json", dir);
    assert_int_equal(fileio_write_atomic(path, "{\"a\":1}", 7, true, err, sizeof(err)), 0);
    back = fileio_read(path, 100, &len, err, sizeof(err));
    assert_non_null(back);
    assert_string_equal(back, "{\"a\":1}\n");
    free(back);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* Replaced whole, no newline asked. */
    assert_int_equal(fileio_write_atomic(path, "xyz", 3, false, err, sizeof(err)), 0);
    back = fileio_read(path, 100, &len, err, sizeof(err));
    assert_non_null(back);
    assert_int_equal(len, 3);
    free(back);
    assert_int_equal(entries_with(dir, "model.json.tmp"), 0);

    /* No such directory: the reason names the file. */
    snprintf(sub, sizeof(sub), "%s/none/model.json", dir);
    assert_int_equal(fileio_write_atomic(sub, "x", 1, false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, sub));
    assert_non_null(strstr(err, "No such file or directory"));

    /* A directory where the file should be: the rename fails, the
     * directory stays, no temporary file is left. */
    snprintf(sub, sizeof(sub), "%s/taken", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(fileio_write_atomic(sub, "x", 1, false, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot rename"));
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(entries_with(dir, "taken.tmp"), 0);
    assert_int_equal(rmdir(sub), 0);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test(test_errors),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp, setup, teardown),
        cmocka_unit_test(test_write_atomic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
