/* test_keys.c - the presenter controls, headless (SDL_VIDEODRIVER=dummy): the one key table (src/viz/keys.h)
 * in every mode (the lesson index, the lesson player, gui) driven through the same event handlers the
 * window uses. Esc never ends the program; q and Ctrl+Q do; a clicker's F5, PageDown x N, Esc, F5 resumes
 * full screen at the same step; PageDown on a last step opens the next lesson; b . / blank the screen (the
 * pixels read back are black) and bring it back; help lists every bound key and docs/visualizer.md's
 * tables are the table's. And the app defects of issue 10: digit keys and head labels agree, the saved
 * screenshot's name has the step the top bar shows, a refused character keeps the input box open and
 * says what the model knows, and nothing the learner did survives a lesson move (compared as pixels). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "viz/help.h"
#include "viz/keys.h"
#include "viz/lesson_player.h"
#include "viz/panels.h"
#include "vizkit.h"
#include <SDL2/SDL_image.h>

#define W 1024
#define H 768

static vz_font_paths fonts;

/* ---- a player on a software surface ------------------------------------------------------------- */

typedef struct {
    SDL_Surface *surf;
    SDL_Renderer *r;
    vz_player p;
} player_fx;

static player_fx pf; /* the player is large: one, kept static */

/* Opens a player drawing to a W x H surface; nothing is open yet. */
static vz_player *player_open(int lang) {
    pf.surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(pf.surf);
    pf.r = SDL_CreateSoftwareRenderer(pf.surf);
    assert_non_null(pf.r);
    assert_true(vz_player_init(&pf.p, pf.r, &fonts, lang).ok);
    return &pf.p;
}

/* Frees what player_open made. */
static void player_close(void) {
    vz_player_free(&pf.p);
    SDL_DestroyRenderer(pf.r);
    SDL_FreeSurface(pf.surf);
}

/* Opens lessons/NAME of the source tree in the player; fails the test if it cannot. */
static void open_lesson(vz_player *p, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/lessons/%s", SF_SOURCE_DIR, name);
    sf_err e = vz_player_open(p, path);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Writes the file name of the shipped lesson with the highest number (NN-*.md) into out; returns NN. */
static int last_lesson(char *out, size_t size) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    DIR *d = opendir(dir);
    int best = -1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        if (len < 6 || n[0] < '0' || n[0] > '9' || n[1] < '0' || n[1] > '9' || n[2] != '-' || strcmp(n + len - 3, ".md")) continue;
        int k = (n[0] - '0') * 10 + (n[1] - '0');
        if (k > best) { best = k; snprintf(out, size, "%s", n); }
    }
    if (d) closedir(d);
    return best;
}

/* Shows the index of the source tree's lessons; fails the test if it cannot. */
static void open_index(vz_player *p) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    sf_err e = vz_player_show_index(p, dir);
    if (!e.ok) fail_msg("%s", e.msg);
}

/* Returns a key press event. */
static SDL_Event key_ev(SDL_Keycode k, Uint16 mod) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    e.key.keysym.mod = mod;
    return e;
}

/* Sends a key press with modifiers to the player. */
static void pkey_mod(vz_player *p, SDL_Keycode k, Uint16 mod) {
    SDL_Event e = key_ev(k, mod);
    vz_player_event(p, &e);
}
static void pkey(vz_player *p, SDL_Keycode k) { pkey_mod(p, k, 0); }

/* Sends a left click, or a mouse motion, at (x, y) to the player. */
static void pmouse(vz_player *p, int x, int y, int click) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    if (click) {
        e.type = SDL_MOUSEBUTTONDOWN;
        e.button.button = SDL_BUTTON_LEFT;
        e.button.x = x;
        e.button.y = y;
    } else {
        e.type = SDL_MOUSEMOTION;
        e.motion.x = x;
        e.motion.y = y;
    }
    vz_player_event(p, &e);
}

/* Returns the ARGB pixel at (x, y) of surface s. */
static uint32_t px_at(const SDL_Surface *s, int x, int y) {
    return ((const uint32_t *)((const uint8_t *)s->pixels + (size_t)y * s->pitch))[x] | 0xff000000u;
}

/* Returns how many pixels of surface s are not black. */
static long not_black(const SDL_Surface *s) {
    long n = 0;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) n += px_at(s, x, y) != 0xff000000u;
    return n;
}

/* Returns a hash of surface s's pixels. */
static uint64_t hash_of(const SDL_Surface *s) {
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) h = (h ^ px_at(s, x, y)) * 1099511628211ull;
    return h;
}

/* Draws the player's frame twice (hover and click regions exist from the first) and returns its hash. */
static uint64_t pdraw(vz_player *p) {
    vz_player_frame(p, W, H);
    vz_player_frame(p, W, H);
    SDL_RenderPresent(pf.r);
    return hash_of(pf.surf);
}

/* ---- an app in gui mode ------------------------------------------------------------------------- */

/* Sends a key press with modifiers to the app. */
static void akey_mod(vz_app *a, SDL_Keycode k, Uint16 mod) {
    SDL_Event e = key_ev(k, mod);
    vz_app_event(a, &e);
}
static void akey(vz_app *a, SDL_Keycode k) { akey_mod(a, k, 0); }

/* Draws the app's frame. */
static void adraw(vk_screen *s) {
    vz_app_frame(&s->app, s->w, s->h);
    SDL_RenderPresent(s->r);
}

/* ---- the key table ------------------------------------------------------------------------------ */

/* Every bound row looks up to its own action: no key means two things in one mode. */
static void test_table_consistent(void **state) {
    (void)state;
    int n;
    const vz_key *t = vz_keys(&n);
    assert_true(n > 40);
    for (int m = 0; m < VZ_MODE_COUNT; m++)
        for (int i = 0; i < n; i++) {
            if (!(t[i].modes & (1u << m)) || !t[i].sym) continue;
            assert_true(t[i].desc != VZ_S_NONE);
            SDL_Keycode last = t[i].sym_last ? t[i].sym_last : t[i].sym;
            for (SDL_Keycode k = t[i].sym; k <= last; k++) {
                unsigned mods = t[i].mods & ~(unsigned)VZ_KM_ANY;
                SDL_Keysym ks = {0};
                ks.sym = k;
                ks.mod = (Uint16)((mods & VZ_KM_SHIFT ? KMOD_LSHIFT : 0) | (mods & VZ_KM_CTRL ? KMOD_LCTRL : 0));
                int arg;
                vz_action a = vz_key_lookup((vz_mode)m, &ks, &arg);
                if (a != t[i].act)
                    fail_msg("mode %s: %s (row %d) looks up to action %d, not its own %d", vz_mode_name((vz_mode)m),
                             SDL_GetKeyName(k), i, a, t[i].act);
                assert_int_equal(arg, (int)(k - t[i].sym));
            }
        }
    /* the presenter's keys, as the clickers and slide tools send them, in every mode */
    struct { SDL_Keycode k; Uint16 mod; vz_action act; } want[] = {
        {SDLK_PAGEDOWN, 0, VZ_ACT_NEXT}, {SDLK_RIGHT, 0, VZ_ACT_NEXT}, {SDLK_SPACE, 0, VZ_ACT_NEXT},
        {SDLK_PAGEUP, 0, VZ_ACT_PREV}, {SDLK_LEFT, 0, VZ_ACT_PREV}, {SDLK_BACKSPACE, 0, VZ_ACT_PREV},
        {SDLK_HOME, 0, VZ_ACT_FIRST}, {SDLK_END, 0, VZ_ACT_LAST}, {SDLK_ESCAPE, 0, VZ_ACT_ESCAPE},
        {SDLK_b, 0, VZ_ACT_BLANK}, {SDLK_PERIOD, 0, VZ_ACT_BLANK}, {SDLK_SLASH, 0, VZ_ACT_BLANK},
        {SDLK_F5, 0, VZ_ACT_SHOW}, {SDLK_F5, KMOD_LSHIFT, VZ_ACT_SHOW}, {SDLK_q, 0, VZ_ACT_QUIT},
        {SDLK_q, KMOD_RCTRL, VZ_ACT_QUIT}, {SDLK_SLASH, KMOD_RSHIFT, VZ_ACT_HELP}, {SDLK_l, 0, VZ_ACT_LANG},
        /* a browser's zoom, which a presenter's hands know (round 10 under Xvfb: Ctrl+= did nothing) */
        {SDLK_EQUALS, KMOD_LCTRL, VZ_ACT_ZOOM_IN}, {SDLK_MINUS, KMOD_RCTRL, VZ_ACT_ZOOM_OUT}, {SDLK_PLUS, KMOD_LCTRL, VZ_ACT_ZOOM_IN},
        {SDLK_EQUALS, KMOD_LSHIFT, VZ_ACT_ZOOM_IN}, {SDLK_MINUS, 0, VZ_ACT_ZOOM_OUT},
    };
    for (int m = 0; m < VZ_MODE_COUNT; m++)
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            SDL_Keysym ks = {0};
            ks.sym = want[i].k;
            ks.mod = want[i].mod | KMOD_NUM | KMOD_CAPS; /* lock keys do not matter */
            int arg;
            if (vz_key_lookup((vz_mode)m, &ks, &arg) != want[i].act)
                fail_msg("mode %s: %s does not do action %d", vz_mode_name((vz_mode)m), SDL_GetKeyName(want[i].k), want[i].act);
        }
    /* Esc is bound to nothing that quits, anywhere */
    for (int i = 0; i < n; i++)
        if (t[i].sym == SDLK_ESCAPE) assert_int_equal(t[i].act, VZ_ACT_ESCAPE);
    /* a lesson's → is "next"; exploring has its own keys */
    SDL_Keysym sr = {0};
    int arg;
    sr.sym = SDLK_RIGHT;
    sr.mod = KMOD_LSHIFT;
    assert_int_equal(vz_key_lookup(VZ_MODE_PLAYER, &sr, &arg), VZ_ACT_OP_NEXT);
    sr.sym = SDLK_n;
    sr.mod = 0;
    assert_int_equal(vz_key_lookup(VZ_MODE_PLAYER, &sr, &arg), VZ_ACT_TOKEN_NEXT);
}

/* The help lists every bound key of its mode in both languages, and fits a projector's window in large text. */
static void test_help_lists_every_key(void **state) {
    (void)state;
    int n;
    const vz_key *t = vz_keys(&n);
    static vz_help_line lines[128];
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    for (int lang = 0; lang < VZ_LANG_COUNT; lang++)
        for (int m = 0; m < VZ_MODE_COUNT; m++) {
            int nl = vz_help_lines((vz_mode)m, lang, lines, 128);
            assert_true(nl > 8);
            for (int i = 0; i < n; i++) {
                if (!(t[i].modes & (1u << m))) continue;
                char cap[48];
                vz_key_cap(&t[i], lang, cap, sizeof cap);
                assert_true(cap[0] != 0);
                int found = 0;
                for (int j = 0; j < nl && !found; j++)
                    if (lines[j].desc == t[i].desc)
                        for (int k = 0; k < lines[j].n_caps; k++) found |= !strcmp(lines[j].caps[k], cap);
                if (!found) fail_msg("mode %s, lang %d: the help does not list %s", vz_mode_name((vz_mode)m), lang, cap);
            }
            /* drawn: every line fits, in text at least 1/50 of the height, at 1024x768 and 1920x1080 */
            s.app.ctx.lang = lang;
            int sizes[2][2] = {{1024, 768}, {1920, 1080}};
            for (int z = 0; z < 2; z++) {
                int px, cols;
                if (!vz_help_layout(&s.app.ctx, (vz_mode)m, sizes[z][0], sizes[z][1], &px, &cols))
                    fail_msg("mode %s lang %d: the help does not fit %dx%d", vz_mode_name((vz_mode)m), lang, sizes[z][0], sizes[z][1]);
                if (px * 50 < sizes[z][1])
                    fail_msg("mode %s lang %d: help text %d px at %dx%d", vz_mode_name((vz_mode)m), lang, px, sizes[z][0], sizes[z][1]);
            }
        }
    /* the gui's help overlay is drawn over the frame: ? shows it, Esc closes it and quits nothing */
    adraw(&s);
    uint64_t plain = hash_of(s.surf);
    akey_mod(&s.app, SDLK_SLASH, KMOD_LSHIFT);
    assert_true(s.app.v.help);
    adraw(&s);
    assert_true(hash_of(s.surf) != plain);
    /* a section that goes on in the next column says so: the projector's overlay read "Display" twice, as if
     * two sections */
    for (int lang = 0; lang < VZ_LANG_COUNT; lang++)
        for (int proj = 0; proj < 2; proj++) {
            s.app.ctx.lang = lang;
            s.app.projector = proj;
            adraw(&s);
            for (int sec = 0; sec < VZ_SEC_COUNT; sec++) {
                const char *t = vz_tr(lang, vz_section_title(VZ_MODE_GUI, (vz_section)sec));
                int n = 0;
                for (int i = 0; i < s.app.ctx.n_texts; i++) n += s.app.ctx.texts[i].owner == VZ_OWNER_OVERLAY && !strcmp(s.app.ctx.texts[i].s, t);
                if (n > 1) fail_msg("lang %d, projector %d: the help's heading '%s' is drawn %d times", lang, proj, t, n);
            }
        }
    s.app.ctx.lang = VZ_LANG_EN;
    s.app.projector = 0;
    akey(&s.app, SDLK_ESCAPE);
    assert_false(s.app.v.help);
    assert_false(s.app.quit);
    vk_close(&s);
}

/* Returns the contents of docs/visualizer.md (static buffer). */
static const char *read_docs(void) {
    static char buf[1 << 17];
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/visualizer.md", SF_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* docs/visualizer.md holds each mode's key table exactly as the key table writes it. */
static void test_docs_match_table(void **state) {
    (void)state;
    const char *doc = read_docs();
    static char md[1 << 15];
    for (int m = 0; m < VZ_MODE_COUNT; m++) {
        size_t len = vz_keys_markdown((vz_mode)m, VZ_LANG_EN, md, sizeof md);
        assert_true(len > 100 && len < sizeof md);
        if (!strstr(doc, md)) {
            char out[256];
            snprintf(out, sizeof out, "/tmp/stepformer-keys-%s.md", vz_mode_name((vz_mode)m));
            FILE *f = fopen(out, "wb");
            if (f) { fputs(md, f); fclose(f); }
            fail_msg("docs/visualizer.md does not hold the %s key table as keys.c writes it (`stepformer keys --mode %s "
                     "--markdown` prints it; written to %s)", vz_mode_name((vz_mode)m), vz_mode_name((vz_mode)m), out);
        }
    }
}

/* ---- Esc, quit, the clicker's F5 / Esc --------------------------------------------------------- */

/* Esc never ends the program in any mode or overlay state; q and Ctrl+Q do; closing the window does. */
static void test_esc_never_quits(void **state) {
    (void)state;
    /* gui */
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    for (int round = 0; round < 5; round++) {
        if (round == 1) akey_mod(a, SDLK_SLASH, KMOD_LSHIFT); /* the help */
        if (round == 2) akey(a, SDLK_b);                      /* black */
        if (round == 3) akey(a, SDLK_F5);                     /* full screen */
        if (round == 4) akey(a, SDLK_e);                      /* the input box */
        for (int k = 0; k < 3; k++) {
            akey(a, SDLK_ESCAPE);
            adraw(&s);
            assert_false(a->quit);
        }
        assert_false(a->v.help);
        assert_false(a->blank);
        assert_false(a->want_fullscreen);
        assert_false(a->editing);
    }
    akey(a, SDLK_q);
    assert_true(a->quit);
    a->quit = 0;
    akey_mod(a, SDLK_q, KMOD_LCTRL);
    assert_true(a->quit);
    vk_close(&s);
    /* the lesson player and the index */
    vz_player *p = player_open(SF_LANG_EN);
    open_index(p);
    for (int round = 0; round < 4; round++) {
        if (round == 1) pkey_mod(p, SDLK_SLASH, KMOD_LSHIFT);
        if (round == 2) pkey(p, SDLK_PERIOD);
        if (round == 3) pkey(p, SDLK_F11);
        for (int k = 0; k < 3; k++) {
            pkey(p, SDLK_ESCAPE);
            pdraw(p);
            assert_false(p->quit);
            assert_true(p->in_index);
        }
        assert_false(p->help || p->blank || p->want_fullscreen);
    }
    pkey(p, SDLK_RETURN); /* open the first lesson */
    assert_false(p->in_index);
    pkey(p, SDLK_PAGEDOWN);
    int frame = vz_player_frame_index(p);
    for (int round = 0; round < 5; round++) {
        if (round == 1) pkey_mod(p, SDLK_SLASH, KMOD_LSHIFT);
        if (round == 2) pkey(p, SDLK_SLASH);
        if (round == 3) pkey(p, SDLK_F5);
        if (round == 4) pkey(p, SDLK_e);
        for (int k = 0; k < 3; k++) {
            pkey(p, SDLK_ESCAPE);
            pdraw(p);
            assert_false(p->quit);
            assert_false(p->in_index); /* Esc does not leave the lesson either */
            assert_int_equal(vz_player_frame_index(p), frame);
        }
        assert_false(p->help || p->blank || p->want_fullscreen || p->app.editing);
    }
    pkey_mod(p, SDLK_q, KMOD_RCTRL);
    assert_true(p->quit);
    p->quit = 0;
    pkey(p, SDLK_i); /* back to the index, and q quits there too */
    assert_true(p->in_index);
    pkey(p, SDLK_q);
    assert_true(p->quit);
    p->quit = 0;
    SDL_Event q;
    memset(&q, 0, sizeof q);
    q.type = SDL_QUIT;
    vz_player_event(p, &q);
    assert_true(p->quit);
    player_close();
}

/* A Logitech clicker's slideshow button alternates F5 and Esc: F5, PageDown x N, Esc, F5 resumes full
 * screen at the same step, in gui, in a lesson and from the index. */
static void test_clicker_sequence(void **state) {
    (void)state;
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    vz_app_goto(a, 0);
    akey(a, SDLK_F5);
    assert_true(a->want_fullscreen);
    for (int i = 0; i < 7; i++) akey(a, SDLK_PAGEDOWN);
    assert_int_equal(a->v.step, 7);
    akey(a, SDLK_ESCAPE);
    assert_false(a->want_fullscreen);
    assert_int_equal(a->v.step, 7);
    akey(a, SDLK_F5);
    assert_true(a->want_fullscreen);
    assert_int_equal(a->v.step, 7);
    akey(a, SDLK_PAGEUP);
    assert_int_equal(a->v.step, 6);
    assert_false(a->quit);
    vk_close(&s);
    /* from the index: F5 opens the chosen lesson full screen; the second F5 resumes where it was */
    vz_player *p = player_open(SF_LANG_EN);
    open_index(p);
    pkey(p, SDLK_PAGEDOWN); /* the second lesson */
    assert_int_equal(p->sel, 1);
    pkey(p, SDLK_F5);
    assert_false(p->in_index);
    assert_true(p->want_fullscreen);
    assert_int_equal(p->number, 2);
    for (int i = 0; i < 3; i++) pkey(p, SDLK_PAGEDOWN);
    assert_int_equal(vz_player_frame_index(p), 3);
    pkey(p, SDLK_ESCAPE);
    assert_false(p->want_fullscreen);
    assert_int_equal(vz_player_frame_index(p), 3);
    pkey_mod(p, SDLK_F5, KMOD_LSHIFT);
    assert_true(p->want_fullscreen);
    assert_int_equal(vz_player_frame_index(p), 3);
    /* back to the index and F5 again: the same lesson, the same step */
    pkey(p, SDLK_i);
    assert_true(p->in_index);
    assert_int_equal(p->sel, 1);
    pdraw(p);
    pkey(p, SDLK_ESCAPE);
    pkey(p, SDLK_F5);
    assert_false(p->in_index);
    assert_true(p->want_fullscreen);
    assert_int_equal(p->number, 2);
    assert_int_equal(vz_player_frame_index(p), 3);
    player_close();
}

/* PageDown on a lesson's last step opens the next lesson at its first; PageUp on a first step goes back to
 * the previous lesson's last; past the last lesson PageDown stays and says so. */
static void test_next_lesson(void **state) {
    (void)state;
    vz_player *p = player_open(SF_LANG_EN);
    open_lesson(p, "06-encoder-vs-decoder.md");
    int n6 = p->lesson.n_frames;
    pkey(p, SDLK_END);
    assert_int_equal(vz_player_frame_index(p), n6 - 1);
    pkey(p, SDLK_PAGEDOWN);
    assert_int_equal(p->number, 7);
    assert_int_equal(vz_player_frame_index(p), 0);
    assert_non_null(strstr(p->app.status, "Lesson 7"));
    pdraw(p);
    assert_int_equal(p->err[0], 0);
    pkey(p, SDLK_PAGEUP); /* back across: lesson 6's last step */
    assert_int_equal(p->number, 6);
    assert_int_equal(vz_player_frame_index(p), n6 - 1);
    pkey(p, SDLK_SPACE); /* Space and → are "next" too */
    assert_int_equal(p->number, 7);
    pkey(p, SDLK_RIGHT);
    assert_int_equal(vz_player_frame_index(p), 1);
    pkey(p, SDLK_BACKSPACE);
    pkey(p, SDLK_LEFT);
    assert_int_equal(p->number, 6);
    char last_name[256];
    int last_no = last_lesson(last_name, sizeof last_name); /* (the lessons shipped grow: the highest number) */
    assert_true(last_no >= 10);
    open_lesson(p, last_name);
    pkey(p, SDLK_END);
    for (int was = 0; was != p->number;) { /* on to the folder's last lesson (11 and later come after 10) */
        was = p->number;
        pkey(p, SDLK_PAGEDOWN);
        pkey(p, SDLK_END);
    }
    int last = vz_player_frame_index(p), n_last = p->number;
    assert_true(n_last >= 10);
    pkey(p, SDLK_PAGEDOWN);
    assert_int_equal(p->number, last_no);
    assert_int_equal(n_last, last_no);
    assert_int_equal(vz_player_frame_index(p), last);
    assert_non_null(strstr(p->app.status, "last lesson"));
    open_lesson(p, "01-what-is-a-transformer.md");
    pkey(p, SDLK_PAGEUP);
    assert_int_equal(p->number, 1);
    assert_int_equal(vz_player_frame_index(p), 0);
    player_close();
}

/* b . / blank the screen (every pixel black) and bring it back; a next key while black only brings the
 * picture back, without moving; every mode. */
static void test_blank(void **state) {
    (void)state;
    SDL_Keycode blank_keys[3] = {SDLK_b, SDLK_PERIOD, SDLK_SLASH};
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    vz_app_goto(a, 3);
    for (int k = 0; k < 3; k++) {
        adraw(&s);
        assert_true(not_black(s.surf) > W * H / 2);
        akey(a, blank_keys[k]);
        adraw(&s);
        assert_int_equal(not_black(s.surf), 0);
        akey(a, SDLK_7); /* other keys do nothing while black */
        akey(a, SDLK_n);
        assert_int_equal(a->v.step, 3);
        assert_true(a->blank);
        akey(a, blank_keys[k]);
        adraw(&s);
        assert_true(not_black(s.surf) > W * H / 2);
    }
    akey(a, SDLK_b);
    akey(a, SDLK_PAGEDOWN); /* un-blanks, does not move */
    assert_false(a->blank);
    assert_int_equal(a->v.step, 3);
    akey(a, SDLK_PAGEDOWN);
    assert_int_equal(a->v.step, 4);
    vk_close(&s);
    vz_player *p = player_open(SF_LANG_ZH);
    open_index(p);
    for (int k = 0; k < 3; k++) {
        pdraw(p);
        assert_true(not_black(pf.surf) > W * H / 2);
        pkey(p, blank_keys[k]);
        pdraw(p);
        assert_int_equal(not_black(pf.surf), 0);
        pkey(p, blank_keys[k]);
    }
    open_lesson(p, "04-self-attention.md");
    pkey(p, SDLK_PAGEDOWN);
    for (int k = 0; k < 3; k++) {
        uint64_t shown = pdraw(p);
        pkey(p, blank_keys[k]);
        pdraw(p);
        assert_int_equal(not_black(pf.surf), 0);
        pkey(p, k == 0 ? SDLK_PAGEDOWN : k == 1 ? SDLK_PAGEUP : blank_keys[k]); /* back, without moving */
        assert_false(p->blank);
        assert_int_equal(vz_player_frame_index(p), 1);
        assert_true(pdraw(p) == shown);
    }
    player_close();
}

/* Returns the printf conversions of s in order ("%d%s"), "%%" left out. */
static void conversions(const char *s, char *out, size_t size) {
    size_t n = 0;
    out[0] = 0;
    for (const char *p = s; *p; p++) {
        if (*p != '%') continue;
        if (p[1] == '%') { p++; continue; }
        const char *q = p + 1;
        while (*q && !strchr("diouxXeEfgGcsp", *q)) q++;
        if (!*q) break;
        if (n + (size_t)(q - p) + 2 < size) { memcpy(out + n, p, (size_t)(q - p + 1)); n += (size_t)(q - p + 1); out[n] = 0; }
        p = q;
    }
}

/* Every string has its English text, and its Chinese one takes the same printf conversions in the same order;
 * the keys and index strings all have a Chinese text (key caps may fall back: they are printed on the keys). */
static void test_strings(void **state) {
    (void)state;
    for (int id = 1; id < VZ_S_COUNT; id++) {
        const char *en = vz_tr(VZ_LANG_EN, (vz_str)id), *zh = vz_tr(VZ_LANG_ZH, (vz_str)id), *name = vz_str_name((vz_str)id);
        assert_true(en[0] != 0);
        char a[64], b[64];
        conversions(en, a, sizeof a);
        conversions(zh, b, sizeof b);
        if (strcmp(a, b)) fail_msg("%s: English takes %s, Chinese %s", name, a, b);
        int ours = !strncmp(name, "VZ_S_KEY_", 9) || !strncmp(name, "VZ_S_IDX_", 9) || !strncmp(name, "VZ_S_PL_", 8) ||
                   !strncmp(name, "VZ_S_SEC_", 9) || !strncmp(name, "VZ_S_HELP_", 10) || !strncmp(name, "VZ_S_MSG_", 9);
        if (ours && !vz_tr_has(VZ_LANG_ZH, (vz_str)id)) fail_msg("%s has no Chinese text", name);
    }
}

/* p, Tab / Shift+Tab, l, m and Shift+M switch the display modes, in gui and in a lesson, without leaving the step. */
static void test_display_keys(void **state) {
    (void)state;
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    vz_app_goto(a, 5);
    akey(a, SDLK_p);
    assert_true(a->projector);
    akey(a, SDLK_p);
    assert_false(a->projector);
    adraw(&s);
    akey(a, SDLK_TAB); /* from the automatic spotlight to the next panel that can be one, and back */
    int sp = a->spotlight;
    assert_true(vz_panel_spotlightable(sp));
    akey(a, SDLK_TAB);
    assert_true(vz_panel_spotlightable(a->spotlight));
    assert_int_not_equal(a->spotlight, sp);
    akey_mod(a, SDLK_TAB, KMOD_LSHIFT);
    assert_int_equal(a->spotlight, sp);
    int cm = a->cmap, th = a->theme;
    akey(a, SDLK_m);
    assert_true(a->cmap != cm);
    akey_mod(a, SDLK_m, KMOD_LSHIFT);
    assert_true(a->theme != th);
    akey(a, SDLK_l);
    assert_int_equal(a->lang, VZ_LANG_ZH);
    adraw(&s);
    assert_int_equal(a->ctx.lang, VZ_LANG_ZH);
    assert_int_equal(a->v.step, 5);
    float z = a->zoom; /* Ctrl+= and Ctrl+-, a browser's zoom keys, zoom as + and - do */
    akey_mod(a, SDLK_EQUALS, KMOD_LCTRL);
    assert_true(a->zoom > z);
    akey_mod(a, SDLK_MINUS, KMOD_LCTRL);
    assert_true(a->zoom < z * 1.01f && a->zoom > z * 0.99f);
    akey(a, SDLK_EQUALS); /* = alone stays unbound */
    assert_true(a->zoom < z * 1.01f);
    vk_close(&s);
    vz_player *p = player_open(SF_LANG_EN);
    open_lesson(p, "05-multi-head-attention.md");
    pkey(p, SDLK_PAGEDOWN);
    pkey(p, SDLK_p);
    assert_true(p->app.projector);
    pkey(p, SDLK_m);
    pkey(p, SDLK_l);
    assert_int_equal(p->lang, SF_LANG_ZH);
    assert_int_equal(p->app.lang, VZ_LANG_ZH);
    assert_int_equal(vz_player_frame_index(p), 1);
    assert_false(p->deviated); /* display modes are not exploring: the step stays the lesson's */
    pkey(p, SDLK_TAB);
    assert_true(p->deviated); /* another spotlight is, until the next lesson move */
    pkey(p, SDLK_PAGEDOWN);
    assert_false(p->deviated);
    assert_true(p->app.projector); /* and the display modes stay across lesson moves */
    /* a theme chosen in a lesson holds on the index too: the light theme's background there */
    pkey_mod(p, SDLK_m, KMOD_LSHIFT);
    assert_int_equal(p->app.theme, VZ_THEME_LIGHT);
    assert_int_equal(p->theme, VZ_THEME_LIGHT);
    pkey(p, SDLK_i);
    assert_true(p->in_index);
    pdraw(p);
    vz_rgba bg = vz_theme_get(VZ_THEME_LIGHT)->bg;
    assert_int_equal(px_at(pf.surf, 2, H - 2) & 0xffffffu, ((uint32_t)bg.r << 16) | ((uint32_t)bg.g << 8) | bg.b);
    player_close();
}

/* ---- the app defects of issue 10 --------------------------------------------------------------- */

/* The digit keys select the head of that number: 0 is H0, 2 is H2 (the label "head 2" and the trace's H2). */
static void test_head_digits(void **state) {
    (void)state;
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    assert_int_equal(a->m.cfg.n_heads, 4);
    SDL_Keycode digits[4] = {SDLK_0, SDLK_1, SDLK_2, SDLK_3};
    for (int h = 3; h >= 0; h--) {
        akey(a, digits[h]);
        assert_int_equal(a->v.head, h);
    }
    akey(a, SDLK_2);
    akey(a, SDLK_7); /* no H7: the head stays and the top bar says which heads there are */
    assert_int_equal(a->v.head, 2);
    assert_non_null(strstr(a->status, "H0\xe2\x80\x93H3"));
    akey(a, SDLK_h);
    assert_int_equal(a->v.head, 3);
    akey(a, SDLK_h);
    assert_int_equal(a->v.head, 0);
    akey_mod(a, SDLK_h, KMOD_LSHIFT);
    assert_int_equal(a->v.head, 3);
    /* the help says so */
    static vz_help_line lines[128];
    int n = vz_help_lines(VZ_MODE_GUI, VZ_LANG_EN, lines, 128), found = 0;
    for (int i = 0; i < n; i++)
        found |= lines[i].desc == VZ_S_KEY_HEAD && !strcmp(lines[i].caps[0], "0\xe2\x80\x93" "9");
    assert_true(found);
    assert_non_null(strstr(vz_tr(VZ_LANG_EN, VZ_S_KEY_HEAD), "H0\xe2\x80\x93H9"));
    vk_close(&s);
}

/* The saved screenshot is named after the step the top bar shows (1-based). */
static void test_screenshot_name(void **state) {
    (void)state;
    char dir[128], cwd[1024], cmd[300];
    snprintf(dir, sizeof dir, "/tmp/sf_test_keys_%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    int step = a->sched.n / 2;
    vz_app_goto(a, step);
    char shown[32], want[64];
    snprintf(shown, sizeof shown, "step %d/%d", step + 1, a->sched.n); /* what vz_panel_top writes */
    akey(a, SDLK_s);
    adraw(&s);
    snprintf(want, sizeof want, "stepformer-step%d.png", step + 1);
    assert_string_equal(a->saved, want);
    assert_int_equal(access(want, F_OK), 0);
    assert_non_null(strstr(a->status, want));
    vk_close(&s);
    assert_int_equal(chdir(cwd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Types text into the open input box. */
static void type(vz_app *a, const char *t) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_TEXTINPUT;
    snprintf(e.text.text, sizeof e.text.text, "%s", t);
    vz_app_event(a, &e);
}

/* A refused character keeps the input box open with the text, and says in plain words which characters the
 * model knows (from its tokenizer); fixing it and pressing Enter runs it. */
static void test_input_refused(void **state) {
    (void)state;
    vk_screen s;
    vk_open(&s, SF_FAMILY_ENCDEC, "abcdefgh", "abcdefgh", W, H);
    vz_app *a = &s.app;
    akey(a, SDLK_e);
    assert_true(a->editing);
    for (int i = 0; i < 8; i++) akey(a, SDLK_BACKSPACE);
    type(a, "bad1");
    akey(a, SDLK_RETURN);
    assert_true(a->editing);                 /* the box stays open */
    assert_string_equal(a->edit, "bad1");    /* with the text */
    assert_string_equal(a->input, "abcdefgh"); /* the old run stays */
    assert_non_null(strstr(a->edit_msg, "'1'"));
    assert_non_null(strstr(a->edit_msg, "a\xe2\x80\x93h")); /* "a–h": the model's alphabet */
    assert_null(strstr(a->edit_msg, "U+"));  /* no code points, byte offsets, ids */
    assert_null(strstr(a->edit_msg, "byte"));
    adraw(&s);                               /* and the top bar shows it (no crash drawing it) */
    akey(a, SDLK_BACKSPACE);
    assert_int_equal(a->edit_msg[0], 0);
    type(a, " ");
    akey(a, SDLK_RETURN);
    assert_true(a->editing);
    assert_non_null(strstr(a->edit_msg, "space"));
    akey(a, SDLK_BACKSPACE);
    akey(a, SDLK_RETURN);
    assert_false(a->editing);
    assert_string_equal(a->input, "bad");
    /* in Chinese too, and Esc closes the box keeping the run */
    vz_app_set_lang(a, VZ_LANG_ZH);
    akey(a, SDLK_e);
    type(a, "z");
    akey(a, SDLK_RETURN);
    assert_true(a->editing);
    assert_non_null(strstr(a->edit_msg, "\xe2\x80\x9cz\xe2\x80\x9d")); /* “z” */
    assert_non_null(strstr(a->edit_msg, "a\xe2\x80\x93h"));
    akey(a, SDLK_ESCAPE);
    assert_false(a->editing);
    assert_false(a->quit);
    assert_string_equal(a->input, "bad");
    vk_close(&s);
}

/* Answers lesson 7's question by a click on the answer cell (the first question frame q), explores (one
 * operation, another head, a click on a panel), then makes lesson move `how` (0 PageDown, 1 PageUp, 2 Home,
 * 3 End, 4 a jump); returns the frame it landed on. */
static int explore_then_move(vz_player *p, int q, int how) {
    vz_player_goto(p, q);
    pdraw(p);
    const sf_lesson_ask *ask = &p->lesson.frames[q].ask;
    const vz_hit *hit = NULL; /* the asked head's largest heatmap */
    for (int i = 0; i < p->app.ctx.n_hits; i++) {
        const vz_hit *h = &p->app.ctx.hits[i];
        if (!strcmp(h->h.e->name, ask->at.name) && (!hit || h->r.w * h->r.h > hit->r.w * hit->r.h)) hit = h;
    }
    assert_non_null(hit);
    int row = ask->at.lo[0];
    pmouse(p, hit->r.x + (int)((ask->answer + 0.5) * hit->r.w / hit->h.ncols),
           hit->r.y + (int)((row - hit->h.row0 + 0.5) * hit->r.h / hit->h.nrows), 1);
    assert_int_equal(p->verdict, 1);
    assert_int_equal(vz_player_frame_index(p), q + 1);
    pdraw(p);
    pkey_mod(p, SDLK_RIGHT, KMOD_LSHIFT); /* explore: one operation, a head, a click on a panel */
    pkey(p, SDLK_1);
    vz_rect ar = p->app.ctx.lay.r[VZ_P_PE];
    pmouse(p, ar.x + ar.w / 2, ar.y + ar.h / 2, 1);
    switch (how) {
    case 0: pkey(p, SDLK_PAGEDOWN); break;
    case 1: pkey(p, SDLK_PAGEUP); break;
    case 2: pkey(p, SDLK_HOME); break;
    case 3: pkey(p, SDLK_END); break;
    default: vz_player_goto(p, q + 3); break;
    }
    pmouse(p, 1, 1, 0); /* the mouse away from every heatmap (no tooltip) */
    return vz_player_frame_index(p);
}

/* Lesson 7: answer a question, explore, then move: what is drawn at the step landed on (and the step after)
 * is exactly what a fresh player draws there. A lesson step is a function of the lesson and the step. */
static void test_no_stale_state(void **state) {
    (void)state;
    vz_player *p = player_open(SF_LANG_EN);
    open_lesson(p, "07-cross-attention.md");
    int n = p->lesson.n_frames, q = -1;
    for (int k = 0; k < n && q < 0; k++)
        if (p->lesson.frames[k].ask.state == 1) q = k;
    assert_true(q >= 0 && q + 3 < n);
    uint64_t fresh[64];
    assert_true(n <= 64);
    for (int k = 0; k < n; k++) { /* the reference: every frame as a fresh walk from the start draws it */
        vz_player_goto(p, k);
        pmouse(p, 1, 1, 0);
        fresh[k] = pdraw(p);
    }
    for (int how = 0; how < 5; how++) {
        open_lesson(p, "07-cross-attention.md");
        int k = explore_then_move(p, q, how);
        if (pdraw(p) != fresh[k]) fail_msg("move %d: frame %d does not look as it does fresh (stale state)", how, k + 1);
        int n_hl = p->app.v.n_hl; /* the answer's highlight is not among this frame's */
        assert_int_equal(n_hl, p->lesson.frames[k].n_hl);
        if (k + 1 < n) {
            vz_player_next(p);
            pmouse(p, 1, 1, 0);
            if (pdraw(p) != fresh[k + 1]) fail_msg("move %d: frame %d after it does not look as it does fresh", how, k + 2);
        }
    }
    player_close();
}

/* Lesson 14 step 3 quotes snapshot 125's weights: moved to another snapshot by hand (what the slider does), the
 * narration says which snapshot is shown and which one its text is about, in both languages, and says nothing
 * once a lesson move puts the step's snapshot back (or on the step's own snapshot). */
static void test_off_snapshot(void **state) {
    (void)state;
    vz_player *p = player_open(SF_LANG_EN);
    open_lesson(p, "14-watch-it-learn.md");
    vz_player_goto(p, 2);
    pdraw(p);
    assert_non_null(p->app.snaps);
    assert_int_equal(p->app.snap_steps[p->app.snap_k], 125);
    assert_null(p->app.v.verdict); /* on the step's own snapshot: no note */
    int last = p->app.snaps->n - 1;
    assert_true(vz_app_snapshot(&p->app, last)); /* the slider's own call */
    pdraw(p);
    const char *note = p->app.v.verdict;
    assert_non_null(note);
    char want[128];
    snprintf(want, sizeof want, "step %d", p->app.snap_steps[last]);
    if (!strstr(note, want) || !strstr(note, "step 125")) fail_msg("the note does not name both snapshots: %s", note);
    pkey(p, SDLK_l); /* in Chinese too */
    pdraw(p);
    assert_non_null(p->app.v.verdict);
    assert_non_null(strstr(p->app.v.verdict, "125"));
    pkey(p, SDLK_l);
    assert_true(vz_player_next(p)); /* step 4, on its snapshot 300 */
    pdraw(p);
    assert_int_equal(p->app.snap_steps[p->app.snap_k], 300);
    assert_null(p->app.v.verdict);
    player_close();
}

/* ---- the index page ---------------------------------------------------------------------------- */

/* Returns the mean colour of rectangle r of surface s as 0xRRGGBB. */
static void mean_rgb(const SDL_Surface *s, vz_rect r, double out[3]) {
    double sum[3] = {0, 0, 0};
    long n = 0;
    SDL_Surface *c = SDL_ConvertSurfaceFormat((SDL_Surface *)s, SDL_PIXELFORMAT_ARGB8888, 0);
    assert_non_null(c);
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++, n++) {
            uint32_t v = px_at(c, x, y);
            sum[0] += (v >> 16) & 255;
            sum[1] += (v >> 8) & 255;
            sum[2] += v & 255;
        }
    SDL_FreeSurface(c);
    for (int i = 0; i < 3; i++) out[i] = n ? sum[i] / (double)n : 0;
}

/* The index shows every lesson's introduction and thumbnail, in both languages, and fills the window. */
static void test_index_page(void **state) {
    (void)state;
    vz_player *p = player_open(SF_LANG_EN);
    open_index(p);
    assert_true(p->n_index >= 10);
    uint64_t en = pdraw(p);
    long area = 0;
    for (int i = 0; i < p->n_index; i++) {
        const vz_index_entry *x = &p->index[i];
        const vz_index_card *c = &p->cards[i];
        assert_true(x->intro[SF_LANG_EN][0] && x->intro[SF_LANG_ZH][0]);
        assert_null(strchr(x->intro[SF_LANG_EN], '\n'));
        assert_non_null(x->thumb);
        assert_true(c->card.w > 0 && c->thumb.w > 0 && c->intro.w > 0);
        area += (long)c->card.w * c->card.h;
        /* the thumbnail drawn is the PNG: the same mean colour */
        char path[1200];
        snprintf(path, sizeof path, "%s/lessons/thumbs/%02d.png", SF_SOURCE_DIR, x->number);
        SDL_Surface *img = IMG_Load(path);
        assert_non_null(img);
        double want[3], got[3];
        mean_rgb(img, (vz_rect){0, 0, img->w, img->h}, want);
        mean_rgb(pf.surf, c->thumb, got);
        for (int k = 0; k < 3; k++)
            if (got[k] < want[k] - 12 || got[k] > want[k] + 12) fail_msg("lesson %d: the thumbnail drawn is not thumbs/%02d.png", x->number, x->number);
        SDL_FreeSurface(img);
        /* the introduction is drawn: text pixels in its rectangle */
        vz_rect ir = c->intro;
        long ink = 0;
        for (int y = ir.y; y < ir.y + ir.h && y < H; y++)
            for (int xx = ir.x; xx < ir.x + ir.w; xx++) {
                uint32_t v = px_at(pf.surf, xx, y);
                ink += ((v >> 16) & 255) > 150 && ((v >> 8) & 255) > 150;
            }
        if (ink < 150) fail_msg("lesson %d: no introduction drawn", x->number);
    }
    if (area < (long)W * H * 55 / 100) fail_msg("the cards cover %ld%% of the window", area * 100 / ((long)W * H));
    pkey(p, SDLK_l); /* Chinese titles and introductions */
    assert_int_equal(p->lang, SF_LANG_ZH);
    assert_true(pdraw(p) != en);
    pkey(p, SDLK_l);
    assert_true(pdraw(p) == en);
    /* choosing: PageDown / → / Space / ↓ forward, PageUp / ← / Backspace / ↑ back, Home / End, a click opens */
    SDL_Keycode fwd[4] = {SDLK_PAGEDOWN, SDLK_RIGHT, SDLK_SPACE, SDLK_DOWN}, back[4] = {SDLK_PAGEUP, SDLK_LEFT, SDLK_BACKSPACE, SDLK_UP};
    for (int i = 0; i < 4; i++) pkey(p, fwd[i]);
    assert_int_equal(p->sel, 4);
    for (int i = 0; i < 3; i++) pkey(p, back[i]);
    assert_int_equal(p->sel, 1);
    pkey(p, SDLK_END);
    assert_int_equal(p->sel, p->n_index - 1);
    pkey(p, SDLK_HOME);
    assert_int_equal(p->sel, 0);
    pdraw(p);
    vz_rect c5 = p->cards[5].card;
    pmouse(p, c5.x + c5.w / 2, c5.y + c5.h / 2, 1);
    assert_false(p->in_index);
    assert_int_equal(p->number, 6);
    player_close();
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
        cmocka_unit_test(test_table_consistent), cmocka_unit_test(test_help_lists_every_key),
        cmocka_unit_test(test_docs_match_table), cmocka_unit_test(test_esc_never_quits),
        cmocka_unit_test(test_clicker_sequence), cmocka_unit_test(test_next_lesson),
        cmocka_unit_test(test_blank),           cmocka_unit_test(test_head_digits),
        cmocka_unit_test(test_screenshot_name), cmocka_unit_test(test_input_refused),
        cmocka_unit_test(test_no_stale_state),  cmocka_unit_test(test_index_page),
        cmocka_unit_test(test_off_snapshot),
        cmocka_unit_test(test_strings),         cmocka_unit_test(test_display_keys),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
