/* text.c - the string texture cache: open addressing on (string, size, colour). */
#include "text.h"

#include <SDL2/SDL_ttf.h>
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"

#define CACHE_CAP 4096 /* slots; a power of two */
#define MAX_SIZES 24

typedef struct {
    char *s;            /* owned copy of the string; NULL for an empty slot */
    unsigned hash;
    int px;
    uint32_t col;
    uint32_t bg;        /* the opaque background it was rendered on, or 0: rendered with alpha, blended */
    SDL_Texture *tex;   /* NULL when the string renders to nothing */
    int w, h;
    long used;          /* frame of last use */
    int fit_w, fit_len; /* the last vz_text_fit of this string: at most fit_w pixels keeps fit_len bytes */
} entry;

typedef struct { int px; TTF_Font *main, *cjk; } sized_font;

struct vz_text {
    SDL_Renderer *r;
    vz_font_paths paths;
    sized_font fonts[MAX_SIZES];
    int n_fonts;
    entry *slots;
    int count;
    long frame, rasterised;
};

static int ttf_users; /* TTF_Init / TTF_Quit are reference counted here */

sf_err vz_text_create(vz_text **out, SDL_Renderer *r, const vz_font_paths *fonts) {
    *out = NULL;
    if (!ttf_users && TTF_Init() != 0) return sf_fail("SDL_ttf: %s", TTF_GetError());
    ttf_users++;
    vz_text *t = calloc(1, sizeof *t);
    if (t) t->slots = calloc(CACHE_CAP, sizeof *t->slots);
    if (!t || !t->slots) {
        if (t) free(t);
        if (--ttf_users == 0) TTF_Quit();
        return sf_fail("text cache: out of memory");
    }
    t->r = r;
    t->paths = *fonts;
    /* prove the main font opens now, so a bad --font fails at start-up with its name */
    TTF_Font *probe = TTF_OpenFont(fonts->main, 12);
    if (!probe) {
        sf_err e = sf_fail("font %s: %s (install fonts-dejavu-core or pass --font FILE.ttf)", fonts->main,
                           TTF_GetError());
        vz_text_destroy(t);
        return e;
    }
    TTF_CloseFont(probe);
    *out = t;
    return sf_ok();
}

/* Frees a cache entry's texture and string and empties the slot. */
static void drop(entry *e) {
    if (e->tex) SDL_DestroyTexture(e->tex);
    free(e->s);
    memset(e, 0, sizeof *e);
}

void vz_text_destroy(vz_text *t) {
    if (!t) return;
    for (int i = 0; i < CACHE_CAP; i++)
        if (t->slots[i].s) drop(&t->slots[i]);
    for (int i = 0; i < t->n_fonts; i++) {
        if (t->fonts[i].main) TTF_CloseFont(t->fonts[i].main);
        if (t->fonts[i].cjk) TTF_CloseFont(t->fonts[i].cjk);
    }
    free(t->slots);
    free(t);
    if (--ttf_users == 0) TTF_Quit();
}

/* Returns the fonts opened at pixel size px (opening them on first use), or NULL. */
static sized_font *font_at(vz_text *t, int px) {
    for (int i = 0; i < t->n_fonts; i++)
        if (t->fonts[i].px == px) return &t->fonts[i];
    if (t->n_fonts == MAX_SIZES) { /* recycle the oldest size; its strings stay cached as textures */
        TTF_CloseFont(t->fonts[0].main);
        if (t->fonts[0].cjk) TTF_CloseFont(t->fonts[0].cjk);
        memmove(t->fonts, t->fonts + 1, (MAX_SIZES - 1) * sizeof *t->fonts);
        t->n_fonts--;
    }
    sized_font *f = &t->fonts[t->n_fonts];
    f->px = px;
    f->main = TTF_OpenFont(t->paths.main, px);
    f->cjk = t->paths.cjk[0] ? TTF_OpenFontIndex(t->paths.cjk, px, t->paths.cjk_index) : NULL;
    if (!f->main) return NULL;
    t->n_fonts++;
    return f;
}

/* Returns the font to render s with: the CJK font when s has a CJK character the main font lacks. */
static TTF_Font *font_for(const sized_font *f, const char *s) {
    if (!f->cjk) return f->main;
    size_t len = strlen(s), pos = 0;
    while (pos < len) {
        uint32_t cp;
        if (!sf_utf8_decode(s, len, &pos, &cp)) { pos++; continue; }
        if (cp >= 0x2E80 && (cp > 0xFFFF || !TTF_GlyphIsProvided(f->main, (Uint16)cp))) return f->cjk;
    }
    return f->main;
}

/* Returns the FNV-1a hash of (string, size, colour, background). */
static unsigned hash_key(const char *s, int px, uint32_t col, uint32_t bg) {
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    h = (h ^ (unsigned)px) * 16777619u;
    h = (h ^ bg) * 16777619u;
    return (h ^ col) * 16777619u;
}

/* Releases entries unused for a while (or everything, if that frees too little). */
static void sweep(vz_text *t) {
    for (int i = 0; i < CACHE_CAP; i++)
        if (t->slots[i].s && t->slots[i].used < t->frame - 1) { drop(&t->slots[i]); t->count--; }
    if (t->count > CACHE_CAP / 2)
        for (int i = 0; i < CACHE_CAP; i++)
            if (t->slots[i].s) { drop(&t->slots[i]); t->count--; }
    /* re-insert the survivors so probing chains stay intact */
    entry *old = t->slots;
    entry *fresh = calloc(CACHE_CAP, sizeof *fresh);
    if (!fresh) return;
    for (int i = 0; i < CACHE_CAP; i++)
        if (old[i].s) {
            unsigned j = old[i].hash & (CACHE_CAP - 1);
            while (fresh[j].s) j = (j + 1) & (CACHE_CAP - 1);
            fresh[j] = old[i];
        }
    free(old);
    t->slots = fresh;
}

/* Returns the cache entry for (s, px, col) on background bg (alpha 0: none, blended), rasterising it if new;
 * NULL if it cannot be drawn. */
static entry *lookup(vz_text *t, const char *s, int px, vz_rgba col, vz_rgba bg) {
    if (!s || !*s) return NULL;
    if (px < 4) px = 4;
    if (px > 400) px = 400;
    uint32_t c = vz_rgba_argb(col), b = bg.a == 255 ? vz_rgba_argb(bg) : 0;
    unsigned h = hash_key(s, px, c, b), i = h & (CACHE_CAP - 1);
    for (entry *e = &t->slots[i]; e->s; i = (i + 1) & (CACHE_CAP - 1), e = &t->slots[i])
        if (e->hash == h && e->px == px && e->col == c && e->bg == b && !strcmp(e->s, s)) { e->used = t->frame; return e; }
    if (t->count >= CACHE_CAP * 3 / 4) {
        sweep(t);
        i = h & (CACHE_CAP - 1);
        while (t->slots[i].s) i = (i + 1) & (CACHE_CAP - 1);
    }
    sized_font *f = font_at(t, px);
    if (!f) return NULL;
    entry *e = &t->slots[i];
    e->s = malloc(strlen(s) + 1);
    if (!e->s) return NULL;
    strcpy(e->s, s);
    e->hash = h; e->px = px; e->col = c; e->bg = b; e->used = t->frame;
    e->fit_w = -1; e->fit_len = -1;
    t->count++;
    t->rasterised++;
    /* on a known plain background the text is antialiased against it and copied without blending (with the
     * software renderer several times faster to draw than blending every pixel); else it carries alpha */
    SDL_Surface *surf = b ? TTF_RenderUTF8_Shaded(font_for(f, s), s, (SDL_Color){col.r, col.g, col.b, 255},
                                                  (SDL_Color){bg.r, bg.g, bg.b, 255})
                          : TTF_RenderUTF8_Blended(font_for(f, s), s, (SDL_Color){col.r, col.g, col.b, col.a});
    if (surf) {
        e->tex = SDL_CreateTextureFromSurface(t->r, surf);
        e->w = surf->w;
        e->h = surf->h;
        SDL_FreeSurface(surf);
        if (e->tex) SDL_SetTextureBlendMode(e->tex, b ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
    }
    return e;
}

int vz_text_draw(vz_text *t, const char *s, int px, vz_rgba col, int x, int y, int align) {
    return vz_text_draw_on(t, s, px, col, (vz_rgba){0, 0, 0, 0}, x, y, align);
}

int vz_text_draw_on(vz_text *t, const char *s, int px, vz_rgba col, vz_rgba bg, int x, int y, int align) {
    entry *e = lookup(t, s, px, col, bg);
    if (!e || !e->tex) return 0;
    SDL_Rect d = {x, y, e->w, e->h};
    if (align & VZ_CENTER) d.x -= e->w / 2;
    else if (align & VZ_RIGHT) d.x -= e->w;
    if (align & VZ_MIDDLE) d.y -= e->h / 2;
    else if (align & VZ_BOTTOM) d.y -= e->h;
    SDL_RenderCopy(t->r, e->tex, NULL, &d);
    return e->w;
}

void vz_text_size(vz_text *t, const char *s, int px, int *w, int *h) {
    entry *e = lookup(t, s, px, (vz_rgba){255, 255, 255, 255}, (vz_rgba){0, 0, 0, 0});
    *w = e ? e->w : 0;
    *h = e ? e->h : 0;
}

void vz_text_measure(vz_text *t, const char *s, int px, int *w, int *h) {
    *w = *h = 0;
    if (!s || !*s) return;
    if (px < 4) px = 4;
    if (px > 400) px = 400;
    sized_font *f = font_at(t, px);
    if (f) TTF_SizeUTF8(font_for(f, s), s, w, h);
}

int vz_text_height(vz_text *t, int px, int cjk) {
    if (px < 4) px = 4;
    if (px > 400) px = 400;
    sized_font *f = font_at(t, px);
    if (!f) return px + px / 5;
    TTF_Font *font = cjk && f->cjk ? f->cjk : f->main;
    return TTF_FontHeight(font);
}

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

const char *vz_text_fit(vz_text *t, const char *s, int px, int maxw, char *out, size_t size) {
    entry *e = lookup(t, s, px, (vz_rgba){255, 255, 255, 255}, (vz_rgba){0, 0, 0, 0});
    if (!e || maxw <= 0 || e->w <= maxw) return s;
    size_t n = strlen(s);
    int keep;
    if (e->fit_w == maxw && e->fit_len >= 0 && e->fit_len <= (int)n) keep = e->fit_len;
    else { /* the longest prefix of whole characters that fits with the ellipsis: binary search */
        sized_font *f = font_at(t, px);
        int cut[512], nc = 0; /* character boundaries: prefix lengths to try */
        for (int i = 1; i <= (int)n && nc < 512; i++)
            if (i == (int)n || ((unsigned char)s[i] & 0xC0) != 0x80) cut[nc++] = i;
        int lo = -1, hi = nc - 1; /* cut[lo] fits (lo = -1: only the ellipsis) */
        char buf[2100];
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            int len = cut[mid], w = 0, h = 0;
            if ((size_t)len + 4 > sizeof buf) { hi = mid - 1; continue; }
            memcpy(buf, s, (size_t)len);
            memcpy(buf + len, ELLIPSIS, 4);
            if (f) TTF_SizeUTF8(font_for(f, buf), buf, &w, &h);
            if (w <= maxw) lo = mid;
            else hi = mid - 1;
        }
        keep = lo < 0 ? 0 : cut[lo];
        while (keep > 0 && s[keep - 1] == ' ') keep--; /* no space before the ellipsis */
        e->fit_w = maxw;
        e->fit_len = keep;
    }
    if ((size_t)keep + 4 > size) keep = size > 4 ? (int)size - 4 : 0;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80) keep--;
    memcpy(out, s, (size_t)keep);
    memcpy(out + keep, ELLIPSIS, 4); /* (3 bytes and the terminating 0) */
    return out;
}

void vz_text_frame(vz_text *t) { t->frame++; }

long vz_text_rasterised(const vz_text *t) { return t->rasterised; }

int vz_text_has_cjk(const vz_text *t) { return t->paths.cjk[0] != 0; }
