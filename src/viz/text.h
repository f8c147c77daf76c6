/* text.h - a cache of rendered strings: each (string, pixel size, colour) is rasterised once with
 * SDL2_ttf into a texture and reused every frame until it goes unused for a while. */
#ifndef VZ_TEXT_H
#define VZ_TEXT_H

#include <SDL2/SDL.h>

#include "colormap.h"
#include "core/err.h"
#include "font.h"

typedef struct vz_text vz_text;

/* Alignment flags for vz_text_draw: horizontal and vertical anchors of (x, y). */
enum { VZ_LEFT = 0, VZ_CENTER = 1, VZ_RIGHT = 2, VZ_TOP = 0, VZ_MIDDLE = 4, VZ_BOTTOM = 8 };

/* Opens the fonts and creates an empty cache drawing to r. */
sf_err vz_text_create(vz_text **out, SDL_Renderer *r, const vz_font_paths *fonts);
void vz_text_destroy(vz_text *t);

/* Draws UTF-8 text s with its anchor at (x, y), blended over what is there; returns the width drawn (0 for
 * empty text). */
int vz_text_draw(vz_text *t, const char *s, int px, vz_rgba col, int x, int y, int align);
/* The same on a plain background of colour bg (alpha 255): antialiased against it and copied opaque, which
 * the software renderer draws several times faster; bg with alpha < 255 blends as vz_text_draw does. */
int vz_text_draw_on(vz_text *t, const char *s, int px, vz_rgba col, vz_rgba bg, int x, int y, int align);

/* Writes the size s would have at px into *w, *h (rasterising it into the cache if new). */
void vz_text_size(vz_text *t, const char *s, int px, int *w, int *h);

/* Writes the size s would have at px into *w, *h without rasterising it (for wrapping text). */
void vz_text_measure(vz_text *t, const char *s, int px, int *w, int *h);

/* Returns the height of a line of text at px in the main font, or (cjk = 1) the CJK font when there is one. */
int vz_text_height(vz_text *t, int px, int cjk);

/* Returns s if it is at most maxw pixels wide at px, else writes into out (size bytes) the longest prefix of
 * whole UTF-8 characters that fits with an ellipsis after it, and returns out. The cut is remembered with the
 * string, so drawing the same cut string again costs one lookup. */
const char *vz_text_fit(vz_text *t, const char *s, int px, int maxw, char *out, size_t size);

/* Marks the start of a frame: entries unused for many frames are released when the cache fills. */
void vz_text_frame(vz_text *t);

/* Returns how many strings have been rasterised since creation (tests check that a repeated frame adds none). */
long vz_text_rasterised(const vz_text *t);

/* Returns 1 if a CJK-capable font was found (text with Chinese characters renders with it). */
int vz_text_has_cjk(const vz_text *t);

#endif
