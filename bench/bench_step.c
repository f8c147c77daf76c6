/* bench_step.c - how long one decoder step takes (KV cache), against recomputing the whole prefix
 * (no cache) in the same run. Model: decoder-only, 2 layers, 4 heads, d_model 64, d_ff 256.
 * Usage: bench_step [rounds]   prints median and p90 per step in microseconds, and the ratio. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(q * (n - 1))];
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1) rounds = 1;
    const int T = 32;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 30; c.d_model = 64; c.n_heads = 4; c.d_ff = 256; c.n_dec_layers = 2; c.max_len = 64;
    sf_model m;
    sf_err e = sf_model_build(&m, &c);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    sf_model_init_random(&m, 1);
    sf_seq s;
    if (!(e = sf_seq_build(&s, &c)).ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    int ids[32];
    for (int t = 0; t < T; t++) ids[t] = 4 + (t * 7) % 26;
    double *step = malloc(sizeof(double) * (size_t)rounds * T), *full = malloc(sizeof(double) * (size_t)rounds * T);
    if (!step || !full) return 1;
    int ns = 0, nf = 0;
    for (int r = 0; r < rounds; r++) {
        sf_decode_reset(&s);
        for (int t = 0; t < T; t++) { /* one new token, earlier keys and values from the cache */
            double t0 = now_us();
            sf_decode_step(&m, &s, ids[t]);
            step[ns++] = now_us() - t0;
        }
        for (int t = 0; t < T; t++) { /* the same token without a cache: the whole prefix again */
            double t0 = now_us();
            sf_decode_full(&m, &s, ids, t + 1);
            full[nf++] = now_us() - t0;
        }
    }
    double med = percentile(step, ns, 0.5), p90 = percentile(step, ns, 0.9);
    double fmed = percentile(full, nf, 0.5);
    printf("decoder step, gpt 2 layers x 4 heads, d_model 64, d_ff 256, positions 1-%d, %d rounds\n", T, rounds);
    printf("  with KV cache:        median %.1f us   p90 %.1f us\n", med, p90);
    printf("  recompute (no cache): median %.1f us\n", fmed);
    printf("  ratio recompute / cached: %.1fx\n", fmed / med);
    free(step);
    free(full);
    sf_seq_free(&s);
    sf_model_free(&m);
    return 0;
}
