/* test_layout.c - the layout, checked on drawn frames: the shipped models (reverse, sort, words) and lessons
 * 1, 6 and 7 rendered headless at 1024x768, 1280x720, 1366x768, 1920x1080 and 3840x2160, in normal and
 * projector mode, at every zoom step the +/- keys reach. In every frame the frame log (every text drawn: its
 * box, size and panel) must show no text over another, none outside its panel, none smaller than the mode's
 * minimum, and every heatmap inside its panel; the spotlight's heatmaps must grow with the zoom. A GPT-2-shaped
 * model (12 layers x 12 heads, GPT-2's tokenizer, 132 tokens with Chinese split into bytes) is checked the same
 * way at 1920x1080 and 1024x768, normal and projector: its grid labelled L0-L11 by H0-H11, its heatmap a window
 * whose axis labels are the window's tokens, and no replacement character anywhere. Every other lesson is drawn at
 * three sizes and checked the same way, and the numbers printed in narrow cells against the trace, and a single
 * framed attention cell prints its weight exactly when it fits (lesson 14 step 3: .95 and .09 at 1024x768), and
 * under the heatmap when it does not (lesson 15 step 2: "framed: row 0, key 12 = 1.00"); a comparison's run labels
 * are never cut. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/checkpoint.h"
#include "model/format.h"
#include "viz/index.h"
#include "viz/lesson_player.h"
#include "viz/panels.h"

static const int sizes[][2] = {{1024, 768}, {1280, 720}, {1366, 768}, {1920, 1080}, {3840, 2160}};
#define N_SIZES (int)(sizeof sizes / sizeof *sizes)

static vz_font_paths fonts;

/* Fills zooms with every zoom the +/- keys reach from 1 (x or / 1.15 a press, clamped to [0.5, 3]); returns
 * how many, in increasing order. */
static int zoom_ladder(float *zooms) {
    int n = 0;
    float z = 1.0f;
    while (z / 1.15f >= 0.5f) z /= 1.15f;
    zooms[n++] = 0.5f; /* the keys clamp the last press down to 0.5 */
    for (; z <= 3.0f; z *= 1.15f) zooms[n++] = z;
    zooms[n++] = 3.0f; /* and the last press up to 3 */
    return n;
}

/* Returns the rectangle owner drew into in layout l (the tab strip for VZ_OWNER_STRIP). */
static vz_rect owner_rect(const vz_layout *l, int owner) {
    if (owner == VZ_OWNER_STRIP) return l->strip;
    if (owner >= 0 && owner < VZ_P_COUNT) return l->r[owner];
    return (vz_rect){0, 0, l->w, l->h};
}

/* Records a problem: the first one's description goes into msg. Returns the new count. */
static int problem(int n, char *msg, size_t size, const char *fmt, ...) {
    if (n == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, size, fmt, ap);
        va_end(ap);
    }
    return n + 1;
}

/* Returns how many problems the frame log and hit regions of the frame just drawn show (the first one
 * described in msg): panels outside the window or overlapping, texts outside their panel, over one another
 * or below the mode's minimum size or under a frame drawn around cells, narration below the projector's, heatmaps
 * outside their panel. */
static int frame_problems(const vz_ctx *c, char *msg, size_t size) {
    const vz_layout *l = &c->lay;
    int n = 0;
    if (c->texts_dropped) n = problem(n, msg, size, "%ld texts did not fit the frame log", c->texts_dropped);
    if (c->n_texts == 0) n = problem(n, msg, size, "nothing drawn");
    for (int p = 0; p < VZ_P_COUNT; p++) { /* panels inside the window, apart */
        vz_rect r = l->r[p];
        if (!vz_layout_shown(l, p)) continue;
        if (r.x < 0 || r.y < 0 || r.x + r.w > l->w || r.y + r.h > l->h)
            n = problem(n, msg, size, "panel %s (%d,%d %dx%d) leaves the window", vz_panel_name(p), r.x, r.y, r.w, r.h);
        for (int q = p + 1; q < VZ_P_COUNT; q++)
            if (vz_rect_overlap(r, l->r[q])) n = problem(n, msg, size, "panels %s and %s overlap", vz_panel_name(p), vz_panel_name(q));
        if (vz_rect_overlap(r, l->strip)) n = problem(n, msg, size, "panel %s overlaps the tab strip", vz_panel_name(p));
    }
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        if (t->owner == VZ_OWNER_OVERLAY) continue;
        vz_rect o = owner_rect(l, t->owner);
        const char *who = t->owner == VZ_OWNER_STRIP ? "the strip" : vz_panel_name(t->owner);
        if (!vz_rect_inside(t->r, o))
            n = problem(n, msg, size, "a text of %s at (%d,%d %dx%d) leaves its panel (%d,%d %dx%d)", who, t->r.x, t->r.y, t->r.w,
                        t->r.h, o.x, o.y, o.w, o.h);
        if (t->px < l->min_text) n = problem(n, msg, size, "a text of %s is %d px, the mode's minimum is %d", who, t->px, l->min_text);
        for (int j = i + 1; j < c->n_texts; j++) {
            const vz_textbox *u = &c->texts[j];
            if (u->owner == VZ_OWNER_OVERLAY || !vz_rect_overlap(t->r, u->r)) continue;
            n = problem(n, msg, size, "texts overlap: %s (%d,%d %dx%d, %d px) and %s (%d,%d %dx%d, %d px)", who, t->r.x, t->r.y,
                        t->r.w, t->r.h, t->px, u->owner == VZ_OWNER_STRIP ? "the strip" : vz_panel_name(u->owner), u->r.x,
                        u->r.y, u->r.w, u->r.h, u->px);
        }
    }
    for (int f = 0; f < c->n_frames; f++) { /* no frame around cells covers a text: the label of the row it frames */
        const vz_framebox *b = &c->frames[f];
        vz_rect inner = vz_rect_inset(b->r, b->thick);
        for (int i = 0; i < b->texts_before && i < c->n_texts; i++) { /* (a text drawn after the frame is on top of it) */
            const vz_textbox *t = &c->texts[i];
            if (t->owner != b->owner || !vz_rect_overlap(t->r, b->r) || vz_rect_inside(t->r, inner)) continue;
            if (b->clip.w > 0 && !vz_rect_overlap(t->r, b->clip)) continue; /* (the frame is drawn only inside its clip) */
            n = problem(n, msg, size, "a frame of %s (%d,%d %dx%d, %d px thick) covers the text '%s' (%d,%d %dx%d)",
                        vz_panel_name(b->owner), b->r.x, b->r.y, b->r.w, b->r.h, b->thick, t->s, t->r.x, t->r.y, t->r.w, t->r.h);
        }
    }
    if (l->projector && vz_layout_shown(l, VZ_P_NARR) && l->f.narr < l->min_narr)
        n = problem(n, msg, size, "narration at %d px, below the projector's %d", l->f.narr, l->min_narr);
    for (int i = 0; i < c->n_hits; i++) {
        const vz_hit *h = &c->hits[i];
        vz_rect o = owner_rect(l, h->owner);
        if (!vz_rect_inside(h->clip, o))
            n = problem(n, msg, size, "heatmap %s (%d,%d %dx%d) leaves its panel %s", h->h.e->name, h->clip.x, h->clip.y,
                        h->clip.w, h->clip.h, vz_panel_name(h->owner));
    }
    return n;
}

/* Returns 1 if s is drawn as a number (digits, a sign, a point; an ellipsis if it was cut). */
static int is_number(const char *s) {
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') digits++;
        else if (*p == '-' || *p == '.') continue;
        else if (!strncmp(p, "\xe2\x80\xa6", 3)) p += 2;
        else return 0;
    }
    return digits > 0;
}

/* Returns how many numbers printed in narrow cells in the frame just drawn say something the trace does not (the
 * first described in msg): in the scores strips each number is its cell's value rounded to the decimals printed
 * (only a leading zero dropped), a weight with two decimals unless it is exactly 0, one number of decimals per
 * strip; in the logit lens two decimals (its integers are positions); nowhere a number cut with an ellipsis ("0.…"). */
static int number_problems(const vz_ctx *c, char *msg, size_t size) {
    int n = 0, decs[VZ_MAX_HITS];
    for (int i = 0; i < VZ_MAX_HITS; i++) decs[i] = -1;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        if ((t->owner != VZ_P_SCORES && t->owner != VZ_P_LENS && t->owner != VZ_P_OUTPUT) || !is_number(t->s)) continue;
        const char *who = vz_panel_name(t->owner), *dot = strchr(t->s, '.');
        size_t len = strlen(t->s); /* (a range "0…1" is not cut) */
        if (len >= 3 && !strcmp(t->s + len - 3, "\xe2\x80\xa6")) { n = problem(n, msg, size, "%s prints a cut number '%s'", who, t->s); continue; }
        int dec = dot ? (int)strlen(dot + 1) : 0;
        if (t->owner == VZ_P_LENS && dot && dec != 2) n = problem(n, msg, size, "the lens prints a probability as '%s'", t->s);
        if (t->owner != VZ_P_SCORES) continue;
        int cx = t->r.x + t->r.w / 2, cy = t->r.y + t->r.h / 2, hi = -1;
        for (int k = 0; k < c->n_hits && hi < 0; k++)
            if (c->hits[k].owner == VZ_P_SCORES && vz_rect_has(c->hits[k].clip, cx, cy)) hi = k;
        if (hi < 0) continue; /* not in a cell: the key positions, the legends' ranges */
        const vz_hit *h = &c->hits[hi];
        int col = (int)((long)(cx - h->r.x) * h->h.ncols / h->r.w);
        float v = sf_trace_row(h->h.e, h->h.row0)[col];
        const char *leaf = strrchr(h->h.e->name, '.');
        char where[160];
        snprintf(where, sizeof where, "%s q=%d k=%d", h->h.e->name, h->h.row0, col);
        if (!strcmp(t->s, "-inf")) {
            if (!(isinf(v) && v < 0)) n = problem(n, msg, size, "%s: '-inf' printed for %g", where, (double)v);
            continue;
        }
        if (!strcmp(t->s, "0") && v == 0.0f) continue; /* an exact 0: the mask's, a key not there yet */
        double x = strtod(t->s, NULL), tol = 0.5 * pow(10, -dec) + 1e-6;
        if (fabs(x - v) > tol) n = problem(n, msg, size, "%s: '%s' printed for %.6f", where, t->s, (double)v);
        else if (!strcmp(leaf, ".probs") && dec != 2) n = problem(n, msg, size, "%s: the weight %.6f printed as '%s'", where, (double)v, t->s);
        else if (!strcmp(leaf, ".mask")) n = problem(n, msg, size, "%s: the mask's %g printed as '%s'", where, (double)v, t->s);
        if (decs[hi] >= 0 && decs[hi] != dec)
            n = problem(n, msg, size, "%s: '%s' has %d decimals, another cell of the strip %d", where, t->s, dec, decs[hi]);
        decs[hi] = dec;
    }
    return n;
}

/* Returns how many cells of the scores panel in the frame just drawn have a value but show no number (the first
 * described in msg), in rows of at most 12 keys: every computed, unhidden cell of q.k, / sqrt(d), + mask and
 * softmax must carry a number text centred in it (a key that does not exist yet has no q.k: none expected). (16
 * keys across 1024 px leave 47 px cells, too narrow for "-12.3" at the projector's smallest text: there a strip
 * prints whole numbers and a small score shows none, as panel_scores.c says.) At
 * 1024x768 in projector mode a long narration's column once squeezed lesson 6 step 2's nine keys to 31 px cells
 * that printed "15", "", "-2": its q.k row lost four of its five numbers. A cell may instead be named under the
 * strips ("r = -0.36"): lesson 11's page without weights in Chinese, Scores tab clicked, had 11 cells of 31 px that
 * printed nothing anywhere (test_every_lesson now clicks the tab in Chinese too). */
static int unprinted_cells(const vz_ctx *c, char *msg, size_t size) {
    int n = 0;
    for (int k = 0; k < c->n_hits; k++) {
        const vz_hit *h = &c->hits[k];
        if (h->owner != VZ_P_SCORES || h->h.nrows != 1 || h->h.vis < 1 || h->h.ncols > 12 || !h->h.mask) continue;
        if (c->hide && h->h.row0 == c->hide->lo[0] && vz_hide_covers(c->hide, h->h.e->name)) continue;
        const char *leaf = strrchr(h->h.e->name, '.');
        int scores = !strcmp(leaf, ".scores") || !strcmp(leaf, ".scaled");
        const float *m = sf_trace_row(h->h.mask, h->h.row0);
        for (int j = 0; j < h->h.ncols; j++) {
            if (scores && isinf(m[j]) && m[j] < 0) continue;
            int x0 = h->r.x + (int)((long)j * h->r.w / h->h.ncols), x1 = h->r.x + (int)((long)(j + 1) * h->r.w / h->h.ncols), found = 0;
            for (int i = 0; i < c->n_texts && !found; i++) {
                const vz_textbox *t = &c->texts[i];
                int cx = t->r.x + t->r.w / 2, cy = t->r.y + t->r.h / 2;
                found = t->owner == VZ_P_SCORES && (is_number(t->s) || !strcmp(t->s, "-inf")) && cx >= x0 && cx < x1 &&
                        cy >= h->r.y && cy < h->r.y + h->r.h;
            }
            if (!found) { /* else named under the strips, "r = -0.36", the trace's value with two decimals */
                char want[32], num[24];
                const float x = sf_trace_row(h->h.e, h->h.row0)[j];
                int masked = isinf(m[j]) && m[j] < 0;
                if (masked) snprintf(num, sizeof num, "%s", strstr(h->h.e->name, ".probs") ? "0" : "-inf");
                else if (x == 0.0f && strstr(h->h.e->name, ".mask")) snprintf(num, sizeof num, "0");
                else vz_fmt_cell(num, sizeof num, x, VZ_CELL_2);
                snprintf(want, sizeof want, " = %s", num);
                for (int i = 0; i < c->n_texts && !found; i++) {
                    const vz_textbox *t = &c->texts[i];
                    size_t ls = strlen(t->s), lw = strlen(want);
                    found = t->owner == VZ_P_SCORES && t->r.y >= h->r.y + h->r.h && ls > lw && !strcmp(t->s + ls - lw, want);
                }
            }
            if (!found)
                n = problem(n, msg, size, "%s q=%d k=%d (%.4f, a %d px cell) prints no number", h->h.e->name, h->h.row0, j,
                            (double)sf_trace_row(h->h.e, h->h.row0)[j], x1 - x0);
        }
    }
    return n;
}

/* Returns how many rows and columns a lesson frames in the attention panel's heatmaps have no label in the frame
 * just drawn (the first described in msg): for each highlight of a single row (or a single column) of a heatmap the
 * attention panel drew, a text of that panel centred on that row left of the grid (or on that column above it).
 * Lesson 5 step 4 frames rows 3 and 4 of head 2; the row labels, thinned to every other one, kept only row 4's. */
static int unlabelled_frames(const vz_ctx *c, const vz_view *v, char *msg, size_t size) {
    int n = 0;
    for (int k = 0; k < c->n_hits; k++) {
        const vz_hit *h = &c->hits[k];
        if (h->owner != VZ_P_ATTN || h->h.nrows <= 0 || h->h.ncols <= 0 || h->h.rperm || h->h.cperm) continue;
        const vz_view *hv = v->cmp && sf_trace_find(v->cmp->tr, h->h.e->name) == h->h.e ? v->cmp : v; /* whose run */
        int qs = strncmp(h->h.e->name, "enc", 3) ? SF_STACK_DEC : SF_STACK_ENC, ks = strstr(h->h.e->name, ".cross.") ? SF_STACK_ENC : qs;
        double ch = (double)h->r.h / h->h.nrows, cw = (double)h->r.w / h->h.ncols;
        for (int i = 0; i < c->n_hl; i++) {
            const vz_highlight *g = &c->hl[i];
            if (strcmp(g->name, h->h.e->name) || g->rank < 2) continue;
            for (int axis = 0; axis < 2; axis++) {
                int place = g->lo[axis];
                if (place < 0 || g->hi[axis] != place || place >= (axis == 0 ? h->h.nrows : h->h.ncols)) continue;
                double a = axis == 0 ? h->r.y + place * ch : h->r.x + place * cw, b = a + (axis == 0 ? ch : cw);
                if (h->clip.w > 0 && (axis == 0 ? a < h->clip.y || b > h->clip.y + h->clip.h : a < h->clip.x || b > h->clip.x + h->clip.w))
                    continue; /* (a window of the grid: outside it) */
                char tok[16], ini[16];
                vz_token_label(hv, axis == 0 ? qs : ks, place, tok);
                strcpy(ini, tok);
                vz_special_initial(&hv->m->tok, ini);
                int found = 0;
                for (int t = 0; t < c->n_texts && !found; t++) { /* its token, beside the grid, near the row (column) */
                    const vz_textbox *x = &c->texts[t];
                    if (x->owner != VZ_P_ATTN || (strcmp(x->s, tok) && strcmp(x->s, ini))) continue;
                    double mid = axis == 0 ? x->r.y + x->r.h / 2.0 : x->r.x + x->r.w / 2.0, slack = (axis == 0 ? x->r.h : x->r.w) / 2.0;
                    found = mid >= a - slack && mid <= b + slack && (axis == 0 ? x->r.x + x->r.w <= h->r.x : x->r.y + x->r.h <= h->r.y);
                }
                if (!found)
                    n = problem(n, msg, size, "%s: the framed %s %d ('%s') has no label", g->name, axis == 0 ? "row" : "column", place, tok);
            }
        }
    }
    return n;
}

/* Returns how many single cells a lesson frames in the attention panel's heatmaps break the rule in the frame just
 * drawn (the first described in msg; *printed counts those that print their value): a framed cell that is computed,
 * not hidden and not masked prints its value, the trace's number with two decimals ("0.95" or ".95"), inside the
 * cell, when its two-decimal form fits inside the cell at the mode's smallest text clear of the frames' bands
 * (vz_px(3) a side) and of the room a compared run's white dot keeps above and below it; otherwise no number at all. Lesson 14 step 3 said "puts 0.95 on h" over a yellow square with no number. */
static int framed_cells(vz_ctx *c, int *printed, int *captioned, char *msg, size_t size) {
    int n = 0;
    *printed = *captioned = 0;
    for (int k = 0; k < c->n_hits; k++) {
        const vz_hit *h = &c->hits[k];
        if (h->owner != VZ_P_ATTN || h->h.nrows <= 0 || h->h.ncols <= 0 || h->h.rperm || h->h.cperm) continue;
        for (int i = 0; i < c->n_hl; i++) {
            const vz_highlight *g = &c->hl[i];
            int q = g->lo[0], key = g->lo[1];
            if (strcmp(g->name, h->h.e->name) || g->rank < 2 || g->style || g->hi[0] != q || g->hi[1] != key) continue;
            if (q < h->h.row0 || q >= h->h.row0 + h->h.nrows || key < 0 || key >= h->h.ncols) continue;
            vz_rect cr = {h->r.x + (int)((long)key * h->r.w / h->h.ncols), h->r.y + (int)((long)(q - h->h.row0) * h->r.h / h->h.nrows), 0, 0};
            cr.w = h->r.x + (int)((long)(key + 1) * h->r.w / h->h.ncols) - cr.x;
            cr.h = h->r.y + (int)((long)(q + 1 - h->h.row0) * h->r.h / h->h.nrows) - cr.y;
            if (!vz_rect_inside(cr, h->clip)) continue; /* (a window of the grid: outside it) */
            float v = sf_trace_row(h->h.e, q)[key];
            const float *m = h->h.mask ? sf_trace_row(h->h.mask, q) : NULL;
            int shown = q - h->h.row0 < h->h.vis && !(m && isinf(m[key]) && m[key] < 0) &&
                        !(c->hide && q == c->hide->lo[0] && vz_hide_covers(c->hide, h->h.e->name));
            vz_rect in = vz_rect_inset(cr, vz_px(c, 3));
            char two[24]; /* its shortest form: ".95", "1.00" */
            vz_fmt_cell(two, sizeof two, v, VZ_CELL_2_SHORT);
            int fits = vz_label_w(c, two, c->lay.min_text) <= in.w && vz_lh(c, c->lay.min_text) <= in.h - 2 * (h->h.values - 1);
            char where[160];
            snprintf(where, sizeof where, "%s q=%d k=%d (%.4f, a %dx%d px cell)", g->name, q, key, (double)v, cr.w, cr.h);
            int found = 0;
            for (int t = 0; t < c->n_texts; t++) {
                const vz_textbox *x = &c->texts[t];
                if (x->owner != VZ_P_ATTN || !is_number(x->s) || !vz_rect_has(cr, x->r.x + x->r.w / 2, x->r.y + x->r.h / 2)) continue;
                found++;
                const char *dot = strchr(x->s, '.');
                if (!shown) n = problem(n, msg, size, "%s: not shown, but prints '%s'", where, x->s);
                else if (!dot || strlen(dot + 1) != 2 || fabs(strtod(x->s, NULL) - v) > 0.005 + 1e-6)
                    n = problem(n, msg, size, "%s: prints '%s'", where, x->s);
                else if (!vz_rect_inside(x->r, in)) n = problem(n, msg, size, "%s: '%s' leaves the cell", where, x->s);
                else if (x->px < c->lay.min_text) n = problem(n, msg, size, "%s: '%s' at %d px", where, x->s, x->px);
            }
            if (found > 1) n = problem(n, msg, size, "%s: %d numbers", where, found);
            if (shown && fits && !found) n = problem(n, msg, size, "%s: prints no number, though '%s' fits", where, two);
            if (found && !fits) n = problem(n, msg, size, "%s: prints a number where '%s' does not fit", where, two);
            *printed += found == 1;
            /* a cell too small for its number: the line under the heatmap, "framed: row q, key k = 0.97" (on one line,
             * or two), only for a cell that is shown and prints nothing, with the trace's value in two decimals */
            char line[96], two2[24];
            snprintf(line, sizeof line, vz_s(c, VZ_S_FRAMED_VALUE), q, key, vz_fmt_cell(two2, sizeof two2, v, VZ_CELL_2));
            int cap = 0;
            for (int t = 0; t < c->n_texts; t++) {
                const vz_textbox *x = &c->texts[t];
                if (x->owner != VZ_P_ATTN || x->r.y < cr.y + cr.h) continue;
                char two_lines[160];
                snprintf(two_lines, sizeof two_lines, "%s %s", x->s, t + 1 < c->n_texts ? c->texts[t + 1].s : "");
                if (!strcmp(x->s, line) || !strcmp(two_lines, line)) cap++;
            }
            if (cap && (!shown || found)) n = problem(n, msg, size, "%s: '%s' under a cell that %s", where, line, shown ? "prints it" : "is not shown");
            if (cap > 1) n = problem(n, msg, size, "%s: '%s' %d times", where, line, cap);
            *captioned += cap == 1;
        }
    }
    return n;
}

/* Copies s into out without its spaces (a wrapped line is compared whatever its breaks). */
static void unspaced(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        if (*s != ' ') out[k++] = *s;
    out[k] = 0;
}

/* Returns how many cells a lesson frames alone in the activations panel's rows (lesson_matrices) show no number in
 * the frame just drawn (the first described in msg; *captioned counts those whose line is there): each, too narrow
 * for its number (a 64-channel row's cells are), has its line under the grid, "framed: channel 2 = 1.99" for a row
 * drawn alone, "framed: position 1 ('a'), channel 1 = -0.34" in a matrix, the trace's value with two decimals, on
 * up to three lines. Lesson 8 step 1 said "1.99 + 0.16 = 2.15" over three thin pink frames and no number. */
static int act_framed_cells(vz_ctx *c, const vz_view *v, int *captioned, char *msg, size_t size) {
    int n = 0;
    *captioned = 0;
    for (int k = 0; k < c->n_hits; k++) {
        const vz_hit *h = &c->hits[k];
        const sf_trace_entry *e = h->h.e;
        if (h->owner != VZ_P_ACT || h->h.nrows <= 0 || h->h.rperm || e->rank < 2 || h->r.x > c->lay.r[VZ_P_ACT].x + c->lay.r[VZ_P_ACT].w / 2)
            continue; /* (the left run's grid: a compared run's lines are its own) */
        for (int i = 0; i < c->n_hl; i++) {
            const vz_highlight *g = &c->hl[i];
            int q = g->lo[0], key = g->lo[1];
            if (strcmp(g->name, e->name) || g->style || g->hi[0] != q || g->hi[1] != key || key < 0 || key >= h->h.ncols) continue;
            if (q < h->h.row0 || q >= h->h.row0 + h->h.nrows || q - h->h.row0 >= h->h.vis) continue;
            char num[24], want[160], tok[16];
            vz_fmt_cell(num, sizeof num, sf_trace_row(e, q)[key], VZ_CELL_2);
            const char *axis = !strcmp(e->axis[1], "channel") ? vz_s(c, VZ_S_AXIS_CHANNEL_ONE)
                               : !strcmp(e->axis[1], "hidden") ? vz_s(c, VZ_S_AXIS_HIDDEN_ONE) : e->axis[1];
            if (h->h.nrows == 1) snprintf(want, sizeof want, vz_s(c, VZ_S_FRAMED_CH), axis, key, num);
            else snprintf(want, sizeof want, vz_s(c, VZ_S_FRAMED_ROW_CH), q, vz_token_label(v, e->stack, q, tok), axis, key, num);
            char w0[160];
            unspaced(want, w0, sizeof w0);
            int found = 0;
            for (int t = 0; t < c->n_texts && !found; t++) {
                /* under the grid, or after the entry's title on the line above it (1280x720: no room under it) */
                int under = c->texts[t].r.y >= h->r.y + h->r.h;
                int title = c->texts[t].r.y + c->texts[t].r.h <= h->r.y && c->texts[t].r.y >= h->r.y - 2 * vz_lh(c, c->lay.f.small) &&
                            c->texts[t].r.x > h->r.x;
                if (c->texts[t].owner != VZ_P_ACT || !(under || title)) continue;
                char joined[256] = "", part[80];
                for (int l = 0; l < 3 && t + l < c->n_texts && !found; l++) {
                    unspaced(c->texts[t + l].s, part, sizeof part);
                    strncat(joined, part, sizeof joined - strlen(joined) - 1);
                    found = !strcmp(joined, w0);
                }
            }
            if (!found) n = problem(n, msg, size, "%s pos=%d c=%d: no '%s' under its row", e->name, q, key, want);
            *captioned += found;
        }
    }
    return n;
}

/* Returns how many of a comparison's two run labels ("left: input abcdefgh, target hgfedcba") the attention panel,
 * when it drew heatmaps this frame, cut with an ellipsis or does not draw (the first described in msg): at 1024x768
 * lesson 6 step 6 read "right: input abcdefgh, ta…", its one difference, target hgfedcbz, cut off. */
static int cut_run_labels(const vz_ctx *c, const vz_view *v, char *msg, size_t size) {
    int n = 0, drawn = 0;
    for (int i = 0; i < c->n_hits; i++) drawn |= c->hits[i].owner == VZ_P_ATTN;
    if (!v->cmp || !drawn) return 0;
    const char *lab[2] = {v->run_label, v->cmp->run_label};
    for (int k = 0; k < 2; k++) {
        if (!lab[k]) continue;
        int first = 0;
        for (int t = 0; t < c->n_texts; t++) {
            const vz_textbox *x = &c->texts[t];
            size_t len = strlen(x->s), el = len >= 3 && !strcmp(x->s + len - 3, "\xe2\x80\xa6") ? 3 : 0;
            if (x->owner != VZ_P_ATTN || len - el < 4 || strncmp(lab[k], x->s, len - el)) continue;
            first++;
            if (el) n = problem(n, msg, size, "'%s' drawn as '%s'", lab[k], x->s);
        }
        if (!first) n = problem(n, msg, size, "'%s' not drawn", lab[k]);
    }
    return n;
}

/* Returns how many head titles of the attention panel ("head 0 (0–0.30)", the range its own colours run to)
 * the frame just drawn cut with an ellipsis (the first described in msg): lesson 5 in Chinese at 1024x768 read
 * "头 0（0–0.…", the range its narration points to cut off. */
static int cut_head_titles(const vz_ctx *c, char *msg, size_t size) {
    int n = 0;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *x = &c->texts[i];
        size_t len = strlen(x->s);
        if (x->owner != VZ_P_ATTN || len < 3 || strcmp(x->s + len - 3, "\xe2\x80\xa6")) continue;
        for (int h = 0; h < 16; h++) {
            char want[32];
            snprintf(want, sizeof want, vz_s(c, VZ_S_HEAD_N), h);
            size_t wl = strlen(want);
            if (!strncmp(x->s, want, wl) && (x->s[wl] == ' ' || (unsigned char)x->s[wl] >= 0x80)) {
                n = problem(n, msg, size, "'%s'", x->s);
                break;
            }
        }
    }
    return n;
}

/* Returns how many texts the frame just drawn cut to fit with an ellipsis (the first described in msg; with
 * LAYOUT_ALL each is listed): at 1920x1080 the activations panel's note read "every token after L1 self (click a
 * sub-layer to cho…". Nothing a learner needs may end in "…". */
static int cut_texts(const vz_ctx *c, const char *what, char *msg, size_t size) {
    int n = 0;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *x = &c->texts[i];
        if (!x->cut) continue;
        const char *who = x->owner == VZ_OWNER_STRIP ? "the strip" : x->owner == VZ_OWNER_OVERLAY ? "an overlay" : vz_panel_name(x->owner);
        n = problem(n, msg, size, "%s draws '%s' (%d px wide)", who, x->s, x->r.w);
        if (getenv("LAYOUT_CUTS")) print_message("CUT %s: %s draws '%s' (%d px wide)\n", what, who, x->s, x->r.w);
    }
    return n;
}

/* Returns how many lines of the narration in the frame just drawn end with an opening straight quote or start with
 * a closing one (the first described in msg), the quotes counted along its lines: lesson 1 step 4 in Chinese at
 * 1024x768 projector ended a line with 在 m 之后，" and began the next with 下一个词元". */
static int quote_breaks(const vz_ctx *c, char *msg, size_t size) {
    int n = 0, quotes = 0;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        if (t->owner != VZ_P_NARR) continue;
        size_t len = strlen(t->s);
        if (len + 1 >= sizeof t->s) { quotes = 0; continue; } /* (the log keeps 63 bytes: a line longer is not counted) */
        if (t->s[0] == '"' && quotes % 2 == 1) n = problem(n, msg, size, "a line starts with a closing quote: '%s'", t->s);
        for (size_t k = 0; k < len; k++) quotes += t->s[k] == '"';
        if (len && t->s[len - 1] == '"' && quotes % 2 == 1) n = problem(n, msg, size, "a line ends with an opening quote: '%s'", t->s);
    }
    return n;
}

/* Returns the smallest cell of the attention panel's heatmaps in the frame just drawn (0 if it drew none). */
static double attn_min_cell(const vz_ctx *c) {
    double best = 0;
    for (int i = 0; i < c->n_hits; i++) {
        const vz_hit *h = &c->hits[i];
        if (h->owner != VZ_P_ATTN || h->h.ncols <= 0) continue;
        double cell = (double)h->r.w / h->h.ncols;
        if (best == 0 || cell < best) best = cell;
    }
    return best;
}

/* With LAYOUT_ALL=1 in the environment the tests list every failing frame instead of stopping at the first. */
static int keep_going(void) { return getenv("LAYOUT_ALL") != NULL; }
static int failures;

/* Fails the test if the frame just drawn shows any problem. */
static void check_frame(const vz_ctx *c, const char *what) {
    char msg[512] = "";
    int n = frame_problems(c, msg, sizeof msg);
    if (!n) n = number_problems(c, msg, sizeof msg);
    if (!n) return;
    if (keep_going()) { print_message("%s: %d problem%s, the first: %s\n", what, n, n == 1 ? "" : "s", msg); failures++; return; }
    fail_msg("%s: %d problem%s, the first: %s", what, n, n == 1 ? "" : "s", msg);
}

/* Returns the cell size of the biggest heatmap the spotlight (or, in the grid, the attention panel) drew. */
static double spot_cell(const vz_ctx *c) {
    int p = c->lay.spot >= 0 ? c->lay.spot : VZ_P_ATTN;
    double best = 0;
    for (int i = 0; i < c->n_hits; i++) {
        const vz_hit *h = &c->hits[i];
        if (h->owner != p || h->h.ncols <= 0) continue;
        double cell = (double)h->r.w / h->h.ncols;
        if (cell > best) best = cell;
    }
    return best;
}

typedef struct {
    const char *file, *input;
} model_case;

static const model_case models[] = {
    {"assets/models/reverse.sfm", "abcdefgh"}, {"assets/models/sort.sfm", "CABBAC="}, {"assets/models/words.sfm", "tra"}};

/* Opens an app on a w x h software surface over a shipped model. */
static void open_app(SDL_Surface **surf, SDL_Renderer **r, vz_app *a, const model_case *mc, int w, int h) {
    *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(*surf);
    *r = SDL_CreateSoftwareRenderer(*surf);
    assert_non_null(*r);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SF_SOURCE_DIR, mc->file);
    sf_model m;
    sf_err e = sf_checkpoint_load(path, &m);
    if (!e.ok) fail_msg("%s", e.msg);
    vz_run_cfg rc = {12, 1, 0.0f};
    e = vz_app_init(a, *r, &fonts, &m, mc->input, &rc);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Opens a lesson player on a w x h software surface, in language lang, projector mode or not. */
static void open_player(SDL_Surface **surf, SDL_Renderer **r, vz_player *p, int w, int h, int lang, int projector) {
    *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(*surf);
    *r = SDL_CreateSoftwareRenderer(*surf);
    assert_non_null(*r);
    assert_true(vz_player_init(p, *r, &fonts, lang).ok);
    p->projector = projector;
}

/* Returns the first step of the decoder's token t at layer 0's softmax (a step deep inside a pass), or n/2. */
static int middle_step(const vz_app *a, int t) {
    for (int i = 0; i < a->sched.n; i++) {
        sf_cursor c = a->sched.steps[i];
        if (c.phase == SF_STACK_DEC && c.token == t && c.layer == 0 && c.sublayer == SF_SUB_SELF && c.op == SF_OP_SOFTMAX)
            return i;
    }
    return a->sched.n / 2;
}

/* Every model, size, mode and zoom: the frame log of the first, a middle and the last step is clean, and the
 * spotlight's heatmap cells never shrink as the zoom grows. */
static void run_models(int projector, int lang) {
    float zooms[32];
    int nz = zoom_ladder(zooms);
    for (size_t mi = 0; mi < sizeof models / sizeof *models; mi++)
        for (int si = 0; si < N_SIZES; si++) {
            int w = sizes[si][0], h = sizes[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_app a;
            open_app(&surf, &r, &a, &models[mi], w, h);
            a.projector = projector;
            a.lang = lang;
            int steps[3] = {0, middle_step(&a, 3), a.sched.n - 1};
            double prev = 0;
            float prev_z = 0;
            for (int zi = 0; zi < nz; zi++) {
                a.zoom = zooms[zi];
                for (int k = 0; k < 3; k++) {
                    vz_app_goto(&a, steps[k]);
                    vz_app_frame(&a, w, h);
                    char what[256];
                    snprintf(what, sizeof what, "%s %dx%d %s %s zoom %.2f step %d (arrangement %d)", models[mi].file, w, h,
                             projector ? "projector" : "normal", lang ? "zh" : "en", (double)zooms[zi], steps[k], a.ctx.lay.arr);
                    check_frame(&a.ctx, what);
                    /* no text cut at zoom 1, and the tabs' names and the top bar whole at every zoom (at 1024x768 in
                     * projector mode, zoomed in, they read "Archite…", "Next to…", "step 424/745: decoder · token 3 ·
                     * layer 0 mask…") */
                    char cmsg[512];
                    int cuts = cut_texts(&a.ctx, what, cmsg, sizeof cmsg), tabs = 0;
                    for (int i = 0; i < a.ctx.n_texts; i++)
                        tabs += a.ctx.texts[i].cut && (a.ctx.texts[i].owner == VZ_OWNER_STRIP || a.ctx.texts[i].owner == VZ_P_TOP);
                    int model = 0; /* at 1920x1080 the top bar names the model before the step (only a narrower bar drops it) */
                    for (int i = 0; i < a.ctx.n_texts; i++) model |= a.ctx.texts[i].owner == VZ_P_TOP && !strncmp(a.ctx.texts[i].s, "stepformer", 10);
                    if (!projector && w >= 1920 && fabsf(zooms[zi] - 1.0f) < 1e-3f && !model) fail_msg("%s: the top bar does not name the model", what);
                    if (fabsf(zooms[zi] - 1.0f) < 1e-3f ? cuts : tabs) {
                        if (!keep_going()) fail_msg("%s: %d texts are cut, the first: %s", what, fabsf(zooms[zi] - 1.0f) < 1e-3f ? cuts : tabs, cmsg);
                        print_message("%s: %d texts are cut, the first: %s\n", what, fabsf(zooms[zi] - 1.0f) < 1e-3f ? cuts : tabs, cmsg);
                        failures++;
                    }
                    if (k == 2) { /* everything computed: the spotlight's heatmaps grow with the zoom */
                        double cell = spot_cell(&a.ctx);
                        if (cell + 1e-9 < prev) {
                            if (!keep_going())
                                fail_msg("%s: the spotlight's cells shrink from %.1f px at zoom %.2f to %.1f px", what, prev,
                                         (double)prev_z, cell);
                            print_message("%s: the spotlight's cells shrink from %.1f px at zoom %.2f to %.1f px\n", what, prev,
                                          (double)prev_z, cell);
                            failures++;
                        }
                        prev = cell;
                        prev_z = zooms[zi];
                    }
                }
            }
            vz_app_free(&a);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
}

static void test_models_normal(void **state) { (void)state; failures = 0; run_models(0, VZ_LANG_EN); assert_int_equal(failures, 0); }
static void test_models_projector(void **state) { (void)state; failures = 0; run_models(1, VZ_LANG_EN); assert_int_equal(failures, 0); }
static void test_models_chinese(void **state) {
    (void)state;
    failures = 0;
    run_models(1, VZ_LANG_ZH);
    run_models(0, VZ_LANG_ZH);
    assert_int_equal(failures, 0);
}

/* Lessons 1, 6 and 7, every frame, in both modes and languages at zoom 1 (and 1024x768 at every zoom step):
 * clean frames, the whole narration at zoom 1, and in projector mode the lesson's @focus as the spotlight. */
static void test_lessons(void **state) {
    (void)state;
    failures = 0;
    static const char *const files[] = {"01-what-is-a-transformer.md", "06-encoder-vs-decoder.md", "07-cross-attention.md"};
    float zooms[32];
    int nz = zoom_ladder(zooms);
    for (int si = 0; si < N_SIZES; si++)
        for (int mode = 0; mode < 2; mode++)
            for (int lang = 0; lang < 2; lang++) {
                int w = sizes[si][0], h = sizes[si][1];
                SDL_Surface *surf;
                SDL_Renderer *r;
                static vz_player p;
                open_player(&surf, &r, &p, w, h, lang, mode);
                for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
                    char path[1024];
                    snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, files[fi]);
                    sf_err e = vz_player_open(&p, path);
                    if (!e.ok) fail_msg("%s", e.msg);
                    for (int k = 0; k < p.lesson.n_frames; k++) {
                        vz_player_goto(&p, k);
                        int nzk = si == 0 ? nz : 1;
                        if (nzk > 1) { /* zoom 1 first: the whole narration is shown */
                            p.app.zoom = 1.0f;
                            vz_player_frame(&p, w, h);
                            if (!vz_narr_fits(&p.app.ctx, &p.app.v)) {
                                if (!keep_going()) fail_msg("%s frame %d %dx%d: the narration does not fit its pane", files[fi], k + 1, w, h);
                                print_message("%s frame %d %dx%d %s %s: the narration does not fit its pane\n", files[fi], k + 1, w,
                                              h, mode ? "projector" : "normal", lang ? "zh" : "en");
                                failures++;
                            }
                        }
                        for (int zi = 0; zi < nzk; zi++) {
                            p.app.zoom = nzk > 1 ? zooms[zi] : 1.0f;
                            vz_player_frame(&p, w, h);
                            char what[256];
                            snprintf(what, sizeof what, "%s frame %d %dx%d %s %s zoom %.2f (arrangement %d)", files[fi], k + 1, w,
                                     h, mode ? "projector" : "normal", lang ? "zh" : "en", (double)p.app.zoom, p.app.ctx.lay.arr);
                            check_frame(&p.app.ctx, what);
                            /* at every zoom the top bar says where the cursor is whole, in shorter words if need be
                             * (1024x768 zoomed in it read "step 424/745: decoder · token 3 · layer 0 mask…") */
                            for (int i = 0; i < p.app.ctx.n_texts; i++)
                                if (p.app.ctx.texts[i].cut && p.app.ctx.texts[i].owner == VZ_P_TOP) {
                                    if (!keep_going()) fail_msg("%s: the top bar is cut: '%s'", what, p.app.ctx.texts[i].s);
                                    print_message("%s: the top bar is cut: '%s'\n", what, p.app.ctx.texts[i].s);
                                    failures++;
                                }
                            /* in projector mode the lesson's @focus is the spotlight */
                            int want = vz_player_panel_of(p.lesson.frames[k].panel);
                            if (mode && p.app.ctx.lay.spot != (want >= 0 ? want : VZ_P_ATTN))
                                fail_msg("%s: the spotlight is %s, the lesson focuses %s", what, vz_panel_name(p.app.ctx.lay.spot),
                                         vz_panel_name(want));
                            /* at zoom 1 the whole narration is shown: nothing cut off */
                            if (zi == 0 && nzk == 1 && !vz_narr_fits(&p.app.ctx, &p.app.v)) {
                                if (!keep_going()) fail_msg("%s: the narration does not fit its pane", what);
                                print_message("%s: the narration does not fit its pane\n", what);
                                failures++;
                            }
                        }
                    }
                }
                vz_player_free(&p);
                SDL_DestroyRenderer(r);
                SDL_FreeSurface(surf);
            }
    assert_int_equal(failures, 0);
}

/* Lesson 14 step 8's four heads (keys a-h, the input abcdefgh): each head's key labels are every key or keys at a
 * regular stride from the first, at 1920x1080 and 1024x768 in normal mode and at 1024x768 in projector mode, both
 * languages (round 10 read "a c efg" at 1024x768 projector: the narrow f fitted where b, d and h did not). */
static void test_grid_key_stride(void **state) {
    (void)state;
    static const int cs[][3] = {{1920, 1080, 0}, {1024, 768, 0}, {1024, 768, 1}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            int w = cs[si][0], h = cs[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_player p;
            open_player(&surf, &r, &p, w, h, lang, cs[si][2]);
            char path[1024];
            snprintf(path, sizeof path, "%s/lessons/14-watch-it-learn.md", SF_SOURCE_DIR);
            sf_err e = vz_player_open(&p, path);
            if (!e.ok) fail_msg("%s", e.msg);
            vz_player_goto(&p, p.lesson.n_frames - 1);
            vz_player_frame(&p, w, h);
            const vz_ctx *c = &p.app.ctx;
            /* the key labels: one-letter texts of the attention panel, in rows of the same y, left to right */
            int heads = 0;
            for (int i = 0; i < c->n_texts; i++) {
                const vz_textbox *t = &c->texts[i];
                if (t->owner != VZ_P_ATTN || t->s[1] || t->s[0] < 'a' || t->s[0] > 'h') continue;
                int row_n = 0, first = 1;
                int xs[64], ks[64];
                for (int j = 0; j < c->n_texts && row_n < 64; j++) {
                    const vz_textbox *u = &c->texts[j];
                    if (u->owner != VZ_P_ATTN || u->s[1] || u->s[0] < 'a' || u->s[0] > 'h' || u->r.y != t->r.y) continue;
                    if (j < i) first = 0;
                    xs[row_n] = u->r.x;
                    ks[row_n++] = u->s[0] - 'a';
                }
                int distinct = 0;
                for (int q = 1; q < row_n; q++) distinct |= ks[q] != ks[0];
                if (!first || row_n < 3 || !distinct) continue; /* (each row once; the heads' query labels of one row,
                                                                  * side by side, are one letter) */
                for (int a = 1; a < row_n; a++) /* left to right */
                    for (int b = a; b > 0 && xs[b - 1] > xs[b]; b--) {
                        int tx = xs[b], tk = ks[b];
                        xs[b] = xs[b - 1]; ks[b] = ks[b - 1]; xs[b - 1] = tx; ks[b - 1] = tk;
                    }
                for (int a = 0; a < row_n;) { /* one head's labels: while the keys grow */
                    int b = a + 1;
                    while (b < row_n && ks[b] > ks[b - 1]) b++;
                    int stride = b - a > 1 ? ks[a + 1] - ks[a] : 8, ok = ks[a] == 0 && 7 - ks[b - 1] < stride;
                    for (int q = a + 1; q < b; q++) ok &= ks[q] - ks[q - 1] == stride;
                    if (!ok) {
                        char got[64] = "";
                        for (int q = a; q < b; q++) { size_t n = strlen(got); snprintf(got + n, sizeof got - n, "%c", 'a' + ks[q]); }
                        char all[160] = "";
                        for (int q = 0; q < row_n; q++) { size_t n = strlen(all); snprintf(all + n, sizeof all - n, "%c@%d ", 'a' + ks[q], xs[q]); }
                        fail_msg("lesson 14 step 8 %dx%d %s %s: a head's keys are labelled '%s' (not every key, nor a regular "
                                 "stride from a; the labels at y %d: %s)", w, h, cs[si][2] ? "projector" : "normal", lang ? "zh" : "en", got, t->r.y, all);
                    }
                    heads++;
                    a = b;
                }
            }
            if (heads < 1) fail_msg("lesson 14 step 8 %dx%d: no head's key labels found", w, h);
            vz_player_free(&p);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
}

/* The Scores spotlight beside or above a narration of every length, at 1024x768 in projector mode (with a
 * snapshot series' timeline, which takes a second row of the top bar, and without), both languages: clean frames
 * (round 10: one sentence more than lesson 14 step 8 put the narration under thin strips whose range legends
 * overlapped, "scores (940,332 62x25, 17 px) and scores (940,353 39x20, 17 px)"), no text of the panel cut, and the
 * strips using the panel's height (round 10: beside a short narration they left its lower half empty). */
static void test_scores_any_narration(void **state) {
    (void)state;
    failures = 0;
    static const char *const models[] = {"reverse.sfm", "reverse.snap"};
    for (int lang = 0; lang < 2; lang++) {
        SDL_Surface *surf;
        SDL_Renderer *r;
        static vz_player p;
        open_player(&surf, &r, &p, 1024, 768, lang, 1);
        for (int mi = 0; mi < 2; mi++)
            for (int n = 0; n <= 16; n++) {
                char path[256];
                snprintf(path, sizeof path, "/tmp/sf_layout_scores_%d.md", (int)getpid());
                FILE *f = fopen(path, "w");
                assert_non_null(f);
                fprintf(f, "# Scores\n# [zh] 分数\n\n@model %s/assets/models/%s\n@input abcdefgh\n\n## Scores\n## [zh] 分数\n"
                           "@goto dec token 8 L1 cross softmax\n@focus scores dec L1 H0\n\nThe scores.", SF_SOURCE_DIR, models[mi]);
                for (int i = 0; i < n; i++) fprintf(f, " Sentence %d says a little more about the scores of this row.", i + 1);
                fprintf(f, "\n[zh]\n分数。");
                for (int i = 0; i < n; i++) fprintf(f, "第 %d 句话再多讲一点这一行的分数。", i + 1);
                fprintf(f, "\n");
                fclose(f);
                sf_err e = vz_player_open(&p, path);
                remove(path);
                if (!e.ok) fail_msg("%s", e.msg);
                vz_player_goto(&p, 0);
                vz_player_frame(&p, 1024, 768);
                char what[256];
                snprintf(what, sizeof what, "%s, a narration of %d sentences more, 1024x768 projector %s (arrangement %d)",
                         models[mi], n, lang ? "zh" : "en", p.app.ctx.lay.arr);
                const vz_ctx *c = &p.app.ctx;
                if (c->lay.spot != VZ_P_SCORES) fail_msg("%s: the spotlight is %s", what, vz_panel_name(c->lay.spot));
                check_frame(c, what);
                /* every value is printed in its cell or named under the strips: none left out where the lines
                 * reach the panel's edge (round 11: the Chinese eight-sentence case named q·k's eight values and three
                 * of the scaled scores', none of the weights') */
                char um[512];
                int un = unprinted_cells(c, um, sizeof um);
                if (un) {
                    if (!keep_going()) fail_msg("%s: %d values are neither printed nor named, the first: %s", what, un, um);
                    print_message("%s: %d values are neither printed nor named, the first: %s\n", what, un, um);
                    failures++;
                }
                for (int i = 0; i < c->n_texts; i++)
                    if (c->texts[i].cut && c->texts[i].owner == VZ_P_SCORES) {
                        if (!keep_going()) fail_msg("%s: the scores panel cuts '%s'", what, c->texts[i].s);
                        print_message("%s: the scores panel cuts '%s'\n", what, c->texts[i].s);
                        failures++;
                    }
                /* the strips (and the lines under them) reach the panel's lower part: nothing drawn in the lowest
                 * third of the panel would leave it empty */
                vz_rect pr = c->lay.r[VZ_P_SCORES];
                int low = 0;
                for (int i = 0; i < c->n_texts; i++)
                    if (c->texts[i].owner == VZ_P_SCORES && c->texts[i].r.y + c->texts[i].r.h > pr.y + pr.h * 2 / 3) low = 1;
                if (!low) {
                    if (!keep_going()) fail_msg("%s: the scores panel (%d px tall) draws nothing in its lower third", what, pr.h);
                    print_message("%s: the scores panel (%d px tall) draws nothing in its lower third\n", what, pr.h);
                    failures++;
                }
            }
        vz_player_free(&p);
        SDL_DestroyRenderer(r);
        SDL_FreeSurface(surf);
    }
    assert_int_equal(failures, 0);
}

/* Every shipped lesson, every frame, at 1920x1080, 1280x720 and 1024x768 (both languages) in normal mode and at
 * 1024x768 in projector mode
 * (the lesson's spotlight, then the scores panel as the spotlight, whose cells must all print their numbers:
 * unprinted_cells), every framed row and column of the attention heatmaps labelled (unlabelled_frames), a
 * comparison's heads in cells of 9 px at least (attn_min_cell): clean frames (frame_problems: no frame around
 * cells over a label, the pink frame of lesson 14 step 1 / lesson 15 step 3 covered the row's label at 1024x768)
 * with true numbers in the narrow cells (number_problems: lesson 13 step 4's 28-key row printed 0.96 as "1"), no head
 * title cut (cut_head_titles); and in Chinese at 1024x768 in projector mode, each frame as the lesson plays it. */
static void test_every_lesson(void **state) {
    (void)state;
    failures = 0;
    static const int cs[][4] = {{1920, 1080, 0, VZ_LANG_EN}, {1920, 1080, 0, VZ_LANG_ZH}, {1280, 720, 0, VZ_LANG_EN},
                                {1024, 768, 1, VZ_LANG_EN}, {1024, 768, 1, VZ_LANG_ZH}, {1024, 768, 0, VZ_LANG_EN},
                                {1024, 768, 0, VZ_LANG_ZH}}; /* (1024x768 normal in Chinese: what l switches to there) */
                                /* (width, height, projector, language) */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    static vz_index_entry lessons[VZ_INDEX_MAX];
    int nl = vz_lessons_list(dir, lessons, VZ_INDEX_MAX), frames = 0;
    assert_true(nl >= 15);
    sf_err e;
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++) {
        int w = cs[si][0], h = cs[si][1];
        SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
        SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
        static vz_player p;
        assert_true(vz_player_init(&p, r, &fonts, cs[si][3]).ok);
        p.projector = cs[si][2];
        for (int li = 0; li < nl; li++) {
            e = vz_player_open(&p, lessons[li].path);
            if (!e.ok) fail_msg("%s", e.msg);
            for (int k = 0; k < p.lesson.n_frames; k++)
                for (int spot = 0; spot < 1 + p.projector; spot++) { /* (and with the Scores tab clicked) */
                    vz_player_goto(&p, k);
                    if (spot) p.app.spotlight = VZ_P_SCORES;
                    vz_player_frame(&p, w, h);
                    char what[1200];
                    snprintf(what, sizeof what, "%.1000s frame %d %dx%d %s %s%s", lessons[li].path, k + 1, w, h, p.projector ? "projector" : "normal",
                             cs[si][3] == VZ_LANG_ZH ? "zh" : "en", spot ? " (scores spotlight)" : "");
                    check_frame(&p.app.ctx, what);
                    char msg[512];
                    int un = p.projector && p.app.ctx.lay.spot == VZ_P_SCORES ? unprinted_cells(&p.app.ctx, msg, sizeof msg) : 0;
                    if (getenv("LAYOUT_SCORES") && p.projector && p.app.ctx.lay.spot == VZ_P_SCORES) { /* the figures: the
                        smallest number in a strip's cell, its cells' width, and how many cells are named under the strips */
                        int least = 0, cell = 0, named = 0;
                        for (int i = 0; i < p.app.ctx.n_texts; i++) {
                            const vz_textbox *x = &p.app.ctx.texts[i];
                            if (x->owner != VZ_P_SCORES) continue;
                            named += strstr(x->s, " = ") != NULL;
                            if (!is_number(x->s)) continue;
                            for (int k2 = 0; k2 < p.app.ctx.n_hits; k2++) {
                                const vz_hit *hh = &p.app.ctx.hits[k2];
                                if (hh->owner != VZ_P_SCORES || hh->h.nrows != 1 || !vz_rect_has(hh->clip, x->r.x + x->r.w / 2, x->r.y + x->r.h / 2)) continue;
                                if (!least || x->px < least) least = x->px, cell = hh->r.w / (hh->h.ncols > 0 ? hh->h.ncols : 1);
                            }
                        }
                        print_message("SCORES %s: smallest number %d px (minimum %d) in %d px cells, %d named under the strips\n", what, least,
                                      p.app.ctx.lay.min_text, cell, named);
                    }
                    if (un) {
                        if (!keep_going()) fail_msg("%s: %d cells of the scores spotlight print no number, the first: %s", what, un, msg);
                        print_message("%s: %d cells of the scores spotlight print no number, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    /* a comparison's heads, every head of both runs, on a projector: cells of 9 px at least, room for
                     * the white dots (a sixth of a cell, 3 px at the least) that say which weights changed; lesson 6
                     * step 6 drew them at 5 px, labels repeated at every head */
                    double mc = p.projector && !spot && p.app.v.cmp && p.app.ctx.lay.spot == VZ_P_ATTN ? attn_min_cell(&p.app.ctx) : 0;
                    if (mc > 0 && mc < 9) {
                        if (!keep_going()) fail_msg("%s: the compared heads' cells are %.1f px", what, mc);
                        print_message("%s: the compared heads' cells are %.1f px\n", what, mc);
                        failures++;
                    }
                    /* the cell the zoom pass reckons with (vz_attn_cell) is the cell drawn: v7's line under a grid
                     * of heads made the grid smaller while vz_attn_cell still counted the room the line took */
                    if (!p.app.v.cmp && vz_layout_shown(&p.app.ctx.lay, VZ_P_ATTN) && attn_min_cell(&p.app.ctx) > 0) {
                        int drawn = (int)attn_min_cell(&p.app.ctx);
                        int est = vz_attn_cell(&p.app.ctx, &p.app.v, p.app.ctx.lay.r[VZ_P_ATTN], p.app.ctx.lay.one_head);
                        if (est != drawn) {
                            if (!keep_going()) fail_msg("%s: the attention cells are %d px, vz_attn_cell says %d", what, drawn, est);
                            print_message("%s: the attention cells are %d px, vz_attn_cell says %d\n", what, drawn, est);
                            failures++;
                        }
                    }
                    int printed, captioned;
                    if ((un = framed_cells(&p.app.ctx, &printed, &captioned, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d framed cells break the rule, the first: %s", what, un, msg);
                        print_message("%s: %d framed cells break the rule, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    int act_lines; /* (at 1280x720 a panel of four rows moves the lines after the entries' titles; at
                                    * 1024x768 in normal mode lesson 8 step 5's lines have no room: not checked there) */
                    if ((w > 1024 || p.projector) && (un = act_framed_cells(&p.app.ctx, &p.app.v, &act_lines, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d framed activation cells show no number, the first: %s", what, un, msg);
                        print_message("%s: %d framed activation cells show no number, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    if ((un = cut_run_labels(&p.app.ctx, &p.app.v, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d compared runs' labels are cut, the first: %s", what, un, msg);
                        print_message("%s: %d compared runs' labels are cut, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    if ((un = cut_head_titles(&p.app.ctx, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d head titles are cut, the first: %s", what, un, msg);
                        print_message("%s: %d head titles are cut, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    int model = 0; /* at 1920x1080 the top bar names the model before the step: v10's first cut of a
                                    * narrow bar dropped it there too (lesson 15 step 2, "step 706/1103: …") */
                    for (int i = 0; i < p.app.ctx.n_texts; i++) model |= p.app.ctx.texts[i].owner == VZ_P_TOP && !strncmp(p.app.ctx.texts[i].s, "stepformer", 10);
                    if (!p.projector && w >= 1920 && !p.app.v.ablated && !model) {
                        if (!keep_going()) fail_msg("%s: the top bar does not name the model", what);
                        print_message("%s: the top bar does not name the model\n", what);
                        failures++;
                    }
                    if ((un = quote_breaks(&p.app.ctx, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d narration lines break at a quote, the first: %s", what, un, msg);
                        print_message("%s: %d narration lines break at a quote, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    if ((un = cut_texts(&p.app.ctx, what, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d texts are cut, the first: %s", what, un, msg);
                        print_message("%s: %d texts are cut, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    if ((un = unlabelled_frames(&p.app.ctx, &p.app.v, msg, sizeof msg))) {
                        if (!keep_going()) fail_msg("%s: %d framed rows or columns have no label, the first: %s", what, un, msg);
                        print_message("%s: %d framed rows or columns have no label, the first: %s\n", what, un, msg);
                        failures++;
                    }
                    frames++;
                }
        }
        vz_player_free(&p);
        SDL_DestroyRenderer(r);
        SDL_FreeSurface(surf);
    }
    assert_true(frames > 100);
    assert_int_equal(failures, 0);
}

/* The framed cells of lesson 14 step 3 (q=0 k=7, 0.95; q=1 k=6, 0.09) print their weights at 1024x768 in projector
 * and normal mode and at 1920x1080; at 640x480 their cells are too small and print none (framed_cells). */
static void test_framed_values(void **state) {
    (void)state;
    static const int cs[][4] = {{1024, 768, 1, 2}, {1024, 768, 0, 2}, {1920, 1080, 0, 2}, {1920, 1080, 1, 2}, {640, 480, 0, 0}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            int w = cs[si][0], h = cs[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_player p;
            open_player(&surf, &r, &p, w, h, lang, cs[si][2]);
            char path[1024], msg[512] = "";
            snprintf(path, sizeof path, "%s/lessons/14-watch-it-learn.md", SF_SOURCE_DIR);
            sf_err e = vz_player_open(&p, path);
            if (!e.ok) fail_msg("%s", e.msg);
            vz_player_goto(&p, 2);
            vz_player_frame(&p, w, h);
            int printed, captioned, bad = framed_cells(&p.app.ctx, &printed, &captioned, msg, sizeof msg);
            if (bad || printed != cs[si][3])
                fail_msg("lesson 14 step 3 %dx%d %s %s: %d framed cells print their weight (want %d); %d problems: %s", w, h,
                         p.projector ? "projector" : "normal", lang ? "zh" : "en", printed, cs[si][3], bad, msg);
            check_frame(&p.app.ctx, "lesson 14 step 3");
            vz_player_free(&p);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
}

/* The frame a test looks at: lesson file (in lessons/) drawn at frame index k, w x h, lang, projector or not. */
typedef struct { SDL_Surface *surf; SDL_Renderer *r; vz_player *p; } drawn_frame;

/* Opens a player on lesson, goes to frame k and draws it; the frame is in *d until drop_frame. */
static void draw_lesson_frame(drawn_frame *d, vz_player *p, const char *lesson, int k, int w, int h, int lang, int projector) {
    open_player(&d->surf, &d->r, p, w, h, lang, projector);
    d->p = p;
    char path[1024];
    snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, lesson);
    sf_err e = vz_player_open(p, path);
    if (!e.ok) fail_msg("%s", e.msg);
    vz_player_goto(p, k);
    vz_player_frame(p, w, h);
}

/* Frees what draw_lesson_frame made. */
static void drop_frame(drawn_frame *d) {
    vz_player_free(d->p);
    SDL_DestroyRenderer(d->r);
    SDL_FreeSurface(d->surf);
}

/* Returns whether a text owned by panel `owner` reads exactly s in the frame c drew. */
static int drawn_text(const vz_ctx *c, int owner, const char *s) {
    for (int t = 0; t < c->n_texts; t++)
        if (c->texts[t].owner == owner && !strcmp(c->texts[t].s, s)) return 1;
    return 0;
}

/* Returns 1 if number text s is written with its leading zero ("0.31"), 0 without (".09"), -1 if either way would
 * read alike ("1.00", "12"). */
static int leading_zero(const char *s) {
    if (*s == '-') s++;
    return s[0] == '.' ? 0 : s[0] == '0' && s[1] == '.' ? 1 : -1;
}

/* The logit lens prints its numbers in one form per panel, and a cell's top token whole. Lesson 13 step 2 at
 * 1024x768 in projector mode printed "h 0.31" beside "z .09" in one row (each cell picked the form its own lines
 * fit), and its <unk> at position 11 after layer 0 as "<un…". Every number the lens draws (the top probabilities,
 * the runners-up's "g 0.20") must agree on the leading zero, no text of the panel may be cut, and every visible
 * cell's top token must be drawn as a text of its own (test_lens_runners_up draws the frames). */
static void check_lens_forms(const vz_player *p, int w, int h, int lang) {
    const vz_ctx *c = &p->app.ctx;
    const char *first = NULL;
    int form = -1;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        if (t->owner != VZ_P_LENS) continue;
        if (t->cut) fail_msg("lesson 13 step 2 %dx%d %s: the lens draws '%s', cut", w, h, lang ? "zh" : "en", t->s);
        const char *num = strrchr(t->s, ' ') ? strrchr(t->s, ' ') + 1 : t->s; /* a runner-up's number, or the text */
        if (!is_number(num) || !strchr(num, '.')) continue;
        int z = leading_zero(num);
        if (z < 0) continue;
        if (form >= 0 && z != form)
            fail_msg("lesson 13 step 2 %dx%d %s: the lens prints '%s' and '%s' in one panel", w, h, lang ? "zh" : "en", first, t->s);
        form = z, first = t->s;
    }
    assert_true(form >= 0); /* some number was printed in a form that tells */
    int nl = p->app.v.m->cfg.n_dec_layers;
    for (int l = 0; l < nl; l++) {
        const sf_trace_entry *e = vz_entry(&p->app.v, "dec.L%d.lens.probs", l);
        assert_non_null(e);
        int dims[2];
        sf_trace_shape(p->app.v.tr, e, dims);
        for (int t = 0; t < dims[0]; t++) {
            char tok[16], pos[16];
            snprintf(pos, sizeof pos, "%d", t); /* its column is drawn: its header names the position */
            sf_tokenizer_piece(&p->app.v.m->tok, sf_argmax(sf_trace_row(e, t), dims[1]), tok);
            if (!strcmp(tok, " ")) strcpy(tok, "\xe2\x90\xa3"); /* a space is drawn as the space sign */
            if (vz_lens_cell_visible(&p->app.v, l, t) && drawn_text(c, VZ_P_LENS, pos) && !drawn_text(c, VZ_P_LENS, tok))
                fail_msg("lesson 13 step 2 %dx%d %s: position %d's top token after L%d, '%s', is not drawn whole", w, h, lang ? "zh" : "en", t, l, tok);
        }
    }
}

/* Lesson 13 step 2 quotes the logit lens's second and third tokens at position 15 after layer 0 (g 0.20, w 0.17):
 * the lens cell lists them under its top token, "g 0.20" or "g .20", the trace's numbers in the trace's order (the
 * panel printed only each cell's top token, and the lesson could quote no runner-up), at 1024x768 in projector mode
 * in both languages and at 1920x1080. */
static void test_lens_runners_up(void **state) {
    (void)state;
    static const int cs[][3] = {{1024, 768, 1}, {1920, 1080, 0}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, "13-induction-heads.md", 2, cs[si][0], cs[si][1], lang, cs[si][2]);
            const sf_trace_entry *e = sf_trace_find(p.app.v.tr, "dec.L0.lens.probs");
            assert_non_null(e);
            int dims[2];
            sf_trace_shape(p.app.v.tr, e, dims);
            const float *pr = sf_trace_row(e, 15);
            int order[3] = {-1, -1, -1};
            for (int r = 0; r < 3; r++) /* the three largest, in order */
                for (int i = 0; i < dims[1]; i++) {
                    int seen = 0;
                    for (int u = 0; u < r; u++) seen |= order[u] == i;
                    if (!seen && (order[r] < 0 || pr[i] > pr[order[r]])) order[r] = i;
                }
            for (int r = 1; r < 3; r++) {
                char tok[16], a[48], b[48], n2[16], n1[16];
                sf_tokenizer_piece(&p.app.v.m->tok, order[r], tok);
                snprintf(a, sizeof a, "%s %s", tok, vz_fmt_cell(n2, sizeof n2, pr[order[r]], VZ_CELL_2));
                snprintf(b, sizeof b, "%s %s", tok, vz_fmt_cell(n1, sizeof n1, pr[order[r]], VZ_CELL_2_SHORT));
                if (!drawn_text(&p.app.ctx, VZ_P_LENS, a) && !drawn_text(&p.app.ctx, VZ_P_LENS, b)) fail_msg("lesson 13 step 2 %dx%d %s: the lens draws no '%s' (its %s token after L0)", cs[si][0], cs[si][1],
                                     lang ? "zh" : "en", a, r == 1 ? "second" : "third");
            }
            check_lens_forms(&p, cs[si][0], cs[si][1], lang);
            check_frame(&p.app.ctx, "lesson 13 step 2");
            drop_frame(&d);
        }
}

/* The logit lens as the spotlight uses its height: at 1024x768 in projector mode lesson 13 step 2 drew one band of
 * label-size cells, positions 9-15, over 250 px of an empty 605 px panel (the cells' height is capped). In both
 * languages there and at 1920x1080 projector: the room between the lowest cell's text and the legend is under a
 * quarter of the panel (Chinese, whose lines are taller, has one band of larger text: 129 px), and at least six
 * positions up to the cursor's (15) have their headers. */
static void test_lens_fills(void **state) {
    (void)state;
    static const int cs[][2] = {{1024, 768}, {1920, 1080}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, "13-induction-heads.md", 2, cs[si][0], cs[si][1], lang, 1);
            const vz_ctx *c = &p.app.ctx;
            vz_rect r = c->lay.r[VZ_P_LENS];
            assert_int_equal(c->lay.spot, VZ_P_LENS);
            int legend_top = r.y + r.h - c->lay.pad - vz_legend_h(c), low = r.y, first = -1;
            for (int i = 0; i < c->n_texts; i++) {
                const vz_textbox *t = &c->texts[i];
                if (t->owner != VZ_P_LENS || t->r.y + t->r.h > legend_top) continue;
                if (t->r.y + t->r.h > low) low = t->r.y + t->r.h;
            }
            for (int pos = 15; pos >= 0; pos--) { /* the headers: "15", "14", … down to the first one shown */
                char num[8];
                snprintf(num, sizeof num, "%d", pos);
                if (drawn_text(c, VZ_P_LENS, num)) first = pos;
                else break;
            }
            if (legend_top - low > r.h / 4)
                fail_msg("lesson 13 step 2 %dx%d %s: %d px empty under the lens's cells (the panel is %d px)", cs[si][0], cs[si][1],
                         lang ? "zh" : "en", legend_top - low, r.h);
            if (first < 0 || first > 10) fail_msg("lesson 13 step 2 %dx%d %s: the lens shows positions %d-15", cs[si][0], cs[si][1], lang ? "zh" : "en", first);
            check_lens_forms(&p, cs[si][0], cs[si][1], lang);
            check_frame(c, "lesson 13 step 2 (lens)");
            drop_frame(&d);
        }
}

/* At 1024x768 in projector mode the attention panel beside a lesson's narration is some 470 px wide: lesson 6 step 8
 * titled it "Cross-attention (decoder queries, encode…", the layer cut off, and its note read "rows = queries,
 * colu…". Every frame of lessons 6 and 7 there, in both languages: no text of the attention panel is cut, the
 * title names its layer, and the note says what rows and columns are. */
static void test_attn_title_whole(void **state) {
    (void)state;
    static const char *const lessons[] = {"06-encoder-vs-decoder.md", "07-cross-attention.md"};
    for (int li = 0; li < 2; li++)
        for (int lang = 0; lang < 2; lang++)
            for (int k = 0;; k++) {
                static vz_player p;
                drawn_frame d;
                draw_lesson_frame(&d, &p, lessons[li], k, 1024, 768, lang, 1);
                const vz_ctx *c = &p.app.ctx;
                int n_frames = p.lesson.n_frames, attn = c->lay.r[VZ_P_ATTN].w > 0, layer = 0, note = 0;
                for (int i = 0; i < c->n_texts; i++) {
                    const vz_textbox *t = &c->texts[i];
                    if (t->owner != VZ_P_ATTN) continue;
                    if (t->cut) fail_msg("%s frame %d %s: the attention panel draws '%s', cut", lessons[li], k + 1, lang ? "zh" : "en", t->s);
                    layer |= t->r.y < c->lay.r[VZ_P_ATTN].y + c->lay.f.title * 2 && /* (the log keeps 63 bytes of a text) */
                             (strstr(t->s, "layer ") || strstr(t->s, " \xe5\xb1\x82") || strlen(t->s) + 1 >= sizeof t->s);
                    note |= !strcmp(t->s, vz_s(c, VZ_S_ATTN_NOTE)) || !strcmp(t->s, vz_s(c, VZ_S_ATTN_NOTE_MASK));
                }
                if (attn && !layer) fail_msg("%s frame %d %s: the attention panel's title names no layer", lessons[li], k + 1, lang ? "zh" : "en");
                if (attn && !note) fail_msg("%s frame %d %s: the attention panel's note is not drawn whole", lessons[li], k + 1, lang ? "zh" : "en");
                drop_frame(&d);
                if (k + 1 >= n_frames) break;
            }
}

/* With heads knocked out the top bar says so before where the cursor is: lesson 12 step 7 at 1024x768 in projector
 * mode, four heads off, read "ablated (zero): dec.L1.cross.H0 dec.L1.cross.H1 dec.L1.cross.H2 dec.L1.cross.H3
 * step 305/690: dec…". Every frame of lesson 12 there, in both languages: the top bar's line is never cut. */
static void test_top_bar_ablated(void **state) {
    (void)state;
    for (int lang = 0; lang < 2; lang++)
        for (int k = 0;; k++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, "12-knock-out-a-head.md", k, 1024, 768, lang, 1);
            const vz_ctx *c = &p.app.ctx;
            int n_frames = p.lesson.n_frames;
            for (int i = 0; i < c->n_texts; i++)
                if (c->texts[i].owner == VZ_P_TOP && c->texts[i].cut)
                    fail_msg("lesson 12 frame %d %s: the top bar reads '%s', cut", k + 1, lang ? "zh" : "en", c->texts[i].s);
            drop_frame(&d);
            if (k + 1 >= n_frames) break;
        }
}

/* Lesson 4 step 7 says the head's output is the sum of the value rows, each multiplied by its weight, and quotes
 * three weights: the activations panel prints each value row's weight in the query's softmax at the row's right,
 * "×0.32", the trace's numbers (they were only in the Scores tab), where the rows are a line of text tall: at
 * 1024x768 in projector mode in both languages and at 1920x1080 in English. */
static void test_value_weights(void **state) {
    (void)state;
    static const int cs[][3] = {{1024, 768, 1}, {1920, 1080, 0}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            if (!cs[si][2] && lang) continue; /* (1920x1080 in Chinese: rows thinner than a line of its text, no weights) */
            draw_lesson_frame(&d, &p, "04-self-attention.md", 7, cs[si][0], cs[si][1], lang, cs[si][2]);
            const sf_trace_entry *e = sf_trace_find(p.app.v.tr, "enc.L0.self.H0.probs");
            assert_non_null(e);
            int dims[2], q = p.app.v.cur.token;
            sf_trace_shape(p.app.v.tr, e, dims);
            assert_true(q >= 0 && q < dims[0]);
            for (int k = 0; k < dims[1]; k++) {
                char want[32], num[24];
                snprintf(want, sizeof want, "\xc3\x97%s", vz_fmt_cell(num, sizeof num, sf_trace_row(e, q)[k], VZ_CELL_2));
                if (!drawn_text(&p.app.ctx, VZ_P_ACT, want)) fail_msg("lesson 4 step 7 %dx%d %s: value row %d has no '%s' beside it", cs[si][0], cs[si][1], lang ? "zh" : "en", k, want);
            }
            for (int i = 0; lang && i < p.app.ctx.n_texts; i++) /* the axis named in Chinese: "16 个头维度", not "head_dim" */
                if (p.app.ctx.texts[i].owner == VZ_P_ACT && strstr(p.app.ctx.texts[i].s, "head_dim"))
                    fail_msg("lesson 4 step 7 %dx%d zh: the activations panel reads '%s'", cs[si][0], cs[si][1], p.app.ctx.texts[i].s);
            check_frame(&p.app.ctx, "lesson 4 step 7");
            drop_frame(&d);
        }
}

/* Lesson 15 step 2 quotes q=0 k=12's 0.9967 as 1.00, and lesson 13 steps 4 and 5 quote 0.96 and 1.00: their framed
 * cells are too small for the number, which is printed under the heatmap instead ("framed: row 0, key 12 = 1.00"),
 * at 1024x768 in projector mode in both languages (framed_cells: one such line, the trace's value, none under a cell
 * that prints its own). */
static void test_framed_captions(void **state) {
    (void)state;
    static const struct { const char *lesson; int frame, w, h, projector; } cs[] = {
        {"15-translation-reorders.md", 1, 1024, 768, 1}, {"15-translation-reorders.md", 1, 1920, 1080, 0},
        {"13-induction-heads.md", 4, 1024, 768, 1},      {"13-induction-heads.md", 5, 1024, 768, 1}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, cs[si].lesson, cs[si].frame, cs[si].w, cs[si].h, lang, cs[si].projector);
            char msg[512] = "";
            int printed, captioned, bad = framed_cells(&p.app.ctx, &printed, &captioned, msg, sizeof msg);
            int want_in = cs[si].w == 1920; /* (1920x1080 normal: the attention panel as tall as the narration pane of
                * its text allows gives the cell room for its 1.00 since round 12; the number once, in it) */
            if (bad || captioned != !want_in || printed != want_in)
                fail_msg("%s frame %d %dx%d %s: %d framed cells printed under the heatmap (want %d), %d inside (want %d); "
                         "%d problems: %s", cs[si].lesson, cs[si].frame + 1, cs[si].w, cs[si].h, lang ? "zh" : "en", captioned,
                         !want_in, printed, want_in, bad, msg);
            check_frame(&p.app.ctx, cs[si].lesson);
            drop_frame(&d);
        }
}

/* Returns how many cells a lesson frames one by one in the attention panel's heatmaps have their piece of the line
 * under a grid of heads in the frame just drawn ("head 0 row 0 key 5 = 0.18" after "framed:", the trace's value
 * with two decimals), the panel's texts read in the order drawn, spaces aside (a wrapped line compares whole). */
static int grid_captions(vz_ctx *c) {
    static char all[16384], piece[160], flat[160];
    size_t len = 0;
    all[0] = 0;
    for (int t = 0; t < c->n_texts; t++)
        if (c->texts[t].owner == VZ_P_ATTN && len + 1 < sizeof all) {
            unspaced(c->texts[t].s, all + len, sizeof all - len);
            len += strlen(all + len);
        }
    unspaced(vz_s(c, VZ_S_FRAMED_GRID), flat, sizeof flat);
    const char *line = strstr(all, flat);
    if (!line) return 0;
    int n = 0;
    for (int k = 0; k < c->n_hits; k++) {
        const vz_hit *h = &c->hits[k];
        const char *hd = h->owner == VZ_P_ATTN && h->h.e ? strstr(h->h.e->name, ".H") : NULL;
        int head;
        if (!hd || sscanf(hd, ".H%d", &head) != 1) continue;
        for (int i = 0; i < c->n_hl; i++) {
            const vz_highlight *g = &c->hl[i];
            if (strcmp(g->name, h->h.e->name) || g->style || g->hi[0] != g->lo[0] || g->hi[1] != g->lo[1]) continue;
            char two[24];
            vz_fmt_cell(two, sizeof two, sf_trace_row(h->h.e, g->lo[0])[g->lo[1]], VZ_CELL_2);
            snprintf(piece, sizeof piece, vz_s(c, VZ_S_FRAMED_HEAD), head, g->lo[0], g->lo[1], two);
            unspaced(piece, flat, sizeof flat);
            n += strstr(line, flat) != NULL;
        }
    }
    return n;
}

/* Lesson 5 steps 1 and 4 and lesson 7 step 4 quote weights of framed cells in four heads side by side, cells too
 * small for them: one line under the grid of heads names each ("framed: head 0 row 0 key 5 = 0.18 · head 1 ..."),
 * at 1024x768 in projector mode and at 1920x1080, in both languages (grid_captions). */
static void test_grid_captions(void **state) {
    (void)state;
    static const struct { const char *lesson; int frame, w, h, projector, want; } cs[] = {
        {"05-multi-head-attention.md", 0, 1024, 768, 1, 4}, {"05-multi-head-attention.md", 3, 1024, 768, 1, 3},
        {"07-cross-attention.md", 4, 1024, 768, 1, 2},      {"05-multi-head-attention.md", 0, 1920, 1080, 0, 4}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, cs[si].lesson, cs[si].frame, cs[si].w, cs[si].h, lang, cs[si].projector);
            int got = grid_captions(&p.app.ctx);
            if (got != cs[si].want)
                fail_msg("%s frame %d %dx%d %s: %d framed cells named under the heads (want %d)", cs[si].lesson, cs[si].frame + 1,
                         cs[si].w, cs[si].h, lang ? "zh" : "en", got, cs[si].want);
            check_frame(&p.app.ctx, cs[si].lesson);
            drop_frame(&d);
        }
}

/* Returns how many of the cells a lesson frames one by one in entry name have their line under the positions
 * panel's matrices in the frame just drawn ("framed: position 3, dim 0 = 0.14", the trace's value with two
 * decimals, in each run's matrix), the panel's texts read in the order drawn, spaces aside. */
static char pe_text[16384]; /* (the positions panel's texts pe_captions read, spaces aside) */
static int pe_captions(vz_ctx *c, const sf_trace *tr, const char *name) {
    static char piece[160], flat[160];
    char *all = pe_text;
    size_t len = 0;
    all[0] = 0;
    for (int t = 0; t < c->n_texts; t++)
        if (c->texts[t].owner == VZ_P_PE && len + 1 < sizeof pe_text) {
            unspaced(c->texts[t].s, all + len, sizeof pe_text - len);
            len += strlen(all + len);
        }
    const sf_trace_entry *e = sf_trace_find(tr, name);
    int n = 0;
    for (int i = 0; e && i < c->n_hl; i++) {
        const vz_highlight *g = &c->hl[i];
        if (strcmp(g->name, name) || g->style || g->hi[0] != g->lo[0] || g->hi[1] != g->lo[1] || g->lo[1] < 0) continue;
        char two[24];
        vz_fmt_cell(two, sizeof two, sf_trace_row(e, g->lo[0])[g->lo[1]], VZ_CELL_2);
        snprintf(piece, sizeof piece, vz_s(c, VZ_S_PE_FRAMED), g->lo[0], g->lo[1], two);
        unspaced(piece, flat, sizeof flat);
        for (const char *at = strstr(all, flat); at; at = strstr(at + 1, flat)) n++;
    }
    return n;
}

/* Lesson 3 steps 1 and 2 quote dimension 0 at positions 3 and 4 (0.14, -0.76), and at position 3 in both runs: the
 * positions matrix's 3 px cells print them under the matrix, each run under its own, at 1024x768 in projector mode
 * and at 1920x1080, in both languages (pe_captions); step 2's right run is named by its input, zyxwvuts. */
static void test_pe_captions(void **state) {
    (void)state;
    static const struct { int frame, w, h, projector, want; } cs[] = {{0, 1024, 768, 1, 2}, {1, 1024, 768, 1, 2}, {0, 1920, 1080, 0, 2}};
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            static vz_player p;
            drawn_frame d;
            draw_lesson_frame(&d, &p, "03-positional-encoding.md", cs[si].frame, cs[si].w, cs[si].h, lang, cs[si].projector);
            int got = pe_captions(&p.app.ctx, p.app.v.tr, "enc.embed.pos");
            if (got != cs[si].want)
                fail_msg("lesson 3 frame %d %dx%d %s: %d framed positions cells named under the matrix (want %d)", cs[si].frame + 1,
                         cs[si].w, cs[si].h, lang ? "zh" : "en", got, cs[si].want);
            if (cs[si].frame == 1 && !strstr(pe_text, "zyxwvuts")) /* the compared run named above its matrix */
                fail_msg("lesson 3 step 2 %dx%d %s: the positions panel does not name the run on zyxwvuts", cs[si].w, cs[si].h,
                         lang ? "zh" : "en");
            check_frame(&p.app.ctx, "03-positional-encoding.md");
            drop_frame(&d);
        }
}

/* Lesson 8 step 1 adds channel 2 of three rows (1.99 + 0.16 = 2.15), step 5 another three (1.83 + 2.61 = 4.44),
 * lesson 2 step 4 compares channel 1 of two rows of a matrix (-0.34, -1.87), lesson 3 step 3 channel 1 of a's row in
 * two runs: each framed cell's number is printed under its row or after its title (act_framed_cells), at 1024x768 in
 * projector and normal mode and at 1920x1080, in both languages. */
static void test_act_framed(void **state) {
    (void)state;
    static const struct { const char *lesson; int frame, want; } cs[] = {
        {"08-residual-layernorm-ffn.md", 0, 3}, {"08-residual-layernorm-ffn.md", 3, 4}, {"08-residual-layernorm-ffn.md", 4, 3},
        {"02-tokens-and-embeddings.md", 3, 2}, {"03-positional-encoding.md", 2, 1}};
    static const int sizes[][3] = {{1024, 768, 1}, {1920, 1080, 0}, {1024, 768, 0}}; /* (1024x768 normal: lesson 8 step 5's
        second and third rows printed no number, their titles leaving no room for one) */
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (size_t zi = 0; zi < 3; zi++)
            for (int lang = 0; lang < 2; lang++) {
                static vz_player p;
                drawn_frame d;
                draw_lesson_frame(&d, &p, cs[si].lesson, cs[si].frame, sizes[zi][0], sizes[zi][1], lang, sizes[zi][2]);
                char msg[512] = "";
                int lines, bad = act_framed_cells(&p.app.ctx, &p.app.v, &lines, msg, sizeof msg);
                if (bad || lines != cs[si].want)
                    fail_msg("%s frame %d %dx%d %s: %d framed activation cells with their line (want %d); %d problems: %s",
                             cs[si].lesson, cs[si].frame + 1, sizes[zi][0], sizes[zi][1], lang ? "zh" : "en", lines, cs[si].want,
                             bad, msg);
                check_frame(&p.app.ctx, cs[si].lesson);
                drop_frame(&d);
            }
}

/* Returns 22% of height h, rounded: the narration pane's height before it followed its text. */
static int rnd_share(int h) { return (int)lrintf((float)h * 0.22f); }

/* Lesson 10's steps with @focus tokens (4, the prompt CABBAC=, and 6, the sorted output) in normal mode at the sizes
 * `lesson --check` plays (1920x1080, 1024x768), both languages, every zoom step at 1024x768: the tokens strip stays a
 * strip under the top bar and the attention panel is shown; the tokens are never the spotlight there (round 11 saw
 * lesson 10 step 4 in Chinese at 1024x768 as the strip at the top of an empty box, the English with six panels). */
static void test_tokens_focus(void **state) {
    (void)state;
    static const int cs[][2] = {{1920, 1080}, {1024, 768}};
    float zooms[32];
    int nz = zoom_ladder(zooms), seen = 0;
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            int w = cs[si][0], h = cs[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_player p;
            open_player(&surf, &r, &p, w, h, lang, 0);
            char path[1024];
            snprintf(path, sizeof path, "%s/lessons/10-transformer-vs-gpt.md", SF_SOURCE_DIR);
            sf_err e = vz_player_open(&p, path);
            if (!e.ok) fail_msg("%s", e.msg);
            for (int k = 0; k < p.lesson.n_frames; k++) {
                if (vz_player_panel_of(p.lesson.frames[k].panel) != VZ_P_TOKENS) continue;
                vz_player_goto(&p, k);
                for (int zi = 0; zi < (w == 1024 ? nz : 1); zi++) {
                    p.app.zoom = w == 1024 ? zooms[zi] : 1.0f;
                    vz_player_frame(&p, w, h);
                    const vz_layout *l = &p.app.ctx.lay;
                    int strip_h = 3 * vz_line_h(l, l->f.label) + 3 * l->pad;
                    if (l->spot == VZ_P_TOKENS || !vz_layout_shown(l, VZ_P_TOKENS) || l->r[VZ_P_TOKENS].h > strip_h ||
                        !vz_layout_shown(l, VZ_P_ATTN))
                        fail_msg("lesson 10 frame %d %dx%d %s zoom %.2f: arrangement %d, spotlight %s, tokens %d px tall, attention %s",
                                 k + 1, w, h, lang ? "zh" : "en", (double)p.app.zoom, l->arr, vz_panel_name(l->spot),
                                 l->r[VZ_P_TOKENS].h, vz_layout_shown(l, VZ_P_ATTN) ? "shown" : "not shown");
                    check_frame(&p.app.ctx, "lesson 10, @focus tokens");
                    seen++;
                }
            }
            vz_player_free(&p);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
    assert_true(seen >= 8);
}

/* The narration pane in normal mode is as tall as the step's narration needs (vz_narr_need: title and text at the
 * body size, the lesson's place and formula beside them), three body lines at the least and 30% of the height at
 * the most, at every zoom step at 1024x768 and at zoom 1 at 1920x1080, both languages, lessons of short and long
 * steps (4, 10, 13): never cut (vz_narr_fits), its text at the body size unless the pane is at its largest, and not
 * taller than that (round 11: a fixed 22% of the height, 169 px at 1024x768 for two lines, the panels cramped). */
static void test_narration_height(void **state) {
    (void)state;
    static const char *const files[] = {"04-self-attention.md", "10-transformer-vs-gpt.md", "13-induction-heads.md"};
    static const int cs[][2] = {{1024, 768}, {1920, 1080}};
    float zooms[32];
    int nz = zoom_ladder(zooms), seen = 0, shorter = 0;
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++) {
            int w = cs[si][0], h = cs[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_player p;
            open_player(&surf, &r, &p, w, h, lang, 0);
            for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
                char path[1024];
                snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, files[fi]);
                sf_err e = vz_player_open(&p, path);
                if (!e.ok) fail_msg("%s", e.msg);
                for (int k = 0; k < p.lesson.n_frames; k++) {
                    vz_player_goto(&p, k);
                    for (int zi = 0; zi < (w == 1024 ? nz : 1); zi++) {
                        p.app.zoom = w == 1024 ? zooms[zi] : 1.0f;
                        vz_player_frame(&p, w, h);
                        vz_ctx *c = &p.app.ctx;
                        const vz_layout *l = &c->lay;
                        int need = vz_narr_need(c, &p.app.v), lhb = vz_line_h(l, l->f.body);
                        int least = 3 * lhb + 2 * l->pad, most = h * 3 / 10, ph = l->r[VZ_P_NARR].h;
                        int want = need < least ? least : need > most ? most : need;
                        char what[256];
                        snprintf(what, sizeof what, "%s frame %d %dx%d %s zoom %.2f", files[fi], k + 1, w, h, lang ? "zh" : "en",
                                 (double)p.app.zoom);
                        if (!vz_narr_fits(c, &p.app.v)) fail_msg("%s: the narration does not fit its %d px pane", what, ph);
                        if (ph != want) fail_msg("%s: the narration pane is %d px, its text needs %d (want %d)", what, ph, need, want);
                        if (l->f.narr != l->f.body && ph < most) fail_msg("%s: the narration at %d px in a pane it could grow", what, l->f.narr);
                        check_frame(c, what);
                        shorter += ph < rnd_share(h);
                        seen++;
                    }
                }
            }
            vz_player_free(&p);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
    assert_true(seen > 100);
    assert_true(shorter > seen / 2); /* most steps leave the panels more room than the 22% of before */
}

/* Lesson 13 steps 4 and 5 frame one key of a row of 28 (step 4: row 6 k, key 5 z; step 5: row 20 k, key 7 r): in
 * every heatmap of the framed entry, every key whose token is the framed key's or the framed row's (z at keys 5 and
 * 19, k at 6 and 20; r at 7 and 21) has its label over its own column, at 1920x1080 and 1024x768 in normal and
 * projector mode, both languages (round 11: the keys at a stride of two, the z seen again at key 19 unlabelled). */
static void test_repeated_key_labelled(void **state) {
    (void)state;
    static const int cs[][3] = {{1920, 1080, 0}, {1024, 768, 0}, {1024, 768, 1}};
    int checked = 0;
    for (size_t si = 0; si < sizeof cs / sizeof *cs; si++)
        for (int lang = 0; lang < 2; lang++)
            for (int k = 4; k <= 5; k++) {
                static vz_player p;
                drawn_frame d;
                draw_lesson_frame(&d, &p, "13-induction-heads.md", k, cs[si][0], cs[si][1], lang, cs[si][2]);
                const vz_ctx *c = &p.app.ctx;
                const char *name = NULL;
                int row = -1, key = -1;
                for (int h = 0; h < c->n_hl; h++)
                    if (strstr(c->hl[h].name, ".probs") && c->hl[h].lo[1] >= 0 && c->hl[h].lo[1] == c->hl[h].hi[1])
                        name = c->hl[h].name, row = c->hl[h].lo[0], key = c->hl[h].lo[1];
                assert_non_null(name);
                char want[2][64], tok[64];
                vz_token_label(&p.app.v, SF_STACK_DEC, key, want[0]);
                vz_token_label(&p.app.v, SF_STACK_DEC, row, want[1]);
                for (int i = 0; i < c->n_hits; i++) {
                    const vz_hit *hm = &c->hits[i];
                    if (hm->owner != VZ_P_ATTN || strcmp(hm->h.e->name, name) || hm->h.ncols < 20) continue;
                    double cell = (double)hm->r.w / hm->h.ncols;
                    for (int col = 0; col < hm->h.ncols; col++) {
                        vz_token_label(&p.app.v, SF_STACK_DEC, col, tok);
                        if (strcmp(tok, want[0]) && strcmp(tok, want[1])) continue;
                        double centre = hm->r.x + (col + 0.5) * cell;
                        int n = 0;
                        for (int t = 0; t < c->n_texts; t++) {
                            const vz_textbox *x = &c->texts[t];
                            double mid = x->r.x + x->r.w / 2.0;
                            n += x->owner == VZ_P_ATTN && !strcmp(x->s, tok) && x->r.y + x->r.h <= hm->r.y && x->r.y + x->r.h > hm->r.y - 3 * x->px &&
                                 mid > centre - cell && mid < centre + cell;
                        }
                        if (n != 1)
                            fail_msg("lesson 13 frame %d %dx%d %s %s: key %d ('%s') of %s has %d labels over its column (want 1)", k + 1,
                                     cs[si][0], cs[si][1], cs[si][2] ? "projector" : "normal", lang ? "zh" : "en", col, tok, name, n);
                        checked++;
                    }
                }
                check_frame(c, "lesson 13, a repeated key");
                drop_frame(&d);
            }
    assert_true(checked >= 48);
}

/* The checks can fail: a frame with two texts drawn on top of each other, one outside its panel and one too
 * small is refused on each count. */
static void test_checks_fail(void **state) {
    (void)state;
    SDL_Surface *surf;
    SDL_Renderer *r;
    static vz_app a;
    open_app(&surf, &r, &a, &models[0], 1024, 768);
    vz_app_frame(&a, 1024, 768);
    vz_ctx *c = &a.ctx;
    const vz_layout *l = &c->lay;
    /* each case: the clean frame's log with one bad text added */
    static vz_textbox keep[VZ_MAX_TEXTS];
    int n = c->n_texts;
    memcpy(keep, c->texts, sizeof *keep * (size_t)n);
    vz_textbox bad[3] = {
        {c->texts[0].r, c->texts[0].px, c->texts[0].owner, "", 0, {0, 0, 0, 0}},                                     /* on top of another */
        {{l->r[VZ_P_ATTN].x - 5, l->r[VZ_P_ATTN].y + 40, 30, 12}, 14, VZ_P_ATTN, "x", 0, {0, 0, 0, 0}},              /* outside its panel */
        {{l->r[VZ_P_ARCH].x + 1, l->r[VZ_P_ARCH].y + l->r[VZ_P_ARCH].h - 8, 6, 5}, 5, VZ_P_ARCH, "x", 0, {0, 0, 0, 0}}}; /* too small */
    char msg[512];
    for (int k = 0; k < 3; k++) {
        memcpy(c->texts, keep, sizeof *keep * (size_t)n);
        c->texts[n] = bad[k];
        c->n_texts = n + 1;
        if (frame_problems(c, msg, sizeof msg) == 0) fail_msg("bad text %d was not caught", k);
        print_message("caught: %s\n", msg);
    }
    memcpy(c->texts, keep, sizeof *keep * (size_t)n);
    c->n_texts = n;
    check_frame(c, "the clean frame");
    vz_app_free(&a);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
}

/* The layout's own numbers: text sizes follow the mode's rules at every size and zoom. */
static void test_sizes(void **state) {
    (void)state;
    float zooms[32];
    int nz = zoom_ladder(zooms);
    for (int si = 0; si < N_SIZES; si++)
        for (int zi = 0; zi < nz; zi++) {
            vz_layout_in in = {sizes[si][0], sizes[si][1], zooms[zi], 1, 1, -1, VZ_P_ATTN, -1, 2, 1.2f, 0, 0, 0, 0, 0};
            vz_layout l;
            vz_layout_compute_in(&l, &in);
            int h = sizes[si][1];
            assert_true(l.f.body * 28 >= h); /* narration at least 1/28 of the height */
            assert_true(l.f.small * 48 >= h); /* every label at least 1/48 */
            assert_true(l.arr == VZ_ARR_BESIDE || l.arr == VZ_ARR_BELOW);
            assert_int_equal(l.spot, VZ_P_ATTN);
            in.projector = 0;
            vz_layout_compute_in(&l, &in);
            assert_true(l.f.small >= 11 && l.f.small >= h / 90);
            assert_true(l.f.title >= l.f.body && l.f.body >= l.f.label && l.f.label >= l.f.small);
        }
    /* zoom grows every size */
    vz_layout a, b;
    vz_layout_compute(&a, 1920, 1080, 1.0f);
    vz_layout_compute(&b, 1920, 1080, 2.0f);
    assert_true(b.f.body > a.f.body && b.f.label > a.f.label);
}

/* GPT-2's shape at a width the tests can afford: 12 layers x 12 heads, GPT-2's tokenizer and vocabulary;
 * d_model 192 (head size 16) instead of 768 keeps the weights at 40 MB. The layout does not depend on it. */
static const char gpt2_prompt[] =
    "The quick brown fox jumps over the lazy dog, and then the dog wakes up and chases the fox all the way into the dark "
    "green woods. \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82 In the morning the fox came back "
    "to the farm, looked at the sleeping dog, and laughed quietly before it ran away again across the fields toward the "
    "river where the old boat was tied. The farmer saw them both from his window and wrote the story down in a small book, "
    "which his children read every night before they went to sleep in the big old house by the hill. Nobody in the "
    "village ever forgot that long and happy summer.";

/* Opens an app on a w x h surface over a GPT-2-shaped model with random weights, run on gpt2_prompt. */
static void open_gpt2(SDL_Surface **surf, SDL_Renderer **r, vz_app *a, int w, int h) {
    *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(*surf);
    *r = SDL_CreateSoftwareRenderer(*surf);
    assert_non_null(*r);
    sf_config cfg = sf_config_default(SF_FAMILY_GPT);
    cfg.vocab_size = 50257; cfg.d_model = 192; cfg.n_heads = 12; cfg.d_ff = 384; cfg.n_dec_layers = 12; cfg.max_len = 256;
    sf_model m;
    sf_err e = sf_model_build(&m, &cfg);
    char tok[1200];
    snprintf(tok, sizeof tok, "%s/assets/%s", SF_SOURCE_DIR, SF_GPT2_TOKENIZER);
    if (e.ok) e = sf_tokenizer_load_bpe(&m.tok, tok);
    if (!e.ok) fail_msg("%s", e.msg);
    sf_model_init_random(&m, 1);
    vz_run_cfg rc = {0, 1, 0.0f};
    e = vz_app_init(a, *r, &fonts, &m, gpt2_prompt, &rc);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Returns the first position of the decoder whose label is s, or -1. */
static int label_pos(const vz_app *a, const char *s) {
    char t[16];
    for (int i = 0; i < a->s.n_tgt; i++)
        if (!strcmp(vz_token_label(&a->v, SF_STACK_DEC, i, t), s)) return i;
    return -1;
}

/* Returns 1 if position i's label is also the label of a position in [lo, hi]. */
static int label_in(const vz_app *a, int i, int lo, int hi) {
    char t[16], u[16];
    vz_token_label(&a->v, SF_STACK_DEC, i, t);
    for (int k = lo; k <= hi; k++)
        if (!strcmp(vz_token_label(&a->v, SF_STACK_DEC, k, u), t)) return 1;
    return 0;
}

/* Checks the attention panel of the frame just drawn: it states its window ("queries a-b, keys c-d of n"),
 * and every token label it draws names a token of that window (rows: queries, columns: keys); returns the
 * window's first query (or -1 when the whole heatmap is shown). */
static int check_window(const vz_app *a, const char *what) {
    const vz_ctx *c = &a->ctx;
    int q0 = -1, q1 = -1, k0 = -1, k1 = -1, n = -1, labels = 0;
    for (int i = 0; i < c->n_texts; i++)
        if (c->texts[i].owner == VZ_P_ATTN &&
            (sscanf(c->texts[i].s, "queries %d\xe2\x80\x93%d, keys %d\xe2\x80\x93%d of %d", &q0, &q1, &k0, &k1, &n) == 5 ||
             sscanf(c->texts[i].s, "\xe6\x9f\xa5\xe8\xaf\xa2 %d\xe2\x80\x93%d\xef\xbc\x8c\xe9\x94\xae %d\xe2\x80\x93%d\xef\xbc\x8c\xe5\x85\xb1 %d", &q0, &q1, &k0, &k1, &n) == 5))
            break;
    if (n < 0) fail_msg("%s: the attention panel states no window", what);
    assert_int_equal(n, a->s.n_tgt);
    assert_true(0 <= q0 && q0 <= q1 && q1 < n && 0 <= k0 && k0 <= k1 && k1 < n && (q1 - q0 + 1 < n || k1 - k0 + 1 < n));
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        int p = t->owner == VZ_P_ATTN ? label_pos(a, t->s) : -1;
        if (p < 0) continue; /* not a token's label (the title, the head's name, the legend) */
        labels++;
        /* which axis: query labels end left of the heatmap, key labels sit above it */
        int lo = k0, hi = k1;
        for (int j = 0; j < c->n_hits; j++)
            if (c->hits[j].owner == VZ_P_ATTN && t->r.x + t->r.w <= c->hits[j].clip.x) { lo = q0; hi = q1; break; }
        int ok = 0;
        for (int k = 0; k < a->s.n_tgt && !ok; k++) {
            char u[16];
            ok = !strcmp(vz_token_label(&a->v, SF_STACK_DEC, k, u), t->s) && label_in(a, k, lo, hi);
        }
        if (!ok) fail_msg("%s: the label '%s' names no token of the window %d-%d", what, t->s, lo, hi);
    }
    if (labels < 6) fail_msg("%s: only %d token labels in the attention panel", what, labels);
    return q0;
}

/* The 12 x 12 model: clean frames at 1920x1080 and 1024x768, normal and projector, both languages; the grid
 * names every layer and head; the heatmap is a window that follows the cursor and the arrow keys; byte tokens
 * show as bytes. */
static void test_gpt2_window(void **state) {
    (void)state;
    static const int gs[][3] = {{1920, 1080, 0}, {1024, 768, 0}, {1024, 768, 1}, {1920, 1080, 1}};
    for (size_t si = 0; si < sizeof gs / sizeof *gs; si++)
        for (int lang = 0; lang < 2; lang++) {
            int w = gs[si][0], h = gs[si][1];
            SDL_Surface *surf;
            SDL_Renderer *r;
            static vz_app a;
            open_gpt2(&surf, &r, &a, w, h);
            assert_int_equal(a.s.n_tgt, 132);
            a.projector = gs[si][2];
            a.lang = lang;
            /* the Chinese characters are split across tokens: 你 (e4 bd a0) is "<e4 bd>" then "<a0>" */
            int k = label_pos(&a, "<e4 bd>");
            assert_true(k > 0 && k + 1 < a.s.n_tgt);
            char t[16];
            assert_string_equal(vz_token_label(&a.v, SF_STACK_DEC, k + 1, t), "<a0>");
            int steps[3] = {middle_step(&a, 3), middle_step(&a, k + 1), a.sched.n - 1};
            for (int st = 0; st < 3; st++) {
                vz_app_goto(&a, steps[st]);
                a.v.heat_scroll = 0;
                a.spotlight = a.projector && st == 0 ? VZ_P_THUMBS : -1; /* projector: the grid as the spotlight once */
                vz_app_frame(&a, w, h);
                char what[200];
                snprintf(what, sizeof what, "gpt2 12x12 %dx%d %s %s step %d", w, h, a.projector ? "projector" : "normal",
                         lang ? "zh" : "en", steps[st]);
                check_frame(&a.ctx, what);
                int seen_bytes = 0, grid = 0, arch = 0;
                for (int i = 0; i < a.ctx.n_texts; i++) {
                    const char *s = a.ctx.texts[i].s;
                    if (strstr(s, "\xef\xbf\xbd")) fail_msg("%s: a replacement character in '%s'", what, s);
                    seen_bytes |= !strcmp(s, "<e4 bd>") || !strcmp(s, "<a0>");
                    if (a.ctx.texts[i].owner == VZ_P_ARCH) { /* the map names each of the 12 layers ("L3 self", "L3 自注意") */
                        int n;
                        if (sscanf(s, "L%d ", &n) == 1 && n >= 0 && n < 12) arch |= 1 << n;
                    }
                    if (a.ctx.texts[i].owner == VZ_P_THUMBS) {
                        int n;
                        char rest[8];
                        if ((sscanf(s, "L%d%1s", &n, rest) == 1 || sscanf(s, "\xe5\xb1\x82%d%1s", &n, rest) == 1) && n >= 0 && n < 12) grid |= 1 << n;
                        if ((sscanf(s, "H%d%1s", &n, rest) == 1 || sscanf(s, "\xe5\xa4\xb4%d%1s", &n, rest) == 1) && n >= 0 && n < 12) grid |= 1 << (12 + n);
                    }
                }
                if (st == 1 && !seen_bytes) fail_msg("%s: the byte tokens of 你 are not drawn", what);
                if ((!a.projector || st == 0) && grid != (1 << 24) - 1) fail_msg("%s: the grid does not name L0-L11 and H0-H11 (%06x)", what, grid);
                if (!a.projector && w >= 1920 && arch != (1 << 12) - 1) fail_msg("%s: the architecture map does not name L0-L11 (%03x)", what, arch);
                if (st == 0) continue; /* (token 3: the heatmap fits, rows 0-3) */
                int q0 = check_window(&a, what);
                if (st == 2) { /* moved up: another window, its labels its own tokens */
                    for (int m = 0; m < 8; m++) vz_app_act(&a, VZ_ACT_HEAT_UP, 0);
                    vz_app_frame(&a, w, h);
                    check_frame(&a.ctx, what);
                    int q0b = check_window(&a, what);
                    if (q0b >= q0) fail_msg("%s: the up key did not move the window (query %d, then %d)", what, q0, q0b);
                }
            }
            vz_app_free(&a);
            SDL_DestroyRenderer(r);
            SDL_FreeSurface(surf);
        }
}

/* Loads the fonts once. */
static int setup(void **state) {
    (void)state;
    sf_err e = vz_font_find(NULL, &fonts);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),           cmocka_unit_test(test_checks_fail),   cmocka_unit_test(test_models_normal),
        cmocka_unit_test(test_models_projector), cmocka_unit_test(test_models_chinese), cmocka_unit_test(test_lessons),
        cmocka_unit_test(test_gpt2_window), cmocka_unit_test(test_every_lesson), cmocka_unit_test(test_scores_any_narration), cmocka_unit_test(test_grid_key_stride), cmocka_unit_test(test_framed_values), cmocka_unit_test(test_lens_runners_up), cmocka_unit_test(test_lens_fills), cmocka_unit_test(test_attn_title_whole), cmocka_unit_test(test_top_bar_ablated), cmocka_unit_test(test_value_weights),
        cmocka_unit_test(test_framed_captions), cmocka_unit_test(test_act_framed), cmocka_unit_test(test_tokens_focus), cmocka_unit_test(test_narration_height), cmocka_unit_test(test_repeated_key_labelled), cmocka_unit_test(test_grid_captions), cmocka_unit_test(test_pe_captions),
    };
    if (getenv("LAYOUT_ONLY")) cmocka_set_test_filter(getenv("LAYOUT_ONLY")); /* e.g. LAYOUT_ONLY=test_every_lesson */
    return cmocka_run_group_tests(tests, setup, NULL);
}
