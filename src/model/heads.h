/* heads.h - head-role scores: how much of each head's attention falls on a fixed pattern, computed from
 * the attention probabilities of a finished record (docs/experiments.md defines each score).
 *
 * Every score is a mean of attention weights, so it lies in [0, 1]; 1 means the head always looks
 * exactly at the pattern. Rows: a decoder self-attention head skips query 0 (it can only see itself);
 * encoder and cross-attention heads use every query. Scores that a head or a sequence cannot define
 * (no qualifying row; induction for cross-attention) are NAN.
 *   prev       A[t][t-1]                                    previous token
 *   first      A[t][0]                                      the first key (<bos> in the decoder: the sink)
 *   self       A[t][t]                                      the diagonal (cross: source position t)
 *   anti       A[t][nk-1-t]                                 the anti-diagonal (nk = number of keys)
 *   induction  sum of A[t][j+1] over earlier j with token j = token t   (self-attention only)
 * The induction score is meant for a repeated random sequence, where every second-half token has one
 * earlier occurrence and the token after it is the one to predict. */
#ifndef SF_HEADS_H
#define SF_HEADS_H

#include "interv.h"

typedef enum {
    SF_ROLE_PREV = 0, SF_ROLE_FIRST, SF_ROLE_SELF, SF_ROLE_ANTI, SF_ROLE_INDUCTION, SF_ROLE_COUNT
} sf_role;

/* The score a role needs before a head is tagged with it (more than half its attention on the pattern). */
#define SF_ROLE_MIN 0.5f

typedef struct {
    sf_head_ref head;
    float score[SF_ROLE_COUNT]; /* NAN where undefined */
} sf_head_scores;

/* Returns the short name of a role ("prev", "first", "self", "anti", "induction") or its long one
 * ("previous-token", "first-token", "self/diagonal", "anti-diagonal", "induction"). */
const char *sf_role_name(int role);
const char *sf_role_long_name(int role);

/* Scores one attention pattern. probs is row-major with row stride ld: row t (query) holds the weights of
 * keys 0..nk-1. qids(nq) / kids(nk) are the query and key tokens (kids = qids for self-attention); kind
 * is SF_SUB_SELF or SF_SUB_CROSS, causal says whether query t only sees keys 0..t (a decoder's
 * self-attention). Writes SF_ROLE_COUNT scores into score. */
void sf_head_score_pattern(const float *probs, int ld, int nq, int nk, const int *qids, const int *kids, int kind,
                           int causal, float *score);

/* Scores every head of model m over record s (encoder self, decoder self, cross; in trace order) into a
 * malloc'd array *out of *n entries. A stack without positions contributes no heads. */
sf_err sf_heads_score(const sf_model *m, const sf_seq *s, sf_head_scores **out, int *n);

/* Returns the role with the highest defined score if that score is at least threshold, else -1. */
int sf_role_strongest(const sf_head_scores *h, float threshold);

#endif
