/* panel_tokens.c - the encoder's and the decoder's tokens as boxes with their positions (or their ids, with
 * v->show_ids; the caption under the row's name says which); the ones the cursor has reached lit, generated
 * ones green, the cursor's outlined. A long row scrolls to keep the cursor's token in view. */
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Draws one row of token boxes for a stack into r (label column lw wide) with text of size px. */
static void token_row(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect r, int lw, int px) {
    int pad = c->lay.pad, sp = c->lay.f.small, lh = vz_lh(c, px), bh = lh + pad / 2;
    if (bh > r.h - vz_lh(c, sp)) bh = r.h - vz_lh(c, sp);
    vz_print(c, vz_s(c, stack == SF_STACK_ENC ? VZ_S_ENCODER_ROW : VZ_S_DECODER_ROW), px, c->th->dim, r.x, r.y + bh / 2,
            VZ_MIDDLE, lw - pad);
    vz_rgba numc = v->show_ids ? c->th->focus : c->th->dim; /* what the numbers under the boxes are */
    vz_print(c, vz_s(c, v->show_ids ? VZ_S_TOK_IDS : VZ_S_TOK_POSITIONS), sp, numc, r.x, r.y + bh, VZ_LEFT, lw - pad);
    char tok[16], num[16];
    const sf_trace_entry *e = vz_entry(v, "%s.embed.tok", stack == SF_STACK_ENC ? "enc" : "dec");
    int wmin = px * 3 / 2, gap = pad / 2 > 2 ? pad / 2 : 2;
    /* the boxes' widths; scroll so the cursor's token is in view when they do not all fit */
    int w[SF_MAX_LEN], total = 0, cur = v->cur.phase == stack ? v->cur.token : -1;
    for (int i = 0; i < n && i < SF_MAX_LEN; i++) {
        w[i] = vz_label_w(c, vz_token_label(v, stack, i, tok), px) + 2 * pad;
        if (w[i] < wmin) w[i] = wmin;
        total += w[i] + gap;
    }
    int room = r.w - lw, first = 0, more_w = vz_label_w(c, "\xe2\x80\xa6", px) + gap;
    if (total > room && cur >= 0) {
        int span = 0;
        first = cur;
        while (first > 0 && span + w[first - 1] + gap + w[cur] + 2 * more_w < room) span += w[--first] + gap;
    }
    int x = r.x + lw;
    if (first > 0) x += vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, r.y + bh / 2, VZ_MIDDLE, 0) + gap;
    for (int i = first; i < n && i < SF_MAX_LEN; i++) {
        if (x + w[i] > r.x + r.w - (i + 1 < n ? more_w : 0)) { vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, r.y + bh / 2, VZ_MIDDLE, 0); break; }
        int reached = e && vz_row_visible(v, e, i);
        int is_cur = i == cur;
        int gen = stack == SF_STACK_DEC && i >= v->n_prompt;
        vz_rect b = {x, r.y, w[i], bh};
        vz_rgba fill = reached ? (gen ? c->th->tok_gen : c->th->tok_seen) : c->th->panel;
        vz_fill(c, b, fill);
        vz_outline(c, b, is_cur ? c->th->accent : c->th->edge, is_cur ? vz_px(c, 2) : 1);
        vz_ink(c, fill);
        vz_print(c, vz_token_label(v, stack, i, tok), px, reached ? c->th->fg : c->th->dim, x + w[i] / 2, r.y + bh / 2,
                VZ_CENTER | VZ_MIDDLE, w[i] - 2);
        vz_ink(c, c->th->panel);
        /* the position, or the token's id -- a generated token's once the cursor has reached it, like its label */
        if (!v->show_ids) snprintf(num, sizeof num, "%d", i);
        else if (stack == SF_STACK_DEC && i >= v->n_prompt && !reached) snprintf(num, sizeof num, "?");
        else snprintf(num, sizeof num, "%d", (stack == SF_STACK_ENC ? v->s->enc.ids : v->s->dec.ids)[i]);
        vz_print(c, num, sp, numc, x + w[i] / 2, r.y + bh, VZ_CENTER, w[i] + gap);
        vz_click_add(c, b, VZ_CLICK_TOKEN, stack, i, 0);
        x += w[i] + gap;
    }
}

void vz_panel_tokens(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill_panel(c, r);
    if (c->lay.spot == VZ_P_TOKENS || v->focus_panel == VZ_P_TOKENS) vz_outline(c, r, c->th->focus, vz_px(c, 2));
    int pad = c->lay.pad;
    vz_rect in = vz_rect_inset(r, pad / 2);
    int rows = v->m->cfg.family == SF_FAMILY_ENCDEC ? 2 : 1;
    /* big when it is the spotlight, else the label size */
    int px = c->lay.spot == VZ_P_TOKENS ? c->lay.f.body : c->lay.f.label;
    int rh = vz_lh(c, px) + pad / 2 + vz_lh(c, c->lay.f.small);
    int lw = vz_label_w(c, vz_s(c, VZ_S_ENCODER_ROW), px);
    int lw2 = vz_label_w(c, vz_s(c, VZ_S_DECODER_ROW), px);
    int lw3 = vz_label_w(c, vz_s(c, v->show_ids ? VZ_S_TOK_IDS : VZ_S_TOK_POSITIONS), c->lay.f.small);
    lw = (lw > lw2 ? lw : lw2);
    lw = (lw > lw3 ? lw : lw3) + 2 * pad;
    int y = in.y + (in.h - rows * rh - (rows - 1) * pad / 2) / 2; /* centred in the strip */
    if (y < in.y) y = in.y;
    if (rows == 2) {
        token_row(c, v, SF_STACK_ENC, v->s->n_src, (vz_rect){in.x, y, in.w, rh}, lw, px);
        y += rh + pad / 2;
    }
    token_row(c, v, SF_STACK_DEC, v->s->n_tgt, (vz_rect){in.x, y, in.w, rh}, lw, px);
}
