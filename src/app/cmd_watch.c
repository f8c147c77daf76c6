/* cmd_watch.c - `stepformer train ... --watch`: the run of `stepformer train` (the very same loop, files and
 * saves: train_hook.h) in its own thread, watched in a window (viz/watch.h) that never waits for a step; or,
 * with --watch-frames DIR, drawn without a display to DIR/watch-STEP.png at every measured step, with every
 * step's figures in DIR/metrics.tsv. `gui --train TASK ...` starts the same from the gui command. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "train_hook.h"

#if defined(HAVE_SF_TRAIN) && defined(HAVE_SF_VIZ)
#include <SDL2/SDL_image.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "viz/watch.h"

typedef struct {
    int argc;
    char **argv;          /* the train options, the watch options taken out */
    const char *frames;   /* --watch-frames DIR, or NULL: a window */
    const char *probe;    /* --probe TEXT, or NULL: the task's first held-out example */
    const char *out;      /* --out: the model the run saves */
    int every;            /* --watch-every N (0: a hundredth of the run, a tenth with --watch-frames) */
    int w, h, projector, lang;
    /* the handshake before the watch state exists */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int begun, ended, status;
    vz_watch watch;
    int have_watch;
    sf_model model;       /* a copy of the model as training starts, for the window's app */
    int have_model;
    char probe_text[512];
    char task[32];
} watch_run;

/* The hook's begin: the shared state, the window's copy of the model and the probe text; measures step 0. */
static void on_begin(void *user, const sf_model *m, const sf_task *t, const sf_adamw_cfg *oc, long start, long total) {
    watch_run *r = user;
    long d = total / (r->frames ? 10 : 250); /* a window: the weights 250 times a run; frames: 10 */
    int every = r->every ? r->every : (int)(d > 0 ? d : 1);
    sf_err e = vz_watch_init(&r->watch, m, oc, start, total, every, r->frames != NULL);
    if (e.ok) {
        r->have_watch = 1;
        if ((e = vz_model_clone(m, &r->model)).ok) r->have_model = 1;
    }
    if (!e.ok) fprintf(stderr, "stepformer train --watch: %s; training goes on without the view\n", e.msg);
    snprintf(r->task, sizeof r->task, "%s", t->name);
    if (r->probe) snprintf(r->probe_text, sizeof r->probe_text, "%s", r->probe);
    else { /* the task's first held-out example, as `eval` numbers them */
        sf_example ex;
        sf_task_example(t, SF_SPLIT_HELDOUT, sf_task_key(0xE7A1ull, 0, 0), &ex);
        if (m->cfg.family == SF_FAMILY_ENCDEC) sf_task_text(t, ex.src, ex.n_src, r->probe_text, sizeof r->probe_text);
        else sf_task_text(t, ex.in + 1, ex.n_prompt - 1, r->probe_text, sizeof r->probe_text);
    }
    if (r->have_watch) vz_watch_begin(&r->watch, m, t);
    pthread_mutex_lock(&r->mu);
    r->begun = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* The hook's step: records it; waits while paused; 0 when the window asked to stop. */
static int on_step(void *user, const sf_trainer *tr, const sf_task *t, const sf_step_stats *st, double loss_avg, double tok_s) {
    watch_run *r = user;
    if (!r->have_watch) return 1;
    return vz_watch_step(&r->watch, tr->m, t, tr->step, st, loss_avg, tok_s);
}

/* The training thread: `stepformer train` with the hook. */
static void *train_thread(void *arg) {
    watch_run *r = arg;
    train_hook hook = {r, on_begin, on_step};
    int status = train_run(r->argc, r->argv, &hook);
    pthread_mutex_lock(&r->mu);
    r->ended = 1;
    r->status = status;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    if (r->have_watch) vz_watch_end(&r->watch, status != 0);
    return NULL;
}

/* Takes the watch options out of argv into r (the rest is train's); returns 0 after printing why on a bad one. */
static int parse_watch(int argc, char **argv, watch_run *r) {
    r->argv = calloc((size_t)argc + 1, sizeof *r->argv);
    if (!r->argv) return 0;
    r->argv[r->argc++] = argv[0];
    r->w = 1920;
    r->h = 1080;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        if (!strcmp(o, "--watch")) continue;
        if (!strcmp(o, "--projector")) { r->projector = 1; continue; }
        if (!strcmp(o, "--watch-frames") || !strcmp(o, "--watch-every") || !strcmp(o, "--probe") ||
            !strcmp(o, "--size") || !strcmp(o, "--lang")) {
            if (!(v = cli_value(argc, argv, &i))) return 0;
            if (!strcmp(o, "--watch-frames")) r->frames = v;
            else if (!strcmp(o, "--probe")) r->probe = v;
            else if (!strcmp(o, "--watch-every")) { if (!cli_int(o, v, 1, 100000000, &r->every)) return 0; }
            else if (!strcmp(o, "--size")) { if (!cli_size("train", o, v, &r->w, &r->h)) return 0; }
            else if (!strcmp(v, "en") || !strcmp(v, "zh")) r->lang = !strcmp(v, "zh") ? VZ_LANG_ZH : VZ_LANG_EN;
            else { fprintf(stderr, "stepformer train: --lang '%s': expected en or zh\n", v); return 0; }
            continue;
        }
        if (!strcmp(o, "--out") && i + 1 < argc) r->out = argv[i + 1];
        r->argv[r->argc++] = argv[i];
    }
    return 1;
}

/* Writes every step's figures and every measurement to DIR/metrics.tsv; returns 0 after printing why not. */
static int write_metrics(const watch_run *r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.tsv", r->frames);
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "stepformer train: %s: %s\n", path, strerror(errno)); return 0; }
    const vz_watch *w = &r->watch;
    fprintf(f, "# step\tloss\tloss_avg\tlr\ttokens_per_s\n");
    for (long i = 0; i < w->n; i++) {
        long s = w->start + i;
        fprintf(f, "%ld\t%.9g\t%.9g\t%.9g\t%.1f\n", s + 1, (double)w->loss[s], (double)w->loss_avg[s], (double)w->lr[s], w->tok_s[s]);
    }
    fprintf(f, "# heldout\tstep\tloss\ttoken_acc\texact\n");
    for (int i = 0; i < w->n_eval; i++)
        fprintf(f, "heldout\t%d\t%.9g\t%.9g\t%.9g\n", w->eval_step[i], (double)w->eval_loss[i], (double)w->eval_acc[i],
                (double)w->eval_exact[i]);
    int ok = fclose(f) == 0;
    if (!ok) fprintf(stderr, "stepformer train: %s: %s\n", path, strerror(errno));
    return ok;
}

/* Runs the window (or the frames) until the run ends and, with a window, until it is closed; returns 0 or 1. */
static int watch_loop(watch_run *r, SDL_Window *win, SDL_Renderer *ren, SDL_Surface *surf) {
    vz_font_paths fp;
    sf_err e = vz_font_find(NULL, &fp);
    if (!e.ok) { cli_fail(e); return 1; }
    static vz_app a; /* large: kept off the stack */
    vz_run_cfg rc = {-1, 0, 0.0f};
    if (!(e = vz_app_init(&a, ren, &fp, &r->model, r->probe_text, &rc)).ok) { r->have_model = 0; cli_fail(e); return 1; }
    r->have_model = 0; /* the app owns it now */
    a.projector = r->projector;
    a.lang = r->lang;
    vz_watch_focus(&a);
    unsigned long seen = 0;
    long wstep = 0;
    int quit = 0, rc_out = 0;
    vz_watch_info info = {r->task, r->out ? r->out : "?", 0};
    char path[1200] = ""; /* (empty until the first frame, the weights training starts from, is written) */
    vz_watch_counts last = {0};
    Uint32 drawn_ms = 0;
    long frames = 0;
    while (!quit) {
        int dirty = 0;
        if (win) {
            SDL_Event ev;
            while (SDL_WaitEventTimeout(&ev, 30) && !quit) {
                int arg;
                if (ev.type == SDL_QUIT) { quit = 1; break; }
                if (ev.type == SDL_KEYDOWN && !a.editing) {
                    vz_action act = vz_key_lookup(VZ_MODE_GUI, &ev.key.keysym, &arg);
                    if (act == VZ_ACT_TRAIN_PAUSE) { vz_watch_pause(&r->watch, !vz_watch_read(&r->watch).paused); dirty = 1; continue; }
                    if (act == VZ_ACT_QUIT) { quit = 1; break; }
                }
                if (ev.type == SDL_MOUSEMOTION) ev.motion.x -= vz_watch_split(r->w, r->projector);
                if (ev.type == SDL_MOUSEBUTTONDOWN || ev.type == SDL_MOUSEBUTTONUP) ev.button.x -= vz_watch_split(r->w, r->projector);
                dirty |= vz_app_event(&a, &ev) | (ev.type == SDL_WINDOWEVENT);
                if (!SDL_PollEvent(NULL)) break;
            }
            SDL_GetRendererOutputSize(ren, &r->w, &r->h);
        }
        vz_watch_counts k = vz_watch_read(&r->watch);
        if (vz_watch_take(&r->watch, a.m.params, &seen, &wstep)) { /* newer weights: the probe's trace from them */
            char input[sizeof a.input];
            memcpy(input, a.input, sizeof input);
            int end = a.v.step == a.sched.n - 1;
            vz_app_set_input(&a, input);
            if (end) vz_app_goto(&a, a.sched.n - 1); /* (a run of another length: stay at its end) */
            dirty = 1;
        }
        info.weights_step = wstep;
        Uint32 now = SDL_GetTicks();
        if (win && (dirty || k.paused != last.paused || k.done != last.done || frames < 3 ||
                    (k.n != last.n && now - drawn_ms >= 100))) { /* the curves at 10 frames/s: the cores are for training */
            vz_watch_draw(&a, &r->watch, &info, r->w, r->h);
            SDL_RenderPresent(ren);
            last = k;
            drawn_ms = now;
            frames++;
        } else if (!win && ((k.frame_due && wstep == k.frame_due) || (!path[0] && (k.frame_due = wstep, 1)))) { /* headless: this step's picture, then training goes on */
            vz_watch_draw(&a, &r->watch, &info, r->w, r->h);
            vz_watch_draw(&a, &r->watch, &info, r->w, r->h);
            SDL_RenderPresent(ren);
            snprintf(path, sizeof path, "%s/watch-%06ld.png", r->frames, wstep);
            if (IMG_SavePNG(surf, path) != 0) { fprintf(stderr, "stepformer train: %s: %s\n", path, IMG_GetError()); rc_out = 1; vz_watch_stop(&r->watch); }
            if (vz_watch_read(&r->watch).frame_due == wstep) vz_watch_frame_done(&r->watch); /* (that step waits for it) */
            continue;
        } else if (!win) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        if (k.done && !win) break;
        if (k.done && win) { /* Ctrl-C in the terminal stopped the run: the window goes too */
            pthread_mutex_lock(&r->mu);
            int interrupted = r->ended && r->status == 130;
            pthread_mutex_unlock(&r->mu);
            if (interrupted) quit = 1;
        }
    }
    if (!vz_watch_read(&r->watch).done) vz_watch_stop(&r->watch); /* the window closed mid-run: the run saves and ends */
    vz_app_free(&a);
    return rc_out;
}

/* Opens the window or the offscreen surface, runs the view and waits for the run; returns the exit status. */
static int watch_main(watch_run *r) {
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "0");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) { fprintf(stderr, "stepformer train --watch: %s\n", SDL_GetError()); return 1; }
    const char *drv = SDL_GetCurrentVideoDriver();
    if (!r->frames && drv && (!strcmp(drv, "dummy") || !strcmp(drv, "offscreen"))) {
        fprintf(stderr, "stepformer train --watch: no display found (SDL's '%s' video driver); add --watch-frames DIR to "
                        "draw the view to PNGs instead\n", drv);
        SDL_Quit();
        return 1;
    }
    if (r->frames && mkdir(r->frames, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "stepformer train: --watch-frames %s: %s\n", r->frames, strerror(errno));
        SDL_Quit();
        return 1;
    }
    SDL_Window *win = NULL;
    SDL_Renderer *ren = NULL;
    SDL_Surface *surf = NULL;
    if (r->frames) {
        surf = SDL_CreateRGBSurfaceWithFormat(0, r->w, r->h, 32, SDL_PIXELFORMAT_ARGB8888);
        if (surf) ren = SDL_CreateSoftwareRenderer(surf);
    } else {
        win = SDL_CreateWindow("stepformer - training", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, r->w, r->h, SDL_WINDOW_RESIZABLE);
        if (win) ren = SDL_CreateRenderer(win, -1, SDL_RENDERER_PRESENTVSYNC);
        if (win && !ren) ren = SDL_CreateRenderer(win, -1, SDL_RENDERER_SOFTWARE);
    }
    if (!ren) {
        fprintf(stderr, "stepformer train --watch: %s\n", SDL_GetError());
        if (surf) SDL_FreeSurface(surf);
        if (win) SDL_DestroyWindow(win);
        SDL_Quit();
        return 1;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_t th;
    int rc = 0;
    if (pthread_create(&th, NULL, train_thread, r) != 0) { fprintf(stderr, "stepformer train --watch: cannot start a thread\n"); rc = 1; }
    else {
        pthread_mutex_lock(&r->mu);
        while (!r->begun && !r->ended) pthread_cond_wait(&r->cond, &r->mu);
        pthread_mutex_unlock(&r->mu);
        if (r->have_model && watch_loop(r, win, ren, surf) != 0) rc = 1;
        if (r->have_watch) vz_watch_stop(&r->watch); /* no view (any more): the run must not wait for one */
        pthread_join(th, NULL);
        if (r->frames && r->have_watch && !write_metrics(r)) rc = 1;
        if (r->frames && r->have_watch) printf("watch: %d frames and metrics.tsv in %s/\n", r->watch.n_eval, r->frames);
        if (r->status) rc = r->status;
    }
    if (r->have_model) sf_model_free(&r->model);
    if (r->have_watch) vz_watch_free(&r->watch);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    SDL_DestroyRenderer(ren);
    if (surf) SDL_FreeSurface(surf);
    if (win) SDL_DestroyWindow(win);
    SDL_Quit();
    return rc;
}

int cmd_train_watch(int argc, char **argv) {
    static watch_run r; /* shared with the training thread */
    memset(&r, 0, sizeof r);
    int rc = parse_watch(argc, argv, &r) ? watch_main(&r) : 2;
    free(r.argv);
    return rc;
}
#else
int cmd_train_watch(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stepformer train: --watch needs the visualizer, which this build left out (STEPFORMER_GUI=OFF)\n");
    return 2;
}
#endif
