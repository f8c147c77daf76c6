/* test_lesson_viz.c - lessons played in the app, headless: every shipped lesson from first step to last in
 * both languages with every frame rendered, the state each frame claims (narration, focused head and layer,
 * highlights drawn), going back restoring the same pixels, questions judged by simulated clicks, the index,
 * and the commands that use the player (render --lesson, no arguments, lesson FILE without a display). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <SDL2/SDL_image.h>
#include <sys/wait.h>
#include <unistd.h>

#include "viz/lesson_player.h"
#include "viz/lesson_screen.h"
#include "viz/panels.h"

#define W 1280
#define H 720

typedef struct {
    SDL_Surface *surf;
    SDL_Renderer *r;
    vz_player p;
} fixture;

static vz_font_paths fonts;
static fixture fx; /* the player is large: one, kept static */

/* Opens a player on a W x H software surface in lang. */
static fixture *open_fx(int lang) {
    fixture *f = &fx;
    f->surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(f->surf);
    f->r = SDL_CreateSoftwareRenderer(f->surf);
    assert_non_null(f->r);
    assert_true(vz_player_init(&f->p, f->r, &fonts, lang).ok);
    return f;
}

/* Frees what open_fx made. */
static void close_fx(fixture *f) {
    vz_player_free(&f->p);
    SDL_DestroyRenderer(f->r);
    SDL_FreeSurface(f->surf);
}

/* Opens lessons/NAME from the source tree; fails the test with the parser's message if it cannot. */
static void open_lesson(fixture *f, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, name);
    sf_err e = vz_player_open(&f->p, path);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Returns the ARGB pixel at (x, y). */
static uint32_t pixel(const fixture *f, int x, int y) {
    return ((const uint32_t *)((const uint8_t *)f->surf->pixels + (size_t)y * f->surf->pitch))[x] | 0xff000000u;
}

/* Draws the current frame (twice: hover and click regions exist from the first) and returns a hash of its pixels. */
static uint64_t draw(fixture *f) {
    vz_player_frame(&f->p, W, H);
    vz_player_frame(&f->p, W, H);
    SDL_RenderPresent(f->r);
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) h = (h ^ pixel(f, x, y)) * 1099511628211ull;
    return h;
}

/* Returns how many pixels of rectangle r have exactly colour c. */
static long count_colour(const fixture *f, vz_rect r, vz_rgba c) {
    uint32_t want = vz_rgba_argb(c) | 0xff000000u;
    long n = 0;
    for (int y = r.y; y < r.y + r.h && y < H; y++)
        for (int x = r.x; x < r.x + r.w && x < W; x++) n += pixel(f, x, y) == want;
    return n;
}

/* Returns how many pixels of r differ from colour c (text drawn on a plain background). */
static long count_not(const fixture *f, vz_rect r, vz_rgba c) {
    uint32_t bg = vz_rgba_argb(c) | 0xff000000u;
    long n = 0;
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) n += pixel(f, x, y) != bg;
    return n;
}

/* Returns the largest hover region drawing entry `name`, or NULL. */
static const vz_hit *find_hit(const fixture *f, const char *name) {
    const vz_hit *best = NULL;
    for (int i = 0; i < f->p.app.ctx.n_hits; i++) {
        const vz_hit *h = &f->p.app.ctx.hits[i];
        if (!strcmp(h->h.e->name, name) && (!best || h->r.w * h->r.h > best->r.w * best->r.h)) best = h;
    }
    return best;
}

/* Sends a left click at (x, y) to the player. */
static void click(fixture *f, int x, int y) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_MOUSEBUTTONDOWN;
    e.button.button = SDL_BUTTON_LEFT;
    e.button.x = x;
    e.button.y = y;
    vz_player_event(&f->p, &e);
}

/* Sends a key press with modifiers (KMOD_*) to the player. */
static void key_mod(fixture *f, SDL_Keycode k, Uint16 mod) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    e.key.keysym.mod = mod;
    vz_player_event(&f->p, &e);
}

/* Sends a key press to the player. */
static void key(fixture *f, SDL_Keycode k) { key_mod(f, k, 0); }

/* Checks what frame k of the open lesson claims against the app's state and the pixels just drawn. */
static void check_frame(fixture *f, int k, int lang, const char *file) {
    const sf_lesson *l = &f->p.lesson;
    const sf_lesson_frame *fr = &l->frames[k];
    const vz_view *v = &f->p.app.v;
    /* the narration pane got this frame's text, in the language asked for, its quotes filled from the app's
     * own trace with the very numbers the parser read from its runs, and drew it */
    const char *want = sf_lesson_shown(l, k, 0, lang);
    assert_non_null(v->narration);
    if (strncmp(v->narration, want, strlen(want)) != 0) fail_msg("%s frame %d: narration is not the lesson's text", file, k + 1);
    if (*want) {
        vz_rect nr = f->p.app.ctx.lay.r[VZ_P_NARR];
        if (count_not(f, vz_rect_inset(nr, 4), VZ_PANEL) < 200) fail_msg("%s frame %d: the narration pane is empty", file, k + 1);
    }
    /* the cursor is where the lesson put it */
    if (!sf_cursor_eq(v->cur, fr->cursor)) fail_msg("%s frame %d: the cursor is not the lesson's", file, k + 1);
    /* the focused head and layer are the lesson's */
    if (fr->panel == SF_PANEL_ATTENTION || fr->panel == SF_PANEL_SCORES) {
        vz_block b = v->blocks[v->block];
        if (fr->focus_head >= 0 && v->head != fr->focus_head)
            fail_msg("%s frame %d: head %d focused, the lesson says H%d", file, k + 1, v->head, fr->focus_head);
        if (fr->focus_layer >= 0 && b.layer != fr->focus_layer)
            fail_msg("%s frame %d: layer %d focused, the lesson says L%d", file, k + 1, b.layer, fr->focus_layer);
        if (fr->focus_stack >= 0 && b.stack != fr->focus_stack) fail_msg("%s frame %d: the wrong stack is focused", file, k + 1);
        if (fr->panel == SF_PANEL_ATTENTION && fr->focus_head >= 0) assert_true(v->enlarged);
    }
    /* a highlighted cell whose entry is on screen is drawn highlighted */
    for (int i = 0; i < fr->n_hl; i++) {
        const vz_hit *h = find_hit(f, fr->hl[i].name);
        if (!h) fail_msg("%s frame %d: %s is highlighted but no panel shows it", file, k + 1, fr->hl[i].name);
        vz_rect around = vz_rect_inset(h->r, -8);
        if (count_colour(f, around, VZ_HILITE) < 20)
            fail_msg("%s frame %d: %s is highlighted but no highlight is drawn on it", file, k + 1, fr->hl[i].name);
    }
    /* a question hides its row; an answer highlights the model's cell */
    if (fr->ask.state == 1) assert_string_equal(v->hide.name, fr->ask.at.name);
    else assert_int_equal(v->hide.name[0], 0);
    if (fr->ask.state == 2 && fr->ask.answer >= 0) {
        int found = 0;
        for (int i = 0; i < v->n_hl; i++)
            found |= !strcmp(v->hl[i].name, fr->ask.at.name) && v->hl[i].lo[1] == fr->ask.answer && v->hl[i].style == 0;
        assert_true(found);
    }
}

/* Every shipped lesson plays from first frame to last in English and Chinese, every frame rendered and checked. */
static void test_lessons_play(void **state) {
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    static vz_index_entry entries[VZ_INDEX_MAX];
    int n = vz_lessons_list(dir, entries, VZ_INDEX_MAX);
    assert_true(n >= 10);
    for (int lang = 0; lang < SF_LANG_COUNT; lang++) {
        fixture *f = open_fx(lang);
        for (int i = 0; i < n; i++) {
            sf_err e = vz_player_open(&f->p, entries[i].path);
            if (!e.ok) fail_msg("%s", e.msg);
            assert_int_equal(vz_player_frame_index(&f->p), 0);
            for (int k = 0;; k++) {
                draw(f);
                if (f->p.err[0]) fail_msg("%s frame %d: %s", entries[i].path, k + 1, f->p.err);
                check_frame(f, k, lang, entries[i].path);
                if (!vz_player_next(&f->p)) { assert_int_equal(k, f->p.lesson.n_frames - 1); break; }
            }
        }
        close_fx(f);
    }
}

/* Going back (and jumping, and exploring by hand in between) shows exactly the pixels shown going forward. */
static void test_back_restores(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "06-encoder-vs-decoder.md");
    int n = f->p.lesson.n_frames;
    uint64_t fwd[64];
    assert_true(n <= 64);
    for (int k = 0; k < n; k++) {
        if (k) assert_true(vz_player_next(&f->p));
        fwd[k] = draw(f);
    }
    for (int k = n - 1; k >= 0; k--) {
        if (k < n - 1) assert_true(vz_player_prev(&f->p));
        if (draw(f) != fwd[k]) fail_msg("frame %d looks different after going back", k + 1);
    }
    /* explore by hand (step the cursor, pick another head, another block), then page away and back */
    vz_player_goto(&f->p, 2);
    key_mod(f, SDLK_RIGHT, KMOD_LSHIFT);
    key_mod(f, SDLK_LEFT, KMOD_LSHIFT);
    key_mod(f, SDLK_LEFT, KMOD_LSHIFT);
    key(f, SDLK_3);
    key(f, SDLK_LEFTBRACKET);
    assert_true(draw(f) != fwd[2]);
    key(f, SDLK_PAGEDOWN);
    assert_int_equal(vz_player_frame_index(&f->p), 3);
    assert_true(draw(f) == fwd[3]);
    key(f, SDLK_PAGEUP);
    assert_true(draw(f) == fwd[2]);
    /* End on the last frame after exploring puts the frame back too (PageDown would open lesson 7) */
    vz_player_goto(&f->p, n - 1);
    key(f, SDLK_n);
    key(f, SDLK_END);
    assert_true(draw(f) == fwd[n - 1]);
    /* jumps land on the same pictures */
    int order[] = {5, 1, 7, 0, 4, 4, 8, 3};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        if (order[i] >= n) continue;
        vz_player_goto(&f->p, order[i]);
        if (draw(f) != fwd[order[i]]) fail_msg("frame %d looks different after a jump", order[i] + 1);
    }
    /* the language key re-narrates and comes back to the same picture */
    vz_player_goto(&f->p, 1);
    snprintf(f->p.app.status, sizeof f->p.app.status, "%s", "edit cancelled"); /* (a message in English goes with it) */
    key(f, SDLK_l);
    assert_int_equal(f->p.lang, SF_LANG_ZH);
    assert_int_equal(f->p.app.status[0], 0);
    assert_true(draw(f) != fwd[1]);
    key(f, SDLK_l);
    assert_true(draw(f) == fwd[1]);
    close_fx(f);
}

/* Returns the first question frame of the open lesson, or -1. */
static int question_frame(const fixture *f) {
    for (int k = 0; k < f->p.lesson.n_frames; k++)
        if (f->p.lesson.frames[k].ask.state == 1) return k;
    return -1;
}

/* Clicks key `col` of the asked row in the asked head's big heatmap. */
static void click_key(fixture *f, int col) {
    draw(f);
    const sf_lesson_ask *a = &f->p.lesson.frames[f->p.it.frame].ask;
    const vz_hit *h = find_hit(f, a->at.name);
    assert_non_null(h);
    int row = a->at.lo[0];
    int x = h->r.x + (int)((col + 0.5) * h->r.w / h->h.ncols);
    int y = h->r.y + (int)((row - h->h.row0 + 0.5) * h->r.h / h->h.nrows);
    click(f, x, y);
}

/* A question: the asked row is hidden, a right click and a wrong click are judged and the answer revealed. */
static void test_question_clicks(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "07-cross-attention.md");
    int q = question_frame(f);
    assert_true(q >= 0);
    const sf_lesson_ask *a = &f->p.lesson.frames[q].ask;
    assert_true(a->answer >= 0);
    vz_player_goto(&f->p, q);
    /* the asked row is drawn hidden although the cursor has computed its scores */
    draw(f);
    const vz_hit *h = find_hit(f, a->at.name);
    assert_non_null(h);
    assert_int_equal(h->h.hide, a->at.lo[0] + 1);
    const vz_hit *hs = find_hit(f, "dec.L1.cross.H3.scores");
    assert_non_null(hs);
    assert_int_equal(hs->h.hide, a->at.lo[0] + 1);
    /* the pointer over the hidden row says what the narration says: hidden until the answer (it said "not
     * computed yet" of scores the step had computed) */
    SDL_Event mv;
    memset(&mv, 0, sizeof mv);
    mv.type = SDL_MOUSEMOTION;
    mv.motion.x = hs->r.x + hs->r.w / (2 * hs->h.ncols); /* (the scores: computed, where the weights are not yet) */
    mv.motion.y = hs->r.y + (int)((a->at.lo[0] - hs->h.row0 + 0.5) * hs->r.h / hs->h.nrows);
    vz_player_event(&f->p, &mv);
    draw(f);
    int tip = 0;
    for (int i = 0; i < f->p.app.ctx.n_texts; i++)
        tip += f->p.app.ctx.texts[i].owner == VZ_OWNER_OVERLAY && strstr(f->p.app.ctx.texts[i].s, "hidden until you answer") != NULL;
    assert_int_equal(tip, 1);
    /* right */
    click_key(f, a->answer);
    assert_int_equal(f->p.verdict, 1);
    assert_int_equal(vz_player_frame_index(&f->p), q + 1);
    draw(f);
    assert_non_null(f->p.app.v.verdict);
    assert_non_null(strstr(f->p.app.v.verdict, "Right"));
    long pink = count_colour(f, f->p.app.ctx.lay.r[VZ_P_ATTN], VZ_HILITE);
    assert_true(pink > 20);
    /* wrong: another key; the pick is outlined and the verdict says so */
    vz_player_goto(&f->p, q);
    int wrong = (a->answer + 3) % 8;
    click_key(f, wrong);
    assert_int_equal(f->p.verdict, 0);
    assert_int_equal(f->p.pick, wrong);
    assert_int_equal(vz_player_frame_index(&f->p), q + 1);
    draw(f);
    assert_non_null(strstr(f->p.app.v.verdict, "Not quite"));
    int found = 0;
    for (int i = 0; i < f->p.app.v.n_hl; i++) found |= f->p.app.v.hl[i].style == 1 && f->p.app.v.hl[i].lo[1] == wrong;
    assert_true(found);
    /* a click outside the asked head is no answer; PageDown reveals without a verdict */
    vz_player_goto(&f->p, q);
    draw(f);
    vz_rect tr = f->p.app.ctx.lay.r[VZ_P_TOKENS];
    click(f, tr.x + tr.w - 3, tr.y + 3);
    assert_int_equal(vz_player_frame_index(&f->p), q);
    key(f, SDLK_PAGEDOWN);
    assert_int_equal(vz_player_frame_index(&f->p), q + 1);
    assert_int_equal(f->p.verdict, -1);
    draw(f);
    assert_null(f->p.app.v.verdict);
    /* asked `with scores` (lesson 4 step 6: which key will the softmax weigh most?): the row's scores and scaled
     * scores stay shown in the scores panel, its weights are hidden, and a click in the softmax row is judged
     * (a player found the question a guess: the scores that answer it were hidden too) */
    open_lesson(f, "04-self-attention.md");
    q = question_frame(f);
    assert_true(q >= 0);
    a = &f->p.lesson.frames[q].ask;
    assert_true(a->with_scores && a->answer >= 0);
    vz_player_goto(&f->p, q);
    draw(f);
    const vz_hit *sc = NULL, *pr = NULL;
    for (int i = 0; i < f->p.app.ctx.n_hits; i++) {
        const vz_hit *x = &f->p.app.ctx.hits[i];
        if (x->owner != VZ_P_SCORES) continue;
        if (!strcmp(x->h.e->name, "enc.L0.self.H0.scaled")) sc = x;
        if (!strcmp(x->h.e->name, a->at.name)) pr = x;
    }
    assert_non_null(sc);
    assert_non_null(pr);
    assert_int_equal(sc->h.hide, 0);
    char want[16];
    snprintf(want, sizeof want, "%.2f", (double)sf_trace_row(sc->h.e, a->at.lo[0])[a->answer]);
    int printed = 0; /* the winning key's scaled score, printed */
    for (int i = 0; i < f->p.app.ctx.n_texts; i++)
        printed += f->p.app.ctx.texts[i].owner == VZ_P_SCORES && !strcmp(f->p.app.ctx.texts[i].s, want);
    if (!printed) fail_msg("the scores panel does not print the scaled score %s of the answer's key", want);
    int bos = 0; /* the decoder has not started: its later tokens read "?", its <bos> stays named */
    for (int i = 0; i < f->p.app.ctx.n_texts; i++) bos += f->p.app.ctx.texts[i].owner == VZ_P_TOKENS && !strcmp(f->p.app.ctx.texts[i].s, "<bos>");
    assert_int_equal(bos, 1);
    click(f, pr->r.x + (int)((a->answer + 0.5) * pr->r.w / pr->h.ncols), pr->r.y + pr->r.h / 2);
    assert_int_equal(f->p.verdict, 1);
    assert_int_equal(vz_player_frame_index(&f->p), q + 1);
    /* a question on the output head: the learner clicks a token in the output panel */
    open_lesson(f, "08-residual-layernorm-ffn.md");
    q = question_frame(f);
    assert_true(q >= 0);
    a = &f->p.lesson.frames[q].ask;
    vz_player_goto(&f->p, q);
    draw(f);
    const vz_click *pick = NULL;
    for (int i = 0; i < f->p.app.ctx.n_clicks; i++)
        if (f->p.app.ctx.clicks[i].kind == VZ_CLICK_PICK && f->p.app.ctx.clicks[i].a == a->answer) pick = &f->p.app.ctx.clicks[i];
    assert_non_null(pick);
    click(f, pick->r.x + pick->r.w / 2, pick->r.y + pick->r.h / 2);
    assert_int_equal(f->p.verdict, 1);
    assert_int_equal(vz_player_frame_index(&f->p), q + 1);
    close_fx(f);
}

/* Issue 10: answer a question, explore (a key or a click), then PageDown: nothing of the answer survives
 * into the next steps (the old answer cell stayed highlighted, even after the next step loaded another model). */
static void test_answer_does_not_survive(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "07-cross-attention.md");
    int q = question_frame(f), n = f->p.lesson.n_frames;
    assert_true(q >= 0 && q + 3 < n);
    uint64_t fresh[2];
    for (int i = 0; i < 2; i++) {
        vz_player_goto(&f->p, q + 2 + i);
        fresh[i] = draw(f);
    }
    for (int how = 0; how < 2; how++) {
        vz_player_goto(&f->p, q);
        click_key(f, (f->p.lesson.frames[q].ask.answer + 3) % 8); /* a wrong pick: white and pink outlines */
        assert_int_equal(vz_player_frame_index(&f->p), q + 1);
        if (how == 0) key_mod(f, SDLK_RIGHT, KMOD_LSHIFT); /* explore one operation */
        else { draw(f); vz_rect r = f->p.app.ctx.lay.r[VZ_P_ARCH]; click(f, r.x + r.w / 2, r.y + r.h / 2); }
        key(f, SDLK_PAGEDOWN);
        assert_int_equal(vz_player_frame_index(&f->p), q + 2);
        f->p.app.ctx.mx = f->p.app.ctx.my = -1; /* the mouse leaves: no hover tooltip where the click was */
        for (int i = 0; i < f->p.app.v.n_hl; i++)
            if (!strcmp(f->p.app.v.hl[i].name, f->p.lesson.frames[q].ask.at.name) &&
                f->p.app.v.hl[i].lo[0] == f->p.lesson.frames[q].ask.at.lo[0] && f->p.lesson.frames[q + 2].n_hl == 0)
                fail_msg("the answer of frame %d is still highlighted on frame %d", q + 2, q + 3);
        if (draw(f) != fresh[0]) fail_msg("frame %d looks different after answering and exploring (%d)", q + 3, how);
        key(f, SDLK_PAGEDOWN);
        if (draw(f) != fresh[1]) fail_msg("frame %d looks different after answering and exploring (%d)", q + 4, how);
    }
    close_fx(f);
}

/* A comparison draws both runs, labelled, with dots on the weights that changed; the index lists and opens. */
static void test_compare_and_index(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "06-encoder-vs-decoder.md");
    int k = 0;
    while (k < f->p.lesson.n_frames && !f->p.lesson.frames[k].compare) k++;
    assert_true(k < f->p.lesson.n_frames);
    vz_player_goto(&f->p, k);
    draw(f);
    assert_non_null(f->p.app.v.cmp);
    assert_non_null(strstr(f->p.label[0], "abcdefgh"));
    assert_non_null(strstr(f->p.label[1], "abcdefgz"));
    int both = 0; /* the same entry drawn twice: once per run */
    for (int i = 0; i < f->p.app.ctx.n_hits; i++) both += !strcmp(f->p.app.ctx.hits[i].h.e->name, "enc.L0.self.H0.probs");
    assert_true(both >= 3); /* two big heatmaps and the thumbnail */
    vz_rect ar = f->p.app.ctx.lay.r[VZ_P_ATTN];
    assert_true(count_colour(f, (vz_rect){ar.x + ar.w / 2, ar.y, ar.w / 2, ar.h}, (vz_rgba){255, 255, 255, 255}) > 100);
    key(f, SDLK_a); /* abcdefgz is no permutation of abcdefgh: not aligned, and the top bar says why */
    assert_false(f->p.align);
    assert_non_null(strstr(f->p.app.status, "cannot align by token"));
    /* the index */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    assert_true(vz_player_show_index(&f->p, dir).ok);
    assert_true(f->p.n_index >= 10);
    char gpt2[1200];
    snprintf(gpt2, sizeof gpt2, "%s/models/gpt2_124M.bin", SF_SOURCE_DIR);
    FILE *have = fopen(gpt2, "rb");
    const char *md = getenv("STEPFORMER_MODELS");
    for (int i = 0; i < f->p.n_index; i++) {
        /* without GPT-2's weights lesson 11 plays its first step only, and its card says so (it said "7 steps") */
        if (f->p.index[i].number == 11 && !have && !(md && *md)) assert_int_equal(f->p.index[i].n_steps, 1);
        assert_int_equal(f->p.index[i].error[0], 0);
        assert_true(f->p.index[i].title[SF_LANG_EN][0] && f->p.index[i].title[SF_LANG_ZH][0]);
    }
    if (have) fclose(have);
    draw(f);
    const vz_click *row = NULL;
    for (int i = 0; i < f->p.ictx.n_clicks; i++)
        if (f->p.ictx.clicks[i].kind == VZ_CLICK_PICK && f->p.ictx.clicks[i].a == 6) row = &f->p.ictx.clicks[i];
    assert_non_null(row);
    click(f, row->r.x + 10, row->r.y + row->r.h / 2);
    assert_false(f->p.in_index);
    assert_int_equal(f->p.number, 7);
    key(f, SDLK_ESCAPE); /* Esc never leaves the lesson */
    assert_false(f->p.in_index);
    key(f, SDLK_i); /* i goes back to the index */
    assert_true(f->p.in_index);
    key(f, SDLK_DOWN);
    key(f, SDLK_RETURN);
    assert_false(f->p.in_index);
    assert_int_equal(f->p.number, 8);
    /* the open lesson's badge never lies over the step count: at 1024x768 the thumbnails are small, and lesson 8's
     * card read "6 s open · step 1" */
    key(f, SDLK_i);
    assert_true(f->p.in_index);
    vz_player_frame(&f->p, 1024, 768);
    const vz_ctx *ic = &f->p.ictx;
    int open_badges = 0;
    for (int i = 0; i < ic->n_texts; i++) {
        if (!strstr(ic->texts[i].s, "open \xc2\xb7 step")) continue;
        open_badges++;
        for (int j = 0; j < ic->n_texts; j++)
            if (j != i && vz_rect_overlap(ic->texts[i].r, ic->texts[j].r))
                fail_msg("the index draws '%s' over '%s'", ic->texts[i].s, ic->texts[j].s);
    }
    assert_int_equal(open_badges, 1);
    close_fx(f);
}

/* Lesson 13 step 4 frames key 5 (z) in a row of 28 keys: that key keeps its label over the heatmap when the
 * labels thin out (audit round 4: the yellow cell stood under k's label), found over the key's own column (the
 * test once counted two z's over the heatmap, which a z at key 19 made true without a row label z). */
static void test_framed_key_labelled(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "13-induction-heads.md");
    assert_true(vz_player_goto(&f->p, 4));
    draw(f);
    const vz_ctx *c = &f->p.app.ctx;
    int key = -1;
    const char *name = NULL;
    for (int h = 0; h < c->n_hl; h++)
        if (strstr(c->hl[h].name, ".probs") && c->hl[h].lo[1] >= 0 && c->hl[h].lo[1] == c->hl[h].hi[1])
            key = c->hl[h].lo[1], name = c->hl[h].name;
    assert_true(key > 0);
    const vz_hit *hm = find_hit(f, name);
    assert_non_null(hm);
    char tok[64];
    vz_token_label(&f->p.app.v, SF_STACK_DEC, key, tok);
    /* the key's label: above the heatmap, over the key's own column (not another place of the same token) */
    double cell = (double)hm->r.w / hm->h.ncols, centre = hm->r.x + (key + 0.5) * cell;
    int n = 0;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *t = &c->texts[i];
        if (t->owner != VZ_P_ATTN || strcmp(t->s, tok) || t->r.y + t->r.h > hm->r.y) continue;
        double mid = t->r.x + t->r.w / 2.0;
        n += mid > centre - cell && mid < centre + cell;
    }
    if (n != 1) fail_msg("the framed key %d ('%s') has %d labels over its column of the attention heatmap (want 1)", key, tok, n);
    close_fx(f);
}

/* Joins every text the output panel drew into out (each its first 63 bytes, enough for a legend's line). */
static void output_texts(const vz_ctx *c, char *out, size_t size) {
    out[0] = 0;
    for (int i = 0; i < c->n_texts; i++)
        if (c->texts[i].owner == VZ_P_OUTPUT) {
            size_t n = strlen(out);
            snprintf(out + n, size - n, "%s|", c->texts[i].s);
        }
}

/* The Next token panel's legend says what the bars are: lesson 9 step 5 samples at T = 1 with no top-k, so
 * "(after T)" and no top-k (round 10 read "(after T, top-k)" there); a run with top-k 3 says "top-3". */
static void test_sampled_legend(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "09-gpt-generation.md");
    assert_true(vz_player_goto(&f->p, 5));
    draw(f);
    char t[8192];
    output_texts(&f->p.app.ctx, t, sizeof t);
    if (!strstr(t, "sampled from (after T)") || strstr(t, "top-")) fail_msg("lesson 9 step 5's output panel: %s", t);
    char path[256];
    snprintf(path, sizeof path, "/tmp/sf_topk_%d.md", (int)getpid());
    FILE *lf = fopen(path, "w");
    assert_non_null(lf);
    fprintf(lf, "@model %s/assets/models/words.sfm\n@input \"\"\n## Three\n@sample temperature 1.0 top-k 3 seed 3\n"
                "@goto dec token 0 end\n@focus output\nThe three most likely.\n", SF_SOURCE_DIR);
    fclose(lf);
    sf_err e = vz_player_open(&f->p, path);
    remove(path);
    if (!e.ok) fail_msg("%s", e.msg);
    vz_player_goto(&f->p, 0); /* (open shows frame 0 already) */
    draw(f);
    output_texts(&f->p.app.ctx, t, sizeof t);
    if (!strstr(t, "(after T, top-3)")) fail_msg("a top-k 3 run's output panel: %s", t);
    close_fx(f);
}

/* Lesson 9 step 2 frames row 3 (a) of the cached keys on its own: that row keeps its label in the lesson's
 * panel when the labels thin out to every other row (audit round 3: the framed row had none). */
static void test_framed_row_labelled(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "09-gpt-generation.md");
    assert_true(vz_player_goto(&f->p, 1));
    draw(f);
    const vz_ctx *c = &f->p.app.ctx;
    int row = -1;
    for (int h = 0; h < c->n_hl; h++)
        if (strstr(c->hl[h].name, ".k") && c->hl[h].lo[0] == c->hl[h].hi[0]) row = c->hl[h].lo[0];
    assert_true(row > 0);
    char tok[64];
    vz_token_label(&f->p.app.v, SF_STACK_DEC, row, tok);
    int n = 0;
    for (int i = 0; i < c->n_texts; i++) n += c->texts[i].owner == VZ_P_ACT && !strcmp(c->texts[i].s, tok);
    if (n < 1) fail_msg("the framed row %d ('%s') has no label in the lesson's panel", row, tok);
    close_fx(f);
}

/* Lit means the cursor: lesson 2 step 4 frames positions 1 and 3 while the cursor stands at 5, and the
 * activations' row labels lit position 3's "a" (a player read "we are at position 3"). The one lit row label
 * is the cursor's, and the framed rows keep theirs, unlit. */
static void test_lit_row_is_cursor(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "02-tokens-and-embeddings.md");
    assert_true(vz_player_goto(&f->p, 3));
    draw(f);
    const vz_ctx *c = &f->p.app.ctx;
    assert_int_equal(f->p.app.v.cur.token, 5);
    int ys[8], n = 0, lit = -1, lit_n = 0;
    for (int i = 0; i < c->n_texts; i++) {
        const vz_textbox *x = &c->texts[i];
        if (x->owner != VZ_P_ACT || strcmp(x->s, "a") || n >= 8) continue;
        int acc = x->col.r == c->th->accent.r && x->col.g == c->th->accent.g && x->col.b == c->th->accent.b;
        if (acc) lit = x->r.y, lit_n++;
        ys[n++] = x->r.y;
    }
    assert_int_equal(n, 3);      /* the a at 1, 3 and 5 all labelled */
    assert_int_equal(lit_n, 1);  /* one of them lit */
    for (int i = 0; i < n; i++)  /* the lowest: position 5, the cursor's */
        if (ys[i] > lit) fail_msg("the lit label is at y %d, above the a at y %d (the cursor is at position 5)", lit, ys[i]);
    close_fx(f);
}

/* A question never shows its answer in a label: lesson 14 step 7 asks which letter head 3 reads for the next
 * one, and with a teacher-forced target the strip and the heatmap's rows named the decoder's later letters
 * (the next, c, among them). While it is open every decoder token the cursor has not embedded reads "?"; once
 * revealed they are named again. */
static void test_question_hides_later_targets(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    open_lesson(f, "14-watch-it-learn.md");
    int q = question_frame(f);
    assert_true(q >= 0);
    assert_true(vz_player_goto(&f->p, q));
    draw(f);
    const vz_app *a = &f->p.app;
    assert_int_equal(a->v.cur.phase, SF_STACK_DEC);
    int later = a->s.n_tgt - 1 - a->v.cur.token, marks = 0, named = 0, rows = 0;
    assert_true(later >= 2);
    char next[16];
    snprintf(next, sizeof next, "%s", "");
    sf_tokenizer_piece(&a->m.tok, a->s.dec.ids[a->v.cur.token + 1], next);
    for (int i = 0; i < a->ctx.n_texts; i++) {
        const vz_textbox *x = &a->ctx.texts[i];
        if (x->owner == VZ_P_TOKENS && !strcmp(x->s, "?")) marks++;
        if (x->owner == VZ_P_TOKENS && !strcmp(x->s, next) && x->r.y > a->ctx.lay.r[VZ_P_TOKENS].y + a->ctx.lay.r[VZ_P_TOKENS].h / 2)
            named++; /* the next letter in the decoder's row of the strip */
        if (x->owner == VZ_P_ATTN && !strcmp(x->s, "?")) rows++; /* the later rows' labels */
    }
    assert_true(rows >= 1);
    if (marks < later) fail_msg("the strip marks %d of the %d decoder tokens after the cursor '?'", marks, later);
    if (named) fail_msg("the next target '%s' is named %d times below the encoder's row while the question is open", next, named);
    assert_true(vz_player_goto(&f->p, q + 1)); /* the answer: the letters are named again */
    draw(f);
    marks = 0;
    for (int i = 0; i < a->ctx.n_texts; i++) marks += a->ctx.texts[i].owner == VZ_P_TOKENS && !strcmp(a->ctx.texts[i].s, "?");
    assert_int_equal(marks, 0);
    close_fx(f);
}

/* Runs the stepformer binary with args without a display; returns its exit status (output in log). */
static int run_binary(const char *args, const char *log) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd /tmp && SDL_VIDEODRIVER=dummy STEPFORMER_LESSONS='%s/lessons' '%s' %s > '%s' 2>&1",
             SF_SOURCE_DIR, SF_BINARY, args, log);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Returns 1 if file path contains s. */
static int file_has(const char *path, const char *s) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    return strstr(buf, s) != NULL;
}

/* render --lesson writes one PNG per frame; no arguments and `lesson FILE` without a display do not hang. */
static void test_commands(void **state) {
    (void)state;
    char args[1024], dir[200], log[256], png[300];
    snprintf(dir, sizeof dir, "/tmp/sf_test_lesson_viz_%d", (int)getpid());
    snprintf(log, sizeof log, "%s.log", dir);
    snprintf(args, sizeof args, "render --lesson %s/lessons/07-cross-attention.md --all --out %s --size 640x360 --lang zh",
             SF_SOURCE_DIR, dir);
    assert_int_equal(run_binary(args, log), 0);
    snprintf(png, sizeof png, "%s/03-step03-question.png", dir);
    SDL_Surface *s = IMG_Load(png);
    assert_non_null(s);
    assert_int_equal(s->w, 640);
    assert_int_equal(s->h, 360);
    SDL_FreeSurface(s);
    snprintf(png, sizeof png, "%s/04-step03-answer.png", dir);
    assert_int_equal(access(png, F_OK), 0);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    assert_int_equal(system(args), 0);
    /* --out in folders that do not exist yet: made, from the top down (it failed: "cannot create the folder") */
    snprintf(args, sizeof args, "render --lesson %s/lessons/01-what-is-a-transformer.md --all --out %s/new/deeper --size 320x240",
             SF_SOURCE_DIR, dir);
    assert_int_equal(run_binary(args, log), 0);
    snprintf(png, sizeof png, "%s/new/deeper/01-step01.png", dir);
    assert_int_equal(access(png, F_OK), 0);
    snprintf(args, sizeof args, "render --lesson %s/lessons/01-what-is-a-transformer.md --frame 1 --out %s/one/two.png --size 320x240",
             SF_SOURCE_DIR, dir);
    assert_int_equal(run_binary(args, log), 0);
    snprintf(png, sizeof png, "%s/one/two.png", dir);
    assert_int_equal(access(png, F_OK), 0);
    /* a file where a folder must go: refused, the message naming it */
    snprintf(args, sizeof args, "render --lesson %s/lessons/01-what-is-a-transformer.md --all --out %s/one/two.png/x", SF_SOURCE_DIR, dir);
    assert_int_equal(run_binary(args, log), 1);
    snprintf(png, sizeof png, "%s/one/two.png exists and is not a folder", dir);
    assert_true(file_has(log, png));
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    assert_int_equal(system(args), 0);
    snprintf(args, sizeof args, "render --lesson %s/lessons/07-cross-attention.md --frame 99 --out %s.png", SF_SOURCE_DIR, dir);
    assert_int_equal(run_binary(args, log), 2);
    snprintf(args, sizeof args, "render --lesson /no/such.md --all --out %s", dir);
    assert_int_equal(run_binary(args, log), 1);
    /* no arguments, no display: the list of lessons and what to do instead */
    assert_int_equal(run_binary("", log), 1);
    assert_true(file_has(log, "06-encoder-vs-decoder.md"));
    assert_true(file_has(log, "render --lesson"));
    /* a lesson without a display: printed as text */
    snprintf(args, sizeof args, "lesson %s/lessons/06-encoder-vs-decoder.md", SF_SOURCE_DIR);
    assert_int_equal(run_binary(args, log), 0);
    assert_true(file_has(log, "no display"));
    assert_true(file_has(log, "Encoder versus decoder"));
    remove(log);
}

/* Writes text to a lesson file in /tmp (the shipped models named by absolute path); returns its path. */
static const char *write_lesson(const char *name, const char *text) {
    static char path[8][256]; /* (each call its own buffer: the callers keep several paths to remove) */
    static int which;
    char *p = path[which++ & 7];
    snprintf(p, sizeof path[0], "/tmp/sf_screen_%d_%s", (int)getpid(), name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "@model %s/assets/models/reverse.sfm\n@input planet\n%s", SF_SOURCE_DIR, text);
    fclose(f);
    return p;
}

/* Runs the screen check at 1024x768 in mode (vz_screen_mode) on a lesson; returns the number of problems,
 * their text in out. */
static int screen_problems_in(const char *path, int mode, int purity, char *out, size_t size) {
    vz_screen_opts o = {1024, 768, mode, SF_LANG_EN, purity, NULL, NULL};
    FILE *f = fmemopen(out, size, "w");
    assert_non_null(f);
    sf_err e;
    int n = vz_lesson_screen_check(path, &o, f, &e);
    fclose(f);
    if (n < 0) fail_msg("%s", e.msg);
    return n;
}

/* The same in normal mode. */
static int screen_problems(const char *path, int purity, char *out, size_t size) {
    return screen_problems_in(path, VZ_SCREEN_NORMAL, purity, out, size);
}

/* `lesson --check` checks the screen: a highlight no panel draws, or drawn only for other rows, is an
 * error at the highlight's line; every frame draws the same pixels however it is reached. */
static void test_screen_check(void **state) {
    (void)state;
    char out[4096];
    const char *bad = write_lesson("bad.md",
                                   "## Scores of another row\n@goto enc token 2 L0 self softmax\n@focus scores enc L0 H0\n"
                                   "@highlight enc.L0.self.H0.scores q=1\n@highlight enc.L0.self.H0.probs q=2\n"
                                   "Row 1 scored this (two rows: the scores panel prints the cursor's).\n"
                                   "## Five things at once\n@goto enc end\n@highlight enc.L0.ffn.hidden pos=0\n"
                                   "@highlight enc.L0.ffn.pre pos=0\n@highlight enc.L0.ffn.proj pos=0\n"
                                   "@highlight enc.L0.self.concat pos=0\n@highlight enc.L0.self.proj pos=0\nMany.\n");
    assert_int_equal(screen_problems(bad, 1, out, sizeof out), 2);
    if (!strstr(out, ":6:12: this highlight is not visible at enc.L0.self.H0.scores query=1 key=0: the panels that draw it "
                     "show other rows"))
        fail_msg("%s", out);
    if (!strstr(out, ":15:12: this highlight is not visible at enc.L0.self.proj position=0 channel=0: no panel draws it"))
        fail_msg("%s", out);
    /* the same through the command line: exit status 1, at every default size and mode */
    char args[600], log[256];
    snprintf(log, sizeof log, "/tmp/sf_screen_%d.log", (int)getpid());
    snprintf(args, sizeof args, "lesson --check %s", bad);
    assert_int_equal(run_binary(args, log), 1);
    assert_true(file_has(log, "(on screen at 1920x1080)") && file_has(log, "(on screen at 1024x768)") &&
                file_has(log, "(on screen at 1024x768, projector)"));
    /* a question hiding what its step points at: the hidden row highlighted, the scores panel blanked */
    const char *ask = write_lesson("ask.md", "## Your turn\n@goto enc token 4 L0 self scale\n@ask enc.L0.self.H0.probs q=4\n"
                                             "@highlight enc.L0.self.H0.scaled q=4\nHere are the scaled scores of row 4.\n");
    snprintf(args, sizeof args, "lesson --check %s", ask);
    assert_int_equal(run_binary(args, log), 1);
    assert_true(file_has(log, ":6:12: this highlight is on row 4 of enc.L0.self.H0.scaled, which the question"));
    ask = write_lesson("ask.md", "## Your turn\n@goto enc token 4 L0 self scale\n@ask enc.L0.self.H0.probs q=4\n"
                                 "@focus scores enc L0 H0\nHere are the scaled scores of row 4.\n");
    assert_int_equal(run_binary(args, log), 1);
    assert_true(file_has(log, "the scores panel is brought forward on row 4 of head 0, which this question hides"));
    /* frames are pure: lesson 1 went back to its first step with layer 1 focused; lesson 7's answer stayed */
    char path[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, i ? "07-cross-attention.md" : "01-what-is-a-transformer.md");
        if (screen_problems(path, 1, out, sizeof out)) fail_msg("%s", out);
    }
    /* projector mode draws only the spotlight: a highlight in another panel is shown in normal mode but not
     * there, until the lesson focuses the panel that draws it */
    const char *hid = write_lesson("hid.md", "## The map, and a weight\n@goto enc token 2 L0 self softmax\n@focus map\n"
                                             "@highlight enc.L0.self.H0.probs q=2\nLook at row 2.\n");
    assert_int_equal(screen_problems(hid, 0, out, sizeof out), 0);
    assert_int_equal(screen_problems_in(hid, VZ_SCREEN_PROJECTOR, 1, out, sizeof out), 1);
    if (!strstr(out, ":6:12: this highlight is not visible at enc.L0.self.H0.probs query=2 key=0: no panel draws it at "
                     "this step (projector mode shows only the spotlight: @focus the panel that draws it) (on screen at "
                     "1024x768, projector)"))
        fail_msg("%s", out);
    hid = write_lesson("hid.md", "## The map, and a weight\n@goto enc token 2 L0 self softmax\n@focus attention enc L0 H0\n"
                                 "@highlight enc.L0.self.H0.probs q=2\nLook at row 2.\n");
    if (screen_problems_in(hid, VZ_SCREEN_PROJECTOR, 1, out, sizeof out)) fail_msg("%s", out);
    /* narration naming a panel that projector mode shows only as a tab must name the tab (both languages) */
    hid = write_lesson("hid.md", "## The map\n@goto enc token 2 L0 self softmax\n@focus map\nThe scores panel prints row 2.\n"
                                 "[zh]\n分数面板打印出 2 号行。\n");
    assert_int_equal(screen_problems(hid, 0, out, sizeof out), 0);
    assert_int_equal(screen_problems_in(hid, VZ_SCREEN_PROJECTOR, 0, out, sizeof out), 1);
    if (!strstr(out, ":3:1: the narration of step 1 names the scores panel, which is not on screen (projector mode shows "
                     "it only as a tab): name its tab (the \"Scores\" tab) or @focus it"))
        fail_msg("%s", out);
    vz_screen_opts zo = {1024, 768, VZ_SCREEN_PROJECTOR, SF_LANG_ZH, 0, NULL, NULL};
    FILE *zf = fmemopen(out, sizeof out, "w");
    sf_err ze;
    assert_int_equal(vz_lesson_screen_check(hid, &zo, zf, &ze), 1);
    fclose(zf);
    assert_non_null(strstr(out, "names the 分数面板"));
    hid = write_lesson("hid.md", "## The map\n@goto enc token 2 L0 self softmax\n@focus map\n"
                                 "The scores panel (the Scores tab on a projector) prints row 2.\n"
                                 "[zh]\n分数面板（投影模式下点\"分数\"）打印出 2 号行。\n");
    if (screen_problems_in(hid, VZ_SCREEN_PROJECTOR, 0, out, sizeof out)) fail_msg("%s", out);
    zf = fmemopen(out, sizeof out, "w");
    if (vz_lesson_screen_check(hid, &zo, zf, &ze) != 0) { fclose(zf); fail_msg("%s", out); }
    fclose(zf);
    /* a bad --screen says which option was wrong */
    snprintf(args, sizeof args, "lesson --check --screen 1024x768:beamer %s", hid);
    assert_int_equal(run_binary(args, log), 2);
    assert_true(file_has(log, "--screen '1024x768:beamer'"));
    snprintf(args, sizeof args, "lesson --check --screen 10x10 %s", hid);
    assert_int_equal(run_binary(args, log), 2);
    assert_true(file_has(log, "stepformer lesson: --screen '10x10'"));
    remove(bad);
    remove(ask);
    remove(hid);
    remove(log);
}

/* Returns the hit of entry `name` drawn by the compared run (cmp = 1) or the main run (0) in panel q, or NULL. */
static const vz_hit *run_hit(const fixture *f, const char *name, int cmp, int q) {
    const vz_player *p = &f->p;
    for (int i = 0; i < p->app.ctx.n_hits; i++) {
        const vz_hit *h = &p->app.ctx.hits[i];
        int from_cmp = h->h.e >= p->ctr.e && h->h.e < p->ctr.e + p->ctr.n;
        if (!strcmp(h->h.e->name, name) && from_cmp == cmp && h->owner == q) return h;
    }
    return NULL;
}

/* Returns how many cells of two n x n heatmaps drawn at a and b have different colours at their centres. */
static int cells_differ(const fixture *f, vz_rect a, vz_rect b, int n) {
    int d = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int ax = a.x + (2 * j + 1) * a.w / (2 * n), ay = a.y + (2 * i + 1) * a.h / (2 * n);
            int bx = b.x + (2 * j + 1) * b.w / (2 * n), by = b.y + (2 * i + 1) * b.h / (2 * n);
            d += pixel(f, ax + 3, ay + 3) != pixel(f, bx + 3, by + 3); /* (off the centre, where a dot would be) */
        }
    return d;
}

/* @compare ... align tokens: with positions off, "tenalp" aligned to "planet" draws the very same attention
 * heatmap (no dots, every cell the same colour), its rows and columns labelled with the left run's letters, the
 * highlight of p's row framing p's row on both sides, hover naming the compared run's own cell; the same two
 * runs by position differ everywhere; with positions on, the aligned cells differ and get dots. The a key
 * toggles it until the next lesson move. The activations panel's lesson view is aligned too. */
static void test_compare_aligned(void **state) {
    (void)state;
    const char *al = write_lesson("align.md",
        "@positions off\n"
        "## Aligned\n@compare input tenalp align tokens\n@goto enc token 5 L0 self softmax\n@focus attention enc L0 H0\n"
        "@highlight enc.L0.self.H0.probs q=0\nRow p.\n"
        "## By position\n@compare align positions\nRow p.\n"
        "## Positions on\n@compare align tokens\n@positions on\n@goto enc token 5 L0 self softmax\n"
        "@focus attention enc L0 H0\n@highlight enc.L0.self.H0.probs q=0\nRow p.\n"
        "## The encoder's output\n@goto enc end\n@focus activations\n@highlight enc.out pos=0\nRow p.\n");
    fixture *f = open_fx(SF_LANG_EN);
    sf_err e = vz_player_open(&f->p, al);
    if (!e.ok) fail_msg("%s", e.msg);
    assert_int_equal(f->p.lesson.n_frames, 4);
    assert_int_equal(f->p.lesson.frames[0].cmp_align, 1);
    assert_int_equal(f->p.lesson.frames[1].cmp_align, 0);
    const char *name = "enc.L0.self.H0.probs";
    /* frame 1: aligned, positions off */
    draw(f);
    assert_non_null(f->p.cv.align);
    assert_non_null(strstr(f->p.label[1], "aligned by token"));
    const vz_hit *l = run_hit(f, name, 0, VZ_P_ATTN), *r = run_hit(f, name, 1, VZ_P_ATTN);
    assert_non_null(l);
    assert_non_null(r);
    assert_true(r->h.rperm == f->p.cv.align && r->h.cperm == f->p.cv.align);
    assert_int_equal(r->h.rperm[0], 5); /* p, the first letter of planet, stands last in tenalp */
    assert_int_equal(cells_differ(f, l->r, r->r, 6), 0);
    vz_rect ar = f->p.app.ctx.lay.r[VZ_P_ATTN];
    assert_int_equal(count_colour(f, r->r, f->p.app.ctx.th->dot), 0);
    char tok[16];
    assert_string_equal(vz_token_label(&f->p.cv, SF_STACK_ENC, vz_view_pos(&f->p.cv, SF_STACK_ENC, 0), tok), "p");
    /* the highlight of row 0 (p) frames the first drawn row on the right too: p's row there */
    int cell = r->r.h / 6;
    assert_true(count_colour(f, (vz_rect){r->r.x - 4, r->r.y - 4, r->r.w + 8, cell + 8}, VZ_HILITE) > 2 * cell);
    assert_int_equal(count_colour(f, (vz_rect){r->r.x + 4, r->r.y + 3 * cell, r->r.w - 8, cell}, VZ_HILITE), 0);
    /* hover over the right heatmap's first cell names the compared run's own cell (q=5, k=5) */
    int row, col;
    const vz_hit *hv = vz_hit_at(&f->p.app.ctx, r->r.x + 2, r->r.y + 2, &row, &col);
    assert_non_null(hv);
    assert_int_equal(row, 5);
    assert_int_equal(col, 5);
    /* the a key: by position until the next lesson move */
    key(f, SDLK_a);
    draw(f);
    assert_null(f->p.cv.align);
    r = run_hit(f, name, 1, VZ_P_ATTN);
    assert_true(cells_differ(f, l->r, r->r, 6) > 6);
    vz_player_goto(&f->p, 0);
    draw(f);
    assert_non_null(f->p.cv.align);
    /* frame 2: by position, the same runs; frame 3: positions on, aligned: the cells differ, and say so with dots */
    for (int k = 1; k <= 2; k++) {
        vz_player_goto(&f->p, k);
        draw(f);
        assert_true((f->p.cv.align != NULL) == (k == 2));
        l = run_hit(f, name, 0, VZ_P_ATTN);
        r = run_hit(f, name, 1, VZ_P_ATTN);
        assert_true(cells_differ(f, l->r, r->r, 6) > (k == 1 ? 6 : 0));
        assert_true((r->h.rperm != NULL) == (k == 2));
    }
    assert_true(count_colour(f, (vz_rect){ar.x + ar.w / 2, ar.y, ar.w / 2, ar.h}, f->p.app.ctx.th->dot) > 30);
    /* frame 4: the lesson view draws the compared run's rows in the left run's order, p's row framed on both sides */
    vz_player_goto(&f->p, 3);
    draw(f);
    r = run_hit(f, "enc.L1.ffn.norm", 1, VZ_P_ACT);
    assert_non_null(r);
    assert_true(r->h.rperm == f->p.cv.align);
    int rh = r->r.h / 6;
    assert_true(count_colour(f, (vz_rect){r->r.x - 4, r->r.y - 4, r->r.w + 8, rh + 8}, VZ_HILITE) > 2 * rh);
    close_fx(f);
    remove(al);
}

/* Returns how many texts panel q drew this frame that contain s. */
static int texts_with(const fixture *f, int q, const char *s) {
    int n = 0;
    for (int i = 0; i < f->p.app.ctx.n_texts; i++) n += f->p.app.ctx.texts[i].owner == q && strstr(f->p.app.ctx.texts[i].s, s) != NULL;
    return n;
}

/* Audit findings that need a lesson: G11 a greedy run's pick is "greedy pick", and the <eos> that ended it is
 * outlined; G6 a revealed dec.probs answer adds no strip to the lesson view (the output panel's bars show it);
 * a question's hidden row gives no range away in the scores legend; (b) a 256-wide row is drawn four times as
 * wide as a 64-wide one. */
static void test_audit_lessons(void **state) {
    (void)state;
    fixture *f = open_fx(SF_LANG_EN);
    /* G11: lesson 1, step 4 ends the run with <eos>, chosen greedily */
    open_lesson(f, "01-what-is-a-transformer.md");
    vz_player_goto(&f->p, 3);
    draw(f);
    assert_int_equal(texts_with(f, VZ_P_OUTPUT, "sampled"), 0);
    assert_int_equal(texts_with(f, VZ_P_OUTPUT, "greedy pick: '<eos>'"), 1);
    /* G6: lesson 8's answer (a dec.probs question) */
    open_lesson(f, "08-residual-layernorm-ffn.md");
    int k = f->p.lesson.n_frames - 1;
    assert_int_equal(f->p.lesson.frames[k].ask.state, 2);
    vz_player_goto(&f->p, k);
    draw(f);
    for (int i = 0; i < f->p.app.ctx.n_hits; i++)
        if (f->p.app.ctx.hits[i].owner == VZ_P_ACT && !strcmp(f->p.app.ctx.hits[i].h.e->name, "dec.probs"))
            fail_msg("the lesson view draws dec.probs, which the output panel shows");
    /* the scores legend during a question: no range of the hidden row */
    const char *q = write_lesson("leak.md", "## Your turn\n@goto enc token 4 L0 self softmax\n@ask enc.L0.self.H0.probs q=4\n"
                                            "@focus attention enc L0 H0\nWhich key?\n");
    sf_err e = vz_player_open(&f->p, q);
    if (!e.ok) fail_msg("%s", e.msg);
    draw(f);
    assert_int_equal(vz_view_query(&f->p.app.v), 4);
    assert_int_equal(texts_with(f, VZ_P_SCORES, "\xc2\xb1"), 0);
    assert_int_equal(texts_with(f, VZ_P_SCORES, "hidden"), 2);
    /* (b): rows as wide as their columns are many */
    const char *wide = write_lesson("wide.md", "## Wider\n@goto enc end\n@focus activations\n@highlight enc.L0.ffn.in pos=0\n"
                                               "@highlight enc.L0.ffn.hidden pos=0\nWider.\n");
    e = vz_player_open(&f->p, wide);
    if (!e.ok) fail_msg("%s", e.msg);
    draw(f);
    const vz_hit *in = find_hit(f, "enc.L0.ffn.in"), *hid = find_hit(f, "enc.L0.ffn.hidden");
    assert_non_null(in);
    assert_non_null(hid);
    assert_true(abs(hid->r.w - 4 * in->r.w) <= 4);
    close_fx(f);
    remove(q);
    remove(wide);
}

/* `lesson --check` refuses narration that does not fit its pane (the pane would drop the lines that do not fit)
 * at the step's line, here in the projector's layout, where the narration is a column beside the spotlight. */
static void test_narration_fits(void **state) {
    (void)state;
    char text[4096] = "## Too long\n@goto enc token 2 L0 self softmax\n@focus attention enc L0 H0\n";
    for (int i = 0; i < 40; i++) strcat(text, "Row 2 spreads its weight over every key of the input, before and after it. ");
    strcat(text, "\n## Short\nRow 2.\n");
    const char *lng = write_lesson("long.md", text);
    char out[4096];
    assert_int_equal(screen_problems_in(lng, VZ_SCREEN_PROJECTOR, 0, out, sizeof out), 1);
    if (!strstr(out, ":3:1: the narration of frame 1 (step 1) does not fit its pane")) fail_msg("%s", out);
    assert_int_equal(screen_problems_in(lng, VZ_SCREEN_NORMAL, 0, out, sizeof out), 1);
    remove(lng);
}

/* Finds the fonts once. */
static int setup(void **state) {
    (void)state;
    sf_err e = vz_font_find(NULL, &fonts);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lessons_play),   cmocka_unit_test(test_back_restores), cmocka_unit_test(test_question_clicks),
        cmocka_unit_test(test_answer_does_not_survive),
        cmocka_unit_test(test_compare_and_index), cmocka_unit_test(test_framed_row_labelled), cmocka_unit_test(test_lit_row_is_cursor), cmocka_unit_test(test_question_hides_later_targets), cmocka_unit_test(test_framed_key_labelled), cmocka_unit_test(test_commands), cmocka_unit_test(test_screen_check),
        cmocka_unit_test(test_compare_aligned), cmocka_unit_test(test_audit_lessons), cmocka_unit_test(test_narration_fits), cmocka_unit_test(test_sampled_legend),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
