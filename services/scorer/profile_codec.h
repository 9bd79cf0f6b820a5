#ifndef SCORER_PROFILE_CODEC_H
#define SCORER_PROFILE_CODEC_H

/*
 * A profile as JSON, for its durable copy (user_behavior_profiles.state):
 * what a replica taking the visitor's partition over, or this one after a
 * restart, reads back to go on exactly where the profile was. Every field
 * of struct profile round-trips (doubles exactly). Pure.
 */

#include <stddef.h>

#include "profile.h"

#define PROFILE_CODEC_VERSION 2 /* 2: warned_seen_ms; a state of 1 reads with none */

/* The profile as a JSON object text (caller frees), or NULL when memory
 * runs out. */
char *prof_encode(const struct profile *p);

/* Reads a profile encoded by prof_encode into *p (fingerprint taken from
 * the text). A state without "explained" (written before the reasons were
 * kept) reads as never explained; a version 1 state, from before
 * warned_seen_ms, with none. Returns 0, or -1 with the reason in err when
 * the text is not such an object (another version, a field missing or of
 * the wrong type or out of range). *p is then unspecified. */
int prof_decode(const char *json, struct profile *p, char *err, size_t errlen);

#endif
