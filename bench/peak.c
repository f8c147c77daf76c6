/* peak.c - the FMA peak probe: see peak.h. */
#define _POSIX_C_SOURCE 200809L
#include "peak.h"

#include <math.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define PEAK_X86 1
#include <immintrin.h>
#endif

#define CHAINS 16 /* more independent chains than FMA latency x ports on any current core */
/* AVX2 has 16 ymm registers: 16 chains and the two constants spilled three chains to the stack, whose
 * store-to-load round trips held the probe to about 0.6 of an AMD EPYC's (Zen 3) peak; 12 chains (8 are
 * enough for two FMA ports of latency 4) and the constants fit */
#define CHAINS_256 12

double sf_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef PEAK_X86
/* Runs `reps` rounds of CHAINS independent AVX-512 FMAs; returns a sum so nothing is optimised away. */
__attribute__((target("avx512f"))) static float chains_512(long reps) {
    __m512 acc[CHAINS], m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-6f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps((float)k);
    for (long r = 0; r < reps; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], m, c);
    float s = 0.0f;
    for (int k = 0; k < CHAINS; k++) s += _mm512_reduce_add_ps(acc[k]);
    return s;
}

/* The same with AVX2 and FMA. */
__attribute__((target("avx2,fma"))) static float chains_256(long reps) {
    __m256 acc[CHAINS_256], m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-6f);
    for (int k = 0; k < CHAINS_256; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long r = 0; r < reps; r++)
        for (int k = 0; k < CHAINS_256; k++) acc[k] = _mm256_fmadd_ps(acc[k], m, c);
    float s = 0.0f, lane[8];
    for (int k = 0; k < CHAINS_256; k++) {
        _mm256_storeu_ps(lane, acc[k]);
        for (int i = 0; i < 8; i++) s += lane[i];
    }
    return s;
}
#endif

/* The same with scalar fmaf. */
static float chains_scalar(long reps) {
    float acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = (float)k;
    for (long r = 0; r < reps; r++)
        for (int k = 0; k < CHAINS; k++) acc[k] = fmaf(acc[k], 0.9999999f, 1e-6f);
    float s = 0.0f;
    for (int k = 0; k < CHAINS; k++) s += acc[k];
    return s;
}

/* Returns the vector width (floats) of the widest FMA this processor has, and its name. */
static int widest(const char **isa) {
#ifdef PEAK_X86
    if (__builtin_cpu_supports("avx512f")) { *isa = "avx512"; return 16; }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { *isa = "avx2"; return 8; }
#endif
    *isa = "scalar";
    return 1;
}

/* Runs reps rounds with the widest FMA; returns the chains' sum. */
static float run_chains(int width, long reps) {
#ifdef PEAK_X86
    if (width == 16) return chains_512(reps);
    if (width == 8) return chains_256(reps);
#endif
    return chains_scalar(reps);
}

volatile float sf_peak_sink; /* keeps the chains' results alive */

double sf_bench_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double sf_fma_peak(int threads, double seconds, const char **isa, double *per_cpu) {
    const char *name;
    int width = widest(&name);
    if (isa) *isa = name;
    if (threads < 1) threads = 1;
    /* calibrate on one thread: how many rounds fill the time */
    long reps = 1 << 16;
    for (;;) {
        double t0 = sf_bench_now();
        sf_peak_sink = run_chains(width, reps);
        double dt = sf_bench_now() - t0;
        if (dt > seconds / 8 || reps > (1L << 40)) {
            reps = (long)((double)reps * seconds / (dt > 0 ? dt : 1e-9));
            break;
        }
        reps *= 4;
    }
    if (reps < 1) reps = 1;
    float sink = 0.0f;
    double t0 = sf_bench_now(), c0 = sf_bench_cpu();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += run_chains(width, reps);
    double dt = sf_bench_now() - t0, dc = sf_bench_cpu() - c0;
    sf_peak_sink = sink;
    double flops = 2.0 * (width == 8 ? CHAINS_256 : CHAINS) * (double)width * (double)reps * threads;
    if (per_cpu) *per_cpu = flops / (dc > 0 ? dc / threads : dt) / 1e9;
    return flops / dt / 1e9;
}
