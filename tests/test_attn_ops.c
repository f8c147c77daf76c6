/* test_attn_ops.c - the attention's per-head kernels of ops.h bit for bit against the per-call products
 * they replace (sf_matmul_acc into zeroed buffers, sf_dot), with every kernel set, on ragged shapes. */
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

static const char *const sets[] = {"c", "avx2", "avx512"};
static const int sizes[] = {1, 2, 12, 13, 16, 17, 24, 25};
enum { NS = sizeof sizes / sizeof sizes[0], MAXS = 25, MAXHS = 24, LDP = MAXS + 3, LDX = 3 * MAXHS + 5,
       SENT = 0x7fc01234 /* a NaN no product makes: marks the cells nothing may write */ };

/* Fills p(n) with normal(0, 1) values from r, every seventh a zero of either sign (products of -0 and
 * +0 are where "written" and "added to zeros" could part). */
static void fill(sf_rng *r, float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = i % 7 == 3 ? (i % 2 ? -0.0f : 0.0f) : sf_rng_normal(r);
}

/* Fills p(n) with the sentinel's bits. */
static void sentinel(float *p, size_t n) {
    uint32_t b = SENT;
    for (size_t i = 0; i < n; i++) memcpy(p + i, &b, sizeof b);
}

/* Returns whether two buffers of n floats hold the same bits. */
static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* sf_attn_values_backward: dprobs = dout . v^T and dv = probs^T . dout are, bit for bit, sf_matmul_acc
 * into zeroed cells (and the fmaf chains of the contract), whatever the buffers held; the cells around
 * them (past nk in a row of dprobs, past HS in a row of dv, rows past the ends) are not written. */
static void test_values_backward(void **state) {
    (void)state;
    static float dout[MAXS * LDX], vt[MAXHS * LDP], probs[MAXS * LDP];
    static float dp_want[MAXS * LDP], dp_got[MAXS * LDP], dv_want[MAXS * LDX], dv_got[MAXS * LDX];
    sf_rng r;
    sf_rng_seed(&r, 71);
    fill(&r, dout, MAXS * LDX); fill(&r, vt, MAXHS * LDP); fill(&r, probs, MAXS * LDP);
    static const int hss[] = {16, 8, 5, 24};
    int ran = 0;
    for (int ks = 0; ks < 3; ks++) {
        if (!sf_matmul_use(sets[ks])) continue;
        for (size_t hi = 0; hi < sizeof hss / sizeof *hss; hi++)
            for (int a = 0; a < NS; a++)
                for (int b = 0; b < NS; b++) {
                    int HS = hss[hi], nq = sizes[a], nk = sizes[b];
                    sentinel(dp_want, MAXS * LDP); sentinel(dv_want, MAXS * LDX);
                    for (int t = 0; t < nq; t++) memset(dp_want + t * LDP, 0, (size_t)nk * sizeof(float));
                    for (int j = 0; j < nk; j++) memset(dv_want + j * LDX, 0, (size_t)HS * sizeof(float));
                    sf_matmul_acc(dp_want, LDP, dout, LDX, 1, vt, LDP, nq, nk, HS);
                    sf_matmul_acc(dv_want, LDX, probs, 1, LDP, dout, LDX, nk, HS, nq);
                    /* the contract, one chain at a time */
                    for (int t = 0; t < nq; t++)
                        for (int j = 0; j < nk; j++) {
                            float c = 0.0f;
                            for (int d = 0; d < HS; d++) c = fmaf(dout[t * LDX + d], vt[d * LDP + j], c);
                            assert_memory_equal(&c, dp_want + t * LDP + j, sizeof c);
                        }
                    sentinel(dp_got, MAXS * LDP); sentinel(dv_got, MAXS * LDX);
                    for (int t = 0; t < nq; t++) fill(&r, dp_got + t * LDP, (size_t)nk); /* old contents */
                    sf_attn_values_backward(dp_got, LDP, dv_got, LDX, dout, LDX, vt, LDP, probs, LDP, nq, nk, HS);
                    if (!same_bits(dp_got, dp_want, MAXS * LDP) || !same_bits(dv_got, dv_want, MAXS * LDX))
                        fail_msg("%s kernels: values backward nq %d nk %d HS %d differs from sf_matmul_acc", sets[ks], nq,
                                 nk, HS);
                    ran++;
                }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 4 * NS * NS);
}

/* sf_attn_scores_backward: dq = dscores . k and dk = dscores^T . q, the same way, with q and k in fused
 * rows (q | k side by side, as a packed record keeps them). */
static void test_scores_backward(void **state) {
    (void)state;
    static float dsc[MAXS * LDP], qk[MAXS * LDX];
    static float want[MAXS * LDX], got[MAXS * LDX];
    sf_rng r;
    sf_rng_seed(&r, 72);
    fill(&r, dsc, MAXS * LDP); fill(&r, qk, MAXS * LDX);
    static const int hss[] = {16, 8, 5, 24};
    int ran = 0;
    for (int ks = 0; ks < 3; ks++) {
        if (!sf_matmul_use(sets[ks])) continue;
        for (size_t hi = 0; hi < sizeof hss / sizeof *hss; hi++)
            for (int a = 0; a < NS; a++)
                for (int b = 0; b < NS; b++) {
                    int HS = hss[hi], nq = sizes[a], nk = sizes[b];
                    const float *q = qk, *k = qk + HS;
                    /* dq in columns [0,HS) of the gradient rows, dk in [HS, 2HS) (as the fused rows) */
                    sentinel(want, MAXS * LDX);
                    for (int t = 0; t < nq; t++) memset(want + t * LDX, 0, (size_t)HS * sizeof(float));
                    for (int j = 0; j < nk; j++) memset(want + j * LDX + HS, 0, (size_t)HS * sizeof(float));
                    sf_matmul_acc(want, LDX, dsc, LDP, 1, k, LDX, nq, HS, nk);
                    sf_matmul_acc(want + HS, LDX, dsc, 1, LDP, q, LDX, nk, HS, nq);
                    for (int j = 0; j < nk; j++)
                        for (int d = 0; d < HS; d++) {
                            float c = 0.0f;
                            for (int t = 0; t < nq; t++) c = fmaf(dsc[t * LDP + j], q[t * LDX + d], c);
                            assert_memory_equal(&c, want + j * LDX + HS + d, sizeof c);
                        }
                    sentinel(got, MAXS * LDX);
                    for (int t = 0; t < nq; t++) fill(&r, got + t * LDX, (size_t)HS);
                    sf_attn_scores_backward(got, LDX, got + HS, LDX, dsc, LDP, q, LDX, k, LDX, nq, nk, HS);
                    if (!same_bits(got, want, MAXS * LDX))
                        fail_msg("%s kernels: scores backward nq %d nk %d HS %d differs from sf_matmul_acc", sets[ks], nq,
                                 nk, HS);
                    ran++;
                }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 4 * NS * NS);
}


/* sf_attn_head_backward: dv, dq and dk are, bit for bit, what sf_attn_values_backward, sf_attn_softmax_backward
 * and sf_attn_scores_backward give one after another with the plain kernels (each of which the tests above
 * and test_ops_softmax tie to every kernel set), with every kernel set: ragged segments (1..25 queries and
 * keys, the AVX-512 path's 16 x 16 and past it), head sizes 16 and others, causal and full rows
 * (probability 0 past a query's keys), exact zeros of either sign, and rows with a NaN probability or an
 * infinite output gradient. Nothing around the three outputs' cells is written. */
static void test_head_backward(void **state) {
    (void)state;
    static float dout[MAXS * LDX], qkv[MAXS * LDX], vt[MAXHS * LDP], probs[MAXS * LDP];
    static float want[MAXS * LDX], got[MAXS * LDX], dp[MAXS * LDP], dss[MAXS * LDP], dsc[MAXS * LDP];
    static int width[MAXS];
    sf_rng r;
    sf_rng_seed(&r, 75);
    static const int hss[] = {16, 8, 5};
    int ran = 0, fast = 0;
    for (int ks = 0; ks < 3; ks++)
        for (size_t hi = 0; hi < sizeof hss / sizeof *hss; hi++)
            for (int a = 0; a < NS; a++)
                for (int b = 0; b < NS; b++)
                    for (int mode = 0; mode < 3; mode++) { /* 0 causal, 1 all keys, 2 causal with NaN and inf */
                        int HS = hss[hi], nq = sizes[a], nk = sizes[b];
                        float scale = 1.0f / sqrtf((float)HS);
                        fill(&r, dout, MAXS * LDX); fill(&r, qkv, MAXS * LDX);
                        const float *q = qkv, *k = qkv + HS, *v = qkv + 2 * HS;
                        for (int t = 0; t < nq; t++) {
                            int seen = mode == 1 ? nk : 1 + t % nk;
                            width[t] = nk;
                            for (int j = 0; j < LDP; j++) {
                                float x = fabsf(sf_rng_normal(&r));
                                probs[t * LDP + j] = j >= seen || j % 6 == 4 ? 0.0f : x;
                            }
                        }
                        if (mode == 2) {
                            probs[(nq / 2) * LDP + 0] = NAN;
                            dout[(nq - 1) * LDX + HS / 2] = -INFINITY;
                        }
                        for (int d = 0; d < HS; d++)
                            for (int j = 0; j < nk; j++) vt[d * LDP + j] = v[j * LDX + d];
                        /* dq in columns [0,HS) of the gradient rows, dk in [HS, 2HS), dv in [2HS, 3HS) */
                        sentinel(want, MAXS * LDX);
                        assert_non_null(sf_matmul_use("c"));
                        sf_attn_values_backward(dp, LDP, want + 2 * HS, LDX, dout, LDX, vt, LDP, probs, LDP, nq, nk, HS);
                        sf_attn_softmax_backward(dsc, dss, dp, probs, LDP, nq, width, scale);
                        sf_attn_scores_backward(want, LDX, want + HS, LDX, dsc, LDP, q, LDX, k, LDX, nq, nk, HS);
                        if (!sf_matmul_use(sets[ks])) continue;
                        sentinel(got, MAXS * LDX);
                        for (int t = 0; t < nq; t++) fill(&r, got + t * LDX, (size_t)HS); /* old contents */
                        sentinel(dp, MAXS * LDP); sentinel(dss, MAXS * LDP); sentinel(dsc, MAXS * LDP);
                        int local = sf_attn_head_backward_local(nq, nk, HS); /* then vt is not read */
                        sf_attn_head_backward(got, LDX, got + HS, LDX, got + 2 * HS, LDX, dout, LDX, v, LDX, local ? NULL : vt,
                                              LDP, probs, LDP, q, LDX, k, LDX, nq, nk, HS, scale, dp, dss, dsc);
                        if (!same_bits(got, want, MAXS * LDX))
                            fail_msg("%s kernels: head backward nq %d nk %d HS %d mode %d differs from the three calls",
                                     sets[ks], nq, nk, HS, mode);
                        ran++;
                        fast += local;
                    }
    sf_matmul_use(NULL);
    assert_true(ran >= 3 * NS * NS * 3 && (fast > 0 || !sf_matmul_use("avx512")));
    sf_matmul_use(NULL);
}

/* The weighted sum of values written out: keys j < seen whose probability is not 0, ascending, each
 * term a product and then an addition (volatile: each rounded on its own), started at 0. */
static void weighted_spec(float *o, const float *pr, const float *v, int ldv, int seen, int HS) {
    for (int d = 0; d < HS; d++) {
        volatile float acc = 0.0f;
        for (int j = 0; j < seen; j++) {
            if (pr[j] == 0.0f) continue;
            volatile float p = pr[j] * v[j * ldv + d];
            acc = acc + p;
        }
        o[d] = acc;
    }
}

/* sf_attn_weighted_values against the loop it stands for, with every kernel set: ragged row and key
 * counts (causal rows seeing 1..nk keys and full ones), probabilities of 0 (masked and underflowed, past
 * seen: left unread, so NaN there must not matter), values with zeros of both signs, head sizes 16 and
 * others, and a value that is not finite (inf at a key some row gives probability 0, where 0 * inf would
 * be NaN: the kernel must skip it as the loop does). Nothing past HS in a row of out is written. */
static void test_weighted_values(void **state) {
    (void)state;
    enum { MAXQ = 40, MAXK = 20, LDP = MAXK + 3, LDV = 3 * 24 + 1, LDO = 24 + 2 };
    static float pr[MAXQ * LDP], v[MAXK * LDV], got[MAXQ * LDO], want[MAXQ * LDO];
    static int seen[MAXQ];
    static const int nqs[] = {1, 4, 12, 13, 16, 17, 33, 40}, nks[] = {1, 12, 13, 16, 17, 20}, hss[] = {16, 8, 24};
    sf_rng r;
    sf_rng_seed(&r, 74);
    int ran = 0, inf_ran = 0;
    for (int ks = 0; ks < 3; ks++) {
        if (!sf_matmul_use(sets[ks])) continue;
        for (size_t hi = 0; hi < sizeof hss / sizeof *hss; hi++)
            for (size_t a = 0; a < sizeof nqs / sizeof *nqs; a++)
                for (size_t b = 0; b < sizeof nks / sizeof *nks; b++)
                    for (int mode = 0; mode < 3; mode++) { /* 0 causal, 1 all keys, 2 causal with an inf value */
                        int HS = hss[hi], nq = nqs[a], nk = nks[b];
                        fill(&r, v, MAXK * LDV);
                        uint32_t nan = SENT;
                        for (int t = 0; t < nq; t++) {
                            seen[t] = mode == 1 ? nk : 1 + (t % nk);
                            for (int j = 0; j < LDP; j++) {
                                float x = fabsf(sf_rng_normal(&r));
                                pr[t * LDP + j] = j % 5 == 2 ? 0.0f : x; /* an underflowed probability */
                                if (j >= seen[t]) memcpy(&pr[t * LDP + j], &nan, sizeof nan); /* never read */
                            }
                        }
                        if (mode == 2) { /* row 0 sees key 0 only; key nk-1 (seen by the last row) gets inf, probability 0 */
                            int j = nk - 1;
                            for (int d = 0; d < HS; d++) v[j * LDV + d] = d % 2 ? INFINITY : -INFINITY;
                            for (int t = 0; t < nq; t++)
                                if (seen[t] > j) pr[t * LDP + j] = 0.0f;
                            inf_ran++;
                        }
                        sentinel(got, MAXQ * LDO);
                        memcpy(want, got, sizeof want);
                        for (int t = 0; t < nq; t++) weighted_spec(want + t * LDO, pr + t * LDP, v, LDV, seen[t], HS);
                        sf_attn_weighted_values(got, LDO, pr, LDP, seen, nq, v, LDV, HS);
                        if (!same_bits(got, want, MAXQ * LDO))
                            fail_msg("%s kernels: weighted values nq %d nk %d HS %d mode %d differ from the loop", sets[ks], nq,
                                     nk, HS, mode);
                        ran++;
                    }
    }
    sf_matmul_use(NULL);
    assert_true(ran >= 3 * 8 * 6 * 3 && inf_ran > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_backward),
        cmocka_unit_test(test_scores_backward),
        cmocka_unit_test(test_head_backward),
        cmocka_unit_test(test_weighted_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
