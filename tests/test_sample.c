/* test_sample.c - the record of what sampling drew from: dec.sample.probs is softmax(logits / T) over the
 * top-k logits (the specials never chosen), one-hot when greedy, zeros where nothing was drawn, and absent
 * when the run generated nothing; checked against the run's own logits recomputed here in double. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/run.h"
#include "model/trace.h"

static sf_model m;

static int setup(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    sf_tokenizer tok;
    const char *alpha = "abcdefghijklmnopqrstuvwxyz";
    if (!sf_tokenizer_build(&tok, alpha, strlen(alpha)).ok) return 1;
    c.vocab_size = sf_tokenizer_vocab(&tok);
    c.d_model = 32;
    c.d_ff = 64;
    c.max_len = 40;
    if (!sf_model_build(&m, &c).ok) return 1;
    m.tok = tok;
    sf_model_init_random(&m, 21);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] *= 4.0f; /* logits that are neither flat nor one-hot */
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sf_model_free(&m);
    return 0;
}

/* Runs the model on input with a sampler into s and builds its trace; returns n_prompt. */
static int run(sf_seq *s, sf_trace *tr, const char *input, const char *target, float T, int top_k, int max_new) {
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = input;
    o.target = target;
    o.max_new = max_new;
    o.sampler.temperature = T;
    o.sampler.top_k = top_k;
    o.seed = 7;
    int n_prompt = 0;
    assert_true(sf_run(&m, s, &o, &n_prompt).ok);
    assert_true(sf_trace_build(tr, &m, s).ok);
    return n_prompt;
}

/* Checks row t of dec.sample.probs against softmax(logits / T) over the top-k of the choosable logits. */
static void check_row(const sf_trace *tr, int t, float T, int top_k) {
    const sf_trace_entry *sp = sf_trace_find(tr, "dec.sample.probs"), *lg = sf_trace_find(tr, "dec.logits");
    int V = m.cfg.vocab_size;
    const float *p = sf_trace_row(sp, t), *z = sf_trace_row(lg, t);
    double w[64], cut = -INFINITY, mx = -INFINITY, sum = 0;
    assert_true(V <= 64);
    for (int i = 0; i < V; i++) w[i] = (i == SF_TOK_PAD || i == SF_TOK_BOS || i == SF_TOK_UNK) ? -INFINITY : z[i];
    if (top_k > 0) { /* the k-th largest choosable logit */
        double sorted[64];
        memcpy(sorted, w, sizeof sorted);
        for (int a = 0; a < V; a++)
            for (int b = a + 1; b < V; b++)
                if (sorted[b] > sorted[a]) { double x = sorted[a]; sorted[a] = sorted[b]; sorted[b] = x; }
        cut = sorted[top_k - 1];
    }
    for (int i = 0; i < V; i++) if (w[i] > mx) mx = w[i];
    double q[64];
    for (int i = 0; i < V; i++) { q[i] = w[i] >= cut && isfinite(w[i]) ? exp((w[i] - mx) / T) : 0.0; sum += q[i]; }
    int nonzero = 0;
    for (int i = 0; i < V; i++) {
        assert_true(fabs(p[i] - q[i] / sum) < 1e-5);
        nonzero += p[i] > 0;
    }
    if (top_k > 0) assert_true(nonzero <= top_k);
    assert_float_equal(p[SF_TOK_PAD] + p[SF_TOK_BOS] + p[SF_TOK_UNK], 0.0f, 0.0f);
}

/* Temperature and top-k: every generated token was drawn from its row, which differs from dec.probs. */
static void test_sampled_rows(void **state) {
    (void)state;
    sf_seq s;
    sf_trace tr;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    int np = run(&s, &tr, "ab", NULL, 0.7f, 3, 8);
    const sf_trace_entry *sp = sf_trace_find(&tr, "dec.sample.probs"), *pr = sf_trace_find(&tr, "dec.probs");
    assert_non_null(sp);
    int dims[2];
    sf_trace_shape(&tr, sp, dims);
    assert_int_equal(dims[0], s.n_tgt);
    assert_int_equal(dims[1], m.cfg.vocab_size);
    assert_true(s.n_tgt > np);
    assert_int_equal(sp->sublayer, SF_SUB_HEAD); /* computed with the output probabilities of its position */
    assert_int_equal(sp->op, SF_OP_PROBS);
    for (int t = 0; t < s.n_tgt; t++) {
        const float *p = sf_trace_row(sp, t);
        double sum = 0;
        for (int i = 0; i < m.cfg.vocab_size; i++) sum += p[i];
        if (t < np - 1) { assert_true(sum == 0); continue; } /* the prompt was given, not drawn */
        if (t == s.n_tgt - 1 && sum == 0) continue;          /* generation stopped at max_new */
        assert_true(fabs(sum - 1) < 1e-5);
        check_row(&tr, t, 0.7f, 3);
        if (t + 1 < s.n_tgt) assert_true(p[s.dec.ids[t + 1]] > 0); /* the token written was one it could draw */
        double d = 0; /* the untempered distribution is another one */
        for (int i = 0; i < m.cfg.vocab_size; i++) d += fabs(p[i] - sf_trace_row(pr, t)[i]);
        assert_true(d > 1e-3);
    }
    sf_trace_free(&tr);
    /* greedy: one-hot on the token written, the most likely choosable one */
    np = run(&s, &tr, "ab", NULL, 0.0f, 0, 5);
    sp = sf_trace_find(&tr, "dec.sample.probs");
    assert_non_null(sp);
    for (int t = np - 1; t + 1 < s.n_tgt; t++) {
        const float *p = sf_trace_row(sp, t);
        for (int i = 0; i < m.cfg.vocab_size; i++) assert_float_equal(p[i], i == s.dec.ids[t + 1] ? 1.0f : 0.0f, 0.0f);
    }
    sf_trace_free(&tr);
    /* teacher forcing draws nothing: no entry, also when the same record sampled before */
    run(&s, &tr, "ab", "cde", 0.7f, 3, 0);
    assert_null(sf_trace_find(&tr, "dec.sample.probs"));
    sf_trace_free(&tr);
    sf_seq_free(&s);
}

/* A long generation grows the record of what was drawn with the tokens (past its first allocation). */
static void test_sampled_grows(void **state) {
    (void)state;
    sf_seq s;
    sf_trace tr;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    int np = run(&s, &tr, "", NULL, 2.5f, 0, SF_RUN_UNTIL_EOS);
    assert_true(s.n_tgt > 16); /* past the first 16 rows (this seed generates more than 16 tokens) */
    assert_true(s.cap_sampled >= s.n_tgt);
    for (int t = np - 1; t + 1 < s.n_tgt; t++) check_row(&tr, t, 2.5f, 0);
    sf_trace_free(&tr);
    sf_seq_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampled_rows),
        cmocka_unit_test(test_sampled_grows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
