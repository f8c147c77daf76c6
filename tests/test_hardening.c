/* test_hardening.c - allocation caps and "nothing lost" (docs/robustness.md): a checkpoint that claims a
 * 2^40-element tensor or a config far larger than the file is refused with a clear message before any
 * large allocation; the largest alphabet builds quickly; stale temporary files of killed writers are
 * cleaned up; and a trainer killed with SIGKILL at random moments (often mid-save) never leaves a
 * checkpoint that fails to load. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/io.h"
#include "model/checkpoint.h"
#include "train/trainer.h"

static const char ALPHA[] = "abcdef";

/* Encodes a small random GPT model into b. */
static void make_file(sf_buf *b) {
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 4 + (int)strlen(ALPHA);
    c.d_model = 8; c.n_heads = 2; c.d_ff = 16; c.n_dec_layers = 1; c.max_len = 8;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    assert_true(sf_tokenizer_build(&m.tok, ALPHA, strlen(ALPHA)).ok);
    sf_model_init_random(&m, 5);
    assert_true(sf_checkpoint_encode(&m, b).ok);
    sf_model_free(&m);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_crc(unsigned char *data, size_t len) { put_u32(data + len - 4, sf_crc32(0, data, len - 4)); }

/* Loads (data, len) expecting failure with `needle` in the message and nothing left allocated. */
static void expect_error(const unsigned char *data, size_t len, const char *needle) {
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(data, len, &m);
    if (e.ok) fail_msg("loaded a bad file; expected an error containing \"%s\"", needle);
    if (!strstr(e.msg, needle)) fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_null(m.params);
    assert_null(m.tok.chars);
}

#define FIRST_RECORD (84 + sizeof ALPHA - 1 + 4)

/* The first tensor record claims 2^20 x 2^20 = 2^40 elements (4 TiB): refused, nothing allocated. */
static void test_tensor_of_2_pow_40_elements(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b);
    size_t dim0 = FIRST_RECORD + 2 + 7 + 2; /* u16 7, "tok_emb", rank, reserved, then the dims */
    put_u32(b.data + dim0, 1u << 20);
    put_u32(b.data + dim0 + 4, 1u << 20);
    fix_crc(b.data, b.len);
    char want[64];
    snprintf(want, sizeof want, "byte %zu: tensor \"tok_emb\" dimension 0 is 1048576", dim0);
    expect_error(b.data, b.len, want);
    /* the same claim with the offset at the very end of the file */
    put_u32(b.data + dim0, 10);
    put_u32(b.data + dim0 + 4, 1u << 20);
    fix_crc(b.data, b.len);
    expect_error(b.data, b.len, "dimension 1 is 1048576");
    sf_buf_free(&b);
}

/* A config whose weights need ~2^36 bytes (the largest every field allows) in a 1 KiB file: refused
 * before the weights are allocated, with the count it would need and the cap (file size / 4). */
static void test_config_far_larger_than_file(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b);
    unsigned char *h = b.data + 16; /* config block */
    put_u32(h + 0, SF_FAMILY_ENCDEC);
    put_u32(h + 8, 4096); put_u32(h + 12, 64); put_u32(h + 16, 16384);
    put_u32(h + 20, 48); put_u32(h + 24, 48); put_u32(h + 28, 2048);
    fix_crc(b.data, b.len);
    char want[96];
    snprintf(want, sizeof want, "parameters but at most %zu fit", b.len / 4);
    expect_error(b.data, b.len, want);
    /* and the same config built directly with a cap: refused, not attempted */
    sf_config c = sf_config_default(SF_FAMILY_ENCDEC);
    c.vocab_size = 65536; c.d_model = 4096; c.n_heads = 64; c.d_ff = 16384;
    c.n_enc_layers = 48; c.n_dec_layers = 48; c.max_len = 2048;
    assert_true(sf_config_validate(&c).ok);
    sf_model m;
    sf_err e = sf_model_build_limited(&m, &c, (size_t)1 << 20);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "parameters but at most 1048576 fit"));
    assert_null(m.params);
    sf_buf_free(&b);
}

/* The per-sequence record of that config at max_len would need far more than SF_MAX_RECORD_BYTES: the
 * record starts small, and growing it that far is refused with the size and the limit. */
static void test_record_cap(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 64; c.d_model = 64; c.n_heads = 64; c.d_ff = 64;
    c.n_dec_layers = 48; c.max_len = 2048;
    sf_seq s;
    assert_true(sf_seq_build(&s, &c).ok);
    assert_true(sf_seq_bytes(&c, 2048) > SF_MAX_RECORD_BYTES);
    sf_err e = sf_seq_reserve(&s, 2048);
    assert_false(e.ok);
    if (!strstr(e.msg, "the limit is 2048 MiB")) fail_msg("unexpected message: %s", e.msg);
    assert_int_equal(s.L, SF_SEQ_FIRST_CAP);
    sf_seq_free(&s);
}

/* The largest alphabet the format allows (262144 bytes: 61440 three-byte and 19456 four-byte characters) builds, and a
 * repeat is reported at the right byte; duplicate detection is n log n, not n^2. */
static void test_largest_alphabet(void **state) {
    (void)state;
    char *s = malloc(SF_CKPT_MAX_ALPHABET + 8); /* sf_utf8_encode also writes a NUL */
    size_t n = 0;
    int count = 0;
    for (uint32_t cp = 0x800; n + (cp < 0x10000 ? 3 : 4) <= SF_CKPT_MAX_ALPHABET; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        n += (size_t)sf_utf8_encode(cp, s + n);
        count++;
    }
    sf_tokenizer t;
    assert_true(sf_tokenizer_build(&t, s, n).ok);
    assert_int_equal(t.n_chars, count);
    sf_tokenizer_free(&t);
    memcpy(s + 3000, s + 300, 3); /* the 1001st character repeats the 101st */
    sf_err e = sf_tokenizer_build(&t, s, n);
    assert_false(e.ok);
    if (!strstr(e.msg, "alphabet: byte 3000: character U+")) fail_msg("unexpected message: %s", e.msg);
    assert_null(t.chars);
    /* two repeats: the first one in the file is named */
    memcpy(s + 30, s + 0, 3);
    e = sf_tokenizer_build(&t, s, n);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "byte 30: "));
    free(s);
}

/* Every class of malformed UTF-8 in an alphabet is refused at its byte offset; NUL is a character. */
static void test_alphabet_utf8_classes(void **state) {
    (void)state;
    static const struct { const char *s; size_t n; size_t at; } bad[] = {
        {"ab\xC0\x80", 4, 2},         /* overlong NUL */
        {"a\xE0\x80\x80", 4, 1},     /* overlong 3-byte */
        {"a\xF0\x80\x80\x80", 5, 1}, /* overlong 4-byte */
        {"a\xED\xA0\x80", 4, 1},     /* surrogate U+D800 */
        {"a\xF4\x90\x80\x80", 5, 1}, /* U+110000 */
        {"ab\xE4\xB8", 4, 2},         /* truncated */
        {"a\x80", 2, 1},               /* stray continuation byte */
        {"a\xF8\x88\x80\x80\x80", 6, 1}, /* 5-byte form */
        {"a\xFF", 2, 1},
        {"a\xC3\x28", 3, 1},          /* bad continuation */
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        sf_tokenizer t;
        sf_err e = sf_tokenizer_build(&t, bad[k].s, bad[k].n);
        if (e.ok) fail_msg("case %zu: a malformed alphabet was accepted", k);
        char want[64];
        snprintf(want, sizeof want, "byte %zu: malformed UTF-8", bad[k].at);
        if (!strstr(e.msg, want)) fail_msg("case %zu: \"%s\" does not contain \"%s\"", k, e.msg, want);
        assert_null(t.chars);
    }
    sf_tokenizer t;
    assert_true(sf_tokenizer_build(&t, "a\0b\xF4\x8F\xBF\xBF", 7).ok); /* NUL and U+10FFFF are characters */
    assert_int_equal(t.n_chars, 4);
    int ids[2], n;
    sf_err e = sf_tokenizer_encode(&t, "ab", 2, ids, 1, &n); /* never writes past cap */
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "limit of 1"));
    sf_tokenizer_free(&t);
}

/* Reads path into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len) {
    unsigned char *d;
    assert_true(sf_read_file(path, SF_MAX_FILE_BYTES, &d, len).ok);
    return d;
}

static void spit(const char *path, const unsigned char *d, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len, f), len);
    fclose(f);
}

/* The resume file (the optimizer state beside a checkpoint): damaged, truncated, NaN moments, negative
 * second moments and implausible settings (each with a correct checksum) are refused, and a refused
 * state leaves the trainer as it was. */
static void test_resume_state_refused(void **state) {
    (void)state;
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 4 + (int)strlen(ALPHA);
    c.d_model = 8; c.n_heads = 2; c.d_ff = 16; c.n_dec_layers = 1; c.max_len = 8;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    assert_true(sf_tokenizer_build(&m.tok, ALPHA, strlen(ALPHA)).ok);
    sf_model_init_random(&m, 3);
    sf_adamw_cfg oc = sf_adamw_defaults(10);
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, 1).ok);
    char path[] = "/tmp/sf_opt_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(sf_trainer_save_state(&tr, path, "sort", 1, 4).ok);
    size_t len;
    unsigned char *good = slurp(path, &len), *bad = malloc(len);
    uint64_t seed;
    int batch;
    assert_true(sf_trainer_load_state(&tr, path, "sort", &seed, &batch).ok);
    const size_t LR = 48, BETA2 = 68, EPS = 72, MODEL = 100, MOMENTS = len - 4 - 8 * tr.opt.n;
    const float nan = NAN, neg = -1.0f, zero = 0.0f, big = 1.0f;
    /* limits the command line has: a batch of 10^6 (400 MB of examples, hours per step) and a total that
     * does not fit an int were accepted from a file; both are refused now (as u32 values, bit-cast) */
    const size_t BATCH = 36, TOTAL = 60;
    uint32_t million = 1000000, three_g = 3000000000u;
    float f_million, f_three_g;
    memcpy(&f_million, &million, 4);
    memcpy(&f_three_g, &three_g, 4);
    struct { size_t at; const float *v; int fix; size_t cut; const char *want; } cases[] = {
        {BATCH, &f_million, 1, 0, "implausible batch (1000000)"},
        {TOTAL, &f_three_g, 1, 0, "3000000000 total"},
        {LR, &neg, 1, 0, "implausible optimizer settings"},
        {LR, &nan, 1, 0, "implausible optimizer settings"},
        {BETA2, &big, 1, 0, "implausible optimizer settings"},
        {EPS, &zero, 1, 0, "implausible optimizer settings"},
        {MOMENTS + 8, &nan, 1, 0, "moment value 2 is nan"},
        {MOMENTS + 4 * tr.opt.n + 4, &neg, 1, 0, "moment value"},
        {MODEL + 24, &big, 1, 0, "the embedded model: byte"}, /* its config damaged (checksum fixed) */
        {MOMENTS, &neg, 0, 0, "checksum mismatch"},     /* damaged */
        {0, NULL, 0, 1, "parameters) is"},              /* truncated by one byte: refused by its size, unread */
        {0, NULL, 1, 9, "parameters) is"},              /* truncated, checksum recomputed */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(bad, good, len);
        size_t n = len - cases[k].cut;
        if (cases[k].v) memcpy(bad + cases[k].at, cases[k].v, 4);
        if (cases[k].fix) put_u32(bad + n - 4, sf_crc32(0, bad, n - 4));
        spit(path, bad, n);
        tr.step = 5;
        sf_err e = sf_trainer_load_state(&tr, path, "sort", &seed, &batch);
        if (e.ok) fail_msg("case %zu: a bad state loaded", k);
        if (!strstr(e.msg, cases[k].want)) fail_msg("case %zu: \"%s\" does not contain \"%s\"", k, e.msg, cases[k].want);
        assert_int_equal(tr.step, 5); /* untouched */
        for (size_t i = 0; i < tr.opt.n; i++)
            if (!isfinite(tr.opt.m[i]) || !isfinite(tr.opt.v[i])) fail_msg("case %zu: moments changed", k);
    }
    unlink(path);
    free(good);
    free(bad);
    sf_trainer_free(&tr);
    sf_model_free(&m);
}

static int count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (!strncmp(ent->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

static void touch(const char *path) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Returns a pid that is certainly not running (a child that has exited and been reaped). */
static pid_t dead_pid(void) {
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

/* A killed writer's `F.tmp.<pid>` is removed by the next successful save; a live writer's is not. */
static void test_stale_temps_removed(void **state) {
    (void)state;
    char dir[] = "/tmp/sf_hard_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char f[256], dead[300], live[300], other[300], near[300];
    snprintf(f, sizeof f, "%s/model.sfm", dir);
    snprintf(dead, sizeof dead, "%s.tmp.%ld", f, (long)dead_pid());
    snprintf(live, sizeof live, "%s.tmp.%ld", f, (long)getppid());
    snprintf(other, sizeof other, "%s.tmp.notapid", f);
    snprintf(near, sizeof near, "%s/model.sfm2.tmp.%ld", dir, (long)dead_pid());
    touch(dead); touch(live); touch(other); touch(near);
    assert_true(sf_write_file_atomic(f, "hello", 5).ok);
    assert_false(exists(dead));
    assert_true(exists(live));
    assert_true(exists(other));
    assert_true(exists(near));
    unlink(live); unlink(other); unlink(near); unlink(f);
    assert_int_equal(rmdir(dir), 0);
}

/* The temporary file's name is predictable: planted in a shared folder as a symlink to another file, it
 * made a save overwrite that file (open with O_TRUNC followed the link). It is never followed now: the
 * victim keeps its bytes, the save still succeeds, and the planted link is gone. */
static void test_planted_temp_symlink_not_followed(void **state) {
    (void)state;
    char dir[] = "/tmp/sf_plant_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char f[256], victim[256], tmp[320];
    snprintf(f, sizeof f, "%s/model.sfm", dir);
    snprintf(victim, sizeof victim, "%s/victim.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", f, (long)getpid());
    FILE *v = fopen(victim, "wb");
    assert_non_null(v);
    fputs("precious", v);
    fclose(v);
    assert_int_equal(symlink(victim, tmp), 0);
    sf_err e = sf_write_file_atomic(f, "new contents", 12);
    if (!e.ok) fail_msg("%s", e.msg);
    size_t len;
    unsigned char *d = slurp(victim, &len);
    if (len != 8 || memcmp(d, "precious", 8) != 0) fail_msg("the save wrote through the planted symlink");
    free(d);
    d = slurp(f, &len);
    assert_int_equal(len, 12);
    assert_memory_equal(d, "new contents", 12);
    free(d);
    struct stat st;
    assert_int_not_equal(lstat(tmp, &st), 0); /* the planted link was removed, not followed */
    unlink(f);
    unlink(victim);
    assert_int_equal(rmdir(dir), 0);
}

/* Starts `stepformer train` writing out (resuming from it when it exists); returns the child's pid. */
static pid_t start_trainer(const char *out, int resume, int steps) {
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) { dup2(null, 1); dup2(null, 2); }
        char st[32];
        snprintf(st, sizeof st, "%d", steps);
        if (resume)
            execl(SF_BINARY, SF_BINARY, "train", "--task", "sort", "--steps", st, "--save-every", "1", "--threads",
                  "1", "--resume", out, "--out", out, (char *)NULL);
        else
            execl(SF_BINARY, SF_BINARY, "train", "--task", "sort", "--steps", st, "--save-every", "1", "--threads",
                  "1", "--out", out, "--force", (char *)NULL);
        _exit(127);
    }
    return p;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Returns the inode of path, or 0 if it does not exist: every atomic save gives a new one. */
static unsigned long long inode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Waits (up to 120 s) until path has been replaced since it had inode `before`; returns 0 on timeout. */
static int wait_for_save(const char *path, unsigned long long before) {
    for (int i = 0; i < 24000; i++) {
        unsigned long long now = inode_of(path);
        if (now && now != before) return 1;
        sleep_ms(5);
    }
    return 0;
}

/* Kills the trainer (saving every step) with SIGKILL at 24 random moments, each after it has saved at
 * least once: the checkpoint always loads, and temporary files do not pile up (the killed writer's own
 * plus at most one of the previous writer's optimizer state, whose cleanup follows its rename); a final
 * completed run leaves none. */
static void test_sigkill_during_saves(void **state) {
    (void)state;
    char dir[] = "/tmp/sf_kill_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char f[256];
    snprintf(f, sizeof f, "%s/F.sfm", dir);
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    print_message("kill test: seed %u, folder %s\n", seed, dir);
    int most_temps = 0, mid_save = 0;
    for (int round = 0; round < 24; round++) {
        unsigned long long before = inode_of(f);
        pid_t p = start_trainer(f, before != 0, 1000000);
        if (!wait_for_save(f, before)) {
            kill(p, SIGKILL);
            waitpid(p, NULL, 0);
            fail_msg("round %d: the trainer saved nothing in 120 s", round);
        }
        /* right after a checkpoint's rename the optimizer state is being written, then a step runs and the
         * next save starts: short delays land in the saves, longer ones anywhere */
        sleep_ms(round % 2 ? rand() % 8 : rand() % 250);
        assert_int_equal(kill(p, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(p, &status, 0), p);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d: the trainer stopped on its own (status %d) before being killed", round, status);
        sf_model m;
        sf_err e = sf_checkpoint_load(f, &m);
        if (!e.ok) fail_msg("round %d: the checkpoint left by a killed trainer does not load: %s", round, e.msg);
        sf_model_free(&m);
        int a = count_prefixed(dir, "F.sfm.tmp."), b = count_prefixed(dir, "F.sfm.opt.tmp.");
        if (a + b > most_temps) most_temps = a + b;
        mid_save += a + b > 0;
        if (a > 1 || b > 2) fail_msg("round %d: temporary files pile up (%d checkpoint, %d state)", round, a, b);
    }
    /* one run that completes: every stale temporary file is gone afterwards */
    pid_t p = start_trainer(f, 0, 2);
    int status = 0;
    assert_int_equal(waitpid(p, &status, 0), p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_prefixed(dir, "F.sfm.tmp.") + count_prefixed(dir, "F.sfm.opt.tmp."), 0);
    print_message("kill test: 24 kills (%d left a temporary file: killed mid-save), the checkpoint loaded after "
                  "each; at most %d temporary files at once\n", mid_save, most_temps);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* sf_escape (the one escape for text from files, on the one UTF-8 decoder of core/io.h): controls, C1
 * controls and bidirectional marks are escaped, bytes that are not UTF-8 are escaped one by one (a stray
 * byte, an overlong form, a character cut short by the end of the string), other text is kept, newlines
 * only when asked, and a short buffer is cut at a whole escape. */
static void test_escape(void **state) {
    (void)state;
    static const struct { const char *in; int keep; const char *want; } cases[] = {
        {"plain text \\ kept", 0, "plain text \\ kept"},
        {"\x1b[2Jred", 0, "\\x1b[2Jred"},
        {"a\nb\tc", 0, "a\\nb\\tc"},
        {"a\nb\tc", 1, "a\nb\tc"},
        {"\x7f\xc2\x9b\xe2\x80\xae", 0, "\\x7f\\u009b\\u202e"},
        {"\xe4\xbd\xa0\xe5\xa5\xbd", 0, "\xe4\xbd\xa0\xe5\xa5\xbd"}, /* 你好 */
        {"\xff x", 0, "\\xff x"},
        {"\xc0\x80", 0, "\\xc0\\x80"},        /* overlong NUL */
        {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"}, /* a surrogate */
        {"ab\xe4\xbd", 0, "ab\\xe4\\xbd"},      /* cut short by the end */
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sf_escape(out, sizeof out, cases[i].in, cases[i].keep);
        if (strcmp(out, cases[i].want)) fail_msg("case %zu: got \"%s\", expected \"%s\"", i, out, cases[i].want);
        assert_int_equal(sf_escaped_size(cases[i].in, cases[i].keep), strlen(cases[i].want) + 1);
    }
    sf_escape(out, 6, "ab\x1b", 0); /* "ab\x1b" needs 7 bytes: the escape is left out whole */
    assert_string_equal(out, "ab");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_of_2_pow_40_elements), cmocka_unit_test(test_config_far_larger_than_file),
        cmocka_unit_test(test_record_cap),                  cmocka_unit_test(test_largest_alphabet),
        cmocka_unit_test(test_alphabet_utf8_classes),       cmocka_unit_test(test_resume_state_refused),
        cmocka_unit_test(test_stale_temps_removed),         cmocka_unit_test(test_sigkill_during_saves),
        cmocka_unit_test(test_planted_temp_symlink_not_followed), cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
