/* bench_gpt2.c - one GPT-2 small (124M) decoder step with the KV cache, beside the memory-bandwidth
 * bound measured in the same run.
 *
 * Writes a GPT-2 124M checkpoint in llm.c's layout (gpt2_124M.bin's exact shape and size, weights from
 * the test oracle's formula, tests/gpt2_weights.c), loads it as the program does (sf_model_load), then
 * times sf_decode_step at positions 1..64: the median over the positions of each round, best of the
 * rounds. The bound is the bytes of weights one step must read (every parameter but the unused rows of
 * the position table) divided by this machine's read bandwidth, measured here by summing a 1 GiB array
 * on the same threads (the pool of src/core/pool.c), best of 5 passes.
 *
 * usage: bench_gpt2 [--threads T (2)] [--rounds N (3)] [--file PATH] [--keep]
 * The file is written to PATH (default /tmp/sf_bench_gpt2_124M.bin) and removed afterwards unless
 * --keep (bench/gpt2 keeps it for the PyTorch side). Lines starting with a key and a colon are for
 * bench/gpt2 to read. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "gpt2_weights.h"
#include "model/format.h"
#include "model/model.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One pass of the bandwidth probe: chunk c sums its part of the array in 16 independent lanes. */
typedef struct { const float *a; double *part; size_t per; } probe_job;

static void probe_chunk(void *arg, int c) {
    const probe_job *j = arg;
    const float *p = j->a + (size_t)c * j->per;
    float acc[16] = {0};
    for (size_t i = 0; i + 16 <= j->per; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += p[i + k];
    double s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    j->part[c] = s;
}

/* Returns this machine's read bandwidth in bytes per second: a 1 GiB float array summed in chunks of
 * 1 MiB shared by the same thread pool the decoder step uses (so the same threads, started the same
 * way), best of 5 passes. *checksum keeps the sums from being optimised away. */
static double read_bandwidth(double *checksum) {
    enum { CHUNKS = 1024 };
    size_t per = ((size_t)1 << 28) / CHUNKS, n = per * CHUNKS;
    float *a = malloc(n * sizeof *a);
    double *part = malloc(CHUNKS * sizeof *part);
    if (!a || !part) { free(a); free(part); return 0; }
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023) * 0.001f;
    probe_job j = {a, part, per};
    double best = 1e30, total = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now_s();
        sf_parallel(probe_chunk, &j, CHUNKS);
        double dt = now_s() - t0;
        if (dt < best) best = dt;
        for (int c = 0; c < CHUNKS; c++) total += part[c];
    }
    free(a);
    free(part);
    *checksum = total;
    return (double)n * sizeof(float) / best;
}

int main(int argc, char **argv) {
    int threads = 2, rounds = 3, keep = 0;
    const char *path = "/tmp/sf_bench_gpt2_124M.bin";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--keep")) keep = 1;
        else { fprintf(stderr, "usage: bench_gpt2 [--threads T] [--rounds N] [--file PATH] [--keep]\n"); return 2; }
    }
    if (threads < 1) threads = 1;
    if (rounds < 1) rounds = 1;
    sf_set_threads(threads); /* the pool the decoder step and the probe share */
    gw_shape shape = GW_124M;
    double t0 = now_s();
    size_t bytes;
    if (!gw_write_llmc(path, &shape, 1, 3, NULL, &bytes)) return 1;
    printf("wrote %s: %zu bytes (GPT-2 124M in llm.c's layout) in %.1f s\n", path, bytes, now_s() - t0);

    double checksum = 0, bw = read_bandwidth(&checksum);
    t0 = now_s();
    sf_model m;
    sf_load_opts lo = {NULL};
    sf_err e = sf_model_load(path, &lo, &m);
    if (!e.ok) { fprintf(stderr, "bench_gpt2: %s\n", e.msg); return 1; }
    double load_s = now_s() - t0;
    if (!keep) unlink(path);
    const sf_config *c = &m.cfg;
    /* what one step reads: every weight once, but of the position table only its one row */
    double weight_bytes = ((double)m.n_params - (double)c->max_len * c->d_model + c->d_model) * sizeof(float);
    double bound_ms = weight_bytes / bw * 1e3;
    printf("model: %d layers, %d heads, d_model %d, vocab %d: %zu parameters, loaded in %.2f s\n", c->n_dec_layers,
           c->n_heads, c->d_model, c->vocab_size, m.n_params, load_s);
    printf("read bandwidth: %.1f GB/s (%d threads, 1 GiB summed, best of 5; checksum %.0f)\n", bw / 1e9, sf_threads(), checksum);
    printf("weights read per step: %.1f MB -> bound %.1f ms per token\n", weight_bytes / 1e6, bound_ms);

    enum { POS = 64 };
    sf_seq s;
    if (!(e = sf_seq_build(&s, c)).ok || !(e = sf_seq_reserve(&s, POS + 1)).ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    double best_med = 1e30, best_p90 = 0, all[POS];
    for (int r = 0; r < rounds; r++) {
        sf_decode_reset(&s);
        e = sf_decode_step(&m, &s, 50256); /* position 0, not timed */
        for (int p = 0; p < POS && e.ok; p++) {
            double a = now_s();
            e = sf_decode_step(&m, &s, (int)((p * 7919u + 13) % (unsigned)c->vocab_size));
            all[p] = (now_s() - a) * 1e3;
        }
        if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
        qsort(all, POS, sizeof *all, cmp_double);
        double med = (all[POS / 2 - 1] + all[POS / 2]) / 2;
        printf("round %d: median %.2f ms per token (positions 1-%d), p90 %.2f ms\n", r + 1, med, POS, all[POS * 9 / 10]);
        if (med < best_med) { best_med = med; best_p90 = all[POS * 9 / 10]; }
    }
    printf("stepformer: %.2f ms per token (best of %d rounds' medians, p90 %.2f), %.2fx the bound\n", best_med, rounds,
           best_p90, best_med / bound_ms);
    printf("bound_ms: %.3f\nbandwidth_gbs: %.2f\nstep_ms: %.3f\n", bound_ms, bw / 1e9, best_med);
    sf_seq_free(&s);
    sf_model_free(&m);
    return 0;
}
