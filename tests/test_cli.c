/* test_cli.c - the stepformer command end to end: init, info, trace (text and JSON), bad input. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[] = "/tmp/sf_cli_XXXXXX";

/* Runs `stepformer ARGS 2>&1`, returns its exit status and stores up to cap bytes of output. */
static int run(const char *args, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", SF_BINARY, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    /* drain the rest so the child is not killed by SIGPIPE */
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char buf[1 << 20];

static void test_init_info_trace(void **state) {
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "init --family encdec --alphabet abcdefgh --d-model 16 --heads 2 --d-ff 32 "
                                "--max-len 12 --seed 3 --out %s/ed.sfm", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "wrote"));
    snprintf(args, sizeof args, "info --model %s/ed.sfm", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "encdec"));
    assert_non_null(strstr(buf, "dec.1.cross.wkv"));
    assert_non_null(strstr(buf, "heads:       2 (head size 8)"));
    snprintf(args, sizeof args, "trace --model %s/ed.sfm --input abcd --max-new 3", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "encoder: 4 tokens"));
    assert_non_null(strstr(buf, "tgt[0] '<bos>'  next:"));
    assert_non_null(strstr(buf, "L1 cross  H0->"));
    /* same seed, same model, same greedy output */
    char first[1 << 14];
    memcpy(first, buf, sizeof first);
    first[sizeof first - 1] = 0;
    assert_int_equal(run(args, buf, sizeof buf), 0);
    buf[sizeof first - 1] = 0;
    assert_string_equal(first, buf);
    snprintf(args, sizeof args, "trace --model %s/ed.sfm --input abcd --target dcba --json", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "\"name\":\"dec.L1.cross.H1.probs\",\"shape\":[5,4],\"axes\":[\"query\",\"key\"]"));
    assert_non_null(strstr(buf, "\"name\":\"enc.L0.self.H0.scores\",\"shape\":[4,4]"));
    assert_non_null(strstr(buf, "\"name\":\"dec.logits\",\"shape\":[5,12]"));
    assert_non_null(strstr(buf, "null")); /* masked decoder scores are -inf, written as null */
    snprintf(args, sizeof args, "init --family gpt --alphabet abc --d-model 8 --heads 2 --dec-layers 1 --out %s/g.sfm", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    snprintf(args, sizeof args, "trace --model %s/g.sfm --input abca --temperature 0.8 --top-k 2 --seed 4 --max-new 5", dir);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "(5 given"));
}

static void test_bad_input(void **state) {
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "trace --model %s/ed.sfm --input abXd", dir);
    assert_int_equal(run(args, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "character 3 'X'"));
    snprintf(args, sizeof args, "trace --model %s/missing.sfm --input ab", dir);
    assert_int_equal(run(args, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "missing.sfm: cannot open"));
    snprintf(args, sizeof args, "trace --model %s/ed.sfm", dir);
    assert_int_equal(run(args, buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "required"));
    assert_int_equal(run("init --family rnn --out x", buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "expected encdec or gpt"));
    assert_int_equal(run("init --family gpt --heads 0 --out x", buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "--heads '0'"));
    assert_int_equal(run("init --family gpt --d-model 10 --heads 4 --out /tmp/never.sfm", buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "not divisible"));
    assert_int_equal(run("frobnicate", buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "unknown command 'frobnicate'"));
    /* a file that is not a checkpoint */
    char path[600];
    snprintf(path, sizeof path, "%s/junk.sfm", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a model", f);
    fclose(f);
    snprintf(args, sizeof args, "info --model %s", path);
    assert_int_equal(run(args, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "byte 0: bad magic"));
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_info_trace),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
