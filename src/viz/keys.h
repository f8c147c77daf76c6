/* keys.h - the one key table: what every key (and the mouse) does in each of the window's three modes,
 * the lesson index, the lesson player and `gui`. The three event handlers (index.c, lesson_player.c,
 * app.c) look keys up here, the `?` overlay (help.c) is drawn from it, `stepformer keys` prints it and
 * docs/visualizer.md's key tables are its Markdown (test_keys compares them).
 *
 * The presenter keys follow the slide tools (PowerPoint, Impress, reveal.js) and what clickers send:
 * PageDown / → / Space next, PageUp / ← / Backspace back, b . / black screen, F5 / Shift+F5 full screen
 * from the current step, Esc closes the top layer (input box, help) or leaves full screen and never quits;
 * q or Ctrl+Q quits. While the screen is black, a next or back key (or a click) only brings the picture
 * back, without moving (PowerPoint's behaviour, so the room never misses a step); Esc, F5 and q act as
 * usual and every other key is ignored. */
#ifndef VZ_KEYS_H
#define VZ_KEYS_H

#include <SDL2/SDL.h>
#include <stddef.h>

#include "strings.h"

typedef enum { VZ_MODE_INDEX = 0, VZ_MODE_PLAYER, VZ_MODE_GUI, VZ_MODE_COUNT } vz_mode;

/* Mode bits of a key row. */
enum { VZ_IN_INDEX = 1, VZ_IN_PLAYER = 2, VZ_IN_GUI = 4, VZ_IN_VIEW = 6, VZ_IN_ALL = 7 };

/* Modifier bits a row requires exactly (VZ_KM_ANY: any modifiers, for keys that need Shift on some layouts). */
enum { VZ_KM_SHIFT = 1, VZ_KM_CTRL = 2, VZ_KM_ALT = 4, VZ_KM_ANY = 8 };

typedef enum {
    VZ_ACT_NONE = 0,
    /* presenting: moving */
    VZ_ACT_NEXT,          /* index: next lesson; player: next lesson step; gui: next operation */
    VZ_ACT_PREV,
    VZ_ACT_FIRST,
    VZ_ACT_LAST,
    VZ_ACT_OPEN,          /* index: open the chosen lesson */
    VZ_ACT_INDEX,         /* player: back to the lesson index */
    /* presenting: the screen */
    VZ_ACT_SHOW,          /* F5: full screen from the current step (start or resume) */
    VZ_ACT_FULLSCREEN,    /* F11: full screen on / off */
    VZ_ACT_ESCAPE,        /* close the input box or the help, else leave full screen (and the black screen) */
    VZ_ACT_BLANK,         /* black screen on / off */
    VZ_ACT_UNBLANK,       /* (not bound: what a next / back key does while the screen is black) */
    VZ_ACT_HELP,
    VZ_ACT_QUIT,
    /* exploring a step */
    VZ_ACT_OP_NEXT,
    VZ_ACT_OP_PREV,
    VZ_ACT_TOKEN_NEXT,
    VZ_ACT_TOKEN_PREV,
    VZ_ACT_HEAD,          /* arg: the head number (the digit) */
    VZ_ACT_HEAD_NEXT,
    VZ_ACT_HEAD_PREV,
    VZ_ACT_BLOCK_PREV,
    VZ_ACT_BLOCK_NEXT,
    VZ_ACT_EDIT,
    VZ_ACT_TEMP_DOWN,
    VZ_ACT_TEMP_UP,
    VZ_ACT_ALIGN,         /* player: a comparison aligned by token <-> by position */
    VZ_ACT_IDS,           /* the token strip: ids <-> positions under the tokens */
    VZ_ACT_ABLATE,        /* knock the focused head out / put it back (docs/experiments.md) */
    VZ_ACT_RESTORE_ALL,   /* put every knocked-out head back */
    VZ_ACT_ABLATE_MODE,   /* knocked-out heads output zeros <-> their mean */
    VZ_ACT_SNAP_PREV,     /* a snapshot series: the weights of the snapshot before / after (the timeline slider) */
    VZ_ACT_SNAP_NEXT,
    VZ_ACT_TRAIN_PAUSE,   /* the watch view (train --watch): pause / resume training */
    VZ_ACT_HEAT_UP,       /* a long heatmap's window: up / down a few rows (panel_attn.c) */
    VZ_ACT_HEAT_DOWN,
    VZ_ACT_RANGE,         /* the attention heatmaps: 0 to 1 <-> each head 0 to its own largest */
    /* display */
    VZ_ACT_LANG,
    VZ_ACT_ZOOM_IN,
    VZ_ACT_ZOOM_OUT,
    VZ_ACT_PROJECTOR,
    VZ_ACT_SPOT_NEXT,
    VZ_ACT_SPOT_PREV,
    VZ_ACT_CMAP,
    VZ_ACT_THEME,
    VZ_ACT_SAVE,
    VZ_ACT_COUNT
} vz_action;

/* Sections of the help overlay and the docs' tables. */
typedef enum { VZ_SEC_PRESENT = 0, VZ_SEC_EXPLORE, VZ_SEC_DISPLAY, VZ_SEC_MOUSE, VZ_SEC_COUNT } vz_section;

typedef struct {
    unsigned modes;       /* VZ_IN_* bits: the modes this row is bound in */
    SDL_Keycode sym;      /* the key; 0 for a mouse row (help only: the mouse is handled by the panels' regions) */
    SDL_Keycode sym_last; /* a range of keys sym..sym_last (the digits; arg = key - sym), or 0 */
    unsigned mods;        /* VZ_KM_* bits held */
    vz_action act;
    vz_str desc;          /* what it does, in the string table */
    vz_str cap;           /* how the key is written when it is not one key (a range, the mouse), else VZ_S_NONE */
} vz_key;

/* Returns the table and its length (rows in the order help lists them). */
const vz_key *vz_keys(int *n);

/* Returns the action key press k has in mode (VZ_ACT_NONE if unbound); *arg receives a range row's
 * offset (the head number of a digit), 0 otherwise. */
vz_action vz_key_lookup(vz_mode mode, const SDL_Keysym *k, int *arg);

/* Returns what an action does while the screen is black: a next / back / first / last key gives
 * VZ_ACT_UNBLANK, BLANK SHOW FULLSCREEN ESCAPE QUIT stay, everything else is VZ_ACT_NONE. */
vz_action vz_action_when_blank(vz_action act);

/* Applies a presenter action to the screen flags it changes, the same in every mode: SHOW (full screen, not
 * black), FULLSCREEN (toggle), ESCAPE (closes the help, else leaves full screen and the black screen),
 * BLANK (toggle), UNBLANK, HELP (toggle), QUIT. Returns 1 if act was one of them, 0 (changing nothing)
 * otherwise. */
int vz_show_act(vz_action act, int *help, int *blank, int *fullscreen, int *quit);

/* Returns 1 if an action changes what a lesson step shows (the player rebuilds the step on the next
 * lesson move), 0 for presenting and display actions. */
int vz_action_explores(vz_action act);

/* Returns the help section of an action (VZ_SEC_MOUSE for a mouse row's VZ_ACT_NONE). */
vz_section vz_action_section(vz_action act);

/* Writes how row k is written in lang ("PageDown", "Shift+→", "Ctrl+Q", "0–9", "click a cell") into out;
 * returns out. Rows that are spelled the same (Enter and keypad Enter) give the same text, listed once. */
const char *vz_key_cap(const vz_key *k, int lang, char *out, size_t size);

#define VZ_HELP_CAPS 8 /* most keys on one help line */

/* One line of help: the keys that share a description, in a section. */
typedef struct {
    vz_section sec;
    char caps[VZ_HELP_CAPS][32]; /* (n_caps) each key as vz_key_cap writes it, each once */
    int n_caps;
    vz_str desc;
} vz_help_line;

/* Fills out (at most max lines) with mode's help in lang, grouped by section, one line per description;
 * returns how many. */
int vz_help_lines(vz_mode mode, int lang, vz_help_line *out, int max);

/* Returns the id of a section's heading in mode. */
vz_str vz_section_title(vz_mode mode, vz_section s);

/* Writes mode's key table in lang as Markdown (a "| key | does |" table per section, each under a
 * "**section**" line, every key in backquotes) into out; returns the length it needed (as snprintf). */
size_t vz_keys_markdown(vz_mode mode, int lang, char *out, size_t size);

/* Returns the mode's name as `stepformer keys --mode` takes it ("index", "lesson", "gui"), or parses one (-1). */
const char *vz_mode_name(vz_mode mode);
int vz_mode_parse(const char *s);

#endif
