#ifndef ANALYTICS_RNG_H
#define ANALYTICS_RNG_H

/*
 * A small deterministic random number generator (SplitMix64): 8 bytes of
 * state, so every synthetic visitor (analytics-loadgen) can own one and its
 * choices do not depend on how visitors interleave, and a model fitted by
 * analytics-train from one seed is the same every time. Not for anything
 * secret.
 */

#include <stdint.h>

/* Advances *s and returns 64 random bits. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mixes a and b into one well-spread seed (for per-visitor streams). */
static inline uint64_t rng_mix(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ (b * 0xd1b54a32d192ed03ULL);

    return rng_next(&s);
}

/* A uniform double in [0, 1). */
static inline double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* A uniform integer in [0, n); 0 when n is 0. */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability p. */
static inline int rng_chance(uint64_t *s, double p)
{
    return rng_unit(s) < p;
}

#endif
