#include "analytics/config.h"

#include "analytics/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *config_getenv(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp != NULL && *envp != NULL; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
            const char *v = *envp + n + 1;
            return *v == '\0' ? NULL : v;
        }
    }
    return NULL;
}

int config_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long p;
    size_t hl;

    if (colon == NULL || colon[1] == '\0') {
        return -1;
    }
    hl = (size_t)(colon - s);
    if (hl == 0 || hl >= hostlen) {
        return -1;
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 0 || p > 65535) {
        return -1;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

static int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Returns the index of s in "a|b|c", or -1. */
static int config_enum_index(const char *choices, const char *s)
{
    size_t sl = strlen(s);
    int idx = 0;

    for (const char *p = choices; *p != '\0'; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == sl && strncmp(p, s, len) == 0) {
            return idx;
        }
        if (bar == NULL) {
            break;
        }
        p = bar + 1;
    }
    return -1;
}

/* Writes the idx-th choice of "a|b|c" to out ("?" when out of range). */
static void config_enum_name(const char *choices, int idx, char *out, size_t outlen)
{
    const char *p = choices;

    for (int i = 0; i < idx && p != NULL; i++) {
        p = strchr(p, '|');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "|"), p);
}

/* Parses one value into its field. Returns 0 or -1 with a reason in why. */
static int config_set(const struct config_var *v, void *cfg, const char *val, char *why,
                      size_t whylen)
{
    char *field = (char *)cfg + v->offset;

    switch (v->type) {
    case CONFIG_STRING:
    case CONFIG_HOSTPORT: {
        char host[256];
        int port;
        char *copy;

        if (v->type == CONFIG_HOSTPORT &&
            config_split_hostport(val, host, sizeof(host), &port) != 0) {
            snprintf(why, whylen, "must be host:port with a port from 0 to 65535");
            return -1;
        }
        copy = strdup(val);
        if (copy == NULL) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case CONFIG_INT: {
        char *end;
        long long n;

        errno = 0;
        n = strtoll(val, &end, 10);
        if (errno != 0 || end == val || *end != '\0' || n < v->min || n > v->max) {
            snprintf(why, whylen, "must be an integer from %lld to %lld", v->min, v->max);
            return -1;
        }
        *(long long *)field = n;
        return 0;
    }
    case CONFIG_BOOL:
        if (config_parse_bool(val, (bool *)field) != 0) {
            snprintf(why, whylen, "must be true or false");
            return -1;
        }
        return 0;
    case CONFIG_ENUM: {
        int idx = config_enum_index(v->choices, val);
        if (idx < 0) {
            snprintf(why, whylen, "must be one of %s", v->choices);
            return -1;
        }
        *(int *)field = idx;
        return 0;
    }
    }
    snprintf(why, whylen, "unknown type");
    return -1;
}

int config_load(const struct config_var *vars, size_t n, void *cfg, char *const *envp, FILE *err)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        const struct config_var *v = &vars[i];
        const char *val = config_getenv(envp, v->name);
        char why[160];
        bool from_env = val != NULL;

        if (val == NULL) {
            val = v->def;
        }
        if (val == NULL) {
            if (v->flags & CONFIG_REQUIRED) {
                if (err != NULL) {
                    fprintf(err, "config: %s: must be set\n", v->name);
                }
                bad++;
            }
            continue;
        }
        if (config_set(v, cfg, val, why, sizeof(why)) != 0) {
            if (err != NULL) {
                if (from_env && !(v->flags & CONFIG_SECRET)) {
                    char shown[256];
                    /* escaped, so a value cannot forge another report line */
                    log_json_escape(shown, 0, sizeof(shown), val);
                    fprintf(err, "config: %s: %s (got \"%s\")\n", v->name, why, shown);
                } else {
                    fprintf(err, "config: %s: %s\n", v->name, why);
                }
            }
            bad++;
        }
    }
    return bad;
}

void config_free(const struct config_var *vars, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        if (vars[i].type == CONFIG_STRING || vars[i].type == CONFIG_HOSTPORT) {
            char **field = (char **)((char *)cfg + vars[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

static const char *config_type_name(enum config_type t)
{
    switch (t) {
    case CONFIG_STRING:
        return "string";
    case CONFIG_INT:
        return "integer";
    case CONFIG_BOOL:
        return "bool";
    case CONFIG_ENUM:
        return "enum";
    case CONFIG_HOSTPORT:
        return "host:port";
    }
    return "?";
}

void config_usage(const struct config_var *vars, size_t n, FILE *out)
{
    fprintf(out, "Environment variables:\n");
    for (size_t i = 0; i < n; i++) {
        const struct config_var *v = &vars[i];
        fprintf(out, "  %s (%s", v->name, config_type_name(v->type));
        if (v->type == CONFIG_INT) {
            fprintf(out, ", %lld..%lld", v->min, v->max);
        } else if (v->type == CONFIG_ENUM) {
            fprintf(out, ": %s", v->choices);
        }
        if (v->flags & CONFIG_REQUIRED) {
            fprintf(out, ", required");
        } else if (v->def != NULL && v->def[0] != '\0') {
            fprintf(out, ", default %s", v->def);
        }
        fprintf(out, ")\n      %s\n", v->help);
    }
}

void config_log(const struct config_var *vars, size_t n, const void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        const struct config_var *v = &vars[i];
        const char *field = (const char *)cfg + v->offset;
        char num[32];
        const char *shown = num;

        switch (v->type) {
        case CONFIG_STRING:
        case CONFIG_HOSTPORT:
            shown = *(char *const *)field;
            break;
        case CONFIG_INT:
            snprintf(num, sizeof(num), "%lld", *(const long long *)field);
            break;
        case CONFIG_BOOL:
            shown = *(const bool *)field ? "true" : "false";
            break;
        case CONFIG_ENUM:
            config_enum_name(v->choices, *(const int *)field, num, sizeof(num));
            break;
        }
        if ((v->flags & CONFIG_SECRET) && shown != NULL) {
            shown = "***";
        }
        log_debug("config.value", LOG_STR("name", v->name), LOG_STR("value", shown));
    }
}
