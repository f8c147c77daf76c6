/* app.h - the interactive program as a value: a model, its traced run, the cursor and the view,
 * advanced by one event at a time and drawn one frame at a time. The window (src/app/gui.c), the
 * headless renderer (render command) and the tests all drive this same loop. */
#ifndef VZ_APP_H
#define VZ_APP_H

#include <SDL2/SDL.h>

#include "draw.h"
#include "keys.h"
#include "model/heads.h"
#include "model/interv.h"
#include "model/lens.h"
#include "model/run.h"
#include "train/snapshot.h"
#include "view.h"

typedef struct {
    sf_model m;            /* owned */
    sf_seq s;
    sf_trace tr;
    sf_schedule sched;
    vz_view v;
    vz_ctx ctx;
    vz_text *text;
    SDL_Renderer *r;
    char input[1024];      /* the input text */
    char target[1024];     /* the decoder's teacher-forced text when has_target (a lesson's @target) */
    int has_target;
    int top_k;             /* sampling: keep the k most likely tokens (0 = all) */
    int pos_off;           /* 1: the positional encoding is switched off (a lesson's @positions off) */
    int pos_own;           /* the model's own positional encoding, restored when pos_off goes back to 0 */
    char edit[1024];       /* the text being edited while editing */
    int editing;
    char edit_msg[512];    /* why Enter did not run the text being edited ("" if it did not fail); the box stays open */
    int max_new;           /* most tokens to generate */
    unsigned seed;
    float zoom;            /* UI zoom: +/- keys */
    int only;              /* draw only this panel (render --panel), or -1 */
    int projector;         /* 1: projector mode (p, --projector): big text, one spotlight panel beside the narration */
    int spotlight;         /* vz_panel or -1 = automatic (a lesson's @focus, else attention); Tab changes it */
    int lang;              /* VZ_LANG_EN|ZH: the interface's language (l, --lang) */
    int cmap;              /* vz_palette_id (m, --cmap): viridis, cividis, blue-orange */
    int theme;             /* vz_theme_id (Shift+M, --theme): dark, light */
    int blank;             /* 1: the frame is drawn black (b . / keys); nothing else is drawn */
    int quit;              /* set by q / Ctrl+Q / window close (never by Esc) */
    int want_fullscreen;   /* F5 sets it, Esc clears it, F11 toggles it; the window owner applies it */
    int want_save;         /* s: the next frame is written to a PNG */
    char saved[256];       /* the last PNG written */
    char status[768];      /* message shown in the top bar */
    unsigned status_ms;    /* SDL_GetTicks() when the status was set; it shows for 4 s */
    long frames;
    /* experiments (docs/experiments.md), computed in src/model on every rerun, drawn from the trace */
    sf_interv iv;          /* the heads knocked out (k, Ctrl+click, a lesson's @ablate); iv.mode zero or mean */
    int ablate_mode;       /* SF_ABLATE_ZERO or SF_ABLATE_MEAN: how the next rerun replaces knocked-out heads */
    sf_seq base;           /* while heads are knocked out: the original run (base.mem NULL otherwise) */
    sf_trace base_tr;      /* its trace: the output panel draws its bars behind the ablated ones */
    sf_lens lens;          /* the logit lens of the shown run (lens.probs NULL when too big: VZ_LENS_MAX_FLOATS) */
    sf_head_scores *roles; /* (n_roles) head-role scores of the shown run, for the grid's tags */
    int n_roles;
    char ablated[640];     /* vz_app_ablated_text of the run shown ("" when none) */
    /* a snapshot series played back (gui --snapshots, a lesson's @snapshot; timeline.c), or none */
    sf_snapshots *snaps;   /* owned, or NULL */
    int snap_k;            /* the snapshot whose weights a->m holds */
    int *snap_steps;       /* (snaps->n) each snapshot's step, for the slider */
    int tl_x, tl_w;        /* the slider's track while it is dragged (tl_w 0: not dragging) */
} vz_app;

/* The largest logit lens (layers x positions x vocabulary floats) the app computes on every rerun: the tiny
 * models' lenses are a few thousand floats; a GPT-2's (12 x 64 x 50257) would cost seconds per keypress, so
 * its lens panel says to use `trace --logit-lens` instead. */
#define VZ_LENS_MAX_FLOATS ((size_t)4 << 20)

/* How the app runs the model: generation length, sampling seed and temperature (0 = greedy). */
typedef struct { int max_new; unsigned seed; float temperature; } vz_run_cfg;

/* Sets up an app drawing to r with the fonts fp, taking ownership of model m (even on failure),
 * and runs it on input as rc says (NULL: 12 new tokens, greedy); the cursor starts at step 0. */
sf_err vz_app_init(vz_app *a, SDL_Renderer *r, const vz_font_paths *fp, sf_model *m, const char *input,
                   const vz_run_cfg *rc);
void vz_app_free(vz_app *a);

/* Replaces the model (taking ownership of m, even on failure) and runs it on input from step 0; on
 * failure the app keeps the old model and run. For lessons that switch models. */
sf_err vz_app_set_model(vz_app *a, sf_model *m, const char *input);

/* Loads the checkpoint at path and switches to it on the current input (vz_app_set_model). Either way
 * the outcome is shown in the top bar; on failure (bad file, or a model that cannot take the input)
 * the old model, input, text being edited, cursor and focus all stay as they were. */
sf_err vz_app_open_model(vz_app *a, const char *path);

/* How a lesson runs the model (sf_lesson_run, without the model): input, teacher-forced target (NULL: generate),
 * sampler, seed, generation length, positions on or off. */
typedef struct {
    const char *input, *target;
    sf_sampler sampler;
    unsigned long long seed;
    int max_new;
    int positions;
    const char *ablate;  /* comma-separated heads to knock out (a lesson's @ablate), or NULL: none */
    int ablate_mode;     /* SF_ABLATE_ZERO or SF_ABLATE_MEAN (0: zero) */
} vz_run_spec;

/* Reruns the current model as rs says and puts the cursor on step 0; on failure the old run stays. */
sf_err vz_app_run(vz_app *a, const vz_run_spec *rs);

/* Knocks head h out of the run (or puts it back, if it is out) and reruns: the trace is then the ablated
 * run's and the original run is kept in a->base / a->base_tr; says so in the top bar. Returns the error. */
sf_err vz_app_toggle_ablate(vz_app *a, sf_head_ref h);
/* Puts every knocked-out head back and reruns: the model's own run, bit for bit. */
sf_err vz_app_restore_all(vz_app *a);
/* Sets how knocked-out heads are replaced (SF_ABLATE_ZERO or SF_ABLATE_MEAN) and reruns if any is out. */
sf_err vz_app_set_ablate_mode(vz_app *a, int mode);
/* Writes the knocked-out heads as the top bar shows them ("ablated (zero): dec.L1.cross.H2 dec.L1.cross.H3")
 * in lang into out, or "" when none; returns out. */
const char *vz_app_ablated_text(const vz_app *a, int lang, char *out, size_t size);

/* Reruns the model on a new input (and the current temperature); keeps the cursor's step if it still exists. */
sf_err vz_app_set_input(vz_app *a, const char *input);

/* Moves the cursor to step i of the schedule (clamped); the focus follows it into attention blocks. */
void vz_app_goto(vz_app *a, int i);

/* Switches projector mode on or off (the spotlight goes back to automatic). */
void vz_app_set_projector(vz_app *a, int on);
/* Moves the spotlight to the next (dir 1) or previous (dir -1) panel that can be one. */
void vz_app_spotlight_next(vz_app *a, int dir);
/* Sets the interface's language (VZ_LANG_EN or VZ_LANG_ZH). */
void vz_app_set_lang(vz_app *a, int lang);
/* Goes to the next palette (viridis, cividis, blue-orange) / theme (dark, light); says so in the top bar. */
void vz_app_cycle_cmap(vz_app *a);
void vz_app_cycle_theme(vz_app *a);

/* Handles one event (keys as the key table's gui mode says, text input, mouse, window, a model file
 * dropped on the window: opened with vz_app_open_model, and its name SDL_free'd here). Returns 1 if it
 * changed anything. */
int vz_app_event(vz_app *a, const SDL_Event *e);

/* Does one action of the key table (keys.h) on the app, arg as vz_key_lookup gave it: the gui's keys, and
 * in a lesson the exploring and display keys. Returns 1 if it changed anything. */
int vz_app_act(vz_app *a, vz_action act, int arg);

/* Draws one frame of a w x h target (and saves it as a PNG when asked, named after the step the top bar
 * shows); while blank the frame is black. */
void vz_app_frame(vz_app *a, int w, int h);

/* ---- snapshot playback (timeline.c) ---- */

/* Returns 1 if path is a regular file that starts as a snapshot series does (opened without blocking, only
 * its first bytes read), so a checkpoint is never read twice to find out. */
int vz_is_series(const char *path);

/* Returns a deep copy of model src (config, alphabet tokenizer, weights) in dst. */
sf_err vz_model_clone(const sf_model *src, sf_model *dst);

/* Loads the snapshot series at path and plays it: when the app's model has the series' config and alphabet
 * it stays (its weights replaced), else the series' own model replaces it on the current input. Shows
 * snapshot `k` (-1: the last). On failure the app stays as it was. */
sf_err vz_app_open_snapshots(vz_app *a, const char *path, int k);

/* Takes ownership of series s (loaded by the caller; freed even on failure) and plays it as
 * vz_app_open_snapshots does. */
sf_err vz_app_attach_snapshots(vz_app *a, sf_snapshots *s, int k);

/* Stops playing the series (the weights of the snapshot shown stay). */
void vz_app_drop_snapshots(vz_app *a);

/* Loads snapshot k's weights (clamped) into the model and reruns the trace on the same input, keeping the
 * cursor; says which in the top bar. Returns 1 if the snapshot shown changed. */
int vz_app_snapshot(vz_app *a, int k);

/* Returns the snapshot whose step is nearest to where x falls on a slider track from x0 (step 0) to
 * x0 + w (the last snapshot's step). */
int vz_app_snapshot_at(const vz_app *a, int x, int x0, int w);

/* Writes the current render target (w x h) to a PNG file. */
sf_err vz_app_save_png(vz_app *a, int w, int h, const char *path);

#endif
