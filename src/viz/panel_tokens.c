/* panel_tokens.c - the encoder's and the decoder's tokens as boxes with their positions (or their ids, with
 * v->show_ids; the caption under the row's name says which); the ones the cursor has reached lit, generated
 * ones green, the cursor's outlined. A long row scrolls to keep the cursor's token in view; as the spotlight it wraps onto several lines. */
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Draws token i of a stack as a box at (x, y), w wide and bh tall, with its position (or id) under it. */
static void token_box(vz_ctx *c, const vz_view *v, int stack, int i, int x, int y, int w, int bh, int px, int gap) {
    const sf_trace_entry *e = vz_entry(v, "%s.embed.tok", stack == SF_STACK_ENC ? "enc" : "dec");
    char tok[16], num[16];
    int sp = c->lay.f.small;
    vz_rgba numc = v->show_ids ? c->th->focus : c->th->dim;
    int reached = e && vz_row_visible(v, e, i);
    int is_cur = v->cur.phase == stack && i == v->cur.token;
    int gen = stack == SF_STACK_DEC && i >= v->n_prompt;
    vz_rect b = {x, y, w, bh};
    vz_rgba fill = reached ? (gen ? c->th->tok_gen : c->th->tok_seen) : c->th->panel;
    vz_fill(c, b, fill);
    vz_outline(c, b, is_cur ? c->th->accent : c->th->edge, is_cur ? vz_px(c, 2) : 1);
    vz_ink(c, fill);
    vz_print(c, vz_token_label(v, stack, i, tok), px, reached ? c->th->fg : c->th->dim, x + w / 2, y + bh / 2,
            VZ_CENTER | VZ_MIDDLE, w - 2);
    vz_ink(c, c->th->panel);
    /* the position, or the token's id -- a generated token's once the cursor has reached it, like its label */
    if (!v->show_ids) snprintf(num, sizeof num, "%d", i);
    else if (stack == SF_STACK_DEC && i >= v->n_prompt && !reached) snprintf(num, sizeof num, "?");
    else snprintf(num, sizeof num, "%d", (stack == SF_STACK_ENC ? v->s->enc.ids : v->s->dec.ids)[i]);
    vz_print(c, num, sp, numc, x + w / 2, y + bh, VZ_CENTER, w + gap);
    vz_click_add(c, b, VZ_CLICK_TOKEN, stack, i, 0);
}

/* Puts each of the n boxes (widths w, gap between them) on the first line where it fits in room, keeping
 * reserve at each line's end (for "…"); writes the lines into line[] and returns the last line's index. */
static int fill_lines(const int *w, int n, int gap, int room, int reserve, int *line) {
    int L = 0, xx = 0;
    for (int i = 0; i < n; i++) {
        if (xx > 0 && xx + w[i] > room - reserve) { L++; xx = 0; }
        line[i] = L;
        xx += w[i] + gap;
    }
    return L;
}

/* Draws a stack's token boxes into r (label column lw wide) with text of size px: on one line that scrolls to
 * keep the cursor's token in view, or, when r holds several lines of height rh (the strip as the spotlight),
 * wrapped onto them, scrolled by lines when even those are too few. */
static void token_row(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect r, int lw, int px, int rh) {
    int pad = c->lay.pad, sp = c->lay.f.small, lh = vz_lh(c, px), bh = lh + pad / 2;
    if (bh > rh - vz_lh(c, sp)) bh = rh - vz_lh(c, sp);
    vz_print(c, vz_s(c, stack == SF_STACK_ENC ? VZ_S_ENCODER_ROW : VZ_S_DECODER_ROW), px, c->th->dim, r.x, r.y + bh / 2,
            VZ_MIDDLE, lw - pad);
    vz_rgba numc = v->show_ids ? c->th->focus : c->th->dim; /* what the numbers under the boxes are */
    vz_print(c, vz_s(c, v->show_ids ? VZ_S_TOK_IDS : VZ_S_TOK_POSITIONS), sp, numc, r.x, r.y + bh, VZ_LEFT, lw - pad);
    char tok[16];
    int wmin = px * 3 / 2, gap = pad / 2 > 2 ? pad / 2 : 2;
    int w[SF_MAX_LEN], total = 0, cur = v->cur.phase == stack ? v->cur.token : -1;
    if (n > SF_MAX_LEN) n = SF_MAX_LEN;
    for (int i = 0; i < n; i++) {
        w[i] = vz_label_w(c, vz_token_label(v, stack, i, tok), px) + 2 * pad;
        if (w[i] < wmin) w[i] = wmin;
        total += w[i] + gap;
    }
    int room = r.w - lw, more_w = vz_label_w(c, "\xe2\x80\xa6", px) + gap;
    int lines = rh > 0 ? (r.h + pad / 2) / (rh + pad / 2) : 1;
    if (total > room && lines > 1) { /* wrapped: each token on the line where it fits, the cursor's line shown */
        /* the lines filled to the end when they all show; only when some are left out does a line end (or start)
         * with "…", and then every line keeps room for it (lesson 9 step 6, zh: the last r went to a line of its own) */
        static int line[SF_MAX_LEN];
        int L = fill_lines(w, n, gap, room, 0, line);
        if (L + 1 > lines) L = fill_lines(w, n, gap, room, more_w, line);
        int top = 0;
        if (L + 1 > lines && cur >= 0) top = line[cur] - lines + 1 > 0 ? line[cur] - lines + 1 : 0;
        int x = r.x + lw, at = -1;
        for (int i = 0; i < n; i++) {
            if (line[i] < top) continue;
            if (line[i] >= top + lines) { vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, r.y + (lines - 1) * (rh + pad / 2) + bh / 2, VZ_MIDDLE, 0); break; }
            int y = r.y + (line[i] - top) * (rh + pad / 2);
            if (line[i] != at) { /* a new line: its first box at the left, after "..." when earlier lines are hidden */
                x = r.x + lw;
                if (at < 0 && top > 0) x += vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, y + bh / 2, VZ_MIDDLE, 0) + gap;
                at = line[i];
            }
            token_box(c, v, stack, i, x, y, w[i], bh, px, gap);
            x += w[i] + gap;
        }
        return;
    }
    int first = 0; /* one line: scroll so the cursor's token is in view when they do not all fit */
    if (total > room && cur >= 0) {
        int span = 0;
        first = cur;
        while (first > 0 && span + w[first - 1] + gap + w[cur] + 2 * more_w < room) span += w[--first] + gap;
    }
    int x = r.x + lw;
    if (first > 0) x += vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, r.y + bh / 2, VZ_MIDDLE, 0) + gap;
    for (int i = first; i < n; i++) {
        if (x + w[i] > r.x + r.w - (i + 1 < n ? more_w : 0)) { vz_print(c, "\xe2\x80\xa6", px, c->th->dim, x, r.y + bh / 2, VZ_MIDDLE, 0); break; }
        token_box(c, v, stack, i, x, r.y, w[i], bh, px, gap);
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
    if (c->lay.spot == VZ_P_TOKENS) { /* the spotlight: each stack's tokens wrapped over its share of the height */
        int share = (in.h - (rows - 1) * pad) / rows, y = in.y;
        if (rows == 2) {
            token_row(c, v, SF_STACK_ENC, v->s->n_src, (vz_rect){in.x, y, in.w, share}, lw, px, rh);
            y += share + pad;
        }
        token_row(c, v, SF_STACK_DEC, v->s->n_tgt, (vz_rect){in.x, y, in.w, share}, lw, px, rh);
        return;
    }
    int y = in.y + (in.h - rows * rh - (rows - 1) * pad / 2) / 2; /* centred in the strip */
    if (y < in.y) y = in.y;
    if (rows == 2) {
        token_row(c, v, SF_STACK_ENC, v->s->n_src, (vz_rect){in.x, y, in.w, rh}, lw, px, rh);
        y += rh + pad / 2;
    }
    token_row(c, v, SF_STACK_DEC, v->s->n_tgt, (vz_rect){in.x, y, in.w, rh}, lw, px, rh);
}
