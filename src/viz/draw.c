/* draw.c - the drawing context: primitives, text cut or wrapped to its room and logged, the heatmap texture
 * pool and legends. */
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vz_heat_slot {
    char id[64];
    SDL_Texture *tex;
    int tw, th;
    vz_heat sig;        /* the contents the texture holds */
    const vz_theme *theme; /* and the theme whose special colours it used */
    long generation;
    long used;
};

#define WRAP_MEMOS 24
#define WRAP_LINES 96
#define WRAP_BUF 4096

/* One wrapped paragraph: the lines (each a string in buf) and their heights, for (text, size, width). */
struct vz_wrap_memo {
    unsigned hash;
    int px, w, n, height;
    int off[WRAP_LINES], y[WRAP_LINES], lh[WRAP_LINES];
    char buf[WRAP_BUF];
    long used;
};

/* Creates the hatch tiles of every theme. */
static void make_hatches(vz_ctx *c) {
    for (int t = 0; t < VZ_THEME_COUNT; t++) {
        const vz_theme *th = vz_theme_get(t);
        uint32_t hp[16];
        for (int i = 0; i < 16; i++) hp[i] = vz_rgba_argb((i % 4 + i / 4) % 4 == 0 ? th->hatch : th->masked);
        c->hatch[t] = SDL_CreateTexture(c->r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, 4, 4);
        if (c->hatch[t]) {
            SDL_UpdateTexture(c->hatch[t], NULL, hp, 16);
            SDL_SetTextureScaleMode(c->hatch[t], SDL_ScaleModeNearest);
        }
    }
}

sf_err vz_ctx_init(vz_ctx *c, SDL_Renderer *r, vz_text *t) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->text = t;
    c->mx = c->my = -1;
    c->owner = VZ_OWNER_OVERLAY;
    c->th = vz_theme_get(VZ_THEME_DARK);
    c->pal = vz_palette_get(VZ_PAL_VIRIDIS);
    c->pool = calloc(VZ_HEAT_POOL, sizeof *c->pool);
    c->texts = calloc(VZ_MAX_TEXTS, sizeof *c->texts);
    c->wraps = calloc(WRAP_MEMOS, sizeof *c->wraps);
    if (!c->pool || !c->texts || !c->wraps) return sf_fail("draw: out of memory");
    for (int m = 0; m < VZ_CMAP_COUNT; m++) {
        c->legend[m] = SDL_CreateTexture(r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, 256, 1);
        if (!c->legend[m]) return sf_fail("draw: cannot create a texture: %s", SDL_GetError());
        uint32_t px[256];
        for (int i = 0; i < 256; i++) px[i] = vz_rgba_argb(vz_cmap_entry((vz_cmap)m, i));
        SDL_UpdateTexture(c->legend[m], NULL, px, sizeof px);
        SDL_SetTextureScaleMode(c->legend[m], SDL_ScaleModeNearest);
    }
    make_hatches(c);
    vz_layout_compute(&c->lay, 1280, 720, 1.0f);
    return sf_ok();
}

void vz_ctx_free(vz_ctx *c) {
    if (c->pool)
        for (int i = 0; i < VZ_HEAT_POOL; i++)
            if (c->pool[i].tex) SDL_DestroyTexture(c->pool[i].tex);
    free(c->pool);
    free(c->texts);
    free(c->wraps);
    free(c->pass);
    for (int m = 0; m < VZ_CMAP_COUNT; m++)
        if (c->legend[m]) SDL_DestroyTexture(c->legend[m]);
    for (int t = 0; t < VZ_THEME_COUNT; t++)
        if (c->hatch[t]) SDL_DestroyTexture(c->hatch[t]);
    memset(c, 0, sizeof *c);
}

void vz_ctx_style(vz_ctx *c, int theme, int palette, int lang) {
    c->th = vz_theme_get(theme);
    c->pal = vz_palette_get(palette);
    c->lang = lang == VZ_LANG_ZH ? VZ_LANG_ZH : VZ_LANG_EN;
}

void vz_ctx_layout(vz_ctx *c, const vz_layout_in *in0) {
    vz_layout_in in = *in0;
    if (in.line <= 0) { /* the fonts' own line height, the CJK font's when the interface is Chinese */
        vz_fonts f = vz_layout_fonts(&in, NULL, NULL);
        int hm = vz_text_height(c->text, f.body, 0);
        int hc = c->lang == VZ_LANG_ZH && vz_text_has_cjk(c->text) ? vz_text_height(c->text, f.body, 1) : 0;
        in.line = (float)(hm > hc ? hm : hc) / (float)(f.body > 0 ? f.body : 1) + 0.02f;
    }
    vz_layout_compute_in(&c->lay, &in);
}

void vz_ink(vz_ctx *c, vz_rgba bg) { c->ink = bg; }

vz_rgba vz_ink_on(const vz_ctx *c, vz_rgba bg) {
    return 0.2126f * bg.r + 0.7152f * bg.g + 0.0722f * bg.b > 140.0f ? c->th->ink_on_light : c->th->ink_on_dark;
}

void vz_ctx_reset(vz_ctx *c) {
    c->frame++;
    c->panel_ready = 0;
    c->ink = vz_ink_none;
    c->n_hits = 0;
    c->n_frames = 0;
    c->n_clicks = 0;
    c->n_texts = 0;
    c->texts_dropped = 0;
    c->owner = VZ_OWNER_OVERLAY;
    vz_text_frame(c->text);
}

void vz_ctx_begin_in(vz_ctx *c, const vz_layout_in *in) {
    vz_ctx_layout(c, in);
    vz_ctx_reset(c);
}

void vz_ctx_begin(vz_ctx *c, int w, int h, float zoom) {
    vz_layout_in in = {w, h, zoom, 0, 0, -1, -1, -1, 1, 0, 0, 0, 0, 0, 0};
    vz_ctx_begin_in(c, &in);
}

const char *vz_s(const vz_ctx *c, vz_str id) { return vz_tr(c->lang, id); }

int vz_px(const vz_ctx *c, float units) {
    int p = (int)(units * c->lay.s + 0.5f);
    return p < 1 ? 1 : p;
}

int vz_lh(const vz_ctx *c, int px) { return vz_line_h(&c->lay, px); }

void vz_fill(vz_ctx *c, vz_rect r, vz_rgba col) {
    if (r.w <= 0 || r.h <= 0) return;
    SDL_SetRenderDrawColor(c->r, col.r, col.g, col.b, col.a);
    SDL_SetRenderDrawBlendMode(c->r, col.a == 255 ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
    SDL_RenderFillRect(c->r, &(SDL_Rect){r.x, r.y, r.w, r.h});
}

void vz_fill_panel(vz_ctx *c, vz_rect r) {
    if (!c->panel_ready) vz_fill(c, r, c->th->panel);
}

void vz_outline(vz_ctx *c, vz_rect r, vz_rgba col, int thick) {
    if (r.w <= 0 || r.h <= 0) return;
    if (thick < 1) thick = 1;
    vz_fill(c, (vz_rect){r.x, r.y, r.w, thick}, col);
    vz_fill(c, (vz_rect){r.x, r.y + r.h - thick, r.w, thick}, col);
    vz_fill(c, (vz_rect){r.x, r.y, thick, r.h}, col);
    vz_fill(c, (vz_rect){r.x + r.w - thick, r.y, thick, r.h}, col);
}

void vz_frame(vz_ctx *c, vz_rect r, vz_rgba col, int thick) {
    vz_outline(c, r, col, thick);
    if (c->n_frames < VZ_MAX_FRAMES) c->frames[c->n_frames++] = (vz_framebox){r, thick < 1 ? 1 : thick, c->clip, c->owner, c->n_texts};
}

void vz_line(vz_ctx *c, int x0, int y0, int x1, int y1, vz_rgba col) {
    SDL_SetRenderDrawColor(c->r, col.r, col.g, col.b, col.a);
    SDL_SetRenderDrawBlendMode(c->r, SDL_BLENDMODE_NONE);
    SDL_RenderDrawLine(c->r, x0, y0, x1, y1);
}

int vz_print(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align, int maxw) {
    if (!s || !*s) return 0;
    char cut[1024];
    const char *t = maxw > 0 ? vz_text_fit(c->text, s, px, maxw, cut, sizeof cut) : s;
    int w, h;
    vz_text_size(c->text, t, px, &w, &h);
    if (w <= 0) return 0;
    int bx = x, by = y;
    if (align & VZ_CENTER) bx -= w / 2;
    else if (align & VZ_RIGHT) bx -= w;
    if (align & VZ_MIDDLE) by -= h / 2;
    else if (align & VZ_BOTTOM) by -= h;
    vz_text_draw_on(c->text, t, px, col, c->owner == VZ_OWNER_OVERLAY ? vz_ink_none : c->ink, bx, by, VZ_LEFT | VZ_TOP);
    if (c->n_texts < VZ_MAX_TEXTS) {
        vz_textbox *b = &c->texts[c->n_texts++];
        b->r = (vz_rect){bx, by, w, h};
        b->px = px;
        b->col = col;
        b->owner = c->owner;
        b->cut = t != s && strcmp(t, s) != 0;
        snprintf(b->s, sizeof b->s, "%s", t);
    } else {
        c->texts_dropped++;
    }
    return w;
}

int vz_label(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align) {
    return vz_print(c, s, px, col, x, y, align, 0);
}

int vz_label_w(vz_ctx *c, const char *s, int px) {
    int w, h;
    vz_text_size(c->text, s, px, &w, &h);
    return w;
}

/* ---- wrapping ----------------------------------------------------------------------------------- */

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

/* Returns 1 if cp is a particle that belongs to the word before it (的 了 们 吗 呢 吧). */
static int particle(unsigned cp) {
    return cp == 0x7684 || cp == 0x4E86 || cp == 0x4EEC || cp == 0x5417 || cp == 0x5462 || cp == 0x5427;
}

static int no_line_start(unsigned cp);

/* Returns 1 if p (just after a particle) holds only closing punctuation up to the paragraph's end: the particle
 * would stand alone on the paragraph's last line ("的" alone under the output legend, "…最可能" / "的"), which it
 * must not where that can be avoided; inside a paragraph a particle may start a line (moving the character before
 * it along would split a word instead: "开/头的"). */
static int alone_at_end(const char *p) {
    unsigned cp;
    while (*p && *p != '\n') {
        int k = utf8_at(p, &cp);
        if (!no_line_start(cp)) return 0;
        p += k;
    }
    return 1;
}

/* Returns 1 if cp must not start a line (kinsoku): CJK and full-width closing marks, commas, stops, colons and
 * semicolons, an ellipsis; ASCII closing punctuation after a Chinese character ("（T = 1）; 共" began a line with
 * ";"). */
static int no_line_start(unsigned cp) {
    return (cp >= 0x3001 && cp <= 0x3002) || cp == 0xFF0C || cp == 0xFF0E || cp == 0xFF1A || cp == 0xFF1B ||
           cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF09 || cp == 0x300B || cp == 0x300D || cp == 0x201D || cp == 0xFF0F ||
           cp == 0x3009 || cp == 0x300F || cp == 0x3011 || cp == 0x3015 || cp == 0x2019 || cp == 0x2026 || cp == 0xFF3D ||
           cp == 0xFF5D || cp == ';' || cp == ',' || cp == ':' || cp == '!' || cp == '?' || cp == ')' || cp == ']' ||
           cp == '}';
}

/* Returns n plus the byte length of the closing punctuation (and, unless loose, particles) that follows p + n,
 * which stays on its line. */
static size_t with_closing(const char *p, size_t n, int loose) {
    for (;;) {
        unsigned nx;
        int k = utf8_at(p + n, &nx);
        if (!p[n] || !(no_line_start(nx) || (!loose && particle(nx) && alone_at_end(p + n + k)))) return n;
        n += (size_t)k;
    }
}

/* Returns 1 if cp is punctuation that must not end a line (full-width opening brackets and quotes). */
static int no_line_end(unsigned cp) {
    return cp == 0xFF08 || cp == 0x300A || cp == 0x300C || cp == 0x3010 || cp == 0x201C || cp == 0xFF3B || cp == 0x3008 ||
           cp == 0x300E || cp == 0x3014 || cp == 0x2018 || cp == 0xFF5B;
}

int vz_wrap_no_start(const char *p, int loose) {
    unsigned cp;
    int k = utf8_at(p, &cp);
    return *p && (no_line_start(cp) || (!loose && particle(cp) && alone_at_end(p + k)));
}

/* vz_wrap_unit, loose: particles may start a line. */
static size_t wrap_unit(const char *p, int loose) {
    unsigned cp;
    size_t n = (size_t)utf8_at(p, &cp);
    if (no_line_end(cp) && p[n] && p[n] != ' ' && p[n] != '\n') return n + wrap_unit(p + n, loose); /* "（投": the bracket goes with it */
    if (vz_font_is_cjk(cp)) return with_closing(p, n, loose);
    while (p[n] && p[n] != ' ' && p[n] != '\n') {
        if (vz_font_is_cjk((utf8_at(p + n, &cp), cp))) break;
        n += (size_t)utf8_at(p + n, &cp);
    }
    return with_closing(p, n, loose); /* "0.14）": the bracket does not start the next line */
}

size_t vz_wrap_unit(const char *p) { return wrap_unit(p, 0); }

/* Returns the FNV-1a hash of a string. */
static unsigned str_hash(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Appends line (n bytes) to memo m at height y; returns the line's height, or 0 if m is full. */
static int memo_line(vz_ctx *c, vz_wrap_memo *m, const char *line, int n, int y, int px) {
    int used = m->n ? m->off[m->n - 1] + (int)strlen(m->buf + m->off[m->n - 1]) + 1 : 0;
    if (m->n == WRAP_LINES || used + n + 1 > WRAP_BUF) return 0;
    memcpy(m->buf + used, line, (size_t)n);
    m->buf[used + n] = 0;
    int w, h;
    vz_text_measure(c->text, m->buf + used, px, &w, &h);
    int lh = vz_lh(c, px);
    m->off[m->n] = used;
    m->y[m->n] = y;
    m->lh[m->n] = h > lh ? h : lh;
    return m->lh[m->n++];
}

/* Breaks s at px into lines of width w in memo m (emptied first); loose: a particle may start a line. */
static void break_lines(vz_ctx *c, vz_wrap_memo *m, const char *s, int px, int w, int loose) {
    m->n = 0;
    char line[1024], trial[1024];
    int y = 0, n = 0, quotes = 0; /* (the straight quotes of the paragraph so far: odd inside a quotation) */
    int last = -1; /* where the line's last unit starts in line (its space before it included), -1: the line's first */
    const char *p = s;
    for (;;) {
        if (!*p || *p == '\n') {
            if (n) { y += memo_line(c, m, line, n, y, px); n = 0; }
            if (!*p) break;
            p++;
            quotes = 0;
            y += px / 4; /* a paragraph or list item: a little air */
            continue;
        }
        int space = 0;
        while (*p == ' ') { p++; space = 1; }
        if (!*p || *p == '\n') continue;
        size_t u = wrap_unit(p, loose);
        /* a straight quote between Chinese characters is a unit of its own: an opening one goes with the word after
         * it, a closing one with the word before ("在 m 之后，"" once ended a line, lesson 1 step 4 in Chinese) */
        if (u == 1 && *p == '"' && quotes % 2 == 0 && p[1] && p[1] != ' ' && p[1] != '\n') u += wrap_unit(p + 1, loose);
        for (size_t i = 0; i < u; i++) quotes += p[i] == '"';
        while (p[u] == '"' && quotes % 2 == 1) u++, quotes++;
        int k = snprintf(trial, sizeof trial, "%.*s%s%.*s", n, line, space && n ? " " : "", (int)u, p);
        if (k >= (int)sizeof trial) k = (int)sizeof trial - 1;
        int tw, th;
        vz_text_measure(c->text, trial, px, &tw, &th);
        if (tw > w && n) {
            /* a unit that must not start a line (a mark or particle after a space: "T = 1 的") takes the line's last
             * unit down with it, when the line has another */
            int back = n, from = n;
            char rest[1024] = "";
            if (vz_wrap_no_start(p, loose) && last > 0) {
                from = last;
                while (from < n && line[from] == ' ') from++;
                snprintf(rest, sizeof rest, "%.*s%s%.*s", n - from, line + from, space ? " " : "", (int)u, p);
                vz_text_measure(c->text, rest, px, &tw, &th);
                if (tw <= w) back = last; /* (only if the two fit the next line together) */
                else from = n;
            }
            int keep = back;
            while (keep > 0 && line[keep - 1] == ' ') keep--;
            y += memo_line(c, m, line, keep, y, px);
            if (back < n) {
                n = snprintf(line, sizeof line, "%s", rest);
                last = n - (int)u - (space ? 1 : 0); /* the unit just placed starts after the carried one */
                if (n >= (int)sizeof line || last <= 0) last = -1;
            } else {
                last = -1;
                n = snprintf(line, sizeof line, "%.*s", (int)u, p);
            }
        } else {
            last = n ? n : -1;
            memcpy(line, trial, (size_t)k + 1);
            n = k;
        }
        if (n >= (int)sizeof line) n = (int)sizeof line - 1;
        p += u;
    }
    m->height = m->n ? m->y[m->n - 1] + m->lh[m->n - 1] : 0;
}

/* Returns the wrapped lines of s at px in width w, from the memo or freshly broken: no particle (的 了 …) alone on a
 * paragraph's last line unless keeping it with its word makes the text taller (when it can be avoided). */
static const vz_wrap_memo *wrapped(vz_ctx *c, const char *s, int px, int w) {
    unsigned h = str_hash(s);
    vz_wrap_memo *old = &c->wraps[0];
    for (int i = 0; i < WRAP_MEMOS; i++) {
        vz_wrap_memo *m = &c->wraps[i];
        if (m->used && m->hash == h && m->px == px && m->w == w) { m->used = c->frame + 1; return m; }
        if (m->used < old->used) old = m;
    }
    vz_wrap_memo *m = old;
    m->hash = h; m->px = px; m->w = w; m->used = c->frame + 1;
    break_lines(c, m, s, px, w, 1);
    int loose_h = m->height;
    break_lines(c, m, s, px, w, 0);
    if (m->height > loose_h) break_lines(c, m, s, px, w, 1);
    return m;
}

int vz_wrap_height_by(vz_ctx *c, const char *s, int px, int w, int loose) {
    if (!s || !*s || w <= 0) return 0;
    vz_wrap_memo *m = malloc(sizeof *m);
    if (!m) return 0;
    break_lines(c, m, s, px, w, loose);
    int h = m->height;
    free(m);
    return h;
}

int vz_wrap_height(vz_ctx *c, const char *s, int px, int w) {
    if (!s || !*s || w <= 0) return 0;
    return wrapped(c, s, px, w)->height;
}

/* Draws the wrapped lines of s into r, centred if centred; returns the y below the last line drawn. */
static int wrap_draw(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r, int centred) {
    if (!s || !*s || r.w <= 0) return r.y;
    const vz_wrap_memo *m = wrapped(c, s, px, r.w);
    int bottom = r.y, y0 = r.y;
    if (centred && m->height < r.h) y0 += (r.h - m->height) / 2;
    for (int i = 0; i < m->n; i++) {
        int y = y0 + m->y[i];
        if (y + m->lh[i] > r.y + r.h) break;
        const char *line = m->buf + m->off[i];
        int x = centred ? r.x + r.w / 2 : r.x, al = centred ? VZ_CENTER : VZ_LEFT;
        int last = i + 1 < m->n && y0 + m->y[i + 1] + m->lh[i + 1] > r.y + r.h;
        if (last) { /* the text goes on below the room: end this line with an ellipsis */
            char more[1100];
            snprintf(more, sizeof more, "%s\xe2\x80\xa6", line);
            int logged = c->n_texts;
            vz_print(c, more, px, col, x, y, al, r.w); /* (cut further, with its ellipsis, if too wide) */
            if (c->n_texts > logged) c->texts[logged].cut = 1; /* the log says the text was cut, as vz_print's own */
        } else {
            vz_print(c, line, px, col, x, y, al, r.w);
        }
        bottom = y + m->lh[i];
    }
    return bottom;
}

int vz_wrap(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r) { return wrap_draw(c, s, px, col, r, 0); }

int vz_wrap_centred(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r) { return wrap_draw(c, s, px, col, r, 1); }

/* ---- panels, grids, heatmaps -------------------------------------------------------------------- */

/* Returns title without its first bracketed aside in out (n bytes): "Cross-attention, layer 1" for
 * "Cross-attention (decoder queries, encoder keys), layer 1", the full-width brackets of Chinese alike; title itself
 * when it has none. */
static const char *title_short(const char *title, char *out, size_t n) {
    const char *a = strstr(title, " ("), *b = a ? strchr(a, ')') : NULL;
    size_t skip = 1;
    if (!a || !b) {
        a = strstr(title, "\xef\xbc\x88"), b = a ? strstr(a, "\xef\xbc\x89") : NULL; /* （ … ） */
        skip = 3;
    }
    if (!a || !b || (size_t)(a - title) >= n) return title;
    snprintf(out, n, "%.*s%s", (int)(a - title), title, b + skip);
    return out;
}

/* Returns the first of s, s without its first bracketed aside, alt and alt without its aside that is at most w
 * wide at px (out holds a shortened form, n bytes), or the shortest of them when none is: what vz_print_fit and
 * vz_panel_frame_alt draw. */
static const char *fit_choice(vz_ctx *c, const char *s, const char *alt, int px, int w, char *out, size_t n) {
    if (vz_label_w(c, s, px) <= w) return s;
    const char *a = title_short(s, out, n);
    if (vz_label_w(c, a, px) <= w || !alt) return a;
    return title_short(alt, out, n);
}

int vz_print_fit(vz_ctx *c, const char *s, const char *alt, int px, vz_rgba col, int x, int y, int align, int maxw) {
    if (!s) return 0;
    char shorter[256];
    return vz_print(c, fit_choice(c, s, alt, px, maxw, shorter, sizeof shorter), px, col, x, y, align, maxw);
}

vz_rect vz_panel_frame_alt(vz_ctx *c, vz_rect r, const char *title, const char *alt, int focused) {
    vz_fill_panel(c, r);
    vz_outline(c, r, focused ? c->th->focus : c->th->edge, focused ? vz_px(c, 2) : 1);
    int pad = c->lay.pad, fs = c->lay.f.title;
    int th = title ? vz_lh(c, fs) + pad / 2 : 0;
    /* a title too wide for its panel loses its aside before it is cut (the layer stays), then gives way to alt */
    if (title) vz_print_fit(c, title, alt, fs, c->th->fg, r.x + pad, r.y + pad / 2, VZ_LEFT, r.w - 2 * pad);
    return vz_rect_inset((vz_rect){r.x, r.y + th, r.w, r.h - th}, pad);
}

vz_rect vz_panel_frame(vz_ctx *c, vz_rect r, const char *title, int focused) { return vz_panel_frame_alt(c, r, title, NULL, focused); }

vz_rect vz_fit_grid(vz_rect r, int rows, int cols, int max_cell, int *cell) {
    if (rows < 1) rows = 1;
    if (cols < 1) cols = 1;
    int a = r.w / cols, b = r.h / rows;
    int s = a < b ? a : b;
    if (max_cell > 0 && s > max_cell) s = max_cell;
    if (s < 1) { /* too many cells for whole pixels: stretch instead */
        *cell = 0;
        return r;
    }
    *cell = s;
    return (vz_rect){r.x, r.y, s * cols, s * rows};
}

uint32_t vz_heat_argb(vz_cmap map, float lo, float hi, float x) {
    if (vz_cmap_signed(map)) return vz_cmap_argb(map, hi > 0 ? x / hi : 0.0f);
    return vz_cmap_argb(map, hi > lo ? (x - lo) / (hi - lo) : 0.0f);
}

/* Returns 1 if two heatmaps would fill a texture identically (same data view, range and mask). */
static int same_heat(const vz_heat *a, const vz_heat *b) {
    return a->e == b->e && a->row0 == b->row0 && a->nrows == b->nrows && a->ncols == b->ncols && a->vis == b->vis &&
           a->map == b->map && a->lo == b->lo && a->hi == b->hi && a->mask == b->mask && a->hatch == b->hatch &&
           a->hide == b->hide && a->absent == b->absent && a->rperm == b->rperm && a->cperm == b->cperm;
}

/* Returns the pool slot for id (reusing the least recently used slot for a new id). */
static vz_heat_slot *slot_for(vz_ctx *c, const char *id) {
    vz_heat_slot *old = &c->pool[0];
    for (int i = 0; i < VZ_HEAT_POOL; i++) {
        vz_heat_slot *s = &c->pool[i];
        if (s->id[0] && !strcmp(s->id, id)) return s;
        if (s->used < old->used) old = s;
    }
    snprintf(old->id, sizeof old->id, "%s", id);
    old->generation = -1;
    return old;
}

/* Writes the texels of h into pix (pitch in bytes); k texels per cell side; special colours from th. */
static void fill_texels(const vz_heat *h, const vz_theme *th, int k, uint8_t *pix, int pitch) {
    uint32_t hidden = vz_rgba_argb(th->hidden), grey = vz_rgba_argb(th->masked), stripe = vz_rgba_argb(th->hatch);
    for (int i = 0; i < h->nrows; i++) {
        int row = h->rperm ? h->rperm[h->row0 + i] : h->row0 + i; /* the entry's row drawn here */
        const float *v = sf_trace_row(h->e, row);
        const float *m = h->mask ? sf_trace_row(h->mask, row) : NULL;
        int off = row - h->row0 >= h->vis || row < h->row0 || row + 1 == h->hide; /* not computed yet, or hidden */
        for (int y = 0; y < k; y++) {
            uint32_t *out = (uint32_t *)(pix + (size_t)(i * k + y) * pitch);
            for (int j = 0; j < h->ncols; j++) {
                int cj = h->cperm ? h->cperm[j] : j;
                uint32_t col;
                int masked = m && isinf(m[cj]) && m[cj] < 0;
                if (off || (masked && h->absent)) col = hidden; /* (a key that does not exist yet: not computed) */
                else if (!masked) col = vz_heat_argb(h->map, h->lo, h->hi, v[cj]);
                else col = grey;
                int striped = masked && !off && !h->absent && k > 1;
                for (int x = 0; x < k; x++) out[j * k + x] = striped && (x + y) % k < (k + 3) / 4 ? stripe : col;
            }
        }
    }
}

int vz_hide_covers(const vz_highlight *hide, const char *name) {
    if (!hide || !hide->name[0]) return 0;
    if (!strcmp(name, hide->name)) return 1;
    if (hide->style) return 0; /* (`@ask ... with scores`: the weights alone) */
    if (!strcmp(hide->name, "dec.probs")) return !strcmp(name, "dec.logits");
    const char *dot = strrchr(hide->name, '.'), *leaf = strrchr(name, '.');
    if (!dot || !leaf || strcmp(dot, ".probs") || dot - hide->name != leaf - name || strncmp(name, hide->name, (size_t)(dot - hide->name)))
        return 0;
    return !strcmp(leaf, ".scores") || !strcmp(leaf, ".scaled");
}

/* Returns 1 if the cell drawn at row r and column j of heatmap h over rectangle cr shows a number, written into *x:
 * computed, not a question's hidden row, not masked, finite, and wholly inside the clip (a window's edge cuts none). */
static int cell_shown(const vz_ctx *c, const vz_heat *h, int r, int j, vz_rect cr, float *x) {
    int row = h->rperm ? h->rperm[r] : r, cj = h->cperm ? h->cperm[j] : j; /* the entry's cell drawn there */
    if (h->values <= 0 || row - h->row0 >= h->vis || row < h->row0 || row + 1 == h->hide) return 0; /* not computed, or a question's answer */
    const float *m = h->mask ? sf_trace_row(h->mask, row) : NULL;
    *x = sf_trace_row(h->e, row)[cj];
    if ((m && isinf(m[cj]) && m[cj] < 0) || !isfinite(*x)) return 0;
    return cr.w > 0 && cr.h > 0 && (c->clip.w <= 0 || vz_rect_inside(cr, c->clip));
}

/* Returns 1 if the cell drawn at row r (r0 <= r < r0 + nrows) and column j of heatmap h over rectangle cr prints
 * its value, with the text in num and its size in *px, centred in *in: the trace's own number in the most digits
 * that fit at the largest size that does (label, small, the mode's smallest), a weight always with two decimals,
 * clear of a band around it (the cursor's row frame, a neighbour's highlight), of h->values - 1 px above and
 * below, and of the clip; 0 for a cell not computed, hidden or masked, or too small. */
static int cell_text(vz_ctx *c, const vz_heat *h, int r, int j, vz_rect cr, char *num, size_t n, int *px, vz_rect *in) {
    float x;
    if (!cell_shown(c, h, r, j, cr, &x)) return 0;
    *in = vz_rect_inset(cr, vz_px(c, 3));
    if (in->w <= 0 || in->h <= 0) return 0;
    const char *leaf = strrchr(h->e->name, '.');
    int last = leaf && !strcmp(leaf, ".probs") ? VZ_CELL_2_SHORT : VZ_CELL_0; /* a weight: never "1" for 0.96 */
    int sizes[3] = {c->lay.f.label, c->lay.f.small, c->lay.min_text};
    for (int si = 0; si < 3; si++) {
        int s = sizes[si];
        if (s < c->lay.min_text || (si > 0 && s >= sizes[si - 1]) || vz_lh(c, s) > in->h - 2 * (h->values - 1)) continue;
        int form = vz_cell_form(c, &x, NULL, 1, s, in->w, VZ_CELL_2, last);
        if (form < 0 || !vz_fmt_cell(num, n, x, form)[0]) continue;
        *px = s;
        return 1;
    }
    return 0;
}

/* Prints the value of cell (r, j) of heatmap h over cr when it fits (cell_text), in ink that reads on its colour. */
static void cell_value(vz_ctx *c, const vz_heat *h, int r, int j, vz_rect cr) {
    char num[24];
    int px;
    vz_rect in;
    if (!cell_text(c, h, r, j, cr, num, sizeof num, &px, &in)) return;
    int row = h->rperm ? h->rperm[r] : r, cj = h->cperm ? h->cperm[j] : j;
    uint32_t a = vz_heat_argb(h->map, h->lo, h->hi, sf_trace_row(h->e, row)[cj]);
    vz_rgba bg = {(uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a, 255}, ink = c->ink;
    vz_ink(c, bg); /* (a plain cell, and the text keeps inside it) */
    vz_print(c, num, px, vz_ink_on(c, bg), in.x + in.w / 2, in.y + in.h / 2, VZ_CENTER | VZ_MIDDLE, 0);
    vz_ink(c, ink);
}

/* Returns the rectangle of drawn cell (r, j) of heatmap h over dst. */
static vz_rect cell_rect(const vz_heat *h, vz_rect dst, int r, int j) {
    int x0 = dst.x + (int)((long)j * dst.w / h->ncols), x1 = dst.x + (int)((long)(j + 1) * dst.w / h->ncols);
    int y0 = dst.y + (int)((long)(r - h->row0) * dst.h / h->nrows), y1 = dst.y + (int)((long)(r + 1 - h->row0) * dst.h / h->nrows);
    return (vz_rect){x0, y0, x1 - x0, y1 - y0};
}

/* Returns 1 if highlight g frames exactly one cell of h (rows as drawn), which then may print its value. */
static int one_cell(const vz_highlight *g, const vz_heat *h) {
    return !strcmp(g->name, h->e->name) && g->style == 0 && h->e->rank > 1 && g->lo[0] == g->hi[0] && g->lo[1] == g->hi[1] &&
           g->lo[0] >= h->row0 && g->lo[0] < h->row0 + h->nrows && g->lo[1] >= 0 && g->lo[1] < h->ncols;
}


/* Returns h0 with the row a question hides this frame (c->hide) drawn hidden, if it is one of h0's. */
static vz_heat with_hide(const vz_ctx *c, const vz_heat *h0) {
    vz_heat h = *h0;
    if (c->hide && vz_hide_covers(c->hide, h.e->name) && c->hide->lo[0] >= h.row0 && c->hide->lo[0] < h.row0 + h.nrows)
        h.hide = c->hide->lo[0] + 1;
    return h;
}

int vz_heat_value_at(vz_ctx *c, const vz_heat *h0, vz_rect dst, int r, int j) {
    char num[24];
    int px;
    vz_rect in;
    if (!h0->e || h0->nrows <= 0 || h0->ncols <= 0 || dst.w <= 0 || dst.h <= 0 || h0->values <= 0) return 0;
    vz_heat h = with_hide(c, h0);
    for (int i = 0; i < c->n_hl; i++)
        if (one_cell(&c->hl[i], &h) && c->hl[i].lo[0] == r && c->hl[i].lo[1] == j)
            return cell_text(c, &h, r, j, cell_rect(&h, dst, r, j), num, sizeof num, &px, &in);
    return 0;
}

int vz_heat_unprinted(vz_ctx *c, const vz_heat *h0, vz_rect dst, int *rows, int *cols, char (*nums)[24], int max) {
    if (!h0->e || h0->nrows <= 0 || h0->ncols <= 0 || dst.w <= 0 || dst.h <= 0 || h0->values <= 0) return 0;
    vz_heat h = with_hide(c, h0);
    int n = 0;
    for (int i = 0; i < c->n_hl && n < max; i++) {
        const vz_highlight *g = &c->hl[i];
        if (!one_cell(g, &h)) continue;
        int r = g->lo[0], j = g->lo[1], seen = 0;
        for (int k = 0; k < n; k++) seen |= rows[k] == r && cols[k] == j;
        vz_rect cr = cell_rect(&h, dst, r, j);
        float x;
        char num[24];
        int px;
        vz_rect in;
        if (seen || !cell_shown(c, &h, r, j, cr, &x) || cell_text(c, &h, r, j, cr, num, sizeof num, &px, &in)) continue;
        rows[n] = r;
        cols[n] = j;
        vz_fmt_cell(nums[n], sizeof nums[n], x, VZ_CELL_2);
        n++;
    }
    return n;
}

void vz_heatmap(vz_ctx *c, const char *id, const vz_heat *h0, vz_rect dst) {
    if (!h0->e || h0->nrows <= 0 || h0->ncols <= 0 || dst.w <= 0 || dst.h <= 0) return;
    vz_heat hh = with_hide(c, h0), *h = &hh;
    int k = h->hatch >= 2 && h->mask ? (h->hatch > 16 ? 16 : h->hatch) : 1;
    int tw = h->ncols * k, th = h->nrows * k;
    vz_heat_slot *s = slot_for(c, id);
    s->used = c->frame;
    if (s->tex && (s->tw != tw || s->th != th)) { SDL_DestroyTexture(s->tex); s->tex = NULL; }
    if (!s->tex) {
        s->tex = SDL_CreateTexture(c->r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING, tw, th);
        if (!s->tex) return;
        SDL_SetTextureScaleMode(s->tex, SDL_ScaleModeNearest);
        SDL_SetTextureBlendMode(s->tex, SDL_BLENDMODE_NONE);
        s->tw = tw; s->th = th;
        s->generation = -1;
    }
    if (s->generation != c->generation || s->theme != c->th || !same_heat(&s->sig, h)) {
        void *pix;
        int pitch;
        if (SDL_LockTexture(s->tex, NULL, &pix, &pitch) == 0) {
            fill_texels(h, c->th, k, pix, pitch);
            SDL_UnlockTexture(s->tex);
            c->uploads++;
        }
        s->sig = *h;
        s->theme = c->th;
        s->generation = c->generation;
    }
    SDL_RenderCopy(c->r, s->tex, NULL, &(SDL_Rect){dst.x, dst.y, dst.w, dst.h});
    for (int i = 0; i < c->n_hl; i++) { /* highlighted cells: a thick frame around the range */
        const vz_highlight *g = &c->hl[i];
        if (strcmp(g->name, h->e->name)) continue;
        int r0 = g->lo[0], r1 = g->hi[0] < 0 ? h->e->cap[0] - 1 : g->hi[0];
        int c0 = h->e->rank > 1 ? g->lo[1] : 0, c1 = h->e->rank > 1 ? (g->hi[1] < 0 ? h->ncols - 1 : g->hi[1]) : h->ncols - 1;
        if (r0 < h->row0) r0 = h->row0;
        if (r1 > h->row0 + h->nrows - 1) r1 = h->row0 + h->nrows - 1;
        if (c1 > h->ncols - 1) c1 = h->ncols - 1;
        if (r0 > r1 || c0 > c1) continue;
        int x0 = dst.x + (int)((long)c0 * dst.w / h->ncols), x1 = dst.x + (int)((long)(c1 + 1) * dst.w / h->ncols);
        int y0 = dst.y + (int)((long)(r0 - h->row0) * dst.h / h->nrows);
        int y1 = dst.y + (int)((long)(r1 + 1 - h->row0) * dst.h / h->nrows);
        int t = g->style == 1 ? vz_px(c, 2) : vz_px(c, 3);
        vz_frame(c, (vz_rect){x0 - t, y0 - t, x1 - x0 + 2 * t, y1 - y0 + 2 * t}, g->style == 1 ? c->th->wrong : c->th->hilite, t);
        if (h->values > 0 && one_cell(g, h)) cell_value(c, h, r0, c0, cell_rect(h, dst, r0, c0)); /* its number inside */
    }
    vz_rect vis = dst;
    if (c->clip.w > 0) { /* the visible part: dst intersected with the clip */
        int x0 = dst.x > c->clip.x ? dst.x : c->clip.x, y0 = dst.y > c->clip.y ? dst.y : c->clip.y;
        int x1 = dst.x + dst.w < c->clip.x + c->clip.w ? dst.x + dst.w : c->clip.x + c->clip.w;
        int y1 = dst.y + dst.h < c->clip.y + c->clip.h ? dst.y + dst.h : c->clip.y + c->clip.h;
        vis = (vz_rect){x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
    }
    if (c->n_hits < VZ_MAX_HITS) c->hits[c->n_hits++] = (vz_hit){dst, vis, *h, c->owner};
}

/* ---- legends ------------------------------------------------------------------------------------ */

void vz_fmt_num(char *out, size_t n, float x) {
    float a = fabsf(x);
    if (a >= 1000 || (a < 0.01f && x != 0)) snprintf(out, n, "%.1e", (double)x);
    else if (a >= 100) snprintf(out, n, "%.0f", (double)x);
    else if (a >= 10) snprintf(out, n, "%.1f", (double)x);
    else snprintf(out, n, "%.2f", (double)x);
}

char *vz_fmt_exact(char *out, size_t n, float x) {
    if (isnan(x)) { snprintf(out, n, "nan"); return out; }
    if (isinf(x)) { snprintf(out, n, "%s", x < 0 ? "-inf" : "inf"); return out; }
    double a = fabs((double)x);
    if (x == 0.0f || a >= 1e-6) {
        int dec = x == 0.0f ? 2 : 2 - (int)floor(log10(a)); /* three significant digits, at least two decimals */
        if (dec < 2) dec = 2;
        snprintf(out, n, "%.*f", dec, (double)x);
        return out;
    }
    char m[32];
    snprintf(m, sizeof m, "%.2e", (double)x); /* "-3.05e-08" */
    char *e = strchr(m, 'e');
    if (!e) { snprintf(out, n, "%s", m); return out; }
    *e = 0;
    int ex = atoi(e + 1);
    static const char *const sup[10] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3", "\xe2\x81\xb4",
                                        "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7", "\xe2\x81\xb8", "\xe2\x81\xb9"};
    char digits[16], p[48] = "";
    snprintf(digits, sizeof digits, "%d", ex < 0 ? -ex : ex);
    if (ex < 0) strcat(p, "\xe2\x81\xbb"); /* superscript minus */
    for (const char *d = digits; *d; d++) strcat(p, sup[*d - '0']);
    snprintf(out, n, "%s \xc3\x97 10%s", m, p);
    return out;
}

char *vz_fmt_cell(char *out, size_t n, float x, int form) {
    int dec = form <= VZ_CELL_2_SHORT ? 2 : form <= VZ_CELL_1_SHORT ? 1 : 0;
    snprintf(out, n, "%.*f", dec, (double)x);
    char *z = out[0] == '-' ? out + 1 : out;
    if (strspn(z, "0.") == strlen(z)) { /* rounds to zero: no sign ("-0.00" -> "0.00"); below two decimals, no number */
        if (dec < 2 && x != 0.0f) out[0] = 0;
        else memmove(out, z, strlen(z) + 1);
    }
    z = out[0] == '-' ? out + 1 : out;
    if ((form == VZ_CELL_2_SHORT || form == VZ_CELL_1_SHORT) && z[0] == '0' && z[1] == '.') memmove(z, z + 1, strlen(z));
    return out;
}

int vz_cell_form(vz_ctx *c, const float *xs, const int *use, int n, int px, int room, int first, int last) {
    char num[48];
    for (int f = first; f <= last; f++) {
        int ok = 1;
        for (int i = 0; i < n && ok; i++)
            if (!use || use[i]) ok = vz_label_w(c, vz_fmt_cell(num, sizeof num, xs[i], f), px) <= room;
        if (ok) return f;
    }
    return -1;
}

int vz_legend_h(const vz_ctx *c) {
    int lh = vz_lh(c, c->lay.f.small);
    return lh / 2 + 2 + lh;
}

void vz_legend(vz_ctx *c, vz_rect r, vz_cmap map, float lo, float hi, int masked, const char *caption) {
    if (r.w <= 0 || r.h <= 0) return;
    int fs = c->lay.f.small, lh = vz_lh(c, fs), pad = c->lay.pad;
    int bar_h = lh / 2 > 3 ? lh / 2 : 3;
    int x = r.x;
    int cw = caption && *caption ? vz_label_w(c, caption, fs) : 0;
    if (cw && cw + pad + fs * 9 <= r.w) /* what the colours mean, at the left, when the bar keeps room */
        x += vz_print(c, caption, fs, c->th->dim, x, r.y + (bar_h + 2 + lh) / 2, VZ_MIDDLE, 0) + pad;
    int sw = masked ? bar_h * 2 + pad + vz_label_w(c, vz_s(c, VZ_S_MASKED), fs) + pad : 0;
    if (sw > (r.x + r.w - x) / 2) sw = 0; /* no room for the swatch: the panel's note says it */
    vz_rect bar = {x, r.y, r.x + r.w - x - sw, bar_h};
    if (bar.w < 8) return;
    SDL_RenderCopy(c->r, c->legend[map], NULL, &(SDL_Rect){bar.x, bar.y, bar.w, bar.h});
    char a[24], b[24], m[24], ab[64];
    float l = vz_cmap_signed(map) ? -hi : lo;
    vz_fmt_num(a, sizeof a, l);
    vz_fmt_num(b, sizeof b, hi);
    vz_fmt_num(m, sizeof m, (l + hi) / 2);
    int ty = bar.y + bar.h + 2, wa = vz_label_w(c, a, fs), wb = vz_label_w(c, b, fs), wm = vz_label_w(c, m, fs);
    if (wa + wm + wb + 2 * pad <= bar.w) { /* the range's ends and middle under the bar */
        vz_print(c, a, fs, c->th->dim, bar.x, ty, VZ_LEFT, 0);
        vz_print(c, m, fs, c->th->dim, bar.x + bar.w / 2, ty, VZ_CENTER, 0);
        vz_print(c, b, fs, c->th->dim, bar.x + bar.w, ty, VZ_RIGHT, 0);
    } else if (wa + wb + pad <= bar.w) {
        vz_print(c, a, fs, c->th->dim, bar.x, ty, VZ_LEFT, 0);
        vz_print(c, b, fs, c->th->dim, bar.x + bar.w, ty, VZ_RIGHT, 0);
    } else { /* a narrow bar: the range in one piece, "+-3.2" or "0-1" */
        if (vz_cmap_signed(map)) snprintf(ab, sizeof ab, "\xc2\xb1%s", b);
        else snprintf(ab, sizeof ab, "%s\xe2\x80\x93%s", a, b);
        vz_print(c, ab, fs, c->th->dim, bar.x, ty, VZ_LEFT, r.x + r.w - bar.x);
    }
    if (sw && c->hatch[c->th == vz_theme_get(VZ_THEME_LIGHT)]) {
        int hx = bar.x + bar.w + pad;
        SDL_RenderCopy(c->r, c->hatch[c->th == vz_theme_get(VZ_THEME_LIGHT)], NULL, &(SDL_Rect){hx, bar.y, bar_h * 2, bar_h});
        vz_print(c, vz_s(c, VZ_S_MASKED), fs, c->th->dim, hx, ty, VZ_LEFT, r.x + r.w - hx);
    }
}

/* ---- clipping and regions ----------------------------------------------------------------------- */

void vz_clip(vz_ctx *c, vz_rect r) {
    c->clip = r;
    SDL_RenderSetClipRect(c->r, &(SDL_Rect){r.x, r.y, r.w, r.h});
}

void vz_clip_off(vz_ctx *c) {
    c->clip = (vz_rect){0, 0, 0, 0};
    SDL_RenderSetClipRect(c->r, NULL);
}

void vz_click_add(vz_ctx *c, vz_rect r, int kind, int a, int b, int d) {
    if (c->n_clicks < VZ_MAX_CLICKS) c->clicks[c->n_clicks++] = (vz_click){r, kind, a, b, d};
}

const vz_click *vz_click_at(const vz_ctx *c, int x, int y) {
    for (int i = c->n_clicks - 1; i >= 0; i--)
        if (vz_rect_has(c->clicks[i].r, x, y)) return &c->clicks[i];
    return NULL;
}

const vz_hit *vz_hit_at(const vz_ctx *c, int x, int y, int *row, int *col) {
    for (int i = c->n_hits - 1; i >= 0; i--) {
        const vz_hit *h = &c->hits[i];
        if (!vz_rect_has(h->clip, x, y)) continue;
        *col = (int)((long)(x - h->r.x) * h->h.ncols / h->r.w);
        *row = h->h.row0 + (int)((long)(y - h->r.y) * h->h.nrows / h->r.h);
        if (*col >= 0 && *col < h->h.ncols && h->h.cperm) *col = h->h.cperm[*col];
        if (*row >= h->h.row0 && *row < h->h.row0 + h->h.nrows && h->h.rperm) *row = h->h.rperm[*row];
        return h;
    }
    return NULL;
}
