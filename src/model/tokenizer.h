/* tokenizer.h - a character tokenizer: ids 0..3 are <pad> <bos> <eos> <unk>, then one id per
 * Unicode code point, in the order the model's alphabet lists them. */
#ifndef SF_TOKENIZER_H
#define SF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

enum { SF_TOK_PAD = 0, SF_TOK_BOS = 1, SF_TOK_EOS = 2, SF_TOK_UNK = 3, SF_TOK_FIRST_CHAR = 4 };

typedef struct {
    uint32_t *chars; /* (n_chars) code point of id SF_TOK_FIRST_CHAR + i */
    int n_chars;
} sf_tokenizer;

/* Builds a tokenizer from a UTF-8 alphabet (each code point once). Errors name the byte offset of a
 * malformed sequence or a repeated character. */
sf_err sf_tokenizer_build(sf_tokenizer *t, const char *alphabet, size_t len);
void sf_tokenizer_free(sf_tokenizer *t);

/* Returns the vocabulary size: 4 specials plus the alphabet. */
int sf_tokenizer_vocab(const sf_tokenizer *t);

/* Encodes UTF-8 text into ids (no <bos>/<eos> added); *n receives the count, at most cap.
 * Errors name the character and its position (character index and byte offset). */
sf_err sf_tokenizer_encode(const sf_tokenizer *t, const char *text, size_t len, int *ids, int cap,
                           int *n);

/* Writes the printable form of one id into out ("a", "<bos>", ...); returns out. */
const char *sf_tokenizer_piece(const sf_tokenizer *t, int id, char out[16]);

/* Writes the alphabet back as UTF-8 into a sf_buf-compatible malloc'd string; *len gets its size. */
char *sf_tokenizer_alphabet(const sf_tokenizer *t, size_t *len);

/* Decodes one UTF-8 code point at s[*pos] (len bytes total); returns 1 and advances, or 0 if malformed. */
int sf_utf8_decode(const char *s, size_t len, size_t *pos, uint32_t *cp);
/* Writes code point cp as UTF-8 into out (at least 5 bytes, NUL-terminated); returns the byte count. */
int sf_utf8_encode(uint32_t cp, char *out);

#endif
