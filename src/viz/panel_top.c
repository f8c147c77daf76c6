/* panel_top.c - the top bar: the model, where the cursor is, and the keys to go on (or a message). */
#include <stdio.h>

#include "panels.h"

void vz_panel_top(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill(c, r, c->th->bar);
    const sf_config *m = &v->m->cfg;
    int proj = c->lay.projector, fs = proj ? c->lay.f.label : c->lay.f.body, pad = c->lay.pad;
    char where[256], step[400], t[800];
    vz_cursor_text(v, c->lang, where, sizeof where);
    snprintf(step, sizeof step, vz_s(c, VZ_S_TOP_STEP), v->step + 1, v->sched->n, where);
    if (v->ablated) snprintf(t, sizeof t, "%.300s   %.400s", v->ablated, step); /* the run is altered: always said */
    else if (proj) snprintf(t, sizeof t, "%s", step); /* from afar: where we are, nothing else */
    else {
        char model[200];
        snprintf(model, sizeof model, vz_s(c, VZ_S_TOP_MODEL), vz_s(c, m->family == SF_FAMILY_ENCDEC ? VZ_S_FAMILY_ENCDEC : VZ_S_FAMILY_GPT),
                 m->d_model, m->n_heads, m->n_enc_layers, m->n_dec_layers);
        snprintf(t, sizeof t, "%.200s   %.400s", model, step);
    }
    const char *hint = v->status ? v->status : vz_s(c, proj ? VZ_S_HINT_SHORT : v->lesson ? VZ_S_HINT_PLAYER : VZ_S_HINT_GUI);
    /* where we are first (up to 3/5 of the bar, a message up to 3/5 too); the keys hint gets what is left */
    int want = vz_label_w(c, t, fs), left = want < r.w * 3 / 5 ? want : r.w * 3 / 5;
    if (v->status) left = r.w * 2 / 5 < want ? r.w * 2 / 5 : want;
    int hw = vz_print(c, hint, fs, v->status ? c->th->accent : c->th->dim, r.x + r.w - pad, r.y + r.h / 2, VZ_RIGHT | VZ_MIDDLE,
                      r.w - left - 5 * pad);
    vz_print(c, t, fs, c->th->fg, r.x + pad, r.y + r.h / 2, VZ_MIDDLE, r.w - hw - 5 * pad);
}
