/*
 * Unit tests for the pure parts of an exactly-once consumer's partitions
 * (common/src/txparts.c): whether stored offsets belong to the stream the
 * broker has (a devbroker started afresh, a topic made again) and where a
 * reset starts, the (topic, partition) pairs of a batch and the offsets
 * after it, the reconnect backoff, and a partition's clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/txparts.h"

#include <stdlib.h>

static int batch_setup(void **state)
{
    struct txparts_batch *b = calloc(1, sizeof(*b)); /* zeroed: empty */

    *state = b;
    return b != NULL ? 0 : -1;
}

static int batch_teardown(void **state)
{
    free(*state);
    return 0;
}

static struct kafka_message msg(const char *topic, int32_t part, int64_t offset)
{
    return (struct kafka_message){.topic = topic, .partition = part, .offset = offset};
}

static void test_offsets_kept(void **state)
{
    (void)state;
    /* No row yet: nothing to judge, whatever the broker says. */
    assert_int_equal(txparts_judge(-1, "c1", "c2", 0), TXPARTS_KEEP);
    /* The same cluster, within the partition. */
    assert_int_equal(txparts_judge(500, "c1", "c1", 500), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(0, "c1", "c1", 0), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(10, "c1", "c1", 900), TXPARTS_KEEP);
    /* A cluster not recorded (rows older than the check) or not known now:
     * judged by the watermark alone. */
    assert_int_equal(txparts_judge(500, "", "c1", 600), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(500, NULL, "c1", 600), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(500, "c1", "", 600), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(500, "c1", NULL, 600), TXPARTS_KEEP);
    /* Watermark not known: judged by the cluster alone. */
    assert_int_equal(txparts_judge(500, "c1", "c1", -1), TXPARTS_KEEP);
    assert_int_equal(txparts_judge(500, "", "", -1), TXPARTS_KEEP);
    assert_string_equal(txparts_verdict_reason(TXPARTS_KEEP), "");
}

static void test_offsets_reset(void **state)
{
    (void)state;
    /* A devbroker started afresh: another cluster id, even when the new
     * partition already holds more messages than the old offsets. */
    assert_int_equal(txparts_judge(500, "mockCluster1", "mockCluster2", 0), TXPARTS_RESET_CLUSTER);
    assert_int_equal(txparts_judge(500, "mockCluster1", "mockCluster2", 9000),
                     TXPARTS_RESET_CLUSTER);
    assert_int_equal(txparts_judge(0, "a", "b", -1), TXPARTS_RESET_CLUSTER);
    /* The cluster decides before the watermark. */
    assert_int_equal(txparts_judge(501, "a", "b", 500), TXPARTS_RESET_CLUSTER);
    /* A topic made again on the same cluster: offsets past its end. */
    assert_int_equal(txparts_judge(501, "c1", "c1", 500), TXPARTS_RESET_BEYOND_END);
    assert_int_equal(txparts_judge(1, "", "", 0), TXPARTS_RESET_BEYOND_END);
    assert_int_equal(txparts_judge(334, NULL, NULL, 12), TXPARTS_RESET_BEYOND_END);
    assert_string_equal(txparts_verdict_reason(TXPARTS_RESET_CLUSTER), "cluster_changed");
    assert_string_equal(txparts_verdict_reason(TXPARTS_RESET_BEYOND_END), "beyond_end");
}

static void test_reset_to(void **state)
{
    (void)state;
    /* From the broker's first offset; from 0 when it is not known. */
    assert_int_equal(txparts_reset_to(120), 120);
    assert_int_equal(txparts_reset_to(0), 0);
    assert_int_equal(txparts_reset_to(-1), 0);
}

static void test_backoff(void **state)
{
    (void)state;
    long long wait = 0;
    const long long want[] = {250, 500, 1000, 2000, 4000, 5000, 5000};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        wait = txparts_backoff_ms(wait);
        assert_int_equal(wait, want[i]);
    }
    assert_int_equal(txparts_backoff_ms(0), TXPARTS_BACKOFF_MIN_MS);
    assert_int_equal(txparts_backoff_ms(3000), TXPARTS_BACKOFF_MAX_MS);
}

/* Distinct pairs in the order first met, each with the offset after its
 * last message, whatever the order of the offsets. */
static void test_collect(void **state)
{
    struct txparts_batch *b = *state;
    static const char enriched[] = "events.enriched", journeys[] = "journeys";
    const struct kafka_message msgs[] = {
        msg(enriched, 3, 10), msg(enriched, 0, 7),  msg(journeys, 3, 100),
        msg(enriched, 3, 12), msg(enriched, 3, 11), msg(journeys, 3, 99),
    };

    assert_int_equal(txparts_batch_collect(b, msgs, 6, NULL), 0);
    assert_int_equal(b->n, 3);
    assert_ptr_equal(b->topic[0], enriched);
    assert_int_equal(b->part[0], 3);
    assert_int_equal(b->end[0], 13);
    assert_ptr_equal(b->topic[1], enriched);
    assert_int_equal(b->part[1], 0);
    assert_int_equal(b->end[1], 8);
    assert_ptr_equal(b->topic[2], journeys);
    assert_int_equal(b->part[2], 3);
    assert_int_equal(b->end[2], 101);

    /* Collecting again starts afresh. */
    assert_int_equal(txparts_batch_collect(b, msgs + 2, 1, NULL), 0);
    assert_int_equal(b->n, 1);
    assert_ptr_equal(b->topic[0], journeys);
    assert_int_equal(b->end[0], 101);
    assert_int_equal(txparts_batch_collect(b, msgs, 0, NULL), 0);
    assert_int_equal(b->n, 0);
}

/* The same topic under another pointer (a caller's copy of the name) is
 * the same topic. */
static void test_collect_by_name(void **state)
{
    struct txparts_batch *b = *state;
    char copy[] = "t";
    const struct kafka_message msgs[] = {msg("t", 1, 5), msg(copy, 1, 9)};

    assert_int_equal(txparts_batch_collect(b, msgs, 2, NULL), 0);
    assert_int_equal(b->n, 1);
    assert_int_equal(b->end[0], 10);
}

/* A partition out of range stops the collection at that message. */
static void test_collect_out_of_range(void **state)
{
    struct txparts_batch *b = *state;
    const struct kafka_message msgs[] = {msg("t", 1, 5), msg("t", 2, 5),
                                         msg("t", TXPARTS_PARTS_MAX, 5), msg("t", 3, 5)};
    size_t bad = 99;

    assert_int_equal(txparts_batch_collect(b, msgs, 4, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(b->n, 2);
    bad = 99;
    const struct kafka_message neg[] = {msg("t", -1, 5)};
    assert_int_equal(txparts_batch_collect(b, neg, 1, &bad), -1);
    assert_int_equal(bad, 0);
    assert_int_equal(b->n, 0);
    assert_int_equal(txparts_batch_add(b, NULL, 1, 5), -1);
}

/* Pairs added by hand (partitions without messages: end -1) and a full
 * batch: more topics than a consumer has, or every slot taken. */
static void test_add(void **state)
{
    struct txparts_batch *b = *state;
    static const char names[TXPARTS_TOPICS_MAX + 1][4] = {"t0", "t1", "t2", "t3", "t4",
                                                          "t5", "t6", "t7", "t8"};

    txparts_batch_reset(b);
    assert_int_equal(txparts_batch_add(b, "a", 7, -1), 0);
    assert_int_equal(txparts_batch_add(b, "a", 8, -1), 1);
    assert_int_equal(txparts_batch_add(b, "a", 7, -1), 0);
    assert_int_equal(b->end[0], -1);
    assert_int_equal(txparts_batch_add(b, "a", 7, 40), 0);
    assert_int_equal(b->end[0], 40);
    assert_int_equal(txparts_batch_add(b, "a", 7, 30), 0);
    assert_int_equal(b->end[0], 40);

    txparts_batch_reset(b);
    for (size_t t = 0; t < TXPARTS_TOPICS_MAX; t++) {
        assert_int_equal(txparts_batch_add(b, names[t], 0, 1), (int)t);
    }
    assert_int_equal(txparts_batch_add(b, names[TXPARTS_TOPICS_MAX], 0, 1), -1);

    txparts_batch_reset(b);
    for (int32_t p = 0; p < TXPARTS_PARTS_MAX; p++) {
        assert_int_equal(txparts_batch_add(b, "a", p, 1), p);
    }
    assert_int_equal(txparts_batch_add(b, "b", 0, 1), -1);
    assert_int_equal(txparts_batch_add(b, "a", 5, 2), 5);
    assert_int_equal(b->n, TXPARTS_PARTS_MAX);

    /* Reset forgets every pair, however full. */
    txparts_batch_reset(b);
    assert_int_equal(b->n, 0);
    assert_int_equal(txparts_batch_add(b, "b", 5, 3), 0);
    assert_int_equal(txparts_batch_add(b, "a", 5, 3), 1);
}

/* The clock work falls due by: the events' time alone while a backlog is
 * read, moved on by the time passed once caught up; an event far ahead of
 * its receive time moves it no further than the cap. */
static void test_clock(void **state)
{
    (void)state;
    long long t = 1796126400000LL; /* 2026-12-01 12:00:00 UTC */

    assert_int_equal(txparts_clock_ms(t, 1000, 91000, false), t);
    assert_int_equal(txparts_clock_ms(t, 1000, 91000, true), t + 90000);
    assert_int_equal(txparts_clock_ms(t, 1000, 1000, true), t);
    assert_int_equal(txparts_clock_ms(t, 1000, 500, true), t); /* never backwards */
    assert_false(txparts_caught_up(10, -1));                   /* nothing fetched yet: not known */
    assert_false(txparts_caught_up(-1, 0));
    assert_false(txparts_caught_up(9, 10));
    assert_true(txparts_caught_up(10, 10));
    assert_true(txparts_caught_up(11, 10));

    assert_int_equal(txparts_event_clock_ms(t, t - 5000), t);
    assert_int_equal(txparts_event_clock_ms(t - 86400000LL, t), t - 86400000LL); /* historical */
    assert_int_equal(txparts_event_clock_ms(t + 86400000LL, t), t + TXPARTS_CLOCK_AHEAD_MS);
    assert_int_equal(txparts_event_clock_ms(t + 86400000LL, 0), t + 86400000LL); /* not known */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_kept),
        cmocka_unit_test(test_offsets_reset),
        cmocka_unit_test(test_reset_to),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_clock),
        cmocka_unit_test_setup_teardown(test_collect, batch_setup, batch_teardown),
        cmocka_unit_test_setup_teardown(test_collect_by_name, batch_setup, batch_teardown),
        cmocka_unit_test_setup_teardown(test_collect_out_of_range, batch_setup, batch_teardown),
        cmocka_unit_test_setup_teardown(test_add, batch_setup, batch_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
