/* make_snapshot_seeds.c - writes the seed corpus of fuzz_snapshot: small snapshot series (a reverse-task
 * model of width 8, one layer each side) in float32 and float16, of one and of three snapshots, and a
 * GPT-family one. Not part of the build; regenerate with
 *     cmake --build build --target make_snapshot_seeds && build/tests/make_snapshot_seeds tests/fuzz/corpus/snapshot */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/snapshot.h"

/* Writes one series of n snapshots of a small model of family fam with `bits`-bit weights into dir. */
static int write_one(const char *dir, const char *task_name, int d, int n, int bits) {
    sf_task t;
    if (!sf_task_open(&t, task_name, NULL).ok) return 1;
    sf_config c = t.cfg;
    c.d_model = d, c.n_heads = 2, c.d_ff = 2 * d, c.n_dec_layers = 1;
    if (c.n_enc_layers) c.n_enc_layers = 1;
    sf_model m;
    if (!sf_model_build(&m, &c).ok || !sf_tokenizer_build(&m.tok, t.alphabet, strlen(t.alphabet)).ok) return 1;
    char path[512];
    snprintf(path, sizeof path, "%s/%s-d%d-n%d-f%d.snap", dir, task_name, d, n, bits);
    sf_snapshot_writer w;
    sf_err e = sf_snapshot_create(&w, path, &m, t.name, 3, 3 * n, bits);
    for (int k = 0; e.ok && k < n; k++) {
        sf_model_init_random(&m, (unsigned long long)k + 1);
        e = sf_snapshot_take(&w, &m, &t, 3 * k, k ? 0.001f : 0.0f, k ? 1.5f : 0.0f / 0.0f);
    }
    sf_snapshot_close(&w);
    sf_model_free(&m);
    sf_task_close(&t);
    if (!e.ok) fprintf(stderr, "%s\n", e.msg);
    return !e.ok;
}

/* Writes the seeds into the folder given. */
int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_snapshot_seeds DIR\n");
        return 2;
    }
    return write_one(argv[1], "reverse", 8, 1, 32) | write_one(argv[1], "reverse", 8, 3, 16) |
           write_one(argv[1], "sort", 4, 2, 32) | write_one(argv[1], "copy", 4, 2, 16);
}
