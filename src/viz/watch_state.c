/* watch_state.c - the state a training run shares with the window watching it (see watch_state.h). */
#include "watch_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sf_err vz_watch_init(vz_watch *w, const sf_model *m, const sf_adamw_cfg *oc, long start, long total, int every, int sync) {
    memset(w, 0, sizeof *w);
    if (total < 1 || start < 0 || start > total || every < 1) return sf_fail("watch: bad run (steps %ld to %ld, every %d)", start, total, every);
    w->start = start;
    w->total = total;
    w->every = every;
    w->sync = sync;
    w->n_params = m->n_params;
    long ev = total / 50 > every ? (total / 50 + every - 1) / every * every : every;
    w->eval_every = (int)ev;
    w->cap_eval = (int)((total - start) / ev) + 3;
    w->loss = calloc((size_t)total, sizeof *w->loss);
    w->loss_avg = calloc((size_t)total, sizeof *w->loss_avg);
    w->lr = calloc((size_t)total, sizeof *w->lr);
    w->tok_s = calloc((size_t)total, sizeof *w->tok_s);
    w->eval_step = calloc((size_t)w->cap_eval, sizeof *w->eval_step);
    w->eval_loss = calloc((size_t)w->cap_eval, sizeof *w->eval_loss);
    w->eval_acc = calloc((size_t)w->cap_eval, sizeof *w->eval_acc);
    w->eval_exact = calloc((size_t)w->cap_eval, sizeof *w->eval_exact);
    w->weights = malloc(m->n_params * sizeof *w->weights);
    if (!w->loss || !w->loss_avg || !w->lr || !w->tok_s || !w->eval_step || !w->eval_loss || !w->eval_acc ||
        !w->eval_exact || !w->weights) {
        vz_watch_free(w);
        return sf_fail("watch: out of memory");
    }
    for (long s = 0; s < total; s++) w->lr[s] = sf_lr_at(oc, s);
    memcpy(w->weights, m->params, m->n_params * sizeof *w->weights);
    w->weights_step = start;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    return sf_ok();
}

void vz_watch_free(vz_watch *w) {
    if (w->weights || w->loss) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cond);
    }
    free(w->loss);
    free(w->loss_avg);
    free(w->lr);
    free(w->tok_s);
    free(w->eval_step);
    free(w->eval_loss);
    free(w->eval_acc);
    free(w->eval_exact);
    free(w->weights);
    if (w->have_scratch) sf_seq_free(&w->scratch);
    memset(w, 0, sizeof *w);
}

/* Measures m when `eval` (trainer thread, no lock: only this thread changes m) and, under the lock, appends the
 * figures and copies the weights of `step`. */
static void measure(vz_watch *w, const sf_model *m, const sf_task *t, long step, int eval) {
    sf_snapshot_info info;
    memset(&info, 0, sizeof info);
    info.heldout_loss = info.heldout_acc = info.heldout_exact = NAN;
    if (!w->have_scratch) w->have_scratch = sf_seq_build(&w->scratch, &m->cfg).ok;
    if (w->have_scratch && t && eval) {
        sf_err e = sf_snapshot_measure(m, &w->scratch, t, &info);
        (void)e; /* NAN figures if it could not be measured */
    }
    pthread_mutex_lock(&w->mu);
    if (eval && w->n_eval < w->cap_eval) {
        w->eval_step[w->n_eval] = (int)step;
        w->eval_loss[w->n_eval] = info.heldout_loss;
        w->eval_acc[w->n_eval] = info.heldout_acc;
        w->eval_exact[w->n_eval] = info.heldout_exact;
        w->n_eval++;
    }
    memcpy(w->weights, m->params, w->n_params * sizeof *w->weights);
    w->weights_step = step;
    w->version++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void vz_watch_begin(vz_watch *w, const sf_model *m, const sf_task *t) { measure(w, m, t, w->start, 1); }

int vz_watch_step(vz_watch *w, const sf_model *m, const sf_task *t, long step, const sf_step_stats *st,
                  double loss_avg, double tok_s) {
    long i = step - 1;
    pthread_mutex_lock(&w->mu);
    if (i >= 0 && i < w->total && step == w->start + w->n + 1) {
        w->loss[i] = (float)st->loss;
        w->loss_avg[i] = (float)loss_avg;
        w->tok_s[i] = tok_s;
        w->n++;
    }
    pthread_mutex_unlock(&w->mu);
    if (step % w->every == 0 || step == w->total) {
        measure(w, m, t, step, step % w->eval_every == 0 || step == w->total);
        if (w->sync) { /* headless: wait until the window has drawn this step */
            pthread_mutex_lock(&w->mu);
            w->frame_due = step;
            pthread_cond_broadcast(&w->cond);
            while (w->frame_due && !w->stop) pthread_cond_wait(&w->cond, &w->mu);
            pthread_mutex_unlock(&w->mu);
        }
    }
    pthread_mutex_lock(&w->mu);
    if (w->paused && !w->stop && w->weights_step != step) { /* paused: the window steps through these weights */
        memcpy(w->weights, m->params, w->n_params * sizeof *w->weights);
        w->weights_step = step;
        w->version++;
    }
    while (w->paused && !w->stop) pthread_cond_wait(&w->cond, &w->mu);
    int go = !w->stop;
    pthread_mutex_unlock(&w->mu);
    return go;
}

void vz_watch_end(vz_watch *w, int failed) {
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    w->failed = failed;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

int vz_watch_take(vz_watch *w, float *params, unsigned long *seen, long *step) {
    pthread_mutex_lock(&w->mu);
    int fresh = w->version != *seen;
    if (fresh) {
        memcpy(params, w->weights, w->n_params * sizeof *params);
        *seen = w->version;
    }
    if (step) *step = w->weights_step;
    pthread_mutex_unlock(&w->mu);
    return fresh;
}

vz_watch_counts vz_watch_read(vz_watch *w) {
    pthread_mutex_lock(&w->mu);
    vz_watch_counts c = {w->n, w->start + w->n, w->n_eval, w->paused, w->done, w->failed, w->frame_due};
    pthread_mutex_unlock(&w->mu);
    return c;
}

void vz_watch_pause(vz_watch *w, int on) {
    pthread_mutex_lock(&w->mu);
    w->paused = on != 0;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void vz_watch_stop(vz_watch *w) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void vz_watch_frame_done(vz_watch *w) {
    pthread_mutex_lock(&w->mu);
    w->frame_due = 0;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}
