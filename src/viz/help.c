/* help.c - the `?` overlay, drawn from the key table (keys.h): every key of the mode, by section, each key
 * in a key box, in as few columns and as large a text as fit the window (a projector reads it from the
 * back of the room: the text starts at 1/24 of the height, never below the layout's smallest text), in the
 * context's theme and language. */
#include <stdio.h>
#include <string.h>

#include "help.h"
#include "panels.h"

#define MAX_LINES 96

typedef struct {
    int px, cols;         /* text size and number of columns */
    int ok;               /* 1: everything fits */
} help_fit;

/* Returns the width of key box text s at px (the box adds pad on both sides). */
static int box_w(vz_ctx *c, const char *s, int px, int pad) {
    int w, h;
    vz_text_measure(c->text, s, px, &w, &h);
    return w + 2 * pad;
}

/* Returns the width of the key column at px: the widest single key box, at least a quarter of the column. */
static int keys_w(vz_ctx *c, const vz_help_line *ls, int n, int cw, int px) {
    int kpx = px * 9 / 10, pad = px / 3 + 1, w = cw / 4;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < ls[i].n_caps; k++) {
            int b = box_w(c, ls[i].caps[k], kpx, pad);
            if (b > w) w = b;
        }
    return w < cw / 2 ? w : cw / 2;
}

/* Lays out (draw = 0) or draws (draw = 1) one help line at (x, y) in a column of width cw whose keys take kw
 * at text size px; returns its height. */
static int help_line(vz_ctx *c, const vz_help_line *l, int x, int y, int cw, int kw, int px, int draw) {
    int kpx = px * 9 / 10, pad = px / 3 + 1, bh = kpx + kpx / 3 + 2 * (px / 6), gap = px / 3 + 1;
    int dx = x + kw + px / 2, dw = cw - kw - px / 2;
    int cx = x, cy = y, rows = 1;
    for (int i = 0; i < l->n_caps; i++) { /* key boxes flow in the key column */
        int w = box_w(c, l->caps[i], kpx, pad);
        if (cx > x && cx + w > x + kw) { cx = x; cy += bh + gap; rows++; }
        if (draw) {
            vz_rect b = {cx, cy, w, bh};
            if (l->sec == VZ_SEC_MOUSE) vz_label(c, l->caps[i], kpx, c->th->focus, cx, cy + bh / 2, VZ_MIDDLE);
            else {
                vz_fill(c, b, c->th->box);
                vz_outline(c, b, c->th->edge, 1);
                vz_label(c, l->caps[i], kpx, c->th->accent, cx + w / 2, cy + bh / 2, VZ_CENTER | VZ_MIDDLE);
            }
        }
        cx += w + gap;
    }
    int keys_h = rows * bh + (rows - 1) * gap;
    const char *d = vz_tr(c->lang, l->desc);
    int desc_h = vz_wrap_height(c, d, px, dw);
    if (draw) vz_wrap(c, d, px, c->th->fg, (vz_rect){dx, y + (bh - vz_lh(c, px)) / 2, dw, 1 << 20});
    return (keys_h > desc_h ? keys_h : desc_h) + px * 2 / 5;
}

/* Returns the height of section heading t wrapped to width cw at px (and draws it at (x, y) if draw). */
static int heading(vz_ctx *c, const char *t, int x, int y, int cw, int px, int draw) {
    if (draw) vz_wrap(c, t, px, c->th->hilite, (vz_rect){x, y, cw, 1 << 20});
    return vz_wrap_height(c, t, px, cw) + px / 6;
}

/* Flows the lines into cols columns of width cw from y0 to y1 and draws them if draw; returns 1 if they fit. */
static int flow(vz_ctx *c, vz_mode mode, const vz_help_line *ls, int n, int x0, int y0, int y1, int cw, int cols, int px,
                int draw) {
    int col = 0, y = y0, colgap = px * 3 / 2, kw = keys_w(c, ls, n, cw, px);
    for (int i = 0; i < n; i++) {
        int head = i == 0 || ls[i].sec != ls[i - 1].sec;
        const char *t = vz_tr(c->lang, vz_section_title(mode, ls[i].sec));
        int hh = heading(c, t, 0, 0, cw, px, 0);
        int h = help_line(c, &ls[i], 0, 0, cw, kw, px, 0) + (head ? hh : 0);
        char more[160];
        if (y + h > y1 && y > y0) { /* next column */
            if (++col >= cols) return 0;
            y = y0;
            if (!head) { /* a heading again at the top of a column, saying the section goes on (the overlay read
                          * "Display" twice, as if two sections) */
                snprintf(more, sizeof more, vz_s(c, VZ_S_SEC_CONTINUED), t);
                t = more;
                hh = heading(c, t, 0, 0, cw, px, 0);
            }
            head = 1;
            h = help_line(c, &ls[i], 0, 0, cw, kw, px, 0) + hh;
        }
        if (y + h > y1) return 0;
        int x = x0 + col * (cw + colgap);
        if (head) y += heading(c, t, x, y, cw, px, draw);
        y += help_line(c, &ls[i], x, y, cw, kw, px, draw);
    }
    return 1;
}

/* Returns the largest text size (and fewest columns at it) at which the lines fit a w x h area. */
static help_fit fit(vz_ctx *c, vz_mode mode, const vz_help_line *ls, int n, int w, int h) {
    help_fit best = {0, 1, 0};
    int lo = h / 90 > 9 ? h / 90 : 9, hi;
    if (c->lay.min_text > lo) lo = c->lay.min_text; /* never below the mode's smallest text (layout.h) */
    hi = h / 24 > lo ? h / 24 : lo;
    for (int cols = 1; cols <= 4; cols++) {
        int a = lo, b = hi, got = 0;
        while (a <= b) { /* binary search on the text size */
            int px = (a + b) / 2, cw = (w - (cols - 1) * (px * 3 / 2)) / cols;
            if (cw > 0 && flow(c, mode, ls, n, 0, 0, h, cw, cols, px, 0)) { got = px; a = px + 1; }
            else b = px - 1;
        }
        if (got > best.px) best = (help_fit){got, cols, 1};
    }
    if (!best.ok) best = (help_fit){lo, 3, 0};
    return best;
}

/* Returns the overlay's frame in a W x H window and writes the title's text size into *tpx. */
static vz_rect frame_of(int W, int H, int *tpx) {
    int m = H / 28 > 8 ? H / 28 : 8;
    *tpx = H / 20 > 14 ? H / 20 : 14;
    return (vz_rect){m, m, W - 2 * m, H - 2 * m};
}

/* Returns the part of frame r below the title where the lines go. */
static vz_rect body_of(vz_rect r, int tpx) {
    int pad = tpx * 2 / 3;
    vz_rect b = {r.x + pad, r.y + pad + tpx + tpx / 2, r.w - 2 * pad, 0};
    b.h = r.y + r.h - pad - b.y;
    return b;
}

int vz_help_layout(vz_ctx *c, vz_mode mode, int w, int h, int *px, int *cols) {
    static vz_help_line ls[MAX_LINES];
    int n = vz_help_lines(mode, c->lang, ls, MAX_LINES), tpx;
    vz_rect r = frame_of(w, h, &tpx), body = body_of(r, tpx);
    help_fit f = fit(c, mode, ls, n, body.w, body.h);
    *px = f.px;
    *cols = f.cols;
    return f.ok;
}

void vz_help_draw(vz_ctx *c, vz_mode mode) {
    static vz_help_line ls[MAX_LINES];
    static struct { int w, h, mode, lang, min; help_fit f; } memo = {-1, -1, -1, -1, -1, {0, 0, 0}};
    int n = vz_help_lines(mode, c->lang, ls, MAX_LINES), W = c->lay.w, H = c->lay.h, tpx;
    vz_rect r = frame_of(W, H, &tpx), body = body_of(r, tpx);
    int pad = tpx * 2 / 3;
    vz_rgba panel = c->th->panel;
    panel.a = 248;
    vz_fill(c, (vz_rect){0, 0, W, H}, c->th->shade);
    vz_fill(c, r, panel);
    vz_outline(c, r, c->th->accent, vz_px(c, 2) > 2 ? vz_px(c, 2) : 2);
    vz_str title = mode == VZ_MODE_INDEX ? VZ_S_HELP_TITLE_INDEX : mode == VZ_MODE_PLAYER ? VZ_S_HELP_TITLE_PLAYER : VZ_S_HELP_TITLE_GUI;
    vz_label(c, vz_tr(c->lang, title), tpx, c->th->accent, r.x + pad, r.y + pad, VZ_LEFT);
    vz_label(c, vz_tr(c->lang, VZ_S_HELP_CLOSE), tpx * 2 / 3, c->th->dim, r.x + r.w - pad, r.y + pad + tpx / 2, VZ_RIGHT | VZ_MIDDLE);
    if (memo.w != body.w || memo.h != body.h || memo.mode != (int)mode || memo.lang != c->lang || memo.min != c->lay.min_text) {
        memo.f = fit(c, mode, ls, n, body.w, body.h); /* (a few dozen measurements: once per size, not per frame) */
        memo.w = body.w, memo.h = body.h, memo.mode = (int)mode, memo.lang = c->lang, memo.min = c->lay.min_text;
    }
    help_fit f = memo.f;
    int cw = (body.w - (f.cols - 1) * (f.px * 3 / 2)) / f.cols;
    vz_clip(c, body);
    flow(c, mode, ls, n, body.x, body.y, body.y + body.h, cw, f.cols, f.px, 1);
    vz_clip_off(c);
}

void vz_help(vz_ctx *c, const vz_view *v) { vz_help_draw(c, v->lesson ? VZ_MODE_PLAYER : VZ_MODE_GUI); }
