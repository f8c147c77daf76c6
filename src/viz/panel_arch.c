/* panel_arch.c - the architecture map: embedding, every layer's sub-layers, the final LayerNorm and the
 * output head as boxes; the cursor's box lit, the focused attention block outlined, the encoder's output
 * wired to every cross-attention. A click on a box moves the cursor there. */
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Draws one box of the map, lit when the cursor is inside it, labelled on one line, on two when the box has room,
 * else with the short label; registers its click. */
static void arch_box(vz_ctx *c, const vz_view *v, vz_rect b, const char *label, const char *brief, int stack, int layer,
                     int sub) {
    int lit = v->cur.phase == stack && v->cur.layer == layer && v->cur.sublayer == sub;
    int focused = 0;
    if (v->n_blocks) {
        vz_block f = v->blocks[v->block];
        focused = f.stack == stack && f.layer == layer && f.sub == sub;
    }
    vz_fill(c, b, lit ? c->th->box_lit : c->th->box);
    vz_ink(c, lit ? c->th->box_lit : c->th->box);
    vz_outline(c, b, lit ? c->th->accent : focused ? c->th->focus : c->th->edge, lit || focused ? vz_px(c, 2) : 1);
    int px = c->lay.f.label;
    vz_rect in = {b.x + c->lay.pad / 2, b.y, b.w - c->lay.pad, b.h};
    if (b.h >= vz_lh(c, px)) {
        if (vz_label_w(c, label, px) <= in.w || vz_wrap_height(c, label, px, in.w) <= in.h)
            vz_wrap_centred(c, label, px, c->th->fg, in);
        else
            vz_print(c, brief, px, c->th->fg, b.x + b.w / 2, b.y + b.h / 2, VZ_CENTER | VZ_MIDDLE, in.w);
    }
    vz_ink(c, c->th->panel);
    vz_click_add(c, b, VZ_CLICK_ARCH, stack, layer, sub);
}

/* Draws one stack's column of boxes; returns the rectangle of its last box (the stack's output). */
static vz_rect arch_column(vz_ctx *c, const vz_view *v, vz_rect col, int stack, vz_rect *cross_boxes) {
    const sf_config *m = &v->m->cfg;
    int encdec = m->family == SF_FAMILY_ENCDEC, pre = m->norm == SF_NORM_PRE;
    int nl = stack == SF_STACK_ENC ? m->n_enc_layers : m->n_dec_layers;
    int ffn = m->d_ff > 0; /* attention-only models have no feed-forward box */
    int per = (stack == SF_STACK_DEC && encdec ? 3 : 2) - !ffn;
    int n = 1 + nl * per + (pre ? 1 : 0) + (stack == SF_STACK_DEC ? 1 : 0);
    int lh = vz_lh(c, c->lay.f.label), gap = vz_px(c, 3), lgap = vz_px(c, 6);
    int bh = (col.h - (n - 1) * gap - nl * lgap) / n;
    /* too many layers to label one box a line (GPT-2's 12): each layer's sub-layers side by side on one line */
    int side = bh < lh && per >= 2;
    if (side) {
        n = 1 + nl + (pre ? 1 : 0) + (stack == SF_STACK_DEC ? 1 : 0);
        bh = (col.h - (n - 1) * gap - nl * lgap) / n;
    }
    int sw = side ? (col.w - (per - 1) * gap) / per : col.w; /* a sub-layer's box width */
    if (bh > lh * 2 + 2) bh = lh * 2 + 2; /* room for a label on two lines */
    if (bh < 2) bh = 2;
    int y = col.y;
    char t[64], u[64];
    vz_rect last = {col.x, y, col.w, bh};
    arch_box(c, v, last, vz_s(c, m->pos == SF_POS_NONE ? VZ_S_ARCH_EMBED : VZ_S_ARCH_EMBED_POS), vz_s(c, VZ_S_ARCH_EMBED_S), stack,
             -1, SF_SUB_EMBED);
    y += bh + gap;
    for (int l = 0; l < nl; l++) {
        y += lgap;
        int x = col.x; /* side by side: the next sub-layer's box goes right of the last, else below it */
        snprintf(t, sizeof t, vz_s(c, stack == SF_STACK_DEC ? VZ_S_ARCH_MSELF : VZ_S_ARCH_SELF), l);
        snprintf(u, sizeof u, vz_s(c, stack == SF_STACK_DEC ? VZ_S_ARCH_MSELF_S : VZ_S_ARCH_SELF_S), l);
        last = (vz_rect){x, y, sw, bh};
        arch_box(c, v, last, t, u, stack, l, SF_SUB_SELF);
        if (side) x += sw + gap; else y += bh + gap;
        if (stack == SF_STACK_DEC && encdec) {
            snprintf(t, sizeof t, vz_s(c, VZ_S_ARCH_CROSS), l);
            snprintf(u, sizeof u, vz_s(c, VZ_S_ARCH_CROSS_S), l);
            last = (vz_rect){x, y, sw, bh};
            if (cross_boxes) cross_boxes[l] = last;
            arch_box(c, v, last, t, u, stack, l, SF_SUB_CROSS);
            if (side) x += sw + gap; else y += bh + gap;
        }
        if (ffn) {
            snprintf(t, sizeof t, vz_s(c, VZ_S_ARCH_FFN), l);
            snprintf(u, sizeof u, vz_s(c, VZ_S_ARCH_FFN_S), l);
            last = (vz_rect){x, y, sw, bh};
            arch_box(c, v, last, t, u, stack, l, SF_SUB_FFN);
            if (!side) y += bh + gap;
        }
        if (side) y += bh + gap;
    }
    if (pre) {
        last = (vz_rect){col.x, y, col.w, bh};
        arch_box(c, v, last, vz_s(c, VZ_S_ARCH_FINAL), vz_s(c, VZ_S_ARCH_FINAL_S), stack, -1, SF_SUB_FINAL);
        y += bh + gap;
    }
    if (stack == SF_STACK_DEC) {
        last = (vz_rect){col.x, y, col.w, bh};
        arch_box(c, v, last, vz_s(c, VZ_S_ARCH_HEAD), vz_s(c, VZ_S_ARCH_HEAD_S), stack, -1, SF_SUB_HEAD);
    }
    return last;
}

void vz_panel_arch(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_rect in = vz_panel_frame(c, r, vz_s(c, VZ_S_ARCH_TITLE), v->focus_panel == VZ_P_ARCH || c->lay.spot == VZ_P_ARCH);
    const sf_config *m = &v->m->cfg;
    int px = c->lay.f.small, lh = vz_lh(c, px) + vz_px(c, 4);
    if (m->family == SF_FAMILY_ENCDEC) {
        int gap = c->lay.pad * 2, w = (in.w - gap) / 2;
        if (w > lh * 14) w = lh * 14; /* a spotlight: boxes no wider than their labels need */
        int x0 = in.x + (in.w - 2 * w - gap) / 2;
        vz_print(c, vz_s(c, VZ_S_ENCODER_ROW), px, c->th->dim, x0 + w / 2, in.y, VZ_CENTER, w);
        vz_print(c, vz_s(c, VZ_S_DECODER_ROW), px, c->th->dim, x0 + w + gap + w / 2, in.y, VZ_CENTER, w);
        vz_rect cross[SF_MAX_LAYERS];
        memset(cross, 0, sizeof cross);
        vz_rect enc_out = arch_column(c, v, (vz_rect){x0, in.y + lh, w, in.h - lh}, SF_STACK_ENC, NULL);
        arch_column(c, v, (vz_rect){x0 + w + gap, in.y + lh, w, in.h - lh}, SF_STACK_DEC, cross);
        /* the encoder's output feeds every cross-attention */
        for (int l = 0; l < m->n_dec_layers && l < SF_MAX_LAYERS; l++) {
            int xa = enc_out.x + enc_out.w, ya = enc_out.y + enc_out.h / 2;
            int xb = cross[l].x, yb = cross[l].y + cross[l].h / 2;
            int xm = xa + (xb - xa) / 2;
            vz_line(c, xa, ya, xm, ya, c->th->dim);
            vz_line(c, xm, ya, xm, yb, c->th->dim);
            vz_line(c, xm, yb, xb, yb, c->th->dim);
        }
    } else {
        int w = in.w * 3 / 4;
        if (w > lh * 16) w = lh * 16;
        vz_print(c, vz_s(c, VZ_S_ARCH_GPT), px, c->th->dim, in.x + in.w / 2, in.y, VZ_CENTER, in.w);
        arch_column(c, v, (vz_rect){in.x + (in.w - w) / 2, in.y + lh, w, in.h - lh}, SF_STACK_DEC, NULL);
    }
}
