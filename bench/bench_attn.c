/* bench_attn.c - an attention head's per-segment kernels as the trainer runs them, on the reverse model's
 * shapes (head size 16; 13 decoder queries against 13 keys causal or 12 encoder keys, 12 encoder queries
 * against their 12 keys), the per-call way (attn_backward before: the dprobs cells zeroed, four
 * sf_matmul_acc into zeroed fused rows; attention_rows' weighted sums four rows at a time, the loop the
 * plain kernels keep) against the kernels that replaced it (sf_attn_values_backward and
 * sf_attn_scores_backward, each a pair of products written from +0.0; sf_attn_weighted_values with the
 * AVX-512 kernels), in nanoseconds per head and segment, and the scores (sf_dot_rows) for scale; and the
 * backward's whole segment, the two pairs with sf_attn_softmax_backward between them against
 * sf_attn_head_backward's one call. The ways raced give the same bits (tests/test_attn_ops.c).
 *
 * usage: bench_attn [ROUNDS (default 9)]
 * Each figure is the fastest of the rounds' samples (a few microseconds each, the least disturbed on a
 * shared machine); both ways run alternately in every round, on one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "peak.h"

enum { HS = 16, C = 64, K = 13, LDF = 3 * C, REPS = 64 };

static float q[K * LDF], dq[K * LDF], vt[HS * K], dout[K * C], probs[K * K], dprobs[K * K], dsc[K * K], dss[K * K], out[K * C];
static int seen[K];

/* One way of doing a segment's work, for nq queries and nk keys. */
typedef void (*way)(int nq, int nk);
/* Sets *ta and *tb to the fastest of 8 x rounds samples of REPS calls of a and of b (alternating), in ns
 * per call. */
static void race(way a, way b, int nq, int nk, int rounds, double *ta, double *tb) {
    *ta = *tb = 1e30;
    for (int r = 0; r < rounds * 8; r++) {
        double t0 = sf_bench_now();
        for (int i = 0; i < REPS; i++) a(nq, nk);
        double t1 = sf_bench_now();
        for (int i = 0; i < REPS; i++) b(nq, nk);
        double t2 = sf_bench_now();
        if ((t1 - t0) * 1e9 / REPS < *ta) *ta = (t1 - t0) * 1e9 / REPS;
        if ((t2 - t1) * 1e9 / REPS < *tb) *tb = (t2 - t1) * 1e9 / REPS;
    }
}

/* attn_backward's four products the per-call way: dprobs' cells zeroed, a head's share of the fused rows'
 * zero_rows (one memset of a quarter of the segment's rows of 3C: four heads share them), four
 * sf_matmul_acc. */
static void bw_calls(int nq, int nk) {
    for (int t = 0; t < nq; t++) memset(dprobs + t * K, 0, (size_t)nk * sizeof(float));
    memset(dq + 2 * C + HS, 0, (size_t)nq * LDF / 4 * sizeof(float));
    sf_matmul_acc(dprobs, K, dout, C, 1, vt, K, nq, nk, HS);
    sf_matmul_acc(dq + 2 * C, LDF, probs, 1, K, dout, C, nk, HS, nq);
    sf_matmul_acc(dq, LDF, dsc, K, 1, q + C, LDF, nq, HS, nk);
    sf_matmul_acc(dq + C, LDF, dsc, 1, K, q, LDF, nk, HS, nq);
}

/* The same four products through the two pair kernels, nothing zeroed. */
static void bw_pairs(int nq, int nk) {
    sf_attn_values_backward(dprobs, K, dq + 2 * C, LDF, dout, C, vt, K, probs, K, nq, nk, HS);
    sf_attn_scores_backward(dq, LDF, dq + C, LDF, dsc, K, q, LDF, q + C, LDF, nq, nk, HS);
}

/* attn_backward's per-segment work before sf_attn_head_backward: the two pairs of products with the softmax
 * backward between them (its rows written to dprobs' and the scores' cells and read back). */
static void bw_three(int nq, int nk) {
    int width[K];
    for (int t = 0; t < nq; t++) width[t] = nk;
    sf_attn_values_backward(dprobs, K, dq + 2 * C, LDF, dout, C, vt, K, probs, K, nq, nk, HS);
    sf_attn_softmax_backward(dsc, dss, dprobs, probs, K, nq, width, 0.25f);
    sf_attn_scores_backward(dq, LDF, dq + C, LDF, dsc, K, q, LDF, q + C, LDF, nq, nk, HS);
}

/* The same in one call: the gradients between the products stay in registers. */
static void bw_fused(int nq, int nk) {
    sf_attn_head_backward(dq, LDF, dq + C, LDF, dq + 2 * C, LDF, dout, C, q + 2 * C, LDF, vt, K, probs, K, q, LDF, q + C, LDF, nq, nk, HS,
                          0.25f, dprobs, dss, dsc);
}

/* The weighted sums with the plain kernels' path (four rows at a time, attention_rows' loop before). */
static void pv_rows(int nq, int nk) {
    (void)nk;
    sf_matmul_use("c");
    sf_attn_weighted_values(out, C, probs, K, seen, nq, q + 2 * C, LDF, HS);
    sf_matmul_use(NULL);
}

/* The weighted sums with the kernels in use. */
static void pv_kernel(int nq, int nk) {
    (void)nk;
    sf_matmul_use(NULL);
    sf_attn_weighted_values(out, C, probs, K, seen, nq, q + 2 * C, LDF, HS);
}

/* The head's scores of the segment. */
static void scores(int nq, int nk) { sf_dot_rows(dprobs, K, q, LDF, nq, q + C, LDF, nk, HS); }

/* Sets every query's seen keys: causal (query t sees t + 1) or all nk. */
static void set_seen(int nq, int nk, int causal) {
    for (int t = 0; t < nq; t++) seen[t] = causal && t + 1 < nk ? t + 1 : nk;
    for (int t = 0; t < nq; t++)
        for (int j = 0; j < K; j++) probs[t * K + j] = j < seen[t] ? probs[t * K + j] : 0.0f;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > 99) rounds = 9;
    sf_rng r;
    sf_rng_seed(&r, 3);
    for (int i = 0; i < K * LDF; i++) q[i] = sf_rng_normal(&r);
    for (int i = 0; i < HS * K; i++) vt[i] = sf_rng_normal(&r);
    for (int i = 0; i < K * C; i++) dout[i] = sf_rng_normal(&r);
    for (int i = 0; i < K * K; i++) probs[i] = sf_rng_uniform(&r), dsc[i] = sf_rng_normal(&r);
    const char *isa = NULL;
    double peak = 0.0; /* the best of a few short probes (the host's speed moves) */
    for (int i = 0; i < 3; i++) {
        double p = sf_fma_peak(1, 0.1, &isa, NULL);
        peak = p > peak ? p : peak;
    }
    printf("bench_attn: %s kernels, one thread; FMA peak %.1f GFLOP/s (%s); ns per head and segment, fastest of %d "
           "rounds\n", sf_matmul_use(NULL), peak, isa ? isa : "?", rounds);
    static const struct { int nq, nk, causal; const char *what; } seg[] = {
        {13, 13, 1, "decoder self (causal)"}, {13, 12, 0, "cross"}, {12, 12, 0, "encoder self"}};
    for (int s = 0; s < 3; s++) {
        int nq = seg[s].nq, nk = seg[s].nk;
        set_seen(nq, nk, seg[s].causal);
        double a, b, sa, sb;
        race(bw_calls, bw_pairs, nq, nk, rounds, &a, &b);
        double fl = 2.0 * 4 * nq * nk * HS;
        printf("%-22s %2d x %2d: backward's 4 products %6.1f ns per call -> %6.1f ns in pairs (%.2fx, %4.1f%% of the "
               "peak)\n", seg[s].what, nq, nk, a, b, a / b, 100.0 * fl / b / peak);
        race(bw_three, bw_fused, nq, nk, rounds, &a, &b);
        printf("%-22s          products + softmax backward %6.1f ns in three calls -> %6.1f ns in one (%.2fx)\n", "", a, b,
               a / b);
        race(pv_rows, pv_kernel, nq, nk, rounds, &a, &b);
        race(scores, scores, nq, nk, rounds, &sa, &sb);
        printf("%-22s          P.V %6.1f ns four rows at a time -> %6.1f ns (%.2fx); scores Q.K^T %6.1f ns\n", "", a, b,
               a / b, sa < sb ? sa : sb);
    }
    return 0;
}
