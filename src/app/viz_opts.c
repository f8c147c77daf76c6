/* viz_opts.c - the options the render, gui and lesson commands share, and opening the app they drive. */
#ifdef HAVE_SF_VIZ
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/checkpoint.h"
#include "model/format.h"
#include "model/interv.h"
#include "viz/layout.h"
#include "viz_opts.h"

int viz_display_opt(const char *cmd, int argc, char **argv, int *i, int *projector, int *lang, int *theme, int *cmap) {
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--projector")) { *projector = 1; return 1; }
    if (strcmp(a, "--lang") && strcmp(a, "--theme") && strcmp(a, "--cmap")) return 0;
    if (!(v = cli_value(argc, argv, i))) return -1;
    if (!strcmp(a, "--lang")) {
        if (!strcmp(v, "en")) *lang = VZ_LANG_EN;
        else if (!strcmp(v, "zh")) *lang = VZ_LANG_ZH;
        else { fprintf(stderr, "stepformer %s: --lang '%s': expected en or zh\n", cmd, v); return -1; }
    } else if (!strcmp(a, "--theme")) {
        if ((*theme = vz_theme_parse(v)) < 0) { fprintf(stderr, "stepformer %s: --theme '%s': expected dark or light\n", cmd, v); return -1; }
    } else if ((*cmap = vz_palette_parse(v)) < 0) {
        fprintf(stderr, "stepformer %s: --cmap '%s': expected viridis, cividis or blue-orange\n", cmd, v);
        return -1;
    }
    return 1;
}

int viz_parse(const char *cmd, int argc, char **argv, viz_opts *o) {
    memset(o, 0, sizeof *o);
    o->w = 1920;
    o->h = 1080;
    o->step = -1;
    o->max_new = 12;
    o->zoom = 1.0f;
    o->snap_step = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--keys")) { o->keys = 1; continue; }
        int d = viz_display_opt(cmd, argc, argv, &i, &o->projector, &o->lang, &o->theme, &o->cmap);
        if (d < 0) return 0;
        if (d) continue;
        if (!(v = cli_value(argc, argv, &i))) return 0;
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--input") || !strcmp(a, "--probe")) o->input = v;
        else if (!strcmp(a, "--snapshots")) o->snapshots = v;
        else if (!strcmp(a, "--snapshot")) { if (!cli_int(a, v, 0, 100000000, &o->snap_step)) return 0; }
        else if (!strcmp(a, "--font")) o->font = v;
        else if (!strcmp(a, "--tokenizer")) o->tokenizer = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--target")) o->target = v;
        else if (!strcmp(a, "--ablate")) o->ablate = v;
        else if (!strcmp(a, "--ablate-mode")) {
            if (!sf_ablate_mode_parse(v, &o->ablate_mode)) {
                fprintf(stderr, "stepformer %s: --ablate-mode '%s': expected zero or mean\n", cmd, v);
                return 0;
            }
        }
        else if (!strcmp(a, "--panel")) {
            if (vz_panel_parse(v) < 0) {
                fprintf(stderr, "stepformer %s: --panel '%s': expected one of", cmd, v);
                for (int p = 0; p < VZ_P_COUNT; p++) fprintf(stderr, " %s", vz_panel_name(p));
                fprintf(stderr, "\n");
                return 0;
            }
            o->panel = v;
        } else if (!strcmp(a, "--size")) {
            if (!cli_size(cmd, a, v, &o->w, &o->h)) return 0;
        } else if (!strcmp(a, "--step")) { if (!cli_int(a, v, -1, 100000000, &o->step)) return 0; }
        else if (!strcmp(a, "--max-new")) { if (!cli_int(a, v, -1, SF_MAX_LEN, &o->max_new)) return 0; } /* -1: until <eos> */
        else if (!strcmp(a, "--seed")) { if (!cli_int(a, v, 0, 2147483647, &o->seed)) return 0; }
        else if (!strcmp(a, "--temperature")) { if (!cli_float(a, v, 0, 3, &o->temperature)) return 0; }
        else if (!strcmp(a, "--zoom")) { if (!cli_float(a, v, 0.5, 3, &o->zoom)) return 0; }
        else { fprintf(stderr, "stepformer %s: unknown option '%s'\n", cmd, a); return 0; }
    }
    if ((!o->model && !o->snapshots) || !o->input) {
        fprintf(stderr, "stepformer %s: --model FILE (or --snapshots FILE) and --input TEXT are required\n", cmd);
        return 0;
    }
    return 1;
}

int viz_open(const viz_opts *o, SDL_Renderer *r, vz_app *a) {
    vz_font_paths fp;
    sf_err e = vz_font_find(o->font, &fp);
    if (!e.ok) return !cli_fail(e);
    sf_model m;
    sf_snapshots *snaps = NULL;
    if (o->snapshots) { /* the series: its own model unless --model gives one of the same shape */
        if (!(snaps = calloc(1, sizeof *snaps))) return !cli_fail(sf_fail("out of memory"));
        if (!(e = sf_snapshots_load(o->snapshots, snaps)).ok) { free(snaps); return !cli_fail(e); }
        if (!o->model && !(e = vz_model_clone(&snaps->model, &m)).ok) { sf_snapshots_free(snaps); free(snaps); return !cli_fail(e); }
    }
    sf_load_opts lo = {o->tokenizer};
    if (o->model && !(e = sf_model_load(o->model, &lo, &m)).ok) {
        if (snaps) { sf_snapshots_free(snaps); free(snaps); }
        return !cli_fail(e);
    }
    vz_run_cfg rc = {o->max_new, (unsigned)o->seed, o->temperature};
    if (!(e = vz_app_init(a, r, &fp, &m, o->input, &rc)).ok) {
        if (snaps) { sf_snapshots_free(snaps); free(snaps); }
        return !cli_fail(e);
    }
    if (snaps) {
        int k = o->snap_step >= 0 ? sf_snapshots_at_step(snaps, o->snap_step) : snaps->n - 1;
        if (!(e = vz_app_attach_snapshots(a, snaps, k)).ok) { vz_app_free(a); return !cli_fail(sf_err_wrap(e, o->snapshots)); }
    }
    a->zoom = o->zoom;
    a->projector = o->projector;
    a->lang = o->lang;
    a->theme = o->theme;
    a->cmap = o->cmap;
    int p = o->panel ? vz_panel_parse(o->panel) : -1;
    if (o->projector && vz_panel_spotlightable(p)) a->spotlight = p; /* projector: that panel is the spotlight */
    else a->only = p;                                                 /* else: that panel alone */
    a->v.help = o->keys;
    if (o->target || o->ablate) { /* the run as `trace --target ... --ablate ...` makes it */
        vz_run_spec rs = {o->input, o->target, {o->temperature, 0}, (unsigned long long)o->seed, o->max_new, 1, o->ablate,
                          o->ablate_mode ? o->ablate_mode : SF_ABLATE_ZERO};
        if (!(e = vz_app_run(a, &rs)).ok) { vz_app_free(a); return !cli_fail(sf_err_wrap(e, o->ablate ? "--ablate" : "--target")); }
    }
    vz_app_goto(a, o->step < 0 ? a->sched.n - 1 : o->step);
    return 1;
}
#endif
