/* panels.h - the panels, one file each (panel_*.c): each draws one part of the view into the rectangle the
 * layout gave it, with the layout's text sizes and the context's theme and language, reading the trace
 * through the view and registering hover and click regions; none keeps state between frames.
 *
 * Adding a panel: a vz_panel value and its name and minimum size (layout.h, layout.c), a file panel_NAME.c
 * with its vz_panel_NAME, its row in the table in panels.c (drawing function and tab name), and a row in
 * docs/visualizer.md. It appears in the tab strip at once and is drawn when it is the spotlight. */
#ifndef VZ_PANELS_H
#define VZ_PANELS_H

#include "draw.h"
#include "view.h"

void vz_panel_top(vz_ctx *c, const vz_view *v, vz_rect r);         /* title, model, cursor position (panel_top.c) */
void vz_panel_tokens(vz_ctx *c, const vz_view *v, vz_rect r);      /* input and generated tokens (panel_tokens.c) */
void vz_panel_arch(vz_ctx *c, const vz_view *v, vz_rect r);        /* the architecture map, cursor lit (panel_arch.c) */
void vz_panel_output(vz_ctx *c, const vz_view *v, vz_rect r);      /* top-k next-token probabilities (panel_output.c) */
void vz_panel_attention(vz_ctx *c, const vz_view *v, vz_rect r);   /* one heatmap per head of the focused layer (panel_attn.c) */
void vz_panel_thumbs(vz_ctx *c, const vz_view *v, vz_rect r);      /* every layer x head, small (panel_thumbs.c) */
void vz_panel_scores(vz_ctx *c, const vz_view *v, vz_rect r);      /* scores, scaled, mask, softmax of one query (panel_scores.c) */
void vz_panel_pe(vz_ctx *c, const vz_view *v, vz_rect r);          /* positional encoding curves and matrix (panel_pe.c) */
void vz_panel_act(vz_ctx *c, const vz_view *v, vz_rect r);         /* residual stream, every token, Q/K/V (panel_act.c) */
void vz_panel_narration(vz_ctx *c, const vz_view *v, vz_rect r);   /* a sentence and a formula, or a lesson (panel_narr.c) */
void vz_panel_lens(vz_ctx *c, const vz_view *v, vz_rect r);        /* the logit lens: layers x positions, top token (panel_lens.c) */

/* Returns the role the grid tags head h of block b with (sf_role_strongest over SF_ROLE_MIN of the run's
 * scores), or -1; and 1 if that head is knocked out of the run (panel_thumbs.c). */
int vz_thumb_role(const vz_view *v, vz_block b, int h);
int vz_thumb_ablated(const vz_view *v, vz_block b, int h);

/* Returns 1 if the logit lens panel fills cell (layer l, position t): the cursor has computed layer l there. */
int vz_lens_cell_visible(const vz_view *v, int l, int t);

/* The layout pass's last step: chooses the narration's text size (c->lay.f.narr) so the narration fits its
 * rectangle, from the body size down to the mode's narration minimum (panel_narr.c). */
void vz_narr_fit(vz_ctx *c, const vz_view *v);

/* Returns the cell size the attention panel's heatmaps get in rectangle r with the context's layout: every
 * head of the focused block, or (one) the focused head alone (panel_attn.c; the zoom pass asks this). */
int vz_attn_cell(vz_ctx *c, const vz_view *v, vz_rect r, int one);
/* Returns the smallest cell a head shown alone is drawn with (8 layout units, at least 6 px): below it the head
 * is a window of its queries and keys around the cursor's query, with the window's range written beside its
 * name; heads side by side give way to the focused head alone below 4 units (panel_attn.c). */
int vz_attn_min_cell(vz_ctx *c);

/* Returns how many cells of the scores panel drawn in rectangle r at the context's layout would show no number
 * (too narrow for it, or a weight cut to no digit): 0 when every computed, unhidden cell prints its value
 * (panel_scores.c; the projector layout asks it before giving the narration more width). */
int vz_scores_unprinted(vz_ctx *c, const vz_view *v, vz_rect r);
/* Returns 1 when the scores panel drawn in r would have strips thinner than the texts beside them (their names
 * and ranges would overlap: a short spotlight over a narration below it), else 0. */
int vz_scores_crowded(vz_ctx *c, const vz_view *v, vz_rect r);

/* Returns the height the narration pane of the layout just computed needs for all of its text at the body size
 * (title, text; beside them the verdict, where the lesson is and the formula), padding included: the layout pass
 * gives a lesson's pane in normal mode that height (vz_layout_in.narr_h) (panel_narr.c). */
int vz_narr_need(vz_ctx *c, const vz_view *v);
/* Returns 1 if the narration's text fits its rectangle at the size vz_narr_fit chose. */
int vz_narr_fits(vz_ctx *c, const vz_view *v);
/* Writes the height the narration's text needs at that size and the height its part of the pane has (both 0
 * when the narration is not shown); the pane drops the lines that do not fit. */
void vz_narr_measure(vz_ctx *c, const vz_view *v, int *need, int *room);

/* Draws the tab strip: every panel that can be the spotlight, the shown one lit; a click picks one (panels.c). */
void vz_strip(vz_ctx *c, const vz_view *v, vz_rect r);

/* Returns the short name of a panel in the context's language ("Attention", "注意力"), for tabs and messages. */
const char *vz_panel_label(const vz_ctx *c, int p);

/* Draws the hover tooltip for the mouse position (exact value and its name), if over a cell. */
void vz_tooltip(vz_ctx *c, const vz_view *v);
/* Draws the help overlay listing every key of the key table (keys.h) for the gui, or for the lesson
 * player while a lesson plays (help.c). */
void vz_help(vz_ctx *c, const vz_view *v);

/* Draws the whole interface into a w x h target at zoom, in the view's mode (v->projector, v->spotlight);
 * only != -1 draws that one panel over the whole target instead. */
void vz_draw_all(vz_ctx *c, const vz_view *v, int w, int h, float zoom, int only);

/* Writes the label of a token at a position of a stack ("a", "<bos>", a space shown as U+2423; "?" for a
 * generated token the cursor has not reached, so the future is not given away: a generated token is known
 * once the cursor is on its embedding). */
const char *vz_token_label(const vz_view *v, int stack, int pos, char out[16]);

/* Returns out (n bytes) holding the list of knocked-out heads `in` with each name that repeats the block of the one
 * before it shortened to its head: "dec.L1.cross.H0 H1 H2 H3" for four names of one block (where the list would
 * be cut: the top bar, the output panel). */
char *vz_heads_short(const char *in, char *out, size_t n);

/* Returns the widest token label of a stack's first n positions at px (for label columns). */
int vz_token_label_w(vz_ctx *c, const vz_view *v, int stack, int n, int px);

/* Returns the stack whose tokens label the keys of block b (the encoder for cross-attention). */
int vz_key_stack(vz_block b);

/* Returns the probs entry of head h in block b (and its mask in *mask, if mask), or NULL. */
const sf_trace_entry *vz_probs_of(const vz_view *v, vz_block b, int h, const sf_trace_entry **mask);

/* Returns the largest finite |x| of rows [r0, r1) of e over its first n columns (a display range, >= 1e-6). */
float vz_absmax(const sf_trace_entry *e, int r0, int r1, int n);

/* Shortens a special token's label ("<bos>", "<eos>", "<|endoftext|>": three or more letters and '|' between < and
 * >) to its first letter in capitals, in place (a key label wider than its column); returns 1 if it did. When the
 * vocabulary of t (or NULL: none) has that capital as a token of its own and not the small letter, the small
 * letter ("<bos>" as "b" for the sort model, whose letters are capitals), so the label is never one of the text's
 * tokens where that can be helped; the panels draw it dimmed. Byte pieces ("<bd>", "<e4 bd>") and ordinary tokens
 * stay as they are. */
int vz_special_initial(const sf_tokenizer *t, char *tok);

/* Draws token labels along a heatmap's rows (axis 0) or columns (axis 1): every k-th one so no two touch,
 * always the one at `now` (or -1), the rest thinned around it; place i is labelled with the token at
 * vz_view_pos(v, stack, i). g is the drawn grid, cell its cell size,
 * room the space the labels may use (x of their right edge for rows, y of their bottom for columns); with
 * clip.w > 0 only the places whose centre lies in clip are labelled, each label kept within clip's extent
 * (a heatmap drawn as a window of a bigger grid). */
void vz_axis_labels(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect g, int cell, int axis, int now, int room,
                    vz_rect clip);
/* Draws the labels as vz_axis_labels does, and also every one of the nkeep places in keep (the rows or columns a
 * lesson frames, vz_framed_places) before the others: a neighbour's label is left out rather than a kept one; kept
 * labels may touch each other, one that still collides is drawn smaller, down to the mode's minimum, and a row
 * label that collides even then goes in a second column further left, if the label space (x from far > 0 to
 * room) has the width; kept columns (a framed key) are lit as `now` is. A place written as -(i + 1) in keep is kept
 * but not lit (another place of a framed token: labelled, in the labels' colour). */
void vz_axis_labels_keep(vz_ctx *c, const vz_view *v, int stack, int n, vz_rect g, int cell, int axis, int now,
                         const int *keep, int nkeep, int room, int far, vz_rect clip);
#define VZ_AXIS_SHORT 4 /* or-ed into vz_axis_labels_keep's axis: every special token as its initial ("<bos>" as "B") */
/* Writes into out (at most max) the places along axis (0 rows, 1 columns) of a heatmap of entry e with n places
 * that this frame's highlights frame: a highlight of one row (or column) gives that place, one of a range its
 * first and last; rows of stack are mapped to their place in a run aligned by token. Returns how many. */
int vz_framed_places(const vz_ctx *c, const vz_view *v, const sf_trace_entry *e, int stack, int axis, int n, int *out, int max);

#endif
