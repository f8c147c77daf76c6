/* panel_lens.c - the logit lens (docs/experiments.md): decoder layers down, positions across; each cell the
 * token most likely next when the residual stream after that layer is read out (dec.L{l}.lens.probs, computed
 * in src/model/lens.c and added to the trace), with its probability, the cell coloured by that probability on
 * the sequential map (legend: 0 to 1); a cell with the room lists the next two tokens under it, smaller, with their
 * probabilities ("g .20", lesson 13 step 2 quotes them), in the order of the trace's numbers. A cell is filled once
 * the cursor has computed that layer at that position. When there are more positions than fit, the columns end at
 * the cursor's position. */
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
    /* row labels "after L0", column headers: the position and its token */
    char t1[64], t2[64];
    int lab_w = 0;
    for (int l = 0; l < nl; l++) {
        snprintf(t1, sizeof t1, vz_s(c, VZ_S_LENS_LAYER), l);
        int w = vz_label_w(c, t1, px);
        if (w > lab_w) lab_w = w;
    }
    lab_w += pad;
    int lh = vz_lh(c, px), slh = vz_lh(c, sp), head_h = lh + slh;
    int min_w = vz_label_w(c, "0.00", px) + pad;
    if ((in.h - head_h) / nl >= 2 * lh + slh + pad) { /* room for runners-up: columns wide enough for "w .20" */
        int w3 = vz_label_w(c, "w .00", sp) + pad;
        if (w3 > min_w) min_w = w3;
    }
    int cols = (in.w - lab_w) / (min_w > 1 ? min_w : 1);
    if (cols < 1) return;
    if (cols > n) cols = n;
    int now = v->cur.phase == SF_STACK_DEC && v->cur.token >= 0 ? v->cur.token : 0;
    int first = now + 1 > cols ? now + 1 - cols : 0; /* the columns end at the cursor's position */
    if (first + cols > n) first = n - cols;
    int cw = (in.w - lab_w) / cols, ch = (in.h - head_h) / nl;
    int most = 2 * lh + (VZ_LENS_TOP - 1) * slh + pad; /* the top token on two lines, then the runners-up */
    if (ch > most) ch = most;
    if (ch < lh) return;
    int two = ch >= 2 * lh; /* the token and its probability on two lines, else side by side */
    int extra = two ? (ch - 2 - 2 * lh - pad / 2) / slh : 0; /* the runners-up lines the cell has room for */
    if (extra > VZ_LENS_TOP - 1) extra = VZ_LENS_TOP - 1;
    if (extra < 0) extra = 0;
    for (int j = 0; j < cols; j++) {
        int t = first + j, x = in.x + lab_w + j * cw;
        char tok[16];
        snprintf(t2, sizeof t2, "%d", t);
        vz_print(c, t2, sp, c->th->dim, x + cw / 2, in.y, VZ_CENTER, cw);
        vz_print(c, vz_token_label(v, SF_STACK_DEC, t, tok), px, t == now ? c->th->accent : c->th->fg, x + cw / 2, in.y + slh,
                 VZ_CENTER, cw);
    }
    for (int l = 0; l < nl; l++) {
        int y = in.y + head_h + l * ch;
        snprintf(t1, sizeof t1, vz_s(c, VZ_S_LENS_LAYER), l);
        vz_print(c, t1, px, c->th->fg, in.x, y + ch / 2, VZ_MIDDLE, lab_w - pad);
        const sf_trace_entry *e = vz_entry(v, "dec.L%d.lens.probs", l);
        if (!e) continue;
        for (int j = 0; j < cols; j++) {
            int t = first + j;
            vz_rect cell = {in.x + lab_w + j * cw + 1, y + 1, cw - 2, ch - 2};
            if (!vz_lens_cell_visible(v, l, t)) { vz_fill(c, cell, c->th->hidden); continue; }
            const float *p = sf_trace_row(e, t);
            int k = sf_argmax(p, V);
            vz_rgba bg = vz_cmap_color(c->pal->seq, p[k]);
            vz_fill(c, cell, bg);
            vz_ink(c, bg);
            vz_rgba ink = light(bg) ? c->th->ink_on_light : c->th->ink_on_dark;
            char tok[16], num[16];
            sf_tokenizer_piece(&v->m->tok, k, tok);
            if (!strcmp(tok, " ")) strcpy(tok, "\xe2\x90\xa3");
            /* the probability with two decimals, ".96" where "0.96" does not fit, else none (never cut: "0.…") */
            int form = vz_cell_form(c, &p[k], NULL, 1, two ? px : sp, two ? cell.w : cell.w / 2, VZ_CELL_2, VZ_CELL_2_SHORT);
            if (form >= 0) vz_fmt_cell(num, sizeof num, p[k], form);
            else num[0] = 0;
            if (two && extra > 0) { /* the top token and its probability, then the next ones, smaller: "g .20" */
                int y0 = cell.y + (cell.h - 2 * lh - extra * slh - pad / 2) / 2;
                vz_print(c, tok, px, ink, cell.x + cell.w / 2, y0, VZ_CENTER, cell.w);
                vz_print(c, num, px, ink, cell.x + cell.w / 2, y0 + lh, VZ_CENTER, cell.w);
                int taken[VZ_LENS_TOP] = {k}, nt = 1;
                for (; nt <= extra; nt++) { /* the largest probabilities not shown yet, in order */
                    int best = -1;
                    for (int i = 0; i < V; i++) {
                        int seen = 0;
                        for (int u = 0; u < nt; u++) seen |= taken[u] == i;
                        if (!seen && (best < 0 || p[i] > p[best])) best = i;
                    }
                    if (best < 0) break;
                    taken[nt] = best;
                }
                char lines[VZ_LENS_TOP][48];
                int shown = 0; /* one form for the cell's lines, "g 0.20" else "g .20"; lines that fit in neither left out */
                for (int f3 = VZ_CELL_2; f3 <= VZ_CELL_2_SHORT && shown < nt - 1; f3++) {
                    shown = 0;
                    for (int u = 1; u < nt; u++) {
                        char t3[16], n3[16];
                        sf_tokenizer_piece(&v->m->tok, taken[u], t3);
                        if (!strcmp(t3, " ")) strcpy(t3, "\xe2\x90\xa3");
                        vz_fmt_cell(n3, sizeof n3, p[taken[u]], f3);
                        snprintf(lines[u - 1], sizeof lines[0], "%s %s", t3, n3);
                        if (vz_label_w(c, lines[u - 1], sp) > cell.w - 2) break;
                        shown++;
                    }
                }
                for (int u = 0; u < shown; u++)
                    vz_print(c, lines[u], sp, ink, cell.x + cell.w / 2, y0 + 2 * lh + pad / 2 + u * slh, VZ_CENTER, cell.w);
            } else if (two) {
                vz_print(c, tok, px, ink, cell.x + cell.w / 2, cell.y + cell.h / 2, VZ_CENTER | VZ_BOTTOM, cell.w);
                vz_print(c, num, px, ink, cell.x + cell.w / 2, cell.y + cell.h / 2, VZ_CENTER, cell.w);
            } else {
                vz_print(c, tok, px, ink, cell.x + pad / 2, cell.y + cell.h / 2, VZ_MIDDLE, cell.w / 2);
                vz_print(c, num, sp, ink, cell.x + cell.w - pad / 2, cell.y + cell.h / 2, VZ_RIGHT | VZ_MIDDLE, cell.w / 2);
            }
            if (l == nl - 1 && t == now) vz_outline(c, cell, c->th->accent, vz_px(c, 2));
        }
        vz_ink(c, c->th->panel);
    }
}
