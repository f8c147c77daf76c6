/* draw.h - the drawing context the panels use: primitives, text, heatmaps as streaming textures,
 * legends, and the hover and click regions the panels register while they draw (the application
 * resolves them; panels keep no state between frames). */
#ifndef VZ_DRAW_H
#define VZ_DRAW_H

#include <SDL2/SDL.h>

#include "colormap.h"
#include "layout.h"
#include "model/trace.h"
#include "text.h"

/* Theme colours. */
#define VZ_BG ((vz_rgba){18, 20, 26, 255})
#define VZ_PANEL ((vz_rgba){30, 33, 42, 255})
#define VZ_EDGE ((vz_rgba){62, 68, 84, 255})
#define VZ_FG ((vz_rgba){226, 230, 238, 255})
#define VZ_DIM ((vz_rgba){140, 148, 165, 255})
#define VZ_ACCENT ((vz_rgba){255, 196, 61, 255}) /* the cursor: current token, row, block */
#define VZ_FOCUS ((vz_rgba){110, 190, 255, 255}) /* the learner's focus: head, clicked panel */
#define VZ_HILITE ((vz_rgba){255, 92, 160, 255}) /* cells a lesson points at */
#define VZ_WRONG ((vz_rgba){255, 255, 255, 255})  /* the cell a learner picked when it was not the answer */
#define VZ_GOOD ((vz_rgba){96, 210, 120, 255})   /* "right" in a question's verdict */

/* A heatmap: rows [row0, row0+nrows) and columns [0, ncols) of a rank-2 trace entry. */
typedef struct {
    const sf_trace_entry *e;
    int row0, nrows, ncols;
    int vis;                     /* how many of the rows the cursor has computed (the rest are drawn hidden) */
    vz_cmap map;
    float lo, hi;                /* value range: viridis maps [lo,hi] to [0,1]; diverging maps [-hi,hi] */
    const sf_trace_entry *mask;  /* optional (query,key) mask: cells where it is -inf are drawn masked */
    int hatch;                   /* texels per cell side for hatched masked cells (2..16); 0: flat grey */
    int hide;                    /* 1 + a row drawn hidden although computed (a lesson question's answer); 0: none */
} vz_heat;

/* Cells to highlight (a lesson's @highlight): an inclusive range on each axis of one trace entry;
 * hi = -1 means to the end of the axis. The same layout as sf_lesson_cells, so lessons copy straight in. */
typedef struct {
    char name[40];
    int rank;
    int lo[2], hi[2];
    int style;                   /* 0: what a lesson points at (VZ_HILITE); 1: a learner's wrong pick (VZ_WRONG) */
} vz_highlight;
#define VZ_MAX_HIGHLIGHTS 16

typedef struct {
    vz_rect r;                   /* where the whole heatmap was drawn */
    vz_rect clip;                /* the part of r that is visible (r itself when not clipped) */
    vz_heat h;                   /* the heatmap under r */
} vz_hit;

typedef enum { VZ_CLICK_PANEL = 1, VZ_CLICK_THUMB, VZ_CLICK_ARCH, VZ_CLICK_TOKEN, VZ_CLICK_PICK } vz_click_kind;
typedef struct {
    vz_rect r;
    int kind, a, b, c;           /* THUMB: block, head; ARCH: stack, layer, sub; TOKEN: stack, position; PICK: token id */
} vz_click;

#define VZ_MAX_HITS 512
#define VZ_MAX_CLICKS 512
#define VZ_HEAT_POOL 256

typedef struct vz_heat_slot vz_heat_slot;

typedef struct {
    SDL_Renderer *r;
    vz_text *text;
    vz_layout lay;
    int mx, my;                  /* mouse position, or -1 */
    long frame;
    long generation;             /* bumped by the app whenever the trace's numbers change */
    int lang;                    /* the interface's language (strings.h VZ_LANG_*), set by the app each frame */
    vz_hit hits[VZ_MAX_HITS];
    int n_hits;
    vz_click clicks[VZ_MAX_CLICKS];
    int n_clicks;
    vz_rect clip;                /* current clip rectangle (w == 0: none); set with vz_clip */
    const vz_highlight *hl;      /* (n_hl) cells every heatmap of their entry outlines this frame */
    int n_hl;
    const vz_highlight *hide;    /* a question's asked row (lo[0]) of entry name, hidden this frame; NULL: none */
    float narr_units;            /* height of the narration strip in layout units (0: the default; lessons: more) */
    vz_heat_slot *pool;          /* (VZ_HEAT_POOL) streaming textures, keyed by heatmap id */
    long uploads;                /* heatmap texture uploads so far (tests: a repeated frame uploads none) */
    SDL_Texture *legend[VZ_CMAP_COUNT];
    SDL_Texture *hatch;          /* 4x4 hatch tile for legend swatches */
} vz_ctx;

/* Creates a context over renderer r and text cache t (both stay owned by the caller). */
sf_err vz_ctx_init(vz_ctx *c, SDL_Renderer *r, vz_text *t);
void vz_ctx_free(vz_ctx *c);
/* Starts a frame: lays out a w x h window at zoom and forgets last frame's hit and click regions. */
void vz_ctx_begin(vz_ctx *c, int w, int h, float zoom);

/* Returns the pixel size of s layout units (at least 1). */
int vz_px(const vz_ctx *c, float units);

/* Primitives. */
void vz_fill(vz_ctx *c, vz_rect r, vz_rgba col);
void vz_outline(vz_ctx *c, vz_rect r, vz_rgba col, int thick);
void vz_line(vz_ctx *c, int x0, int y0, int x1, int y1, vz_rgba col);
/* Draws text clipped to nothing (callers keep it inside their panel); returns the width. */
int vz_label(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align);
/* Returns the width of s at px. */
int vz_label_w(vz_ctx *c, const char *s, int px);

/* Draws a panel's background and title; returns the content rectangle below the title. */
vz_rect vz_panel_frame(vz_ctx *c, vz_rect r, const char *title, int focused);

/* Returns the largest rectangle inside r, anchored top-left, whose size is a whole number of square
 * cells for a rows x cols grid (cell size in *cell); cells are at most max_cell pixels. */
vz_rect vz_fit_grid(vz_rect r, int rows, int cols, int max_cell, int *cell);

/* Returns 1 if a question hiding row hide->lo[0] of hide->name also hides that row of entry `name`: the
 * entry itself, and for attention weights the same head's scores and scaled scores (they give the answer
 * away), for dec.probs the logits. */
int vz_hide_covers(const vz_highlight *hide, const char *name);

/* Draws heatmap h stretched over dst with nearest filtering, from a streaming texture kept under id
 * and re-uploaded only when its contents change; registers dst for hover. */
void vz_heatmap(vz_ctx *c, const char *id, const vz_heat *h, vz_rect dst);

/* Returns the ARGB colour vz_heatmap gives value x under map and range (tests compare with this). */
uint32_t vz_heat_argb(vz_cmap map, float lo, float hi, float x);

/* Draws a colour bar for map over r with the range's end labels (and a "masked" swatch if masked). */
void vz_legend(vz_ctx *c, vz_rect r, vz_cmap map, float lo, float hi, int masked);

/* Restricts drawing (and hover) to r until vz_clip_off. */
void vz_clip(vz_ctx *c, vz_rect r);
void vz_clip_off(vz_ctx *c);

/* Registers a click region for this frame. */
void vz_click_add(vz_ctx *c, vz_rect r, int kind, int a, int b, int d);
/* Returns the topmost click region at (x, y) from the last frame, or NULL. */
const vz_click *vz_click_at(const vz_ctx *c, int x, int y);
/* Returns the topmost heatmap hover region at (x, y), or NULL; *row, *col receive the cell. */
const vz_hit *vz_hit_at(const vz_ctx *c, int x, int y, int *row, int *col);

#endif
