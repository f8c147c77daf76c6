/* gui.c - `stepformer gui`: the interactive window. The loop reads one event at a time into the app
 * (viz/app.h) and draws one frame after the events of each wake-up. With --out FILE it saves its third
 * frame and quits (a scripted screenshot of the real window). */
#include "cli.h"

#ifdef HAVE_SF_VIZ
#include <stdio.h>
#include <string.h>

#include "viz_opts.h"
#ifdef HAVE_SF_LESSON
#include "viz/lesson_player.h"
#endif

int cmd_gui(int argc, char **argv) {
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
    const char *drv = SDL_GetCurrentVideoDriver();
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")) && !o.out) {
        fprintf(stderr, "stepformer gui: no display found (SDL chose the '%s' video driver, which shows nothing);\n"
                        "  run it inside a desktop session, or draw PNGs with `stepformer render` instead\n", drv);
        SDL_Quit();
        return 1;
    }
    SDL_Window *win = SDL_CreateWindow("stepformer", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o.w, o.h,
                                       SDL_WINDOW_RESIZABLE);
    if (!win) { fprintf(stderr, "stepformer gui: %s\n", SDL_GetError()); SDL_Quit(); return 1; }
    SDL_SetWindowMinimumSize(win, 960, 540);
    SDL_Renderer *r = SDL_CreateRenderer(win, -1, SDL_RENDERER_PRESENTVSYNC);
    if (!r) r = SDL_CreateRenderer(win, -1, SDL_RENDERER_SOFTWARE);
    if (!r) { fprintf(stderr, "stepformer gui: %s\n", SDL_GetError()); SDL_DestroyWindow(win); SDL_Quit(); return 1; }
    vz_app a;
    if (!viz_open(&o, r, &a)) { SDL_DestroyRenderer(r); SDL_DestroyWindow(win); SDL_Quit(); return 1; }
    char title[512];
    snprintf(title, sizeof title, "stepformer - %s - %s", o.model, o.input);
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
        if (a.want_fullscreen != fullscreen) {
            fullscreen = a.want_fullscreen;
            SDL_SetWindowFullscreen(win, fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
        }
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
    const char *drv = SDL_GetCurrentVideoDriver();
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy"))) { SDL_Quit(); return -1; }
    vz_font_paths fp;
    sf_err e = vz_font_find(font, &fp);
    if (!e.ok) { SDL_Quit(); return cli_fail(e); }
    SDL_Window *win = SDL_CreateWindow("stepformer", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                                       SDL_WINDOW_RESIZABLE);
    if (!win) { fprintf(stderr, "stepformer: %s\n", SDL_GetError()); SDL_Quit(); return 1; }
    SDL_SetWindowMinimumSize(win, 960, 540);
    SDL_Renderer *r = SDL_CreateRenderer(win, -1, SDL_RENDERER_PRESENTVSYNC);
    if (!r) r = SDL_CreateRenderer(win, -1, SDL_RENDERER_SOFTWARE);
    if (!r) { fprintf(stderr, "stepformer: %s\n", SDL_GetError()); SDL_DestroyWindow(win); SDL_Quit(); return 1; }
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
        int want_fs = p.have_app && p.app.want_fullscreen;
        if (want_fs != fullscreen) {
            fullscreen = want_fs;
            SDL_SetWindowFullscreen(win, fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
        }
        const char *lt = p.have_lesson && !p.in_index ? p.lesson.title[p.lang] ? p.lesson.title[p.lang] : p.lesson.title[0] : NULL;
        snprintf(title, sizeof title, "stepformer - %s", lt ? lt : "lessons");
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
