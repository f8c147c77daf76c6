/* watch.h - the watch view of `train --watch`: the run's curves on the left (training and held-out loss on a
 * log scale, the learning-rate schedule under it, held-out accuracy), tokens/s and the state (training,
 * paused, done), and on the right the app on a fixed probe input with the weights of the last measured step:
 * its attention panel (the decoder's last cross-attention for encoder-decoder models) while training runs,
 * every panel while paused, to step through the probe's forward pass. Every figure is one the run recorded
 * (watch_state.h); every heatmap is the trace of those weights. */
#ifndef VZ_WATCH_H
#define VZ_WATCH_H

#include "app.h"
#include "watch_state.h"

/* What the view says about the run besides its figures. */
typedef struct {
    const char *task;   /* the task's name */
    const char *out;    /* the model file the run saves */
    long weights_step;  /* the step whose weights the app's model holds */
} vz_watch_info;

/* Focuses the app on the attention the view shows while training: the last decoder cross-attention block
 * (else the last attention block), the cursor at the end of the run. */
void vz_watch_focus(vz_app *a);

/* Draws one frame of the watch view (W x H) of run w with app a. */
void vz_watch_draw(vz_app *a, vz_watch *w, const vz_watch_info *info, int W, int H);

/* Returns the width of the curves' column in a W-wide window (the app is drawn right of it; wider in
 * projector mode, for its larger text). */
int vz_watch_split(int W, int projector);

#endif
