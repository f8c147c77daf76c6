/* test_lesson11.c - lesson 11 (a real GPT-2) with and without GPT-2's weights. Without them `lesson --check`
 * says the lesson is skipped, checks the first step it shows instead (how to get them) and exits 0; with a
 * GPT-2-shaped file in their place (the oracle's formula weights, 2 layers x 4 heads: tests/gpt2_weights.c)
 * every step and claim is checked and must hold, and a copy of the lesson with a false claim fails. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpt2_weights.h"
#include "runkit.h"

static char tmp[256], lesson[1200], with[300], without[300];

/* Returns 1 if path names a file. */
static int exists(const char *path) { struct stat st; return stat(path, &st) == 0; }

/* Writes the lesson with every occurrence of from replaced by to into path; returns 1 if one was replaced. */
static int copy_with(const char *path, const char *from, const char *to) {
    FILE *f = fopen(lesson, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *at = strstr(buf, from);
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    if (at) {
        fwrite(buf, 1, (size_t)(at - buf), o);
        fputs(to, o);
        fputs(at + strlen(from), o);
    } else fputs(buf, o);
    fclose(o);
    return at != NULL;
}

/* Runs `lesson --check --strict` on file with models from dir (NULL: none) in language lang. */
static int check(rk_result *r, const char *file, const char *dir, const char *lang, int screen) {
    const char *argv[12];
    int n = 0;
    argv[n++] = "lesson";
    argv[n++] = "--check";
    argv[n++] = "--strict";
    argv[n++] = "--lang";
    argv[n++] = lang;
    if (!screen) argv[n++] = "--no-screen";
    if (dir) { argv[n++] = "--models"; argv[n++] = dir; }
    argv[n++] = file;
    argv[n] = NULL;
    const char *env[] = {"STEPFORMER_MODELS", "SDL_VIDEODRIVER=dummy", NULL};
    rk_run(r, argv, env, 240);
    print_message("%s", r->out);
    return r->status;
}

/* Without the weights: skipped, exit 0, saying what it needs. */
static void test_skipped(void **state) {
    (void)state;
    char real[1200];
    snprintf(real, sizeof real, "%s/models/gpt2_124M.bin", SF_SOURCE_DIR);
    if (exists(real)) { print_message("skipped: %s exists, so the lesson is not skipped here\n", real); return; }
    static rk_result r;
    for (int g = 0; g < 2; g++) {
        assert_int_equal(check(&r, lesson, without, g ? "zh" : "en", 1), 0);
        assert_true(rk_has(&r, "skipped: needs models/gpt2_124M.bin"));
        assert_false(rk_has(&r, ": ok ("));
    }
    /* a false claim after the first step is not checked without the weights (skipped, not failed) ... */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/lessons/11-false.md", tmp); /* (tmp/assets is the source tree's) */
    assert_true(copy_with(bad, "@expect above 0.9999 dec.L1.self.H1.probs q=0 k=0", "@expect below 0.5 dec.L1.self.H1.probs q=0 k=0"));
    assert_int_equal(check(&r, bad, without, "en", 0), 0);
    assert_true(rk_has(&r, "skipped"));
    /* ... but one in the first step, which is shown, is */
    assert_true(copy_with(bad, "@focus map\n", "@focus map\n@expect zero dec.L0.self.H0.probs q=3 k=0\n"));
    assert_int_equal(check(&r, bad, without, "en", 0), 1);
}

/* With a GPT-2-shaped file where the weights go: every step checked, ok; a false claim fails. */
static void test_with_weights(void **state) {
    (void)state;
    static rk_result r;
    for (int g = 0; g < 2; g++) {
        assert_int_equal(check(&r, lesson, with, g ? "zh" : "en", g == 0), 0);
        assert_true(rk_has(&r, ": ok (7 steps, 8 frames"));
        assert_false(rk_has(&r, "skipped"));
    }
    char bad[400];
    snprintf(bad, sizeof bad, "%s/lessons/11-false.md", tmp); /* (tmp/assets is the source tree's) */
    assert_true(copy_with(bad, "@expect above 0.9999 dec.L1.self.H1.probs q=0 k=0", "@expect below 0.5 dec.L1.self.H1.probs q=0 k=0"));
    assert_int_equal(check(&r, bad, with, "en", 0), 1);
    /* and the lesson's focus on a head the model lacks is an error, not a skip */
    assert_true(copy_with(bad, "@focus attention dec L1 self H2\n", "@focus attention dec L1 self H7\n"));
    assert_int_equal(check(&r, bad, with, "en", 0), 1);
}

/* Writes the small GPT-2-shaped file as gpt2_124M.bin into a folder of its own, and an empty folder. */
static int setup(void **state) {
    (void)state;
    snprintf(lesson, sizeof lesson, "%s/lessons/11-a-real-gpt2.md", SF_SOURCE_DIR);
    snprintf(tmp, sizeof tmp, "%s", "/tmp/sf_lesson11_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    snprintf(with, sizeof with, "%s/with", tmp);
    snprintf(without, sizeof without, "%s/without", tmp);
    if (mkdir(with, 0700) || mkdir(without, 0700)) return 1;
    char p[400], src[1200];
    snprintf(p, sizeof p, "%s/lessons", tmp);
    snprintf(src, sizeof src, "%s/assets", SF_SOURCE_DIR);
    if (mkdir(p, 0700)) return 1;
    snprintf(p, sizeof p, "%s/assets", tmp);
    if (symlink(src, p)) return 1;
    snprintf(p, sizeof p, "%s/gpt2_124M.bin", with);
    gw_shape s = GW_SMALL;
    return gw_write_llmc(p, &s, 1, 3, NULL, NULL) ? 0 : 1;
}

/* Removes the files and folders setup and the tests made. */
static int teardown(void **state) {
    (void)state;
    char p[400];
    snprintf(p, sizeof p, "%s/gpt2_124M.bin", with);
    unlink(p);
    snprintf(p, sizeof p, "%s/lessons/11-false.md", tmp);
    unlink(p);
    snprintf(p, sizeof p, "%s/lessons", tmp);
    rmdir(p);
    snprintf(p, sizeof p, "%s/assets", tmp);
    unlink(p);
    rmdir(with);
    rmdir(without);
    rmdir(tmp);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_skipped), cmocka_unit_test(test_with_weights)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
