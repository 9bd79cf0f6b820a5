#include "jsession.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void jsession_init(struct jsession *s)
{
    memset(s, 0, sizeof(*s));
}

void jsession_fini(struct jsession *s)
{
    free(s->entry_page);
    free(s->exit_page);
    jsession_init(s);
}

/* Replaces *slot with a copy of url. Returns 0 or -1. */
static int jsession_set_page(char **slot, const char *url)
{
    char *copy = strdup(url != NULL ? url : "");

    if (copy == NULL) {
        return -1;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

/* The page view ev moves the entry or exit page when it is earlier or later
 * than the ones known (ties keep the first seen). */
static int jsession_add_page(struct jsession *s, const struct jsession_event *ev)
{
    if (s->entry_page == NULL || ev->ts_ms < s->entry_ms) {
        if (jsession_set_page(&s->entry_page, ev->page_url) != 0) {
            return -1;
        }
        s->entry_ms = ev->ts_ms;
    }
    if (s->exit_page == NULL || ev->ts_ms >= s->exit_ms) {
        if (jsession_set_page(&s->exit_page, ev->page_url) != 0) {
            return -1;
        }
        s->exit_ms = ev->ts_ms;
    }
    s->page_views++;
    return 0;
}

/* a + b, held between -LLONG_MAX and LLONG_MAX. */
static long long jsession_sum(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b) {
        return LLONG_MAX;
    }
    if (b < 0 && a < -LLONG_MAX - b) {
        return -LLONG_MAX;
    }
    return a + b;
}

int jsession_add(struct jsession *s, const struct jsession_event *ev)
{
    if (ev->page_view && jsession_add_page(s, ev) != 0) {
        return -1;
    }
    if (s->events == 0 || ev->ts_ms < s->start_ms) {
        s->start_ms = ev->ts_ms;
        s->channel = ev->channel;
        s->device_type = ev->device_type;
    }
    if (s->events == 0 || ev->ts_ms > s->end_ms) {
        s->end_ms = ev->ts_ms;
    }
    s->events++;
    s->converted = s->converted || ev->conversion;
    if (ev->conversion) {
        s->revenue_micros = jsession_sum(s->revenue_micros, ev->value_micros);
    }
    s->closed = false;
    return 0;
}

long long jsession_duration_s(const struct jsession *s)
{
    return s->events > 0 ? (s->end_ms - s->start_ms) / 1000 : 0;
}

bool jsession_bounced(const struct jsession *s)
{
    return s->page_views <= 1;
}

bool jsession_idle(const struct jsession *s, long long now_ms, long long idle_ms)
{
    return !s->closed && s->events > 0 && now_ms - s->end_ms >= idle_ms;
}
