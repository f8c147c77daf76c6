/* model.c - parameter layout, initialisation, sequence records and the forward passes. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops.h"
#include "../core/mem.h"
#include "interv.h"

/* ---- parameter layout ------------------------------------------------------------------------- */

typedef struct {
    sf_model *m;
    int cap;
    float ***dst; /* (cap) where each entry's pointer goes once params exist */
    int failed;
} layout;

static void add(layout *lo, float **dst, const char *name, int d0, int d1) {
    sf_model *m = lo->m;
    if (lo->failed) return;
    if (m->n_table == lo->cap) {
        int cap = lo->cap ? lo->cap * 2 : 64;
        sf_param *t = realloc(m->table, (size_t)cap * sizeof *t);
        float ***d = t ? realloc(lo->dst, (size_t)cap * sizeof *d) : NULL;
        if (t) m->table = t;
        if (!t || !d) { lo->failed = 1; return; }
        lo->dst = d;
        lo->cap = cap;
    }
    sf_param *p = &m->table[m->n_table];
    size_t k = strlen(name);
    if (k >= sizeof p->name) k = sizeof p->name - 1; /* names are short by construction */
    memcpy(p->name, name, k);
    p->name[k] = 0;
    p->rank = d1 ? 2 : 1;
    p->dims[0] = d0;
    p->dims[1] = d1;
    p->count = (size_t)d0 * (size_t)(d1 ? d1 : 1); /* bounded by the config limits */
    p->offset = m->n_params;
    m->n_params += p->count;
    lo->dst[m->n_table++] = dst;
}

static void add_ln(layout *lo, sf_ln_w *ln, const char *prefix, int C) {
    char n[96];
    snprintf(n, sizeof n, "%s.w", prefix); add(lo, &ln->w, n, C, 0);
    snprintf(n, sizeof n, "%s.b", prefix); add(lo, &ln->b, n, C, 0);
}

static void add_attn(layout *lo, sf_attn_w *a, const char *prefix, int C, int cross) {
    char n[96];
    if (cross) {
        snprintf(n, sizeof n, "%s.wq", prefix);  add(lo, &a->w_in, n, C, C);
        snprintf(n, sizeof n, "%s.bq", prefix);  add(lo, &a->b_in, n, C, 0);
        snprintf(n, sizeof n, "%s.wkv", prefix); add(lo, &a->w_kv, n, 2 * C, C);
        snprintf(n, sizeof n, "%s.bkv", prefix); add(lo, &a->b_kv, n, 2 * C, 0);
    } else {
        snprintf(n, sizeof n, "%s.wqkv", prefix); add(lo, &a->w_in, n, 3 * C, C);
        snprintf(n, sizeof n, "%s.bqkv", prefix); add(lo, &a->b_in, n, 3 * C, 0);
    }
    snprintf(n, sizeof n, "%s.wo", prefix); add(lo, &a->wo, n, C, C);
    snprintf(n, sizeof n, "%s.bo", prefix); add(lo, &a->bo, n, C, 0);
}

static void add_ffn(layout *lo, sf_ffn_w *f, const char *prefix, int C, int F) {
    char n[96];
    snprintf(n, sizeof n, "%s.w1", prefix); add(lo, &f->w1, n, F, C);
    snprintf(n, sizeof n, "%s.b1", prefix); add(lo, &f->b1, n, F, 0);
    snprintf(n, sizeof n, "%s.w2", prefix); add(lo, &f->w2, n, C, F);
    snprintf(n, sizeof n, "%s.b2", prefix); add(lo, &f->b2, n, C, 0);
}

static void add_layer(layout *lo, sf_layer_w *lw, const char *stack, int l, int has_cross, const sf_config *c) {
    char p[48];
    snprintf(p, sizeof p, "%s.%d.self", stack, l);     add_attn(lo, &lw->self, p, c->d_model, 0);
    snprintf(p, sizeof p, "%s.%d.ln_self", stack, l);  add_ln(lo, &lw->ln_self, p, c->d_model);
    if (has_cross) {
        snprintf(p, sizeof p, "%s.%d.cross", stack, l);    add_attn(lo, &lw->cross, p, c->d_model, 1);
        snprintf(p, sizeof p, "%s.%d.ln_cross", stack, l); add_ln(lo, &lw->ln_cross, p, c->d_model);
    }
    if (c->d_ff == 0) return; /* attention-only: no feed-forward weights and no LayerNorm of their own */
    snprintf(p, sizeof p, "%s.%d.ffn", stack, l);    add_ffn(lo, &lw->ffn, p, c->d_model, c->d_ff);
    snprintf(p, sizeof p, "%s.%d.ln_ffn", stack, l); add_ln(lo, &lw->ln_ffn, p, c->d_model);
}

static sf_err build(sf_model *m, const sf_config *cfg, size_t max_params, int alloc);

sf_err sf_model_build(sf_model *m, const sf_config *cfg) { return build(m, cfg, (size_t)-1, 1); }

sf_err sf_model_build_limited(sf_model *m, const sf_config *cfg, size_t max_params) {
    return build(m, cfg, max_params, 1);
}

sf_err sf_model_plan(sf_model *m, const sf_config *cfg) { return build(m, cfg, (size_t)-1, 0); }

/* Lays out the parameter table for cfg and, when alloc, the zeroed weights it describes. */
static sf_err build(sf_model *m, const sf_config *cfg, size_t max_params, int alloc) {
    memset(m, 0, sizeof *m);
    sf_err e = sf_config_validate(cfg);
    if (!e.ok) return e;
    m->cfg = *cfg;
    const sf_config *c = &m->cfg;
    sf_weights *w = &m->w;
    w->enc = c->n_enc_layers ? calloc((size_t)c->n_enc_layers, sizeof *w->enc) : NULL;
    w->dec = calloc((size_t)c->n_dec_layers, sizeof *w->dec);
    if ((c->n_enc_layers && !w->enc) || !w->dec) {
        sf_model_free(m);
        return sf_fail("model: out of memory for the layer table");
    }
    layout lo = {m, 0, NULL, 0};
    add(&lo, &w->tok_emb, "tok_emb", c->vocab_size, c->d_model);
    if (c->pos == SF_POS_LEARNED) add(&lo, &w->pos_emb, "pos_emb", c->max_len, c->d_model);
    for (int l = 0; l < c->n_enc_layers; l++) add_layer(&lo, &w->enc[l], "enc", l, 0, c);
    if (c->norm == SF_NORM_PRE && c->n_enc_layers) add_ln(&lo, &w->enc_ln_f, "enc.ln_f", c->d_model);
    for (int l = 0; l < c->n_dec_layers; l++)
        add_layer(&lo, &w->dec[l], "dec", l, c->family == SF_FAMILY_ENCDEC, c);
    if (c->norm == SF_NORM_PRE) add_ln(&lo, &w->dec_ln_f, "dec.ln_f", c->d_model);
    if (!c->tied) add(&lo, &w->lm_head, "lm_head", c->vocab_size, c->d_model);
    if (lo.failed) {
        free(lo.dst);
        sf_model_free(m);
        return sf_fail("model: out of memory for the parameter table");
    }
    if (m->n_params > max_params) {
        size_t n = m->n_params;
        free(lo.dst);
        sf_model_free(m);
        return sf_fail("model: the config needs %zu parameters but at most %zu fit (is the file truncated?)", n, max_params);
    }
    if (!alloc) { /* the plan only: the table, no weights */
        free(lo.dst);
        return sf_ok();
    }
    m->params = sf_big_calloc(m->n_params, sizeof(float)); /* huge pages: the trainer reads them every pass */
    if (!m->params) {
        size_t n = m->n_params;
        free(lo.dst);
        sf_model_free(m);
        return sf_fail("model: out of memory for %zu parameters", n);
    }
    for (int i = 0; i < m->n_table; i++) *lo.dst[i] = m->params + m->table[i].offset;
    free(lo.dst);
    return sf_ok();
}

void sf_model_free(sf_model *m) {
    sf_big_free(m->params);
    free(m->table);
    free(m->w.enc);
    free(m->w.dec);
    sf_tokenizer_free(&m->tok);
    memset(m, 0, sizeof *m);
}

const sf_param *sf_model_param(const sf_model *m, const char *name) {
    for (int i = 0; i < m->n_table; i++)
        if (strcmp(m->table[i].name, name) == 0) return &m->table[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

void sf_model_init_random(sf_model *m, unsigned long long seed) { sf_model_init_random_sd(m, seed, 0.0f); }

void sf_model_init_random_sd(sf_model *m, unsigned long long seed, float gpt_sd) {
    sf_rng r;
    sf_rng_seed(&r, seed);
    const sf_config *c = &m->cfg;
    int n_layers = c->n_enc_layers + c->n_dec_layers;
    for (int i = 0; i < m->n_table; i++) {
        const sf_param *p = &m->table[i];
        float *x = m->params + p->offset;
        int is_ln = strstr(p->name, "ln_") != NULL;
        if (p->rank == 1) { /* biases 0, LayerNorm gains 1 */
            float v = (is_ln && ends_with(p->name, ".w")) ? 1.0f : 0.0f;
            for (size_t k = 0; k < p->count; k++) x[k] = v;
            continue;
        }
        if (c->family == SF_FAMILY_GPT) {
            /* GPT-2: N(0, 0.02) (or gpt_sd); residual projections scaled by 1/sqrt(2 * layers) */
            float sd = gpt_sd > 0.0f ? gpt_sd : 0.02f;
            if (ends_with(p->name, ".wo") || ends_with(p->name, ".w2")) sd /= sqrtf(2.0f * (float)n_layers);
            if (strcmp(p->name, "pos_emb") == 0) sd = 0.01f;
            for (size_t k = 0; k < p->count; k++) x[k] = sd * sf_rng_normal(&r);
        } else if (strcmp(p->name, "tok_emb") == 0 || strcmp(p->name, "pos_emb") == 0) {
            /* embeddings are multiplied by sqrt(C), so draw them at scale 1/sqrt(C) */
            float sd = 1.0f / sqrtf((float)c->d_model);
            for (size_t k = 0; k < p->count; k++) x[k] = sd * sf_rng_normal(&r);
        } else { /* Xavier-uniform, as nn.Transformer */
            float a = sqrtf(6.0f / (float)(p->dims[0] + p->dims[1]));
            for (size_t k = 0; k < p->count; k++) x[k] = a * (2.0f * sf_rng_uniform(&r) - 1.0f);
        }
    }
}

/* ---- sequence records ------------------------------------------------------------------------- */

/* Every buffer of a record is `groups` blocks of L rows: a fixed width (channels, head size, vocab), or
 * width 0 for a square block (query x key) whose row length is K (L too, except in a packed record).
 * One walk over the record (the carve_* functions) counts its floats, hands out pointers into one
 * allocation, or lists the buffers so that a growth can move each into its larger place. */
typedef struct {
    float **slot;    /* the record's pointer to the buffer */
    int groups, width;
    float pad;       /* what new key columns of a square block hold: -inf for scores and masks, 0 for probs */
} slot_info;

typedef struct {
    float *base;     /* NULL while counting or listing */
    size_t used;     /* floats handed out (or counted) so far */
    size_t L;        /* positions being laid out */
    size_t K;        /* row length of the square blocks */
    slot_info *list; /* listing: every buffer in carving order, (n_list) of them */
    int n_list, cap_list, failed;
} arena;

/* Hands out (or counts) `groups` blocks of L rows of `width` floats (0: K) and returns where they start
 * (NULL while counting or listing). */
static float *take_buf(arena *a, int groups, int width) {
    size_t W = width ? (size_t)width : a->K;
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (size_t)groups * a->L * W;
    return p;
}

/* Points a record's slot at p (a buffer handed out before, shared with other slots) unless counting. */
static void put(const arena *a, float **slot, float *p) {
    if (a->base) *slot = p;
}

static void take(arena *a, float **slot, int groups, int width, float pad) {
    float *p = take_buf(a, groups, width);
    if (a->base) *slot = p;
    if (!a->list || a->failed) return; /* not listing */
    if (a->n_list == a->cap_list) {
        slot_info *l = realloc(a->list, (size_t)(2 * a->cap_list) * sizeof *l);
        if (!l) { a->failed = 1; return; }
        a->list = l;
        a->cap_list *= 2;
    }
    a->list[a->n_list++] = (slot_info){slot, groups, width, pad};
}

static void carve_attn(arena *a, sf_attn_rec *r, const sf_config *c) {
    int C = c->d_model, NH = c->n_heads, HS = C / NH;
    take(a, &r->in, 1, C, 0);
    if (c->norm == SF_NORM_PRE) take(a, &r->ln, 1, C, 0);
    take(a, &r->ln_mean, 1, 1, 0);
    take(a, &r->ln_rstd, 1, 1, 0);
    /* q, k, v one after another: a packed record keeps fused rows of up to 3C across them (sf_attn_qkv) */
    take(a, &r->q, NH, HS, 0); take(a, &r->k, NH, HS, 0); take(a, &r->v, NH, HS, 0);
    take(a, &r->mask, 1, 0, -INFINITY);
    take(a, &r->scores, NH, 0, -INFINITY); take(a, &r->scaled, NH, 0, -INFINITY); take(a, &r->probs, NH, 0, 0.0f);
    take(a, &r->out, NH, HS, 0);
    take(a, &r->concat, 1, C, 0); take(a, &r->proj, 1, C, 0); take(a, &r->resid, 1, C, 0);
    if (c->norm == SF_NORM_POST) take(a, &r->norm, 1, C, 0);
}

static void carve_ffn(arena *a, sf_ffn_rec *r, const sf_config *c) {
    int C = c->d_model, F = c->d_ff;
    take(a, &r->in, 1, C, 0);
    if (c->norm == SF_NORM_PRE) take(a, &r->ln, 1, C, 0);
    take(a, &r->ln_mean, 1, 1, 0);
    take(a, &r->ln_rstd, 1, 1, 0);
    take(a, &r->pre, 1, F, 0); take(a, &r->hidden, 1, F, 0);
    take(a, &r->proj, 1, C, 0); take(a, &r->resid, 1, C, 0);
    if (c->norm == SF_NORM_POST) take(a, &r->norm, 1, C, 0);
}

static void carve_stack(arena *a, sf_stack_rec *st, const sf_config *c, int n_layers, int cross) {
    int C = c->d_model;
    take(a, &st->tok, 1, C, 0); take(a, &st->pos, 1, C, 0); take(a, &st->sum, 1, C, 0);
    for (int l = 0; l < n_layers; l++) {
        sf_layer_rec *lr = &st->layers[l];
        carve_attn(a, &lr->self, c);
        if (cross) carve_attn(a, &lr->cross, c);
        if (c->d_ff) carve_ffn(a, &lr->ffn, c); /* attention-only: the FFN record stays all NULL */
    }
    if (c->norm == SF_NORM_PRE) {
        take(a, &st->ln_f, 1, C, 0);
        take(a, &st->ln_f_mean, 1, 1, 0);
        take(a, &st->ln_f_rstd, 1, 1, 0);
    }
}

/* Walks every buffer of a record of config c (s may be a dummy while counting). */
static void carve_all(arena *a, sf_seq *s, const sf_config *c) {
    if (c->n_enc_layers) carve_stack(a, &s->enc, c, c->n_enc_layers, 0);
    carve_stack(a, &s->dec, c, c->n_dec_layers, c->family == SF_FAMILY_ENCDEC);
    take(a, &s->logits, 1, c->vocab_size, 0);
    take(a, &s->probs, 1, c->vocab_size, 0);
    take(a, &s->tmp, 1, 3 * c->d_model, 0);
}

/* ---- packed records: only what the backward pass reads ---- */
/* The kinds of record: a sequence record (every intermediate, as the trace names them), a packed
 * activation record (sf_seq_build_packed) and a packed gradient workspace (sf_seq_build_packed_grad). */
enum { REC_SEQ, REC_ACT, REC_GRAD };

static int rec_kind(const sf_seq *s) { return !s->packed ? REC_SEQ : s->grad ? REC_GRAD : REC_ACT; }

/* Buffers every sub-layer of a packed activation record shares: forward scratch nothing reads later. */
typedef struct {
    float *scores, *scaled; /* (L,K) one head's raw and scaled scores; the next head overwrites them */
    float *proj;            /* (L,C) a sub-layer's projection before the residual addition (s->tmp) */
} act_shared;

/* One attention sub-layer of a packed activation record, entering with the stream `in` (the previous
 * sub-layer's output, or the embedded sum: not copied). Returns its output stream. */
static float *carve_act_attn(arena *a, sf_attn_rec *r, const sf_config *c, float *in, const act_shared *sh) {
    int C = c->d_model, NH = c->n_heads, HS = C / NH;
    put(a, &r->in, in);
    if (c->norm == SF_NORM_PRE) take(a, &r->ln, 1, C, 0);
    take(a, &r->ln_mean, 1, 1, 0);
    take(a, &r->ln_rstd, 1, 1, 0);
    take(a, &r->q, NH, HS, 0); take(a, &r->k, NH, HS, 0); take(a, &r->v, NH, HS, 0); /* fused rows (sf_attn_qkv) */
    put(a, &r->scores, sh->scores);
    put(a, &r->scaled, sh->scaled);
    take(a, &r->probs, NH, 0, 0.0f);
    take(a, &r->concat, 1, C, 0);
    put(a, &r->proj, sh->proj);
    take(a, &r->resid, 1, C, 0);
    if (c->norm == SF_NORM_POST) take(a, &r->norm, 1, C, 0);
    return c->norm == SF_NORM_POST ? r->norm : r->resid;
}

/* One feed-forward sub-layer of a packed activation record (ReLU: the pre-activation is computed into the
 * hidden rows and rectified in place, since ReLU's backward asks only whether it was positive, which
 * the rectified value says too). Returns its output stream. */
static float *carve_act_ffn(arena *a, sf_ffn_rec *r, const sf_config *c, float *in, const act_shared *sh) {
    int C = c->d_model, F = c->d_ff;
    put(a, &r->in, in);
    if (c->norm == SF_NORM_PRE) take(a, &r->ln, 1, C, 0);
    take(a, &r->ln_mean, 1, 1, 0);
    take(a, &r->ln_rstd, 1, 1, 0);
    take(a, &r->hidden, 1, F, 0);
    if (c->act == SF_ACT_GELU) take(a, &r->pre, 1, F, 0);
    else put(a, &r->pre, r->hidden);
    put(a, &r->proj, sh->proj);
    take(a, &r->resid, 1, C, 0);
    if (c->norm == SF_NORM_POST) take(a, &r->norm, 1, C, 0);
    return c->norm == SF_NORM_POST ? r->norm : r->resid;
}

/* One stack of a packed activation record: the embedded sum (the token and position rows are scratch in
 * s->tmp: the backward pass reads only the ids), then its sub-layers, each reading the one before's
 * output rows where they are. */
static void carve_act_stack(arena *a, sf_seq *s, sf_stack_rec *st, const sf_config *c, int n_layers, int cross,
                            const act_shared *sh) {
    int C = c->d_model;
    put(a, &st->tok, s->tmp);
    put(a, &st->pos, a->base ? s->tmp + a->L * (size_t)C : NULL);
    take(a, &st->sum, 1, C, 0);
    float *x = st->sum;
    for (int l = 0; l < n_layers; l++) {
        sf_layer_rec *lr = &st->layers[l];
        x = carve_act_attn(a, &lr->self, c, x, sh);
        if (cross) x = carve_act_attn(a, &lr->cross, c, x, sh);
        if (c->d_ff) x = carve_act_ffn(a, &lr->ffn, c, x, sh);
    }
    if (c->norm == SF_NORM_PRE) {
        take(a, &st->ln_f, 1, C, 0);
        take(a, &st->ln_f_mean, 1, 1, 0);
        take(a, &st->ln_f_rstd, 1, 1, 0);
    }
}

/* A packed activation record: what the packed backward reads (model.h), and the forward's scratch. */
static void carve_act(arena *a, sf_seq *s, const sf_config *c) {
    act_shared sh;
    take(a, &s->tmp, 2, c->d_model, 0); /* token rows | position rows; every sub-layer's proj in the first */
    sh.proj = s->tmp;
    sh.scores = take_buf(a, 1, 0);
    sh.scaled = take_buf(a, 1, 0);
    if (c->n_enc_layers) carve_act_stack(a, s, &s->enc, c, c->n_enc_layers, 0, &sh);
    carve_act_stack(a, s, &s->dec, c, c->n_dec_layers, c->family == SF_FAMILY_ENCDEC, &sh);
    take(a, &s->logits, 1, c->vocab_size, 0);
    take(a, &s->probs, 1, c->vocab_size, 0);
}

/* Buffers every sub-layer of a gradient workspace shares: each is written and read inside one
 * sub-layer's backward, so the next sub-layer (below it) may overwrite it. */
typedef struct {
    float *concat, *dq, *ln;        /* (L,C): the heads' gradient, cross-attention's dq, a pre-LN LayerNorm's */
    float *hidden, *pre;            /* (L,F) */
    float *vt;                      /* (L,HS): one head's values transposed (HS, nk) */
    float *probs, *scaled, *scores; /* (L,K): one head's square gradients */
} grad_shared;

/* Points a gradient sub-layer's buffers at the shared ones, its input gradient at `in`. */
static void grad_attn(const arena *a, sf_attn_rec *g, float *in, const grad_shared *sh, int cross) {
    put(a, &g->in, in);
    put(a, &g->ln, sh->ln);
    put(a, &g->concat, sh->concat);
    if (cross) put(a, &g->q, sh->dq);
    put(a, &g->v, sh->vt);
    put(a, &g->probs, sh->probs);
    put(a, &g->scaled, sh->scaled);
    put(a, &g->scores, sh->scores);
}

/* One stack of a gradient workspace. Backward walks it from the last sub-layer down, each turning the
 * gradient of its output (the stream buffer `cur`) into that of its input (the other one), so two stream
 * buffers take turns: `out` receives the stack's output gradient (the head's, or the encoder output's
 * that every cross-attention adds to) and `other` is the second; the embedded sum's gradient ends in
 * whichever the first sub-layer wrote. */
static void grad_stack(const arena *a, sf_stack_rec *g, const sf_config *c, int n_layers, int cross, float *out,
                       float *other, const grad_shared *sh) {
    float *cur = out, *t;
    if (c->norm == SF_NORM_PRE) { /* the final LayerNorm's gradient, then its input's (the last layer's output) */
        put(a, &g->ln_f, out);
        cur = other;
        other = out;
    }
    sf_layer_rec *last = &g->layers[n_layers - 1];
    int post = c->norm == SF_NORM_POST;
    float **outslot = c->d_ff ? (post ? &last->ffn.norm : &last->ffn.resid)
                    : cross ? (post ? &last->cross.norm : &last->cross.resid)
                            : (post ? &last->self.norm : &last->self.resid);
    put(a, outslot, cur);
    for (int l = n_layers - 1; l >= 0; l--) {
        sf_layer_rec *r = &g->layers[l];
        if (c->d_ff) {
            put(a, &r->ffn.in, other);
            put(a, &r->ffn.ln, sh->ln);
            put(a, &r->ffn.hidden, sh->hidden);
            put(a, &r->ffn.pre, sh->pre);
            t = cur, cur = other, other = t;
        }
        if (cross) {
            grad_attn(a, &r->cross, other, sh, 1);
            t = cur, cur = other, other = t;
        }
        grad_attn(a, &r->self, other, sh, 0);
        t = cur, cur = other, other = t;
    }
    put(a, &g->sum, cur);
}

/* A gradient workspace: the rows the packed backward writes and reads (backward.c), most of them shared
 * by every sub-layer. */
static void carve_grad(arena *a, sf_seq *s, const sf_config *c) {
    int C = c->d_model, F = c->d_ff, cross = c->family == SF_FAMILY_ENCDEC;
    grad_shared sh = {0};
    float *stream[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < (c->n_enc_layers ? 4 : 2); i++) stream[i] = take_buf(a, 1, C);
    sh.concat = take_buf(a, 1, C);
    if (cross) sh.dq = take_buf(a, 1, C);
    if (c->norm == SF_NORM_PRE) sh.ln = take_buf(a, 1, C);
    if (F) {
        sh.hidden = take_buf(a, 1, F);
        sh.pre = take_buf(a, 1, F);
    }
    sh.vt = take_buf(a, 1, C / c->n_heads);
    sh.probs = take_buf(a, 1, 0);
    sh.scaled = take_buf(a, 1, 0);
    sh.scores = take_buf(a, 1, 0);
    take(a, &s->tmp, 1, 3 * C, 0);
    take(a, &s->logits, 1, c->vocab_size, 0);
    grad_stack(a, &s->dec, c, c->n_dec_layers, cross, stream[0], stream[1], &sh);
    /* the encoder's own pair: the decoder's embedded-sum gradient stays until the embeddings' backward */
    if (c->n_enc_layers) grad_stack(a, &s->enc, c, c->n_enc_layers, 0, stream[2], stream[3], &sh);
}

/* Walks the buffers of a record of kind `kind`. */
static void carve_kind(arena *a, sf_seq *s, const sf_config *c, int kind) {
    if (kind == REC_ACT) carve_act(a, s, c);
    else if (kind == REC_GRAD) carve_grad(a, s, c);
    else carve_all(a, s, c);
}

/* Returns the floats a record of kind `kind` for config c needs for L positions and square rows of K
 * (counted without allocating). */
static size_t kind_floats(const sf_config *c, int L, int K, int kind) {
    static sf_layer_rec layers[2 * SF_MAX_LAYERS]; /* counting only takes their fields' addresses: never written */
    sf_seq dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.enc.layers = layers;
    dummy.dec.layers = layers + SF_MAX_LAYERS;
    arena a = {NULL, 0, (size_t)L, (size_t)K, NULL, 0, 0, 0};
    carve_kind(&a, &dummy, c, kind);
    return a.used;
}

/* The same for a sequence record. */
static size_t record_floats(const sf_config *c, int L, int K) { return kind_floats(c, L, K, REC_SEQ); }

size_t sf_seq_bytes(const sf_config *c, int positions) {
    return record_floats(c, positions, positions) * sizeof(float) + 2 * (size_t)positions * sizeof(int);
}

/* Returns an error naming the size when a record of L positions (square rows of K) would exceed
 * SF_MAX_RECORD_BYTES. */
static sf_err check_record_size_k(const sf_config *c, int L, int K, int kind) {
    size_t bytes = kind_floats(c, L, K, kind) * sizeof(float) + 2 * (size_t)L * sizeof(int);
    if (bytes <= SF_MAX_RECORD_BYTES) return sf_ok();
    return sf_fail("sequence record: %d positions of this model need %zu MiB (%d heads, %d+%d layers, max_len %d); "
                   "the limit is %zu MiB, so use a shorter input or fewer generated tokens",
                   L, bytes >> 20, c->n_heads, c->n_enc_layers, c->n_dec_layers, c->max_len,
                   SF_MAX_RECORD_BYTES >> 20);
}

/* The same for a sequence record (K = L). */
static sf_err check_record_size(const sf_config *c, int L) { return check_record_size_k(c, L, L, REC_SEQ); }

/* Allocates the first (zeroed) buffers of s for L positions and square rows of K. */
static sf_err lay_out(sf_seq *s, const sf_config *c, int L, int K) {
    int kind = rec_kind(s);
    sf_err e = check_record_size_k(c, L, K, kind);
    if (!e.ok) return e;
    size_t n = kind_floats(c, L, K, kind);
    /* a packed record (the trainer's, written and read by every pass) on huge pages; free takes it too */
    s->mem = s->packed ? sf_big_calloc(n, sizeof(float)) : calloc(n, sizeof(float));
    s->enc.ids = calloc((size_t)L, sizeof(int));
    s->dec.ids = calloc((size_t)L, sizeof(int));
    if (!s->mem || !s->enc.ids || !s->dec.ids)
        return sf_fail("sequence record: out of memory for %d positions (%zu MiB)", L, n * sizeof(float) >> 20);
    if (kind != REC_SEQ) { /* a packed kind sets only some buffers: the others stay NULL */
        if (s->enc.layers) memset(s->enc.layers, 0, (size_t)c->n_enc_layers * sizeof *s->enc.layers); /* (gpt: none) */
        memset(s->dec.layers, 0, (size_t)c->n_dec_layers * sizeof *s->dec.layers);
        sf_layer_rec *el = s->enc.layers, *dl = s->dec.layers;
        int *ei = s->enc.ids, *di = s->dec.ids;
        memset(&s->enc, 0, sizeof s->enc);
        memset(&s->dec, 0, sizeof s->dec);
        s->enc.layers = el, s->dec.layers = dl, s->enc.ids = ei, s->dec.ids = di;
        s->logits = s->probs = s->tmp = NULL;
    }
    arena a = {s->mem, 0, (size_t)L, (size_t)K, NULL, 0, 0, 0};
    carve_kind(&a, s, c, kind);
    s->mem_floats = n;
    s->L = L;
    s->K = K;
    return sf_ok();
}

/* Moves the record in place to L positions: the one allocation is extended (realloc, which for a large
 * block remaps its pages instead of copying them, so growing never holds the old and the new record at
 * once), then every buffer moves up to its new offset and row stride. Going from the last buffer and
 * row to the first is safe: nothing moves down, so no source is overwritten before it has moved. New
 * rows are left as they are: no position is read before the forward pass writes it. On failure s is
 * unchanged. */
static sf_err grow_in_place(sf_seq *s, int L) {
    const sf_config *c = &s->cfg;
    sf_err e = check_record_size(c, L);
    if (!e.ok) return e;
    size_t n = record_floats(c, L, L), oL = (size_t)s->L;
    arena list = {NULL, 0, oL, oL, malloc(256 * sizeof(slot_info)), 0, 256, 0}; /* lists the buffers */
    if (!list.list) return sf_fail("sequence record: out of memory");
    carve_all(&list, s, c);
    size_t *old_off = list.failed ? NULL : malloc((size_t)list.n_list * sizeof *old_off);
    for (int i = 0; old_off && i < list.n_list; i++) old_off[i] = (size_t)(*list.list[i].slot - s->mem);
    int *ids_e = old_off ? realloc(s->enc.ids, (size_t)L * sizeof(int)) : NULL; /* larger ids are harmless */
    if (ids_e) s->enc.ids = ids_e;
    int *ids_d = ids_e ? realloc(s->dec.ids, (size_t)L * sizeof(int)) : NULL;
    if (ids_d) s->dec.ids = ids_d;
    float *mem = ids_d ? realloc(s->mem, n * sizeof(float)) : NULL;
    if (!mem) {
        free(list.list);
        free(old_off);
        return sf_fail("sequence record: out of memory growing to %d positions (%zu MiB)", L, n * sizeof(float) >> 20);
    }
    s->mem = mem;
    size_t new_off = n;
    for (int i = list.n_list - 1; i >= 0; i--) {
        const slot_info *si = &list.list[i];
        size_t W = si->width ? (size_t)si->width : (size_t)L, oW = si->width ? (size_t)si->width : oL;
        new_off -= (size_t)si->groups * (size_t)L * W;
        float *dst = mem + new_off;
        const float *src = mem + old_off[i];
        for (int g = si->groups - 1; g >= 0; g--) {
            float *dg = dst + (size_t)g * L * W;
            const float *sg = src + (size_t)g * oL * oW;
            if (si->width) {
                memmove(dg, sg, oL * W * sizeof(float)); /* same row width: the old rows are a prefix */
                continue;
            }
            for (size_t t = oL; t-- > 0;) {
                memmove(dg + t * W, sg + t * oW, oW * sizeof(float));
                for (size_t j = oW; j < W; j++) dg[t * W + j] = si->pad;
            }
        }
        *si->slot = dst;
    }
    for (size_t t = oL; t < (size_t)L; t++) s->enc.ids[t] = s->dec.ids[t] = 0;
    free(list.list);
    free(old_off);
    s->mem_floats = n;
    s->L = L;
    s->K = L;
    s->grown++;
    return sf_ok();
}

int sf_seq_max_positions(const sf_config *c) {
    if (sf_seq_bytes(c, c->max_len) <= SF_MAX_RECORD_BYTES) return c->max_len;
    int lo = 0, hi = c->max_len; /* bytes(lo) fits, bytes(hi) does not */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (sf_seq_bytes(c, mid) <= SF_MAX_RECORD_BYTES) lo = mid;
        else hi = mid;
    }
    return lo;
}

sf_err sf_seq_build(sf_seq *s, const sf_config *c) {
    memset(s, 0, sizeof *s);
    sf_err e = sf_config_validate(c);
    if (!e.ok) return e;
    s->cfg = *c;
    s->enc.layers = c->n_enc_layers ? calloc((size_t)c->n_enc_layers, sizeof(sf_layer_rec)) : NULL;
    s->dec.layers = calloc((size_t)c->n_dec_layers, sizeof(sf_layer_rec));
    if (!s->dec.layers || (c->n_enc_layers && !s->enc.layers)) {
        sf_seq_free(s);
        return sf_fail("sequence record: out of memory");
    }
    int L = c->max_len < SF_SEQ_FIRST_CAP ? c->max_len : SF_SEQ_FIRST_CAP;
    if (!(e = lay_out(s, c, L, L)).ok) {
        sf_seq_free(s);
        return e;
    }
    return sf_ok();
}

/* Allocates an empty packed record (no rows: the first sf_seq_reserve_packed lays it out). */
static sf_err build_packed(sf_seq *s, const sf_config *c, int grad) {
    memset(s, 0, sizeof *s);
    sf_err e = sf_config_validate(c);
    if (!e.ok) return e;
    s->cfg = *c;
    s->packed = 1;
    s->grad = grad;
    s->enc.layers = c->n_enc_layers ? calloc((size_t)c->n_enc_layers, sizeof(sf_layer_rec)) : NULL;
    s->dec.layers = calloc((size_t)c->n_dec_layers, sizeof(sf_layer_rec));
    if (!s->dec.layers || (c->n_enc_layers && !s->enc.layers)) {
        sf_seq_free(s);
        return sf_fail("sequence record: out of memory");
    }
    return sf_ok();
}

sf_err sf_seq_build_packed(sf_seq *s, const sf_config *c) { return build_packed(s, c, 0); }

sf_err sf_seq_build_packed_grad(sf_seq *s, const sf_config *c) { return build_packed(s, c, 1); }

sf_err sf_seq_reserve_packed(sf_seq *s, int rows, int keys) {
    if (!s->packed) return sf_fail("sequence record: not a packed record");
    if (keys < 1 || keys > s->cfg.max_len || rows < 1)
        return sf_fail("packed record: %d rows of sequences up to %d positions; the model takes at most %d (max_len)",
                       rows, keys, s->cfg.max_len);
    if (rows <= s->L && keys <= s->K) return sf_ok();
    /* rows in steps of 64 and keys by powers of two (at most max_len), so a run of chunks of varying
     * size settles on one layout after a few moves */
    int L = s->L > rows ? s->L : rows, K = s->K > keys ? s->K : keys;
    L = (L + 63) / 64 * 64;
    int k = SF_SEQ_FIRST_CAP;
    while (k < K) k *= 2;
    K = k < s->cfg.max_len ? k : s->cfg.max_len;
    sf_err e = check_record_size_k(&s->cfg, L, K, rec_kind(s));
    if (!e.ok) return e;
    free(s->mem);
    free(s->enc.ids);
    free(s->dec.ids);
    s->mem = NULL;
    s->enc.ids = s->dec.ids = NULL;
    s->L = s->K = 0;
    s->mem_floats = 0;
    s->grown++;
    return lay_out(s, &s->cfg, L, K); /* on failure the record is empty (L 0) and the next reserve retries */
}

sf_err sf_seq_reserve(sf_seq *s, int n) {
    if (s->packed) return sf_fail("sequence record: a packed record (the trainer's) cannot run one sequence");
    if (n <= s->L) return sf_ok();
    if (n > s->cfg.max_len)
        return sf_fail("sequence record: %d positions; the model takes at most %d (max_len)", n, s->cfg.max_len);
    /* capacities are powers of two (or max_len): a run of n steps moves its record only log2(n) times (each
     * move at least doubles it), and two records asked for the same room get the same layout; when the
     * power of two would pass the cap, the most that fits */
    int want = SF_SEQ_FIRST_CAP;
    while (want < n) want *= 2;
    if (want > s->cfg.max_len) want = s->cfg.max_len;
    if (want > n && !check_record_size(&s->cfg, want).ok) { /* the most that fits, so one more move at most */
        int lo = n, hi = want;
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (check_record_size(&s->cfg, mid).ok) lo = mid;
            else hi = mid;
        }
        want = lo;
    }
    return grow_in_place(s, want);
}

void sf_seq_free(sf_seq *s) {
    free(s->mem);
    free(s->sampled);
    free(s->enc.ids);
    free(s->dec.ids);
    free(s->enc.layers);
    free(s->dec.layers);
    memset(s, 0, sizeof *s);
}

const float *sf_attn_output(const sf_attn_rec *a) { return a->norm ? a->norm : a->resid; }
const float *sf_ffn_output(const sf_ffn_rec *f) { return f->norm ? f->norm : f->resid; }

const float *sf_layer_output(const sf_layer_rec *r) {
    if (r->ffn.in) return sf_ffn_output(&r->ffn);
    return r->cross.q ? sf_attn_output(&r->cross) : sf_attn_output(&r->self);
}

const float *sf_stack_output(const sf_model *m, const sf_stack_rec *st, int n_layers) {
    if (m->cfg.norm == SF_NORM_PRE) return st->ln_f;
    return sf_layer_output(&st->layers[n_layers - 1]);
}

/* ---- forward ---------------------------------------------------------------------------------- */

/* Embeds rows [t0,t1), at positions p0, p0+1, ...: token embedding (scaled by sqrt(C) for the paper's
 * models) plus position. */
static void embed_rows(const sf_model *m, sf_stack_rec *st, int t0, int t1, int p0) {
    const sf_config *c = &m->cfg;
    int C = c->d_model;
    float scale = c->scale_emb ? sqrtf((float)C) : 1.0f;
    for (int t = t0; t < t1; t++) {
        int p = p0 + (t - t0);
        float *tok = st->tok + (size_t)t * C, *pos = st->pos + (size_t)t * C;
        const float *e = m->w.tok_emb + (size_t)st->ids[t] * C;
        for (int i = 0; i < C; i++) tok[i] = e[i] * scale;
        if (c->pos == SF_POS_SINUSOIDAL) sf_sinusoid_forward(pos, p, C);
        else if (c->pos == SF_POS_LEARNED) memcpy(pos, m->w.pos_emb + (size_t)p * C, (size_t)C * sizeof(float));
        else memset(pos, 0, (size_t)C * sizeof(float));
        sf_add_forward(st->sum + (size_t)t * C, tok, pos, (size_t)C);
    }
}

/* out(R,OC) = in(R,IC) . w^T + b: a decoder step's single row takes the streaming matrix-vector product,
 * which gives the same bits as sf_matmul_forward's row (ops.h), so a KV-cache step equals the full pass. */
static void linear(float *out, const float *in, const float *w, const float *b, int R, int IC, int OC) {
    if (R == 1) sf_matvec_forward(out, in, w, b, IC, OC);
    else sf_matmul_forward(out, in, w, b, R, IC, OC);
}

/* Splits rows of a fused projection (rows, parts*C) into per-head buffers (NH,L,HS). */
static void split_heads(float *const *dst, const float *fused, int parts, int t0, int t1, int L, int NH, int HS) {
    int C = NH * HS;
    for (int t = t0; t < t1; t++)
        for (int p = 0; p < parts; p++)
            for (int h = 0; h < NH; h++)
                memcpy(dst[p] + ((size_t)h * L + t) * HS, fused + (size_t)(t - t0) * parts * C + p * C + h * HS,
                       (size_t)HS * sizeof(float));
}

/* Returns where a's queries, keys and values are (model.h). */
static sf_qkv_view qkv_view(const sf_config *c, const sf_attn_rec *a, int L, int packed, int cross) {
    size_t C = (size_t)c->d_model, HS = C / (size_t)c->n_heads;
    if (!packed) return (sf_qkv_view){a->q, a->k, a->v, (size_t)L * HS, HS, HS};
    if (cross) return (sf_qkv_view){a->q, a->k, a->k + C, HS, C, 2 * C};
    return (sf_qkv_view){a->q, a->q + C, a->q + 2 * C, HS, 3 * C, 3 * C};
}

sf_qkv_view sf_attn_qkv(const sf_seq *s, const sf_attn_rec *a, int cross) {
    return qkv_view(&s->cfg, a, s->L, s->packed, cross);
}

/* How one attention sub-layer runs over a record: rows [t0,t1) are projected; each segment's queries
 * attend to its keys. `wide` (a sequence record) fills each query's whole square row of K cells (the
 * cells past the keys masked), as the window shows them; a packed record's only its segment's keys. */
typedef struct {
    int L, K, t0, t1, causal, wide;
    const sf_att_seg *seg;
    int n_seg;
    size_t sq_head; /* floats from one head's scores (and scaled) to the next's: L*K, or 0 when the record
                     * keeps one head's (a packed one: each head's are used up before the next's) */
} att_run;

/* Runs one attention sub-layer as `r` says. x is the stream entering (L,C); kv_src is the encoder output
 * for cross-attention (its keys and values already computed), else NULL. causal masks a key whose
 * position is past the query's. tmp holds at least (t1-t0)*3C floats. iv (may be NULL) replaces the
 * output of the heads it ablates or patches; `where` names this sub-layer (its head field is ignored). */
static void attention_rows(const sf_model *m, sf_attn_rec *a, const sf_attn_w *w, const sf_ln_w *lnw,
                           const float *x, const float *kv_src, const att_run *r, float *tmp, const sf_interv *iv,
                           sf_head_ref where) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, NH = c->n_heads, HS = C / NH, L = r->L, K = r->K, t0 = r->t0, t1 = r->t1, R = t1 - t0;
    size_t off = (size_t)t0 * C;
    float *mask = a->mask;
    if (a->in != x) memcpy(a->in + off, x + off, (size_t)R * C * sizeof(float)); /* (a packed record reads x) */
    const float *ain = a->in;
    if (c->norm == SF_NORM_PRE) { /* pre-LN: attention reads LayerNorm(x) */
        sf_layernorm_forward(a->ln + off, a->ln_mean + t0, a->ln_rstd + t0, a->in + off, lnw->w, lnw->b, R, C, c->ln_eps);
        ain = a->ln;
    }
    /* 1. queries (and, for self-attention, keys and values) for the new rows; a packed record keeps the
     *    fused rows as the product writes them (qkv_view) */
    int parts = kv_src ? 1 : 3;
    sf_qkv_view hv = qkv_view(c, a, L, !r->wide, kv_src != NULL);
    if (!r->wide) {
        linear(a->q + (size_t)t0 * parts * C, ain + off, w->w_in, w->b_in, R, C, parts * C);
    } else {
        linear(tmp, ain + off, w->w_in, w->b_in, R, C, parts * C);
        float *dst[3] = {a->q, a->k, a->v};
        split_heads(dst, tmp, parts, t0, t1, L, NH, HS);
    }
    float inv_sqrt = 1.0f / sqrtf((float)HS);
    /* 2. the mask rows (a sequence record's, which the window shows): 0 where the query may look, -inf
     *    where it may not; query t sees keys [0, seen(t)) */
    if (r->wide)
        for (int si = 0; si < r->n_seg; si++) {
            const sf_att_seg *sg = &r->seg[si];
            for (int t = 0; t < sg->nq; t++)
                for (int j = 0; j < K; j++)
                    mask[(size_t)(sg->q0 + t) * K + j] =
                        (j < sg->nk && !(r->causal && j > sg->qpos + t)) ? 0.0f : -INFINITY;
        }
    /* 3. per head: the scores of every segment, then the softmax over all of the head's rows at once
     *    (segments whose rows follow one another: sixteen rows side by side), then each row's weighted
     *    sum of values */
    for (int h = 0; h < NH; h++) {
        for (int si = 0; si < r->n_seg; si++) { /* scores q_t . k_j of every new row against every key */
            const sf_att_seg *sg = &r->seg[si];
            const float *kh = hv.k + h * hv.head + (size_t)sg->k0 * hv.ldkv;
            sf_dot_rows(a->scores + h * r->sq_head + (size_t)sg->q0 * K, K,
                        hv.q + h * hv.head + (size_t)sg->q0 * hv.ldq,
                        (int)hv.ldq, sg->nq, kh, (int)hv.ldkv, sg->nk, HS);
        }
        /* scaling, the masked keys' -inf, softmax: SM_ROWS rows' worth of segments at a time */
        enum { SM_ROWS = 64 };
        int seen[SM_ROWS], width[SM_ROWS], nb = 0, b0 = 0;
        for (int si = 0; si <= r->n_seg; si++) {
            const sf_att_seg *sg = si < r->n_seg ? &r->seg[si] : NULL;
            if (nb && (!sg || sg->q0 != b0 + nb || nb + sg->nq > SM_ROWS)) {
                size_t row = ((size_t)h * L + b0) * K, srow = h * r->sq_head + (size_t)b0 * K;
                sf_attn_softmax(a->probs + row, a->scaled + srow, a->scores + srow, (size_t)K, nb, seen, width,
                                inv_sqrt);
                nb = 0;
            }
            if (!sg) break;
            if (sg->nq > SM_ROWS) { /* a long segment alone, SM_ROWS rows at a time */
                for (int t0r = 0; t0r < sg->nq; t0r += SM_ROWS) {
                    int k = sg->nq - t0r < SM_ROWS ? sg->nq - t0r : SM_ROWS;
                    for (int t = 0; t < k; t++) {
                        int q = sg->qpos + t0r + t + 1;
                        seen[t] = r->causal && q < sg->nk ? q : sg->nk;
                        width[t] = r->wide ? K : sg->nk;
                    }
                    size_t row = ((size_t)h * L + sg->q0 + t0r) * K, srow = h * r->sq_head + (size_t)(sg->q0 + t0r) * K;
                    sf_attn_softmax(a->probs + row, a->scaled + srow, a->scores + srow, (size_t)K, k, seen, width,
                                    inv_sqrt);
                }
                continue;
            }
            if (!nb) b0 = sg->q0;
            for (int t = 0; t < sg->nq; t++, nb++) {
                int q = sg->qpos + t + 1;
                seen[nb] = r->causal && q < sg->nk ? q : sg->nk;
                width[nb] = r->wide ? K : sg->nk;
            }
        }
        for (int si = 0; si < r->n_seg; si++) { /* the weighted sums of values */
            const sf_att_seg *sg = &r->seg[si];
            int q0 = sg->q0, nq = sg->nq, nk = sg->nk;
            const float *vh = hv.v + h * hv.head + (size_t)sg->k0 * hv.ldkv;
            for (int t0r = q0; t0r < q0 + nq; t0r += SM_ROWS) { /* the keys past seen have probability 0 */
                int rows = q0 + nq - t0r < SM_ROWS ? q0 + nq - t0r : SM_ROWS;
                for (int i = 0; i < rows; i++) {
                    int q = sg->qpos + (t0r + i - q0) + 1;
                    seen[i] = r->causal && q < nk ? q : nk;
                }
                /* a packed record's heads write their output straight into concat (nothing reads its out) */
                float *o = r->wide ? a->out + ((size_t)h * L + t0r) * HS : a->concat + (size_t)t0r * C + h * HS;
                int ldo = r->wide ? HS : C;
                sf_attn_weighted_values(o, ldo, a->probs + ((size_t)h * L + t0r) * K, K, seen, rows, vh, (int)hv.ldkv, HS);
                for (int i = 0; i < rows; i++) {
                    int t = t0r + i;
                    float *ot = o + (size_t)i * ldo;
                    if (iv) { /* an ablated or patched head: its output is replaced, its pattern stays as computed */
                        where.head = h;
                        const float *rv = sf_interv_head_value(iv, where, t);
                        if (rv) memcpy(ot, rv, (size_t)HS * sizeof(float));
                    }
                    if (r->wide) memcpy(a->concat + (size_t)t * C + h * HS, ot, (size_t)HS * sizeof(float));
                }
            }
        }
    }
    /* 4. output projection, residual, and (post-LN) LayerNorm */
    linear(a->proj + off, a->concat + off, w->wo, w->bo, R, C, C);
    sf_add_forward(a->resid + off, a->in + off, a->proj + off, (size_t)R * C);
    if (c->norm == SF_NORM_POST)
        sf_layernorm_forward(a->norm + off, a->ln_mean + t0, a->ln_rstd + t0, a->resid + off, lnw->w, lnw->b, R, C, c->ln_eps);
}

/* Computes cross-attention keys and values for encoder rows [0,n). tmp holds n*2C floats. */
static void cross_kv(const sf_model *m, sf_attn_rec *a, const sf_attn_w *w, const float *mem, int n, int L, float *tmp,
                     int packed) {
    int C = m->cfg.d_model, NH = m->cfg.n_heads;
    if (packed) { /* the fused k|v rows stay as they are (qkv_view) */
        sf_matmul_forward(a->k, mem, w->w_kv, w->b_kv, n, C, 2 * C);
        return;
    }
    sf_matmul_forward(tmp, mem, w->w_kv, w->b_kv, n, C, 2 * C);
    float *dst[2] = {a->k, a->v};
    split_heads(dst, tmp, 2, 0, n, L, NH, C / NH);
}

/* Runs one feed-forward sub-layer for rows [t0,t1) of the stream x. */
static void ffn_rows(const sf_model *m, sf_ffn_rec *f, const sf_ffn_w *w, const sf_ln_w *lnw, const float *x, int t0, int t1) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, F = c->d_ff, R = t1 - t0;
    size_t off = (size_t)t0 * C, offf = (size_t)t0 * F;
    if (f->in != x) memcpy(f->in + off, x + off, (size_t)R * C * sizeof(float)); /* (a packed record reads x) */
    const float *fin = f->in;
    if (c->norm == SF_NORM_PRE) {
        sf_layernorm_forward(f->ln + off, f->ln_mean + t0, f->ln_rstd + t0, f->in + off, lnw->w, lnw->b, R, C, c->ln_eps);
        fin = f->ln;
    }
    linear(f->pre + offf, fin + off, w->w1, w->b1, R, C, F);
    if (c->act == SF_ACT_GELU) sf_gelu_forward(f->hidden + offf, f->pre + offf, (size_t)R * F);
    else sf_relu_forward(f->hidden + offf, f->pre + offf, (size_t)R * F);
    linear(f->proj + off, f->hidden + offf, w->w2, w->b2, R, F, C);
    sf_add_forward(f->resid + off, f->in + off, f->proj + off, (size_t)R * C);
    if (c->norm == SF_NORM_POST)
        sf_layernorm_forward(f->norm + off, f->ln_mean + t0, f->ln_rstd + t0, f->resid + off, lnw->w, lnw->b, R, C, c->ln_eps);
}

/* Runs a whole stack over rows [t0,t1): each self segment's rows are embedded at its positions and attend
 * to its keys; in the encoder-decoder's decoder each cross segment's rows attend to encoder rows, whose
 * keys and values are computed first for encoder rows [0,n_kv) when n_kv > 0. */
static sf_err stack_segs(const sf_model *m, sf_seq *s, sf_stack_rec *st, const sf_layer_w *lw, int n_layers,
                         const sf_ln_w *ln_f, int causal, int t0, int t1, const sf_att_seg *self,
                         const sf_att_seg *cross_seg, int n_seg, int n_kv) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, L = s->L;
    int cross = (st == &s->dec) && c->family == SF_FAMILY_ENCDEC;
    float *tmp = s->tmp; /* a sequence record's L rows of 3C: enough for any row range and for the n_src rows of
                          * K|V (a packed pass projects straight into its q, k, v rows and does not use it) */
    const float *mem = cross ? sf_stack_output(m, &s->enc, c->n_enc_layers) : NULL;
    const sf_interv *iv = s->packed ? NULL : s->interv;
    int stack = st == &s->enc ? SF_STACK_ENC : SF_STACK_DEC;
    if (iv) {
        sf_err e = sf_interv_check(iv, c);
        if (!e.ok) return e;
    }
    size_t sq_head = s->packed ? 0 : (size_t)L * s->K;
    att_run rs = {L, s->K, t0, t1, causal, !s->packed, self, n_seg, sq_head};
    att_run rc = {L, s->K, t0, t1, 0, !s->packed, cross_seg, n_seg, sq_head};
    for (int i = 0; i < n_seg; i++) embed_rows(m, st, self[i].q0, self[i].q0 + self[i].nq, self[i].qpos);
    if (iv) sf_interv_patch_resid(iv, m, stack, -1, st->sum, t0, t1);
    const float *x = st->sum;
    for (int l = 0; l < n_layers; l++) {
        sf_layer_rec *r = &st->layers[l];
        sf_head_ref where = {stack, l, SF_SUB_SELF, -1};
        attention_rows(m, &r->self, &lw[l].self, &lw[l].ln_self, x, NULL, &rs, tmp, iv, where);
        x = sf_attn_output(&r->self);
        if (cross) {
            where.sublayer = SF_SUB_CROSS;
            if (n_kv > 0) cross_kv(m, &r->cross, &lw[l].cross, mem, n_kv, L, tmp, s->packed);
            attention_rows(m, &r->cross, &lw[l].cross, &lw[l].ln_cross, x, mem, &rc, tmp, iv, where);
            x = sf_attn_output(&r->cross);
        }
        if (c->d_ff) {
            ffn_rows(m, &r->ffn, &lw[l].ffn, &lw[l].ln_ffn, x, t0, t1);
            x = sf_ffn_output(&r->ffn);
        }
        /* a patched residual stream: the layer's output rows are run A's, and the next layer reads them */
        if (iv) sf_interv_patch_resid(iv, m, stack, l, (float *)sf_layer_output(r), t0, t1);
    }
    if (c->norm == SF_NORM_PRE)
        sf_layernorm_forward(st->ln_f + (size_t)t0 * C, st->ln_f_mean + t0, st->ln_f_rstd + t0, x + (size_t)t0 * C,
                             ln_f->w, ln_f->b, t1 - t0, C, c->ln_eps);
    return sf_ok();
}

/* Runs a whole stack of a sequence record for positions [t0,t1); keys for self-attention are [0,t1),
 * for cross-attention the n_src encoder positions (their keys and values computed when t0 is 0). */
static sf_err stack_rows(const sf_model *m, sf_seq *s, sf_stack_rec *st, const sf_layer_w *lw, int n_layers,
                         const sf_ln_w *ln_f, int causal, int t0, int t1) {
    sf_att_seg self = {t0, t1 - t0, t0, 0, t1}, cross = {t0, t1 - t0, t0, 0, s->n_src};
    return stack_segs(m, s, st, lw, n_layers, ln_f, causal, t0, t1, &self, &cross, 1, t0 == 0 ? s->n_src : 0);
}

/* Computes logits and probabilities for decoder rows [t0,t1) from the final stream. */
static void head_rows(const sf_model *m, sf_seq *s, int t0, int t1) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, V = c->vocab_size;
    const float *x = sf_stack_output(m, &s->dec, c->n_dec_layers);
    const float *wout = c->tied ? m->w.tok_emb : m->w.lm_head;
    linear(s->logits + (size_t)t0 * V, x + (size_t)t0 * C, wout, NULL, t1 - t0, C, V);
    sf_softmax_rows(s->probs + (size_t)t0 * V, s->logits + (size_t)t0 * V, t1 - t0, V);
}

static sf_err check_ids(const sf_model *m, const int *ids, int n, const char *what) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return sf_fail("%s: token %d at position %d is outside the vocabulary (0..%d)", what, ids[i], i,
                           m->cfg.vocab_size - 1);
    return sf_ok();
}

sf_err sf_encode(const sf_model *m, sf_seq *s, const int *src, int n) {
    if (m->cfg.family != SF_FAMILY_ENCDEC) return sf_fail("encode: a gpt model has no encoder");
    if (n < 1 || n > m->cfg.max_len) return sf_fail("encode: %d source tokens; expected 1 to %d", n, m->cfg.max_len);
    sf_err e = check_ids(m, src, n, "encode");
    if (!e.ok) return e;
    if (!(e = sf_seq_reserve(s, n)).ok) return e;
    memcpy(s->enc.ids, src, (size_t)n * sizeof(int));
    s->n_src = n;
    s->n_tgt = 0;
    return stack_rows(m, s, &s->enc, m->w.enc, m->cfg.n_enc_layers, &m->w.enc_ln_f, 0, 0, n);
}

static sf_err need_encoder(const sf_model *m, const sf_seq *s) {
    if (m->cfg.family == SF_FAMILY_ENCDEC && s->n_src < 1)
        return sf_fail("decode: the encoder has not run (call sf_encode first)");
    return sf_ok();
}

sf_err sf_decode_step(const sf_model *m, sf_seq *s, int token) {
    sf_err e = need_encoder(m, s);
    if (!e.ok) return e;
    if (s->n_tgt >= m->cfg.max_len) return sf_fail("decode: the sequence is full (%d positions)", m->cfg.max_len);
    e = check_ids(m, &token, 1, "decode");
    if (!e.ok) return e;
    if (!(e = sf_seq_reserve(s, s->n_tgt + 1)).ok) return e;
    int t = s->n_tgt;
    s->dec.ids[t] = token;
    e = stack_rows(m, s, &s->dec, m->w.dec, m->cfg.n_dec_layers, &m->w.dec_ln_f, 1, t, t + 1);
    if (!e.ok) return e;
    head_rows(m, s, t, t + 1);
    s->n_tgt = t + 1;
    return sf_ok();
}

sf_err sf_decode_full(const sf_model *m, sf_seq *s, const int *tgt, int n) {
    sf_err e = need_encoder(m, s);
    if (!e.ok) return e;
    if (n < 1 || n > m->cfg.max_len) return sf_fail("decode: %d target tokens; expected 1 to %d", n, m->cfg.max_len);
    e = check_ids(m, tgt, n, "decode");
    if (!e.ok) return e;
    if (!(e = sf_seq_reserve(s, n)).ok) return e;
    memcpy(s->dec.ids, tgt, (size_t)n * sizeof(int));
    e = stack_rows(m, s, &s->dec, m->w.dec, m->cfg.n_dec_layers, &m->w.dec_ln_f, 1, 0, n);
    if (!e.ok) return e;
    head_rows(m, s, 0, n);
    s->n_tgt = n;
    return sf_ok();
}

void sf_decode_reset(sf_seq *s) { s->n_tgt = 0; }

/* ---- packed passes (the trainer's) ------------------------------------------------------------ */

sf_err sf_pack_rows(const sf_model *m, sf_pack *p) {
    int encdec = m->cfg.family == SF_FAMILY_ENCDEC, L = m->cfg.max_len;
    if (p->n < 1 || p->n > SF_PACK_MAX) return sf_fail("pack: %d sequences; expected 1 to %d", p->n, SF_PACK_MAX);
    p->src_rows = p->dec_rows = p->longest = 0;
    for (int i = 0; i < p->n; i++) {
        int ns = encdec ? p->n_src[i] : 0, nd = p->n_dec[i];
        if (nd < 1 || nd > L || (encdec && (ns < 1 || ns > L)))
            return sf_fail("pack: sequence %d has %d source and %d target positions; expected 1 to %d", i, ns, nd, L);
        p->src0[i] = p->src_rows;
        p->dec0[i] = p->dec_rows;
        p->src_rows += ns;
        p->dec_rows += nd;
        if (ns > p->longest) p->longest = ns;
        if (nd > p->longest) p->longest = nd;
    }
    return sf_ok();
}

sf_err sf_forward_packed(const sf_model *m, sf_seq *s, sf_pack *p) {
    const sf_config *c = &m->cfg;
    int encdec = c->family == SF_FAMILY_ENCDEC;
    if (!s->packed || s->grad)
        return sf_fail("packed forward: the record is %s, not a packed activation record (sf_seq_build_packed)",
                       s->packed ? "a gradient workspace (sf_seq_build_packed_grad)" : "a sequence record");
    sf_err e = sf_pack_rows(m, p);
    if (!e.ok) return e;
    for (int i = 0; i < p->n; i++) {
        if (encdec && !(e = check_ids(m, p->src[i], p->n_src[i], "encode")).ok) return e;
        if (!(e = check_ids(m, p->dec[i], p->n_dec[i], "decode")).ok) return e;
    }
    int rows = p->src_rows > p->dec_rows ? p->src_rows : p->dec_rows;
    if (!(e = sf_seq_reserve_packed(s, rows, p->longest)).ok) return e;
    sf_att_seg self[SF_PACK_MAX], cross[SF_PACK_MAX];
    s->n_src = s->n_tgt = 0;
    if (encdec) { /* 1. every source through the encoder, each attending to itself */
        for (int i = 0; i < p->n; i++) {
            memcpy(s->enc.ids + p->src0[i], p->src[i], (size_t)p->n_src[i] * sizeof(int));
            self[i] = (sf_att_seg){p->src0[i], p->n_src[i], 0, p->src0[i], p->n_src[i]};
        }
        if (!(e = stack_segs(m, s, &s->enc, m->w.enc, c->n_enc_layers, &m->w.enc_ln_f, 0, 0, p->src_rows, self, NULL,
                             p->n, 0)).ok)
            return e;
        s->n_src = p->src_rows;
    }
    /* 2. every target through the decoder: causal self-attention, cross-attention to its own source */
    for (int i = 0; i < p->n; i++) {
        memcpy(s->dec.ids + p->dec0[i], p->dec[i], (size_t)p->n_dec[i] * sizeof(int));
        self[i] = (sf_att_seg){p->dec0[i], p->n_dec[i], 0, p->dec0[i], p->n_dec[i]};
        if (encdec) cross[i] = (sf_att_seg){p->dec0[i], p->n_dec[i], 0, p->src0[i], p->n_src[i]};
    }
    if (!(e = stack_segs(m, s, &s->dec, m->w.dec, c->n_dec_layers, &m->w.dec_ln_f, 1, 0, p->dec_rows, self, cross,
                         p->n, p->src_rows)).ok)
        return e;
    head_rows(m, s, 0, p->dec_rows);
    s->n_tgt = p->dec_rows;
    return sf_ok();
}
