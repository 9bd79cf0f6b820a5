#include "raw.h"

void loadgen_raw_fill(Analytics__V1__RawEvent *m, Analytics__V1__Consent *consent,
                      const struct loadgen_event *ev, const char *origin)
{
    analytics__v1__consent__init(consent);
    consent->specified = 1;
    consent->necessary = 1;
    consent->analytics = 1;
    consent->marketing = 1;

    analytics__v1__raw_event__init(m);
    m->schema_version = 1;
    m->event_id = (char *)ev->event_id;
    m->event_id_assigned = 0;
    m->event_type = (char *)ev->event_type;
    m->fingerprint = (char *)ev->fingerprint;
    m->user_id = (char *)ev->user_id;
    m->session_id = (char *)ev->session_id;
    m->client_ts_ms = ev->ts_ms;
    m->client_ts_present = 1;
    m->received_ts_ms = ev->received_ms;
    m->clock_skew_ms = ev->received_ms - ev->ts_ms;
    m->clock_skew_suspect = 0;
    m->page_url = (char *)ev->page_url;
    m->referrer_url = (char *)ev->referrer_url;
    m->event_data_json = (char *)ev->event_data;
    m->consent = consent;
    m->client_ip = (char *)ev->client_ip;
    m->user_agent = (char *)ev->user_agent;
    m->historical = 0;
    m->origin = (char *)origin;
    m->site_id = (char *)"";
    m->collector_id = (char *)LOADGEN_COLLECTOR_ID;
    m->batch_index = 0;
}

/* Adds a string field, or nothing when s is empty. Returns 0 or -1. */
static int raw_add_str(cJSON *o, const char *name, const char *s)
{
    if (s[0] == '\0') {
        return 0;
    }
    return cJSON_AddStringToObject(o, name, s) != NULL ? 0 : -1;
}

static int raw_add_consent(cJSON *o)
{
    static const char *const granted[] = {"necessary", "analytics", "marketing"};
    cJSON *arr = cJSON_CreateStringArray(granted, 3);

    if (arr == NULL) {
        return -1;
    }
    if (!cJSON_AddItemToObject(o, "consent", arr)) {
        cJSON_Delete(arr);
        return -1;
    }
    return 0;
}

cJSON *loadgen_raw_wire(const struct loadgen_event *ev)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || raw_add_str(o, "event_id", ev->event_id) != 0 ||
        raw_add_str(o, "event_type", ev->event_type) != 0 ||
        raw_add_str(o, "fingerprint", ev->fingerprint) != 0 ||
        raw_add_str(o, "user_id", ev->user_id) != 0 ||
        raw_add_str(o, "session_id", ev->session_id) != 0 ||
        cJSON_AddNumberToObject(o, "timestamp", (double)ev->ts_ms) == NULL ||
        raw_add_str(o, "page_url", ev->page_url) != 0 ||
        raw_add_str(o, "referrer_url", ev->referrer_url) != 0 ||
        cJSON_AddRawToObject(o, "event_data", ev->event_data) == NULL || raw_add_consent(o) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
