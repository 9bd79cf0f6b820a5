#ifndef ANALYTICS_IPADDR_H
#define ANALYTICS_IPADDR_H

/*
 * IPv4 addresses carried inside IPv6 addresses. The collector keys its rate
 * limit on them and the enricher truncates them, so one client has one
 * bucket and one /24 whichever form its address arrives in; and the port
 * after an address. Pure logic.
 */

#include <stdbool.h>
#include <stddef.h>

enum ipaddr_embed {
    IPADDR_EMBED_NONE = 0,
    IPADDR_EMBED_MAPPED = 1, /* ::ffff:0:0/96, RFC 4291: an IPv4 client on a dual-stack socket */
    IPADDR_EMBED_NAT64 = 2,  /* 64:ff9b::/96, RFC 6052: an IPv4 client through a translator */
    IPADDR_EMBED_6TO4 = 3,   /* 2002::/16, RFC 3056: the site's IPv4 in bits 16..47 */
    IPADDR_EMBED_TEREDO = 4, /* 2001::/32, RFC 4380: the client's IPv4, inverted, in bits 96..127 */
};

/* Finds the IPv4 address carried by the IPv6 address a (16 bytes, network
 * order). For each kind above writes that IPv4 address to v4 (4 bytes,
 * network order; a Teredo client's already un-inverted) and returns the
 * kind. Returns IPADDR_EMBED_NONE, v4 untouched, for any other address. The
 * local-use NAT64 prefix 64:ff9b:1::/48 and other network-specific NAT64
 * prefixes are not recognised: where their IPv4 sits is the operator's
 * choice. */
enum ipaddr_embed ipaddr_embedded_v4(const unsigned char a[16], unsigned char v4[4]);

/* True when s[0..len) is a decimal port 1..65535 (no sign, no white
 * space). */
bool ipaddr_port_valid(const char *s, size_t len);

#endif
