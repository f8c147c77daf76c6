/* test_lesson.c - the lesson parser, its errors (with line and column), the interpreter's forward/back
 * exactness, language fallback, claims checked on the trace, and every shipped lesson under --check. */
#define _POSIX_C_SOURCE 200809L /* opendir */
#define _DEFAULT_SOURCE         /* wait4 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lesson/interp.h"
#include "lesson/lesson.h"
#include "model/checkpoint.h"
#include "model/run.h"
#include "model/trace.h"

#define ENC_MODEL "test_lesson_encdec.sfm"
#define GPT_MODEL "test_lesson_gpt.sfm"

/* Writes a random model of the family to path (a 26-letter alphabet, 2 layers, 4 heads, max_len 16). */
static void make_model(const char *path, int family, unsigned long long seed) {
    sf_config c = sf_config_default((sf_family)family);
    sf_tokenizer tok;
    const char *alpha = "abcdefghijklmnopqrstuvwxyz";
    assert_true(sf_tokenizer_build(&tok, alpha, strlen(alpha)).ok);
    c.vocab_size = sf_tokenizer_vocab(&tok);
    c.d_model = 32;
    c.d_ff = 64;
    c.max_len = 16;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    m.tok = tok;
    sf_model_init_random(&m, seed);
    sf_err e = sf_checkpoint_save(&m, path);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    sf_model_free(&m);
}

static int setup(void **state) {
    (void)state;
    make_model(ENC_MODEL, SF_FAMILY_ENCDEC, 11);
    make_model(GPT_MODEL, SF_FAMILY_GPT, 12);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove(ENC_MODEL);
    remove(GPT_MODEL);
    return 0;
}

/* Parses text (as file "t.md" in the current folder) with models checked; returns the error. */
static sf_err parse(const char *text, int models, sf_lesson *l) {
    sf_lesson_opts o = {models, models, NULL};
    return sf_lesson_parse(text, strlen(text), "t.md", &o, l);
}

/* Asserts that text fails at line:col with a message containing `what`. */
static void expect_error(const char *text, int models, int line, int col, const char *what) {
    sf_lesson l;
    sf_err e = parse(text, models, &l);
    if (e.ok || l.err_line != line || l.err_col != col || !strstr(e.msg, what)) {
        fprintf(stderr, "for lesson:\n%s\ngot: ok=%d at %d:%d: %s\nwanted %d:%d containing '%s'\n", text, e.ok,
                l.err_line, l.err_col, e.msg, line, col, what);
        fail();
    }
    char where[32];
    snprintf(where, sizeof where, "t.md:%d:%d: ", line, col);
    assert_true(strncmp(e.msg, where, strlen(where)) == 0);
    assert_int_equal(l.n_frames, 0);
    sf_lesson_free(&l);
}

#define HEAD "@model " ENC_MODEL "\n@input abcdefgh\n@target hgfedcba\n"

static void test_syntax_errors(void **state) {
    (void)state;
    expect_error("## a\n@frobnicate 3\n", 0, 2, 1, "unknown directive '@frobnicate'");
    expect_error("## a\ntext\n   @zap\n", 0, 3, 4, "unknown directive '@zap'");
    expect_error("just prose\n", 0, 1, 1, "expected at least one step");
    expect_error("## a\n@focus attentoin L1\n", 0, 2, 8, "unknown panel 'attentoin'");
    expect_error("## a\n@focus attention L1 X7\n", 0, 2, 21, "unexpected 'X7'");
    expect_error("## a\n@goto dec token x\n", 0, 2, 17, "expected a token number");
    expect_error("## a\n@goto dec tokn 3\n", 0, 2, 11, "unexpected 'tokn'");
    expect_error("## a\n@generate many\n", 0, 2, 11, "expected the number of tokens");
    expect_error("## a\n@sample temperature hot\n", 0, 2, 21, "expected a temperature");
    expect_error("## a\n@input \"abc\n", 0, 2, 8, "closing '\"'");
    expect_error("## a\n@reveal\n", 0, 2, 1, "@reveal without an @ask");
    expect_error("## a\n[fr] bonjour\n", 0, 2, 1, "unknown language '[fr]'");
    expect_error("## a\n### deeper\n", 0, 2, 1, "expected '# '");
    expect_error("## a\n# late title\n", 0, 2, 1, "lesson title");
    expect_error("@goto start\n## a\n", 0, 1, 1, "must be inside a step");
    expect_error("## a\n@highlight 3\n", 0, 2, 12, "trace entry name");
    /* columns count characters, not bytes */
    expect_error("## 第一步\n中文 @x\n@positions maybe\n", 0, 3, 12, "expected on or off");
    expect_error("## a\nok \xff\n", 0, 2, 4, "malformed UTF-8");
}

static void test_model_errors(void **state) {
    (void)state;
    expect_error("## a\n@model nowhere/missing.sfm\n", 1, 2, 8, "missing model file");
    expect_error(HEAD "## a\n@focus attention enc L2\n", 1, 5, 22, "layer L2 out of range");
    expect_error(HEAD "## a\n@focus attention L0 H4\n", 1, 5, 21, "head H4 out of range");
    expect_error(HEAD "## a\n@highlight dec.L0.cross.H7.probs\n", 1, 5, 25, "head H7 out of range");
    expect_error(HEAD "## a\n@highlight dec.L3.self.H0.probs\n", 1, 5, 16, "layer L3 out of range");
    expect_error(HEAD "## a\n@goto enc token 8 L0 self softmax\n", 1, 5, 17, "step past the end of the input");
    expect_error(HEAD "## a\n@goto dec token 9 L0 self softmax\n", 1, 5, 17, "step past the end of the input");
    expect_error(HEAD "## a\n@goto end\n@next\n", 1, 6, 1, "step past the end");
    expect_error(HEAD "## a\n@goto dec token 2 L1 self ffn1\n", 1, 5, 27, "no such step");
    expect_error(HEAD "## a\n@highlight dec.L0.self.H0.probs q=9\n", 1, 5, 35, "past the end");
    expect_error(HEAD "## a\n@highlight dec.L0.self.H0.probs z=1\n", 1, 5, 33, "unknown axis 'z'");
    expect_error("@model " ENC_MODEL "\n@input abcXe\n## a\n@goto start\n", 1, 2, 11, "'X' is not in the model's alphabet");
    expect_error("@model " ENC_MODEL "\n@input \"ab1\"\n## a\n@goto start\n", 1, 2, 11, "'1' is not in the model's alphabet");
    expect_error("## a\n@goto start\n", 1, 2, 1, "no model loaded");
    expect_error("@model " GPT_MODEL "\n@input abc\n## a\n@goto enc token 0 L0 self softmax\n", 1, 4, 7, "has no encoder");
    expect_error("@model " GPT_MODEL "\n@input abc\n## a\n@highlight dec.L0.cross.H0.probs\n", 1, 4, 19, "no cross-attention");
    /* a highlight must be on screen at the step's cursor */
    expect_error(HEAD "## a\n@goto dec token 2 L0 self softmax\n@highlight dec.L0.self.H0.probs q=5\n", 1, 6, 12,
                 "not on screen yet");
    /* a question's answer must be on screen once revealed */
    expect_error(HEAD "## a\n@goto enc token 0 embed tok\n@ask dec.L1.cross.H1.probs q=3\n@reveal\n", 1, 6, 6,
                 "the answer to this question is not on screen");
    /* the compared run must have the cursor's step */
    expect_error(HEAD "## a\n@compare target hg\n@goto dec token 6 L0 self softmax\n", 1, 4, 1, "compared run has no step");
}

static void test_claims(void **state) {
    (void)state;
    /* a late decoder token changes no earlier decoder row; a late encoder token changes every encoder row */
    const char *ok = HEAD "## a\n@compare target hgfedcbz\n@goto end\n"
                          "@expect same dec.L0.self.H0.probs q=0..7\n@expect same dec.L1.self.H3.probs q=0..7\n"
                          "@expect same dec.L1.cross.H1.probs q=0..7\n@expect differ dec.L0.self.H0.probs q=8\n"
                          "@expect same enc.out\n"
                          "## b\n@compare off\n@compare input abcdefgz\n@goto end\n"
                          "@expect differ enc.L0.self.H0.probs q=0..6\n@expect differ enc.L1.self.H2.probs\n"
                          "@expect same enc.embed.tok pos=0..6\n@expect differ enc.out pos=0\n"
                          "@expect same dec.L0.self.H0.probs\n@expect differ dec.L0.cross.H0.probs\n";
    sf_lesson l;
    sf_err e = parse(ok, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    assert_int_equal(l.n_frames, 2);
    assert_true(l.frames[0].compare && l.frames[1].compare);
    assert_string_equal(l.frames[0].cmp.input, "abcdefgh");
    assert_string_equal(l.frames[0].cmp.target, "hgfedcbz");
    assert_string_equal(l.frames[1].cmp.input, "abcdefgz");
    assert_string_equal(l.frames[1].cmp.target, "hgfedcba");
    sf_lesson_free(&l);
    expect_error(HEAD "## a\n@compare input abcdefgz\n@goto end\n"
                      "@expect same enc.L0.self.H0.probs q=0\n", 1, 7, 9, "claim 'same' does not hold");
    expect_error(HEAD "## a\n@compare target hgfedcbz\n@goto end\n"
                      "@expect differ dec.L0.self.H2.probs q=3\n", 1, 7, 9, "claim 'differ' does not hold");
    /* masked weights are exactly zero; bounds */
    e = parse(HEAD "## a\n@goto end\n@expect zero dec.L0.self.H0.probs q=2 k=3..8\n@expect zero dec.L1.self.H3.probs q=0 k=1..8\n"
                   "@expect above 0 enc.L0.self.H0.probs\n@expect below 1.0001 dec.L1.cross.H2.probs\n", 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    sf_lesson_free(&l);
    expect_error(HEAD "## a\n@goto end\n@expect zero enc.L0.self.H0.probs q=0\n", 1, 6, 9, "claim 'zero' does not hold");
    expect_error(HEAD "## a\n@goto end\n@expect above 0.9999 enc.L0.self.H0.probs q=0\n", 1, 6, 15, "claim 'above'");
    expect_error(HEAD "## a\n@goto end\n@expect above lots enc.L0.self.H0.probs\n", 1, 6, 15, "expected a number");
    /* within one run: 'vs' compares two places */
    e = parse(HEAD "@input abca\n## a\n@goto end\n@expect same enc.embed.tok pos=0 vs pos=3\n"
                   "@expect differ enc.embed.sum pos=0 vs pos=3\n", 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    sf_lesson_free(&l);
    /* positions off: permuting the input permutes the encoder's outputs */
    e = parse("@model " ENC_MODEL "\n@input abcd\n@positions off\n## a\n@compare input dbca\n@goto end\n"
              "@expect same enc.out pos=0 vs pos=3\n@expect same enc.out pos=1..2\n"
              "@expect same enc.L0.self.H1.probs q=1 k=0 vs q=1 k=3\n", 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    sf_lesson_free(&l);
    expect_error("@model " ENC_MODEL "\n@input abcd\n## a\n@compare input dbca\n@goto end\n"
                 "@expect same enc.out pos=0 vs pos=3\n", 1, 6, 9, "does not hold");
}

/* Returns the first command of kind k in cmds, or NULL. */
static const sf_lesson_cmd *find_cmd(const sf_lesson_cmds *cmds, int k) {
    for (int i = 0; i < cmds->n; i++)
        if (cmds->c[i].kind == k) return &cmds->c[i];
    return NULL;
}

/* Aligning a compared run by token: the alignment (a repeated token by occurrence), `@compare ... align tokens`
 * into the frames (refused with its line and column when the inputs are no permutation or there is no
 * encoder), `@show ids` and `@show range`, and the commands that carry both to the app. */
static void test_compare_align(void **state) {
    (void)state;
    int map[8];
    const int a[] = {4, 5, 6, 4}, b[] = {6, 4, 4, 5}, c[] = {6, 4, 7, 5};
    assert_int_equal(sf_lesson_align(a, 4, b, 4, map), 1);
    assert_int_equal(map[0], 1); /* the first 4 of a is the first 4 of b ... */
    assert_int_equal(map[3], 2); /* ... and the second the second: by occurrence */
    assert_int_equal(map[1], 3);
    assert_int_equal(map[2], 0);
    assert_int_equal(sf_lesson_align(a, 4, c, 4, map), 0); /* 7 for a 4: not a permutation */
    assert_int_equal(sf_lesson_align(a, 4, b, 3, map), 0); /* lengths differ */
    sf_lesson l;
    const char *ok = "@model " ENC_MODEL "\n@input abca\n@positions off\n"
                     "## aligned\n@compare input caab align tokens\n@show ids range local\n@goto end\n"
                     "## by position\n@compare align positions\n@show ids off\n@goto end\n"
                     "## off\n@compare off\n@show range full\n@goto end\n";
    sf_err e = parse(ok, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    assert_int_equal(l.n_frames, 3);
    assert_true(l.frames[0].compare && l.frames[0].cmp_align && l.frames[0].show_ids);
    assert_int_equal(l.frames[0].heat_range, SF_RANGE_LOCAL);
    assert_true(l.frames[1].compare && !l.frames[1].cmp_align && !l.frames[1].show_ids);
    assert_int_equal(l.frames[1].heat_range, SF_RANGE_LOCAL); /* (carries over until changed) */
    assert_true(!l.frames[2].compare && !l.frames[2].cmp_align);
    assert_int_equal(l.frames[2].heat_range, SF_RANGE_FULL);
    /* the commands: from nothing, and when only the alignment or the display changes */
    sf_lesson_cmds cmds;
    sf_lesson_diff(&l, -1, 0, SF_LANG_EN, &cmds);
    const sf_lesson_cmd *cc = find_cmd(&cmds, SF_LCMD_COMPARE), *sc = find_cmd(&cmds, SF_LCMD_SHOW);
    assert_non_null(cc);
    assert_true(cc->on && cc->align);
    assert_non_null(sc);
    assert_true(sc->ids && sc->range == SF_RANGE_LOCAL);
    sf_lesson_diff(&l, 0, 1, SF_LANG_EN, &cmds);
    cc = find_cmd(&cmds, SF_LCMD_COMPARE);
    assert_non_null(cc);
    assert_true(cc->on && !cc->align);
    assert_null(find_cmd(&cmds, SF_LCMD_SET_RUN)); /* the same runs: nothing rerun */
    assert_non_null(find_cmd(&cmds, SF_LCMD_SHOW));
    sf_lesson_view v = sf_lesson_view_empty(), w = sf_lesson_view_empty();
    sf_lesson_diff(&l, -1, 0, SF_LANG_EN, &cmds);
    sf_lesson_view_apply(&v, &cmds);
    sf_lesson_diff(&l, -1, 1, SF_LANG_EN, &cmds);
    sf_lesson_view_apply(&w, &cmds);
    assert_false(sf_lesson_view_eq(&v, &w));
    sf_lesson_diff(&l, 1, 0, SF_LANG_EN, &cmds);
    sf_lesson_view_apply(&w, &cmds);
    assert_true(sf_lesson_view_eq(&v, &w));
    sf_lesson_free(&l);
    /* refused: not a permutation (at the word align), no encoder, a bad value */
    expect_error("@model " ENC_MODEL "\n@input abca\n## a\n@compare input cabz align tokens\n@goto end\n", 1, 4, 21,
                 "permutation of the main one");
    expect_error("@model " ENC_MODEL "\n@input abca\n## a\n@compare input abc align tokens\n@goto end\n", 1, 4, 20,
                 "permutation of the main one");
    expect_error("@model " GPT_MODEL "\n@input abc\n## a\n@compare input cba align tokens\n@goto end\n", 1, 4, 20,
                 "has no encoder");
    expect_error(HEAD "## a\n@compare input hgfedcba align letters\n", 1, 5, 31, "expected tokens or positions");
    expect_error(HEAD "## a\n@show idz\n", 1, 5, 7, "expected ids [on|off] or range local|full");
    expect_error(HEAD "## a\n@show range wide\n", 1, 5, 13, "expected local or full");
}

static float cell_of(const char *input, const char *target, const char *name, int q, int k);

/* `@expect argmax NAME q=N k=M` (the documented form: the row, then the answer as an axis) holds when k=M is
 * the row's largest and fails with the model's answer otherwise; `@expect above|below|zero|argmax cmp ...`
 * checks the compared run's own numbers, and needs a comparison. */
static void test_claims_argmax_cmp(void **state) {
    (void)state;
    int best = 0, worst = 0;
    float bv = -1, wv = 2;
    for (int k = 0; k < 8; k++) {
        float v = cell_of("abcdefgh", "hgfedcba", "enc.L0.self.H0.probs", 3, k);
        if (v > bv) { bv = v; best = k; }
        if (v < wv) { wv = v; worst = k; }
    }
    float cv = cell_of("abcdefgz", "hgfedcba", "enc.L0.self.H0.probs", 3, 7);
    char text[1024];
    sf_lesson l;
    snprintf(text, sizeof text, HEAD "## a\n@compare input abcdefgz\n@goto end\n@expect argmax enc.L0.self.H0.probs q=3 k=%d\n"
             "@expect above %.6f cmp enc.L0.self.H0.probs q=3 k=7\n@expect below %.6f cmp enc.L0.self.H0.probs q=3 k=7\n"
             "@expect zero cmp dec.L0.self.H0.probs q=0 k=1..8\n", best, (double)(cv * 0.999f), (double)(cv * 1.001f));
    sf_err e = parse(text, 1, &l);
    if (!e.ok) fail_msg("%s", e.msg);
    sf_lesson_free(&l);
    snprintf(text, sizeof text, HEAD "## a\n@goto end\n@expect argmax enc.L0.self.H0.probs q=3 k=%d\n", worst);
    expect_error(text, 1, 6, 41, "expects the largest value at");
    /* cmp reads the compared run: a bound that holds for the main run's cell fails for the compared one */
    float mv = cell_of("abcdefgh", "hgfedcba", "enc.L0.self.H0.probs", 3, 7);
    if (fabsf(mv - cv) > 1e-3f) {
        snprintf(text, sizeof text, HEAD "## a\n@compare input abcdefgz\n@goto end\n@expect %s %.6f cmp enc.L0.self.H0.probs q=3 k=7\n",
                 mv > cv ? "above" : "below", (double)((mv + cv) / 2));
        expect_error(text, 1, 7, 15, "does not hold");
    }
    expect_error(HEAD "## a\n@goto end\n@expect above 0 cmp enc.L0.self.H0.probs\n", 1, 6, 17, "compares none");
    expect_error(HEAD "## a\n@compare input abcdefgz\n@goto end\n@expect same cmp enc.L0.self.H0.probs\n", 1, 7, 14,
                 "leave out 'cmp'");
}

/* @ablate: its syntax and model errors point at the names; claims and quotes read the ablated run, the
 * compared run stays the model's own, and @ablate none puts the heads back. */
static void test_ablate(void **state) {
    (void)state;
    expect_error("## a\n@ablate\n", 0, 2, 9, "expected head names");
    expect_error("## a\n@ablate dec.L1.crss.H0\n", 0, 2, 9, "expected a head name");
    expect_error("## a\n@ablate dec.L1.cross.H0,enc.L0.self.X1\n", 0, 2, 25, "expected a head name");
    expect_error("## a\n@ablate dec.L1.cross.H0, dec.L1.cross.H1\n", 0, 2, 25, "expected a head name"); /* (the empty name) */
    expect_error("## a\n@ablate dec.L1.cross.H0 mode half\n", 0, 2, 30, "expected zero or mean");
    expect_error("## a\n@ablate dec.L1.cross.H0 mood zero\n", 0, 2, 25, "expected 'mode zero'");
    expect_error(HEAD "## a\n@ablate dec.L5.cross.H0\n@goto end\n", 1, 5, 9, "layer L5 does not exist");
    expect_error(HEAD "## a\n@ablate dec.L0.cross.H9\n@goto end\n", 1, 5, 9, "@ablate");
    /* the ablated head outputs zeros: true only on the ablated run */
    const char *zero = "@expect zero dec.L1.cross.H1.out q=0..8\n";
    char buf[2048];
    snprintf(buf, sizeof buf, HEAD "## a\n@goto end\n%s", zero);
    expect_error(buf, 1, 6, 9, "claim 'zero' does not hold");
    snprintf(buf, sizeof buf,
             HEAD "@ablate dec.L1.cross.H1,dec.L0.self.H2\n## a\n@goto end\n%s"
                  "@compare input abcdefgh\n"            /* the compared run: the same input, no heads knocked out */
                  "@expect same enc.out\n@expect same dec.L0.self.H0.probs\n@expect same dec.L0.self.H2.probs\n"
                  "@expect differ dec.L1.cross.H1.probs q=0\n"
                  "@expect differ dec.L0.self.concat pos=1\n@expect differ dec.L1.cross.proj pos=0\n"
                  "Zero: {dec.L1.cross.H1.out q=3 head_dim=0 %%.3f}.\n"
                  "## b\n@compare off\n@ablate dec.L1.cross.H1 mode mean\n@goto end\n"
                  "## c\n@ablate none\n@goto end\n",
             zero);
    sf_lesson l;
    sf_err e = parse(buf, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    assert_int_equal(l.n_frames, 3);
    assert_string_equal(l.frames[0].run.ablate, "dec.L1.cross.H1,dec.L0.self.H2");
    assert_int_equal(l.frames[0].run.ablate_mode, 1);
    assert_null(l.frames[0].cmp.ablate);
    assert_non_null(strstr(sf_lesson_shown(&l, 0, 0, SF_LANG_EN), "Zero: 0.000."));
    assert_string_equal(l.frames[1].run.ablate, "dec.L1.cross.H1");
    assert_int_equal(l.frames[1].run.ablate_mode, 2);
    assert_null(l.frames[2].run.ablate);
    sf_lesson_free(&l);
    /* the logit lens is in a lesson run's trace: its last layer quotes as dec.probs does, layer 0 otherwise */
    snprintf(buf, sizeof buf, HEAD "## a\n@goto end\nA {dec.L1.lens.probs pos=2 vocab=\"g\" %%.6f} B {dec.probs pos=2 vocab=\"g\" %%.6f} "
                                   "C {dec.L0.lens.probs pos=2 vocab=\"g\" %%.6f}\n");
    assert_true(parse(buf, 1, &l).ok);
    const char *shown = sf_lesson_shown(&l, 0, 0, SF_LANG_EN);
    char x[32], y[32], z[32];
    assert_int_equal(sscanf(shown, "A %31s B %31s C %31s", x, y, z), 3);
    assert_string_equal(x, y);
    assert_string_not_equal(x, z);
    sf_lesson_free(&l);
    /* mean mode: the head's rows are its mean, not zeros */
    snprintf(buf, sizeof buf, HEAD "@ablate dec.L1.cross.H1 mode mean\n## a\n@goto end\n%s", zero);
    expect_error(buf, 1, 7, 9, "claim 'zero' does not hold");
}

/* The lesson-6 claim, checked directly on the traces the model computes. */
static void test_claim_on_trace(void **state) {
    (void)state;
    sf_model m;
    assert_true(sf_checkpoint_load(ENC_MODEL, &m).ok);
    sf_seq a, b, c;
    assert_true(sf_seq_build(&a, &m.cfg).ok);
    assert_true(sf_seq_build(&b, &m.cfg).ok);
    assert_true(sf_seq_build(&c, &m.cfg).ok);
    sf_run_opts oa = {"abcdefgh", "hgfedcba", 0, {0, 0}, 0}, ob = {"abcdefgh", "hgfedcbz", 0, {0, 0}, 0},
                oc = {"abcdefgz", "hgfedcba", 0, {0, 0}, 0};
    assert_true(sf_run(&m, &a, &oa, NULL).ok);
    assert_true(sf_run(&m, &b, &ob, NULL).ok);
    assert_true(sf_run(&m, &c, &oc, NULL).ok);
    sf_trace ta, tb, tc;
    assert_true(sf_trace_build(&ta, &m, &a).ok);
    assert_true(sf_trace_build(&tb, &m, &b).ok);
    assert_true(sf_trace_build(&tc, &m, &c).ok);
    for (int l = 0; l < m.cfg.n_dec_layers; l++)
        for (int h = 0; h < m.cfg.n_heads; h++) {
            char name[40];
            for (int sub = 0; sub < 2; sub++) { /* a late decoder token: earlier decoder rows identical */
                snprintf(name, sizeof name, "dec.L%d.%s.H%d.probs", l, sub ? "cross" : "self", h);
                const sf_trace_entry *ea = sf_trace_find(&ta, name), *eb = sf_trace_find(&tb, name);
                for (int q = 0; q < 8; q++)
                    for (int k = 0; k < 8; k++) {
                        int idx[2] = {q, k};
                        assert_true(sf_trace_get(&ta, ea, idx) == sf_trace_get(&tb, eb, idx));
                    }
            }
            snprintf(name, sizeof name, "enc.L%d.self.H%d.probs", l, h);
            const sf_trace_entry *ea = sf_trace_find(&ta, name), *ec = sf_trace_find(&tc, name);
            for (int q = 0; q < 7; q++) { /* a late encoder token: every encoder row changes, earlier ones too */
                float d = 0;
                for (int k = 0; k < 8; k++) {
                    int idx[2] = {q, k};
                    float x = sf_trace_get(&ta, ea, idx) - sf_trace_get(&tc, ec, idx);
                    d = x > d ? x : -x > d ? -x : d;
                }
                assert_true(d > 1e-4f);
            }
        }
    /* the decoder's first self-attention never sees the encoder */
    for (int h = 0; h < m.cfg.n_heads; h++) {
        char name[40];
        snprintf(name, sizeof name, "dec.L0.self.H%d.probs", h);
        const sf_trace_entry *ea = sf_trace_find(&ta, name), *ec = sf_trace_find(&tc, name);
        for (int q = 0; q < 9; q++)
            for (int k = 0; k < 9; k++) {
                int idx[2] = {q, k};
                assert_true(sf_trace_get(&ta, ea, idx) == sf_trace_get(&tc, ec, idx));
            }
    }
    sf_trace_free(&ta);
    sf_trace_free(&tb);
    sf_trace_free(&tc);
    sf_seq_free(&a);
    sf_seq_free(&b);
    sf_seq_free(&c);
    sf_model_free(&m);
}

static const char *const walk_lesson =
    "# Walk\n# [zh] 走\nIntro.\n[zh] 引言。\n" HEAD
    "## One\n## [zh] 一\n@goto enc token 1 L0 self softmax\n@focus attention enc L0 H1\n"
    "@highlight enc.L0.self.H1.probs q=1\nFirst.\n[zh]\n第一。\n"
    "## Two\n@goto dec token 3 L1 cross scores\n@ask dec.L1.cross.H2.probs q=3 \nWhich?\n[zh] 哪个？\n@reveal\n"
    "@goto dec token 3 L1 cross softmax\n@highlight dec.L1.cross.H2.probs q=3\nThat one.\n"
    "## Three\n@compare input abcdefgz\n@compare target hgfedcbz\n@goto end\n@focus output\nOnly English.\n"
    "## Four\n@compare off\n@input xyz\n@target none\n@generate 2\n@focus map\n@goto dec token 1 head probs\n"
    "Back to one run.\n[zh] 回到一个。\n"
    "## Five\n@model " GPT_MODEL "\n@input ab\n@sample temperature 0.8 top-k 3 seed 5\n@goto dec token 2 head probs\n@ask dec.probs pos=2\n"
    "Guess the next letter.\n[zh] 猜。\n";

static void test_forward_back_exact(void **state) {
    (void)state;
    sf_lesson l;
    sf_err e = parse(walk_lesson, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    assert_int_equal(l.n_steps, 5);
    assert_int_equal(l.n_frames, 7); /* two questions: ask + reveal each */
    assert_int_equal(l.frames[1].ask.state, 1);
    assert_int_equal(l.frames[2].ask.state, 2);
    assert_int_equal(l.frames[5].ask.state, 1);
    assert_int_equal(l.frames[6].ask.state, 2); /* no @reveal: the step still gets its answer frame */
    assert_true(l.frames[2].ask.answer >= 0 && l.frames[2].ask.answer < 8);
    assert_int_equal(l.frames[0].focus_head, 1);
    assert_int_equal(l.frames[1].focus_head, 2); /* the question focuses its head */
    assert_int_equal(l.frames[4].run.max_new, 2);
    assert_null(l.frames[4].run.target);
    assert_false(l.frames[4].compare);
    assert_true(l.frames[6].run.sampler.temperature > 0.79f && l.frames[6].run.sampler.top_k == 3);
    /* the view reached by any path equals the view reached directly from nothing */
    sf_lesson_view fresh[16];
    for (int k = 0; k < l.n_frames; k++) {
        sf_lesson_cmds c;
        fresh[k] = sf_lesson_view_empty();
        sf_lesson_diff(&l, -1, k, SF_LANG_ZH, &c);
        sf_lesson_view_apply(&fresh[k], &c);
    }
    for (int k = 0; k < l.n_frames; k++)
        for (int j = 0; j < l.n_frames; j++)
            assert_int_equal(sf_lesson_view_eq(&fresh[k], &fresh[j]), k == j);
    /* the whole frame (from -1) replaces whatever an executor shows, e.g. after the learner explored: no
     * highlight or answered question of another frame survives */
    for (int k = 0; k < l.n_frames; k++)
        for (int j = 0; j < l.n_frames; j++) {
            sf_lesson_cmds c;
            sf_lesson_view v = fresh[j];
            sf_lesson_diff(&l, -1, k, SF_LANG_ZH, &c);
            sf_lesson_view_apply(&v, &c);
            if (!sf_lesson_view_eq(&v, &fresh[k])) fail_msg("frame %d drawn over frame %d keeps some of it", k + 1, j + 1);
        }
    sf_interp it;
    sf_lesson_cmds c;
    sf_lesson_view v = sf_lesson_view_empty();
    sf_interp_init(&it, &l, SF_LANG_ZH);
    assert_false(sf_interp_prev(&it, &c));
    unsigned r = 12345;
    for (int i = 0; i < 400; i++) {
        r = r * 1103515245u + 12345u;
        int move = (r >> 16) % 4;
        if (move == 0) sf_interp_next(&it, &c);
        else if (move == 1) sf_interp_prev(&it, &c);
        else if (move == 2) sf_interp_goto(&it, (int)((r >> 8) % (unsigned)l.n_frames), &c);
        else { sf_interp_next(&it, &c); sf_lesson_view_apply(&v, &c); sf_interp_next(&it, &c); }
        sf_lesson_view_apply(&v, &c);
        if (it.frame >= 0) assert_true(sf_lesson_view_eq(&v, &fresh[it.frame]));
    }
    /* walk to the end and back to the start */
    while (sf_interp_next(&it, &c)) sf_lesson_view_apply(&v, &c);
    assert_int_equal(it.frame, l.n_frames - 1);
    assert_false(sf_interp_next(&it, &c));
    assert_int_equal(c.n, 0);
    while (sf_interp_prev(&it, &c)) {
        sf_lesson_view_apply(&v, &c);
        assert_true(sf_lesson_view_eq(&v, &fresh[it.frame]));
    }
    assert_int_equal(it.frame, 0);
    /* judging a click */
    sf_interp_goto(&it, 1, &c);
    assert_int_equal(sf_interp_judge(&it, l.frames[1].ask.answer), 1);
    assert_int_equal(sf_interp_judge(&it, (l.frames[1].ask.answer + 1) % 8), 0);
    sf_interp_goto(&it, 0, &c);
    assert_int_equal(sf_interp_judge(&it, 0), -1);
    /* the app's own trace gives the same answer */
    sf_model m;
    assert_true(sf_checkpoint_load(ENC_MODEL, &m).ok);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_run_opts o = {"abcdefgh", "hgfedcba", 0, {0, 0}, 0};
    assert_true(sf_run(&m, &s, &o, NULL).ok);
    sf_trace tr;
    assert_true(sf_trace_build(&tr, &m, &s).ok);
    assert_int_equal(sf_lesson_ask_answer(&tr, &l.frames[1].ask), l.frames[1].ask.answer);
    sf_trace_free(&tr);
    sf_seq_free(&s);
    sf_model_free(&m);
    sf_lesson_free(&l);
}

static void test_language_fallback(void **state) {
    (void)state;
    sf_lesson l;
    sf_err e = parse(walk_lesson, 0, &l);
    assert_true(e.ok);
    assert_string_equal(l.title[SF_LANG_ZH], "走");
    assert_string_equal(l.intro[SF_LANG_EN], "Intro.");
    assert_string_equal(l.intro[SF_LANG_ZH], "引言。");
    assert_string_equal(sf_lesson_title(&l, 0, SF_LANG_ZH), "一");
    assert_string_equal(sf_lesson_title(&l, 0, SF_LANG_EN), "One");
    assert_string_equal(sf_lesson_title(&l, 1, SF_LANG_ZH), "Two"); /* no [zh] heading: English */
    assert_string_equal(sf_lesson_text(&l, 0, 0, SF_LANG_ZH), "第一。");
    assert_string_equal(sf_lesson_text(&l, 0, 0, SF_LANG_EN), "First.");
    assert_string_equal(sf_lesson_text(&l, 2, 0, SF_LANG_ZH), "哪个？");
    assert_string_equal(sf_lesson_text(&l, 2, 1, SF_LANG_ZH), "That one."); /* the reveal has no zh: English */
    assert_string_equal(sf_lesson_text(&l, 1, 1, SF_LANG_ZH), "");          /* the asking frame has no answer text */
    assert_string_equal(sf_lesson_text(&l, 3, 0, SF_LANG_ZH), "Only English.");
    assert_int_equal(l.missing[SF_LANG_ZH], 2); /* step Two's reveal and step Three */
    assert_int_equal(l.missing[SF_LANG_EN], 0);
    /* the interpreter narrates in the chosen language and switches on request */
    sf_interp it;
    sf_lesson_cmds c;
    sf_interp_init(&it, &l, SF_LANG_ZH);
    sf_interp_next(&it, &c);
    int found = 0;
    for (int i = 0; i < c.n; i++)
        if (c.c[i].kind == SF_LCMD_NARRATE) { found = 1; assert_string_equal(c.c[i].text, "第一。"); }
    assert_true(found);
    sf_interp_set_lang(&it, SF_LANG_EN, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.c[0].text, "First.");
    sf_lesson_free(&l);
    /* prose joining: English lines with a space, Chinese without, paragraphs and list items on new lines */
    assert_true(parse("## a\nline one\nline two\n\nnext para\n- item\n[zh]\n第一行\n第二行\n", 0, &l).ok);
    assert_string_equal(l.frames[0].text[0][SF_LANG_EN], "line one line two\nnext para\n- item");
    assert_string_equal(l.frames[0].text[0][SF_LANG_ZH], "第一行第二行");
    sf_lesson_free(&l);
    /* escapes and comments */
    assert_true(parse("## a\n\\@not a directive\n%% a comment\n\\[zh] literally\n", 0, &l).ok);
    assert_string_equal(l.frames[0].text[0][SF_LANG_EN], "@not a directive [zh] literally");
    sf_lesson_free(&l);
}

/* Mutated lessons (flipped bytes, cut lines, spliced directives) never crash the parser, and a failure
 * always says where. */
static void test_mutations(void **state) {
    (void)state;
    static const char *const bits[] = {"@goto ", "@ask ", "@reveal\n", "@highlight dec.L1.self.H0.probs q=", "\n## s\n",
                                       "@compare input ", "[zh]", "\"", "..", "=", "@expect same ", " vs ", "end\n",
                                       "@model " GPT_MODEL "\n", "@positions off\n", "@next 999\n", "\xe4\xb8\xad", "\xff"};
    size_t base = strlen(walk_lesson);
    char *buf = malloc(base + 256);
    assert_non_null(buf);
    unsigned r = 7;
    const char *many = getenv("SF_LESSON_MUTATIONS"); /* more rounds, e.g. under the sanitizers */
    int rounds = many ? atoi(many) : 1500;
    if (many && strchr(many, ':')) r = (unsigned)atoi(strchr(many, ':') + 1);
    for (int iter = 0; iter < rounds; iter++) {
        memcpy(buf, walk_lesson, base);
        size_t n = base;
        for (int k = 0; k < 1 + iter % 4; k++) {
            r = r * 1103515245u + 12345u;
            size_t at = (r >> 8) % n;
            int kind = (r >> 4) % 3;
            if (kind == 0) buf[at] = (char)(r >> 20);
            else if (kind == 1) n = at;
            else {
                const char *ins = bits[(r >> 12) % (sizeof bits / sizeof *bits)];
                size_t m = strlen(ins);
                if (n + m < base + 256) { memmove(buf + at + m, buf + at, n - at); memcpy(buf + at, ins, m); n += m; }
            }
            if (n == 0) break;
        }
        sf_lesson_opts o = {iter % 8 == 0, iter % 16 == 0, NULL};
        sf_lesson l;
        sf_err e = sf_lesson_parse(buf, n, "t.md", &o, &l);
        if (!e.ok) {
            if (!(l.err_line >= 1 && l.err_col >= 1)) fprintf(stderr, "%s\n--- for ---\n%.*s\n", e.msg, (int)n, buf);
            assert_true(l.err_line >= 1 && l.err_col >= 1);
            assert_true(strncmp(e.msg, "t.md:", 5) == 0);
        } else {
            assert_true(l.n_frames >= 1);
        }
        sf_lesson_free(&l);
    }
    free(buf);
}

/* Returns 1 if every shipped model exists (the trainer writes them), or every stand-in in
 * $SF_LESSON_STANDINS (untrained models of the same shapes: the lessons' structure is checked, not claims). */
static int shipped_models_exist(const char *standins) {
    const char *names[] = {"reverse", "copy", "sort", "words"};
    for (int i = 0; i < 4; i++) {
        char p[1024];
        if (standins) snprintf(p, sizeof p, "%s/%s.sfm", standins, names[i]);
        else snprintf(p, sizeof p, "%s/assets/models/%s.sfm", SF_SOURCE_DIR, names[i]);
        FILE *f = fopen(p, "rb");
        if (!f) return 0;
        fclose(f);
    }
    return 1;
}

static void test_shipped_lessons(void **state) {
    (void)state;
    const char *standins = getenv("SF_LESSON_STANDINS");
    if (!shipped_models_exist(standins)) {
        fprintf(stderr, "skipping: the trained models in assets/models/ do not exist yet\n");
        skip();
    }
    /* every lessons/NN-*.md, in order */
    char dir[1024], names[100][256];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) && n < 100) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (len > 6 && len < 256 && nm[0] >= '0' && nm[0] <= '9' && nm[1] >= '0' && nm[1] <= '9' && nm[2] == '-' &&
            strcmp(nm + len - 3, ".md") == 0)
            snprintf(names[n++], sizeof names[0], "%s", nm);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int k = 0; k < n; k++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%.255s", dir, names[k]);
        sf_lesson_opts o = {1, !standins, standins};
        sf_lesson l;
        sf_err e = sf_lesson_load(path, &o, &l);
        if (!e.ok) fprintf(stderr, "%s\n", e.msg);
        assert_true(e.ok);
        for (int g = 0; g < SF_LANG_COUNT; g++) {
            if (l.missing[g]) fprintf(stderr, "%s: %d steps without %s text\n", path, l.missing[g], sf_lang_name(g));
            assert_int_equal(l.missing[g], 0);
            assert_non_null(l.title[g]);
        }
        int asks = 0;
        for (int i = 0; i < l.n_frames; i++) asks += l.frames[i].ask.state == 1;
        if (atoi(names[k]) >= 4 && !l.skipped[0]) assert_true(asks >= 1); /* (a skipped lesson shows its first step only) */
        sf_lesson_free(&l);
        /* and the command line, in both languages */
        for (int g = 0; g < SF_LANG_COUNT; g++) {
            char cmd[3000], extra[1100] = "";
            if (standins) snprintf(extra, sizeof extra, "--skip-claims --models \"%s\"", standins);
            /* (the screen check of every lesson is its own ctest, lesson_screen_NN_LANG: tests/lesson.cmake) */
            snprintf(cmd, sizeof cmd, "\"%s\" lesson --check --strict --no-screen --lang %s %s \"%s\" > /dev/null",
                     SF_BINARY, sf_lang_name(g), extra, path);
            assert_int_equal(system(cmd), 0);
        }
    }
    assert_true(n >= 10);
}

/* Runs `stepformer lesson --check --no-screen ARGS`; returns its exit status and its output (both streams) in out. */
static int run_check(const char *args, char *out, size_t size) {
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "\"%s\" lesson --check --no-screen %s 2>&1", SF_BINARY, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes text to a new file named after tag in the temporary folder; returns its path in path. */
static void temp_file(const char *tag, const char *text, char *path, size_t size) {
    snprintf(path, size, "%s/sf_lesson_%s_%d.md", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* `lesson --check` on a glob of a lessons folder takes in its README.md: a file that is not a lesson (no directive, no
 * [zh] title or heading) is skipped and said to be ("skipped: not a lesson"), and the check passes; a file that
 * looks like a lesson and is broken still fails, with its error; a directive inside a ``` block (a README's
 * example) does not make a lesson. */
static void test_not_a_lesson(void **state) {
    (void)state;
    static const char readme[] = "# Lessons\n\nFifteen lessons. Run them with\n\n```sh\n@model x.sfm\nstepformer lesson 06.md\n```\n\n"
                                 "## The lessons\n\n| a | b |\n|---|---|\n";
    static const char broken[] = "# A lesson\n\n@model assets/models/no-such-model.sfm\n\n## A step\n\nText.\n";
    static const char typo[] = "# A lesson\n# [zh] 一课\n\n## A step\n## [zh] 一步\n\n@modle assets/models/reverse.sfm\nText.\n";
    assert_int_equal(sf_lesson_sniff(readme, sizeof readme - 1), 0);
    assert_int_equal(sf_lesson_sniff(broken, sizeof broken - 1), 1);
    assert_int_equal(sf_lesson_sniff(typo, sizeof typo - 1), 1);
    static const char zh_step[] = "# T\n## [zh] 步\n", garbled[] = "# t\n## s\n@\x1b[2Jbogus\n";
    assert_int_equal(sf_lesson_sniff(zh_step, sizeof zh_step - 1), 1);
    assert_int_equal(sf_lesson_sniff(garbled, sizeof garbled - 1), 1); /* a garbled directive: a broken lesson */
    assert_int_equal(sf_lesson_sniff("", 0), 0);
    char dir[1024], path[1200], out[8192], args[4096];
    snprintf(dir, sizeof dir, "%s/lessons", SF_SOURCE_DIR);
    snprintf(path, sizeof path, "%s/README.md", dir);
    assert_int_equal(sf_lesson_file_sniff(path), 0);
    snprintf(path, sizeof path, "%s/06-encoder-vs-decoder.md", dir);
    assert_int_equal(sf_lesson_file_sniff(path), 1);
    assert_int_equal(sf_lesson_file_sniff("/nonexistent/lesson.md"), -1);
    /* the shipped folder's README next to a lesson: skipped, the lesson checked, status 0 */
    snprintf(args, sizeof args, "\"%s/README.md\" \"%s/06-encoder-vs-decoder.md\"", dir, dir);
    int st = run_check(args, out, sizeof out);
    if (st != 0 || !strstr(out, "README.md: skipped: not a lesson") || !strstr(out, "06-encoder-vs-decoder.md: ok"))
        fail_msg("lesson --check README.md 06-...md: status %d:\n%s", st, out);
    /* a README-like file alone: skipped, status 0 */
    temp_file("readme", readme, path, sizeof path);
    snprintf(args, sizeof args, "\"%s\"", path);
    st = run_check(args, out, sizeof out);
    remove(path);
    if (st != 0 || !strstr(out, "skipped: not a lesson")) fail_msg("a README: status %d:\n%s", st, out);
    /* broken lessons: fail with their error, never "not a lesson" */
    const char *bad[2] = {broken, typo}, *want[2] = {"no-such-model.sfm", "unknown directive '@modle'"};
    for (int i = 0; i < 2; i++) {
        temp_file(i ? "typo" : "broken", bad[i], path, sizeof path);
        snprintf(args, sizeof args, "\"%s\"", path);
        st = run_check(args, out, sizeof out);
        remove(path);
        if (st != 1 || strstr(out, "not a lesson") || !strstr(out, want[i])) fail_msg("broken lesson %d: status %d:\n%s", i, st, out);
    }
}

/* Narration quotes its numbers from the run: typed decimals are refused, quotes are checked against the
 * frame that shows them (computed, not hidden by a question, one cell), and filled from the trace. */
static void test_quotes_checked(void **state) {
    (void)state;
    /* a typed decimal, wherever it is written (columns count characters) */
    expect_error("## a\nThe weight is 0.72 here.\n", 0, 2, 15, "a typed number '0.72' in the narration");
    expect_error("## a\nThe weight is 0,72 here.\n", 0, 2, 15, "a typed number '0,72'");
    expect_error("## a\n[zh] 权重是 0.72。\n", 0, 2, 10, "a typed number '0.72'");
    expect_error("## Weights of 0.5\ntext\n", 0, 1, 15, "in a title");
    expect_error("Intro with .5 and 3.25.\n## a\n", 0, 1, 19, "a typed number '3.25'");
    /* quote syntax */
    expect_error("## a\nWeight {enc.L0.self.H0.probs q=3 k=1 here.\n", 0, 2, 8, "expected '}' to close this quote");
    expect_error("## a\nThe letter {token enc}.\n", 0, 2, 22, "expected a position");
    expect_error("## a\nThe letter {token mid 2}.\n", 0, 2, 19, "expected enc or dec");
    expect_error("## a\nA {enc.L0.self.H0.probs q=3 k=1 %.9f}.\n", 0, 2, 35, "number of decimals from 0 to 6");
    expect_error("## a\nA {enc.L0.self.H0.probs q=3 k=1 q=2 k=2}.\n", 0, 2, 33, "at most two axes");
    expect_error("Intro {token enc 1}.\n## a\n", 0, 1, 7, "a quote in the lesson's introduction");
    /* against the model: one cell, in range, computed at the step's cursor */
    expect_error(HEAD "## a\n@goto enc token 4 L0 self softmax\nRow 3: {enc.L0.self.H0.probs q=3}.\n", 1, 6, 9,
                 "a quote is one number");
    expect_error(HEAD "## a\n@goto enc token 2 L0 self softmax\nRow 5: {enc.L0.self.H0.probs q=5 k=0}.\n", 1, 6, 9,
                 "this quoted value is not on screen yet");
    expect_error(HEAD "## a\n@goto enc end\nLetter {token enc 8}.\n", 1, 6, 19, "{token enc 8} is past the end");
    expect_error(HEAD "## a\n@goto enc end\nRight: {cmp enc.L0.self.H0.probs q=0 k=0}.\n", 1, 6, 8,
                 "this step compares nothing");
    expect_error(HEAD "## a\n@goto enc end\nWeight {enc.L0.self.H0.probs q=0 z=0}.\n", 1, 6, 34, "unknown axis 'z'");
    expect_error(HEAD "## a\n@goto enc end\nWeight {enc.L0.self.H0.probs q=0 k=\"a\"}.\n", 1, 6, 36,
                 "a token in quotes stands for a vocab index, but k counts keys");
    expect_error(HEAD "## a\n@goto end\nP {dec.probs pos=0 vocab=\"A\"}.\n", 1, 6, 26, "\"A\" is not a token of this model");
    /* a generated token is quoted only once the cursor has written it */
    expect_error("@model " GPT_MODEL "\n@input ab\n@generate 3\n## a\n@goto dec token 2 embed\nNext: {token dec 3}.\n", 1, 6,
                 18, "this quoted token is not on screen yet");
    /* a question never hides what its own step points at */
    const char *ask = HEAD "## a\n@goto enc token 4 L0 self scale\n@ask enc.L0.self.H0.probs q=4\n";
    char text[1024];
    snprintf(text, sizeof text, "%sThe scaled score of key 1 is {enc.L0.self.H0.scaled q=4 k=1}.\n", ask);
    expect_error(text, 1, 7, 31, "this quote reads row 4 of enc.L0.self.H0.scaled, which the question hides");
    snprintf(text, sizeof text, "%s@highlight enc.L0.self.H0.scaled q=4\nWhich key?\n", ask);
    expect_error(text, 1, 7, 12, "this highlight is on row 4 of enc.L0.self.H0.scaled, which the question on line 6 hides");
    snprintf(text, sizeof text, "%s@focus scores enc L0 H0\nHere are the scaled scores of row 4. Which key?\n", ask);
    expect_error(text, 1, 6, 6, "the scores panel is brought forward on row 4 of head 0, which this question hides");
    /* ... but the answer may quote it, and another row is fine while asking */
    sf_lesson l;
    snprintf(text, sizeof text, "%sRow 3 scored {enc.L0.self.H0.scaled q=3 k=1}.\n@reveal\n@goto enc token 4 L0 self softmax\n"
             "It was {enc.L0.self.H0.probs q=4 k=1}.\n", ask);
    sf_err e = parse(text, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    sf_lesson_free(&l);
    /* asked `with scores`, the scores stay shown: quoting them and bringing them forward is what the question is */
    const char *with = HEAD "## a\n@goto enc token 4 L0 self scale\n@ask enc.L0.self.H0.probs q=4 with scores\n";
    snprintf(text, sizeof text, "%s@focus scores enc L0 H0\nThe scaled score of key 1 is {enc.L0.self.H0.scaled q=4 k=1}.\n"
             "@reveal\n@goto enc token 4 L0 self softmax\n", with);
    e = parse(text, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    assert_true(l.frames[0].ask.with_scores);
    sf_lesson_free(&l);
    /* ... and its weights stay hidden; `with scores` is for a head's weights alone */
    snprintf(text, sizeof text, "%s@reveal\n@goto enc token 4 L0 self softmax\n@highlight enc.L0.self.H0.probs q=4\n", with);
    e = parse(text, 1, &l);
    assert_true(e.ok);
    sf_lesson_free(&l);
    expect_error(HEAD "## a\n@goto enc token 4 L0 self softmax\n@ask enc.L0.self.H0.probs q=4 with scores\n"
                 "@highlight enc.L0.self.H0.probs q=4\nWhich?\n", 1, 7, 12, "this highlight is on row 4 of enc.L0.self.H0.probs, which the question on line 6 hides");
    expect_error(HEAD "## a\n@goto end\n@ask dec.probs pos=2 with scores\n", 1, 6, 22, "'with scores' needs a head's attention weights");
    expect_error(HEAD "## a\n@goto enc token 4 L0 self scale\n@ask enc.L0.self.H0.probs q=4 with\n", 1, 6, 31, "expected 'expect'");
}

/* Returns the value of cell (q, k) of entry name in a run of the encoder-decoder test model. */
static float cell_of(const char *input, const char *target, const char *name, int q, int k) {
    sf_model m;
    assert_true(sf_checkpoint_load(ENC_MODEL, &m).ok);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_run_opts o = {input, target, 0, {0, 0}, 0};
    assert_true(sf_run(&m, &s, &o, NULL).ok);
    sf_trace tr;
    assert_true(sf_trace_build(&tr, &m, &s).ok);
    const sf_trace_entry *e = sf_lesson_entry(&tr, name);
    assert_non_null(e);
    int idx[2] = {q, k};
    float v = sf_trace_get(&tr, e, idx);
    sf_trace_free(&tr);
    sf_seq_free(&s);
    sf_model_free(&m);
    return v;
}

/* Quotes are filled with the run's values, in both languages, from the compared run with cmp, formatted. */
static void test_quotes_filled(void **state) {
    (void)state;
    const char *text = HEAD "## a\n@goto enc token 3 L0 self softmax\n@compare input abcdefgz\n"
                       "Row 3, the letter {token enc 3}, puts {enc.L0.self.H1.probs q=3 k=2 %.3f} on {token enc 2}; "
                       "on the right {cmp enc.L0.self.H1.probs q=3 k=2 %.1e}, next to {cmp token enc 7}. \\{not a quote}\n"
                       "[zh] 第 3 行（字母 {token enc 3}）：{enc.L0.self.H1.probs q=3 k=2 %.3f}。\n"
                       "## b\n@compare off\n@goto dec token 0 L0 self scores\n"
                       "Masked: {dec.L0.self.H0.scores q=0 k=3}, allowed {dec.L0.self.H0.scores q=0 k=0 %g}; "
                       "the encoder's output {enc.out pos=0 c=1 %.4f}. <bos> is {token dec 0}, id {id dec 0}; "
                       "{token enc 7} is id {id enc 7}.\n"
                       "## c\n@goto end\nh: {dec.probs pos=0 vocab=\"h\" %.3f}, <eos>: {dec.probs pos=8 vocab=\"<eos>\" %.3f}.\n";
    sf_lesson l;
    sf_err e = parse(text, 1, &l);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    assert_true(e.ok);
    char want[600];
    snprintf(want, sizeof want,
             "Row 3, the letter d, puts %.3f on c; on the right %.1e, next to z. {not a quote}",
             (double)cell_of("abcdefgh", "hgfedcba", "enc.L0.self.H1.probs", 3, 2),
             (double)cell_of("abcdefgz", "hgfedcba", "enc.L0.self.H1.probs", 3, 2));
    assert_string_equal(sf_lesson_shown(&l, 0, 0, SF_LANG_EN), want);
    snprintf(want, sizeof want, "第 3 行（字母 d）：%.3f。", (double)cell_of("abcdefgh", "hgfedcba", "enc.L0.self.H1.probs", 3, 2));
    assert_string_equal(sf_lesson_shown(&l, 0, 0, SF_LANG_ZH), want);
    assert_non_null(strstr(sf_lesson_text(&l, 0, 0, SF_LANG_EN), "{token enc 3}")); /* the text keeps its quotes */
    snprintf(want, sizeof want, "Masked: -\xe2\x88\x9e, allowed %g; the encoder's output %.4f. <bos> is <bos>, id 1; h is id 11.",
             (double)cell_of("abcdefgh", "hgfedcba", "dec.L0.self.H0.scores", 0, 0),
             (double)cell_of("abcdefgh", "hgfedcba", "enc.out", 0, 1));
    assert_string_equal(sf_lesson_shown(&l, 1, 0, SF_LANG_EN), want);
    assert_string_equal(sf_lesson_shown(&l, 1, 0, SF_LANG_ZH), want); /* no zh text: English, filled */
    int h = 4 + ('h' - 'a'); /* the test model's alphabet is a-z after the four specials */
    snprintf(want, sizeof want, "h: %.3f, <eos>: %.3f.", (double)cell_of("abcdefgh", "hgfedcba", "dec.probs", 0, h),
             (double)cell_of("abcdefgh", "hgfedcba", "dec.probs", 8, SF_TOK_EOS));
    assert_string_equal(sf_lesson_shown(&l, 2, 0, SF_LANG_EN), want);
    sf_lesson_free(&l);
    /* without the models the lesson parses, and shows its text as written */
    assert_true(parse(text, 0, &l).ok);
    assert_string_equal(sf_lesson_shown(&l, 1, 0, SF_LANG_EN), sf_lesson_text(&l, 1, 0, SF_LANG_EN));
    sf_lesson_free(&l);
    /* the fill itself: what no trace has becomes '?', counted; the length is what the whole text needs */
    sf_model m;
    assert_true(sf_checkpoint_load(ENC_MODEL, &m).ok);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_run_opts o = {"ab", NULL, 2, {0, 0}, 0};
    assert_true(sf_run(&m, &s, &o, NULL).ok);
    sf_trace tr;
    assert_true(sf_trace_build(&tr, &m, &s).ok);
    char out[64];
    int bad = -1;
    size_t n = sf_lesson_fill("{token enc 1}{token enc 5} {cmp token enc 0} {nothing.here q=0}", &tr, NULL, out, sizeof out, &bad);
    assert_string_equal(out, "b? ? ?");
    assert_int_equal(bad, 3);
    assert_int_equal(n, strlen("b? ? ?"));
    n = sf_lesson_fill("abc {token enc 0} def", &tr, NULL, out, 6, &bad);
    assert_string_equal(out, "abc a");
    assert_int_equal(n, strlen("abc a def"));
    assert_int_equal(bad, 0);
    sf_trace_free(&tr);
    sf_seq_free(&s);
    sf_model_free(&m);
}

/* Returns the peak resident memory (KiB) of `stepformer lesson --check path`, run as a child process. */
static long check_peak_kib(const char *path) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(98);
        /* the screen is checked too (the player's runs count), at a small size to keep the test quick */
        execl(SF_BINARY, SF_BINARY, "lesson", "--check", "--skip-claims", "--screen", "640x360", path, (char *)NULL);
        _exit(99);
    }
    int status = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return ru.ru_maxrss;
}

/* Writes a lesson that runs `model` on n inputs of len letters each (a different input per step). */
static void write_runs_lesson(const char *path, const char *model, int n, int len) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# Many runs\n@model %s\n", model);
    unsigned r = 1;
    for (int i = 0; i < n; i++) {
        fprintf(f, "## Step %d\n@input ", i);
        for (int j = 0; j < len; j++) {
            r = r * 1103515245u + 12345u;
            fputc("ab"[(r >> 16) & 1], f);
        }
        fprintf(f, "\n@generate 1\n@goto end\nA run.\n");
    }
    fclose(f);
}

/* A small file that claims a large record (1 layer, 42 heads, max_len 384: 74 MB per run, more than
 * SF_LESSON_RUN_BUDGET) run on two inputs and on six: `lesson --check` (the models, then the screen as the
 * player draws it) holds the same few runs whatever the number of inputs, so six cost what two cost (before
 * the budget the parser kept four runs and built a fifth: +290 MB). */
static void test_check_memory_follows_the_work(void **state) {
    (void)state;
    const char *model = "test_lesson_heads.sfm";
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    sf_tokenizer tok;
    assert_true(sf_tokenizer_build(&tok, "ab", 2).ok);
    c.vocab_size = sf_tokenizer_vocab(&tok);
    c.d_model = 42;
    c.n_heads = 42;
    c.d_ff = 4;
    c.n_enc_layers = 0;
    c.n_dec_layers = 1;
    c.max_len = 384;
    c.pos = SF_POS_SINUSOIDAL;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    m.tok = tok;
    sf_model_init_random(&m, 5);
    assert_true(sf_checkpoint_save(&m, model).ok);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    assert_true(sf_seq_reserve(&s, c.max_len).ok); /* the record grows with the tokens: size it for the run */
    size_t record_kib = s.mem_floats * sizeof(float) / 1024;
    assert_true(record_kib * 1024 > SF_LESSON_RUN_BUDGET); /* so no second run may be kept */
    sf_seq_free(&s);
    sf_model_free(&m);
    write_runs_lesson("test_lesson_two_runs.md", model, 2, 380);
    write_runs_lesson("test_lesson_six_runs.md", model, 6, 380);
    long two = check_peak_kib("test_lesson_two_runs.md"), six = check_peak_kib("test_lesson_six_runs.md");
    fprintf(stderr, "lesson --check peak: two inputs %ld KiB, six inputs %ld KiB (a record is %zu KiB)\n", two, six,
            record_kib);
    assert_true(six < two + (long)record_kib / 2);
    remove("test_lesson_two_runs.md");
    remove("test_lesson_six_runs.md");
    remove(model);
}

int main(void) {
    if (getenv("LESSON_ONLY")) cmocka_set_test_filter(getenv("LESSON_ONLY")); /* e.g. LESSON_ONLY=test_not_a_lesson */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_model_errors),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_compare_align),
        cmocka_unit_test(test_claims_argmax_cmp),
        cmocka_unit_test(test_claim_on_trace),
        cmocka_unit_test(test_forward_back_exact),
        cmocka_unit_test(test_language_fallback),
        cmocka_unit_test(test_quotes_checked),
        cmocka_unit_test(test_quotes_filled),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_ablate),
        cmocka_unit_test(test_shipped_lessons),
        cmocka_unit_test(test_not_a_lesson),
        cmocka_unit_test(test_check_memory_follows_the_work),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
