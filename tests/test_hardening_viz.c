/* test_hardening_viz.c - opening a bad model file in the GUI (dropped on the window) shows the error in
 * the window and loses nothing: the model, the committed input, the text being edited, the cursor and the
 * focus all stay, and the app keeps working; a good file dropped afterwards is opened. Headless. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/checkpoint.h"
#include "viz/app.h"
#include "vizkit.h"
#ifdef SF_HAVE_PLAYER
#include "viz/lesson_player.h"
#endif

static const char ALPHA[] = "abcdefghijkl";

typedef struct {
    vk_screen s;   /* the app on its software surface */
    char dir[64];  /* a scratch folder for the bad model files */
} fixture;

/* Opens the app over a 2-layer encoder-decoder running "abcd", and a scratch folder. */
static void open_fx(fixture *f) {
    vk_open(&f->s, SF_FAMILY_ENCDEC, ALPHA, "abcd", 1000, 640);
    snprintf(f->dir, sizeof f->dir, "/tmp/sf_gui_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
}

/* Frees what open_fx made and removes the scratch folder. */
static void close_fx(fixture *f) {
    vk_close(&f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void key(fixture *f, SDL_Keycode k) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    vz_app_event(&f->s.app, &e);
}

static void type(fixture *f, const char *s) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_TEXTINPUT;
    snprintf(e.text.text, sizeof e.text.text, "%s", s);
    vz_app_event(&f->s.app, &e);
}

/* Drops the file at path on the window, as SDL reports it (the name is the app's to free). */
static void drop(fixture *f, const char *path) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_DROPFILE;
    e.drop.file = SDL_strdup(path);
    assert_int_equal(vz_app_event(&f->s.app, &e), 1);
}

/* Returns a hash of the top bar (where the status is drawn). */
static uint64_t top_bar_hash(const fixture *f) {
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < f->s.w; x++)
            h = (h ^ ((const uint32_t *)((const uint8_t *)f->s.surf->pixels + (size_t)y * f->s.surf->pitch))[x]) *
                1099511628211ull;
    return h;
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* What must survive a failed open. */
typedef struct { char input[1024]; int step, block, n_layers, vocab; } snapshot;

static snapshot snap(const fixture *f) {
    snapshot s;
    memcpy(s.input, f->s.app.input, sizeof s.input);
    s.step = f->s.app.v.step;
    s.block = f->s.app.v.block;
    s.n_layers = f->s.app.m.cfg.n_enc_layers;
    s.vocab = f->s.app.m.cfg.vocab_size;
    return s;
}

static void expect_same(const fixture *f, const snapshot *s, const char *what) {
    if (strcmp(f->s.app.input, s->input)) fail_msg("%s: input became '%s' (was '%s')", what, f->s.app.input, s->input);
    if (f->s.app.v.step != s->step) fail_msg("%s: cursor moved from step %d to %d", what, s->step, f->s.app.v.step);
    if (f->s.app.v.block != s->block) fail_msg("%s: focus moved from block %d to %d", what, s->block, f->s.app.v.block);
    assert_int_equal(f->s.app.m.cfg.n_enc_layers, s->n_layers);
    assert_int_equal(f->s.app.m.cfg.vocab_size, s->vocab);
}

static void test_bad_model_keeps_everything(void **state) {
    (void)state;
    fixture f;
    open_fx(&f);
    /* the learner edits the input, commits it, steps forward and focuses the second attention block */
    key(&f, SDLK_e); type(&f, "ab"); key(&f, SDLK_RETURN);
    assert_string_equal(f.s.app.input, "abcdab");
    vz_app_goto(&f.s.app, 9);
    f.s.app.v.block = 1;
    vz_app_frame(&f.s.app, f.s.w, f.s.h);
    f.s.app.status[0] = 0;
    vz_app_frame(&f.s.app, f.s.w, f.s.h);
    uint64_t quiet = top_bar_hash(&f);
    snapshot s = snap(&f);

    /* bad files of several kinds */
    char missing[128], garbage[128], cut[128], alien[128], dirpath[128];
    snprintf(missing, sizeof missing, "%s/missing.sfm", f.dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.sfm", f.dir);
    snprintf(cut, sizeof cut, "%s/cut.sfm", f.dir);
    snprintf(alien, sizeof alien, "%s/alien.sfm", f.dir);
    snprintf(dirpath, sizeof dirpath, "%s", f.dir);
    write_bytes(garbage, "SFMODEL\0garbage garbage garbage", 31);
    sf_model m;
    vk_model(&m, SF_FAMILY_ENCDEC, ALPHA, 1);
    sf_buf b;
    assert_true(sf_checkpoint_encode(&m, &b).ok);
    write_bytes(cut, b.data, b.len / 2);
    sf_buf_free(&b);
    sf_model_free(&m);
    vk_model(&m, SF_FAMILY_ENCDEC, "xyz", 1); /* loads, but cannot take the current input */
    assert_true(sf_checkpoint_save(&m, alien).ok);
    sf_model_free(&m);

    const char *bad[] = {missing, garbage, cut, alien, dirpath};
    const char *why[] = {"cannot open", "byte ", "byte ", "not in the model's alphabet", "not a regular file"};
    for (int i = 0; i < 5; i++) {
        drop(&f, bad[i]);
        expect_same(&f, &s, bad[i]);
        if (!strstr(f.s.app.status, "cannot open the model") || !strstr(f.s.app.status, why[i]))
            fail_msg("%s: status '%s' does not explain the error ('%s')", bad[i], f.s.app.status, why[i]);
        vz_app_frame(&f.s.app, f.s.w, f.s.h); /* still draws, and the message is in the top bar */
        assert_ptr_equal(f.s.app.v.status, NULL); /* reset after drawing */
        if (top_bar_hash(&f) == quiet) fail_msg("%s: the error is not drawn in the window", bad[i]);
        key(&f, SDLK_RIGHT); /* still usable */
        assert_int_equal(f.s.app.v.step, s.step + 1);
        key(&f, SDLK_LEFT);
        expect_same(&f, &s, bad[i]);
    }

    /* while the learner is typing, a bad drop keeps the text being edited and the editing itself */
    key(&f, SDLK_e); type(&f, "k");
    drop(&f, garbage);
    assert_int_equal(f.s.app.editing, 1);
    assert_string_equal(f.s.app.edit, "abcdabk");
    expect_same(&f, &s, "drop while editing");
    type(&f, "l"); key(&f, SDLK_RETURN);
    assert_string_equal(f.s.app.input, "abcdabkl");

    /* a good model dropped afterwards is opened on the current input */
    char good[128];
    snprintf(good, sizeof good, "%s/good.sfm", f.dir);
    vk_model(&m, SF_FAMILY_ENCDEC, ALPHA, 1);
    assert_true(sf_checkpoint_save(&m, good).ok);
    sf_model_free(&m);
    drop(&f, good);
    assert_non_null(strstr(f.s.app.status, "opened"));
    assert_int_equal(f.s.app.m.cfg.n_enc_layers, 1);
    assert_string_equal(f.s.app.input, "abcdabkl");
    vz_app_frame(&f.s.app, f.s.w, f.s.h);
    close_fx(&f);
}

#ifdef SF_HAVE_PLAYER
/* During a lesson, a bad model dropped on the window (or a bad lesson opened) keeps the lesson where it
 * was: same frame, same model, same input; the error is in the top bar; the next lesson step still works. */
static void test_bad_model_keeps_lesson_position(void **state) {
    (void)state;
    const int w = 1000, h = 640;
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    assert_non_null(r);
    vz_font_paths fp;
    sf_err e = vz_font_find(NULL, &fp);
    if (!e.ok) fail_msg("%s", e.msg);
    vz_player *p = calloc(1, sizeof *p);
    assert_non_null(p);
    assert_true(vz_player_init(p, r, &fp, SF_LANG_EN).ok);
    e = vz_player_open(p, SF_SOURCE_DIR "/lessons/07-cross-attention.md");
    if (!e.ok) fail_msg("%s", e.msg);
    vz_player_goto(p, 3);
    vz_player_frame(p, w, h);
    int frame = vz_player_frame_index(p);
    assert_int_equal(frame, 3);
    char input[sizeof p->app.input], model[sizeof p->model_path];
    memcpy(input, p->app.input, sizeof input);
    memcpy(model, p->model_path, sizeof model);
    int step = p->app.v.step, vocab = p->app.m.cfg.vocab_size;

    char bad[] = "/tmp/sf_gui_lesson_XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "SFMODEL\0\1\0\0\0junk", 16), 16);
    close(fd);
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_DROPFILE;
    ev.drop.file = SDL_strdup(bad);
    vz_player_event(p, &ev);
    assert_non_null(strstr(p->app.status, "cannot open the model"));
    assert_int_equal(vz_player_frame_index(p), frame);
    assert_string_equal(p->app.input, input);
    assert_string_equal(p->model_path, model);
    assert_int_equal(p->app.v.step, step);
    assert_int_equal(p->app.m.cfg.vocab_size, vocab);
    vz_player_frame(p, w, h);

    /* a bad lesson opened over it: refused, the lesson stays where it was */
    e = vz_player_open(p, bad);
    assert_false(e.ok);
    assert_int_equal(vz_player_frame_index(p), frame);
    assert_string_equal(p->app.input, input);

    assert_true(vz_player_next(p));
    assert_int_equal(vz_player_frame_index(p), frame + 1);
    vz_player_frame(p, w, h);
    unlink(bad);
    vz_player_free(p);
    free(p);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_model_keeps_everything),
#ifdef SF_HAVE_PLAYER
        cmocka_unit_test(test_bad_model_keeps_lesson_position),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
