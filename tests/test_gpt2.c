/* test_gpt2.c - GPT-2 checkpoints in llm.c's layout and as Hugging Face safetensors load into the same
 * model, whose trace equals an independent PyTorch GPT-2 (tests/make_gpt2_fixtures.py) on the same ids:
 * every head's attention and the logits within 1e-4. The files are written here from the oracle's weight
 * formula (tests/gpt2_weights.c) and must match its CRC-32 first. Both readers refuse bad files with the
 * byte offset, and the dispatcher picks the reader by content. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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
#include "model/format.h"
#include "model/run.h"
#include "model/sample.h"
#include "model/trace.h"

#include "expect.h"
#include "gpt2_weights.h"

#define TOL 1e-4
#define PROMPT "Hello, world! \xE4\xBD\xA0\xE5\xA5\xBD. The cat"

static char dir[64], tiny[80], llmc[128], st[128], cfg[128];
static expect *x;

/* Returns the values of the fixture tensor called name, failing the test if it is missing. */
static const expect_tensor *want(const char *name) {
    for (int i = 0; i < x->n_t; i++)
        if (!strcmp(x->t[i].name, name)) return &x->t[i];
    fail_msg("gpt2_small.expect has no tensor %s", name);
    return NULL;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sf_gpt2_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(llmc, sizeof llmc, "%s/gpt2_small.bin", dir);
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(tiny, sizeof tiny, "%s/tiny", dir); /* the small variants, with their own config.json */
    if (mkdir(tiny, 0755) != 0) return -1;
    x = expect_load(SF_FIXTURE_DIR "/gpt2_small.expect");
    return x ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return -1;
    expect_free(x);
    return 0;
}

/* ---- the oracle ---------------------------------------------------------------------------------- */

static void test_files_match_the_oracle(void **state) {
    (void)state;
    gw_shape s = GW_SMALL;
    uint32_t crc[3];
    size_t bytes[3];
    assert_true(gw_write_llmc(llmc, &s, 1, 3, &crc[0], &bytes[0]));
    assert_true(gw_write_safetensors(st, &s, 1, "F32", "", 0, &crc[1], &bytes[1]));
    assert_true(gw_write_config(cfg, &s, &crc[2], &bytes[2]));
    const char *names[3] = {"crc.llmc", "crc.safetensors", "crc.config"};
    for (int i = 0; i < 3; i++) {
        const expect_tensor *t = want(names[i]);
        if ((uint32_t)t->v[0] != crc[i] || (size_t)t->v[1] != bytes[i])
            fail_msg("%s: CRC %08x, %zu bytes; the oracle wrote CRC %08x, %zu bytes", names[i], crc[i], bytes[i],
                     (uint32_t)t->v[0], (size_t)t->v[1]);
    }
    print_message("llm.c file %zu bytes, safetensors %zu bytes: both equal the oracle's (CRC-32)\n", bytes[0], bytes[1]);
}

/* Compares a finished run with the fixture; returns the largest |difference|. */
static double compare(const sf_model *m, const sf_seq *s, const char *what) {
    int V = m->cfg.vocab_size, T = s->n_tgt;
    assert_int_equal(T, x->n_tgt);
    for (int t = 0; t < T; t++)
        if (s->dec.ids[t] != x->tgt[t]) fail_msg("%s: position %d is token %d; PyTorch has %d", what, t, s->dec.ids[t], x->tgt[t]);
    const expect_tensor *ids = want("logit_ids"), *lg = want("dec.logits@ids"), *lse = want("dec.lse");
    double worst = 0;
    for (int t = 0; t < T; t++) {
        const float *row = s->logits + (size_t)t * V;
        for (int k = 0; k < ids->dims[0]; k++) {
            double d = fabs(row[(int)ids->v[k]] - lg->v[(size_t)t * lg->dims[1] + k]);
            if (!(d <= TOL)) fail_msg("%s: logit of %d at position %d is %.7g; PyTorch %.7g", what, (int)ids->v[k], t,
                                      (double)row[(int)ids->v[k]], lg->v[(size_t)t * lg->dims[1] + k]);
            if (d > worst) worst = d;
        }
        double mx = -INFINITY, sum = 0; /* the log-sum-exp: every one of the 50257 logits counts */
        for (int j = 0; j < V; j++) mx = row[j] > mx ? row[j] : mx;
        for (int j = 0; j < V; j++) sum += exp(row[j] - mx);
        double d = fabs(mx + log(sum) - lse->v[t]);
        if (!(d <= TOL)) fail_msg("%s: log-sum-exp of position %d is %.7g; PyTorch %.7g", what, t, mx + log(sum), lse->v[t]);
        if (d > worst) worst = d;
    }
    sf_trace tr;
    assert_true(sf_trace_build(&tr, m, s).ok);
    for (int l = 0; l < m->cfg.n_dec_layers; l++)
        for (int h = 0; h < m->cfg.n_heads; h++) {
            char name[64];
            snprintf(name, sizeof name, "dec.L%d.self.H%d.probs", l, h);
            const sf_trace_entry *e = sf_trace_find(&tr, name);
            const expect_tensor *p = want(name);
            assert_non_null(e);
            for (int q = 0; q < T; q++)
                for (int k = 0; k < T; k++) {
                    int idx[2] = {q, k};
                    double d = fabs(sf_trace_get(&tr, e, idx) - p->v[(size_t)q * T + k]);
                    if (!(d <= TOL)) fail_msg("%s: %s[%d,%d] off by %.3g", what, name, q, k, d);
                    if (d > worst) worst = d;
                }
        }
    sf_trace_free(&tr);
    return worst;
}

/* Loads path, runs the prompt with 3 greedy tokens, checks it against PyTorch, then checks that one full
 * pass over the same ids gives the same bits as the KV-cache steps. */
static void check_model(const char *path, sf_model *m) {
    sf_err e = sf_model_load(path, NULL, m);
    if (!e.ok) fail_msg("%s", e.msg);
    assert_int_equal(m->cfg.vocab_size, 50257);
    assert_int_equal(m->tok.kind, SF_TOKENIZER_BPE);
    sf_seq s, full;
    assert_true(sf_seq_build(&s, &m->cfg).ok);
    sf_run_opts o = {.input = PROMPT, .max_new = 3};
    int n_prompt;
    if (!(e = sf_run(m, &s, &o, &n_prompt)).ok) fail_msg("%s", e.msg);
    assert_int_equal(n_prompt, 13);
    double worst = compare(m, &s, path);
    assert_true(sf_seq_build(&full, &m->cfg).ok);
    assert_true(sf_decode_full(m, &full, s.dec.ids, s.n_tgt).ok);
    size_t V = (size_t)m->cfg.vocab_size;
    for (int t = 0; t < s.n_tgt; t++)
        if (memcmp(full.logits + t * V, s.logits + t * V, V * sizeof(float)))
            fail_msg("%s: position %d: the full pass and the KV-cache steps differ", path, t);
    print_message("%s: %s, 16 positions: ids equal PyTorch's; max |diff| %.3g over kept logits, log-sum-exps and "
                  "every head's attention; full pass == KV-cache steps, bit for bit\n", strrchr(path, '/') + 1,
                  sf_format_name(m->format), worst);
    sf_seq_free(&s);
    sf_seq_free(&full);
}

static void test_both_readers_equal_pytorch(void **state) {
    (void)state;
    sf_model a, b;
    check_model(llmc, &a);
    check_model(st, &b);
    assert_int_equal(a.format, SF_FORMAT_LLMC);
    assert_int_equal(b.format, SF_FORMAT_SAFETENSORS);
    /* the same model, bit for bit: Conv1D weights transposed, the padded vocabulary dropped */
    assert_int_equal(a.n_params, b.n_params);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    sf_model c; /* a folder is read as a Hugging Face snapshot */
    assert_true(sf_model_load(dir, NULL, &c).ok);
    assert_memory_equal(c.params, a.params, a.n_params * sizeof(float));
    sf_model_free(&a);
    sf_model_free(&b);
    sf_model_free(&c);
}

/* ---- variants: bf16 llm.c, prefixed names, an lm_head, F16 and BF16 safetensors --------------------- */

static const gw_shape TINY = {37, 128, 8, 2, 2, 16};

/* Writes a file with write() into dir/name and loads it with its reader (config.json beside for
 * safetensors); fails the test on an error. */
static void load_tiny(const char *name, sf_model *m) {
    char p[160], c[160];
    snprintf(p, sizeof p, "%s/%s", tiny, name);
    snprintf(c, sizeof c, "%s/config.json", tiny);
    sf_map f;
    assert_true(sf_map_file(p, SF_MAX_MAP_BYTES, &f).ok);
    sf_err e;
    if (sf_format_detect(f.data, f.len) == SF_FORMAT_SAFETENSORS) {
        unsigned char *cj;
        size_t cl;
        assert_true(sf_read_file(c, 4096, &cj, &cl).ok);
        e = sf_safetensors_load_buffer(f.data, f.len, (const char *)cj, cl, m);
        free(cj);
    } else {
        e = sf_checkpoint_load_buffer(f.data, f.len, m);
    }
    sf_unmap_file(&f);
    if (!e.ok) fail_msg("%s: %s", name, e.msg);
}

static void test_variants(void **state) {
    (void)state;
    gw_shape s = TINY;
    char p[160];
    snprintf(p, sizeof p, "%s/config.json", tiny);
    assert_true(gw_write_config(p, &s, NULL, NULL));
    struct { const char *file, *dtype, *prefix; int lm_head, version; } v[] = {
        {"v3.bin", NULL, NULL, 0, 3},        {"v5.bin", NULL, NULL, 0, 5},
        {"f32.safetensors", "F32", "", 0, 0}, {"pre.safetensors", "F32", "transformer.", 1, 0},
        {"f16.safetensors", "F16", "", 0, 0}, {"bf16.safetensors", "BF16", "transformer.", 0, 0},
    };
    sf_model m[6];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", tiny, v[i].file);
        if (v[i].dtype) assert_true(gw_write_safetensors(p, &s, 7, v[i].dtype, v[i].prefix, v[i].lm_head, NULL, NULL));
        else assert_true(gw_write_llmc(p, &s, 7, v[i].version, NULL, NULL));
        load_tiny(v[i].file, &m[i]);
        assert_int_equal(m[i].n_params, m[0].n_params);
        assert_int_equal(m[i].cfg.tied, 1);
    }
    size_t n = m[0].n_params;
    assert_memory_equal(m[2].params, m[0].params, n * sizeof(float)); /* F32 safetensors == llm.c fp32 */
    assert_memory_equal(m[3].params, m[0].params, n * sizeof(float)); /* prefix and a tied lm_head change nothing */
    assert_memory_equal(m[5].params, m[1].params, n * sizeof(float)); /* BF16 safetensors == llm.c bf16 */
    double rel16 = 0, relbf = 0;
    for (size_t i = 0; i < n; i++) {
        double a = m[0].params[i];
        if (a == 0) continue;
        double d16 = fabs(m[4].params[i] - a) / fabs(a), dbf = fabs(m[1].params[i] - a) / fabs(a);
        rel16 = d16 > rel16 ? d16 : rel16;
        relbf = dbf > relbf ? dbf : relbf;
    }
    print_message("tiny GPT-2 in 6 files: F32 three ways identical; F16 within %.2g, BF16 within %.2g (relative)\n", rel16, relbf);
    assert_true(rel16 > 0 && rel16 <= 1.0 / 2048 + 1e-12); /* half: 11 significant bits, rounded */
    assert_true(relbf > 0 && relbf <= 1.0 / 256 + 1e-12);  /* bfloat16: 8 */
    for (int i = 0; i < 6; i++) sf_model_free(&m[i]);
}

/* ---- bad files ------------------------------------------------------------------------------------ */

/* Reads folder/name whole (malloc'd). */
static unsigned char *slurp(const char *folder, const char *name, size_t *len) {
    char p[160];
    snprintf(p, sizeof p, "%s/%s", folder, name);
    unsigned char *b;
    assert_true(sf_read_file(p, (size_t)1 << 26, &b, len).ok);
    return b;
}

static void expect_llmc_error(const unsigned char *b, size_t len, const char *needle) {
    sf_model m;
    sf_err e = sf_llmc_load_buffer(b, len, &m);
    if (e.ok) fail_msg("loaded a bad llm.c file; expected an error containing \"%s\"", needle);
    if (!strstr(e.msg, needle)) fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_null(m.params);
}

static void put32(unsigned char *b, size_t at, uint32_t v) { for (int k = 0; k < 4; k++) b[at + k] = (unsigned char)(v >> (8 * k)); }

static void test_llmc_refuses_bad_files(void **state) {
    (void)state;
    gw_shape s = TINY;
    char p[160];
    snprintf(p, sizeof p, "%s/bad.bin", tiny);
    assert_true(gw_write_llmc(p, &s, 3, 3, NULL, NULL));
    size_t len;
    unsigned char *ok = slurp(tiny, "bad.bin", &len), *b = malloc(len + 8);
#define RESET() memcpy(b, ok, len)
    RESET(); expect_llmc_error(b, 100, "byte 100: the file ends inside the 1024-byte llm.c header");
    RESET(); put32(b, 0, 20240327); expect_llmc_error(b, len, "byte 0: bad magic 20240327");
    RESET(); put32(b, 4, 1); expect_llmc_error(b, len, "byte 4: version 1 is not supported");
    RESET(); put32(b, 8, 0); expect_llmc_error(b, len, "byte 8: max_seq_len is 0; expected 1 to 2048");
    RESET(); put32(b, 12, 70000); expect_llmc_error(b, len, "byte 12: vocab_size is 70000");
    RESET(); put32(b, 16, 49); expect_llmc_error(b, len, "byte 16: num_layers is 49");
    RESET(); put32(b, 20, 0x7FFFFFFF); expect_llmc_error(b, len, "byte 20: num_heads is 2147483647");
    RESET(); put32(b, 20, 3); expect_llmc_error(b, len, "byte 24: channels 8 is not divisible by num_heads 3");
    RESET(); put32(b, 24, (uint32_t)-8); expect_llmc_error(b, len, "byte 24: channels is -8");
    RESET(); put32(b, 28, 36); expect_llmc_error(b, len, "byte 28: padded_vocab_size 36 is smaller than vocab_size 37");
    RESET(); expect_llmc_error(b, len - 4, "is it truncated?");
    RESET(); memset(b + len, 0, 8); expect_llmc_error(b, len + 8, "8 bytes follow the last tensor");
    /* a header claiming GPT-2 XL in a small file: refused before anything is allocated */
    RESET(); put32(b, 16, 48); put32(b, 24, 1600); put32(b, 20, 25); expect_llmc_error(b, len, "is it truncated?");
    /* NaN in the first ln_2 bias of layer 1: the message names its byte, tensor and layer */
    {
        size_t at = 1024;
        for (int t = 0; t < 9; t++) at += gw_count(&s, t) * 4;
        at += (size_t)s.C * 4 + 12; /* layer 1, element 3 */
        RESET(); put32(b, at, 0x7FC00000);
        char needle[96];
        snprintf(needle, sizeof needle, "byte %zu: ln2b of layer 1 element 3 is NaN", at);
        expect_llmc_error(b, len, needle);
    }
#undef RESET
    free(ok);
    free(b);
}

/* Builds a safetensors file from a header text and data bytes. */
static unsigned char *make_st(const char *hdr, size_t data, size_t *len) {
    size_t h = strlen(hdr);
    *len = 8 + h + data;
    unsigned char *b = calloc(1, *len);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(b + 8, hdr, h);
    return b;
}

static void expect_st_error(const unsigned char *b, size_t len, const char *config, const char *needle) {
    sf_model m;
    sf_err e = sf_safetensors_load_buffer(b, len, config, strlen(config), &m);
    if (e.ok) fail_msg("loaded a bad safetensors file; expected an error containing \"%s\"", needle);
    if (!strstr(e.msg, needle)) fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_null(m.params);
}

static void test_safetensors_refuses_bad_files(void **state) {
    (void)state;
    gw_shape s = TINY;
    char p[160];
    snprintf(p, sizeof p, "%s/good.safetensors", tiny);
    assert_true(gw_write_safetensors(p, &s, 3, "F32", "", 0, NULL, NULL));
    snprintf(p, sizeof p, "%s/config.json", tiny);
    assert_true(gw_write_config(p, &s, NULL, NULL));
    size_t len, clen;
    unsigned char *good = slurp(tiny, "good.safetensors", &len), *cj = slurp(tiny, "config.json", &clen);
    const char *config = (const char *)cj;
    sf_model m;
    assert_true(sf_safetensors_load_buffer(good, len, config, clen, &m).ok);
    sf_model_free(&m);
    /* the 8-byte length and the JSON header */
    expect_st_error(good, 5, config, "byte 5: the file ends inside the 8-byte header length");
    unsigned char *b = malloc(len);
    memcpy(b, good, len); b[4] = 1; expect_st_error(b, len, config, "byte 0: JSON header of");
    memcpy(b, good, len); expect_st_error(b, 200, config, "byte 200: the file ends inside the JSON header");
    memcpy(b, good, len); b[40] = '@'; expect_st_error(b, len, config, "the JSON header:");
    free(b);
    size_t n;
    unsigned char *t;
#define ST(hdr, data, needle) (t = make_st(hdr, data, &n), expect_st_error(t, n, config, needle), free(t))
    ST("[1,2]", 0, "byte 8: the JSON header is not an object");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8]}}", 0, "tensor \"wte.weight\" needs \"dtype\", \"shape\" and two");
    ST("{\"wte.weight\":{\"dtype\":\"Q4\",\"shape\":[37,8],\"data_offsets\":[0,1184]}}", 1184, "unknown dtype \"Q4\"");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]}}", 1000, "runs past the end of the file");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1180]}}", 1184, "span 1180 bytes but its shape");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,-8],\"data_offsets\":[0,1184]}}", 1184, "shape entry 1 is not");
    ST("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "shape overflows");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"wpe.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps tensor");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]},"
       "\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]}}", 1184, "the JSON header: duplicate");
    ST("{\"h.0.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[24,8],\"data_offsets\":[0,768]}}", 9000,
       "tensor \"h.0.attn.c_attn.weight\" has rank 2, first dimension 24; this config needs [8, 24]");
    ST("{\"h.2.ln_1.weight\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 9000,
       "tensor \"h.2.ln_1.weight\" is not part of a GPT-2 model with this config");
    ST("{\"h.01.ln_1.weight\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 9000, "is not part of");
    ST("{\"wte.weight\":{\"dtype\":\"I64\",\"shape\":[37,8],\"data_offsets\":[0,2368]}}", 9000, "is not F32, F16 or BF16");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]},"
       "\"transformer.wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[1184,2368]}}", 9000,
       "tensor \"transformer.wte.weight\" is given twice");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]}}", 9000,
       "no tensor for stepformer's \"pos_emb\"");
    ST("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[37,8],\"data_offsets\":[0,1184]}}", 1184,
       "the data has 1184 bytes but config.json's sizes need 2184 parameters");
#undef ST
    /* a NaN weight: the byte offset of the element */
    b = malloc(len);
    memcpy(b, good, len);
    size_t data_at = 8 + (size_t)b[0] + ((size_t)b[1] << 8);
    put32(b, data_at + 4 * 5, 0x7F800000); /* wte element 5: +inf */
    char needle[96];
    snprintf(needle, sizeof needle, "byte %zu: tensor \"wte.weight\" element 5 is infinite", data_at + 20);
    expect_st_error(b, len, config, needle);
    free(b);
    /* config.json */
    const struct { const char *cfg, *needle; } c[] = {
        {"{", "config.json: line 1"},
        {"[]", "config.json: expected an object"},
        {"{\"model_type\":\"bert\",\"n_embd\":8}", "model_type is \"bert\""},
        {"{\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37}", "\"n_embd\" is missing"},
        {"{\"n_embd\":8.5,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37}", "\"n_embd\" is not a whole number"},
        {"{\"n_embd\":8,\"n_head\":3,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37}", "not divisible by n_heads 3"},
        {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_ctx\":99999,\"vocab_size\":37}", "\"n_ctx\" is 99999"},
        {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37,\"activation_function\":\"gelu\"}",
         "activation_function \"gelu\" is not supported"},
        {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37,\"scale_attn_weights\":false}",
         "scale_attn_weights false"},
        {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37,\"tie_word_embeddings\":false}",
         "tie_word_embeddings is false but"},
        {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":37,\"layer_norm_epsilon\":\"x\"}",
         "\"layer_norm_epsilon\" is not a number"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (strstr(c[i].needle, "tie_word")) { /* needs a valid header to get that far */
            sf_err e = sf_safetensors_load_buffer(good, len, c[i].cfg, strlen(c[i].cfg), &m);
            assert_false(e.ok);
            if (!strstr(e.msg, c[i].needle) && !strstr(e.msg, "lm_head")) fail_msg("\"%s\" lacks \"%s\"", e.msg, c[i].needle);
            continue;
        }
        expect_st_error(good, len, c[i].cfg, c[i].needle);
    }
    free(good);
    free(cj);
}

/* ---- the dispatcher and the command line -------------------------------------------------------- */

static void test_dispatch(void **state) {
    (void)state;
    size_t len;
    unsigned char *b = slurp(dir, "gpt2_small.bin", &len);
    assert_int_equal(sf_format_detect(b, len), SF_FORMAT_LLMC);
    free(b);
    b = slurp(dir, "model.safetensors", &len);
    assert_int_equal(sf_format_detect(b, len), SF_FORMAT_SAFETENSORS);
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(b, len, &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "read together with its config.json"));
    free(b);
    assert_int_equal(sf_format_detect((const unsigned char *)"SFMODEL", 8), SF_FORMAT_SFM);
    assert_int_equal(sf_format_detect((const unsigned char *)"hello", 5), SF_FORMAT_UNKNOWN);
    /* a GPT-2 file whose vocabulary is not the tokenizer's */
    char p[160];
    snprintf(p, sizeof p, "%s/v3.bin", tiny);
    e = sf_model_load(p, NULL, &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "the tokenizer has 50257 tokens but the model's vocabulary is 37"));
    /* a tokenizer file that is not there, and one that is not a tokenizer */
    sf_load_opts o = {"/nonexistent/gpt2.sftok"};
    e = sf_model_load(llmc, &o, &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "/nonexistent/gpt2.sftok: cannot open"));
    o.tokenizer = llmc;
    e = sf_model_load(llmc, &o, &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "bad magic; expected \"SFTOKBPE\""));
    /* safetensors without its config.json */
    snprintf(p, sizeof p, "%s/lonely", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lonely/model.safetensors", dir);
    gw_shape s = TINY;
    assert_true(gw_write_safetensors(p, &s, 1, "F32", "", 0, NULL, NULL));
    e = sf_model_load(p, NULL, &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "read with the config.json beside it"));
}

/* Runs a shell command and returns its standard output (malloc'd). */
static char *run_cmd(const char *cmd) {
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    pclose(f);
    return out;
}

/* Writes a lesson beside the small model claiming that the token shown as `piece` is the most likely
 * after position 0, runs `lesson --check` on it and returns the exit status (its output in *out). */
static int check_lesson(const char *piece, char **out) {
    char path[160], cmd[400];
    snprintf(path, sizeof path, "%s/gpt2.md", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# GPT-2 in a lesson\n# [zh] \xE8\xAF\xBE\xE7\xA8\x8B\xE9\x87\x8C\xE7\x9A\x84 GPT-2\n\n"
               "A GPT-2-shaped model with the real vocabulary.\n[zh]\n\xE4\xB8\x80\xE4\xB8\xAA\xE6\xA8\xA1\xE5\x9E\x8B\xE3\x80\x82\n\n"
               "@model gpt2_small.bin\n@input \"" PROMPT "\"\n\n## The first prediction\n## [zh] \xE7\xAC\xAC\xE4\xB8\x80\n\n"
               "@goto dec token 0 end\n@focus output\n@expect argmax dec.probs pos=0 \"%s\"\n\n"
               "After <|endoftext|> alone, one token is the most likely.\n[zh]\n\xE4\xB8\x80\xE4\xB8\xAA\xE8\xAF\x8D\xE5\x85\x83\xE3\x80\x82\n", piece);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s lesson --check %s 2>&1; echo \"status $?\"", SF_BINARY, path);
    *out = run_cmd(cmd);
    const char *st = strstr(*out, "status ");
    return st ? atoi(st + 7) : -1;
}

static void test_command_line(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s info --model %s", SF_BINARY, llmc);
    char *o = run_cmd(cmd);
    if (!strstr(o, "format:      llm.c") || !strstr(o, "vocab:       50257 (GPT-2 byte-level BPE; <|endoftext|> = 50256"))
        fail_msg("info says:\n%s", o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s info --model %s", SF_BINARY, dir);
    o = run_cmd(cmd);
    if (!strstr(o, "format:      safetensors")) fail_msg("info says:\n%s", o);
    free(o);
    /* --max-new 0: the prompt alone */
    snprintf(cmd, sizeof cmd, "%s trace --model %s --input 'Hello, world' --max-new 0", SF_BINARY, llmc);
    o = run_cmd(cmd);
    if (!strstr(o, "decoder: 4 tokens (4 given, 0 generated)") || !strstr(o, "tgt[1] 'Hello'") || !strstr(o, "tgt[3] '\xE2\x90\xA3world'"))
        fail_msg("trace says:\n%s", o);
    free(o);
    /* a lesson on a GPT-2 file: its claims are checked against the model like any other */
    sf_model m;
    sf_seq sq;
    assert_true(sf_model_load(llmc, NULL, &m).ok);
    assert_true(sf_seq_build(&sq, &m.cfg).ok);
    sf_run_opts ro = {.input = PROMPT, .max_new = 0};
    assert_true(sf_run(&m, &sq, &ro, NULL).ok);
    char best[16], other[16];
    sf_tokenizer_piece(&m.tok, sf_run_predicted(&m, &sq, 0), best);
    sf_tokenizer_piece(&m.tok, 15496, other); /* "Hello": not what this model predicts there */
    assert_string_not_equal(best, other);
    sf_seq_free(&sq);
    sf_model_free(&m);
    if (check_lesson(best, &o) != 0) fail_msg("lesson --check on a GPT-2 model says:\n%s", o);
    free(o);
    if (check_lesson(other, &o) == 0) fail_msg("a false claim passed:\n%s", o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s trace --model %s --input '\xE4\xBD\xA0' --max-new 1 --json | head -c 400", SF_BINARY, st);
    o = run_cmd(cmd);
    if (!strstr(o, "\"tgt\":[{\"id\":50256,\"text\":\"<|endoftext|>\"},{\"id\":19526,\"text\":\"<e4 bd>\"},{\"id\":254,\"text\":\"<a0>\"},"))
        fail_msg("trace --json starts:\n%s", o);
    free(o);
}

/* The selection sf_top_k made before it became one pass: k times, the largest not yet taken, the first
 * index on ties. */
static void top_k_by_selection(const float *x, int n, int k, int *idx) {
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int q = 0; q < j; q++) taken |= idx[q] == i;
            if (!taken && (best < 0 || x[i] > x[best])) best = i;
        }
        idx[j] = best;
    }
}

static void test_top_k_over_the_vocabulary(void **state) {
    (void)state;
    static const int ns[] = {1, 7, 100, 50257}, ks[] = {1, 5, 16, 100};
    float *x = malloc(sizeof(float) * 50257);
    int a[100], b[100];
    unsigned r = 1;
    for (size_t u = 0; u < sizeof ns / sizeof *ns; u++)
        for (size_t v = 0; v < sizeof ks / sizeof *ks; v++)
            for (int ties = 0; ties < 2; ties++) {
                int n = ns[u], k = ks[v] < n ? ks[v] : n;
                for (int i = 0; i < n; i++) {
                    r = r * 1103515245u + 12345u;
                    x[i] = ties ? (float)((r >> 16) % 7) : (float)(r >> 8) / 16777216.0f - 0.5f;
                }
                assert_int_equal(sf_top_k(x, n, ks[v], a), k);
                top_k_by_selection(x, n, k, b);
                assert_memory_equal(a, b, sizeof(int) * (size_t)k);
            }
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_match_the_oracle),
        cmocka_unit_test(test_both_readers_equal_pytorch),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_llmc_refuses_bad_files),
        cmocka_unit_test(test_safetensors_refuses_bad_files),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_top_k_over_the_vocabulary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
