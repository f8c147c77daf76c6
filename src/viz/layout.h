/* layout.h - where every panel goes: rectangles computed from the window size and the UI scale.
 * Panels never overlap and stay inside the window from 1280x720 to 3840x2160. */
#ifndef VZ_LAYOUT_H
#define VZ_LAYOUT_H

typedef struct { int x, y, w, h; } vz_rect;

typedef enum {
    VZ_P_TOP = 0, /* title bar: model, cursor position, key hint */
    VZ_P_TOKENS,  /* input and generated tokens */
    VZ_P_ARCH,    /* architecture map */
    VZ_P_OUTPUT,  /* top-k next-token probabilities */
    VZ_P_ATTN,    /* current layer's heads, large */
    VZ_P_THUMBS,  /* every layer x head as thumbnails */
    VZ_P_SCORES,  /* scores -> scaled -> mask -> softmax for one head and query */
    VZ_P_PE,      /* positional encodings */
    VZ_P_ACT,     /* residual stream, norms, Q/K/V strips */
    VZ_P_NARR,    /* narration: one sentence and a formula */
    VZ_P_COUNT
} vz_panel;

typedef struct {
    vz_rect r[VZ_P_COUNT];
    float s;  /* pixels per layout unit: every size (fonts, padding) is a multiple of it */
    int font; /* body text size in pixels */
    int w, h;
} vz_layout;

/* Returns the pixel scale for a window of w x h at zoom (1 = normal; +/- keys change it). */
float vz_layout_scale(int w, int h, float zoom);

/* Computes every panel's rectangle for a w x h window at zoom. */
void vz_layout_compute(vz_layout *l, int w, int h, float zoom);
/* The same with a narration strip narr_units layout units high (64 by default, a lesson's text needs
 * more), never more than a quarter of the height. */
void vz_layout_compute_narr(vz_layout *l, int w, int h, float zoom, float narr_units);

/* Returns 1 if two rectangles share any pixel. */
int vz_rect_overlap(vz_rect a, vz_rect b);
/* Returns 1 if point (x, y) is inside r. */
int vz_rect_has(vz_rect r, int x, int y);
/* Returns r shrunk by d pixels on every side (never negative in size). */
vz_rect vz_rect_inset(vz_rect r, int d);

/* Returns the panel's short name ("attention", "tokens", ...) as --panel accepts it, or parses one
 * back (-1 if unknown). */
const char *vz_panel_name(int p);
int vz_panel_parse(const char *name);

#endif
