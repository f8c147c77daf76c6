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
#ifdef SF_HAVE_LESSON
#include "lesson/lesson.h"
#endif

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

/* The dispatcher reads only a model file's first bytes before it picks a reader: a 2 GiB llm.c file (past
 * the 1 GiB .sfm limit, sparse) goes to the llm.c reader, mapped rather than read, and is refused by that
 * reader's own header check (here: max_seq_len 0), not by a size limit, at a peak far below its size. */
static void test_big_gpt2_file_is_mapped(void **state) {
    (void)state;
    char big[300];
    snprintf(big, sizeof big, "%s/big_llmc.bin", dir);
    FILE *f = fopen(big, "wb");
    assert_non_null(f);
    unsigned char head[1024] = {0};
    uint32_t magic = 20240326, version = 3;
    for (int i = 0; i < 4; i++) head[i] = (unsigned char)(magic >> (8 * i)), head[4 + i] = (unsigned char)(version >> (8 * i));
    assert_int_equal(fwrite(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_int_equal(truncate(big, (off_t)2 << 30), 0);
    rk_result r;
    const char *a[] = {"info", "--model", big, NULL};
    rk_run(&r, a, NULL, 60);
    print_message("  2 GiB llm.c file: %.2f s, peak %ld KB: %.200s\n", r.seconds, r.max_rss_kb, r.out);
    assert_int_equal(r.status, 1);
    if (!rk_has(&r, "max_seq_len")) fail_msg("not refused by the llm.c reader: %s", r.out);
    if (r.max_rss_kb > 200 * 1024) fail_msg("peak memory %ld KB: the file was read", r.max_rss_kb);
    unlink(big);
}

/* Returns the offset of the first byte sequence in s a terminal would act on (a control character other
 * than newline and tab, DEL, a C1 control, a bidirectional override), or -1 if there is none. */
static long first_raw_control(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    for (long i = 0; p[i]; i++) {
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7F) return i;
        if (p[i] == 0xC2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F) return i;
        if (p[i] == 0xE2 && p[i + 1] == 0x80 && p[i + 2] >= 0xA8 && p[i + 2] <= 0xAE) return i;
        if (p[i] == 0xE2 && p[i + 1] == 0x81 && p[i + 2] >= 0xA6 && p[i + 2] <= 0xA9) return i;
    }
    return -1;
}

/* Runs a command whose output shows text from a file full of terminal commands (ESC [2J clears the
 * screen, U+009B is the one-byte CSI, U+202E reverses the line): none may reach the output raw, and the
 * escaped form must be there. */
static void expect_escaped(const char *what, const char *const *argv, const char *want) {
    rk_result r;
    rk_run(&r, argv, NULL, 60);
    assert_false(r.timed_out);
    long at = first_raw_control(r.out);
    if (at >= 0) fail_msg("%s: a raw control sequence reached the output at byte %ld: %.300s", what, at, r.out);
    if (!rk_has(&r, want)) fail_msg("%s: expected \"%s\" in: %.600s", what, want, r.out);
    print_message("  %-28s clean (%zu bytes of output)\n", what, strlen(r.out));
}

static void test_file_text_printed_safely(void **state) {
    (void)state;
    char esc_model[300], lesson[300], bad_lesson[300], bad_model[300];
    snprintf(esc_model, sizeof esc_model, "%s/esc.sfm", dir);
    snprintf(lesson, sizeof lesson, "%s/esc.md", dir);
    snprintf(bad_lesson, sizeof bad_lesson, "%s/bad.md", dir);
    snprintf(bad_model, sizeof bad_model, "%s/badname.sfm", dir);
    const char *alpha = "ab\x1b[2J\xc2\x9b\xe2\x80\xaeZ";
    rk_result r;
    const char *init[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--alphabet", alpha, "--out",
                          esc_model, NULL};
    assert_int_equal(rk_run(&r, init, NULL, 60), 0);
    const char *info[] = {"info", "--model", esc_model, NULL};
    expect_escaped("info (the alphabet)", info, "alphabet \"ab\\x1b[2J\\u009b\\u202eZ\"");
    const char *trace[] = {"trace", "--model", esc_model, "--input", "a\x1b[2J\xe2\x80\xae", "--max-new", "3", NULL};
    expect_escaped("trace (tokens)", trace, "'\\u202e'");
    const char *json[] = {"trace", "--model", esc_model, "--input", "a\x1b\xc2\x9b", "--max-new", "1", "--json", NULL};
    expect_escaped("trace --json", json, "\\u009b");
    /* a tensor name with ESC in it, quoted by the loader's message */
    unsigned char *d;
    size_t len;
    assert_true(sf_read_file(model, SF_MAX_FILE_BYTES, &d, &len).ok);
    size_t first_name = 84 + 26 + 4 + 2; /* the default alphabet is 26 letters; "tok_emb" follows its length */
    assert_memory_equal(d + first_name, "tok_emb", 7);
    d[first_name] = 0x1b;
    uint32_t crc = sf_crc32(0, d, len - 4);
    for (int i = 0; i < 4; i++) d[len - 4 + i] = (unsigned char)(crc >> (8 * i));
    FILE *f = fopen(bad_model, "wb");
    assert_non_null(f);
    fwrite(d, 1, len, f);
    fclose(f);
    free(d);
    const char *bad[] = {"info", "--model", bad_model, NULL};
    expect_escaped("a loader error", bad, "unknown tensor \"\\x1bok_emb\"");
#ifdef SF_HAVE_LESSON
    char text[800];
    snprintf(text, sizeof text, "# Title \x1b]0;owned\x07\n@model %s\n@input ab\n## Step \x1b[31mred\nNarration \x1b[2J"
                                "with \xe2\x80\xae reversed\n", esc_model);
    write_text(lesson, text);
    const char *show[] = {"lesson", "--text", lesson, NULL};
    expect_escaped("lesson --text", show, "Narration \\x1b[2Jwith \\u202e reversed");
    write_text(bad_lesson, "# t\n## s\n@\x1b[2Jbogus directive\n");
    const char *check[] = {"lesson", "--check", bad_lesson, NULL};
    expect_escaped("lesson --check (its error)", check, "\\x1b[2J");
#endif
}

/* init applies the loader's validation and limits: a model no command could load (a 1.6 GB file, an
 * alphabet too long for the format) is refused before anything is written; what init writes, info loads. */
static void test_init_writes_only_loadable_models(void **state) {
    (void)state;
    char out[300];
    snprintf(out, sizeof out, "%s/init.sfm", dir);
    rk_result r;
    const char *huge[] = {"init", "--family", "gpt", "--d-model", "4096", "--heads", "64", "--d-ff", "16384",
                          "--dec-layers", "2", "--max-len", "2048", "--out", out, NULL};
    rk_run(&r, huge, NULL, 60);
    print_message("  1.6 GB model: %.2f s, peak %ld KB: %s", r.seconds, r.max_rss_kb, r.out);
    assert_int_equal(r.status, 1);
    if (!rk_has(&r, "checkpoints are at most 1024 MiB")) fail_msg("unexpected: %s", r.out);
    assert_int_not_equal(access(out, F_OK), 0); /* nothing written */
    /* an alphabet longer than the format holds (a command line cannot even carry one: Linux caps an
     * argument at 128 KiB) is refused by the same plan init uses */
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 100;
    sf_err e = sf_checkpoint_plan(&c, SF_CKPT_MAX_ALPHABET + 1, NULL);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "at most 262144"));
    /* the largest shapes the limits allow that still fit a file: written, and they load */
    const char *edge[][16] = {
        {"init", "--family", "gpt", "--d-model", "64", "--heads", "64", "--d-ff", "1", "--dec-layers", "48",
         "--max-len", "2048", "--out", out, NULL},
        {"init", "--family", "encdec", "--d-model", "4096", "--heads", "1", "--d-ff", "1", "--enc-layers", "1",
         "--dec-layers", "1", "--out", out, NULL},
    };
    for (int k = 0; k < 2; k++) {
        unlink(out);
        rk_run(&r, edge[k], NULL, 120);
        if (r.status != 0) fail_msg("init refused a loadable model: %s", r.out);
        const char *info[] = {"info", "--model", out, NULL};
        rk_run(&r, info, NULL, 120);
        if (r.status != 0) fail_msg("info refused what init wrote: %s", r.out);
    }
    unlink(out);
}

/* Writes a 57 KB checkpoint that claims a lot: 1 layer of 42 heads (head size 1), max_len 2048. */
static void make_wide(const char *path) {
    rk_result r;
    const char *init[] = {"init", "--family", "gpt", "--d-model", "42", "--heads", "42", "--d-ff", "64",
                          "--dec-layers", "1", "--max-len", "2048", "--pos", "sinusoidal", "--out", path, NULL};
    assert_int_equal(rk_run(&r, init, NULL, 60), 0);
}

/* Returns the environment for a child whose peak memory is measured: under AddressSanitizer, no
 * quarantine of freed blocks (it keeps up to 256 MB of what the program freed resident, so peaks would be
 * the sanitizer's, not the program's; the realloc that grows a record in place is a copy there too, which
 * the budget's factor 4 covers). Without the sanitizer the setting is ignored. */
static const char *const *measure_env(void) {
    static char opt[1024];
    static const char *env[2];
    const char *cur = getenv("ASAN_OPTIONS");
    snprintf(opt, sizeof opt, "ASAN_OPTIONS=%s%squarantine_size_mb=0", cur ? cur : "", cur && *cur ? ":" : "");
    env[0] = opt;
    env[1] = NULL;
    return env;
}

/* Loads path into m and its stat into st; returns the program's own footprint: the peak KB of `cmd` (a
 * command run on the shortest input, so that the code it touches counts: under the sanitizer `trace`'s is
 * some 4.5 MB more than `info`'s), or of `info` on the model when cmd is NULL. */
static long footprint(const char *path, sf_model *m, struct stat *st, const char *const *cmd) {
    assert_true(sf_checkpoint_load(path, m).ok);
    assert_int_equal(stat(path, st), 0);
    rk_result r;
    const char *info[] = {"info", "--model", path, NULL};
    assert_int_equal(rk_run(&r, cmd ? cmd : info, measure_env(), 60), 0);
    return r.max_rss_kb;
}

/* Returns the number after `key` in s (e.g. "decoder: " -> 102), or -1. */
static long number_after(const char *s, const char *key) {
    const char *p = strstr(s, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* The memory budget (docs/robustness.md): a command uses at most the program's own footprint (measured:
 * `trace` on one token of the same model) plus 4 x (the weights + the record for the positions it actually ran). A
 * 57 KB checkpoint claiming 42 heads and max_len 2048, traced on 100 characters, used to touch a 2048-wide
 * row per head and position (8x its budget); the record now grows with the tokens. */
static void test_trace_memory_follows_input(void **state) {
    (void)state;
    char wide[300];
    snprintf(wide, sizeof wide, "%s/wide.sfm", dir);
    rk_result r;
    make_wide(wide);
    sf_model m;
    struct stat st;
    const char *one[] = {"trace", "--model", wide, "--input", "a", "--max-new", "0", NULL};
    long base_kb = footprint(wide, &m, &st, one);
    char input[101];
    memset(input, 'a', 100);
    input[100] = 0;
    struct { const char *what; const char *args[10]; } runs[] = {
        {"100 characters, 1 generated", {"trace", "--model", wide, "--input", input, "--max-new", "1", NULL}},
        {"1 character, 40 generated", {"trace", "--model", wide, "--input", "a", "--max-new", "40", NULL}},
    };
    for (int k = 0; k < 2; k++) {
        assert_int_equal(rk_run(&r, runs[k].args, measure_env(), 120), 0);
        long n = number_after(r.out, "decoder: ");
        assert_true(n > 0);
        double weights_kb = (double)st.st_size / 1024.0;
        double record_kb = (double)sf_seq_bytes(&m.cfg, (int)n) / 1024.0;
        double budget_kb = (double)base_kb + 4.0 * (weights_kb + record_kb);
        print_message("  trace, %s: %ld positions, peak %ld KB; budget %.0f KB = program %ld KB + 4 x (weights %.0f KB "
                      "+ record %.0f KB)\n", runs[k].what, n, r.max_rss_kb, budget_kb, base_kb, weights_kb, record_kb);
        if ((double)r.max_rss_kb > budget_kb)
            fail_msg("%s: peak memory %ld KB is over the budget %.0f KB", runs[k].what, r.max_rss_kb, budget_kb);
    }
    sf_model_free(&m);
}

#ifdef SF_HAVE_LESSON
/* lesson --check on a 1 KB lesson running the 57 KB wide model on five 150-letter inputs (each generating
 * ~200 tokens): it used 1.8 GB; with records that follow the tokens, 0.52 GB (four kept runs). The checker
 * now holds the runs the frame being built needs (one here: no @compare) and at most SF_LESSON_RUN_BUDGET
 * bytes of other runs (lesson.h), so the budget is the one of every other command, 4 x (weights + the
 * largest record), plus that cache; the screen check (on by default) is included. Keeping the four runs
 * as before measured 0.52 GB, over this budget (about 0.33 GB here). */
static void test_lesson_check_memory(void **state) {
    (void)state;
    char wide[300], lesson[300];
    snprintf(wide, sizeof wide, "%s/wide5.sfm", dir);
    snprintf(lesson, sizeof lesson, "%s/five-runs.md", dir);
    rk_result r;
    make_wide(wide);
    char text[2048];
    int n = snprintf(text, sizeof text, "# five runs\n@model %s\n", wide);
    long most = 0;
    for (int k = 0; k < 5; k++) {
        char input[151];
        for (int i = 0; i < 150; i++) input[i] = (char)('a' + (i * 7 + k * 3 + i / 5) % 26);
        input[150] = 0;
        n += snprintf(text + n, sizeof text - (size_t)n, "## step %d\n@input %s\ntext\n", k, input);
        const char *t[] = {"trace", "--model", wide, "--input", input, NULL};
        assert_int_equal(rk_run(&r, t, NULL, 120), 0);
        long pos = number_after(r.out, "decoder: ");
        if (pos > most) most = pos;
    }
    write_text(lesson, text);
    sf_model m;
    struct stat st;
    long base_kb = footprint(wide, &m, &st, NULL);
    const char *check[] = {"lesson", "--check", lesson, NULL};
    assert_int_equal(rk_run(&r, check, measure_env(), 300), 0);
    double one_kb = ((double)st.st_size + (double)sf_seq_bytes(&m.cfg, (int)most)) / 1024.0;
    double cache_kb = (double)SF_LESSON_RUN_BUDGET / 1024.0;
    double budget = (double)base_kb + 4.0 * one_kb + cache_kb;
    print_message("  lesson --check, %zu-byte lesson, 5 runs of up to %ld positions: peak %ld KB; budget %.0f KB = "
                  "program %ld KB + 4 x (weights + record %.0f KB) + run cache %.0f KB\n", strlen(text), most,
                  r.max_rss_kb, budget, base_kb, one_kb, cache_kb);
    if ((double)r.max_rss_kb > budget) fail_msg("peak %ld KB is over the budget %.0f KB", r.max_rss_kb, budget);
    sf_model_free(&m);
}
#endif

/* Finite weights can overflow float32 on the way (3e38 embeddings: the first LayerNorm's mean is +inf, its
 * output NaN). Such a model loaded, and its NaN reached the panels, whose pixel arithmetic converted it to
 * int (undefined behaviour: the sanitizer build stopped in `render`), and trace printed meaningless
 * probabilities. The run is refused now, naming the first value that is not finite. */
static void test_overflowing_model_refused(void **state) {
    (void)state;
    char huge[300], lesson[300], png[300];
    snprintf(huge, sizeof huge, "%s/huge.sfm", dir);
    snprintf(lesson, sizeof lesson, "%s/huge.md", dir);
    snprintf(png, sizeof png, "%s/huge.png", dir);
    sf_model m;
    assert_true(sf_checkpoint_load(model, &m).ok);
    const sf_param *emb = sf_model_param(&m, "tok_emb");
    assert_non_null(emb);
    for (size_t k = 0; k < emb->count; k++) m.params[emb->offset + k] = 3e38f;
    assert_true(sf_checkpoint_save(&m, huge).ok);
    sf_model_free(&m);
    const char *want = "the model's numbers overflow float32: dec.L0.self.ln[0,0] is NaN";
    const char *trace[] = {"trace", "--model", huge, "--input", "ab", NULL};
    rk_result r;
    rk_run(&r, trace, NULL, 60);
    if (r.status != 1 || !rk_has(&r, want)) fail_msg("trace: status %d: %.300s", r.status, r.out);
#ifdef SF_HAVE_VIZ
    const char *render[] = {"render", "--model", huge, "--input", "ab", "--out", png, NULL};
    rk_run(&r, render, NULL, 60);
    if (r.status != 1 || !rk_has(&r, want)) fail_msg("render: status %d: %.300s", r.status, r.out);
#endif
#ifdef SF_HAVE_LESSON
    char text[600];
    snprintf(text, sizeof text, "# t\n@model %s\n@input ab\n## s\ntext\n", huge);
    write_text(lesson, text);
    const char *check[] = {"lesson", "--check", lesson, NULL};
    rk_run(&r, check, NULL, 60);
    if (r.status != 1 || !rk_has(&r, "overflow float32")) fail_msg("lesson --check: status %d: %.300s", r.status, r.out);
#endif
    print_message("  refused: %s\n", want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_every_file_option),
        cmocka_unit_test(test_header_before_the_rest),
        cmocka_unit_test(test_big_gpt2_file_is_mapped),
        cmocka_unit_test(test_file_text_printed_safely),
        cmocka_unit_test(test_init_writes_only_loadable_models),
        cmocka_unit_test(test_trace_memory_follows_input),
        cmocka_unit_test(test_overflowing_model_refused),
#ifdef SF_HAVE_LESSON
        cmocka_unit_test(test_lesson_check_memory),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
