/* peak.h - the machine's single-precision FMA peak, measured (bench/peak.c).
 *
 * Independent chains of fused multiply-adds on the widest vectors the processor has (AVX-512, else
 * AVX2, else scalar fmaf), on `threads` OpenMP threads at once: the most floating-point work per second
 * the cores can do, which the trainer's GFLOP/s are a fraction of. One FMA counts as 2 FLOPs. */
#ifndef SF_BENCH_PEAK_H
#define SF_BENCH_PEAK_H

/* Returns the GFLOP/s of one measurement lasting about `seconds` on `threads` threads; *isa receives
 * "avx512", "avx2" or "scalar". *per_cpu (if not NULL) receives the GFLOP per second of processor time
 * the threads got, times the thread count: what the wall-clock figure would be on an idle machine. */
double sf_fma_peak(int threads, double seconds, const char **isa, double *per_cpu);

/* Returns seconds on a monotonic clock. */
double sf_bench_now(void);
/* Returns the processor time this process has used, in seconds (all its threads). */
double sf_bench_cpu(void);

#endif
