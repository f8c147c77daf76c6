/* cursor.h - where the learner is in a forward pass: (phase, token, layer, sub-layer, op).
 *
 * A schedule lists every step of a pass in the order a learner walks it. The encoder is stepped layer
 * by layer: Q, K and V for all positions (token -1), then each query row in turn, because every row
 * sees every key. The decoder is stepped token by token, each token through every layer, as the KV
 * cache computes it. The cursor is a plain value; moving it never touches the model. */
#ifndef SF_CURSOR_H
#define SF_CURSOR_H

#include "config.h"
#include "trace.h"

typedef struct {
    int phase;    /* sf_stack: SF_STACK_ENC or SF_STACK_DEC */
    int token;    /* position; -1 when the step covers every position at once */
    int layer;    /* -1 outside the layers (embedding, final norm, output head) */
    int sublayer; /* sf_sublayer */
    int op;       /* sf_op */
} sf_cursor;

typedef struct {
    sf_cursor *steps;
    int n;
} sf_schedule;

/* Builds the ordered steps for a model with n_src encoder and n_tgt decoder positions. */
sf_err sf_schedule_build(sf_schedule *s, const sf_config *c, int n_src, int n_tgt);
void sf_schedule_free(sf_schedule *s);

/* Returns the index of c in the schedule, or -1. */
int sf_schedule_index(const sf_schedule *s, sf_cursor c);

/* Moves c one step forward / back; returns 1 if it moved, 0 at either end (or if c is not found). */
int sf_cursor_next(const sf_schedule *s, sf_cursor *c);
int sf_cursor_prev(const sf_schedule *s, sf_cursor *c);

/* Returns 1 if two cursors are the same step. */
int sf_cursor_eq(sf_cursor a, sf_cursor b);

/* Writes a readable description ("dec token 3 L1 cross scores") into out; returns out. */
const char *sf_cursor_describe(sf_cursor c, char *out, int size);

#endif
