/* train_hook.h - how `train --watch` (cmd_watch.c) follows the very loop of `stepformer train` (cmd_train.c):
 * the run is the same (same files, same periodic saves, same progress lines); the hook only sees each step
 * and may pause it or ask it to stop, which saves and ends as a Ctrl-C does. */
#ifndef SF_TRAIN_HOOK_H
#define SF_TRAIN_HOOK_H

#ifdef HAVE_SF_TRAIN
#include "model/model.h"
#include "train/tasks.h"
#include "train/trainer.h"

typedef struct {
    void *user;
    /* once the model is built and before the first step: the model, task, schedule and steps start..total */
    void (*begin)(void *user, const sf_model *m, const sf_task *t, const sf_adamw_cfg *oc, long start, long total);
    /* after each step (tr->step steps done) with its figures and the moving-average loss and tokens/s that
     * the progress line prints; returns 0 to stop the run (it saves first) */
    int (*step)(void *user, const sf_trainer *tr, const sf_task *t, const sf_step_stats *st, double loss_avg, double tok_s);
} train_hook;

/* Runs `stepformer train` with argv (no watch options) and hook (NULL: none); returns its exit status. */
int train_run(int argc, char **argv, const train_hook *hook);

/* `train ... --watch`: the same run in its own thread, watched in a window or drawn to frames (cmd_watch.c). */
int cmd_train_watch(int argc, char **argv);
#endif

#endif
