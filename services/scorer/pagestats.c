#include "pagestats.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing; page 0 marks an empty slot (page
 * hashes are never 0). Grows at 3/4 full. */
struct pagestats_slot {
    uint64_t page;
    struct page_totals t;
};

struct pagestats {
    struct pagestats_slot *slots;
    size_t cap, n; /* cap a power of two */
};

struct pagestats *pagestats_new(void)
{
    struct pagestats *ps = calloc(1, sizeof(*ps));

    if (ps == NULL) {
        return NULL;
    }
    ps->cap = 1024;
    ps->slots = calloc(ps->cap, sizeof(*ps->slots));
    if (ps->slots == NULL) {
        free(ps);
        return NULL;
    }
    return ps;
}

void pagestats_free(struct pagestats *ps)
{
    if (ps != NULL) {
        free(ps->slots);
        free(ps);
    }
}

static size_t pagestats_home(const struct pagestats *ps, uint64_t page)
{
    return (size_t)(page ^ (page >> 29)) & (ps->cap - 1);
}

static struct pagestats_slot *pagestats_find(const struct pagestats *ps, uint64_t page)
{
    for (size_t i = pagestats_home(ps, page);; i = (i + 1) & (ps->cap - 1)) {
        if (ps->slots[i].page == page || ps->slots[i].page == 0) {
            return &ps->slots[i];
        }
    }
}

static int pagestats_grow(struct pagestats *ps)
{
    struct pagestats_slot *old = ps->slots;
    size_t oldcap = ps->cap;
    struct pagestats_slot *slots = calloc(oldcap * 2, sizeof(*slots));

    if (slots == NULL) {
        return -1;
    }
    ps->slots = slots;
    ps->cap = oldcap * 2;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].page != 0) {
            *pagestats_find(ps, old[i].page) = old[i];
        }
    }
    free(old);
    return 0;
}

/* The slot of page, made when absent. NULL when memory runs out. */
static struct pagestats_slot *pagestats_slot(struct pagestats *ps, uint64_t page)
{
    struct pagestats_slot *s = pagestats_find(ps, page);

    if (s->page == page) {
        return s;
    }
    if ((ps->n + 1) * 4 > ps->cap * 3) {
        if (pagestats_grow(ps) != 0) {
            return NULL;
        }
        s = pagestats_find(ps, page);
    }
    s->page = page;
    memset(&s->t, 0, sizeof(s->t));
    ps->n++;
    return s;
}

int pagestats_set(struct pagestats *ps, uint64_t page, const struct page_totals *t)
{
    struct pagestats_slot *s = page != 0 ? pagestats_slot(ps, page) : NULL;

    if (s == NULL) {
        return -1;
    }
    s->t = *t;
    return 0;
}

int pagestats_add(struct pagestats *ps, uint64_t page, const struct page_totals *t)
{
    struct pagestats_slot *s = page != 0 ? pagestats_slot(ps, page) : NULL;

    if (s == NULL) {
        return -1;
    }
    s->t.entrances += t->entrances;
    s->t.bounces += t->bounces;
    s->t.page_views += t->page_views;
    s->t.exits += t->exits;
    s->t.unique_views += t->unique_views;
    s->t.value += t->value;
    return 0;
}

bool pagestats_rates(const struct pagestats *ps, uint64_t page, struct page_rates *out)
{
    const struct pagestats_slot *s = page != 0 ? pagestats_find(ps, page) : NULL;

    memset(out, 0, sizeof(*out));
    if (s == NULL || s->page != page || s->t.page_views <= 0) {
        return false;
    }
    out->bounce = s->t.entrances > 0 ? (double)s->t.bounces / (double)s->t.entrances : 0.0;
    out->exit = (double)s->t.exits / (double)s->t.page_views;
    out->value = s->t.unique_views > 0 ? s->t.value / (double)s->t.unique_views : 0.0;
    return true;
}

size_t pagestats_count(const struct pagestats *ps)
{
    return ps->n;
}

void pagestats_each(const struct pagestats *ps,
                    void (*fn)(void *arg, uint64_t page, const struct page_totals *t), void *arg)
{
    for (size_t i = 0; i < ps->cap; i++) {
        if (ps->slots[i].page != 0) {
            fn(arg, ps->slots[i].page, &ps->slots[i].t);
        }
    }
}

void pagestats_clear(struct pagestats *ps)
{
    memset(ps->slots, 0, ps->cap * sizeof(*ps->slots));
    ps->n = 0;
}
