#ifndef ANALYTICS_CLIENTIP_H
#define ANALYTICS_CLIENTIP_H

/*
 * The client address of an HTTP request: trusted proxies,
 * X-Forwarded-For and the rate-limit key of an address. Built once from
 * configuration, then only read. Pure logic.
 */

#include <stddef.h>

struct proxy_list;

/* Parses trusted proxies: a comma-separated list of IPv4/IPv6 addresses or
 * CIDR blocks. Empty or NULL trusts none. Returns a new list (caller frees
 * with proxy_list_free), or NULL with the reason in err. */
struct proxy_list *proxy_list_new(const char *spec, char *err, size_t errlen);

/* Entries of X-Forwarded-For that client_ip_resolve examines at most, from
 * the right: a real chain of proxies is a handful long. */
#define CLIENT_IP_MAX_HOPS 32

/* Joins the values of every X-Forwarded-For header line (lines[0..n), in the
 * order received; NULL or blank lines are skipped) into one list, as HTTP
 * joins repeated fields: {"a, b", "c"} -> "a, b, c". When the list does not
 * fit in outlen bytes, the left part is dropped at an entry boundary so that
 * the right-most entries (the ones added by the nearest proxies, and the only
 * ones client_ip_resolve reads) are kept. Writes a NUL-terminated list to
 * out. Returns 0 when all of it fit, 1 when a left part was dropped, or -1
 * when out is NULL or outlen is 0. */
int xff_join(const char *const *lines, size_t n, char *out, size_t outlen);

/* Resolves the client address: the peer address, unless the peer is a
 * trusted proxy and X-Forwarded-For (xff, every line joined by xff_join;
 * NULL when absent) is present; then the right-most address of xff that is
 * not itself trusted (the left-most when all are trusted). At most
 * CLIENT_IP_MAX_HOPS entries are examined; when they are all trusted the
 * last of them is used. An entry is an IPv4 address, optionally with
 * ":port", or an IPv6 address, optionally in brackets and then optionally
 * with ":port"; an IPv6 zone ("%eth0") is dropped; empty entries are
 * skipped. Anything else is malformed: it stops the walk and the last good
 * address is used, so garbage is never taken for a client. Writes the
 * address text (no port, no zone; an IPv4-mapped address as IPv4) to out.
 * Returns 0, or -1 when peer itself is not an IP address or out is too
 * small. */
int client_ip_resolve(const struct proxy_list *pl, const char *peer, const char *xff, char *out,
                      size_t outlen);

/* The rate-limit key of the client address ip (as client_ip_resolve writes
 * it): an IPv4 address is its own key; an IPv6 address that carries an IPv4
 * address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo; see
 * analytics/ipaddr.h) has that IPv4 address's key, so a client has one
 * bucket whichever form its address takes; any other IPv6 address is keyed
 * by its network of v6_prefix bits (0..128), written "2001:db8:1:2::/64", so
 * one subscriber's /64 is one client. Writes the key to out. Returns 0, or
 * -1 when ip is not an address, v6_prefix is over 128 or out is too small
 * (out is then ""). */
int client_ip_key(const char *ip, unsigned v6_prefix, char *out, size_t outlen);

void proxy_list_free(struct proxy_list *pl);

#endif
