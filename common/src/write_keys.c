/*
 * Per-site write keys. Contracts in analytics/write_keys.h; pure logic.
 */
#include "analytics/write_keys.h"

#include "analytics/errbuf.h"
#include "analytics/secret.h"
#include "analytics/strlist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct write_key {
    char *site;
    char *key;
    size_t keylen;
};

struct write_keys {
    size_t n;
    struct write_key *keys;
};

/* Parses one "site:key" or bare "key" item into wk->keys[wk->n]. Returns 0,
 * or -1 with the reason in err (never quoting the key: it is a secret). */
static int write_keys_add(struct write_keys *wk, const char *item, size_t len, char *err,
                          size_t errlen)
{
    const char *colon = memchr(item, ':', len);
    const char *site = "default";
    size_t site_len = strlen(site);
    const char *key = item;
    size_t key_len = len;
    struct write_key *k = &wk->keys[wk->n];

    if (colon != NULL) {
        site = item;
        site_len = (size_t)(colon - item);
        key = colon + 1;
        key_len = len - site_len - 1;
        strlist_trim(&site, &site_len);
        strlist_trim(&key, &key_len);
    }
    if (site_len == 0) {
        errbuf_printf(err, errlen, "write key entry %zu: empty site", wk->n + 1);
        return -1;
    }
    if (key_len == 0) {
        errbuf_printf(err, errlen, "write key entry %zu: empty key", wk->n + 1);
        return -1;
    }
    for (size_t i = 0; i < wk->n; i++) {
        if (wk->keys[i].keylen == key_len && memcmp(wk->keys[i].key, key, key_len) == 0) {
            errbuf_printf(err, errlen, "write key entry %zu: duplicate of entry %zu", wk->n + 1,
                          i + 1);
            return -1;
        }
    }
    k->site = strndup(site, site_len);
    k->key = strndup(key, key_len);
    if (k->site == NULL || k->key == NULL) {
        free(k->site);
        free(k->key);
        k->site = NULL;
        k->key = NULL;
        errbuf_printf(err, errlen, "out of memory");
        return -1;
    }
    k->keylen = key_len;
    wk->n++;
    return 0;
}

struct write_keys *write_keys_new(const char *spec, char *err, size_t errlen)
{
    struct write_keys *wk = calloc(1, sizeof(*wk));
    const char *pos = spec;
    const char *item;
    size_t len;

    if (wk == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlist_blank(spec)) {
        return wk;
    }
    wk->keys = calloc(strlist_count(spec), sizeof(*wk->keys));
    if (wk->keys == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (strlist_next(&pos, &item, &len)) {
        if (write_keys_add(wk, item, len, err, errlen) != 0) {
            goto out_free;
        }
    }
    return wk;

out_free:
    write_keys_free(wk);
    return NULL;
}

bool write_keys_enabled(const struct write_keys *wk)
{
    return wk != NULL && wk->n > 0;
}

const char *write_keys_match(const struct write_keys *wk, const char *key)
{
    size_t found = SIZE_MAX;
    size_t key_len;

    if (!write_keys_enabled(wk)) {
        return "";
    }
    if (key == NULL) {
        return NULL;
    }
    key_len = strlen(key);
    /* No early exit and no branch on the result: which key matched (if
     * any) must not show in the timing. */
    for (size_t i = 0; i < wk->n; i++) {
        size_t eq = secret_equal(wk->keys[i].key, wk->keys[i].keylen, key, key_len);
        size_t mask = (size_t)0 - eq;
        found = (found & ~mask) | (i & mask);
    }
    return found == SIZE_MAX ? NULL : wk->keys[found].site;
}

void write_keys_free(struct write_keys *wk)
{
    if (wk == NULL) {
        return;
    }
    for (size_t i = 0; i < wk->n; i++) {
        free(wk->keys[i].site);
        free(wk->keys[i].key);
    }
    free(wk->keys);
    free(wk);
}
