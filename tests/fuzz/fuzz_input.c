/* fuzz_input.c - libFuzzer harness for the text input path: tokenize arbitrary bytes with a model's
 * alphabet, then run the model one step on whatever was accepted (as the GUI's input box does). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sf_model model;
static sf_seq seq;
static int ready;

/* Builds, once, a small random encoder-decoder model whose alphabet includes non-ASCII letters. */
static void setup(void) {
    static const char alpha[] = "abcdefgh \xC3\xA9\xE4\xB8\xAD"; /* ... space, é, 中 */
    sf_config c = sf_config_default(SF_FAMILY_ENCDEC);
    c.d_model = 8; c.n_heads = 2; c.d_ff = 8; c.n_enc_layers = 1; c.n_dec_layers = 1; c.max_len = 12;
    c.vocab_size = 4 + 11;
    if (!sf_model_build(&model, &c).ok || !sf_tokenizer_build(&model.tok, alpha, strlen(alpha)).ok) abort();
    sf_model_init_random(&model, 1);
    if (!sf_seq_build(&seq, &c).ok) abort();
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) setup();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* the program's input box hands over NUL-terminated UTF-8 */
    sf_run_opts o = {.input = text, .max_new = 3};
    sf_run(&model, &seq, &o, NULL);
    free(text);
    return 0;
}
