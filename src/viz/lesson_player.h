/* lesson_player.h - plays a lesson in the app: executes the interpreter's commands (load a model, run it,
 * compare a second run, move the cursor, focus a panel, highlight, narrate, ask) on a vz_app, handles the
 * lesson's keys and a question's clicks, and shows the lesson index (the window `stepformer` opens with
 * no arguments). The window (src/app/gui.c), `render --lesson` and the tests all drive this same value.
 *
 * Keys while a lesson plays: PageDown / Enter next lesson step, PageUp / Backspace previous, Home / End
 * first / last, l English <-> Chinese, Esc back to the index (when opened from it). Every other key and
 * click goes to the app, so → ← n 1-9 [ ] still explore inside a step; the next lesson move puts the
 * whole lesson state back. In the index: ↑ ↓ choose, Enter or a click opens, l language, q / Esc quit. */
#ifndef VZ_LESSON_PLAYER_H
#define VZ_LESSON_PLAYER_H

#include <SDL2/SDL.h>

#include "app.h"
#include "lesson/interp.h"

#define VZ_INDEX_MAX 64 /* most lessons the index lists */

typedef struct {
    char path[1024];
    char title[SF_LANG_COUNT][160]; /* "" when the lesson has none in that language */
    char error[256];                /* why it could not be read, or "" */
} vz_index_entry;

typedef struct {
    SDL_Renderer *r;
    vz_font_paths fp;
    int lang;                  /* SF_LANG_EN or SF_LANG_ZH */
    float zoom;
    int projector, theme, cmap; /* the display the app starts with (--projector, --theme, --cmap) */
    int quit;
    /* the index */
    int in_index;              /* 1: the index is showing */
    int from_index;            /* 1: the lesson was opened from the index (Esc goes back) */
    vz_index_entry index[VZ_INDEX_MAX];
    int n_index, sel;
    char index_dir[1024];
    char index_msg[512];       /* e.g. why a lesson did not open */
    vz_text *itext;            /* the index's own text cache and drawing context (no model needed) */
    vz_ctx ictx;
    int have_ictx;
    /* the lesson */
    sf_lesson lesson;
    int have_lesson;
    int number;                /* the lesson's number from its file name (06-...), or 0 */
    sf_interp it;
    vz_app app;                /* the main run and the whole interface */
    int have_app;
    char model_path[1024];     /* the checkpoint the app holds */
    sf_lesson_run run;         /* the settings of the main run as last executed */
    int have_run;
    int deviated;              /* 1: the learner changed something by hand since the last lesson move */
    /* the compared run (@compare) */
    int compare;
    sf_model cm;               /* the compared model as loaded */
    sf_model cvar;             /* a shallow copy of it that runs (positions possibly off) */
    int have_cm;
    char cm_path[1024];
    sf_lesson_run crun;
    int have_crun;
    sf_seq cs;
    sf_trace ctr;
    sf_schedule csched;
    int c_prompt;
    vz_view cv;                /* the view the attention panel draws the compared run from */
    char label[2][300];        /* "this run: ..." / "compared: ..." */
    /* focus, highlights, narration, question */
    int panel, stack, sublayer, layer, head; /* the lesson's @focus (-1: follow the cursor) */
    vz_highlight hl[VZ_MAX_HIGHLIGHTS];
    int n_hl;
    const char *title, *text, *text2;
    sf_lesson_ask ask;         /* state 0: no question */
    int verdict;               /* -1: not answered; 0 wrong; 1 right */
    int pick;                  /* the learner's pick along the question's free axis */
    char narr[8192], info[512], verdict_text[256];
    char err[512];             /* the last command that failed, shown in the top bar */
} vz_player;

/* Sets up a player drawing to r with fonts fp in lang; nothing is open yet. */
sf_err vz_player_init(vz_player *p, SDL_Renderer *r, const vz_font_paths *fp, int lang);
void vz_player_free(vz_player *p);

/* Loads the lesson at path (checking it against its models) and shows its first step. On failure the
 * player keeps what it showed, and the message says file:line:col what was wrong. */
sf_err vz_player_open(vz_player *p, const char *path);

/* Lists the lessons (files NN-*.md) in dir and shows the index; fails if dir has none. */
sf_err vz_player_show_index(vz_player *p, const char *dir);

/* Goes to lesson frame k (clamped) and executes the commands that get there; returns 1 if it moved. */
int vz_player_goto(vz_player *p, int k);
/* One frame forward / back; returns 0 at either end. */
int vz_player_next(vz_player *p);
int vz_player_prev(vz_player *p);
/* Switches the narration's language (and the index's titles). */
void vz_player_set_lang(vz_player *p, int lang);

/* Judges the learner's pick (an index along the open question's free axis: a key, or a token id), shows
 * right or wrong, and goes on to the answer; returns 1 right, 0 wrong, -1 without an open question. */
int vz_player_pick(vz_player *p, int pick);

/* Handles one event (lesson keys and question clicks here, the rest in the app); returns 1 if it changed anything. */
int vz_player_event(vz_player *p, const SDL_Event *e);

/* Draws one frame of a w x h target: the index, or the app with the lesson's narration. */
void vz_player_frame(vz_player *p, int w, int h);

/* Returns the current frame's index, or -1 without a lesson. */
int vz_player_frame_index(const vz_player *p);

/* Writes the slide file name of frame k ("03-step03.png", "07-step06-question.png") into out; returns out. */
const char *vz_player_slide_name(const vz_player *p, int k, char *out, size_t size);

/* Lists the lessons of dir into entries (sorted by file name, titles read without running models);
 * returns how many (at most max), or -1 if dir cannot be read. */
int vz_lessons_list(const char *dir, vz_index_entry *entries, int max);

#endif
