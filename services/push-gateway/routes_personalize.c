/* personalize/:fingerprint: what the site shows this visitor now, from the
 * hot profile in Redis and the rules of the personalisation file. */
#include "analytics/lifecycle.h"
#include "analytics/redis.h"
#include "prules.h"
#include "routes_priv.h"
#include "rpool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PERSONALIZE_FIELDS_MAX 64 /* a hot profile has about 20 */

const char *const route_personalize_names[] = {"write_key", NULL};

#define PERSONALIZE_ARENA 8192 /* bytes of the profile's values kept for the rules */

/* The profile being read, and the copies of its values it points to
 * (prules borrows them; the Redis reply is freed when HGETALL returns). */
struct pz_read {
    struct prules_profile *p;
    int bad;
    size_t used;
    char arena[PERSONALIZE_ARENA];
};

static void pz_field(const char *field, const char *value, void *arg)
{
    struct pz_read *r = arg;
    size_t n = strlen(value) + 1;

    if (n > sizeof(r->arena) - r->used) {
        r->bad++; /* a value that does not fit stays missing */
        return;
    }
    char *copy = memcpy(r->arena + r->used, value, n);
    r->used += n;
    if (prules_profile_set(r->p, field, copy) < 0) {
        r->bad++;
    }
}

static long long pz_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int route_personalize(struct gw_req *r)
{
    char key[GW_PARAM_MAX + 64];
    struct prules_profile p;
    struct pz_read *rd = malloc(sizeof(*rd));
    int rc = gw_check_names(r, route_personalize_names);

    if (rc != 0 || rd == NULL) {
        free(rd);
        return rc != 0 ? rc : gw_send_error(r->conn, 503, "unavailable", "out of memory");
    }
    rd->p = &p;
    rd->bad = 0;
    rd->used = 0;
    prules_profile_init(&p, pz_now_ms());
    snprintf(key, sizeof(key), "%sprofile:%s", r->key_prefix, r->params[0]);
    struct redis_client *c = rpool_take(r->redis);
    int n = redis_hgetall(c, key, PERSONALIZE_FIELDS_MAX, pz_field, rd);
    rpool_give(r->redis, c, n >= 0);
    if (n < 0) {
        free(rd);
        return gw_send_error(r->conn, 503, "unavailable", "the profile store is unavailable");
    }
    struct prules_answer a = prules_eval(r->prules, n > 0 ? &p : NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fingerprint", r->params[0]);
    cJSON_AddBoolToObject(o, "known", n > 0);
    cJSON_AddStringToObject(o, "band", prules_band_name(a.band));
    if (n > 0 && p.v.have[PRULES_F_PERSONA]) {
        cJSON_AddStringToObject(o, "persona", p.v.text[PRULES_F_PERSONA]);
    } else {
        cJSON_AddNullToObject(o, "persona");
    }
    if (n > 0 && p.v.have[PRULES_F_LEAD_SCORE]) {
        cJSON_AddNumberToObject(o, "lead_score", p.v.num[PRULES_F_LEAD_SCORE]);
    } else {
        cJSON_AddNullToObject(o, "lead_score");
    }
    cJSON *ans = cJSON_AddObjectToObject(o, "answer");
    if (a.rule != NULL) {
        cJSON_AddStringToObject(ans, "rule", a.rule);
    } else {
        cJSON_AddNullToObject(ans, "rule");
    }
    cJSON_AddStringToObject(ans, "id", a.id != NULL ? a.id : "");
    cJSON_AddStringToObject(ans, "message", a.message != NULL ? a.message : "");
    cJSON_AddItemToObject(ans, "content",
                          cJSON_Parse(a.content_json != NULL ? a.content_json : "null"));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(rd);
    if (text == NULL) {
        return gw_send_error(r->conn, 503, "unavailable", "out of memory");
    }
    gw_send(r->conn, 200, text);
    free(text);
    return 200;
}
