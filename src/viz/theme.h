/* theme.h - the look of the window as one table: every colour the panels draw with, the heatmaps' special
 * colours (not computed yet, masked, hatch) and the colour maps for probabilities and for signed values.
 * Panels take all of it from the drawing context (c->th), never from literals, so a theme switch
 * (dark, light for bright rooms) or a palette switch (viridis, cividis, blue-orange) repaints everything.
 * Text sizes are not here: the layout computes them from the window (layout.h). */
#ifndef VZ_THEME_H
#define VZ_THEME_H

#include "colormap.h"

typedef enum { VZ_THEME_DARK = 0, VZ_THEME_LIGHT, VZ_THEME_COUNT } vz_theme_id;

typedef struct {
    const char *name;      /* "dark", "light" (--theme accepts these) */
    vz_rgba bg;            /* behind the panels */
    vz_rgba panel;         /* a panel's background */
    vz_rgba bar;           /* the top bar and the tab strip */
    vz_rgba edge;          /* panel and box outlines */
    vz_rgba fg;            /* text */
    vz_rgba dim;           /* secondary text: axis names, legends, hints */
    vz_rgba accent;        /* the cursor: current token, row, block; a lesson step's title */
    vz_rgba focus;         /* the learner's focus: head, clicked panel, the spotlight */
    vz_rgba hilite;        /* cells a lesson points at */
    vz_rgba wrong;         /* the cell a learner picked when it was not the answer */
    vz_rgba good;          /* "right" in a question's verdict */
    vz_rgba box;           /* a box of the architecture map or a vocabulary grid */
    vz_rgba box_lit;       /* the box the cursor is in */
    vz_rgba tok_seen;      /* a token the cursor has reached */
    vz_rgba tok_gen;       /* a generated token the cursor has reached */
    vz_rgba plot;          /* the positional-encoding curves' background */
    vz_rgba tip;           /* the tooltip's background */
    vz_rgba shade;         /* the veil behind an overlay (alpha < 255) */
    vz_rgba ink_on_light;  /* numbers printed on light heatmap cells */
    vz_rgba ink_on_dark;   /* numbers printed on dark heatmap cells */
    vz_rgba dot, dot_ring; /* a comparison's mark on a weight that changed, and its ring */
    vz_rgba curve[4];      /* the positional-encoding curves (Okabe-Ito colours) */
    vz_rgba hidden;        /* a heatmap cell the cursor has not computed yet */
    vz_rgba masked;        /* a masked cell's base grey (drawn hatched) */
    vz_rgba hatch;         /* a masked cell's stripes */
} vz_theme;

/* Returns theme id (clamped to a valid one). */
const vz_theme *vz_theme_get(int id);

/* Returns the theme id named name ("dark", "light"), or -1. */
int vz_theme_parse(const char *name);

/* A palette: the map for values in [0, 1] (probabilities) and the map for signed values. */
typedef enum { VZ_PAL_VIRIDIS = 0, VZ_PAL_CIVIDIS, VZ_PAL_BLUE_ORANGE, VZ_PAL_COUNT } vz_palette_id;
typedef struct {
    const char *name;      /* "viridis", "cividis", "blue-orange" (--cmap accepts these) */
    vz_cmap seq;           /* probabilities and other values in [0, 1] */
    vz_cmap div;           /* signed values, symmetric around 0 */
} vz_palette;

/* Returns palette id (clamped), or parses one by name (-1 if unknown). */
const vz_palette *vz_palette_get(int id);
int vz_palette_parse(const char *name);

#endif
