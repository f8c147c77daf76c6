/* sample.h - choosing the next token from logits: greedy, temperature, top-k; seeded. */
#ifndef SF_SAMPLE_H
#define SF_SAMPLE_H

#include "../core/rng.h"

typedef struct {
    float temperature; /* 0 means greedy (argmax) */
    int top_k;         /* 0 means all tokens */
} sf_sampler;

/* Returns the index of the largest value (the first one on ties). */
int sf_argmax(const float *x, int n);

/* Returns a token drawn from softmax(logits / temperature) restricted to the top_k largest logits;
 * greedy when temperature <= 0. probs_out (n), when non-NULL, receives the distribution sampled from. */
int sf_sample(const sf_sampler *s, const float *logits, int n, sf_rng *rng, float *probs_out);

/* Writes the indices of the k largest values of x(n) into idx(k), largest first; returns k clipped to n. */
int sf_top_k(const float *x, int n, int k, int *idx);

#endif
