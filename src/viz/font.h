/* font.h - finding font files through fontconfig: a main UI font and a CJK-capable fallback. */
#ifndef VZ_FONT_H
#define VZ_FONT_H

#include "core/err.h"

typedef struct {
    char main[1024]; /* the UI font file (DejaVu Sans when installed) */
    char cjk[1024];  /* a font that covers Chinese (Noto Sans CJK when installed), or "" if none */
    int cjk_index;   /* face index inside a .ttc collection */
} vz_font_paths;

/* Finds the fonts. override (may be NULL) is a font file given with --font: it becomes the main font
 * and must exist. Fails with a message naming the package fonts-dejavu-core when no font is found. */
sf_err vz_font_find(const char *override, vz_font_paths *out);

/* Returns 1 if code point cp is CJK (ideographs, kana, hangul, CJK punctuation, full-width forms). */
int vz_font_is_cjk(unsigned cp);

#endif
