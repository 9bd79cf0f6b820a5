#include "analytics/deadletter.h"

#include <stdlib.h>

static char *deadletter_str(const char *s)
{
    return (char *)(s != NULL ? s : "");
}

void deadletter_init(Analytics__V1__DeadLetter *dl, const struct deadletter_src *src)
{
    size_t max = src->original_max > 0 ? src->original_max : DEADLETTER_ORIGINAL_MAX;
    size_t keep = src->len < max ? src->len : max;

    analytics__v1__dead_letter__init(dl);
    dl->schema_version = 1;
    dl->cause_event_id = deadletter_str(src->cause_event_id);
    dl->source_service = deadletter_str(src->service);
    if (src->topic != NULL) {
        dl->source_topic = (char *)src->topic;
        dl->source_partition = src->partition;
        dl->source_offset = src->offset;
    }
    dl->error_code = deadletter_str(src->code);
    dl->reason = deadletter_str(src->reason);
    dl->original.data = (uint8_t *)src->original;
    dl->original.len = keep;
    dl->original_truncated = keep < src->len;
    dl->original_content_type = deadletter_str(src->content_type);
    dl->ts_ms = src->ts_ms;
    dl->fingerprint = deadletter_str(src->fingerprint);
    dl->batch_index = src->batch_index;
}

uint8_t *deadletter_pack(const struct deadletter_src *src, size_t *len)
{
    Analytics__V1__DeadLetter dl;
    uint8_t *buf;

    deadletter_init(&dl, src);
    *len = analytics__v1__dead_letter__get_packed_size(&dl);
    buf = malloc(*len > 0 ? *len : 1);
    if (buf != NULL) {
        analytics__v1__dead_letter__pack(&dl, buf);
    }
    return buf;
}
