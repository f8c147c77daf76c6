/* panel_output.c - the next-token probabilities at the cursor's decoder position (top k as bars, the token
 * that came next outlined), the temperature; during a question on dec.probs, the vocabulary to click.
 *
 * The bars are the distribution that mattered for the next token, each with a second distribution outlined
 * behind it, both read from traces and labelled under the bars:
 *   heads knocked out   bars: this (ablated) run's dec.probs; outline: the original run's dec.probs
 *   sampling (T > 0)    bars: dec.sample.probs, what the token was drawn from after temperature (and top-k,
 *                       the legend saying "top-k" only when the run kept fewer tokens than the vocabulary);
 *                       outline: dec.probs, the model's own distribution (T = 1)
 *   otherwise           bars: dec.probs (greedy takes the longest one)
 * The rows are dec.probs's 16 most likely tokens in order (the untempered, or ablated, run's), so a change
 * of T or a knocked-out head changes the bars' lengths in place. */
#include <stdio.h>
#include <string.h>

#include "model/sample.h"
#include "panels.h"

/* Returns the decoder position whose output the output panel shows, or -1. */
static int output_pos(const vz_view *v, const sf_trace_entry *e) {
    if (v->cur.phase != SF_STACK_DEC) return -1;
    int t = v->cur.token;
    if (t > 0 && !vz_row_visible(v, e, t)) t--; /* show the previous prediction until this one is made */
    return t >= 0 && vz_row_visible(v, e, t) ? t : -1;
}

/* Writes the display form of token id (a space as U+2423) into out; returns out. */
static const char *piece(const vz_view *v, int id, char out[16]) {
    sf_tokenizer_piece(&v->m->tok, id, out);
    if (!strcmp(out, " ")) strcpy(out, "\xe2\x90\xa3");
    return out;
}

/* Returns the token drawn after the run's last position t, or -1: a run that stopped because it drew <eos>
 * keeps no <eos> in its sequence, but records the distribution it drew it from (a row of dec.sample.probs that
 * is not all zeros; rows where nothing was drawn are zeros). */
static int drawn_last(const vz_view *v, int t) {
    const sf_trace_entry *e = vz_entry(v, "dec.sample.probs");
    int dims[2];
    if (!e || t + 1 != v->s->n_tgt || sf_trace_shape(v->tr, e, dims) < 2 || t >= dims[0]) return -1;
    const float *p = sf_trace_row(e, t);
    for (int i = 0; i < dims[1]; i++)
        if (p[i] > 0) return SF_TOK_EOS;
    return -1;
}

/* Draws every token of the vocabulary as a box to click (a lesson question on dec.probs). */
static void pick_grid(vz_ctx *c, const vz_view *v, vz_rect r) {
    char title[128], alt[128], tok[16];
    snprintf(title, sizeof title, vz_s(c, VZ_S_PICK_TITLE), v->hide.lo[0]);
    snprintf(alt, sizeof alt, vz_s(c, VZ_S_PICK_TITLE_S), v->hide.lo[0]);
    vz_rect in = vz_panel_frame_alt(c, r, title, alt, 1);
    int px = c->lay.spot == VZ_P_OUTPUT ? c->lay.f.body : c->lay.f.label, pad = c->lay.pad, bh = vz_lh(c, px) + pad;
    /* what to do, whole: on two lines in a narrow panel (1024x768: "click the token you expect to b…") */
    int y = vz_wrap(c, vz_s(c, VZ_S_PICK_HINT), c->lay.f.small, c->th->dim, (vz_rect){in.x, in.y, in.w, 2 * vz_lh(c, c->lay.f.small)}) + pad;
    int x = in.x;
    for (int id = 0; id < v->m->cfg.vocab_size; id++) {
        piece(v, id, tok);
        if (sf_tokenizer_is_control(&v->m->tok, id)) continue; /* <pad> <bos> <unk>: never an answer */
        int w = vz_label_w(c, tok, px) + 2 * pad;
        if (w < bh) w = bh;
        if (x + w > in.x + in.w) { x = in.x; y += bh + pad; }
        if (y + bh > in.y + in.h) break;
        vz_rect b = {x, y, w, bh};
        vz_fill(c, b, c->th->box);
        vz_outline(c, b, c->th->edge, 1);
        vz_ink(c, c->th->box);
        vz_print(c, tok, px, c->th->fg, x + w / 2, y + bh / 2, VZ_CENTER | VZ_MIDDLE, 0);
        vz_ink(c, c->th->panel);
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
    char title[128], alt[128] = "", tok[16], num[32];
    if (t >= 0) snprintf(title, sizeof title, vz_s(c, VZ_S_OUT_TITLE_POS), t), snprintf(alt, sizeof alt, vz_s(c, VZ_S_OUT_TITLE_POS_S), t);
    else snprintf(title, sizeof title, "%s", vz_s(c, VZ_S_OUT_TITLE));
    vz_rect in = vz_panel_frame_alt(c, r, title, alt[0] ? alt : NULL, v->focus_panel == VZ_P_OUTPUT || c->lay.spot == VZ_P_OUTPUT);
    int px = c->lay.spot == VZ_P_OUTPUT ? c->lay.f.body : c->lay.f.label, sp = c->lay.f.small, pad = c->lay.pad;
    char tl[96];
    if (v->temperature > 0) snprintf(tl, sizeof tl, vz_s(c, VZ_S_OUT_TEMP), (double)v->temperature, v->seed);
    else snprintf(tl, sizeof tl, "%s", vz_s(c, VZ_S_OUT_GREEDY));
    if (vz_label_w(c, tl, sp) > in.w) { /* a narrow panel: without the keys (1024x768 normal cut "(keys t,…") */
        if (v->temperature > 0) snprintf(tl, sizeof tl, vz_s(c, VZ_S_OUT_TEMP_S), (double)v->temperature, v->seed);
        else snprintf(tl, sizeof tl, "%s", vz_s(c, VZ_S_OUT_GREEDY_S));
    }
    vz_print(c, tl, sp, c->th->dim, in.x, in.y + in.h, VZ_BOTTOM, in.w);
    in.h -= vz_lh(c, sp) + pad / 2;
    if (v->ablated) { /* the run is altered: the panel says so above its bars */
        char heads[320]; /* (named per block where two lines would cut the list: "dec.L1.cross.H0 H1 H2 H3") */
        const char *ab = vz_wrap_height(c, v->ablated, sp, in.w) > 2 * vz_lh(c, sp) ? vz_heads_short(v->ablated, heads, sizeof heads) : v->ablated;
        int y = vz_wrap(c, ab, sp, c->th->wrong, (vz_rect){in.x, in.y, in.w, 2 * vz_lh(c, sp)});
        in.h -= y - in.y + pad / 2;
        in.y = y + pad / 2;
    }
    if (t < 0) { vz_print(c, vz_s(c, VZ_S_OUT_NOT_YET), px, c->th->dim, in.x, in.y, VZ_LEFT, in.w); return; }
    int V = v->m->cfg.vocab_size, idx[16];
    int k = sf_top_k(sf_trace_row(e, t), V, 16, idx);
    /* the bars and what is outlined behind them (see the top of the file) */
    const float *p = sf_trace_row(e, t), *ref = NULL;
    vz_str legend = VZ_S_NONE;
    const sf_trace_entry *se = v->temperature > 0 ? vz_entry(v, "dec.sample.probs") : NULL;
    int sd[2];
    if (se && sf_trace_shape(v->tr, se, sd) == 2 && t < sd[0]) {
        const float *q = sf_trace_row(se, t);
        double sum = 0;
        for (int i = 0; i < V; i++) sum += q[i];
        if (sum > 0) { ref = p; p = q; legend = VZ_S_OUT_SAMPLED_FROM; } /* a token was drawn after t */
    }
    const sf_trace_entry *be = v->base_tr ? sf_trace_find(v->base_tr, "dec.probs") : NULL;
    int bd[2];
    if (be && sf_trace_shape(v->base_tr, be, bd) == 2 && t < bd[0]) { ref = sf_trace_row(be, t); legend = VZ_S_OUT_ABLATED; }
    char topk[96] = "";
    if (V > 16) snprintf(topk, sizeof topk, vz_s(c, VZ_S_OUT_TOPK_OF), V);
    if (legend != VZ_S_NONE || topk[0]) { /* under the bars: what they and their outlines are */
        char leg[300];
        char what[200] = ""; /* what the bars are: "after T" alone when no top-k was set (a lesson that never sets one
            read "(after T, top-k)") */
        if (legend == VZ_S_OUT_SAMPLED_FROM && v->top_k > 0 && v->top_k < V) snprintf(what, sizeof what, vz_s(c, VZ_S_OUT_SAMPLED_FROM_K), v->top_k);
        else if (legend != VZ_S_NONE) snprintf(what, sizeof what, "%s", vz_s(c, legend));
        snprintf(leg, sizeof leg, "%s%s%s", what, what[0] && topk[0] ? vz_s(c, VZ_S_OUT_LEG_SEP) : "", topk);
        int lhh = vz_wrap_height(c, leg, sp, in.w);
        if (lhh > 3 * vz_lh(c, sp) && what[0] && topk[0]) { /* a narrow panel: what the bars are, whole */
            snprintf(leg, sizeof leg, "%s", what);
            lhh = vz_wrap_height(c, leg, sp, in.w);
        }
        if (lhh > 4 * vz_lh(c, sp)) lhh = 4 * vz_lh(c, sp);
        vz_wrap(c, leg, sp, c->th->dim, (vz_rect){in.x, in.y + in.h - lhh, in.w, lhh});
        in.h -= lhh + pad / 2;
    }
    int lh = vz_lh(c, px), bh = lh + 2;
    int chosen = t + 1 < v->s->n_tgt ? v->s->dec.ids[t + 1] : drawn_last(v, t);
    int more = chosen >= 0; /* a line under the bars: the token that came next */
    if ((k + more) * bh > in.h) k = in.h / bh - more;
    if (k < 1) k = in.h >= bh ? 1 : 0;
    if (ref && k >= 2) { /* the other run's most likely token always has a row, its outline visible */
        int r0 = sf_argmax(ref, V), in_rows = 0;
        for (int i = 0; i < k; i++) in_rows |= idx[i] == r0;
        if (!in_rows) idx[k - 1] = r0;
    }
    int lw = 0;
    for (int i = 0; i < k; i++) {
        int w = vz_label_w(c, piece(v, idx[i], tok), px);
        if (w > lw) lw = w;
    }
    lw += pad;
    int nw = vz_label_w(c, ref ? "0.000 (0.000)" : "0.000", px) + pad;
    for (int i = 0; i < k; i++) {
        int y = in.y + i * bh;
        piece(v, idx[i], tok);
        vz_print(c, tok, px, idx[i] == chosen ? c->th->accent : c->th->fg, in.x + lw - pad / 2, y + bh / 2, VZ_RIGHT | VZ_MIDDLE, 0);
        int bw = (int)((float)(in.w - lw - nw) * p[idx[i]]);
        vz_fill(c, (vz_rect){in.x + lw, y + 2, bw > 1 ? bw : 1, bh - 4}, vz_cmap_color(c->pal->seq, p[idx[i]]));
        int rw = ref ? (int)((float)(in.w - lw - nw) * ref[idx[i]]) : 0;
        if (ref) vz_outline(c, (vz_rect){in.x + lw, y + 3, rw > 2 ? rw : 2, bh - 6}, c->th->fg, 1); /* behind: the other run */
        if (idx[i] == chosen) vz_outline(c, (vz_rect){in.x + lw, y + 1, in.w - lw, bh - 2}, c->th->accent, 1);
        int hs = highlight_at(v, "dec.probs", t, idx[i]);
        if (hs >= 0) vz_outline(c, (vz_rect){in.x, y, in.w, bh}, hs == 1 ? c->th->wrong : c->th->hilite, vz_px(c, 2));
        if (ref) snprintf(num, sizeof num, "%.3f (%.3f)", (double)p[idx[i]], (double)ref[idx[i]]);
        else snprintf(num, sizeof num, "%.3f", (double)p[idx[i]]);
        int nx = in.x + lw + (bw > rw ? bw : rw) + pad / 2;
        vz_print(c, num, px, c->th->fg, nx, y + bh / 2, VZ_MIDDLE, 0);
    }
    if (more && k >= 0 && (k + 1) * bh <= in.h) {
        piece(v, chosen, tok);
        snprintf(title, sizeof title, vz_s(c, t + 1 < v->n_prompt ? VZ_S_OUT_GIVEN : v->temperature > 0 ? VZ_S_OUT_SAMPLED : VZ_S_OUT_PICKED), tok);
        vz_print(c, title, px, c->th->accent, in.x, in.y + k * bh + 2, VZ_LEFT, in.w);
    }
}
