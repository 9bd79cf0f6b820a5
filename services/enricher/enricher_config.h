#ifndef ENRICHER_CONFIG_H
#define ENRICHER_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"

struct enricher_config {
    int log_level; /* enum log_level */
    char *pages_file;
    char *uap_regexes;
    char *bot_patterns;
    char *geoip_dir;
    char *geoip_mmdb;
    long long ua_cache;
};

extern const struct config_var enricher_config_vars[];
extern const size_t enricher_config_nvars;

#endif
