/* rng.h - a small seeded random generator (xorshift64*), so every run is reproducible. */
#ifndef SF_RNG_H
#define SF_RNG_H

#include <stdint.h>

typedef struct { uint64_t s; } sf_rng;

/* Seeds the generator; any seed (including 0) gives a valid, distinct stream. */
void sf_rng_seed(sf_rng *r, uint64_t seed);
/* Returns the next 32 random bits. */
uint32_t sf_rng_u32(sf_rng *r);
/* Returns a float uniform in [0, 1). */
float sf_rng_uniform(sf_rng *r);
/* Returns an integer uniform in [0, n) for n > 0. */
int sf_rng_int(sf_rng *r, int n);
/* Returns a standard normal sample (Box-Muller). */
float sf_rng_normal(sf_rng *r);

#endif
