/* pairkit.c - loads a model and its optimizer state and compares their weights. */
#include "pairkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "train/trainer.h"

const char *pk_check_pair(const char *model_path, const char *task, long *step) {
    static char msg[1200];
    sf_model m;
    sf_err e = sf_checkpoint_load(model_path, &m);
    if (!e.ok) { snprintf(msg, sizeof msg, "the model does not load: %s", e.msg); return msg; }
    float *w = malloc(m.n_params * sizeof *w);
    sf_adamw_cfg oc = sf_adamw_defaults(10);
    sf_trainer tr;
    const char *bad = NULL;
    if (!w || !(e = sf_trainer_init(&tr, &m, &oc, 1)).ok) {
        snprintf(msg, sizeof msg, "out of memory");
        free(w);
        sf_model_free(&m);
        return msg;
    }
    memcpy(w, m.params, m.n_params * sizeof *w);
    char sp[1024];
    snprintf(sp, sizeof sp, "%s.opt", model_path);
    uint64_t seed;
    int batch;
    e = sf_trainer_load_state(&tr, sp, task, &seed, &batch);
    if (!e.ok) snprintf(msg, sizeof msg, "the optimizer state does not load: %s", e.msg), bad = msg;
    else if (memcmp(w, m.params, m.n_params * sizeof *w) != 0)
        snprintf(msg, sizeof msg, "%s and %s hold different weights", model_path, sp), bad = msg;
    else if (tr.step <= 0) snprintf(msg, sizeof msg, "the state is at step %ld", tr.step), bad = msg;
    if (step) *step = tr.step;
    free(w);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    return bad;
}
