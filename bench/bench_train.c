/* bench_train.c - training speed of the reverse configuration, in target tokens per second.
 *
 * The model of the issue: encoder-decoder, d_model 64, 4 heads, d_ff 256, 2 encoder + 2 decoder layers
 * (post-LN, ReLU, sinusoidal positions, tied embeddings), batches of 64 reversals of 12-letter strings:
 * 12 encoder tokens and 13 decoder positions (12 letters + <eos>) per example. One step is a forward and
 * backward pass over the batch, gradient clipping and an AdamW update. Tokens per second counts the
 * decoder targets (64 x 13 = 832 per step), the same count bench/train_torch.py uses.
 *
 * usage: bench_train [STEPS (default 30)] [THREADS (default: OpenMP's)]
 * The last line is `tokens/s: N` for bench/train to read. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "train/tasks.h"
#include "train/trainer.h"

#define BATCH 64
#define LEN 12
#define WARMUP_STEPS 3

/* Returns seconds on a monotonic clock. */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills ex(BATCH) with reversals of random 12-letter strings drawn from r. */
static void make_batch(sf_rng *r, sf_example *ex) {
    for (int b = 0; b < BATCH; b++) {
        sf_example *x = &ex[b];
        memset(x, 0, sizeof *x);
        x->n_src = LEN;
        for (int i = 0; i < LEN; i++) x->src[i] = SF_TOK_FIRST_CHAR + sf_rng_int(r, 26);
        x->in[0] = SF_TOK_BOS;
        for (int i = 0; i < LEN; i++) x->in[i + 1] = x->tgt[i] = x->src[LEN - 1 - i];
        x->tgt[LEN] = SF_TOK_EOS;
        x->n = LEN + 1;
        x->n_prompt = 1;
    }
}

/* Trains the reverse configuration for the given number of steps and prints tokens per second. */
int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 30;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    if (steps < 1) steps = 30;
    sf_config c = sf_config_default(SF_FAMILY_ENCDEC);
    c.vocab_size = SF_TOK_FIRST_CHAR + 26;
    c.d_model = 64;
    c.n_heads = 4;
    c.d_ff = 256;
    c.n_enc_layers = 2;
    c.n_dec_layers = 2;
    c.max_len = 16;
    sf_model m;
    sf_err e = sf_model_build(&m, &c);
    if (!e.ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    sf_model_init_random(&m, 1);
    sf_adamw_cfg oc = sf_adamw_defaults(WARMUP_STEPS + steps);
    oc.warmup = 10;
    sf_trainer tr;
    if (!(e = sf_trainer_init(&tr, &m, &oc, threads)).ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    sf_example *ex = malloc(BATCH * sizeof *ex);
    sf_rng r;
    sf_rng_seed(&r, 7);
    sf_step_stats st = {0};
    double t0 = 0.0, gen = 0.0;
    long tokens = 0;
    for (int s = 0; s < WARMUP_STEPS + steps; s++) {
        if (s == WARMUP_STEPS) t0 = now_seconds();
        double g0 = now_seconds();
        make_batch(&r, ex);
        if (s >= WARMUP_STEPS) gen += now_seconds() - g0;
        if (!(e = sf_trainer_step(&tr, ex, BATCH, &st)).ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
        if (s >= WARMUP_STEPS) tokens += st.tokens;
    }
    double dt = now_seconds() - t0;
    printf("stepformer (C): reverse config d_model 64, 4 heads, d_ff 256, 2+2 layers, %zu parameters\n", m.n_params);
    printf("batch %d x %d letters, %d timed steps after %d warm-up steps, %d thread%s: %.1f ms/step "
           "(%.2f ms of it making data), final loss %.3f\n",
           BATCH, LEN, steps, WARMUP_STEPS, tr.n_threads, tr.n_threads == 1 ? "" : "s", 1e3 * dt / steps,
           1e3 * gen / steps, st.loss);
    printf("tokens/s: %.0f\n", (double)tokens / dt);
    free(ex);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    return 0;
}
