/* fuzz_snapshot.c - libFuzzer harness for the snapshot series reader's (buffer, length) entry point.
 * A series that loads has every snapshot selected and its model run one step, so a file that passes
 * validation cannot crash the forward pass with any of its weights. Each input is loaded as it is, then
 * once more with its header and record CRC-32s recomputed: a mutated file almost never carries matching
 * checksums, and without the second load the fuzzer would never get past them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"
#include "train/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads (data, size) and, if it loads, runs one decoder step with every snapshot's weights. */
static void load_and_run(const uint8_t *data, size_t size) {
    sf_snapshots s;
    sf_err e = sf_snapshots_load_buffer(data, size, &s);
    if (!e.ok) {
        if (s.model.params || s.info) abort(); /* a refused file leaves nothing allocated */
        return;
    }
    sf_config c = s.model.cfg;
    if (c.max_len > 16) c.max_len = 16; /* keep each run fast; the record is sized by max_len */
    sf_seq q;
    if (sf_seq_build(&q, &c).ok) {
        for (int k = 0; k < s.n; k++) {
            if (!sf_snapshots_select(&s, k)) abort();
            int src[2] = {SF_TOK_FIRST_CHAR % c.vocab_size, 0};
            if (c.family == SF_FAMILY_ENCDEC) sf_encode(&s.model, &q, src, 2);
            else sf_decode_reset(&q);
            sf_decode_step(&s.model, &q, SF_TOK_BOS);
        }
        sf_seq_free(&q);
    }
    sf_snapshots_free(&s);
}

/* Stores v little-endian at p. */
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_run(data, size);
    if (size < 128) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    /* the header's CRC sits after the alphabet; the records follow, each ending in its own CRC */
    size_t alen = sf_le_u32(fixed + 104), head = 128 + alen;
    if (alen < size && head <= size) {
        put_u32(fixed + head - 4, sf_crc32(0, fixed, head - 4));
        uint64_t np = 0;
        for (int i = 0; i < 8; i++) np |= (uint64_t)fixed[108 + alen + i] << (8 * i);
        uint32_t prec = sf_le_u32(fixed + 12), count = sf_le_u32(fixed + 120 + alen);
        if ((prec == 16 || prec == 32) && np < size) {
            size_t rec = 28 + (size_t)np * (prec / 8);
            for (uint32_t k = 0; k < count && head + (k + 1) * rec <= size; k++)
                put_u32(fixed + head + k * rec + rec - 4, sf_crc32(0, fixed + head + k * rec, rec - 4));
        }
    }
    if (memcmp(fixed, data, size) != 0) load_and_run(fixed, size);
    free(fixed);
    return 0;
}
