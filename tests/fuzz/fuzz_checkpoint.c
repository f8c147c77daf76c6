/* fuzz_checkpoint.c - libFuzzer harness for the checkpoint loader's (buffer, length) entry point.
 * A loaded model is also run for one step, so a file that passes validation cannot crash the forward. */
#include <stddef.h>
#include <stdint.h>

#include "model/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sf_model m;
    sf_err e = sf_checkpoint_load_buffer(data, size, &m);
    if (!e.ok) return 0;
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
    return 0;
}
