/* watch.c - the watch view of `train --watch` (see watch.h). */
#include "watch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "panels.h"

int vz_watch_split(int W, int projector) { return W * (projector ? 44 : 36) / 100; }

void vz_watch_focus(vz_app *a) {
    int best = -1;
    for (int b = 0; b < a->v.n_blocks; b++)
        if (a->v.blocks[b].sub == SF_SUB_CROSS || best < 0 || a->v.blocks[best].sub != SF_SUB_CROSS) best = b;
    if (best >= 0) a->v.block = best;
    vz_app_goto(a, a->sched.n - 1);
    if (best >= 0) a->v.block = best; /* (goto focuses the block the cursor passed last) */
}

/* A chart: steps 0..x_max across r, values y_lo..y_hi up (log10 when lg). */
typedef struct { vz_rect r; double x_max, y_lo, y_hi; int lg; } chart;

/* Returns the pixel column of step s. */
static int cx(const chart *c, double s) { return c->r.x + (int)((double)c->r.w * (c->x_max > 0 ? s / c->x_max : 0) + 0.5); }

/* Returns the pixel row of value v (clamped to the chart). */
static int cy(const chart *c, double v) {
    double lo = c->lg ? log10(c->y_lo) : c->y_lo, hi = c->lg ? log10(c->y_hi) : c->y_hi;
    double t = c->lg ? (v > 0 ? log10(v) : lo) : v;
    double f = hi > lo ? (t - lo) / (hi - lo) : 0.5;
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return c->r.y + c->r.h - (int)((double)c->r.h * f + 0.5);
}

/* Draws a curve of ys at steps xs (n points) as a line of width th. */
static void curve(vz_ctx *vc, const chart *c, const float *ys, const int *xs, long first_step, long n, vz_rgba col, int th) {
    int px = 0, py = 0, have = 0;
    long stride = n > 2 * c->r.w ? n / (2 * c->r.w) : 1; /* about two points per pixel column */
    for (long i = 0; i < n; i += stride) {
        long j = i + stride >= n ? n - 1 : i;
        if (!isfinite(ys[j])) { have = 0; continue; }
        int x = cx(c, xs ? (double)xs[j] : (double)(first_step + j + 1)), y = cy(c, ys[j]);
        if (have)
            for (int k = 0; k < th; k++) vz_line(vc, px, py + k - th / 2, x, y + k - th / 2, col);
        px = x; py = y; have = 1;
        if (j == n - 1) break;
    }
    if (xs && n == 1 && isfinite(ys[0])) vz_fill(vc, (vz_rect){px - th, py - th, 2 * th + 1, 2 * th + 1}, col);
}

/* Draws the chart's frame, a title above it (from x0) and its y range at the left edge. */
static void frame(vz_ctx *vc, const chart *c, const char *title, int fs, int fsm, const char *lo, const char *hi, int x0) {
    vz_print(vc, title, fs, vc->th->fg, x0, c->r.y - vz_lh(vc, fs) / 8, VZ_BOTTOM, c->r.x + c->r.w - x0);
    vz_fill(vc, c->r, vc->th->plot);
    vz_outline(vc, c->r, vc->th->edge, 1);
    vz_print(vc, hi, fsm, vc->th->dim, c->r.x - 4, c->r.y, VZ_RIGHT | VZ_TOP, 0);
    vz_print(vc, lo, fsm, vc->th->dim, c->r.x - 4, c->r.y + c->r.h, VZ_RIGHT | VZ_BOTTOM, 0);
}

/* Draws a legend line at (x, y): a swatch of colour ca and text a, then one of cb and text b. */
static void legend(vz_ctx *vc, int x, int y, int fs, int th, vz_rgba ca, const char *a, vz_rgba cb, const char *b) {
    int lh = vz_lh(vc, fs), gap = fs / 2;
    for (int i = 0; i < 2; i++) {
        vz_fill(vc, (vz_rect){x, y + lh / 2 - th, lh, 2 * th}, i ? cb : ca);
        x += lh + gap / 2;
        x += vz_print(vc, i ? b : a, fs, vc->th->dim, x, y, VZ_TOP, 0) + 2 * gap;
    }
}

/* Writes x compactly ("0.123", "1.2e-03") or "-" when it is not a number. */
static void num(char *out, size_t n, double x, int pct) {
    if (!isfinite(x)) snprintf(out, n, "-");
    else if (pct) snprintf(out, n, "%.1f%%", 100.0 * x);
    else if (x != 0 && fabs(x) < 0.01) snprintf(out, n, "%.1e", x);
    else snprintf(out, n, "%.4f", x);
}

void vz_watch_draw(vz_app *a, vz_watch *w, const vz_watch_info *info, int W, int H) {
    vz_watch_counts k = vz_watch_read(w);
    int proj = a->projector, lw = vz_watch_split(W, proj);
    /* the app, right of the curves: the attention panel alone while training (projector mode would put a
     * narration beside it), every panel while paused */
    int stepping = k.paused || k.done;
    a->only = stepping ? -1 : VZ_P_ATTN;
    a->projector = stepping ? proj : 0;
    SDL_Rect vp = {lw, 0, W - lw, H};
    SDL_RenderSetViewport(a->r, &vp);
    vz_app_frame(a, W - lw, H);
    SDL_RenderSetViewport(a->r, NULL);
    a->projector = proj;
    vz_ctx *vc = &a->ctx;
    int lang = a->lang;
    vc->owner = VZ_OWNER_OVERLAY;
    vz_ink(vc, vz_ink_none);
    vz_fill(vc, (vz_rect){0, 0, lw, H}, vc->th->panel);
    int fb = (proj ? H / 30 : H / 40) < lw / 17 ? (proj ? H / 30 : H / 40) : lw / 17; /* the title fits the column */
    if (fb < 14) fb = 14;
    int fl = fb * 8 / 10, fs = fb * 7 / 10 > 11 ? fb * 7 / 10 : 11;
    int pad = fb / 2, y = pad, lhb = vz_lh(vc, fb), lhl = vz_lh(vc, fl);
    char t[512], t2[512];
    snprintf(t, sizeof t, vz_tr(lang, VZ_S_W_TITLE), info->task, k.step, w->total);
    vz_print(vc, t, fb, vc->th->fg, pad, y, VZ_TOP, lw - 2 * pad);
    y += lhb;
    /* the latest figures: the printed moving-average loss, the last held-out measurement, tokens/s */
    char l1[32] = "-", l2[32] = "-", l3[32] = "-", l4[32] = "-";
    if (k.n > 0) { num(l1, sizeof l1, w->loss_avg[w->start + k.n - 1], 0); snprintf(l4, sizeof l4, "%.0f", w->tok_s[w->start + k.n - 1]); }
    if (k.n_eval > 0) { num(l2, sizeof l2, w->eval_loss[k.n_eval - 1], 0); num(l3, sizeof l3, w->eval_acc[k.n_eval - 1], 1); }
    snprintf(t, sizeof t, vz_tr(lang, VZ_S_W_FIGURES), l1, l2, l3, l4);
    vz_wrap(vc, t, fl, vc->th->fg, (vz_rect){pad, y, lw - 2 * pad, 2 * lhl}); /* two lines in a narrow column */
    y += vz_label_w(vc, t, fl) > lw - 2 * pad ? 2 * lhl : lhl;
    if (k.done) snprintf(t, sizeof t, vz_tr(lang, k.failed ? VZ_S_W_FAILED : VZ_S_W_DONE), info->out);
    else snprintf(t, sizeof t, vz_tr(lang, k.paused ? VZ_S_W_PAUSED : VZ_S_W_RUNNING), info->weights_step);
    vz_wrap(vc, t, fs, k.paused ? vc->th->accent : vc->th->dim, (vz_rect){pad, y, lw - 2 * pad, 2 * vz_lh(vc, fs)});
    y += 2 * vz_lh(vc, fs) + pad;
    int left = pad + vz_label_w(vc, "0.0001", fs) + pad, cw = lw - left - 2 * pad, lhs = vz_lh(vc, fs);
    int avail = H - y - 3 * (lhl + lhs) - 3 * pad - 2 * lhs;
    int h_loss = avail * 50 / 100, h_lr = avail * 17 / 100, h_acc = avail - h_loss - h_lr;
    /* loss, log scale: the range of every loss seen */
    double lo = INFINITY, hi = 0;
    for (long i = 0; i < k.n; i++) {
        double v = w->loss[w->start + i];
        if (isfinite(v) && v > 0) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
    for (int i = 0; i < k.n_eval; i++) {
        double v = w->eval_loss[i];
        if (isfinite(v) && v > 0) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
    if (!(hi > 0)) { lo = 0.1; hi = 10; }
    if (hi / lo < 10) { double m = sqrt(hi * lo); lo = m / sqrt(10.0); hi = m * sqrt(10.0); }
    y += lhl;
    chart c = {{left, y, cw, h_loss}, (double)w->total, lo, hi, 1};
    char slo[32], shi[32];
    num(slo, sizeof slo, lo, 0);
    num(shi, sizeof shi, hi, 0);
    frame(vc, &c, vz_tr(lang, VZ_S_W_LOSS), fl, fs, slo, shi, pad);
    for (double d = pow(10, ceil(log10(lo))); d < hi; d *= 10) /* the decades */
        vz_line(vc, c.r.x, cy(&c, d), c.r.x + c.r.w, cy(&c, d), vc->th->edge);
    int th = vz_px(vc, 2.0f);
    curve(vc, &c, w->loss + w->start, NULL, w->start, k.n, vc->th->dim, 1);
    curve(vc, &c, w->loss_avg + w->start, NULL, w->start, k.n, vc->th->accent, th);
    curve(vc, &c, w->eval_loss, w->eval_step, 0, k.n_eval, vc->th->focus, th);
    y += h_loss + pad / 2;
    legend(vc, left, y, fs, th, vc->th->accent, vz_tr(lang, VZ_S_W_TRAIN), vc->th->focus, vz_tr(lang, VZ_S_W_HELDOUT));
    y += lhs + pad + lhl;
    /* the learning-rate schedule: all of it, the steps done brighter */
    double lr_max = 0;
    for (long i = 0; i < w->total; i++) if (w->lr[i] > lr_max) lr_max = w->lr[i];
    chart cl = {{left, y, cw, h_lr}, (double)w->total, 0, lr_max > 0 ? lr_max : 1, 0};
    char speak[32];
    num(speak, sizeof speak, lr_max, 0);
    snprintf(t2, sizeof t2, vz_tr(lang, VZ_S_W_LR), speak);
    frame(vc, &cl, t2, fl, fs, "0", speak, pad);
    curve(vc, &cl, w->lr, NULL, 0, w->total, vc->th->dim, 1);
    curve(vc, &cl, w->lr, NULL, 0, w->start + k.n, vc->th->accent, th);
    y += h_lr + pad + lhl;
    /* held-out accuracy: next token (teacher forced) and whole answers (greedy) */
    chart ca = {{left, y, cw, h_acc}, (double)w->total, 0, 1, 0};
    frame(vc, &ca, vz_tr(lang, VZ_S_W_ACC), fl, fs, "0%", "100%", pad);
    curve(vc, &ca, w->eval_acc, w->eval_step, 0, k.n_eval, vc->th->focus, th);
    curve(vc, &ca, w->eval_exact, w->eval_step, 0, k.n_eval, vc->th->good, th);
    y += h_acc;
    snprintf(t2, sizeof t2, "%ld", w->total); /* the steps axis, under the last chart */
    vz_print(vc, "0", fs, vc->th->dim, left, y, VZ_TOP, 0);
    vz_print(vc, t2, fs, vc->th->dim, left + cw, y, VZ_RIGHT | VZ_TOP, 0);
    vz_print(vc, vz_tr(lang, VZ_S_W_STEPS), fs, vc->th->dim, left + cw / 2, y, VZ_CENTER | VZ_TOP, 0);
    y += lhs + pad / 2;
    legend(vc, left, y, fs, th, vc->th->focus, vz_tr(lang, VZ_S_W_TOKEN_ACC), vc->th->good, vz_tr(lang, VZ_S_W_EXACT));
    /* where the shown weights are on every chart */
    chart *cs[3] = {&c, &cl, &ca};
    for (int i = 0; i < 3; i++) {
        int x = cx(cs[i], (double)info->weights_step);
        vz_line(vc, x, cs[i]->r.y, x, cs[i]->r.y + cs[i]->r.h, vc->th->edge);
    }
}
