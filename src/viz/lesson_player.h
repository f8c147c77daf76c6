/* lesson_player.h - plays a lesson in the app: executes the interpreter's commands (load a model, run it,
 * compare a second run, move the cursor, focus a panel, highlight, narrate, ask) on a vz_app, handles the
 * lesson's keys and a question's clicks, and shows the lesson index (index.h: the window `stepformer`
 * opens with no arguments). The window (src/app/gui.c), `render --lesson` and the tests all drive this
 * same value.
 *
 * Keys are the key table's player mode (keys.h): PageDown / → / Space / Enter next lesson step (on the
 * last step: the next lesson's first), PageUp / ← / Backspace back (on the first step: the previous
 * lesson's last), Home / End, i the index, F5 full screen, Esc leaves it, b . / black screen, l English
 * <-> Chinese, q quits. Shift+→ Shift+← n N 0-9 [ ] e t explore inside a step; whatever the learner
 * explored or clicked is undone by the next lesson move, so a step always shows what the lesson says. */
#ifndef VZ_LESSON_PLAYER_H
#define VZ_LESSON_PLAYER_H

#include <SDL2/SDL.h>

#include "app.h"
#include "index.h"
#include "lesson/interp.h"

typedef struct vz_player {
    SDL_Renderer *r;
    vz_font_paths fp;
    int lang;                  /* SF_LANG_EN or SF_LANG_ZH */
    float zoom;
    int projector, theme, cmap; /* the display the app starts with (--projector, --theme, --cmap) */
    int quit;                  /* set by q / Ctrl+Q / window close (never by Esc) */
    const char *model_dir;     /* when set, lessons look for their models here first (lesson --check --models) */
    /* the presenter's state, the same on the index and in a lesson */
    int help;                  /* 1: the help overlay is shown */
    int blank;                 /* 1: the frame is black */
    int want_fullscreen;       /* F5 sets it, Esc clears it, F11 toggles it; the window owner applies it */
    /* the index */
    int in_index;              /* 1: the index is showing */
    int from_index;            /* 1: the index has been listed (i goes back to it) */
    vz_index_entry index[VZ_INDEX_MAX];
    vz_index_card cards[VZ_INDEX_MAX]; /* where each entry was drawn (zero: not on screen) */
    int n_index, sel;
    int index_top;             /* the first row of cards shown (the grid scrolls to the chosen one) */
    char index_dir[1024];
    char index_msg[512];       /* e.g. why a lesson did not open */
    vz_text *itext;            /* the index's own text cache and drawing context (no model needed) */
    vz_ctx ictx;
    int have_ictx;
    /* the lesson */
    sf_lesson lesson;
    int have_lesson;
    char path[1024];           /* the open lesson's file */
    int number;                /* the lesson's number from its file name (06-...), or 0 */
    sf_interp it;
    vz_app app;                /* the main run and the whole interface */
    int have_app;
    char model_path[1024];     /* the checkpoint the app holds */
    sf_lesson_run run;         /* the settings of the main run as last executed */
    int have_run;
    int deviated;              /* 1: the learner changed something by hand since the last lesson move */
    char verdict_note[1024];   /* the verdict with what the narration no longer matches (another snapshot shown) */
    /* the compared run (@compare) */
    int compare;
    sf_model cm;               /* the compared model as loaded */
    sf_model cvar;             /* a shallow copy of it that runs (positions possibly off) */
    int have_cm;
    char cm_path[1024];
    int cm_snap;               /* of a series: the step of the snapshot cm holds (-1: the last) */
    sf_lesson_run crun;
    int have_crun;
    sf_seq cs;
    sf_trace ctr;
    sf_schedule csched;
    int c_prompt;
    vz_view cv;                /* the view the attention panel draws the compared run from */
    int align;                 /* 1: the compared run is drawn aligned to the main run's tokens (@compare ... align
                                * tokens, or the a key) */
    int align_map[SF_MAX_LEN]; /* when aligned: where the main run's i-th input token stands in the compared run */
    int show_ids;              /* @show ids */
    int heat_range;            /* @show range (sf_heat_range) */
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
/* The presenter's next (dir = +1) or back (-1): one frame, and from the last frame on to the next lesson
 * in the folder (from the first back to the previous lesson's last frame); returns 1 if it moved. */
int vz_player_advance(vz_player *p, int dir);
/* Switches the narration's language (and the index's titles). */
void vz_player_set_lang(vz_player *p, int lang);

/* Judges the learner's pick (an index along the open question's free axis: a key, or a token id), shows
 * right or wrong, and goes on to the answer; returns 1 right, 0 wrong, -1 without an open question. */
int vz_player_pick(vz_player *p, int pick);

/* Does one action of the key table's player mode (keys.h) on the lesson, arg as vz_key_lookup gave it;
 * exploring and display actions go on to the app. Returns 1 if it changed anything. */
int vz_player_act(vz_player *p, vz_action act, int arg);

/* Handles one event (lesson keys and question clicks here, the rest in the app; on the index, index.h's);
 * returns 1 if it changed anything. */
int vz_player_event(vz_player *p, const SDL_Event *e);

/* Returns the vz_panel a lesson's @focus panel (SF_PANEL_*) brings forward, or -1. */
int vz_player_panel_of(int lesson_panel);

/* Draws one frame of a w x h target: the index, or the app with the lesson's narration (black when blanked). */
void vz_player_frame(vz_player *p, int w, int h);

/* Returns the current frame's index, or -1 without a lesson. */
int vz_player_frame_index(const vz_player *p);

/* Writes the slide file name of frame k ("03-step03.png", "07-step06-question.png") into out; returns out. */
const char *vz_player_slide_name(const vz_player *p, int k, char *out, size_t size);

#endif
