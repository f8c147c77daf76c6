/* rng.c - xorshift64* seeded through splitmix64. */
#include "rng.h"

#include <math.h>

void sf_rng_seed(sf_rng *r, uint64_t seed) {
    /* splitmix64 scrambles the seed so that nearby seeds give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1Dull;
}

uint32_t sf_rng_u32(sf_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

float sf_rng_uniform(sf_rng *r) {
    return (float)(sf_rng_u32(r) >> 8) / 16777216.0f;
}

int sf_rng_int(sf_rng *r, int n) {
    return (int)(((uint64_t)sf_rng_u32(r) * (uint64_t)n) >> 32);
}

float sf_rng_normal(sf_rng *r) {
    float u1 = sf_rng_uniform(r), u2 = sf_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}
