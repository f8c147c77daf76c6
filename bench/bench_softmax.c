/* bench_softmax.c - attention's softmax as the trainer runs it, rows one at a time (the loops
 * attention_rows and attn_backward ran before sf_attn_softmax) against many rows at once
 * (sf_attn_softmax, sf_attn_softmax_backward, sf_softmax_rows: sixteen rows side by side with AVX-512),
 * in nanoseconds per row, on the reverse model's shapes: a head's rows of a packed chunk (19 examples of
 * 13 queries, 13 keys each), the same rows causal (the decoder's self-attention), and the head's rows of
 * 30 logits. The two give the same bits (tests/test_ops_softmax.c); this says what the rows cost.
 *
 * usage: bench_softmax [ROUNDS (default 7)]
 * Each figure is the fastest of the rounds' samples (a few microseconds each, the least disturbed on a
 * shared machine); both ways run alternately in every round. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "peak.h"

enum { ROWS = 247, K = 13, V = 30, REPS = 20 };

static float sc[ROWS * V], ss[ROWS * V], pr[ROWS * V], dpr[ROWS * V], dss[ROWS * V], dsc[ROWS * V], src[ROWS * V];
static int seen[ROWS], width[ROWS];

/* The row path: scaling and masking per row, then sf_softmax_forward (attention_rows before). */
static void rows_forward(float scale) {
    for (int t = 0; t < ROWS; t++) {
        float *s = sc + t * K, *x = ss + t * K;
        for (int j = 0; j < seen[t]; j++) x[j] = s[j] * scale;
        for (int j = seen[t]; j < K; j++) s[j] = x[j] = -INFINITY;
        sf_softmax_forward(pr + t * K, x, K);
    }
}

/* The row path of the backward: a zeroed row, sf_softmax_backward, the scaling (attn_backward before). */
static void rows_backward(float scale) {
    for (int t = 0; t < ROWS; t++) {
        memset(dss + t * K, 0, K * sizeof(float));
        sf_softmax_backward(dss + t * K, dpr + t * K, pr + t * K, K);
        for (int j = 0; j < K; j++) dsc[t * K + j] = dss[t * K + j] * scale;
    }
}

/* Returns the ns per row of one way (0..5, see main) over REPS passes of ROWS rows, fastest of 5. */
static double time_way(int way, float scale) {
    double best = 1e30;
    for (int s = 0; s < 5; s++) {
        double t0 = sf_bench_now();
        for (int r = 0; r < REPS; r++) {
            if (way < 4) memcpy(sc, src, sizeof(float) * ROWS * K);
            switch (way) {
            case 0: case 2: rows_forward(scale); break;
            case 1: case 3: sf_attn_softmax(pr, ss, sc, K, ROWS, seen, width, scale); break;
            case 4: for (int t = 0; t < ROWS; t++) sf_softmax_forward(pr + t * V, src + t * V, V); break;
            case 5: sf_softmax_rows(pr, src, ROWS, V); break;
            case 6: rows_backward(scale); break;
            default: sf_attn_softmax_backward(dsc, dss, dpr, pr, K, ROWS, width, scale); break;
            }
        }
        double t = sf_bench_now() - t0;
        if (t < best) best = t;
    }
    return best / REPS / ROWS * 1e9;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1) rounds = 1;
    sf_rng r;
    sf_rng_seed(&r, 5);
    for (int i = 0; i < ROWS * V; i++) src[i] = 3.0f * sf_rng_normal(&r);
    for (int i = 0; i < ROWS * V; i++) dpr[i] = sf_rng_normal(&r);
    const char *name[8] = {"attention rows of 13, one at a time", "attention rows of 13, sf_attn_softmax",
                           "causal rows of 13, one at a time", "causal rows of 13, sf_attn_softmax",
                           "30 logits, sf_softmax_forward per row", "30 logits, sf_softmax_rows",
                           "backward rows of 13, one at a time", "backward rows of 13, sf_attn_softmax_backward"};
    double best[8];
    for (int w = 0; w < 8; w++) best[w] = 1e30;
    float scale = 0.25f;
    for (int round = 0; round < rounds; round++)
        for (int w = 0; w < 8; w++) {
            int causal = w == 2 || w == 3;
            for (int t = 0; t < ROWS; t++) {
                seen[t] = causal ? t % K + 1 : K;
                width[t] = K;
            }
            if (w >= 6) sf_attn_softmax(pr, ss, sc, K, ROWS, seen, width, scale); /* probabilities */
            double ns = time_way(w, scale);
            if (ns < best[w]) best[w] = ns;
        }
    printf("softmax per row, %d rows a pass, fastest of %d rounds (kernels: %s)\n", ROWS, rounds, sf_matmul_use(NULL));
    for (int w = 0; w < 8; w += 2)
        printf("  %-46s %6.1f ns\n  %-46s %6.1f ns: %.2fx\n", name[w], best[w], name[w + 1], best[w + 1],
               best[w] / best[w + 1]);
    return 0;
}
