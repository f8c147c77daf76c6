/* test_watch.c - snapshot playback (the app's snapshot equals loading that snapshot's weights directly; the
 * keys and the slider choose snapshots), render --snapshots (one PNG per snapshot), and train --watch: the
 * shared state's weights and figures, pause stopping the steps, the headless frames and metrics.tsv against
 * the progress lines train prints. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/io.h"
#include "lesson/lesson.h"
#include "runkit.h"
#include "train/snapshot.h"
#include "train/tasks.h"
#include "train/trainer.h"
#include "viz/watch.h"
#include "vizkit.h"

#define SNAP SF_SOURCE_DIR "/assets/models/reverse.snap"

/* Returns 1 if traces a and b hold the same entries with the same numbers (every visible element). */
static int same_trace(const sf_trace *a, const sf_trace *b) {
    int extra = 0; /* the window's trace also carries the logit lens (dec.L{l}.lens.probs), which a plain build has not */
    for (int i = 0; i < a->n; i++) extra += strstr(a->e[i].name, ".lens.") != NULL;
    if (a->n - extra != b->n) return 0;
    for (int i = 0; i < b->n; i++) {
        const sf_trace_entry *y = &b->e[i], *x = sf_trace_find(a, y->name);
        if (!x || x->rank != y->rank) return 0;
        size_t n = 1;
        for (int d = 0; d < x->rank; d++) {
            if (x->cap[d] != y->cap[d]) return 0;
            n *= (size_t)x->cap[d];
        }
        if (memcmp(x->data, y->data, n * sizeof *x->data) != 0) return 0;
    }
    return 1;
}

/* Builds the trace of snapshot k of the series on input directly: sf_snapshots_select, sf_run, sf_trace_build. */
static void direct_trace(sf_snapshots *s, int k, const char *input, int max_new, sf_seq *seq, sf_trace *tr) {
    assert_true(sf_snapshots_select(s, k));
    assert_true(sf_seq_build(seq, &s->model.cfg).ok);
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = input;
    o.max_new = max_new;
    int np = 0;
    assert_true(sf_run(&s->model, seq, &o, &np).ok);
    memset(tr, 0, sizeof *tr);
    assert_true(sf_trace_build(tr, &s->model, seq).ok);
}

static void test_snapshot_equals_direct(void **state) {
    (void)state;
    vk_screen sc;
    vk_open(&sc, SF_FAMILY_ENCDEC, "abcdefghijklmnopqrstuvwxyz", "abcdefgh", 1280, 720);
    vz_app *a = &sc.app;
    sf_err e = vz_app_open_snapshots(a, SNAP, 3);
    if (!e.ok) fail_msg("%s", e.msg);
    assert_non_null(a->snaps);
    assert_int_equal(a->snap_k, 3);
    assert_string_equal(a->input, "abcdefgh");
    sf_snapshots s;
    assert_true(sf_snapshots_load(SNAP, &s).ok);
    assert_int_equal(a->snaps->n, s.n);
    sf_seq seq;
    sf_trace tr;
    direct_trace(&s, 3, "abcdefgh", a->max_new, &seq, &tr);
    assert_true(same_trace(&a->tr, &tr)); /* the window's snapshot 3 is snapshot 3 */
    sf_trace_free(&tr);
    sf_seq_free(&seq);
    /* , goes one back: snapshot 2's trace, which is not snapshot 3's */
    assert_true(vz_app_act(a, VZ_ACT_SNAP_PREV, 0));
    assert_int_equal(a->snap_k, 2);
    direct_trace(&s, 2, "abcdefgh", a->max_new, &seq, &tr);
    assert_true(same_trace(&a->tr, &tr));
    sf_trace tr3;
    sf_seq seq3;
    direct_trace(&s, 3, "abcdefgh", a->max_new, &seq3, &tr3);
    assert_false(same_trace(&a->tr, &tr3));
    sf_trace_free(&tr3);
    sf_seq_free(&seq3);
    sf_trace_free(&tr);
    sf_seq_free(&seq);
    /* ; twice: snapshot 4 */
    vz_app_act(a, VZ_ACT_SNAP_NEXT, 0);
    vz_app_act(a, VZ_ACT_SNAP_NEXT, 0);
    assert_int_equal(a->snap_k, 4);
    /* the slider: a click at its left end is step 0, at its right end the last snapshot */
    vz_app_frame(a, sc.w, sc.h);
    vz_app_frame(a, sc.w, sc.h);
    const vz_click *tl = NULL;
    for (int y = 0; y < 120 && !tl; y++)
        for (int x = 0; x < sc.w && !tl; x += 4) {
            const vz_click *c = vz_click_at(&a->ctx, x, y);
            if (c && c->kind == VZ_CLICK_TIMELINE) tl = c;
        }
    assert_non_null(tl);
    int x0 = tl->a, w = tl->b, ty = tl->r.y + tl->r.h / 2;
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEBUTTONDOWN;
    ev.button.button = SDL_BUTTON_LEFT;
    ev.button.x = x0;
    ev.button.y = ty;
    vz_app_event(a, &ev);
    assert_int_equal(a->snap_k, 0);
    /* dragging to the right end: the last snapshot, with its weights */
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEMOTION;
    ev.motion.state = SDL_BUTTON_LMASK;
    ev.motion.x = x0 + w;
    ev.motion.y = ty;
    vz_app_event(a, &ev);
    assert_int_equal(a->snap_k, s.n - 1);
    float *p = malloc(s.model.n_params * sizeof *p);
    assert_true(sf_snapshots_weights(&s, s.n - 1, p));
    assert_memory_equal(p, a->m.params, s.model.n_params * sizeof *p);
    free(p);
    /* the top bar names the snapshot's step */
    assert_int_equal(a->v.tl_steps[a->v.tl_k], sf_snapshots_info(&s, s.n - 1)->step);
    sf_snapshots_free(&s);
    vk_close(&sc);
}

static void test_snapshots_bad_file(void **state) {
    (void)state;
    vk_screen sc;
    vk_open(&sc, SF_FAMILY_ENCDEC, "abc", "abc", 640, 360);
    sf_err e = vz_app_open_snapshots(&sc.app, SF_SOURCE_DIR "/assets/models/reverse.sfm", -1);
    assert_false(e.ok); /* a checkpoint is not a series: an error, and the app as it was */
    assert_null(sc.app.snaps);
    assert_false(vz_app_snapshot(&sc.app, 1));
    vz_app_act(&sc.app, VZ_ACT_SNAP_NEXT, 0); /* says there is no series; changes nothing */
    assert_true(sc.app.status[0] != 0);
    vk_close(&sc);
}

/* Returns how many files in dir start with prefix. */
static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

static char tmp[] = "/tmp/sf_watch_XXXXXX";

static void test_render_snapshots(void **state) {
    (void)state;
    char out[256];
    snprintf(out, sizeof out, "%s/slides", tmp);
    const char *argv[] = {"render", "--snapshots", SNAP, "--probe", "abcdef", "--size", "640x360", "--out", out, NULL};
    rk_result r;
    rk_run(&r, argv, NULL, 120);
    assert_int_equal(r.status, 0);
    sf_snapshots s;
    assert_true(sf_snapshots_load(SNAP, &s).ok);
    assert_int_equal(count_files(out, "snapshot-"), s.n);
    for (int k = 0; k < s.n; k++) {
        char f[400];
        snprintf(f, sizeof f, "%s/snapshot-%06d.png", out, sf_snapshots_info(&s, k)->step);
        assert_int_equal(access(f, R_OK), 0);
    }
    sf_snapshots_free(&s);
    /* a series that is not one: an error naming it, no pictures */
    const char *bad[] = {"render", "--snapshots", SF_SOURCE_DIR "/assets/models/reverse.sfm", "--probe", "abc", "--out", out, NULL};
    rk_run(&r, bad, NULL, 60);
    assert_int_not_equal(r.status, 0);
    assert_true(rk_has(&r, "reverse.sfm"));
}

/* ---- the watch state: a real trainer in a thread ----------------------------------------------- */

typedef struct {
    vz_watch *w;
    sf_trainer *tr;
    sf_task *t;
    long steps;
} loop_arg;

/* The training loop as cmd_train runs it, with the watch hook after every step. */
static void *loop(void *p) {
    loop_arg *a = p;
    sf_example ex[4];
    double avg = NAN;
    while (a->tr->step < a->steps) {
        sf_task_batch(a->t, 1, a->tr->step, ex, 4);
        sf_step_stats st;
        if (!sf_trainer_step(a->tr, ex, 4, &st).ok) break;
        avg = isnan(avg) ? st.loss : 0.9 * avg + 0.1 * st.loss;
        if (!vz_watch_step(a->w, a->tr->m, a->t, a->tr->step, &st, avg, 1.0)) break;
    }
    vz_watch_end(a->w, 0);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_watch_pause(void **state) {
    (void)state;
    sf_task t;
    assert_true(sf_task_open(&t, "reverse", NULL).ok);
    sf_model m;
    vk_model(&m, SF_FAMILY_ENCDEC, t.alphabet, 1);
    sf_adamw_cfg oc = sf_adamw_defaults(100000);
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, 1).ok);
    vz_watch w;
    assert_true(vz_watch_init(&w, &m, &oc, 0, 100000, 5, 0).ok);
    vz_watch_begin(&w, &m, &t);
    float *seen_w = malloc(m.n_params * sizeof *seen_w);
    unsigned long seen = 0;
    long wstep = -1;
    assert_true(vz_watch_take(&w, seen_w, &seen, &wstep)); /* step 0: the initial weights, measured */
    assert_int_equal(wstep, 0);
    assert_false(vz_watch_take(&w, seen_w, &seen, &wstep)); /* nothing newer yet */
    assert_int_equal(vz_watch_read(&w).n_eval, 1);
    loop_arg la = {&w, &tr, &t, 100000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, loop, &la), 0);
    while (vz_watch_read(&w).n < 6) sleep_ms(5);
    vz_watch_pause(&w, 1);
    sleep_ms(200); /* the step under way ends, then the trainer waits */
    long at = vz_watch_read(&w).n;
    sleep_ms(400);
    assert_int_equal(vz_watch_read(&w).n, at); /* paused: no step advances */
    assert_true(vz_watch_read(&w).paused);
    /* paused: the window gets the weights of the very step it stopped at */
    vz_watch_take(&w, seen_w, &seen, &wstep);
    assert_int_equal(wstep, at);
    assert_memory_equal(seen_w, m.params, m.n_params * sizeof *seen_w);
    vz_watch_pause(&w, 0);
    long t0 = at;
    for (int i = 0; i < 400 && vz_watch_read(&w).n <= t0 + 2; i++) sleep_ms(5);
    assert_true(vz_watch_read(&w).n > t0 + 2); /* resumed: steps go on */
    vz_watch_stop(&w);
    pthread_join(th, NULL);
    vz_watch_counts k = vz_watch_read(&w);
    assert_true(k.done);
    /* every step's figures are recorded in order, the schedule is the trainer's */
    for (long s = 0; s < k.n; s++) {
        assert_true(isfinite(w.loss[s]) && w.loss[s] > 0);
        assert_float_equal(w.lr[s], sf_lr_at(&oc, s), 0);
    }
    assert_int_equal(w.eval_every, 2000); /* a long run: about 50 measurements, at multiples of the copies' 5 */
    assert_true(k.n_eval >= 1 && w.eval_step[0] == 0);
    free(seen_w);
    vz_watch_free(&w);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    sf_task_close(&t);
}

/* The headless watch: frames at the measured steps, and metrics.tsv's moving-average loss is what the progress
 * lines print at the same steps. */
static void test_watch_frames_metrics(void **state) {
    (void)state;
    char out[256], frames[256];
    snprintf(out, sizeof out, "%s/w.sfm", tmp);
    snprintf(frames, sizeof frames, "%s/frames", tmp);
    const char *argv[] = {"train", "--task", "reverse", "--steps", "40", "--batch", "8", "--out", out, "--watch",
                          "--watch-frames", frames, "--watch-every", "10", "--size", "640x360", NULL};
    rk_result r;
    rk_run(&r, argv, NULL, 240);
    if (r.status != 0) fail_msg("%s", r.out);
    assert_int_equal(access(out, R_OK), 0); /* saved as train saves */
    assert_int_equal(count_files(frames, "watch-"), 5); /* steps 0, 10, 20, 30, 40 */
    char tsv[400];
    snprintf(tsv, sizeof tsv, "%s/metrics.tsv", frames);
    FILE *f = fopen(tsv, "r");
    assert_non_null(f);
    double avg[41] = {0};
    int rows = 0, held = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        long s;
        double loss, la, lr, tps;
        if (line[0] == '#') continue;
        if (!strncmp(line, "heldout", 7)) { held++; continue; }
        assert_int_equal(sscanf(line, "%ld %lf %lf %lf %lf", &s, &loss, &la, &lr, &tps), 5);
        assert_true(s >= 1 && s <= 40);
        avg[s] = la;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 40);
    assert_int_equal(held, 5);
    /* every progress line "step S/40  loss X" against the watch's figure of step S */
    int checked = 0;
    for (const char *p = r.out; (p = strstr(p, "step ")); p++) {
        long s, total;
        double x;
        if (sscanf(p, "step %ld/%ld  loss %lf", &s, &total, &x) != 3 || total != 40) continue;
        char a1[32], a2[32];
        snprintf(a1, sizeof a1, "%.4f", x);
        snprintf(a2, sizeof a2, "%.4f", avg[s]);
        assert_string_equal(a1, a2);
        checked++;
    }
    assert_true(checked >= 10);
    /* the watched run saved exactly what the same run without --watch saves */
    char plain[256];
    snprintf(plain, sizeof plain, "%s/plain.sfm", tmp);
    const char *pargv[] = {"train", "--task", "reverse", "--steps", "40", "--batch", "8", "--out", plain, NULL};
    rk_run(&r, pargv, NULL, 240);
    assert_int_equal(r.status, 0);
    unsigned char *x, *y;
    size_t nx, ny;
    assert_true(sf_read_file(out, 1 << 24, &x, &nx).ok);
    assert_true(sf_read_file(plain, 1 << 24, &y, &ny).ok);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

static void test_watch_needs_display(void **state) {
    (void)state;
    char out[256];
    snprintf(out, sizeof out, "%s/nd.sfm", tmp);
    const char *argv[] = {"train", "--task", "reverse", "--steps", "5", "--out", out, "--watch", NULL};
    rk_result r;
    rk_run(&r, argv, NULL, 60);
    assert_int_not_equal(r.status, 0);
    assert_true(rk_has(&r, "--watch-frames"));
    const char *bad[] = {"train", "--task", "reverse", "--steps", "5", "--out", out, "--watch-frames", tmp,
                         "--watch-every", "0", NULL};
    rk_run(&r, bad, NULL, 60);
    assert_int_equal(r.status, 2);
}

/* ---- @snapshot in lessons --------------------------------------------------------------------- */

/* Parses lesson text (models found from the source tree's lessons folder, claims checked); returns the error
 * message ("" when it parsed) in msg. */
static int parse_lesson(const char *text, sf_lesson *l, char *msg, size_t cap) {
    sf_lesson_opts o = {1, 1, NULL};
    sf_err e = sf_lesson_parse(text, strlen(text), SF_SOURCE_DIR "/lessons/t.md", &o, l);
    snprintf(msg, cap, "%s", e.ok ? "" : e.msg);
    return e.ok;
}

#define HEAD "# T\n@model assets/models/reverse.snap\n@input abcdefgh\n@target hgfedcba\n## S\n"

static void test_lesson_snapshot(void **state) {
    (void)state;
    sf_lesson l;
    char msg[1024];
    /* the claim holds at step 150 (row 0 on h) */
    assert_true(parse_lesson(HEAD "@snapshot 150\n@goto dec token 8 L1 cross softmax\n"
                             "@expect above 0.9 dec.L1.cross.H3.probs q=0 k=7\nText.\n", &l, msg, sizeof msg));
    assert_int_equal(l.n_frames, 1);
    assert_int_equal(l.frames[0].run.snapshot, 150);
    sf_lesson_free(&l);
    /* the same claim at step 50 is false: checked at that snapshot's weights */
    assert_false(parse_lesson(HEAD "@snapshot 50\n@goto dec token 8 L1 cross softmax\n"
                              "@expect above 0.9 dec.L1.cross.H3.probs q=0 k=7\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "t.md:8:"));
    /* the step is not one of the series: the error lists the steps it has */
    assert_false(parse_lesson(HEAD "@snapshot 151\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "t.md:6:11:"));
    assert_non_null(strstr(msg, "0, 50, 75, 100, 125, 150, 200, 300, 1000, 2500"));
    /* not a number, two numbers */
    assert_false(parse_lesson(HEAD "@snapshot soon\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "t.md:6:11: expected one training step"));
    assert_false(parse_lesson(HEAD "@snapshot 50 100\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "t.md:6:14:"));
    /* before any model; on a checkpoint, which is not a series */
    assert_false(parse_lesson("# T\n## S\n@snapshot 50\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "needs a snapshot series"));
    assert_false(parse_lesson("# T\n@model assets/models/reverse.sfm\n@input abc\n## S\n@snapshot 50\nText.\n", &l, msg, sizeof msg));
    assert_non_null(strstr(msg, "not a snapshot series"));
    /* a series without @snapshot plays its last snapshot; @model goes back to that */
    assert_true(parse_lesson(HEAD "@goto dec token 8 L1 cross softmax\n@expect argmax dec.L1.cross.H3.probs q=4 k=3\nA.\n"
                             "## S2\n@snapshot 300\n@goto dec token 8 L1 cross softmax\n@expect argmax dec.L1.cross.H3.probs q=4 k=2\nB.\n",
                             &l, msg, sizeof msg));
    assert_int_equal(l.frames[0].run.snapshot, -1);
    assert_int_equal(l.frames[1].run.snapshot, 300);
    sf_lesson_free(&l);
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_equals_direct),
        cmocka_unit_test(test_snapshots_bad_file),
        cmocka_unit_test(test_render_snapshots),
        cmocka_unit_test(test_watch_pause),
        cmocka_unit_test(test_watch_frames_metrics),
        cmocka_unit_test(test_watch_needs_display),
        cmocka_unit_test(test_lesson_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
