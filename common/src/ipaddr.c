/* IPv4 addresses carried inside IPv6 addresses. Contracts in ipaddr.h. */
#include "analytics/ipaddr.h"

#include <string.h>

enum ipaddr_embed ipaddr_embedded_v4(const unsigned char a[16], unsigned char v4[4])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

    if (memcmp(a, mapped, sizeof(mapped)) == 0) {
        memcpy(v4, a + 12, 4);
        return IPADDR_EMBED_MAPPED;
    }
    if (memcmp(a, nat64, sizeof(nat64)) == 0) {
        memcpy(v4, a + 12, 4);
        return IPADDR_EMBED_NAT64;
    }
    if (a[0] == 0x20 && a[1] == 0x02) {
        memcpy(v4, a + 2, 4);
        return IPADDR_EMBED_6TO4;
    }
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
        for (int i = 0; i < 4; i++) {
            v4[i] = (unsigned char)~a[12 + i];
        }
        return IPADDR_EMBED_TEREDO;
    }
    return IPADDR_EMBED_NONE;
}

/* True when s[0..len) is a decimal port 1..65535. */
bool ipaddr_port_valid(const char *s, size_t len)
{
    long port = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}
