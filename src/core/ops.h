/* ops.h - the math of a Transformer on plain row-major float buffers.
 *
 * Argument order follows llm.c: outputs first, then inputs, then sizes. Size names are fixed:
 * N rows, C channels (model width), OC/IC output/input channels, F feed-forward width.
 * A linear layer's weight is (OC, IC) as in PyTorch, so checkpoints map one-to-one.
 * Backward passes for the trainer live beside their forward in the same file. */
#ifndef SF_OPS_H
#define SF_OPS_H

#include <stddef.h>

#define SF_LN_EPS_DEFAULT 1e-5f

/* out(N,OC) = in(N,IC) . w(OC,IC)^T + bias(OC); bias may be NULL. */
void sf_matmul_forward(float *out, const float *in, const float *w, const float *bias, int N, int IC,
                       int OC);

/* out(n) = softmax(in(n)); -inf entries get probability 0; a row of all -inf becomes all 0.
 * Stable for any finite scores (subtracts the row max). out may alias in. */
void sf_softmax_forward(float *out, const float *in, int n);

/* out(N,C) = (in - mean) / sqrt(var + eps) * w + b per row (biased variance, as PyTorch).
 * mean(N) and rstd(N) receive the row statistics when non-NULL (the trainer keeps them). */
void sf_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                          const float *b, int N, int C, float eps);

/* out(n) = max(0, in); out may alias in. */
void sf_relu_forward(float *out, const float *in, size_t n);

/* out(n) = GELU with the tanh approximation (GPT-2):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); out may alias in. */
void sf_gelu_forward(float *out, const float *in, size_t n);

/* out(n) = a + b; out may alias either. */
void sf_add_forward(float *out, const float *a, const float *b, size_t n);

/* out(C) = the sinusoidal encoding of position pos (Vaswani et al. 2017, section 3.5):
 * PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C)). */
void sf_sinusoid_forward(float *out, int pos, int C);

/* Returns the dot product of a(n) and b(n). */
float sf_dot(const float *a, const float *b, int n);

#endif
