/* test_checkpoint.c - the .sfm loader refuses every kind of bad file with a clear message, and a
 * saved model reloads bit for bit. Run under ASan/UBSan in CI: none of these may crash. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/io.h"
#include "model/checkpoint.h"

static const char ALPHA[] = "abcdef";

/* Encodes a small random model of the family into b. */
static void make_file(sf_buf *b, int family, sf_model *keep) {
    sf_config c = sf_config_default(family);
    c.vocab_size = 4 + (int)strlen(ALPHA);
    c.d_model = 8;
    c.n_heads = 2;
    c.d_ff = 16;
    c.n_dec_layers = 1;
    if (family == SF_FAMILY_ENCDEC) c.n_enc_layers = 1;
    c.max_len = 8;
    sf_model m;
    assert_true(sf_model_build(&m, &c).ok);
    assert_true(sf_tokenizer_build(&m.tok, ALPHA, strlen(ALPHA)).ok);
    sf_model_init_random(&m, 99);
    assert_true(sf_checkpoint_encode(&m, b).ok);
    if (keep) *keep = m;
    else sf_model_free(&m);
}

static void fix_crc(sf_buf *b) {
    uint32_t crc = sf_crc32(0, b->data, b->len - 4);
    for (int i = 0; i < 4; i++) b->data[b->len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static void put_u32(sf_buf *b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) b->data[at + i] = (unsigned char)(v >> (8 * i));
}

/* Loads (data, len) expecting failure with `needle` in the message; returns nothing, fails the test. */
static void expect_error(const unsigned char *data, size_t len, const char *needle) {
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(data, len, &m);
    if (e.ok) fail_msg("loaded a bad file; expected an error containing \"%s\"", needle);
    if (!strstr(e.msg, needle)) fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_null(m.params); /* nothing left allocated */
}

/* Offset of the first tensor record: 84 + alphabet + 4. */
#define FIRST_RECORD (84 + sizeof ALPHA - 1 + 4)

static void test_roundtrip_bit_identical(void **state) {
    (void)state;
    for (int family = SF_FAMILY_ENCDEC; family <= SF_FAMILY_GPT; family++) {
        sf_buf b;
        sf_model orig;
        make_file(&b, family, &orig);
        sf_model m;
        sf_err e = sf_checkpoint_load_buffer(b.data, b.len, &m);
        if (!e.ok) fail_msg("%s", e.msg);
        assert_int_equal(m.n_params, orig.n_params);
        assert_memory_equal(m.params, orig.params, m.n_params * sizeof(float));
        assert_memory_equal(&m.cfg, &orig.cfg, sizeof m.cfg);
        char path[] = "/tmp/sf_ckpt_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        assert_true(sf_checkpoint_save(&m, path).ok);
        unsigned char *data;
        size_t len;
        assert_true(sf_read_file(path, SF_MAX_FILE_BYTES, &data, &len).ok);
        assert_int_equal(len, b.len);
        assert_memory_equal(data, b.data, len);
        free(data);
        /* no temporary file is left beside it */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        assert_int_not_equal(access(tmp, F_OK), 0);
        sf_model back;
        assert_true(sf_checkpoint_load(path, &back).ok);
        assert_memory_equal(back.params, orig.params, back.n_params * sizeof(float));
        unlink(path);
        sf_model_free(&back);
        sf_model_free(&m);
        sf_model_free(&orig);
        sf_buf_free(&b);
    }
}

static void test_empty_and_truncated(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b, SF_FAMILY_ENCDEC, NULL);
    expect_error(b.data, 0, "empty");
    /* every prefix of the file is refused, and says where it stopped */
    for (size_t n = 1; n < b.len; n++) {
        sf_model m;
        sf_err e = sf_checkpoint_load_buffer(b.data, n, &m);
        if (e.ok) fail_msg("a file truncated to %zu of %zu bytes loaded", n, b.len);
        if (!strstr(e.msg, "byte ")) fail_msg("truncated at %zu: no byte offset in \"%s\"", n, e.msg);
    }
    /* the header being cut is reported as such */
    expect_error(b.data, 10, "file ends while reading the version");
    expect_error(b.data, 86, "file ends while reading the alphabet");
    /* cut inside the table: the weights the config implies cannot fit, refused before allocating */
    expect_error(b.data, FIRST_RECORD + 5, "parameters but at most");
    sf_buf_free(&b);
}

static void test_bad_header_fields(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b, SF_FAMILY_GPT, NULL);
    unsigned char *copy = malloc(b.len);
    sf_buf w = {copy, b.len, b.len, 0};

#define RESET() memcpy(copy, b.data, b.len)
    RESET(); copy[0] = 'X';                  expect_error(copy, b.len, "byte 0: bad magic");
    RESET(); put_u32(&w, 8, 2);              expect_error(copy, b.len, "byte 8: version 2 is not supported");
    RESET(); put_u32(&w, 12, 65);            expect_error(copy, b.len, "byte 12: config size 65");
    RESET(); put_u32(&w, 16, 7);             expect_error(copy, b.len, "byte 16: config: family is 7");
    RESET(); put_u32(&w, 24, 0);             expect_error(copy, b.len, "d_model is 0");
    RESET(); put_u32(&w, 24, (uint32_t)-8);  expect_error(copy, b.len, "d_model is -8");
    RESET(); put_u32(&w, 32, 0x7FFFFFFF);    expect_error(copy, b.len, "d_ff is 2147483647");
    RESET(); put_u32(&w, 44, 0);             expect_error(copy, b.len, "max_len is 0");
    RESET(); put_u32(&w, 28, 3);             expect_error(copy, b.len, "not divisible");
    /* in range but far larger than the file: refused before allocating */
    RESET(); put_u32(&w, 24, 4096); put_u32(&w, 28, 64); put_u32(&w, 32, 16384); put_u32(&w, 40, 48);
    expect_error(copy, b.len, "parameters but at most");
    RESET(); put_u32(&w, 80, 0xFFFFFFF0u);   expect_error(copy, b.len, "byte 80: alphabet of");
    RESET(); put_u32(&w, 20, 11);            expect_error(copy, b.len, "but vocab_size is 11");
    RESET(); put_u32(&w, 84 + 6, 0);         expect_error(copy, b.len, "tensor count 0");
    RESET(); put_u32(&w, 84 + 6, 0xFFFFFFFFu); expect_error(copy, b.len, "tensor count 4294967295");
    RESET(); put_u32(&w, 84 + 6, 5);         expect_error(copy, b.len, "needs exactly");
    free(copy);
    sf_buf_free(&b);
}

static void test_bad_tensor_table(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b, SF_FAMILY_GPT, NULL);
    unsigned char *copy = malloc(b.len);
    sf_buf w = {copy, b.len, b.len, 0};
    size_t r = FIRST_RECORD;           /* u16 7, "tok_emb", rank, reserved, dims (2 x u32), u64 offset */
    size_t rank_at = r + 2 + 7, dim0 = rank_at + 2, off_at = dim0 + 8;
    RESET(); copy[r + 2] = 'X';                    expect_error(copy, b.len, "unknown tensor \"Xok_emb\"");
    RESET(); copy[r] = 0;                          expect_error(copy, b.len, "name length 0");
    RESET(); copy[rank_at] = 3;                    expect_error(copy, b.len, "has rank 3");
    RESET(); put_u32(&w, dim0, 0);                 expect_error(copy, b.len, "dimension 0 is 0");
    RESET(); put_u32(&w, dim0, 0xFFFFFFFFu);       expect_error(copy, b.len, "dimension 0 is 4294967295");
    RESET(); put_u32(&w, off_at, 0xFFFFFFF0u); put_u32(&w, off_at + 4, 0xFFFFFFFFu);
    expect_error(copy, b.len, "past the end of the file");
    RESET(); put_u32(&w, off_at, (uint32_t)(b.len - 8));
    expect_error(copy, b.len, "runs past the end of the data");
    RESET(); put_u32(&w, off_at, 2);               expect_error(copy, b.len, "not a multiple of 4");
    RESET(); put_u32(&w, off_at, 16);              expect_error(copy, b.len, "overlaps the header");
    /* point the first tensor at the second one's data */
    uint32_t second_off;
    {
        size_t r2 = off_at + 8; /* next record: "pos_emb" */
        second_off = (uint32_t)(b.data[r2 + 2 + 7 + 2 + 8] | b.data[r2 + 2 + 7 + 2 + 9] << 8 |
                                b.data[r2 + 2 + 7 + 2 + 10] << 16 | (uint32_t)b.data[r2 + 2 + 7 + 2 + 11] << 24);
    }
    RESET(); put_u32(&w, off_at, second_off);      expect_error(copy, b.len, "overlaps tensor");
    free(copy);
    sf_buf_free(&b);
}

static void test_checksum_and_nan(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b, SF_FAMILY_ENCDEC, NULL);
    unsigned char *copy = malloc(b.len);
    sf_buf w = {copy, b.len, b.len, 0};
    RESET(); copy[b.len - 100] ^= 0x40;            expect_error(copy, b.len, "checksum mismatch");
    RESET(); copy[b.len - 1] ^= 1;                 expect_error(copy, b.len, "checksum mismatch");
    /* a NaN (and an infinity) weight with a correct checksum: still refused, and located */
    float nan = NAN, inf = INFINITY;
    uint32_t u;
    memcpy(&u, &nan, 4);
    RESET(); put_u32(&w, b.len - 8, u); fix_crc(&w); expect_error(copy, b.len, "is NaN; weights must be finite");
    memcpy(&u, &inf, 4);
    RESET(); put_u32(&w, b.len - 8, u); fix_crc(&w); expect_error(copy, b.len, "is infinite");
    /* the same edit without breaking anything loads */
    float one = 1.0f;
    memcpy(&u, &one, 4);
    RESET(); put_u32(&w, b.len - 8, u); fix_crc(&w);
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(copy, b.len, &m);
    if (!e.ok) fail_msg("%s", e.msg);
    sf_model_free(&m);
    free(copy);
    sf_buf_free(&b);
}

static void test_random_corruption_never_crashes(void **state) {
    (void)state;
    sf_buf b;
    make_file(&b, SF_FAMILY_ENCDEC, NULL);
    unsigned char *copy = malloc(b.len);
    sf_rng r;
    sf_rng_seed(&r, 5);
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(copy, b.data, b.len);
        int flips = 1 + sf_rng_int(&r, 4);
        size_t head = FIRST_RECORD + 400; /* mostly the header and table, where parsing happens */
        for (int k = 0; k < flips; k++) copy[sf_rng_int(&r, (int)head)] = (unsigned char)sf_rng_u32(&r);
        if (trial % 2) fix_crc(&(sf_buf){copy, b.len, b.len, 0});
        sf_model m;
        sf_err e = sf_checkpoint_load_buffer(copy, b.len, &m);
        if (e.ok) sf_model_free(&m);
        else {
            refused++;
            assert_true(strstr(e.msg, "byte ") != NULL);
        }
    }
    assert_true(refused > 2000);
    free(copy);
    sf_buf_free(&b);
}

static void test_missing_file(void **state) {
    (void)state;
    sf_model m;
    sf_err e = sf_checkpoint_load("/nonexistent/dir/model.sfm", &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "/nonexistent/dir/model.sfm: cannot open"));
    e = sf_checkpoint_load("/tmp", &m);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "not a regular file"));
    sf_buf b;
    make_file(&b, SF_FAMILY_GPT, &m);
    e = sf_checkpoint_save(&m, "/nonexistent/dir/model.sfm");
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "cannot create temporary file"));
    sf_model_free(&m);
    sf_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bit_identical), cmocka_unit_test(test_empty_and_truncated),
        cmocka_unit_test(test_bad_header_fields),       cmocka_unit_test(test_bad_tensor_table),
        cmocka_unit_test(test_checksum_and_nan),        cmocka_unit_test(test_random_corruption_never_crashes),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
