/* test_torch.c - the C forward pass against the PyTorch oracle (tests/make_fixtures.py).
 *
 * Each fixture is a checkpoint (NAME.sfm) and the values PyTorch computed for a fixed input
 * (NAME.expect, read by expect.c: src / tgt token ids, then the tensors).
 * For every fixture the decoder runs twice, sf_decode_full over the whole target and, from a fresh
 * record, sf_decode_step one token at a time; in both every expected tensor must exist in the trace,
 * have the expected shape and agree to an absolute 1e-5. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "model/model.h"
#include "model/trace.h"

#include "expect.h"

#ifndef SF_FIXTURE_DIR
#define SF_FIXTURE_DIR "tests/fixtures"
#endif

#define TOL 1e-5

/* ---- comparing ---------------------------------------------------------------------------------- */

/* Compares every expected tensor with the trace of (m, s). Returns the number of failures (missing
 * tensors, wrong shapes, values off by more than TOL, NaNs) and the largest |diff| in *max_diff. */
static int compare(const sf_model *m, const sf_seq *s, const expect *x, const char *what, int verbose,
                   double *max_diff) {
    sf_trace tr;
    sf_err e = sf_trace_build(&tr, m, s);
    if (!e.ok) {
        print_error("%s: sf_trace_build: %s\n", what, e.msg);
        *max_diff = INFINITY;
        return 1;
    }
    int failures = expect_compare_trace(&tr, x, TOL, what, verbose, max_diff);
    sf_trace_free(&tr);
    return failures;
}

static void fixture_path(char *out, size_t cap, const char *name, const char *ext) {
    snprintf(out, cap, "%s/%s%s", SF_FIXTURE_DIR, name, ext);
}

/* Loads NAME.sfm into m and NAME.expect into *x; fails the test on any error. */
static void load_fixture(const char *name, sf_model *m, expect **x) {
    char path[1024];
    fixture_path(path, sizeof path, name, ".sfm");
    sf_err e = sf_checkpoint_load(path, m);
    if (!e.ok) fail_msg("%s", e.msg);
    fixture_path(path, sizeof path, name, ".expect");
    *x = expect_load(path);
    assert_non_null(*x);
    assert_int_equal((*x)->n_src > 0, m->cfg.family == SF_FAMILY_ENCDEC);
}

/* Runs the fixture's input through m: all target tokens at once (step = 0) or one at a time. */
static void run(const sf_model *m, sf_seq *s, const expect *x, int step) {
    sf_err e = sf_seq_build(s, &m->cfg);
    if (!e.ok) fail_msg("sf_seq_build: %s", e.msg);
    if (x->n_src) {
        e = sf_encode(m, s, x->src, x->n_src);
        if (!e.ok) fail_msg("sf_encode: %s", e.msg);
    }
    if (!step) {
        e = sf_decode_full(m, s, x->tgt, x->n_tgt);
        if (!e.ok) fail_msg("sf_decode_full: %s", e.msg);
    } else {
        for (int i = 0; i < x->n_tgt; i++) {
            e = sf_decode_step(m, s, x->tgt[i]);
            if (!e.ok) fail_msg("sf_decode_step %d: %s", i, e.msg);
        }
    }
    assert_int_equal(s->n_tgt, x->n_tgt);
    assert_int_equal(s->n_src, x->n_src);
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static void check_fixture(const char *name) {
    sf_model m;
    expect *x;
    load_fixture(name, &m, &x);
    int failures = 0;
    for (int step = 0; step <= 1; step++) {
        char what[128];
        snprintf(what, sizeof what, "%s (%s, %d tensors)", name, step ? "sf_decode_step" : "sf_decode_full", x->n_t);
        sf_seq s;
        run(&m, &s, x, step);
        double md;
        failures += compare(&m, &s, x, what, 1, &md);
        printf("max |diff| %s = %.3g\n", what, md);
        sf_seq_free(&s);
    }
    expect_free(x);
    sf_model_free(&m);
    assert_int_equal(failures, 0);
}

static void test_encdec_post(void **state) { (void)state; check_fixture("encdec_post"); }
static void test_encdec_pre(void **state) { (void)state; check_fixture("encdec_pre"); }
static void test_gpt(void **state) { (void)state; check_fixture("gpt"); }
static void test_gpt_post_sin(void **state) { (void)state; check_fixture("gpt_post_sin"); }
static void test_gpt_attn_only(void **state) { (void)state; check_fixture("gpt_attn_only"); }
static void test_encdec_attn_only(void **state) { (void)state; check_fixture("encdec_attn_only"); }

/* The comparison must be able to fail: another model's trace against these expectations
 * (same shapes, different weights and architecture) is rejected, and so is a missing tensor. */
static void test_comparison_catches_a_wrong_model(void **state) {
    (void)state;
    sf_model right, wrong;
    expect *x, *y;
    load_fixture("encdec_post", &right, &x);
    load_fixture("encdec_pre", &wrong, &y);
    sf_seq s;
    run(&wrong, &s, x, 0);
    double md;
    int failures = compare(&wrong, &s, x, "encdec_pre model vs encdec_post expectations", 0, &md);
    assert_true(failures > 0);
    assert_true(md > 1e-3);
    sf_seq_free(&s);

    run(&right, &s, x, 0);
    assert_int_equal(compare(&right, &s, x, "encdec_post", 0, &md), 0);
    snprintf(x->t[0].name, sizeof x->t[0].name, "dec.L9.self.H0.probs");
    assert_int_equal(compare(&right, &s, x, "renamed", 0, &md), 1);
    x->t[1].dims[0]++; /* a shape that disagrees with the trace */
    assert_int_equal(compare(&right, &s, x, "reshaped", 0, &md), 2);
    sf_seq_free(&s);
    expect_free(x);
    expect_free(y);
    sf_model_free(&right);
    sf_model_free(&wrong);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encdec_post),
        cmocka_unit_test(test_encdec_pre),
        cmocka_unit_test(test_gpt),
        cmocka_unit_test(test_gpt_post_sin),
        cmocka_unit_test(test_gpt_attn_only),
        cmocka_unit_test(test_encdec_attn_only),
        cmocka_unit_test(test_comparison_catches_a_wrong_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
