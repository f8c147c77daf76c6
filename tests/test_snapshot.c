/* test_snapshot.c - snapshot series (src/train/snapshot.h): float16 conversion, a written series read
 * back (figures, weights, the held-out scores of exactly the stored weights), refusal to overwrite,
 * damaged and unfinished files, and `train --snapshots` end to end (its last snapshot is the saved
 * model, bit for bit). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "core/rng.h"
#include "model/checkpoint.h"
#include "train/snapshot.h"

static char tmpdir[256];

/* Creates the scratch folder. */
static int setup_dir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_snapshot.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes it. */
static int teardown_dir(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Returns a path inside the scratch folder (one of 16 static buffers, reused round-robin). */
static const char *tmp_path(const char *name) {
    static char buf[16][512];
    static int k = 0;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Returns the float with bits b. */
static float of_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* float16: every half survives the round trip through float; floats go to the nearest half, ties to
 * the even one; the extremes (largest, smallest subnormal, overflow) land where IEEE says. */
static void test_half(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = sf_float_of_half((uint16_t)h);
        if (isnan(f)) {
            assert_true((h & 0x7C00) == 0x7C00 && (h & 0x3FF));
            assert_true(isnan(sf_float_of_half(sf_half_of_float(f))));
            continue;
        }
        assert_int_equal(sf_half_of_float(f), h);
    }
    assert_true(sf_float_of_half(0x3C00) == 1.0f && sf_float_of_half(0x7BFF) == 65504.0f);
    assert_true(sf_float_of_half(0x0001) == ldexpf(1.0f, -24) && sf_float_of_half(0xC000) == -2.0f);
    assert_int_equal(sf_half_of_float(65520.0f), 0x7C00);   /* rounds up past the largest: infinity */
    assert_int_equal(sf_half_of_float(65519.0f), 0x7BFF);
    assert_int_equal(sf_half_of_float(ldexpf(1.0f, -25)), 0); /* half the smallest subnormal: tie to 0 */
    assert_int_equal(sf_half_of_float(ldexpf(1.5f, -25)), 1);
    assert_int_equal(sf_half_of_float(1.0f + ldexpf(1.0f, -11)), 0x3C00); /* tie between 1 and next: even */
    assert_int_equal(sf_half_of_float(1.0f + ldexpf(3.0f, -11)), 0x3C02);
    sf_rng r;
    sf_rng_seed(&r, 5);
    for (int i = 0; i < 200000; i++) {
        float f = of_bits(sf_rng_u32(&r) & 0xC7FFFFFFu); /* exponents from tiny to 2^8, both signs */
        uint16_t h = sf_half_of_float(f);
        if (fabsf(f) >= 65504.0f) continue; /* the overflow cases are checked above */
        double d = fabs((double)sf_float_of_half(h) - f);
        for (int k = -1; k <= 1; k += 2) { /* no neighbour is closer */
            uint16_t n = (uint16_t)(h + k);
            if ((h & 0x7FFF) == 0 && k < 0) continue;
            float g = sf_float_of_half(n);
            if (!isfinite(g) || ((n ^ h) & 0x8000)) continue;
            double dn = fabs((double)g - f);
            assert_true(d < dn || (d == dn && !(h & 1)));
        }
    }
}

/* Builds a small model of the reverse task's alphabet (d_model 8, 1+1 layers), randomly initialised. */
static void small_model(sf_model *m, sf_task *t, unsigned long long seed) {
    assert_true(sf_task_open(t, "reverse", NULL).ok);
    sf_config c = t->cfg;
    c.d_model = 8, c.n_heads = 2, c.d_ff = 16, c.n_enc_layers = 1, c.n_dec_layers = 1;
    assert_true(sf_model_build(m, &c).ok);
    assert_true(sf_tokenizer_build(&m->tok, t->alphabet, strlen(t->alphabet)).ok);
    sf_model_init_random(m, seed);
}

/* Writes a series of three snapshots (the weights changing in between) at the given precision into
 * path; keeps the stored weights of each in kept[3] (malloc'd) and their figures in info[3]. */
static void write_series(const char *path, int bits, sf_model *m, sf_task *t, float *kept[3], sf_snapshot_info info[3]) {
    sf_snapshot_writer w;
    sf_err e = sf_snapshot_create(&w, path, m, t->name, 0, 9, bits);
    assert_true(e.ok);
    static const int steps[3] = {0, 4, 9};
    for (int k = 0; k < 3; k++) {
        if (k) sf_model_init_random(m, 100 + (unsigned long long)k); /* other weights: training moved them */
        float *before = malloc(m->n_params * sizeof *before);
        assert_non_null(before);
        memcpy(before, m->params, m->n_params * sizeof *before);
        assert_true(sf_snapshot_take(&w, m, t, steps[k], 0.001f * (float)k, k ? 2.0f / (float)k : NAN).ok);
        assert_memory_equal(before, m->params, m->n_params * sizeof *before); /* the model is left as it was */
        kept[k] = before;
        sf_snapshot_round(kept[k], m->n_params, bits);
    }
    assert_int_equal(w.count, 3);
    sf_snapshot_close(&w);
    sf_snapshots s;
    assert_true(sf_snapshots_load(path, &s).ok);
    for (int k = 0; k < 3; k++) info[k] = *sf_snapshots_info(&s, k);
    sf_snapshots_free(&s);
}

/* A series read back gives each snapshot's step, learning rate and training loss as written, its
 * weights (exactly, or rounded to float16), and held-out scores equal to measuring those very weights. */
static void test_roundtrip(void **state) {
    (void)state;
    for (int bits = 16; bits <= 32; bits += 16) {
        sf_model m;
        sf_task t;
        small_model(&m, &t, 1);
        float *kept[3];
        sf_snapshot_info info[3];
        const char *path = tmp_path(bits == 16 ? "a16.snap" : "a32.snap");
        write_series(path, bits, &m, &t, kept, info);
        sf_snapshots s;
        sf_err e = sf_snapshots_load(path, &s);
        assert_true(e.ok);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.precision, bits);
        assert_string_equal(s.task, "reverse");
        assert_int_equal(s.interval, 0);
        assert_int_equal(s.total_steps, 9);
        assert_int_equal(s.model.n_params, m.n_params);
        assert_int_equal((int)s.trailing, 0);
        float *w = malloc(m.n_params * sizeof *w);
        sf_seq seq;
        assert_true(sf_seq_build(&seq, &s.model.cfg).ok);
        for (int k = 0; k < 3; k++) {
            const sf_snapshot_info *in = sf_snapshots_info(&s, k);
            assert_int_equal(in->step, k == 0 ? 0 : k == 1 ? 4 : 9);
            assert_true(in->lr == 0.001f * (float)k);
            assert_true(k ? in->train_loss == 2.0f / (float)k : isnan(in->train_loss));
            assert_true(sf_snapshots_weights(&s, k, w));
            assert_memory_equal(w, kept[k], m.n_params * sizeof *w);
            assert_true(sf_snapshots_select(&s, k));
            assert_memory_equal(s.model.params, kept[k], m.n_params * sizeof *w);
            sf_snapshot_info again = *in;
            assert_true(sf_snapshot_measure(&s.model, &seq, &t, &again).ok);
            assert_true(again.heldout_loss == in->heldout_loss && again.heldout_acc == in->heldout_acc &&
                        again.heldout_exact == in->heldout_exact);
            assert_true(in->heldout_acc >= 0 && in->heldout_acc <= 1 && in->heldout_loss > 0);
            free(kept[k]);
        }
        assert_int_equal(sf_snapshots_at_step(&s, 5), 1);
        assert_int_equal(sf_snapshots_at_step(&s, 100), 2);
        assert_false(sf_snapshots_select(&s, 3));
        assert_null(sf_snapshots_info(&s, -1));
        free(w);
        sf_seq_free(&seq);
        sf_snapshots_free(&s);
        sf_model_free(&m);
        sf_task_close(&t);
    }
}

/* Loads (buf, len) and returns the error message ("" on success). */
static const char *load_msg(const unsigned char *buf, size_t len) {
    static char msg[512];
    sf_snapshots s;
    sf_err e = sf_snapshots_load_buffer(buf, len, &s);
    if (e.ok) {
        sf_snapshots_free(&s);
        return "";
    }
    snprintf(msg, sizeof msg, "%s", e.msg);
    return msg;
}

/* Recomputes the CRC-32 of the n bytes at p into the 4 bytes after them. */
static void fix_crc(unsigned char *p, size_t n) {
    uint32_t c = sf_crc32(0, p, n);
    for (int i = 0; i < 4; i++) p[n + i] = (unsigned char)(c >> (8 * i));
}

/* A series is never overwritten; damaged files are refused with where and why; a file cut inside a
 * record that its header does not count yet (a writer killed mid-append) loads what it counts. */
static void test_refusals(void **state) {
    (void)state;
    sf_model m;
    sf_task t;
    small_model(&m, &t, 2);
    float *kept[3];
    sf_snapshot_info info[3];
    const char *path = tmp_path("b.snap");
    write_series(path, 32, &m, &t, kept, info);
    for (int k = 0; k < 3; k++) free(kept[k]);
    sf_snapshot_writer w;
    sf_err e = sf_snapshot_create(&w, path, &m, "reverse", 1, 10, 32);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "exists already"));
    unsigned char *data;
    size_t len;
    assert_true(sf_read_file(path, SF_MAX_FILE_BYTES, &data, &len).ok);
    size_t alen = sf_le_u32(data + 104), head = 128 + alen, rec = (len - head) / 3;
    assert_int_equal(len, head + 3 * rec);
    unsigned char *b = malloc(len);
    /* a weight damaged: that snapshot's checksum */
    memcpy(b, data, len);
    b[head + rec + 40] ^= 0x10;
    assert_non_null(strstr(load_msg(b, len), "snapshot 1: checksum mismatch"));
    /* a weight made infinite, checksum fixed: refused by value */
    memcpy(b, data, len);
    uint32_t inf = 0x7F800000u;
    memcpy(b + head + 2 * rec + 24 + 4 * 7, &inf, 4);
    fix_crc(b + head + 2 * rec, rec - 4);
    assert_non_null(strstr(load_msg(b, len), "weight 7 is not finite"));
    /* steps out of order, checksum fixed */
    memcpy(b, data, len);
    b[head + 2 * rec] = 2;
    fix_crc(b + head + 2 * rec, rec - 4);
    assert_non_null(strstr(load_msg(b, len), "expected steps increasing"));
    /* an accuracy above 1 */
    memcpy(b, data, len);
    float two = 2.0f;
    memcpy(b + head + 16, &two, 4);
    fix_crc(b + head, rec - 4);
    assert_non_null(strstr(load_msg(b, len), "out of range"));
    /* the header: its checksum, a bad precision, a parameter count the config does not give */
    memcpy(b, data, len);
    b[16] = 5; /* another interval: nothing wrong with it but the checksum */
    assert_non_null(strstr(load_msg(b, len), "header checksum"));
    b[12] = 24;
    fix_crc(b, head - 4);
    assert_non_null(strstr(load_msg(b, len), "precision 24"));
    memcpy(b, data, len);
    b[108 + alen] ^= 1;
    fix_crc(b, head - 4);
    assert_non_null(strstr(load_msg(b, len), "parameters; this config has"));
    assert_non_null(strstr(load_msg(b, 5), "the magic"));
    assert_non_null(strstr(load_msg(b, 0), "empty"));
    /* cut inside a counted record: refused; an uncounted partial record after the counted ones: ignored */
    assert_non_null(strstr(load_msg(data, len - 10), "do not fit"));
    memcpy(b, data, len);
    b[120 + alen] = 2; /* the header counts two; the third record is "being written" */
    fix_crc(b, head - 4);
    sf_snapshots s;
    assert_true(sf_snapshots_load_buffer(b, len - 100, &s).ok);
    assert_int_equal(s.n, 2);
    assert_int_equal((int)s.trailing, (int)(rec - 100));
    sf_snapshots_free(&s);
    free(b);
    free(data);
    sf_model_free(&m);
    sf_task_close(&t);
}

/* `stepformer train --snapshots`: every K steps plus the start and the end, listed steps, and the last
 * snapshot (32-bit) equal to the checkpoint the run saved. */
static void test_cli(void **state) {
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s train --task sort --steps 5 --snapshots 2 --out %s > /dev/null 2>&1", SF_BINARY,
             tmp_path("s.sfm"));
    assert_int_equal(system(cmd), 0);
    sf_snapshots s;
    sf_err e = sf_snapshots_load(tmp_path("s.snap"), &s);
    assert_true(e.ok);
    assert_int_equal(s.n, 4); /* steps 0, 2, 4 and the end, 5 */
    static const int want[4] = {0, 2, 4, 5};
    for (int k = 0; k < 4; k++) assert_int_equal(sf_snapshots_info(&s, k)->step, want[k]);
    assert_true(isnan(sf_snapshots_info(&s, 0)->train_loss) && sf_snapshots_info(&s, 3)->train_loss > 0);
    sf_model m;
    assert_true(sf_checkpoint_load(tmp_path("s.sfm"), &m).ok);
    assert_true(sf_snapshots_select(&s, 3));
    assert_memory_equal(s.model.params, m.params, m.n_params * sizeof *m.params);
    sf_model_free(&m);
    sf_snapshots_free(&s);
    /* listed steps, 16 bits, another name; the run refuses an existing series before it trains */
    snprintf(cmd, sizeof cmd,
             "%s train --task sort --steps 6 --snapshots 1,3 --snapshot-bits 16 --snapshot-out %s --out %s > /dev/null 2>&1",
             SF_BINARY, tmp_path("list.snap"), tmp_path("l.sfm"));
    assert_int_equal(system(cmd), 0);
    assert_true(sf_snapshots_load(tmp_path("list.snap"), &s).ok);
    assert_int_equal(s.n, 4);
    assert_int_equal(sf_snapshots_info(&s, 2)->step, 3);
    assert_int_equal(s.precision, 16);
    sf_snapshots_free(&s);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s train --task sort --steps 6 --snapshots 3,2 --out %s > /dev/null 2>&1", SF_BINARY,
             tmp_path("x.sfm"));
    assert_int_not_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
