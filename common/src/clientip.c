/*
 * Client IP through trusted proxies. Contracts in analytics/clientip.h; pure
 * logic.
 */
#include "analytics/clientip.h"
#include "analytics/errbuf.h"
#include "analytics/ipaddr.h"
#include "analytics/strlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ip_addr {
    int family;          /* AF_INET or AF_INET6 */
    unsigned char b[16]; /* network order; AF_INET uses the first 4 */
};

struct ip_cidr {
    struct ip_addr net; /* host bits cleared */
    unsigned prefix;
};

struct proxy_list {
    size_t n;
    struct ip_cidr *cidrs;
};

/* Parses s[0..len) as an IPv4 or IPv6 address; an IPv4-mapped IPv6 address
 * becomes IPv4 (and *mapped, when given, is set). Returns false when
 * inet_pton rejects it. */
static bool ip_parse(const char *s, size_t len, struct ip_addr *out, bool *mapped)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[64];

    if (mapped != NULL) {
        *mapped = false;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->b) != 1) {
        return false;
    }
    out->family = AF_INET6;
    if (memcmp(out->b, v4mapped, sizeof(v4mapped)) == 0) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        out->family = AF_INET;
        if (mapped != NULL) {
            *mapped = true;
        }
    }
    return true;
}

/* True when a lies in c. */
static bool ip_cidr_contains(const struct ip_cidr *c, const struct ip_addr *a)
{
    size_t full = c->prefix / 8;
    unsigned rest = c->prefix % 8;

    if (c->net.family != a->family || memcmp(c->net.b, a->b, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (c->net.b[full] & mask) == (a->b[full] & mask);
}

/* True when a is a trusted proxy. */
static bool proxy_list_trusts(const struct proxy_list *pl, const struct ip_addr *a)
{
    for (size_t i = 0; pl != NULL && i < pl->n; i++) {
        if (ip_cidr_contains(&pl->cidrs[i], a)) {
            return true;
        }
    }
    return false;
}

/* Clears the bits of a from bit prefix on (0..128). */
static void ip_clear_host_bits(struct ip_addr *a, unsigned prefix)
{
    for (unsigned bit = prefix; bit < 128; bit++) {
        a->b[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    }
}

/* Parses a decimal prefix length s[0..len) no greater than max. */
static bool ip_prefix_parse(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 3) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses "addr" or "addr/prefix" from s[0..len) into c. */
static bool ip_cidr_parse(const char *s, size_t len, struct ip_cidr *c)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash != NULL ? (size_t)(slash - s) : len;
    bool mapped;
    unsigned max;
    unsigned prefix;

    if (!ip_parse(s, addr_len, &c->net, &mapped)) {
        return false;
    }
    max = c->net.family == AF_INET && !mapped ? 32 : 128;
    prefix = max;
    if (slash != NULL && !ip_prefix_parse(slash + 1, len - addr_len - 1, max, &prefix)) {
        return false;
    }
    if (mapped) {
        if (prefix < 96) {
            return false; /* reaches beyond the IPv4-mapped block */
        }
        prefix -= 96;
    }
    c->prefix = prefix;
    ip_clear_host_bits(&c->net, prefix); /* so matching compares whole bytes */
    return true;
}

struct proxy_list *proxy_list_new(const char *spec, char *err, size_t errlen)
{
    struct proxy_list *pl = calloc(1, sizeof(*pl));
    const char *pos = spec;
    const char *item;
    size_t len;

    if (pl == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlist_blank(spec)) {
        return pl;
    }
    pl->cidrs = calloc(strlist_count(spec), sizeof(*pl->cidrs));
    if (pl->cidrs == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (strlist_next(&pos, &item, &len)) {
        if (!ip_cidr_parse(item, len, &pl->cidrs[pl->n])) {
            errbuf_printf(err, errlen, "trusted proxy \"%.*s\" is not an IP address or CIDR block",
                          (int)(len > 200 ? 200 : len), item);
            goto out_free;
        }
        pl->n++;
    }
    return pl;

out_free:
    proxy_list_free(pl);
    return NULL;
}

/* True when cutting the list v at tail (v < tail) leaves the entry starting
 * at tail whole: only white space lies between a comma and tail. */
static bool xff_cut_clean(const char *v, const char *tail)
{
    const char *p = tail - 1;

    while (p > v && isspace((unsigned char)*p)) {
        p--;
    }
    return *p == ',';
}

int xff_join(const char *const *lines, size_t n, char *out, size_t outlen)
{
    size_t pos; /* the list built so far, right to left, is out[pos..] */
    bool dropped = false;

    if (out == NULL || outlen == 0) {
        return -1;
    }
    pos = outlen - 1;
    out[pos] = '\0';
    for (size_t i = n; i-- > 0 && !dropped;) {
        const char *v = lines[i];
        size_t len = v != NULL ? strlen(v) : 0;
        size_t sep = pos < outlen - 1 ? 2 : 0; /* ", " before what is there */

        strlist_trim(&v, &len);
        if (len == 0) {
            continue;
        }
        if (len + sep > pos) {
            /* Keep the whole entries at the end of v that fit, then stop. */
            size_t avail = pos > sep ? pos - sep : 0;
            const char *tail = v + len - avail;
            dropped = true;
            if (!xff_cut_clean(v, tail)) {
                /* The cut is inside an entry: drop up to the next comma. */
                const char *comma = memchr(tail, ',', avail);
                avail = comma != NULL ? avail - (size_t)(comma + 1 - tail) : 0;
                tail = comma != NULL ? comma + 1 : tail;
            }
            len = avail;
            v = tail;
            strlist_trim(&v, &len);
            if (len == 0) {
                break;
            }
        }
        pos -= sep;
        memcpy(out + pos, ", ", sep);
        pos -= len;
        memcpy(out + pos, v, len);
    }
    memmove(out, out + pos, outlen - pos);
    return dropped ? 1 : 0;
}

/* Parses an IPv6 address s[0..len), maybe with a zone ("fe80::1%eth0": up
 * to 16 letters, digits, '.', '_' or '-'), which is dropped. */
static bool xff_v6_parse(const char *s, size_t len, struct ip_addr *a)
{
    const char *pct = memchr(s, '%', len);

    if (pct != NULL) {
        size_t zlen = len - (size_t)(pct - s) - 1;
        if (zlen == 0 || zlen > 16) {
            return false;
        }
        for (size_t i = 1; i <= zlen; i++) {
            unsigned char ch = (unsigned char)pct[i];
            if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-') {
                return false;
            }
        }
        len = (size_t)(pct - s);
    }
    /* Brackets and zones belong to IPv6 only: "[192.0.2.1]" is not an entry. */
    return memchr(s, ':', len) != NULL && ip_parse(s, len, a, NULL);
}

/* Parses one X-Forwarded-For entry s[0..len) (trimmed): "v4", "v4:port",
 * "v6", "[v6]" or "[v6]:port", a v6 maybe with a zone. Returns false for
 * anything else. */
static bool xff_entry_parse(const char *s, size_t len, struct ip_addr *a)
{
    const char *end = s + len;
    const char *colon;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            return false;
        }
        if (close + 1 != end &&
            (close[1] != ':' || !ipaddr_port_valid(close + 2, (size_t)(end - close - 2)))) {
            return false;
        }
        return xff_v6_parse(s + 1, (size_t)(close - s - 1), a);
    }
    colon = memchr(s, ':', len);
    if (colon == NULL) {
        return ip_parse(s, len, a, NULL);
    }
    if (memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
        return xff_v6_parse(s, len, a); /* two colons or more: IPv6 */
    }
    /* one colon: IPv4 and a port */
    return ipaddr_port_valid(colon + 1, (size_t)(end - colon - 1)) &&
           ip_parse(s, (size_t)(colon - s), a, NULL);
}

int client_ip_resolve(const struct proxy_list *pl, const char *peer, const char *xff, char *out,
                      size_t outlen)
{
    struct ip_addr cur;
    struct ip_addr next;
    const char *end;

    if (out != NULL && outlen > 0) {
        out[0] = '\0';
    }
    if (peer == NULL || !ip_parse(peer, strlen(peer), &cur, NULL)) {
        return -1;
    }
    if (xff != NULL && proxy_list_trusts(pl, &cur)) {
        /* Walk right to left: each hop was added by the one after it. */
        end = xff + strlen(xff);
        for (int hop = 0; hop < CLIENT_IP_MAX_HOPS; hop++) {
            const char *start = end;
            const char *item;
            size_t len;
            while (start > xff && start[-1] != ',') {
                start--;
            }
            item = start;
            len = (size_t)(end - start);
            strlist_trim(&item, &len);
            if (len > 0) {
                if (!xff_entry_parse(item, len, &next)) {
                    break; /* malformed: keep the last good address */
                }
                cur = next;
                if (!proxy_list_trusts(pl, &cur)) {
                    break;
                }
            }
            if (start == xff) {
                break;
            }
            end = start - 1; /* the comma */
        }
    }
    if (out == NULL || inet_ntop(cur.family, cur.b, out, (socklen_t)outlen) == NULL) {
        if (out != NULL && outlen > 0) {
            out[0] = '\0';
        }
        return -1; /* out is too small */
    }
    return 0;
}

int client_ip_key(const char *ip, unsigned v6_prefix, char *out, size_t outlen)
{
    struct ip_addr a;
    unsigned char v4[4];
    char text[INET6_ADDRSTRLEN];
    int n;

    if (out == NULL || outlen == 0) {
        return -1;
    }
    out[0] = '\0';
    if (ip == NULL || v6_prefix > 128 || !ip_parse(ip, strlen(ip), &a, NULL)) {
        return -1;
    }
    if (a.family == AF_INET6 && ipaddr_embedded_v4(a.b, v4) != IPADDR_EMBED_NONE) {
        memset(&a, 0, sizeof(a));
        a.family = AF_INET;
        memcpy(a.b, v4, sizeof(v4));
    }
    if (a.family == AF_INET) {
        if (inet_ntop(AF_INET, a.b, out, (socklen_t)outlen) == NULL) {
            out[0] = '\0';
            return -1;
        }
        return 0;
    }
    ip_clear_host_bits(&a, v6_prefix);
    if (inet_ntop(AF_INET6, a.b, text, sizeof(text)) == NULL) {
        return -1;
    }
    n = snprintf(out, outlen, "%s/%u", text, v6_prefix);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void proxy_list_free(struct proxy_list *pl)
{
    if (pl == NULL) {
        return;
    }
    free(pl->cidrs);
    free(pl);
}
