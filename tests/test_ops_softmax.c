/* test_ops_softmax.c - the softmax over many rows at once (sf_softmax_rows, sf_attn_softmax and its
 * backward, which with AVX-512 run sixteen rows side by side, one per lane) against the row path they
 * replace, bit for bit, with every kernel set: random rows, causal rows, rows whose sums depend on the
 * order of their additions, and the special values. */
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

enum { LD = 72, MAXN = 70, MAXR = 40 }; /* rows of up to 70 cells (past the lanes' 64: the row path) */
static const char *const sets[] = {"c", "avx2", "avx512"};
static const float specials[] = {0.0f, -0.0f, -INFINITY, INFINITY, NAN, -87.9f, -103.5f, 1e-30f, -1e30f, 16.6f};

/* Returns whether a and b hold the same bits over n floats (with nan_any, any NaN matches any NaN); if
 * not, says where. */
static int same_bits(const char *what, const char *set, int row, const float *a, const float *b, int n, int nan_any) {
    for (int i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a) && !(nan_any && isnan(a[i]) && isnan(b[i]))) {
            print_message("%s, %s kernels, row %d, cell %d: %a against the row path's %a\n", what, set, row, i,
                          (double)a[i], (double)b[i]);
            return 0;
        }
    return 1;
}

/* Returns same_bits without nan_any. */
static int same(const char *what, const char *set, int row, const float *a, const float *b, int n) {
    return same_bits(what, set, row, a, b, n, 0);
}

/* Fills row x(n) with one of several kinds of scores (by kind): normal ones of varied spread; many at
 * the maximum with others about 16.6 below it (exponentials near 2^-24, where the sum's shortcut stops
 * being exact, and their sum depends on its order); a few special values; all -inf; NaN and -inf only. */
static void fill_row(sf_rng *r, float *x, int n, int kind) {
    float spread = 0.5f + (float)(kind % 9) * 6.0f;
    for (int i = 0; i < n; i++) x[i] = spread * sf_rng_normal(r);
    switch (kind % 8) {
    case 1: /* order-sensitive sums: ones and exponentials of about 2^-24 .. 2^-26 */
        for (int i = 0; i < n; i++) x[i] = i % 3 ? 0.0f : -16.0f - 2.0f * sf_rng_uniform(r);
        break;
    case 2: x[sf_rng_int(r, n)] = specials[sf_rng_int(r, (int)(sizeof specials / sizeof *specials))]; break;
    case 3:
        for (int i = 0; i < n; i++) x[i] = -INFINITY;
        break;
    case 4:
        for (int i = 0; i < n; i++) x[i] = i % 2 ? NAN : -INFINITY;
        break;
    case 5: x[sf_rng_int(r, n)] = -INFINITY; break;
    default: break;
    }
}

/* Returns the largest float of the form expf(x) at most want (want in [2^-60, 1)). */
static float expf_below(double want, float *x) {
    float t = logf((float)want);
    while (expf(t) > want) t = nextafterf(t, -INFINITY);
    while (expf(nextafterf(t, INFINITY)) <= want) t = nextafterf(t, INFINITY);
    *x = t;
    return expf(t);
}

/* Makes x(ORDER_N) a row of scores whose exponentials summed in ascending order (as ops.h says) and in
 * descending order give reciprocals that round to different floats, so that every probability differs:
 * e^0 = 1, three exponentials that tune the sum, and twenty of about 0.75 * 2^-52, each of which rounds
 * the running sum up by an ulp in ascending order while in descending order they add up to only 15 ulps.
 * The tuning puts the midpoint between two floats (the k-th from 2/3) between the two reciprocals.
 * Returns whether the two orders do disagree for this k (the double roundings do not always allow it). */
enum { ORDER_N = 24 };
static int order_row(float *x, int k) {
    float lo = 0.6666f + (float)k * 0x1p-24f, hi = nextafterf(lo, 1.0f);
    double mid = ((double)lo + (double)hi) / 2, target = 1.0 / mid;
    x[0] = 0.0f;
    for (int i = 4; i < ORDER_N; i++) x[i] = -36.3f;
    double tiny = expf(-36.3f), rest = target - 1.0 - 17.5 * 0x1p-52;
    (void)tiny;
    for (int i = 1; i < 4; i++) rest -= expf_below(rest, &x[i]);
    double fw = 0.0, bw = 0.0;
    for (int i = 0; i < ORDER_N; i++) fw += expf(x[i]);
    for (int i = ORDER_N - 1; i >= 0; i--) bw += expf(x[i]);
    return (float)(1.0 / fw) != (float)(1.0 / bw);
}

/* sf_attn_softmax against the loop it stands for (attention_rows' before it): every kernel set, blocks
 * of 1 to 40 rows (whole and partial sixteens), rows of 1 to 70 cells at a stride, each seeing from none
 * to all of its keys (causal rows among them), and the cells past a row's n left as they were. */
static void test_attn_softmax(void **state) {
    (void)state;
    size_t cells = (size_t)MAXR * LD;
    float *sc0 = malloc(cells * sizeof(float)), *sc = malloc(cells * sizeof(float)), *ss = malloc(cells * sizeof(float));
    float *pr = malloc(cells * sizeof(float)), *rsc = malloc(cells * sizeof(float)), *rss = malloc(cells * sizeof(float));
    float *rpr = malloc(cells * sizeof(float));
    assert_non_null(rpr);
    int n[MAXR], seen[MAXR], ran = 0;
    sf_rng r;
    sf_rng_seed(&r, 14);
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        ran++;
        for (int trial = 0; trial < 600; trial++) {
            int rows = 1 + trial % MAXR, common = 1 + sf_rng_int(&r, MAXN);
            for (int t = 0; t < rows; t++) {
                /* most blocks with one length (an attention's), some mixed, some long */
                n[t] = trial % 5 == 0 ? 1 + sf_rng_int(&r, MAXN) : trial % 5 == 1 ? 1 + sf_rng_int(&r, 64) : common;
                int c = trial % 3 == 0; /* causal: query t of the block sees t + 1 keys (or all) */
                seen[t] = c ? (t + 1 < n[t] ? t + 1 : n[t]) : trial % 7 == 0 ? sf_rng_int(&r, n[t] + 3) : n[t];
                fill_row(&r, sc0 + (size_t)t * LD, n[t], trial + t);
                for (int j = n[t]; j < LD; j++) sc0[(size_t)t * LD + j] = 12345.0f; /* never read nor written */
            }
            float inv = 1.0f / sqrtf((float)(1 + trial % 64));
            memcpy(sc, sc0, cells * sizeof(float));
            memcpy(rsc, sc0, cells * sizeof(float));
            for (size_t i = 0; i < cells; i++) ss[i] = pr[i] = rss[i] = rpr[i] = -7.0f;
            sf_attn_softmax(pr, ss, sc, LD, rows, seen, n, inv);
            for (int t = 0; t < rows; t++) { /* the row path */
                float *s = rsc + (size_t)t * LD, *x = rss + (size_t)t * LD;
                int m = seen[t] < n[t] ? seen[t] : n[t];
                for (int j = 0; j < m; j++) x[j] = s[j] * inv;
                for (int j = m; j < n[t]; j++) s[j] = x[j] = -INFINITY;
                sf_softmax_forward(rpr + (size_t)t * LD, x, n[t]);
            }
            for (int t = 0; t < rows; t++) {
                size_t o = (size_t)t * LD;
                if (!same("scores", sets[k], t, sc + o, rsc + o, LD) || !same("scaled", sets[k], t, ss + o, rss + o, LD) ||
                    !same("probs", sets[k], t, pr + o, rpr + o, LD))
                    fail_msg("sf_attn_softmax, trial %d (%d rows, row %d: n %d, seen %d)", trial, rows, t, n[t], seen[t]);
            }
        }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
    free(sc0); free(sc); free(ss); free(pr); free(rsc); free(rss); free(rpr);
}

/* sf_softmax_rows against sf_softmax_forward row by row, in place and not, rows of 1 to 70. */
static void test_softmax_rows(void **state) {
    (void)state;
    size_t cells = (size_t)MAXR * MAXN;
    float *x = malloc(cells * sizeof(float)), *got = malloc(cells * sizeof(float)), *want = malloc(cells * sizeof(float));
    assert_non_null(want);
    sf_rng r;
    sf_rng_seed(&r, 15);
    int ran = 0;
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        ran++;
        for (int trial = 0; trial < 400; trial++) {
            int rows = 1 + trial % MAXR, n = 1 + (trial * 7) % MAXN;
            for (int t = 0; t < rows; t++) fill_row(&r, x + (size_t)t * n, n, trial + 3 * t);
            for (int t = 0; t < rows; t++) sf_softmax_forward(want + (size_t)t * n, x + (size_t)t * n, n);
            if (trial % 2) sf_softmax_rows(got, x, rows, n);
            else {
                memcpy(got, x, (size_t)rows * n * sizeof(float));
                sf_softmax_rows(got, got, rows, n);
            }
            for (int t = 0; t < rows; t++)
                if (!same("softmax rows", sets[k], t, got + (size_t)t * n, want + (size_t)t * n, n))
                    fail_msg("sf_softmax_rows, trial %d (%d rows of %d)", trial, rows, n);
        }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
    free(x); free(got); free(want);
}

/* The sum of a row's exponentials in ascending order is part of its result: rows made so that the
 * descending order gives other probabilities (order_row) through sf_softmax_rows and sf_attn_softmax
 * (scale 1) against the row path, with every kernel set (a kernel adding in another order fails). */
static void test_softmax_sum_order(void **state) {
    (void)state;
    enum { R = 16 };
    float x[R * ORDER_N], want[R * ORDER_N], got[R * ORDER_N], sc[R * ORDER_N], ss[R * ORDER_N], pr[R * ORDER_N];
    int rows = 0, n[R], seen[R], ran = 0;
    for (int k = 0; k < 400 && rows < R; k++) rows += order_row(x + rows * ORDER_N, k);
    print_message("softmax sum order: %d rows whose two orders disagree\n", rows);
    assert_true(rows >= 4);
    for (int t = 0; t < rows; t++) n[t] = seen[t] = ORDER_N;
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        ran++;
        for (int t = 0; t < rows; t++) sf_softmax_forward(want + t * ORDER_N, x + t * ORDER_N, ORDER_N);
        sf_softmax_rows(got, x, rows, ORDER_N);
        memcpy(sc, x, sizeof x);
        sf_attn_softmax(pr, ss, sc, ORDER_N, rows, seen, n, 1.0f);
        for (int t = 0; t < rows; t++) {
            if (!same("softmax rows, order", sets[k], t, got + t * ORDER_N, want + t * ORDER_N, ORDER_N))
                fail_msg("sf_softmax_rows: the sum's order");
            if (!same("attention softmax, order", sets[k], t, pr + t * ORDER_N, want + t * ORDER_N, ORDER_N))
                fail_msg("sf_attn_softmax: the sum's order");
        }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
}

/* sf_attn_softmax_backward against what attn_backward did row by row (a zeroed row, sf_softmax_backward,
 * then the scaling): probabilities with masked zeros from the forward, gradients of varied magnitude and
 * special values, and rows whose first two terms of the dot product cancel (+-2^40 p): in ascending order
 * exactly, in descending order after the others have been rounded to 2^40's ulp, so the dot product
 * depends on its order (checked to happen). */
static void test_attn_softmax_backward(void **state) {
    (void)state;
    size_t cells = (size_t)MAXR * LD;
    float *x = malloc(cells * sizeof(float)), *p = malloc(cells * sizeof(float)), *dp = malloc(cells * sizeof(float));
    float *dss = malloc(cells * sizeof(float)), *dsc = malloc(cells * sizeof(float)), *rss = malloc(cells * sizeof(float));
    float *rsc = malloc(cells * sizeof(float));
    assert_non_null(rsc);
    int n[MAXR], ran = 0, order_told = 0;
    sf_rng r;
    sf_rng_seed(&r, 16);
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(sets[k])) continue;
        ran++;
        for (int trial = 0; trial < 600; trial++) {
            int rows = 1 + trial % MAXR, common = 1 + sf_rng_int(&r, MAXN);
            for (int t = 0; t < rows; t++) {
                n[t] = trial % 4 == 0 ? 1 + sf_rng_int(&r, MAXN) : common;
                float *xr = x + (size_t)t * LD, *pr = p + (size_t)t * LD, *d = dp + (size_t)t * LD;
                fill_row(&r, xr, n[t], trial + t);
                if (trial % 3 == 0) /* causal */
                    for (int j = t + 1; j < n[t]; j++) xr[j] = -INFINITY;
                sf_softmax_forward(pr, xr, n[t]);
                for (int j = 0; j < n[t]; j++) d[j] = sf_rng_normal(&r) * ldexpf(1.0f, sf_rng_int(&r, 40) - 20);
                if (trial % 5 == 2 && n[t] >= 3 && trial % 3) { /* two equal terms of opposite sign, 2^40 */
                    xr[0] = xr[1] = 0.0f;
                    sf_softmax_forward(pr, xr, n[t]);
                    d[0] = 0x1p40f * (1.0f + sf_rng_uniform(&r));
                    d[1] = -d[0];
                }
                if (trial % 11 == 0) d[sf_rng_int(&r, n[t])] = specials[sf_rng_int(&r, (int)(sizeof specials / sizeof *specials))];
                if (trial % 13 == 0) pr[sf_rng_int(&r, n[t])] = trial % 2 ? NAN : -0.0f;
                for (int j = n[t]; j < LD; j++) pr[j] = d[j] = 777.0f; /* never read */
            }
            float inv = 1.0f / sqrtf((float)(1 + trial % 64));
            for (size_t i = 0; i < cells; i++) dss[i] = dsc[i] = rss[i] = rsc[i] = -5.0f;
            sf_attn_softmax_backward(dsc, dss, dp, p, LD, rows, n, inv);
            for (int t = 0; t < rows; t++) {
                size_t o = (size_t)t * LD;
                memset(rss + o, 0, (size_t)n[t] * sizeof(float));
                sf_softmax_backward(rss + o, dp + o, p + o, n[t]);
                for (int j = 0; j < n[t]; j++) rsc[o + j] = rss[o + j] * inv;
                if (k == 0) { /* the dot in reverse order */
                    double fw = 0.0, bw = 0.0;
                    for (int j = 0; j < n[t]; j++)
                        if (p[o + j] != 0.0f) fw += (double)p[o + j] * dp[o + j];
                    for (int j = n[t] - 1; j >= 0; j--)
                        if (p[o + j] != 0.0f) bw += (double)p[o + j] * dp[o + j];
                    order_told += !isnan(fw) && (float)fw != (float)bw;
                }
            }
            for (int t = 0; t < rows; t++) {
                size_t o = (size_t)t * LD;
                /* a NaN's sign and payload: p (dp - dot) with two NaN operands returns one of them, and
                 * which one is the compiler's choice of operand order in the row path (unoptimised builds
                 * differ), so NaNs only have to be NaNs here */
                if (!same_bits("dscaled", sets[k], t, dss + o, rss + o, LD, 1) ||
                    !same_bits("dscores", sets[k], t, dsc + o, rsc + o, LD, 1))
                    fail_msg("sf_attn_softmax_backward, trial %d (%d rows, row %d: n %d)", trial, rows, t, n[t]);
            }
        }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 1);
    print_message("softmax backward: %d rows whose dot in reverse order rounds otherwise\n", order_told);
    assert_true(order_told > 0);
    free(x); free(p); free(dp); free(dss); free(dsc); free(rss); free(rsc);
}

/* sf_transpose against the definition, for sizes across the 16 x 16 blocks, leaving the rest of dst. */
static void test_transpose(void **state) {
    (void)state;
    enum { M = 40 };
    float src[M * 45], dst[M * 43];
    sf_rng r;
    sf_rng_seed(&r, 17);
    for (int i = 0; i < M * 45; i++) src[i] = sf_rng_normal(&r);
    for (int rows = 1; rows <= M; rows += 3)
        for (int cols = 1; cols <= M; cols += 5) {
            for (int i = 0; i < M * 43; i++) dst[i] = -1.0f;
            sf_transpose(dst, 43, src, 45, rows, cols);
            for (int c = 0; c < M; c++)
                for (int t = 0; t < 43; t++) {
                    float want = c < cols && t < rows ? src[t * 45 + c] : -1.0f;
                    if (memcmp(&dst[c * 43 + t], &want, sizeof want))
                        fail_msg("sf_transpose %d x %d: dst[%d][%d] %g, want %g", rows, cols, c, t, (double)dst[c * 43 + t],
                                 (double)want);
                }
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_softmax),
        cmocka_unit_test(test_softmax_rows),
        cmocka_unit_test(test_softmax_sum_order),
        cmocka_unit_test(test_attn_softmax_backward),
        cmocka_unit_test(test_transpose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
