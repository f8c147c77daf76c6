/* panel_lens.c - the logit lens (docs/experiments.md): decoder layers down, positions across; each cell the
 * token most likely next when the residual stream after that layer is read out (dec.L{l}.lens.probs, computed
 * in src/model/lens.c and added to the trace), with its probability, the cell coloured by that probability on
 * the sequential map (legend: 0 to 1); a cell with the room lists the next two tokens under it, smaller, with their
 * probabilities ("g 0.20", lesson 13 step 2 quotes them), in the order of the trace's numbers. The panel prints its
 * numbers in one form, "0.20" where every cell has the room for it, else ".20" in every cell (a row once read
 * "h 0.31" beside "z .09"), and a top token whole: a size smaller where it is wider than its cell ("<unk>" at
 * 1024x768 was "<un…"), the columns at least as wide as the widest top token in that size. A cell is filled once the
 * cursor has computed that layer at that position. When there are more positions than fit, the columns end at the
 * cursor's position. */
#include <stdio.h>
#include <string.h>

#include "model/sample.h"
#include "panels.h"

#define VZ_LENS_TOP 3 /* the most tokens a cell lists: the top one and the two after it, room allowing */

/* Returns 1 if a colour is light (dark ink on it). */
static int light(vz_rgba col) { return 0.2126f * col.r + 0.7152f * col.g + 0.0722f * col.b > 140.0f; }

/* Returns the last trace entry decoder layer l computes (its output), or NULL. */
static const sf_trace_entry *layer_out(const vz_view *v, int l) {
    const sf_trace_entry *last = NULL;
    for (int i = 0; i < v->tr->n; i++) {
        const sf_trace_entry *e = &v->tr->e[i];
        if (e->stack == SF_STACK_DEC && e->layer == l && e->head < 0 && e->op != SF_OP_LENS) last = e;
    }
    return last;
}

int vz_lens_cell_visible(const vz_view *v, int l, int t) {
    const sf_trace_entry *e = layer_out(v, l);
    return e && vz_row_visible(v, e, t);
}

/* Returns token id's text as a cell prints it in out (at least 16 bytes): a space as the visible space sign. */
static char *piece(const vz_view *v, int id, char *out) {
    sf_tokenizer_piece(&v->m->tok, id, out);
    if (!strcmp(out, " ")) strcpy(out, "\xe2\x90\xa3");
    return out;
}

/* Returns how many tokens of row p (V probabilities) a cell lists, at most 1 + extra, their ids in taken: the top
 * one, then the largest not listed yet, in order. */
static int listed(const float *p, int V, int extra, int *taken) {
    int nt = 1;
    taken[0] = sf_argmax(p, V);
    for (; nt <= extra; nt++) {
        int best = -1;
        for (int i = 0; i < V; i++) {
            int seen = 0;
            for (int u = 0; u < nt; u++) seen |= taken[u] == i;
            if (!seen && (best < 0 || p[i] > p[best])) best = i;
        }
        if (best < 0) break;
        taken[nt] = best;
    }
    return nt;
}

/* Returns out holding a runner-up's line, its token and its probability in number form `form`: "g 0.20". */
static char *runner_line(const vz_view *v, char *out, size_t n, int id, float p, int form) {
    char t3[16], n3[16];
    snprintf(out, n, "%s %s", piece(v, id, t3), vz_fmt_cell(n3, sizeof n3, p, form));
    return out;
}

/* The lens panel's sizes at text size big: the sizes of its text, the row labels' width, the columns across and the
 * bands of full cells (top token, probability, two runners-up) that fit under one another in rectangle in. */
typedef struct {
    int px, sp, lab_w, cols, bands;
} lens_size;

static lens_size lens_measure(vz_ctx *c, const vz_view *v, int nl, int n, int V, int big, vz_rect in) {
    lens_size m;
    int pad = c->lay.pad;
    m.px = big;
    m.sp = big == c->lay.f.label ? c->lay.f.small : big * 2 / 3 > c->lay.f.small ? big * 2 / 3 : c->lay.f.small;
    if (m.sp > m.px) m.sp = m.px;
    char t1[64];
    m.lab_w = 0;
    for (int l = 0; l < nl; l++) { /* row labels "after L0" */
        snprintf(t1, sizeof t1, vz_s(c, VZ_S_LENS_LAYER), l);
        int w = vz_label_w(c, t1, m.px);
        if (w > m.lab_w) m.lab_w = w;
    }
    m.lab_w += pad;
    int lh = vz_lh(c, m.px), slh = vz_lh(c, m.sp), head_h = lh + slh;
    int min_w = vz_label_w(c, "0.00", m.px) + pad;
    if ((in.h - head_h) / nl >= 2 * lh + slh + pad) { /* room for runners-up: columns wide enough for "w .20" */
        int w3 = vz_label_w(c, "w .00", m.sp) + pad;
        if (w3 > min_w) min_w = w3;
    }
    for (int l = 0; l < nl; l++) { /* and for every top token whole, in the smaller size at least */
        const sf_trace_entry *e = vz_entry(v, "dec.L%d.lens.probs", l);
        for (int t = 0; e && t < n; t++) {
            char tok[16];
            int w = vz_label_w(c, piece(v, sf_argmax(sf_trace_row(e, t), V), tok), m.sp) + pad;
            if (w > min_w) min_w = w;
        }
    }
    m.cols = (in.w - m.lab_w) / (min_w > 1 ? min_w : 1);
    if (m.cols > n) m.cols = n;
    int band = head_h + nl * (2 * lh + (VZ_LENS_TOP - 1) * slh + pad) + pad;
    m.bands = band > 0 ? (in.h + pad) / band : 0;
    if (m.bands < 1) m.bands = 1; /* (one band of smaller cells, as many as fit) */
    return m;
}

void vz_panel_lens(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_rect in = vz_panel_frame(c, r, vz_s(c, VZ_S_LENS_TITLE), v->focus_panel == VZ_P_LENS || c->lay.spot == VZ_P_LENS);
    int px = c->lay.f.label, sp = c->lay.f.small, pad = c->lay.pad, nl = v->m->cfg.n_dec_layers;
    const sf_trace_entry *e0 = vz_entry(v, "dec.L0.lens.probs");
    int dims[2] = {0, 0};
    if (!e0) {
        vz_print(c, vz_s(c, v->lens_too_big ? VZ_S_LENS_TOO_BIG : VZ_S_LENS_NOT_YET), px, c->th->dim, in.x, in.y, VZ_LEFT, in.w);
        return;
    }
    sf_trace_shape(v->tr, e0, dims);
    int n = dims[0], V = dims[1];
    if (n <= 0 || nl <= 0) return;
    /* the legend at the bottom */
    int lg = vz_legend_h(c);
    vz_legend(c, (vz_rect){in.x, in.y + in.h - lg, in.w, lg}, c->pal->seq, 0, 1, 0, vz_s(c, VZ_S_LENS_LEGEND));
    in.h -= lg + pad;
    /* the sizes: from the body's size down to the label's, where bands of cells (one under another, each cell with
     * the room for its top token, its probability and the two after it) fit twice or more, the one at which the most
     * positions up to the cursor's fit, the largest of those; else the largest at which six positions fit across (a
     * projector's 1024x768 had cells of label size with half the panel's height empty under them: now 23 px text in
     * two bands, positions 2-15, where one band showed 9-15) */
    char t1[64], t2[64];
    int now = v->cur.phase == SF_STACK_DEC && v->cur.token >= 0 ? v->cur.token : 0, best = c->lay.f.label, most_shown = -1;
    int want = n < 6 ? n : 6, wide = -1; /* (wide: the largest size with six positions across in one band) */
    for (int big = c->lay.f.body; big >= c->lay.f.label; big--) {
        lens_size m = lens_measure(c, v, nl, n, V, big, in);
        int shown = m.bands * m.cols < now + 1 ? m.bands * m.cols : now + 1;
        if (m.bands > 1 && shown > most_shown) most_shown = shown, best = big;
        if (wide < 0 && m.cols >= want) wide = big;
    }
    if (most_shown < 0) best = wide >= 0 ? wide : c->lay.f.label; /* no two bands fit: one band of the largest text that
        still shows six positions (Chinese at 1024x768 projector: its lines are taller) */
    lens_size m = lens_measure(c, v, nl, n, V, best, in);
    px = m.px, sp = m.sp;
    int lab_w = m.lab_w, lh = vz_lh(c, px), slh = vz_lh(c, sp), head_h = lh + slh, cols = m.cols;
    if (cols < 1) return;
    if (cols > n) cols = n;
    int first = now + 1 > cols ? now + 1 - cols : 0; /* the columns end at the cursor's position */
    if (first + cols > n) first = n - cols;
    int cw = (in.w - lab_w) / cols, ch = (in.h - head_h) / nl;
    int most = 2 * lh + (VZ_LENS_TOP - 1) * slh + pad; /* the top token on two lines, then the runners-up */
    if (ch > most) ch = most;
    if (ch < lh) return;
    /* more positions than fit across and the height for it: bands of them, one under another, the last ending at
     * the cursor's position (a projector's 1024x768 shows positions 4-15 in two bands where one band showed 10-15) */
    int band_h = head_h + nl * ch + pad, end = first + cols, shown = cols;
    if (cols < n && band_h > 0) {
        int room = (in.h + pad) / band_h;
        shown = room * cols < end ? room * cols : end;
        first = end - shown;
    }
    int two = ch >= 2 * lh; /* the token and its probability on two lines, else side by side */
    int extra = two ? (ch - 2 - 2 * lh - pad / 2) / slh : 0; /* the runners-up lines the cell has room for */
    if (extra > VZ_LENS_TOP - 1) extra = VZ_LENS_TOP - 1;
    if (extra < 0) extra = 0;
    int cell_w = cw - 2, top_form = VZ_CELL_2, run_form = VZ_CELL_2; /* one form of numbers for the whole panel */
    for (int f = VZ_CELL_2; f <= VZ_CELL_2_SHORT + 1; f++) { /* the top probabilities: the first form all fit, else none */
        int ok = 1;
        for (int l = 0; l < nl && ok; l++) {
            const sf_trace_entry *e = vz_entry(v, "dec.L%d.lens.probs", l);
            for (int j = 0; e && j < shown && ok; j++) {
                if (!vz_lens_cell_visible(v, l, first + j)) continue;
                const float *p = sf_trace_row(e, first + j);
                float top = p[sf_argmax(p, V)];
                ok = f > VZ_CELL_2_SHORT || vz_cell_form(c, &top, NULL, 1, two ? px : sp, two ? cell_w : cell_w / 2, f, f) == f;
            }
        }
        top_form = f > VZ_CELL_2_SHORT ? -1 : f;
        if (ok) break;
    }
    for (int l = 0; l < nl && two && extra > 0 && run_form == VZ_CELL_2; l++) { /* the runners-up: "0.20" if every line
        that fits at all fits so, else ".20" */
        const sf_trace_entry *e = vz_entry(v, "dec.L%d.lens.probs", l);
        for (int j = 0; e && j < shown; j++) {
            if (!vz_lens_cell_visible(v, l, first + j)) continue;
            const float *p = sf_trace_row(e, first + j);
            int taken[VZ_LENS_TOP], nt = listed(p, V, extra, taken);
            for (int u = 1; u < nt; u++) {
                char a[48], b[48];
                int fits2 = vz_label_w(c, runner_line(v, a, sizeof a, taken[u], p[taken[u]], VZ_CELL_2), sp) <= cell_w - 2;
                int fits1 = vz_label_w(c, runner_line(v, b, sizeof b, taken[u], p[taken[u]], VZ_CELL_2_SHORT), sp) <= cell_w - 2;
                if (fits1 && !fits2) run_form = VZ_CELL_2_SHORT;
            }
        }
    }
    for (int b = 0; b * cols < shown; b++) { /* each band: its positions' headers, then a row per layer */
        int f0 = first + b * cols, by = in.y + b * band_h;
        for (int j = 0; j < cols && b * cols + j < shown; j++) {
            int t = f0 + j, x = in.x + lab_w + j * cw;
            char tok[16];
            snprintf(t2, sizeof t2, "%d", t);
            vz_print(c, t2, sp, c->th->dim, x + cw / 2, by, VZ_CENTER, cw);
            vz_token_label(v, SF_STACK_DEC, t, tok);
            int abbr = vz_label_w(c, tok, px) > cw && vz_special_initial(&v->m->tok, tok); /* "<bos>" wider than its column: "B", as the heatmaps' */
            vz_print(c, tok, px, t == now ? c->th->accent : abbr ? c->th->dim : c->th->fg, x + cw / 2, by + slh, VZ_CENTER, cw);
        }
        for (int l = 0; l < nl; l++) {
            int y = by + head_h + l * ch;
            snprintf(t1, sizeof t1, vz_s(c, VZ_S_LENS_LAYER), l);
            vz_print(c, t1, px, c->th->fg, in.x, y + ch / 2, VZ_MIDDLE, lab_w - pad);
            const sf_trace_entry *e = vz_entry(v, "dec.L%d.lens.probs", l);
            if (!e) continue;
            for (int j = 0; j < cols && b * cols + j < shown; j++) {
                int t = f0 + j;
                vz_rect cell = {in.x + lab_w + j * cw + 1, y + 1, cw - 2, ch - 2};
                if (!vz_lens_cell_visible(v, l, t)) { vz_fill(c, cell, c->th->hidden); continue; }
                const float *p = sf_trace_row(e, t);
                int taken[VZ_LENS_TOP], nt = listed(p, V, two ? extra : 0, taken), k = taken[0];
                vz_rgba bg = vz_cmap_color(c->pal->seq, p[k]);
                vz_fill(c, cell, bg);
                vz_ink(c, bg);
                vz_rgba ink = light(bg) ? c->th->ink_on_light : c->th->ink_on_dark;
                char tok[16], num[16];
                piece(v, k, tok);
                /* the probability in the panel's form ("0.96", else ".96", else none: never cut, "0.…") */
                if (top_form >= 0) vz_fmt_cell(num, sizeof num, p[k], top_form);
                else num[0] = 0;
                int tpx = vz_label_w(c, tok, px) <= (two ? cell.w : cell.w / 2) ? px : sp; /* whole, a size smaller if need be */
                if (two && extra > 0) { /* the top token and its probability, then the next ones, smaller: "g 0.20" */
                    int y0 = cell.y + (cell.h - 2 * lh - extra * slh - pad / 2) / 2;
                    vz_print(c, tok, tpx, ink, cell.x + cell.w / 2, y0 + (lh - vz_lh(c, tpx)) / 2, VZ_CENTER, cell.w);
                    vz_print(c, num, px, ink, cell.x + cell.w / 2, y0 + lh, VZ_CENTER, cell.w);
                    for (int u = 1, row = 0; u < nt; u++) { /* in the panel's form; a line that does not fit is left out */
                        char line[48];
                        if (vz_label_w(c, runner_line(v, line, sizeof line, taken[u], p[taken[u]], run_form), sp) > cell.w - 2) continue;
                        vz_print(c, line, sp, ink, cell.x + cell.w / 2, y0 + 2 * lh + pad / 2 + row++ * slh, VZ_CENTER, cell.w);
                    }
                } else if (two) {
                    vz_print(c, tok, tpx, ink, cell.x + cell.w / 2, cell.y + cell.h / 2, VZ_CENTER | VZ_BOTTOM, cell.w);
                    vz_print(c, num, px, ink, cell.x + cell.w / 2, cell.y + cell.h / 2, VZ_CENTER, cell.w);
                } else {
                    vz_print(c, tok, tpx, ink, cell.x + pad / 2, cell.y + cell.h / 2, VZ_MIDDLE, cell.w / 2);
                    vz_print(c, num, sp, ink, cell.x + cell.w - pad / 2, cell.y + cell.h / 2, VZ_RIGHT | VZ_MIDDLE, cell.w / 2);
                }
                if (l == nl - 1 && t == now) vz_outline(c, cell, c->th->accent, vz_px(c, 2));
            }
            vz_ink(c, c->th->panel);
        }
    }
}
