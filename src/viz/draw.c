/* draw.c - primitives, the heatmap texture pool and legends. */
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
    long generation;
    long used;
};

sf_err vz_ctx_init(vz_ctx *c, SDL_Renderer *r, vz_text *t) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->text = t;
    c->mx = c->my = -1;
    c->pool = calloc(VZ_HEAT_POOL, sizeof *c->pool);
    if (!c->pool) return sf_fail("draw: out of memory");
    for (int m = 0; m < VZ_CMAP_COUNT; m++) {
        c->legend[m] = SDL_CreateTexture(r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, 256, 1);
        if (!c->legend[m]) return sf_fail("draw: cannot create a texture: %s", SDL_GetError());
        uint32_t px[256];
        for (int i = 0; i < 256; i++) px[i] = vz_rgba_argb(vz_cmap_entry((vz_cmap)m, i));
        SDL_UpdateTexture(c->legend[m], NULL, px, sizeof px);
        SDL_SetTextureScaleMode(c->legend[m], SDL_ScaleModeNearest);
    }
    uint32_t hp[16];
    for (int i = 0; i < 16; i++) hp[i] = vz_rgba_argb((i % 4 + i / 4) % 4 == 0 ? VZ_COL_HATCH : VZ_COL_MASKED);
    c->hatch = SDL_CreateTexture(r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, 4, 4);
    if (c->hatch) {
        SDL_UpdateTexture(c->hatch, NULL, hp, 16);
        SDL_SetTextureScaleMode(c->hatch, SDL_ScaleModeNearest);
    }
    return sf_ok();
}

void vz_ctx_free(vz_ctx *c) {
    if (c->pool)
        for (int i = 0; i < VZ_HEAT_POOL; i++)
            if (c->pool[i].tex) SDL_DestroyTexture(c->pool[i].tex);
    free(c->pool);
    for (int m = 0; m < VZ_CMAP_COUNT; m++)
        if (c->legend[m]) SDL_DestroyTexture(c->legend[m]);
    if (c->hatch) SDL_DestroyTexture(c->hatch);
    memset(c, 0, sizeof *c);
}

void vz_ctx_begin(vz_ctx *c, int w, int h, float zoom) {
    vz_layout_compute_narr(&c->lay, w, h, zoom, c->narr_units > 0 ? c->narr_units : 64.0f);
    c->frame++;
    c->n_hits = 0;
    c->n_clicks = 0;
    vz_text_frame(c->text);
}

int vz_px(const vz_ctx *c, float units) {
    int p = (int)(units * c->lay.s + 0.5f);
    return p < 1 ? 1 : p;
}

void vz_fill(vz_ctx *c, vz_rect r, vz_rgba col) {
    if (r.w <= 0 || r.h <= 0) return;
    SDL_SetRenderDrawColor(c->r, col.r, col.g, col.b, col.a);
    SDL_SetRenderDrawBlendMode(c->r, col.a == 255 ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
    SDL_RenderFillRect(c->r, &(SDL_Rect){r.x, r.y, r.w, r.h});
}

void vz_outline(vz_ctx *c, vz_rect r, vz_rgba col, int thick) {
    if (r.w <= 0 || r.h <= 0) return;
    if (thick < 1) thick = 1;
    vz_fill(c, (vz_rect){r.x, r.y, r.w, thick}, col);
    vz_fill(c, (vz_rect){r.x, r.y + r.h - thick, r.w, thick}, col);
    vz_fill(c, (vz_rect){r.x, r.y, thick, r.h}, col);
    vz_fill(c, (vz_rect){r.x + r.w - thick, r.y, thick, r.h}, col);
}

void vz_line(vz_ctx *c, int x0, int y0, int x1, int y1, vz_rgba col) {
    SDL_SetRenderDrawColor(c->r, col.r, col.g, col.b, col.a);
    SDL_SetRenderDrawBlendMode(c->r, SDL_BLENDMODE_NONE);
    SDL_RenderDrawLine(c->r, x0, y0, x1, y1);
}

int vz_label(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align) {
    return vz_text_draw(c->text, s, px, col, x, y, align);
}

int vz_label_w(vz_ctx *c, const char *s, int px) {
    int w, h;
    vz_text_size(c->text, s, px, &w, &h);
    return w;
}

vz_rect vz_panel_frame(vz_ctx *c, vz_rect r, const char *title, int focused) {
    vz_fill(c, r, VZ_PANEL);
    vz_outline(c, r, focused ? VZ_FOCUS : VZ_EDGE, focused ? vz_px(c, 2) : 1);
    int pad = vz_px(c, 6), fs = c->lay.font;
    if (title) vz_label(c, title, fs, VZ_FG, r.x + pad, r.y + pad / 2, VZ_LEFT);
    int th = title ? fs + fs / 3 + pad / 2 : 0;
    return vz_rect_inset((vz_rect){r.x, r.y + th, r.w, r.h - th}, pad);
}

vz_rect vz_fit_grid(vz_rect r, int rows, int cols, int max_cell, int *cell) {
    if (rows < 1) rows = 1;
    if (cols < 1) cols = 1;
    int a = r.w / cols, b = r.h / rows;
    int s = a < b ? a : b;
    if (max_cell > 0 && s > max_cell) s = max_cell;
    if (s < 1) { /* too many cells for whole pixels: stretch instead */
        *cell = 0;
        int w = r.w, h = r.h;
        return (vz_rect){r.x, r.y, w, h};
    }
    *cell = s;
    return (vz_rect){r.x, r.y, s * cols, s * rows};
}

uint32_t vz_heat_argb(vz_cmap map, float lo, float hi, float x) {
    if (map == VZ_CMAP_DIVERGING) return vz_cmap_argb(map, hi > 0 ? x / hi : 0.0f);
    return vz_cmap_argb(map, hi > lo ? (x - lo) / (hi - lo) : 0.0f);
}

/* Returns 1 if two heatmaps would fill a texture identically (same data view, range and mask). */
static int same_heat(const vz_heat *a, const vz_heat *b) {
    return a->e == b->e && a->row0 == b->row0 && a->nrows == b->nrows && a->ncols == b->ncols && a->vis == b->vis &&
           a->map == b->map && a->lo == b->lo && a->hi == b->hi && a->mask == b->mask && a->hatch == b->hatch &&
           a->hide == b->hide;
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

/* Writes the texels of h into pix (pitch in bytes); k texels per cell side. */
static void fill_texels(const vz_heat *h, int k, uint8_t *pix, int pitch) {
    uint32_t hidden = vz_rgba_argb(VZ_COL_HIDDEN), grey = vz_rgba_argb(VZ_COL_MASKED), stripe = vz_rgba_argb(VZ_COL_HATCH);
    for (int i = 0; i < h->nrows; i++) {
        int row = h->row0 + i;
        const float *v = sf_trace_row(h->e, row);
        const float *m = h->mask ? sf_trace_row(h->mask, row) : NULL;
        for (int y = 0; y < k; y++) {
            uint32_t *out = (uint32_t *)(pix + (size_t)(i * k + y) * pitch);
            for (int j = 0; j < h->ncols; j++) {
                uint32_t col;
                int masked = m && isinf(m[j]) && m[j] < 0;
                if (i >= h->vis || row + 1 == h->hide) col = hidden;
                else if (!masked) col = vz_heat_argb(h->map, h->lo, h->hi, v[j]);
                else col = grey;
                for (int x = 0; x < k; x++)
                    out[j * k + x] = (masked && i < h->vis && k > 1 && (x + y) % k < (k + 3) / 4) ? stripe : col;
            }
        }
    }
}

int vz_hide_covers(const vz_highlight *hide, const char *name) {
    if (!hide || !hide->name[0]) return 0;
    if (!strcmp(name, hide->name)) return 1;
    if (!strcmp(hide->name, "dec.probs")) return !strcmp(name, "dec.logits");
    const char *dot = strrchr(hide->name, '.'), *leaf = strrchr(name, '.');
    if (!dot || !leaf || strcmp(dot, ".probs") || dot - hide->name != leaf - name || strncmp(name, hide->name, (size_t)(dot - hide->name)))
        return 0;
    return !strcmp(leaf, ".scores") || !strcmp(leaf, ".scaled");
}

void vz_heatmap(vz_ctx *c, const char *id, const vz_heat *h0, vz_rect dst) {
    if (!h0->e || h0->nrows <= 0 || h0->ncols <= 0 || dst.w <= 0 || dst.h <= 0) return;
    vz_heat hh = *h0, *h = &hh;
    if (c->hide && vz_hide_covers(c->hide, h->e->name) && c->hide->lo[0] >= h->row0 && c->hide->lo[0] < h->row0 + h->nrows)
        hh.hide = c->hide->lo[0] + 1;
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
    if (s->generation != c->generation || !same_heat(&s->sig, h)) {
        void *pix;
        int pitch;
        if (SDL_LockTexture(s->tex, NULL, &pix, &pitch) == 0) {
            fill_texels(h, k, pix, pitch);
            SDL_UnlockTexture(s->tex);
            c->uploads++;
        }
        s->sig = *h;
        s->generation = c->generation;
    }
    SDL_RenderCopy(c->r, s->tex, NULL, &(SDL_Rect){dst.x, dst.y, dst.w, dst.h});
    for (int i = 0; i < c->n_hl; i++) { /* highlighted cells: a thick accent frame around the range */
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
        int t = vz_px(c, 3);
        if (g->style == 1) { t = vz_px(c, 2); vz_outline(c, (vz_rect){x0 - t, y0 - t, x1 - x0 + 2 * t, y1 - y0 + 2 * t}, VZ_WRONG, t); }
        else vz_outline(c, (vz_rect){x0 - t, y0 - t, x1 - x0 + 2 * t, y1 - y0 + 2 * t}, VZ_HILITE, t);
    }
    vz_rect vis = dst;
    if (c->clip.w > 0) { /* the visible part: dst intersected with the clip */
        int x0 = dst.x > c->clip.x ? dst.x : c->clip.x, y0 = dst.y > c->clip.y ? dst.y : c->clip.y;
        int x1 = dst.x + dst.w < c->clip.x + c->clip.w ? dst.x + dst.w : c->clip.x + c->clip.w;
        int y1 = dst.y + dst.h < c->clip.y + c->clip.h ? dst.y + dst.h : c->clip.y + c->clip.h;
        vis = (vz_rect){x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
    }
    if (c->n_hits < VZ_MAX_HITS) c->hits[c->n_hits++] = (vz_hit){dst, vis, *h};
}

/* Formats a legend number compactly. */
static void fmt_num(char *out, size_t n, float x) {
    if (fabsf(x) >= 100 || (fabsf(x) < 0.01f && x != 0)) snprintf(out, n, "%.2g", (double)x);
    else snprintf(out, n, "%.2f", (double)x);
}

void vz_legend(vz_ctx *c, vz_rect r, vz_cmap map, float lo, float hi, int masked) {
    if (r.w <= 0 || r.h <= 0) return;
    int fs = c->lay.font * 3 / 4, bar_h = r.h - fs - 2;
    if (bar_h < 3) bar_h = r.h / 2;
    int sw = masked ? r.h * 2 + vz_label_w(c, "masked", fs) : 0;
    vz_rect bar = {r.x, r.y, r.w - sw, bar_h};
    if (bar.w < 8) return;
    SDL_RenderCopy(c->r, c->legend[map], NULL, &(SDL_Rect){bar.x, bar.y, bar.w, bar.h});
    char a[24], b[24], m[24];
    float l = map == VZ_CMAP_DIVERGING ? -hi : lo;
    fmt_num(a, sizeof a, l);
    fmt_num(b, sizeof b, hi);
    fmt_num(m, sizeof m, (l + hi) / 2);
    vz_label(c, a, fs, VZ_DIM, bar.x, bar.y + bar.h + 1, VZ_LEFT);
    vz_label(c, m, fs, VZ_DIM, bar.x + bar.w / 2, bar.y + bar.h + 1, VZ_CENTER);
    vz_label(c, b, fs, VZ_DIM, bar.x + bar.w, bar.y + bar.h + 1, VZ_RIGHT);
    if (masked && c->hatch) {
        int x = bar.x + bar.w + r.h / 2;
        SDL_RenderCopy(c->r, c->hatch, NULL, &(SDL_Rect){x, bar.y, bar_h * 2, bar_h});
        vz_label(c, "masked", fs, VZ_DIM, x, bar.y + bar.h + 1, VZ_LEFT);
    }
}

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
        return h;
    }
    return NULL;
}
