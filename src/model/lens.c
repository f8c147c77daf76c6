/* lens.c - the logit lens: final LayerNorm (pre-LN only), unembedding and softmax of each decoder
 * layer's output stream, with the same ops the output head uses. */
#include "lens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops.h"

sf_err sf_lens_compute(sf_lens *lens, const sf_model *m, const sf_seq *s) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, V = c->vocab_size, NL = c->n_dec_layers, n = s->n_tgt;
    memset(lens, 0, sizeof *lens);
    if (n < 1) return sf_fail("logit lens: the decoder has no positions yet");
    float *probs = malloc((size_t)NL * n * V * sizeof *probs);
    float *normed = c->norm == SF_NORM_PRE ? malloc((size_t)n * C * sizeof *normed) : NULL;
    if (!probs || (c->norm == SF_NORM_PRE && !normed)) {
        free(probs);
        free(normed);
        return sf_fail("logit lens: out of memory for %d layers x %d positions x %d tokens", NL, n, V);
    }
    const float *wout = c->tied ? m->w.tok_emb : m->w.lm_head;
    for (int l = 0; l < NL; l++) {
        /* 1. the residual stream leaving layer l; pre-LN: through the final LayerNorm, as the head reads it */
        const float *x = sf_layer_output(&s->dec.layers[l]);
        if (normed) {
            sf_layernorm_forward(normed, NULL, NULL, x, m->w.dec_ln_f.w, m->w.dec_ln_f.b, n, C, c->ln_eps);
            x = normed;
        }
        /* 2. unembed and softmax, in place: logits first, then their probabilities */
        float *p = probs + (size_t)l * n * V;
        sf_matmul_forward(p, x, wout, NULL, n, C, V);
        for (int t = 0; t < n; t++) sf_softmax_forward(p + (size_t)t * V, p + (size_t)t * V, V);
    }
    free(normed);
    lens->n_layers = NL;
    lens->n = n;
    lens->V = V;
    lens->probs = probs;
    return sf_ok();
}

void sf_lens_free(sf_lens *lens) {
    free(lens->probs);
    memset(lens, 0, sizeof *lens);
}

const float *sf_lens_probs(const sf_lens *lens, int l, int t) {
    return lens->probs + ((size_t)l * lens->n + t) * lens->V;
}

sf_err sf_lens_trace(sf_trace *tr, const sf_lens *lens) {
    for (int l = 0; l < lens->n_layers; l++) {
        sf_trace_entry e;
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "dec.L%d.lens.probs", l);
        e.data = sf_lens_probs(lens, l, 0);
        e.rank = 2;
        e.cap[0] = lens->n; e.len[0] = SF_AXIS_FIXED; e.axis[0] = "position";
        e.cap[1] = lens->V; e.len[1] = SF_AXIS_FIXED; e.axis[1] = "vocab";
        e.stack = SF_STACK_DEC; e.layer = l; e.sublayer = SF_SUB_HEAD; e.head = -1; e.op = SF_OP_LENS;
        sf_err err = sf_trace_add(tr, &e);
        if (!err.ok) return err;
    }
    return sf_ok();
}
