/* test_ops.c - every forward op against values worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ops.h"
#include "core/rng.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

static void test_matmul(void **state) {
    (void)state;
    /* in (2,3) . w(2,3)^T + b: rows [1 2 3] and [4 5 6]; w rows [1 0 -1] and [0.5 0.5 0.5] */
    const float in[] = {1, 2, 3, 4, 5, 6}, w[] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, b[] = {10, -1};
    float out[4];
    sf_matmul_forward(out, in, w, b, 2, 3, 2);
    NEAR(out[0], 1 - 3 + 10, 0); NEAR(out[1], 3 - 1, 0);
    NEAR(out[2], 4 - 6 + 10, 0); NEAR(out[3], 7.5 - 1, 0);
    sf_matmul_forward(out, in, w, NULL, 2, 3, 2);
    NEAR(out[0], -2, 0); NEAR(out[3], 7.5, 0);
}

/* Fills p(n) with normal(0, 1) values from r. */
static void randn(sf_rng *r, float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = sf_rng_normal(r);
}

/* The matmul contract of ops.h, written out one element at a time: each output is one chain of fmaf in
 * ascending order, started at the bias (forward) or at the value already there (backward). Every kernel
 * set this processor has must give exactly these bits, for every shape (odd sizes, one row, long rows). */
static void test_matmul_kernels(void **state) {
    (void)state;
    /* the forward transposes the weight, except for 13-16 rows into at most 32 outputs, where it transposes
     * the rows (ops.c, forward_wide_pays): shapes on both sides, blocks of the weight cut at 64 output and
     * 128 input channels, and products whose panels of B are copied (gemm_512: four tiles or more), in
     * panels of 128 rows of B when J is longer (200 and 260 rows for dweight) */
    static const int shapes[][3] = {{1, 1, 1},     {1, 64, 192},  {3, 5, 7},     {13, 64, 192},  {16, 16, 16},
                                    {17, 70, 65},  {12, 256, 64}, {40, 300, 33}, {2, 3, 300},    {25, 64, 30},
                                    {31, 64, 192}, {32, 64, 64},  {33, 129, 65}, {104, 64, 192}, {104, 256, 64},
                                    {64, 17, 30},  {100, 64, 130}, {48, 200, 49}, {13, 64, 30},   {16, 70, 32},
                                    {14, 300, 17}, {200, 70, 40},  {260, 48, 100}};
    static const char *sets[] = {"c", "avx2", "avx512"};
    sf_rng r;
    sf_rng_seed(&r, 21);
    int ran = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int N = shapes[s][0], IC = shapes[s][1], OC = shapes[s][2];
        size_t nx = (size_t)N * IC, nw = (size_t)OC * IC, ny = (size_t)N * OC;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)OC * 4), *dy = malloc(ny * 4);
        float *y_ref = malloc(ny * 4), *dx_ref = malloc(nx * 4), *dw_ref = malloc(nw * 4), *db_ref = malloc((size_t)OC * 4);
        float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = malloc(nw * 4), *db = malloc((size_t)OC * 4);
        float *dx0 = malloc(nx * 4), *dw0 = malloc(nw * 4), *db0 = malloc((size_t)OC * 4);
        assert_non_null(db0);
        randn(&r, x, nx); randn(&r, w, nw); randn(&r, b, (size_t)OC); randn(&r, dy, ny);
        randn(&r, dx0, nx); randn(&r, dw0, nw); randn(&r, db0, (size_t)OC);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) {
                float a = b[o];
                for (int i = 0; i < IC; i++) a = fmaf(x[n * IC + i], w[o * IC + i], a);
                y_ref[n * OC + o] = a;
            }
        for (int n = 0; n < N; n++)
            for (int i = 0; i < IC; i++) {
                float a = dx0[n * IC + i];
                for (int o = 0; o < OC; o++) a = fmaf(dy[n * OC + o], w[o * IC + i], a);
                dx_ref[n * IC + i] = a;
            }
        for (int o = 0; o < OC; o++) {
            for (int i = 0; i < IC; i++) {
                float a = dw0[o * IC + i];
                for (int n = 0; n < N; n++) a = fmaf(dy[n * OC + o], x[n * IC + i], a);
                dw_ref[o * IC + i] = a;
            }
            float a = db0[o];
            for (int n = 0; n < N; n++) a += dy[n * OC + o];
            db_ref[o] = a;
        }
        for (int k = 0; k < 3; k++) {
            if (!sf_matmul_use(sets[k])) continue; /* this processor lacks them */
            ran++;
            sf_matmul_forward(y, x, w, b, N, IC, OC);
            memcpy(dx, dx0, nx * 4); memcpy(dw, dw0, nw * 4); memcpy(db, db0, (size_t)OC * 4);
            sf_matmul_backward(dx, dw, db, dy, x, w, N, IC, OC);
            if (memcmp(y, y_ref, ny * 4) || memcmp(dx, dx_ref, nx * 4) || memcmp(dw, dw_ref, nw * 4) ||
                memcmp(db, db_ref, (size_t)OC * 4))
                fail_msg("%s kernels, N %d IC %d OC %d: forward %s, dinp %s, dweight %s, dbias %s", sets[k], N, IC, OC,
                         memcmp(y, y_ref, ny * 4) ? "differs" : "ok", memcmp(dx, dx_ref, nx * 4) ? "differs" : "ok",
                         memcmp(dw, dw_ref, nw * 4) ? "differs" : "ok", memcmp(db, db_ref, (size_t)OC * 4) ? "differs" : "ok");
            /* no bias: the chains start at 0 (here one term: x as (N,1), w as (OC,1)) */
            sf_matmul_forward(y, x, w, NULL, N, 1, OC);
            for (int n = 0; n < N; n++)
                for (int o = 0; o < OC; o++) assert_true(y[n * OC + o] == fmaf(x[n], w[o], 0.0f));
            /* no input channels: the bias alone */
            sf_matmul_forward(y, x, w, b, N, 0, OC);
            for (int n = 0; n < N; n++) assert_memory_equal(y + (size_t)n * OC, b, (size_t)OC * 4);
        }
        sf_matmul_use(NULL);
        free(x); free(w); free(b); free(dy); free(y_ref); free(dx_ref); free(dw_ref); free(db_ref);
        free(y); free(dx); free(dw); free(db); free(dx0); free(dw0); free(db0);
    }
    assert_true(ran >= 21); /* the plain C kernels, at least, ran on every shape */
}

/* sf_matmul_acc on strided operands (a transposed A, rows of C and B with gaps) against the contract. */
static void test_matmul_acc(void **state) {
    (void)state;
    enum { R = 9, W = 19, J = 11, LDC = 23, LDB = 21 };
    float a[J * R], b[J * LDB], c[R * LDC], want[R * LDC];
    sf_rng r;
    sf_rng_seed(&r, 22);
    randn(&r, a, J * R); randn(&r, b, J * LDB); randn(&r, c, R * LDC);
    static const char *sets[] = {"c", "avx2", "avx512"};
    for (int nw = W; nw >= 13; nw -= 6) { /* 13 columns: one tile of 16 lanes (sf_matmul_acc calls it directly) */
        memcpy(want, c, sizeof c);
        for (int i = 0; i < R; i++)
            for (int w = 0; w < nw; w++)
                for (int j = 0; j < J; j++) want[i * LDC + w] = fmaf(a[j * R + i], b[j * LDB + w], want[i * LDC + w]);
        for (int k = 0; k < 3; k++) {
            if (!sf_matmul_use(sets[k])) continue;
            float got[R * LDC];
            memcpy(got, c, sizeof c);
            sf_matmul_acc(got, LDC, a, 1, R, b, LDB, R, nw, J); /* A(i,j) = a[j*R + i] */
            assert_memory_equal(got, want, sizeof got); /* the gaps between rows stay untouched too */
        }
    }
    sf_matmul_use(NULL);
    assert_null(sf_matmul_use("no such kernels"));
}

/* sf_matmul_acc against the contract for every register tile the kernels have: row counts 1 to 25 (each
 * tile of 1 to 24 rows, the rows shared out between tiles) by widths that end in every kind of block
 * (one vector, two, three, four, masked and whole, and more than one block), for a single step of j and
 * several, with a stride of C wider than its rows (nothing between them may be written). */
static void test_matmul_tiles(void **state) {
    (void)state;
    static const int widths[] = {1, 15, 16, 17, 30, 32, 33, 47, 48, 49, 63, 64, 65, 100, 128, 130};
    static const int js[] = {1, 7};
    enum { MAXR = 25, MAXW = 130, MAXJ = 7, LD = MAXW + 3 };
    static float a[MAXR * MAXJ], b[MAXJ * LD], c[MAXR * LD], want[MAXR * LD], got[MAXR * LD];
    static const char *sets[] = {"c", "avx2", "avx512"};
    sf_rng r;
    sf_rng_seed(&r, 23);
    randn(&r, a, MAXR * MAXJ); randn(&r, b, MAXJ * LD); randn(&r, c, MAXR * LD);
    int ran = 0;
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        for (int R = 1; R <= MAXR; R++)
            for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
                for (size_t ji = 0; ji < 2; ji++) {
                    int W = widths[wi], J = js[ji];
                    memcpy(want, c, sizeof c);
                    for (int i = 0; i < R; i++)
                        for (int w = 0; w < W; w++)
                            for (int j = 0; j < J; j++)
                                want[i * LD + w] = fmaf(a[i * J + j], b[j * LD + w], want[i * LD + w]);
                    memcpy(got, c, sizeof c);
                    sf_matmul_acc(got, LD, a, J, 1, b, LD, R, W, J);
                    if (memcmp(got, want, sizeof got))
                        fail_msg("%s kernels: R %d W %d J %d differs from the chains of fmaf", sets[k], R, W, J);
                    ran++;
                }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= MAXR * 16 * 2);
}

static void test_softmax(void **state) {
    (void)state;
    const float x[] = {1, 2, 3};
    float p[3];
    sf_softmax_forward(p, x, 3);
    double z = exp(1) + exp(2) + exp(3);
    NEAR(p[0], exp(1) / z, 1e-7); NEAR(p[1], exp(2) / z, 1e-7); NEAR(p[2], exp(3) / z, 1e-7);
    /* huge scores stay finite and exact: [1e4, -1e4, 1e4 - 1] */
    const float big[] = {1e4f, -1e4f, 1e4f - 1};
    sf_softmax_forward(p, big, 3);
    for (int i = 0; i < 3; i++) assert_true(isfinite(p[i]));
    NEAR(p[0], 1 / (1 + exp(-1)), 1e-6); NEAR(p[1], 0, 1e-30); NEAR(p[2], exp(-1) / (1 + exp(-1)), 1e-6);
    const float neg[] = {-1e4f, -1e4f};
    sf_softmax_forward(p, neg, 2);
    NEAR(p[0], 0.5, 1e-7); NEAR(p[1], 0.5, 1e-7);
    /* masked entries get exactly 0; a fully masked row is all 0, never NaN */
    const float masked[] = {0, -INFINITY, 0};
    sf_softmax_forward(p, masked, 3);
    assert_true(p[1] == 0.0f); NEAR(p[0], 0.5, 1e-7);
    const float all[] = {-INFINITY, -INFINITY};
    sf_softmax_forward(p, all, 2);
    assert_true(p[0] == 0.0f && p[1] == 0.0f);
}

static void test_layernorm(void **state) {
    (void)state;
    /* a constant row has zero variance: the output is exactly the bias */
    const float c[] = {3, 3, 3, 3}, w[] = {2, 2, 2, 2}, b[] = {0.5f, -1, 0, 7};
    float out[4], mean, rstd;
    sf_layernorm_forward(out, &mean, &rstd, c, w, b, 1, 4, 1e-5f);
    for (int i = 0; i < 4; i++) NEAR(out[i], b[i], 0);
    NEAR(mean, 3, 0);
    NEAR(rstd, 1 / sqrt(1e-5), 1e-1);
    /* [1 2 3 4]: mean 2.5, biased variance 1.25 */
    const float x[] = {1, 2, 3, 4}, ones[] = {1, 1, 1, 1}, zeros[] = {0, 0, 0, 0};
    sf_layernorm_forward(out, NULL, NULL, x, ones, zeros, 1, 4, 1e-5f);
    double s = 1 / sqrt(1.25 + 1e-5);
    for (int i = 0; i < 4; i++) NEAR(out[i], (x[i] - 2.5) * s, 1e-6);
}

/* Writes LayerNorm's forward as ops.h specifies it, one element at a time: the row's sum and its sum of
 * squared deviations each in 8 lanes (element i into lane i % 8) added in a fixed tree, the elements past
 * the last whole 8 after it; rstd = 1 / sqrt(var + eps); y = (x - mean) rstd w + b from left to right. */
static void layernorm_forward_spec(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,
                                   int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float a[8] = {0}, q[8] = {0};
        int c8 = C / 8 * 8;
        for (int i = 0; i < c8; i++) a[i % 8] += xr[i];
        float m = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        for (int i = c8; i < C; i++) m += xr[i];
        m /= (float)C;
        for (int i = 0; i < c8; i++) q[i % 8] += (xr[i] - m) * (xr[i] - m);
        float v = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
        for (int i = c8; i < C; i++) v += (xr[i] - m) * (xr[i] - m);
        float s = 1.0f / sqrtf(v / (float)C + eps);
        for (int i = 0; i < C; i++) y[(size_t)n * C + i] = (xr[i] - m) * s * w[i] + b[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* Writes LayerNorm's backward as ops.h specifies it, one element at a time: per row the two means of
 * dnorm = dy w and dnorm x-hat summed in 8 lanes (element i into lane i % 8) added in a fixed tree, the
 * elements past the last whole 8 after it, then the gain, bias and input gradients added in. */
static void layernorm_backward_spec(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                    const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
        float m = mean[n], s = rstd[n], a1[8] = {0}, a2[8] = {0};
        int c8 = C / 8 * 8;
        for (int i = 0; i < c8; i++) {
            float xhat = (xr[i] - m) * s, dnorm = dyr[i] * w[i];
            a1[i % 8] += dnorm;
            a2[i % 8] += dnorm * xhat;
        }
        float mean1 = ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7]));
        float mean2 = ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7]));
        for (int i = c8; i < C; i++) {
            float xhat = (xr[i] - m) * s, dnorm = dyr[i] * w[i];
            mean1 += dnorm;
            mean2 += dnorm * xhat;
        }
        mean1 /= (float)C;
        mean2 /= (float)C;
        for (int i = 0; i < C; i++) {
            float xhat = (xr[i] - m) * s, dnorm = dyr[i] * w[i];
            if (dw) dw[i] += dyr[i] * xhat;
            if (db) db[i] += dyr[i];
            dx[(size_t)n * C + i] += s * (dnorm - mean1 - xhat * mean2);
        }
    }
}

/* sf_layernorm_forward and sf_layernorm_backward give the specs' bits with every kernel set (AVX-512 has
 * its own paths for widths of 16 to 128 in steps of 16), for widths on and off those paths, one row and
 * many, with and without the gain and bias gradients. */
static void test_layernorm_kernels(void **state) {
    (void)state;
    static const int widths[] = {16, 32, 48, 64, 80, 128, 8, 12, 65, 144};
    static const int rows[] = {1, 3, 13, 104};
    static const char *sets[] = {"c", "avx2", "avx512"};
    enum { MAXN = 104, MAXC = 144 };
    static float x[MAXN * MAXC], dy[MAXN * MAXC], dx0[MAXN * MAXC], dx[MAXN * MAXC], dx_ref[MAXN * MAXC];
    float w[MAXC], dw0[MAXC], db0[MAXC], dw[MAXC], db[MAXC], dw_ref[MAXC], db_ref[MAXC], mean[MAXN], rstd[MAXN];
    sf_rng r;
    sf_rng_seed(&r, 41);
    randn(&r, x, MAXN * MAXC); randn(&r, dy, MAXN * MAXC); randn(&r, dx0, MAXN * MAXC);
    randn(&r, w, MAXC); randn(&r, dw0, MAXC); randn(&r, db0, MAXC);
    int ran = 0;
    for (size_t a = 0; a < sizeof widths / sizeof *widths; a++)
        for (size_t b = 0; b < sizeof rows / sizeof *rows; b++) {
            int C = widths[a], N = rows[b];
            float *y = malloc((size_t)N * C * sizeof *y), *y_ref = malloc((size_t)N * C * sizeof *y);
            float mean_ref[MAXN], rstd_ref[MAXN];
            assert_non_null(y_ref);
            layernorm_forward_spec(y_ref, mean_ref, rstd_ref, x, w, db0, N, C, 1e-5f);
            for (int k = 0; k < 3; k++) {
                if (!sf_matmul_use(sets[k])) continue;
                sf_layernorm_forward(y, mean, rstd, x, w, db0, N, C, 1e-5f);
                if (memcmp(y, y_ref, (size_t)N * C * sizeof *y) || memcmp(mean, mean_ref, (size_t)N * sizeof *mean) ||
                    memcmp(rstd, rstd_ref, (size_t)N * sizeof *rstd))
                    fail_msg("%s kernels, N %d C %d: layernorm forward differs from the spec", sets[k], N, C);
            }
            free(y); free(y_ref);
            for (int with = 0; with < 2; with++) {
                memcpy(dx_ref, dx0, sizeof dx0); memcpy(dw_ref, dw0, sizeof dw0); memcpy(db_ref, db0, sizeof db0);
                layernorm_backward_spec(dx_ref, with ? dw_ref : NULL, with ? db_ref : NULL, dy, x, w, mean, rstd, N, C);
                for (int k = 0; k < 3; k++) {
                    if (!sf_matmul_use(sets[k])) continue;
                    memcpy(dx, dx0, sizeof dx0); memcpy(dw, dw0, sizeof dw0); memcpy(db, db0, sizeof db0);
                    sf_layernorm_backward(dx, with ? dw : NULL, with ? db : NULL, dy, x, w, mean, rstd, N, C);
                    if (memcmp(dx, dx_ref, sizeof dx) || memcmp(dw, dw_ref, sizeof dw) || memcmp(db, db_ref, sizeof db))
                        fail_msg("%s kernels, N %d C %d%s: dinp %s, dweight %s, dbias %s", sets[k], N, C,
                                 with ? "" : " (no dweight, dbias)", memcmp(dx, dx_ref, sizeof dx) ? "differs" : "ok",
                                 memcmp(dw, dw_ref, sizeof dw) ? "differs" : "ok", memcmp(db, db_ref, sizeof db) ? "differs" : "ok");
                    ran++;
                }
            }
        }
    sf_matmul_use(NULL);
    assert_true(ran >= 10 * 4 * 2);
}

static void test_activations(void **state) {
    (void)state;
    const float x[] = {-2, -0.5f, 0, 0.5f, 3};
    float y[5];
    sf_relu_forward(y, x, 5);
    NEAR(y[0], 0, 0); NEAR(y[1], 0, 0); NEAR(y[2], 0, 0); NEAR(y[3], 0.5, 0); NEAR(y[4], 3, 0);
    sf_gelu_forward(y, x, 5);
    for (int i = 0; i < 5; i++) {
        double v = x[i];
        double want = 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
        NEAR(y[i], want, 1e-6);
    }
    /* known values of GELU-tanh: gelu(1) = 0.841192, gelu(-1) = -0.158808 */
    const float one[] = {1, -1};
    sf_gelu_forward(y, one, 2);
    NEAR(y[0], 0.841192, 1e-5); NEAR(y[1], -0.158808, 1e-5);
}

/* GELU's tanh is computed without libm (ops.c's tanh_fast). Over a dense sweep of inputs (the series,
 * the exponential, the seam between them, tanh = 1, tiny values) the forward and the backward must be
 * no less accurate, against the formula in double, than the same float formula with libm's tanhf; and
 * the errors must be small in themselves. */
static void test_gelu_sweep(void **state) {
    (void)state;
    enum { N = 200001 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *dx = calloc(N, sizeof *dx), *one = malloc(N * sizeof *one);
    assert_non_null(one);
    for (int i = 0; i < N; i++) {
        x[i] = -12.0f + 24.0f * (float)i / (N - 1);
        one[i] = 1.0f;
    }
    x[0] = 1e-30f, x[1] = -3e-5f, x[2] = 0.54999f / 0.7978846f, x[3] = 0.55001f / 0.7978846f;
    sf_gelu_forward(y, x, N);
    sf_gelu_backward(dx, one, x, N);
    double ours = 0.0, libm = 0.0, ours_d = 0.0, libm_d = 0.0;
    const double k = sqrt(2 / 3.14159265358979323846);
    for (int i = 0; i < N; i++) {
        double v = x[i], u = k * (v + 0.044715 * v * v * v), t = tanh(u);
        double want = 0.5 * v * (1 + t);
        double dwant = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
        float xf = x[i], uf = 0.7978845608028654f * (xf + 0.044715f * xf * xf * xf), tf = tanhf(uf);
        float yl = 0.5f * xf * (1.0f + tf);
        float dl = 0.5f * (1.0f + tf) + 0.5f * xf * (1.0f - tf * tf) * (0.7978845608028654f * (1.0f + 3.0f * 0.044715f * xf * xf));
        double scale = fabs(want) > 1e-3 ? fabs(want) : 1e-3; /* relative, or absolute near GELU's zeros */
        if (fabs(y[i] - want) / scale > ours) ours = fabs(y[i] - want) / scale;
        if (fabs(yl - want) / scale > libm) libm = fabs(yl - want) / scale;
        if (fabs(dx[i] - dwant) > ours_d) ours_d = fabs(dx[i] - dwant);
        if (fabs(dl - dwant) > libm_d) libm_d = fabs(dl - dwant);
    }
    print_message("gelu sweep: worst error %.3g (with libm tanhf %.3g), derivative %.3g (%.3g)\n", ours, libm, ours_d,
                  libm_d);
    assert_true(ours <= 1.25 * libm && ours < 1e-4);
    assert_true(ours_d <= 1.25 * libm_d && ours_d < 2e-6);
    free(x); free(y); free(dx); free(one);
}

/* Softmax against softmax in double (the exponentials from libm's expf), over
 * rows of every spread (down to e^-200, subnormal and zero probabilities), each probability is within
 * a few float roundings relative (absolutely tiny where probabilities reach the subnormals); -inf gives
 * exactly 0 and NaN stays NaN. */
static void test_softmax_sweep(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 31);
    double worst = 0.0;
    for (int row = 0; row < 20000; row++) {
        int n = 1 + row % 40;
        float x[40], p[40];
        float spread = (float)(row % 7) * 15.0f + 0.1f; /* scores from 0.1 to 90 apart: e^-200 and less */
        for (int i = 0; i < n; i++) x[i] = spread * sf_rng_normal(&r);
        if (row % 5 == 0) x[row % n] = -INFINITY;
        sf_softmax_forward(p, x, n);
        double m = -INFINITY, sum = 0.0;
        for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
        /* the difference from the max is a float in any float softmax (libm's or PyTorch's): the rest in double */
        for (int i = 0; i < n; i++) sum += exp((double)(x[i] - (float)m));
        for (int i = 0; i < n; i++) {
            double want = exp((double)(x[i] - (float)m)) / sum;
            if (x[i] == -INFINITY) assert_true(p[i] == 0.0f);
            double err = fabs(p[i] - want);
            if (want < 1e-36) { /* near float's subnormals relative precision is gone, for libm too */
                assert_true(err < 1e-42);
                continue;
            }
            if (err / want > worst) worst = err / want;
        }
    }
    print_message("softmax sweep: worst relative error %.3g\n", worst);
    assert_true(worst < 2.5e-7);
    const float x[3] = {1.0f, NAN, 0.0f};
    float p[3];
    sf_softmax_forward(p, x, 3);
    assert_true(isnan(p[1]));
}

/* Returns softmax(x(n)) into p as ops.h specifies it, one element at a time: the maximum (NaNs passed
 * over), libm's expf of each difference from it, their sum in double in order, the reciprocal rounded to
 * float, one multiplication each. */
static void softmax_spec(float *p, const float *x, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        p[i] = m == -INFINITY ? 0.0f : expf(x[i] - m);
        sum += p[i];
    }
    if (m == -INFINITY) return;
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) p[i] *= inv;
}

/* With the AVX-512 kernels softmax computes libm's expf sixteen at a time (ops.c, expf_16): every kernel
 * set must give the bits of softmax_spec, for rows of 1 to 40 (across the 16-lane blocks), masked keys,
 * every difference from the maximum down past expf's underflow (a dense sweep of [-110, 0] in rows whose
 * maximum is 0, so each value is the difference itself), signed zeros, infinities and NaN, in place too.
 * The spec uses this machine's libm: where its expf is not glibc's (the one expf_16 copies; glibc >= 2.27
 * on a processor with FMA), the AVX-512 comparison is skipped, saying so. */
static void test_softmax_kernels(void **state) {
    (void)state;
    int glibc_fma = 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 27)) && defined(__x86_64__)
    glibc_fma = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
#endif
    static const char *sets[] = {"c", "avx2", "avx512"};
    enum { ROWS = 120000, MAXN = 40 };
    float *x = malloc((size_t)ROWS * MAXN * sizeof *x), *want = malloc((size_t)ROWS * MAXN * sizeof *x);
    float *got = malloc((size_t)ROWS * MAXN * sizeof *x);
    int *len = malloc(ROWS * sizeof *len);
    assert_non_null(len);
    sf_rng r;
    sf_rng_seed(&r, 32);
    const float specials[] = {0.0f, -0.0f, -INFINITY, INFINITY, NAN, -87.9f, -88.0f, -103.3f, -103.5f, -104.0f, 1e-30f, -1e30f};
    for (int row = 0; row < ROWS; row++) {
        float *xr = x + (size_t)row * MAXN;
        int n = row < ROWS / 2 ? 16 : 1 + row % MAXN;
        len[row] = n;
        if (row < ROWS / 2) { /* the sweep: 0, then 15 differences, 1e-4 apart in all over [-110, 0] */
            xr[0] = 0.0f;
            for (int i = 1; i < 16; i++) xr[i] = -110.0f * (float)((size_t)row * 15 + i - 1) / (float)(ROWS / 2 * 15);
            continue;
        }
        float spread = (float)(row % 9) * 12.0f + 0.5f;
        for (int i = 0; i < n; i++) xr[i] = spread * sf_rng_normal(&r);
        if (row % 3 == 0) xr[row % n] = -INFINITY;
        if (row % 7 == 0) xr[(row / 7) % n] = specials[(row / 7) % (sizeof specials / sizeof *specials)];
        if (row % 11 == 0)
            for (int i = n / 2; i < n; i++) xr[i] = -INFINITY; /* a causal row */
        if (row % 101 == 0)
            for (int i = 0; i < n; i++) xr[i] = -INFINITY; /* all masked */
    }
    for (int row = 0; row < ROWS; row++) softmax_spec(want + (size_t)row * MAXN, x + (size_t)row * MAXN, len[row]);
    int ran = 0;
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        if (k == 2 && !glibc_fma) {
            print_message("softmax kernels: this libm's expf is not glibc's FMA one: avx512 not compared\n");
            continue;
        }
        ran++;
        for (int row = 0; row < ROWS; row++) {
            const float *xr = x + (size_t)row * MAXN;
            float *g = got + (size_t)row * MAXN;
            if (row % 2) sf_softmax_forward(g, xr, len[row]);
            else { /* in place */
                memcpy(g, xr, (size_t)len[row] * sizeof *g);
                sf_softmax_forward(g, g, len[row]);
            }
            if (memcmp(g, want + (size_t)row * MAXN, (size_t)len[row] * sizeof *g)) {
                int i = 0;
                while (!memcmp(g + i, want + (size_t)row * MAXN + i, sizeof *g)) i++;
                fail_msg("%s kernels, row %d (n %d), element %d: x %a, softmax %a, spec %a", sets[k], row, len[row], i,
                         (double)xr[i], (double)g[i], (double)want[(size_t)row * MAXN + i]);
            }
        }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
    free(x); free(want); free(got); free(len);
}

/* softmax adds its exponentials sixteen at a time when that gives the sum one at a time exactly (ops.c,
 * SOFTMAX_EXACT_N): every kernel set must return, for every row, the sum of its exponentials in order.
 * Random rows of 1 to 40, and rows made to tell the orders apart: many exponentials of 1 (scores at the
 * maximum, 0) with small ones whose last bits lie below the double's reach once the sum passes 16, from
 * 2^-33 up to just past the 2^-24 the shortcut needs (so a threshold set a few binades too low sums them
 * in another order and gets a different double), and rows whose exponentials straddle 2^-24 itself. */
static void test_softmax_expsum(void **state) {
    (void)state;
    static const char *sets[] = {"c", "avx2", "avx512"};
    enum { ROWS = 40000, MAXN = 40 };
    sf_rng r;
    sf_rng_seed(&r, 33);
    int ran = 0;
    const float t24 = logf(0x1p-24f); /* e^t24 is about 2^-24 */
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        ran++;
        sf_rng_seed(&r, 33);
        int differs_in_order = 0;
        for (int row = 0; row < ROWS; row++) {
            float x[MAXN], e[MAXN];
            int n, kind = row % 4;
            if (kind == 0) { /* random scores */
                n = 1 + row % MAXN;
                float spread = (float)(row % 9) * 4.0f + 0.5f;
                for (int i = 0; i < n; i++) x[i] = spread * sf_rng_normal(&r);
                if (row % 8 == 0) x[row % n] = -INFINITY;
            } else {
                n = kind == 3 ? 1 + row % 32 : 17 + row % 16; /* 17..32: sums past 16 */
                int ones = 1 + (int)(sf_rng_uniform(&r) * (float)(n - 1));
                for (int i = 0; i < n; i++) {
                    if (i < ones) x[i] = 0.0f;
                    else if (kind == 1) x[i] = -23.0f + 6.6f * sf_rng_uniform(&r); /* e in 2^-33 .. 2^-23.5 */
                    else if (kind == 2) x[i] = t24 - 2.8f + 2.8f * sf_rng_uniform(&r); /* e in 2^-28 .. 2^-24 */
                    else x[i] = t24 + 1e-5f * (sf_rng_uniform(&r) - 0.5f); /* e at 2^-24, either side */
                }
                for (int i = n - 1; i > 0; i--) { /* shuffled, so the ones land in any lane */
                    int j = (int)(sf_rng_uniform(&r) * (float)(i + 1)) % (i + 1);
                    float t = x[i]; x[i] = x[j]; x[j] = t;
                }
            }
            double got = sf_softmax_expsum(e, x, n), want = 0.0, pairs = 0.0;
            for (int i = 0; i < n; i++) want += e[i];
            if (memcmp(&got, &want, sizeof got))
                fail_msg("%s kernels, row %d (n %d): sum of the exponentials %a, in order %a", sets[k], row, n, got, want);
            /* the rows of kinds 1 and 2 do tell the orders apart: pairwise, they often differ */
            for (int i = 0; i + 1 < n; i += 2) pairs += (double)e[i] + e[i + 1];
            if (n % 2) pairs += e[n - 1];
            differs_in_order += kind != 0 && pairs != want;
        }
        assert_true(differs_in_order > ROWS / 20);
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
}

static void test_sinusoid(void **state) {
    (void)state;
    int C = 16;
    float pe[16];
    for (int pos = 0; pos < 50; pos += 7) {
        sf_sinusoid_forward(pe, pos, C);
        for (int i = 0; i < C / 2; i++) {
            double angle = pos / pow(10000.0, 2.0 * i / C);
            NEAR(pe[2 * i], sin(angle), 1e-6);
            NEAR(pe[2 * i + 1], cos(angle), 1e-6);
        }
    }
    sf_sinusoid_forward(pe, 0, C); /* position 0: sin 0 = 0, cos 0 = 1 */
    for (int i = 0; i < C; i++) NEAR(pe[i], i % 2 ? 1 : 0, 0);
    /* the first width asked for is served from a table of the first 128 positions: it, a later position
     * and another width all give exactly the formula computed in double and rounded once */
    static const int widths[] = {16, 8, 64};
    for (int w = 0; w < 3; w++)
        for (int pos = 0; pos < 300; pos += 13) {
            float got[64];
            int c = widths[w];
            sf_sinusoid_forward(got, pos, c);
            for (int i = 0; i < c; i += 2) {
                double angle = (double)pos / pow(10000.0, (double)i / (double)c);
                assert_true(got[i] == (float)sin(angle));
                assert_true(got[i + 1] == (float)cos(angle));
            }
        }
}

/* Returns the dot product as ops.h specifies sf_dot: eight lanes (element i into lane i % 8, a product
 * then an addition, each rounded), the lanes added in a fixed tree, the leftover elements after it. */
static float dot_spec(const float *a, const float *b, int n) {
    volatile float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            volatile float p = a[i + k] * b[i + k];
            acc[k] = acc[k] + p;
        }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) {
        volatile float p = a[i] * b[i];
        s = s + p;
    }
    return s;
}

/* sf_dot_rows gives, bit for bit, sf_dot of every query and key (and the spec's value), for head sizes
 * with and without leftovers, key counts across the 16-key blocks, strides wider than the head, and a
 * head longer than the blocked path takes; nothing past nk in a row is written. */
static void test_dot_rows(void **state) {
    (void)state;
    enum { MAXK = 40, MAXN = 300, LD = 301, NQ = 3, LDO = MAXK + 1 };
    static float q[NQ * LD], k[MAXK * LD], got[NQ * LDO];
    sf_rng r;
    sf_rng_seed(&r, 5);
    randn(&r, q, NQ * LD);
    randn(&r, k, MAXK * LD);
    static const int ns[] = {16, 64, 13, 5, 8, 1, 300};
    static const char *sets[] = {"c", "avx2", "avx512"}; /* the vector paths come with the avx2 and avx512 kernels */
    int differ = 0;
    for (int ks = 0; ks < 3; ks++) {
    if (!sf_matmul_use(sets[ks])) continue;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (int nk = 1; nk <= MAXK; nk += (nk < 18 ? 1 : 7)) {
            int n = ns[a], ld = nk % 2 ? n : LD;
            for (int t = 0; t < NQ; t++) got[t * LDO + nk] = 12345.0f;
            sf_dot_rows(got, LDO, q, ld, NQ, k, ld, nk, n);
            for (int t = 0; t < NQ; t++) {
                const float *qt = q + (size_t)t * ld;
                for (int j = 0; j < nk; j++) {
                    float want = dot_spec(qt, k + (size_t)j * ld, n), one = sf_dot(qt, k + (size_t)j * ld, n);
                    assert_memory_equal(&got[t * LDO + j], &want, sizeof want);
                    assert_memory_equal(&one, &want, sizeof want);
                    /* a naive sum would differ somewhere: the test can tell the orders apart */
                    float naive = 0.0f;
                    for (int i = 0; i < n; i++) naive += qt[i] * k[(size_t)j * ld + i];
                    differ += naive != want;
                }
                assert_true(got[t * LDO + nk] == 12345.0f);
            }
        }
    }
    sf_matmul_use(NULL);
    assert_true(differ > 0);
}

/* sf_dot_rows keeps the signs of zero scores: queries and keys whose products are all -0 in some lanes
 * or all lanes (a zero query against negative keys, zeros of both signs), so that a kernel starting its
 * lanes at the first product instead of at 0 + it must put the +0 back; every kernel set, head sizes
 * with and without leftovers, ragged key counts. */
static void test_dot_rows_zeros(void **state) {
    (void)state;
    enum { NQ = 6, MAXK = 17, MAXN = 40, LD = 41, LDO = MAXK + 2 };
    static const char *sets[] = {"c", "avx2", "avx512"};
    static float q[NQ * LD], k[MAXK * LD], got[NQ * LDO];
    sf_rng r;
    sf_rng_seed(&r, 73);
    for (int j = 0; j < MAXK * LD; j++) k[j] = j % 3 ? -fabsf(sf_rng_normal(&r)) - 0.5f : fabsf(sf_rng_normal(&r)) + 0.5f;
    for (int i = 0; i < LD; i++) {
        q[0 * LD + i] = 0.0f;                            /* +0 x negative keys: -0 products */
        q[1 * LD + i] = -0.0f;                           /* -0 x positive keys: -0 products */
        q[2 * LD + i] = i % 8 < 4 ? -0.0f : 0.0f;        /* half the lanes' products -0 */
        q[3 * LD + i] = i % 8 == 5 ? sf_rng_normal(&r) : -0.0f; /* one lane nonzero */
        q[4 * LD + i] = i < 8 ? -0.0f : sf_rng_normal(&r);      /* the first block zero */
        q[5 * LD + i] = sf_rng_normal(&r);
    }
    /* keys of one sign throughout, so some rows' products are all -0 */
    for (int i = 0; i < LD; i++) k[2 * LD + i] = -1.0f - (float)i, k[5 * LD + i] = 2.0f + (float)i;
    static const int ns[] = {16, 8, 24, 13, 5, 40};
    int zeros = 0, pos = 0;
    for (int ks = 0; ks < 3; ks++) {
        if (!sf_matmul_use(sets[ks])) continue;
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (int nk = 1; nk <= MAXK; nk++) {
                int n = ns[a];
                sf_dot_rows(got, LDO, q, LD, NQ, k, LD, nk, n);
                for (int t = 0; t < NQ; t++)
                    for (int j = 0; j < nk; j++) {
                        float want = dot_spec(q + t * LD, k + j * LD, n);
                        if (memcmp(&want, &got[t * LDO + j], sizeof want))
                            fail_msg("%s kernels: q %d . k %d over %d dims: %g (sign %d), the order gives %g (sign %d)",
                                     sets[ks], t, j, n, (double)got[t * LDO + j], !!signbit(got[t * LDO + j]), (double)want,
                                     !!signbit(want));
                        zeros += want == 0.0f, pos += want == 0.0f && !signbit(want);
                    }
            }
    }
    sf_matmul_use(NULL);
    assert_true(zeros > 0 && pos == zeros); /* the zero scores were there, all +0 */
}

static void test_rng(void **state) {
    (void)state;
    sf_rng a, b;
    sf_rng_seed(&a, 42);
    sf_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_int_equal(sf_rng_u32(&a), sf_rng_u32(&b));
    sf_rng_seed(&b, 43);
    int same = 0;
    for (int i = 0; i < 100; i++) same += sf_rng_u32(&a) == sf_rng_u32(&b);
    assert_true(same < 3);
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        float u = sf_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
        float z = sf_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    NEAR(sum / 20000, 0, 0.05);
    NEAR(sq / 20000, 1, 0.05);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul),     cmocka_unit_test(test_matmul_kernels), cmocka_unit_test(test_matmul_acc),
        cmocka_unit_test(test_matmul_tiles),
        cmocka_unit_test(test_softmax), cmocka_unit_test(test_layernorm), cmocka_unit_test(test_layernorm_kernels),
        cmocka_unit_test(test_activations), cmocka_unit_test(test_gelu_sweep), cmocka_unit_test(test_softmax_sweep), cmocka_unit_test(test_softmax_kernels), cmocka_unit_test(test_softmax_expsum), cmocka_unit_test(test_sinusoid), cmocka_unit_test(test_dot_rows), cmocka_unit_test(test_dot_rows_zeros),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
