/* IP to country from Tor's GeoIP files or a MaxMind database; IP truncation.
 * See geo.h. */
#include "geo.h"

#include "analytics/errbuf.h"
#include "analytics/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* An IPv6 address as two host-order halves, so ranges compare as integers. */
struct geo_u128 {
    uint64_t hi;
    uint64_t lo;
};

struct geo_range4 {
    uint32_t low;
    uint32_t high;
    char cc[2];
};

struct geo_range6 {
    struct geo_u128 low;
    struct geo_u128 high;
    char cc[2];
};

struct geo_db {
    struct geo_range4 *v4;
    size_t n4;
    struct geo_range6 *v6;
    size_t n6;
    bool have_mmdb;
    MMDB_s mmdb;
};

/* A read-only mapping of a whole file. */
struct geo_file {
    const char *data;
    size_t len;
};

/* Maps path read-only into f. An empty file maps to len 0 and data NULL.
 * Returns 0, or -1 with the reason in err. */
static int geo_file_map(const char *path, struct geo_file *f, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = -1;

    f->data = NULL;
    f->len = 0;
    if (fd == -1) {
        errbuf_printf(err, errlen, "geo: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        errbuf_printf(err, errlen, "geo: cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        errbuf_printf(err, errlen, "geo: %s is not a regular file", path);
        goto out;
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            errbuf_printf(err, errlen, "geo: cannot map %s: %s", path, strerror(errno));
            goto out;
        }
        (void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
        f->data = p;
        f->len = (size_t)st.st_size;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

static void geo_file_unmap(struct geo_file *f)
{
    if (f->data != NULL) {
        munmap((void *)f->data, f->len);
    }
    f->data = NULL;
    f->len = 0;
}

/* Upper bound of the number of data lines: the count of newlines plus one. */
static size_t geo_count_lines(const struct geo_file *f)
{
    size_t n = 1;
    const char *p = f->data;
    const char *end = f->data + f->len;

    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Parses a decimal IPv4 integer from [*pp, end) up to the ',' (consumed).
 * Returns 0, or -1 when malformed or out of range. */
static int geo_parse_u32(const char **pp, const char *end, uint32_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (p == end || *p < '0' || *p > '9') {
        return -1;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX) {
            return -1;
        }
        p++;
    }
    if (p == end || *p != ',') {
        return -1;
    }
    *out = (uint32_t)v;
    *pp = p + 1;
    return 0;
}

/* Parses the ",CC" tail's CC in [p, end) up to the end of line (an optional
 * '\r' allowed). Returns 0, or -1 when it is not two letters/digits/'?'. */
static int geo_parse_cc(const char *p, const char *end, char cc[2])
{
    for (int i = 0; i < 2; i++) {
        char c = p + i < end ? p[i] : '\0';
        bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '?';
        if (!ok) {
            return -1;
        }
        cc[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    p += 2;
    if (p < end && *p == '\r') {
        p++;
    }
    return p == end ? 0 : -1;
}

static struct geo_u128 geo_u128_from_bytes(const unsigned char b[16])
{
    struct geo_u128 v = {0, 0};

    for (int i = 0; i < 8; i++) {
        v.hi = (v.hi << 8) | b[i];
        v.lo = (v.lo << 8) | b[8 + i];
    }
    return v;
}

static int geo_u128_cmp(struct geo_u128 a, struct geo_u128 b)
{
    if (a.hi != b.hi) {
        return a.hi < b.hi ? -1 : 1;
    }
    if (a.lo != b.lo) {
        return a.lo < b.lo ? -1 : 1;
    }
    return 0;
}

/* Parses an IPv6 text field [p, q) into v. Returns 0, or -1 when malformed. */
static int geo_parse_v6_field(const char *p, const char *q, struct geo_u128 *v)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char b[16];
    size_t n = (size_t)(q - p);

    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, b) != 1) {
        return -1;
    }
    *v = geo_u128_from_bytes(b);
    return 0;
}

/* True for a blank line or a '#' comment. */
static bool geo_skip_line(const char *p, const char *eol)
{
    while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }
    return p == eol || *p == '#';
}

static int geo_cmp4(const void *a, const void *b)
{
    const struct geo_range4 *x = a;
    const struct geo_range4 *y = b;

    return x->low < y->low ? -1 : (x->low > y->low ? 1 : 0);
}

static int geo_cmp6(const void *a, const void *b)
{
    const struct geo_range6 *x = a;
    const struct geo_range6 *y = b;

    return geo_u128_cmp(x->low, y->low);
}

/* Parses one "INTIPLOW,INTIPHIGH,CC" line [p, eol) into r. */
static int geo_parse_line4(const char *p, const char *eol, struct geo_range4 *r)
{
    if (geo_parse_u32(&p, eol, &r->low) != 0 || geo_parse_u32(&p, eol, &r->high) != 0 ||
        geo_parse_cc(p, eol, r->cc) != 0 || r->low > r->high) {
        return -1;
    }
    return 0;
}

/* Parses one "IPV6LOW,IPV6HIGH,CC" line [p, eol) into r. */
static int geo_parse_line6(const char *p, const char *eol, struct geo_range6 *r)
{
    const char *c1 = memchr(p, ',', (size_t)(eol - p));
    const char *c2 = c1 != NULL ? memchr(c1 + 1, ',', (size_t)(eol - c1 - 1)) : NULL;

    if (c2 == NULL || geo_parse_v6_field(p, c1, &r->low) != 0 ||
        geo_parse_v6_field(c1 + 1, c2, &r->high) != 0 || geo_parse_cc(c2 + 1, eol, r->cc) != 0 ||
        geo_u128_cmp(r->low, r->high) > 0) {
        return -1;
    }
    return 0;
}

/* Loads one Tor file into a new sorted array of elem-byte ranges (*out, *n;
 * caller frees *out). v6 selects the line format. Returns 0, or -1 with the
 * reason in err. */
static int geo_load_file(const char *path, bool v6, void **out, size_t *n, char *err, size_t errlen)
{
    struct geo_file f;
    size_t elem = v6 ? sizeof(struct geo_range6) : sizeof(struct geo_range4);
    unsigned char *arr = NULL;
    size_t count = 0;
    size_t lineno = 0;
    bool sorted = true;

    if (geo_file_map(path, &f, err, errlen) != 0) {
        return -1;
    }
    arr = calloc(geo_count_lines(&f), elem);
    if (arr == NULL) {
        errbuf_printf(err, errlen, "geo: out of memory loading %s", path);
        goto out_unmap;
    }
    for (const char *p = f.data, *end = f.data + f.len; p != NULL && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        unsigned char *slot = arr + count * elem;
        const char *cc;
        int rc;

        lineno++;
        if (geo_skip_line(p, eol)) {
            p = nl != NULL ? nl + 1 : NULL;
            continue;
        }
        if (v6) {
            struct geo_range6 *r = (struct geo_range6 *)(void *)slot;
            rc = geo_parse_line6(p, eol, r);
            cc = r->cc;
        } else {
            struct geo_range4 *r = (struct geo_range4 *)(void *)slot;
            rc = geo_parse_line4(p, eol, r);
            cc = r->cc;
        }
        if (rc != 0) {
            errbuf_printf(err, errlen, "geo: %s line %zu: malformed range", path, lineno);
            goto out_free;
        }
        /* "??" is Tor's "no country": not stored, so it reads as unknown. */
        if (!(cc[0] == '?' && cc[1] == '?')) {
            if (count > 0 && sorted) {
                sorted = (v6 ? geo_cmp6(slot - elem, slot) : geo_cmp4(slot - elem, slot)) <= 0;
            }
            count++;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    if (!sorted) {
        qsort(arr, count, elem, v6 ? geo_cmp6 : geo_cmp4);
    }
    geo_file_unmap(&f);
    *out = arr;
    *n = count;
    return 0;

out_free:
    free(arr);
out_unmap:
    geo_file_unmap(&f);
    return -1;
}

struct geo_db *geo_db_open(const char *tor_dir, const char *mmdb_path, char *err, size_t errlen)
{
    struct geo_db *db;
    char path[4096];
    void *arr = NULL;

    if (tor_dir == NULL && mmdb_path == NULL) {
        errbuf_printf(err, errlen, "geo: neither a GeoIP directory nor an mmdb file given");
        return NULL;
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL) {
        errbuf_printf(err, errlen, "geo: out of memory");
        return NULL;
    }
    if (tor_dir != NULL) {
        if ((size_t)snprintf(path, sizeof(path), "%s/geoip", tor_dir) >= sizeof(path) - 1) {
            errbuf_printf(err, errlen, "geo: directory name too long: %s", tor_dir);
            goto out_free;
        }
        if (geo_load_file(path, false, &arr, &db->n4, err, errlen) != 0) {
            goto out_free;
        }
        db->v4 = arr;
        (void)snprintf(path, sizeof(path), "%s/geoip6", tor_dir);
        if (geo_load_file(path, true, &arr, &db->n6, err, errlen) != 0) {
            goto out_free;
        }
        db->v6 = arr;
    }
    if (mmdb_path != NULL) {
        int status = MMDB_open(mmdb_path, MMDB_MODE_MMAP, &db->mmdb);
        if (status != MMDB_SUCCESS) {
            errbuf_printf(err, errlen, "geo: cannot open mmdb %s: %s%s%s", mmdb_path,
                          MMDB_strerror(status), status == MMDB_IO_ERROR ? ": " : "",
                          status == MMDB_IO_ERROR ? strerror(errno) : "");
            goto out_free;
        }
        db->have_mmdb = true;
    }
    return db;

out_free:
    geo_db_free(db);
    return NULL;
}

void geo_db_free(struct geo_db *db)
{
    if (db == NULL) {
        return;
    }
    if (db->have_mmdb) {
        MMDB_close(&db->mmdb);
    }
    free(db->v4);
    free(db->v6);
    free(db);
}

size_t geo_db_count_v4(const struct geo_db *db)
{
    return db->n4;
}

size_t geo_db_count_v6(const struct geo_db *db)
{
    return db->n6;
}

size_t geo_db_memory(const struct geo_db *db)
{
    return db->n4 * sizeof(struct geo_range4) + db->n6 * sizeof(struct geo_range6);
}

/* Parses ip into b: returns 4 (b[0..3] set) for IPv4 and for an IPv6 form
 * of an IPv4 client (IPv4-mapped, NAT64 64:ff9b::/96), 6 (b[0..15]) for other
 * IPv6, or -1 when ip is not an address. */
static int geo_parse_ip(const char *ip, unsigned char b[16])
{
    unsigned char v4[4];
    enum ipaddr_embed kind;

    if (ip == NULL) {
        return -1;
    }
    if (inet_pton(AF_INET, ip, b) == 1) {
        return 4;
    }
    if (inet_pton(AF_INET6, ip, b) != 1) {
        return -1;
    }
    kind = ipaddr_embedded_v4(b, v4);
    if (kind == IPADDR_EMBED_MAPPED || kind == IPADDR_EMBED_NAT64) {
        memcpy(b, v4, sizeof(v4));
        return 4;
    }
    return 6;
}

/* Finds the country of an IPv4 address (host order) in the Tor ranges. */
static const char *geo_find4(const struct geo_db *db, uint32_t a)
{
    size_t lo = 0;
    size_t hi = db->n4;

    /* Invariant: every range before lo starts <= a, every one from hi on > a. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (db->v4[mid].low <= a) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0 && a <= db->v4[lo - 1].high) {
        return db->v4[lo - 1].cc;
    }
    return NULL;
}

static const char *geo_find6(const struct geo_db *db, struct geo_u128 a)
{
    size_t lo = 0;
    size_t hi = db->n6;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (geo_u128_cmp(db->v6[mid].low, a) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0 && geo_u128_cmp(a, db->v6[lo - 1].high) <= 0) {
        return db->v6[lo - 1].cc;
    }
    return NULL;
}

/* Asks the mmdb for country.iso_code. Returns true with cc set when found. */
static bool geo_find_mmdb(const struct geo_db *db, int fam, const unsigned char b[16], char cc[3])
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    MMDB_lookup_result_s res;
    MMDB_entry_data_s data;
    int mmdb_err = MMDB_SUCCESS;

    if (fam == 4) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, b, 4);
        sa = (const struct sockaddr *)&sin;
    } else {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, b, 16);
        sa = (const struct sockaddr *)&sin6;
    }
    /* MMDB_lookup_sockaddr takes a non-const MMDB_s but only reads it. */
    res = MMDB_lookup_sockaddr((MMDB_s *)&db->mmdb, sa, &mmdb_err);
    if (mmdb_err != MMDB_SUCCESS || !res.found_entry) {
        return false;
    }
    if (MMDB_get_value(&res.entry, &data, "country", "iso_code", NULL) != MMDB_SUCCESS ||
        !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) {
        return false;
    }
    cc[0] = data.utf8_string[0];
    cc[1] = data.utf8_string[1];
    cc[2] = '\0';
    return true;
}

int geo_lookup(const struct geo_db *db, const char *ip, char cc[3])
{
    unsigned char b[16];
    int fam = geo_parse_ip(ip, b);
    const char *found;

    cc[0] = '\0';
    if (fam < 0) {
        return -1;
    }
    if (db->have_mmdb && geo_find_mmdb(db, fam, b, cc)) {
        return GEO_SOURCE_MMDB;
    }
    if (fam == 4) {
        uint32_t a = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
        found = geo_find4(db, a);
    } else {
        found = geo_find6(db, geo_u128_from_bytes(b));
    }
    if (found == NULL) {
        return GEO_SOURCE_NONE;
    }
    cc[0] = found[0];
    cc[1] = found[1];
    cc[2] = '\0';
    return GEO_SOURCE_GEOIPDB;
}

const char *geo_source_name(int source)
{
    switch (source) {
    case GEO_SOURCE_GEOIPDB:
        return "geoipdb";
    case GEO_SOURCE_MMDB:
        return "mmdb";
    default:
        return "";
    }
}

/* Truncates the IPv6 address b (not an IPv4 client's: geo_parse_ip made
 * those IPv4) to /48, and further where the /48 would still hold a whole
 * IPv4 address: a 6to4 address keeps 2002: and the /24 of its IPv4 (a /40).
 * Teredo's client IPv4 lies past the /48 and goes with it. */
static void geo_truncate6(unsigned char b[16])
{
    unsigned char v4[4];
    size_t keep = 6;

    if (ipaddr_embedded_v4(b, v4) == IPADDR_EMBED_6TO4) {
        keep = 5; /* 2002 in bytes 0-1, the IPv4 in bytes 2-5: drop its last octet */
    }
    memset(b + keep, 0, 16 - keep);
}

int geo_truncate(const char *ip, char *out, size_t outlen)
{
    unsigned char b[16];
    int fam = geo_parse_ip(ip, b);
    const char *s;

    if (out == NULL || outlen == 0) {
        return -1;
    }
    out[0] = '\0';
    if (fam < 0) {
        return -1;
    }
    if (fam == 4) {
        b[3] = 0;
        s = inet_ntop(AF_INET, b, out, (socklen_t)outlen);
    } else {
        geo_truncate6(b);
        s = inet_ntop(AF_INET6, b, out, (socklen_t)outlen);
    }
    if (s == NULL) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}
