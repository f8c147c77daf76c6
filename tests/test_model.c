/* test_model.c - properties of the traced model: the KV cache, causality, bidirectionality,
 * permutation equivariance, the trace, the cursor, sampling and the tokenizer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/cursor.h"
#include "model/model.h"
#include "model/run.h"
#include "model/sample.h"
#include "model/trace.h"

static const char ALPHA[] = "abcdefghijkl";

/* Builds a random model of the family with small sizes and the given variations. */
static void make_model(sf_model *m, int family, int norm, int pos, int act, unsigned seed) {
    sf_config c = sf_config_default(family);
    c.vocab_size = 4 + (int)strlen(ALPHA);
    c.d_model = 16;
    c.n_heads = 4;
    c.d_ff = 32;
    c.max_len = 16;
    c.norm = norm;
    c.pos = pos;
    c.act = act;
    sf_err e = sf_model_build(m, &c);
    assert_true(e.ok);
    e = sf_tokenizer_build(&m->tok, ALPHA, strlen(ALPHA));
    assert_true(e.ok);
    sf_model_init_random(m, seed);
    /* LayerNorm gains and biases of 1 and 0 would hide bugs; perturb every parameter a little */
    sf_rng r;
    sf_rng_seed(&r, seed + 1000);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.05f * sf_rng_normal(&r);
}

/* Returns the largest |a-b| over the first `rows` rows of every decoder trace entry whose first
 * axis is the target sequence, comparing two records of the same model. */
static double max_dec_diff(const sf_model *m, const sf_seq *a, const sf_seq *b, int rows) {
    sf_trace ta, tb;
    assert_true(sf_trace_build(&ta, m, a).ok);
    assert_true(sf_trace_build(&tb, m, b).ok);
    assert_int_equal(ta.n, tb.n);
    double worst = 0;
    for (int i = 0; i < ta.n; i++) {
        const sf_trace_entry *ea = &ta.e[i], *eb = &tb.e[i];
        if (ea->stack != SF_STACK_DEC || ea->len[0] != SF_AXIS_TGT) continue;
        int dims[2];
        sf_trace_shape(&ta, ea, dims);
        int cols = ea->rank == 2 ? dims[1] : 1;
        if (ea->rank == 2 && ea->len[1] == SF_AXIS_TGT) cols = rows; /* keys up to the compared rows */
        for (int t = 0; t < rows; t++) {
            const float *ra = sf_trace_row(ea, t), *rb = sf_trace_row(eb, t);
            for (int j = 0; j < cols; j++) {
                if (isinf(ra[j]) && isinf(rb[j]) && ra[j] == rb[j]) continue;
                double d = fabs((double)ra[j] - (double)rb[j]);
                if (!(d <= worst)) worst = d; /* NaN makes worst NaN, which fails the caller */
            }
        }
    }
    sf_trace_free(&ta);
    sf_trace_free(&tb);
    return worst;
}

static void check_kv_cache(int family, int norm, int pos, int act) {
    sf_model m;
    make_model(&m, family, norm, pos, act, 7);
    sf_seq full, inc;
    assert_true(sf_seq_build(&full, &m.cfg).ok);
    assert_true(sf_seq_build(&inc, &m.cfg).ok);
    int src[] = {4, 9, 5, 11, 6, 7}, tgt[] = {1, 6, 11, 5, 9, 4, 8, 10};
    int n = 8;
    if (family == SF_FAMILY_ENCDEC) {
        assert_true(sf_encode(&m, &full, src, 6).ok);
        assert_true(sf_encode(&m, &inc, src, 6).ok);
    }
    assert_true(sf_decode_full(&m, &full, tgt, n).ok);
    for (int t = 0; t < n; t++) assert_true(sf_decode_step(&m, &inc, tgt[t]).ok);
    assert_int_equal(full.n_tgt, inc.n_tgt);
    double d = max_dec_diff(&m, &full, &inc, n);
    printf("  %s %s-LN: max |full - incremental| = %.3g\n", sf_family_name(family), sf_norm_name(norm), d);
    assert_true(d <= 1e-6);
    /* and the cache really is what the step used: corrupting an earlier key changes the next step */
    sf_decode_reset(&inc);
    for (int t = 0; t < n - 1; t++) assert_true(sf_decode_step(&m, &inc, tgt[t]).ok);
    inc.dec.layers[0].self.k[0] += 1.0f;
    assert_true(sf_decode_step(&m, &inc, tgt[n - 1]).ok);
    size_t V = (size_t)m.cfg.vocab_size;
    assert_true(fabsf(inc.logits[(n - 1) * V] - full.logits[(n - 1) * V]) > 1e-6f);
    sf_seq_free(&full);
    sf_seq_free(&inc);
    sf_model_free(&m);
}

static void test_kv_cache_equals_full_pass(void **state) {
    (void)state;
    check_kv_cache(SF_FAMILY_GPT, SF_NORM_PRE, SF_POS_LEARNED, SF_ACT_GELU);
    check_kv_cache(SF_FAMILY_GPT, SF_NORM_POST, SF_POS_SINUSOIDAL, SF_ACT_RELU);
    check_kv_cache(SF_FAMILY_ENCDEC, SF_NORM_POST, SF_POS_SINUSOIDAL, SF_ACT_RELU);
    check_kv_cache(SF_FAMILY_ENCDEC, SF_NORM_PRE, SF_POS_LEARNED, SF_ACT_GELU);
}

/* Returns the largest |a-b| over every entry of two traces of one model (each over its current shape,
 * which must agree); equal infinities count as equal. */
static double max_trace_diff(const sf_trace *ta, const sf_trace *tb) {
    assert_int_equal(ta->n, tb->n);
    double worst = 0;
    for (int i = 0; i < ta->n; i++) {
        const sf_trace_entry *ea = &ta->e[i], *eb = &tb->e[i];
        assert_string_equal(ea->name, eb->name);
        int da[2] = {1, 1}, db[2] = {1, 1};
        sf_trace_shape(ta, ea, da);
        sf_trace_shape(tb, eb, db);
        assert_int_equal(da[0], db[0]);
        assert_int_equal(da[1], db[1]);
        for (int t = 0; t < (ea->rank == 2 ? da[0] : 1); t++) {
            const float *ra = sf_trace_row(ea, t), *rb = sf_trace_row(eb, t);
            for (int j = 0; j < (ea->rank == 2 ? da[1] : da[0]); j++) {
                if (isinf(ra[j]) && ra[j] == rb[j]) continue;
                double d = fabs((double)ra[j] - (double)rb[j]);
                if (!(d <= worst)) worst = d;
            }
        }
    }
    return worst;
}

/* The record grows with the tokens (16 -> 32 -> 64 -> ... positions), moving every buffer; a run on it
 * is bit for bit the run on a record that had room for max_len from the start, a trace built before the
 * growth is stale (empty shapes) until synced, and the capacity stays within twice the positions used. */
static void check_growth(int family, int norm) {
    sf_model m;
    sf_config c = sf_config_default(family);
    c.vocab_size = 4 + (int)strlen(ALPHA);
    c.d_model = 16; c.n_heads = 4; c.d_ff = 32; c.max_len = 100; c.norm = norm;
    assert_true(sf_model_build(&m, &c).ok);
    assert_true(sf_tokenizer_build(&m.tok, ALPHA, strlen(ALPHA)).ok);
    sf_model_init_random(&m, 11);
    sf_seq grow, big, full;
    assert_true(sf_seq_build(&grow, &c).ok);
    assert_true(sf_seq_build(&big, &c).ok);
    assert_true(sf_seq_build(&full, &c).ok);
    assert_int_equal(grow.L, SF_SEQ_FIRST_CAP);
    assert_true(sf_seq_reserve(&big, c.max_len).ok);
    assert_int_equal(big.L, c.max_len);
    int src[20], tgt[70];
    for (int i = 0; i < 20; i++) src[i] = 4 + (i * 7) % 12;
    for (int i = 0; i < 70; i++) tgt[i] = i ? 4 + (i * 5) % 12 : SF_TOK_BOS;
    if (family == SF_FAMILY_ENCDEC) {
        assert_true(sf_encode(&m, &grow, src, 20).ok);
        assert_true(sf_encode(&m, &big, src, 20).ok);
        assert_true(sf_encode(&m, &full, src, 20).ok);
    }
    sf_trace early;
    assert_true(sf_trace_build(&early, &m, &grow).ok);
    unsigned grown0 = grow.grown;
    for (int t = 0; t < 70; t++) {
        assert_true(sf_decode_step(&m, &grow, tgt[t]).ok);
        assert_true(sf_decode_step(&m, &big, tgt[t]).ok);
    }
    assert_true(sf_decode_full(&m, &full, tgt, 70).ok);
    assert_true(grow.grown > grown0);
    assert_true(grow.L >= 70 && grow.L <= 2 * 70);
    assert_true(sf_trace_stale(&early));
    const sf_trace_entry *probs = sf_trace_find(&early, "dec.L0.self.H1.probs");
    assert_non_null(probs);
    int dims[2];
    sf_trace_shape(&early, probs, dims);
    assert_int_equal(dims[0], 0); /* stale: nothing to read */
    assert_true(sf_trace_sync(&early).ok);
    assert_false(sf_trace_stale(&early));
    assert_ptr_equal(sf_trace_find(&early, "dec.L0.self.H1.probs"), probs); /* the same entry, refreshed */
    sf_trace_shape(&early, probs, dims);
    assert_int_equal(dims[0], 70);
    assert_int_equal(probs->cap[1], grow.L);
    sf_trace tb, tf;
    assert_true(sf_trace_build(&tb, &m, &big).ok);
    assert_true(sf_trace_build(&tf, &m, &full).ok);
    double d_big = max_trace_diff(&early, &tb), d_full = max_dec_diff(&m, &full, &grow, 70);
    printf("  %s %s-LN: grown record vs max_len record: %.3g; vs full pass: %.3g\n", sf_family_name(family),
           sf_norm_name(norm), d_big, d_full);
    assert_true(d_big == 0.0);
    assert_true(d_full == 0.0); /* the KV cache over a moved record is still bit for bit the full pass */
    sf_trace_free(&early);
    sf_trace_free(&tb);
    sf_trace_free(&tf);
    sf_seq_free(&grow);
    sf_seq_free(&big);
    sf_seq_free(&full);
    sf_model_free(&m);
}

static void test_record_grows_with_tokens(void **state) {
    (void)state;
    check_growth(SF_FAMILY_GPT, SF_NORM_PRE);
    check_growth(SF_FAMILY_ENCDEC, SF_NORM_POST);
    check_growth(SF_FAMILY_ENCDEC, SF_NORM_PRE);
}

static void check_causality(int family) {
    sf_model m;
    make_model(&m, family, family == SF_FAMILY_GPT ? SF_NORM_PRE : SF_NORM_POST,
               family == SF_FAMILY_GPT ? SF_POS_LEARNED : SF_POS_SINUSOIDAL,
               family == SF_FAMILY_GPT ? SF_ACT_GELU : SF_ACT_RELU, 11);
    sf_seq a, b;
    assert_true(sf_seq_build(&a, &m.cfg).ok);
    assert_true(sf_seq_build(&b, &m.cfg).ok);
    int src[] = {4, 5, 6, 7, 8, 9}, src2[] = {4, 5, 6, 7, 8, 9};
    int tgt[] = {1, 6, 11, 5, 9, 4, 8}, tgt2[] = {1, 6, 11, 5, 9, 4, 8};
    int n = 7;
    for (int j = 1; j < n; j++) {
        memcpy(tgt2, tgt, sizeof tgt);
        tgt2[j] = tgt[j] == 10 ? 12 : 10;
        if (family == SF_FAMILY_ENCDEC) {
            assert_true(sf_encode(&m, &a, src, 6).ok);
            assert_true(sf_encode(&m, &b, src, 6).ok);
        }
        assert_true(sf_decode_full(&m, &a, tgt, n).ok);
        assert_true(sf_decode_full(&m, &b, tgt2, n).ok);
        /* nothing before j moves, bit for bit ... */
        assert_true(max_dec_diff(&m, &a, &b, j) == 0.0);
        /* ... and position j itself does */
        assert_true(max_dec_diff(&m, &a, &b, j + 1) > 1e-4);
    }
    if (family == SF_FAMILY_ENCDEC) {
        /* the encoder: changing the last source token changes every position's output */
        src2[5] = 12;
        assert_true(sf_encode(&m, &a, src, 6).ok);
        assert_true(sf_encode(&m, &b, src2, 6).ok);
        const float *oa = sf_stack_output(&m, &a.enc, m.cfg.n_enc_layers);
        const float *ob = sf_stack_output(&m, &b.enc, m.cfg.n_enc_layers);
        int C = m.cfg.d_model;
        for (int t = 0; t < 6; t++) {
            double d = 0;
            for (int i = 0; i < C; i++) d = fmax(d, fabs(oa[t * C + i] - ob[t * C + i]));
            assert_true(d > 1e-4);
            /* and the first layer's attention row of position t already differs */
            const float *pa = a.enc.layers[0].self.probs + (size_t)t * a.L;
            const float *pb = b.enc.layers[0].self.probs + (size_t)t * b.L;
            double dp = 0;
            for (int k = 0; k < 6; k++) dp = fmax(dp, fabs(pa[k] - pb[k]));
            assert_true(dp > 1e-6);
        }
    }
    sf_seq_free(&a);
    sf_seq_free(&b);
    sf_model_free(&m);
}

static void test_decoder_is_causal_encoder_is_not(void **state) {
    (void)state;
    check_causality(SF_FAMILY_GPT);
    check_causality(SF_FAMILY_ENCDEC);
}

static void test_permutation_equivariance_without_positions(void **state) {
    (void)state;
    for (int norm = SF_NORM_POST; norm <= SF_NORM_PRE; norm++) {
        sf_model m;
        make_model(&m, SF_FAMILY_ENCDEC, norm, SF_POS_NONE, SF_ACT_RELU, 3);
        sf_seq a, b;
        assert_true(sf_seq_build(&a, &m.cfg).ok);
        assert_true(sf_seq_build(&b, &m.cfg).ok);
        int src[] = {4, 9, 5, 11, 6}, perm[] = {3, 0, 4, 1, 2}, psrc[5];
        for (int i = 0; i < 5; i++) psrc[i] = src[perm[i]];
        assert_true(sf_encode(&m, &a, src, 5).ok);
        assert_true(sf_encode(&m, &b, psrc, 5).ok);
        int C = m.cfg.d_model, L = a.L;
        const float *oa = sf_stack_output(&m, &a.enc, 2), *ob = sf_stack_output(&m, &b.enc, 2);
        double worst = 0;
        for (int i = 0; i < 5; i++)
            for (int c = 0; c < C; c++) worst = fmax(worst, fabs(ob[i * C + c] - oa[perm[i] * C + c]));
        /* attention permutes on both axes: probs_b[i][j] = probs_a[perm i][perm j] */
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < m.cfg.n_heads; h++)
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 5; j++) {
                        float pb = b.enc.layers[l].self.probs[((size_t)h * L + i) * L + j];
                        float pa = a.enc.layers[l].self.probs[((size_t)h * L + perm[i]) * L + perm[j]];
                        worst = fmax(worst, fabs(pb - pa));
                    }
        assert_true(worst < 1e-5);
        /* with positions, the same permutation is no longer a mere relabelling */
        sf_model_free(&m);
        make_model(&m, SF_FAMILY_ENCDEC, norm, SF_POS_SINUSOIDAL, SF_ACT_RELU, 3);
        assert_true(sf_encode(&m, &a, src, 5).ok);
        assert_true(sf_encode(&m, &b, psrc, 5).ok);
        oa = sf_stack_output(&m, &a.enc, 2);
        ob = sf_stack_output(&m, &b.enc, 2);
        double moved = 0;
        for (int i = 0; i < 5; i++)
            for (int c = 0; c < C; c++) moved = fmax(moved, fabs(ob[i * C + c] - oa[perm[i] * C + c]));
        assert_true(moved > 1e-3);
        sf_seq_free(&a);
        sf_seq_free(&b);
        sf_model_free(&m);
    }
}

static void test_trace_names_and_shapes(void **state) {
    (void)state;
    sf_model m;
    make_model(&m, SF_FAMILY_ENCDEC, SF_NORM_POST, SF_POS_SINUSOIDAL, SF_ACT_RELU, 5);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_run_opts o = {.input = "abcde", .target = "edc"};
    int given;
    assert_true(sf_run(&m, &s, &o, &given).ok);
    assert_int_equal(given, 4);
    assert_int_equal(s.n_src, 5);
    assert_int_equal(s.n_tgt, 4);
    sf_trace tr;
    assert_true(sf_trace_build(&tr, &m, &s).ok);
    const char *want[] = {"enc.embed.tok", "enc.embed.pos", "enc.embed.sum", "enc.L0.self.H2.scores",
                          "enc.L1.self.H3.probs", "enc.L1.ffn.hidden", "dec.L1.cross.H0.probs",
                          "dec.L0.self.H1.mask", "dec.L1.self.norm", "dec.L0.ffn.pre", "dec.logits", "dec.probs"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!sf_trace_find(&tr, want[i])) fail_msg("missing trace entry %s", want[i]);
    }
    assert_null(sf_trace_find(&tr, "dec.ln_f")); /* post-LN has no final norm */
    assert_null(sf_trace_find(&tr, "dec.L0.self.ln"));
    int dims[2];
    const sf_trace_entry *e = sf_trace_find(&tr, "dec.L1.cross.H0.probs");
    assert_int_equal(sf_trace_shape(&tr, e, dims), 2);
    assert_int_equal(dims[0], 4); /* queries: decoder positions */
    assert_int_equal(dims[1], 5); /* keys: encoder positions */
    assert_string_equal(e->axis[0], "query");
    assert_string_equal(e->axis[1], "key");
    e = sf_trace_find(&tr, "dec.L0.self.H1.probs");
    sf_trace_shape(&tr, e, dims);
    assert_int_equal(dims[1], 4);
    /* each row sums to one over visible keys, masked cells are exactly 0 and -inf in the mask */
    const sf_trace_entry *mask = sf_trace_find(&tr, "dec.L0.self.H1.mask");
    for (int q = 0; q < 4; q++) {
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            int idx[2] = {q, k};
            float p = sf_trace_get(&tr, e, idx);
            sum += p;
            if (k > q) {
                assert_true(p == 0.0f);
                assert_true(isinf(sf_trace_get(&tr, mask, idx)));
            } else {
                assert_true(p > 0.0f);
                assert_true(sf_trace_get(&tr, mask, idx) == 0.0f);
            }
        }
        assert_true(fabs(sum - 1) < 1e-5);
    }
    e = sf_trace_find(&tr, "dec.logits");
    sf_trace_shape(&tr, e, dims);
    assert_int_equal(dims[1], m.cfg.vocab_size);
    /* the pre-LN GPT variant names its LayerNorms and final norm */
    sf_trace_free(&tr);
    sf_seq_free(&s);
    sf_model_free(&m);
    make_model(&m, SF_FAMILY_GPT, SF_NORM_PRE, SF_POS_LEARNED, SF_ACT_GELU, 5);
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_run_opts g = {.input = "abc", .max_new = 3};
    assert_true(sf_run(&m, &s, &g, &given).ok);
    assert_int_equal(given, 4);
    assert_true(s.n_tgt >= 4 && s.n_tgt <= 7);
    assert_true(sf_trace_build(&tr, &m, &s).ok);
    assert_non_null(sf_trace_find(&tr, "dec.ln_f"));
    assert_non_null(sf_trace_find(&tr, "dec.L1.self.ln"));
    assert_null(sf_trace_find(&tr, "enc.embed.tok"));
    assert_null(sf_trace_find(&tr, "dec.L0.cross.H0.probs"));
    sf_trace_free(&tr);
    sf_seq_free(&s);
    sf_model_free(&m);
}

static void test_cursor_walks_schedule(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_ENCDEC);
    sf_schedule s;
    assert_true(sf_schedule_build(&s, &c, 3, 2).ok);
    /* post-LN encdec, 2+2 layers: encoder 3x3 embed + per layer (QKV + 3 rows x 9 attn ops + 3 x 5 ffn ops);
     * decoder per token: 3 embed + per layer (10 self + 10 cross + 5 ffn) + 2 head */
    int enc = 9 + 2 * (1 + 3 * 9 + 3 * 5), dec = 2 * (3 + 2 * (10 + 10 + 5) + 2);
    assert_int_equal(s.n, enc + dec);
    sf_cursor cur = s.steps[0];
    int steps = 0;
    while (sf_cursor_next(&s, &cur)) steps++;
    assert_int_equal(steps, s.n - 1);
    assert_true(sf_cursor_eq(cur, s.steps[s.n - 1]));
    assert_int_equal(cur.phase, SF_STACK_DEC);
    assert_int_equal(cur.op, SF_OP_PROBS);
    while (sf_cursor_prev(&s, &cur)) steps--;
    assert_int_equal(steps, 0);
    assert_true(sf_cursor_eq(cur, s.steps[0]));
    assert_int_equal(sf_cursor_prev(&s, &cur), 0);
    /* the encoder computes Q, K, V for all positions before any row attends */
    sf_cursor qkv = {SF_STACK_ENC, -1, 0, SF_SUB_SELF, SF_OP_QKV};
    sf_cursor row0 = {SF_STACK_ENC, 0, 0, SF_SUB_SELF, SF_OP_SCORES};
    assert_true(sf_schedule_index(&s, qkv) >= 0);
    assert_int_equal(sf_schedule_index(&s, row0), sf_schedule_index(&s, qkv) + 1);
    char buf[64];
    assert_string_equal(sf_cursor_describe(row0, buf, sizeof buf), "enc token 0 L0 self scores");
    sf_schedule_free(&s);
}

static void test_sampling(void **state) {
    (void)state;
    const float logits[] = {0.1f, 2.0f, 1.9f, -1.0f, 0.5f};
    sf_rng r;
    sf_rng_seed(&r, 1);
    sf_sampler greedy = {0, 0};
    assert_int_equal(sf_sample(&greedy, logits, 5, &r, NULL), 1);
    int idx[3];
    assert_int_equal(sf_top_k(logits, 5, 3, idx), 3);
    assert_int_equal(idx[0], 1); assert_int_equal(idx[1], 2); assert_int_equal(idx[2], 4);
    /* top-2 never picks outside {1, 2}; temperature 1 picks both; same seed, same draws */
    sf_sampler top2 = {1.0f, 2};
    int seen[5] = {0}, first[50];
    for (int i = 0; i < 50; i++) seen[first[i] = sf_sample(&top2, logits, 5, &r, NULL)]++;
    assert_int_equal(seen[0] + seen[3] + seen[4], 0);
    assert_true(seen[1] > 0 && seen[2] > 0);
    sf_rng_seed(&r, 1);
    sf_sample(&greedy, logits, 5, &r, NULL);
    for (int i = 0; i < 50; i++) assert_int_equal(sf_sample(&top2, logits, 5, &r, NULL), first[i]);
    /* a low temperature concentrates: the distribution handed back is sharper */
    float p_hot[5], p_cold[5];
    sf_sampler hot = {2.0f, 0}, cold = {0.1f, 0};
    sf_sample(&hot, logits, 5, &r, p_hot);
    sf_sample(&cold, logits, 5, &r, p_cold);
    assert_true(p_cold[1] > p_hot[1]);
    assert_true(p_cold[3] < p_hot[3]);
}

static void test_tokenizer(void **state) {
    (void)state;
    sf_tokenizer t;
    assert_true(sf_tokenizer_build(&t, "ab\xC3\xA9z", 5).ok); /* a b é z */
    assert_int_equal(sf_tokenizer_vocab(&t), 8);
    int ids[8], n;
    assert_true(sf_tokenizer_encode(&t, "z\xC3\xA9" "ab", 5, ids, 8, &n).ok);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 7); assert_int_equal(ids[1], 6); assert_int_equal(ids[2], 4);
    sf_err e = sf_tokenizer_encode(&t, "abQ", 3, ids, 8, &n);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "character 3 'Q'"));
    assert_non_null(strstr(e.msg, "byte 2"));
    e = sf_tokenizer_encode(&t, "a\xC3", 2, ids, 8, &n);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "malformed UTF-8"));
    e = sf_tokenizer_encode(&t, "aaaa", 4, ids, 3, &n);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "limit of 3"));
    char piece[16];
    assert_string_equal(sf_tokenizer_piece(&t, 1, piece), "<bos>");
    assert_string_equal(sf_tokenizer_piece(&t, 6, piece), "\xC3\xA9");
    sf_tokenizer_free(&t);
    assert_false(sf_tokenizer_build(&t, "aba", 3).ok); /* repeated character */
}

static void test_config_validation(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    assert_true(sf_config_validate(&c).ok);
    c.n_heads = 5; /* 64 % 5 != 0 */
    sf_err e = sf_config_validate(&c);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "divisible"));
    c = sf_config_default(SF_FAMILY_GPT);
    c.n_enc_layers = 1;
    assert_false(sf_config_validate(&c).ok);
    c = sf_config_default(SF_FAMILY_ENCDEC);
    c.ln_eps = NAN;
    assert_false(sf_config_validate(&c).ok);
    /* a valid config whose full-length record would be huge starts small; growing it to max_len is
     * refused before allocating, with the size it needs, and the record stays as it was */
    c = sf_config_default(SF_FAMILY_ENCDEC);
    c.n_heads = 64; c.max_len = 2048; c.n_enc_layers = 48; c.n_dec_layers = 48;
    sf_seq s;
    assert_true(sf_seq_build(&s, &c).ok);
    assert_int_equal(s.L, SF_SEQ_FIRST_CAP);
    float *before = s.mem;
    e = sf_seq_reserve(&s, 2048);
    assert_false(e.ok);
    if (!strstr(e.msg, "2048 positions of this model need")) fail_msg("unexpected message: %s", e.msg);
    assert_ptr_equal(s.mem, before);
    assert_int_equal(s.L, SF_SEQ_FIRST_CAP);
    sf_seq_free(&s);
    sf_model m;
    c = sf_config_default(SF_FAMILY_ENCDEC);
    c.d_model = 0;
    assert_false(sf_model_build(&m, &c).ok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_cache_equals_full_pass),
        cmocka_unit_test(test_record_grows_with_tokens),
        cmocka_unit_test(test_decoder_is_causal_encoder_is_not),
        cmocka_unit_test(test_permutation_equivariance_without_positions),
        cmocka_unit_test(test_trace_names_and_shapes),
        cmocka_unit_test(test_cursor_walks_schedule),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_config_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
