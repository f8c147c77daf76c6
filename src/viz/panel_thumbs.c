/* panel_thumbs.c - every attention block x head as a thumbnail; the focused one outlined, a click enlarges
 * it in the attention panel. The grid takes the orientation (blocks as rows or as columns) that gives the
 * biggest thumbnails, and each thumbnail fills its cell. A knocked-out head (docs/experiments.md) is crossed
 * out and labelled "off" (a mark that needs no colour); each head whose strongest role score reaches
 * SF_ROLE_MIN carries that role's name in its corner, when the name fits the thumbnail; a legend line says both. */
#include <math.h>
#include <stdio.h>

#include "panels.h"

/* Returns the string id of a role's tag. */
static vz_str role_str(int role) {
    static const vz_str ids[SF_ROLE_COUNT] = {VZ_S_ROLE_PREV, VZ_S_ROLE_FIRST, VZ_S_ROLE_SELF, VZ_S_ROLE_ANTI, VZ_S_ROLE_INDUCTION};
    return role >= 0 && role < SF_ROLE_COUNT ? ids[role] : VZ_S_NONE;
}

int vz_thumb_role(const vz_view *v, vz_block b, int h) {
    for (int i = 0; v->roles && i < v->n_roles; i++) {
        sf_head_ref r = v->roles[i].head;
        if (r.stack == b.stack && r.layer == b.layer && r.sublayer == b.sub && r.head == h)
            return sf_role_strongest(&v->roles[i], SF_ROLE_MIN);
    }
    return -1;
}

int vz_thumb_ablated(const vz_view *v, vz_block b, int h) {
    return v->iv && sf_interv_ablated(v->iv, (sf_head_ref){b.stack, b.layer, b.sub, h});
}

/* Draws the knocked-out mark over thumbnail g: a thick cross and "off" in a box (or an X where that does not fit). */
static void mark_off(vz_ctx *c, vz_rect g, int px) {
    int t = vz_px(c, 2) + 1;
    for (int k = -t / 2; k <= t / 2; k++) {
        vz_line(c, g.x + k, g.y, g.x + g.w - 1 + k, g.y + g.h - 1, c->th->wrong);
        vz_line(c, g.x + g.w - 1 + k, g.y, g.x + k, g.y + g.h - 1, c->th->wrong);
    }
    const char *off = vz_s(c, VZ_S_THUMBS_OFF);
    int w = vz_label_w(c, off, px) + 2 * c->lay.pad, h = vz_lh(c, px);
    if (w > g.w || h > g.h) { off = "X"; w = vz_label_w(c, off, px) + 2; }
    vz_rect b = {g.x + (g.w - w) / 2, g.y + (g.h - h) / 2, w, h};
    vz_fill(c, b, c->th->panel);
    vz_outline(c, b, c->th->wrong, 1);
    vz_ink(c, c->th->panel);
    vz_print(c, off, px, c->th->fg, b.x + b.w / 2, b.y + b.h / 2, VZ_CENTER | VZ_MIDDLE, 0);
}

/* Draws a role's tag in the top-left corner of thumbnail g when it fits there, covering at most a third of its
 * height; returns 1 if drawn. */
static int tag_role(vz_ctx *c, vz_rect g, int role, int px) {
    const char *tag = vz_s(c, role_str(role));
    int w = vz_label_w(c, tag, px) + 2, h = vz_lh(c, px);
    if (w > g.w || h * 3 > g.h) return 0; /* too small: the legend says so; the grid as the spotlight has room */
    vz_rect b = {g.x, g.y, w, h};
    vz_fill(c, b, c->th->panel);
    vz_ink(c, c->th->panel);
    vz_print(c, tag, px, c->th->fg, b.x + 1, b.y, VZ_LEFT, 0);
    return 1;
}

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
    int ablated = 0, roles = 0; /* a head knocked out or tagged: a legend line at the bottom says what the marks mean */
    for (int i = 0; i < nb; i++)
        for (int h = 0; h < NH; h++) {
            ablated |= vz_thumb_ablated(v, v->blocks[i], h);
            roles |= vz_thumb_role(v, v->blocks[i], h) >= 0;
        }
    vz_rect leg_r = {in.x, in.y + in.h, in.w, 0};
    if (ablated || roles) in.h -= lh + pad / 2;
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
    int fr = vz_px(c, 3) + 1; /* under the head names: room for a lesson's frame around a first row's cells (vz_heatmap) */
    int a_w = (in.w - lab_w) / NH, a_h = (in.h - lh - fr) / nb;
    int b_w = (in.w - part_w - pad) / nb, b_h = (in.h - 2 * lh - fr) / NH;
    int sa = (a_w < a_h ? a_w : a_h) - gap, sb = (b_w < b_h ? b_w : b_h) - gap;
    if (sb > b_w - gap) sb = b_w - gap;
    int tagged = 0;
    int cols_are_blocks = sb > sa && b_w >= part_w + gap;
    int s = cols_are_blocks ? sb : sa;
    if (s < 3) return;
    int cw = cols_are_blocks ? b_w : a_w, ch = cols_are_blocks ? b_h : a_h;
    int x0 = in.x + (cols_are_blocks ? part_w + pad : lab_w), y0 = in.y + (cols_are_blocks ? 2 * lh : lh) + fr;
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
            vz_heat hm = {e, 0, dims[0], dims[1], vz_rows_visible(v, e, dims[0]), c->pal->seq, 0, 1, mask, 0, 0, 0, NULL, NULL, 0};
            char id[64];
            snprintf(id, sizeof id, "thumb.%s", e->name);
            vz_heatmap(c, id, &hm, g);
            int role = vz_thumb_role(v, b, h);
            if (role >= 0) tagged += tag_role(c, g, role, px);
            if (vz_thumb_ablated(v, b, h)) mark_off(c, g, px);
            vz_ink(c, c->th->panel);
            if (i == v->block && h == v->head) vz_outline(c, vz_rect_inset(g, -2), c->th->focus, 2);
            vz_click_add(c, (vz_rect){bx, by, s, s}, VZ_CLICK_THUMB, i, h, 1);
        }
    }
    if (ablated || roles) { /* the legend: what is drawn; the keys only where they work (a lesson uses @ablate) */
        char leg[200];
        vz_str id = !tagged ? (ablated ? VZ_S_THUMBS_LEGEND_OFF : VZ_S_THUMBS_TAGS_SMALL)
                            : v->lesson ? VZ_S_THUMBS_LEGEND_SHORT : VZ_S_THUMBS_LEGEND;
        if (id == VZ_S_THUMBS_LEGEND_OFF) snprintf(leg, sizeof leg, "%s", vz_s(c, id));
        else snprintf(leg, sizeof leg, vz_s(c, id), (double)SF_ROLE_MIN);
        if (id == VZ_S_THUMBS_LEGEND && vz_label_w(c, leg, px) > leg_r.w) snprintf(leg, sizeof leg, vz_s(c, VZ_S_THUMBS_LEGEND_SHORT), (double)SF_ROLE_MIN);
        vz_print(c, leg, px, c->th->dim, leg_r.x, leg_r.y, VZ_BOTTOM, leg_r.w);
    }
}
