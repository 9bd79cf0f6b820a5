#ifndef ANALYTICS_REDIS_URL_H
#define ANALYTICS_REDIS_URL_H

/*
 * ANALYTICS_REDIS_URL read into its parts:
 * redis://[[user]:password@]host[:port][/db], host a name, an IPv4 address
 * or [an IPv6 one], user and password %-escaped.
 */

#include <stdbool.h>
#include <stddef.h>

#define REDIS_URL_HOST_MAX 256
#define REDIS_URL_CRED_MAX 256

struct redis_url {
    char host[REDIS_URL_HOST_MAX];
    int port;                      /* 6379 unless given */
    int db;                        /* 0 unless given */
    char user[REDIS_URL_CRED_MAX]; /* "" unless the URL names one */
    char pass[REDIS_URL_CRED_MAX];
    bool has_pass;
};

/* Parses url into *out. Never puts the password into err. Returns 0, or -1
 * with the reason in err ("Redis URL: ..."). */
int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen);

#endif
