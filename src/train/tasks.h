/* tasks.h - the synthetic tasks and the word list the shipped models learn, with held-out splits.
 *
 *   reverse  encdec  a string of 4-12 letters a-z  ->  the same letters reversed
 *   copy     encdec  a string of 4-12 digits 0-9   ->  the same string (the Annotated Transformer's
 *                    copy task: symbols 1-10 there, digits here; length 10 there, 4-12 here)
 *   sort     gpt     six letters from {A,B,C}, then '=', then the six sorted; the loss counts only
 *                    the sorted part and the final <eos>
 *   words    gpt     one English word (lowercase a-z only) from a word list, one letter at a time
 *   add      gpt     "a+b=" with a, b in 0..999 (no leading zeros), then the sum's digits; the loss
 *                    counts only the sum and the final <eos>; the split hashes "min+max=", so a+b and
 *                    b+a are always in the same split
 *   induction gpt    a string x of 4-15 distinct random letters a-z, '|', then x again from a random letter
 *                    on (at least 4 letters), <eos>: "qwertyuiop|rtyuiop". The prompt ends at the copy's
 *                    first letter; the loss counts the rest of the copy and <eos>. Attention-only
 *                    (d_ff 0), 2 layers: the model in which induction heads form (docs/experiments.md)
 *   dates    encdec  a date written out, "25 december 2023" or "december 25, 2023" (a valid day of
 *                    1000-2999, British or American order) -> ISO 8601, "2023-12-25": the output puts
 *                    the year first, turns the month's name into its number and pads day and month
 *                    with zeros, so cross-attention follows the input out of order, word by word; the
 *                    split hashes the written date
 *
 * Held-out examples are disjoint from training ones by construction: a hash of an example's content
 * (its source string, or the word) puts it in the held-out split when hash % 10 == 0, and the generator
 * draws until it gets an example of the split it was asked for. Every example is a pure function of
 * (task, split, key), so a training run is reproducible and can resume at any step. */
#ifndef SF_TASKS_H
#define SF_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/config.h"

#define SF_TASK_MAX_LEN 32          /* longest sequence (positions) any task produces */
#define SF_TASK_DEFAULT_WORDS "/usr/share/dict/words"

typedef enum { SF_SPLIT_TRAIN = 0, SF_SPLIT_HELDOUT = 1 } sf_split;

/* One example, as token ids (ids 0-3 are <pad> <bos> <eos> <unk>; the alphabet starts at 4). */
typedef struct {
    int src[SF_TASK_MAX_LEN]; /* encoder input (encdec only) */
    int n_src;                /* encoder positions; 0 for gpt */
    int in[SF_TASK_MAX_LEN];  /* decoder input, starting with <bos> */
    int tgt[SF_TASK_MAX_LEN]; /* the token each decoder position should predict; <pad> = not counted */
    int n;                    /* decoder positions */
    int n_prompt;             /* decoder inputs given when generating (<bos>, plus the prompt for gpt) */
} sf_example;

/* A training recipe: the defaults `stepformer train` uses for a task. */
typedef struct {
    int steps;   /* optimizer steps */
    int batch;   /* examples per step */
    float lr;    /* peak learning rate */
    int warmup;  /* warmup steps */
} sf_recipe;

typedef struct {
    const char *name;      /* "reverse", "copy", "sort", "words", "add", "dates", "induction" */
    const char *alphabet;  /* the tokenizer alphabet (ASCII), id 4 + k for alphabet[k] */
    sf_config cfg;         /* default model config (vocab_size matches the alphabet) */
    sf_recipe recipe;
    float init_sd;         /* gpt weight initialisation (sf_model_init_random_sd); 0 = GPT-2's 0.02 */
    /* words only: the list, split by hash into training and held-out words */
    char *words_buf;       /* the file's text, words NUL-terminated in place */
    char **train, **held;  /* pointers into words_buf */
    int n_train, n_held;
} sf_task;

/* Returns the names of the tasks, for messages: "reverse, copy, sort, words, add, induction". */
const char *sf_task_list(void);

/* Prepares task `name`; words reads its list from words_path (NULL: SF_TASK_DEFAULT_WORDS). Errors
 * name an unknown task, or a word list that is missing, unreadable or without usable words. */
sf_err sf_task_open(sf_task *t, const char *name, const char *words_path);
void sf_task_close(sf_task *t);

/* Returns the split (SF_SPLIT_TRAIN or SF_SPLIT_HELDOUT) of a content string of n ids. */
sf_split sf_task_split_of(const sf_task *t, const int *ids, int n);

/* Writes the example of `split` identified by key (any 64-bit value) into ex. Deterministic. */
void sf_task_example(const sf_task *t, sf_split split, uint64_t key, sf_example *ex);

/* Returns the key of example i of training step `step` for a run seeded with `seed`. */
uint64_t sf_task_key(uint64_t seed, uint64_t step, uint64_t i);

/* Fills ex(n) with training step `step`'s batch (example i has key sf_task_key(seed, step, i)). */
void sf_task_batch(const sf_task *t, uint64_t seed, long step, sf_example *ex, int n);

/* Writes the unigram distribution of target tokens over the training split into p(V) (words: the
 * letters and <eos> of every training word, add-one smoothed over them). Returns 0 when V is too small. */
int sf_task_unigram(const sf_task *t, double *p, int V);

/* Writes a date (day 1-31, month 1-12, year 1000-9999) as the dates task writes it, "25 december 2023"
 * (or "december 25, 2023" when us is 1), into in(cap), and in ISO 8601, "2023-12-25", into iso(cap). */
void sf_task_date_text(int day, int month, int year, int us, char *in, char *iso, size_t cap);

/* Writes the text of ids(n) (alphabet characters only; specials as <eos> etc.) into out(cap). */
void sf_task_text(const sf_task *t, const int *ids, int n, char *out, size_t cap);

#endif
