/* snapshot.h - a training run's weights every K steps, with what they scored, in one file.
 *
 * `stepformer train --snapshots K` keeps the model as it was at step 0 (before any update), after every
 * K steps, and at the end, each with the step, the learning rate of the last update, the mean training
 * loss since the previous snapshot and the held-out loss and accuracies of exactly those weights. The
 * format is docs/snapshot-format.md: a header (the model's config and alphabet, so the file stands on its
 * own), then one record per snapshot, each with its own CRC-32, appended as training goes; weights in
 * float32, or float16 (half the size) when asked for.
 *
 * A reader (sf_snapshots) parses a whole file from (buffer, length), checks every field and every weight
 * before it hands anything out, and gives snapshot k's figures and weights: sf_snapshots_select(s, k)
 * makes s->model the model of step k, ready for the forward pass. */
#ifndef SF_SNAPSHOT_H
#define SF_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/model.h"
#include "tasks.h"

#define SF_SNAP_MAGIC "SFSNAPS" /* 7 letters and a NUL: 8 bytes */
#define SF_SNAP_VERSION 1
#define SF_SNAP_TASK_BYTES 16
#define SF_SNAP_PROBE 128 /* held-out examples each snapshot is scored on */

/* What one snapshot records besides its weights. */
typedef struct {
    int step;            /* optimizer steps done when the weights were taken (0: the initial weights) */
    float lr;            /* learning rate of the last update (0 at step 0) */
    float train_loss;    /* mean training loss per counted token over the steps since the previous
                          * snapshot, before their updates (NAN at step 0) */
    float heldout_loss;  /* mean loss per counted token on the task's SF_SNAP_PROBE held-out probe
                          * examples, with exactly these (stored) weights */
    float heldout_acc;   /* on the same examples, teacher forced: the share of counted positions whose
                          * most likely next token is the target */
    float heldout_exact; /* on the same examples, greedy decoding: the share reproduced exactly
                          * (as `stepformer eval` counts); NAN for tasks scored per token (words) */
} sf_snapshot_info;

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct {
    int fd;              /* the open file, or -1 */
    char *path;
    int precision;       /* 16 or 32 */
    size_t n_params;
    size_t header_bytes; /* where the records start */
    size_t record_bytes;
    uint32_t count;      /* records written */
    int last_step;
    unsigned char *rec;  /* (record_bytes) encoding buffer */
    unsigned char *head; /* (header_bytes) the header as written, for its count and CRC */
    float *keep;         /* (n_params) the exact weights while a rounded copy is measured */
    sf_seq seq;          /* record for measuring (built on the first sf_snapshot_take) */
} sf_snapshot_writer;

/* Creates path (refusing one that exists, so no earlier series is lost) and writes the header for
 * model m of task `task`, snapshots every `interval` steps (0: at steps listed by the caller) of a
 * `total_steps` run, weights stored with `precision` bits (16 or 32). Errors name the file. */
sf_err sf_snapshot_create(sf_snapshot_writer *w, const char *path, const sf_model *m, const char *task,
                          int interval, int total_steps, int precision);

/* Appends one snapshot: the figures in info and the weights params(n_params) (as they are stored: call
 * sf_snapshot_round first for 16-bit files and measure the rounded weights). Steps must increase. The
 * record is written and synced before the header's count says it exists, so a run killed at any moment
 * leaves a file whose counted snapshots are all complete. */
sf_err sf_snapshot_append(sf_snapshot_writer *w, const sf_snapshot_info *info, const float *params);

/* Takes a snapshot of m as it is after `step` steps: rounds its weights to the file's precision,
 * measures them on the task's probe set, appends them with lr and train_loss, and puts the exact
 * weights back (m is unchanged afterwards). */
sf_err sf_snapshot_take(sf_snapshot_writer *w, sf_model *m, const sf_task *t, int step, float lr, float train_loss);

/* Closes the file (everything appended is already on disk). */
void sf_snapshot_close(sf_snapshot_writer *w);

/* Rounds params(n) in place to what `precision` bits store (16: float16, round to nearest even; 32:
 * unchanged). Returns 0 if a weight is beyond float16's range (65504), leaving params unchanged. */
int sf_snapshot_round(float *params, size_t n, int precision);

/* Measures m on the task's probe set (SF_SNAP_PROBE held-out examples, the same for every snapshot):
 * fills info's held-out fields, using the record s as scratch. */
sf_err sf_snapshot_measure(const sf_model *m, sf_seq *s, const sf_task *t, sf_snapshot_info *info);

/* float16 <-> float32 (IEEE binary16; round to nearest even; out-of-range values become infinities). */
uint16_t sf_half_of_float(float f);
float sf_float_of_half(uint16_t h);

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *data;     /* the file (owned; NULL when parsed from a caller's buffer) */
    const unsigned char *buf;
    size_t len;
    sf_model model;          /* config, alphabet, tensor table; params = the selected snapshot's weights */
    char task[SF_SNAP_TASK_BYTES + 1];
    int precision, interval, total_steps, n_probe; /* interval 0: the steps were listed */
    int n;                   /* snapshots */
    sf_snapshot_info *info;  /* (n) */
    size_t header_bytes, record_bytes;
    size_t trailing;         /* bytes after the last complete record (an unfinished write), ignored */
    int selected;            /* which snapshot's weights model.params holds */
} sf_snapshots;

/* Parses a series from (buf, len), which must outlive s. Checks the header (its CRC, the config, the
 * alphabet, the parameter count the config implies), then every record (CRC, increasing steps, figures
 * in range, every weight finite) before it returns; allocates only what the file's size can justify.
 * On success s->model holds snapshot 0. Errors name the byte offset and what was expected. */
sf_err sf_snapshots_load_buffer(const unsigned char *buf, size_t len, sf_snapshots *s);

/* Reads path (at most SF_MAX_FILE_BYTES) and parses it; messages start with the path. */
sf_err sf_snapshots_load(const char *path, sf_snapshots *s);

void sf_snapshots_free(sf_snapshots *s);

/* Returns snapshot k's figures (0 <= k < s->n), or NULL. */
const sf_snapshot_info *sf_snapshots_info(const sf_snapshots *s, int k);

/* Copies snapshot k's weights into params (s->model.n_params floats). Returns 0 if k is out of range. */
int sf_snapshots_weights(const sf_snapshots *s, int k, float *params);

/* Makes s->model the model of snapshot k (its weights into s->model.params). Returns 0 if k is out of
 * range. */
int sf_snapshots_select(sf_snapshots *s, int k);

/* Returns the index of the last snapshot taken at or before `step` (0 if none). */
int sf_snapshots_at_step(const sf_snapshots *s, int step);

#endif
