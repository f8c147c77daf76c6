/* pool.h - a few worker threads that share a job cut into chunks, for the decoder step's matrix-vector
 * products (ops.c). The calling thread works too; every thread claims the next chunk until none is left,
 * and the caller waits only for the chunks that were claimed. A worker that the system has not run yet
 * (a busy machine) claims nothing and is not waited for, so a loaded machine costs at worst the time of
 * one thread, never a wait for all of them. Which thread runs a chunk never changes a result: each chunk
 * writes its own outputs. */
#ifndef SF_POOL_H
#define SF_POOL_H

/* One chunk of a job: fn(arg, chunk) for chunk in [0, n_chunks). */
typedef void (*sf_chunk_fn)(void *arg, int chunk);

/* Runs fn(arg, c) for every c in [0, n_chunks) on the pool and the calling thread; returns when all are
 * done. With one thread (or when another thread is using the pool) it runs them itself, in order. */
void sf_parallel(sf_chunk_fn fn, void *arg, int n_chunks);

/* Returns how many threads sf_parallel uses: STEPFORMER_THREADS if set (1 to 64), else the online
 * processors (at most 8). */
int sf_threads(void);
/* Sets the number of threads (1 to 64) for later calls; the workers are started on first use. */
void sf_set_threads(int n);

#endif
