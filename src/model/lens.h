/* lens.h - the logit lens: the output distribution read from the residual stream after every decoder
 * layer, as if the network stopped there (nostalgebraist 2020; docs/experiments.md).
 *
 * Pre-LN models read the stream through the final LayerNorm (dec.ln_f) first, post-LN models unembed
 * the stream directly (each post-LN layer already ends in a LayerNorm). After the last layer this is the
 * model's own output: the last layer's read-out equals dec.probs. A lens is a function of a finished
 * record; it owns its numbers, and sf_lens_trace adds them to a trace as dec.L{l}.lens.probs. */
#ifndef SF_LENS_H
#define SF_LENS_H

#include "trace.h"

typedef struct {
    int n_layers;   /* decoder layers read out */
    int n;          /* positions read out: the record's n_tgt when computed */
    int V;          /* vocabulary size */
    float *probs;   /* (n_layers, n, V) softmax of the read-out logits */
} sf_lens;

/* Reads out every decoder layer at every filled decoder position of s (a record of m). */
sf_err sf_lens_compute(sf_lens *lens, const sf_model *m, const sf_seq *s);
void sf_lens_free(sf_lens *lens);

/* Returns the distribution read after decoder layer l at position t (V floats). */
const float *sf_lens_probs(const sf_lens *lens, int l, int t);

/* Adds entries dec.L{l}.lens.probs, shape (positions, vocab), to tr. The entries point into lens, which
 * must outlive tr; their position axis is fixed at lens->n (a lens does not grow with later tokens). */
sf_err sf_lens_trace(sf_trace *tr, const sf_lens *lens);

#endif
