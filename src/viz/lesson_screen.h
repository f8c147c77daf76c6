/* lesson_screen.h - checks a lesson on the screen, not only against the model: plays it headless (a
 * software renderer on a surface, as `render --lesson` does) at a window size and display mode, and checks
 * what each frame draws against what the lesson says:
 *   - every highlighted cell (and a revealed answer) lies in a heatmap that is drawn at that step, in the
 *     lesson's own run, on a row the cursor has computed, not hidden by the question, and inside the
 *     visible part of its panel (the vz_hit rectangles and clips the draw context registers);
 *   - a question does not blank the panel it brings forward (the scores panel on the asked row);
 *   - the narration names no panel that is not on screen ("the scores panel") without naming its tab;
 *   - a frame is a pure function of the lesson and its index: reached going forward, going back, by a jump,
 *     or after the learner answered, pressed a key or clicked, it draws the very same pixels.
 * `stepformer lesson --check` runs it when the visualizer is built. */
#ifndef VZ_LESSON_SCREEN_H
#define VZ_LESSON_SCREEN_H

#include <stdio.h>

#include "core/err.h"

typedef enum {
    VZ_SCREEN_NORMAL = 0,    /* the window's default layout */
    VZ_SCREEN_PROJECTOR = 1  /* the classroom layout (--projector): only the spotlight (the lesson's @focus)
                              * beside the narration, the other panels hidden as tabs */
} vz_screen_mode;

typedef struct {
    int w, h;              /* the window size to check at */
    int mode;              /* vz_screen_mode */
    int lang;              /* the narration's language (SF_LANG_EN or SF_LANG_ZH) */
    int purity;            /* 1: also reach every frame backwards, by jumps and after a learner's moves */
    const char *model_dir; /* as sf_lesson_opts.model_dir, or NULL */
    const char *font;      /* a font file, or NULL for the system's */
} vz_screen_opts;

/* Plays the lesson at path as o says and checks every frame. Writes one line per problem to out (may be
 * NULL), "file:line:col: what is wrong (at WxH)", pointing at the highlight, question or step concerned.
 * Returns the number of problems, or -1 (with *err) when the lesson cannot be played at all. */
int vz_lesson_screen_check(const char *path, const vz_screen_opts *o, FILE *out, sf_err *err);

#endif
