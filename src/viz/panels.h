/* panels.h - the panels: each draws one part of the view into its rectangle, reading the trace
 * through the view and registering hover and click regions; none keeps state between frames. */
#ifndef VZ_PANELS_H
#define VZ_PANELS_H

#include "draw.h"
#include "view.h"

void vz_panel_top(vz_ctx *c, const vz_view *v, vz_rect r);         /* title, model, cursor position */
void vz_panel_tokens(vz_ctx *c, const vz_view *v, vz_rect r);      /* input and generated tokens */
void vz_panel_arch(vz_ctx *c, const vz_view *v, vz_rect r);        /* the architecture map, cursor lit */
void vz_panel_output(vz_ctx *c, const vz_view *v, vz_rect r);      /* top-k next-token probabilities */
void vz_panel_attention(vz_ctx *c, const vz_view *v, vz_rect r);   /* one heatmap per head of the focused layer */
void vz_panel_thumbs(vz_ctx *c, const vz_view *v, vz_rect r);      /* every layer x head, small */
void vz_panel_scores(vz_ctx *c, const vz_view *v, vz_rect r);      /* scores, scaled, mask, softmax of one query */
void vz_panel_pe(vz_ctx *c, const vz_view *v, vz_rect r);          /* positional encoding curves and matrix */
void vz_panel_act(vz_ctx *c, const vz_view *v, vz_rect r);         /* residual stream, norms, Q/K/V strips */
void vz_panel_narration(vz_ctx *c, const vz_view *v, vz_rect r);   /* one sentence and a formula */

/* Draws the hover tooltip for the mouse position (exact value and its name), if over a cell. */
void vz_tooltip(vz_ctx *c, const vz_view *v);
/* Draws the help overlay listing every key of the key table (keys.h) for the gui, or for the lesson
 * player while a lesson plays (help.c). */
void vz_help(vz_ctx *c, const vz_view *v);

/* Draws s wrapped into r at px: '\n' starts a new line, lines break at spaces and between Chinese
 * characters; lines that do not fit r's height are not drawn (r.h = 0 measures). Returns the y below the
 * last line. */
int vz_wrap(vz_ctx *c, const char *s, int px, vz_rgba col, vz_rect r);

/* Draws the whole interface into a w x h target at zoom; only != -1 draws that one panel over the
 * whole target instead. */
void vz_draw_all(vz_ctx *c, const vz_view *v, int w, int h, float zoom, int only);

/* Writes the label of a token at a position of a stack ("a", "<bos>", a space shown as U+2423; "?" for a
 * generated token the cursor has not reached, so the future is not given away). */
const char *vz_token_label(const vz_view *v, int stack, int pos, char out[16]);

#endif
