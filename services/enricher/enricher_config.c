#include "enricher_config.h"

#include <stddef.h>

#define F(field) offsetof(struct enricher_config, field)

/* Data files default to where Debian installs them, and to this source tree
 * for the project's own files (the container image sets them explicitly). */
const struct config_var enricher_config_vars[] = {
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged", F(log_level), 0},
    {"ANALYTICS_PAGES_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/pages.json", 0, 0,
     NULL, "page type rules (JSON)", F(pages_file), 0},
    {"ANALYTICS_UAP_REGEXES", CONFIG_STRING, "/usr/share/uap-core/regexes.yaml", 0, 0, NULL,
     "uap-core user agent database", F(uap_regexes), 0},
    {"ANALYTICS_BOT_PATTERNS", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/node_modules/crawler-user-agents/crawler-user-agents.json", 0, 0, NULL,
     "crawler-user-agents patterns (JSON)", F(bot_patterns), 0},
    {"ANALYTICS_GEOIP_DIR", CONFIG_STRING, "/usr/share/tor", 0, 0, NULL,
     "directory of Tor's geoip and geoip6 range files", F(geoip_dir), 0},
    {"ANALYTICS_GEOIP_MMDB", CONFIG_STRING, NULL, 0, 0, NULL,
     "a MaxMind .mmdb country database, used first when set", F(geoip_mmdb), 0},
    {"ANALYTICS_ENRICHER_UA_CACHE", CONFIG_INT, "10000", 0, 10000000, NULL,
     "user agents kept parsed (LRU); 0 turns the cache off", F(ua_cache), 0},
};

const size_t enricher_config_nvars = sizeof(enricher_config_vars) / sizeof(enricher_config_vars[0]);
