/* panel_attn.c - the attention panel: the focused block's heads as heatmaps (rows = queries, columns =
 * keys, labelled with tokens), one head enlarged, or two runs side by side for a lesson's comparison. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* The space a head's heatmap loses to its labels: title and key labels above, query labels at the left. */
typedef struct { int top, left; } head_overhead;

/* Returns how far outside the grid the frames drawn around its cells reach, and a pixel of air: a lesson's
 * highlight (vz_heatmap, 3 units thick) and the cursor's row (2 px out). The labels keep off it, so no frame
 * covers the label of the row or key it frames. */
static int frame_room(vz_ctx *c) {
    int t = vz_px(c, 3);
    return (t > 2 ? t : 2) + 1;
}

enum { HEAD_ROWS = 1, HEAD_KEYS = 2, HEAD_LABELS = 3, HEAD_SHORT = 4 }; /* which axis labels a head draws (SHORT:
                                                                       * "<bos>" as "B" down the rows too) */

/* Returns the width of the widest of the n query labels of stack at size px, special tokens as their initial. */
static int short_label_w(vz_ctx *c, const vz_view *v, int stack, int n, int px) {
    int w = vz_label_w(c, "?", px);
    char tok[16];
    for (int i = 0; i < n; i++) {
        vz_token_label(v, stack, i, tok);
        vz_special_initial(&v->m->tok, tok);
        int k = vz_label_w(c, tok, px);
        if (k > w) w = k;
    }
    return w;
}

/* Returns the overhead of a head's labels for block b: the title always, the key labels above and the query
 * labels at the left as `labels` says (heads side by side in a comparison share them: only the first column of
 * heads labels the queries, only the first row the keys, special tokens as their initial), and room for the frames. */
static head_overhead overhead_of(vz_ctx *c, const vz_view *v, vz_block b, int nq, int labels) {
    int lh = vz_lh(c, c->lay.f.label), fr = frame_room(c);
    int lw = !(labels & HEAD_ROWS) ? 0 : labels & HEAD_SHORT ? short_label_w(c, v, b.stack, nq, c->lay.f.label)
                                                             : vz_token_label_w(c, v, b.stack, nq, c->lay.f.label);
    return (head_overhead){(labels & HEAD_KEYS ? 2 * lh : lh) + 2 + fr, (lw ? lw + c->lay.pad : 0) + fr};
}

/* Returns the overhead of a head that draws all its labels. */
static head_overhead overhead(vz_ctx *c, const vz_view *v, vz_block b, int nq) { return overhead_of(c, v, b, nq, HEAD_LABELS); }

/* Returns the value view v shows at place (i, j) of entry e: its own cell, reordered when v is aligned. */
static float at_place(const vz_view *v, const sf_trace_entry *e, vz_block b, int i, int j) {
    return sf_trace_row(e, vz_view_pos(v, b.stack, i))[vz_view_pos(v, vz_key_stack(b), j)];
}

/* Draws dots on the cells of grid g whose weight differs from the compared run's (same model) at the same
 * place: the same position, or the same token when the run is aligned by token. */
static void diff_dots(vz_ctx *c, const vz_view *v, vz_block b, const vz_heat *hm, vz_rect g, vz_rect area, int cell,
                      int nq, int nk, int nvis) {
    const sf_trace_entry *e = hm->e;
    const vz_view *o = v->diff_ref;
    const sf_trace_entry *re = o && cell >= 4 ? sf_trace_find(o->tr, e->name) : NULL;
    int rd[2] = {0, 0};
    if (re) sf_trace_shape(o->tr, re, rd);
    if (!re || rd[0] != nq || rd[1] != nk) return;
    int dot = cell / 6 < 3 ? 3 : cell / 6, ovis = vz_rows_visible(o, re, nq);
    for (int i = 0; i < nq; i++) {
        if (vz_view_pos(v, b.stack, i) >= nvis || vz_view_pos(o, b.stack, i) >= ovis) continue; /* not computed in both */
        for (int j = 0; j < nk; j++) {
            float x = at_place(o, re, b, i, j), y = at_place(v, e, b, i, j);
            float d = isinf(x) || isinf(y) ? (x == y ? 0.0f : 1.0f) : fabsf(x - y) / (1.0f + fabsf(x));
            if (d <= 1e-3f) continue;
            vz_rect dr = {g.x + j * cell + (cell - dot) / 2, g.y + i * cell + (cell - dot) / 2, dot, dot};
            if (vz_heat_value_at(c, hm, g, i, j)) /* a framed cell printing its number: the dot in its top right corner, above it */
                dr = (vz_rect){g.x + (j + 1) * cell - vz_px(c, 3) - dot - 1, g.y + i * cell + vz_px(c, 3) + 1, dot, dot};
            if (!vz_rect_has(area, dr.x, dr.y)) continue;
            vz_fill(c, vz_rect_inset(dr, -1), c->th->dot_ring);
            vz_fill(c, dr, c->th->dot);
        }
    }
}

/* Returns the largest weight head h of block b shows in v's computed rows (0 when none), for `@show range local`. */
static float head_max(const vz_view *v, vz_block b, int h) {
    const sf_trace_entry *e = v->n_blocks ? vz_probs_of(v, b, h, NULL) : NULL;
    if (!e) return 0.0f;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int n = vz_rows_visible(v, e, dims[0]), hid = vz_hide_covers(&v->hide, e->name) ? v->hide.lo[0] : -1;
    float m = 0.0f; /* (not a question's hidden row: its largest weight is the answer) */
    for (int i = 0; i < n; i++)
        if (i != hid) {
            float r = vz_absmax(e, i, i + 1, dims[1]);
            if (r > m) m = r;
        }
    return m;
}

/* Returns the top of the colour range head h of block b is drawn on: 1, or with v->heat_local the largest
 * weight it shows, in both runs of a comparison (so equal weights keep equal colours on both sides). */
static float head_hi(const vz_view *v, vz_block b, int h) {
    if (!v->heat_local) return 1.0f;
    float m = head_max(v, b, h);
    if (v->partner && h < v->partner->m->cfg.n_heads) {
        float o = head_max(v->partner, b, h);
        if (o > m) m = o;
    }
    return m > 1e-6f ? m : 1.0f;
}

/* Returns the smallest cell the heads are drawn with side by side (4 layout units, at least 3 px): below it the
 * panel shows the focused head alone (a GPT-2 text of 64+ tokens), which the thumbnails grid then picks. */
static int grid_min_cell(vz_ctx *c) {
    int m = vz_px(c, 4);
    return m < 3 ? 3 : m;
}

/* Writes the line that names framed cell (place r, key place j) of block b in v and its value num ("framed: row 0,
 * key 12 = 1.00"), for a cell too small to print it, into out; returns the height it takes wrapped to width w. */
static int framed_line(vz_ctx *c, const vz_view *v, vz_block b, int r, int j, const char *num, int w, char *out, size_t n) {
    snprintf(out, n, vz_s(c, VZ_S_FRAMED_VALUE), vz_view_pos(v, b.stack, r), vz_view_pos(v, vz_key_stack(b), j), num);
    return w > 0 ? vz_wrap_height(c, out, c->lay.f.label, w) : 0;
}

/* The framed cells the heads of a grid could not print, for one line under the grid: head, row, key, value. */
typedef struct {
    int n, head[VZ_MAX_HIGHLIGHTS], row[VZ_MAX_HIGHLIGHTS], key[VZ_MAX_HIGHLIGHTS];
    char num[VZ_MAX_HIGHLIGHTS][24];
} grid_framed;

/* Where one head's heatmap goes (head_map's geometry, which vz_attn_cell asks too, so that the zoom pass reckons
 * with the cells drawn): its grid g and cell, a window's visible part vis and range win when clipped, the heat map
 * hm to draw, the row computed now. */
typedef struct {
    const sf_trace_entry *e;
    int nq, nk, cell, clipped, win[4], now, nvis;
    head_overhead o;
    vz_rect area, g, vis;
    float hi;
    vz_heat hm;
} head_geom;

/* Fills G for head h of block b drawn into r with the labels `labels` asks for (alone: the only head in the panel,
 * a window when its cells would be smaller than vz_attn_min_cell, a little smaller to keep a line under it for the
 * framed cells too small for their numbers). Returns 3 when G is set; 0 when the head has no entry, 1 no tokens
 * yet, 2 no room. */
static int head_geometry(vz_ctx *c, const vz_view *v, vz_block b, int h, vz_rect r, int alone, int labels, head_geom *G) {
    const sf_trace_entry *mask, *e = vz_probs_of(v, b, h, &mask);
    if (!e) return 0;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int nq = dims[0], nk = dims[1];
    if (nq == 0 || nk == 0) return 1;
    head_overhead o = overhead_of(c, v, b, nq, labels);
    vz_rect area = {r.x + o.left, r.y + o.top, r.w - o.left, r.h - o.top};
    if (area.w < 4 || area.h < 4) return 2;
    int cell;
    vz_rect g = vz_fit_grid(area, nq, nk, c->lay.heat_max, &cell);
    if (cell > 0) g.x += (area.w - g.w) / 2; /* centre the square cells in the space the head has */
    int nvis = vz_rows_visible(v, e, nq);
    /* the row being computed now, at its place (its token's, in a run aligned by token); none before it is computed */
    int now = v->cur.phase == b.stack && v->cur.token >= 0 && v->cur.token < nq && vz_row_visible(v, e, v->cur.token)
                  ? vz_view_place(v, b.stack, v->cur.token) : -1;
    int cur = now >= 0 ? now : nvis - 1;
    int clipped = 0, win[4] = {0, nq - 1, 0, nk - 1}; /* the queries and keys shown: first, last */
    vz_rect vis = {0, 0, 0, 0};
    int mc = vz_attn_min_cell(c);
    if (cell > 0 && ((alone && (cell < mc || v->heat_scroll)) || v->heat_zoom > 1.0f)) {
        /* a window: cells of at least the minimum (times the wheel's zoom), the rows around the cursor's
         * query (moved by the arrow keys), the keys up to its diagonal near the right edge (a masked head
         * sees nothing right of it) or centred on it; zooming out far enough shows everything again */
        int base = cell < mc ? mc : cell, z = (int)((float)base * v->heat_zoom);
        if (z < cell) z = cell;
        cell = z;
        int wq = area.h / cell, wk = area.w / cell;
        if (wq > nq) wq = nq;
        if (wk > nk) wk = nk;
        if (wq < 1) wq = 1;
        if (wk < 1) wk = 1;
        int fy = (cur < 0 ? 0 : cur) + v->heat_scroll;
        if (fy > nq - 1) fy = nq - 1;
        if (fy < 0) fy = 0;
        int fx = fy < nk ? fy : nk - 1, masked = mask != NULL && b.sub == SF_SUB_SELF && b.stack == SF_STACK_DEC;
        int q0 = fy - wq / 2, k0 = masked ? fx + 1 + wk / 8 - wk : fx - wk / 2;
        if (q0 > nq - wq) q0 = nq - wq;
        if (q0 < 0) q0 = 0;
        if (k0 > nk - wk) k0 = nk - wk;
        if (k0 < 0) k0 = 0;
        clipped = wq < nq || wk < nk;
        g = (vz_rect){area.x - k0 * cell, area.y - q0 * cell, nk * cell, nq * cell};
        if (!clipped) g.x = area.x + (area.w - g.w) / 2;
        else {
            vis = (vz_rect){area.x, area.y, wk * cell, wq * cell};
            win[0] = q0; win[1] = q0 + wq - 1; win[2] = k0; win[3] = k0 + wk - 1;
        }
    }
    float hi = head_hi(v, b, h);
    int dot = cell / 6 < 3 ? 3 : cell / 6; /* (diff_dots': a compared run's framed cell keeps a corner for it) */
    vz_heat hm = {e, 0, nq, nk, nvis, c->pal->seq, 0.0f, hi, mask, cell >= 24 ? 8 : cell >= 6 ? 4 : 0, 0, 0, NULL, NULL,
                  v->diff_ref ? dot + 3 : 1};
    vz_view_align_heat(v, &hm);
    int fr = frame_room(c), urow[VZ_MAX_HIGHLIGHTS], ucol[VZ_MAX_HIGHLIGHTS];
    char unum[VZ_MAX_HIGHLIGHTS][24], line[96];
    int nun = cell > 0 ? vz_heat_unprinted(c, &hm, g, urow, ucol, unum, VZ_MAX_HIGHLIGHTS) : 0;
    if (alone && !clipped && nun > 0) { /* the head alone: its grid leaves room under it for those cells' numbers */
        int need = fr + c->lay.pad / 2;
        for (int k = 0; k < nun; k++) need += framed_line(c, v, b, urow[k], ucol[k], unum[k], r.x + r.w - g.x, line, sizeof line);
        int room = area.y + area.h - (g.y + g.h);
        if (room < need && area.h - need > 4) {
            vz_rect a2 = {area.x, area.y, area.w, area.h - need};
            int c2;
            vz_rect g2 = vz_fit_grid(a2, nq, nk, c->lay.heat_max, &c2);
            if (c2 > 0 && c2 * 8 >= cell * 7) { /* (an eighth of the cell at most: else the line waits for room) */
                g = g2;
                g.x += (area.w - g.w) / 2;
                cell = c2;
                hm.hatch = cell >= 24 ? 8 : cell >= 6 ? 4 : 0;
            }
        }
    }
    *G = (head_geom){e, nq, nk, cell, clipped, {win[0], win[1], win[2], win[3]}, now, nvis, o, area, g, vis, hi, hm};
    return 3;
}

enum { KEEP_MAX = 4 * VZ_MAX_HIGHLIGHTS }; /* the keys a head keeps labelled: framed ones and their tokens' other places */

/* Adds to the n key places in keep (room for KEEP_MAX), as -(place + 1) (kept, not lit), every other key of stack
 * kstack (nk keys) whose token is the token of a framed key or, when rows is not NULL (the keys are the queries' own
 * tokens), of one of the nrows framed rows: the places a narration about that token points to (lesson 13 step 4
 * frames key 5, z, of row 6, k: the z seen again at key 19 and the k at key 20 had no label at a stride of two). A
 * token at more than three keys adds none (a space or a common letter of a long input would crowd out the stride's
 * labels). Returns the new count. */
static int keep_same_tokens(const vz_view *v, int kstack, int nk, const int *rows, int nrows, int *keep, int n) {
    char want[2 * VZ_MAX_HIGHLIGHTS * 2][16], tok[16];
    int nw = 0;
    for (int i = 0; i < n && nw < 4 * VZ_MAX_HIGHLIGHTS; i++) vz_token_label(v, kstack, vz_view_pos(v, kstack, keep[i]), want[nw++]);
    for (int i = 0; rows && i < nrows && nw < 4 * VZ_MAX_HIGHLIGHTS; i++)
        if (rows[i] >= 0 && rows[i] < nk) vz_token_label(v, kstack, vz_view_pos(v, kstack, rows[i]), want[nw++]);
    for (int w = 0; w < nw; w++) {
        int at[4], na = 0;
        for (int k = 0; k < nk && k < SF_MAX_LEN && na < 4; k++)
            if (!strcmp(vz_token_label(v, kstack, vz_view_pos(v, kstack, k), tok), want[w])) at[na++] = k;
        if (na > 3) continue;
        for (int a = 0; a < na && n < KEEP_MAX; a++) {
            int dup = 0;
            for (int k = 0; k < n; k++) dup |= keep[k] == at[a] || keep[k] == -(at[a] + 1);
            if (!dup) keep[n++] = -(at[a] + 1); /* (kept, not lit: only a framed key is) */
        }
    }
    return n;
}

/* Draws one head's heatmap with its title and the token labels `labels` asks for into r; alone: the only head in
 * the panel, which becomes a window when its cells would be smaller than vz_attn_min_cell; out (a grid of heads):
 * where the framed cells too small for their numbers go instead of under the head, for the grid's own line. */
static void head_map(vz_ctx *c, const vz_view *v, vz_block b, int h, vz_rect r, int alone, int labels, grid_framed *out) {
    head_geom G;
    int px = c->lay.f.label, lh = vz_lh(c, px), got = head_geometry(c, v, b, h, r, alone, labels, &G);
    if (got == 1) vz_print(c, vz_s(c, VZ_S_NO_TOKENS), px, c->th->dim, r.x, r.y, VZ_LEFT, r.w);
    if (got != 3) return;
    const sf_trace_entry *e = G.e;
    int nq = G.nq, nk = G.nk, cell = G.cell, clipped = G.clipped, now = G.now, nvis = G.nvis, *win = G.win;
    vz_rect area = G.area, g = G.g, vis = G.vis;
    float hi = G.hi;
    vz_heat hm = G.hm;
    int fr = frame_room(c), urow[VZ_MAX_HIGHLIGHTS], ucol[VZ_MAX_HIGHLIGHTS], nun;
    char unum[VZ_MAX_HIGHLIGHTS][24], line[96];
    char id[64], t[96], num[24];
    snprintf(id, sizeof id, "%sattn.%s", v->id_prefix ? v->id_prefix : "", e->name);
    snprintf(t, sizeof t, vz_s(c, VZ_S_HEAD_N), h);
    if (vz_thumb_ablated(v, b, h)) { /* knocked out: its weights are drawn as computed, its output was replaced (lesson
                                      * 12 showed them reading h at .99 with nothing to say they were off) */
        size_t n = strlen(t);
        snprintf(t + n, sizeof t - n, "%s", vz_s(c, VZ_S_HEAD_OFF));
    }
    if (v->heat_local) { /* this head's own colour range, by its name */
        size_t n = strlen(t);
        vz_fmt_num(num, sizeof num, hi);
        snprintf(t + n, sizeof t - n, vz_s(c, VZ_S_HEAD_RANGE), num);
    }
    int gx = g.x > area.x ? g.x : area.x;
    /* the title starts over the grid; one wider than the room from there moves left, whole, inside the head's
     * rectangle (lesson 5 in Chinese cut "头 0（0–0.30）", the range its narration points to, to "头 0（0–0.…") */
    int tx = gx, want = vz_label_w(c, t, px);
    if (tx + want > r.x + r.w) tx = r.x + r.w - want > r.x ? r.x + r.w - want : r.x;
    int tw = vz_print(c, t, px, h == v->head ? c->th->focus : c->th->dim, tx, r.y, VZ_LEFT, r.x + r.w - tx);
    if (clipped) { /* the window shown, in the trace's positions (rows = queries) */
        char rng[96];
        snprintf(rng, sizeof rng, vz_s(c, VZ_S_ATTN_WINDOW), win[0], win[1], win[2], win[3], nk);
        vz_print(c, rng, c->lay.f.small, c->th->fg, r.x + r.w, r.y, VZ_RIGHT, r.x + r.w - tx - tw - c->lay.pad);
    }
    /* labels first (queries down the left, keys across the top): the highlights and the cursor's row drawn
     * after them stay whole */
    /* the rows and keys the lesson frames in this head keep their labels when the labels thin out */
    int keep[2 * VZ_MAX_HIGHLIGHTS], nkeep = vz_framed_places(c, v, e, b.stack, 0, nq, keep, 2 * VZ_MAX_HIGHLIGHTS);
    if (labels & HEAD_ROWS)
        vz_axis_labels_keep(c, v, b.stack, nq, g, cell, labels & HEAD_SHORT ? VZ_AXIS_SHORT : 0, now, keep, nkeep, gx - fr, r.x, vis);
    int rows[2 * VZ_MAX_HIGHLIGHTS], nrows = nkeep, kkeep[KEEP_MAX];
    memcpy(rows, keep, sizeof rows);
    nkeep = vz_framed_places(c, v, e, vz_key_stack(b), 1, nk, kkeep, 2 * VZ_MAX_HIGHLIGHTS);
    nkeep = keep_same_tokens(v, vz_key_stack(b), nk, vz_key_stack(b) == b.stack ? rows : NULL, nrows, kkeep, nkeep);
    if (labels & HEAD_KEYS) vz_axis_labels_keep(c, v, vz_key_stack(b), nk, g, cell, 1, -1, kkeep, nkeep, area.y - fr, 0, vis);
    if (clipped) vz_clip(c, vis);
    vz_heatmap(c, id, &hm, g);
    diff_dots(c, v, b, &hm, g, clipped ? vis : area, cell, nq, nk, nvis);
    if (now >= 0 && cell > 0)
        vz_frame(c, (vz_rect){g.x - 2, g.y + now * cell - 1, g.w + 4, cell + 2}, c->th->accent, vz_px(c, 2));
    nun = cell > 0 ? vz_heat_unprinted(c, &hm, g, urow, ucol, unum, VZ_MAX_HIGHLIGHTS) : 0;
    if (clipped) {
        vz_clip_off(c);
        vz_outline(c, (vz_rect){vis.x - 1, vis.y - 1, vis.w + 2, vis.h + 2}, c->th->focus, 1);
    } else {
        vz_outline(c, (vz_rect){g.x - 1, g.y - 1, g.w + 2, g.h + 2}, h == v->head ? c->th->focus : c->th->edge, 1);
    }
    /* a framed cell too small for its number: the number under the heatmap, in the frame's colour, row and key
     * named, one line each while the head's rectangle has room (a lesson quoting it stays true on screen) */
    if (out) {
        for (int k = 0; k < nun && out->n < VZ_MAX_HIGHLIGHTS; k++, out->n++) {
            out->head[out->n] = h;
            out->row[out->n] = vz_view_pos(v, b.stack, urow[k]);
            out->key[out->n] = vz_view_pos(v, vz_key_stack(b), ucol[k]);
            snprintf(out->num[out->n], sizeof out->num[0], "%s", unum[k]);
        }
        return;
    }
    int y = (clipped ? vis.y + vis.h : g.y + g.h) + fr + c->lay.pad / 2, lw = r.x + r.w - gx;
    for (int k = 0; k < nun; k++) {
        int need = framed_line(c, v, b, urow[k], ucol[k], unum[k], lw, line, sizeof line); /* (a narrow head: two lines) */
        if (lw <= 0 || y + need > r.y + r.h) break;
        y = vz_wrap(c, line, c->lay.f.label, c->th->hilite, (vz_rect){gx, y, lw, need});
    }
    (void)lh;
}

/* Returns the cell size the heads of block b get in `in` with gc heads per row. */
static int cell_for(vz_ctx *c, const vz_view *v, vz_block b, vz_rect in, int gc, int NH, int nq, int nk) {
    int gr = (NH + gc - 1) / gc, gap = c->lay.pad;
    head_overhead o = overhead(c, v, b, nq);
    int cw = (in.w / gc - gap - o.left) / nk, ch = (in.h / gr - gap - o.top) / nq;
    return cw < ch ? cw : ch;
}

/* Returns the cell size the heads of block b get in `in` with gc heads per row sharing their labels: the
 * queries labelled only left of the first column of heads, the keys only above the first row. */
static int shared_cell_for(vz_ctx *c, const vz_view *v, vz_block b, vz_rect in, int gc, int NH, int nq, int nk) {
    int gr = (NH + gc - 1) / gc, gap = c->lay.pad;
    head_overhead o = overhead_of(c, v, b, nq, HEAD_LABELS | HEAD_SHORT), oi = overhead_of(c, v, b, nq, 0);
    int cw = (in.w - (gc - 1) * (gap + oi.left) - o.left) / (gc * nk), ch = (in.h - (gr - 1) * (gap + oi.top) - o.top) / (gr * nq);
    return cw < ch ? cw : ch;
}

/* Draws every head of v's focused block into in as a grid of heads sharing their labels (shared_cell_for), the
 * comparison's way of giving each run's heads the room: two runs of four heads side by side at 1024x768 would
 * otherwise spend most of their half on labels repeated at every head. Returns 0 (drawing nothing) when the
 * shared grid's cells are no bigger than cell, the cells of heads with their own labels. */
static int shared_heads(vz_ctx *c, const vz_view *v, vz_block b, vz_rect in, int NH, int nq, int nk, int cell) {
    int best_gc = 1, best = -1;
    for (int gc = 1; gc <= NH; gc++) {
        int s = shared_cell_for(c, v, b, in, gc, NH, nq, nk);
        if (s > best) { best = s; best_gc = gc; }
    }
    if (c->lay.heat_max > 0 && best > c->lay.heat_max) best = c->lay.heat_max;
    if (best <= cell || best < grid_min_cell(c)) return 0;
    int gc = best_gc, gr = (NH + gc - 1) / gc, gap = c->lay.pad;
    head_overhead o = overhead_of(c, v, b, nq, HEAD_LABELS | HEAD_SHORT), oi = overhead_of(c, v, b, nq, 0);
    int w0 = o.left + nk * best, wi = oi.left + nk * best, h0 = o.top + nq * best, hi = oi.top + nq * best;
    int tw = w0 + (gc - 1) * (wi + gap), th = h0 + (gr - 1) * (hi + gap);
    int x0 = in.x + (in.w - tw) / 2, y0 = in.y + (in.h - th) / 2;
    for (int h = 0; h < NH; h++) { /* (a last row with fewer heads stays under the columns whose keys it shares) */
        int row = h / gc, col = h % gc;
        vz_rect cellr = {col ? x0 + w0 + gap + (col - 1) * (wi + gap) : x0, row ? y0 + h0 + gap + (row - 1) * (hi + gap) : y0,
                         col ? wi : w0, row ? hi : h0};
        head_map(c, v, b, h, cellr, 0, (col ? 0 : HEAD_ROWS | HEAD_SHORT) | (row ? 0 : HEAD_KEYS), NULL);
        if (!v->id_prefix || !v->id_prefix[0]) vz_click_add(c, cellr, VZ_CLICK_THUMB, v->block, h, 0);
    }
    return 1;
}

/* Lays out the grid's line for the framed cells in f at (x, y), width w: "framed:" then one piece per cell ("head 0
 * row 0 key 5 = 0.18", " · " between), a piece kept whole on one line (wrapped only when wider than w); draws it
 * when draw is set. Returns the height it takes (0 for none). */
static int grid_line(vz_ctx *c, const grid_framed *f, int x, int y, int w, int draw) {
    int px = c->lay.f.label, lh = vz_lh(c, px), cx = x, cy = y;
    if (f->n <= 0 || w <= 0) return 0;
    for (int k = 0; k < f->n; k++) {
        char piece[128];
        size_t n = (size_t)snprintf(piece, sizeof piece, "%s", k ? "" : vz_s(c, VZ_S_FRAMED_GRID));
        snprintf(piece + n, sizeof piece - n, vz_s(c, VZ_S_FRAMED_HEAD), f->head[k], f->row[k], f->key[k], f->num[k]);
        if (k + 1 < f->n) {
            n = strlen(piece);
            snprintf(piece + n, sizeof piece - n, "%s", vz_s(c, VZ_S_FRAMED_SEP));
        }
        int pw = vz_label_w(c, piece, px);
        if (cx > x && cx + pw > x + w) { cx = x; cy += lh; } /* (the next line) */
        if (pw > w) { /* wider than the line: wrapped on its own lines */
            int hgt = vz_wrap_height(c, piece, px, w);
            if (draw) vz_wrap(c, piece, px, c->th->hilite, (vz_rect){x, cy, w, hgt});
            cy += hgt;
            cx = x;
            continue;
        }
        if (draw) vz_label(c, piece, px, c->th->hilite, cx, cy, VZ_LEFT | VZ_TOP);
        cx += pw + vz_label_w(c, " ", px);
    }
    return cy + (cx > x ? lh : 0) - y;
}

/* Returns the cells a lesson frames one by one in the heads of block b (at most what the grid's line can hold),
 * each with "0.00" for its number: the line the grid keeps room for before it knows which fit in their cells. */
static grid_framed grid_candidates(const vz_ctx *c, const vz_view *v, vz_block b, int NH) {
    grid_framed f = {0};
    for (int h = 0; h < NH; h++) {
        const sf_trace_entry *e = vz_probs_of(v, b, h, NULL);
        for (int i = 0; e && i < c->n_hl && f.n < VZ_MAX_HIGHLIGHTS; i++) {
            const vz_highlight *g = &c->hl[i];
            if (strcmp(g->name, e->name) || g->style != 0 || g->lo[0] != g->hi[0] || g->lo[1] != g->hi[1] || g->lo[0] < 0) continue;
            f.head[f.n] = h; f.row[f.n] = g->lo[0]; f.key[f.n] = g->lo[1];
            snprintf(f.num[f.n++], sizeof f.num[0], "0.00");
        }
    }
    return f;
}

/* Fits the grid of heads of block b into *in, whose best cell is *best with *gc heads a row (attn_heads' geometry,
 * which vz_attn_cell asks too): cells framed one by one in heads too small to print them get one line under the
 * grid that names them, the grid a little smaller for it (*in lower, *best and *gc again) while its cells stay above
 * the grid's smallest; the cells at most the zoom's heat_max. Sets *hw, *hh to each head's rectangle, exactly as big
 * as its cells and labels. Returns the room the line takes under the grid (0: no line). */
static int grid_fit(vz_ctx *c, const vz_view *v, vz_block b, vz_rect *in, int NH, int nq, int nk, int *best, int *gc, int *hw,
                    int *hh) {
    int need = 0;
    grid_framed cand = grid_candidates(c, v, b, NH);
    if (cand.n > 0) {
        need = grid_line(c, &cand, in->x, 0, in->w, 0) + frame_room(c) + c->lay.pad / 2;
        vz_rect in2 = {in->x, in->y, in->w, in->h - need};
        int b2 = -1, g2 = 1;
        for (int k = 1; k <= NH && in2.h > 4; k++) {
            int s = cell_for(c, v, b, in2, k, NH, nq, nk);
            if (s > b2) { b2 = s; g2 = k; }
        }
        if (b2 >= grid_min_cell(c)) { *in = in2; *best = b2; *gc = g2; }
        else need = 0;
    }
    if (c->lay.heat_max > 0 && *best > c->lay.heat_max) *best = c->lay.heat_max;
    int gr = (NH + *gc - 1) / *gc, gap = c->lay.pad, cell = *best > 1 ? *best : 1;
    head_overhead o = overhead(c, v, b, nq);
    *hw = o.left + nk * cell;
    *hh = o.top + nq * cell;
    if (*hw > in->w / *gc - gap) *hw = in->w / *gc - gap;
    if (*hh > in->h / gr - gap) *hh = in->h / gr - gap;
    return need;
}

/* Draws the heads of v's focused block into in: one head enlarged, or a grid of every head (shared: a side of
 * a comparison, whose heads share their labels when that gives them bigger cells). */
static void attn_heads(vz_ctx *c, const vz_view *v, vz_rect in, int shared) {
    vz_block b = v->blocks[v->block];
    const sf_trace_entry *e = vz_probs_of(v, b, 0, NULL);
    if (!e) return;
    int NH = v->m->cfg.n_heads;
    if (v->enlarged || c->lay.one_head) { head_map(c, v, b, v->head, in, 1, HEAD_LABELS, NULL); return; }
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int nq = dims[0] ? dims[0] : 1, nk = dims[1] ? dims[1] : 1;
    int best_gc = 1, best = -1; /* the head grid that gives the biggest cells */
    for (int gc = 1; gc <= NH; gc++) {
        int s = cell_for(c, v, b, in, gc, NH, nq, nk);
        if (s > best) { best = s; best_gc = gc; }
    }
    if (shared && NH > 1 && shared_heads(c, v, b, in, NH, nq, nk, best)) return;
    if (best < grid_min_cell(c) && NH > 1) { head_map(c, v, b, v->head, in, 1, HEAD_LABELS, NULL); return; } /* too small: the focused head's window */
    int fr = frame_room(c), lw = in.w, hw, hh;
    int need = grid_fit(c, v, b, &in, NH, nq, nk, &best, &best_gc, &hw, &hh);
    grid_framed got = {0};
    int gc = best_gc, gr = (NH + gc - 1) / gc, gap = c->lay.pad;
    int y0 = in.y + (in.h - (gr * (hh + gap) - gap)) / 2;
    for (int h = 0; h < NH; h++) {
        int row = h / gc, in_row = row == gr - 1 ? NH - row * gc : gc;
        int x0 = in.x + (in.w - (in_row * (hw + gap) - gap)) / 2;
        vz_rect cellr = {x0 + (h % gc) * (hw + gap), y0 + row * (hh + gap), hw, hh};
        head_map(c, v, b, h, cellr, 0, HEAD_LABELS, need > 0 ? &got : NULL);
        if (!v->id_prefix || !v->id_prefix[0]) vz_click_add(c, cellr, VZ_CLICK_THUMB, v->block, h, 0);
    }
    int y = y0 + gr * (hh + gap) - gap + fr + c->lay.pad / 2;
    if (got.n > 0 && y + grid_line(c, &got, in.x, y, lw, 0) <= in.y + in.h + need) grid_line(c, &got, in.x, y, lw, 1);
}

int vz_attn_min_cell(vz_ctx *c) {
    int m = vz_px(c, 8);
    return m < 6 ? 6 : m;
}

/* Returns the note under the heads ("rows = queries, columns = keys") for block b; with a head of it knocked
 * out, what "off" means instead (its weights are as computed; its output was replaced). */
static const char *attn_note(vz_ctx *c, const vz_view *v, vz_block b) {
    int off = 0;
    for (int h = 0; h < v->m->cfg.n_heads && !off; h++) off = vz_thumb_ablated(v, b, h);
    if (off) return vz_s(c, VZ_S_ATTN_NOTE_OFF);
    return vz_s(c, b.stack == SF_STACK_DEC && b.sub == SF_SUB_SELF ? VZ_S_ATTN_NOTE_MASK : VZ_S_ATTN_NOTE);
}

/* Returns the height the note takes above the legend of a content rectangle w wide: 0 when it fits beside the legend
 * (which takes 11/20 of the width), else its own line. */
static int note_line(vz_ctx *c, const vz_view *v, vz_block b, int w) {
    int sp = c->lay.f.small, pad = c->lay.pad;
    return vz_label_w(c, attn_note(c, v, b), sp) <= w - w * 11 / 20 - 2 * pad ? 0 : vz_lh(c, sp) + pad / 2;
}

int vz_attn_cell(vz_ctx *c, const vz_view *v, vz_rect r, int one) {
    if (v->n_blocks == 0 || v->cmp) return 0;
    vz_block b = v->blocks[v->block];
    const sf_trace_entry *e = vz_probs_of(v, b, 0, NULL);
    if (!e) return 0;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int nq = dims[0] ? dims[0] : 1, nk = dims[1] ? dims[1] : 1, NH = v->m->cfg.n_heads;
    /* the content rectangle as vz_panel_attention makes it: under the title, above the legend */
    int pad = c->lay.pad, th = vz_lh(c, c->lay.f.title) + pad / 2;
    vz_rect in = vz_rect_inset((vz_rect){r.x, r.y + th, r.w, r.h - th}, pad);
    in.h -= vz_legend_h(c) + pad + note_line(c, v, b, in.w);
    /* as attn_heads draws them: one head, or the focused head's window when the grid's cells are too small, else the
     * grid with its line for framed cells; the cell of the head drawn */
    int best = -1, best_gc = 1, hw, hh;
    for (int gc = 1; gc <= NH && !one && !v->enlarged; gc++) {
        int s = cell_for(c, v, b, in, gc, NH, nq, nk);
        if (s > best) { best = s; best_gc = gc; }
    }
    head_geom G;
    if (one || v->enlarged || (best < grid_min_cell(c) && NH > 1))
        return head_geometry(c, v, b, v->head, in, 1, HEAD_LABELS, &G) == 3 ? G.cell : 0;
    grid_fit(c, v, b, &in, NH, nq, nk, &best, &best_gc, &hw, &hh);
    return head_geometry(c, v, b, 0, (vz_rect){in.x, in.y, hw, hh}, 0, HEAD_LABELS, &G) == 3 ? G.cell : 0;
}

/* Draws the legend of heads coloured each on its own range (`@show range local`) into r: the colour bar from 0
 * to "each head's largest", the number written beside each head's name. */
static void local_legend(vz_ctx *c, vz_rect r) {
    int fs = c->lay.f.small, lh = vz_lh(c, fs), pad = c->lay.pad, bar_h = lh / 2 > 3 ? lh / 2 : 3;
    const char *cap = vz_s(c, VZ_S_LEG_WEIGHT), *top = vz_s(c, VZ_S_LEG_LOCAL);
    int x = r.x + vz_print(c, cap, fs, c->th->dim, r.x, r.y + (bar_h + 2 + lh) / 2, VZ_MIDDLE, r.w / 4) + pad;
    vz_rect bar = {x, r.y, r.x + r.w - x, bar_h};
    if (bar.w < 8) return;
    SDL_RenderCopy(c->r, c->legend[c->pal->seq], NULL, &(SDL_Rect){bar.x, bar.y, bar.w, bar.h});
    int w0 = vz_print(c, "0", fs, c->th->dim, bar.x, bar.y + bar.h + 2, VZ_LEFT, 0);
    vz_print(c, top, fs, c->th->dim, bar.x + bar.w, bar.y + bar.h + 2, VZ_RIGHT, bar.w - w0 - pad);
}

void vz_panel_attention(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[200];
    if (v->n_blocks == 0) return;
    vz_block b = v->blocks[v->block];
    vz_block_title(b, c->lang, title, sizeof title);
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_ATTN || c->lay.spot == VZ_P_ATTN);
    int leg_h = vz_legend_h(c), pad = c->lay.pad, sp = c->lay.f.small;
    int masked = b.stack == SF_STACK_DEC && b.sub == SF_SUB_SELF;
    int ly = in.y + in.h - leg_h;
    int lw = in.w * 11 / 20;
    if (!v->heat_local) vz_legend(c, (vz_rect){in.x, ly, lw, leg_h}, c->pal->seq, 0, 1, masked, vz_s(c, VZ_S_LEG_WEIGHT));
    else if ((v->enlarged || c->lay.one_head) && !v->cmp) /* one head: its own range, in numbers */
        vz_legend(c, (vz_rect){in.x, ly, lw, leg_h}, c->pal->seq, 0, head_hi(v, b, v->head), masked, vz_s(c, VZ_S_LEG_LOCAL_ONE));
    else
        local_legend(c, (vz_rect){in.x, ly, lw, leg_h});
    const char *note = attn_note(c, v, b);
    int nl = note_line(c, v, b, in.w);
    in.h -= leg_h + pad;
    if (!nl) /* beside the legend, else whole on the line above it */
        vz_print(c, note, sp, c->th->dim, in.x + in.w, ly + leg_h / 2, VZ_RIGHT | VZ_MIDDLE, in.w - lw - 2 * pad);
    else {
        vz_print(c, note, sp, c->th->dim, in.x + in.w, in.y + in.h, VZ_RIGHT | VZ_BOTTOM, in.w);
        in.h -= nl;
    }
    if (!v->cmp) { attn_heads(c, v, in, 0); return; }
    /* a comparison: this run on the left, the compared run on the right, each labelled */
    int px = c->lay.f.label, gap = 2 * pad, hw = (in.w - gap) / 2, bar = vz_lh(c, px) + pad / 2;
    if (v->cmp->diff_ref) { /* explain the dots, above the legend */
        vz_print(c, vz_s(c, v->cmp->align ? VZ_S_DIFF_DOT_TOK : VZ_S_DIFF_DOT), sp, c->th->fg, in.x + in.w, in.y + in.h,
                 VZ_RIGHT | VZ_BOTTOM, in.w);
        in.h -= vz_lh(c, sp) + pad / 2;
    }
    const vz_view *side[2] = {v, v->cmp};
    const char *lab[2];
    int lines = 1, lh = vz_lh(c, px); /* each run's label wrapped to the half's width: both bars as tall as the longer, at most 3 lines */
    for (int i = 0; i < 2; i++) {
        lab[i] = side[i]->run_label ? side[i]->run_label : vz_s(c, i ? VZ_S_COMPARED_RUN : VZ_S_THIS_RUN);
        int n = (vz_wrap_height(c, lab[i], px, hw - pad) + lh - 1) / lh;
        if (n > lines) lines = n > 3 ? 3 : n;
    }
    bar = lines * lh + pad / 2;
    for (int i = 0; i < 2; i++) {
        vz_rect h = {in.x + i * (hw + gap), in.y, hw, in.h};
        const vz_view *s = side[i];
        vz_fill(c, (vz_rect){h.x, h.y, h.w, bar}, c->th->box);
        vz_ink(c, c->th->box);
        vz_wrap(c, lab[i], px, i ? c->th->focus : c->th->accent, (vz_rect){h.x + pad / 2, h.y + pad / 4, h.w - pad, lines * lh});
        vz_ink(c, c->th->panel);
        h.y += bar + pad;
        h.h -= bar + pad;
        vz_block sb = s->n_blocks ? s->blocks[s->block] : b;
        if (s->n_blocks == 0 || sb.stack != b.stack || sb.layer != b.layer || sb.sub != b.sub)
            vz_print(c, vz_s(c, VZ_S_NOT_IN_CMP), px, c->th->dim, h.x, h.y, VZ_LEFT, h.w);
        else
            attn_heads(c, s, h, 1);
    }
    vz_line(c, in.x + hw + gap / 2, in.y, in.x + hw + gap / 2, in.y + in.h, c->th->edge);
}
