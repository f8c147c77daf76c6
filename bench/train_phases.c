/* train_phases.c - the phases build's clock (bench_train_phases): where each thread of sf_trainer_step
 * spends a step. trainer.c compiled with SF_TRAIN_PHASES marks every phase (trainer.h's SF_PH_*); this
 * file stamps the marks with the wall clock, per step and thread, and prints for the thread whose chunk
 * loop ended first (it sums early, then waits at the first barrier while the last chunk runs) and for
 * the one whose loop ended last: the time in chunks, early sums, the first barrier, the rest of the sums
 * and the norm, the second barrier and AdamW, as medians and 10th/90th percentiles over the timed steps;
 * and each processor's time per chunk (how unequal the two vCPUs are). A preempted thread's absence
 * counts in whatever phase it was in: measure on a quiet machine. */
#define _GNU_SOURCE /* sched_getcpu */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/trainer.h"

#define PH_STEPS 2048
#define PH_THREADS SF_TRAIN_CHUNKS
#define PH_CPUS 64

typedef struct {
    double at[PH_THREADS][SF_PH_MARKS]; /* ms; 0: not marked */
    double chunk_ms[PH_THREADS];        /* run_chunk's wall time, summed per thread */
    double span_ms[PH_THREADS];         /* the early sums' spans, summed */
    double help_ms[PH_THREADS];         /* the input gradients computed for other threads, summed */
    int helps[PH_THREADS];
    double one_ms[SF_TRAIN_CHUNKS], end_at[SF_TRAIN_CHUNKS]; /* each chunk's wall time and when it ended */
    int chunks[PH_THREADS];
} ph_step;

static ph_step ph[PH_STEPS];
static double ph_begun[PH_THREADS]; /* when the thread's current chunk (span, look for help) began */
static int ph_cpu0[PH_THREADS];
static double ph_begun_cpu[PH_THREADS]; /* ... and the thread's processor time then */
static double cpu_ms[PH_CPUS], cpu_busy[PH_CPUS]; /* chunks that began and ended on one processor: their
                                                   * wall time and the thread's processor time */
static int cpu_n[PH_CPUS];
static int ph_n;                    /* steps marked so far (the current one is ph_n - 1) */

/* Returns the wall clock in milliseconds. */
static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Returns the calling thread's processor time in milliseconds. */
static double thread_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Stamps mark on thread th of the current step (SF_PH_STEP begins a step). */
void sf_train_phase(int th, int mark, int arg) {
    (void)arg;
    double t = now_ms();
    if (mark == SF_PH_STEP) {
        if (ph_n < PH_STEPS) memset(&ph[ph_n], 0, sizeof ph[ph_n]);
        ph_n++;
    }
    if (ph_n < 1 || ph_n > PH_STEPS || th < 0 || th >= PH_THREADS) return;
    ph_step *s = &ph[ph_n - 1];
    s->at[th][mark] = t;
    if (mark == SF_PH_CHUNK) {
        ph_begun[th] = t;
        ph_begun_cpu[th] = thread_ms();
        ph_cpu0[th] = sched_getcpu();
    } else if (mark == SF_PH_SPAN || mark == SF_PH_HELP) {
        ph_begun[th] = t;
    } else if (mark == SF_PH_SPAN_END) {
        s->span_ms[th] += t - ph_begun[th];
    } else if (mark == SF_PH_HELP_END && arg) {
        s->help_ms[th] += t - ph_begun[th];
        s->helps[th]++;
    } else if (mark == SF_PH_CHUNK_END) {
        s->chunk_ms[th] += t - ph_begun[th];
        if (arg >= 0 && arg < SF_TRAIN_CHUNKS) {
            s->one_ms[arg] = t - ph_begun[th];
            s->end_at[arg] = t;
        }
        s->chunks[th]++;
        int cpu = sched_getcpu();
        if (cpu == ph_cpu0[th] && cpu >= 0 && cpu < PH_CPUS) {
            double busy = thread_ms() - ph_begun_cpu[th];
#pragma omp atomic
            cpu_ms[cpu] += t - ph_begun[th];
#pragma omp atomic
            cpu_busy[cpu] += busy;
#pragma omp atomic
            cpu_n[cpu]++;
        }
    }
}

/* Forgets every step marked so far (the warm-up steps). */
void sf_train_phases_reset(void) {
    ph_n = 0;
    memset(cpu_ms, 0, sizeof cpu_ms);
    memset(cpu_busy, 0, sizeof cpu_busy);
    memset(cpu_n, 0, sizeof cpu_n);
}

/* Returns a < b for qsort. */
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints the median, 10th and 90th percentile and mean of v(n) (sorted in place). */
static void stat(const char *name, double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += v[i];
    printf("  %-40s median %7.3f  p10 %7.3f  p90 %7.3f  mean %7.3f\n", name, v[n / 2], v[n / 10], v[(n * 9) / 10],
           sum / n);
}

/* Returns the ms between marks a and b of thread th in step s (0 if either is missing). */
static double span(const ph_step *s, int th, int a, int b) {
    return s->at[th][a] > 0 && s->at[th][b] > 0 ? s->at[th][b] - s->at[th][a] : 0.0;
}

/* Prints the phases of the steps in sel(n). */
static void print_steps(const int *sel, int n) {
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return;
    static const struct { const char *name; int a, b; } ph_of[] = {
        {"early sums", SF_PH_SUMS, SF_PH_WAIT1},          {"wait at the first barrier", SF_PH_WAIT1, SF_PH_FINISH},
        {"rest of the sums, norm", SF_PH_FINISH, SF_PH_WAIT2}, {"wait at the second barrier", SF_PH_WAIT2, SF_PH_ADAMW},
        {"AdamW", SF_PH_ADAMW, SF_PH_DONE},
    };
    for (int late = 0; late < 2; late++) {
        int who[PH_STEPS];
        for (int i = 0; i < n; i++) { /* the thread whose chunk loop ended first (or last) */
            const ph_step *s = &ph[sel[i]];
            int best = -1;
            for (int th = 0; th < PH_THREADS; th++) {
                double t = s->at[th][SF_PH_SUMS];
                if (t > 0 && (best < 0 || (late ? t > s->at[best][SF_PH_SUMS] : t < s->at[best][SF_PH_SUMS]))) best = th;
            }
            who[i] = best < 0 ? 0 : best;
        }
        printf(" the thread whose chunk loop ended %s (ms a step):\n", late ? "last" : "first");
        for (int i = 0; i < n; i++) v[i] = ph[sel[i]].chunk_ms[who[i]];
        stat("its chunks", v, n);
        for (int i = 0; i < n; i++) v[i] = ph[sel[i]].chunks[who[i]];
        stat("how many chunks (count)", v, n);
        for (size_t k = 0; k < sizeof ph_of / sizeof ph_of[0]; k++) {
            for (int i = 0; i < n; i++) v[i] = span(&ph[sel[i]], who[i], ph_of[k].a, ph_of[k].b);
            stat(ph_of[k].name, v, n);
            if (k > 0) continue;
            for (int i = 0; i < n; i++) v[i] = ph[sel[i]].span_ms[who[i]];
            stat(" of which summing spans", v, n);
            for (int i = 0; i < n; i++) v[i] = ph[sel[i]].help_ms[who[i]];
            stat(" of which input gradients for others", v, n);
            for (int i = 0; i < n; i++) v[i] = ph[sel[i]].helps[who[i]];
            stat(" how many (count)", v, n);
        }
        if (!late) { /* the idle time: the wait at the barrier and what the early sums spent looking for work */
            for (int i = 0; i < n; i++) {
                const ph_step *s = &ph[sel[i]];
                double sums = span(s, who[i], SF_PH_SUMS, SF_PH_WAIT1), busy = s->span_ms[who[i]] + s->help_ms[who[i]];
                /* (a build whose early sums do not look for help counts them as busy throughout) */
                int marks = s->at[who[i]][SF_PH_HELP] > 0;
                double idle = span(s, who[i], SF_PH_WAIT1, SF_PH_FINISH) + (marks ? sums - busy : 0.0);
                v[i] = idle;
            }
            stat("idle before the sums' end (ms)", v, n);
            for (int i = 0; i < n; i++) v[i] = 100.0 * v[i] / (ph[sel[i]].at[0][SF_PH_STEP_END] - ph[sel[i]].at[0][SF_PH_STEP]);
            stat("idle before the sums' end, % of the step", v, n);
        }
    }
    for (int i = 0; i < n; i++) { /* the chunk that ended last against the step's other chunks (median) */
        const ph_step *s = &ph[sel[i]];
        double o[SF_TRAIN_CHUNKS];
        int last = 0, k = 0;
        for (int c = 1; c < SF_TRAIN_CHUNKS; c++)
            if (s->end_at[c] > s->end_at[last]) last = c;
        for (int c = 0; c < SF_TRAIN_CHUNKS; c++)
            if (c != last && s->one_ms[c] > 0) o[k++] = s->one_ms[c];
        qsort(o, (size_t)k, sizeof *o, cmp_d);
        v[i] = k ? s->one_ms[last] / o[k / 2] : 1.0;
    }
    stat("the last chunk / the others' median chunk", v, n);
    for (int i = 0; i < n; i++) v[i] = ph[sel[i]].at[0][SF_PH_STEP_END] - ph[sel[i]].at[0][SF_PH_STEP];
    stat("the step (ms)", v, n);
    free(v);
}

/* Prints the phases of the steps marked since the last reset: all of them, then the faster half. */
void sf_train_phases_print(void) {
    int n = ph_n < PH_STEPS ? ph_n : PH_STEPS;
    if (n < 1) return;
    int *sel = malloc((size_t)n * sizeof *sel);
    double *w = malloc((size_t)n * sizeof *w);
    if (!sel || !w) {
        free(sel);
        free(w);
        return;
    }
    printf("phases of the %d timed steps (wall clock per thread; the first barrier's wait is the idle time at the "
           "end of the chunk loop):\n", n);
    for (int i = 0; i < n; i++) sel[i] = i;
    print_steps(sel, n);
    for (int i = 0; i < n; i++) w[i] = ph[i].at[0][SF_PH_STEP_END] - ph[i].at[0][SF_PH_STEP];
    qsort(w, (size_t)n, sizeof *w, cmp_d);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ph[i].at[0][SF_PH_STEP_END] - ph[i].at[0][SF_PH_STEP] <= w[n / 2]) sel[k++] = i;
    printf("the same over the %d steps at or below the median step (%.3f ms; the least disturbed):\n", k, w[n / 2]);
    print_steps(sel, k);
    printf("a chunk by processor (those that began and ended on it), wall / the thread's processor time:");
    for (int c = 0; c < PH_CPUS; c++)
        if (cpu_n[c]) printf("  cpu %d: %.3f / %.3f ms (%d chunks)", c, cpu_ms[c] / cpu_n[c], cpu_busy[c] / cpu_n[c], cpu_n[c]);
    printf("\n");
    free(sel);
    free(w);
}
