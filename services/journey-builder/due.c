#include "due.h"

#include <stdlib.h>
#include <string.h>

void due_init(struct due_queue *q)
{
    memset(q, 0, sizeof(*q));
}

void due_fini(struct due_queue *q)
{
    free(q->items);
    due_init(q);
}

void due_clear(struct due_queue *q)
{
    q->n = 0;
}

/* True when a leaves before b. */
static bool due_before(const struct due_item *a, const struct due_item *b)
{
    if (a->at_ms != b->at_ms) {
        return a->at_ms < b->at_ms;
    }
    if (a->kind != b->kind) {
        return a->kind < b->kind;
    }
    return strcmp(a->key, b->key) < 0;
}

static void due_swap(struct due_item *a, struct due_item *b)
{
    struct due_item t = *a;

    *a = *b;
    *b = t;
}

int due_push(struct due_queue *q, const struct due_item *it)
{
    if (q->n == q->cap) {
        size_t cap = q->cap == 0 ? 64 : q->cap * 2;
        struct due_item *p = realloc(q->items, cap * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        q->items = p;
        q->cap = cap;
    }
    size_t i = q->n++;
    q->items[i] = *it;
    while (i > 0 && due_before(&q->items[i], &q->items[(i - 1) / 2])) {
        due_swap(&q->items[i], &q->items[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

bool due_pop(struct due_queue *q, long long clock_ms, struct due_item *out)
{
    if (q->n == 0 || q->items[0].at_ms > clock_ms) {
        return false;
    }
    *out = q->items[0];
    q->items[0] = q->items[--q->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && due_before(&q->items[l], &q->items[m])) {
            m = l;
        }
        if (r < q->n && due_before(&q->items[r], &q->items[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        due_swap(&q->items[i], &q->items[m]);
        i = m;
    }
    return true;
}
