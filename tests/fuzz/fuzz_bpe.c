/* fuzz_bpe.c - libFuzzer harness for GPT-2's byte-level BPE. Input that starts with the .sftok magic is
 * parsed as a tokenizer file (sf_tokenizer_load_bpe_buffer); if it loads, a fixed text is encoded with
 * it and every piece shown. Any other input is text for the shipped GPT-2 tokenizer: it must encode
 * (any bytes do), decode back to exactly the same bytes, and show every token it produced. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bpe.h"
#include "model/tokenizer.h"

#ifndef SF_SOURCE_DIR
#define SF_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sf_tokenizer gpt2;
static int ready;

/* Encodes text with t, decodes it, shows each token; aborts if decoding does not give the bytes back
 * (check) or an id is outside the vocabulary. */
static void exercise(const sf_tokenizer *t, const char *text, size_t len, int check) {
    int cap = (int)len + 1, n;
    int *ids = malloc((size_t)cap * sizeof *ids);
    char *back = malloc(len + 1), piece[SF_PIECE_MAX], small[16];
    if (!ids || !back) { free(ids); free(back); return; }
    if (sf_tokenizer_encode(t, text, len, ids, cap, &n).ok) {
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= sf_tokenizer_vocab(t)) abort();
            sf_tokenizer_piece_n(t, ids[i], piece, sizeof piece);
            sf_tokenizer_piece(t, ids[i], small);
        }
        size_t need = sf_tokenizer_decode(t, ids, n, back, len + 1);
        if (check && (need != len || memcmp(back, text, len) != 0)) abort();
        if (n > 1 && sf_tokenizer_encode(t, text, len, ids, n - 1, &n).ok) abort(); /* the cap holds */
    } else if (check) {
        abort(); /* GPT-2's BPE encodes any bytes (below the text limit) */
    }
    free(ids);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) {
        if (!sf_tokenizer_load_bpe(&gpt2, SF_SOURCE_DIR "/assets/tokenizers/gpt2.sftok").ok) abort();
        ready = 1;
    }
    if (size >= 8 && memcmp(data, SF_BPE_MAGIC, 8) == 0) {
        sf_tokenizer t;
        if (!sf_tokenizer_load_bpe_buffer(&t, data, size).ok) {
            if (t.bpe) abort();
            return 0;
        }
        static const char text[] = "Hello, world! \xE4\xBD\xA0\xE5\xA5\xBD  \n\n 12345 \xF0\x9F\x91\x8B \xFF\xFE";
        exercise(&t, text, sizeof text - 1, 1);
        char piece[SF_PIECE_MAX];
        for (int id = -1; id <= sf_tokenizer_vocab(&t); id++) sf_tokenizer_piece_n(&t, id, piece, sizeof piece);
        sf_tokenizer_free(&t);
        return 0;
    }
    exercise(&gpt2, (const char *)data, size, 1);
    return 0;
}
