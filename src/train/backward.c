/* backward.c - the gradient of the summed cross-entropy through the whole model, for one sequence or a
 * pack of them.
 *
 * The forward pass is the model's own (sf_encode + sf_decode_full, or sf_forward_packed for a pack),
 * which leaves every intermediate in the record `act`. The backward pass walks that record in reverse, in the style of llm.c's
 * train_gpt2.c: one backward function per sub-layer, each turning the gradient of the sub-layer's
 * output into the gradient of its input and adding the weight gradients to `grad`.
 *
 * Activation gradients live in a second record `gact`: the gradient of act->dec.layers[l].self.probs
 * is gact->dec.layers[l].self.probs, and so on (except the heads' q, k, v and out: their gradients are
 * kept in the fused rows the projections read, see attn_backward). For one sequence it is a sequence
 * record of the same layout; for a pack, a gradient workspace (model.h), whose buffers of one sub-layer
 * share memory with the others' where one's gradient is used up before the next is written. Only the
 * rows of the current sequences are used, and every buffer is zeroed (or overwritten) before it is
 * accumulated into.
 *
 * A pack's gradient is bit for bit the per-example loop's: the row-wise steps run over all rows at once,
 * and every weight-gradient element is one chain over rows in ascending order (ops.h) started at what
 * the buffer holds, so the packed rows in sequence order make the same chain as the sequences one after
 * another. The one exception is the token embedding (and learned positions), which the head (tied), the
 * decoder and the encoder all add to: per sequence in that order, so those are added sequence by
 * sequence at the end.
 *
 * Sizes as in model.h: V vocab, C d_model, NH heads, HS = C/NH, F d_ff, L the record's rows, K its
 * square blocks' row length; n decoder rows, n_src encoder rows (of all sequences). */
#include "backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"

/* Everything the backward functions share. */
typedef struct {
    const sf_model *m;
    float *grad; /* (n_params) laid out as m->params */
    float *tmp;  /* scratch for fused projections: max(n * 3C, n_src * 2C) floats (gact->tmp) */
    int L, K, C, NH, HS, pre;
    const sf_seq *act; /* the forward record (where its q, k, v are: sf_attn_qkv) */
    int set;           /* write grad instead of adding to it (sf_forward_backward_packed_set) */
    int ws;            /* gact is a gradient workspace (model.h): one head's square gradients, used per segment */
} bw_ctx;

/* ---- gradients of the weights ------------------------------------------------------------------ */

/* Returns the address in grad of the parameter that lives at p inside m->params (NULL stays NULL). */
static float *gptr(const bw_ctx *b, const float *p) { return p ? b->grad + (p - b->m->params) : NULL; }

/* Returns the gradient pointers of a LayerNorm's weights. */
static sf_ln_w ln_grad(const bw_ctx *b, const sf_ln_w *w) {
    sf_ln_w g = {gptr(b, w->w), gptr(b, w->b)};
    return g;
}

/* Returns the gradient pointers of an attention sub-layer's weights. */
static sf_attn_w attn_grad(const bw_ctx *b, const sf_attn_w *w) {
    sf_attn_w g = {gptr(b, w->w_in), gptr(b, w->b_in), gptr(b, w->w_kv), gptr(b, w->b_kv), gptr(b, w->wo),
                   gptr(b, w->bo)};
    return g;
}

/* Returns the gradient pointers of a feed-forward sub-layer's weights. */
static sf_ffn_w ffn_grad(const bw_ctx *b, const sf_ffn_w *w) {
    sf_ffn_w g = {gptr(b, w->w1), gptr(b, w->b1), gptr(b, w->w2), gptr(b, w->b2)};
    return g;
}

/* Runs a linear layer's backward: writes dinp when `set_dinp` (an input gradient nothing else adds to),
 * else adds to it; writes the weight gradients when the pass writes grad (each weight and bias of a
 * linear layer gets exactly one product per pass), else adds to them. */
static void weight_backward(const bw_ctx *b, float *dinp, int set_dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight, int N, int IC, int OC) {
    int set = (set_dinp ? SF_SET_DINP : 0) | (b->set ? SF_SET_DWEIGHT : 0);
    if (set) sf_matmul_backward_set(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, set);
    else sf_matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
}

/* Runs a LayerNorm's backward (sf_layernorm_backward: adds to dinp and to the gain and bias gradients in
 * g), after zeroing those weight gradients when the pass writes grad: each LayerNorm has one backward per
 * pass, so its gradients start at zero like the written products'. */
static void ln_backward(const bw_ctx *b, const sf_ln_w *g, float *dinp, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int n, int C) {
    if (b->set) {
        if (g->w) memset(g->w, 0, (size_t)C * sizeof(float));
        if (g->b) memset(g->b, 0, (size_t)C * sizeof(float));
    }
    sf_layernorm_backward(dinp, g->w, g->b, dout, inp, w, mean, rstd, n, C);
}

/* ---- small helpers ----------------------------------------------------------------------------- */

/* Sets rows [0,rows) of a (?, width) buffer to zero. */
static void zero_rows(float *p, int rows, int width) { memset(p, 0, (size_t)rows * width * sizeof(float)); }

/* Returns whether the n_seg segments' queries tile rows [0,n) and their keys rows [0,nk), each segment's
 * rows right after the one before's (so each row is one segment's query and one segment's key). */
static int segs_tile(const sf_att_seg *seg, int n_seg, int n, int nk) {
    int q = 0, k = 0;
    for (int i = 0; i < n_seg; i++) {
        if (seg[i].q0 != q || seg[i].k0 != k || seg[i].nq < 1 || seg[i].nk < 1) return 0;
        q += seg[i].nq, k += seg[i].nk;
    }
    return q == n && k == nk;
}

/* Sets dinp(n) to the gradient of ReLU as sf_relu_backward adds it to a zeroed buffer: 0 + (dout where
 * in > 0, else 0), the same bits (the addition to +0 turns a -0 into +0) without zeroing first. */
static void relu_backward_set(float *restrict dinp, const float *restrict dout, const float *restrict in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float d = dout[i];
        dinp[i] = 0.0f + (in[i] > 0.0f ? d : 0.0f);
    }
}

/* Returns the buffer of a layer's output stream in a record (in gact: its gradient), whichever
 * sub-layer is last (the FFN, or in attention-only models the last attention). */
static float *layer_output_buf(sf_layer_rec *r) { return (float *)sf_layer_output(r); }

/* Returns the gradient buffer (in gact) of a stack's final output: ln_f for pre-LN, else the last
 * layer's post-LN output. */
static float *stack_output_grad(const sf_model *m, sf_stack_rec *g, int n_layers) {
    if (m->cfg.norm == SF_NORM_PRE) return g->ln_f;
    return layer_output_buf(&g->layers[n_layers - 1]);
}

/* ---- sub-layers -------------------------------------------------------------------------------- */

/* Backpropagates one feed-forward sub-layer over rows [0,n): from dout (gradient of its output) it
 * writes the gradient of its input stream into g->in and adds the weight gradients. */
static void ffn_backward(const bw_ctx *b, const sf_ffn_rec *f, sf_ffn_rec *g, const sf_ffn_w *w, const sf_ln_w *lnw,
                         const float *dout, int n) {
    int C = b->C, F = b->m->cfg.d_ff;
    sf_ffn_w gw = ffn_grad(b, w);
    sf_ln_w gln = ln_grad(b, lnw);
    /* 1. post-LN: out = LN(resid), so go back through the LayerNorm; pre-LN: out = resid.
     * 2. resid = in + proj: the residual connection hands the gradient to the input unchanged, so the
     *    gradient of resid is computed where that of the input is gathered (post-LN: g->in, which step 5
     *    adds to only after step 3 has read it) */
    const float *dresid = g->in;
    if (!b->pre) {
        zero_rows(g->in, n, C);
        ln_backward(b, &gln, g->in, dout, f->resid, lnw->w, f->ln_mean, f->ln_rstd, n, C);
    } else {
        memcpy(g->in, dout, (size_t)n * C * sizeof(float));
    }
    /* 3. proj = hidden . W2^T + b2 (the hidden gradient written: nothing else adds to it) */
    weight_backward(b, g->hidden, 1, gw.w2, gw.b2, dresid, f->hidden, w->w2, n, F, C);
    /* 4. hidden = act(pre) */
    if (b->m->cfg.act == SF_ACT_GELU) {
        zero_rows(g->pre, n, F);
        sf_gelu_backward(g->pre, g->hidden, f->pre, (size_t)n * F);
    } else {
        relu_backward_set(g->pre, g->hidden, f->pre, (size_t)n * F);
    }
    /* 5. pre = x . W1^T + b1, where x is the input (post-LN) or its LayerNorm (pre-LN) */
    if (!b->pre) {
        weight_backward(b, g->in, 0, gw.w1, gw.b1, g->pre, f->in, w->w1, n, C, F);
        return;
    }
    weight_backward(b, g->ln, 1, gw.w1, gw.b1, g->pre, f->ln, w->w1, n, C, F);
    /* 6. pre-LN: back through the sub-layer's LayerNorm into the input stream */
    ln_backward(b, &gln, g->in, g->ln, f->in, lnw->w, f->ln_mean, f->ln_rstd, n, C);
}

/* Backpropagates one attention sub-layer over query rows [0,n) and key rows [0,nk), each segment's
 * queries against its keys: from dout it writes the gradient of its input stream into g->in and adds the
 * weight gradients. For cross-attention, mem (nk,C) is the encoder output the keys and values were
 * computed from, and the gradient reaching it is added to dmem (nk,C); for self-attention both are NULL
 * and nk = n. */
static void attn_backward(const bw_ctx *b, const sf_attn_rec *a, sf_attn_rec *g, const sf_attn_w *w,
                          const sf_ln_w *lnw, const float *dout, int n, int nk, const float *mem, float *dmem,
                          const sf_att_seg *seg, int n_seg) {
    int C = b->C, NH = b->NH, HS = b->HS, L = b->L, K = b->K;
    sf_attn_w gw = attn_grad(b, w);
    sf_ln_w gln = ln_grad(b, lnw);
    float inv_sqrt = 1.0f / sqrtf((float)HS);
    /* 1. post-LN: out = LN(resid), so go back through the LayerNorm; pre-LN: out = resid.
     * 2. resid = in + proj: the residual connection hands the gradient to the input unchanged (computed
     *    in g->in as in ffn_backward: step 5 adds to it only after step 3 has read it) */
    const float *dresid = g->in;
    if (!b->pre) {
        zero_rows(g->in, n, C);
        ln_backward(b, &gln, g->in, dout, a->resid, lnw->w, a->ln_mean, a->ln_rstd, n, C);
    } else {
        memcpy(g->in, dout, (size_t)n * C * sizeof(float));
    }
    /* 3. proj = concat . Wo^T + bo (the heads' gradient written: nothing else adds to it) */
    weight_backward(b, g->concat, 1, gw.wo, gw.bo, dresid, a->concat, w->wo, n, C, C);
    /* 4. per head, segment and query row: back through out = probs . v, the softmax, the 1/sqrt(HS)
     *    scale and scores = q . k. Masked cells (probability 0, score -inf) get no gradient. Head h's
     *    output gradient is its slice of the concatenated gradient (row stride C), and dq, dk, dv land
     *    straight in the fused rows the projections' backward reads: self-attention (n, 3C) in tmp as
     *    q|k|v, cross-attention dq (n, C) in g->q and dk|dv (nk, 2C) in tmp. Each element is the same
     *    chain from zero as in per-head buffers; g->v holds a head's values transposed. */
    int self = !mem, ldq = self ? 3 * C : C, ldkv = self ? 3 * C : 2 * C;
    sf_qkv_view hv = sf_attn_qkv(b->act, a, !self);
    float *fq = self ? b->tmp : g->q, *fk = self ? b->tmp + C : b->tmp, *fv = fk + C, *vt = g->v;
    /* segments that tile the query rows [0,n) and the key rows [0,nk) one after another (every packed
     * pass's) write each gradient element once: their products write it, from +0.0 as from a zeroed
     * buffer, and nothing is zeroed first; else they add to zeroed rows */
    int tiled = segs_tile(seg, n_seg, n, nk);
    if (!tiled && self) zero_rows(b->tmp, n, 3 * C);
    else if (!tiled) {
        zero_rows(g->q, n, C);
        zero_rows(b->tmp, nk, 2 * C);
    }
    int need_vt = !tiled; /* (sf_attn_head_backward reads vt only where it cannot keep a segment local) */
    for (int si = 0; si < n_seg && !need_vt; si++) need_vt = !sf_attn_head_backward_local(seg[si].nq, seg[si].nk, HS);
    for (int h = 0; h < NH; h++) {
        /* 4a. out_t = sum_j probs_tj v_j: dprobs = dout . v^T (nq, nks) and dv += probs^T . dout; the head's
         *     values transposed once for all segments (vt (HS, nk)) where a kernel reads them */
        const float *vh = hv.v + h * hv.head;
        if (need_vt) sf_transpose(vt, (size_t)nk, vh, hv.ldkv, nk, HS);
        if (tiled) { /* 4a-4c for each segment in one call, which writes dq, dk and dv from +0.0 (and keeps
                      * dprobs and dscores out of the record where it can: only the segment's cells otherwise) */
            for (int si = 0; si < n_seg; si++) {
                int q0 = seg[si].q0, nq = seg[si].nq, k0 = seg[si].k0, nks = seg[si].nk;
                size_t sq = ((size_t)h * L + q0) * K, gq = b->ws ? (size_t)q0 * K : sq; /* (cells of act, of gact) */
                const float *q = hv.q + h * hv.head + (size_t)q0 * hv.ldq, *k = hv.k + h * hv.head + (size_t)k0 * hv.ldkv;
                sf_attn_head_backward(fq + (size_t)q0 * ldq + h * HS, ldq, fk + (size_t)k0 * ldkv + h * HS, ldkv,
                                      fv + (size_t)k0 * ldkv + h * HS, ldkv, g->concat + (size_t)q0 * C + h * HS, C,
                                      vh + (size_t)k0 * hv.ldkv, (int)hv.ldkv, need_vt ? vt + k0 : NULL, nk,
                                      a->probs + sq, K, q,
                                      (int)hv.ldq, k, (int)hv.ldkv, nq, nks, HS, inv_sqrt, g->probs + gq,
                                      g->scaled + gq, g->scores + gq);
            }
            continue;
        }
        for (int si = 0; si < n_seg; si++) {
            int q0 = seg[si].q0, nq = seg[si].nq, k0 = seg[si].k0, nks = seg[si].nk;
            size_t sq = ((size_t)h * L + q0) * K;
            const float *dho = g->concat + (size_t)q0 * C + h * HS, *pr = a->probs + sq;
            float *dv = fv + (size_t)k0 * ldkv + h * HS, *dpr = g->probs + sq;
            for (int t = 0; t < nq; t++)
                memset(dpr + (size_t)t * K, 0, (size_t)nks * sizeof(float));
            sf_matmul_acc(dpr, K, dho, C, 1, vt + k0, nk, nq, nks, HS);
            sf_matmul_acc(dv, ldkv, pr, 1, K, dho, C, nks, HS, nq);
        }
        /* 4b. probs = softmax(scaled) (masked cells, probability 0, get 0) and scaled = scores / sqrt(HS),
         *     over runs of segments whose rows follow one another (sixteen rows side by side) */
        enum { SM_ROWS = 64 };
        int width[SM_ROWS], nb = 0, b0 = 0;
        for (int si = 0; si <= n_seg; si++) {
            if (nb && (si == n_seg || seg[si].q0 != b0 + nb || nb + seg[si].nq > SM_ROWS)) {
                size_t sq = ((size_t)h * L + b0) * K;
                sf_attn_softmax_backward(g->scores + sq, g->scaled + sq, g->probs + sq, a->probs + sq, (size_t)K, nb,
                                         width, inv_sqrt);
                nb = 0;
            }
            if (si == n_seg) break;
            for (int t0r = 0; seg[si].nq > SM_ROWS && t0r < seg[si].nq; t0r += SM_ROWS) { /* a long segment alone */
                int k = seg[si].nq - t0r < SM_ROWS ? seg[si].nq - t0r : SM_ROWS;
                for (int t = 0; t < k; t++) width[t] = seg[si].nk;
                size_t sq = ((size_t)h * L + seg[si].q0 + t0r) * K;
                sf_attn_softmax_backward(g->scores + sq, g->scaled + sq, g->probs + sq, a->probs + sq, (size_t)K, k,
                                         width, inv_sqrt);
            }
            if (seg[si].nq > SM_ROWS) continue;
            if (!nb) b0 = seg[si].q0;
            for (int t = 0; t < seg[si].nq; t++) width[nb++] = seg[si].nk;
        }
        /* 4c. scores_tj = q_t . k_j: dq += dscores . k, dk += dscores^T . q */
        for (int si = 0; si < n_seg; si++) {
            int q0 = seg[si].q0, nq = seg[si].nq, k0 = seg[si].k0, nks = seg[si].nk;
            const float *q = hv.q + h * hv.head + (size_t)q0 * hv.ldq, *k = hv.k + h * hv.head + (size_t)k0 * hv.ldkv;
            const float *dsc = g->scores + ((size_t)h * L + q0) * K;
            float *dq = fq + (size_t)q0 * ldq + h * HS, *dk = fk + (size_t)k0 * ldkv + h * HS;
            sf_matmul_acc(dq, ldq, dsc, K, 1, k, (int)hv.ldkv, nq, HS, nks);
            sf_matmul_acc(dk, ldkv, dsc, 1, K, q, (int)hv.ldq, nks, HS, nq);
        }
    }
    /* 5. the projections into q, k, v, from the fused gradient rows. The attention input is the stream
     *    itself (post-LN) or its LayerNorm (pre-LN). */
    const float *ain = b->pre ? a->ln : a->in;
    float *dain = b->pre ? g->ln : g->in; /* post-LN: adds to the residual gradient already there */
    if (self) { /* self-attention: one fused (3C,C) projection of the stream (pre-LN: into g->ln, written) */
        weight_backward(b, dain, b->pre, gw.w_in, gw.b_in, b->tmp, ain, w->w_in, n, C, 3 * C);
    } else { /* cross-attention: queries from the stream, keys and values from the encoder output */
        weight_backward(b, dain, b->pre, gw.w_in, gw.b_in, g->q, ain, w->w_in, n, C, C);
        weight_backward(b, dmem, 0, gw.w_kv, gw.b_kv, b->tmp, mem, w->w_kv, nk, C, 2 * C);
    }
    /* 6. pre-LN: back through the sub-layer's LayerNorm into the input stream */
    if (b->pre) {
        ln_backward(b, &gln, g->in, g->ln, a->in, lnw->w, a->ln_mean, a->ln_rstd, n, C);
    }
}

/* ---- stacks, embeddings and the head ----------------------------------------------------------- */

/* Backpropagates a whole stack's layers over rows [0,n), from dout (gradient of the stack's output) down
 * to the gradient of the embedded sum, which it leaves in gst->sum (embed_backward takes it from there).
 * self(n_seg) are the self-attention segments; for the encoder-decoder's decoder, cross(n_seg) are the
 * cross-attention segments, mem (n_src,C) is the encoder output and every layer's cross-attention adds
 * its gradient to dmem; else all three are NULL. */
static void stack_backward(const bw_ctx *b, const sf_stack_rec *st, sf_stack_rec *gst, const sf_layer_w *lw,
                           int n_layers, const sf_ln_w *ln_f, const float *dout, int n, const float *mem,
                           float *dmem, int n_src, const sf_att_seg *self, const sf_att_seg *cross, int n_seg) {
    int C = b->C;
    /* 1. pre-LN: the stack ends with a final LayerNorm of the last layer's output */
    const float *dx = dout;
    if (b->pre) {
        sf_ln_w gln = ln_grad(b, ln_f);
        float *dlast = layer_output_buf(&gst->layers[n_layers - 1]);
        zero_rows(dlast, n, C);
        ln_backward(b, &gln, dlast, dout, sf_layer_output(&st->layers[n_layers - 1]), ln_f->w,
                    st->ln_f_mean, st->ln_f_rstd, n, C);
        dx = dlast;
    }
    /* 2. the layers in reverse; each sub-layer turns the gradient of its output into that of its input */
    for (int l = n_layers - 1; l >= 0; l--) {
        const sf_layer_rec *r = &st->layers[l];
        sf_layer_rec *g = &gst->layers[l];
        if (r->ffn.in) { /* attention-only models have no FFN */
            ffn_backward(b, &r->ffn, &g->ffn, &lw[l].ffn, &lw[l].ln_ffn, dx, n);
            dx = g->ffn.in;
        }
        if (mem) {
            attn_backward(b, &r->cross, &g->cross, &lw[l].cross, &lw[l].ln_cross, dx, n, n_src, mem, dmem, cross,
                          n_seg);
            dx = g->cross.in;
        }
        attn_backward(b, &r->self, &g->self, &lw[l].self, &lw[l].ln_self, dx, n, n, NULL, NULL, self, n_seg);
        dx = g->self.in;
    }
    if (gst->sum != dx) memcpy(gst->sum, dx, (size_t)n * C * sizeof(float)); /* (a workspace's sum is dx) */
}

/* Adds the gradient of one sequence's rows [r0, r0+n) of a stack's embedded sum (gst->sum, as
 * stack_backward left it) to the embeddings: sum = tok_emb[id] * scale + pos, so the token rows used and
 * (learned positions) pos_emb of positions 0..n-1. */
static void embed_backward(const bw_ctx *b, const sf_stack_rec *st, const sf_stack_rec *gst, int r0, int n) {
    const sf_model *m = b->m;
    int C = b->C;
    float scale = m->cfg.scale_emb ? sqrtf((float)C) : 1.0f;
    float *gtok = gptr(b, m->w.tok_emb), *gpos = gptr(b, m->w.pos_emb);
    for (int t = 0; t < n; t++) {
        const float *d = gst->sum + (size_t)(r0 + t) * C;
        float *row = gtok + (size_t)st->ids[r0 + t] * C;
        for (int i = 0; i < C; i++) row[i] += scale * d[i];
        if (gpos)
            for (int i = 0; i < C; i++) gpos[(size_t)t * C + i] += d[i];
    }
}

/* Backpropagates the loss from the logits of the pack's rows to the decoder's output (written into its
 * gradient buffer in gact) and, for an untied head, to lm_head; a tied head's weight gradient is the
 * token embedding's, added sequence by sequence by head_weight_backward. */
static void head_backward(const bw_ctx *b, const sf_seq *act, sf_seq *gact, const sf_pack *p,
                          const int *const *tgt) {
    const sf_model *m = b->m;
    int C = b->C, V = m->cfg.vocab_size, n = p->dec_rows;
    /* 1. loss = sum_t -log probs_t[tgt_t]: dlogits_t = probs_t - onehot(tgt_t), 0 for ignored rows */
    zero_rows(gact->logits, n, V);
    for (int i = 0; i < p->n; i++)
        for (int t = 0; t < p->n_dec[i]; t++) {
            size_t row = (size_t)(p->dec0[i] + t) * V;
            if (tgt[i][t] != SF_TOK_PAD)
                sf_crossentropy_softmax_backward(gact->logits + row, act->probs + row, tgt[i][t], 1.0f, V);
        }
    /* 2. logits = x . Wout^T with Wout = tok_emb (tied, unscaled) or lm_head */
    const float *x = sf_stack_output(m, &act->dec, m->cfg.n_dec_layers);
    const float *wout = m->cfg.tied ? m->w.tok_emb : m->w.lm_head;
    float *dx = stack_output_grad(m, &gact->dec, m->cfg.n_dec_layers);
    weight_backward(b, dx, 1, m->cfg.tied ? NULL : gptr(b, wout), NULL, gact->logits, x, wout, n, C, V);
}

/* Adds a tied head's weight gradient (into the token embedding's) for one sequence's rows [r0, r0+n),
 * or with `set` writes it (the first sequence of a pass that writes grad: nothing has added to it yet). */
static void head_weight_backward(const bw_ctx *b, const sf_seq *act, const sf_seq *gact, int r0, int n, int set) {
    const sf_model *m = b->m;
    int C = b->C, V = m->cfg.vocab_size;
    const float *x = sf_stack_output(m, &act->dec, m->cfg.n_dec_layers);
    float *gtok = gptr(b, m->w.tok_emb);
    const float *dl = gact->logits + (size_t)r0 * V, *xr = x + (size_t)r0 * C;
    if (set) sf_matmul_backward_set(NULL, gtok, NULL, dl, xr, m->w.tok_emb, n, C, V, SF_SET_DWEIGHT);
    else sf_matmul_backward(NULL, gtok, NULL, dl, xr, m->w.tok_emb, n, C, V);
}

/* Runs the backward pass of the sequences of p, whose forward pass is in act (a sequence record holding
 * one sequence, or a packed record): the row-wise steps over all rows, attention per sequence, and the
 * embedding gradients (with a tied head's) sequence by sequence, as the per-example loop adds them. */
static void backward_pack(const bw_ctx *b, const sf_seq *act, sf_seq *gact, const sf_pack *p,
                          const int *const *tgt) {
    const sf_model *m = b->m;
    const sf_config *c = &m->cfg;
    int encdec = c->family == SF_FAMILY_ENCDEC;
    sf_att_seg dself[SF_PACK_MAX], dcross[SF_PACK_MAX], eself[SF_PACK_MAX];
    for (int i = 0; i < p->n; i++) {
        dself[i] = (sf_att_seg){p->dec0[i], p->n_dec[i], 0, p->dec0[i], p->n_dec[i]};
        dcross[i] = (sf_att_seg){p->dec0[i], p->n_dec[i], 0, p->src0[i], p->n_src[i]};
        eself[i] = (sf_att_seg){p->src0[i], p->n_src[i], 0, p->src0[i], p->n_src[i]};
    }
    /* 1. the head: logits back to the decoder's output */
    head_backward(b, act, gact, p, tgt);
    /* 2. the decoder; in the encoder-decoder its cross-attention also sends gradient to the encoder output */
    const float *mem = NULL;
    float *dmem = NULL;
    if (encdec) {
        mem = sf_stack_output(m, &act->enc, c->n_enc_layers);
        dmem = stack_output_grad(m, &gact->enc, c->n_enc_layers);
        zero_rows(dmem, p->src_rows, c->d_model);
    }
    stack_backward(b, &act->dec, &gact->dec, m->w.dec, c->n_dec_layers, &m->w.dec_ln_f,
                   stack_output_grad(m, &gact->dec, c->n_dec_layers), p->dec_rows, mem, dmem, p->src_rows, dself,
                   encdec ? dcross : NULL, p->n);
    /* 3. the encoder, from the gradient its output collected from every decoder layer */
    if (encdec)
        stack_backward(b, &act->enc, &gact->enc, m->w.enc, c->n_enc_layers, &m->w.enc_ln_f, dmem, p->src_rows,
                       NULL, NULL, 0, eself, NULL, p->n);
    /* 4. per sequence, in order: the tied head's weights, the decoder's embeddings, the encoder's (all
     *    add to the token embedding, so this keeps the per-example order of its additions). A pass that
     *    writes grad starts the token embedding's gradient with the tied head's first product, or else
     *    at zero, and the learned positions' at zero (all rows: a pass adds only to its lengths' rows). */
    if (b->set) {
        if (!c->tied) memset(gptr(b, m->w.tok_emb), 0, (size_t)c->vocab_size * c->d_model * sizeof(float));
        if (m->w.pos_emb) memset(gptr(b, m->w.pos_emb), 0, (size_t)c->max_len * c->d_model * sizeof(float));
    }
    for (int i = 0; i < p->n; i++) {
        if (c->tied) head_weight_backward(b, act, gact, p->dec0[i], p->n_dec[i], b->set && i == 0);
        embed_backward(b, &act->dec, &gact->dec, p->dec0[i], p->n_dec[i]);
        if (encdec) embed_backward(b, &act->enc, &gact->enc, p->src0[i], p->n_src[i]);
    }
}

/* ---- forward, loss and the whole backward pass ------------------------------------------------- */

/* Returns 1 if every target of p's sequences is a token of the vocabulary (the forward pass checks the
 * inputs and the lengths). */
static int targets_ok(const sf_model *m, const sf_pack *p, const int *const *tgt) {
    for (int i = 0; i < p->n; i++)
        for (int t = 0; t < p->n_dec[i]; t++)
            if (tgt[i][t] < 0 || tgt[i][t] >= m->cfg.vocab_size) return 0;
    return 1;
}

/* Returns the summed cross-entropy of decoder rows [r0, r0+n) against tgt(n), as a float (summed in
 * double), over the positions whose target is not <pad>; *counted receives their number. */
static float rows_loss(const sf_model *m, const sf_seq *act, int r0, const int *tgt, int n, int *counted) {
    int V = m->cfg.vocab_size;
    double sum = 0.0;
    *counted = 0;
    for (int t = 0; t < n; t++) {
        if (tgt[t] == SF_TOK_PAD) continue;
        sum += sf_crossentropy_forward(act->logits + (size_t)(r0 + t) * V, tgt[t], V);
        (*counted)++;
    }
    return (float)sum;
}

/* Runs the forward pass on one example and puts its summed cross-entropy in *loss and the number of
 * positions whose target is not <pad> in *n_counted. Returns 0 (and does nothing) if the input is
 * invalid: a length outside 1..L or a token outside the vocabulary. */
static int forward_loss(const sf_model *m, sf_seq *act, const int *src, int n_src, const int *dec_in,
                        const int *dec_tgt, int n, float *loss, int *n_counted) {
    int V = m->cfg.vocab_size;
    /* 1. the targets must be tokens of the vocabulary (the forward pass checks the inputs) */
    if (n < 1 || n > m->cfg.max_len) return 0;
    for (int t = 0; t < n; t++)
        if (dec_tgt[t] < 0 || dec_tgt[t] >= V) return 0;
    /* 2. the model's own forward pass fills the record */
    if (m->cfg.family == SF_FAMILY_ENCDEC) {
        if (!sf_encode(m, act, src, n_src).ok) return 0;
    } else {
        sf_decode_reset(act);
    }
    if (!sf_decode_full(m, act, dec_in, n).ok) return 0;
    /* 3. the summed cross-entropy over the positions that count */
    *loss = rows_loss(m, act, 0, dec_tgt, n, n_counted);
    return 1;
}

float sf_forward_loss(const sf_model *m, sf_seq *act, const int *src, int n_src, const int *dec_in,
                      const int *dec_tgt, int n, int *n_counted) {
    float loss = NAN;
    *n_counted = 0;
    forward_loss(m, act, src, n_src, dec_in, dec_tgt, n, &loss, n_counted);
    return loss;
}

/* Returns the context of a backward pass over the records' layout (act and gact must share it). */
static bw_ctx context(const sf_model *m, float *grad, const sf_seq *act, sf_seq *gact) {
    const sf_config *c = &m->cfg;
    bw_ctx b = {m, grad, gact->tmp, act->L, act->K, c->d_model, c->n_heads, c->d_model / c->n_heads,
                c->norm == SF_NORM_PRE, act, 0, gact->grad};
    return b;
}

float sf_forward_backward(const sf_model *m, sf_seq *act, sf_seq *gact, const int *src, int n_src,
                          const int *dec_in, const int *dec_tgt, int n, float *grad, int *n_counted) {
    const sf_config *c = &m->cfg;
    int encdec = c->family == SF_FAMILY_ENCDEC;
    *n_counted = 0;
    int rows = encdec && n_src > n ? n_src : n;
    /* 0. the gradient record mirrors the activation record's layout: room for the same positions */
    int cap = act->L > gact->L ? act->L : gact->L;
    if (rows > cap) cap = rows;
    if (cap > c->max_len || !sf_seq_reserve(act, cap).ok || !sf_seq_reserve(gact, cap).ok || gact->L != act->L)
        return NAN;
    /* 1. forward pass and loss */
    float loss = NAN;
    if (!forward_loss(m, act, src, n_src, dec_in, dec_tgt, n, &loss, n_counted)) return NAN; /* invalid input */
    /* 2. the backward pass: a pack of one sequence at rows 0 */
    sf_pack p;
    p.n = 1;
    p.src[0] = src;
    p.n_src[0] = encdec ? n_src : 0;
    p.dec[0] = dec_in;
    p.n_dec[0] = n;
    if (!sf_pack_rows(m, &p).ok) return NAN;
    const int *tgt[1] = {dec_tgt};
    bw_ctx b = context(m, grad, act, gact);
    backward_pack(&b, act, gact, &p, tgt);
    return loss;
}

int sf_forward_loss_packed(const sf_model *m, sf_seq *act, sf_pack *p, const int *const *tgt, double *loss,
                           long *n_counted) {
    if (!sf_pack_rows(m, p).ok || !targets_ok(m, p, tgt) || !sf_forward_packed(m, act, p).ok) return 0;
    for (int i = 0; i < p->n; i++) { /* each sequence's loss as sf_forward_loss returns it, added in order */
        int counted;
        *loss += rows_loss(m, act, p->dec0[i], tgt[i], p->n_dec[i], &counted);
        *n_counted += counted;
    }
    return 1;
}

/* The packed pass, adding the gradient to grad or (set) writing it. */
static int forward_backward_packed(const sf_model *m, sf_seq *act, sf_seq *gact, sf_pack *p, const int *const *tgt,
                                   float *grad, double *loss, long *n_counted, int set) {
    /* gact must be a gradient workspace (act an activation record: sf_forward_packed refuses anything
     * else); it mirrors the activation record's rows and keys: both asked for the same room first */
    if (!gact->packed || !gact->grad || act->grad || !sf_pack_rows(m, p).ok || !targets_ok(m, p, tgt)) return 0;
    int rows = p->src_rows > p->dec_rows ? p->src_rows : p->dec_rows;
    if (!sf_seq_reserve_packed(act, rows, p->longest).ok || !sf_seq_reserve_packed(gact, act->L, act->K).ok ||
        gact->L != act->L || gact->K != act->K)
        return 0;
    if (!sf_forward_loss_packed(m, act, p, tgt, loss, n_counted)) return 0;
    bw_ctx b = context(m, grad, act, gact);
    b.set = set;
    backward_pack(&b, act, gact, p, tgt);
    return 1;
}

int sf_forward_backward_packed(const sf_model *m, sf_seq *act, sf_seq *gact, sf_pack *p, const int *const *tgt,
                               float *grad, double *loss, long *n_counted) {
    return forward_backward_packed(m, act, gact, p, tgt, grad, loss, n_counted, 0);
}

int sf_forward_backward_packed_set(const sf_model *m, sf_seq *act, sf_seq *gact, sf_pack *p, const int *const *tgt,
                                   float *grad, double *loss, long *n_counted) {
    return forward_backward_packed(m, act, gact, p, tgt, grad, loss, n_counted, 1);
}
