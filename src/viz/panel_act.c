/* panel_act.c - the activations: the residual stream of the cursor's token after every sub-layer (with its
 * L2 norm), the residual stream of every token the cursor has reached after one chosen sub-layer (tokens x
 * channels, to compare tokens), Q, K and V of the focused head; and, when a lesson highlights rows no other
 * panel shows, those rows instead. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "panels.h"

#define MAX_STAGES (2 + 3 * SF_MAX_LAYERS)

/* Returns 1 if a highlight g of entry e is already on screen: drawn by an earlier panel over its first row,
 * or (with stages) a row the residual-stream view shows: the cursor's token at one of its stages, or any
 * token at the stage the tokens x channels view shows. */
static int hl_on_screen(const vz_ctx *c, const vz_view *v, const vz_highlight *g, const sf_trace_entry *e, int t, int stages) {
    if (!strcmp(e->name, "dec.probs") || !strcmp(e->name, "dec.sample.probs")) return 1; /* the output panel's bars */
    for (int i = 0; i < c->n_hits; i++) {
        const vz_heat *h = &c->hits[i].h;
        if (h->e == e && g->lo[0] >= h->row0 && g->lo[0] < h->row0 + h->nrows) return 1;
    }
    const char *leaf = strrchr(e->name, '.');
    leaf = leaf ? leaf + 1 : e->name;
    int stage = !strcmp(e->name + 4, "embed.sum") || !strcmp(e->name + 4, "ln_f") ||
                (e->head < 0 && e->layer >= 0 && !strcmp(leaf, v->m->cfg.norm == SF_NORM_POST ? "norm" : "resid"));
    if (stages && stage && e->stack == v->cur.phase && g->lo[0] == t && g->hi[0] == t) return 1;
    return 0;
}

/* Marks with a dot, at the right end of grid g (the compared run's matrix, rh pixels a row), every place whose
 * row differs from the main run's row at the same place (the same token when aligned): a cell with
 * |a-b| / (1+|a|) > 1e-3, as @expect differ; rows not computed in both runs get none. */
static void row_dots(vz_ctx *c, const vz_view *v, const vz_view *cv, const sf_trace_entry *e, const sf_trace_entry *ce, int nr,
                    int vis, int cvis, vz_rect g, int rh) {
    int dims[2], dot = rh / 3 < 3 ? 3 : rh / 3 > 8 ? 8 : rh / 3;
    sf_trace_shape(v->tr, e, dims);
    if (rh < 4) return;
    for (int i = 0; i < nr && i < dims[0]; i++) {
        int ci = e->len[0] == SF_AXIS_SRC ? vz_view_pos(cv, SF_STACK_ENC, i) : i;
        if (i >= vis || ci >= cvis) continue;
        const float *a = sf_trace_row(e, i), *b = sf_trace_row(ce, ci);
        int differs = 0;
        for (int j = 0; j < dims[1] && !differs; j++) differs = fabsf(a[j] - b[j]) / (1.0f + fabsf(a[j])) > 1e-3f;
        if (!differs) continue;
        vz_rect dr = {g.x + g.w - dot - 2, g.y + i * rh + (rh - dot) / 2, dot, dot};
        vz_fill(c, vz_rect_inset(dr, -1), c->th->dot_ring);
        vz_fill(c, dr, c->th->dot);
    }
}

/* Writes the line naming framed cell (position r, column j) of entry e in v's run, value num, into out: "framed:
 * channel 2 = 1.99" when the entry is drawn as one row (its title names the position), else with the position and
 * its token, "framed: position 1 ('a'), channel 1 = -0.34". */
static void framed_at(vz_ctx *c, const vz_view *v, const sf_trace_entry *e, int one_row, int r, int j, const char *num, char *out,
                      size_t n) {
    const char *axis = !strcmp(e->axis[1], "channel") ? vz_s(c, VZ_S_AXIS_CHANNEL_ONE)
                       : !strcmp(e->axis[1], "hidden") ? vz_s(c, VZ_S_AXIS_HIDDEN_ONE)
                       : !strcmp(e->axis[1], "head_dim") ? vz_s(c, VZ_S_AXIS_HEAD_DIM) : e->axis[1];
    char tok[16];
    if (one_row) snprintf(out, n, vz_s(c, VZ_S_FRAMED_CH), axis, j, num);
    else snprintf(out, n, vz_s(c, VZ_S_FRAMED_ROW_CH), r, vz_token_label(v, e->stack, r, tok), axis, j, num);
}

/* Returns the height the lines under entry e's grid need (0 if none): one for each cell the lesson frames alone in
 * it, wrapped to width w, each cell's number too small to print inside (vz_heat_unprinted; every cell of a 64-channel
 * row is), plus the frame's reach. */
static int framed_room(vz_ctx *c, const vz_view *v, const sf_trace_entry *e, int one_row, int w) {
    int need = 0, sp = c->lay.f.small;
    for (int i = 0; i < c->n_hl; i++) {
        const vz_highlight *g = &c->hl[i];
        if (strcmp(g->name, e->name) || g->style || e->rank < 2 || g->lo[0] != g->hi[0] || g->lo[1] != g->hi[1] || g->lo[1] < 0)
            continue;
        char num[24], line[128];
        int dims[2];
        sf_trace_shape(v->tr, e, dims);
        if (g->lo[0] >= dims[0] || g->lo[1] >= dims[1]) continue;
        vz_fmt_cell(num, sizeof num, sf_trace_row(e, g->lo[0])[g->lo[1]], VZ_CELL_2);
        framed_at(c, v, e, one_row, g->lo[0], g->lo[1], num, line, sizeof line);
        need += vz_wrap_height(c, line, sp, w);
    }
    return need ? need + vz_px(c, 3) + 1 : 0;
}

/* A lesson highlights rows of entries no panel shows (e.g. every position's embedding, a sub-layer's output,
 * a feed-forward layer's hidden units): draws up to four of them into r, one above the other on a shared
 * colour scale; an entry whose highlights all pick the same row is drawn as that row only, else every row
 * (rows = positions). Returns 1 if it drew. */
static int lesson_matrices(vz_ctx *c, const vz_view *v, vz_rect r, int t) {
    const sf_trace_entry *es[4];
    int row[4], n = 0; /* row: the one row all of the entry's highlights pick, or -1 for every row */
    int need = 0; /* something the residual-stream view would not show: then this view replaces it */
    for (int i = 0; i < v->n_hl; i++) {
        const sf_trace_entry *e = sf_trace_find(v->tr, v->hl[i].name);
        need |= e && e->rank == 2 && strcmp(e->axis[1], "key") && !hl_on_screen(c, v, &v->hl[i], e, t, 1);
    }
    if (!need) return 0;
    for (int i = 0; i < v->n_hl; i++) {
        const sf_trace_entry *e = sf_trace_find(v->tr, v->hl[i].name);
        if (!e || e->rank != 2 || !strcmp(e->axis[1], "key") || hl_on_screen(c, v, &v->hl[i], e, t, 0)) continue;
        int one = v->hl[i].lo[0] == v->hl[i].hi[0] ? v->hl[i].lo[0] : -1, k = 0;
        while (k < n && es[k] != e) k++;
        if (k < n) { if (row[k] != one) row[k] = -1; continue; }
        if (n == 4) continue;
        es[n] = e;
        row[n++] = one;
    }
    if (n == 0) return 0;
    if (v->cmp) /* a comparison: whole matrices, so a row can be found again in another place */
        for (int k = 0; k < n; k++) row[k] = -1;
    vz_rect in = vz_panel_frame(c, r, vz_s(c, VZ_S_LESSON_POINTS), v->focus_panel == VZ_P_ACT || c->lay.spot == VZ_P_ACT);
    int px = c->lay.f.label, sp = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, leg_h = vz_legend_h(c);
    float range = 1e-6f;
    int dims[4][2], vis[4], nr[4], total = 0;
    for (int k = 0; k < n; k++) {
        sf_trace_shape(v->tr, es[k], dims[k]);
        vis[k] = vz_rows_visible(v, es[k], dims[k][0]);
        nr[k] = row[k] >= 0 ? 1 : dims[k][0];
        total += nr[k];
        int r0 = row[k] >= 0 ? row[k] : 0, r1 = row[k] >= 0 ? row[k] + 1 : vis[k];
        if (r1 > vis[k]) r1 = vis[k];
        if (r1 > r0) {
            float a = vz_absmax(es[k], r0, r1, dims[k][1]);
            if (a > range) range = a;
        }
    }
    int head = v->cmp ? vz_lh(c, sp) + pad / 2 : 0; /* a comparison: which side is which run, what the dots say */
    /* each entry: its title line and pad / 2, its rows and pad / 2; then pad / 2 and the legend */
    int n_tok = v->cur.phase == SF_STACK_ENC ? v->s->n_src : v->s->n_tgt;
    int lab_w = vz_token_label_w(c, v, SF_STACK_ENC, v->s->n_src, px);
    int lw2 = vz_token_label_w(c, v, SF_STACK_DEC, v->s->n_tgt, px);
    lab_w = (lab_w > lw2 ? lab_w : lw2) + 2 * pad;
    int avail = in.h - leg_h - pad / 2 - head - n * (vz_lh(c, sp) + 2 * (pad / 2)), room[4];
    for (int k = 0; k < n; k++) { /* the lines naming framed cells' numbers, under their grids, while every row keeps half
                                    * a line at least (a small panel, 1280x720's four rows of lesson 8 step 5: rows first) */
        room[k] = framed_room(c, v, es[k], row[k] >= 0, v->cmp ? (in.w - 2 * lab_w - pad) / 2 : in.w - lab_w);
        if (total > 0 && (avail - room[k]) / total < lh / 2) room[k] = 0;
        avail -= room[k];
    }
    int rh = total > 0 ? avail / total : 0;
    if (rh > lh * 4) rh = lh * 4; /* rows as tall as the room allows, up to four lines */
    if (rh < 1) return 1;
    (void)n_tok;
    /* a head's values drawn whole beside the query being computed: each value row's weight in that query's softmax
     * at its right, "×0.32", the weights the weighted sum multiplies them by (lesson 4 step 7); every entry's grid
     * then leaves that column free, so the rows stay aligned channel for channel */
    const sf_trace_entry *pes[4] = {NULL, NULL, NULL, NULL};
    int wq = v->cur.token, wcol = 0;
    for (int k = 0; k < n && !v->cmp; k++) {
        const sf_trace_entry *e = es[k];
        size_t nlen = strlen(e->name);
        if (row[k] >= 0 || nlen <= 2 || nlen >= 120 || strcmp(e->name + nlen - 2, ".v")) continue;
        char pn[128];
        snprintf(pn, sizeof pn, "%.*s.probs", (int)(nlen - 2), e->name);
        const sf_trace_entry *pe = sf_trace_find(v->tr, pn);
        int pd[2] = {0, 0};
        if (pe) sf_trace_shape(v->tr, pe, pd);
        int qstack = strstr(e->name, ".cross.") ? SF_STACK_DEC : e->stack;
        if (!pe || pe->rank != 2 || pd[1] != dims[k][0] || wq < 0 || wq >= pd[0] || v->cur.phase != qstack ||
            !vz_row_visible(v, pe, wq) || rh < vz_lh(c, sp))
            continue;
        pes[k] = pe;
        wcol = vz_label_w(c, "\xc3\x97" "0.00", sp) + pad;
    }
    int maxc = 1; /* rows are drawn as wide as their columns are many, against the widest entry (64 and 256 wide differ) */
    for (int k = 0; k < n; k++)
        if (dims[k][1] > maxc) maxc = dims[k][1];
    int y = in.y;
    if (head) {
        int hw = (in.w - 2 * lab_w - pad) / 2, x2 = in.x + lab_w + hw + pad;
        vz_print(c, vz_s(c, VZ_S_LEFT_RUN), sp, c->th->accent, in.x + lab_w, y, VZ_LEFT, hw);
        vz_str right = !v->cmp->diff_ref ? VZ_S_RIGHT_RUN : v->cmp->align ? VZ_S_RIGHT_RUN_ALIGNED : VZ_S_RIGHT_RUN_DOTS;
        /* (a narrow panel: "right (dot: differs)", then "right run"; lesson 3 step 3 in Chinese at 1024x768 cut the
         * aligned label to "右边，按词元对齐（白点：不…" once the grid fitted there) */
        const char *rl = vz_s(c, right);
        if (right != VZ_S_RIGHT_RUN && vz_label_w(c, rl, sp) > in.x + in.w - x2) rl = vz_s(c, VZ_S_RIGHT_RUN_DOTS_S);
        vz_print_fit(c, rl, vz_s(c, VZ_S_RIGHT_RUN), sp, c->th->focus, x2, y, VZ_LEFT, in.x + in.w - x2);
        y += head;
    }
    for (int k = 0; k < n; k++) {
        const sf_trace_entry *e = es[k];
        char t2[160], tok[16];
        const char *axis = !strcmp(e->axis[1], "channel") ? vz_s(c, VZ_S_AXIS_CHANNEL)
                           : !strcmp(e->axis[1], "hidden") ? vz_s(c, VZ_S_AXIS_HIDDEN)
                           : !strcmp(e->axis[1], "head_dim") ? vz_s(c, VZ_S_AXIS_HEAD_DIM) : e->axis[1]; /* (Chinese:
                             "列 = 头维度", it read "head_dim" in lesson 4) */
        if (row[k] >= 0)
            snprintf(t2, sizeof t2, vz_s(c, VZ_S_LESSON_ROW), e->name, row[k], vz_token_label(v, e->stack, row[k], tok), dims[k][1], axis);
        else
            snprintf(t2, sizeof t2, vz_s(c, VZ_S_LESSON_ROWS), e->name, axis);
        int title_y = y, title_drawn = 0; /* (drawn after the grid: its framed numbers may need it shorter) */
        y += vz_lh(c, sp) + pad / 2;
        /* with a comparison, the compared run's same rows beside this run's */
        const sf_trace_entry *ce = v->cmp ? sf_trace_find(v->cmp->tr, e->name) : NULL;
        int cdims[2] = {0, 0};
        if (ce) sf_trace_shape(v->cmp->tr, ce, cdims);
        if (ce && (cdims[1] != dims[k][1] || (row[k] >= 0 ? row[k] >= cdims[0] : cdims[0] != dims[k][0]))) ce = NULL;
        int gw = ce ? (in.w - 2 * lab_w - pad) / 2 : in.w - lab_w;
        const sf_trace_entry *pe = pes[k];
        if (wcol) gw -= wcol;
        for (int side = 0; side < (ce ? 2 : 1); side++) {
            const vz_view *sv = side ? v->cmp : v;
            const sf_trace_entry *se = side ? ce : e;
            vz_rect g = {in.x + lab_w + side * (gw + lab_w + pad), y, (int)((long)gw * dims[k][1] / maxc), rh * nr[k]};
            if (g.w < 1) g.w = 1;
            int r0 = row[k] >= 0 ? row[k] : 0;
            int sv_vis = side ? vz_rows_visible(sv, se, cdims[0]) : vis[k];
            vz_heat hm = {se, r0, nr[k], dims[k][1], row[k] >= 0 ? (row[k] < sv_vis) : sv_vis, c->pal->div, 0, range, NULL, 0, 0, 0, NULL, NULL, 1};
            vz_view_align_heat(sv, &hm); /* a run aligned by token: its rows in the left run's token order */
            char id[64];
            snprintf(id, sizeof id, "%slesson.%d", side ? "cmp." : "", k);
            int keep = c->n_hl;
            /* the lesson's highlights name places of its own run, the left one: on the right they frame the same
             * tokens when it is aligned by token, and nothing when it is not (another token stands there) */
            if (side && !(hm.rperm && e->len[0] == SF_AXIS_SRC)) c->n_hl = 0;
            if (dims[k][0] > 0) vz_heatmap(c, id, &hm, g);
            if (room[k] > 0 && dims[k][0] > 0) { /* a framed cell too small for its number: the number under the grid */
                int ur[VZ_MAX_HIGHLIGHTS], uc[VZ_MAX_HIGHLIGHTS], yy = g.y + g.h + vz_px(c, 3) + 1, w = ce ? gw : in.x + in.w - g.x;
                char un[VZ_MAX_HIGHLIGHTS][24], line[128];
                int nu = vz_heat_unprinted(c, &hm, g, ur, uc, un, VZ_MAX_HIGHLIGHTS);
                for (int u = 0; u < nu; u++) {
                    framed_at(c, sv, e, row[k] >= 0, vz_view_pos(sv, e->stack, ur[u]), uc[u], un[u], line, sizeof line);
                    int hh = vz_wrap_height(c, line, sp, w);
                    if (yy + hh > g.y + g.h + room[k]) break;
                    yy = vz_wrap(c, line, sp, c->th->hilite, (vz_rect){g.x, yy, w, hh});
                }
            } else if (!ce && dims[k][0] > 0) { /* no room under the grid (1280x720's four rows of lesson 8 step 5): the
                                                 * numbers after the entry's title, on its line; the title shorter if that
                                                 * is what it takes (1024x768's rows two and three showed no number: the
                                                 * narration's 2.61 and 4.44 were nowhere) */
                int ur[VZ_MAX_HIGHLIGHTS], uc[VZ_MAX_HIGHLIGHTS];
                char un[VZ_MAX_HIGHLIGHTS][24], line[VZ_MAX_HIGHLIGHTS][128], t3[160];
                int nu = vz_heat_unprinted(c, &hm, g, ur, uc, un, VZ_MAX_HIGHLIGHTS), need = 0;
                for (int u = 0; u < nu; u++) {
                    framed_at(c, sv, e, row[k] >= 0, vz_view_pos(sv, e->stack, ur[u]), uc[u], un[u], line[u], sizeof line[u]);
                    need += vz_label_w(c, line[u], sp) + 2 * pad;
                }
                /* the whole title, then without the column count ("enc.L0.ffn.proj, position 2 ('a')"), then the entry's name */
                for (int lvl = 0; lvl < 3 && nu > 0; lvl++) {
                    if (lvl == 1 && row[k] < 0) continue;
                    if (lvl == 0) snprintf(t3, sizeof t3, "%s", t2);
                    else if (lvl == 1) snprintf(t3, sizeof t3, vz_s(c, VZ_S_LESSON_ROW_S), e->name, row[k], vz_token_label(v, e->stack, row[k], tok));
                    else snprintf(t3, sizeof t3, "%s", e->name);
                    if (in.x + vz_label_w(c, t3, sp) + 2 * pad + need - 2 * pad <= in.x + in.w || lvl == 2) {
                        snprintf(t2, sizeof t2, "%s", t3);
                        break;
                    }
                }
                int title_end = in.x + vz_label_w(c, t2, sp) + 2 * pad;
                vz_print(c, t2, sp, c->th->fg, in.x, title_y, VZ_LEFT, in.w);
                title_drawn = 1;
                for (int u = 0; u < nu; u++) {
                    int lw = vz_label_w(c, line[u], sp);
                    if (title_end + lw > in.x + in.w) break;
                    vz_print(c, line[u], sp, c->th->hilite, title_end, title_y, VZ_LEFT, lw);
                    title_end += lw + 2 * pad;
                }
            }
            c->n_hl = keep;
            if (pe && !side) { /* the weights beside the value rows */
                const float *wp = sf_trace_row(pe, wq);
                int nvr = vis[k] < dims[k][0] ? vis[k] : dims[k][0];
                for (int i = 0; i < nvr; i++) {
                    char wn[24], wt[32];
                    vz_fmt_cell(wn, sizeof wn, wp[i], VZ_CELL_2);
                    snprintf(wt, sizeof wt, "\xc3\x97%s", wn);
                    vz_print(c, wt, sp, c->th->fg, g.x + g.w + pad / 2, g.y + i * rh + rh / 2, VZ_LEFT | VZ_MIDDLE, wcol - pad / 2);
                }
            }
            if (side && v->cmp->diff_ref) row_dots(c, v, sv, e, se, nr[k], vis[k], sv_vis, g, rh);
            int stack_n = e->stack == SF_STACK_ENC ? sv->s->n_src : sv->s->n_tgt;
            if (row[k] >= 0) {
                if (r0 < stack_n && rh >= vz_lh(c, px) * 3 / 4)
                    vz_print(c, vz_token_label(sv, e->stack, r0, tok), px, side ? c->th->focus : c->th->fg, g.x - pad,
                            g.y + rh / 2, VZ_RIGHT | VZ_MIDDLE, 0);
            } else {
                /* the cursor's token is labelled first, lit (lit means the cursor everywhere: lesson 2 step 4 lit the
                 * framed position 3 while the cursor stood at 5); the rows a lesson frames on their own keep their
                 * labels, unlit, when labels thin out */
                int nl = nr[k] < stack_n ? nr[k] : stack_n, now = sv->cur.phase == e->stack ? sv->cur.token : -1;
                int keep[VZ_MAX_HIGHLIGHTS], nkeep = 0;
                for (int h = 0; h < c->n_hl; h++)
                    if (!strcmp(c->hl[h].name, e->name) && c->hl[h].lo[0] == c->hl[h].hi[0] && c->hl[h].lo[0] < nl)
                        keep[nkeep++] = c->hl[h].lo[0];
                vz_axis_labels_keep(c, sv, e->stack, nl, g, rh, 0, now < nl ? now : -1, keep, nkeep, g.x - pad, 0,
                                    (vz_rect){0, 0, 0, 0});
            }
        }
        if (!title_drawn) vz_print(c, t2, sp, c->th->fg, in.x, title_y, VZ_LEFT, in.w);
        y += rh * nr[k] + room[k] + pad / 2;
    }
    vz_legend(c, (vz_rect){in.x + lab_w, y + pad / 2, in.w - lab_w, leg_h}, c->pal->div, -range, range, 0, vz_s(c, VZ_S_LEG_ABSMAX));
    return 1;
}

/* The stages of the residual stream of one stack: entries and labels, in order. */
typedef struct {
    const sf_trace_entry *e[MAX_STAGES];
    char lab[MAX_STAGES][32];
    int n;
} stages;

/* Lists the stages of stack sn: the embedding sum, every sub-layer's output, the final LayerNorm. */
static void list_stages(vz_ctx *c, const vz_view *v, const char *sn, int nl, stages *s) {
    const sf_config *m = &v->m->cfg;
    s->n = 0;
    const char *out_leaf = m->norm == SF_NORM_POST ? "norm" : "resid";
    const sf_trace_entry *first = vz_entry(v, "%s.embed.sum", sn);
    if (first) { s->e[s->n] = first; snprintf(s->lab[s->n++], 32, "%s", vz_s(c, VZ_S_STAGE_EMBED)); }
    static const char *const subs[3] = {"self", "cross", "ffn"};
    static const vz_str names[3] = {VZ_S_STAGE_SELF, VZ_S_STAGE_CROSS, VZ_S_STAGE_FFN};
    for (int l = 0; l < nl; l++)
        for (int k = 0; k < 3; k++) {
            const sf_trace_entry *e = vz_entry(v, "%s.L%d.%s.%s", sn, l, subs[k], out_leaf);
            if (e && s->n < MAX_STAGES) { s->e[s->n] = e; snprintf(s->lab[s->n++], 32, vz_s(c, names[k]), l); }
        }
    const sf_trace_entry *lf = vz_entry(v, "%s.ln_f", sn);
    if (lf && s->n < MAX_STAGES) { s->e[s->n] = lf; snprintf(s->lab[s->n++], 32, "%s", vz_s(c, VZ_S_STAGE_LNF)); }
}

/* Draws the stages x channels strip of token t into r, with norms and its legend; returns the chosen stage. */
static void stage_strip(vz_ctx *c, const vz_view *v, const stages *s, int t, int ntok, int sel, vz_rect r) {
    int px = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, leg_h = vz_legend_h(c);
    int C = v->m->cfg.d_model;
    int lab_w = 0;
    for (int i = 0; i < s->n; i++) {
        int w = vz_label_w(c, s->lab[i], px);
        if (w > lab_w) lab_w = w;
    }
    lab_w += pad;
    int norm_w = vz_label_w(c, "000.0", px) + pad + r.w / 12;
    int sh = (r.h - leg_h - pad) / (s->n ? s->n : 1);
    if (sh > lh * 2) sh = lh * 2;
    if (sh < 2) return;
    float range = 1e-6f, nmax = 1e-6f, norms[MAX_STAGES];
    int vis[MAX_STAGES];
    for (int i = 0; i < s->n; i++) {
        vis[i] = t >= 0 && t < ntok && vz_row_visible(v, s->e[i], t);
        norms[i] = 0;
        if (!vis[i]) continue;
        const float *x = sf_trace_row(s->e[i], t);
        double s2 = 0;
        for (int j = 0; j < C; j++) { s2 += (double)x[j] * x[j]; if (fabsf(x[j]) > range) range = fabsf(x[j]); }
        norms[i] = (float)sqrt(s2);
        if (norms[i] > nmax) nmax = norms[i];
    }
    int gw = r.w - lab_w - norm_w - pad;
    int lstep = sh >= lh ? 1 : (lh + sh - 1) / sh; /* thin strips: label every lstep-th one */
    char num[24], id[64];
    for (int i = 0; i < s->n; i++) {
        int y = r.y + i * sh;
        if (i % lstep == 0 || i == sel)
            if (i == sel || (sel < 0 || abs(i - sel) >= lstep))
                vz_print(c, s->lab[i], px, i == sel ? c->th->focus : c->th->fg, r.x, y + sh / 2, VZ_MIDDLE, lab_w - pad / 2);
        vz_heat hm = {s->e[i], t >= 0 && t < ntok ? t : 0, 1, C, vis[i], c->pal->div, 0, range, NULL, 0, 0, 0, NULL, NULL, 0};
        snprintf(id, sizeof id, "act.%d", i);
        vz_rect g = {r.x + lab_w, y, gw, sh - 1};
        vz_heatmap(c, id, &hm, g);
        if (i == sel) vz_outline(c, vz_rect_inset(g, -1), c->th->focus, 1);
        vz_click_add(c, (vz_rect){r.x, y, lab_w + gw, sh}, VZ_CLICK_STAGE, i, 0, 0);
        if (vis[i]) {
            int bw = (int)((float)(norm_w - pad - vz_label_w(c, "000.0", px)) * norms[i] / nmax);
            int nx = r.x + r.w - norm_w;
            vz_fill(c, (vz_rect){nx, y + 1, bw > 1 ? bw : 1, sh - 3}, c->th->dim);
            snprintf(num, sizeof num, "%.1f", (double)norms[i]);
            if (sh >= lh && (i % lstep == 0)) vz_print(c, num, px, c->th->fg, nx + bw + pad / 2, y + sh / 2, VZ_MIDDLE, 0);
        }
    }
    int ly = r.y + s->n * sh + pad / 2;
    vz_legend(c, (vz_rect){r.x + lab_w, ly, gw, leg_h}, c->pal->div, -range, range, 0, vz_s(c, VZ_S_LEG_ABSMAX));
    vz_print(c, vz_s(c, VZ_S_ACT_NORM), px, c->th->dim, r.x + r.w - norm_w, ly, VZ_LEFT, norm_w);
}

/* Draws every reached token's residual stream after stage sel into r: tokens down, channels across. */
static void tokens_view(vz_ctx *c, const vz_view *v, const stages *s, int sel, int stack, int ntok, vz_rect r) {
    if (sel < 0 || sel >= s->n || ntok <= 0) return;
    int px = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, leg_h = vz_legend_h(c);
    const sf_trace_entry *e = s->e[sel];
    char t[160];
    snprintf(t, sizeof t, vz_s(c, VZ_S_ACT_TOKENS), s->lab[sel]);
    vz_print_fit(c, t, NULL, px, c->th->dim, r.x, r.y, VZ_LEFT, r.w); /* (narrow: without "(click a sub-layer …)") */
    int nvis = vz_rows_visible(v, e, ntok);
    if (nvis <= 0) return;
    int lab_w = vz_token_label_w(c, v, stack, ntok, c->lay.f.label) + pad;
    vz_rect area = {r.x + lab_w, r.y + lh + pad / 2, r.w - lab_w, r.h - lh - pad - leg_h - pad / 2};
    int rh = area.h / ntok; /* every token's row the same height, so rows keep their place as the cursor goes on */
    if (rh > vz_lh(c, c->lay.f.label) * 2) rh = vz_lh(c, c->lay.f.label) * 2;
    if (rh < 1) return;
    int C = v->m->cfg.d_model;
    float range = vz_absmax(e, 0, nvis, C);
    vz_rect g = {area.x, area.y, area.w, rh * nvis};
    vz_heat hm = {e, 0, nvis, C, nvis, c->pal->div, 0, range, NULL, 0, 0, 0, NULL, NULL, 0};
    vz_heatmap(c, "act.tokens", &hm, g);
    int cur = v->cur.phase == stack ? v->cur.token : -1;
    if (cur >= 0 && cur < nvis) vz_outline(c, (vz_rect){g.x - 1, g.y + cur * rh - 1, g.w + 2, rh + 2}, c->th->accent, 1);
    vz_axis_labels(c, v, stack, nvis, g, rh, 0, cur < nvis ? cur : -1, g.x - pad / 2, (vz_rect){0, 0, 0, 0});
    vz_legend(c, (vz_rect){area.x, area.y + rh * ntok + pad / 2, area.w, leg_h}, c->pal->div, -range, range, 0,
              vz_s(c, VZ_S_LEG_ABSMAX));
}

/* Draws Q, K and V of the focused head into r: three images side by side, tokens down and the head's channels
 * (GPT-2: 64) across, the query's row outlined in Q, on one colour range (the largest |x| of the three, so
 * their colours compare) that the legend under them states. */
static void qkv_view(vz_ctx *c, const vz_view *v, vz_rect r) {
    if (v->n_blocks == 0) return;
    char p[32];
    vz_block b = v->blocks[v->block];
    vz_block_prefix(b, p, sizeof p);
    int q = vz_view_query(v);
    int px = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, leg_h = vz_legend_h(c);
    static const char *const leaf[3] = {"q", "k", "v"};
    const sf_trace_entry *es[3];
    int d[3][2], nv[3];
    float rg = 1e-6f;
    for (int i = 0; i < 3; i++) {
        es[i] = vz_entry(v, "%s.H%d.%s", p, v->head, leaf[i]);
        if (!es[i]) continue;
        sf_trace_shape(v->tr, es[i], d[i]);
        nv[i] = vz_rows_visible(v, es[i], d[i][0]);
        if (nv[i] > 0 && d[i][1] > 0) {
            float a = vz_absmax(es[i], 0, nv[i], d[i][1]);
            if (a > rg) rg = a;
        }
    }
    int legend = r.h - lh - 2 - leg_h - pad >= 8; /* room for the legend under the images */
    int w3 = (r.w - 2 * pad) / 3;
    for (int i = 0; i < 3; i++) {
        const sf_trace_entry *e = es[i];
        if (!e) continue;
        char t2[96];
        if (i == 0 && q < 0) snprintf(t2, sizeof t2, vz_s(c, VZ_S_ACT_QKV_Q0), p, v->head);
        else if (i == 0) snprintf(t2, sizeof t2, vz_s(c, VZ_S_ACT_QKV_Q), v->head, q);
        else snprintf(t2, sizeof t2, vz_s(c, i == 1 ? VZ_S_ACT_QKV_K : VZ_S_ACT_QKV_V), d[i][1]);
        int x = r.x + i * (w3 + pad);
        char alt[32];
        snprintf(alt, sizeof alt, vz_s(c, VZ_S_ACT_QKV_Q_S), v->head);
        vz_print_fit(c, t2, i == 0 ? alt : NULL, px, c->th->fg, x, r.y, VZ_LEFT, w3); /* (narrow: "q H0", the query's row
                                                                                        * outlined) */
        vz_rect box = {x, r.y + lh + 2, w3, r.h - lh - 2 - (legend ? leg_h + pad : 0)};
        int nr = d[i][0];
        if (nr <= 0 || d[i][1] <= 0 || box.h <= 0) continue;
        int cell;
        vz_rect g = vz_fit_grid(box, nr, d[i][1], lh, &cell);
        if (cell == 0) g = box; /* more rows or channels than pixels: the image squeezed into the box */
        vz_heat hm = {e, 0, nr, d[i][1], nv[i], c->pal->div, 0, rg, NULL, 0, 0, 0, NULL, NULL, 0};
        char id[64];
        snprintf(id, sizeof id, "qkv.%d", i);
        vz_heatmap(c, id, &hm, g);
        if (i == 0 && q >= 0 && q < nr) { /* the query's row */
            int y0 = g.y + (int)((long)q * g.h / nr), y1 = g.y + (int)((long)(q + 1) * g.h / nr);
            vz_outline(c, (vz_rect){g.x - 1, y0 - 1, g.w + 2, (y1 > y0 ? y1 - y0 : 1) + 2}, c->th->accent, 1);
        }
    }
    if (legend)
        vz_legend(c, (vz_rect){r.x, r.y + r.h - leg_h, r.w, leg_h}, c->pal->div, -rg, rg, 0, vz_s(c, VZ_S_LEG_QKV));
}

void vz_panel_act(vz_ctx *c, const vz_view *v, vz_rect r) {
    const sf_config *m = &v->m->cfg;
    int stack = v->cur.phase;
    const char *sn = stack == SF_STACK_ENC ? "enc" : "dec";
    int nl = stack == SF_STACK_ENC ? m->n_enc_layers : m->n_dec_layers;
    const sf_trace_entry *first = vz_entry(v, "%s.embed.sum", sn);
    if (!first) return;
    int dims[2];
    sf_trace_shape(v->tr, first, dims);
    int ntok = dims[0];
    int t = v->cur.token >= 0 ? v->cur.token : ntok - 1;
    if (v->n_hl && lesson_matrices(c, v, r, t)) return;
    char title[160], alt[160] = "";
    const char *sname = vz_s(c, stack == SF_STACK_ENC ? VZ_S_ACT_ENC : VZ_S_ACT_DEC);
    if (t >= 0) snprintf(title, sizeof title, vz_s(c, VZ_S_ACT_TITLE), sname, t), snprintf(alt, sizeof alt, vz_s(c, VZ_S_ACT_TITLE_S), sname, t);
    else snprintf(title, sizeof title, "%s", vz_s(c, VZ_S_ACT_TITLE0));
    vz_rect in = vz_panel_frame_alt(c, r, title, alt[0] ? alt : NULL, v->focus_panel == VZ_P_ACT || c->lay.spot == VZ_P_ACT);
    if (t < 0) return;
    stages s;
    list_stages(c, v, sn, nl, &s);
    /* the stage the tokens view shows: the one asked for, else the last one the cursor reached */
    int sel = v->act_stage >= 0 && v->act_stage < s.n ? v->act_stage : -1;
    if (sel < 0)
        for (int i = 0; i < s.n; i++)
            if (t < ntok && vz_row_visible(v, s.e[i], t)) sel = i;
    if (sel < 0) sel = 0;
    int pad = c->lay.pad, lh = vz_lh(c, c->lay.f.small);
    if (in.w >= in.h * 3 / 2) { /* wide: the strip at the left, every token at the right, Q K V under the strip */
        int hw = (in.w - 2 * pad) / 2;
        int qh = in.h >= 16 * lh ? in.h / 4 : 0;
        stage_strip(c, v, &s, t, ntok, sel, (vz_rect){in.x, in.y, hw, in.h - qh - (qh ? pad : 0)});
        tokens_view(c, v, &s, sel, stack, ntok, (vz_rect){in.x + hw + 2 * pad, in.y, in.w - hw - 2 * pad, in.h});
        if (qh) qkv_view(c, v, (vz_rect){in.x, in.y + in.h - qh, hw, qh});
        return;
    }
    /* tall: the strip, then every token, then Q K V when there is room */
    int qh = in.h >= 22 * lh ? in.h / 5 : 0;
    int sh = (in.h - qh - (qh ? pad : 0) - pad) / 2;
    stage_strip(c, v, &s, t, ntok, sel, (vz_rect){in.x, in.y, in.w, sh});
    tokens_view(c, v, &s, sel, stack, ntok, (vz_rect){in.x, in.y + sh + pad, in.w, in.h - qh - (qh ? pad : 0) - sh - pad});
    if (qh) qkv_view(c, v, (vz_rect){in.x, in.y + in.h - qh, in.w, qh});
}
