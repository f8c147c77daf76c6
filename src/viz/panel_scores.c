/* panel_scores.c - from scores to probabilities for the focused head and query: q.k, divided by sqrt(d),
 * plus the mask, softmax, one strip each with the values printed in the cells, and each strip coloured on its
 * own range, stated by its own legend at the strip's end. A strip prints its numbers in one form (vz_cell_form),
 * a weight always with two decimals. A decoder query's later keys do not exist yet when
 * its row is computed: their q.k and scaled cells are drawn as not computed (no number), the -inf is the mask
 * row's, the 0 the weights'. A question's hidden row shows no numbers and no range. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "panels.h"

#define VZ_SCORES_KEYS 512 /* the most keys whose cells get numbers (more leave a pixel or two a cell) */

/* Draws a strip's own legend into r (one line): a small bar of the map and its range as text. */
static void row_legend(vz_ctx *c, vz_rect r, vz_cmap map, const char *range, int masked) {
    int px = c->lay.f.small, lh = vz_lh(c, px), bw = r.w - vz_label_w(c, range, px) - c->lay.pad;
    int y = r.y + (r.h - lh) / 2;
    if (bw > lh * 3) bw = lh * 3;
    if (bw >= 6) {
        vz_rect bar = {r.x, y + lh / 4, bw, lh / 2 > 3 ? lh / 2 : 3};
        if (masked) SDL_RenderCopy(c->r, c->hatch[c->th == vz_theme_get(VZ_THEME_LIGHT)], NULL, &(SDL_Rect){bar.x, bar.y, bar.w, bar.h});
        else SDL_RenderCopy(c->r, c->legend[map], NULL, &(SDL_Rect){bar.x, bar.y, bar.w, bar.h});
        vz_outline(c, bar, c->th->edge, 1);
    }
    int x = r.x + (bw >= 6 ? bw + c->lay.pad / 2 : 0);
    vz_print(c, range, px, c->th->dim, x, y, VZ_LEFT, r.x + r.w - x);
}

/* Marks in lb[j] / rb[j] how far into cell j of row q (of nk cells of entry e) a frame around other cells of the
 * row reaches from the left / the right: a lesson's @highlight of some of the row's cells draws its band (t px,
 * vz_heatmap) over the cells beside them, whose numbers move off it. */
static void frame_bands(const vz_ctx *c, const sf_trace_entry *e, int q, int nk, int t, int *lb, int *rb) {
    for (int j = 0; j < nk; j++) lb[j] = rb[j] = 0;
    for (int i = 0; i < c->n_hl; i++) {
        const vz_highlight *g = &c->hl[i];
        if (strcmp(g->name, e->name) || g->rank < 2 || q < g->lo[0] || (g->hi[0] >= 0 && q > g->hi[0])) continue;
        int c0 = g->lo[1], c1 = g->hi[1] < 0 || g->hi[1] >= nk ? nk - 1 : g->hi[1];
        if (c0 > c1) continue;
        if (c0 > 0) rb[c0 - 1] = t;
        if (c1 < nk - 1) lb[c1 + 1] = t;
    }
}

/* What the panel draws for one query, and where: the four entries, each strip's range, the cells' geometry. */
typedef struct {
    const sf_trace_entry *es[4];
    int q, nk, hidden[4];
    float hi[4];
    char range[4][48];
    int lab_w, leg_w, top, fr, cell, strip_h, sp; /* sp: the numbers' size */
    int text_h;  /* the height of the texts beside a strip (a row's name, its range), as the font draws them */
    int crowded; /* 1: the strips are thinner than the texts beside them (a row's name, its range): they would overlap */
} scores_geom;

/* Sets g->sp, the size of the numbers in the cells, from the strips' height and the cells' width: the small size,
 * the label size when a strip has two lines of it and a cell "-00.00", the spotlight's body size likewise. */
static void numbers_size(vz_ctx *c, scores_geom *g) {
    int px = c->lay.f.label, pad = c->lay.pad, lp = vz_lh(c, px), big = c->lay.f.body;
    g->sp = c->lay.f.small;
    if (g->strip_h >= 2 * lp && g->cell >= vz_label_w(c, "-00.00", px) + pad) g->sp = px; /* room: numbers at the label size */
    if (c->lay.spot == VZ_P_SCORES && big > px && g->strip_h >= 2 * vz_lh(c, big) && g->cell >= vz_label_w(c, "-00.00", big) + pad)
        g->sp = big;
}

/* Returns 1 and fills g with the panel's content and geometry for the inner rectangle in; 0 when the panel has
 * nothing to draw (no query, an entry missing), -1 when it has no room there for a cell. */
static int scores_layout(vz_ctx *c, const vz_view *v, vz_rect in, const char *p, scores_geom *g) {
    static const char *const leaf[4] = {"scores", "scaled", "mask", "probs"};
    static const vz_str what[4] = {VZ_S_ROW_QK, VZ_S_ROW_SCALED, VZ_S_ROW_MASK, VZ_S_ROW_SOFTMAX};
    int px = c->lay.f.label, pad = c->lay.pad, q = g->q;
    g->sp = c->lay.f.small;
    for (int i = 0; i < 4; i++)
        if (!(g->es[i] = vz_entry(v, "%s.H%d.%s", p, v->head, leaf[i]))) return 0;
    int dims[2];
    sf_trace_shape(v->tr, g->es[0], dims);
    g->nk = dims[1];
    if (g->nk == 0 || q >= dims[0]) return 0;
    int nk = g->nk;
    /* each strip's range: q.k and the scaled scores on their own largest |x| in this row, the mask and the
     * weights on fixed ones */
    g->hi[0] = vz_absmax(g->es[0], q, q + 1, nk);
    g->hi[1] = vz_absmax(g->es[1], q, q + 1, nk);
    g->hi[2] = g->hi[3] = 1.0f;
    /* a question's answer: the strips it hides show neither numbers nor their range */
    for (int i = 0; i < 4; i++) g->hidden[i] = v->hide.name[0] && q == v->hide.lo[0] && vz_hide_covers(&v->hide, g->es[i]->name);
    char a[24];
    for (int i = 0; i < 2; i++) {
        vz_fmt_num(a, sizeof a, g->hi[i]);
        if (g->hidden[i]) snprintf(g->range[i], sizeof g->range[i], "%s", vz_s(c, VZ_S_LEG_HIDDEN));
        else snprintf(g->range[i], sizeof g->range[i], "\xc2\xb1%s", a);
    }
    snprintf(g->range[2], sizeof g->range[2], "%s", vz_s(c, VZ_S_LEG_MASK));
    snprintf(g->range[3], sizeof g->range[3], "0\xe2\x80\xa6" "1");
    int lab_w = 0, leg_w = 0, lhs = vz_lh(c, g->sp);
    for (int i = 0; i < 4; i++) {
        int w = vz_label_w(c, vz_s(c, what[i]), px);
        if (w > lab_w) lab_w = w;
        w = vz_label_w(c, g->range[i], g->sp);
        if (w > leg_w) leg_w = w;
    }
    g->fr = vz_px(c, 3) + 1; /* room for a lesson's frame around a strip (vz_heatmap): off the labels it points at */
    g->lab_w = lab_w + pad / 2 + g->fr;
    g->leg_w = leg_w + lhs * 3 + pad * 2;
    g->top = vz_lh(c, px) + 2 + g->fr;
    g->cell = (in.w - g->lab_w - g->leg_w) / nk;
    if (g->cell < 1) return -1;
    /* strips up to square cells when the panel has the room, else three lines; the spotlight's up to twice as tall
     * as wide, its numbers larger, so that they fill the panel's height (at 1024x768 beside a short narration they
     * left its lower half empty) */
    int spot = c->lay.spot == VZ_P_SCORES, lp = vz_lh(c, px);
    int strip_h = (in.h - g->top) / 4, most = lp * 3 > (spot ? 2 : 1) * g->cell ? lp * 3 : (spot ? 2 : 1) * g->cell;
    if (strip_h > most) strip_h = most;
    if (strip_h < 3) return -1;
    g->strip_h = strip_h;
    numbers_size(c, g);
    /* the texts beside a strip, as tall as they are drawn (a Chinese font's lines are taller than the layout's) */
    int need = 0, tw = 0, th = 0;
    for (int i = 0; i < 4; i++) {
        vz_text_size(c->text, g->range[i], c->lay.f.small, &tw, &th);
        if (th > need) need = th;
        vz_text_size(c->text, vz_s(c, what[i]), c->lay.f.small, &tw, &th); /* (a row's name: at least the small size) */
        if (th > need) need = th;
    }
    g->text_h = need;
    g->crowded = strip_h < need;
    return 1;
}

/* Returns the form strip i of g prints its numbers in and fills use[] (the cells that have a value: not a key
 * that does not exist yet) and num[j] with each cell's text ("" where it has none). One form for the whole strip,
 * the most digits that fit every cell: 0.55, then .55 (the two decimals the lessons quote), and for q.k and the
 * scaled scores 0.6, .6, then whole numbers; a weight never has fewer than two decimals (0.96 is not "1", 0.04
 * not "0"), so where .96 does not fit the colour and the hover say it. The mask's cells are its exact 0 and -inf,
 * a later key's weight its exact 0. */
static void strip_texts(vz_ctx *c, const scores_geom *g, int i, int room, int *use, char (*num)[24]) {
    const float *x = sf_trace_row(g->es[i], g->q), *m = sf_trace_row(g->es[2], g->q);
    int nk = g->nk, form = VZ_CELL_0;
    for (int j = 0; j < nk; j++) use[j] = !(isinf(m[j]) && m[j] < 0);
    if (i != 2) {
        int last = i == 3 ? VZ_CELL_2_SHORT : VZ_CELL_0;
        form = vz_cell_form(c, x, use, nk, g->sp, room, VZ_CELL_2, last);
        if (form < 0) form = last; /* none fits every cell: the cells it fits */
    }
    for (int j = 0; j < nk; j++) {
        if (!use[j]) snprintf(num[j], sizeof num[j], "%s", i < 2 ? "" : i == 3 ? "0" : "-inf"); /* no score was computed */
        else if (i == 2 && x[j] == 0.0f) snprintf(num[j], sizeof num[j], "0");
        else vz_fmt_cell(num[j], sizeof num[j], x[j], form);
    }
}

/* Appends " · off" to title t when the focused head is knocked out (its scores and weights are as computed; its
 * output was replaced). */
static void head_off(const vz_ctx *c, const vz_view *v, char *t, size_t size) {
    if (!vz_thumb_ablated(v, v->blocks[v->block], v->head)) return;
    size_t n = strlen(t);
    snprintf(t + n, size - n, "%s", vz_s(c, VZ_S_HEAD_OFF));
}

/* Returns the scores panel's title for the focused head and query q into title, and the block's prefix into p. */
static void scores_title(const vz_ctx *c, const vz_view *v, int q, char *title, size_t size, char *p, size_t psize) {
    vz_block_prefix(v->blocks[v->block], p, psize);
    if (q >= 0) snprintf(title, size, vz_s(c, VZ_S_SCORES_TITLE), p, v->head, q);
    else snprintf(title, size, vz_s(c, VZ_S_SCORES_TITLE0), p, v->head);
    head_off(c, v, title, size);
}

/* Returns the scores panel's short title ("Scores: dec.L1.cross H0, query 3", what a narrow panel shows) into t. */
static const char *scores_title_short(const vz_ctx *c, const vz_view *v, int q, const char *p, char *t, size_t size) {
    if (q >= 0) snprintf(t, size, vz_s(c, VZ_S_SCORES_TITLE_S), p, v->head, q);
    else snprintf(t, size, vz_s(c, VZ_S_SCORES_TITLE0_S), p, v->head);
    head_off(c, v, t, size);
    return t;
}

/* Lays out the scores panel in r as vz_panel_scores does (the query, the title's prefix, vz_panel_frame's inner
 * rectangle) into g; returns scores_layout's answer, or 0 when there is nothing to lay out (no block, no query). */
static int scores_layout_in(vz_ctx *c, const vz_view *v, vz_rect r, scores_geom *g) {
    char title[160], p[32];
    if (v->n_blocks == 0 || r.w <= 0 || r.h <= 0) return 0;
    g->q = vz_view_query(v);
    if (g->q < 0) return 0;
    scores_title(c, v, g->q, title, sizeof title, p, sizeof p);
    int pad = c->lay.pad, th = vz_lh(c, c->lay.f.title) + pad / 2; /* vz_panel_frame's inner rectangle */
    vz_rect in = vz_rect_inset((vz_rect){r.x, r.y + th, r.w, r.h - th}, pad);
    return scores_layout(c, v, in, p, g);
}

int vz_scores_crowded(vz_ctx *c, const vz_view *v, vz_rect r) {
    scores_geom g;
    int ok = scores_layout_in(c, v, r, &g);
    return ok < 0 || (ok > 0 && g.crowded);
}

int vz_scores_unprinted(vz_ctx *c, const vz_view *v, vz_rect r) {
    scores_geom g;
    int ok = scores_layout_in(c, v, r, &g), pad = c->lay.pad;
    if (ok <= 0) return ok < 0 ? 1 : 0;
    if (g.crowded) return 4 * g.nk; /* (the strips' texts would overlap: as bad as no number printed) */
    if (g.nk > VZ_SCORES_KEYS) return 0; /* (cells of a pixel or two: no number would fit anywhere) */
    int sh = g.strip_h - vz_px(c, 3), room = g.cell - pad / 2 - 2, n = 0;
    if (sh < vz_lh(c, g.sp)) return g.nk;
    int use[VZ_SCORES_KEYS];
    char num[VZ_SCORES_KEYS][24];
    for (int i = 0; i < 4; i++) {
        if (g.hidden[i] || !vz_row_visible(v, g.es[i], g.q)) continue;
        strip_texts(c, &g, i, room, use, num);
        for (int j = 0; j < g.nk; j++)
            if ((use[j] || i >= 2) && (!num[j][0] || vz_label_w(c, num[j], g.sp) > room)) n++;
    }
    return n;
}

/* Names, under the strips in r, the values of the cells marked in unp that are too narrow to print them (a tall,
 * narrow spotlight: lesson 11's page without weights in Chinese, beside its long narration, had 31 px cells), a line
 * per strip, "q.k: r = -0.36 · s = -11.40", each piece whole on a line, the trace's value with two decimals (the
 * mask's exact 0 or -inf, a later key's weight its exact 0) (the caller: up to 16 keys; more make cells no number
 * fits in any layout, and a wall of numbers). compact: the pieces without their "key" word, closer together. draw 0:
 * only measures. reserve: keeps the last line of r for the count of the values left out. Returns how many values
 * found no room in r (0: all named) and sets *height to the height the lines take. */
static int unprinted_lines(vz_ctx *c, const vz_view *v, const scores_geom *g, unsigned char (*unp)[VZ_SCORES_KEYS], vz_rect r,
                           int compact, int draw, int reserve, int *height) {
    static const vz_str what[4] = {VZ_S_ROW_QK, VZ_S_ROW_SCALED, VZ_S_ROW_MASK, VZ_S_ROW_SOFTMAX};
    int sp = c->lay.f.small, lh = vz_lh(c, sp), pad = c->lay.pad, y = r.y, left = 0, bottom = r.y + r.h - (reserve ? lh : 0);
    int used = 0; /* the bottom of the last line with something on it */
    const float *m = sf_trace_row(g->es[2], g->q);
    vz_block b = v->blocks[v->block];
    *height = 0;
    for (int i = 0; i < 4; i++) {
        int any = 0;
        for (int j = 0; j < g->nk; j++) any |= unp[i][j];
        if (!any) continue;
        int room = y + lh <= bottom;
        char piece[96], head[48], num[24], tok[16];
        snprintf(head, sizeof head, "%s:", vz_s(c, what[i]));
        int hw = vz_label_w(c, head, sp);
        if (room && draw) vz_print(c, head, sp, c->th->dim, r.x, y, VZ_LEFT, r.w);
        if (room) used = y + lh - r.y;
        int x = r.x + hw + pad, x0 = x;
        const float *val = sf_trace_row(g->es[i], g->q);
        for (int j = 0; j < g->nk; j++) {
            if (!unp[i][j]) continue;
            int masked = isinf(m[j]) && m[j] < 0;
            if (masked && i < 2) continue; /* (no score was computed) */
            if (masked) snprintf(num, sizeof num, "%s", i == 3 ? "0" : "-inf");
            else if (i == 2 && val[j] == 0.0f) snprintf(num, sizeof num, "0");
            else vz_fmt_cell(num, sizeof num, val[j], VZ_CELL_2);
            snprintf(piece, sizeof piece, compact ? "%s = %s" : vz_s(c, VZ_S_SCORES_KEY_VALUE), vz_token_label(v, vz_key_stack(b), j, tok), num);
            int w = vz_label_w(c, piece, sp);
            if (x > x0 && x + w > r.x + r.w) { /* the next line, under the first piece */
                y += lh;
                x = x0;
                room = room && y + lh <= bottom;
            }
            if (!room) { left++; continue; }
            if (draw) vz_print(c, piece, sp, c->th->fg, x, y, VZ_LEFT, r.x + r.w - x);
            used = y + lh - r.y;
            x += w + (compact ? pad + pad / 2 : 2 * pad);
        }
        y += lh + pad / 2;
    }
    *height = left ? used : y - r.y;
    return left;
}

/* Marks in unp the cells of g's strips (drawn into in) that cannot print their value in the cell: the strip too
 * thin for a line of the numbers' size, no number, one too wide, or squeezed by a frame around the cells beside it.
 * Returns how many. */
static int mark_unprinted(vz_ctx *c, const vz_view *v, const scores_geom *g, unsigned char (*unp)[VZ_SCORES_KEYS]) {
    int n = 0, pad = c->lay.pad, lhs = vz_lh(c, c->lay.f.small), sh = g->strip_h - vz_px(c, 3), room = g->cell - pad / 2 - 2;
    int use[VZ_SCORES_KEYS], lb[VZ_SCORES_KEYS], rb[VZ_SCORES_KEYS];
    char num[VZ_SCORES_KEYS][24];
    memset(unp, 0, 4 * VZ_SCORES_KEYS);
    if (g->nk > VZ_SCORES_KEYS) return 0;
    for (int i = 0; i < 4; i++) {
        if (!vz_row_visible(v, g->es[i], g->q) || g->hidden[i]) continue;
        strip_texts(c, g, i, room, use, num);
        frame_bands(c, g->es[i], g->q, g->nk, vz_px(c, 3), lb, rb);
        for (int j = 0; j < g->nk; j++) {
            int tw = vz_label_w(c, num[j], g->sp), side = lb[j] + rb[j];
            if ((sh < lhs || !num[j][0] || tw > room || (side && tw > g->cell - side - 1)) && (use[j] || i >= 2)) {
                unp[i][j] = 1;
                n++;
            }
        }
    }
    return n;
}

/* Makes room under the strips for the lines naming the values their cells cannot print (up to 16 keys): the strips
 * lose height, down to the texts beside them (never crowded), until the lines fit in the panel's inner rectangle in;
 * the numbers' size follows the strips' height. (Round 11: in Chinese beside an eight-sentence narration the lines
 * named q·k's eight values and three of the scaled scores' and stopped at the panel's edge, the weights never named.) */
static void room_for_names(vz_ctx *c, const vz_view *v, scores_geom *g, vz_rect in, unsigned char (*unp)[VZ_SCORES_KEYS]) {
    int pad = c->lay.pad, least = g->text_h > vz_lh(c, c->lay.f.small) + vz_px(c, 3) ? g->text_h : vz_lh(c, c->lay.f.small) + vz_px(c, 3);
    int step = vz_lh(c, c->lay.f.small) / 4 > 1 ? vz_lh(c, c->lay.f.small) / 4 : 1;
    for (;;) {
        if (!mark_unprinted(c, v, g, unp) || g->nk > 16) return;
        int y = in.y + g->top + 4 * g->strip_h + pad, hgt;
        vz_rect below = {in.x, y, in.w, in.y + in.h - y};
        if (!unprinted_lines(c, v, g, unp, below, 0, 0, 0, &hgt) || !unprinted_lines(c, v, g, unp, below, 1, 0, 0, &hgt)) return;
        if (g->strip_h - step < least) return;
        g->strip_h -= step;
        numbers_size(c, g);
    }
}

void vz_panel_scores(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[160], p[32];
    if (v->n_blocks == 0) return;
    vz_block b = v->blocks[v->block];
    scores_geom g;
    int q = g.q = vz_view_query(v);
    scores_title(c, v, q, title, sizeof title, p, sizeof p);
    char alt[160];
    vz_rect in = vz_panel_frame_alt(c, r, title, scores_title_short(c, v, q, p, alt, sizeof alt), v->focus_panel == VZ_P_SCORES || c->lay.spot == VZ_P_SCORES);
    int px = c->lay.f.label, pad = c->lay.pad;
    if (q < 0) { vz_print(c, vz_s(c, VZ_S_SCORES_NONE), px, c->th->dim, in.x, in.y, VZ_LEFT, in.w); return; }
    static const vz_str what[4] = {VZ_S_ROW_QK, VZ_S_ROW_SCALED, VZ_S_ROW_MASK, VZ_S_ROW_SOFTMAX};
    if (scores_layout(c, v, in, p, &g) <= 0) return;
    static unsigned char unp[4][VZ_SCORES_KEYS]; /* the cells that print no number: named under the strips */
    room_for_names(c, v, &g, in, unp);
    const sf_trace_entry *const *es = g.es;
    int nk = g.nk, cell = g.cell, strip_h = g.strip_h, sp = g.sp, lab_w = g.lab_w, leg_w = g.leg_w, fr = g.fr, top = g.top;
    int lhs = vz_lh(c, c->lay.f.small);
    int gx = in.x + lab_w, gw = cell * nk;
    vz_axis_labels(c, v, vz_key_stack(b), nk, (vz_rect){gx, in.y + top, gw, 4 * strip_h}, cell, 1, -1, in.y + top - fr,
                   (vz_rect){0, 0, 0, 0});
    char num[VZ_SCORES_KEYS][24];
    int n_unp = 0;
    memset(unp, 0, sizeof unp);
    for (int i = 0; i < 4; i++) {
        const sf_trace_entry *e = es[i];
        int y = in.y + top + i * strip_h, sh = strip_h - vz_px(c, 3);
        int rp = vz_lh(c, px) <= strip_h ? px : sp; /* the row's name: smaller in thin strips, none if too thin */
        if (vz_lh(c, rp) <= strip_h) vz_print(c, vz_s(c, what[i]), rp, c->th->fg, in.x, y + sh / 2, VZ_MIDDLE, lab_w - fr);
        int vis = vz_row_visible(v, e, q);
        vz_cmap map = i == 3 ? c->pal->seq : c->pal->div;
        vz_heat hm = {e, q, 1, nk, vis, map, 0, g.hi[i], es[2], cell >= 24 ? 8 : 4, 0, i < 2, NULL, NULL, 0};
        char id[64];
        snprintf(id, sizeof id, "scores.%d", i);
        vz_heatmap(c, id, &hm, (vz_rect){gx, y, gw, sh});
        row_legend(c, (vz_rect){gx + gw + pad, y, leg_w - pad, sh}, map, g.range[i], i == 2);
        if (!vis || g.hidden[i]) continue; /* (g.hidden: a question's answer) */
        if (nk > VZ_SCORES_KEYS) continue; /* (cells of a pixel or two: no number would fit) */
        const float *x = sf_trace_row(e, q);
        int use[VZ_SCORES_KEYS], room = cell - pad / 2 - 2;
        int lb[VZ_SCORES_KEYS], rb[VZ_SCORES_KEYS];
        strip_texts(c, &g, i, room, use, num);
        frame_bands(c, e, q, nk, vz_px(c, 3), lb, rb);
        for (int j = 0; j < nk; j++) {
            int masked = !use[j];
            int tw = vz_label_w(c, num[j], sp), side = lb[j] + rb[j]; /* (beside a framed cell: off its band) */
            if (sh < lhs || !num[j][0] || tw > room || (side && tw > cell - side - 1)) { /* no room: under the strips */
                if (use[j] || i >= 2) { unp[i][j] = 1; n_unp++; }
                continue;
            }
            vz_rgba bgc = masked ? c->th->masked : vz_cmap_color(map, x[j] / g.hi[i]);
            int cx = gx + j * cell + lb[j] + (cell - side) / 2;
            if (masked) { /* a plate of the cell's flat grey under the text: thin strokes over the hatching could not
                           * be read (lesson 6 step 2's "-inf", which tesseract missed even at full size) */
                int lh = vz_lh(c, sp), pw = tw + 2 * vz_px(c, 3);
                if (pw > cell - side - 2) pw = cell - side - 2;
                vz_fill(c, (vz_rect){cx - pw / 2, y + (sh - lh) / 2, pw, lh}, bgc);
            }
            vz_ink(c, vz_ink_none); /* on a cell (masked cells are striped): blended */
            vz_print(c, num[j], sp, vz_ink_on(c, bgc), cx, y + sh / 2, VZ_CENTER | VZ_MIDDLE, 0);
            vz_ink(c, c->th->panel);
        }
    }
    if (n_unp && nk <= 16) { /* named whole if they fit, else closer together, else as many as fit and how many did not */
        int y = in.y + top + 4 * strip_h + pad, hgt, compact = 0;
        vz_rect below = {in.x, y, in.w, in.y + in.h - y};
        if (unprinted_lines(c, v, &g, unp, below, 0, 0, 0, &hgt)) compact = 1;
        int left = compact && unprinted_lines(c, v, &g, unp, below, 1, 0, 0, &hgt);
        left = unprinted_lines(c, v, &g, unp, below, compact, 1, left, &hgt);
        if (left) { /* (never cut mid-list silently: the count, and where to find them) */
            char more[128];
            snprintf(more, sizeof more, vz_s(c, VZ_S_SCORES_MORE), left);
            vz_print(c, more, c->lay.f.small, c->th->dim, in.x, below.y + hgt, VZ_LEFT, in.w);
        }
    }
}
