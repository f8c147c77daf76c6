/* test_interp_cli.c - `stepformer trace` with the experiment flags (--ablate, --ablate-mode, --patch,
 * --patch-from, --logit-lens, --heads) end to end, text and JSON, and their errors. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#define GPT SF_FIXTURE_DIR "/gpt.sfm"          /* 3 layers, 2 heads of 8, vocab 12 ("abcdefgh") */
#define ENCDEC SF_FIXTURE_DIR "/encdec_post.sfm" /* 2+2 layers, 4 heads of 4 */

static char buf[1 << 21];

/* Runs `stepformer ARGS 2>&1`, returns its exit status and keeps up to sizeof buf bytes of output. */
static int run(const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", SF_BINARY, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Asserts that the output holds text. */
static void has(const char *text) {
    if (!strstr(buf, text)) fail_msg("output lacks \"%s\":\n%.3000s", text, buf);
}

/* Copies the "values" array of JSON tensor `name` (its text, brackets included) into out(cap). */
static void values_of(const char *name, char *out, size_t cap) {
    char key[96];
    snprintf(key, sizeof key, "{\"name\":\"%s\",", name);
    const char *p = strstr(buf, key);
    if (!p) fail_msg("no tensor %s in the JSON", name);
    p = strstr(p, "\"values\":");
    assert_non_null(p);
    p += 9;
    const char *q = p;
    int depth = 0;
    do {
        if (*q == '[') depth++;
        else if (*q == ']') depth--;
        q++;
    } while (depth > 0 && *q);
    size_t n = (size_t)(q - p);
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = 0;
}

static void test_ablate_text_and_json(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " GPT " --input abcab --ablate dec.L1.self.H0,dec.L0.self.H1 --max-new 3"), 0);
    has("ablated (zero: each head outputs zeros): dec.L1.self.H0, dec.L0.self.H1");
    has("(the run below is the intervened one)");
    has("output change against the same run without interventions:");
    has("tgt[0] '<bos>'  next '");
    has("(total variation ");
    has("output without interventions: \"");
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --ablate dec.L1.self.H0 --ablate-mode mean"),
                     0);
    has("ablated (mean: each head outputs its mean over the clean run's positions): dec.L1.self.H0");
    has("tgt[7] 'd'  next '"); /* teacher-forced: every position is compared */
    /* JSON: the tensors are the ablated run's; the ablated head's output is zeros at every position */
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --ablate dec.L1.self.H0 --json"), 0);
    has("\"interventions\":{\"ablate\":[\"dec.L1.self.H0\"],\"ablate_mode\":\"zero\",\"patch\":[],\"patch_from\":null}");
    has("\"baseline\":{\"tgt\":[{\"id\":1,\"text\":\"<bos>\"}");
    has("\"output_change\":[{\"position\":0,\"tv\":");
    static char zero_out[1 << 14], ablated[1 << 16], clean[1 << 16];
    values_of("dec.L1.self.H0.out", zero_out, sizeof zero_out);
    assert_string_equal(zero_out, "[[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],"
                                  "[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0]]");
    values_of("dec.probs", ablated, sizeof ablated);
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --json"), 0);
    assert_null(strstr(buf, "\"interventions\""));
    values_of("dec.probs", clean, sizeof clean);
    assert_string_not_equal(clean, ablated);
    values_of("dec.L1.self.H0.out", zero_out, sizeof zero_out);
    assert_non_null(strchr(zero_out, '.')); /* the clean head's output is not zeros */
}

static void test_ablate_errors(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " GPT " --input ab --ablate dec.L7.self.H0"), 1);
    has("stepformer: --ablate: head 'dec.L7.self.H0': layer L7 does not exist; the decoder has layers L0-L2");
    assert_int_equal(run("trace --model " GPT " --input ab --ablate dec.L0.self.H0,enc.L0.self.H0"), 1);
    has("a gpt model has no encoder (its heads: dec.L0-L2.self.H0-H1)");
    assert_int_equal(run("trace --model " ENCDEC " --input ab --ablate dec.L0.self.H9"), 1);
    has("head H9 does not exist; the model has 4 heads per layer (H0-H3)");
    assert_int_equal(run("trace --model " ENCDEC " --input ab --ablate L0H1"), 1);
    has("this model's heads: enc.L0-L1.self.H0-H3, dec.L0-L1.self.H0-H3, dec.L0-L1.cross.H0-H3");
    assert_int_equal(run("trace --model " GPT " --input ab --ablate dec.L0.self.H0 --ablate-mode half"), 2);
    has("--ablate-mode 'half': expected zero or mean");
    assert_int_equal(run("trace --model " GPT " --input ab --ablate-mode mean"), 2);
    has("--ablate-mode needs --ablate");
    assert_int_equal(run("trace --model " GPT " --input ab --ablate"), 2);
    has("option --ablate needs a value");
}

static void test_ablate_encdec_cross_heads(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " ENCDEC " --input abcdef --target fedcba --ablate "
                         "dec.L1.cross.H0,dec.L1.cross.H1,enc.L0.self.H2 --ablate-mode mean --json"),
                     0);
    has("\"ablate\":[\"dec.L1.cross.H0\",\"dec.L1.cross.H1\",\"enc.L0.self.H2\"],\"ablate_mode\":\"mean\"");
    static char h0[1 << 14];
    values_of("dec.L1.cross.H0.out", h0, sizeof h0);
    /* mean ablation: the same vector at every position */
    char *row = strchr(h0 + 1, '[');
    assert_non_null(row);
    char *end = strchr(row, ']');
    size_t n = (size_t)(end - row + 1);
    for (char *p = row; (p = strchr(p + 1, '[')) != NULL;) assert_memory_equal(p, row, n);
}

static void test_logit_lens(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " GPT " --input abcab --logit-lens"), 0);
    has("logit lens: the top next token (and its probability) read from the residual stream after each decoder "
        "layer through the final LayerNorm; the last column is the model's output");
    has("after L0      after L1      after L2");
    has("tgt[0] '<bos>'");
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --logit-lens --json"), 0);
    has("{\"name\":\"dec.L0.lens.probs\",\"shape\":[8,12],\"axes\":[\"position\",\"vocab\"]");
    has("{\"name\":\"dec.L2.lens.probs\",\"shape\":[8,12]");
    assert_null(strstr(buf, "dec.L3.lens.probs"));
    static char last[1 << 16], probs[1 << 16], first[1 << 16];
    values_of("dec.L2.lens.probs", last, sizeof last);
    values_of("dec.probs", probs, sizeof probs);
    values_of("dec.L0.lens.probs", first, sizeof first);
    assert_string_equal(last, probs); /* the last layer's read-out is the model's output, to the digit */
    assert_string_not_equal(first, probs);
    /* post-LN: no final LayerNorm to go through; the lens of an ablated run is the ablated run's */
    assert_int_equal(run("trace --model " ENCDEC " --input abc --logit-lens --ablate dec.L1.cross.H0 --max-new 2"), 0);
    has("read from the residual stream after each decoder layer; the last column");
    has("after L0      after L1");
}

static void test_heads(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " ENCDEC " --input abcabc --target cbacba --heads"), 0);
    has("head roles: mean attention weight on each pattern for this input (docs/experiments.md)");
    has("head                    prev     first      self      anti induction  strongest (>= 0.50)");
    has("  enc.L0.self.H0     ");
    has("  dec.L1.cross.H3    ");
    assert_int_equal(run("trace --model " ENCDEC " --input abcabc --target cbacba --heads --json"), 0);
    has("\"heads\":[\n{\"name\":\"enc.L0.self.H0\",\"prev\":");
    has("{\"name\":\"dec.L1.cross.H3\",\"prev\":null,\"first\":");
    has(",\"induction\":null,\"strongest\":");
    /* the number of rows: 2 encoder + 2 self + 2 cross layers of 4 heads */
    int rows = 0;
    for (const char *p = buf; (p = strstr(p, "{\"name\":\"")) != NULL; p++)
        if (strncmp(p + 9, "enc.L", 5) == 0 || strncmp(p + 9, "dec.L", 5) == 0)
            if (strstr(p, "\"prev\":") && strstr(p, "\"prev\":") < strchr(p, '}')) rows++;
    assert_int_equal(rows, 24);
}

static void test_patch(void **state) {
    (void)state;
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --patch-from abcad --patch dec.embed"), 0);
    has("patched from run A (input \"abcad\"): dec.embed");
    has("output change against the same run without interventions:");
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --patch-from abcad --patch dec.embed --json"),
                     0);
    has("\"patch\":[\"dec.embed\"],\"patch_from\":{\"input\":\"abcad\",\"src\":[],\"tgt\":[{\"id\":1,");
    static char patched[1 << 16], a[1 << 16];
    values_of("dec.probs", patched, sizeof patched);
    assert_int_equal(run("trace --model " GPT " --input abcad --target cd --json"), 0);
    values_of("dec.probs", a, sizeof a);
    assert_string_equal(patched, a); /* every position of the input stream patched: run A's output */
    assert_int_equal(run("trace --model " GPT " --input abcab --target cd --patch-from abcad "
                         "--patch dec.L1.self.H0@5,dec.L0.resid@2 --json"),
                     0);
    has("\"patch\":[\"dec.L1.self.H0@5\",\"dec.L0.resid@2\"]");
    /* errors */
    assert_int_equal(run("trace --model " GPT " --input ab --patch dec.embed"), 2);
    has("--patch SITE[,SITE...] and --patch-from INPUT go together");
    assert_int_equal(run("trace --model " GPT " --input ab --patch-from ba"), 2);
    assert_int_equal(run("trace --model " GPT " --input ab --patch-from ba --patch dec.L0.resid@99"), 1);
    has("--patch: site 'dec.L0.resid@99': position 99 is past the model's max_len 16");
    assert_int_equal(run("trace --model " GPT " --input ab --patch-from ba --patch dec.L0.ffn"), 1);
    has("--patch: site 'dec.L0.ffn': expected self.H<n> or cross.H<n> after the layer");
    assert_int_equal(run("trace --model " GPT " --input ab --patch-from xyz --patch dec.embed"), 1);
    has("--patch-from");
}

/* The shipped induction model continues a copy, has a previous-token head in layer 0 and induction heads
 * in layer 1 by their scores, and breaks without the previous-token head. */
static void test_shipped_induction_model(void **state) {
    (void)state;
    const char *m = SF_SOURCE_DIR "/assets/models/induction.sfm";
    assert_int_equal(run("trace --model %s --input 'qjwmzkrfbxlpd|z'", m), 0);
    has("output: \"krfbxlpd\" then <eos>");
    assert_int_equal(run("trace --model %s --input 'qjwmzkrfbxlpd|qjwmzkrfbxlpd' --heads", m), 0);
    const char *rows[] = {"dec.L0.self.H0", "dec.L1.self.H1", "dec.L1.self.H2", "dec.L1.self.H3"};
    const char *roles[] = {"previous-token", "induction", "induction", "induction"};
    for (int i = 0; i < 4; i++) {
        const char *p = strstr(buf, rows[i]);
        assert_non_null(p);
        const char *nl = strchr(p, '\n');
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        if (!strstr(line, roles[i])) fail_msg("%s is not tagged %s: %s", rows[i], roles[i], line);
    }
    assert_int_equal(run("trace --model %s --input 'qjwmzkrfbxlpd|z' --ablate dec.L0.self.H0", m), 0);
    assert_null(strstr(buf, "output: \"krfbxlpd\" then <eos>"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ablate_text_and_json),
        cmocka_unit_test(test_ablate_errors),
        cmocka_unit_test(test_ablate_encdec_cross_heads),
        cmocka_unit_test(test_logit_lens),
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_shipped_induction_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
