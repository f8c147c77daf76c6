/* test_matvec.c - the decoder step's matrix-vector product (sf_matvec_forward) gives exactly the bits of
 * a row of sf_matmul_forward, for every shape (tails of the 8 x 8 blocks and of the 16- and 8-row groups,
 * with and without bias, negative zeros), with every kernel set this processor has (sf_matmul_use: c,
 * avx2, avx512), on one thread or several; the pool runs every chunk of every job once; and so a model
 * whose every layer takes the threaded path still has KV-cache steps equal to its full pass, bit for bit,
 * with every kernel set. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ops.h"
#include "core/pool.h"
#include "core/rng.h"
#include "model/model.h"

/* Fills x(n) with values of every magnitude, some of them -0.0 and some exactly 0. */
static void fill(float *x, size_t n, sf_rng *r) {
    for (size_t i = 0; i < n; i++) {
        float v = (sf_rng_uniform(r) - 0.5f) * powf(2.0f, (float)(sf_rng_int(r, 24) - 12));
        int k = sf_rng_int(r, 50);
        x[i] = k == 0 ? -0.0f : k == 1 ? 0.0f : v;
    }
}

static const char *const KERNELS[] = {"c", "avx2", "avx512"};

static void check_matvec_equals_matmul_row(const char *kernels) {
    static const int ics[] = {1, 7, 8, 9, 63, 64, 65, 768, 771};
    static const int ocs[] = {1, 3, 4, 5, 64, 67, 300};
    sf_rng r;
    sf_rng_seed(&r, 5);
    int cases = 0;
    for (size_t a = 0; a < sizeof ics / sizeof *ics; a++)
        for (size_t b = 0; b < sizeof ocs / sizeof *ocs; b++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                int IC = ics[a], OC = ocs[b], N = 3;
                float *w = malloc(sizeof(float) * (size_t)IC * OC), *x = malloc(sizeof(float) * (size_t)N * IC);
                float *bias = malloc(sizeof(float) * OC), *y = malloc(sizeof(float) * (size_t)N * OC);
                float *z = malloc(sizeof(float) * OC);
                fill(w, (size_t)IC * OC, &r);
                fill(x, (size_t)N * IC, &r);
                fill(bias, (size_t)OC, &r);
                sf_matmul_forward(y, x, w, with_bias ? bias : NULL, N, IC, OC);
                for (int n = 0; n < N; n++) {
                    sf_matvec_forward(z, x + (size_t)n * IC, w, with_bias ? bias : NULL, IC, OC);
                    if (memcmp(z, y + (size_t)n * OC, sizeof(float) * OC))
                        fail_msg("%s kernels, IC %d OC %d bias %d row %d: the matrix-vector product differs from the "
                                 "matmul row", kernels, IC, OC, with_bias, n);
                }
                cases++;
                free(w); free(x); free(bias); free(y); free(z);
            }
    print_message("%s kernels, %d shapes: sf_matvec_forward == a row of sf_matmul_forward, bit for bit\n", kernels,
                  cases);
}

static void test_matvec_equals_matmul_row(void **state) {
    (void)state;
    int sets = 0;
    for (size_t k = 0; k < sizeof KERNELS / sizeof *KERNELS; k++) {
        if (!sf_matmul_use(KERNELS[k])) continue; /* this processor lacks them */
        check_matvec_equals_matmul_row(KERNELS[k]);
        sets++;
    }
    sf_matmul_use(NULL);
    assert_true(sets >= 1); /* the plain C kernels exist everywhere */
}

static void test_threads_change_nothing(void **state) {
    (void)state;
    int IC = 771, OC = 2309; /* large enough to be split over threads; neither a multiple of 8 nor of 64 */
    sf_rng r;
    sf_rng_seed(&r, 6);
    float *w = malloc(sizeof(float) * (size_t)IC * OC), *x = malloc(sizeof(float) * IC), *b = malloc(sizeof(float) * OC);
    float *y = malloc(sizeof(float) * OC), *z1 = malloc(sizeof(float) * OC), *z2 = malloc(sizeof(float) * OC);
    fill(w, (size_t)IC * OC, &r);
    fill(x, (size_t)IC, &r);
    fill(b, (size_t)OC, &r);
    for (size_t k = 0; k < sizeof KERNELS / sizeof *KERNELS; k++) {
        if (!sf_matmul_use(KERNELS[k])) continue;
        sf_matmul_forward(y, x, w, b, 1, IC, OC);
        int before = sf_threads();
        sf_set_threads(1);
        sf_matvec_forward(z1, x, w, b, IC, OC);
        sf_set_threads(3);
        sf_matvec_forward(z2, x, w, b, IC, OC);
        sf_set_threads(before);
        assert_memory_equal(z1, y, sizeof(float) * OC);
        assert_memory_equal(z2, y, sizeof(float) * OC);
        print_message("%s kernels, %d x %d on 1 and 3 threads: identical to the matmul\n", KERNELS[k], OC, IC);
    }
    sf_matmul_use(NULL);
    free(w); free(x); free(b); free(y); free(z1); free(z2);
}

/* A model whose projections all take the threaded path: its KV-cache steps equal its full pass, bit for
 * bit, with the given kernels. */
static void check_threaded_model_steps(const char *kernels) {
    /* every projection here is large enough for the threaded path (d_model 384: 147456 floats and up) */
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 500; c.d_model = 384; c.n_heads = 6; c.d_ff = 1536; c.n_dec_layers = 2; c.max_len = 16;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    sf_model_init_random(&m, 11);
    int ids[10];
    for (int i = 0; i < 10; i++) ids[i] = (i * 37 + 1) % c.vocab_size;
    sf_seq full, inc;
    assert_true(sf_seq_build(&full, &c).ok);
    assert_true(sf_seq_build(&inc, &c).ok);
    assert_true(sf_decode_full(&m, &full, ids, 10).ok);
    for (int i = 0; i < 10; i++) assert_true(sf_decode_step(&m, &inc, ids[i]).ok);
    size_t V = (size_t)c.vocab_size, C = (size_t)c.d_model;
    for (int t = 0; t < 10; t++) {
        if (memcmp(full.logits + t * V, inc.logits + t * V, V * sizeof(float)))
            fail_msg("%s kernels, position %d: logits of the KV-cache step differ from the full pass", kernels, t);
        for (int l = 0; l < 2; l++) {
            assert_memory_equal(full.dec.layers[l].self.proj + t * C, inc.dec.layers[l].self.proj + t * C, C * sizeof(float));
            assert_memory_equal(full.dec.layers[l].ffn.resid + t * C, inc.dec.layers[l].ffn.resid + t * C, C * sizeof(float));
        }
    }
    sf_seq_free(&full);
    sf_seq_free(&inc);
    sf_model_free(&m);
}

static void test_threaded_model_steps_equal_full_pass(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof KERNELS / sizeof *KERNELS; k++) {
        if (!sf_matmul_use(KERNELS[k])) continue;
        check_threaded_model_steps(KERNELS[k]);
        print_message("%s kernels: KV-cache steps == full pass\n", KERNELS[k]);
    }
    sf_matmul_use(NULL);
}

/* Counts, per chunk, how often it ran. */
typedef struct { int *hits; int n; } count_job;

static void count_chunk(void *arg, int chunk) {
    count_job *j = arg;
    if (chunk >= 0 && chunk < j->n) j->hits[chunk]++; /* each chunk has one slot, run by one thread */
}

static void test_pool_runs_every_chunk_once(void **state) {
    (void)state;
    int before = sf_threads();
    sf_set_threads(4); /* more threads than this machine may have: workers that never run are not waited for */
    int *hits = calloc(1000, sizeof *hits);
    for (int round = 0; round < 3000; round++) {
        int n = 1 + (round * 7919) % 1000;
        memset(hits, 0, sizeof *hits * 1000);
        count_job j = {hits, n};
        sf_parallel(count_chunk, &j, n);
        for (int c = 0; c < n; c++)
            if (hits[c] != 1) fail_msg("round %d: chunk %d of %d ran %d times", round, c, n, hits[c]);
    }
    free(hits);
    sf_set_threads(before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matvec_equals_matmul_row),
        cmocka_unit_test(test_threads_change_nothing),
        cmocka_unit_test(test_pool_runs_every_chunk_once),
        cmocka_unit_test(test_threaded_model_steps_equal_full_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
