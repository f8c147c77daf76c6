/* panels.c - the panels other than attention, the tooltip, and the whole frame (the help overlay is help.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/sample.h"
#include "panels.h"
#include "strings.h"

const char *vz_token_label(const vz_view *v, int stack, int pos, char out[16]) {
    const int *ids = stack == SF_STACK_ENC ? v->s->enc.ids : v->s->dec.ids;
    if (stack == SF_STACK_DEC && pos >= v->n_prompt) { /* a generated token the cursor has not reached: not written yet */
        const sf_trace_entry *e = vz_entry(v, "dec.embed.sum");
        if (e && !vz_row_visible(v, e, pos)) { strcpy(out, "?"); return out; }
    }
    sf_tokenizer_piece(&v->m->tok, ids[pos], out);
    if (!strcmp(out, " ")) strcpy(out, "\xe2\x90\xa3"); /* U+2423 OPEN BOX: a visible space */
    return out;
}

void vz_panel_top(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill(c, r, (vz_rgba){24, 27, 36, 255});
    const sf_config *m = &v->m->cfg;
    char t[256], d[96];
    snprintf(t, sizeof t, "stepformer   %s  d=%d  heads=%d  layers=%d+%d   step %d/%d: %s", sf_family_name(m->family),
             m->d_model, m->n_heads, m->n_enc_layers, m->n_dec_layers, v->step + 1, v->sched->n,
             sf_cursor_describe(v->cur, d, sizeof d));
    int fs = c->lay.font;
    vz_label(c, t, fs, VZ_FG, r.x + vz_px(c, 8), r.y + r.h / 2, VZ_MIDDLE);
    const char *hint = v->status ? v->status : vz_tr(c->lang, v->lesson ? VZ_S_HINT_PLAYER : VZ_S_HINT_GUI);
    vz_label(c, hint, fs * 4 / 5, v->status ? VZ_ACCENT : VZ_DIM, r.x + r.w - vz_px(c, 8), r.y + r.h / 2, VZ_RIGHT | VZ_MIDDLE);
}

/* Draws one row of token boxes for a stack; returns nothing. */
static void token_row(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect r, const char *label) {
    int fs = c->lay.font, pad = vz_px(c, 4);
    int lw = vz_label_w(c, "decoder", fs) + vz_px(c, 10);
    vz_label(c, label, fs, VZ_DIM, r.x, r.y + r.h / 2, VZ_MIDDLE);
    int x = r.x + lw, bh = r.h - fs * 3 / 4;
    char tok[16], num[16];
    const sf_trace_entry *e = vz_entry(v, "%s.embed.sum", stack == SF_STACK_ENC ? "enc" : "dec");
    for (int i = 0; i < n; i++) {
        int w = vz_label_w(c, vz_token_label(v, stack, i, tok), fs) + 2 * pad;
        if (w < fs * 3 / 2) w = fs * 3 / 2;
        if (x + w > r.x + r.w) { vz_label(c, "...", fs, VZ_DIM, x, r.y, VZ_LEFT); break; }
        int reached = e && vz_row_visible(v, e, i);
        int cur = v->cur.phase == stack && v->cur.token == i;
        int gen = stack == SF_STACK_DEC && i >= v->n_prompt;
        vz_rect b = {x, r.y, w, bh};
        vz_fill(c, b, reached ? (gen ? (vz_rgba){46, 64, 52, 255} : (vz_rgba){44, 50, 66, 255}) : (vz_rgba){30, 33, 42, 255});
        vz_outline(c, b, cur ? VZ_ACCENT : VZ_EDGE, cur ? vz_px(c, 2) : 1);
        vz_label(c, tok, fs, reached ? VZ_FG : VZ_DIM, x + w / 2, r.y + bh / 2, VZ_CENTER | VZ_MIDDLE);
        snprintf(num, sizeof num, "%d", i);
        vz_label(c, num, fs * 3 / 5, VZ_DIM, x + w / 2, r.y + bh, VZ_CENTER);
        vz_click_add(c, b, VZ_CLICK_TOKEN, stack, i, 0);
        x += w + pad;
    }
}

void vz_panel_tokens(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill(c, r, VZ_PANEL);
    vz_rect in = vz_rect_inset(r, vz_px(c, 4));
    int rows = v->m->cfg.family == SF_FAMILY_ENCDEC ? 2 : 1;
    int rh = in.h / rows;
    if (rows == 2) {
        token_row(c, v, SF_STACK_ENC, v->s->n_src, (vz_rect){in.x, in.y, in.w, rh - 2}, "encoder");
        token_row(c, v, SF_STACK_DEC, v->s->n_tgt, (vz_rect){in.x, in.y + rh, in.w, rh - 2}, "decoder");
    } else {
        token_row(c, v, SF_STACK_DEC, v->s->n_tgt, (vz_rect){in.x, in.y, in.w, in.h < c->lay.font * 3 ? in.h : c->lay.font * 3}, "decoder");
    }
}

/* Draws one box of the architecture map, lit when the cursor is inside it; registers its click. */
static void arch_box(vz_ctx *c, const vz_view *v, vz_rect b, const char *label, int stack, int layer, int sub) {
    int lit = v->cur.phase == stack && v->cur.layer == layer && v->cur.sublayer == sub;
    int focused = 0;
    if (v->n_blocks) {
        vz_block f = v->blocks[v->block];
        focused = f.stack == stack && f.layer == layer && f.sub == sub;
    }
    vz_fill(c, b, lit ? (vz_rgba){92, 72, 20, 255} : (vz_rgba){40, 45, 58, 255});
    vz_outline(c, b, lit ? VZ_ACCENT : focused ? VZ_FOCUS : VZ_EDGE, lit || focused ? vz_px(c, 2) : 1);
    int fs = c->lay.font * 4 / 5;
    if (b.h > fs / 2) vz_label(c, label, b.h < fs ? b.h : fs, VZ_FG, b.x + b.w / 2, b.y + b.h / 2, VZ_CENTER | VZ_MIDDLE);
    vz_click_add(c, b, VZ_CLICK_ARCH, stack, layer, sub);
}

/* Draws one stack's column of boxes; returns the rectangle of its last box (the stack's output). */
static vz_rect arch_column(vz_ctx *c, const vz_view *v, vz_rect col, int stack, vz_rect *cross_boxes) {
    const sf_config *m = &v->m->cfg;
    int encdec = m->family == SF_FAMILY_ENCDEC, pre = m->norm == SF_NORM_PRE;
    int nl = stack == SF_STACK_ENC ? m->n_enc_layers : m->n_dec_layers;
    int per = stack == SF_STACK_DEC && encdec ? 3 : 2;
    int n = 1 + nl * per + (pre ? 1 : 0) + (stack == SF_STACK_DEC ? 1 : 0);
    int gap = vz_px(c, 3), lgap = vz_px(c, 5);
    int bh = (col.h - (n - 1) * gap - nl * lgap) / n;
    if (bh > c->lay.font * 2) bh = c->lay.font * 2;
    if (bh < 2) bh = 2;
    int y = col.y;
    char t[48];
    vz_rect last = {col.x, y, col.w, bh};
    last = (vz_rect){col.x, y, col.w, bh};
    arch_box(c, v, last, m->pos == SF_POS_NONE ? "embedding" : "embedding + position", stack, -1, SF_SUB_EMBED);
    y += bh + gap;
    for (int l = 0; l < nl; l++) {
        y += lgap;
        snprintf(t, sizeof t, "L%d %s", l, stack == SF_STACK_DEC ? "masked self-attn" : "self-attention");
        arch_box(c, v, (vz_rect){col.x, y, col.w, bh}, t, stack, l, SF_SUB_SELF);
        y += bh + gap;
        if (per == 3) {
            snprintf(t, sizeof t, "L%d cross-attention", l);
            last = (vz_rect){col.x, y, col.w, bh};
            if (cross_boxes) cross_boxes[l] = last;
            arch_box(c, v, last, t, stack, l, SF_SUB_CROSS);
            y += bh + gap;
        }
        snprintf(t, sizeof t, "L%d feed-forward", l);
        last = (vz_rect){col.x, y, col.w, bh};
        arch_box(c, v, last, t, stack, l, SF_SUB_FFN);
        y += bh + gap;
    }
    if (pre) {
        last = (vz_rect){col.x, y, col.w, bh};
        arch_box(c, v, last, "final LayerNorm", stack, -1, SF_SUB_FINAL);
        y += bh + gap;
    }
    if (stack == SF_STACK_DEC) {
        last = (vz_rect){col.x, y, col.w, bh};
        arch_box(c, v, last, "output head + softmax", stack, -1, SF_SUB_HEAD);
    }
    return last;
}

void vz_panel_arch(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_rect in = vz_panel_frame(c, r, "Architecture", v->focus_panel == VZ_P_ARCH);
    const sf_config *m = &v->m->cfg;
    int fs = c->lay.font * 3 / 4;
    if (m->family == SF_FAMILY_ENCDEC) {
        int gap = vz_px(c, 10), w = (in.w - gap) / 2;
        vz_label(c, "encoder", fs, VZ_DIM, in.x + w / 2, in.y, VZ_CENTER);
        vz_label(c, "decoder", fs, VZ_DIM, in.x + w + gap + w / 2, in.y, VZ_CENTER);
        vz_rect cross[SF_MAX_LAYERS];
        memset(cross, 0, sizeof cross);
        vz_rect enc_out = arch_column(c, v, (vz_rect){in.x, in.y + fs + 4, w, in.h - fs - 4}, SF_STACK_ENC, NULL);
        arch_column(c, v, (vz_rect){in.x + w + gap, in.y + fs + 4, w, in.h - fs - 4}, SF_STACK_DEC, cross);
        /* the encoder's output feeds every cross-attention */
        for (int l = 0; l < m->n_dec_layers && l < SF_MAX_LAYERS; l++) {
            int x0 = enc_out.x + enc_out.w, y0 = enc_out.y + enc_out.h / 2;
            int x1 = cross[l].x, y1 = cross[l].y + cross[l].h / 2;
            int xm = x0 + (x1 - x0) / 2;
            vz_line(c, x0, y0, xm, y0, VZ_DIM);
            vz_line(c, xm, y0, xm, y1, VZ_DIM);
            vz_line(c, xm, y1, x1, y1, VZ_DIM);
        }
    } else {
        vz_label(c, "decoder-only (GPT)", fs, VZ_DIM, in.x + in.w / 2, in.y, VZ_CENTER);
        arch_column(c, v, (vz_rect){in.x + in.w / 8, in.y + fs + 4, in.w * 3 / 4, in.h - fs - 4}, SF_STACK_DEC, NULL);
    }
}

/* Returns the decoder position whose output the output panel shows, or -1. */
static int output_pos(const vz_view *v, const sf_trace_entry *e) {
    if (v->cur.phase != SF_STACK_DEC) return -1;
    int t = v->cur.token;
    if (t > 0 && !vz_row_visible(v, e, t)) t--; /* show the previous prediction until this one is made */
    return t >= 0 && vz_row_visible(v, e, t) ? t : -1;
}

/* Draws every token of the vocabulary as a box to click (a lesson question on dec.probs); returns nothing. */
static void pick_grid(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[96], tok[16];
    snprintf(title, sizeof title, "Your guess: the token after position %d", v->hide.lo[0]);
    vz_rect in = vz_panel_frame(c, r, title, 1);
    int fs = c->lay.font * 4 / 5, pad = vz_px(c, 4), bh = fs * 2;
    vz_label(c, "click the token you expect to be most likely", fs, VZ_DIM, in.x, in.y, VZ_LEFT);
    int x = in.x, y = in.y + fs + pad * 2;
    for (int id = 0; id < v->m->cfg.vocab_size; id++) {
        sf_tokenizer_piece(&v->m->tok, id, tok);
        if (!strcmp(tok, " ")) strcpy(tok, "\xe2\x90\xa3");
        if (sf_tokenizer_is_control(&v->m->tok, id)) continue; /* <pad> <bos> <unk>: never an answer */
        int w = vz_label_w(c, tok, fs) + 2 * pad;
        if (w < bh) w = bh;
        if (x + w > in.x + in.w) { x = in.x; y += bh + pad; }
        if (y + bh > in.y + in.h) break;
        vz_rect b = {x, y, w, bh};
        vz_fill(c, b, (vz_rgba){44, 50, 66, 255});
        vz_outline(c, b, VZ_EDGE, 1);
        vz_label(c, tok, fs, VZ_FG, x + w / 2, y + bh / 2, VZ_CENTER | VZ_MIDDLE);
        vz_click_add(c, b, VZ_CLICK_PICK, id, 0, 0);
        x += w + pad;
    }
}

/* Returns the highlight style (0 lesson, 1 wrong pick) covering cell (row, col) of entry name, or -1. */
static int highlight_at(const vz_view *v, const char *name, int row, int col) {
    for (int i = 0; i < v->n_hl; i++) {
        const vz_highlight *g = &v->hl[i];
        if (strcmp(g->name, name)) continue;
        if (row < g->lo[0] || (g->hi[0] >= 0 && row > g->hi[0])) continue;
        if (col < g->lo[1] || (g->hi[1] >= 0 && col > g->hi[1])) continue;
        return g->style;
    }
    return -1;
}

void vz_panel_output(vz_ctx *c, const vz_view *v, vz_rect r) {
    if (!strcmp(v->hide.name, "dec.probs")) { pick_grid(c, v, r); return; }
    const sf_trace_entry *e = vz_entry(v, "dec.probs");
    int t = e ? output_pos(v, e) : -1;
    char title[96], tok[16], num[32];
    if (t >= 0) snprintf(title, sizeof title, "Next token after position %d", t);
    else snprintf(title, sizeof title, "Next token");
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_OUTPUT);
    int fs = c->lay.font * 4 / 5;
    char tl[64];
    if (v->temperature > 0) snprintf(tl, sizeof tl, "temperature %.2f (t / T)", (double)v->temperature);
    else snprintf(tl, sizeof tl, "temperature 0: greedy (t / T)");
    vz_label(c, tl, fs, VZ_DIM, in.x, in.y + in.h, VZ_BOTTOM);
    in.h -= fs + 4;
    if (t < 0) { vz_label(c, "the output head has not run yet", fs, VZ_DIM, in.x, in.y, VZ_LEFT); return; }
    int V = v->m->cfg.vocab_size, idx[16];
    int k = sf_top_k(sf_trace_row(e, t), V, 16, idx);
    int bh = fs + fs / 2;
    if (k * bh > in.h) k = in.h / bh;
    int chosen = t + 1 < v->s->n_tgt ? v->s->dec.ids[t + 1] : -1;
    int lw = vz_label_w(c, "<bos>", fs) + vz_px(c, 6), nw = vz_label_w(c, "0.000", fs) + vz_px(c, 6);
    const float *p = sf_trace_row(e, t);
    for (int i = 0; i < k; i++) {
        int y = in.y + i * bh;
        sf_tokenizer_piece(&v->m->tok, idx[i], tok);
        if (!strcmp(tok, " ")) strcpy(tok, "\xe2\x90\xa3");
        vz_label(c, tok, fs, idx[i] == chosen ? VZ_ACCENT : VZ_FG, in.x + lw - vz_px(c, 4), y + bh / 2, VZ_RIGHT | VZ_MIDDLE);
        int bw = (int)((float)(in.w - lw - nw) * p[idx[i]]);
        vz_rgba col = vz_cmap_color(VZ_CMAP_VIRIDIS, p[idx[i]]);
        vz_fill(c, (vz_rect){in.x + lw, y + 2, bw > 1 ? bw : 1, bh - 4}, col);
        if (idx[i] == chosen) vz_outline(c, (vz_rect){in.x + lw, y + 1, in.w - lw, bh - 2}, VZ_ACCENT, 1);
        int hs = highlight_at(v, "dec.probs", t, idx[i]);
        if (hs >= 0) vz_outline(c, (vz_rect){in.x, y, in.w, bh}, hs == 1 ? VZ_WRONG : VZ_HILITE, vz_px(c, 2));
        snprintf(num, sizeof num, "%.3f", (double)p[idx[i]]);
        vz_label(c, num, fs, VZ_FG, in.x + lw + bw + vz_px(c, 4), y + bh / 2, VZ_MIDDLE);
    }
    if (chosen >= 0 && k * bh + bh <= in.h) {
        sf_tokenizer_piece(&v->m->tok, chosen, tok);
        snprintf(title, sizeof title, "%s: '%s'", t + 1 < v->n_prompt ? "given next" : "sampled", tok);
        vz_label(c, title, fs, VZ_ACCENT, in.x, in.y + k * bh + 2, VZ_LEFT);
    }
}

void vz_panel_pe(vz_ctx *c, const vz_view *v, vz_rect r) {
    const sf_config *m = &v->m->cfg;
    int stack = v->cur.phase;
    const char *sname = stack == SF_STACK_ENC ? "enc" : "dec";
    char title[96];
    snprintf(title, sizeof title, "Positional encoding (%s, %s)",
             m->pos == SF_POS_SINUSOIDAL ? "sinusoidal" : m->pos == SF_POS_LEARNED ? "learned rows of P" : "none", sname);
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_PE);
    int fs = c->lay.font * 3 / 4;
    if (m->pos == SF_POS_NONE) { vz_label(c, "this model has no positional encoding", fs, VZ_DIM, in.x, in.y, VZ_LEFT); return; }
    const sf_trace_entry *e = vz_entry(v, "%s.embed.pos", sname);
    if (!e) return;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int n = dims[0], C = dims[1];
    int vis = vz_rows_visible(v, e, n);
    /* left: curves of a few dimensions over the positions */
    int half = in.w / 2 - vz_px(c, 4);
    vz_rect pl = {in.x, in.y, half, in.h - fs - 4};
    vz_fill(c, pl, (vz_rgba){22, 24, 31, 255});
    int d_pick[4] = {0, 1, C > 8 ? 6 : C - 1, C > 32 ? 16 : C / 2};
    static const vz_rgba pal[4] = {{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 158, 115, 255}, {204, 121, 167, 255}};
    float ymax = 1e-6f;
    for (int i = 0; i < vis; i++)
        for (int k = 0; k < 4; k++) {
            float a = fabsf(sf_trace_row(e, i)[d_pick[k]]);
            if (a > ymax) ymax = a;
        }
    int span = n > 1 ? n - 1 : 1;
    vz_line(c, pl.x, pl.y + pl.h / 2, pl.x + pl.w - 1, pl.y + pl.h / 2, VZ_EDGE);
    for (int k = 0; k < 4; k++) {
        SDL_Point pts[SF_MAX_LEN];
        int np = 0;
        for (int i = 0; i < vis && i < SF_MAX_LEN; i++) {
            float y = sf_trace_row(e, i)[d_pick[k]] / ymax;
            pts[np++] = (SDL_Point){pl.x + (int)((float)i / (float)span * (float)(pl.w - 1)),
                                    pl.y + pl.h / 2 - (int)(y * (float)(pl.h / 2 - 2))};
        }
        SDL_SetRenderDrawColor(c->r, pal[k].r, pal[k].g, pal[k].b, 255);
        for (int th = 0; th < vz_px(c, 1.5f) && np > 1; th++) { /* thicker lines on big screens */
            SDL_RenderDrawLines(c->r, pts, np);
            for (int i = 0; i < np; i++) pts[i].y++;
        }
        for (int i = 0; i < np; i++) pts[i].y -= vz_px(c, 1.5f) / 2 + (vz_px(c, 1.5f) > 1);
        int dot = vz_px(c, 3);
        for (int i = 0; i < np; i++) SDL_RenderFillRect(c->r, &(SDL_Rect){pts[i].x - dot / 2, pts[i].y - dot / 2, dot, dot});
        char t[16];
        snprintf(t, sizeof t, "dim %d", d_pick[k]);
        vz_label(c, t, fs, pal[k], pl.x + k * (pl.w / 4), pl.y + pl.h + 2, VZ_LEFT);
    }
    if (v->cur.phase == stack && v->cur.token >= 0) {
        int x = pl.x + (int)((float)v->cur.token / (float)span * (float)(pl.w - 1));
        vz_line(c, x, pl.y, x, pl.y + pl.h - 1, VZ_ACCENT);
    }
    /* right: the matrix, positions x channels */
    vz_rect mr = {in.x + half + vz_px(c, 8), in.y, in.w - half - vz_px(c, 8), in.h - c->lay.font * 2 - 4};
    float range = 1e-6f;
    for (int i = 0; i < vis; i++)
        for (int j = 0; j < C; j++) {
            float a = fabsf(sf_trace_row(e, i)[j]);
            if (a > range) range = a;
        }
    const sf_trace_entry *ce = v->cmp ? sf_trace_find(v->cmp->tr, e->name) : NULL;
    if (n > 0 && ce) { /* a comparison: the two runs' matrices side by side, each under its run's label */
        int cd[2];
        sf_trace_shape(v->cmp->tr, ce, cd);
        int hw = (mr.w - vz_px(c, 6)) / 2, lh = fs + 2;
        const sf_trace_entry *two[2] = {e, ce};
        const vz_view *vv[2] = {v, v->cmp};
        for (int k = 0; k < 2; k++) {
            vz_rect g = {mr.x + k * (hw + vz_px(c, 6)), mr.y + lh, hw, mr.h - lh};
            vz_label(c, k ? "right run" : "left run", fs, k ? VZ_FOCUS : VZ_ACCENT, g.x, mr.y, VZ_LEFT);
            int rows = k ? cd[0] : n;
            vz_heat hm = {two[k], 0, rows, C, vz_rows_visible(vv[k], two[k], rows), VZ_CMAP_DIVERGING, 0, range, NULL, 0, 0};
            if (rows > 0) vz_heatmap(c, k ? "pe.cmp" : "pe", &hm, g);
        }
        vz_legend(c, (vz_rect){mr.x, in.y + in.h - c->lay.font * 2, mr.w, c->lay.font * 2}, VZ_CMAP_DIVERGING, -range, range, 0);
    } else if (n > 0) {
        vz_heat hm = {e, 0, n, C, vis, VZ_CMAP_DIVERGING, 0, range, NULL, 0, 0};
        vz_heatmap(c, "pe", &hm, mr); /* cells need not be square here: positions down, channels across */
        vz_legend(c, (vz_rect){mr.x, in.y + in.h - c->lay.font * 2, mr.w, c->lay.font * 2}, VZ_CMAP_DIVERGING, -range, range, 0);
    }
}

/* Returns 1 if a highlight g of entry e is already on screen: drawn by an earlier panel over its first row,
 * or (with stages) a row the residual-stream view shows: the cursor's token at one of its stages. */
static int hl_on_screen(const vz_ctx *c, const vz_view *v, const vz_highlight *g, const sf_trace_entry *e, int t, int stages) {
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
    vz_rect in = vz_panel_frame(c, r, "What the lesson points at", v->focus_panel == VZ_P_ACT);
    int fs = c->lay.font * 3 / 4, leg_h = c->lay.font * 2;
    float range = 1e-6f;
    int dims[4][2], vis[4], nr[4], total = 0;
    for (int k = 0; k < n; k++) {
        sf_trace_shape(v->tr, es[k], dims[k]);
        vis[k] = vz_rows_visible(v, es[k], dims[k][0]);
        nr[k] = row[k] >= 0 ? 1 : dims[k][0];
        total += nr[k];
        for (int i = row[k] >= 0 ? row[k] : 0; i < (row[k] >= 0 ? row[k] + 1 : vis[k]) && i < vis[k]; i++)
            for (int j = 0; j < dims[k][1]; j++) {
                float x = fabsf(sf_trace_row(es[k], i)[j]);
                if (isfinite(x) && x > range) range = x;
            }
    }
    int avail = in.h - leg_h - vz_px(c, 4) - n * (fs + vz_px(c, 6));
    int rh = total > 0 ? avail / total : 0;
    if (rh > c->lay.font * 2) rh = c->lay.font * 2;
    if (rh < 1) return 1;
    int lab_w = vz_label_w(c, "<bos>", fs) + vz_px(c, 6), y = in.y;
    for (int k = 0; k < n; k++) {
        const sf_trace_entry *e = es[k];
        char t2[128], tok[16];
        if (row[k] >= 0)
            snprintf(t2, sizeof t2, "%s, position %d ('%s'): %d %s", e->name, row[k], vz_token_label(v, e->stack, row[k], tok),
                     dims[k][1], e->axis[1]);
        else
            snprintf(t2, sizeof t2, "%s: rows = positions, columns = %s", e->name, e->axis[1]);
        vz_label(c, t2, fs, VZ_FG, in.x, y, VZ_LEFT);
        y += fs + vz_px(c, 4);
        /* with a comparison, the compared run's same rows beside this run's */
        const sf_trace_entry *ce = v->cmp ? sf_trace_find(v->cmp->tr, e->name) : NULL;
        int cdims[2] = {0, 0};
        if (ce) sf_trace_shape(v->cmp->tr, ce, cdims);
        if (ce && (cdims[1] != dims[k][1] || (row[k] >= 0 ? row[k] >= cdims[0] : cdims[0] != dims[k][0]))) ce = NULL;
        int gw = ce ? (in.w - 2 * lab_w - vz_px(c, 6)) / 2 : in.w - lab_w;
        for (int side = 0; side < (ce ? 2 : 1); side++) {
            const vz_view *sv = side ? v->cmp : v;
            const sf_trace_entry *se = side ? ce : e;
            vz_rect g = {in.x + lab_w + side * (gw + lab_w + vz_px(c, 6)), y, gw, rh * nr[k]};
            int r0 = row[k] >= 0 ? row[k] : 0;
            int sv_vis = side ? vz_rows_visible(sv, se, cdims[0]) : vis[k];
            vz_heat hm = {se, r0, nr[k], dims[k][1], row[k] >= 0 ? (row[k] < sv_vis) : sv_vis, VZ_CMAP_DIVERGING, 0, range, NULL, 0, 0};
            char id[64];
            snprintf(id, sizeof id, "%slesson.%d", side ? "cmp." : "", k);
            int keep = c->n_hl;
            if (side) c->n_hl = 0; /* the lesson's highlights name rows of its own run, the left one */
            if (dims[k][0] > 0) vz_heatmap(c, id, &hm, g);
            c->n_hl = keep;
            int n_tok = e->stack == SF_STACK_ENC ? sv->s->n_src : sv->s->n_tgt;
            for (int i = 0; i < nr[k] && r0 + i < n_tok && rh >= fs * 3 / 4; i++)
                vz_label(c, vz_token_label(sv, e->stack, r0 + i, tok), fs, side ? VZ_FOCUS : VZ_FG, g.x - 3, g.y + i * rh + rh / 2,
                         VZ_RIGHT | VZ_MIDDLE);
        }
        y += rh * nr[k] + vz_px(c, 2);
    }
    vz_legend(c, (vz_rect){in.x + lab_w, y + vz_px(c, 2), in.w - lab_w, leg_h}, VZ_CMAP_DIVERGING, -range, range, 0);
    return 1;
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
    int t = v->cur.token >= 0 ? v->cur.token : dims[0] - 1;
    if (v->n_hl && lesson_matrices(c, v, r, t)) return;
    char title[96];
    snprintf(title, sizeof title, "Residual stream of %s token %d after each sub-layer", sn, t);
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_ACT);
    if (t < 0) return;
    /* the stages of the residual stream, in order */
    const sf_trace_entry *st[2 + 3 * SF_MAX_LAYERS];
    char lab[2 + 3 * SF_MAX_LAYERS][24];
    int ns = 0;
    const char *out_leaf = m->norm == SF_NORM_POST ? "norm" : "resid";
    st[ns] = first; snprintf(lab[ns++], 24, "embed");
    for (int l = 0; l < nl; l++) {
        static const char *const subs[3] = {"self", "cross", "ffn"};
        for (int s = 0; s < 3; s++) {
            const sf_trace_entry *e = vz_entry(v, "%s.L%d.%s.%s", sn, l, subs[s], out_leaf);
            if (e) { st[ns] = e; snprintf(lab[ns++], 24, "L%d %s", l, subs[s]); }
        }
    }
    const sf_trace_entry *lf = vz_entry(v, "%s.ln_f", sn);
    if (lf) { st[ns] = lf; snprintf(lab[ns++], 24, "ln_f"); }
    int fs = c->lay.font * 3 / 4;
    int qkv_h = in.h / 3, leg_h = c->lay.font * 2;
    int lab_w = vz_label_w(c, "L00 cross", fs) + vz_px(c, 6), norm_w = in.w / 6;
    int sh = (in.h - qkv_h - leg_h - vz_px(c, 6)) / (ns ? ns : 1);
    if (sh > c->lay.font * 2) sh = c->lay.font * 2;
    int C = m->d_model;
    float range = 1e-6f, nmax = 1e-6f, norms[2 + 3 * SF_MAX_LAYERS];
    int vis[2 + 3 * SF_MAX_LAYERS];
    for (int i = 0; i < ns; i++) {
        vis[i] = t < dims[0] && vz_row_visible(v, st[i], t);
        norms[i] = 0;
        if (!vis[i]) continue;
        const float *x = sf_trace_row(st[i], t);
        double s2 = 0;
        for (int j = 0; j < C; j++) { s2 += (double)x[j] * x[j]; if (fabsf(x[j]) > range) range = fabsf(x[j]); }
        norms[i] = (float)sqrt(s2);
        if (norms[i] > nmax) nmax = norms[i];
    }
    int gw = in.w - lab_w - norm_w - vz_px(c, 6);
    int lstep = (fs + sh - 1) / (sh > 0 ? sh : 1); /* thin strips: label every lstep-th one */
    for (int i = 0; i < ns && sh > 1; i++) {
        int y = in.y + i * sh;
        if (i % lstep == 0) vz_label(c, lab[i], fs, VZ_FG, in.x, y + sh / 2, VZ_MIDDLE);
        vz_heat hm = {st[i], t < dims[0] ? t : 0, 1, C, vis[i], VZ_CMAP_DIVERGING, 0, range, NULL, 0, 0};
        char id[64];
        snprintf(id, sizeof id, "act.%d", i);
        vz_heatmap(c, id, &hm, (vz_rect){in.x + lab_w, y, gw, sh - 1});
        if (vis[i]) {
            int bw = (int)((float)(norm_w - vz_px(c, 4)) * norms[i] / nmax);
            vz_fill(c, (vz_rect){in.x + in.w - norm_w, y + 1, bw > 1 ? bw : 1, sh - 3}, VZ_DIM);
            char num[24];
            snprintf(num, sizeof num, "%.1f", (double)norms[i]);
            if (sh >= fs) vz_label(c, num, fs * 4 / 5, VZ_FG, in.x + in.w - norm_w + 2, y + sh / 2, VZ_MIDDLE);
        }
    }
    int ly = in.y + ns * sh + vz_px(c, 2);
    vz_legend(c, (vz_rect){in.x + lab_w, ly, gw, leg_h}, VZ_CMAP_DIVERGING, -range, range, 0);
    vz_label(c, "|x| (L2)", fs, VZ_DIM, in.x + in.w - norm_w, ly, VZ_LEFT);
    /* Q, K and V of the focused head */
    if (v->n_blocks == 0) return;
    char p[32];
    vz_block b = v->blocks[v->block];
    vz_block_prefix(b, p, sizeof p);
    int q = vz_view_query(v);
    int y0 = ly + leg_h + vz_px(c, 4), h0 = in.y + in.h - y0;
    static const char *const leaf[3] = {"q", "k", "v"};
    int w3 = (in.w - 2 * vz_px(c, 8)) / 3;
    for (int i = 0; i < 3; i++) {
        const sf_trace_entry *e = vz_entry(v, "%s.H%d.%s", p, v->head, leaf[i]);
        if (!e) continue;
        int d[2];
        sf_trace_shape(v->tr, e, d);
        char t2[64];
        if (i == 0) snprintf(t2, sizeof t2, "%s H%d q[%d]", p, v->head, q);
        else snprintf(t2, sizeof t2, "%s (keys x d)", leaf[i]);
        int x = in.x + i * (w3 + vz_px(c, 8));
        vz_label(c, t2, fs, VZ_FG, x, y0, VZ_LEFT);
        vz_rect box = {x, y0 + fs + 2, w3, h0 - fs - 2};
        float rg = 1e-6f;
        int r0 = i == 0 ? (q < 0 ? 0 : q) : 0, nr = i == 0 ? 1 : d[0];
        int nv = i == 0 ? (q >= 0 && vz_row_visible(v, e, q)) : vz_rows_visible(v, e, d[0]);
        for (int a = 0; a < nv; a++) {
            const float *x2 = sf_trace_row(e, r0 + a);
            for (int j = 0; j < d[1]; j++) if (fabsf(x2[j]) > rg) rg = fabsf(x2[j]);
        }
        if (nr <= 0 || d[1] <= 0) continue;
        int cell;
        vz_rect g = vz_fit_grid(box, i == 0 ? 1 : nr, d[1], c->lay.font, &cell);
        if (cell == 0) g = box;
        vz_heat hm = {e, r0, nr, d[1], nv, VZ_CMAP_DIVERGING, 0, rg, NULL, 0, 0};
        char id[64];
        snprintf(id, sizeof id, "qkv.%d", i);
        vz_heatmap(c, id, &hm, g);
    }
}

/* Returns the byte length of the UTF-8 character at p (1 for a stray byte) and its code point in *cp. */
static int utf8_at(const char *p, unsigned *cp) {
    const unsigned char *u = (const unsigned char *)p;
    int n = u[0] < 0x80 ? 1 : (u[0] >> 5) == 6 ? 2 : (u[0] >> 4) == 14 ? 3 : (u[0] >> 3) == 30 ? 4 : 1;
    for (int i = 1; i < n; i++)
        if ((u[i] & 0xC0) != 0x80) { n = 1; break; }
    *cp = n == 1 ? u[0] : n == 2 ? (u[0] & 0x1Fu) << 6 | (u[1] & 0x3Fu)
        : n == 3 ? (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu)
                 : (u[0] & 0x07u) << 18 | (u[1] & 0x3Fu) << 12 | (u[2] & 0x3Fu) << 6 | (u[3] & 0x3Fu);
    return n;
}

/* Returns 1 if cp is punctuation that must not start a line (CJK and full-width closing marks, commas, stops). */
static int no_line_start(unsigned cp) {
    return (cp >= 0x3001 && cp <= 0x3002) || cp == 0xFF0C || cp == 0xFF0E || cp == 0xFF1A || cp == 0xFF1B ||
           cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF09 || cp == 0x300B || cp == 0x300D || cp == 0x201D || cp == 0xFF0F;
}

/* Returns the byte length of the next unit a line may break after, starting at p (not a space or newline):
 * one CJK character with any closing punctuation after it, or a run of other non-space characters. */
static size_t wrap_unit(const char *p) {
    unsigned cp;
    size_t n = (size_t)utf8_at(p, &cp);
    if (vz_font_is_cjk(cp)) {
        for (;;) { /* keep closing punctuation on the same line */
            unsigned nx;
            int k = utf8_at(p + n, &nx);
            if (!p[n] || !no_line_start(nx)) break;
            n += (size_t)k;
        }
        return n;
    }
    while (p[n] && p[n] != ' ' && p[n] != '\n') {
        if (vz_font_is_cjk((utf8_at(p + n, &cp), cp))) break;
        n += (size_t)utf8_at(p + n, &cp);
    }
    return n;
}

int vz_wrap(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r) {
    char line[1024], trial[1024];
    int y = r.y, n = 0, lh = px + px / 3;
    const char *p = s;
    for (;;) {
        if (!*p || *p == '\n') {
            if (n) {
                line[n] = 0;
                if (y + px <= r.y + r.h) vz_label(c, line, px, col, r.x, y, VZ_LEFT);
                y += lh;
                n = 0;
            }
            if (!*p) break;
            p++;
            y += px / 4; /* a paragraph or list item: a little air */
            continue;
        }
        int space = 0;
        while (*p == ' ') { p++; space = 1; }
        if (!*p || *p == '\n') continue;
        size_t u = wrap_unit(p);
        int k = snprintf(trial, sizeof trial, "%.*s%s%.*s", n, line, space && n ? " " : "", (int)u, p);
        if (k >= (int)sizeof trial) k = (int)sizeof trial - 1;
        int tw, th;
        vz_text_measure(c->text, trial, px, &tw, &th);
        if (tw > r.w && n) {
            line[n] = 0;
            if (y + px <= r.y + r.h) vz_label(c, line, px, col, r.x, y, VZ_LEFT);
            y += lh;
            n = snprintf(line, sizeof line, "%.*s", (int)u, p);
        } else {
            memcpy(line, trial, (size_t)k + 1);
            n = k;
        }
        if (n >= (int)sizeof line) n = (int)sizeof line - 1;
        p += u;
    }
    return y;
}

void vz_panel_narration(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill(c, r, VZ_PANEL);
    vz_outline(c, r, v->focus_panel == VZ_P_NARR ? VZ_FOCUS : VZ_EDGE, 1);
    vz_rect in = vz_rect_inset(r, vz_px(c, 6));
    int fs = c->lay.font;
    int fw = in.w * 2 / 5;
    const char *s = v->narration ? v->narration : vz_op_sentence(v);
    if (v->lesson) { /* a lesson: its text on the left, where we are, the keys and the verdict on the right */
        fw = in.w * 3 / 10;
        int y = in.y, tw = in.w - fw - vz_px(c, 12);
        if (v->narration_title) y = vz_wrap(c, v->narration_title, fs * 9 / 8, VZ_ACCENT, (vz_rect){in.x, y, tw, in.h});
        vz_wrap(c, s, fs, VZ_FG, (vz_rect){in.x, y + vz_px(c, 2), tw, in.h - (y - in.y)});
        int x = in.x + in.w - fw;
        vz_line(c, x - vz_px(c, 6), in.y, x - vz_px(c, 6), in.y + in.h, VZ_EDGE);
        int y2 = in.y;
        if (v->verdict) y2 = vz_wrap(c, v->verdict, fs, v->verdict_ok ? VZ_GOOD : VZ_ACCENT, (vz_rect){x, y2, fw, in.h});
        if (v->verdict) y2 += fs / 3;
        if (v->lesson_info) y2 = vz_wrap(c, v->lesson_info, fs * 4 / 5, VZ_DIM, (vz_rect){x, y2, fw, in.h - (y2 - in.y)}) + fs / 3;
        vz_wrap(c, vz_op_formula(v), fs * 4 / 5, VZ_ACCENT, (vz_rect){x, y2, fw, in.h - (y2 - in.y)});
        return;
    }
    int y = in.y;
    if (v->narration_title) y = vz_wrap(c, v->narration_title, fs, VZ_ACCENT, (vz_rect){in.x, y, in.w - fw - vz_px(c, 10), in.h});
    vz_wrap(c, s, fs, VZ_FG, (vz_rect){in.x, y, in.w - fw - vz_px(c, 10), in.h - (y - in.y)});
    vz_wrap(c, vz_op_formula(v), fs, VZ_ACCENT, (vz_rect){in.x + in.w - fw, in.y, fw, in.h});
}

void vz_tooltip(vz_ctx *c, const vz_view *v) {
    int row, col;
    const vz_hit *h = vz_hit_at(c, c->mx, c->my, &row, &col);
    if (!h || row < 0 || col < 0 || col >= h->h.ncols) return;
    char name[96], text[160];
    vz_cell_name(h->h.e, row, col, name, sizeof name);
    if (row - h->h.row0 >= h->h.vis) snprintf(text, sizeof text, "%s: not computed yet", name);
    else {
        float x = sf_trace_row(h->h.e, row)[col];
        int masked = h->h.mask && isinf(sf_trace_row(h->h.mask, row)[col]);
        if (isinf(x)) snprintf(text, sizeof text, "%s = %s%s", name, x < 0 ? "-inf" : "inf", masked ? " (masked)" : "");
        else snprintf(text, sizeof text, "%s = %.4g%s", name, (double)x, masked ? " (masked)" : "");
    }
    (void)v;
    int fs = c->lay.font, pad = vz_px(c, 5);
    int w = vz_label_w(c, text, fs) + 2 * pad, hgt = fs + fs / 3 + 2 * pad;
    int x = c->mx + vz_px(c, 14), y = c->my + vz_px(c, 14);
    if (x + w > c->lay.w) x = c->mx - w - 4;
    if (y + hgt > c->lay.h) y = c->my - hgt - 4;
    vz_fill(c, (vz_rect){x, y, w, hgt}, (vz_rgba){10, 10, 14, 235});
    vz_outline(c, (vz_rect){x, y, w, hgt}, VZ_ACCENT, 1);
    vz_label(c, text, fs, VZ_FG, x + pad, y + pad, VZ_LEFT);
}

typedef void (*panel_fn)(vz_ctx *, const vz_view *, vz_rect);

void vz_draw_all(vz_ctx *c, const vz_view *v, int w, int h, float zoom, int only) {
    static const panel_fn fns[VZ_P_COUNT] = {vz_panel_top,    vz_panel_tokens, vz_panel_arch, vz_panel_output,
                                             vz_panel_attention, vz_panel_thumbs, vz_panel_scores, vz_panel_pe,
                                             vz_panel_act,    vz_panel_narration};
    c->narr_units = v->lesson ? 150.0f : 0.0f;
    vz_ctx_begin(c, w, h, only >= 0 && only < VZ_P_COUNT ? zoom * 1.5f : zoom); /* one panel: larger text */
    c->hl = v->hl;
    c->n_hl = v->n_hl;
    c->hide = v->hide.name[0] ? &v->hide : NULL;
    SDL_SetRenderDrawColor(c->r, VZ_BG.r, VZ_BG.g, VZ_BG.b, 255);
    SDL_RenderClear(c->r);
    if (only >= 0 && only < VZ_P_COUNT) {
        int g = vz_px(c, 6);
        fns[only](c, v, (vz_rect){g, g, w - 2 * g, h - 2 * g});
    } else {
        for (int p = 0; p < VZ_P_COUNT; p++) fns[p](c, v, c->lay.r[p]);
    }
    vz_tooltip(c, v);
    if (v->help) vz_help(c, v);
}
