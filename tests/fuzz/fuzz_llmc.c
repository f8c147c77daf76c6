/* fuzz_llmc.c - libFuzzer harness for the llm.c GPT-2 reader's (buffer, length) entry point. A model
 * that loads is run for two decoder steps, so a file that passes validation cannot crash the forward. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sf_model m;
    sf_err e = sf_llmc_load_buffer(data, size, &m);
    if (!e.ok) {
        if (m.params) abort(); /* a refused file leaves nothing allocated */
        return 0;
    }
    if (m.format != SF_FORMAT_LLMC || m.cfg.family != SF_FAMILY_GPT) abort();
    sf_seq s;
    if (sf_seq_build(&s, &m.cfg).ok) {
        sf_decode_step(&m, &s, 0);
        sf_decode_step(&m, &s, m.cfg.vocab_size - 1);
        sf_seq_free(&s);
    }
    sf_model_free(&m);
    return 0;
}
