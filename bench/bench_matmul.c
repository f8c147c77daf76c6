/* bench_matmul.c - the matmul kernels alone, as a fraction of the FMA peak measured just before each
 * measurement (bench/peak.h), on one thread: forward (sf_matmul_forward), the input gradient and the
 * weight gradient (sf_matmul_backward), on the shapes one example of the reverse model multiplies
 * (12-13 rows by d_model 64, d_ff 256, 3 x 64 fused q|k|v, vocabulary 30) and on a batch of 768 rows.
 *
 * usage: bench_matmul [ROUNDS (default 9)] [KERNELS: avx512 | avx2 | c (default: the best)]
 * Prints, per shape and product, the best GFLOP/s of the rounds as a fraction of the best peak (each the
 * measurement least disturbed by other work), and the median of the rounds' own ratios. */
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

/* Times reps products of one kind (0 forward, 1 input gradient, 2 weight gradient); returns GFLOP/s. */
static double run(job *j, int kind) {
    double t0 = sf_bench_now();
    for (int r = 0; r < j->reps; r++) {
        if (kind == 0) sf_matmul_forward(j->y, j->x, j->w, j->b, j->N, j->IC, j->OC);
        else if (kind == 1) sf_matmul_backward(j->dx, NULL, NULL, j->dy, j->x, j->w, j->N, j->IC, j->OC);
        else sf_matmul_backward(NULL, j->dw, j->db, j->dy, j->x, j->w, j->N, j->IC, j->OC);
    }
    return 2.0 * j->N * j->IC * j->OC * j->reps / (sf_bench_now() - t0) / 1e9;
}

/* Returns a malloc'd buffer of n normal(0, 0.5) floats. */
static float *randn(sf_rng *r, size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = 0.5f * sf_rng_normal(r);
    return p;
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
    static const int shapes[][3] = {{13, 64, 192}, {13, 64, 64}, {13, 64, 256}, {13, 256, 64}, {12, 64, 128},
                                    {13, 64, 30},  {768, 64, 192}, {768, 256, 64}};
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
        j->reps = (int)(2e7 / (2.0 * n * ic * oc)) + 1; /* about 20 MFLOP per measurement */
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
    return 0;
}
