/* test_ops.c - every forward op against values worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        cmocka_unit_test(test_matmul),     cmocka_unit_test(test_softmax), cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_activations), cmocka_unit_test(test_sinusoid), cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
