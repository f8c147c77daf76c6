/* pool.c - worker threads claiming chunks of one job at a time (pthreads and C11 atomics).
 *
 * The job is published by one 64-bit counter, generation << 32 | next chunk. A thread claims a chunk by
 * advancing the counter with a compare-and-swap that also checks the generation, so a thread waking late
 * can never take a chunk of a newer job. The caller waits until as many chunks are done as there are;
 * it claims chunks itself meanwhile, so chunks a sleeping worker never took are simply run by others.
 * Idle workers poll briefly (consecutive projections of a step follow each other within microseconds),
 * then sleep on a condition variable. */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64
#define POLLS 4000 /* a worker's polls for the next job before it sleeps: roughly a tenth of a millisecond */

static struct {
    pthread_mutex_t lock;          /* guards sleeping and waking */
    pthread_cond_t wake;
    pthread_mutex_t busy;          /* held by the one caller using the pool */
    int n_workers;                 /* started (only the caller holding busy changes it) */
    pthread_t tid[MAX_THREADS];
    atomic_int want;               /* threads to use, the caller included; 0 = not decided yet */
    atomic_int quit;
    _Atomic uint64_t claim;        /* generation << 32 | the next chunk to claim */
    atomic_int done;               /* chunks of this generation finished */
    _Atomic(sf_chunk_fn) fn;       /* the job: written only while no chunk of the last one can be claimed */
    _Atomic(void *) arg;
    atomic_int n;
    int exit_hook;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .busy = PTHREAD_MUTEX_INITIALIZER};

/* Tells the processor this is a wait loop (it lets the other hyperthread run). */
static inline void relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

int sf_threads(void) {
    int n = atomic_load(&P.want);
    if (n) return n;
    const char *s = getenv("STEPFORMER_THREADS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        n = (!*end && v >= 1 && v <= MAX_THREADS) ? (int)v : 1;
    } else {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > 8 ? 8 : (int)c;
    }
    atomic_store(&P.want, n);
    return n;
}

void sf_set_threads(int n) { atomic_store(&P.want, n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n); }

/* Claims and runs chunks of generation gen until there are none left (or a newer job has started). */
static void run_claims(uint64_t gen) {
    for (;;) {
        uint64_t v = atomic_load_explicit(&P.claim, memory_order_acquire);
        if (v >> 32 != gen) return;
        int c = (int)(uint32_t)v, n = atomic_load_explicit(&P.n, memory_order_relaxed);
        if (c >= n) return;
        sf_chunk_fn fn = atomic_load_explicit(&P.fn, memory_order_relaxed);
        void *arg = atomic_load_explicit(&P.arg, memory_order_relaxed);
        /* succeeds only if nobody claimed or published since v: then fn, arg and n are this job's */
        if (!atomic_compare_exchange_weak_explicit(&P.claim, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        fn(arg, c);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
    }
}

/* A worker: waits for each new generation and helps with it, while its index is below the thread count. */
static void *worker(void *index) {
    int me = (int)(intptr_t)index;
    uint64_t seen = atomic_load(&P.claim) >> 32;
    while (!atomic_load(&P.quit)) {
        uint64_t v;
        int polls = 0;
        while ((v = atomic_load_explicit(&P.claim, memory_order_acquire)) >> 32 == seen) {
            if (atomic_load(&P.quit)) return NULL;
            if (++polls < POLLS) { relax(); continue; }
            pthread_mutex_lock(&P.lock);
            while (atomic_load(&P.claim) >> 32 == seen && !atomic_load(&P.quit)) pthread_cond_wait(&P.wake, &P.lock);
            pthread_mutex_unlock(&P.lock);
            polls = 0;
        }
        seen = v >> 32;
        if (me + 1 < atomic_load(&P.want)) run_claims(seen);
    }
    return NULL;
}

/* Stops and joins the workers (at exit, so nothing is left running or unfreed). */
static void stop_workers(void) {
    pthread_mutex_lock(&P.lock);
    atomic_store(&P.quit, 1);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.lock);
    for (int i = 0; i < P.n_workers; i++) pthread_join(P.tid[i], NULL);
    P.n_workers = 0;
}

/* After fork the child has no workers: it starts afresh (with fresh locks) if it ever needs them. */
static void after_fork_child(void) {
    pthread_mutex_init(&P.lock, NULL);
    pthread_cond_init(&P.wake, NULL);
    pthread_mutex_init(&P.busy, NULL);
    P.n_workers = 0;
}

void sf_parallel(sf_chunk_fn fn, void *arg, int n_chunks) {
    int t = sf_threads();
    if (n_chunks <= 0) return;
    if (t <= 1 || n_chunks == 1 || atomic_load(&P.quit) || pthread_mutex_trylock(&P.busy) != 0) {
        for (int c = 0; c < n_chunks; c++) fn(arg, c);
        return;
    }
    if (!P.exit_hook) { /* once: join at exit, reset in a forked child */
        P.exit_hook = 1;
        atexit(stop_workers);
        pthread_atfork(NULL, NULL, after_fork_child);
    }
    while (P.n_workers < t - 1 && P.n_workers < MAX_THREADS &&
           pthread_create(&P.tid[P.n_workers], NULL, worker, (void *)(intptr_t)P.n_workers) == 0)
        P.n_workers++;
    atomic_store_explicit(&P.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&P.arg, arg, memory_order_relaxed);
    atomic_store_explicit(&P.n, n_chunks, memory_order_relaxed);
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    uint64_t gen = ((atomic_load(&P.claim) >> 32) + 1) & 0xFFFFFFFFu;
    atomic_store_explicit(&P.claim, gen << 32, memory_order_release); /* publishes the fields above */
    pthread_mutex_lock(&P.lock);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.lock);
    run_claims(gen);
    /* every chunk is claimed; wait for the ones other threads are still running */
    for (int polls = 0; atomic_load_explicit(&P.done, memory_order_acquire) < n_chunks; polls++) {
        if (polls < POLLS) relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&P.busy);
}
