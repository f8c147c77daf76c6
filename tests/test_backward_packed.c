/* test_backward_packed.c - the trainer's packed passes (several sequences end to end in one record)
 * against the single-sequence passes, bit for bit: the forward's logits and recorded intermediates, and
 * (sf_forward_backward_packed) the gradient against the per-example loop's, for both families, tied and
 * untied heads, learned and sinusoidal positions, pre- and post-LN, head sizes 8 and 16, with sequences of
 * length 1 to max_len;
 * and the pass that writes the gradient (sf_forward_backward_packed_set) against the adding one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "model/model.h"
#include "train/backward.h"

#define MAXLEN 20

/* The configurations every check runs on. */
typedef struct {
    const char *name;
    int family, pos, norm, tied, d_ff;
    int d_model; /* 0: 32 (head size 8); 64 gives head size 16, whose short segments take the attention
                  * backward's in-register kernel (sf_attn_head_backward_local) and long ones the other */
} variant;

static const variant VARIANTS[] = {
    {"encdec (sinusoidal, post-LN, tied)", SF_FAMILY_ENCDEC, SF_POS_SINUSOIDAL, SF_NORM_POST, 1, 48, 0},
    {"encdec (learned, pre-LN, untied)", SF_FAMILY_ENCDEC, SF_POS_LEARNED, SF_NORM_PRE, 0, 48, 0},
    {"encdec attention-only (none, post-LN, tied)", SF_FAMILY_ENCDEC, SF_POS_NONE, SF_NORM_POST, 1, 0, 0},
    {"gpt (learned, pre-LN, tied)", SF_FAMILY_GPT, SF_POS_LEARNED, SF_NORM_PRE, 1, 48, 0},
    {"gpt (sinusoidal, post-LN, untied)", SF_FAMILY_GPT, SF_POS_SINUSOIDAL, SF_NORM_POST, 0, 48, 0},
    {"encdec head size 16 (sinusoidal, post-LN, tied)", SF_FAMILY_ENCDEC, SF_POS_SINUSOIDAL, SF_NORM_POST, 1, 48, 64},
};
#define N_VARIANTS (int)(sizeof VARIANTS / sizeof VARIANTS[0])

/* Builds a small randomly initialised model of variant v. */
static void build_model(sf_model *m, const variant *v, unsigned long long seed) {
    sf_config c = sf_config_default((sf_family)v->family);
    c.vocab_size = 23;
    c.d_model = v->d_model ? v->d_model : 32;
    c.n_heads = 4;
    c.d_ff = v->d_ff;
    c.n_enc_layers = v->family == SF_FAMILY_ENCDEC ? 2 : 0;
    c.n_dec_layers = 2;
    c.max_len = MAXLEN;
    c.pos = v->pos;
    c.norm = v->norm;
    c.tied = v->tied;
    sf_err e = sf_model_build(m, &c);
    if (!e.ok) fail_msg("%s: %s", v->name, e.msg);
    sf_model_init_random(m, seed);
}

/* A batch of sequences with their own storage. */
#define N_SEQ 6
typedef struct {
    int n_src[N_SEQ], n_dec[N_SEQ];
    int src[N_SEQ][MAXLEN], in[N_SEQ][MAXLEN], tgt[N_SEQ][MAXLEN];
} batch;

/* Fills a batch: lengths 1, max_len and a few in between (source and target differ), random tokens,
 * some <pad> targets. */
static void make_batch(batch *b, const sf_model *m, sf_rng *r) {
    static const int ns[N_SEQ] = {1, MAXLEN, 7, 3, 12, MAXLEN};
    static const int nd[N_SEQ] = {MAXLEN, 1, 9, 13, 2, MAXLEN};
    int V = m->cfg.vocab_size;
    for (int i = 0; i < N_SEQ; i++) {
        b->n_src[i] = ns[i];
        b->n_dec[i] = nd[i];
        for (int t = 0; t < MAXLEN; t++) {
            b->src[i][t] = 4 + sf_rng_int(r, V - 4);
            b->in[i][t] = t == 0 ? SF_TOK_BOS : 4 + sf_rng_int(r, V - 4);
            b->tgt[i][t] = (t % 5 == 4) ? SF_TOK_PAD : 4 + sf_rng_int(r, V - 4);
        }
    }
}

/* Fills a pack with sequences [i0, i0+n) of b. */
static void make_pack(sf_pack *p, batch *b, int i0, int n) {
    memset(p, 0, sizeof *p);
    p->n = n;
    for (int i = 0; i < n; i++) {
        p->src[i] = b->src[i0 + i];
        p->n_src[i] = b->n_src[i0 + i];
        p->dec[i] = b->in[i0 + i];
        p->n_dec[i] = b->n_dec[i0 + i];
    }
}

/* Asserts that rows [0,n) of width w of a sequence-record buffer equal rows [r0, r0+n) of the packed one. */
static void same_rows(const char *what, const float *seq, const float *pk, int r0, int n, int w) {
    if (memcmp(seq, pk + (size_t)r0 * w, (size_t)n * w * sizeof(float)) != 0)
        fail_msg("%s: the packed rows differ from the sequence's", what);
}

/* Asserts that the square (NH, L, L) block of a sequence record, queries [0,n) and keys [0,nk), equals the
 * packed (NH, L, K) block's rows from r0. */
static void same_square(const char *what, const float *seq, const sf_seq *s, const float *pk, const sf_seq *p, int r0,
                        int n, int nk, int NH) {
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < n; t++)
            if (memcmp(seq + ((size_t)h * s->L + t) * s->K, pk + ((size_t)h * p->L + r0 + t) * p->K,
                       (size_t)nk * sizeof(float)) != 0)
                fail_msg("%s: head %d row %d differs from the sequence's", what, h, t);
}

/* Asserts that the per-head (NH, L, HS) rows [0,n) of a sequence record equal rows r0.. of the packed
 * record's view (head h's row t at pk + h*head + t*ld, sf_attn_qkv). */
static void same_view(const char *what, const float *seq, int Ls, const float *pk, size_t head, size_t ld, int r0,
                      int n, int NH, int HS) {
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < n; t++)
            if (memcmp(seq + ((size_t)h * Ls + t) * HS, pk + h * head + (size_t)(r0 + t) * ld, (size_t)HS * sizeof(float)))
                fail_msg("%s: head %d row %d differs from the sequence's", what, h, t);
}

/* Asserts that one attention sub-layer's record agrees for a sequence at packed rows r0 (queries) / k0. */
static void same_attn(const char *what, const sf_attn_rec *a, const sf_seq *s, const sf_attn_rec *b, const sf_seq *p,
                      int r0, int n, int k0, int nk, const sf_config *c, int cross) {
    int C = c->d_model, NH = c->n_heads, HS = C / NH;
    char w[96];
    sf_qkv_view hv = sf_attn_qkv(p, b, cross); /* the packed record's q, k, v are fused rows */
    snprintf(w, sizeof w, "%s.q", what); same_view(w, a->q, s->L, hv.q, hv.head, hv.ldq, r0, n, NH, HS);
    snprintf(w, sizeof w, "%s.k", what); same_view(w, a->k, s->L, hv.k, hv.head, hv.ldkv, k0, nk, NH, HS);
    snprintf(w, sizeof w, "%s.v", what); same_view(w, a->v, s->L, hv.v, hv.head, hv.ldkv, k0, nk, NH, HS);
    snprintf(w, sizeof w, "%s.probs", what); same_square(w, a->probs, s, b->probs, p, r0, n, nk, NH);
    /* a packed record keeps neither mask nor out (model.h): the masked cells are the scores' -inf, the
     * heads' outputs are concat's rows; its scores and scaled are one head's scratch, and its in is the
     * previous sub-layer's output */
    snprintf(w, sizeof w, "%s.concat", what); same_rows(w, a->concat, b->concat, r0, n, C);
    snprintf(w, sizeof w, "%s.in", what); same_rows(w, a->in, b->in, r0, n, C);
    snprintf(w, sizeof w, "%s.resid", what); same_rows(w, a->resid, b->resid, r0, n, C);
    snprintf(w, sizeof w, "%s.ln_rstd", what); same_rows(w, a->ln_rstd, b->ln_rstd, r0, n, 1);
}

/* The packed forward gives every sequence the bits its own pass gives: logits, probabilities and the
 * recorded intermediates of both stacks, whatever its neighbours. */
static void test_forward_packed_equals_sequences(void **state) {
    (void)state;
    for (int vi = 0; vi < N_VARIANTS; vi++) {
        const variant *v = &VARIANTS[vi];
        sf_model m;
        build_model(&m, v, 11 + (unsigned long long)vi);
        const sf_config *c = &m.cfg;
        int encdec = c->family == SF_FAMILY_ENCDEC, V = c->vocab_size, C = c->d_model;
        sf_rng r;
        sf_rng_seed(&r, 5 + (uint64_t)vi);
        batch b;
        make_batch(&b, &m, &r);
        sf_seq p, s;
        assert_true(sf_seq_build_packed(&p, c).ok);
        assert_true(sf_seq_build(&s, c).ok);
        /* two passes of different packs through one packed record: the second reuses (and grows) it */
        for (int pass = 0; pass < 2; pass++) {
            sf_pack pk;
            int i0 = pass == 0 ? 2 : 0, n = pass == 0 ? 2 : N_SEQ;
            make_pack(&pk, &b, i0, n);
            sf_err e = sf_forward_packed(&m, &p, &pk);
            if (!e.ok) fail_msg("%s: %s", v->name, e.msg);
            assert_int_equal(p.n_tgt, pk.dec_rows);
            for (int i = 0; i < n; i++) {
                int ns = b.n_src[i0 + i], nd = b.n_dec[i0 + i], s0 = pk.src0[i], d0 = pk.dec0[i];
                if (encdec) assert_true(sf_encode(&m, &s, b.src[i0 + i], ns).ok);
                else sf_decode_reset(&s);
                assert_true(sf_decode_full(&m, &s, b.in[i0 + i], nd).ok);
                same_rows("logits", s.logits, p.logits, d0, nd, V);
                same_rows("probs", s.probs, p.probs, d0, nd, V);
                for (int l = 0; l < c->n_dec_layers; l++) {
                    same_attn("dec.self", &s.dec.layers[l].self, &s, &p.dec.layers[l].self, &p, d0, nd, d0, nd, c, 0);
                    if (encdec)
                        same_attn("dec.cross", &s.dec.layers[l].cross, &s, &p.dec.layers[l].cross, &p, d0, nd, s0, ns, c, 1);
                    if (c->d_ff) {
                        const sf_ffn_rec *fs = &s.dec.layers[l].ffn, *fp = &p.dec.layers[l].ffn;
                        same_rows("dec.ffn.in", fs->in, fp->in, d0, nd, C);
                        same_rows("dec.ffn.hidden", fs->hidden, fp->hidden, d0, nd, c->d_ff);
                        if (c->act == SF_ACT_GELU) same_rows("dec.ffn.pre", fs->pre, fp->pre, d0, nd, c->d_ff);
                        same_rows("dec.ffn.resid", fs->resid, fp->resid, d0, nd, C);
                    }
                }
                same_rows("dec.sum", s.dec.sum, p.dec.sum, d0, nd, C);
                if (encdec) {
                    for (int l = 0; l < c->n_enc_layers; l++)
                        same_attn("enc.self", &s.enc.layers[l].self, &s, &p.enc.layers[l].self, &p, s0, ns, s0, ns, c, 0);
                    same_rows("enc.output", sf_stack_output(&m, &s.enc, c->n_enc_layers),
                              sf_stack_output(&m, &p.enc, c->n_enc_layers), s0, ns, C);
                }
            }
        }
        sf_seq_free(&p);
        sf_seq_free(&s);
        sf_model_free(&m);
    }
}

/* Fills g(n) with a fixed pattern: the passes add to what the buffer holds, so it must not start at 0. */
static void start_grad(float *g, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = (float)((int)(i % 7) - 3) * 0.125f;
}

/* Adds the gradient of b's sequences order(n), in packs of at most `per_pack`, with the packed pass (with
 * `set`, the first pack writes g: sf_forward_backward_packed_set); the loss and counts are added to *loss
 * and *counted. */
static void packed_grad_first(const sf_model *m, sf_seq *act, sf_seq *gact, batch *b, const int *order, int n,
                              int per_pack, float *g, double *loss, long *counted, int set) {
    for (int i = 0; i < n; i += per_pack) {
        int k = n - i < per_pack ? n - i : per_pack;
        sf_pack pk;
        memset(&pk, 0, sizeof pk);
        const int *tgt[N_SEQ];
        pk.n = k;
        for (int j = 0; j < k; j++) {
            int s = order[i + j];
            pk.src[j] = b->src[s];
            pk.n_src[j] = b->n_src[s];
            pk.dec[j] = b->in[s];
            pk.n_dec[j] = b->n_dec[s];
            tgt[j] = b->tgt[s];
        }
        int ok = i == 0 && set ? sf_forward_backward_packed_set(m, act, gact, &pk, tgt, g, loss, counted)
                               : sf_forward_backward_packed(m, act, gact, &pk, tgt, g, loss, counted);
        assert_int_equal(ok, 1);
    }
}

/* The same, every pack adding to g. */
static void packed_grad(const sf_model *m, sf_seq *act, sf_seq *gact, batch *b, const int *order, int n, int per_pack,
                        float *g, double *loss, long *counted) {
    packed_grad_first(m, act, gact, b, order, n, per_pack, g, loss, counted, 0);
}

/* Fails with the names of the tensors where g1 differs from g0. */
static void same_grad(const sf_model *m, const float *g0, const float *g1, const char *what, const char *name, int per) {
    if (memcmp(g0, g1, m->n_params * sizeof *g0) == 0) return;
    for (int t = 0; t < m->n_table; t++) {
        const sf_param *q = &m->table[t];
        if (memcmp(g0 + q->offset, g1 + q->offset, q->count * sizeof *g0) != 0) print_error("%s: %s differs\n", name, q->name);
    }
    fail_msg("%s (packs of %d): %s", name, per, what);
}

/* The packed gradient is bit for bit the per-example loop's (so is the loss), in one pack or several,
 * for every variant; the same sequences in another order give other bits, so the comparison is sharp. */
static void test_backward_packed_equals_loop(void **state) {
    (void)state;
    for (int vi = 0; vi < N_VARIANTS; vi++) {
        const variant *v = &VARIANTS[vi];
        sf_model m;
        build_model(&m, v, 21 + (unsigned long long)vi);
        const sf_config *c = &m.cfg;
        int encdec = c->family == SF_FAMILY_ENCDEC;
        size_t P = m.n_params;
        sf_rng r;
        sf_rng_seed(&r, 9 + (uint64_t)vi);
        batch b;
        make_batch(&b, &m, &r);
        float *g0 = malloc(P * sizeof *g0), *g1 = malloc(P * sizeof *g1);
        assert_non_null(g0);
        assert_non_null(g1);
        /* the per-example loop, as the trainer ran it */
        sf_seq s, gs;
        assert_true(sf_seq_build(&s, c).ok);
        assert_true(sf_seq_build(&gs, c).ok);
        start_grad(g0, P);
        double loss0 = 0.0;
        long count0 = 0;
        for (int i = 0; i < N_SEQ; i++) {
            int k = 0;
            float l = sf_forward_backward(&m, &s, &gs, b.src[i], encdec ? b.n_src[i] : 0, b.in[i], b.tgt[i], b.n_dec[i],
                                          g0, &k);
            assert_true(isfinite(l));
            loss0 += l;
            count0 += k;
        }
        /* packed: all at once, and in packs of 4 then 2 */
        sf_seq p, gp;
        assert_true(sf_seq_build_packed(&p, c).ok);
        assert_true(sf_seq_build_packed_grad(&gp, c).ok);
        static const int in_order[N_SEQ] = {0, 1, 2, 3, 4, 5}, reordered[N_SEQ] = {1, 0, 2, 3, 5, 4};
        for (int per = N_SEQ; per >= 4; per -= 2) {
            start_grad(g1, P);
            double loss1 = 0.0;
            long count1 = 0;
            packed_grad(&m, &p, &gp, &b, in_order, N_SEQ, per, g1, &loss1, &count1);
            same_grad(&m, g0, g1, "the packed gradient differs from the per-example loop's", v->name, per);
            assert_memory_equal(&loss0, &loss1, sizeof loss0);
            assert_int_equal(count0, count1);
        }
        start_grad(g1, P);
        double loss2 = 0.0;
        long count2 = 0;
        packed_grad(&m, &p, &gp, &b, reordered, N_SEQ, N_SEQ, g1, &loss2, &count2);
        assert_int_equal(count0, count2);
        assert_true(memcmp(g0, g1, P * sizeof *g0) != 0);
        /* and the gradient is a gradient: something was added */
        start_grad(g1, P);
        assert_true(memcmp(g0, g1, P * sizeof *g0) != 0);
        free(g0);
        free(g1);
        sf_seq_free(&s);
        sf_seq_free(&gs);
        sf_seq_free(&p);
        sf_seq_free(&gp);
        sf_model_free(&m);
    }
}

/* A pass that writes the gradient (sf_forward_backward_packed_set, the trainer's first pack of a chunk)
 * gives bit for bit what the adding passes give from a zeroed buffer, whatever the buffer held before
 * (NaN here, so one element left unwritten fails): all sequences, in one pack or several (the later packs
 * adding), and two short sequences alone, which leave learned positions past their lengths unused (so
 * those rows must be zeroed, not left as they were). */
static void test_backward_packed_set(void **state) {
    (void)state;
    static const int in_order[N_SEQ] = {0, 1, 2, 3, 4, 5}, short_pair[2] = {2, 3};
    static const int pers[] = {N_SEQ, 4, 1};
    for (int vi = 0; vi < N_VARIANTS; vi++) {
        const variant *v = &VARIANTS[vi];
        sf_model m;
        build_model(&m, v, 41 + (unsigned long long)vi);
        size_t P = m.n_params;
        sf_rng r;
        sf_rng_seed(&r, 19 + (uint64_t)vi);
        batch b;
        make_batch(&b, &m, &r);
        float *g0 = malloc(P * sizeof *g0), *g1 = malloc(P * sizeof *g1);
        assert_non_null(g0);
        assert_non_null(g1);
        sf_seq p, gp;
        assert_true(sf_seq_build_packed(&p, &m.cfg).ok);
        assert_true(sf_seq_build_packed_grad(&gp, &m.cfg).ok);
        for (int k = 0; k < 4; k++) {
            int n = k < 3 ? N_SEQ : 2, per = k < 3 ? pers[k] : 2;
            const int *order = k < 3 ? in_order : short_pair;
            double l0 = 0.0, l1 = 0.0;
            long c0 = 0, c1 = 0;
            memset(g0, 0, P * sizeof *g0);
            packed_grad(&m, &p, &gp, &b, order, n, per, g0, &l0, &c0);
            for (size_t i = 0; i < P; i++) g1[i] = NAN;
            packed_grad_first(&m, &p, &gp, &b, order, n, per, g1, &l1, &c1, 1);
            same_grad(&m, g0, g1, "the written gradient differs from the one added to zeros", v->name, per);
            assert_memory_equal(&l0, &l1, sizeof l0);
            assert_int_equal(c0, c1);
        }
        free(g0);
        free(g1);
        sf_seq_free(&p);
        sf_seq_free(&gp);
        sf_model_free(&m);
    }
}

/* Fills every float of a record with NaN. */
static void poison(sf_seq *s) {
    for (size_t i = 0; i < s->mem_floats; i++) s->mem[i] = NAN;
}

/* The per-example loop's gradient of all of b's sequences in order, added to g. */
static void loop_grad(const sf_model *m, batch *b, float *g) {
    int encdec = m->cfg.family == SF_FAMILY_ENCDEC;
    sf_seq s, gs;
    assert_true(sf_seq_build(&s, &m->cfg).ok);
    assert_true(sf_seq_build(&gs, &m->cfg).ok);
    for (int i = 0; i < N_SEQ; i++) {
        int k = 0;
        float l = sf_forward_backward(m, &s, &gs, b->src[i], encdec ? b->n_src[i] : 0, b->in[i], b->tgt[i], b->n_dec[i],
                                      g, &k);
        assert_true(isfinite(l));
    }
    sf_seq_free(&s);
    sf_seq_free(&gs);
}

/* The gradient workspace holds only rows the packed backward writes before it reads them, and the
 * activation record only rows the packed forward writes: with both records full of NaN before every pass
 * (after they have been laid out for the largest pack, so no pass lays them out afresh), the gradient is
 * still the per-example loop's bit for bit, added (in one pack, 4 + 2, and packs of one) and written
 * (the first pack of each). A read of a row or cell no pass wrote turns some gradient into NaN. */
static void test_backward_packed_poisoned(void **state) {
    (void)state;
    static const int pers[] = {N_SEQ, 4, 1};
    for (int vi = 0; vi < N_VARIANTS; vi++) {
        const variant *v = &VARIANTS[vi];
        sf_model m;
        build_model(&m, v, 61 + (unsigned long long)vi);
        size_t P = m.n_params;
        sf_rng r;
        sf_rng_seed(&r, 29 + (uint64_t)vi);
        batch b;
        make_batch(&b, &m, &r);
        float *g0 = malloc(P * sizeof *g0), *z0 = calloc(P, sizeof *z0), *g1 = malloc(P * sizeof *g1);
        assert_true(g0 && z0 && g1);
        start_grad(g0, P);
        loop_grad(&m, &b, g0);
        loop_grad(&m, &b, z0);
        sf_seq p, gp;
        assert_true(sf_seq_build_packed(&p, &m.cfg).ok);
        assert_true(sf_seq_build_packed_grad(&gp, &m.cfg).ok);
        sf_pack all;
        make_pack(&all, &b, 0, N_SEQ);
        assert_true(sf_pack_rows(&m, &all).ok);
        int rows = all.src_rows > all.dec_rows ? all.src_rows : all.dec_rows;
        assert_true(sf_seq_reserve_packed(&p, rows, all.longest).ok);
        assert_true(sf_seq_reserve_packed(&gp, p.L, p.K).ok);
        assert_true(gp.mem_floats < p.mem_floats); /* (the workspace is the smaller of the two) */
        unsigned grown = p.grown + gp.grown;
        for (int set = 0; set <= 1; set++)
            for (int k = 0; k < 3; k++) {
                int per = pers[k];
                if (set) for (size_t i = 0; i < P; i++) g1[i] = NAN;
                else start_grad(g1, P);
                double loss = 0.0;
                long counted = 0;
                for (int i = 0; i < N_SEQ; i += per) {
                    int n = N_SEQ - i < per ? N_SEQ - i : per;
                    sf_pack pk;
                    make_pack(&pk, &b, i, n);
                    const int *tgt[N_SEQ];
                    for (int j = 0; j < n; j++) tgt[j] = b.tgt[i + j];
                    poison(&p);
                    poison(&gp);
                    int ok = set && i == 0 ? sf_forward_backward_packed_set(&m, &p, &gp, &pk, tgt, g1, &loss, &counted)
                                           : sf_forward_backward_packed(&m, &p, &gp, &pk, tgt, g1, &loss, &counted);
                    assert_int_equal(ok, 1);
                }
                assert_true(isfinite(loss));
                same_grad(&m, set ? z0 : g0, g1, "the gradient with poisoned records differs from the loop's", v->name,
                          per);
            }
        assert_int_equal(p.grown + gp.grown, grown); /* every pass ran on the poisoned layout */
        free(g0);
        free(z0);
        free(g1);
        sf_seq_free(&p);
        sf_seq_free(&gp);
        sf_model_free(&m);
    }
}

/* sf_matmul_backward_set writes what sf_matmul_backward adds to zeroed outputs, bit for bit, into
 * outputs full of NaN, with every kernel set this processor has: each output alone and together, shapes
 * with a partial vector, more rows than one packed panel of B (gemm_512's GEMM_PACK_J, 128; gemm_avx2's
 * GEMM2_PACK_J, 256) and wider than 64,
 * one row, no rows (the gradients are then +0.0), and values with zeros of both signs. */
static void test_matmul_backward_set(void **state) {
    (void)state;
    static const char *KERNELS[] = {"c", "avx2", "avx512"};
    static const int shapes[][3] = {{104, 64, 256}, {200, 72, 37}, {300, 40, 24}, {1, 16, 30}, {13, 256, 64},
                                     {0, 24, 40}};
    sf_rng r;
    sf_rng_seed(&r, 5);
    for (int k = 0; k < 3; k++) {
        if (!sf_matmul_use(KERNELS[k])) continue; /* this processor lacks them */
        for (int si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
            int N = shapes[si][0], IC = shapes[si][1], OC = shapes[si][2];
            size_t ni = (size_t)(N ? N : 1) * IC, nw = (size_t)OC * IC;
            float *dout = malloc((size_t)(N ? N : 1) * OC * sizeof(float)), *inp = malloc(ni * sizeof(float));
            float *w = malloc(nw * sizeof(float)), *out0 = malloc((ni + nw + OC) * sizeof(float));
            float *out1 = malloc((ni + nw + OC) * sizeof(float));
            assert_true(dout && inp && w && out0 && out1);
            for (size_t i = 0; i < (size_t)N * OC; i++) dout[i] = i % 11 == 0 ? -0.0f : i % 13 == 0 ? 0.0f : sf_rng_normal(&r);
            for (size_t i = 0; i < ni; i++) inp[i] = i % 7 == 0 ? -0.0f : sf_rng_normal(&r);
            for (size_t i = 0; i < nw; i++) w[i] = sf_rng_normal(&r);
            for (int set = 1; set <= 3; set++) {
                float *di0 = out0, *dw0 = out0 + ni, *db0 = dw0 + nw, *di1 = out1, *dw1 = out1 + ni, *db1 = dw1 + nw;
                memset(out0, 0, (ni + nw + OC) * sizeof(float));
                for (size_t i = 0; i < ni + nw + OC; i++) out1[i] = NAN;
                sf_matmul_backward(set & SF_SET_DINP ? di0 : NULL, set & SF_SET_DWEIGHT ? dw0 : NULL,
                                   set & SF_SET_DWEIGHT ? db0 : NULL, dout, inp, w, N, IC, OC);
                sf_matmul_backward_set(set & SF_SET_DINP ? di1 : NULL, set & SF_SET_DWEIGHT ? dw1 : NULL,
                                       set & SF_SET_DWEIGHT ? db1 : NULL, dout, inp, w, N, IC, OC, set);
                if (set & SF_SET_DINP && N > 0 && memcmp(di0, di1, (size_t)N * IC * sizeof(float)) != 0)
                    fail_msg("%s kernels, %d x %d -> %d: the written input gradient differs", KERNELS[k], N, IC, OC);
                if (set & SF_SET_DWEIGHT && memcmp(dw0, dw1, (nw + OC) * sizeof(float)) != 0)
                    fail_msg("%s kernels, %d x %d -> %d: the written weight or bias gradient differs", KERNELS[k], N, IC, OC);
            }
            /* an output `set` does not name is added to: from a NaN, NaN */
            for (size_t i = 0; i < ni + nw + OC; i++) out1[i] = NAN;
            sf_matmul_backward_set(NULL, out1 + ni, NULL, dout, inp, w, N, IC, OC, SF_SET_DINP);
            if (N > 0) assert_true(isnan(out1[ni]));
            free(dout);
            free(inp);
            free(w);
            free(out0);
            free(out1);
        }
    }
    sf_matmul_use(NULL);
}

/* A packed record refuses the single-sequence passes, and a pack refuses lengths the model cannot take. */
static void test_packed_refusals(void **state) {
    (void)state;
    sf_model m;
    build_model(&m, &VARIANTS[0], 3);
    sf_seq p;
    assert_true(sf_seq_build_packed(&p, &m.cfg).ok);
    int ids[MAXLEN + 1] = {SF_TOK_BOS}, k_counted = 0;
    assert_false(sf_encode(&m, &p, ids, 3).ok);
    assert_false(sf_decode_step(&m, &p, SF_TOK_BOS).ok);
    sf_pack pk;
    memset(&pk, 0, sizeof pk);
    pk.n = 1;
    pk.src[0] = pk.dec[0] = ids;
    pk.n_src[0] = 3;
    pk.n_dec[0] = MAXLEN + 1;
    assert_false(sf_forward_packed(&m, &p, &pk).ok);
    pk.n_dec[0] = 2;
    pk.n_src[0] = 0;
    assert_false(sf_forward_packed(&m, &p, &pk).ok);
    pk.n_src[0] = 2;
    ids[1] = m.cfg.vocab_size; /* outside the vocabulary */
    assert_false(sf_forward_packed(&m, &p, &pk).ok);
    ids[1] = 5;
    assert_true(sf_forward_packed(&m, &p, &pk).ok);
    /* the packed backward: a target outside the vocabulary leaves the gradient, loss and count as they were */
    sf_seq gp, ap, sq;
    assert_true(sf_seq_build_packed_grad(&gp, &m.cfg).ok);
    float *g = calloc(m.n_params, sizeof *g);
    assert_non_null(g);
    int tg[2] = {5, m.cfg.vocab_size};
    const int *tgt[1] = {tg};
    double loss = 1.5;
    long counted = 3;
    assert_int_equal(sf_forward_backward_packed(&m, &p, &gp, &pk, tgt, g, &loss, &counted), 0);
    for (size_t i = 0; i < m.n_params; i++) assert_true(g[i] == 0.0f);
    assert_true(loss == 1.5 && counted == 3);
    tg[1] = 6;
    /* ... and so do records of the wrong kinds: an activation record (or a sequence record) as the
     * gradient workspace, a workspace as the activation record, whose forward pass says why */
    assert_true(sf_seq_build_packed(&ap, &m.cfg).ok);
    assert_true(sf_seq_build(&sq, &m.cfg).ok);
    assert_int_equal(sf_forward_backward_packed(&m, &p, &ap, &pk, tgt, g, &loss, &counted), 0);
    assert_int_equal(sf_forward_backward_packed_set(&m, &p, &ap, &pk, tgt, g, &loss, &counted), 0);
    assert_int_equal(sf_forward_backward_packed(&m, &p, &sq, &pk, tgt, g, &loss, &counted), 0);
    assert_int_equal(sf_forward_backward_packed(&m, &gp, &gp, &pk, tgt, g, &loss, &counted), 0);
    assert_int_equal(sf_forward_loss_packed(&m, &gp, &pk, tgt, &loss, &counted), 0);
    for (size_t i = 0; i < m.n_params; i++) assert_true(g[i] == 0.0f);
    assert_true(loss == 1.5 && counted == 3);
    sf_err e = sf_forward_packed(&m, &gp, &pk);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "gradient workspace"));
    e = sf_forward_packed(&m, &sq, &pk);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "sequence record"));
    /* a workspace refuses the single-sequence passes as every packed record does */
    assert_false(sf_encode(&m, &gp, ids, 3).ok);
    assert_true(isnan(sf_forward_backward(&m, &sq, &gp, ids, 3, ids, tg, 2, g, &k_counted)));
    sf_seq_free(&ap);
    sf_seq_free(&sq);
    assert_int_equal(sf_forward_backward_packed(&m, &p, &gp, &pk, tgt, g, &loss, &counted), 1);
    assert_true(loss > 1.5 && counted == 5);
    free(g);
    sf_seq_free(&gp);
    pk.n = 0;
    assert_false(sf_forward_packed(&m, &p, &pk).ok);
    sf_seq_free(&p);
    sf_model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_packed_equals_sequences),
        cmocka_unit_test(test_backward_packed_equals_loop),
        cmocka_unit_test(test_backward_packed_set),
        cmocka_unit_test(test_backward_packed_poisoned),
        cmocka_unit_test(test_matmul_backward_set),
        cmocka_unit_test(test_packed_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
