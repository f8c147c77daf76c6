/* test_interp.c - the experiments of docs/experiments.md: head ablation and the logit lens against
 * PyTorch (tests/make_interp_fixtures.py), what an ablation may and may not change, activation patching,
 * head-role scores on hand-made patterns, the names, and the KV cache of the attention-only model. */
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
#include "model/heads.h"
#include "model/interv.h"
#include "model/lens.h"
#include "model/model.h"
#include "model/trace.h"

#include "expect.h"

#ifndef SF_FIXTURE_DIR
#define SF_FIXTURE_DIR "tests/fixtures"
#endif

#define TOL 1e-5

/* ---- helpers ------------------------------------------------------------------------------------- */

/* Loads tests/fixtures/NAME.sfm into m; fails the test on error. */
static void load_model(const char *name, sf_model *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.sfm", SF_FIXTURE_DIR, name);
    sf_err e = sf_checkpoint_load(path, m);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Builds s for m and runs src(n_src) (encoder-decoder) and tgt(n) through it with interventions iv
 * (may be NULL): the decoder all at once, or (step) one token at a time. */
static void run_rec(const sf_model *m, sf_seq *s, const int *src, int n_src, const int *tgt, int n, int step,
                    const sf_interv *iv) {
    sf_err e = sf_seq_build(s, &m->cfg);
    if (!e.ok) fail_msg("sf_seq_build: %s", e.msg);
    s->interv = iv;
    if (m->cfg.family == SF_FAMILY_ENCDEC && !(e = sf_encode(m, s, src, n_src)).ok) fail_msg("sf_encode: %s", e.msg);
    if (!step) {
        if (!(e = sf_decode_full(m, s, tgt, n)).ok) fail_msg("sf_decode_full: %s", e.msg);
    } else {
        for (int t = 0; t < n; t++)
            if (!(e = sf_decode_step(m, s, tgt[t])).ok) fail_msg("sf_decode_step %d: %s", t, e.msg);
    }
}

/* Returns 1 if an entry holds the same bits in two traces (same shape, every value). */
static int same_bits(const sf_trace *ta, const sf_trace_entry *a, const sf_trace *tb, const sf_trace_entry *b) {
    int da[2] = {0, 0}, db[2] = {0, 0};
    int ra = sf_trace_shape(ta, a, da), rb = sf_trace_shape(tb, b, db);
    if (ra != rb || da[0] != db[0] || da[1] != db[1]) return 0;
    int rows = ra == 2 ? da[0] : 1, cols = ra == 2 ? da[1] : da[0];
    for (int t = 0; t < rows; t++)
        if (memcmp(sf_trace_row(a, t), sf_trace_row(b, t), (size_t)cols * sizeof(float)) != 0) return 0;
    return 1;
}

/* Builds an intervention from a mode ("zero"/"mean") and a comma-separated head list; fails on error. */
static void make_ablation(sf_interv *iv, const sf_config *c, const char *mode, const char *heads) {
    sf_interv_init(iv);
    assert_true(sf_ablate_mode_parse(mode, &iv->mode));
    sf_err e = sf_interv_add_ablate(iv, c, heads);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* ---- against PyTorch ------------------------------------------------------------------------------ */

typedef struct { const char *name, *model, *mode, *heads; } interp_case;

/* the same table as tests/make_interp_fixtures.py */
static const interp_case cases[] = {
    {"interp_encdec_post_zero", "encdec_post", "zero", "enc.L1.self.H2,dec.L0.self.H1,dec.L1.cross.H3"},
    {"interp_encdec_pre_mean", "encdec_pre", "mean", "enc.L0.self.H0,dec.L1.self.H3,dec.L0.cross.H1"},
    {"interp_gpt_zero", "gpt", "zero", "dec.L1.self.H0"},
    {"interp_gpt_mean", "gpt", "mean", "dec.L0.self.H1,dec.L2.self.H0"},
    {"interp_gpt_post_sin_mean", "gpt_post_sin", "mean", "dec.L0.self.H2"},
    {"interp_gpt_attn_only_zero", "gpt_attn_only", "zero", "dec.L0.self.H1,dec.L1.self.H3"},
    {"interp_encdec_attn_only_mean", "encdec_attn_only", "mean", "dec.L1.cross.H0"},
};

/* Runs one case: clean run, values, ablated run (all at once and step by step), logit lens; every
 * tensor of the fixture must agree to TOL. Returns the number of failing tensors. */
static int check_case(const interp_case *k, int verbose) {
    sf_model m;
    load_model(k->model, &m);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.expect", SF_FIXTURE_DIR, k->name);
    expect *x = expect_load(path);
    assert_non_null(x);
    int failures = 0;
    for (int step = 0; step <= 1; step++) {
        sf_interv iv;
        make_ablation(&iv, &m.cfg, k->mode, k->heads);
        sf_seq base, s;
        run_rec(&m, &base, x->src, x->n_src, x->tgt, x->n_tgt, step, NULL);
        sf_err e = sf_interv_prepare(&iv, &m, &base);
        if (!e.ok) fail_msg("%s", e.msg);
        run_rec(&m, &s, x->src, x->n_src, x->tgt, x->n_tgt, step, &iv);
        sf_lens lens;
        sf_trace tr;
        assert_true(sf_lens_compute(&lens, &m, &s).ok);
        assert_true(sf_trace_build(&tr, &m, &s).ok);
        assert_true(sf_lens_trace(&tr, &lens).ok);
        char what[160];
        snprintf(what, sizeof what, "%s (%s, %d tensors)", k->name, step ? "sf_decode_step" : "sf_decode_full", x->n_t);
        double md;
        failures += expect_compare_trace(&tr, x, TOL, what, verbose, &md);
        if (verbose) printf("max |diff| %s = %.3g\n", what, md);
        sf_trace_free(&tr);
        sf_lens_free(&lens);
        sf_seq_free(&s);
        sf_seq_free(&base);
        sf_interv_free(&iv);
    }
    expect_free(x);
    sf_model_free(&m);
    return failures;
}

static void test_torch_ablation_and_lens(void **state) {
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) failures += check_case(&cases[i], 1);
    assert_int_equal(failures, 0);
}

/* The comparison must be able to fail: the other mode, or other heads, do not match a fixture. */
static void test_torch_comparison_catches_a_wrong_ablation(void **state) {
    (void)state;
    interp_case wrong_mode = cases[1], wrong_head = cases[2];
    wrong_mode.mode = "zero";
    wrong_head.heads = "dec.L1.self.H1";
    assert_true(check_case(&wrong_mode, 0) > 0);
    assert_true(check_case(&wrong_head, 0) > 0);
}

/* ---- the logit lens ------------------------------------------------------------------------------- */

static void test_lens_last_layer_is_the_output(void **state) {
    (void)state;
    const char *models[] = {"encdec_post", "encdec_pre", "gpt", "gpt_post_sin", "gpt_attn_only", "encdec_attn_only"};
    int src[] = {4, 5, 6, 7, 8, 11}, tgt[] = {1, 11, 8, 7, 6, 5, 4, 9};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        sf_model m;
        load_model(models[i], &m);
        sf_seq s;
        run_rec(&m, &s, src, 6, tgt, 8, 1, NULL);
        sf_lens lens;
        assert_true(sf_lens_compute(&lens, &m, &s).ok);
        int V = m.cfg.vocab_size, NL = m.cfg.n_dec_layers;
        assert_int_equal(lens.n, 8);
        assert_int_equal(lens.n_layers, NL);
        for (int t = 0; t < 8; t++) {
            /* bit for bit: the same ops on the same stream as the output head */
            assert_memory_equal(sf_lens_probs(&lens, NL - 1, t), s.probs + (size_t)t * V, (size_t)V * sizeof(float));
            double sum = 0.0, diff = 0.0;
            for (int v = 0; v < V; v++) {
                sum += sf_lens_probs(&lens, 0, t)[v];
                diff += fabs(sf_lens_probs(&lens, 0, t)[v] - s.probs[(size_t)t * V + v]);
            }
            assert_true(fabs(sum - 1.0) < 1e-5);
            assert_true(diff > 1e-3); /* an earlier layer reads something else: the lens is not a copy */
        }
        /* the trace names it, with the record's positions */
        sf_trace tr;
        assert_true(sf_trace_build(&tr, &m, &s).ok);
        int before = tr.n;
        assert_true(sf_lens_trace(&tr, &lens).ok);
        assert_int_equal(tr.n, before + NL);
        char name[40];
        snprintf(name, sizeof name, "dec.L%d.lens.probs", NL - 1);
        const sf_trace_entry *e = sf_trace_find(&tr, name), *p = sf_trace_find(&tr, "dec.probs");
        assert_non_null(e);
        assert_true(same_bits(&tr, e, &tr, p));
        assert_int_equal(e->op, SF_OP_LENS);
        assert_string_equal(e->axis[1], "vocab");
        sf_trace_free(&tr);
        sf_lens_free(&lens);
        sf_seq_free(&s);
        sf_model_free(&m);
    }
}

/* ---- what an ablation changes --------------------------------------------------------------------- */

/* Returns 1 if entry e (of the ablated run) is computed before head h's output, or in parallel with it
 * and without reading it, so an ablation of h must leave it bit-identical. For a decoder-only model. */
static int upstream_of(const sf_trace_entry *e, sf_head_ref h) {
    if (e->stack != h.stack) return e->stack < h.stack;
    if (e->op == SF_OP_MASK) return 1; /* the mask never depends on values */
    if (e->layer < 0) return e->sublayer == SF_SUB_EMBED;
    if (e->layer != h.layer) return e->layer < h.layer;
    if (e->sublayer != h.sublayer) return e->sublayer < h.sublayer;
    if (e->op == SF_OP_WSUM) return e->head != h.head; /* the other heads' outputs */
    return e->op < SF_OP_WSUM;                         /* in, ln, q, k, v, scores, scaled, probs */
}

/* Ablates h in model `name` (mean and zero mode) and checks every trace entry: upstream ones keep their
 * bits, every downstream one changes. For encoder heads pass dec_independent: decoder entries that do not
 * read the encoder (embeddings and layer 0's self-attention) must keep their bits too. */
static void check_downstream_only(const char *name, const char *head, int dec_independent) {
    sf_model m;
    load_model(name, &m);
    sf_head_ref h;
    assert_true(sf_head_parse(&m.cfg, head, &h).ok);
    int src[] = {4, 5, 6, 7, 8, 11}, tgt[] = {1, 11, 8, 7, 6, 5, 4, 9};
    for (int mode = SF_ABLATE_ZERO; mode <= SF_ABLATE_MEAN; mode++) {
        sf_interv iv;
        make_ablation(&iv, &m.cfg, mode == SF_ABLATE_ZERO ? "zero" : "mean", head);
        sf_seq base, s;
        run_rec(&m, &base, src, 6, tgt, 8, 0, NULL);
        assert_true(sf_interv_prepare(&iv, &m, &base).ok);
        run_rec(&m, &s, src, 6, tgt, 8, 0, &iv);
        sf_trace ta, tb;
        assert_true(sf_trace_build(&ta, &m, &base).ok);
        assert_true(sf_trace_build(&tb, &m, &s).ok);
        assert_int_equal(ta.n, tb.n);
        int kept = 0, changed = 0;
        for (int i = 0; i < ta.n; i++) {
            const sf_trace_entry *e = &tb.e[i];
            int up = upstream_of(e, h);
            if (dec_independent && e->stack == SF_STACK_DEC)
                up = e->op == SF_OP_MASK || e->sublayer == SF_SUB_EMBED ||
                     (e->layer == 0 && e->sublayer == SF_SUB_SELF) ||
                     (e->layer == 0 && e->sublayer == SF_SUB_CROSS && (e->op == SF_OP_IN || e->op == SF_OP_LN ||
                                                                      strstr(e->name, ".q")));
            int same = same_bits(&ta, &ta.e[i], &tb, e);
            if (up != same) print_error("%s, ablating %s (%s): %s %s\n", name, head, mode == 1 ? "zero" : "mean",
                                        e->name, up ? "changed but is upstream" : "kept its bits but is downstream");
            assert_int_equal(up, same);
            kept += same;
            changed += !same;
        }
        assert_true(kept > 0 && changed > 0);
        /* the ablated head outputs its value at every position */
        const sf_attn_rec *a = h.stack == SF_STACK_ENC ? &s.enc.layers[h.layer].self : &s.dec.layers[h.layer].self;
        int HS = m.cfg.d_model / m.cfg.n_heads, n = h.stack == SF_STACK_ENC ? s.n_src : s.n_tgt;
        for (int t = 0; t < n; t++)
            assert_memory_equal(a->out + ((size_t)h.head * s.L + t) * HS, iv.value, (size_t)HS * sizeof(float));
        sf_trace_free(&ta);
        sf_trace_free(&tb);
        sf_seq_free(&s);
        sf_seq_free(&base);
        sf_interv_free(&iv);
    }
    sf_model_free(&m);
}

static void test_ablation_changes_only_what_comes_after(void **state) {
    (void)state;
    check_downstream_only("gpt", "dec.L1.self.H1", 0);
    check_downstream_only("gpt_attn_only", "dec.L0.self.H2", 0);
    check_downstream_only("gpt_post_sin", "dec.L1.self.H3", 0);
    check_downstream_only("encdec_pre", "enc.L0.self.H2", 1);
}

/* The mean of mean ablation is each head's output averaged over the clean run's positions. */
static void test_mean_values_are_clean_means(void **state) {
    (void)state;
    sf_model m;
    load_model("encdec_post", &m);
    int src[] = {4, 5, 6, 7, 8, 11}, tgt[] = {1, 11, 8, 7, 6, 5};
    sf_interv iv;
    make_ablation(&iv, &m.cfg, "mean", "enc.L1.self.H0,dec.L0.cross.H3,dec.L1.self.H2,enc.L1.self.H0");
    assert_int_equal(iv.n_ablate, 3); /* a head named twice counts once */
    sf_seq base;
    run_rec(&m, &base, src, 6, tgt, 6, 0, NULL);
    assert_true(sf_interv_prepare(&iv, &m, &base).ok);
    int HS = m.cfg.d_model / m.cfg.n_heads;
    const sf_attn_rec *recs[3] = {&base.enc.layers[1].self, &base.dec.layers[0].cross, &base.dec.layers[1].self};
    int heads[3] = {0, 3, 2}, ns[3] = {6, 6, 6};
    for (int i = 0; i < 3; i++)
        for (int d = 0; d < HS; d++) {
            double sum = 0.0;
            for (int t = 0; t < ns[i]; t++) sum += recs[i]->out[((size_t)heads[i] * base.L + t) * HS + d];
            assert_true(fabs(iv.value[(size_t)i * HS + d] - sum / ns[i]) < 1e-6);
        }
    /* zero mode: zeros, no clean run needed */
    iv.mode = SF_ABLATE_ZERO;
    assert_true(sf_interv_prepare(&iv, &m, NULL).ok);
    for (int i = 0; i < 3 * HS; i++) assert_true(iv.value[i] == 0.0f);
    /* mean mode without a clean run is refused */
    iv.mode = SF_ABLATE_MEAN;
    sf_err e = sf_interv_prepare(&iv, &m, NULL);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "no encoder positions"));
    sf_seq_free(&base);
    sf_interv_free(&iv);
    sf_model_free(&m);
}

/* The forward passes refuse an intervention that is not ready, and leave no half-run behind. */
static void test_forward_refuses_unprepared_interventions(void **state) {
    (void)state;
    sf_model m;
    load_model("gpt", &m);
    int tgt[] = {1, 4, 5};
    sf_interv iv;
    make_ablation(&iv, &m.cfg, "zero", "dec.L0.self.H0");
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    s.interv = &iv;
    sf_err e = sf_decode_full(&m, &s, tgt, 3);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "not prepared"));
    assert_false(sf_decode_step(&m, &s, 1).ok);
    /* a hand-built head outside the model */
    assert_true(sf_interv_prepare(&iv, &m, NULL).ok);
    iv.ablate[0].layer = 7;
    assert_false(sf_decode_full(&m, &s, tgt, 3).ok);
    iv.ablate[0].layer = 0;
    assert_true(sf_decode_full(&m, &s, tgt, 3).ok);
    /* sites without a run to take them from */
    assert_true(sf_interv_add_patch(&iv, &m.cfg, "dec.L0.resid@1").ok);
    e = sf_decode_full(&m, &s, tgt, 3);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "no run to patch them from"));
    sf_seq_free(&s);
    sf_interv_free(&iv);
    sf_model_free(&m);
}

/* ---- activation patching -------------------------------------------------------------------------- */

/* Runs B with sites patched from A (tgt_a / tgt_b, same source for encdec) and returns the patched record
 * in *out (the caller frees it and a). */
static void patched(const sf_model *m, sf_seq *a, sf_seq *out, const int *src_a, const int *src_b, const int *tgt_a,
                    int na, const int *tgt_b, int nb, const char *sites, int step) {
    run_rec(m, a, src_a, 6, tgt_a, na, 0, NULL);
    sf_interv *iv = malloc(sizeof *iv);
    assert_non_null(iv);
    sf_interv_init(iv);
    sf_err e = sf_interv_add_patch(iv, &m->cfg, sites);
    if (!e.ok) fail_msg("%s", e.msg);
    iv->from = a;
    run_rec(m, out, src_b, 6, tgt_b, nb, step, iv);
    out->interv = NULL; /* the record keeps the result; the intervention is not needed any more */
    sf_interv_free(iv);
    free(iv);
}

static void test_patching_every_site_gives_run_a(void **state) {
    (void)state;
    sf_model m;
    int src_a[] = {4, 5, 6, 7, 8, 9}, src_b[] = {4, 5, 10, 7, 8, 9};
    int tgt_a[] = {1, 11, 8, 7, 6, 5, 4}, tgt_b[] = {1, 11, 8, 9, 6, 5, 4};
    struct { const char *model, *sites; } k[] = {
        {"gpt", "dec.embed"},               /* the whole input stream */
        {"gpt", "dec.L0.resid"},            /* the stream after layer 0, every position */
        {"gpt_attn_only", "dec.L1.resid"},  /* the last layer */
        {"encdec_post", "enc.embed,dec.embed"},
        {"encdec_pre", "enc.L1.resid,dec.L0.resid"},
        {"encdec_attn_only", "enc.L0.resid,dec.L1.resid"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        load_model(k[i].model, &m);
        int V = m.cfg.vocab_size;
        for (int step = 0; step <= 1; step++) {
            sf_seq a, b, p;
            run_rec(&m, &b, src_b, 6, tgt_b, 7, 0, NULL);
            patched(&m, &a, &p, src_a, src_b, tgt_a, 7, tgt_b, 7, k[i].sites, step);
            /* B on its own differs from A; patched, it is A at every position, bit for bit */
            assert_true(memcmp(a.probs, b.probs, (size_t)7 * V * sizeof(float)) != 0);
            assert_memory_equal(a.probs, p.probs, (size_t)7 * V * sizeof(float));
            assert_memory_equal(a.logits, p.logits, (size_t)7 * V * sizeof(float));
            sf_seq_free(&a);
            sf_seq_free(&b);
            sf_seq_free(&p);
        }
        sf_model_free(&m);
    }
}

static void test_patching_one_head_at_one_position(void **state) {
    (void)state;
    sf_model m;
    load_model("gpt", &m);
    int HS = m.cfg.d_model / m.cfg.n_heads, V = m.cfg.vocab_size;
    int tgt_a[] = {1, 4, 5, 6, 7, 8, 9}, tgt_b[] = {1, 4, 5, 6, 10, 8, 9};
    sf_seq a, b, p;
    run_rec(&m, &b, NULL, 0, tgt_b, 7, 0, NULL);
    patched(&m, &a, &p, NULL, NULL, tgt_a, 7, tgt_b, 7, "dec.L1.self.H0@5", 1);
    const sf_attn_rec *ra = &a.dec.layers[1].self, *rb = &b.dec.layers[1].self, *rp = &p.dec.layers[1].self;
    for (int t = 0; t < 7; t++) {
        const float *want = (t == 5 ? ra : rb)->out + (size_t)t * HS; /* head 0 */
        assert_memory_equal(rp->out + (size_t)t * HS, want, (size_t)HS * sizeof(float));
        /* the other head is B's everywhere */
        assert_memory_equal(rp->out + ((size_t)p.L + t) * HS, rb->out + ((size_t)b.L + t) * HS, (size_t)HS * sizeof(float));
    }
    /* before the patch nothing moved; at position 5 the output did; earlier positions did not */
    assert_memory_equal(p.dec.layers[0].self.resid, b.dec.layers[0].self.resid, (size_t)7 * m.cfg.d_model * sizeof(float));
    assert_memory_equal(p.probs, b.probs, (size_t)5 * V * sizeof(float));
    sf_change c = sf_output_change(&m, &b, &p, 5);
    assert_true(c.tv > 1e-4 && c.tv <= 1.0);
    assert_true(c.kl > 0.0);
    c = sf_output_change(&m, &b, &p, 4);
    assert_true(c.tv == 0.0 && c.kl == 0.0 && c.top_base == c.top_run && c.p_base == c.p_run);
    sf_seq_free(&a);
    sf_seq_free(&b);
    sf_seq_free(&p);
    sf_model_free(&m);
}

/* A run A shorter than B: positions A does not have are left as B computes them. */
static void test_patching_from_a_shorter_run(void **state) {
    (void)state;
    sf_model m;
    load_model("gpt", &m);
    int V = m.cfg.vocab_size;
    int tgt_a[] = {1, 6, 7, 8}, tgt_b[] = {1, 4, 5, 6, 10, 8, 9};
    sf_seq a, b, p;
    run_rec(&m, &b, NULL, 0, tgt_b, 7, 0, NULL);
    patched(&m, &a, &p, NULL, NULL, tgt_a, 4, tgt_b, 7, "dec.embed", 0);
    assert_memory_equal(p.dec.sum, a.dec.sum, (size_t)4 * m.cfg.d_model * sizeof(float));
    assert_memory_equal(p.dec.sum + 4 * m.cfg.d_model, b.dec.sum + 4 * m.cfg.d_model,
                        (size_t)3 * m.cfg.d_model * sizeof(float));
    assert_memory_equal(p.probs, a.probs, (size_t)4 * V * sizeof(float));
    sf_seq_free(&a);
    sf_seq_free(&b);
    sf_seq_free(&p);
    sf_model_free(&m);
}

/* ---- the KV cache ----------------------------------------------------------------------------------- */

/* Returns 1 if every trace entry of two records of m holds the same bits. */
static int same_records(const sf_model *m, const sf_seq *x, const sf_seq *y) {
    sf_trace tx, ty;
    assert_true(sf_trace_build(&tx, m, x).ok);
    assert_true(sf_trace_build(&ty, m, y).ok);
    int same = tx.n == ty.n;
    for (int i = 0; same && i < tx.n; i++) {
        same = same_bits(&tx, &tx.e[i], &ty, &ty.e[i]);
        if (!same) print_error("%s differs\n", tx.e[i].name);
    }
    sf_trace_free(&tx);
    sf_trace_free(&ty);
    return same;
}

/* One token at a time equals all at once, bit for bit: for the attention-only models, and for any model
 * under an ablation and a patch. */
static void test_kv_cache_equals_full_pass(void **state) {
    (void)state;
    const char *models[] = {"gpt_attn_only", "encdec_attn_only", "gpt", "encdec_pre"};
    int src[] = {4, 5, 6, 7, 8, 11}, tgt[] = {1, 11, 8, 7, 6, 5, 4, 9}, other[] = {1, 4, 8, 7, 5, 5, 4, 6};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        sf_model m;
        load_model(models[i], &m);
        sf_seq full, inc, a;
        run_rec(&m, &full, src, 6, tgt, 8, 0, NULL);
        run_rec(&m, &inc, src, 6, tgt, 8, 1, NULL);
        assert_true(same_records(&m, &full, &inc));
        sf_seq_free(&full);
        sf_seq_free(&inc);
        /* with interventions: a mean ablation and two patched sites */
        sf_interv iv;
        make_ablation(&iv, &m.cfg, "mean", "dec.L1.self.H0");
        assert_true(sf_interv_add_patch(&iv, &m.cfg, "dec.L0.self.H1@3,dec.L0.resid@5").ok);
        run_rec(&m, &a, src, 6, other, 8, 0, NULL);
        iv.from = &a;
        run_rec(&m, &full, src, 6, tgt, 8, 0, NULL);
        assert_true(sf_interv_prepare(&iv, &m, &full).ok);
        sf_seq_free(&full);
        run_rec(&m, &full, src, 6, tgt, 8, 0, &iv);
        run_rec(&m, &inc, src, 6, tgt, 8, 1, &iv);
        assert_true(same_records(&m, &full, &inc));
        sf_seq_free(&full);
        sf_seq_free(&inc);
        sf_seq_free(&a);
        sf_interv_free(&iv);
        sf_model_free(&m);
    }
}

/* The record grows with the tokens (it starts at SF_SEQ_FIRST_CAP positions): interventions, the lens and
 * the role scores read it correctly across growths, and one token at a time still equals all at once. */
static void test_interventions_across_record_growth(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 12;
    c.d_model = 16;
    c.n_heads = 2;
    c.d_ff = 0;
    c.max_len = 64;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    sf_model_init_random_sd(&m, 5, 0.25f);
    int n = 3 * SF_SEQ_FIRST_CAP, tgt[64], other[64];
    for (int t = 0; t < n; t++) {
        tgt[t] = t ? 4 + (t * 5) % 8 : SF_TOK_BOS;
        other[t] = t ? 4 + (t * 3) % 8 : SF_TOK_BOS;
    }
    sf_seq a, base, full, inc;
    run_rec(&m, &a, NULL, 0, other, n, 1, NULL);
    run_rec(&m, &base, NULL, 0, tgt, n, 1, NULL);
    assert_true(base.grown > 0 && base.L >= n);
    sf_interv iv;
    make_ablation(&iv, &m.cfg, "mean", "dec.L0.self.H1");
    assert_true(sf_interv_add_patch(&iv, &m.cfg, "dec.L1.self.H0@40,dec.L0.resid@20").ok);
    iv.from = &a;
    assert_true(sf_interv_prepare(&iv, &m, &base).ok);
    run_rec(&m, &full, NULL, 0, tgt, n, 0, &iv);
    run_rec(&m, &inc, NULL, 0, tgt, n, 1, &iv);
    assert_true(inc.grown > 0);
    assert_true(same_records(&m, &full, &inc));
    int HS = c.d_model / c.n_heads;
    for (int t = 0; t < n; t++) /* the ablated head's value at every position, past every growth */
        assert_memory_equal(inc.dec.layers[0].self.out + ((size_t)inc.L + t) * HS, iv.value, (size_t)HS * sizeof(float));
    assert_memory_equal(inc.dec.layers[0].self.resid + (size_t)20 * c.d_model,
                        a.dec.layers[0].self.resid + (size_t)20 * c.d_model, (size_t)c.d_model * sizeof(float));
    sf_lens lens;
    assert_true(sf_lens_compute(&lens, &m, &inc).ok);
    assert_int_equal(lens.n, n);
    assert_memory_equal(sf_lens_probs(&lens, 1, n - 1), inc.probs + (size_t)(n - 1) * c.vocab_size,
                        (size_t)c.vocab_size * sizeof(float));
    /* a trace with a lens survives a growth of its record: sync refreshes the record's entries only */
    sf_trace tr;
    sf_seq g;
    run_rec(&m, &g, NULL, 0, tgt, 10, 1, NULL);
    sf_lens small;
    assert_true(sf_lens_compute(&small, &m, &g).ok);
    assert_true(sf_trace_build(&tr, &m, &g).ok);
    assert_true(sf_lens_trace(&tr, &small).ok);
    for (int t = 10; t < n; t++) assert_true(sf_decode_step(&m, &g, tgt[t]).ok);
    assert_true(sf_trace_stale(&tr));
    assert_true(sf_trace_sync(&tr).ok);
    int dims[2];
    sf_trace_shape(&tr, sf_trace_find(&tr, "dec.probs"), dims);
    assert_int_equal(dims[0], n);
    sf_trace_shape(&tr, sf_trace_find(&tr, "dec.L1.lens.probs"), dims);
    assert_int_equal(dims[0], 10); /* the lens keeps the positions it read */
    sf_head_scores *h;
    int nh;
    assert_true(sf_heads_score(&m, &inc, &h, &nh).ok);
    assert_int_equal(nh, 4);
    free(h);
    sf_trace_free(&tr);
    sf_lens_free(&small);
    sf_lens_free(&lens);
    sf_seq_free(&g);
    sf_seq_free(&a);
    sf_seq_free(&base);
    sf_seq_free(&full);
    sf_seq_free(&inc);
    sf_interv_free(&iv);
    sf_model_free(&m);
}

/* ---- head roles on hand-made patterns --------------------------------------------------------------- */

#define N 7

/* Fills a causal N x N pattern in which query t puts all its weight on key key_of(t). */
static void one_hot(float p[N][N], int (*key_of)(int t)) {
    memset(p, 0, sizeof(float) * N * N);
    for (int t = 0; t < N; t++) p[t][key_of(t)] = 1.0f;
}
static int k_prev(int t) { return t > 0 ? t - 1 : 0; }
static int k_first(int t) { (void)t; return 0; }
static int k_self(int t) { return t; }
/* tokens <bos> x y z x y z: rows 4-6 look at the token after the earlier x, y, z; others at themselves */
static const int REP[N] = {1, 4, 5, 6, 4, 5, 6};
static int k_induct(int t) { return t >= 4 ? t - 2 : t; }

static void expect_scores(const float *got, double prev, double first, double self, double anti, double induct) {
    double want[SF_ROLE_COUNT] = {prev, first, self, anti, induct};
    for (int r = 0; r < SF_ROLE_COUNT; r++) {
        if (isnan(want[r])) {
            if (!isnan(got[r])) fail_msg("%s: expected undefined, got %g", sf_role_name(r), (double)got[r]);
        } else if (!(fabs(got[r] - want[r]) < 1e-6)) {
            fail_msg("%s: expected %g, got %g", sf_role_name(r), want[r], (double)got[r]);
        }
    }
}

static void test_head_scores_on_handmade_patterns(void **state) {
    (void)state;
    float p[N][N], s[SF_ROLE_COUNT];
    /* decoder self-attention: rows 1..6 count. anti: key 6-t, visible for t >= 3 (t = 3, 4, 5, 6). */
    one_hot(p, k_prev);
    sf_head_score_pattern(&p[0][0], N, N, N, REP, REP, SF_SUB_SELF, 1, s);
    /* prev 6 of 6 rows; first: row 1 only; anti keys 3, 2, 1, 0 of rows 3-6 are never t-1 */
    expect_scores(s, 1.0, 1.0 / 6, 0.0, 0.0, 0.0);
    one_hot(p, k_first);
    sf_head_score_pattern(&p[0][0], N, N, N, REP, REP, SF_SUB_SELF, 1, s);
    expect_scores(s, 1.0 / 6, 1.0, 0.0, 1.0 / 4, 0.0); /* prev: row 1; anti: row 6 (key 0) of 4 rows */
    one_hot(p, k_self);
    sf_head_score_pattern(&p[0][0], N, N, N, REP, REP, SF_SUB_SELF, 1, s);
    expect_scores(s, 0.0, 0.0, 1.0, 1.0 / 4, 0.0); /* anti: row 3 (key 3) */
    one_hot(p, k_induct);
    sf_head_score_pattern(&p[0][0], N, N, N, REP, REP, SF_SUB_SELF, 1, s);
    expect_scores(s, 0.0, 0.0, 3.0 / 6, 2.0 / 4, 1.0); /* anti: row 3 at key 3, row 4 at key 2 */
    /* the same induction pattern on a sequence without repeats: undefined */
    int distinct[N] = {1, 4, 5, 6, 7, 8, 9};
    sf_head_score_pattern(&p[0][0], N, N, N, distinct, distinct, SF_SUB_SELF, 1, s);
    assert_true(isnan(s[SF_ROLE_INDUCTION]));
    /* uniform causal attention: row t gives 1/(t+1) to each key */
    for (int t = 0; t < N; t++)
        for (int j = 0; j < N; j++) p[t][j] = j <= t ? 1.0f / (float)(t + 1) : 0.0f;
    sf_head_score_pattern(&p[0][0], N, N, N, REP, REP, SF_SUB_SELF, 1, s);
    double h = 0.0;
    for (int t = 1; t < N; t++) h += 1.0 / (t + 1);
    /* induction rows 4, 5, 6: one target each, weight 1/5, 1/6, 1/7 */
    expect_scores(s, h / 6, h / 6, h / 6, (1.0 / 4 + 1.0 / 5 + 1.0 / 6 + 1.0 / 7) / 4,
                  (1.0 / 5 + 1.0 / 6 + 1.0 / 7) / 3);
    /* an encoder head on the anti-diagonal (every row, every key visible) */
    for (int t = 0; t < N; t++)
        for (int j = 0; j < N; j++) p[t][j] = j == N - 1 - t ? 1.0f : 0.0f;
    sf_head_score_pattern(&p[0][0], N, N, N, distinct, distinct, SF_SUB_SELF, 0, s);
    expect_scores(s, 0.0, 1.0 / N, 1.0 / N, 1.0, NAN); /* prev over rows 1..6: none; first: row 6; self: row 3 */
    /* cross-attention, 5 queries over 4 keys: reversal; previous-token and induction are not defined */
    float c[5][4] = {{0, 0, 0, 1}, {0, 0, 1, 0}, {0, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}};
    int q[5] = {1, 4, 5, 6, 7}, k[4] = {4, 5, 6, 7};
    sf_head_score_pattern(&c[0][0], 4, 5, 4, q, k, SF_SUB_CROSS, 0, s);
    expect_scores(s, NAN, 2.0 / 5, 0.0, 1.0, NAN);
    /* the strongest role, with a threshold */
    sf_head_scores hs = {{SF_STACK_DEC, 0, SF_SUB_CROSS, 0}, {0}};
    memcpy(hs.score, s, sizeof s);
    assert_int_equal(sf_role_strongest(&hs, 0.5f), SF_ROLE_ANTI);
    hs.score[SF_ROLE_ANTI] = 0.3f;
    assert_int_equal(sf_role_strongest(&hs, 0.5f), -1);
    assert_int_equal(sf_role_strongest(&hs, 0.2f), SF_ROLE_FIRST);
    assert_string_equal(sf_role_long_name(SF_ROLE_INDUCTION), "induction");
}

/* sf_heads_score walks every head of a record in trace order and scores its recorded pattern. */
static void test_head_scores_of_a_record(void **state) {
    (void)state;
    sf_model m;
    load_model("encdec_pre", &m);
    int src[] = {4, 5, 6, 7, 8, 11}, tgt[] = {1, 11, 8, 7, 11, 8};
    sf_seq s;
    run_rec(&m, &s, src, 6, tgt, 6, 1, NULL);
    sf_head_scores *h;
    int n;
    assert_true(sf_heads_score(&m, &s, &h, &n).ok);
    assert_int_equal(n, (2 + 2 * 2) * 4); /* encoder self, decoder self, cross; 4 heads each */
    char name[48];
    assert_string_equal(sf_head_name(h[0].head, name, sizeof name), "enc.L0.self.H0");
    assert_string_equal(sf_head_name(h[8].head, name, sizeof name), "dec.L0.self.H0");
    assert_string_equal(sf_head_name(h[12].head, name, sizeof name), "dec.L0.cross.H0");
    assert_string_equal(sf_head_name(h[23].head, name, sizeof name), "dec.L1.cross.H3");
    for (int i = 0; i < n; i++) {
        const sf_attn_rec *a = h[i].head.sublayer == SF_SUB_CROSS ? &s.dec.layers[h[i].head.layer].cross
                               : h[i].head.stack == SF_STACK_ENC  ? &s.enc.layers[h[i].head.layer].self
                                                                  : &s.dec.layers[h[i].head.layer].self;
        int cross = h[i].head.sublayer == SF_SUB_CROSS, enc = h[i].head.stack == SF_STACK_ENC;
        float want[SF_ROLE_COUNT];
        sf_head_score_pattern(a->probs + (size_t)h[i].head.head * s.L * s.L, s.L, 6, 6, enc ? src : tgt,
                              cross || enc ? src : tgt, h[i].head.sublayer, !enc && !cross, want);
        for (int r = 0; r < SF_ROLE_COUNT; r++) {
            if (isnan(want[r])) { assert_true(isnan(h[i].score[r])); continue; }
            assert_true(h[i].score[r] == want[r]);
            assert_true(h[i].score[r] >= 0.0f && h[i].score[r] <= 1.0f + 1e-6f);
        }
    }
    /* the decoder repeats tokens 11 and 8, so its self-attention heads have an induction score */
    assert_false(isnan(h[8].score[SF_ROLE_INDUCTION]));
    assert_true(isnan(h[12].score[SF_ROLE_INDUCTION]));
    free(h);
    sf_seq_free(&s);
    sf_model_free(&m);
}

/* ---- names ----------------------------------------------------------------------------------------- */

static void expect_head_error(const sf_config *c, const char *name, const char *part) {
    sf_head_ref h;
    sf_err e = sf_head_parse(c, name, &h);
    if (e.ok) fail_msg("'%s' parsed", name);
    if (!strstr(e.msg, part)) fail_msg("'%s': message \"%s\" does not say \"%s\"", name, e.msg, part);
}

static void expect_site_error(const sf_config *c, const char *name, const char *part) {
    sf_site s;
    sf_err e = sf_site_parse(c, name, &s);
    if (e.ok) fail_msg("'%s' parsed", name);
    if (!strstr(e.msg, part)) fail_msg("'%s': message \"%s\" does not say \"%s\"", name, e.msg, part);
}

static void test_names(void **state) {
    (void)state;
    sf_model ed, gpt;
    load_model("encdec_post", &ed); /* 2+2 layers, 4 heads, max_len 16 */
    load_model("gpt", &gpt);        /* 3 layers, 2 heads */
    const char *good[] = {"dec.L1.self.H2", "enc.L0.self.H1", "dec.L0.cross.H3", "enc.L1.self.H0"};
    for (size_t i = 0; i < 4; i++) {
        sf_head_ref h;
        char back[48];
        sf_err e = sf_head_parse(&ed.cfg, good[i], &h);
        if (!e.ok) fail_msg("%s", e.msg);
        assert_string_equal(sf_head_name(h, back, sizeof back), good[i]);
    }
    expect_head_error(&ed.cfg, "dec.L5.self.H0", "the decoder has layers L0-L1");
    expect_head_error(&ed.cfg, "enc.L0.self.H4", "4 heads per layer (H0-H3)");
    expect_head_error(&ed.cfg, "enc.L0.cross.H0", "only an encoder-decoder's decoder has cross-attention");
    expect_head_error(&ed.cfg, "layer1.head2", "enc.L0-L1.self.H0-H3, dec.L0-L1.self.H0-H3, dec.L0-L1.cross.H0-H3");
    expect_head_error(&ed.cfg, "dec.L1.attn.H0", "expected self.H<n> or cross.H<n>");
    expect_head_error(&ed.cfg, "dec.L1.self.H1x", "expected a head such as H0");
    expect_head_error(&ed.cfg, "dec.L1.self.H1.probs", "expected a head such as H0");
    expect_head_error(&ed.cfg, "dec.Lx.self.H1", "expected a layer such as L0");
    expect_head_error(&ed.cfg, "dec.L1", "expected self.H<n> or cross.H<n>");
    expect_head_error(&ed.cfg, "dec.L1.self.H1@2", "unexpected '@2'");
    expect_head_error(&gpt.cfg, "enc.L0.self.H0", "a gpt model has no encoder (its heads: dec.L0-L2.self.H0-H1)");
    expect_head_error(&gpt.cfg, "dec.L0.cross.H0", "dec.L0-L2.self.H0-H1");
    /* sites */
    const char *sites[] = {"dec.L1.self.H2", "dec.L1.self.H2@3", "dec.L0.resid", "dec.L1.resid@15", "enc.embed",
                           "dec.embed@0", "dec.L0.cross.H1@2"};
    for (size_t i = 0; i < sizeof sites / sizeof *sites; i++) {
        sf_site st;
        char back[48];
        sf_err e = sf_site_parse(&ed.cfg, sites[i], &st);
        if (!e.ok) fail_msg("%s", e.msg);
        assert_string_equal(sf_site_name(&st, back, sizeof back), sites[i]);
    }
    sf_site st;
    assert_true(sf_site_parse(&ed.cfg, "dec.L1.resid@3", &st).ok);
    assert_int_equal(st.kind, SF_SITE_RESID);
    assert_int_equal(st.at.layer, 1);
    assert_int_equal(st.pos, 3);
    assert_true(sf_site_parse(&ed.cfg, "enc.embed", &st).ok);
    assert_int_equal(st.at.layer, -1);
    assert_int_equal(st.pos, -1);
    expect_site_error(&ed.cfg, "dec.L1.resid@16", "past the model's max_len 16");
    expect_site_error(&ed.cfg, "dec.L1.resid@", "expected a position");
    expect_site_error(&ed.cfg, "dec.L1.resid@-1", "expected a position");
    expect_site_error(&ed.cfg, "dec.L1.residual", "expected self.H<n> or cross.H<n>");
    expect_site_error(&ed.cfg, "dec.embedding", "expected a layer such as L0");
    expect_site_error(&ed.cfg, "dec.L2.resid", "the decoder has layers L0-L1");
    /* lists */
    sf_interv iv;
    sf_interv_init(&iv);
    assert_false(sf_interv_add_ablate(&iv, &ed.cfg, "").ok);
    assert_false(sf_interv_add_ablate(&iv, &ed.cfg, "dec.L0.self.H0,,dec.L1.self.H0").ok);
    assert_false(sf_interv_add_ablate(&iv, &ed.cfg, "dec.L0.self.H0,").ok);
    sf_interv_free(&iv);
    assert_true(sf_interv_add_ablate(&iv, &ed.cfg, "dec.L0.self.H0,enc.L1.self.H3,dec.L0.self.H0").ok);
    assert_int_equal(iv.n_ablate, 2);
    assert_true(sf_interv_ablated(&iv, (sf_head_ref){SF_STACK_ENC, 1, SF_SUB_SELF, 3}));
    assert_false(sf_interv_ablated(&iv, (sf_head_ref){SF_STACK_ENC, 1, SF_SUB_SELF, 2}));
    assert_false(sf_interv_ablated(NULL, (sf_head_ref){SF_STACK_ENC, 1, SF_SUB_SELF, 3}));
    int mode = 0;
    assert_true(sf_ablate_mode_parse("mean", &mode) && mode == SF_ABLATE_MEAN);
    assert_false(sf_ablate_mode_parse("Mean", &mode));
    assert_string_equal(sf_ablate_mode_name(SF_ABLATE_ZERO), "zero");
    sf_interv_free(&iv);
    sf_model_free(&ed);
    sf_model_free(&gpt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_ablation_and_lens),
        cmocka_unit_test(test_torch_comparison_catches_a_wrong_ablation),
        cmocka_unit_test(test_lens_last_layer_is_the_output),
        cmocka_unit_test(test_ablation_changes_only_what_comes_after),
        cmocka_unit_test(test_mean_values_are_clean_means),
        cmocka_unit_test(test_forward_refuses_unprepared_interventions),
        cmocka_unit_test(test_patching_every_site_gives_run_a),
        cmocka_unit_test(test_patching_one_head_at_one_position),
        cmocka_unit_test(test_patching_from_a_shorter_run),
        cmocka_unit_test(test_kv_cache_equals_full_pass),
        cmocka_unit_test(test_interventions_across_record_growth),
        cmocka_unit_test(test_head_scores_on_handmade_patterns),
        cmocka_unit_test(test_head_scores_of_a_record),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
