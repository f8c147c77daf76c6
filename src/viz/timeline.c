/* timeline.c - playing a snapshot series back in the app: each snapshot's real weights loaded into the model
 * and the trace rebuilt from them (nothing is interpolated), driven by the timeline slider and , ; keys. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/io.h"

int vz_is_series(const char *path) {
    sf_file f;
    if (!sf_file_open(&f, path, SF_MAX_FILE_BYTES).ok) return 0;
    char magic[8] = {0};
    int ok = sf_file_read_at(&f, 0, magic, sizeof magic).ok;
    sf_file_close(&f);
    return ok && memcmp(magic, SF_SNAP_MAGIC, sizeof magic) == 0;
}

sf_err vz_model_clone(const sf_model *src, sf_model *dst) {
    memset(dst, 0, sizeof *dst);
    size_t len = 0;
    char *alpha = sf_tokenizer_alphabet(&src->tok, &len);
    if (!alpha) return sf_fail("copying the model: its tokenizer is not an alphabet");
    sf_tokenizer tok;
    sf_err e = sf_tokenizer_build(&tok, alpha, len);
    free(alpha);
    if (!e.ok) return e;
    if (!(e = sf_model_build(dst, &src->cfg)).ok) { sf_tokenizer_free(&tok); return e; }
    if (dst->n_params != src->n_params) {
        sf_model_free(dst);
        sf_tokenizer_free(&tok);
        return sf_fail("copying the model: %zu weights, expected %zu", dst->n_params, src->n_params);
    }
    dst->tok = tok;
    memcpy(dst->params, src->params, src->n_params * sizeof *src->params);
    return sf_ok();
}

/* Returns 1 if model m can take series s's weights: the same config and alphabet. */
static int same_model(const sf_model *m, const sf_snapshots *s) {
    if (m->n_params != s->model.n_params || memcmp(&m->cfg, &s->model.cfg, sizeof m->cfg) != 0) return 0;
    size_t la = 0, lb = 0;
    char *a = sf_tokenizer_alphabet(&m->tok, &la), *b = sf_tokenizer_alphabet(&s->model.tok, &lb);
    int same = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

void vz_app_drop_snapshots(vz_app *a) {
    if (a->snaps) {
        sf_snapshots_free(a->snaps);
        free(a->snaps);
    }
    free(a->snap_steps);
    a->snaps = NULL;
    a->snap_steps = NULL;
    a->snap_k = 0;
    a->tl_w = 0;
    a->v.tl_n = 0;
    a->v.tl_steps = NULL;
}

sf_err vz_app_attach_snapshots(vz_app *a, sf_snapshots *s, int k) {
    int *steps = malloc((size_t)s->n * sizeof *steps);
    if (!steps) { sf_snapshots_free(s); free(s); return sf_fail("out of memory"); }
    for (int i = 0; i < s->n; i++) steps[i] = sf_snapshots_info(s, i)->step;
    if (!same_model(&a->m, s)) { /* the series' own model on the current input */
        sf_model m;
        sf_err e = vz_model_clone(&s->model, &m);
        char input[sizeof a->input];
        memcpy(input, a->input, sizeof input);
        if (e.ok) e = vz_app_set_model(a, &m, input);
        if (!e.ok) { free(steps); sf_snapshots_free(s); free(s); return e; }
    }
    vz_app_drop_snapshots(a);
    a->snaps = s;
    a->snap_steps = steps;
    a->snap_k = -1;
    vz_app_snapshot(a, k < 0 ? s->n - 1 : k);
    return sf_ok();
}

sf_err vz_app_open_snapshots(vz_app *a, const char *path, int k) {
    sf_snapshots *s = calloc(1, sizeof *s);
    if (!s) return sf_fail("out of memory");
    sf_err e = sf_snapshots_load(path, s);
    if (!e.ok) { free(s); return e; }
    return vz_app_attach_snapshots(a, s, k);
}

int vz_app_snapshot(vz_app *a, int k) {
    if (!a->snaps) return 0;
    if (k < 0) k = 0;
    if (k >= a->snaps->n) k = a->snaps->n - 1;
    if (k == a->snap_k) return 0;
    if (!sf_snapshots_weights(a->snaps, k, a->m.params)) return 0;
    a->snap_k = k;
    a->v.tl_n = a->snaps->n; /* (the frame copies them too) */
    a->v.tl_k = k;
    a->v.tl_steps = a->snap_steps;
    char input[sizeof a->input]; /* the same input again: the trace of these weights, the cursor where it was */
    memcpy(input, a->input, sizeof input);
    sf_err e = vz_app_set_input(a, input);
    (void)e; /* the input ran on the other snapshots' weights of the same config: it runs on these too */
    return 1;
}

int vz_app_snapshot_at(const vz_app *a, int x, int x0, int w) {
    if (!a->snaps || a->snaps->n == 0 || w <= 0) return 0;
    int last = a->snap_steps[a->snaps->n - 1];
    double step = (double)(x - x0) / (double)w * (double)last;
    int best = 0;
    for (int k = 1; k < a->snaps->n; k++)
        if (abs(a->snap_steps[k] - (int)(step + 0.5)) < abs(a->snap_steps[best] - (int)(step + 0.5))) best = k;
    return best;
}
