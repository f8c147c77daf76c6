/* fuzz_lesson.c - libFuzzer harness for the lesson parser's (buffer, length) entry point (and sf_lesson_sniff).
 * Every input is parsed twice: once alone ({0}: syntax only), and, when that succeeds, once more with
 * check_models = 1 against stand-in models, so cursors, layers, heads, cells, runs and @ask answers are
 * checked too (SF_FUZZ_VERBOSE=1 prints the outcome of that second parse). The stand-ins are written once into a scratch folder: each shipped model in assets/models
 * shrunk to a tiny width (same family, alphabet, layers, heads, positions and max_len, random weights),
 * so a lesson that names assets/models/reverse.sfm finds a small file of the same shape. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lesson/lesson.h"
#include "model/checkpoint.h"

#ifndef SF_SOURCE_DIR
#define SF_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char stand_ins[256];
static int ready;

/* Writes a tiny model of the same shape as SF_SOURCE_DIR/assets/models/name into stand_ins/name. */
static void make_stand_in(const char *name) {
    char src[1024], dst[1024];
    snprintf(src, sizeof src, "%s/assets/models/%s", SF_SOURCE_DIR, name);
    snprintf(dst, sizeof dst, "%s/%s", stand_ins, name);
    sf_model big, small;
    if (!sf_checkpoint_load(src, &big).ok) return; /* not shipped in this tree: the lesson just fails */
    sf_config c = big.cfg;
    c.d_model = 2 * c.n_heads;
    c.d_ff = 4;
    if (sf_model_build(&small, &c).ok) {
        size_t len = 0;
        char *alpha = sf_tokenizer_alphabet(&big.tok, &len);
        if (alpha && sf_tokenizer_build(&small.tok, alpha, len).ok) {
            sf_model_init_random(&small, 7);
            sf_checkpoint_save(&small, dst);
        }
        free(alpha);
        sf_model_free(&small);
    }
    sf_model_free(&big);
}

/* Removes the stand-ins' folder at exit. */
static void cleanup(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", stand_ins);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_lesson: could not remove %s\n", stand_ins);
}

static void setup(void) {
    snprintf(stand_ins, sizeof stand_ins, "/tmp/sf_fuzz_lesson_%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", stand_ins);
    if (system(cmd) != 0) abort();
    atexit(cleanup);
    static const char *const names[] = {"copy.sfm", "reverse.sfm", "sort.sfm", "words.sfm"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) make_stand_in(names[i]);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) setup();
    if (sf_lesson_sniff((const char *)data, size) > 1) abort(); /* (`lesson --check`'s "not a lesson" test: 0 or 1) */
    sf_lesson l;
    /* the file name sits in a folder that does not exist, so only stand-ins (or absolute paths) load */
    sf_err e = sf_lesson_parse((const char *)data, size, "/nonexistent/lessons/fuzz.md", &(sf_lesson_opts){0}, &l);
    if (e.ok) {
        for (int f = 0; f < l.n_frames; f++)
            for (int lang = 0; lang < SF_LANG_COUNT; lang++) {
                (void)strlen(sf_lesson_title(&l, f, lang));
                (void)strlen(sf_lesson_text(&l, f, 0, lang));
                (void)strlen(sf_lesson_text(&l, f, 1, lang));
                char out[64]; /* quotes filled without a run: each becomes '?', the text is cut at 63 bytes */
                sf_lesson_fill(sf_lesson_text(&l, f, 0, lang), NULL, NULL, out, sizeof out, NULL);
                if (strlen(out) >= sizeof out) abort();
            }
    } else if (l.n_frames || l.frames || l.pool) abort(); /* a failed parse leaves the lesson empty */
    sf_lesson_free(&l);
    if (!e.ok) return 0;
    /* random stand-ins rarely satisfy @expect claims, and the first failing claim ends the check: claims are
     * checked for inputs of odd length only, so even-length ones reach every later step */
    sf_lesson_opts o = {.check_models = 1, .check_claims = (int)(size & 1), .model_dir = stand_ins};
    e = sf_lesson_parse((const char *)data, size, "/nonexistent/lessons/fuzz.md", &o, &l);
    if (getenv("SF_FUZZ_VERBOSE")) fprintf(stderr, "%s\n", e.ok ? "checked against the stand-ins" : e.msg);
    for (int f = 0; e.ok && f < l.n_frames; f++) /* quotes filled from the runs by the parser */
        for (int lang = 0; lang < SF_LANG_COUNT; lang++) (void)strlen(sf_lesson_shown(&l, f, 1, lang));
    sf_lesson_free(&l);
    return 0;
}
