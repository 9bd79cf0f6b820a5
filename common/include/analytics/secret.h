#ifndef ANALYTICS_SECRET_H
#define ANALYTICS_SECRET_H

/*
 * Secrets (write keys, API tokens) compared in time that does not tell an
 * attacker how much of a guess was right. Pure logic.
 */

#include <stdbool.h>
#include <stddef.h>

/* Compares the configured secret want[0..want_len) with the candidate
 * got[0..got_len) (NUL-terminated) in time that depends only on want_len:
 * every byte of want is compared, past the end of got against its NUL.
 * Returns true when they are equal. */
bool secret_equal(const char *want, size_t want_len, const char *got, size_t got_len);

#endif
