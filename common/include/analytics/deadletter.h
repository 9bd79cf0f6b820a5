#ifndef ANALYTICS_DEADLETTER_H
#define ANALYTICS_DEADLETTER_H

/*
 * The dead letter every daemon sends for input it cannot use: what it was
 * (at most DEADLETTER_ORIGINAL_MAX bytes of it), where it came from and
 * why. One builder, so every dead letter on the topic has the same shape.
 */

#include <stddef.h>
#include <stdint.h>

#include "analytics/v1/dead_letter.pb-c.h"

#define DEADLETTER_ORIGINAL_MAX 65536 /* bytes of the original kept */

/* What a dead letter says. Strings are borrowed; NULL ones are sent as "". */
struct deadletter_src {
    const char *service; /* "analytics-enricher" */
    const char *topic;   /* the source topic; NULL for HTTP input */
    int32_t partition;   /* with topic */
    int64_t offset;      /* with topic */
    const char *code;    /* machine-readable: "undecodable", "expired" */
    const char *reason;  /* for people */
    const char *cause_event_id;
    const char *fingerprint; /* the key it is produced with */
    const void *original;    /* the input as received */
    size_t len;
    const char *content_type; /* "application/x-protobuf", "application/json" */
    long long ts_ms;
    uint32_t batch_index; /* the event's index in its HTTP batch */
    size_t original_max;  /* bytes of the original kept; 0: DEADLETTER_ORIGINAL_MAX */
};

/* Fills dl (which borrows src's strings and original) from src, keeping at
 * most src->original_max bytes of the original. */
void deadletter_init(Analytics__V1__DeadLetter *dl, const struct deadletter_src *src);

/* Packs the dead letter of src. Returns a new buffer of *len bytes (caller
 * frees), or NULL when memory runs out. */
uint8_t *deadletter_pack(const struct deadletter_src *src, size_t *len);

#endif
