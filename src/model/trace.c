/* trace.c - names every buffer of a sequence record as a view with shape and axis meaning. */
#include "trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sf_trace *tr;
    int cap, failed;
    int stack, layer, sublayer, head; /* producer of the entries being added */
} builder;

static void put(builder *b, int op, const float *data, int len0, int cap0, const char *ax0, int len1, int cap1,
                const char *ax1, const char *fmt, ...) {
    sf_trace *tr = b->tr;
    if (b->failed || !data) return;
    if (tr->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 256;
        sf_trace_entry *e = realloc(tr->e, (size_t)cap * sizeof *e);
        if (!e) { b->failed = 1; return; }
        tr->e = e;
        b->cap = cap;
    }
    sf_trace_entry *e = &tr->e[tr->n++];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    e->data = data;
    e->rank = ax1 ? 2 : 1;
    e->cap[0] = cap0; e->len[0] = len0; e->axis[0] = ax0;
    if (ax1) { e->cap[1] = cap1; e->len[1] = len1; e->axis[1] = ax1; }
    e->stack = b->stack; e->layer = b->layer; e->sublayer = b->sublayer; e->head = b->head; e->op = op;
}

#define FIX SF_AXIS_FIXED

static void put_attn(builder *b, const sf_config *c, const sf_attn_rec *a, const char *p, int L, int qlen, int klen) {
    int C = c->d_model, NH = c->n_heads, HS = C / NH;
    b->head = -1;
    put(b, SF_OP_IN, a->in, qlen, L, "position", FIX, C, "channel", "%s.in", p);
    put(b, SF_OP_LN, a->ln, qlen, L, "position", FIX, C, "channel", "%s.ln", p);
    for (int h = 0; h < NH; h++) {
        b->head = h;
        size_t hs = (size_t)h * L * HS, hl = (size_t)h * L * L;
        put(b, SF_OP_QKV, a->q + hs, qlen, L, "query", FIX, HS, "head_dim", "%s.H%d.q", p, h);
        put(b, SF_OP_QKV, a->k + hs, klen, L, "key", FIX, HS, "head_dim", "%s.H%d.k", p, h);
        put(b, SF_OP_QKV, a->v + hs, klen, L, "key", FIX, HS, "head_dim", "%s.H%d.v", p, h);
        put(b, SF_OP_SCORES, a->scores + hl, qlen, L, "query", klen, L, "key", "%s.H%d.scores", p, h);
        put(b, SF_OP_SCALE, a->scaled + hl, qlen, L, "query", klen, L, "key", "%s.H%d.scaled", p, h);
        put(b, SF_OP_MASK, a->mask, qlen, L, "query", klen, L, "key", "%s.H%d.mask", p, h);
        put(b, SF_OP_SOFTMAX, a->probs + hl, qlen, L, "query", klen, L, "key", "%s.H%d.probs", p, h);
        put(b, SF_OP_WSUM, a->out + hs, qlen, L, "query", FIX, HS, "head_dim", "%s.H%d.out", p, h);
    }
    b->head = -1;
    put(b, SF_OP_CONCAT, a->concat, qlen, L, "position", FIX, C, "channel", "%s.concat", p);
    put(b, SF_OP_PROJ, a->proj, qlen, L, "position", FIX, C, "channel", "%s.proj", p);
    put(b, SF_OP_RESID, a->resid, qlen, L, "position", FIX, C, "channel", "%s.resid", p);
    put(b, SF_OP_NORM, a->norm, qlen, L, "position", FIX, C, "channel", "%s.norm", p);
}

static void put_ffn(builder *b, const sf_config *c, const sf_ffn_rec *f, const char *p, int L, int len) {
    int C = c->d_model, F = c->d_ff;
    b->head = -1;
    put(b, SF_OP_IN, f->in, len, L, "position", FIX, C, "channel", "%s.in", p);
    put(b, SF_OP_LN, f->ln, len, L, "position", FIX, C, "channel", "%s.ln", p);
    put(b, SF_OP_FFN1, f->pre, len, L, "position", FIX, F, "hidden", "%s.pre", p);
    put(b, SF_OP_ACT, f->hidden, len, L, "position", FIX, F, "hidden", "%s.hidden", p);
    put(b, SF_OP_FFN2, f->proj, len, L, "position", FIX, C, "channel", "%s.proj", p);
    put(b, SF_OP_RESID, f->resid, len, L, "position", FIX, C, "channel", "%s.resid", p);
    put(b, SF_OP_NORM, f->norm, len, L, "position", FIX, C, "channel", "%s.norm", p);
}

static void put_stack(builder *b, const sf_config *c, const sf_stack_rec *st, int stack, int n_layers, int L) {
    const char *s = stack == SF_STACK_ENC ? "enc" : "dec";
    int len = stack == SF_STACK_ENC ? SF_AXIS_SRC : SF_AXIS_TGT;
    int C = c->d_model;
    char p[32];
    b->stack = stack; b->layer = -1; b->sublayer = SF_SUB_EMBED; b->head = -1;
    put(b, SF_OP_TOK, st->tok, len, L, "position", FIX, C, "channel", "%s.embed.tok", s);
    put(b, SF_OP_POS, st->pos, len, L, "position", FIX, C, "channel", "%s.embed.pos", s);
    put(b, SF_OP_SUM, st->sum, len, L, "position", FIX, C, "channel", "%s.embed.sum", s);
    for (int l = 0; l < n_layers; l++) {
        const sf_layer_rec *r = &st->layers[l];
        b->layer = l;
        b->sublayer = SF_SUB_SELF;
        snprintf(p, sizeof p, "%s.L%d.self", s, l);
        put_attn(b, c, &r->self, p, L, len, len);
        if (r->cross.q) {
            b->sublayer = SF_SUB_CROSS;
            snprintf(p, sizeof p, "%s.L%d.cross", s, l);
            put_attn(b, c, &r->cross, p, L, len, SF_AXIS_SRC);
        }
        b->sublayer = SF_SUB_FFN;
        snprintf(p, sizeof p, "%s.L%d.ffn", s, l);
        put_ffn(b, c, &r->ffn, p, L, len);
    }
    b->layer = -1; b->sublayer = SF_SUB_FINAL; b->head = -1;
    put(b, SF_OP_LN_F, st->ln_f, len, L, "position", FIX, C, "channel", "%s.ln_f", s);
}

sf_err sf_trace_build(sf_trace *tr, const sf_model *m, const sf_seq *s) {
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->s = s;
    builder b = {tr, 0, 0, 0, -1, 0, -1};
    const sf_config *c = &m->cfg;
    if (c->n_enc_layers) put_stack(&b, c, &s->enc, SF_STACK_ENC, c->n_enc_layers, s->L);
    put_stack(&b, c, &s->dec, SF_STACK_DEC, c->n_dec_layers, s->L);
    b.stack = SF_STACK_DEC; b.layer = -1; b.sublayer = SF_SUB_HEAD; b.head = -1;
    put(&b, SF_OP_LOGITS, s->logits, SF_AXIS_TGT, s->L, "position", FIX, c->vocab_size, "vocab", "dec.logits");
    put(&b, SF_OP_PROBS, s->probs, SF_AXIS_TGT, s->L, "position", FIX, c->vocab_size, "vocab", "dec.probs");
    put(&b, SF_OP_PROBS, s->has_sampled ? s->sampled : NULL, SF_AXIS_TGT, s->cap_sampled, "position", FIX, c->vocab_size,
        "vocab", "dec.sample.probs"); /* only when the run generated (sf_run) */
    if (b.failed) {
        sf_trace_free(tr);
        return sf_fail("trace: out of memory");
    }
    tr->grown = s->grown;
    return sf_ok();
}

int sf_trace_stale(const sf_trace *tr) { return tr->s && tr->grown != tr->s->grown; }

sf_err sf_trace_sync(sf_trace *tr) {
    if (!sf_trace_stale(tr)) return sf_ok();
    sf_trace fresh;
    sf_err e = sf_trace_build(&fresh, tr->m, tr->s);
    if (!e.ok) return e;
    if (fresh.n > tr->n) { /* the same model and record always give the same entries */
        sf_trace_free(&fresh);
        return sf_fail("trace: the record no longer matches its trace (%d entries, expected %d)", fresh.n, tr->n);
    }
    /* the record's own entries come first; entries added after them (sf_trace_add) are not the record's */
    memcpy(tr->e, fresh.e, (size_t)fresh.n * sizeof *tr->e);
    tr->grown = fresh.grown;
    sf_trace_free(&fresh);
    return sf_ok();
}

void sf_trace_free(sf_trace *tr) {
    free(tr->e);
    tr->e = NULL;
    tr->n = 0;
}

sf_err sf_trace_add(sf_trace *tr, const sf_trace_entry *e) {
    sf_trace_entry *p = realloc(tr->e, (size_t)(tr->n + 1) * sizeof *p);
    if (!p) return sf_fail("trace: out of memory");
    tr->e = p;
    tr->e[tr->n++] = *e;
    return sf_ok();
}

const sf_trace_entry *sf_trace_find(const sf_trace *tr, const char *name) {
    for (int i = 0; i < tr->n; i++)
        if (strcmp(tr->e[i].name, name) == 0) return &tr->e[i];
    return NULL;
}

int sf_trace_shape(const sf_trace *tr, const sf_trace_entry *e, int dims[SF_TRACE_MAX_RANK]) {
    int stale = sf_trace_stale(tr);
    for (int i = 0; i < e->rank; i++) {
        if (stale) dims[i] = 0;
        else if (e->len[i] == SF_AXIS_SRC) dims[i] = tr->s->n_src;
        else if (e->len[i] == SF_AXIS_TGT) dims[i] = tr->s->n_tgt;
        else dims[i] = e->cap[i];
    }
    return e->rank;
}

float sf_trace_get(const sf_trace *tr, const sf_trace_entry *e, const int *idx) {
    if (sf_trace_stale(tr)) return NAN;
    if (e->rank == 1) return e->data[idx[0]];
    return e->data[(size_t)idx[0] * e->cap[1] + idx[1]];
}

const float *sf_trace_row(const sf_trace_entry *e, int i) {
    return e->rank == 1 ? e->data : e->data + (size_t)i * e->cap[1];
}

sf_err sf_trace_check_finite(const sf_trace *tr) {
    for (int i = 0; i < tr->n; i++) {
        const sf_trace_entry *e = &tr->e[i];
        /* scores, scaled scores and the mask hold -inf where a key is masked; whatever else they hold that
         * is not finite reaches the probabilities (NaN), which are checked: skipping them saves 3/4 of the
         * attention blocks' time */
        if (e->op == SF_OP_SCORES || e->op == SF_OP_SCALE || e->op == SF_OP_MASK) continue;
        int dims[SF_TRACE_MAX_RANK] = {1, 1};
        sf_trace_shape(tr, e, dims);
        int rows = e->rank == 2 ? dims[0] : 1, cols = e->rank == 2 ? dims[1] : dims[0];
        for (int r = 0; r < rows; r++) {
            const float *x = sf_trace_row(e, r);
            for (int c = 0; c < cols; c++) {
                if (isfinite(x[c])) continue;
                return sf_fail("the model's numbers overflow float32: %s[%d,%d] is %s (are its weights too large?)",
                               e->name, r, c, isnan(x[c]) ? "NaN" : x[c] > 0 ? "+inf" : "-inf");
            }
        }
    }
    return sf_ok();
}

const char *sf_sublayer_name(int sub) {
    static const char *const n[] = {"embed", "self", "cross", "ffn", "final", "head"};
    return sub >= 0 && sub < SF_SUB_COUNT ? n[sub] : "?";
}

const char *sf_op_name(int op) {
    static const char *const n[] = {"tok", "pos", "sum", "in", "ln", "qkv", "scores", "scale", "mask",
                                    "softmax", "wsum", "concat", "proj", "resid", "norm", "ffn1", "act",
                                    "ffn2", "ln_f", "logits", "probs", "lens"};
    return op >= 0 && op < SF_OP_COUNT ? n[op] : "?";
}
