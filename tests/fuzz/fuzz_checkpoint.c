/* fuzz_checkpoint.c - libFuzzer harness for the checkpoint loader's (buffer, length) entry point.
 * A loaded model is also run for one step, so a file that passes validation cannot crash the forward.
 * Each input is loaded as it is, then once more with its trailing CRC-32 recomputed: a mutated file
 * almost never carries a matching checksum, and without the second load the fuzzer would never get past
 * the checksum to the weights and the forward pass. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads (data, size) and, if it loads, runs one step. */
static void load_and_run(const uint8_t *data, size_t size) {
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(data, size, &m);
    if (!e.ok) {
        if (m.params || m.tok.chars) abort(); /* a refused file leaves nothing allocated */
        return;
    }
    sf_config c = m.cfg;
    if (c.max_len > 16) c.max_len = 16; /* keep each run fast; the record is sized by max_len */
    sf_seq s;
    if (sf_seq_build(&s, &c).ok) {
        int src[2] = {SF_TOK_FIRST_CHAR % c.vocab_size, 0};
        if (c.family == SF_FAMILY_ENCDEC) sf_encode(&m, &s, src, 2);
        sf_decode_step(&m, &s, SF_TOK_BOS);
        sf_seq_free(&s);
    }
    sf_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_run(data, size);
    if (size < 8) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    uint32_t crc = sf_crc32(0, fixed, size - 4);
    for (int i = 0; i < 4; i++) fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed, data, size) != 0) load_and_run(fixed, size);
    free(fixed);
    return 0;
}
