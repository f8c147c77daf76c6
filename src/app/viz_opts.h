/* viz_opts.h - the options the render and gui commands share, and opening the app they drive (viz_opts.c).
 * The app's modules depend in one direction: cmd_lesson -> gui -> viz_opts <- cmd_render. */
#ifndef SF_VIZ_OPTS_H
#define SF_VIZ_OPTS_H

#ifdef HAVE_SF_VIZ
#include "viz/app.h"

typedef struct {
    const char *model, *input, *font, *out, *panel, *tokenizer;
    const char *snapshots; /* --snapshots FILE: play a snapshot series (the model may then be left out) */
    int snap_step;     /* --snapshot STEP: the last snapshot at or before it; -1 = the last snapshot */
    int w, h;          /* --size WxH */
    int step;          /* --step N; -1 = the last step */
    int max_new;       /* --max-new N */
    int seed;          /* --seed S */
    float temperature; /* --temperature T */
    const char *target; /* --target TEXT: teacher-forced decoder text, or NULL */
    const char *ablate; /* --ablate NAME[,NAME...]: heads knocked out (as trace --ablate), or NULL */
    int ablate_mode;    /* --ablate-mode zero|mean (SF_ABLATE_ZERO by default) */
    float zoom;        /* --zoom Z */
    int keys;          /* --keys: the help overlay over the picture */
    int projector;     /* --projector */
    int lang;          /* --lang en|zh: VZ_LANG_EN or VZ_LANG_ZH */
    int theme;         /* --theme dark|light */
    int cmap;          /* --cmap viridis|cividis|blue-orange */
} viz_opts;

/* Parses one display option shared by gui, render and lesson (--projector, --lang, --theme, --cmap) at argv[*i],
 * advancing *i past its value; returns 1 if it was one, 0 if argv[*i] is another option, -1 after printing an
 * error naming cmd. */
int viz_display_opt(const char *cmd, int argc, char **argv, int *i, int *projector, int *lang, int *theme, int *cmap);

/* Parses the shared options (argv[1..]); returns 0 after printing an error naming `cmd`. */
int viz_parse(const char *cmd, int argc, char **argv, viz_opts *o);

/* Loads the model and fonts and initialises the app on renderer r; returns 0 after printing an error. */
int viz_open(const viz_opts *o, SDL_Renderer *r, vz_app *a);
#endif

#endif
