/* bench_train.c - training speed in target tokens per second and in GFLOP/s, as a fraction of the
 * machine's FMA peak measured in the same run (bench/peak.h).
 *
 * Two shapes:
 *   reverse  the configuration: encoder-decoder, d_model 64, 4 heads, d_ff 256, 2+2 layers
 *            (post-LN, ReLU, sinusoidal positions, tied embeddings), batches of 64 reversals of
 *            12-letter strings: 12 encoder tokens, 13 decoder positions (12 letters + <eos>) each;
 *            tokens are the decoder targets (64 x 13 = 832 per step), as bench/train_torch.py counts.
 *   gpt      the GPT-2 shape llm.c's CPU trainer is timed on: vocab 32, d_model 64, 4 heads, 3 layers,
 *            d_ff 256, T 24, batch 32 (pre-LN, GELU, learned positions, tied); random tokens, every one
 *            of the B x T positions a target, as llm.c counts them.
 * One step is a forward and backward pass over the batch, gradient clipping and an AdamW update.
 *
 * FLOPs are counted from the shapes: 2 per multiply-add of every matrix product (projections, FFN,
 * output head) and of Q.K^T and P.V over every query-key pair of the attention (the causal mask not
 * discounted); the backward pass counts twice the forward (two products per forward product).
 * LayerNorm, softmax, activations and AdamW are not counted.
 *
 * Each of ROUNDS rounds measures the FMA peak on THREADS threads (0.15 s) and then times STEPS training
 * steps; the best of each (the one least disturbed by other work on the machine) gives the figures, and
 * the median of each round's own trainer/peak ratio is printed beside them, and so is the fastest single
 * step of all rounds (on a shared machine the least disturbed figure, the one bench/train_ab compares). Each round also says what
 * share of its processors the trainer got (processor time / wall time), a measure of the load.
 *
 * bench_train_bycall is the same program with ops.c compiled to count (SF_MATMUL_COUNT): it also prints
 * the time every matrix product took inside the training steps, by kind (forward, input gradient, weight
 * gradient, bias gradient, the attention's per-head products) and shape, against the FMA peak per thread.
 * bench_train_phases is the same program with trainer.c compiled to mark its phases (SF_TRAIN_PHASES,
 * bench/train_phases.c): it also prints, per thread, the time each step spends in its chunks, the early
 * sums, the waits at the two barriers, the rest of the sums and AdamW (the threads' idle time), and each
 * processor's time per chunk.
 * After the warm-up steps it prints the size of one thread's records (floats a row and MB: the packed
 * activation record and the gradient workspace) and of a chunk's working set (both records, the weights
 * and the chunk's gradient buffer).
 *
 * usage: bench_train [--shape reverse|gpt] [--steps N] [--threads T] [--rounds R] [--kernels avx512|avx2|c]
 * The last line is `tokens/s: N` for bench/train to read. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "peak.h"
#include "train/tasks.h"
#include "train/trainer.h"

#define WARMUP_STEPS 3

typedef struct {
    const char *name;
    sf_config cfg;
    int batch, n_src, n; /* examples per step; encoder and decoder positions per example */
} shape;

/* Returns the shape called name (reverse or gpt); 0 if unknown. */
static int make_shape(const char *name, shape *s) {
    memset(s, 0, sizeof *s);
    if (strcmp(name, "reverse") == 0) {
        s->cfg = sf_config_default(SF_FAMILY_ENCDEC);
        s->cfg.vocab_size = SF_TOK_FIRST_CHAR + 26;
        s->cfg.n_enc_layers = 2;
        s->cfg.n_dec_layers = 2;
        s->cfg.max_len = 16;
        s->batch = 64;
        s->n_src = 12;
        s->n = 13;
    } else if (strcmp(name, "gpt") == 0) {
        s->cfg = sf_config_default(SF_FAMILY_GPT);
        s->cfg.vocab_size = 32;
        s->cfg.n_dec_layers = 3;
        s->cfg.max_len = 24;
        s->batch = 32;
        s->n = 24;
    } else {
        return 0;
    }
    s->name = name;
    s->cfg.d_model = 64;
    s->cfg.n_heads = 4;
    s->cfg.d_ff = 256;
    return 1;
}

/* Returns the forward FLOPs of one example of the shape, counted as the header says. */
static double forward_flops(const shape *s) {
    const sf_config *c = &s->cfg;
    double C = c->d_model, F = c->d_ff, V = c->vocab_size, ns = s->n_src, n = s->n, macs = 0.0;
    /* encoder layer: q|k|v, output projection, FFN per token; q.k and p.v over the source keys */
    macs += c->n_enc_layers * ns * (3 * C * C + C * C + 2 * C * F + 2 * ns * C);
    /* decoder layer: the same with n keys, plus cross-attention (q, output, 2 x n_src keys per query)
     * and the cross keys and values of every source token */
    double cross = c->family == SF_FAMILY_ENCDEC ? n * (2 * C * C + 2 * ns * C) + ns * 2 * C * C : 0.0;
    macs += c->n_dec_layers * (n * (3 * C * C + C * C + 2 * C * F + 2 * n * C) + cross);
    macs += n * C * V; /* output head */
    return 2.0 * macs;
}

/* Fills ex(batch) for the shape from r: reversals of random letters, or random GPT tokens. */
static void make_batch(const shape *s, sf_rng *r, sf_example *ex) {
    for (int b = 0; b < s->batch; b++) {
        sf_example *x = &ex[b];
        memset(x, 0, sizeof *x);
        if (s->cfg.family == SF_FAMILY_ENCDEC) {
            int L = s->n_src;
            x->n_src = L;
            for (int i = 0; i < L; i++) x->src[i] = SF_TOK_FIRST_CHAR + sf_rng_int(r, 26);
            x->in[0] = SF_TOK_BOS;
            for (int i = 0; i < L; i++) x->in[i + 1] = x->tgt[i] = x->src[L - 1 - i];
            x->tgt[L] = SF_TOK_EOS;
        } else {
            for (int i = 0; i < s->n; i++) {
                x->in[i] = sf_rng_int(r, s->cfg.vocab_size);
                x->tgt[i] = sf_rng_int(r, s->cfg.vocab_size);
            }
        }
        x->n = s->n;
        x->n_prompt = 1;
    }
}

/* Times the shape and prints the figures; see the header. */
int main(int argc, char **argv) {
    const char *shape_name = "reverse", *kernels = NULL;
    int steps = 10, threads = 2, rounds = 9;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--shape")) shape_name = argv[i + 1];
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--kernels")) kernels = argv[i + 1];
        else { fprintf(stderr, "bench_train: unknown option %s\n", argv[i]); return 2; }
    }
    if (steps < 1) steps = 30;
    if (threads < 1) threads = 1;
    if (rounds < 1) rounds = 1;
    shape s;
    if (!make_shape(shape_name, &s)) { fprintf(stderr, "bench_train: unknown shape %s (reverse, gpt)\n", shape_name); return 2; }
    const char *kname = sf_matmul_use(kernels);
    if (!kname) { fprintf(stderr, "bench_train: this processor has no %s kernels\n", kernels); return 2; }
    sf_model m;
    sf_err e = sf_model_build(&m, &s.cfg);
    if (!e.ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    sf_model_init_random(&m, 1);
    sf_adamw_cfg oc = sf_adamw_defaults(WARMUP_STEPS + rounds * steps);
    oc.warmup = 10;
    sf_trainer tr;
    if (!(e = sf_trainer_init(&tr, &m, &oc, threads)).ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    sf_example *ex = malloc((size_t)s.batch * sizeof *ex);
    if (!ex) return 1;
    sf_rng r;
    sf_rng_seed(&r, 7);
    sf_step_stats st = {0};
    double flops = 3.0 * forward_flops(&s) * s.batch; /* forward + backward (2x) per step */
    printf("stepformer (C): %s shape, %s, d_model %d, %d heads, d_ff %d, %d+%d layers, %zu parameters, "
           "batch %d x %d positions, %d thread%s, %s kernels\n",
           s.name, sf_family_name(s.cfg.family), s.cfg.d_model, s.cfg.n_heads, s.cfg.d_ff, s.cfg.n_enc_layers,
           s.cfg.n_dec_layers, m.n_params, s.batch, s.n, tr.n_threads, tr.n_threads == 1 ? "" : "s", kname);
    printf("model FLOPs per step: %.4f GFLOP (%.2f MFLOP forward per example x %d examples x 3 for forward + "
           "backward; 2 per multiply-add of every matrix product and of Q.K^T, P.V over all query-key pairs)\n",
           flops / 1e9, forward_flops(&s) / 1e6, s.batch);
    for (int w = 0; w < WARMUP_STEPS; w++) {
        make_batch(&s, &r, ex);
        if (!(e = sf_trainer_step(&tr, ex, s.batch, &st)).ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    }
    { /* a chunk's working set on one thread, as the warm-up steps laid the records out and the last pack used
       * them (its rows: the longer stack's), in MB of 10^6 bytes */
        const sf_seq *a = &tr.act[0], *g = &tr.gact[0];
        size_t fa = a->L ? a->mem_floats / (size_t)a->L : 0, fg = g->L ? g->mem_floats / (size_t)g->L : 0;
        int used = a->n_src > a->n_tgt ? a->n_src : a->n_tgt;
        double ra = (double)fa * used * sizeof(float) / 1e6, rg = (double)fg * used * sizeof(float) / 1e6;
        double w = (double)m.n_params * sizeof(float) / 1e6;
        printf("records per thread: activations %zu floats a row, gradients %zu (%d rows x %d keys laid out); a pack "
               "of %d rows uses %.2f + %.2f = %.2f MB of them, and with the weights and its chunk buffer (%.2f MB "
               "each) a chunk's working set is %.2f MB\n",
               fa, fg, a->L, a->K, used, ra, rg, ra + rg, w, ra + rg + 2 * w);
    }
#ifdef SF_MATMUL_COUNT
    sf_matmul_count_reset(); /* the warm-up steps are not counted */
#endif
#ifdef SF_TRAIN_PHASES
    sf_train_phases_reset();
#endif
    double best_dt = 1e30, best_peak = 0.0, ratio[256], fastest = 1e30;
    long tokens_per_step = 0;
    const char *isa = "?";
    if (rounds > 256) rounds = 256;
    for (int round = 0; round < rounds; round++) {
        double pcpu, peak = sf_fma_peak(tr.n_threads, 0.15, &isa, &pcpu);
        double busy = 0.0, c0 = sf_bench_cpu();
        for (int k = 0; k < steps; k++) {
            make_batch(&s, &r, ex); /* outside the timing: a few microseconds */
            double t0 = sf_bench_now();
            if (!(e = sf_trainer_step(&tr, ex, s.batch, &st)).ok) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
            double one = sf_bench_now() - t0;
            busy += one;
            if (one < fastest) fastest = one;
            tokens_per_step = st.tokens;
        }
        double dt = busy / steps, share = (sf_bench_cpu() - c0) / busy / tr.n_threads;
        ratio[round] = flops / dt / 1e9 / peak;
        printf("round %2d: FMA peak %6.1f GFLOP/s; trainer %7.2f ms/step, %6.1f GFLOP/s = %4.1f%% of this round's "
               "peak; the trainer got %3.0f%% of %d processor%s\n",
               round + 1, peak, 1e3 * dt, flops / dt / 1e9, 100.0 * ratio[round], 100.0 * share, tr.n_threads,
               tr.n_threads == 1 ? "" : "s");
        if (dt < best_dt) best_dt = dt;
        if (peak > best_peak) best_peak = peak;
    }
    for (int i = 1; i < rounds; i++) /* sort the ratios for the median */
        for (int j = i; j > 0 && ratio[j] < ratio[j - 1]; j--) {
            double t = ratio[j];
            ratio[j] = ratio[j - 1];
            ratio[j - 1] = t;
        }
    double gf = flops / best_dt / 1e9, median = ratio[rounds / 2];
    printf("best of %d rounds: FMA peak %.1f GFLOP/s (%s, %d thread%s); trainer %.2f ms/step = %.1f GFLOP/s = %.1f%% "
           "of the best peak; median of the rounds' own ratios %.1f%%; final loss %.3f\n",
           rounds, best_peak, isa, tr.n_threads, tr.n_threads == 1 ? "" : "s", 1e3 * best_dt, gf, 100.0 * gf / best_peak,
           100.0 * median, st.loss);
    printf("fastest single step: %.2f ms = %.1f GFLOP/s = %.1f%% of the best peak (the least disturbed step: "
           "on a shared machine the steadiest figure to compare builds by)\n",
           1e3 * fastest, flops / fastest / 1e9, 100.0 * flops / fastest / 1e9 / best_peak);
#ifdef SF_MATMUL_COUNT
    /* the products' table against one thread's peak: the best of many short probes (on a loaded machine one
     * of them runs undisturbed, as the median product does) */
    double peak1 = 0.0;
    for (int i = 0; i < 40; i++) {
        double p = sf_fma_peak(1, 0.005, &isa, NULL);
        if (p > peak1) peak1 = p;
    }
    sf_matmul_count_print(peak1, (long)rounds * steps);
#endif
#ifdef SF_TRAIN_PHASES
    sf_train_phases_print();
#endif
    printf("peak%%: %.1f\n", 100.0 * gf / best_peak);
    printf("fastest_ms: %.3f\n", 1e3 * fastest);
    printf("tokens/s: %.0f\n", (double)tokens_per_step / best_dt);
    free(ex);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    return 0;
}
