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
#include "model/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads (data, size) and, if it loads, runs one step. */
static void load_and_run(const uint8_t *data, size_t size) {
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(data, size, &m);
    sf_err head = sf_checkpoint_check_head(data, size, size); /* the file entry's first check, on the same bytes */
    if (!e.ok) {
        if (m.params || m.tok.chars) abort(); /* a refused file leaves nothing allocated */
        return;
    }
    /* a .sfm file the loader accepts must pass the header check the path loader runs first (the buffer
     * dispatcher also takes llm.c files, which have their own checks) */
    if (!head.ok && sf_format_detect(data, size) == SF_FORMAT_SFM) abort();
    sf_seq s; /* the record starts small and grows with the positions run, whatever max_len claims */
    if (sf_seq_build(&s, &m.cfg).ok) {
        int src[2] = {SF_TOK_FIRST_CHAR % m.cfg.vocab_size, 0};
        if (m.cfg.family == SF_FAMILY_ENCDEC) sf_encode(&m, &s, src, 2);
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
