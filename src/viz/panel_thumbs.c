/* panel_thumbs.c - every attention block x head as a thumbnail; the focused one outlined, a click enlarges
 * it in the attention panel. The grid takes the orientation (blocks as rows or as columns) that gives the
 * biggest thumbnails, and each thumbnail fills its cell. */
#include <stdio.h>

#include "panels.h"

/* Writes a block's label ("enc L0", and "self" or "cross" in *kind) into out; a decoder-only model's blocks
 * are its layers, "L0" with no kind (GPT-2's 12 x 12 grid: L0..L11 by H0..H11). */
static void block_label(const vz_ctx *c, const vz_view *v, vz_block b, char *out, size_t size, const char **kind) {
    int gpt = v->m->cfg.family == SF_FAMILY_GPT;
    snprintf(out, size, vz_s(c, gpt ? VZ_S_BLOCK_LAYER : b.stack == SF_STACK_ENC ? VZ_S_BLOCK_ENC : VZ_S_BLOCK_DEC), b.layer);
    *kind = gpt ? "" : vz_s(c, b.sub == SF_SUB_CROSS ? VZ_S_BLOCK_CROSS : VZ_S_BLOCK_SELF);
}

void vz_panel_thumbs(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_rect in = vz_panel_frame(c, r, vz_s(c, VZ_S_THUMBS_TITLE), v->focus_panel == VZ_P_THUMBS || c->lay.spot == VZ_P_THUMBS);
    int NH = v->m->cfg.n_heads, nb = v->n_blocks;
    if (nb == 0 || NH == 0) return;
    int px = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, gap = vz_px(c, 3) + 1;
    char t[64], t2[96];
    const char *kind;
    int lab_w = 0; /* widest "enc L0 cross" (blocks as rows) and widest part (blocks as columns) */
    int part_w = vz_label_w(c, "H00", px), row_h = 1; /* row_h: the tallest row label as drawn */
    for (int i = 0; i < nb; i++) {
        block_label(c, v, v->blocks[i], t, sizeof t, &kind);
        snprintf(t2, sizeof t2, kind[0] ? "%s %s" : "%s", t, kind);
        int w = vz_label_w(c, t2, px), th;
        if (w > lab_w) lab_w = w;
        vz_text_size(c->text, t2, px, &w, &th);
        if (th > row_h) row_h = th;
        w = vz_label_w(c, t, px);
        if (w > part_w) part_w = w;
        w = vz_label_w(c, kind, px);
        if (w > part_w) part_w = w;
    }
    lab_w += pad;
    /* rows closer than their labels but not closer than half of them: the labels in two staggered columns
     * (L0 at the left, L1 at the right, ...), so every block keeps its name (GPT-2's 12 rows on a projector) */
    int one_w = lab_w, pitch = (in.h - lh) / nb, stagger = pitch < row_h && 2 * pitch >= row_h;
    if (stagger) lab_w = 2 * one_w;
    /* rows = blocks: a label column at the left, head names on top; columns = blocks: two lines on top */
    int a_w = (in.w - lab_w) / NH, a_h = (in.h - lh) / nb;
    int b_w = (in.w - part_w - pad) / nb, b_h = (in.h - 2 * lh) / NH;
    int sa = (a_w < a_h ? a_w : a_h) - gap, sb = (b_w < b_h ? b_w : b_h) - gap;
    if (sb > b_w - gap) sb = b_w - gap;
    int cols_are_blocks = sb > sa && b_w >= part_w + gap;
    int s = cols_are_blocks ? sb : sa;
    if (s < 3) return;
    int cw = cols_are_blocks ? b_w : a_w, ch = cols_are_blocks ? b_h : a_h;
    int x0 = in.x + (cols_are_blocks ? part_w + pad : lab_w), y0 = in.y + (cols_are_blocks ? 2 * lh : lh);
    int rl = cols_are_blocks ? lh : row_h; /* rows closer than their labels: label every k-th one */
    int every = ch >= rl || (stagger && !cols_are_blocks) ? 1 : (rl + ch - 1) / ch;
    /* headers */
    for (int h = 0; h < NH; h++) {
        if (cols_are_blocks && h % every) continue;
        snprintf(t, sizeof t, vz_s(c, VZ_S_HEAD_SHORT), h);
        vz_rgba col = h == v->head ? c->th->focus : c->th->dim;
        if (cols_are_blocks) vz_print(c, t, px, col, in.x, y0 + h * ch + s / 2, VZ_MIDDLE, part_w);
        else vz_print(c, t, px, col, x0 + h * cw + s / 2, in.y, VZ_CENTER, cw);
    }
    for (int i = 0; i < nb; i++) {
        vz_block b = v->blocks[i];
        int lit = v->cur.layer == b.layer && v->cur.phase == b.stack && v->cur.sublayer == b.sub;
        vz_rgba col = lit ? c->th->accent : i == v->block ? c->th->focus : c->th->fg;
        block_label(c, v, b, t, sizeof t, &kind);
        if (cols_are_blocks) {
            vz_print(c, t, px, col, x0 + i * cw + s / 2, in.y, VZ_CENTER, cw);
            vz_print(c, kind, px, col, x0 + i * cw + s / 2, in.y + lh, VZ_CENTER, cw);
        } else if (i % every == 0) {
            snprintf(t2, sizeof t2, kind[0] ? "%s %s" : "%s", t, kind);
            int lx = stagger && i % 2 ? in.x + one_w : in.x;
            vz_print(c, t2, px, col, lx, y0 + i * ch + s / 2, VZ_MIDDLE, (stagger ? one_w : lab_w) - pad);
        }
        for (int h = 0; h < NH; h++) {
            const sf_trace_entry *mask, *e = vz_probs_of(v, b, h, &mask);
            if (!e) continue;
            int dims[2];
            sf_trace_shape(v->tr, e, dims);
            if (dims[0] <= 0 || dims[1] <= 0) continue;
            int bx = x0 + (cols_are_blocks ? i : h) * cw, by = y0 + (cols_are_blocks ? h : i) * ch;
            /* the thumbnail fills an s x s square, keeping the heatmap's aspect */
            int gw = s, gh = s;
            if (dims[1] > dims[0]) gh = s * dims[0] / dims[1];
            else gw = s * dims[1] / dims[0];
            if (gw < 1 || gh < 1) continue;
            vz_rect g = {bx + (s - gw) / 2, by + (s - gh) / 2, gw, gh};
            vz_heat hm = {e, 0, dims[0], dims[1], vz_rows_visible(v, e, dims[0]), c->pal->seq, 0, 1, mask, 0, 0, 0, NULL, NULL};
            char id[64];
            snprintf(id, sizeof id, "thumb.%s", e->name);
            vz_heatmap(c, id, &hm, g);
            if (i == v->block && h == v->head) vz_outline(c, vz_rect_inset(g, -2), c->th->focus, 2);
            vz_click_add(c, (vz_rect){bx, by, s, s}, VZ_CLICK_THUMB, i, h, 1);
        }
    }
}
