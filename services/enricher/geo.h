#ifndef ENRICHER_GEO_H
#define ENRICHER_GEO_H

/*
 * IP address to country, and IP truncation (issue 4, "IP").
 *
 * Countries come from Tor's GeoIP files (Debian's tor-geoipdb:
 * <dir>/geoip with lines "INTIPLOW,INTIPHIGH,CC" and <dir>/geoip6 with lines
 * "IPV6LOW,IPV6HIGH,CC"), loaded into sorted arrays and searched by bisection,
 * or from a MaxMind .mmdb file (country.iso_code) when one is given; the mmdb
 * answers first and the Tor ranges answer what it does not know.
 *
 * A loaded database is read-only: lookups from several threads at once are
 * safe.
 */

#include <stddef.h>

struct geo_db;

/* Default directory of the Tor GeoIP files. */
#define GEO_TOR_DIR_DEFAULT "/usr/share/tor"

/* Which source answered a lookup (the values geo_lookup returns). */
enum geo_source {
    GEO_SOURCE_NONE = 0, /* country unknown */
    GEO_SOURCE_GEOIPDB = 1,
    GEO_SOURCE_MMDB = 2,
};

/* Loads the Tor files tor_dir/geoip and tor_dir/geoip6 and, when mmdb_path is
 * not NULL, opens that MaxMind database. tor_dir may be NULL only when
 * mmdb_path is given (then only the mmdb answers). Lines starting with '#'
 * and blank lines are skipped; ranges of country "??" are not stored.
 * Returns a new database (caller frees with geo_db_free), or NULL with the
 * reason (file, line) in err when a file is missing, unreadable or has a
 * malformed line, or on allocation failure. */
struct geo_db *geo_db_open(const char *tor_dir, const char *mmdb_path, char *err, size_t errlen);

/* Frees db and closes its mmdb. Accepts NULL. */
void geo_db_free(struct geo_db *db);

/* Looks up the country of ip (IPv4 dotted quad or IPv6 text; IPv4-mapped and
 * NAT64 64:ff9b::/96 IPv6 are looked up as IPv4). Writes the upper-case ISO
 * 3166-1 alpha-2 code to cc, or "" when no source knows the address. Returns
 * the enum geo_source that answered (GEO_SOURCE_NONE when unknown), or -1
 * when ip is not an address (cc is then ""). */
int geo_lookup(const struct geo_db *db, const char *ip, char cc[3]);

/* Name of a source for the enriched event's GeoInfo.source: "geoipdb",
 * "mmdb", or "" for GEO_SOURCE_NONE. Static storage. */
const char *geo_source_name(int source);

/* Number of IPv4 and IPv6 ranges loaded from the Tor files. */
size_t geo_db_count_v4(const struct geo_db *db);
size_t geo_db_count_v6(const struct geo_db *db);

/* Heap bytes held by the range arrays (not counting the mmdb's mapping). */
size_t geo_db_memory(const struct geo_db *db);

/* Truncates ip to its network: IPv4 to /24 ("203.0.113.7" -> "203.0.113.0"),
 * IPv6 to /48 ("2001:db8:1:2::5" -> "2001:db8:1::"). No form keeps more than
 * the /24 of an IPv4 address it carries: an IPv4-mapped or NAT64
 * (64:ff9b::/96) address is an IPv4 client, truncated and written as IPv4
 * ("::ffff:203.0.113.7" and "64:ff9b::203.0.113.7" -> "203.0.113.0"); a 6to4
 * address, whose /48 is 2002: and a whole IPv4 address, keeps only that
 * address's /24 ("2002:cb00:7107:1::5" -> "2002:cb00:7100::"); Teredo's
 * client IPv4 lies past the /48 and goes with it. Writes the text form to
 * out (outlen bytes; 46 is always enough). Returns 0, or -1 when ip is NULL
 * or not an address or out is too small (out is then ""). */
int geo_truncate(const char *ip, char *out, size_t outlen);

#endif
