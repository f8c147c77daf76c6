/* interp.h - plays a parsed lesson: turns frames into commands for the app (load a model, run it, move
 * the cursor, focus a panel, highlight cells, narrate, ask and reveal).
 *
 * Going to frame k emits exactly the commands that turn what frame j showed into what frame k shows, so
 * next, previous and jumps all land on the same picture: the state of frame k depends on k alone.
 * A GUI keeps an sf_interp, calls sf_interp_next / _prev / _goto on key presses and executes the
 * commands it gets back; sf_lesson_view_apply is a reference executor (the tests use it). No SDL here. */
#ifndef SF_INTERP_H
#define SF_INTERP_H

#include "lesson.h"

#define SF_LESSON_MAX_CMDS (16 + SF_LESSON_MAX_HIGHLIGHTS) /* most commands one move can emit */

typedef enum {
    SF_LCMD_LOAD_MODEL = 1, /* slot: load the checkpoint at run->model (slot 0 main, 1 compared) */
    SF_LCMD_SET_RUN,        /* slot: run the loaded model as *run says; the cursor goes to the first step */
    SF_LCMD_COMPARE,        /* on: show (1) or hide (0) the compared run beside the main one; align: 1 aligned by token */
    SF_LCMD_CURSOR,         /* cursor: move both runs' cursor to this step */
    SF_LCMD_FOCUS,          /* panel, stack, sublayer, layer, head: bring a panel forward (-1 = follow cursor) */
    SF_LCMD_CLEAR_HIGHLIGHTS, /* remove every highlight */
    SF_LCMD_HIGHLIGHT,      /* cells: add a highlight */
    SF_LCMD_NARRATE,        /* title, text, text2: show this narration (already in the chosen language) */
    SF_LCMD_QUESTION,       /* ask: state 1 = ask (hide the answer row), 2 = reveal ask->answer, 0 = no question */
    SF_LCMD_SHOW            /* ids, range: token ids in the token strip (1) or positions (0); sf_heat_range */
} sf_lesson_cmd_kind;

typedef struct {
    int kind;                     /* sf_lesson_cmd_kind */
    int slot;                     /* LOAD_MODEL, SET_RUN */
    const sf_lesson_run *run;     /* LOAD_MODEL, SET_RUN */
    int on, align;                /* COMPARE */
    int ids, range;               /* SHOW */
    sf_cursor cursor;             /* CURSOR */
    int panel, stack, sublayer, layer, head; /* FOCUS */
    const sf_lesson_cells *cells; /* HIGHLIGHT */
    const char *title, *text, *text2; /* NARRATE: text2 is the answer's narration ("" before a reveal) */
    const sf_lesson_ask *ask;     /* QUESTION */
} sf_lesson_cmd;

typedef struct {
    int n;
    sf_lesson_cmd c[SF_LESSON_MAX_CMDS];
} sf_lesson_cmds;

typedef struct {
    const sf_lesson *lesson;
    int lang;   /* SF_LANG_EN or SF_LANG_ZH */
    int frame;  /* current frame; -1 before the first */
} sf_interp;

/* Starts before the first frame (call sf_interp_next to show it). */
void sf_interp_init(sf_interp *it, const sf_lesson *l, int lang);

/* Moves to frame k (clamped to the lesson) and writes the commands that get there; returns 1 if it moved. */
int sf_interp_goto(sf_interp *it, int k, sf_lesson_cmds *out);
/* Moves one frame forward / back; returns 0 (and emits nothing) at either end. */
int sf_interp_next(sf_interp *it, sf_lesson_cmds *out);
int sf_interp_prev(sf_interp *it, sf_lesson_cmds *out);
/* Changes the language and writes the commands that re-narrate the current frame. */
void sf_interp_set_lang(sf_interp *it, int lang, sf_lesson_cmds *out);

/* Returns the current frame, or NULL before the first. */
const sf_lesson_frame *sf_interp_frame(const sf_interp *it);

/* Judges a learner's click at index `pick` along the current question's free axis: 1 right, 0 wrong,
 * -1 when there is no open question or its answer is unknown. */
int sf_interp_judge(const sf_interp *it, int pick);

/* Writes the commands that turn frame `from` into frame `to` in lang. Pure. from = -1 gives the whole frame
 * (every part set, highlights cleared, the question or its absence), whatever the executor showed before. */
void sf_lesson_diff(const sf_lesson *l, int from, int to, int lang, sf_lesson_cmds *out);

/* ---- a reference executor: what an app holds after executing commands ---- */

typedef struct {
    sf_lesson_run run[2];   /* main and compared run (model NULL = none) */
    int have_run[2];
    int compare, align;
    int ids, range;
    sf_cursor cursor;
    int panel, stack, sublayer, layer, head;
    const sf_lesson_cells *hl[SF_LESSON_MAX_HIGHLIGHTS];
    int n_hl;
    const char *title, *text, *text2;
    sf_lesson_ask ask;      /* state 0 = no question */
} sf_lesson_view;

/* Returns an empty view (nothing loaded). */
sf_lesson_view sf_lesson_view_empty(void);
/* Executes commands on a view. */
void sf_lesson_view_apply(sf_lesson_view *v, const sf_lesson_cmds *c);
/* Returns 1 if two views show the same thing (strings compared by content). */
int sf_lesson_view_eq(const sf_lesson_view *a, const sf_lesson_view *b);

/* Writes a one-line description of a command into out ("cursor dec token 3 L1 cross softmax"); returns out. */
const char *sf_lesson_cmd_describe(const sf_lesson_cmd *c, char *out, size_t size);

#endif
