/* cmd_render.c - `stepformer render`: draws exactly what the window would show at a cursor position
 * into a PNG, with the software renderer and no display; `render --lesson` draws a lesson's slides. */
#include "cli.h"

#ifdef HAVE_SF_VIZ
#include <SDL2/SDL_image.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "viz_opts.h"
#ifdef HAVE_SF_LESSON
#include "viz/lesson_player.h"
#endif

/* Creates folder dir if it does not exist, and every missing folder above it (`--out slides/2026/lesson6`);
 * returns 0 after printing an error that names the folder: the one that exists and is not a folder, or the one
 * that cannot be created, and why. */
static int make_dir(const char *dir) {
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        fprintf(stderr, "stepformer render: --out: %s folder name\n", n ? "too long a" : "an empty");
        return 0;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) { /* each prefix ending at a '/' (or the whole name), from the top down */
        if (path[i] != '/' && path[i] != 0) continue;
        if (path[i - 1] == '/') continue; /* ("a//b", "a/") */
        char was = path[i];
        path[i] = 0;
        struct stat st;
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                fprintf(stderr, "stepformer render: --out %s: %s exists and is not a folder\n", dir, path);
                return 0;
            }
        } else if (mkdir(path, 0777) != 0 && !(errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
            fprintf(stderr, "stepformer render: --out %s: cannot create the folder %s: %s\n", dir, path, strerror(errno));
            return 0;
        }
        path[i] = was;
    }
    return 1;
}

/* Creates the folders above file path (`--out slides/one.png`) that do not exist; returns 0 after an error. */
static int make_parent(const char *file) {
    const char *slash = strrchr(file, '/');
    if (!slash || slash == file) return 1;
    char dir[4096];
    size_t n = (size_t)(slash - file);
    if (n >= sizeof dir) n = sizeof dir - 1;
    memcpy(dir, file, n);
    dir[n] = 0;
    return make_dir(dir);
}

/* `render --snapshots FILE --probe TEXT --out DIR`: the app drawn once per snapshot of the series, each with
 * that snapshot's weights and its own trace, as DIR/snapshot-STEP.png; returns the exit status. */
static int snapshots_render(const viz_opts *o, SDL_Surface *surf, SDL_Renderer *r, vz_app *a) {
    if (!make_dir(o->out)) return 1;
    int n = a->snaps->n, step = a->v.step;
    for (int k = 0; k < n; k++) {
        vz_app_snapshot(a, k);
        vz_app_goto(a, o->step < 0 ? a->sched.n - 1 : step); /* the end of each snapshot's own run, or --step */
        vz_app_frame(a, o->w, o->h);
        vz_app_frame(a, o->w, o->h);
        SDL_RenderPresent(r);
        char path[1200];
        snprintf(path, sizeof path, "%s/snapshot-%06d.png", o->out, a->snap_steps[k]);
        if (IMG_SavePNG(surf, path) != 0) {
            fprintf(stderr, "stepformer render: %s: %s\n", path, IMG_GetError());
            return 1;
        }
    }
    char d[96];
    printf("wrote %d snapshots of %s to %s/ (%dx%d, step %d/%d: %s)\n", n, o->snapshots, o->out, o->w, o->h,
           a->v.step + 1, a->sched.n, sf_cursor_describe(a->v.cur, d, sizeof d));
    return 0;
}

#ifdef HAVE_SF_LESSON
/* Returns 1 after writing the rectangle of every panel frame c drew to path, one "name x y w h" a line (what
 * `render --panels` writes beside each PNG, so tools/ocr-lessons.sh can read each panel on its own), else 0. */
static int write_panels(const vz_ctx *c, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "stepformer render: %s: cannot write\n", path); return 0; }
    for (int k = 0; k < VZ_P_COUNT; k++) {
        vz_rect q = c->lay.r[k];
        if (q.w > 0 && q.h > 0) fprintf(f, "%s %d %d %d %d\n", vz_panel_name(k), q.x, q.y, q.w, q.h);
    }
    return fclose(f) == 0;
}

/* `render --lesson FILE --all --out DIR`: one PNG per lesson frame; returns the exit status. */
static int lesson_render(int argc, char **argv) {
    const char *file = NULL, *out = NULL, *font = NULL, *dir = NULL;
    int all = 0, frame = -1, lang = SF_LANG_EN, w = 1920, h = 1080, index = 0, keys = 0;
    int projector = 0, theme = 0, cmap = 0, unused_lang = 0, panels = 0;
    float zoom = 1.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--all")) { all = 1; continue; }
        if (!strcmp(a, "--index")) { index = 1; continue; }
        if (!strcmp(a, "--keys")) { keys = 1; continue; }
        if (!strcmp(a, "--panels")) { panels = 1; continue; }
        if (strcmp(a, "--lang")) { /* (--lang is the lesson's own option below) */
            int d = viz_display_opt("render", argc, argv, &i, &projector, &unused_lang, &theme, &cmap);
            if (d < 0) return 2;
            if (d) continue;
        }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--lesson")) file = v;
        else if (!strcmp(a, "--lessons")) dir = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--font")) font = v;
        else if (!strcmp(a, "--frame")) { if (!cli_int(a, v, 1, SF_LESSON_MAX_FRAMES, &frame)) return 2; }
        else if (!strcmp(a, "--size")) { if (!cli_size("render", a, v, &w, &h)) return 2; }
        else if (!strcmp(a, "--zoom")) { if (!cli_float(a, v, 0.5, 3, &zoom)) return 2; }
        else if (!strcmp(a, "--lang")) {
            if ((lang = sf_lang_parse(v)) < 0) { fprintf(stderr, "stepformer render: --lang '%s': expected en or zh\n", v); return 2; }
        } else { fprintf(stderr, "stepformer render: unknown option '%s' with --lesson or --index\n", a); return 2; }
    }
    if (index ? !out || file || all || frame > 0 : !file || !out || all == (frame > 0)) {
        fprintf(stderr, "usage: stepformer render --lesson FILE (--all --out DIR | --frame N --out FILE.png)\n"
                        "       stepformer render --index [--lessons DIR] --out FILE.png\n"
                        "                         [--lang en|zh] [--size WxH] [--font FILE] [--zoom Z] [--keys] [--projector]\n"
                        "                         [--panels: each PNG's panel rectangles beside it, FILE.png.panels]\n"
                        "                         [--theme dark|light] [--cmap viridis|cividis|blue-orange]\n");
        return 2;
    }
    char found[1024];
    if (index && !dir) {
        if (!cli_lessons_dir(found, sizeof found)) { fprintf(stderr, "stepformer render: --index: no lessons folder found\n"); return 1; }
        dir = found;
    }
    if (all ? !make_dir(out) : !make_parent(out)) return 1;
    vz_font_paths fp;
    sf_err e = vz_font_find(font, &fp);
    if (!e.ok) return cli_fail(e);
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!surf) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); return 1; }
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    if (!r) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); SDL_FreeSurface(surf); return 1; }
    static vz_player p; /* large: kept off the stack */
    vz_player_init(&p, r, &fp, lang);
    p.zoom = zoom;
    p.projector = projector;
    p.theme = theme;
    p.cmap = cmap;
    int rc = 0;
    p.help = keys;
    if (index) { /* the index page: one PNG */
        if (!(e = vz_player_show_index(&p, dir)).ok) rc = cli_fail(e);
        for (int k = 0; !rc && k < 2; k++) vz_player_frame(&p, w, h); /* (the second with last frame's regions) */
        SDL_RenderPresent(r);
        if (!rc && IMG_SavePNG(surf, out) != 0) { fprintf(stderr, "stepformer render: %s: %s\n", out, IMG_GetError()); rc = 1; }
        else if (!rc) printf("wrote %s (the index of %s, %dx%d, %s)\n", out, dir, w, h, sf_lang_name(lang));
        vz_player_free(&p);
        SDL_DestroyRenderer(r);
        SDL_FreeSurface(surf);
        return rc;
    }
    if (!(e = vz_player_open(&p, file)).ok) rc = cli_fail(e);
    int first = all ? 0 : frame - 1, last = all ? p.lesson.n_frames - 1 : frame - 1;
    if (!rc && last >= p.lesson.n_frames) {
        fprintf(stderr, "stepformer render: --frame %d: the lesson has %d frames\n", frame, p.lesson.n_frames);
        rc = 2;
    }
    for (int k = first; !rc && k <= last; k++) {
        vz_player_goto(&p, k);
        vz_player_frame(&p, w, h);
        SDL_RenderPresent(r);
        char name[64], path[1200];
        if (all) snprintf(path, sizeof path, "%s/%s", out, vz_player_slide_name(&p, k, name, sizeof name));
        else snprintf(path, sizeof path, "%s", out);
        if (IMG_SavePNG(surf, path) != 0) {
            fprintf(stderr, "stepformer render: %s: %s\n", path, IMG_GetError());
            rc = 1;
        } else if (!all) {
            printf("wrote %s\n", path);
        }
        if (!rc && panels) {
            char pp[1300];
            snprintf(pp, sizeof pp, "%s.panels", path);
            if (!write_panels(&p.app.ctx, pp)) rc = 1;
        }
        if (p.err[0]) { fprintf(stderr, "stepformer render: frame %d: %s\n", k + 1, cli_safe(p.err)); p.err[0] = 0; }
    }
    if (!rc && all) printf("wrote %d slides of %s to %s/ (%dx%d, %s)\n", p.lesson.n_frames, file, out, w, h, sf_lang_name(lang));
    vz_player_free(&p);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
    return rc;
}
#endif

int cmd_render(int argc, char **argv) {
#ifdef HAVE_SF_LESSON
    for (int i = 1; i < argc; i++) /* slides: one PNG per lesson step, or the index page */
        if (!strcmp(argv[i], "--lesson") || !strcmp(argv[i], "--index")) return lesson_render(argc, argv);
#endif
    viz_opts o;
    if (!viz_parse("render", argc, argv, &o)) return 2;
    if (!o.out) { fprintf(stderr, "stepformer render: --out FILE.png is required\n"); return 2; }
    if (!o.snapshots && !make_parent(o.out)) return 1; /* (a series: snapshots_render makes its folder) */
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, o.w, o.h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!surf) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); return 1; }
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    if (!r) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); SDL_FreeSurface(surf); return 1; }
    vz_app a;
    if (!viz_open(&o, r, &a)) { SDL_DestroyRenderer(r); SDL_FreeSurface(surf); return 1; }
    if (o.snapshots) { /* the timeline as one picture per snapshot */
        int rc = snapshots_render(&o, surf, r, &a);
        vz_app_free(&a);
        SDL_DestroyRenderer(r);
        SDL_FreeSurface(surf);
        return rc;
    }
    vz_app_frame(&a, o.w, o.h);
    vz_app_frame(&a, o.w, o.h); /* hover/click regions exist from the first; the second is the picture */
    SDL_RenderPresent(r);
    int rc = 0;
    if (IMG_SavePNG(surf, o.out) != 0) {
        fprintf(stderr, "stepformer render: %s: %s\n", o.out, IMG_GetError());
        rc = 1;
    } else {
        char d[96];
        printf("wrote %s (%dx%d, step %d/%d: %s)\n", o.out, o.w, o.h, a.v.step, a.sched.n,
               sf_cursor_describe(a.v.cur, d, sizeof d));
    }
    vz_app_free(&a);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
    return rc;
}
#endif
