/* layout.h - where every panel goes and how big its text is, computed in one pass from the window size,
 * the user's zoom, the mode (normal or projector), the spotlight and whether a lesson plays. Panels draw
 * inside their rectangle with the sizes given here and never pick a size of their own.
 *
 * The layout is a choice among arrangements, from the densest to the one with the most room per panel:
 *   normal    0 grid        every panel: three columns between the tokens strip and the narration
 *             1 two columns the spotlight large on the left, two more panels on the right
 *             2 spotlight   the spotlight alone above the narration
 *   projector 3 beside      the spotlight with the narration in a column beside it
 *             4 below       the spotlight with the narration under it
 * It takes the densest arrangement in which every panel shown gets at least its minimum size (measured in
 * lines and characters of its own text). Zooming in makes every text bigger; so that the heatmaps grow
 * too, the zoom pass (panels.c) walks the zoom steps from 1 up to the zoom asked for and, whenever the
 * spotlight's cells would shrink, drops panels (the next sparser arrangement) and then heads (the focused
 * head alone, enlarged); when nothing is left to drop the zoom stops there. Zooming out shrinks the
 * heatmaps with the text. Panels left out are listed in a tab strip; clicking one (or Tab) makes it the
 * spotlight. (In normal mode a focus on the tokens keeps them a strip: only a spotlight asked for makes them one.) A new panel needs an entry in vz_panel, a name, a minimum size (layout.c) and a
 * drawing function (panels.c's table); arrangements 1-4 show it as soon as it is the spotlight. */
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
    VZ_P_ACT,     /* residual stream, norms, Q/K/V strips, tokens x channels */
    VZ_P_LENS,    /* the logit lens: layers x positions, the top token read after each layer (a spotlight only) */
    VZ_P_NARR,    /* narration: one sentence and a formula, or a lesson's text */
    VZ_P_COUNT
} vz_panel;

typedef enum { VZ_ARR_GRID = 0, VZ_ARR_TWO, VZ_ARR_SPOT, VZ_ARR_BESIDE, VZ_ARR_BELOW, VZ_ARR_ONLY } vz_arrangement;

/* Text sizes in pixels. Every text on screen uses one of them. */
typedef struct {
    int title; /* panel titles */
    int body;  /* narration, the top bar, lists */
    int label; /* axis labels, tokens, boxes */
    int small; /* legend ticks, position numbers: the smallest text, never below the mode's minimum */
    int narr;  /* the narration's text: body, or smaller down to the mode's narration minimum when a long
                * text needs it (the layout pass sets it from the text; see vz_narr_fit in panels.h) */
} vz_fonts;

typedef struct {
    int w, h;         /* the window */
    float zoom;       /* the user's scale (+/- keys, --zoom): multiplies every text size */
    int projector;    /* 1: projector mode: big text, one spotlight panel beside the narration */
    int lesson;       /* 1: a lesson plays: the narration needs more room */
    int spotlight;    /* the panel asked for as the spotlight (Tab, --panel, a tab click), or -1: automatic */
    int focus;        /* the focused panel (a lesson's @focus, a click), or -1 */
    int only;         /* draw only this panel over the window (render --panel in normal mode), or -1 */
    int token_rows;   /* rows of the tokens strip: 2 for encoder-decoder models, 1 otherwise */
    float line;       /* height of a line of text per pixel of font size (the fonts' own; 0: 1.2) */
    int min_arr;      /* normal mode: the densest arrangement allowed (0: any); the zoom pass raises it */
    float narr_share; /* projector beside: the narration column's share of the width (0: 0.37); a long text gets more */
    int timeline;     /* 1: a snapshot series plays: the top bar gets a second row for the timeline slider */
    float narr_below; /* projector: > 0 puts the narration under the spotlight, across the width, taking this
                       * share of the height under the tokens strip (the spotlight needs the width) */
    int narr_h;       /* normal mode, a lesson: > 0 is the height in pixels the narration pane needs for its text
                       * (the layout pass measures it, vz_narr_need); the pane takes it, no less than three lines
                       * of body text and no more than 30% of the height; 0: 22% of the height */
} vz_layout_in;

typedef struct {
    vz_rect r[VZ_P_COUNT]; /* each panel's rectangle; w == 0 when the panel is not shown */
    vz_rect strip;         /* the tab strip listing the panels not shown (w == 0: none) */
    int arr;               /* vz_arrangement */
    int spot;              /* the spotlight panel (arrangements 1-4), or -1 */
    vz_fonts f;
    int min_text;          /* the mode's smallest text size: normal max(11, h/90), projector h/48 */
    int min_narr;          /* the narration's smallest size: normal = body, projector h/28 */
    int pad, gap;          /* padding inside panels, gap between them */
    int token_rows;        /* rows of the tokens strip */
    float s;               /* pixels per layout unit (1 at 1920x1080 normal, zoom 1): line widths, dots */
    int font;              /* = f.body (older callers) */
    float line;            /* the line factor used */
    int w, h;
    float zoom;            /* the zoom in effect: the one asked for, or less when the window cannot grow more */
    int projector;
    /* set by the zoom pass (vz_draw_all) so the spotlight's heatmaps grow with the zoom */
    int one_head;          /* 1: the attention panel shows only the focused head, enlarged */
    int heat_max;          /* the largest cell the spotlight's heatmaps may take (0: no limit; zooming out) */
} vz_layout;

/* Computes the text sizes for the window and mode (vz_layout_compute does this first). */
vz_fonts vz_layout_fonts(const vz_layout_in *in, int *min_text, int *min_narr);

/* Computes the whole layout. */
void vz_layout_compute_in(vz_layout *l, const vz_layout_in *in);

/* Computes the normal-mode layout of a w x h window at zoom, no lesson, automatic spotlight (tests, tools). */
void vz_layout_compute(vz_layout *l, int w, int h, float zoom);

/* Returns the height of one line of text of size px. */
int vz_line_h(const vz_layout *l, int px);

/* Returns 1 if every panel shown has at least its minimum size (arrangements 2-4 can fail it at high zoom). */
int vz_layout_fits(const vz_layout *l);

/* Returns 1 if panel p is shown. */
int vz_layout_shown(const vz_layout *l, int p);

/* Returns the panel the spotlight goes to when nothing asks for one (the attention panel), or follows focus. */
int vz_layout_auto_spot(int focus);

/* Returns 1 if panel p can be a spotlight (every panel but the top bar and the narration). */
int vz_panel_spotlightable(int p);

/* Returns 1 if two rectangles share any pixel. */
int vz_rect_overlap(vz_rect a, vz_rect b);
/* Returns 1 if point (x, y) is inside r. */
int vz_rect_has(vz_rect r, int x, int y);
/* Returns 1 if rectangle a lies inside b. */
int vz_rect_inside(vz_rect a, vz_rect b);
/* Returns r shrunk by d pixels on every side (never negative in size). */
vz_rect vz_rect_inset(vz_rect r, int d);

/* Returns the panel's short name ("attention", "tokens", ...) as --panel accepts it, or parses one
 * back (-1 if unknown). */
const char *vz_panel_name(int p);
int vz_panel_parse(const char *name);

#endif
