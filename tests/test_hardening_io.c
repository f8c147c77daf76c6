/* test_hardening_io.c - reading files (docs/robustness.md): a FIFO given to any file option is refused
 * at once instead of blocking; a file that is not a checkpoint, or whose size is not what its header
 * implies, is refused before it is read; and the memory a command uses follows the work (peak RSS of a
 * child measured with getrusage). Every command runs in a child under a deadline, so a regression fails
 * the test instead of hanging CI. */
#define _POSIX_C_SOURCE 200809L
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

#include "core/io.h"
#include "model/checkpoint.h"
#include "runkit.h"

static char dir[] = "/tmp/sf_hio_XXXXXX";
static char fifo[300], model[300], opt_fifo_model[300];

#define DEADLINE 10.0 /* seconds; a FIFO that blocks never returns, so any deadline tells them apart */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(model, sizeof model, "%s/m.sfm", dir);
    snprintf(opt_fifo_model, sizeof opt_fifo_model, "%s/r.sfm", dir);
    if (mkfifo(fifo, 0600) != 0) return -1;
    rk_result r;
    const char *a[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--d-ff", "8", "--dec-layers", "1",
                       "--max-len", "16", "--out", model, NULL};
    if (rk_run(&r, a, NULL, 60) != 0) return -1;
    /* a real model for the task whose optimizer state beside it is a FIFO */
    const char *b[] = {"train", "--task", "reverse", "--steps", "1", "--out", opt_fifo_model, NULL};
    if (rk_run(&r, b, NULL, 120) != 0) return -1;
    char opt[320];
    snprintf(opt, sizeof opt, "%s.opt", opt_fifo_model);
    unlink(opt);
    if (mkfifo(opt, 0600) != 0) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs one command that names a FIFO: it must end on its own within the deadline, fail, and say FIFO. */
static void expect_fifo_refused(const char *what, const char *const *argv, const char *const *env) {
    rk_result r;
    rk_run(&r, argv, env, DEADLINE);
    print_message("  %-36s %.2f s, status %d: %.160s\n", what, r.seconds, r.status, r.out);
    if (r.timed_out) fail_msg("%s: still blocked after %.0f s (a FIFO was opened before it was checked)", what, DEADLINE);
    if (r.status == 0) fail_msg("%s: succeeded on a FIFO", what);
    if (!rk_has(&r, "FIFO")) fail_msg("%s: the message does not say why: %s", what, r.out);
}

static void test_fifo_every_file_option(void **state) {
    (void)state;
    char lesson[300], lessons[300], index_fifo[320], out[300], png[300];
    snprintf(lesson, sizeof lesson, "%s/at-model.md", dir);
    snprintf(lessons, sizeof lessons, "%s/lessons", dir);
    snprintf(index_fifo, sizeof index_fifo, "%s/01-pipe.md", lessons);
    snprintf(out, sizeof out, "%s/out.sfm", dir);
    snprintf(png, sizeof png, "%s/x.png", dir);
    char text[600];
    snprintf(text, sizeof text, "# a lesson whose model is a FIFO\n@model %s\n## step\nsome text\n", fifo);
    write_text(lesson, text);
    assert_int_equal(mkdir(lessons, 0700), 0);
    assert_int_equal(mkfifo(index_fifo, 0600), 0);

    const char *info[] = {"info", "--model", fifo, NULL};
    expect_fifo_refused("info --model", info, NULL);
    const char *trace[] = {"trace", "--model", fifo, "--input", "ab", NULL};
    expect_fifo_refused("trace --model", trace, NULL);
    const char *eval[] = {"eval", "--model", fifo, "--task", "reverse", "--n", "1", NULL};
    expect_fifo_refused("eval --model", eval, NULL);
    const char *eval_words[] = {"eval", "--model", model, "--task", "words", "--words", fifo, NULL};
    expect_fifo_refused("eval --words", eval_words, NULL);
    const char *resume[] = {"train", "--task", "reverse", "--steps", "2", "--resume", fifo, "--out", out, NULL};
    expect_fifo_refused("train --resume", resume, NULL);
    const char *resume_opt[] = {"train", "--task", "reverse", "--steps", "3", "--resume", opt_fifo_model, "--out",
                                opt_fifo_model, NULL};
    expect_fifo_refused("train --resume (its .opt a FIFO)", resume_opt, NULL);
    const char *words[] = {"train", "--task", "words", "--steps", "1", "--words", fifo, "--out", out, NULL};
    expect_fifo_refused("train --words", words, NULL);
#ifdef SF_HAVE_LESSON
    const char *check[] = {"lesson", "--check", fifo, NULL};
    expect_fifo_refused("lesson --check FILE", check, NULL);
    const char *text_cmd[] = {"lesson", "--text", fifo, NULL};
    expect_fifo_refused("lesson --text FILE", text_cmd, NULL);
    const char *at_model[] = {"lesson", "--check", lesson, NULL};
    expect_fifo_refused("@model in a lesson", at_model, NULL);
    /* the index lists the lessons of $STEPFORMER_LESSONS; without a display it prints them */
    char env_dir[340];
    snprintf(env_dir, sizeof env_dir, "STEPFORMER_LESSONS=%s", lessons);
    const char *no_display[] = {env_dir, "DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", NULL};
    const char *index[] = {NULL};
    expect_fifo_refused("the index's lesson list", index, no_display);
#endif
#ifdef SF_HAVE_VIZ
    const char *render_font[] = {"render", "--model", model, "--input", "ab", "--font", fifo, "--out", png, NULL};
    expect_fifo_refused("render --font", render_font, NULL);
    const char *gui_font[] = {"gui", "--model", model, "--input", "ab", "--font", fifo, "--out", png, NULL};
    expect_fifo_refused("gui --font", gui_font, NULL);
    const char *render_model[] = {"render", "--model", fifo, "--input", "ab", "--out", png, NULL};
    expect_fifo_refused("render --model", render_model, NULL);
#ifdef SF_HAVE_LESSON
    const char *render_lesson[] = {"render", "--lesson", fifo, "--all", "--out", dir, NULL};
    expect_fifo_refused("render --lesson", render_lesson, NULL);
    const char *render_at_model[] = {"render", "--lesson", lesson, "--all", "--out", dir, NULL};
    expect_fifo_refused("render --lesson (@model a FIFO)", render_at_model, NULL);
#endif
#endif
    /* and the library entry points themselves */
    unsigned char *data;
    size_t len;
    sf_err e = sf_read_file(fifo, 100, &data, &len);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "is a FIFO (named pipe), not a regular file"));
    e = sf_check_file(fifo, 100);
    assert_false(e.ok);
    e = sf_check_file("/dev/zero", SF_MAX_FILE_BYTES);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "character device"));
    e = sf_read_file(dir, 100, &data, &len);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "is a folder"));
}

/* A 1 GiB file of junk (sparse: it takes no disk) is refused by its first bytes, not read whole; a real
 * checkpoint followed by 800 MB of zeros (also sparse) is refused by its size before it is read. Both
 * are measured: before these checks each took seconds and about 1 GB of memory. */
static void test_header_before_the_rest(void **state) {
    (void)state;
    char junk[300], padded[300];
    snprintf(junk, sizeof junk, "%s/junk.bin", dir);
    snprintf(padded, sizeof padded, "%s/padded.sfm", dir);
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    fputs("not a model", f);
    fclose(f);
    assert_int_equal(truncate(junk, (off_t)1 << 30), 0);
    unsigned char *d;
    size_t len;
    assert_true(sf_read_file(model, SF_MAX_FILE_BYTES, &d, &len).ok);
    f = fopen(padded, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len - 4, f), len - 4);
    fclose(f);
    free(d);
    size_t big = (size_t)800 << 20;
    assert_int_equal(truncate(padded, (off_t)big), 0); /* zeros; the checksum no longer matters */
    struct { const char *path, *want; } cases[] = {
        {junk, "byte 0: bad magic"},
        {padded, "but a checkpoint of its config"},
    };
    for (int k = 0; k < 2; k++) {
        rk_result r;
        const char *a[] = {"trace", "--model", cases[k].path, "--input", "a", NULL};
        rk_run(&r, a, NULL, 60);
        print_message("  %s: %.2f s, peak %ld KB: %.200s\n", cases[k].path, r.seconds, r.max_rss_kb, r.out);
        assert_int_equal(r.status, 1);
        if (!rk_has(&r, cases[k].want)) fail_msg("expected \"%s\" in: %s", cases[k].want, r.out);
        /* a file that was not read cannot have cost its size in memory (the program itself is ~10 MB, more
         * under the sanitizers) */
        if (r.max_rss_kb > 200 * 1024) fail_msg("%s: peak memory %ld KB: the file was read", cases[k].path, r.max_rss_kb);
    }
    sf_model m;
    sf_err e = sf_checkpoint_load(padded, &m);
    assert_false(e.ok);
    if (!strstr(e.msg, "is exactly")) fail_msg("unexpected: %s", e.msg);
    unlink(junk);
    unlink(padded);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_every_file_option),
        cmocka_unit_test(test_header_before_the_rest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
