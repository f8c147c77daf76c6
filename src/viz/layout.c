/* layout.c - text sizes from the window and mode, then the densest arrangement whose panels all get their
 * minimum size. Everything is arithmetic on the inputs: the same inputs give the same layout. */
#include "layout.h"

#include <math.h>
#include <string.h>

/* Returns x rounded to the nearest integer. */
static int rnd(float x) { return (int)lrintf(x); }

/* Returns the larger of two ints. */
static int imax(int a, int b) { return a > b ? a : b; }

vz_fonts vz_layout_fonts(const vz_layout_in *in, int *min_text, int *min_narr) {
    float h = (float)in->h, z = in->zoom > 0 ? in->zoom : 1.0f;
    vz_fonts f;
    int mt, mn;
    if (in->projector) { /* from the back of a room: narration >= h/28, every label >= h/48 */
        mt = (int)ceilf(h / 48.0f);
        mn = (int)ceilf(h / 28.0f);
        f.body = imax(mn, rnd(h / 26.0f * z));
        f.label = imax(mt, rnd(h / 42.0f * z));
        f.small = imax(mt, rnd(h / 46.0f * z));
        f.title = imax(f.label, rnd(h / 36.0f * z));
    } else { /* at a desk: sizes follow the height, 11 px at the least */
        mt = imax(11, rnd(h / 90.0f));
        f.body = imax(mt + 2, rnd(h / 60.0f * z));
        f.label = imax(mt, rnd(h / 76.0f * z));
        f.small = imax(mt, rnd(h / 88.0f * z));
        f.title = imax(f.body, rnd(h / 56.0f * z));
        mn = f.body;
    }
    if (f.label > f.body) f.label = f.body;
    if (f.small > f.label) f.small = f.label;
    f.narr = f.body;
    if (min_text) *min_text = mt;
    if (min_narr) *min_narr = mn;
    return f;
}

int vz_line_h(const vz_layout *l, int px) { return (int)ceilf((float)px * l->line); }

int vz_layout_shown(const vz_layout *l, int p) { return p >= 0 && p < VZ_P_COUNT && l->r[p].w > 0 && l->r[p].h > 0; }

int vz_panel_spotlightable(int p) { return p > VZ_P_TOP && p < VZ_P_COUNT && p != VZ_P_NARR; }

int vz_layout_auto_spot(int focus) { return vz_panel_spotlightable(focus) ? focus : VZ_P_ATTN; }

/* Returns a rectangle, with negative sizes clamped to 0. */
static vz_rect rect(int x, int y, int w, int h) { return (vz_rect){x, y, w < 0 ? 0 : w, h < 0 ? 0 : h}; }

/* Each panel's smallest useful size, in label characters (width) and label lines (height). */
static const float min_cols[VZ_P_COUNT] = {0, 0, 13, 11, 22, 18, 20, 18, 18, 20, 0};
static const float min_rows[VZ_P_COUNT] = {0, 0, 10, 5, 11, 6, 7, 6, 9, 6, 0};

/* Returns 1 if rectangle r is big enough for panel p at label size lab (line height lh): its minimum in label
 * characters and lines, and two more lines for the panel's title. */
static int fits(int p, vz_rect r, int lab, int lh) {
    return r.w >= (int)(min_cols[p] * (float)lab * 0.62f) + 2 * lab && r.h >= (int)((min_rows[p] + 2.0f) * (float)lh);
}

int vz_layout_fits(const vz_layout *l) {
    int lh = vz_line_h(l, l->f.label);
    for (int p = VZ_P_ARCH; p <= VZ_P_LENS; p++)
        if (vz_layout_shown(l, p) && !fits(p, l->r[p], l->f.label, lh)) return 0;
    if (l->spot >= 0 && !vz_layout_shown(l, l->spot)) return 0;
    if (l->spot == VZ_P_TOKENS && l->arr != VZ_ARR_GRID) { /* the tokens as the spotlight: rows at the body size */
        int need = l->token_rows * (vz_line_h(l, l->f.body) + l->pad + vz_line_h(l, l->f.small)) + 2 * l->pad;
        if (l->r[VZ_P_TOKENS].h < need) return 0;
    }
    return !vz_layout_shown(l, VZ_P_NARR) || l->r[VZ_P_NARR].h >= 2 * vz_line_h(l, l->f.body);
}

/* The order in which panels join a spotlight in the two-column arrangement. */
static const int side_order[] = {VZ_P_ATTN, VZ_P_SCORES, VZ_P_OUTPUT, VZ_P_ACT, VZ_P_ARCH, VZ_P_PE, VZ_P_THUMBS};

/* The three-column grid of every panel inside main; returns 1 if every panel fits. */
static int grid(vz_layout *l, vz_rect m, int lh) {
    int g = l->gap, lab = l->f.label;
    int c1 = rnd((float)(m.w - 2 * g) * 0.20f), c2 = rnd((float)(m.w - 2 * g) * 0.46f), c3 = m.w - 2 * g - c1 - c2;
    int x1 = m.x, x2 = x1 + c1 + g, x3 = x2 + c2 + g;
    int ha = rnd((float)(m.h - g) * 0.60f);
    l->r[VZ_P_ARCH] = rect(x1, m.y, c1, ha);
    l->r[VZ_P_OUTPUT] = rect(x1, m.y + ha + g, c1, m.h - ha - g);
    int hb = rnd((float)(m.h - g) * 0.68f);
    l->r[VZ_P_ATTN] = rect(x2, m.y, c2, hb);
    l->r[VZ_P_THUMBS] = rect(x2, m.y + hb + g, c2, m.h - hb - g);
    int hs = rnd((float)(m.h - 2 * g) * 0.36f), hp = rnd((float)(m.h - 2 * g) * 0.26f);
    l->r[VZ_P_SCORES] = rect(x3, m.y, c3, hs);
    l->r[VZ_P_PE] = rect(x3, m.y + hs + g, c3, hp);
    l->r[VZ_P_ACT] = rect(x3, m.y + hs + hp + 2 * g, c3, m.h - hs - hp - 2 * g);
    for (int p = VZ_P_ARCH; p <= VZ_P_ACT; p++)
        if (!fits(p, l->r[p], lab, lh)) return 0;
    return 1;
}

/* The spotlight on the left, up to two side panels stacked on the right; returns 1 if all fit. */
static int two(vz_layout *l, vz_rect m, int lh) {
    int g = l->gap, lab = l->f.label;
    int sw = rnd((float)(m.w - g) * 0.62f);
    l->r[l->spot] = rect(m.x, m.y, sw, m.h);
    int side[2], n = 0;
    for (size_t i = 0; i < sizeof side_order / sizeof *side_order && n < 2; i++)
        if (side_order[i] != l->spot) side[n++] = side_order[i];
    int h0 = (m.h - g) / 2;
    l->r[side[0]] = rect(m.x + sw + g, m.y, m.w - sw - g, h0);
    l->r[side[1]] = rect(m.x + sw + g, m.y + h0 + g, m.w - sw - g, m.h - h0 - g);
    return fits(l->spot, l->r[l->spot], lab, lh) && fits(side[0], l->r[side[0]], lab, lh) &&
           fits(side[1], l->r[side[1]], lab, lh);
}

/* Puts the tab strip listing the panels not shown at the bottom of *m, shrinking it. Every arrangement but
 * the grid leaves panels out, so every one but the grid has the strip. */
static void strip(vz_layout *l, vz_rect *m, int lh) {
    int sh = lh + l->pad;
    l->strip = rect(m->x, m->y + m->h - sh, m->w, sh);
    m->h -= sh + l->gap;
}

/* Clears every panel rectangle but the strips (top, tokens, narration). */
static void clear_main(vz_layout *l) {
    for (int p = VZ_P_ARCH; p <= VZ_P_LENS; p++) l->r[p] = (vz_rect){0, 0, 0, 0};
    l->strip = (vz_rect){0, 0, 0, 0};
}

static void compute(vz_layout *l, const vz_layout_in *in);

/* Snaps a rectangle's left and right edges inward to multiples of 4 pixels: SDL's software renderer fills a
 * row 15 times faster when it starts on a 16-byte boundary, and panels fill most of the window every frame. */
static vz_rect snap4(vz_rect r) {
    if (r.w <= 0) return r;
    int x0 = (r.x + 3) & ~3, x1 = (r.x + r.w) & ~3;
    return (vz_rect){x0, r.y, x1 > x0 ? x1 - x0 : 0, r.h};
}

void vz_layout_compute_in(vz_layout *l, const vz_layout_in *in) {
    compute(l, in);
    for (int p = 0; p < VZ_P_COUNT; p++) l->r[p] = snap4(l->r[p]);
    l->strip = snap4(l->strip);
}

/* Computes the layout (before snapping). */
static void compute(vz_layout *l, const vz_layout_in *in) {
    memset(l, 0, sizeof *l);
    int w = in->w, h = in->h;
    l->w = w;
    l->h = h;
    l->zoom = in->zoom > 0 ? in->zoom : 1.0f;
    l->projector = in->projector;
    l->line = in->line > 0 ? in->line : 1.2f;
    l->f = vz_layout_fonts(in, &l->min_text, &l->min_narr);
    l->font = l->f.body;
    l->s = (float)l->f.label / 14.0f;
    l->pad = imax(3, rnd((float)l->f.label * 0.45f));
    l->gap = imax(3, rnd((float)l->f.label * 0.35f));
    l->spot = -1;
    l->token_rows = in->token_rows == 2 ? 2 : 1;
    int g = l->gap, pad = l->pad;
    int lhb = vz_line_h(l, l->f.body), lhl = vz_line_h(l, l->f.label), lhs = vz_line_h(l, l->f.small);
    if (in->only >= 0 && in->only < VZ_P_COUNT) { /* one panel over the whole window */
        l->arr = VZ_ARR_ONLY;
        l->spot = in->only;
        l->r[in->only] = rect(g, g, w - 2 * g, h - 2 * g);
        return;
    }
    /* the strips: the top bar, the tokens (a box per token with its position under it) */
    int top_h = (in->projector ? lhl : lhb) + pad;
    if (in->timeline) top_h += lhl + pad; /* the timeline slider under the top bar's line */
    l->r[VZ_P_TOP] = rect(0, 0, w, top_h);
    int rows = in->token_rows == 2 ? 2 : 1;
    int tok_h = rows * (lhl + pad + lhs) + (rows - 1) * (pad / 2) + pad;
    int spot = in->spotlight >= 0 && vz_panel_spotlightable(in->spotlight) ? in->spotlight : vz_layout_auto_spot(in->focus);
    /* the tokens strip under the top bar, unless the tokens are the spotlight of a mode that has one */
    int y = top_h + g;
    vz_rect tok = rect(g, y, w - 2 * g, tok_h);
    vz_rect below = rect(g, y + tok_h + g, w - 2 * g, h - (y + tok_h + g) - g); /* under the tokens strip */
    vz_rect all = rect(g, y, w - 2 * g, h - y - g);                            /* with no tokens strip */
    if (in->projector) {
        l->spot = spot;
        vz_rect m = spot == VZ_P_TOKENS ? all : below;
        if (spot != VZ_P_TOKENS) l->r[VZ_P_TOKENS] = tok;
        strip(l, &m, lhl); /* the tabs across the whole width, under the spotlight and the narration */
        int nw = rnd((float)m.w * (in->narr_share > 0 ? in->narr_share : 0.37f));
        if (in->narr_below <= 0 && nw >= l->f.body * 7) { /* beside: the narration a column at the right */
            l->arr = VZ_ARR_BESIDE;
            l->r[VZ_P_NARR] = rect(m.x + m.w - nw, m.y, nw, m.h);
            m.w -= nw + g;
        } else { /* a narrow window, or a spotlight that needs the width: the narration under the spotlight */
            l->arr = VZ_ARR_BELOW;
            int nh = rnd((float)m.h * (in->narr_below > 0 ? in->narr_below : 0.38f));
            l->r[VZ_P_NARR] = rect(m.x, m.y + m.h - nh, m.w, nh);
            m.h -= nh + g;
        }
        l->r[spot] = m;
        return;
    }
    /* normal: the narration strip at the bottom: two lines, or room for a lesson's paragraph: as tall as its text
     * needs when the layout pass measured it (three lines at the least), else 22% of the height; 30% at the most */
    int nh = !in->lesson ? 2 * lhb + 2 * pad : in->narr_h > 0 ? imax(in->narr_h, 3 * lhb + 2 * pad)
                                                                : imax(rnd((float)h * 0.22f), 5 * lhb + 2 * pad);
    if (in->lesson && nh > h * 3 / 10) nh = h * 3 / 10;
    l->r[VZ_P_NARR] = rect(g, h - g - nh, w - 2 * g, nh);
    below.h -= nh + g;
    all.h -= nh + g;
    l->r[VZ_P_TOKENS] = tok;
    /* (the grid has no place for the logit lens: asked for, it is the spotlight of a sparser arrangement) */
    if (in->min_arr <= VZ_ARR_GRID && spot != VZ_P_LENS && grid(l, below, lhl)) { l->arr = VZ_ARR_GRID; return; }
    clear_main(l);
    /* a focus on the tokens (a lesson's @focus tokens) keeps the strip where it is, framed, and the panels under
     * it: normal mode's tokens spotlight draws them at the body size, hardly larger, in a box as big as the
     * panels (lesson 10 step 4 in Chinese at 1024x768: the strip at the top of an empty box). Only a spotlight
     * asked for (Tab, a tab click, --panel) makes the tokens the spotlight. */
    if (spot == VZ_P_TOKENS && in->spotlight != VZ_P_TOKENS) spot = VZ_P_ATTN;
    l->spot = spot;
    vz_rect m = below;
    if (spot == VZ_P_TOKENS) { l->r[VZ_P_TOKENS] = (vz_rect){0, 0, 0, 0}; m = all; }
    strip(l, &m, lhl);
    if (spot != VZ_P_TOKENS && in->min_arr <= VZ_ARR_TWO) {
        vz_layout t = *l;
        if (two(&t, m, lhl)) { t.arr = VZ_ARR_TWO; *l = t; return; }
    }
    l->arr = VZ_ARR_SPOT;
    l->r[spot] = m;
}

void vz_layout_compute(vz_layout *l, int w, int h, float zoom) {
    vz_layout_in in = {w, h, zoom, 0, 0, -1, -1, -1, 2, 0, 0, 0, 0, 0, 0};
    vz_layout_compute_in(l, &in);
}

int vz_rect_overlap(vz_rect a, vz_rect b) {
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

int vz_rect_has(vz_rect r, int x, int y) { return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h; }

int vz_rect_inside(vz_rect a, vz_rect b) {
    return a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h;
}

vz_rect vz_rect_inset(vz_rect r, int d) { return rect(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d); }

static const char *const names[VZ_P_COUNT] = {"top",    "tokens", "arch", "output", "attention",
                                              "thumbs", "scores", "pe",   "activations", "lens", "narration"};

const char *vz_panel_name(int p) { return p >= 0 && p < VZ_P_COUNT ? names[p] : "?"; }

int vz_panel_parse(const char *name) {
    for (int i = 0; i < VZ_P_COUNT; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}
