/* fuzz_safetensors.c - libFuzzer harness for the Hugging Face reader's (buffer, length) entry point. The
 * input is a config.json and a model.safetensors back to back: a 2-byte little-endian length, that many
 * bytes of config, then the safetensors bytes. A model that loads is run for two decoder steps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t k = (size_t)(data[0] | data[1] << 8);
    if (k > size - 2) k = size - 2;
    char *config = malloc(k + 1); /* its own allocation, so reading past it is caught */
    if (!config) return 0;
    memcpy(config, data + 2, k);
    sf_model m;
    sf_err e = sf_safetensors_load_buffer(data + 2 + k, size - 2 - k, config, k, &m);
    free(config);
    if (!e.ok) {
        if (m.params) abort();
        return 0;
    }
    if (m.format != SF_FORMAT_SAFETENSORS) abort();
    sf_seq s;
    if (sf_seq_build(&s, &m.cfg).ok) {
        sf_decode_step(&m, &s, 0);
        sf_decode_step(&m, &s, m.cfg.vocab_size - 1);
        sf_seq_free(&s);
    }
    sf_model_free(&m);
    return 0;
}
