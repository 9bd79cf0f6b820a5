/*
 * archive_copy_probe: archive rows (services/journey-builder/archive.c) into
 * a real PostgreSQL, for tests/integration/test_archive_copy.sh, which then
 * reads the values back with psql.
 *
 *   archive_copy_probe --columns   prints archive_columns
 *   archive_copy_probe             against $ANALYTICS_PG_DSN (migrated):
 *     1. ensures the partitions of the events' days;
 *     2. fast path: COPY of the tricky events straight into analytics_events;
 *     3. the same COPY again must fail with 23505 (unique_violation);
 *     4. slow path: those rows plus one new one through a staging table and
 *        INSERT ... ON CONFLICT DO NOTHING;
 *     5. an event on a day without a partition must fail with 23514;
 *     6. a missing table fails with 42P01, and a statement that is no COPY
 *        FROM STDIN is refused, leaving the connection usable.
 *
 * One line per step on stdout; exit 0 only when every step went as expected.
 */
#include "archive.h"
#include "fixture.h"

#include "analytics/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_T0 FIXTURE_ENRICHED_TS_MS /* 2026-11-25 10:00:00.123 UTC */

/* Fills p with every part set (tests/support/fixture.c) and the values COPY
 * has to escape: tabs, backslashes and a line break; id is borrowed. */
static void probe_full(struct fixture_enriched *p, const char *id)
{
    fixture_enriched_full(p);
    p->ev.event_id = (char *)id;
    p->ev.fingerprint = "fp-probe";
    p->ev.page_url = "https://x.example/a\tb\\c\nd";
    p->ev.event_data_json = "{\"k\":\"a\\tb\",\t\"url\":\"c:\\\\d\"}";
    p->ua.device_type = ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_MOBILE;
    p->campaign.channel = ANALYTICS__V1__CHANNEL__CHANNEL_PAID_SEARCH;
    p->campaign.gclid = "g\\1";
    p->page.path = "/a\tb";
    p->session.session_id = "s-probe";
    p->session.sequence = 4;
    p->session.start_reason = "campaign";
}

/* The events of the test; their ids say what they are about. */
#define PROBE_EVENTS 6
static struct fixture_enriched events[PROBE_EVENTS];

static void probe_events(void)
{
    probe_full(&events[0], "full");
    probe_full(&events[1], "ipv6");
    events[1].geo.ip_truncated = "2001:db8:1::";
    events[1].ev.event_data_json = "{\"nul\":\"a\\u0000b\",\"lit\":\"\\\\u0000\","
                                   "\"pair\":\"\\ud83d\\ude00\",\"lone\":\"\\ud83d\"}";
    probe_full(&events[2], "bare");
    events[2].ev = (Analytics__V1__EnrichedEvent)ANALYTICS__V1__ENRICHED_EVENT__INIT;
    events[2].ev.event_id = "bare";
    events[2].ev.event_type = "click";
    events[2].ev.fingerprint = "fp-bare";
    events[2].ev.event_ts_ms = PROBE_T0 + 86400000; /* the next day */
    events[2].ev.received_ts_ms = PROBE_T0;
    probe_full(&events[3], "old");
    events[3].ev.event_ts_ms = 1;
    events[3].ev.client_ts_ms = -1;
    events[3].ev.enriched_ts_ms = 0;
    probe_full(&events[4], "mapped");
    events[4].geo.ip_truncated = "::ffff:198.51.100.9";
    events[4].campaign.channel = ANALYTICS__V1__CHANNEL__CHANNEL_UNKNOWN;
    events[4].ua.device_type = ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_UNKNOWN;
    probe_full(&events[5], "fullip");
    events[5].geo.ip_truncated = "2001:db8:1:2::5";
}

/* Appends the rows of events[from..to) to buf. Returns 0 or -1. */
static int probe_rows(struct copybuf *buf, int from, int to)
{
    char err[256];

    for (int i = from; i < to; i++) {
        if (archive_row(buf, &events[i].ev, err, sizeof(err)) != 0) {
            printf("FAIL archive_row(%s): %s\n", events[i].ev.event_id, err);
            return -1;
        }
    }
    return 0;
}

/* Creates the partition of each event's day. Returns 0 or -1. */
static int probe_partitions(PGconn *conn)
{
    char day[16], err[512];

    for (int i = 0; i < PROBE_EVENTS; i++) {
        archive_day_str(archive_day(events[i].ev.event_ts_ms), day, sizeof(day));
        const char *params[] = {day};
        PGresult *res = PQexecParams(conn, "SELECT analytics_ensure_partitions($1::date, 0)", 1,
                                     NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok) {
            pg_result_error(res, conn, err, sizeof(err));
            printf("FAIL partition %s: %s\n", day, err);
        }
        PQclear(res);
        if (!ok) {
            return -1;
        }
    }
    printf("ok partitions ensured\n");
    return 0;
}

/* Runs a COPY of buf and checks its outcome: want_state "" for success,
 * else the SQLSTATE it must fail with. Returns 0 when it did. */
static int probe_copy(PGconn *conn, const char *what, const char *sql, const struct copybuf *buf,
                      const char *want_state)
{
    char state[6], err[1024];
    int rc = pg_copy_rows(conn, sql, copybuf_data(buf), copybuf_len(buf), state, err, sizeof(err));

    if ((rc == 0) != (want_state[0] == '\0') || strcmp(state, want_state) != 0) {
        printf("FAIL %s: rc %d, sqlstate '%s' (wanted '%s'): %s\n", what, rc, state, want_state,
               rc != 0 ? err : "");
        return -1;
    }
    printf("ok %s%s%s\n", what, rc != 0 ? ": " : "", rc != 0 ? err : "");
    return 0;
}

/* The slow path: COPY into a staging table, then INSERT ... ON CONFLICT DO
 * NOTHING, in one transaction. Returns 0 or -1. */
static int probe_slow_path(PGconn *conn, const struct copybuf *buf)
{
    char copy[2048], insert[4096], err[1024];

    snprintf(copy, sizeof(copy), "COPY archive_stage (%s) FROM STDIN", archive_columns);
    snprintf(insert, sizeof(insert),
             "INSERT INTO analytics_events (%s) SELECT %s FROM archive_stage "
             "ON CONFLICT DO NOTHING",
             archive_columns, archive_columns);
    if (pg_exec(conn, "BEGIN", err, sizeof(err)) != 0 ||
        pg_exec(conn,
                "CREATE TEMP TABLE archive_stage (LIKE analytics_events INCLUDING DEFAULTS) "
                "ON COMMIT DROP",
                err, sizeof(err)) != 0) {
        printf("FAIL slow path setup: %s\n", err);
        return -1;
    }
    if (probe_copy(conn, "slow path copy into staging", copy, buf, "") != 0 ||
        pg_exec(conn, insert, err, sizeof(err)) != 0 ||
        pg_exec(conn, "COMMIT", err, sizeof(err)) != 0) {
        printf("FAIL slow path: %s\n", err);
        return -1;
    }
    printf("ok slow path inserted the new rows\n");
    return 0;
}

/* pg_copy_rows given something that is not a COPY FROM STDIN: refused with
 * no SQLSTATE of its own, and the connection still usable. Returns 0 or -1. */
static int probe_misuse(PGconn *conn)
{
    static const char *const sqls[] = {"SELECT 1", "COPY (SELECT 1) TO STDOUT"};
    char state[6], err[512];

    for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
        int rc = pg_copy_rows(conn, sqls[i], "x\n", 2, state, err, sizeof(err));
        if (rc != -1 || state[0] != '\0' || strstr(err, "not a COPY FROM STDIN") == NULL ||
            pg_exec(conn, "SELECT 1", err, sizeof(err)) != 0) {
            printf("FAIL copy misuse %s: rc %d, sqlstate '%s': %s\n", sqls[i], rc, state, err);
            return -1;
        }
    }
    printf("ok copy misuse refused\n");
    return 0;
}

static int probe_run(PGconn *conn)
{
    struct copybuf buf;
    char copy[2048];
    int rc = -1;

    copybuf_init(&buf);
    snprintf(copy, sizeof(copy), "COPY analytics_events (%s) FROM STDIN", archive_columns);
    if (probe_partitions(conn) != 0 || probe_rows(&buf, 0, PROBE_EVENTS - 1) != 0) {
        goto out;
    }
    if (probe_copy(conn, "fast path copy", copy, &buf, "") != 0 ||
        probe_copy(conn, "fast path copy again: duplicate", copy, &buf, "23505") != 0) {
        goto out;
    }
    if (probe_rows(&buf, PROBE_EVENTS - 1, PROBE_EVENTS) != 0 || probe_slow_path(conn, &buf) != 0) {
        goto out;
    }
    /* 2030-01-01: no partition, and no default one to catch it. */
    copybuf_reset(&buf);
    events[0].ev.event_id = "nopart";
    events[0].ev.event_ts_ms = 1893456000000LL;
    if (probe_rows(&buf, 0, 1) != 0 ||
        probe_copy(conn, "copy for a day without partition", copy, &buf, "23514") != 0) {
        goto out;
    }
    if (probe_copy(conn, "copy into a missing table", "COPY no_such_table FROM STDIN", &buf,
                   "42P01") != 0 ||
        probe_misuse(conn) != 0) {
        goto out;
    }
    rc = 0;
out:
    copybuf_fini(&buf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dsn = getenv("ANALYTICS_PG_DSN");
    char err[512];

    if (argc == 2 && strcmp(argv[1], "--columns") == 0) {
        printf("%s\n", archive_columns);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: archive_copy_probe [--columns]\n");
        return 64;
    }
    probe_events();
    PGconn *conn = pg_connect(dsn != NULL && dsn[0] != '\0' ? dsn : PG_DSN_DEFAULT, 5,
                              "archive_copy_probe", err, sizeof(err));
    if (conn == NULL) {
        printf("FAIL %s\n", err);
        return 1;
    }
    int rc = probe_run(conn);
    PQfinish(conn);
    return rc == 0 ? 0 : 1;
}
