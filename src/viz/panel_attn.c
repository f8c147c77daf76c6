/* panel_attn.c - the attention panels: per-head heatmaps, the layers x heads thumbnails, and the
 * scores -> probabilities strips for one query. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Returns the probs entry of head h in block b (and its mask in *mask), or NULL. */
static const sf_trace_entry *probs_of(const vz_view *v, vz_block b, int h, const sf_trace_entry **mask) {
    char p[32];
    vz_block_prefix(b, p, sizeof p);
    if (mask) *mask = vz_entry(v, "%s.H%d.mask", p, h);
    return vz_entry(v, "%s.H%d.probs", p, h);
}

/* Returns the stack whose tokens label the keys of block b. */
static int key_stack(vz_block b) {
    return b.sub == SF_SUB_CROSS ? SF_STACK_ENC : b.stack;
}

/* Draws one head's heatmap with token labels into r; returns nothing. */
static void head_map(vz_ctx *c, const vz_view *v, vz_block b, int h, vz_rect r, int labels) {
    const sf_trace_entry *mask, *e = probs_of(v, b, h, &mask);
    if (!e) return;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int nq = dims[0], nk = dims[1];
    if (nq == 0 || nk == 0) {
        vz_label(c, "no tokens yet", c->lay.font, VZ_DIM, r.x, r.y, VZ_LEFT);
        return;
    }
    int fs = c->lay.font * 4 / 5, title_h = fs + 2;
    char t[64];
    snprintf(t, sizeof t, "head %d", h);
    int lab_w = labels ? vz_label_w(c, "<bos>", fs) + 4 : 0, lab_h = labels ? fs + 2 : 0;
    vz_rect area = {r.x + lab_w, r.y + title_h + lab_h, r.w - lab_w, r.h - title_h - lab_h};
    int cell;
    int max_cell = (int)(48 * c->lay.s * (v->heat_zoom > 1 ? v->heat_zoom : 1));
    vz_rect g = vz_fit_grid(area, nq, nk, max_cell, &cell);
    if (cell > 0) g.x += (area.w - g.w) / 2; /* centre the square cells in the space the head has */
    int nvis = vz_rows_visible(v, e, nq);
    int cur = v->cur.phase == b.stack && v->cur.token >= 0 && v->cur.token < nq ? v->cur.token : nvis - 1;
    int clipped = 0;
    if (v->heat_zoom > 1 && cell > 0) {
        /* wheel zoom: bigger cells than fit, the view centred on the current query row and its diagonal */
        int z = (int)((float)cell * v->heat_zoom);
        if (z > cell) {
            cell = z;
            g.w = cell * nk;
            g.h = cell * nq;
            int fy = cur < 0 ? 0 : cur, fx = fy < nk ? fy : nk - 1;
            int oy = fy * cell + cell / 2 - area.h / 2, ox = fx * cell + cell / 2 - area.w / 2;
            if (oy > g.h - area.h) oy = g.h - area.h;
            if (ox > g.w - area.w) ox = g.w - area.w;
            g.x = area.x - (ox > 0 ? ox : 0);
            g.y = area.y - (oy > 0 ? oy : 0);
            clipped = g.w > area.w || g.h > area.h;
        }
    }
    vz_heat hm = {e, 0, nq, nk, nvis, VZ_CMAP_VIRIDIS, 0.0f, 1.0f, mask, cell >= 24 ? 8 : cell >= 6 ? 4 : 0, 0};
    char id[64];
    snprintf(id, sizeof id, "%sattn.%s", v->id_prefix ? v->id_prefix : "", e->name);
    vz_label(c, t, fs, h == v->head ? VZ_FOCUS : VZ_DIM, (g.x > area.x ? g.x : area.x) - lab_w, r.y, VZ_LEFT);
    if (clipped) vz_clip(c, area);
    vz_heatmap(c, id, &hm, g);
    /* a comparison: dots on the cells whose weight differs from the run this one is compared with */
    const sf_trace_entry *re = v->diff_ref && cell >= 4 ? sf_trace_find(v->diff_ref->tr, e->name) : NULL;
    int rd[2] = {0, 0};
    if (re) sf_trace_shape(v->diff_ref->tr, re, rd);
    if (re && rd[0] == nq && rd[1] == nk) {
        int dot = cell / 6 < 3 ? 3 : cell / 6;
        for (int i = 0; i < nvis && i < vz_rows_visible(v->diff_ref, re, nq); i++) {
            const float *x = sf_trace_row(re, i), *y = sf_trace_row(e, i);
            for (int j = 0; j < nk; j++) {
                float d = isinf(x[j]) || isinf(y[j]) ? (x[j] == y[j] ? 0.0f : 1.0f) : fabsf(x[j] - y[j]) / (1.0f + fabsf(x[j]));
                if (d <= 1e-3f) continue;
                vz_rect dr = {g.x + j * cell + (cell - dot) / 2, g.y + i * cell + (cell - dot) / 2, dot, dot};
                if (!vz_rect_has(area, dr.x, dr.y)) continue;
                vz_fill(c, vz_rect_inset(dr, -1), (vz_rgba){0, 0, 0, 255});
                vz_fill(c, dr, (vz_rgba){255, 255, 255, 255});
            }
        }
    }
    /* the row being computed now */
    if (v->cur.phase == b.stack && v->cur.token >= 0 && v->cur.token < nq && cell > 0)
        vz_outline(c, (vz_rect){g.x - 2, g.y + v->cur.token * cell - 1, g.w + 4, cell + 2}, VZ_ACCENT, vz_px(c, 2));
    if (clipped) {
        vz_clip_off(c);
        vz_outline(c, (vz_rect){area.x - 1, area.y - 1, area.w + 2, area.h + 2}, VZ_FOCUS, 1);
    } else {
        vz_outline(c, (vz_rect){g.x - 1, g.y - 1, g.w + 2, g.h + 2}, h == v->head ? VZ_FOCUS : VZ_EDGE, 1);
    }
    /* labels: queries down the left, keys across the top; every k-th one when cells are small */
    if (labels && cell > 0) {
        char tok[16];
        int step = (fs + cell - 1) / cell;
        for (int i = 0; i < nq; i++) {
            int y = g.y + i * cell + cell / 2;
            int now = v->cur.phase == b.stack && v->cur.token == i;
            if ((i % step && !now) || y < area.y || y > area.y + area.h) continue;
            vz_label(c, vz_token_label(v, b.stack, i, tok), fs, now ? VZ_ACCENT : VZ_FG, (g.x > area.x ? g.x : area.x) - 3, y,
                     VZ_RIGHT | VZ_MIDDLE);
        }
        for (int j = 0; j < nk; j += step) {
            int x = g.x + j * cell + cell / 2;
            if (x < area.x || x > area.x + area.w) continue;
            vz_token_label(v, key_stack(b), j, tok);
            if (vz_label_w(c, tok, fs) > step * cell + 2 && step * cell < fs * 2) continue;
            vz_label(c, tok, fs, VZ_FG, x, area.y - 2, VZ_CENTER | VZ_BOTTOM);
        }
    }
}

/* Draws the heads of v's focused block into in: one head enlarged, or a grid of every head. */
static void attn_heads(vz_ctx *c, const vz_view *v, vz_rect in) {
    vz_block b = v->blocks[v->block];
    const sf_trace_entry *e = probs_of(v, b, 0, NULL);
    if (!e) return;
    int NH = v->m->cfg.n_heads;
    if (v->enlarged) { head_map(c, v, b, v->head, in, 1); return; }
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int nq = dims[0] ? dims[0] : 1, nk = dims[1] ? dims[1] : 1;
    /* choose the head grid that gives the biggest cells */
    int best_gc = 1, best = -1, lab = c->lay.font * 5 / 2;
    for (int gc = 1; gc <= NH; gc++) {
        int gr = (NH + gc - 1) / gc;
        int cw = (in.w / gc - lab) / nk, ch = (in.h / gr - lab) / nq;
        int s = cw < ch ? cw : ch;
        if (s > best) { best = s; best_gc = gc; }
    }
    int gc = best_gc, gr = (NH + gc - 1) / gc;
    int hw = in.w / gc, hh = in.h / gr, gap = vz_px(c, 6);
    for (int h = 0; h < NH; h++) {
        vz_rect cellr = {in.x + (h % gc) * hw, in.y + (h / gc) * hh, hw - gap, hh - gap};
        head_map(c, v, b, h, cellr, 1);
        if (!v->id_prefix || !v->id_prefix[0]) vz_click_add(c, cellr, VZ_CLICK_THUMB, v->block, h, 0);
    }
}

void vz_panel_attention(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[128];
    if (v->n_blocks == 0) return;
    vz_block b = v->blocks[v->block];
    vz_block_title(b, title, sizeof title);
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_ATTN);
    int leg_h = c->lay.font * 2;
    int masked = b.stack == SF_STACK_DEC && b.sub == SF_SUB_SELF;
    vz_legend(c, (vz_rect){in.x, in.y + in.h - leg_h, in.w / 2, leg_h}, VZ_CMAP_VIRIDIS, 0, 1, masked);
    char note[96];
    snprintf(note, sizeof note, "rows = queries, columns = keys%s", masked ? "; grey hatched = masked" : "");
    vz_label(c, note, c->lay.font * 3 / 4, VZ_DIM, in.x + in.w, in.y + in.h - leg_h, VZ_RIGHT);
    in.h -= leg_h + vz_px(c, 4);
    if (!v->cmp) { attn_heads(c, v, in); return; }
    /* a comparison: this run on the left, the compared run on the right, each labelled */
    int fs = c->lay.font * 4 / 5, gap = vz_px(c, 10), hw = (in.w - gap) / 2;
    const vz_view *side[2] = {v, v->cmp};
    for (int i = 0; i < 2; i++) {
        vz_rect h = {in.x + i * (hw + gap), in.y, hw, in.h};
        const vz_view *s = side[i];
        vz_fill(c, (vz_rect){h.x, h.y, h.w, fs + vz_px(c, 6)}, (vz_rgba){40, 45, 58, 255});
        vz_label(c, s->run_label ? s->run_label : (i ? "compared run" : "this run"), fs, i ? VZ_FOCUS : VZ_ACCENT,
                 h.x + vz_px(c, 4), h.y + vz_px(c, 3), VZ_LEFT);
        h.y += fs + vz_px(c, 10);
        h.h -= fs + vz_px(c, 10);
        vz_block sb = s->n_blocks ? s->blocks[s->block] : b;
        if (s->n_blocks == 0 || sb.stack != b.stack || sb.layer != b.layer || sb.sub != b.sub)
            vz_label(c, "this block is not in the compared model", fs, VZ_DIM, h.x, h.y, VZ_LEFT);
        else
            attn_heads(c, s, h);
    }
    vz_line(c, in.x + hw + gap / 2, in.y, in.x + hw + gap / 2, in.y + in.h, VZ_EDGE);
    if (v->cmp->diff_ref) /* explain the dots under the legend's note */
        vz_label(c, "white dot = this weight differs from the left run", c->lay.font * 3 / 4, VZ_FG, r.x + r.w - vz_px(c, 6),
                 in.y + in.h + vz_px(c, 4) + c->lay.font, VZ_RIGHT);
}

void vz_panel_thumbs(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_rect in = vz_panel_frame(c, r, "All layers x heads (click one to enlarge)", v->focus_panel == VZ_P_THUMBS);
    int NH = v->m->cfg.n_heads, nb = v->n_blocks;
    if (nb == 0) return;
    int fs = c->lay.font * 3 / 4, lab_w = vz_label_w(c, "dec L00 cross", fs) + vz_px(c, 6);
    int head_h = fs + 2;
    int tw = (in.w - lab_w) / NH, th = (in.h - head_h) / nb;
    if (tw < 2 || th < 2) return;
    char t[48];
    for (int h = 0; h < NH; h++) {
        snprintf(t, sizeof t, "H%d", h);
        vz_label(c, t, fs, h == v->head ? VZ_FOCUS : VZ_DIM, in.x + lab_w + h * tw + tw / 2, in.y, VZ_CENTER);
    }
    for (int i = 0; i < nb; i++) {
        vz_block b = v->blocks[i];
        snprintf(t, sizeof t, "%s L%d %s", b.stack == SF_STACK_ENC ? "enc" : "dec", b.layer,
                 b.sub == SF_SUB_CROSS ? "cross" : "self");
        int y = in.y + head_h + i * th;
        int lit = v->cur.layer == b.layer && v->cur.phase == b.stack && v->cur.sublayer == b.sub;
        vz_label(c, t, fs, lit ? VZ_ACCENT : i == v->block ? VZ_FOCUS : VZ_FG, in.x, y + th / 2, VZ_MIDDLE);
        for (int h = 0; h < NH; h++) {
            const sf_trace_entry *mask, *e = probs_of(v, b, h, &mask);
            if (!e) continue;
            int dims[2];
            sf_trace_shape(v->tr, e, dims);
            vz_rect box = {in.x + lab_w + h * tw, y, tw - vz_px(c, 3), th - vz_px(c, 3)};
            int cell;
            vz_rect g = vz_fit_grid(box, dims[0], dims[1], 0, &cell);
            if (cell > 0) { g.x += (box.w - g.w) / 2; }
            vz_heat hm = {e, 0, dims[0], dims[1], vz_rows_visible(v, e, dims[0]), VZ_CMAP_VIRIDIS, 0, 1, mask, 0, 0};
            char id[64];
            snprintf(id, sizeof id, "thumb.%s", e->name);
            if (dims[0] > 0 && dims[1] > 0) vz_heatmap(c, id, &hm, g);
            if (i == v->block && h == v->head) vz_outline(c, (vz_rect){g.x - 2, g.y - 2, g.w + 4, g.h + 4}, VZ_FOCUS, 2);
            vz_click_add(c, box, VZ_CLICK_THUMB, i, h, 1);
        }
    }
}

/* Returns the largest finite |x| of row `row`, columns [0, n) of e (a display range, at least 1e-6). */
static float row_absmax(const sf_trace_entry *e, int row, int n) {
    const float *x = sf_trace_row(e, row);
    float m = 1e-6f;
    for (int j = 0; j < n; j++)
        if (isfinite(x[j]) && fabsf(x[j]) > m) m = fabsf(x[j]);
    return m;
}

void vz_panel_scores(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[96], p[32];
    if (v->n_blocks == 0) return;
    vz_block b = v->blocks[v->block];
    int q = vz_view_query(v);
    vz_block_prefix(b, p, sizeof p);
    snprintf(title, sizeof title, "Scores to probabilities: %s H%d, query %d", p, v->head, q);
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_SCORES);
    if (q < 0) { vz_label(c, "no query computed yet: step forward", c->lay.font, VZ_DIM, in.x, in.y, VZ_LEFT); return; }
    static const char *const leaf[4] = {"scores", "scaled", "mask", "probs"};
    static const char *const what[4] = {"q.k", "/ sqrt(d)", "+ mask", "softmax"};
    const sf_trace_entry *es[4];
    for (int i = 0; i < 4; i++)
        if (!(es[i] = vz_entry(v, "%s.H%d.%s", p, v->head, leaf[i]))) return;
    int dims[2];
    sf_trace_shape(v->tr, es[0], dims);
    int nk = dims[1];
    if (nk == 0 || q >= dims[0]) return;
    int fs = c->lay.font * 4 / 5, lab_w = vz_label_w(c, "/ sqrt(d)", fs) + vz_px(c, 8);
    int leg_h = c->lay.font * 2, top = fs + 4;
    int strip_h = (in.h - top - leg_h - vz_px(c, 4)) / 4;
    if (strip_h > c->lay.font * 3) strip_h = c->lay.font * 3;
    if (strip_h < 2) return;
    int cell = (in.w - lab_w) / nk;
    if (cell < 1) return;
    int gx = in.x + lab_w, gw = cell * nk;
    char tok[16], num[24];
    int kstep = (fs + cell - 1) / cell; /* narrow cells: label every kstep-th key, skipping labels too wide */
    for (int j = 0; j < nk; j += kstep) {
        vz_token_label(v, key_stack(b), j, tok);
        if (vz_label_w(c, tok, fs) > kstep * cell + 2 && kstep * cell < fs * 2) continue;
        vz_label(c, tok, fs, VZ_FG, gx + j * cell + cell / 2, in.y, VZ_CENTER);
    }
    float range = row_absmax(es[1], q, nk); /* the scaled scores set the shared signed range */
    float r0 = row_absmax(es[0], q, nk);
    for (int i = 0; i < 4; i++) {
        const sf_trace_entry *e = es[i];
        int y = in.y + top + i * strip_h;
        vz_label(c, what[i], fs, VZ_FG, in.x, y + strip_h / 2, VZ_MIDDLE);
        int vis = vz_row_visible(v, e, q);
        vz_heat hm = {e, q, 1, nk, vis, i == 3 ? VZ_CMAP_VIRIDIS : VZ_CMAP_DIVERGING, 0, i == 3 ? 1.0f : i == 0 ? r0 : range,
                      es[2], cell >= 24 ? 8 : 4, 0};
        if (i == 2) hm.hi = 1.0f;
        char id[64];
        snprintf(id, sizeof id, "scores.%d", i);
        vz_rect g = {gx, y, gw, strip_h - vz_px(c, 3)};
        vz_heatmap(c, id, &hm, g);
        if (!vis || cell < fs * 2) continue;
        if (v->hide.name[0] && q == v->hide.lo[0] && vz_hide_covers(&v->hide, e->name)) continue; /* a question's answer */
        const float *x = sf_trace_row(e, q);
        const float *m = sf_trace_row(es[2], q);
        for (int j = 0; j < nk; j++) {
            if (isinf(m[j]) && m[j] < 0) snprintf(num, sizeof num, i == 3 ? "0" : "-inf");
            else snprintf(num, sizeof num, cell >= fs * 3 ? "%.2f" : "%.1f", (double)x[j]);
            vz_rgba col = (i == 3 && x[j] > 0.6f) || (i != 3 && !(isinf(m[j]) && m[j] < 0) && fabsf(x[j]) < hm.hi * 0.6f)
                              ? (vz_rgba){20, 20, 20, 255}
                              : VZ_FG;
            if (i == 3 && x[j] <= 0.6f) col = VZ_FG;
            vz_label(c, num, fs * 4 / 5, col, gx + j * cell + cell / 2, y + (strip_h - vz_px(c, 3)) / 2, VZ_CENTER | VZ_MIDDLE);
        }
    }
    int ly = in.y + top + 4 * strip_h + vz_px(c, 4);
    vz_legend(c, (vz_rect){gx, ly, gw / 2 - vz_px(c, 6), leg_h}, VZ_CMAP_DIVERGING, -range, range, 1);
    vz_legend(c, (vz_rect){gx + gw / 2 + vz_px(c, 6), ly, gw / 2 - vz_px(c, 6), leg_h}, VZ_CMAP_VIRIDIS, 0, 1, 0);
}
