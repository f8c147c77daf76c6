/* cmd_render.c - `stepformer render`: draws exactly what the window would show at a cursor position
 * into a PNG, with the software renderer and no display. */
#include "cli.h"

#ifdef HAVE_SF_VIZ
#include <SDL2/SDL_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "model/format.h"
#include "viz/layout.h"
#include "viz_opts.h"

int viz_parse(const char *cmd, int argc, char **argv, viz_opts *o) {
    memset(o, 0, sizeof *o);
    o->w = 1920;
    o->h = 1080;
    o->step = -1;
    o->max_new = 12;
    o->zoom = 1.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!(v = cli_value(argc, argv, &i))) return 0;
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--input")) o->input = v;
        else if (!strcmp(a, "--font")) o->font = v;
        else if (!strcmp(a, "--tokenizer")) o->tokenizer = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--panel")) {
            if (vz_panel_parse(v) < 0) {
                fprintf(stderr, "stepformer %s: --panel '%s': expected one of", cmd, v);
                for (int p = 0; p < VZ_P_COUNT; p++) fprintf(stderr, " %s", vz_panel_name(p));
                fprintf(stderr, "\n");
                return 0;
            }
            o->panel = v;
        } else if (!strcmp(a, "--size")) {
            char *x;
            long w = strtol(v, &x, 10), h = *x == 'x' ? strtol(x + 1, &x, 10) : 0;
            if (*x || w < 320 || h < 240 || w > 7680 || h > 4320) {
                fprintf(stderr, "stepformer %s: --size '%s': expected WIDTHxHEIGHT from 320x240 to 7680x4320\n", cmd, v);
                return 0;
            }
            o->w = (int)w;
            o->h = (int)h;
        } else if (!strcmp(a, "--step")) { if (!cli_int(a, v, -1, 100000000, &o->step)) return 0; }
        else if (!strcmp(a, "--max-new")) { if (!cli_int(a, v, -1, SF_MAX_LEN, &o->max_new)) return 0; } /* -1: until <eos> */
        else if (!strcmp(a, "--seed")) { if (!cli_int(a, v, 0, 2147483647, &o->seed)) return 0; }
        else if (!strcmp(a, "--temperature")) { if (!cli_float(a, v, 0, 3, &o->temperature)) return 0; }
        else if (!strcmp(a, "--zoom")) { if (!cli_float(a, v, 0.5, 3, &o->zoom)) return 0; }
        else { fprintf(stderr, "stepformer %s: unknown option '%s'\n", cmd, a); return 0; }
    }
    if (!o->model || !o->input) {
        fprintf(stderr, "stepformer %s: --model FILE and --input TEXT are required\n", cmd);
        return 0;
    }
    return 1;
}

int viz_open(const viz_opts *o, SDL_Renderer *r, vz_app *a) {
    vz_font_paths fp;
    sf_err e = vz_font_find(o->font, &fp);
    if (!e.ok) return !cli_fail(e);
    sf_model m;
    sf_load_opts lo = {o->tokenizer};
    if (!(e = sf_model_load(o->model, &lo, &m)).ok) return !cli_fail(e);
    vz_run_cfg rc = {o->max_new, (unsigned)o->seed, o->temperature};
    if (!(e = vz_app_init(a, r, &fp, &m, o->input, &rc)).ok) return !cli_fail(e);
    a->zoom = o->zoom;
    a->only = o->panel ? vz_panel_parse(o->panel) : -1;
    vz_app_goto(a, o->step < 0 ? a->sched.n - 1 : o->step);
    return 1;
}

int cmd_render(int argc, char **argv) {
#ifdef HAVE_SF_LESSON
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--lesson")) return lesson_render(argc, argv); /* slides: one PNG per lesson step */
#endif
    viz_opts o;
    if (!viz_parse("render", argc, argv, &o)) return 2;
    if (!o.out) { fprintf(stderr, "stepformer render: --out FILE.png is required\n"); return 2; }
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, o.w, o.h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!surf) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); return 1; }
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    if (!r) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); SDL_FreeSurface(surf); return 1; }
    vz_app a;
    if (!viz_open(&o, r, &a)) { SDL_DestroyRenderer(r); SDL_FreeSurface(surf); return 1; }
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
