/* fuzz_alphabet.c - libFuzzer harness for the tokenizer alphabet (the tokenizer "file" a checkpoint
 * carries): the bytes become an alphabet through sf_tokenizer_build, a fixed text is encoded with it,
 * every id is turned back into its printable piece, and the alphabet is written back out, which must
 * give exactly the bytes that went in (each code point once, strict UTF-8, so the round trip is exact). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char text[] = "hello, world \xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80 0123456789";
    sf_tokenizer t;
    sf_err e = sf_tokenizer_build(&t, (const char *)data, size);
    if (!e.ok) {
        if (t.chars || t.n_chars) abort(); /* a failed build leaves the tokenizer empty */
        return 0;
    }
    int ids[64], n = -1;
    e = sf_tokenizer_encode(&t, text, sizeof text - 1, ids, 64, &n);
    if (e.ok) {
        for (int i = 0; i < n; i++)
            if (ids[i] < SF_TOK_FIRST_CHAR || ids[i] >= sf_tokenizer_vocab(&t)) abort();
    }
    /* the same text, capped short: must stop with an error, never write past cap */
    int small[3];
    sf_tokenizer_encode(&t, text, sizeof text - 1, small, 3, &n);
    if (n > 3) abort();
    char piece[16];
    for (int id = -2; id < sf_tokenizer_vocab(&t) + 2; id++) {
        sf_tokenizer_piece(&t, id, piece);
        if (strlen(piece) >= sizeof piece) abort();
    }
    size_t len = 0;
    char *back = sf_tokenizer_alphabet(&t, &len);
    if (back) {
        if (len != size || memcmp(back, data, size) != 0) abort(); /* round trip is exact */
        sf_tokenizer u;
        if (!sf_tokenizer_build(&u, back, len).ok || u.n_chars != t.n_chars) abort();
        sf_tokenizer_free(&u);
        free(back);
    }
    sf_tokenizer_free(&t);
    return 0;
}
