#ifndef ANALYTICS_CONFIG_H
#define ANALYTICS_CONFIG_H

/*
 * Configuration from ANALYTICS_* environment variables, described by a table
 * of struct config_var per daemon. The loader takes the environment as an
 * argument (an envp-style array) so tests never touch the process's own.
 * An empty value counts as unset. Every bad variable is reported, not only
 * the first.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_EX_CONFIG 78 /* sysexits.h EX_CONFIG */

enum config_type {
    CONFIG_STRING,   /* char *, heap copy owned by the struct (config_free) */
    CONFIG_INT,      /* long long, range-checked against min..max */
    CONFIG_BOOL,     /* bool: true/false/1/0/yes/no/on/off */
    CONFIG_ENUM,     /* int: index into choices, "a|b|c" */
    CONFIG_HOSTPORT, /* char *, "host:port" with port 0..65535 */
};

enum config_flags {
    CONFIG_SECRET = 1,   /* never printed or logged */
    CONFIG_REQUIRED = 2, /* no default; must be set */
};

struct config_var {
    const char *name; /* full variable name, e.g. "ANALYTICS_LOG_LEVEL" */
    enum config_type type;
    const char *def;     /* default as text; NULL for none (string fields then stay NULL) */
    long long min, max;  /* CONFIG_INT bounds, inclusive */
    const char *choices; /* CONFIG_ENUM: "delivered|queued" */
    const char *help;
    size_t offset; /* offsetof(struct daemon_config, field) */
    unsigned flags;
};

/* Fills cfg from envp (NULL-terminated "NAME=value" strings) per the table.
 * Writes one line per bad variable to err ("config: NAME: reason") when err
 * is not NULL. Returns the number of bad variables (0 on success). String
 * fields are heap copies: release them with config_free, whatever the result. */
int config_load(const struct config_var *vars, size_t n, void *cfg, char *const *envp, FILE *err);

/* Frees the string fields of cfg and sets them to NULL. */
void config_free(const struct config_var *vars, size_t n, void *cfg);

/* Prints the table: name, type, default, range or choices, help. */
void config_usage(const struct config_var *vars, size_t n, FILE *out);

/* Logs every variable's effective value at info (secrets as "***"). */
void config_log(const struct config_var *vars, size_t n, const void *cfg);

/* Looks up name in envp. Returns the value (borrowed from envp), or NULL
 * when absent or empty. */
const char *config_getenv(char *const *envp, const char *name);

/* Splits a host:port string. host receives at most hostlen-1 bytes.
 * Returns 0, or -1 when malformed or the port is out of 0..65535. */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
