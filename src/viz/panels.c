/* panels.c - the table of panels, what several panels share (token labels, axis labels, ranges), the tab
 * strip, the tooltip, and drawing the whole frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panels.h"

typedef void (*panel_fn)(vz_ctx *, const vz_view *, vz_rect);

/* Every panel: how it is drawn and its short name on a tab. */
static const struct {
    panel_fn draw;
    vz_str tab;
} table[VZ_P_COUNT] = {
    [VZ_P_TOP] = {vz_panel_top, VZ_S_NONE},
    [VZ_P_TOKENS] = {vz_panel_tokens, VZ_S_TAB_TOKENS},
    [VZ_P_ARCH] = {vz_panel_arch, VZ_S_TAB_ARCH},
    [VZ_P_OUTPUT] = {vz_panel_output, VZ_S_TAB_OUTPUT},
    [VZ_P_ATTN] = {vz_panel_attention, VZ_S_TAB_ATTN},
    [VZ_P_THUMBS] = {vz_panel_thumbs, VZ_S_TAB_THUMBS},
    [VZ_P_SCORES] = {vz_panel_scores, VZ_S_TAB_SCORES},
    [VZ_P_PE] = {vz_panel_pe, VZ_S_TAB_PE},
    [VZ_P_ACT] = {vz_panel_act, VZ_S_TAB_ACT},
    [VZ_P_LENS] = {vz_panel_lens, VZ_S_TAB_LENS},
    [VZ_P_NARR] = {vz_panel_narration, VZ_S_NONE},
};

const char *vz_panel_label(const vz_ctx *c, int p) {
    return p >= 0 && p < VZ_P_COUNT ? vz_s(c, table[p].tab) : "";
}

/* Returns out holding the list of knocked-out heads `in` with each name that repeats the block of the one before it
 * shortened to its head: "dec.L1.cross.H0 H1 H2 H3" for four names of one block (a bar that would cut them). */
char *vz_heads_short(const char *in, char *out, size_t n) {
    size_t o = 0, plen = 0;
    const char *prev = NULL;
    out[0] = 0;
    for (const char *p = in; *p && o + 1 < n;) {
        size_t len = strcspn(p, " ");
        const char *h = NULL;
        for (const char *q = p; q + 1 < p + len; q++)
            if (q[0] == '.' && q[1] == 'H') h = q; /* the last ".H" of the word: its block ends there */
        size_t cut = 0;
        if (h && prev && (size_t)(h - p) == plen && !strncmp(p, prev, plen)) cut = plen + 1; /* same block: "H1" */
        o += (size_t)snprintf(out + o, n - o, "%.*s", (int)(len - cut), p + cut);
        if (h) prev = p, plen = (size_t)(h - p);
        else prev = NULL;
        p += len;
        while (*p == ' ' && o + 1 < n) out[o++] = *p++, out[o] = 0;
    }
    return out;
}

const char *vz_token_label(const vz_view *v, int stack, int pos, char out[16]) {
    const int *ids = stack == SF_STACK_ENC ? v->s->enc.ids : v->s->dec.ids;
    /* a generated token: known once the cursor embeds it; and while a question is open, any decoder token not yet
     * embedded (a teacher-forced target gave the answer away: lesson 14 step 7 asked which letter head 3 reads
     * next, and the strip and the rows' labels showed it) */
    if (stack == SF_STACK_DEC && (pos >= v->n_prompt || (v->hide.name[0] && pos > 0))) { /* (<bos> gives nothing away) */
        const sf_trace_entry *e = vz_entry(v, "dec.embed.tok");
        if (e && !vz_row_visible(v, e, pos)) { strcpy(out, "?"); return out; }
    }
    sf_tokenizer_piece(&v->m->tok, ids[pos], out);
    if (!strcmp(out, " ")) strcpy(out, "\xe2\x90\xa3"); /* U+2423 OPEN BOX: a visible space */
    return out;
}

int vz_token_label_w(vz_ctx *c, const vz_view *v, int stack, int n, int px) {
    int w = vz_label_w(c, "?", px);
    char tok[16];
    for (int i = 0; i < n; i++) {
        int k = vz_label_w(c, vz_token_label(v, stack, i, tok), px);
        if (k > w) w = k;
    }
    return w;
}

int vz_key_stack(vz_block b) { return b.sub == SF_SUB_CROSS ? SF_STACK_ENC : b.stack; }

const sf_trace_entry *vz_probs_of(const vz_view *v, vz_block b, int h, const sf_trace_entry **mask) {
    char p[32];
    vz_block_prefix(b, p, sizeof p);
    if (mask) *mask = vz_entry(v, "%s.H%d.mask", p, h);
    return vz_entry(v, "%s.H%d.probs", p, h);
}

float vz_absmax(const sf_trace_entry *e, int r0, int r1, int n) {
    float m = 1e-6f;
    for (int i = r0; i < r1; i++) {
        const float *x = sf_trace_row(e, i);
        for (int j = 0; j < n; j++)
            if (isfinite(x[j]) && fabsf(x[j]) > m) m = fabsf(x[j]);
    }
    return m;
}

/* Returns 1 if the vocabulary of t has a token whose label is s (a byte-level vocabulary of more than 512 tokens
 * is taken to have every character: no need to look). */
static int vocab_has(const sf_tokenizer *t, const char *s) {
    int n = sf_tokenizer_vocab(t);
    if (n > 512) return 1;
    char piece[16];
    for (int id = 0; id < n; id++)
        if (!strcmp(sf_tokenizer_piece(t, id, piece), s)) return 1;
    return 0;
}

int vz_special_initial(const sf_tokenizer *t, char *tok) {
    size_t n = strlen(tok);
    if (n < 3 || tok[0] != '<' || tok[n - 1] != '>') return 0;
    char first = 0;
    int letters = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char ch = tok[i];
        if (ch == '|') continue;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) return 0;
        if (!first) first = ch;
        letters++;
    }
    if (letters < 3) return 0; /* "<bd>" is a byte in hex, not a name */
    tok[0] = (char)(first >= 'a' ? first - 'a' + 'A' : first);
    tok[1] = 0;
    char low[2] = {(char)(tok[0] - 'A' + 'a'), 0};
    if (t && vocab_has(t, tok) && !vocab_has(t, low)) tok[0] = low[0]; /* the sort model's letter B: <bos> as b */
    return 1;
}

/* Returns 1 if i is one of the n places in list. */
static int listed(const int *list, int n, int i) {
    for (int k = 0; k < n; k++)
        if (list[k] == i) return 1;
    return 0;
}

int vz_framed_places(const vz_ctx *c, const vz_view *v, const sf_trace_entry *e, int stack, int axis, int n, int *out, int max) {
    int k = 0;
    if (!e || (axis == 1 && e->rank < 2)) return 0;
    for (int i = 0; i < c->n_hl && k < max; i++) {
        const vz_highlight *g = &c->hl[i];
        if (strcmp(g->name, e->name) || g->lo[axis] < 0) continue;
        int lo = g->lo[axis], hi = g->hi[axis] < 0 ? n - 1 : g->hi[axis];
        if (lo == 0 && hi >= n - 1) continue; /* the whole axis (a row framed across every key): no place on it */
        int ends[2] = {lo, hi};
        for (int j = 0; j < (hi > lo ? 2 : 1) && k < max; j++) {
            if (ends[j] >= n) continue;
            int place = axis == 0 ? vz_view_place(v, stack, ends[j]) : ends[j];
            if (place >= 0 && place < n && !listed(out, k, place)) out[k++] = place;
        }
    }
    return k;
}

void vz_axis_labels(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect g, int cell, int axis, int now, int room,
                    vz_rect clip) {
    vz_axis_labels_keep(c, v, stack, n, g, cell, axis, now, NULL, 0, room, 0, clip);
}

void vz_axis_labels_keep(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect g, int cell, int axis, int now,
                         const int *keep, int nkeep, int room, int far, vz_rect clip) {
    if (cell <= 0 || n <= 0) return;
    int shorten = axis & VZ_AXIS_SHORT;
    axis &= 1;
    char tok[16];
    /* `now` first, then the places kept (the rows or columns a lesson frames), then every other one in order;
     * one that would touch a label already placed is left out. A kept label may touch its neighbour without a
     * gap, is drawn a size smaller (down to the mode's minimum) if that is what it takes, and for rows, when it
     * still collides, goes in a second column left of the labels it meets (if the label space, from far to room,
     * has the width). A label stays within the grid's extent along its axis. */
    int lo[SF_MAX_LEN + 1], hi[SF_MAX_LEN + 1], x0[SF_MAX_LEN + 1], placed = 0; /* x0: a row label's left edge */
    int sizes[3] = {c->lay.f.label, c->lay.f.small, c->lay.min_text};
    /* the other labels at a regular stride, every one if they all fit: the widest label (and its air) decides how
     * many cells apart they go, so a reader can follow the axis (left to the first fit, lesson 14's grid at
     * 1024x768 read "a c efg": the narrow f fitted where b, d and h did not) */
    int air_keys = c->lay.pad / 2 > 2 ? c->lay.pad / 2 : 2, stride = 1, widest = 0;
    for (int i = 0; i < n && i < SF_MAX_LEN; i++) {
        int tw = 0, th = 0;
        vz_token_label(v, stack, vz_view_pos(v, stack, i), tok);
        vz_text_size(c->text, tok, sizes[0], &tw, &th);
        if (((axis == 1 && tw > cell) || shorten) && vz_special_initial(&v->m->tok, tok)) vz_text_size(c->text, tok, sizes[0], &tw, &th);
        int size = (axis == 0 ? th : tw) + (axis == 1 ? air_keys : 1);
        if (size > widest) widest = size;
    }
    while (stride < n && stride * cell < widest) stride++;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < n && i < SF_MAX_LEN; i++) {
            int lit = listed(keep, nkeep, i), is_now = i == now, is_keep = !is_now && (lit || listed(keep, nkeep, -(i + 1)));
            if (pass == 0 ? !is_now : pass == 1 ? !is_keep : is_now || is_keep) continue;
            if (pass == 2 && i % stride) continue;
            int centre = (axis == 0 ? g.y : g.x) + i * cell + cell / 2;
            if (clip.w > 0 && (axis == 0 ? centre < clip.y || centre >= clip.y + clip.h : centre < clip.x || centre >= clip.x + clip.w))
                continue;
            int g0 = axis == 0 ? g.y : g.x, g1 = g0 + (axis == 0 ? g.h : g.w);
            if (clip.w > 0) { /* a window of the grid: within the window's extent */
                int c0 = axis == 0 ? clip.y : clip.x, c1 = c0 + (axis == 0 ? clip.h : clip.w);
                if (c0 > g0) g0 = c0;
                if (c1 < g1) g1 = c1;
            }
            int air = is_keep ? 0 : axis == 1 ? air_keys : 1; /* keys: a little air between labels */
            int px = 0, start = 0, size = 0, right = room, tw = 0, th = 0, abbr = 0;
            int tries = is_keep ? (axis == 0 && far > 0 ? 4 : 3) : 1;
            for (int si = 0; si < tries && !px; si++) {
                int fs = sizes[si < 3 ? si : 0];
                if (si > 0 && si < 3 && fs >= sizes[si - 1]) continue;
                vz_token_label(v, stack, vz_view_pos(v, stack, i), tok); /* (a run aligned by token: its token there) */
                vz_text_size(c->text, tok, fs, &tw, &th);
                abbr = ((axis == 1 && tw > cell) || shorten) && vz_special_initial(&v->m->tok, tok);
                if (abbr) vz_text_size(c->text, tok, fs, &tw, &th); /* "<bos>" over a narrow key: "B" (its row says <bos>) */
                size = axis == 0 ? th : tw;
                start = centre - size / 2;
                if (start + size > g1) start = g1 - size;
                if (start < g0) start = g0;
                right = room;
                if (si == 3) /* the second column: left of every label it meets */
                    for (int k = 0; k < placed; k++)
                        if (start < hi[k] && lo[k] < start + size && x0[k] - c->lay.pad < right) right = x0[k] - c->lay.pad;
                if (si == 3 && right - tw < far) break;
                int clash = 0;
                for (int k = 0; k < placed && !clash; k++)
                    clash = start < hi[k] + air && lo[k] < start + size + air && (axis == 1 || right > x0[k]);
                if (!clash) px = fs;
            }
            if (!px) continue;
            lo[placed] = start;
            x0[placed] = right - tw;
            hi[placed++] = start + size;
            vz_rgba col = is_now || (lit && axis == 1) ? c->th->accent /* (a framed key: lit, as the cursor's row) */
                          : abbr ? c->th->dim /* a special token's initial: dimmed, so it never reads as a letter of the text */
                          : c->th->fg;
            if (axis == 0) vz_print(c, tok, px, col, right, start, VZ_RIGHT, 0);
            else vz_print(c, tok, px, col, start, room, VZ_LEFT | VZ_BOTTOM, 0);
        }
}

void vz_strip(vz_ctx *c, const vz_view *v, vz_rect r) {
    (void)v;
    if (r.w <= 0 || r.h <= 0) return;
    vz_fill(c, r, c->th->bar);
    int px = c->lay.f.label, pad = c->lay.pad, n = 0;
    for (int p = 0; p < VZ_P_COUNT; p++) n += vz_panel_spotlightable(p) && (p != VZ_P_TOKENS || !vz_layout_shown(&c->lay, p));
    if (n == 0) return;
    int x = r.x + pad, tw = (r.w - pad) / n;
    for (int p = 0; p < VZ_P_COUNT; p++) /* every tab's name whole: the labels a size smaller where one would be cut
                                           * (1024x768 projector zoomed in: "Archite…"), down to the mode's minimum */
        while (vz_panel_spotlightable(p) && px > c->lay.min_text && vz_label_w(c, vz_panel_label(c, p), px) > tw - 2 * pad) px--;
    for (int p = 0; p < VZ_P_COUNT; p++) {
        if (!vz_panel_spotlightable(p) || (p == VZ_P_TOKENS && vz_layout_shown(&c->lay, p))) continue;
        int lit = p == c->lay.spot;
        vz_rect tab = {x, r.y + 1, tw - pad, r.h - 2};
        if (lit) vz_fill(c, tab, c->th->panel);
        vz_ink(c, lit ? c->th->panel : c->th->bar);
        vz_outline(c, tab, lit ? c->th->focus : c->th->edge, lit ? vz_px(c, 2) : 1);
        vz_print(c, vz_panel_label(c, p), px, lit ? c->th->focus : c->th->fg, tab.x + tab.w / 2, tab.y + tab.h / 2,
                VZ_CENTER | VZ_MIDDLE, tab.w - pad);
        vz_click_add(c, tab, VZ_CLICK_SPOT, p, 0, 0);
        x += tw;
    }
}

void vz_tooltip(vz_ctx *c, const vz_view *v) {
    (void)v;
    int row, col;
    const vz_hit *h = vz_hit_at(c, c->mx, c->my, &row, &col);
    if (!h || row < 0 || col < 0 || col >= h->h.ncols) return;
    char name[96], text[200], num[32];
    vz_cell_name(h->h.e, row, col, name, sizeof name);
    int later = row - h->h.row0 >= h->h.vis, asked = !later && row + 1 == h->h.hide;
    int masked = h->h.mask && isinf(sf_trace_row(h->h.mask, row)[col]);
    if (later) snprintf(text, sizeof text, vz_s(c, VZ_S_TIP_NOT_YET), name);
    else if (asked) snprintf(text, sizeof text, vz_s(c, VZ_S_TIP_ASKED), name); /* computed: the narration says hidden */
    else if (masked && h->h.absent) snprintf(text, sizeof text, vz_s(c, VZ_S_TIP_NO_KEY), name); /* never computed */
    else {
        float x = sf_trace_row(h->h.e, row)[col];
        vz_fmt_exact(num, sizeof num, x); /* the panels' style, digits enough to be true: 0.00000305, not 3.052e-06 */
        snprintf(text, sizeof text, "%s = %s%s", name, num, masked ? vz_s(c, VZ_S_TIP_MASKED) : "");
    }
    int fs = c->lay.f.body, pad = c->lay.pad;
    int w = vz_label_w(c, text, fs) + 2 * pad, hgt = vz_lh(c, fs) + 2 * pad;
    if (w > c->lay.w - 4) w = c->lay.w - 4;
    int x = c->mx + vz_px(c, 14), y = c->my + vz_px(c, 14);
    if (x + w > c->lay.w) x = c->mx - w - 4;
    if (x < 2) x = 2;
    if (y + hgt > c->lay.h) y = c->my - hgt - 4;
    int was = c->owner;
    c->owner = VZ_OWNER_OVERLAY;
    vz_fill(c, (vz_rect){x, y, w, hgt}, c->th->tip);
    vz_outline(c, (vz_rect){x, y, w, hgt}, c->th->accent, 1);
    vz_print(c, text, fs, c->th->fg, x + pad, y + pad, VZ_LEFT, w - 2 * pad);
    c->owner = was;
}

/* Computes c->lay for in, and in normal mode with a lesson (unless in says the narration's height) a second time
 * with the narration pane as tall as its text needs at this zoom's sizes (vz_narr_need): a short narration leaves
 * the panels above it the room a fixed 22% of the height kept empty (round 11, 1024x768: two lines in a 169 px pane). */
static void lay_out(vz_ctx *c, const vz_view *v, const vz_layout_in *in) {
    vz_ctx_layout(c, in);
    if (in->projector || !in->lesson || in->only >= 0 || in->narr_h > 0) return;
    vz_layout_in t = *in;
    t.narr_h = vz_narr_need(c, v);
    if (t.narr_h > 0) vz_ctx_layout(c, &t);
}

/* Returns the attention panel's cell size in the layout just computed (0 when it is not shown). */
static int attn_cell(vz_ctx *c, const vz_view *v, int one) {
    return vz_layout_shown(&c->lay, VZ_P_ATTN) ? vz_attn_cell(c, v, c->lay.r[VZ_P_ATTN], one) : 0;
}

/* Returns 1 if the layout just computed holds: every panel its minimum size, the narration's text in its room. */
static int layout_holds(vz_ctx *c, const vz_view *v) {
    if (!vz_layout_fits(&c->lay)) return 0;
    vz_narr_fit(c, v);
    return vz_narr_fits(c, v);
}

/* The zoom pass: computes c->lay for in. Zooming in, it walks the zoom steps (x 1.15) from 1 up to the zoom
 * asked for; a step is taken only if the layout still holds (every panel its minimum size, the narration in
 * its room) and, when the attention heatmaps are the spotlight's (or the grid's), only if their cells come out
 * at least as big as at the step before: while they would shrink (the text grew), it drops panels (the next
 * sparser arrangement, normal mode) and then heads (the focused head alone). When a step cannot be taken the
 * zoom stays at the step before. Zooming out, the attention cells shrink step by step with the text. */
static void zoom_pass(vz_ctx *c, const vz_view *v, vz_layout_in in) {
    float want = in.zoom;
    int spot = in.spotlight >= 0 ? in.spotlight : in.focus;
    int attn = in.only < 0 && !v->cmp && (in.projector ? vz_layout_auto_spot(spot) == VZ_P_ATTN : in.spotlight < 0 || in.spotlight == VZ_P_ATTN);
    if (fabsf(want - 1.0f) < 1e-4f || (want < 1.0f && !attn)) { /* the layout as it comes */
        lay_out(c, v, &in);
        return;
    }
    vz_layout_in cur = in;
    cur.zoom = 1.0f;
    lay_out(c, v, &cur);
    int one = 0, cell = attn ? attn_cell(c, v, 0) : 0;
    if (want < 1.0f) { /* zooming out: the cells shrink step by step (never grow back with the freed room) */
        int cap = cell;
        for (float z = 1.0f; z > want + 1e-4f;) {
            z = z / 1.15f < want ? want : z / 1.15f;
            cur.zoom = z;
            lay_out(c, v, &cur);
            int k = attn_cell(c, v, 0);
            if (k < cap) cap = k;
        }
        c->lay.heat_max = cap > 0 ? cap : 0;
        return;
    }
    for (float z = 1.0f; z < want - 1e-4f;) {
        vz_layout_in next = cur;
        next.zoom = z * 1.15f > want ? want : z * 1.15f;
        int nx_one = one, ok = 0, k = 0;
        for (;;) {
            lay_out(c, v, &next);
            k = attn ? attn_cell(c, v, nx_one) : 0;
            if (k >= cell && layout_holds(c, v)) { ok = 1; break; }
            if (!next.projector && c->lay.arr < VZ_ARR_SPOT) next.min_arr = c->lay.arr + 1; /* drop panels */
            else if (attn && !nx_one && !v->enlarged) nx_one = 1;                          /* then heads */
            else break;
        }
        if (!ok) break; /* the window cannot show more: the zoom stays at the step before */
        cur = next;
        one = nx_one;
        cell = k;
        z = next.zoom;
    }
    lay_out(c, v, &cur);
    c->lay.one_head = one;
}

/* The last layout the layout pass made, and what it was made from: frames that change none of it reuse it. */
struct vz_pass_memo {
    vz_layout_in in;
    unsigned text;   /* a hash of the narration's strings */
    const void *cmp;
    int ints[8];
    float temp;
    vz_layout lay;
    int valid;
};

/* Returns the FNV-1a hash of s continued from h (s may be NULL). */
static unsigned hash_str(unsigned h, const char *s) {
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xffu) * 16777619u;
}

/* Orders ints for qsort. */
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Paints the frame's background: the whole target in the panel colour at once (one memset, many times
 * faster with the software renderer than filling each panel: at 3840x2160 filling panels was half a frame),
 * then the gaps between panels in the background colour. Panels then skip filling their own background. */
static void fill_gaps(vz_ctx *c) {
    SDL_SetRenderDrawColor(c->r, c->th->panel.r, c->th->panel.g, c->th->panel.b, 255);
    SDL_RenderClear(c->r);
    c->panel_ready = 1;
    vz_rect r[VZ_P_COUNT + 1];
    int n = 0, ys[2 * (VZ_P_COUNT + 1) + 2], ny = 0;
    for (int p = 0; p < VZ_P_COUNT; p++)
        if (vz_layout_shown(&c->lay, p)) r[n++] = c->lay.r[p];
    if (c->lay.strip.w > 0) r[n++] = c->lay.strip;
    ys[ny++] = 0;
    ys[ny++] = c->lay.h;
    for (int i = 0; i < n; i++) { ys[ny++] = r[i].y; ys[ny++] = r[i].y + r[i].h; }
    qsort(ys, (size_t)ny, sizeof *ys, cmp_int);
    for (int k = 0; k + 1 < ny; k++) { /* each band between two edges: the spans no panel covers */
        int y0 = ys[k], y1 = ys[k + 1];
        if (y1 <= y0) continue;
        int xs[2 * (VZ_P_COUNT + 1)], nx = 0;
        for (int i = 0; i < n; i++)
            if (r[i].y <= y0 && r[i].y + r[i].h >= y1) { xs[nx++] = r[i].x; xs[nx++] = r[i].x + r[i].w; }
        /* sort the covered spans by their start (pairs), then fill what lies between them */
        for (int i = 2; i < nx; i += 2)
            for (int j = i; j >= 2 && xs[j - 2] > xs[j]; j -= 2) {
                int t0 = xs[j - 2], t1 = xs[j - 1];
                xs[j - 2] = xs[j]; xs[j - 1] = xs[j + 1]; xs[j] = t0; xs[j + 1] = t1;
            }
        int x = 0;
        for (int i = 0; i < nx; i += 2) {
            if (xs[i] > x) vz_fill(c, (vz_rect){x, y0, xs[i] - x, y1 - y0}, c->th->bg);
            if (xs[i + 1] > x) x = xs[i + 1];
        }
        if (x < c->lay.w) vz_fill(c, (vz_rect){x, y0, c->lay.w - x, y1 - y0}, c->th->bg);
    }
}

/* Returns how many numbers the spotlight of the layout just computed cannot print for want of width: the
 * scores panel's cells too narrow for their values. (The other spotlights' heatmaps are as tall as wide and
 * limited by the height; they print no numbers that a narration column takes away.) */
static int spot_starved(vz_ctx *c, const vz_view *v) {
    if (c->lay.spot != VZ_P_SCORES || !vz_layout_shown(&c->lay, VZ_P_SCORES)) return 0;
    return vz_scores_unprinted(c, v, c->lay.r[VZ_P_SCORES]);
}

/* Returns 1 when the spotlight of the layout just computed is the scores panel with strips thinner than their texts. */
static int spot_crowded(vz_ctx *c, const vz_view *v) {
    return c->lay.spot == VZ_P_SCORES && vz_layout_shown(&c->lay, VZ_P_SCORES) && vz_scores_crowded(c, v, c->lay.r[VZ_P_SCORES]);
}

/* Chooses where the projector's narration goes, at zoom 1, setting in->narr_share or in->narr_below. Beside
 * the spotlight, a column as narrow as its text allows (a lesson's no narrower than 37%, so its lines stay long
 * enough to read), wider for a long text, but never so wide that the spotlight's numbers no longer fit their
 * cells: when the narration needs more width than the spotlight can give (a long text over the scores panel of
 * eight keys or more at 1024x768), it goes under the spotlight, across the window, as tall as its text needs,
 * and the spotlight keeps the whole width. Either way the narration's text (vz_narr_fit) is at least the
 * projector's narration minimum, 1/28 of the height. */
static void projector_narration(vz_ctx *c, const vz_view *v, vz_layout_in *in) {
    static const float shares[] = {0.28f, 0.33f, 0.37f, 0.42f, 0.47f, 0.52f};
    static const float belows[] = {0.30f, 0.34f, 0.38f, 0.42f, 0.46f, 0.50f, 0.55f, 0.60f, 0.65f};
    const int ns = (int)(sizeof shares / sizeof *shares), nb = (int)(sizeof belows / sizeof *belows);
    vz_layout_in z1 = *in;
    z1.zoom = 1.0f;
    z1.narr_below = 0;
    int fit = -1, starved = 0; /* the narrowest column the text fits, and the numbers it leaves out */
    for (int i = v->lesson ? 2 : 0; i < ns; i++) {
        in->narr_share = z1.narr_share = shares[i];
        vz_ctx_layout(c, &z1);
        if (c->lay.arr != VZ_ARR_BESIDE) return; /* a narrow window: the narration is under the spotlight anyway */
        vz_narr_fit(c, v);
        if (!vz_narr_fits(c, v)) continue;
        fit = i;
        starved = spot_starved(c, v);
        break;
    }
    if (fit >= 0 && !starved) return; /* beside, and the spotlight prints every number */
    int wide = fit < 0 ? ns - 1 : fit;
    if (fit < 0) { /* (no column holds the text: the widest, as before, unless the narration fits below) */
        z1.narr_share = shares[wide];
        vz_ctx_layout(c, &z1);
        starved = spot_starved(c, v);
    }
    for (int j = 0; j < nb; j++) { /* under the spotlight: the lowest band the text fits */
        z1.narr_below = belows[j];
        vz_ctx_layout(c, &z1);
        vz_narr_fit(c, v);
        if (!vz_narr_fits(c, v)) continue;
        /* (the spotlight may be below its usual minimum height: its numbers, which it is about, are what counts) */
        if (vz_layout_shown(&c->lay, c->lay.spot) && (fit < 0 ? vz_layout_fits(&c->lay) : spot_starved(c, v) < starved) &&
            !spot_crowded(c, v)) { /* (and never strips so thin that their names and ranges overlap) */
            in->narr_below = belows[j];
            return;
        }
        break; /* a taller band only leaves the spotlight less room */
    }
    in->narr_share = shares[wide];
}

void vz_draw_all(vz_ctx *c, const vz_view *v, int w, int h, float zoom, int only) {
    vz_layout_in in = {w, h, zoom, v->projector, v->lesson, v->spotlight, v->focus_panel, -1,
                       v->m->cfg.family == SF_FAMILY_ENCDEC ? 2 : 1, 0, 0, 0, 0, 0, 0};
    in.timeline = v->tl_n > 0;
    if (only >= 0 && only < VZ_P_COUNT) {
        if (v->projector && vz_panel_spotlightable(only)) in.spotlight = only; /* a projector keeps its narration */
        else { in.only = only; in.zoom *= 1.5f; } /* one panel over the whole window: larger text */
    }
    /* the layout pass, reused while nothing it depends on changes */
    if (!c->pass) c->pass = calloc(1, sizeof *c->pass);
    struct vz_pass_memo now;
    memset(&now, 0, sizeof now);
    now.in = in;
    now.text = hash_str(hash_str(hash_str(hash_str(2166136261u, v->narration), v->narration_title), v->verdict), v->lesson_info);
    now.cmp = v->cmp;
    int ints[8] = {v->step, v->block, v->head, v->enlarged, c->lang, (int)c->generation, v->n_blocks, v->m->cfg.d_model};
    memcpy(now.ints, ints, sizeof ints);
    now.temp = v->temperature;
    struct vz_pass_memo *m = c->pass;
    if (m && m->valid && !memcmp(&m->in, &now.in, sizeof now.in) && m->text == now.text && m->cmp == now.cmp &&
        !memcmp(m->ints, now.ints, sizeof now.ints) && m->temp == now.temp) {
        c->lay = m->lay;
    } else {
        if (in.projector && in.only < 0) projector_narration(c, v, &in);
        zoom_pass(c, v, in);
        vz_narr_fit(c, v);
        now.lay = c->lay;
        now.valid = 1;
        if (m) *m = now;
    }
    vz_ctx_reset(c);
    c->hl = v->hl;
    c->n_hl = v->n_hl;
    c->hide = v->hide.name[0] ? &v->hide : NULL;
    fill_gaps(c);
    for (int p = 0; p < VZ_P_COUNT; p++) {
        if (!vz_layout_shown(&c->lay, p)) continue;
        c->owner = p;
        vz_ink(c, p == VZ_P_TOP ? c->th->bar : c->th->panel); /* what every panel's text sits on */
        table[p].draw(c, v, c->lay.r[p]);
    }
    if (c->lay.strip.w > 0) {
        c->owner = VZ_OWNER_STRIP;
        vz_strip(c, v, c->lay.strip);
    }
    c->owner = VZ_OWNER_OVERLAY;
    vz_ink(c, vz_ink_none);
    vz_tooltip(c, v);
    if (v->help) vz_help(c, v);
}
