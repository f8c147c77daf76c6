/* trainer.h - batched training steps on several threads with results independent of the thread count,
 * held-out evaluation, and the optimizer-state sidecar that lets a run resume bit for bit.
 *
 * Determinism: a batch of B examples is cut into a fixed number of chunks (SF_TRAIN_CHUNKS, or B if
 * smaller) that depends only on B. Each chunk sums its examples' gradients, in order, into its own
 * buffer; any thread may compute any chunk; then the chunk buffers are added in chunk order. So 1, 2
 * or 8 threads give the same bits. (The same holds for the loss, summed in double per chunk.)
 * Inside a chunk the examples run several at a time through one packed pass (model.h, backward.h): the
 * same bits as one at a time, with products of about a hundred rows instead of one example's dozen. */
#ifndef SF_TRAINER_H
#define SF_TRAINER_H

#include <stdint.h>

#include "core/err.h"
#include "core/io.h"
#include "model/model.h"
#include "optim.h"
#include "tasks.h"

#define SF_TRAIN_CHUNKS 8
#define SF_TRAIN_SUM_SPAN 4096      /* parameters of grad summed at a time, chunk after chunk (16 KB: in L1) */
#define SF_TRAIN_PACK_ROWS 256       /* rows of one stack in one packed pass (a chunk takes as many as it needs) */
#define SF_TRAIN_MAX_BATCH 65536     /* examples per step: the same limit for --batch and a resume file */
#define SF_TRAIN_MAX_STEPS 100000000 /* optimizer steps (and warmup steps): the same for --steps and a resume file */

typedef struct {
    sf_model *m;        /* the model being trained (not owned) */
    sf_adamw opt;       /* AdamW state; opt.cfg holds the schedule */
    int n_threads;      /* threads used for the per-example passes */
    sf_seq *act, *gact; /* (n_threads) one packed activation record and gradient workspace each */
    float *chunk_grad;  /* (SF_TRAIN_CHUNKS, n_params) per-chunk gradient sums, written by each step */
    float *grad;        /* (n_params) the batch gradient: chunk sums added in order, / counted tokens, then
                         * clipped (after a failed step: unspecified) */
    long step;          /* optimizer steps done */
    struct sf_sum_span *sum_spans; /* (private) per span of grad: the chunks summed into it so far */
    int early_spans;    /* spans of grad the last step began summing while its last chunk still ran */
    int hold_last_chunk; /* tests only: 1 holds the last chunk back until the other threads have begun
                          * summing every span (the early sums, deterministically); 0 as sf_trainer_init */
} sf_trainer;

/* What one step did. */
typedef struct {
    double loss;      /* mean cross-entropy per counted token, before the update */
    long tokens;      /* counted (non-pad) target tokens in the batch */
    double grad_norm; /* global gradient norm before clipping */
    float lr;         /* learning rate used */
} sf_step_stats;

/* Prepares training of m with optimizer settings oc on `threads` threads (0: OpenMP's default). */
sf_err sf_trainer_init(sf_trainer *tr, sf_model *m, const sf_adamw_cfg *oc, int threads);
void sf_trainer_free(sf_trainer *tr);

/* Runs forward and backward over ex(n), averages the gradient over the counted tokens, clips it and
 * applies one AdamW update at the schedule's learning rate for tr->step; then advances tr->step.
 * Fails (without updating) on an invalid example or a non-finite loss. */
sf_err sf_trainer_step(sf_trainer *tr, const sf_example *ex, int n, sf_step_stats *st);

/* Returns the mean loss per counted token over ex(n) (no gradients); *tokens receives the count. */
double sf_trainer_loss(sf_trainer *tr, const sf_example *ex, int n, long *tokens);

/* Greedy generation: feeds ex's first n_prompt decoder inputs (after encoding its source), then appends
 * the argmax token (never <pad>, <bos> or <unk>) until <eos> or the record is full. Writes the generated
 * tokens (the <eos> included if produced) to out(cap) and returns their count, or -1 on error. */
int sf_greedy(const sf_model *m, sf_seq *s, const sf_example *ex, int *out, int cap);

/* Encodes the whole run at this step into out (the caller frees it): run identity, schedule, step, the
 * model's checkpoint ckpt (sf_checkpoint_encode of tr->m, embedded whole) and the AdamW moments, under
 * one checksum. One file holds the weights and the optimizer state of the same step, so a kill can never
 * leave the two disagreeing (docs/checkpoint-format.md). */
sf_err sf_trainer_encode_state(const sf_trainer *tr, const sf_buf *ckpt, const char *task, uint64_t seed, int batch,
                               sf_buf *out);

/* Encodes the state (with tr->m's checkpoint) and writes it atomically to path. */
sf_err sf_trainer_save_state(const sf_trainer *tr, const char *path, const char *task, uint64_t seed, int batch);

/* Reads a state written by sf_trainer_save_state into tr (whose model must have the same config and
 * alphabet): moments, step, schedule and, from the embedded checkpoint, the weights of that step (a
 * version-1 state, which has none, leaves tr->m's weights as they are). *seed and *batch receive the
 * run's values. The size is checked from the header before the file is read; everything is checked
 * before tr changes. Errors name the file and what did not match. */
sf_err sf_trainer_load_state(sf_trainer *tr, const char *path, const char *task, uint64_t *seed, int *batch);

#ifdef SF_TRAIN_PHASES
/* Only in the phases build (bench_train_phases, which compiles trainer.c with SF_TRAIN_PHASES and
 * bench/train_phases.c): sf_trainer_step marks where each thread is, for the bench to time the step's
 * phases and the threads' waits (the marks: SF_PH_*, arg a chunk's index or 0). */
enum {
    SF_PH_STEP,      /* before the parallel region (thread 0) */
    SF_PH_CHUNK,     /* a thread begins chunk arg */
    SF_PH_CHUNK_END, /* ... and has finished it */
    SF_PH_SUMS,      /* no chunk left: the early sums begin */
    SF_PH_WAIT1,     /* the early sums are done: the first barrier */
    SF_PH_FINISH,    /* past it: the rest of the sums and the norm */
    SF_PH_WAIT2,     /* the second barrier */
    SF_PH_ADAMW,     /* past it: the thread's AdamW spans */
    SF_PH_DONE,      /* the thread's work is done (then the region's end) */
    SF_PH_STEP_END,  /* after the parallel region (thread 0) */
    SF_PH_SPAN,      /* among the early sums: a span's sum begins */
    SF_PH_SPAN_END,  /* ... and ends */
    SF_PH_HELP,      /* among the early sums: a look for another thread's input gradient (only branch t16's */
    SF_PH_HELP_END,  /* sharing marks these two, arg 1: one was computed; main's step never does) */
    SF_PH_MARKS
};
void sf_train_phase(int th, int mark, int arg);
void sf_train_phases_reset(void); /* forgets the steps marked so far (the warm-up) */
void sf_train_phases_print(void); /* prints the phases of the steps marked since */
#define SF_PHASE(th, mark, arg) sf_train_phase(th, mark, arg)
#else
#define SF_PHASE(th, mark, arg) ((void)0)
#endif

#endif
