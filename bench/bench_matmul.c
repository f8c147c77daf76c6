/* bench_matmul.c - the matmul kernels alone, as a fraction of the FMA peak measured just before each
 * measurement (bench/peak.h), on one thread: forward (sf_matmul_forward), the input gradient and the
 * weight gradient with the bias gradient (sf_matmul_backward), on the shapes one example of the reverse
 * model multiplies (12-13 rows by d_model 64, d_ff 256, 3 x 64 fused q|k|v, vocabulary 30), on the same
 * shapes for a packed chunk of 8 examples (104 rows) and on a batch of 768 rows. Then the element-wise
 * ops of a training step, in nanoseconds per call: softmax forward and backward over attention rows (13
 * keys, a causal row with the later keys at -inf) and over the vocabulary (30), LayerNorm forward and
 * backward over 104 rows of 64; and the attention's per-head products (13 queries and keys, head size 16).
 *
 * usage: bench_matmul [ROUNDS (default 9)] [KERNELS: avx512 | avx2 | c (default: the best)]
 * Each measurement is the fastest of 20 short samples (a few microseconds each: on a shared machine a
 * longer one is mostly a measure of the other work). Prints, per shape and product, the best GFLOP/s of
 * the rounds as a fraction of the best peak, and the median of the rounds' own ratios; per element-wise
 * op the best time of the rounds. To compare two builds, run both binaries one after the other (or
 * alternately) on the same machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "peak.h"

typedef struct {
    int N, IC, OC, reps;
    float *x, *w, *b, *y, *dy, *dx, *dw, *db;
} job;

/* Times products of one kind (0 forward, 1 input gradient, 2 weight gradient with the bias gradient):
 * SAMPLES timings of reps products each (about 4 MFLOP, some microseconds); returns the GFLOP/s of the
 * fastest, the one least disturbed by other work (on a shared machine a process is often preempted for
 * longer than a whole measurement). */
enum { SAMPLES = 20 };
static double run(job *j, int kind) {
    double best = 1e30;
    for (int s = 0; s < SAMPLES; s++) {
        double t0 = sf_bench_now();
        for (int r = 0; r < j->reps; r++) {
            if (kind == 0) sf_matmul_forward(j->y, j->x, j->w, j->b, j->N, j->IC, j->OC);
            else if (kind == 1) sf_matmul_backward(j->dx, NULL, NULL, j->dy, j->x, j->w, j->N, j->IC, j->OC);
            else sf_matmul_backward(NULL, j->dw, j->db, j->dy, j->x, j->w, j->N, j->IC, j->OC);
        }
        double t = sf_bench_now() - t0;
        if (t < best) best = t;
    }
    return 2.0 * j->N * j->IC * j->OC * j->reps / best / 1e9;
}

/* Returns a malloc'd buffer of n normal(0, 0.5) floats. */
static float *randn(sf_rng *r, size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = 0.5f * sf_rng_normal(r);
    return p;
}

/* The element-wise ops timed, on the shapes of a training step. */
enum { OP_SOFTMAX13, OP_SOFTMAX_CAUSAL, OP_SOFTMAX30, OP_SOFTMAX_BW13, OP_LN_FW, OP_LN_BW, N_OPS };
static const char *const op_name[N_OPS] = {"softmax forward, 13 scores", "softmax forward, causal row of 13 (6 at -inf)",
                                           "softmax forward, 30 logits", "softmax backward, 13", "layernorm forward, 104 x 64",
                                           "layernorm backward, 104 x 64"};
enum { OP_ROWS = 104, OP_C = 64, OP_REPS = 10 };

/* Times OP_REPS calls of op (over OP_ROWS rows for the softmaxes) on the buffers in x..; returns ns per call
 * in the fastest of SAMPLES timings. */
static double run_op(int op, float *x, float *y, float *dy, float *dx, const float *w, const float *b, float *mean,
                     float *rstd, float *dw, float *db) {
    double best = 1e30;
    for (int s = 0; s < SAMPLES; s++) {
        double t0 = sf_bench_now();
        int calls = 0;
        for (int r = 0; r < OP_REPS; r++) {
            if (op == OP_LN_FW) sf_layernorm_forward(y, mean, rstd, x, w, b, OP_ROWS, OP_C, 1e-5f), calls++;
            else if (op == OP_LN_BW) sf_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, OP_ROWS, OP_C), calls++;
            else {
                int n = op == OP_SOFTMAX30 ? 30 : 13;
                for (int t = 0; t < OP_ROWS; t++, calls++) {
                    float *row = x + (size_t)t * 32, *out = y + (size_t)t * 32;
                    if (op == OP_SOFTMAX_BW13) sf_softmax_backward(dx + (size_t)t * 32, dy + (size_t)t * 32, out, n);
                    else sf_softmax_forward(out, row + (op == OP_SOFTMAX_CAUSAL ? 32 * OP_ROWS : 0), n);
                }
            }
        }
        double t = (sf_bench_now() - t0) * 1e9 / calls;
        if (t < best) best = t;
    }
    return best;
}

/* The attention's per-head products of attn_backward (src/train/backward.c) for one head of an example
 * of nq queries and nk keys (head size 16, the reverse model's), with its strides: dprobs = dout . v^T,
 * dv += probs^T . dout, dq += dscores . k, dk += dscores^T . q, and the head's scores q . k^T
 * (sf_dot_rows, as the forward computes them). Returns ns per head in the fastest of SAMPLES timings. */
enum { HEAD_HS = 16, HEAD_K = 16, HEAD_C = 64, HEAD_REPS = 64 };
static double run_head(int nq, int nk, float *scores, float *probs, float *dprobs, float *dsc, float *dout,
                       float *q, float *kv, float *vt, float *dq, float *dkv) {
    double best = 1e30;
    for (int s = 0; s < SAMPLES; s++) {
        double t0 = sf_bench_now();
        for (int r = 0; r < HEAD_REPS; r++) {
            sf_dot_rows(scores, HEAD_K, q, 3 * HEAD_C, nq, kv, 3 * HEAD_C, nk, HEAD_HS);
            sf_matmul_acc(dprobs, HEAD_K, dout, HEAD_C, 1, vt, nk, nq, nk, HEAD_HS);
            sf_matmul_acc(dkv + HEAD_C, 3 * HEAD_C, probs, 1, HEAD_K, dout, HEAD_C, nk, HEAD_HS, nq);
            sf_matmul_acc(dq, 3 * HEAD_C, dsc, HEAD_K, 1, kv, 3 * HEAD_C, nq, HEAD_HS, nk);
            sf_matmul_acc(dkv, 3 * HEAD_C, dsc, 1, HEAD_K, q, 3 * HEAD_C, nk, HEAD_HS, nq);
        }
        double t = (sf_bench_now() - t0) * 1e9 / HEAD_REPS;
        if (t < best) best = t;
    }
    return best;
}

/* Sorts v(n) ascending. */
static void sort(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && v[k] < v[k - 1]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
}

/* Measures every shape and product in interleaved rounds and prints the ratios. */
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > 99) rounds = 9;
    const char *k = sf_matmul_use(argc > 2 ? argv[2] : NULL);
    if (!k) { fprintf(stderr, "bench_matmul: this processor lacks the %s kernels\n", argv[2]); return 2; }
    static const int shapes[][3] = {{13, 64, 192},  {13, 64, 64},   {13, 64, 256},  {13, 256, 64},
                                    {12, 64, 128},  {13, 64, 30},   {104, 64, 192}, {104, 64, 64},
                                    {104, 64, 256}, {104, 256, 64}, {96, 64, 128},  {104, 64, 30},
                                    {768, 64, 192}, {768, 256, 64}};
    enum { NS = sizeof shapes / sizeof shapes[0] };
    job J[NS];
    sf_rng r;
    sf_rng_seed(&r, 3);
    for (int s = 0; s < NS; s++) {
        job *j = &J[s];
        j->N = shapes[s][0], j->IC = shapes[s][1], j->OC = shapes[s][2];
        size_t n = (size_t)j->N, ic = (size_t)j->IC, oc = (size_t)j->OC;
        j->x = randn(&r, n * ic), j->w = randn(&r, oc * ic), j->b = randn(&r, oc), j->y = randn(&r, n * oc);
        j->dy = randn(&r, n * oc), j->dx = randn(&r, n * ic), j->dw = randn(&r, oc * ic), j->db = randn(&r, oc);
        j->reps = (int)(4e6 / (2.0 * n * ic * oc)) + 1; /* about 4 MFLOP per sample */
    }
    static double ratio[NS][3][99], best[NS][3];
    double best_peak = 0.0;
    const char *isa = "?";
    for (int round = 0; round < rounds; round++)
        for (int s = 0; s < NS; s++)
            for (int kind = 0; kind < 3; kind++) {
                double p = sf_fma_peak(1, 0.03, &isa, NULL);
                if (p > best_peak) best_peak = p;
                double g = run(&J[s], kind);
                ratio[s][kind][round] = g / p;
                if (g > best[s][kind]) best[s][kind] = g;
            }
    printf("matmul kernels: %s; FMA peak (%s, 1 thread) best %.1f GFLOP/s; each figure: kernel GFLOP/s / the peak "
           "best of %d rounds / best peak (median of the rounds' own ratios)\n", k, isa, best_peak, rounds);
    for (int s = 0; s < NS; s++) {
        printf("N %4d IC %4d OC %4d:", J[s].N, J[s].IC, J[s].OC);
        for (int kind = 0; kind < 3; kind++) {
            sort(ratio[s][kind], rounds);
            printf("  %s %5.1f GFLOP/s %3.0f%% (%3.0f%%)", kind == 0 ? "forward" : kind == 1 ? "dinp" : "dweight",
                   best[s][kind], 100 * best[s][kind] / best_peak, 100 * ratio[s][kind][rounds / 2]);
        }
        printf("\n");
    }
    /* element-wise ops: buffers of 104 rows of 64 (softmax: rows of 32 floats, in x the scores, then the same
     * scores with the last 6 of 13 masked) */
    float *x = randn(&r, 2 * OP_C * OP_ROWS), *y = randn(&r, OP_C * OP_ROWS), *dy = randn(&r, OP_C * OP_ROWS);
    float *dx = randn(&r, OP_C * OP_ROWS), *w = randn(&r, OP_C), *b = randn(&r, OP_C), *mean = randn(&r, OP_ROWS);
    float *rstd = randn(&r, OP_ROWS), *dw = randn(&r, OP_C), *db = randn(&r, OP_C);
    for (int t = 0; t < OP_ROWS; t++)
        for (int i = 0; i < 13; i++) x[32 * OP_ROWS + t * 32 + i] = i >= 7 ? -1.0f / 0.0f : x[t * 32 + i];
    for (int t = 0; t < OP_ROWS; t++) sf_softmax_forward(y + t * 32, x + t * 32, 13); /* probabilities for backward */
    double op_best[N_OPS];
    for (int op = 0; op < N_OPS; op++) op_best[op] = 1e30;
    for (int round = 0; round < rounds; round++)
        for (int op = 0; op < N_OPS; op++) {
            if (op == OP_SOFTMAX_BW13)
                for (int t = 0; t < OP_ROWS; t++) sf_softmax_forward(y + t * 32, x + t * 32, 13);
            double ns = run_op(op, x, y, dy, dx, w, b, mean, rstd, dw, db);
            if (ns < op_best[op]) op_best[op] = ns;
            if (op == OP_LN_FW) /* keep the statistics the backward reads sane */
                for (int t = 0; t < OP_ROWS; t++) rstd[t] = rstd[t] > 0 ? rstd[t] : 1.0f;
        }
    /* the attention's per-head products: buffers of 16 rows (of the fused 3C rows for q, k, v) */
    float *hs = randn(&r, 16 * HEAD_K), *hp = randn(&r, 16 * HEAD_K), *hdp = randn(&r, 16 * HEAD_K);
    float *hds = randn(&r, 16 * HEAD_K), *hdo = randn(&r, 16 * HEAD_C), *hq = randn(&r, 16 * 3 * HEAD_C);
    float *hkv = randn(&r, 16 * 3 * HEAD_C), *hvt = randn(&r, HEAD_HS * 16), *hdq = randn(&r, 16 * 3 * HEAD_C);
    float *hdkv = randn(&r, 16 * 3 * HEAD_C);
    static const int heads[][2] = {{13, 13}, {13, 12}, {12, 12}};
    double head_best[3] = {1e30, 1e30, 1e30};
    for (int round = 0; round < rounds; round++)
        for (int h = 0; h < 3; h++) {
            double ns = run_head(heads[h][0], heads[h][1], hs, hp, hdp, hds, hdo, hq, hkv, hvt, hdq, hdkv);
            if (ns < head_best[h]) head_best[h] = ns;
        }
    printf("the attention's per-head products (scores, then attn_backward's four: 2 x 5 x nq x nk x 16 flop), best of %d "
           "rounds:\n", rounds);
    for (int h = 0; h < 3; h++) {
        double fl = 2.0 * 5 * heads[h][0] * heads[h][1] * HEAD_HS;
        printf("  %2d queries x %2d keys: %7.1f ns per head, %5.1f GFLOP/s %3.0f%%\n", heads[h][0], heads[h][1],
               head_best[h], fl / head_best[h], 100.0 * fl / head_best[h] / best_peak);
    }
    free(hs); free(hp); free(hdp); free(hds); free(hdo); free(hq); free(hkv); free(hvt); free(hdq); free(hdkv);
    printf("element-wise ops, best of %d rounds (ns per call):\n", rounds);
    for (int op = 0; op < N_OPS; op++) printf("  %-48s %8.1f ns\n", op_name[op], op_best[op]);
    free(x); free(y); free(dy); free(dx); free(w); free(b); free(mean); free(rstd); free(dw); free(db);
    return 0;
}
