/* run.h - one whole pass as the program shows it: tokenize, encode, then decode one token at a time
 * (teacher-forced on a target, or generating with a sampler) into a sequence record. */
#ifndef SF_RUN_H
#define SF_RUN_H

#include <stdint.h>

#include "model.h"
#include "sample.h"

/* sf_run_opts.max_new for "no limit": generate until <eos> or the sequence is full. */
#define SF_RUN_UNTIL_EOS (-1)

typedef struct {
    const char *input;   /* UTF-8: the encoder's source, or a GPT prompt (after <bos>) */
    const char *target;  /* UTF-8 or NULL: fed to the decoder after <bos> instead of generating */
    int max_new;         /* most tokens to generate: 0 = none (the prompt alone), SF_RUN_UNTIL_EOS = no limit */
    sf_sampler sampler;  /* temperature 0 = greedy */
    uint64_t seed;       /* for sampling */
} sf_run_opts;

/* Runs the model as described by o; s must have been built for m's config. Generation stops at <eos>,
 * after max_new tokens, or when the sequence is full (max_len positions, or sf_seq_max_positions when the
 * record cap SF_MAX_RECORD_BYTES allows fewer). A run whose values overflow float32 somewhere (finite but
 * huge weights) is refused, naming the first trace entry that is not finite. On return s holds the
 * encoder positions and every decoder position. n_prompt (may be NULL) receives how many decoder
 * positions were given (<bos> + prompt or target) rather than generated. When it generates, s->sampled
 * row t holds the distribution the token after position t was drawn from: softmax(logits / T) over the
 * top-k logits, with <pad>, <bos> and <unk> never chosen (probability 0); greedy (T = 0) records a one-hot
 * row on the chosen token; rows where nothing was drawn (given tokens, the last position when generation
 * stopped at max_new or max_len) are zeros. The trace names it dec.sample.probs. */
sf_err sf_run(const sf_model *m, sf_seq *s, const sf_run_opts *o, int *n_prompt);

/* Returns the token the model predicts after decoder position t (argmax of its probabilities). */
int sf_run_predicted(const sf_model *m, const sf_seq *s, int t);

#endif
