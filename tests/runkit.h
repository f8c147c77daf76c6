/* runkit.h - running the stepformer binary from a test: in a child, under a deadline (a hang is killed
 * and reported, never waited for), with its output captured and its peak memory measured. */
#ifndef SF_RUNKIT_H
#define SF_RUNKIT_H

#include <stddef.h>

typedef struct {
    int status;       /* exit status, 128 + signal if killed by one, -1 if it could not start */
    int timed_out;    /* 1: still running at the deadline, so it was killed with SIGKILL */
    double seconds;   /* wall time until it ended */
    long max_rss_kb;  /* peak resident memory of the child (getrusage via wait4) */
    char out[16384];  /* the first bytes of stdout and stderr together */
} rk_result;

/* Runs SF_BINARY with argv (NULL-terminated, argv[0] is the first argument after the binary), extra
 * environment settings env ("NAME=value" or "NAME" to unset; NULL-terminated, may be NULL) and stdin
 * from /dev/null; kills it after timeout_s seconds. Returns r->status. */
int rk_run(rk_result *r, const char *const *argv, const char *const *env, double timeout_s);

/* Returns 1 if r->out contains needle. */
int rk_has(const rk_result *r, const char *needle);

#endif
