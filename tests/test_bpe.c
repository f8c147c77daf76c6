/* test_bpe.c - GPT-2's byte-level BPE in C equals the reference JavaScript encoder token for token
 * (tests/fixtures/bpe_cases.jsonl, made by tests/make_bpe_fixtures.sh: every lesson, contractions, digits,
 * runs of spaces and newlines, emoji, invalid UTF-8), decodes back to the same bytes, shows every token
 * without a replacement character, and its .sftok loader refuses damaged files with the byte offset. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/io.h"
#include "model/bpe.h"
#include "model/tokenizer.h"

#define TOKENIZER SF_SOURCE_DIR "/assets/tokenizers/gpt2.sftok"

static sf_tokenizer tok;
static unsigned char *file;
static size_t file_len;

static int setup(void **state) {
    (void)state;
    sf_err e = sf_read_file(TOKENIZER, (size_t)16 << 20, &file, &file_len);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return -1; }
    e = sf_tokenizer_load_bpe(&tok, TOKENIZER);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return -1; }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sf_tokenizer_free(&tok);
    free(file);
    return 0;
}

/* Returns the bytes of a case (its "text", or its "hex" decoded) in a malloc'd buffer. */
static unsigned char *case_bytes(json_t *c, size_t *len) {
    json_t *t = json_object_get(c, "text"), *h = json_object_get(c, "hex");
    if (t) {
        *len = json_string_length(t);
        unsigned char *b = malloc(*len + 1);
        memcpy(b, json_string_value(t), *len + 1);
        return b;
    }
    const char *x = json_string_value(h);
    *len = strlen(x) / 2;
    unsigned char *b = malloc(*len + 1);
    for (size_t i = 0; i < *len; i++) {
        unsigned v;
        sscanf(x + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    return b;
}

static void test_matches_reference_encoder(void **state) {
    (void)state;
    FILE *f = fopen(SF_FIXTURE_DIR "/bpe_cases.jsonl", "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int cases = 0, tokens = 0, lessons = 0, invalid = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *c = json_loads(line, JSON_ALLOW_NUL, &je);
        if (!c) fail_msg("bpe_cases.jsonl line %d: %s", cases + 1, je.text);
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *want = json_object_get(c, "ids");
        size_t len, n_want = json_array_size(want);
        unsigned char *text = case_bytes(c, &len);
        int *ids = malloc((n_want + 1) * sizeof *ids), n;
        sf_err e = sf_tokenizer_encode(&tok, (const char *)text, len, ids, (int)n_want + 1, &n);
        if (!e.ok) fail_msg("case \"%s\": %s", name, e.msg);
        for (size_t i = 0; i < n_want || i < (size_t)n; i++) {
            int w = i < n_want ? (int)json_integer_value(json_array_get(want, i)) : -1;
            int g = i < (size_t)n ? ids[i] : -1;
            if (w != g) fail_msg("case \"%s\": token %zu is %d; the reference encoder gives %d (%zu tokens vs %d)", name, i, g, w,
                                 n_want, n);
        }
        /* decoding gives back exactly the bytes */
        char *back = malloc(len + 1);
        size_t need = sf_tokenizer_decode(&tok, ids, n, back, len + 1);
        if (need != len || memcmp(back, text, len) != 0) fail_msg("case \"%s\": decoding does not give the text back", name);
        tokens += n;
        lessons += strncmp(name, "lesson ", 7) == 0;
        invalid += json_object_get(c, "hex") != NULL;
        cases++;
        free(back);
        free(ids);
        free(text);
        json_decref(c);
    }
    free(line);
    fclose(f);
    print_message("%d cases (%d lessons, %d of invalid UTF-8), %d tokens, all equal to the reference\n", cases, lessons,
                  invalid, tokens);
    assert_true(lessons >= 10);
    assert_true(invalid >= 5);
}

static void test_interface(void **state) {
    (void)state;
    assert_int_equal(tok.kind, SF_TOKENIZER_BPE);
    assert_string_equal(sf_tokenizer_kind_name(&tok), "gpt2-bpe");
    assert_int_equal(sf_tokenizer_vocab(&tok), 50257);
    assert_int_equal(sf_tokenizer_bos(&tok), 50256);
    assert_int_equal(sf_tokenizer_eos(&tok), 50256);
    for (int id = 0; id < 8; id++) assert_false(sf_tokenizer_is_control(&tok, id));
    assert_null(sf_tokenizer_alphabet(&tok, &(size_t){0}));
    int ids[8], n;
    assert_true(sf_tokenizer_encode(&tok, "Hello world", 11, ids, 8, &n).ok);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 15496);
    assert_int_equal(ids[1], 995);
    /* the cap is never passed, and the error says where the limit was reached */
    sf_err e = sf_tokenizer_encode(&tok, "Hello world again", 17, ids, 2, &n);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "byte 11"));
    assert_non_null(strstr(e.msg, "limit of 2 tokens"));
    /* "<|endoftext|>" in a text is text, never the special token */
    assert_true(sf_tokenizer_encode(&tok, "<|endoftext|>", 13, ids, 8, &n).ok);
    for (int i = 0; i < n; i++) assert_int_not_equal(ids[i], 50256);
    char out[64];
    assert_int_equal(sf_tokenizer_decode(&tok, (int[]){15496, 50256}, 2, out, sizeof out), 18);
    assert_string_equal(out, "Hello<|endoftext|>");
    assert_int_equal(sf_tokenizer_decode(&tok, (int[]){15496, 995}, 2, out, 4), 11); /* cut, still terminated */
    assert_string_equal(out, "Hel");
}

/* Returns 1 if s is valid UTF-8 without U+FFFD. */
static int clean_utf8(const char *s) {
    size_t pos = 0, len = strlen(s);
    uint32_t cp;
    while (pos < len) {
        if (!sf_utf8_decode(s, len, &pos, &cp) || cp == 0xFFFD) return 0;
    }
    return 1;
}

static void test_pieces(void **state) {
    (void)state;
    char p[SF_PIECE_MAX], small[16];
    assert_string_equal(sf_tokenizer_piece_n(&tok, 262, p, sizeof p), "\xE2\x90\xA3the");    /* " the" */
    assert_string_equal(sf_tokenizer_piece_n(&tok, 198, p, sizeof p), "\\n");                /* "\n" */
    assert_string_equal(sf_tokenizer_piece_n(&tok, 50256, p, sizeof p), "<|endoftext|>");
    assert_string_equal(sf_tokenizer_piece_n(&tok, 50257, p, sizeof p), "<50257?>");
    /* "你" is 19526 254 (e4 bd a0 split as e4bd + a0): bytes of part of a character are shown in hex */
    int ids[8], n;
    assert_true(sf_tokenizer_encode(&tok, "\xE4\xBD\xA0", 3, ids, 8, &n).ok);
    assert_int_equal(n, 2);
    assert_string_equal(sf_tokenizer_piece_n(&tok, ids[0], p, sizeof p), "<e4 bd>");
    assert_string_equal(sf_tokenizer_piece_n(&tok, ids[1], p, sizeof p), "<a0>");
    /* every token: valid UTF-8, no replacement character, and the 16-byte label is a cut of the full one */
    int longest = 0, cut = 0;
    for (int id = 0; id < sf_tokenizer_vocab(&tok); id++) {
        sf_tokenizer_piece_n(&tok, id, p, sizeof p);
        sf_tokenizer_piece(&tok, id, small);
        size_t nb;
        const unsigned char *raw = sf_bpe_bytes(tok.bpe, id, &nb);
        int is_fffd = 0; /* tokens 4210 and 6353 really are U+FFFD, once and twice */
        for (size_t k = 0; k + 3 <= nb; k++) is_fffd |= !memcmp(raw + k, "\xEF\xBF\xBD", 3);
        if (!is_fffd && (!clean_utf8(p) || !clean_utf8(small))) fail_msg("token %d is shown as \"%s\"", id, p);
        if ((int)strlen(p) > longest) longest = (int)strlen(p);
        if (strlen(p) < 16) assert_string_equal(small, p);
        else {
            cut++;
            assert_true(strlen(small) <= 15);
            assert_non_null(strstr(small, "\xE2\x80\xA6"));
        }
    }
    print_message("all 50257 tokens display as clean UTF-8; longest %d bytes, %d cut to fit 16\n", longest, cut);
    assert_true(longest < SF_PIECE_MAX);
}

/* Loads a copy of the tokenizer file with one change and expects an error containing needle. */
static void expect_error(const unsigned char *data, size_t len, const char *needle) {
    sf_tokenizer t;
    sf_err e = sf_tokenizer_load_bpe_buffer(&t, data, len);
    if (e.ok) { sf_tokenizer_free(&t); fail_msg("loaded a bad file; expected an error containing \"%s\"", needle); }
    if (!strstr(e.msg, needle)) fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_null(t.bpe);
}

static void set_u16(unsigned char *b, size_t at, unsigned v) { b[at] = (unsigned char)v; b[at + 1] = (unsigned char)(v >> 8); }
static void fix_crc(unsigned char *b, size_t len) {
    uint32_t c = sf_crc32(0, b, len - 4);
    for (int i = 0; i < 4; i++) b[len - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void test_loader_refuses_damage(void **state) {
    (void)state;
    unsigned char *b = calloc(1, file_len + 8);
    size_t L = file_len;
#define RESET() memcpy(b, file, L)
    RESET(); expect_error(b, 0, "byte 0: the file is empty");
    RESET(); b[0] = 'X'; expect_error(b, L, "byte 0: bad magic");
    RESET(); b[8] = 2; expect_error(b, L, "byte 8: version 2");
    RESET(); b[12] = 7; expect_error(b, L, "byte 12: pre-tokenizer 7");
    RESET(); b[20] = 0; expect_error(b, L, "byte 20: 0 special tokens");
    RESET(); b[18] = 1; expect_error(b, L, "byte 16:"); /* 65536 + 50000 merges */
    RESET(); b[24] = 0; expect_error(b, L, "byte 24: end-of-text id");
    RESET(); b[28 + 5] = b[28 + 6]; fix_crc(b, L); expect_error(b, L, "byte 34: byte token 6 is byte 0x27 again (token 5 has it)");
    /* merge 0 naming token 300, made only later */
    RESET(); set_u16(b, 284, 300); fix_crc(b, L); expect_error(b, L, "byte 284: merge 0 uses token 300");
    /* merge 1 repeating merge 0 */
    RESET(); memcpy(b + 288, b + 284, 4); fix_crc(b, L); expect_error(b, L, "byte 288: merge 1 repeats merge 0");
    RESET(); b[L - 20] ^= 1; expect_error(b, L, "checksum mismatch");
    RESET(); expect_error(b, L + 4, "byte 200298: 8 bytes follow the special tokens; expected only the 4-byte checksum");
    RESET(); expect_error(b, 1000, "the file ends before its 50000 merges");
    /* a chain of merges whose tokens double in length: refused before 256 bytes */
    {
        size_t n = 28 + 256 + 12 * 4 + 2 + 4;
        unsigned char *c = calloc(1, n);
        memcpy(c, SF_BPE_MAGIC, 8);
        c[8] = 1; c[12] = 1; c[16] = 12; c[20] = 1; set_u16(c, 24, 256 + 12);
        for (int i = 0; i < 256; i++) c[28 + i] = (unsigned char)i;
        set_u16(c, 284, 97); set_u16(c, 286, 97);
        for (int k = 1; k < 12; k++) { set_u16(c, 284 + 4 * (size_t)k, 256 + (unsigned)k - 1); set_u16(c, 286 + 4 * (size_t)k, 256 + (unsigned)k - 1); }
        c[284 + 48] = 1; c[285 + 48] = 'x';
        fix_crc(c, n);
        expect_error(c, n, "merge 8 makes a token of 512 bytes");
        free(c);
    }
#undef RESET
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference_encoder),
        cmocka_unit_test(test_interface),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_loader_refuses_damage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
