/* watch_state.h - what a training run shares with the window that watches it (train --watch): the metrics
 * of every step, the held-out figures and a copy of the weights every few steps, and pause / stop.
 *
 * One writer, one reader. The trainer's thread calls vz_watch_step after each optimizer step; the window's
 * thread reads. Both take the mutex only to copy: the trainer copies its weights into `weights` (never while
 * the window copies them out), and appends to the metric arrays, which are allocated whole up front and never
 * written below their count, so the window reads entries [0, n) it saw under the lock without holding it. The
 * window therefore never waits for a step and the trainer never waits for a frame (except in headless sync
 * mode, where each frame step waits until its picture is written, so the frames are exact). No SDL here. */
#ifndef VZ_WATCH_STATE_H
#define VZ_WATCH_STATE_H

#include <pthread.h>

#include "model/model.h"
#include "train/optim.h"
#include "train/snapshot.h"
#include "train/tasks.h"
#include "train/trainer.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    long start, total;   /* the run's first step (a resumed run starts later) and its last */
    int every;           /* weights copied for the window every `every` steps (and at the end) */
    int eval_every;      /* held-out figures measured every eval_every steps (a multiple of every; and at the end) */
    int sync;            /* 1 (headless): the trainer waits at each measured step until vz_watch_frame_done */
    size_t n_params;
    /* per step s (index s - 1), written once */
    float *loss;         /* (total) the batch's mean loss before the update (sf_step_stats.loss) */
    float *loss_avg;     /* (total) the moving average `train` prints */
    float *lr;           /* (total) the schedule: filled for every step up front */
    double *tok_s;       /* (total) tokens per second since the run started, as `train` prints it */
    long n;              /* steps recorded: the last is step start + n */
    /* held-out figures of the weights at measured steps (sf_snapshot_measure on the task's probe set) */
    int *eval_step;
    float *eval_loss, *eval_acc, *eval_exact;
    int n_eval, cap_eval;
    float *weights;      /* (n_params) the weights of step weights_step */
    long weights_step;
    unsigned long version; /* incremented with every copy of the weights */
    int paused, stop, done, failed;
    long frame_due;      /* sync: the step waiting for its frame, or 0 */
    sf_seq scratch;      /* the trainer thread's record for measuring */
    int have_scratch;
} vz_watch;

/* Prepares the shared state for a run of model m from step start to total with the schedule oc, copying the
 * weights every `every` steps and measuring them every `every` steps too or, in a long run, at about 50 of
 * them (the probe set costs about as much as a step); sync as above. */
sf_err vz_watch_init(vz_watch *w, const sf_model *m, const sf_adamw_cfg *oc, long start, long total, int every, int sync);
void vz_watch_free(vz_watch *w);

/* Trainer thread, after step `step`: records its figures; at a measured step measures m on the task's probe
 * set and copies m's weights for the window; then waits while paused (and, in sync mode, for the frame).
 * Returns 0 if the run should stop (vz_watch_stop), 1 to go on. */
int vz_watch_step(vz_watch *w, const sf_model *m, const sf_task *t, long step, const sf_step_stats *st,
                  double loss_avg, double tok_s);

/* Trainer thread: records the weights as they are before the first step (measured too). */
void vz_watch_begin(vz_watch *w, const sf_model *m, const sf_task *t);

/* Trainer thread: the run has ended (failed: it stopped on an error). Wakes the window. */
void vz_watch_end(vz_watch *w, int failed);

/* Window thread: copies the latest weights into params if they changed since *seen (updating it); returns 1
 * if it copied. *step receives their step. */
int vz_watch_take(vz_watch *w, float *params, unsigned long *seen, long *step);

/* Window thread: a consistent view of the counts (steps recorded, evaluations, paused, done). */
typedef struct { long n, step; int n_eval, paused, done, failed; long frame_due; } vz_watch_counts;
vz_watch_counts vz_watch_read(vz_watch *w);

/* Window thread: pause (1) or resume (0) training; stop it (it saves and ends as on Ctrl-C). */
void vz_watch_pause(vz_watch *w, int on);
void vz_watch_stop(vz_watch *w);

/* Window thread (sync mode): the frame of step frame_due is written; the trainer goes on. */
void vz_watch_frame_done(vz_watch *w);

#endif
