/* test_viz_interv.c - the window's experiments (docs/experiments.md, docs/visualizer.md): knocking heads out
 * from the grid gives the trace `stepformer trace --ablate` prints, tensor by tensor; putting every head back
 * gives the original run bit for bit; the logit-lens panel's cells are the trace's argmax and probability; the
 * output panel draws the distribution sampled from and the untempered one, and the ablated and the original
 * run, labelled. Drawn headless (SDL_VIDEODRIVER=dummy) on the shipped reverse and words models. */
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
#include <unistd.h>

#include "model/checkpoint.h"
#include "model/interv.h"
#include "model/lens.h"
#include "viz/app.h"
#include "viz/panels.h"

#define W 1920
#define H 1080

typedef struct {
    SDL_Surface *surf;
    SDL_Renderer *r;
    vz_app app;
} screen;

/* Opens the app on a shipped model running input (target, or generating up to max_new at temperature t). */
static void open_app(screen *s, const char *model, const char *input, const char *target, float t) {
    s->surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(s->surf);
    s->r = SDL_CreateSoftwareRenderer(s->surf);
    assert_non_null(s->r);
    vz_font_paths fp;
    sf_err e = vz_font_find(NULL, &fp);
    if (!e.ok) fail_msg("%s", e.msg);
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s", SF_SOURCE_DIR, model);
    sf_model m;
    if (!(e = sf_checkpoint_load(path, &m)).ok) fail_msg("%s", e.msg);
    vz_run_cfg rc = {12, 3, t};
    if (!(e = vz_app_init(&s->app, s->r, &fp, &m, input, &rc)).ok) fail_msg("%s", e.msg);
    if (target) {
        vz_run_spec rs = {input, target, {t, 0}, 3, 12, 1, NULL, 0};
        if (!(e = vz_app_run(&s->app, &rs)).ok) fail_msg("%s", e.msg);
    }
}

static void close_app(screen *s) {
    vz_app_free(&s->app);
    SDL_DestroyRenderer(s->r);
    SDL_FreeSurface(s->surf);
}

/* Returns how many texts panel p drew this frame equal to str. */
static int texts_eq(const vz_app *a, int p, const char *str) {
    int n = 0;
    for (int i = 0; i < a->ctx.n_texts; i++) n += a->ctx.texts[i].owner == p && !strcmp(a->ctx.texts[i].s, str);
    return n;
}

/* Returns how many texts panel p drew this frame containing str. */
static int texts_with(const vz_app *a, int p, const char *str) {
    int n = 0;
    for (int i = 0; i < a->ctx.n_texts; i++) n += a->ctx.texts[i].owner == p && strstr(a->ctx.texts[i].s, str) != NULL;
    return n;
}

/* Returns the number of floats of an entry's current extent. */
static size_t entry_floats(const sf_trace *tr, const sf_trace_entry *e, int *rows, int *cols) {
    int d[2] = {1, 1};
    sf_trace_shape(tr, e, d);
    *rows = e->rank == 2 ? d[0] : 1;
    *cols = e->rank == 2 ? d[1] : d[0];
    return (size_t)*rows * (size_t)*cols;
}

/* Fails unless every entry of trace a (but lens entries) has an entry of the same name in b with the same
 * shape and the same bits. */
static void same_trace(const sf_trace *a, const sf_trace *b) {
    int compared = 0;
    for (int i = 0; i < a->n; i++) {
        const sf_trace_entry *ea = &a->e[i];
        if (ea->op == SF_OP_LENS) continue;
        const sf_trace_entry *eb = sf_trace_find(b, ea->name);
        if (!eb) fail_msg("%s: missing", ea->name);
        int ra, ca, rb, cb;
        entry_floats(a, ea, &ra, &ca);
        entry_floats(b, eb, &rb, &cb);
        if (ra != rb || ca != cb) fail_msg("%s: shape %dx%d against %dx%d", ea->name, ra, ca, rb, cb);
        for (int r = 0; r < ra; r++)
            if (memcmp(ea->rank == 2 ? sf_trace_row(ea, r) : ea->data, eb->rank == 2 ? sf_trace_row(eb, r) : eb->data,
                       (size_t)ca * sizeof(float)))
                fail_msg("%s: row %d differs", ea->name, r);
        compared++;
    }
    assert_true(compared > 100);
}

/* Fails unless every tensor `stepformer trace --json` prints for the arguments equals the app's trace
 * entry of that name to the printed precision (%.9g: a float32 exactly); returns how many were compared. */
static int same_as_cli(const sf_trace *tr, const char *args) {
    char cmd[2048], tmp[] = "/tmp/sf-viz-interv-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "\"%s\" trace %s --json > %s", SF_BINARY, args, tmp);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(tmp, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *js = malloc((size_t)n + 1);
    assert_non_null(js);
    assert_int_equal(fread(js, 1, (size_t)n, f), (size_t)n);
    js[n] = 0;
    fclose(f);
    remove(tmp);
    int compared = 0;
    const char *tensors = strstr(js, "\"tensors\":[");
    assert_non_null(tensors);
    for (const char *p = tensors; (p = strstr(p, "{\"name\":\"")) != NULL;) {
        p += 9;
        const char *q = strchr(p, '"');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
        const char *v = strstr(q, "\"values\":");
        if (!v) break;
        v += 9;
        const sf_trace_entry *e = sf_trace_find(tr, name);
        if (!e) fail_msg("trace --json has %s, the window's trace does not", name);
        int rows, cols;
        entry_floats(tr, e, &rows, &cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                while (*v == '[' || *v == ']' || *v == ',' || *v == ' ' || *v == '\n') v++;
                float want = (e->rank == 2 ? sf_trace_row(e, r) : e->data)[c];
                if (!strncmp(v, "null", 4)) {
                    if (isfinite(want)) fail_msg("%s[%d][%d]: null in JSON, %g in the window", name, r, c, (double)want);
                    v += 4;
                    continue;
                }
                char *end;
                float got = strtof(v, &end);
                if (end == v) fail_msg("%s: JSON ends after %d rows", name, r);
                v = end;
                if (got != want) fail_msg("%s[%d][%d]: %.9g in JSON, %.9g in the window", name, r, c, (double)got, (double)want);
            }
        compared++;
        p = v;
    }
    free(js);
    return compared;
}

/* Returns the index of the first thumbnail click region of (block b, head h), or -1. */
static int thumb_click(const vz_app *a, int b, int h) {
    for (int i = 0; i < a->ctx.n_clicks; i++) {
        const vz_click *c = &a->ctx.clicks[i];
        if (c->kind == VZ_CLICK_THUMB && c->a == b && c->b == h && c->c == 1) return i;
    }
    return -1;
}

/* Returns the index of block (stack, layer, sub) in the view. */
static int block_of(const vz_view *v, int stack, int layer, int sub) {
    for (int i = 0; i < v->n_blocks; i++)
        if (v->blocks[i].stack == stack && v->blocks[i].layer == layer && v->blocks[i].sub == sub) return i;
    fail_msg("no block");
    return -1;
}

/* k on the focused head, a Ctrl+click on a thumbnail: the trace is the one trace --ablate computes; the grid
 * marks both heads; K restores the original run bit for bit. */
static void test_ablate_from_the_grid(void **state) {
    (void)state;
    screen s;
    open_app(&s, "reverse.sfm", "abcdefgh", "hgfedcba", 0);
    vz_app *a = &s.app;
    /* the original run, kept to compare with after restoring */
    sf_seq orig;
    assert_true(sf_seq_build(&orig, &a->m.cfg).ok);
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = "abcdefgh";
    o.target = "hgfedcba";
    o.max_new = 12;
    o.seed = 3;
    assert_true(sf_run(&a->m, &orig, &o, NULL).ok);
    sf_trace otr;
    assert_true(sf_trace_build(&otr, &a->m, &orig).ok);
    same_trace(&a->tr, &otr);
    /* k: the focused head */
    a->v.block = block_of(&a->v, SF_STACK_DEC, 1, SF_SUB_CROSS);
    a->v.head = 2;
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_KEYDOWN;
    ev.key.keysym.sym = SDLK_k;
    assert_true(vz_app_event(a, &ev));
    assert_int_equal(a->iv.n_ablate, 1);
    vz_app_frame(a, W, H);
    /* Ctrl+click: another head, through the click region the grid registered */
    int b0 = block_of(&a->v, SF_STACK_DEC, 0, SF_SUB_SELF);
    int ci = thumb_click(a, b0, 1);
    assert_true(ci >= 0);
    vz_rect cr = a->ctx.clicks[ci].r;
    SDL_SetModState(KMOD_LCTRL);
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEBUTTONDOWN;
    ev.button.button = SDL_BUTTON_LEFT;
    ev.button.x = cr.x + cr.w / 2;
    ev.button.y = cr.y + cr.h / 2;
    assert_true(vz_app_event(a, &ev));
    SDL_SetModState(KMOD_NONE);
    assert_int_equal(a->iv.n_ablate, 2);
    /* the trace against the command line's */
    int n = same_as_cli(&a->tr, "--model \"" SF_SOURCE_DIR "/assets/models/reverse.sfm\" --input abcdefgh --target hgfedcba "
                                "--ablate dec.L1.cross.H2,dec.L0.self.H1");
    assert_true(n > 100);
    /* and against an ablated run made here, bit for bit; the original run behind it is the original */
    sf_interv iv;
    sf_interv_init(&iv);
    assert_true(sf_interv_add_ablate(&iv, &a->m.cfg, "dec.L0.self.H1,dec.L1.cross.H2").ok);
    sf_seq base, abl;
    assert_true(sf_seq_build(&base, &a->m.cfg).ok && sf_seq_build(&abl, &a->m.cfg).ok);
    assert_true(sf_run_interv(&a->m, &base, &abl, &o, &iv, NULL, NULL).ok);
    sf_trace atr;
    assert_true(sf_trace_build(&atr, &a->m, &abl).ok);
    same_trace(&a->tr, &atr);
    same_trace(&a->base_tr, &otr);
    /* the grid marks both heads (the "off" text), the top bar and the output panel name them */
    vz_app_goto(a, a->sched.n - 1);
    vz_app_frame(a, W, H);
    assert_true(vz_thumb_ablated(&a->v, a->v.blocks[b0], 1) && !vz_thumb_ablated(&a->v, a->v.blocks[b0], 0));
    assert_int_equal(texts_eq(a, VZ_P_THUMBS, "off"), 2);
    assert_int_equal(texts_with(a, VZ_P_TOP, "ablated (zero): dec.L1.cross.H2 dec.L0.self.H1"), 1);
    assert_true(texts_with(a, VZ_P_OUTPUT, "ablated (zero)") >= 1);
    assert_true(texts_with(a, VZ_P_OUTPUT, "the original run") >= 1);
    /* the attention panel and the scores panel mark the knocked-out head they draw: its weights are as computed
     * (lesson 12 showed four heads reading h at .99 with nothing to say they were off) */
    a->v.block = block_of(&a->v, SF_STACK_DEC, 1, SF_SUB_CROSS);
    a->v.head = 2;
    vz_app_frame(a, W, H);
    assert_int_equal(texts_with(a, VZ_P_ATTN, "head 2 \xc2\xb7 off"), 1);
    assert_int_equal(texts_with(a, VZ_P_ATTN, "\xc2\xb7 off"), 1); /* heads 0, 1, 3 are on */
    assert_int_equal(texts_with(a, VZ_P_ATTN, "off = knocked out"), 1);
    assert_true(vz_layout_shown(&a->ctx.lay, VZ_P_SCORES));
    assert_int_equal(texts_with(a, VZ_P_SCORES, "\xc2\xb7 off"), 1);
    a->v.head = 1;
    vz_app_frame(a, W, H);
    assert_int_equal(texts_with(a, VZ_P_SCORES, "\xc2\xb7 off"), 0);
    /* Ctrl+K: mean mode, as trace --ablate-mode mean */
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_KEYDOWN;
    ev.key.keysym.sym = SDLK_k;
    ev.key.keysym.mod = KMOD_LCTRL;
    assert_true(vz_app_event(a, &ev));
    assert_int_equal(a->iv.mode, SF_ABLATE_MEAN);
    n = same_as_cli(&a->tr, "--model \"" SF_SOURCE_DIR "/assets/models/reverse.sfm\" --input abcdefgh --target hgfedcba "
                            "--ablate dec.L1.cross.H2,dec.L0.self.H1 --ablate-mode mean");
    assert_true(n > 100);
    /* K: every head back, the original run bit for bit, no marks */
    ev.key.keysym.sym = SDLK_k;
    ev.key.keysym.mod = KMOD_LSHIFT;
    assert_true(vz_app_event(a, &ev));
    assert_int_equal(a->iv.n_ablate, 0);
    assert_null(a->v.base_tr);
    same_trace(&a->tr, &otr);
    vz_app_frame(a, W, H);
    assert_int_equal(texts_eq(a, VZ_P_THUMBS, "off"), 0);
    assert_int_equal(texts_with(a, VZ_P_TOP, "ablated"), 0);
    /* k twice on one head: out, then back in */
    ev.key.keysym.mod = KMOD_NONE;
    assert_true(vz_app_event(a, &ev));
    assert_int_equal(a->iv.n_ablate, 1);
    assert_true(vz_app_event(a, &ev));
    assert_int_equal(a->iv.n_ablate, 0);
    same_trace(&a->tr, &otr);
    sf_trace_free(&atr);
    sf_trace_free(&otr);
    sf_seq_free(&base);
    sf_seq_free(&abl);
    sf_seq_free(&orig);
    sf_interv_free(&iv);
    close_app(&s);
}

/* The role tags: the induction model's previous-token and induction heads on a repeated string. */
static void test_role_tags(void **state) {
    (void)state;
    screen s;
    open_app(&s, "induction.sfm", "qjwmzkrfbxlpd|qjwmzkrfbxlpd", NULL, 0);
    vz_app *a = &s.app;
    a->spotlight = VZ_P_THUMBS;
    a->projector = 1;
    vz_app_frame(a, 1024, 768);
    int l0 = block_of(&a->v, SF_STACK_DEC, 0, SF_SUB_SELF), l1 = block_of(&a->v, SF_STACK_DEC, 1, SF_SUB_SELF);
    assert_int_equal(vz_thumb_role(&a->v, a->v.blocks[l0], 0), SF_ROLE_PREV);
    for (int h = 1; h < 4; h++) assert_int_equal(vz_thumb_role(&a->v, a->v.blocks[l1], h), SF_ROLE_INDUCTION);
    assert_int_equal(vz_thumb_role(&a->v, a->v.blocks[l1], 0), -1);
    assert_int_equal(texts_eq(a, VZ_P_THUMBS, "induction"), 3);
    assert_int_equal(texts_eq(a, VZ_P_THUMBS, "prev"), 1);
    a->lang = VZ_LANG_ZH;
    vz_app_frame(a, 1024, 768);
    assert_int_equal(texts_eq(a, VZ_P_THUMBS, "归纳"), 3);
    close_app(&s);
}

/* The lens panel: each cell's text is the argmax of dec.L{l}.lens.probs at that position and its
 * probability; cells the cursor has not reached are empty; the last layer's is dec.probs's argmax. */
static void test_lens_panel(void **state) {
    (void)state;
    screen s;
    open_app(&s, "reverse.sfm", "abcdefgh", NULL, 0);
    vz_app *a = &s.app;
    a->spotlight = VZ_P_LENS;
    vz_app_goto(a, a->sched.n - 1);
    vz_app_frame(a, W, H);
    assert_true(vz_layout_shown(&a->ctx.lay, VZ_P_LENS));
    int nl = a->m.cfg.n_dec_layers, n = a->s.n_tgt, V = a->m.cfg.vocab_size;
    const sf_trace_entry *dp = sf_trace_find(&a->tr, "dec.probs");
    /* count the expected texts: each distinct "p" and token over all cells, then compare counts */
    char seen[64][16];
    int want[64], ns = 0;
    for (int l = 0; l < nl; l++) {
        char name[40];
        snprintf(name, sizeof name, "dec.L%d.lens.probs", l);
        const sf_trace_entry *e = sf_trace_find(&a->tr, name);
        assert_non_null(e);
        for (int t = 0; t < n; t++) {
            const float *p = sf_trace_row(e, t);
            int k = sf_argmax(p, V);
            if (l == nl - 1) assert_int_equal(k, sf_argmax(sf_trace_row(dp, t), V));
            char num[16];
            snprintf(num, sizeof num, "%.2f", (double)p[k]);
            int j = 0;
            while (j < ns && strcmp(seen[j], num)) j++;
            if (j == ns) { snprintf(seen[ns], sizeof seen[0], "%s", num); want[ns++] = 0; }
            want[j]++;
        }
    }
    for (int j = 0; j < ns; j++) {
        int got = texts_eq(a, VZ_P_LENS, seen[j]);
        got -= !strcmp(seen[j], "0.00") || !strcmp(seen[j], "0.50") || !strcmp(seen[j], "1.00"); /* (the legend's ticks) */
        if (got != want[j]) fail_msg("lens panel: '%s' drawn %d times, the trace has it %d times", seen[j], got, want[j]);
    }
    assert_true(texts_with(a, VZ_P_LENS, "0 to 1") == 1); /* the legend states the range */
    /* at the first step nothing is computed: no cell text */
    vz_app_goto(a, 0);
    vz_app_frame(a, W, H);
    for (int j = 0; j < ns; j++)
        assert_int_equal(texts_eq(a, VZ_P_LENS, seen[j]), !strcmp(seen[j], "0.00") || !strcmp(seen[j], "0.50") || !strcmp(seen[j], "1.00"));
    close_app(&s);
}

/* The output panel while sampling: bars of dec.sample.probs, dec.probs in brackets and outlined, labelled;
 * a higher T changes the bars' numbers. */
static void test_output_sampled(void **state) {
    (void)state;
    screen s;
    open_app(&s, "words.sfm", "th", NULL, 1.0f);
    vz_app *a = &s.app;
    a->spotlight = VZ_P_OUTPUT;
    a->projector = 1;
    /* the first step past the prompt's last output: dec.probs at position 2 is computed */
    int at = -1;
    for (int i = 0; i < a->sched.n && at < 0; i++)
        if (a->sched.steps[i].phase == SF_STACK_DEC && a->sched.steps[i].token == 2 && a->sched.steps[i].op == SF_OP_PROBS) at = i;
    assert_true(at >= 0);
    char first[64] = "";
    for (int pass = 0; pass < 2; pass++) {
        vz_app_goto(a, at);
        vz_app_frame(a, 1024, 768);
        const sf_trace_entry *dp = sf_trace_find(&a->tr, "dec.probs"), *sp = sf_trace_find(&a->tr, "dec.sample.probs");
        assert_non_null(sp);
        int V = a->m.cfg.vocab_size, k = sf_argmax(sf_trace_row(dp, 2), V);
        char want[64];
        snprintf(want, sizeof want, "%.3f (%.3f)", (double)sf_trace_row(sp, 2)[k], (double)sf_trace_row(dp, 2)[k]);
        if (texts_eq(a, VZ_P_OUTPUT, want) != 1) fail_msg("T %.1f: the output panel does not draw '%s'", (double)a->v.temperature, want);
        assert_true(texts_with(a, VZ_P_OUTPUT, "sampled from") >= 1);
        /* the line under the bars names the draw's seed beside its temperature (lesson 9 quotes it) */
        char seed[32];
        snprintf(seed, sizeof seed, ", seed %llu (keys t, T)", a->v.seed);
        assert_int_equal(a->v.seed, 3);
        if (texts_with(a, VZ_P_OUTPUT, seed) != 1) fail_msg("T %.1f: the output panel does not name '%s'", (double)a->v.temperature, seed);
        if (pass == 0) {
            snprintf(first, sizeof first, "%s", want);
            SDL_Event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = SDL_KEYDOWN;
            ev.key.keysym.sym = SDLK_t;
            ev.key.keysym.mod = KMOD_LSHIFT; /* T: temperature up */
            for (int i = 0; i < 5; i++) assert_true(vz_app_event(a, &ev));
            assert_true(a->v.temperature > 1.4f);
        } else {
            assert_string_not_equal(first, want); /* the bars moved with T; the untempered number did not */
            assert_string_equal(strchr(first, '('), strchr(want, '('));
        }
    }
    close_app(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ablate_from_the_grid),
        cmocka_unit_test(test_role_tags),
        cmocka_unit_test(test_lens_panel),
        cmocka_unit_test(test_output_sampled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
