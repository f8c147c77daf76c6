/* test_viz.c - the visualizer, headless: pixels read back from a software renderer against the
 * trace and the colour maps, masked cells, layout rectangles, the caches, and a scripted event loop. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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

#include "viz/app.h"
#include "viz/colormap.h"
#include "viz/layout.h"
#include "viz/panels.h"
#include "vizkit.h"

static const char ALPHA[] = "abcdefghijkl";

typedef vk_screen fixture;

/* Returns a hash of every pixel. */
static uint64_t picture_hash(const fixture *f) {
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) h = (h ^ vk_pixel(f, x, y)) * 1099511628211ull;
    return h;
}

/* Returns the hover region of the heatmap drawing entry `name` whose rows start at row0, or NULL. */
static const vz_hit *find_hit(const fixture *f, const char *name, int row0) {
    for (int i = 0; i < f->app.ctx.n_hits; i++)
        if (!strcmp(f->app.ctx.hits[i].h.e->name, name) && f->app.ctx.hits[i].h.row0 == row0 &&
            f->app.ctx.hits[i].r.w >= 40)
            return &f->app.ctx.hits[i];
    return NULL;
}

/* Returns the pixel at the centre of cell (row, col) of a hover region. */
static uint32_t cell_pixel(const fixture *f, const vz_hit *h, int row, int col, int *x, int *y) {
    *x = h->r.x + (int)(((double)col + 0.5) * h->r.w / h->h.ncols);
    *y = h->r.y + (int)(((double)(row - h->h.row0) + 0.5) * h->r.h / h->h.nrows);
    return vk_pixel(f, *x, *y);
}

/* The maps' ends match viridis, its luminance rises, and the diverging map is white at 0. */
static void test_colormaps(void **state) {
    (void)state;
    vz_rgba lo = vz_cmap_color(VZ_CMAP_VIRIDIS, 0), hi = vz_cmap_color(VZ_CMAP_VIRIDIS, 1);
    assert_true(abs(lo.r - 68) <= 4 && abs(lo.g - 1) <= 4 && abs(lo.b - 84) <= 4);    /* viridis's ends */
    assert_true(abs(hi.r - 253) <= 4 && abs(hi.g - 231) <= 4 && abs(hi.b - 37) <= 4);
    double prev = -1; /* luminance rises monotonically: the map is readable in grey */
    for (int i = 0; i < 256; i += 5) {
        vz_rgba c = vz_cmap_entry(VZ_CMAP_VIRIDIS, i);
        double y = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
        assert_true(y >= prev - 0.5);
        prev = y;
    }
    vz_rgba mid = vz_cmap_color(VZ_CMAP_DIVERGING, 0);
    assert_true(mid.r > 230 && mid.g > 230 && mid.b > 230);
    vz_rgba neg = vz_cmap_color(VZ_CMAP_DIVERGING, -1), pos = vz_cmap_color(VZ_CMAP_DIVERGING, 1);
    assert_true(neg.b > neg.r && pos.r > pos.b);
    assert_int_equal(vz_cmap_index(VZ_CMAP_VIRIDIS, 2.0f), 255);
    assert_int_equal(vz_cmap_index(VZ_CMAP_DIVERGING, -5.0f), 0);
}

/* Every visible, unmasked cell of an attention heatmap has exactly the colour map's colour of the
 * trace's value; masked cells are grey/hatched, never the colour of 0; hidden rows are hidden. */
static void test_heatmap_pixels(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_GPT, ALPHA, "abcabcab", 1920, 1080);
    vz_app *a = &f.app;
    /* stop in the middle of token 4's layer-0 attention, after the softmax */
    int target = -1;
    for (int i = 0; i < a->sched.n; i++) {
        sf_cursor c = a->sched.steps[i];
        if (c.phase == SF_STACK_DEC && c.token == 4 && c.layer == 0 && c.sublayer == SF_SUB_SELF && c.op == SF_OP_SOFTMAX)
            target = i;
    }
    assert_true(target > 0);
    vz_app_goto(a, target);
    vz_app_frame(a, f.w, f.h);
    const vz_hit *h = find_hit(&f, "dec.L0.self.H1.probs", 0);
    assert_non_null(h);
    const sf_trace_entry *e = h->h.e;
    int n = h->h.nrows, checked = 0, masked = 0, hidden = 0;
    assert_int_equal(h->h.vis, 5); /* rows 0..4 computed, the rest not yet */
    uint32_t grey = vz_rgba_argb(VZ_COL_MASKED), stripe = vz_rgba_argb(VZ_COL_HATCH), dark = vz_rgba_argb(VZ_COL_HIDDEN);
    for (int q = 0; q < n; q++)
        for (int k = 0; k < h->h.ncols; k++) {
            int x, y;
            uint32_t p = cell_pixel(&f, h, q, k, &x, &y);
            if (q >= 5) { assert_int_equal(p, dark); hidden++; continue; }
            float v = sf_trace_row(e, q)[k];
            if (k > q) {
                assert_true(p == grey || p == stripe);
                assert_true(p != vz_cmap_argb(VZ_CMAP_VIRIDIS, 0.0f));
                assert_true(v == 0.0f); /* the trace holds 0 there; the picture says masked, not zero */
                masked++;
            } else {
                if (p != vz_cmap_argb(VZ_CMAP_VIRIDIS, v))
                    fail_msg("cell q=%d k=%d at (%d,%d): pixel %08x, colour map of %g is %08x", q, k, x, y, p, (double)v,
                             vz_cmap_argb(VZ_CMAP_VIRIDIS, v));
                checked++;
            }
        }
    assert_int_equal(checked, 15);
    assert_true(masked > 0 && hidden > 0);
    /* the hatch really shows: a masked cell holds both greys */
    int x, y;
    cell_pixel(&f, h, 0, 3, &x, &y);
    int cw = h->r.w / h->h.ncols, seen_g = 0, seen_s = 0;
    for (int dy = -cw / 2 + 1; dy < cw / 2; dy++)
        for (int dx = -cw / 2 + 1; dx < cw / 2; dx++) {
            uint32_t p = vk_pixel(&f, x + dx, y + dy);
            seen_g |= p == grey;
            seen_s |= p == stripe;
        }
    assert_true(seen_g && seen_s);
    vk_close(&f);
}

/* The encoder's rows fill in one by one within a layer, and every key is visible (no mask). */
static void test_encoder_rows(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_ENCDEC, ALPHA, "abcdefg", 1280, 720);
    vz_app *a = &f.app;
    int target = -1;
    for (int i = 0; i < a->sched.n; i++) {
        sf_cursor c = a->sched.steps[i];
        if (c.phase == SF_STACK_ENC && c.token == 2 && c.layer == 0 && c.op == SF_OP_SOFTMAX) target = i;
    }
    assert_true(target > 0);
    vz_app_goto(a, target);
    const sf_trace_entry *p0 = sf_trace_find(&a->tr, "enc.L0.self.H0.probs");
    const sf_trace_entry *p1 = sf_trace_find(&a->tr, "enc.L1.self.H0.probs");
    const sf_trace_entry *d0 = sf_trace_find(&a->tr, "dec.L0.self.H0.probs");
    assert_int_equal(vz_rows_visible(&a->v, p0, 7), 3);
    assert_int_equal(vz_rows_visible(&a->v, p1, 7), 0);
    assert_int_equal(vz_rows_visible(&a->v, d0, a->s.n_tgt), 0);
    vz_app_frame(a, f.w, f.h);
    const vz_hit *h = find_hit(&f, "enc.L0.self.H0.probs", 0);
    assert_non_null(h);
    for (int k = 0; k < 7; k++) { /* row 2: every key coloured by its value */
        int x, y;
        uint32_t p = cell_pixel(&f, h, 2, k, &x, &y);
        assert_int_equal(p, vz_cmap_argb(VZ_CMAP_VIRIDIS, sf_trace_row(p0, 2)[k]));
    }
    vz_app_goto(a, a->sched.n - 1);
    assert_int_equal(vz_rows_visible(&a->v, p1, 7), 7);
    assert_int_equal(vz_rows_visible(&a->v, d0, a->s.n_tgt), a->s.n_tgt);
    vk_close(&f);
}

/* The same state draws the same picture; a changed input draws another; a bad input is refused. */
static void test_input_changes_picture(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_ENCDEC, ALPHA, "abcabc", 1280, 720);
    vz_app_goto(&f.app, f.app.sched.n - 1);
    vz_app_frame(&f.app, f.w, f.h);
    uint64_t a = picture_hash(&f);
    vz_app_frame(&f.app, f.w, f.h);
    assert_true(picture_hash(&f) == a); /* the same state draws the same picture */
    assert_true(vz_app_set_input(&f.app, "lkjihg").ok);
    vz_app_goto(&f.app, f.app.sched.n - 1);
    vz_app_frame(&f.app, f.w, f.h);
    assert_true(picture_hash(&f) != a);
    assert_false(vz_app_set_input(&f.app, "xyz!").ok); /* not in the alphabet: refused, old run kept */
    assert_string_equal(f.app.input, "lkjihg");
    sf_model g; /* another model: the blocks, the trace and the picture follow */
    vk_model(&g, SF_FAMILY_GPT, ALPHA, 3);
    assert_true(vz_app_set_model(&f.app, &g, "abc").ok);
    assert_int_equal(f.app.v.n_blocks, 3);
    assert_int_equal(f.app.s.n_src, 0);
    vz_app_goto(&f.app, f.app.sched.n - 1);
    vz_app_frame(&f.app, f.w, f.h);
    assert_true(picture_hash(&f) != a);
    vk_model(&g, SF_FAMILY_ENCDEC, ALPHA, 2);
    assert_false(vz_app_set_model(&f.app, &g, "").ok); /* an encoder needs input: refused, gpt kept */
    assert_int_equal(f.app.m.cfg.family, SF_FAMILY_GPT);
    assert_string_equal(f.app.input, "abc");
    vz_app_frame(&f.app, f.w, f.h);
    vk_close(&f);
}

/* A repeated frame rasterises no text and uploads no heatmap: both caches hold. */
static void test_caches(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_GPT, ALPHA, "abcab", 1920, 1080);
    vz_app_frame(&f.app, f.w, f.h);
    long t = vz_text_rasterised(f.app.text), u = f.app.ctx.uploads;
    assert_true(t > 10 && u > 5);
    vz_app_frame(&f.app, f.w, f.h);
    vz_app_frame(&f.app, f.w, f.h);
    assert_int_equal(vz_text_rasterised(f.app.text), t);
    assert_int_equal(f.app.ctx.uploads, u);
    vk_close(&f);
}

/* Fails unless every panel is inside a w x h window, big enough, and overlaps no other. */
static void check_layout(int w, int h, float zoom) {
    vz_layout l;
    vz_layout_compute(&l, w, h, zoom);
    for (int i = 0; i < VZ_P_COUNT; i++) {
        vz_rect r = l.r[i];
        if (r.x < 0 || r.y < 0 || r.x + r.w > w || r.y + r.h > h || r.w < 40 || r.h < 12)
            fail_msg("%dx%d zoom %.2f: panel %s at (%d,%d %dx%d) is outside the window or too small", w, h, (double)zoom,
                     vz_panel_name(i), r.x, r.y, r.w, r.h);
        for (int j = i + 1; j < VZ_P_COUNT; j++)
            if (vz_rect_overlap(r, l.r[j]))
                fail_msg("%dx%d zoom %.2f: panels %s and %s overlap", w, h, (double)zoom, vz_panel_name(i), vz_panel_name(j));
    }
}

/* The layout holds from 1280x720 to 3840x2160 at every zoom. */
static void test_layout(void **state) {
    (void)state;
    static const int sizes[][2] = {{1280, 720}, {1366, 768}, {1600, 900}, {1920, 1080}, {2560, 1440}, {3840, 2160},
                                   {1280, 1024}, {3440, 1440}};
    static const float zooms[] = {0.5f, 0.75f, 1.0f, 1.5f, 2.0f, 3.0f};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t z = 0; z < sizeof zooms / sizeof *zooms; z++) check_layout(sizes[i][0], sizes[i][1], zooms[z]);
    assert_int_equal(vz_panel_parse("attention"), VZ_P_ATTN);
    assert_int_equal(vz_panel_parse("nope"), -1);
}

/* Every panel draws inside its own rectangle at both ends of the size range. */
static void test_panels_stay_inside(void **state) {
    (void)state;
    static const int sizes[][2] = {{1280, 720}, {3840, 2160}};
    for (int s = 0; s < 2; s++) {
        fixture f;
        vk_open(&f, SF_FAMILY_ENCDEC, ALPHA, "abcdefghijkl", sizes[s][0], sizes[s][1]);
        vz_app_goto(&f.app, f.app.sched.n - 1);
        vz_app_frame(&f.app, f.w, f.h);
        const vz_ctx *c = &f.app.ctx;
        for (int i = 0; i < c->n_hits; i++) {
            vz_rect r = c->hits[i].r;
            int inside = 0;
            for (int p = 0; p < VZ_P_COUNT; p++) {
                vz_rect q = c->lay.r[p];
                inside |= r.x >= q.x && r.y >= q.y && r.x + r.w <= q.x + q.w && r.y + r.h <= q.y + q.h;
            }
            if (!inside) fail_msg("%dx%d: heatmap %s at (%d,%d %dx%d) leaves its panel", f.w, f.h, c->hits[i].h.e->name,
                                  r.x, r.y, r.w, r.h);
        }
        for (int i = 0; i < c->n_clicks; i++) {
            vz_rect r = c->clicks[i].r;
            assert_true(r.x >= 0 && r.y >= 0 && r.x + r.w <= f.w && r.y + r.h <= f.h);
        }
        vk_close(&f);
    }
}

/* Hovering a cell names it as the tooltip shows it. */
static void test_hover_names(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_ENCDEC, ALPHA, "abcd", 1920, 1080);
    vz_app_goto(&f.app, f.app.sched.n - 1);
    f.app.v.block = 3; /* dec L0 cross */
    vz_app_frame(&f.app, f.w, f.h);
    const vz_hit *h = find_hit(&f, "dec.L0.cross.H2.probs", 0);
    assert_non_null(h);
    int x, y, row, col;
    cell_pixel(&f, h, 1, 3, &x, &y);
    SDL_Event e = {.type = SDL_MOUSEMOTION};
    e.motion.x = x;
    e.motion.y = y;
    vz_app_event(&f.app, &e);
    vz_app_frame(&f.app, f.w, f.h);
    const vz_hit *g = vz_hit_at(&f.app.ctx, x, y, &row, &col);
    assert_non_null(g);
    assert_int_equal(row, 1);
    assert_int_equal(col, 3);
    char name[96];
    assert_string_equal(vz_cell_name(g->h.e, row, col, name, sizeof name), "dec L0 cross H2 probs[q=1,k=3]");
    vk_close(&f);
}

/* Returns a key-press event. */
static SDL_Event key(SDL_Keycode k, int shift) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    e.key.keysym.mod = shift ? KMOD_LSHIFT : 0;
    return e;
}

/* A few hundred frames of scripted keys and mouse events through the same loop the window runs. */
static void test_event_loop(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_ENCDEC, ALPHA, "abcabc", 1280, 720);
    vz_app *a = &f.app;
    SDL_Event script[400];
    int n = 0;
    for (int i = 0; i < 60; i++) script[n++] = key(SDLK_RIGHT, 0);
    for (int i = 0; i < 5; i++) script[n++] = key(SDLK_n, 0);
    for (int i = 0; i < 10; i++) script[n++] = key(SDLK_LEFT, 0);
    script[n++] = key(SDLK_3, 0);
    script[n++] = key(SDLK_RIGHTBRACKET, 0);
    script[n++] = key(SDLK_RIGHTBRACKET, 0);
    script[n++] = key(SDLK_LEFTBRACKET, 0);
    script[n++] = key(SDLK_t, 1);
    script[n++] = key(SDLK_t, 0);
    script[n++] = key(SDLK_PLUS, 0);
    script[n++] = key(SDLK_MINUS, 0);
    script[n++] = key(SDLK_SLASH, 1);
    script[n++] = key(SDLK_SLASH, 1);
    script[n++] = key(SDLK_F11, 0);
    script[n++] = key(SDLK_e, 0);
    for (int i = 0; i < 6; i++) script[n++] = key(SDLK_BACKSPACE, 0);
    SDL_Event ti;
    memset(&ti, 0, sizeof ti);
    ti.type = SDL_TEXTINPUT;
    strcpy(ti.text.text, "fed");
    script[n++] = ti;
    script[n++] = key(SDLK_RETURN, 0);
    for (int i = 0; i < 150; i++) { /* sweep the mouse over the window, clicking now and then */
        SDL_Event m;
        memset(&m, 0, sizeof m);
        if (i % 10 == 5) {
            m.type = SDL_MOUSEBUTTONDOWN;
            m.button.button = SDL_BUTTON_LEFT;
            m.button.x = (i * 97) % f.w;
            m.button.y = (i * 53) % f.h;
        } else if (i % 10 == 7) {
            m.type = SDL_MOUSEWHEEL;
            m.wheel.y = i % 20 < 10 ? 1 : -1;
        } else {
            m.type = SDL_MOUSEMOTION;
            m.motion.x = (i * 97) % f.w;
            m.motion.y = (i * 53) % f.h;
        }
        script[n++] = m;
    }
    for (int i = 0; i < 40; i++) script[n++] = key(SDLK_SPACE, 0);
    script[n++] = key(SDLK_HOME, 0);
    for (int i = 0; i < 30 && n < 400; i++) script[n++] = key(SDLK_RIGHT, 0);
    assert_true(n >= 300);
    for (int i = 0; i < n; i++) {
        vz_app_event(a, &script[i]);
        vz_app_frame(a, f.w, f.h);
        assert_true(a->v.step >= 0 && a->v.step < a->sched.n);
        assert_true(a->v.block >= 0 && a->v.block < a->v.n_blocks);
        assert_true(a->v.head >= 0 && a->v.head < a->m.cfg.n_heads);
        assert_false(a->quit);
    }
    assert_string_equal(a->input, "fed");
    assert_int_equal(a->v.step, 30);
    assert_true(a->want_fullscreen);
    SDL_Event q = key(SDLK_q, 0);
    vz_app_event(a, &q);
    assert_true(a->quit);
    vk_close(&f);
}

/* A lesson's highlight frames exactly the chosen cells of every heatmap of that entry. */
static void test_highlight(void **state) {
    (void)state;
    fixture f;
    vk_open(&f, SF_FAMILY_GPT, ALPHA, "abcabc", 1920, 1080);
    vz_app_goto(&f.app, f.app.sched.n - 1);
    vz_highlight hl = {"dec.L0.self.H1.probs", 2, {3, 0}, {3, 2}, 0};
    f.app.v.hl[0] = hl;
    f.app.v.n_hl = 1;
    vz_app_frame(&f.app, f.w, f.h);
    const vz_hit *h = find_hit(&f, "dec.L0.self.H1.probs", 0);
    assert_non_null(h);
    int x, y;
    cell_pixel(&f, h, 3, 0, &x, &y);
    int cw = h->r.w / h->h.ncols, hil = (int)vz_rgba_argb(VZ_HILITE);
    assert_int_equal(vk_pixel(&f, h->r.x - 1, y), (uint32_t)hil);                 /* left of the range */
    assert_int_equal(vk_pixel(&f, h->r.x + 3 * cw, y), (uint32_t)hil);           /* right of column 2 */
    assert_true(vk_pixel(&f, h->r.x + cw / 2, y) != (uint32_t)hil);              /* the cells stay visible */
    assert_true(vk_pixel(&f, h->r.x - 1, y + 3 * cw) != (uint32_t)hil);          /* row 6 is not framed */
    f.app.v.n_hl = 0;
    vz_app_frame(&f.app, f.w, f.h);
    assert_true(vk_pixel(&f, h->r.x - 1, y) != (uint32_t)hil);
    vk_close(&f);
}

/* Runs the stepformer binary with args (stderr and stdout to a log); returns its exit status. */
static int run_binary(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "SDL_VIDEODRIVER=dummy '%s' %s > /tmp/sf_test_viz_render.log 2>&1", SF_BINARY, args);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* `stepformer render` writes a PNG of the requested size with no display; bad options are refused. */
static void test_render_command(void **state) {
    (void)state;
    char args[1024], out[256];
    snprintf(out, sizeof out, "/tmp/sf_test_viz_%d.png", (int)getpid());
    remove(out);
    snprintf(args, sizeof args, "render --model %s/encdec_post.sfm --input abcdeh --step 40 --size 1280x720 --out %s",
             SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 0);
    SDL_Surface *png = IMG_Load(out);
    assert_non_null(png);
    assert_int_equal(png->w, 1280);
    assert_int_equal(png->h, 720);
    SDL_FreeSurface(png);
    snprintf(args, sizeof args, "render --model %s/gpt.sfm --input abc --panel attention --out %s", SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 0);
    remove(out);
    snprintf(args, sizeof args, "render --model %s/gpt.sfm --input abc --panel nope --out %s", SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 2);
    snprintf(args, sizeof args, "render --model %s/gpt.sfm --input abc --size 12x9 --out %s", SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 2);
    snprintf(args, sizeof args, "render --model %s/gpt.sfm --input abc --font /no/such.ttf --out %s", SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 1);
    snprintf(args, sizeof args, "render --model %s/gpt.sfm --input xyz --out %s", SF_FIXTURE_DIR, out);
    assert_int_equal(run_binary(args), 1); /* not in the model's alphabet: an error, not a crash */
    assert_int_equal(access(out, F_OK), -1);
}

/* A missing --font file is named in the error; Chinese text renders with the CJK font. */
static void test_fonts(void **state) {
    (void)state;
    vz_font_paths fp;
    sf_err e = vz_font_find("/nonexistent/font.ttf", &fp);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "/nonexistent/font.ttf"));
    assert_true(vz_font_find(NULL, &fp).ok);
    assert_true(vz_font_is_cjk(0x4E2D));
    assert_false(vz_font_is_cjk('a'));
    if (!fp.cjk[0]) { print_message("no CJK font installed (fonts-noto-cjk); skipping the CJK check\n"); return; }
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, 200, 100, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(s);
    vz_text *t;
    assert_true(vz_text_create(&t, r, &fp).ok);
    assert_true(vz_text_has_cjk(t));
    SDL_SetRenderDrawColor(r, 0, 0, 0, 255);
    SDL_RenderClear(r);
    int w = vz_text_draw(t, "\xe6\xb3\xa8\xe6\x84\x8f\xe5\x8a\x9b", 24, (vz_rgba){255, 255, 255, 255}, 0, 0, 0); /* 注意力 */
    assert_true(w >= 3 * 18);
    long lit = 0; /* real glyphs, not empty boxes: many lit pixels */
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < w; x++) lit += (((uint32_t *)((uint8_t *)s->pixels + y * s->pitch))[x] & 0xff) > 128;
    assert_true(lit > 60);
    vz_text_destroy(t);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colormaps),     cmocka_unit_test(test_heatmap_pixels), cmocka_unit_test(test_encoder_rows),
        cmocka_unit_test(test_input_changes_picture), cmocka_unit_test(test_caches), cmocka_unit_test(test_layout),
        cmocka_unit_test(test_panels_stay_inside), cmocka_unit_test(test_hover_names), cmocka_unit_test(test_event_loop),
        cmocka_unit_test(test_highlight), cmocka_unit_test(test_fonts), cmocka_unit_test(test_render_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
