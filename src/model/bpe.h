/* bpe.h - GPT-2's byte-level byte-pair encoding: the tables of a .sftok file (docs/tokenizer-format.md),
 * OpenAI's pre-tokenizer regex (through PCRE2) and the merge loop.
 *
 * Ids 0..255 are the 256 single bytes, id 256 + r is made by merge r (so a token's id is its merge
 * rank), and the special tokens (GPT-2: <|endoftext|> = 50256) come last. Encoding splits the text with
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (\s being Unicode's White_Space, as in OpenAI's encoder.py with Python's regex module), then, inside
 * each piece, repeatedly merges the adjacent pair with the lowest rank (leftmost first).
 * Any bytes can be encoded: each maximal run of bytes that is not valid UTF-8 is a piece of its own, so
 * decoding always gives back exactly the bytes that were encoded. Special tokens are never produced
 * from text ("<|endoftext|>" in a text is ordinary text, as in OpenAI's encoder). */
#ifndef SF_BPE_H
#define SF_BPE_H

#include <stddef.h>

#include "../core/err.h"

#define SF_BPE_MAGIC "SFTOKBPE"      /* 8 bytes, no NUL */
#define SF_BPE_VERSION 1
#define SF_BPE_PRETOKENIZER_GPT2 1   /* the only pre-tokenizer: OpenAI's GPT-2 regex */
#define SF_BPE_MAX_SPECIAL 16
#define SF_BPE_MAX_TOKEN_BYTES 256   /* GPT-2's longest token has 128 */
#define SF_BPE_MAX_TEXT_BYTES ((size_t)64 << 20) /* the longest text one encode call accepts */

typedef struct sf_bpe sf_bpe;

/* Parses a .sftok file from (buf, len) into a new table set (*out), compiling the pre-tokenizer.
 * Every field is checked before it is used; errors name the byte offset. On failure *out is NULL. */
sf_err sf_bpe_load_buffer(const unsigned char *buf, size_t len, sf_bpe **out);
void sf_bpe_free(sf_bpe *b);

/* Returns the number of token ids (256 + merges + specials; GPT-2: 50257). */
int sf_bpe_vocab(const sf_bpe *b);
/* Returns the id of the end-of-text token (GPT-2: 50256), which also begins a prompt. */
int sf_bpe_eot(const sf_bpe *b);
/* Returns 1 if id is a special token (no bytes of text; shown by its name). */
int sf_bpe_is_special(const sf_bpe *b, int id);

/* Returns the bytes of token id (the text of a special token's name) and their count in *len,
 * or NULL when id is outside the vocabulary. */
const unsigned char *sf_bpe_bytes(const sf_bpe *b, int id, size_t *len);

/* Encodes len bytes of text into ids; *n receives the count, at most cap (a longer result is an error
 * naming the byte where the limit was reached). Never fails on the bytes themselves. */
sf_err sf_bpe_encode(const sf_bpe *b, const char *text, size_t len, int *ids, int cap, int *n);

#endif
