/* expect.h - the PyTorch fixture files (NAME.expect, from tests/make_fixtures.py and
 * tests/make_grad_fixtures.py) that test_torch and test_grad compare against.
 *
 * The text is whitespace-separated words; a line starting with '#' is a comment. It holds, in any order:
 *     src N id...                  encoder input ids (encoder-decoder fixtures only)
 *     in N id...                   decoder input ids (gradient fixtures)
 *     tgt N id...                  target ids (always)
 *     loss V                       the loss PyTorch computed (gradient fixtures)
 *     tensor NAME RANK D0 [D1]     followed by D0 (x D1) values, row-major (at least one) */
#ifndef SF_TEST_EXPECT_H
#define SF_TEST_EXPECT_H

#include "model/trace.h"

#define EXPECT_MAX_IDS 4096 /* the longest id list a file may hold */

typedef struct {
    char name[64];
    int rank;    /* 1 or 2 */
    int dims[2]; /* dims[1] is 1 for rank 1 */
    double *v;   /* dims[0] * dims[1] values, row-major */
} expect_tensor;

typedef struct {
    int *src, *in, *tgt;    /* the id lists; NULL with a count of 0 when the file has no such line */
    int n_src, n_in, n_tgt;
    int has_loss;           /* 1 if the file has a loss line, which is then in loss */
    double loss;
    expect_tensor *t;       /* the tensors in file order */
    int n_t;
} expect;

/* Returns the parsed file at path, or NULL after printing why if it cannot be read, is malformed, or has
 * no tgt line or no tensor. Free the result with expect_free. */
expect *expect_load(const char *path);
/* Frees x and everything it holds; x may be NULL. */
void expect_free(expect *x);

/* Compares every tensor of x with the trace entry of the same name: it must exist, have the same shape
 * and agree to an absolute tol. Returns the number of failing tensors (printing the first few values
 * when verbose) and the largest |diff| in *max_diff. */
int expect_compare_trace(const sf_trace *tr, const expect *x, double tol, const char *what, int verbose,
                         double *max_diff);

#endif
