/* run.h - one whole pass as the program shows it: tokenize, encode, then decode one token at a time
 * (teacher-forced on a target, or generating with a sampler) into a sequence record. */
#ifndef SF_RUN_H
#define SF_RUN_H

#include <stdint.h>

#include "model.h"
#include "sample.h"

typedef struct {
    const char *input;   /* UTF-8: the encoder's source, or a GPT prompt (after <bos>) */
    const char *target;  /* UTF-8 or NULL: fed to the decoder after <bos> instead of generating */
    int max_new;         /* most tokens to generate (0: until <eos> or the sequence is full) */
    sf_sampler sampler;  /* temperature 0 = greedy */
    uint64_t seed;       /* for sampling */
} sf_run_opts;

/* Runs the model as described by o; s must have been built for m's config. On return s holds the
 * encoder positions and every decoder position. Generation stops at <eos>, after max_new tokens, or
 * when the sequence is full (max_len positions, or sf_seq_max_positions when the record cap allows
 * fewer). n_prompt (may be NULL) receives how many decoder
 * positions were given (<bos> + prompt or target) rather than generated. */
sf_err sf_run(const sf_model *m, sf_seq *s, const sf_run_opts *o, int *n_prompt);

/* Returns the token the model predicts after decoder position t (argmax of its probabilities). */
int sf_run_predicted(const sf_model *m, const sf_seq *s, int t);

#endif
