/* fma_peak.c - prints the machine's fp32 FMA peak (bench/peak.h) on 1 and on N threads.
 * usage: fma_peak [THREADS (default 2)] [ROUNDS (default 5)]   the best of ROUNDS measurements of 0.3 s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peak.h"

/* Prints the best of the rounds on one thread and on THREADS threads. */
int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1) threads = 1;
    if (rounds < 1) rounds = 1;
    const char *isa = "?";
    double best1 = 0.0, bestn = 0.0;
    for (int r = 0; r < rounds; r++) {
        double a = sf_fma_peak(1, 0.3, &isa, NULL), b = sf_fma_peak(threads, 0.3, &isa, NULL);
        if (a > best1) best1 = a;
        if (b > bestn) bestn = b;
    }
    printf("fp32 FMA peak (%s, %d independent chains, best of %d): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n",
           isa, strcmp(isa, "avx2") == 0 ? 12 : 16, rounds, best1, bestn, threads); /* peak.c's CHAINS_256, CHAINS */
    return 0;
}
