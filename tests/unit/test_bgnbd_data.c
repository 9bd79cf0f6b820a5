/*
 * Unit tests for analytics-train bgnbd's input side: ISO dates
 * (textcheck_date), transactions into customer summaries
 * (tools/train/bgnbd_data.c: same-day transactions once, the calibration
 * end, x, t_x and T in days and weeks, customers in order of first
 * appearance, every error naming file, line and column) and the command
 * line (tools/train/bgnbd_cmd.c: what each mode needs and refuses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/textcheck.h"
#include "bgnbd_cmd.h"
#include "bgnbd_data.h"
#include "csv.h"
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DAY_1997_09_30 10134LL

static void test_dates(void **state)
{
    static const struct {
        const char *text;
        long long day;
    } good[] = {
        {"1970-01-01", 0},    {"1997-09-30", DAY_1997_09_30},
        {"1997-01-01", 9862}, {"2000-02-29", 11016},
        {"1969-12-31", -1},   {"2026-12-01", 20788},
    };
    static const char *const bad[] = {"1997-02-29", "1900-02-29",  "1997-13-01",
                                      "1997-00-10", "1997-04-31",  "1997-1-01",
                                      "97-01-01",   "1997-01-01x", "1997-01-01T00:00:00Z",
                                      "",           "1997/01/01",  " 1997-01-01"};
    char text[BGNBD_DATA_DAY_LEN];
    long long day;
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(textcheck_date(good[i].text, &day), 0);
        assert_int_equal(day, good[i].day);
        bgnbd_data_day_text(day, text);
        assert_string_equal(text, good[i].text);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (textcheck_date(bad[i], &day) != -1) {
            fail_msg("\"%s\" taken as a date", bad[i]);
        }
    }
    assert_int_equal(textcheck_date(NULL, &day), -1);
    assert_int_equal(textcheck_date("1997-01-01", NULL), -1);
}

/* Reads text as a CSV file and summarises it. Returns bgnbd_data_from_csv's
 * result; the file's path is in t->file until fixture_tmp_close. */
static int summarise(struct fixture_tmp *t, const char *text, enum bgnbd_unit unit,
                     struct bgnbd_data *d, char *err, size_t errlen)
{
    struct csv c;
    FILE *f;
    int rc;

    assert_int_equal(fixture_tmp_open(t, "test_bgnbd_data", "tx.csv"), 0);
    f = fopen(t->file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(csv_read(&c, t->file, 1 << 20, err, errlen), 0);
    rc = bgnbd_data_from_csv(&c, t->file, DAY_1997_09_30, unit, d, err, errlen);
    csv_free(&c);
    return rc;
}

/* "b": first on 1997-01-01 (twice that day), again on 01-15 and on
 * 09-30 (the calibration end: counted), and on 10-05 (after it: not).
 * "a": once, on 09-30 itself (T = 0). "c": only after the calibration end
 * (left out). "d": 01-08, 02-05, in CRLF lines, with an extra column. */
static const char sample[] = "date,customer_id,amount\n"
                             "1997-01-01,b,1\n"
                             "1997-10-05,c,1\n"
                             "1997-09-30,a,1\n"
                             "1997-01-01,b,2\n"
                             "1997-10-05,b,1\n"
                             "1997-01-15,b,1\n"
                             "1997-09-30,b,1\r\n"
                             "1997-02-05,d,1\r\n"
                             "1997-01-08,d,1\r\n";

static void test_summaries(void **state)
{
    struct fixture_tmp t;
    struct bgnbd_data d;
    char err[256] = "";
    (void)state;

    assert_int_equal(summarise(&t, sample, BGNBD_UNIT_DAY, &d, err, sizeof(err)), 0);
    fixture_tmp_close(&t);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.rows_after, 2);
    assert_int_equal(d.days, 3 + 1 + 2);
    /* In the order of their first counted row: b (line 2), a (line 4), d (line 9). */
    assert_string_equal(d.ids[0], "b");
    assert_string_equal(d.ids[1], "a");
    assert_string_equal(d.ids[2], "d");
    /* b: days 9862, 9876, 10134; x = 2, t_x = 272, T = 272 */
    assert_true(d.customers[0].x == 2 && d.customers[0].t_x == 272 && d.customers[0].T == 272);
    assert_true(d.customers[1].x == 0 && d.customers[1].t_x == 0 && d.customers[1].T == 0);
    /* d: 1997-01-08 (day 9869) and 02-05 (9897) */
    assert_true(d.customers[2].x == 1 && d.customers[2].t_x == 28 &&
                d.customers[2].T == DAY_1997_09_30 - 9869);
    bgnbd_data_fini(&d);

    assert_int_equal(summarise(&t, sample, BGNBD_UNIT_WEEK, &d, err, sizeof(err)), 0);
    fixture_tmp_close(&t);
    assert_true(fabs(d.customers[0].T - 272.0 / 7) < 1e-15);
    assert_true(d.customers[2].t_x == 4);
    for (size_t i = 0; i < d.n; i++) {
        assert_true(bgnbd_customer_valid(&d.customers[i]));
    }
    bgnbd_data_fini(&d);
    bgnbd_data_fini(&d); /* a zeroed struct is fine */
}

static void test_csv_errors(void **state)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"customer_id,date\n1,1997-01-01\n,1997-01-02\n", ": line 3: column customer_id: empty"},
        {"customer_id,date\n1,1997-01-01\n\n2,1997-02-30\n",
         ": line 4: column date: \"1997-02-30\" is not a date (YYYY-MM-DD)"},
        {"customer_id,date\n1,01/02/1997\n", ": line 2: column date: \"01/02/1997\" is not a date"},
        {"customer_id,day\n1,1997-01-01\n", ": line 1: no column \"date\" in the header"},
        {"id,date\n1,1997-01-01\n", ": line 1: no column \"customer_id\" in the header"},
        {"customer_id,date\n", ": no transactions (only a header)"},
        {"customer_id,date\n1,1997-10-01\n2,1998-01-01\n",
         ": every transaction is after the calibration end 1997-09-30 (the earliest is on "
         "1997-10-01)"},
    };
    struct fixture_tmp t;
    struct bgnbd_data d;
    char err[512];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(summarise(&t, cases[i].text, BGNBD_UNIT_DAY, &d, err, sizeof(err)),
                         BGNBD_DATA_ERR_DATA);
        /* "<path>: ..." */
        if (strncmp(err, t.file, strlen(t.file)) != 0 ||
            strncmp(err + strlen(t.file), cases[i].why, strlen(cases[i].why)) != 0) {
            fail_msg("case %zu: %s", i, err);
        }
        fixture_tmp_close(&t);
        bgnbd_data_fini(&d);
    }
}

static void test_build_direct(void **state)
{
    struct bgnbd_obs obs[3] = {{"z", 10, 0}, {"y", 3, 1}, {"z", 4, 2}};
    struct bgnbd_data d;
    char err[256] = "";
    (void)state;

    assert_int_equal(bgnbd_data_build(obs, 0, 10, BGNBD_UNIT_DAY, &d, err, sizeof(err)),
                     BGNBD_DATA_ERR_DATA);
    assert_string_equal(err, "no transactions");
    bgnbd_data_fini(&d);
    /* z comes first (row 0), though its earliest day is in row 2. */
    assert_int_equal(bgnbd_data_build(obs, 3, 10, BGNBD_UNIT_DAY, &d, err, sizeof(err)), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.ids[0], "z");
    assert_true(d.customers[0].x == 1 && d.customers[0].t_x == 6 && d.customers[0].T == 6);
    assert_string_equal(d.ids[1], "y");
    assert_true(d.customers[1].x == 0 && d.customers[1].T == 7);
    bgnbd_data_fini(&d);
}

/* Parses args (NULL-terminated) as the arguments after "bgnbd". */
static int parse(struct bgnbd_cmd_opts *o, char *err, size_t errlen, const char *const *args)
{
    char *argv[32] = {"bgnbd"};
    int argc = 1;

    for (; *args != NULL && argc < 31; args++) {
        argv[argc++] = (char *)*args;
    }
    err[0] = '\0';
    return bgnbd_cmd_parse(argc, argv, o, err, errlen);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_cmd_modes(void **state)
{
    struct bgnbd_cmd_opts o;
    char err[256];
    (void)state;

    assert_int_equal(parse(&o, err, sizeof(err),
                           ARGS("--transactions", "t.csv", "--calibration-end", "1997-09-30",
                                "--unit", "week", "--out", "m.json")),
                     0);
    assert_int_equal(o.mode, BGNBD_CMD_FIT);
    assert_string_equal(o.transactions, "t.csv");
    assert_string_equal(o.out, "m.json");
    assert_true(o.has_cal_end && o.cal_end == DAY_1997_09_30);
    assert_true(o.has_unit && o.unit == BGNBD_UNIT_WEEK);

    assert_int_equal(
        parse(&o, err, sizeof(err),
              ARGS("--predict", "--model=m.json", "--transactions=t.csv", "--horizon=4.5")),
        0);
    assert_int_equal(o.mode, BGNBD_CMD_PREDICT);
    assert_string_equal(o.model, "m.json");
    assert_true(o.has_horizon && o.horizon == 4.5 && !o.has_cal_end && !o.has_unit);

    assert_int_equal(
        parse(&o, err, sizeof(err), ARGS("--from-db", "--basis", "bookings", "--out", "m.json")),
        0);
    assert_int_equal(o.mode, BGNBD_CMD_FROM_DB);
    assert_true(o.has_basis && o.basis == BGNBD_BASIS_BOOKINGS && !o.has_cal_end);

    assert_int_equal(parse(&o, err, sizeof(err), ARGS("--help")), 0);
    assert_true(o.help);
    assert_int_equal(parse(&o, err, sizeof(err), ARGS("--predict", "--from-db", "-h")), 0);
    assert_true(o.help);
}

static void test_cmd_errors(void **state)
{
    static const struct {
        const char *args[8];
        const char *why;
    } cases[] = {
        {{"--transactions", "t.csv", "--calibration-end", "1997-09-30"}, "--out is required"},
        {{"--transactions", "t.csv", "--out", "m.json"}, "--calibration-end is required"},
        {{"--calibration-end", "1997-09-30", "--out", "m.json"}, "--transactions is required"},
        {{"--calibration-end", "1997-09-31"}, "--calibration-end: \"1997-09-31\" is not a date"},
        {{"--unit", "month"}, "--unit: \"month\" is not a unit (day or week)"},
        {{"--unit"}, "--unit needs a value"},
        {{"--unit="}, "--unit needs a value"},
        {{"--horizon", "0"}, "--horizon: \"0\" is not a number of units"},
        {{"--horizon", "4x"}, "--horizon: \"4x\" is not a number of units"},
        {{"--horizon", "nan"}, "--horizon: \"nan\" is not a number of units"},
        {{"--basis", "transactions"}, "--basis: \"transactions\" is not sessions or bookings"},
        {{"--frobnicate"}, "unknown argument '--frobnicate'"},
        {{"--outfile", "x"}, "unknown argument '--outfile'"},
        {{"--predict", "--from-db"}, "--predict and --from-db exclude each other"},
        {{"--predict", "--transactions", "t.csv", "--horizon", "4"}, "--model is required"},
        {{"--predict", "--model", "m", "--transactions", "t.csv"}, "--horizon is required"},
        {{"--predict", "--model", "m", "--transactions", "t", "--horizon", "4", "--out"},
         "--out needs a value"},
        {{"--predict", "--model", "m", "--transactions", "t", "--horizon", "4", "--out=o"},
         "--out does not go with --predict"},
        {{"--from-db", "--basis", "sessions"}, "--out is required"},
        {{"--from-db", "--out", "o", "--transactions", "t"},
         "--transactions does not go with --from-db"},
        {{"--transactions", "t", "--calibration-end", "1997-09-30", "--out", "o", "--basis",
          "sessions"},
         "--basis does not go with a fit from --transactions"},
    };
    struct bgnbd_cmd_opts o;
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[10] = {"bgnbd"};
        int argc = 1;
        for (size_t k = 0; k < 8 && cases[i].args[k] != NULL; k++) {
            argv[argc++] = (char *)cases[i].args[k];
        }
        err[0] = '\0';
        assert_int_equal(bgnbd_cmd_parse(argc, argv, &o, err, sizeof(err)), -1);
        if (strstr(err, cases[i].why) != err) {
            fail_msg("case %zu: \"%s\"", i, err);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),      cmocka_unit_test(test_summaries),
        cmocka_unit_test(test_csv_errors), cmocka_unit_test(test_build_direct),
        cmocka_unit_test(test_cmd_modes),  cmocka_unit_test(test_cmd_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
