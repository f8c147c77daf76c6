/* gui.c - `stepformer gui` and the lesson window: the loop reads one event at a time into the app
 * (viz/app.h) or the lesson player (viz/lesson_player.h) and draws one frame after the events of each
 * wake-up; full-screen requests (F5, Esc, F11) are applied here. `gui --out FILE` saves its third frame
 * and quits (a scripted screenshot of the real window). */
#include "cli.h"

#ifdef HAVE_SF_VIZ
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gui.h"
#include "viz_opts.h"
#ifdef HAVE_SF_LESSON
#include "viz/lesson_player.h"
#endif

/* Returns 1 if SDL found a display to open a window on (not the dummy or offscreen driver). */
static int have_display(void) {
    const char *drv = SDL_GetCurrentVideoDriver();
    return !(drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")));
}

/* Opens a resizable w x h window titled "stepformer" (no larger than the screen: a 1024x768 projector gets
 * a window that fits it) and its renderer; returns 0 after printing why not. */
static int open_window(const char *cmd, int w, int h, SDL_Window **win, SDL_Renderer **r) {
    SDL_Rect usable;
    if (SDL_GetDisplayUsableBounds(0, &usable) == 0 && usable.w >= 320 && usable.h >= 240) {
        if (w > usable.w) w = usable.w;
        if (h > usable.h) h = usable.h;
    }
    *win = SDL_CreateWindow("stepformer", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h, SDL_WINDOW_RESIZABLE);
    if (!*win) { fprintf(stderr, "%s: %s\n", cmd, SDL_GetError()); return 0; }
    SDL_SetWindowMinimumSize(*win, w < 960 ? w : 960, h < 540 ? h : 540);
    *r = SDL_CreateRenderer(*win, -1, SDL_RENDERER_PRESENTVSYNC);
    if (!*r) *r = SDL_CreateRenderer(*win, -1, SDL_RENDERER_SOFTWARE);
    if (!*r) { fprintf(stderr, "%s: %s\n", cmd, SDL_GetError()); SDL_DestroyWindow(*win); return 0; }
    return 1;
}

/* Makes the window full screen (at the desktop's resolution) or windowed when the request changed. */
static void apply_fullscreen(SDL_Window *win, int want, int *is) {
    if (want == *is) return;
    *is = want;
    SDL_SetWindowFullscreen(win, want ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
}

/* `gui --train TASK [train options]`: `train --task TASK --watch [train options]` (cmd_watch.c). */
static int gui_train(int argc, char **argv) {
    char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av) return 1;
    int n = 0;
    av[n++] = "train";
    av[n++] = "--watch";
    for (int i = 1; i < argc; i++) av[n++] = !strcmp(argv[i], "--train") ? "--task" : argv[i];
    int rc = cmd_train(n, av);
    free(av);
    return rc;
}

int cmd_gui(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--train")) return gui_train(argc, argv);
    viz_opts o;
    if (!viz_parse("gui", argc, argv, &o)) return 2;
    int sized = 0;
    for (int i = 1; i < argc; i++) sized |= !strcmp(argv[i], "--size");
    if (!sized) { o.w = 1600; o.h = 900; }
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "0");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "stepformer gui: cannot open a display: %s (use `stepformer render` without one)\n", SDL_GetError());
        return 1;
    }
    if (!have_display() && !o.out) {
        fprintf(stderr, "stepformer gui: no display found (SDL chose the '%s' video driver, which shows nothing);\n"
                        "  run it inside a desktop session, or draw PNGs with `stepformer render` instead\n",
                SDL_GetCurrentVideoDriver());
        SDL_Quit();
        return 1;
    }
    SDL_Window *win;
    SDL_Renderer *r;
    if (!open_window("stepformer gui", o.w, o.h, &win, &r)) { SDL_Quit(); return 1; }
    vz_app a;
    if (!viz_open(&o, r, &a)) { SDL_DestroyRenderer(r); SDL_DestroyWindow(win); SDL_Quit(); return 1; }
    char title[512];
    snprintf(title, sizeof title, "stepformer - %s - %s", o.model ? o.model : o.snapshots, o.input);
    SDL_SetWindowTitle(win, title);
    if (o.step < 0) vz_app_goto(&a, 0); /* the window starts at the beginning; render defaults to the end */
    SDL_StopTextInput();
    int fullscreen = 0, rc = 0;
    long frame = 0;
    while (!a.quit) {
        SDL_Event e;
        int dirty = 0;
        if (SDL_WaitEventTimeout(&e, 250)) {
            do dirty |= vz_app_event(&a, &e) | (e.type == SDL_WINDOWEVENT);
            while (SDL_PollEvent(&e));
        }
        apply_fullscreen(win, a.want_fullscreen, &fullscreen);
        int w, h;
        SDL_GetRendererOutputSize(r, &w, &h);
        /* idle wake-ups redraw only while a status message is up (it times out) or a screenshot is due */
        if (!dirty && !a.status[0] && !o.out && frame > 2) continue;
        vz_app_frame(&a, w, h);
        if (++frame == 3 && o.out) { /* --out: a scripted screenshot of the real window, then quit */
            sf_err err = vz_app_save_png(&a, w, h, o.out);
            if (!err.ok) rc = cli_fail(err);
            else printf("wrote %s (%dx%d window)\n", o.out, w, h);
            a.quit = 1;
        }
        SDL_RenderPresent(r);
    }
    vz_app_free(&a);
    SDL_DestroyRenderer(r);
    SDL_DestroyWindow(win);
    SDL_Quit();
    return rc;
}

#ifdef HAVE_SF_LESSON
int gui_lessons(const char *file, const char *dir, int lang, const char *font, int w, int h, float zoom, const gui_display *d) {
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "0");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) return -1;
    if (!have_display()) { SDL_Quit(); return -1; }
    vz_font_paths fp;
    sf_err e = vz_font_find(font, &fp);
    if (!e.ok) { SDL_Quit(); return cli_fail(e); }
    SDL_Window *win;
    SDL_Renderer *r;
    if (!open_window("stepformer", w, h, &win, &r)) { SDL_Quit(); return 1; }
    static vz_player p; /* large: kept off the stack */
    vz_player_init(&p, r, &fp, lang);
    p.zoom = zoom;
    if (d) { p.projector = d->projector; p.theme = d->theme; p.cmap = d->cmap; }
    int rc = 0;
    if (file) e = vz_player_open(&p, file);
    else e = vz_player_show_index(&p, dir);
    if (!e.ok) rc = cli_fail(e);
    SDL_StopTextInput();
    int fullscreen = 0;
    long frame = 0;
    char title[400];
    while (!rc && !p.quit) {
        SDL_Event ev;
        int dirty = 0;
        if (SDL_WaitEventTimeout(&ev, 250)) {
            do dirty |= vz_player_event(&p, &ev) | (ev.type == SDL_WINDOWEVENT);
            while (SDL_PollEvent(&ev));
        }
        apply_fullscreen(win, p.want_fullscreen, &fullscreen);
        const char *lt = p.have_lesson && !p.in_index ? p.lesson.title[p.lang] ? p.lesson.title[p.lang] : p.lesson.title[0] : NULL;
        snprintf(title, sizeof title, "stepformer - %s", lt ? lt : vz_tr(p.lang, VZ_S_IDX_TITLE));
        SDL_SetWindowTitle(win, title);
        int ww, wh;
        SDL_GetRendererOutputSize(r, &ww, &wh);
        if (!dirty && !(p.have_app && p.app.status[0]) && frame > 2) continue;
        vz_player_frame(&p, ww, wh);
        frame++;
        SDL_RenderPresent(r);
    }
    vz_player_free(&p);
    SDL_DestroyRenderer(r);
    SDL_DestroyWindow(win);
    SDL_Quit();
    return rc;
}
#endif
#endif
