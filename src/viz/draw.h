/* draw.h - the drawing context the panels use: the layout (rectangles and text sizes), the theme and
 * palette, the language, primitives, text that never leaves the room it is given (cut with an ellipsis or
 * wrapped), heatmaps as streaming textures, legends, and the hover and click regions the panels register
 * while they draw (the application resolves them; panels keep no state between frames).
 *
 * Every text drawn in a frame is written to a frame log (its box, its size and the panel that drew it), and
 * every heatmap to the hit list, so tests can check a drawn frame: no text over other text, none outside its
 * panel, none below the mode's minimum size, each heatmap where it says it is. */
#ifndef VZ_DRAW_H
#define VZ_DRAW_H

#include <SDL2/SDL.h>

#include "colormap.h"
#include "layout.h"
#include "model/trace.h"
#include "strings.h"
#include "text.h"
#include "theme.h"

/* The dark theme's colours under their old names, for code that draws outside a panel context (the lesson
 * index, the help overlay); panels use c->th. */
#define VZ_BG ((vz_rgba){18, 20, 26, 255})
#define VZ_PANEL ((vz_rgba){30, 33, 42, 255})
#define VZ_EDGE ((vz_rgba){62, 68, 84, 255})
#define VZ_FG ((vz_rgba){226, 230, 238, 255})
#define VZ_DIM ((vz_rgba){150, 158, 175, 255})
#define VZ_ACCENT ((vz_rgba){255, 196, 61, 255}) /* the cursor: current token, row, block */
#define VZ_FOCUS ((vz_rgba){110, 190, 255, 255}) /* the learner's focus: head, clicked panel */
#define VZ_HILITE ((vz_rgba){255, 92, 160, 255}) /* cells a lesson points at */
#define VZ_WRONG ((vz_rgba){255, 255, 255, 255})  /* the cell a learner picked when it was not the answer */
#define VZ_GOOD ((vz_rgba){96, 210, 120, 255})   /* "right" in a question's verdict */

/* A heatmap: rows [row0, row0 + nrows) x cols [0, ncols) of a rank-2 trace entry. */
typedef struct {
    const sf_trace_entry *e;
    int row0, nrows, ncols;
    int vis;                     /* how many of the rows the cursor has computed (the rest are drawn hidden) */
    vz_cmap map;
    float lo, hi;                /* value range: sequential maps take [lo,hi] to [0,1]; diverging maps [-hi,hi] */
    const sf_trace_entry *mask;  /* optional (query,key) mask: cells where it is -inf are drawn masked */
    int hatch;                   /* texels per cell side for hatched masked cells (2..16); 0: flat grey */
    int hide;                    /* 1 + a row drawn hidden although computed (a lesson question's answer); 0: none */
    int absent;                  /* 1: cells the mask marks -inf are keys that do not exist yet (a decoder query's
                                  * later keys): drawn as not computed, without hatching, rather than as masked */
    const int *rperm, *cperm;    /* a reordered heatmap (a compared run aligned by token), or NULL: drawn row i
                                  * (row0 <= i < row0 + nrows) shows the entry's row rperm[i], drawn column j its
                                  * column cperm[j]; rows, vis and hide still count the entry's own rows (a row r
                                  * is computed when r < row0 + vis), highlights are drawn at the drawn places.
                                  * The arrays must outlive the frame after next (hover reads the last frame's
                                  * hits) and change only with c->generation. */
    int values;                  /* n > 0: a single cell a lesson's highlight frames prints its value inside the frame
                                  * (two decimals for a weight, "0.95" or ".95", at the label size down to the
                                  * mode's smallest text) when it fits, keeping n - 1 px free above and below it (a
                                  * dot in the cell's corner); a hidden, uncomputed or masked cell none. 0: none */
} vz_heat;

/* Cells to highlight (a lesson's @highlight): an inclusive range on each axis of one trace entry;
 * hi = -1 means to the end of the axis. The same layout as sf_lesson_cells, so lessons copy straight in. */
typedef struct {
    char name[40];
    int rank;
    int lo[2], hi[2];
    int style;                   /* 0: what a lesson points at (theme hilite); 1: a learner's wrong pick (wrong) */
} vz_highlight;
#define VZ_MAX_HIGHLIGHTS 16

/* Who drew something: a panel (vz_panel), the tab strip, or an overlay (tooltip, help) drawn over panels. */
enum { VZ_OWNER_OVERLAY = -1, VZ_OWNER_STRIP = VZ_P_COUNT };

typedef struct {
    vz_rect r;                   /* where the whole heatmap was drawn */
    vz_rect clip;                /* the part of r that is visible (r itself when not clipped) */
    vz_heat h;                   /* the heatmap under r */
    int owner;                   /* the panel that drew it */
} vz_hit;

/* One text drawn this frame: its box on screen (the rendered string's full size), its size, its colour, its
 * owner, and the string drawn (its first 63 bytes), and whether it was cut to fit (ending in "…", maybe past
 * those bytes). */
typedef struct {
    vz_rect r;
    int px;
    int owner;
    char s[64];
    int cut;
    vz_rgba col;
} vz_textbox;

typedef enum {
    VZ_CLICK_PANEL = 1, VZ_CLICK_THUMB, VZ_CLICK_ARCH, VZ_CLICK_TOKEN, VZ_CLICK_PICK, VZ_CLICK_SPOT, VZ_CLICK_STAGE,
    VZ_CLICK_TIMELINE
} vz_click_kind;
typedef struct {
    vz_rect r;
    int kind, a, b, c;           /* THUMB: block, head; ARCH: stack, layer, sub; TOKEN: stack, position; PICK: token id;
                                  * SPOT: panel (a tab of the strip); STAGE: a stage of the residual stream;
                                  * TIMELINE: the slider's track (the snapshot follows x along r) */
} vz_click;

#define VZ_MAX_HITS 512
#define VZ_MAX_FRAMES 256
#define VZ_MAX_CLICKS 512
#define VZ_MAX_TEXTS 4096
#define VZ_HEAT_POOL 256

/* One frame drawn this frame around cells (a lesson's highlight, the cursor's row): its outer rectangle, the
 * thickness of its band just inside it, the clip it was drawn under (w 0: none), its owner and how many texts
 * were drawn before it (those after it are on top). No text drawn before may sit under the band. */
typedef struct {
    vz_rect r;
    int thick;
    vz_rect clip;
    int owner;
    int texts_before;
} vz_framebox;

typedef struct vz_heat_slot vz_heat_slot;
typedef struct vz_wrap_memo vz_wrap_memo;

typedef struct {
    SDL_Renderer *r;
    vz_text *text;
    vz_layout lay;
    const vz_theme *th;          /* colours: set with vz_ctx_style */
    const vz_palette *pal;       /* colour maps: pal->seq for [0,1], pal->div for signed values */
    int lang;                    /* VZ_LANG_EN or VZ_LANG_ZH: every string comes from vz_tr(lang, id) */
    int owner;                   /* the panel being drawn (frame log, hits), or VZ_OWNER_OVERLAY */
    int mx, my;                  /* mouse position, or -1 */
    long frame;
    long generation;             /* bumped by the app whenever the trace's numbers (or the colours) change */
    vz_hit hits[VZ_MAX_HITS];
    int n_hits;
    vz_framebox frames[VZ_MAX_FRAMES]; /* the frames drawn around cells this frame (tests read them) */
    int n_frames;
    vz_click clicks[VZ_MAX_CLICKS];
    int n_clicks;
    vz_textbox *texts;           /* (VZ_MAX_TEXTS) the frame log: every text drawn this frame */
    int n_texts;
    long texts_dropped;          /* texts drawn past the log's capacity this frame */
    vz_rect clip;                /* current clip rectangle (w == 0: none); set with vz_clip */
    const vz_highlight *hl;      /* (n_hl) cells every heatmap of their entry outlines this frame */
    int n_hl;
    const vz_highlight *hide;    /* a question's asked row (lo[0]) of entry name, hidden this frame; NULL: none */
    float narr_units;            /* (unused; kept for older callers) */
    vz_heat_slot *pool;          /* (VZ_HEAT_POOL) streaming textures, keyed by heatmap id */
    long uploads;                /* heatmap texture uploads so far (tests: a repeated frame uploads none) */
    SDL_Texture *legend[VZ_CMAP_COUNT];
    SDL_Texture *hatch[VZ_THEME_COUNT]; /* 4x4 hatch tiles for legend swatches, one per theme */
    vz_wrap_memo *wraps;         /* wrapped paragraphs, reused while their text, size and width stay */
    struct vz_pass_memo *pass;   /* the last layout pass (panels.c), reused while its inputs stay */
    int panel_ready;             /* 1: the target already has the theme's panel colour under every panel this frame */
    vz_rgba ink;                 /* the plain colour under the texts being drawn (alpha 0: unknown, blend): set
                                  * with vz_ink; text on it is drawn opaque, several times faster */
} vz_ctx;

/* Creates a context over renderer r and text cache t (both stay owned by the caller); dark theme, viridis. */
sf_err vz_ctx_init(vz_ctx *c, SDL_Renderer *r, vz_text *t);
void vz_ctx_free(vz_ctx *c);
/* Chooses the theme (vz_theme_id), palette (vz_palette_id) and language of the next frames. */
void vz_ctx_style(vz_ctx *c, int theme, int palette, int lang);
/* Computes c->lay from in (with the fonts' own line height) and nothing else: the zoom pass tries layouts. */
void vz_ctx_layout(vz_ctx *c, const vz_layout_in *in);
/* Starts a frame: forgets last frame's hits, clicks and text log (the layout stays as computed). */
void vz_ctx_reset(vz_ctx *c);
/* Starts a frame: vz_ctx_layout, then vz_ctx_reset. */
void vz_ctx_begin_in(vz_ctx *c, const vz_layout_in *in);
/* The same for a normal-mode w x h window at zoom with no panel asked for (the lesson index). */
void vz_ctx_begin(vz_ctx *c, int w, int h, float zoom);

/* Returns string id in the context's language. */
const char *vz_s(const vz_ctx *c, vz_str id);

/* Returns the pixel size of s layout units (at least 1): line widths, dots, outlines. */
int vz_px(const vz_ctx *c, float units);
/* Returns the height of a line of text of size px (vz_line_h of the layout). */
int vz_lh(const vz_ctx *c, int px);

/* Primitives. */
void vz_fill(vz_ctx *c, vz_rect r, vz_rgba col);
void vz_outline(vz_ctx *c, vz_rect r, vz_rgba col, int thick);
/* vz_outline, logged in c->frames: a frame around cells, which tests check covers no text. */
void vz_frame(vz_ctx *c, vz_rect r, vz_rgba col, int thick);
/* Fills a panel's rectangle with the panel colour, unless the frame was cleared to it (c->panel_ready). */
void vz_fill_panel(vz_ctx *c, vz_rect r);
void vz_line(vz_ctx *c, int x0, int y0, int x1, int y1, vz_rgba col);

/* Draws text s at px anchored at (x, y) (VZ_LEFT/CENTER/RIGHT | VZ_TOP/MIDDLE/BOTTOM), cut with an ellipsis
 * to at most maxw pixels wide (maxw <= 0: no limit); logs its box. Returns the width drawn. */
int vz_print(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align, int maxw);
/* Returns the ink for numbers printed on a cell of colour bg: the theme's dark ink on a light cell, light on dark. */
vz_rgba vz_ink_on(const vz_ctx *c, vz_rgba bg);
/* Says what plain colour the next texts are drawn on (vz_ink_none: unknown, so they blend); panels set it
 * when they draw text on a fill of their own (boxes, bars) and put it back after. */
void vz_ink(vz_ctx *c, vz_rgba bg);
#define vz_ink_none ((vz_rgba){0, 0, 0, 0})
/* vz_print with no width limit (callers that measured first). */
int vz_label(vz_ctx *c, const char *s, int px, vz_rgba col, int x, int y, int align);
/* Returns the width of s at px. */
int vz_label_w(vz_ctx *c, const char *s, int px);

/* Draws s wrapped into r at px: '\n' starts a paragraph, lines break at spaces and between Chinese
 * characters; when r is too short the last line that fits ends with an ellipsis. Returns the y below the
 * last line drawn (r.y when s is empty). */
int vz_wrap(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r);
/* vz_wrap with each line centred in r and the lines as a block centred vertically in r (box labels). */
int vz_wrap_centred(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r);
/* Returns the height s needs wrapped to width w at px (without drawing). */
int vz_wrap_height(vz_ctx *c, const char *s, int px, int w);
/* Returns the byte length of the next unit a line may break after, starting at p (not a space or newline):
 * one Chinese character, or a run of other non-space characters, with the closing punctuation after it
 * (，。：）」 …), which never starts a line. */
size_t vz_wrap_unit(const char *p);
/* Returns 1 if the character at p must not start a line: closing punctuation (full-width or ASCII) and, unless
 * loose, a particle 的 了 们 吗 呢 吧 that would stand alone on its paragraph's last line (only closing marks after
 * it); a line that would start with one after a space takes the word before it along. vz_wrap keeps such a particle
 * with its word unless that costs the paragraph a line. */
int vz_wrap_no_start(const char *p, int loose);
/* Returns the height s needs wrapped to width w at px by one rule: loose (particles may start a line) or strict
 * (not drawn, not remembered: what vz_wrap chooses between). */
int vz_wrap_height_by(vz_ctx *c, const char *s, int px, int w, int loose);

/* Draws a panel's background and title (too wide: without its first bracketed aside, "Cross-attention, layer 1";
 * still too wide: cut); returns the content rectangle below the title. */
vz_rect vz_panel_frame(vz_ctx *c, vz_rect r, const char *title, int focused);
/* vz_panel_frame with a shorter title alt that a title too wide even without its aside gives way to ("Scores:
 * dec.L1.cross H0, query 3" for "Scores to probabilities: …"); alt NULL: vz_panel_frame. */
vz_rect vz_panel_frame_alt(vz_ctx *c, vz_rect r, const char *title, const char *alt, int focused);
/* vz_print of the first of s, s without its first bracketed aside ("every token after L1 self" for "every token
 * after L1 self (click a sub-layer to choose)"), alt, alt without its aside, that fits in maxw (none: the last
 * one, cut); alt may be NULL. Returns the width drawn. */
int vz_print_fit(vz_ctx *c, const char *s, const char *alt, int px, vz_rgba col, int x, int y, int align, int maxw);

/* Returns the largest rectangle inside r, anchored top-left, whose size is a whole number of square
 * cells for a rows x cols grid (cell size in *cell); cells are at most max_cell pixels. */
vz_rect vz_fit_grid(vz_rect r, int rows, int cols, int max_cell, int *cell);

/* Returns 1 if a question hiding row hide->lo[0] of hide->name also hides that row of entry `name`: the
 * entry itself, and for attention weights the same head's scores and scaled scores (they give the answer
 * away; not when hide->style is 1, a question asked `with scores`), for dec.probs the logits. */
int vz_hide_covers(const vz_highlight *hide, const char *name);

/* Draws heatmap h stretched over dst with nearest filtering, from a streaming texture kept under id
 * and re-uploaded only when its contents change; registers dst for hover. */
void vz_heatmap(vz_ctx *c, const char *id, const vz_heat *h, vz_rect dst);

/* Returns 1 if vz_heatmap, drawing h over dst, prints the value of its drawn cell (r, j) (h->values): its number then
 * keeps h->values - 1 px clear above and below, inside the highlight's band (vz_px(3)) round the cell. */
int vz_heat_value_at(vz_ctx *c, const vz_heat *h, vz_rect dst, int r, int j);

/* Returns how many cells a lesson frames one by one in heatmap h over dst show a number (computed, not hidden, not
 * masked, not cut by the clip) that their cell is too small to print (vz_heat_value_at says 0), up to max: their drawn
 * rows and columns in rows, cols, the trace's value with two decimals in nums ("1.00" for 0.9967), for the panel to
 * print beside the heatmap. */
int vz_heat_unprinted(vz_ctx *c, const vz_heat *h, vz_rect dst, int *rows, int *cols, char (*nums)[24], int max);

/* Returns the ARGB colour vz_heatmap gives value x under map and range (tests compare with this). */
uint32_t vz_heat_argb(vz_cmap map, float lo, float hi, float x);

/* Returns the height vz_legend needs. */
int vz_legend_h(const vz_ctx *c);
/* Draws a colour bar for map over r: what it colours and its range ("weights 0 to 1", "+-3.22: the largest
 * |x| of this row"; caption may be NULL), the range's ends and middle under the bar, and a "masked" swatch
 * when masked. */
void vz_legend(vz_ctx *c, vz_rect r, vz_cmap map, float lo, float hi, int masked, const char *caption);

/* Formats a number for a legend or a cell compactly ("0.50", "-23.0", "1.2e+03"). */
void vz_fmt_num(char *out, size_t n, float x);

/* Writes x as the hover tooltip states it, in the panels' fixed-point style with enough digits to be true: at
 * least two decimals and three significant digits ("0.961", "12.35", "0.00000305", "0.00" for 0); below 10^-6 in
 * powers of ten ("3.05 × 10⁻⁸"); "-inf", "inf", "nan" as such. Returns out. */
char *vz_fmt_exact(char *out, size_t n, float x);

/* The forms a number in a narrow cell may take, most digits first: each is x rounded to its decimals, and
 * only the leading zero is ever dropped ("0.96" -> ".96"), so a cell never says a different number. */
enum { VZ_CELL_2, VZ_CELL_2_SHORT, VZ_CELL_1, VZ_CELL_1_SHORT, VZ_CELL_0, VZ_CELL_FORMS };
/* Writes x in cell form `form` into out ("0.96", ".96", "1.0", ".4", "7"; "-0.00" written "0.00"); returns out.
 * A value that is not 0 but rounds to 0 in a form of fewer than two decimals is written as "" (0.3 is not "0"). */
char *vz_fmt_cell(char *out, size_t n, float x, int form);
/* Returns the first form from `first` up to `last` in which every value of xs[0..n) that is drawn (use[i] set, or
 * use NULL) fits room pixels at size px, or -1 if none does: one form for a whole strip, so its cells read
 * alike. */
int vz_cell_form(vz_ctx *c, const float *xs, const int *use, int n, int px, int room, int first, int last);

/* Restricts drawing (and hover) to r until vz_clip_off. */
void vz_clip(vz_ctx *c, vz_rect r);
void vz_clip_off(vz_ctx *c);

/* Registers a click region for this frame. */
void vz_click_add(vz_ctx *c, vz_rect r, int kind, int a, int b, int d);
/* Returns the topmost click region at (x, y) from the last frame, or NULL. */
const vz_click *vz_click_at(const vz_ctx *c, int x, int y);
/* Returns the topmost heatmap hover region at (x, y), or NULL; *row, *col receive the cell: the entry's own
 * row and column (through rperm and cperm when the heatmap is reordered). */
const vz_hit *vz_hit_at(const vz_ctx *c, int x, int y, int *row, int *col);

#endif
