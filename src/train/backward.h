/* backward.h - gradients through the whole model, for one sequence or a pack of them, reusing the forward
 * record.
 *
 * The forward pass (model.h) already keeps every intermediate the backward pass needs (llm.c's
 * approach): LayerNorm statistics, attention probabilities, FFN pre-activations. The backward pass
 * walks the same record in reverse. */
#ifndef SF_BACKWARD_H
#define SF_BACKWARD_H

#include "model/model.h"

/* Runs the forward pass on one example and adds the gradient of its summed cross-entropy to grad
 * (a buffer of m->n_params floats laid out as m->params).
 *   src(n_src)    encoder input (ignored for gpt; n_src 0)
 *   dec_in(n)     decoder input tokens (starting with <bos>)
 *   dec_tgt(n)    the token each decoder position should predict; SF_TOK_PAD positions are ignored
 * act is a sequence record for the activations; gact a second record of the same config used for
 * activation gradients (its contents are scratch). Returns the summed loss; *n_counted receives the
 * number of positions that counted. Returns NAN, with grad untouched and *n_counted 0, if the input is
 * invalid (a length outside 1..L, a token outside the vocabulary) or memory is short. */
float sf_forward_backward(const sf_model *m, sf_seq *act, sf_seq *gact, const int *src, int n_src,
                          const int *dec_in, const int *dec_tgt, int n, float *grad, int *n_counted);

/* The same forward and loss without gradients (for evaluation); NAN on invalid input. */
float sf_forward_loss(const sf_model *m, sf_seq *act, const int *src, int n_src, const int *dec_in,
                      const int *dec_tgt, int n, int *n_counted);

/* The trainer's packed pass: runs sf_forward_packed over the sequences of p (lengths and inputs as
 * model.h says), tgt[i] (p->n_dec[i]) sequence i's targets, and adds the gradient of their summed
 * cross-entropy to grad: bit for bit what sf_forward_backward adds for each sequence in turn. act is a
 * packed activation record (sf_seq_build_packed) and gact a gradient workspace (sf_seq_build_packed_grad)
 * of the model's config, whose contents are scratch; any other pair is refused (0). Adds each
 * sequence's summed loss (the float sf_forward_backward returns) to *loss and its counted positions to
 * *n_counted, in sequence order. Returns 1, or 0 with grad, *loss and *n_counted untouched if the input is
 * invalid or memory is short. */
int sf_forward_backward_packed(const sf_model *m, sf_seq *act, sf_seq *gact, sf_pack *p, const int *const *tgt,
                               float *grad, double *loss, long *n_counted);

/* The same, but the gradient is written into grad instead of added to it: every element of grad gets
 * what sf_forward_backward_packed adds to a zeroed grad, bit for bit, whatever grad held before (the
 * trainer's first pass into a chunk's buffer, which then needs no zeroing). Each linear layer's weights
 * get one product per pass, which writes them; the gradients that are added to (LayerNorms, embeddings,
 * a tied head's) are zeroed first. On failure grad is untouched, as above. */
int sf_forward_backward_packed_set(const sf_model *m, sf_seq *act, sf_seq *gact, sf_pack *p, const int *const *tgt,
                                   float *grad, double *loss, long *n_counted);

/* The same forward and loss without gradients (held-out evaluation); act is a packed record. */
int sf_forward_loss_packed(const sf_model *m, sf_seq *act, sf_pack *p, const int *const *tgt, double *loss,
                           long *n_counted);

#endif
