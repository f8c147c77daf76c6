/* colormap.h - colour maps for heatmaps: sequential maps for values in [0, 1] (viridis, cividis) and
 * diverging maps for signed values (blue-white-red, blue-white-orange; no red-green pair). Each is a
 * 256-entry table built once. theme.h groups them into palettes. */
#ifndef VZ_COLORMAP_H
#define VZ_COLORMAP_H

#include <stdint.h>

typedef enum {
    VZ_CMAP_VIRIDIS = 0, /* sequential, perceptually uniform, colour-blind safe: t in [0,1] */
    VZ_CMAP_DIVERGING,   /* signed: t in [-1,1], blue for negative, near-white at 0, red for positive */
    VZ_CMAP_CIVIDIS,     /* sequential, optimised for red-green colour-vision deficiency: t in [0,1] */
    VZ_CMAP_BLUE_ORANGE, /* signed: t in [-1,1], blue for negative, near-white at 0, orange for positive */
    VZ_CMAP_COUNT
} vz_cmap;

typedef struct { uint8_t r, g, b, a; } vz_rgba;

/* Returns 1 if the map is diverging (its domain is [-1, 1], 0 in the middle). */
int vz_cmap_signed(vz_cmap map);

/* The dark theme's special colours (theme.h has each theme's own; not part of any map, so they cannot be
 * confused with values). */
#define VZ_COL_HIDDEN ((vz_rgba){28, 30, 36, 255})   /* a cell the cursor has not computed yet */
#define VZ_COL_MASKED ((vz_rgba){96, 96, 100, 255})  /* a masked cell's base grey (drawn hatched) */
#define VZ_COL_HATCH ((vz_rgba){150, 150, 156, 255}) /* a masked cell's hatch stripes */

/* Returns the map's colour at t (clamped into the map's domain: [0,1] or [-1,1]); NaN gives grey. */
vz_rgba vz_cmap_color(vz_cmap map, float t);

/* Returns the same colour packed as ARGB8888 (the layout of the heatmap textures). */
uint32_t vz_cmap_argb(vz_cmap map, float t);

/* Returns the table index (0..255) t falls into, so tests can compare against exact table entries. */
int vz_cmap_index(vz_cmap map, float t);

/* Returns the table entry i (0..255) of a map. */
vz_rgba vz_cmap_entry(vz_cmap map, int i);

/* Packs a colour as ARGB8888. */
uint32_t vz_rgba_argb(vz_rgba c);

/* Returns the name of a map ("viridis", "diverging", "cividis", "blue-orange"). */
const char *vz_cmap_name(vz_cmap map);

#endif
