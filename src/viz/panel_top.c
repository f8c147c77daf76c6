/* panel_top.c - the top bar: the model, where the cursor is, and the keys to go on (or a message). */
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Draws the timeline of a snapshot series in row r: "snapshot: step 150 of 2500" and a slider from step 0 to
 * the last snapshot's step with a tick per snapshot and the knob on the one shown; the track is a click region. */
static void timeline(vz_ctx *c, const vz_view *v, vz_rect r) {
    int fs = c->lay.f.label, pad = c->lay.pad, last = v->tl_steps[v->tl_n - 1];
    char t[160];
    snprintf(t, sizeof t, vz_s(c, VZ_S_TL_SNAPSHOT), v->tl_steps[v->tl_k], last);
    int tw = vz_print(c, t, fs, c->th->fg, r.x + pad, r.y + r.h / 2, VZ_MIDDLE, r.w / 3);
    const char *keys = vz_s(c, VZ_S_TL_KEYS);
    int kw = c->lay.projector || v->lesson ? 0 : vz_print(c, keys, c->lay.f.small, c->th->dim, r.x + r.w - pad, r.y + r.h / 2, VZ_RIGHT | VZ_MIDDLE, r.w / 4);
    int knob = vz_px(c, 7.0f), x0 = r.x + 3 * pad + tw + knob, x1 = r.x + r.w - 3 * pad - kw - knob;
    if (x1 - x0 < 20) return;
    int y = r.y + r.h / 2, th = vz_px(c, 2.0f);
    vz_fill(c, (vz_rect){x0, y - th / 2, x1 - x0, th}, c->th->edge);
    for (int k = 0; k < v->tl_n; k++) {
        int x = x0 + (int)((double)(x1 - x0) * (last > 0 ? (double)v->tl_steps[k] / last : 0.0) + 0.5);
        int hh = r.h / 4;
        vz_fill(c, (vz_rect){x - th / 2, y - hh, th, 2 * hh}, k <= v->tl_k ? c->th->accent : c->th->dim);
    }
    int xk = x0 + (int)((double)(x1 - x0) * (last > 0 ? (double)v->tl_steps[v->tl_k] / last : 0.0) + 0.5);
    vz_fill(c, (vz_rect){x0, y - th / 2, xk - x0, th}, c->th->accent);
    vz_fill(c, (vz_rect){xk - knob / 2, y - knob / 2 - th, knob, knob + 2 * th}, c->th->focus);
    vz_click_add(c, (vz_rect){x0 - knob, r.y, x1 - x0 + 2 * knob, r.h}, VZ_CLICK_TIMELINE, x0, x1 - x0, 0);
}

void vz_panel_top(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill(c, r, c->th->bar);
    if (v->tl_n > 0 && v->tl_steps && v->tl_k >= 0 && v->tl_k < v->tl_n) { /* the slider's row at the bottom */
        int th = vz_lh(c, c->lay.f.label) + c->lay.pad;
        timeline(c, v, (vz_rect){r.x, r.y + r.h - th, r.w, th});
        r.h -= th;
    }
    const sf_config *m = &v->m->cfg;
    int proj = c->lay.projector, fs = proj ? c->lay.f.label : c->lay.f.body, pad = c->lay.pad;
    char where[256], step[400], t[800];
    const char *hint = NULL;
    int hw = 0, room = 0, hmax = 0;
    /* where the cursor is in ever shorter words until it fits beside the keys hint or a message (1024x768 zoomed
     * in cut "step 424/745: decoder · token 3 · layer 0 mask…"): short words, then without the operation, then
     * without the word "step"; only what is still too wide then is cut */
    for (int level = 0; level <= 3; level++) {
        vz_cursor_text_at(v, c->lang, level < 3 ? level : 2, where, sizeof where);
        snprintf(step, sizeof step, vz_s(c, level < 3 ? VZ_S_TOP_STEP : VZ_S_TOP_STEP_SHORT), v->step + 1, v->sched->n, where);
        if (v->ablated) { /* the run is altered: always said, its heads named per block if the bar would cut them */
            snprintf(t, sizeof t, "%.300s   %.400s", v->ablated, step);
            if (vz_label_w(c, t, fs) > r.w - 8 * pad) {
                char heads[320];
                snprintf(t, sizeof t, "%.300s   %.400s", vz_heads_short(v->ablated, heads, sizeof heads), step);
            }
        }
        else if (proj) snprintf(t, sizeof t, "%s", step); /* from afar: where we are, nothing else */
        else {
            char model[200];
            snprintf(model, sizeof model, vz_s(c, VZ_S_TOP_MODEL), vz_s(c, m->family == SF_FAMILY_ENCDEC ? VZ_S_FAMILY_ENCDEC : VZ_S_FAMILY_GPT),
                     m->d_model, m->n_heads, m->n_enc_layers, m->n_dec_layers);
            snprintf(t, sizeof t, "%.200s   %.400s", model, step);
        }
        hint = v->status ? v->status : vz_s(c, proj ? VZ_S_HINT_SHORT : v->lesson ? VZ_S_HINT_PLAYER : VZ_S_HINT_GUI);
        if (!v->ablated && !proj && vz_label_w(c, t, fs) > r.w - vz_label_w(c, hint, fs) - 5 * pad && vz_label_w(c, t, fs) > r.w * 3 / 5)
            snprintf(t, sizeof t, "%s", step); /* narrow (1024x768): the model gives way to where the cursor is, which the
                bar would cut ("… step 305/690: dec tok…") */
        /* where we are first (up to 3/5 of the bar, a message up to 3/5 too); the keys hint gets what is left */
        int want = vz_label_w(c, t, fs), left = want < r.w * 3 / 5 ? want : r.w * 3 / 5;
        if (v->status) left = r.w * 2 / 5 < want ? r.w * 2 / 5 : want;
        if (!v->status && vz_label_w(c, hint, fs) > r.w - left - 5 * pad) hint = vz_s(c, VZ_S_HINT_SHORT); /* the keys
            give way to "? keys" (the help lists them) rather than end in "…" (1024x768 zoomed in) */
        hmax = r.w - left - 5 * pad;
        hw = vz_label_w(c, hint, fs);
        if (hw > hmax) hw = hmax; /* (what vz_print will draw of it) */
        if (v->ablated && !v->status && want > r.w - hw - 5 * pad && want <= r.w - 2 * pad) hw = 0; /* an altered run's line
            whole before the keys hint (1024x768 projector, lesson 12's four heads off) */
        room = hw ? r.w - hw - 5 * pad : r.w - 2 * pad;
        if (want <= room) break;
    }
    if (hw) hw = vz_print(c, hint, fs, v->status ? c->th->accent : c->th->dim, r.x + r.w - pad, r.y + r.h / 2, VZ_RIGHT | VZ_MIDDLE, hmax);
    vz_print(c, t, fs, c->th->fg, r.x + pad, r.y + r.h / 2, VZ_MIDDLE, hw ? r.w - hw - 5 * pad : r.w - 2 * pad);
}
