#include "profile.h"

#include <stdio.h>
#include <string.h>

void prof_init(struct profile *p, const char *fingerprint)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->fingerprint, sizeof(p->fingerprint), "%s", fingerprint != NULL ? fingerprint : "");
    p->cur.view_type = -1;
    p->cur.view_cat = PAGE_CAT_NONE;
    p->cur.closed = true; /* no session to close yet */
    p->explained.score = -1;
    p->explained.persona = -1;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t prof_page_hash(const char *host, const char *path)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, host);

    h = fnv1a(h ^ '/', path);
    return h != 0 ? h : 1;
}

bool prof_starts_session(const struct profile *p, const struct profile_event *ev)
{
    const char *id = ev->session_id != NULL ? ev->session_id : "";

    return p->cur.id[0] == '\0' || strncmp(p->cur.id, id, sizeof(p->cur.id)) != 0 ||
           (ev->new_session && ev->ts_ms > p->cur.start_ms);
}

/* The index of page_type in p->types, added when new (the last slot is
 * shared by the types beyond PROFILE_TYPES_MAX - 1); -1 for none. */
static int profile_type(struct profile *p, const char *page_type)
{
    if (page_type == NULL || page_type[0] == '\0') {
        return -1;
    }
    for (int i = 0; i < p->ntypes; i++) {
        if (strncmp(p->types[i].type, page_type, PROFILE_TYPE_MAX - 1) == 0) {
            return i;
        }
    }
    if (p->ntypes == PROFILE_TYPES_MAX) {
        return PROFILE_TYPES_MAX - 1;
    }
    if (p->ntypes == PROFILE_TYPES_MAX - 1) {
        page_type = "other";
    }
    snprintf(p->types[p->ntypes].type, PROFILE_TYPE_MAX, "%s", page_type);
    return p->ntypes++;
}

static void profile_new_session(struct profile *p, const struct profile_event *ev)
{
    struct profile_session *s = &p->cur;

    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", ev->session_id != NULL ? ev->session_id : "");
    s->start_ms = s->last_ms = ev->ts_ms;
    s->local_day = ev->local_day;
    s->view_type = -1;
    s->view_cat = PAGE_CAT_NONE;
    p->sessions++;
    if (p->sessions == 1) {
        p->first_channel = ev->channel;
        p->first_visit_day = ev->local_day;
    }
    if (p->visit_days == 0 || ev->local_day > p->last_visit_day) {
        p->visit_days++;
        p->last_visit_day = ev->local_day;
    }
}

/* Closes the time on the session's previous page view at ts_ms. */
static void profile_time_on_page(struct profile *p, long long ts_ms)
{
    struct profile_session *s = &p->cur;
    long long gap = ts_ms - s->view_ms;

    if (s->view_ms == 0 || gap <= 0) {
        return;
    }
    if (gap > PROFILE_GAP_MAX_MS) {
        gap = PROFILE_GAP_MAX_MS;
    }
    if (s->view_cat != PAGE_CAT_NONE) {
        s->ms[s->view_cat] += gap;
    }
    if (s->view_type >= 0) {
        p->types[s->view_type].seconds += gap / 1000;
    }
    p->seconds += gap / 1000;
}

/* Records the page viewed in the session's distinct pages. */
static void profile_add_page(struct profile_session *s, uint64_t hash)
{
    if (hash == 0) {
        return;
    }
    s->exit_page = hash;
    for (int i = 0; i < s->npages; i++) {
        if (s->pages[i].hash == hash) {
            s->pages[i].views++;
            return;
        }
    }
    if (s->npages < PROFILE_PAGES_MAX) {
        s->pages[s->npages] = (struct profile_page){hash, 1, 0};
        s->npages++;
    }
}

static void profile_page_view(struct profile *p, const struct scorer_rules *r,
                              const struct profile_event *ev)
{
    struct profile_session *s = &p->cur;
    enum page_category cat = scorer_rules_category(r, ev->page_type);
    int type = profile_type(p, ev->page_type);
    bool in_order = ev->ts_ms >= s->view_ms;

    p->page_views++;
    s->page_views++;
    if (cat != PAGE_CAT_NONE) {
        s->views[cat]++;
    }
    if (type >= 0) {
        p->types[type].views++;
    }
    if (scorer_rules_pricing_page(r, ev->page_type)) {
        p->pricing_views++;
    }
    if (in_order) { /* a late view neither closes nor opens a time on page */
        profile_time_on_page(p, ev->ts_ms);
        s->view_ms = ev->ts_ms;
        s->view_cat = cat;
        s->view_type = type;
    }
    profile_add_page(s, ev->page_hash);
}

/* Counters that do not change the model's features. */
static void profile_count(struct profile *p, const struct scorer_rules *r,
                          const struct profile_event *ev)
{
    unsigned c = ev->counters;

    if ((c & (1u << SCORER_EV_PRICING_VIEW)) != 0 && !scorer_rules_pricing_page(r, ev->page_type)) {
        p->pricing_views++; /* a pricing page's view counted it already */
    }
    p->bookings_started += (int)((c >> SCORER_EV_BOOKING_STARTED) & 1u);
    p->forms_started += (int)((c >> SCORER_EV_FORM_STARTED) & 1u);
    p->rage_clicks += (int)((c >> SCORER_EV_RAGE_CLICK) & 1u);
    p->exit_intents += (int)((c >> SCORER_EV_EXIT_INTENT) & 1u);
    if ((c & (1u << SCORER_EV_SCROLL)) != 0 && ev->depth > p->deepest_scroll) {
        p->deepest_scroll = ev->depth;
    }
    if ((c & (1u << SCORER_EV_BOOKING_COMPLETED)) != 0) {
        p->bookings_completed++;
        if (p->booking_days == 0 || ev->local_day > p->last_booking_day) {
            if (p->booking_days == 0) {
                p->first_booking_day = ev->local_day;
            }
            p->booking_days++;
            p->last_booking_day = ev->local_day;
        }
    }
}

/* A conversion's value goes to every page viewed before it. */
static void profile_conversion(struct profile_session *s, long long micros)
{
    s->revenue_micros += micros;
    for (int i = 0; i < s->npages; i++) {
        s->pages[i].value_micros += micros;
    }
}

unsigned prof_apply(struct profile *p, const struct scorer_rules *r, const struct profile_event *ev)
{
    unsigned changed = PROFILE_COUNTED;

    if (prof_starts_session(p, ev)) {
        profile_new_session(p, ev);
        changed |= PROFILE_NEW_SESSION | PROFILE_FEATURES;
    }
    if (p->events == 0) {
        p->first_seen_ms = ev->ts_ms;
        p->first_device = ev->device;
    }
    p->events++;
    if (ev->ts_ms < p->first_seen_ms) {
        p->first_seen_ms = ev->ts_ms;
    }
    if (ev->ts_ms > p->last_seen_ms) {
        p->last_seen_ms = ev->ts_ms;
    }
    if (ev->ts_ms > p->cur.last_ms) {
        p->cur.last_ms = ev->ts_ms;
    }
    if (ev->user_id != NULL && ev->user_id[0] != '\0') {
        snprintf(p->user_id, sizeof(p->user_id), "%s", ev->user_id);
    }
    p->cur.closed = false;
    if (ev->page_view) {
        profile_page_view(p, r, ev);
        changed |= PROFILE_FEATURES;
    }
    if (ev->is_conversion && ev->conversion_micros > 0) {
        profile_conversion(&p->cur, ev->conversion_micros);
        changed |= PROFILE_FEATURES;
    }
    profile_count(p, r, ev);
    return changed;
}

bool prof_close_session(struct profile *p, struct profile_page_stats *out)
{
    struct profile_session *s = &p->cur;

    memset(out, 0, sizeof(*out));
    if (s->closed || s->npages == 0) {
        s->closed = true;
        return false;
    }
    s->closed = true;
    out->pages = s->pages;
    out->npages = s->npages;
    out->entry = s->pages[0].hash;
    out->exit = s->exit_page;
    out->bounced = s->page_views == 1;
    out->page_views = s->page_views;
    return true;
}
