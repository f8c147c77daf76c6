/* tokenizer.h - text to token ids and back, behind one struct with two kinds, chosen by the model file:
 *   char  ids 0..3 are <pad> <bos> <eos> <unk>, then one id per Unicode code point, in the order the
 *         model's alphabet lists them (the shipped .sfm models);
 *   bpe   GPT-2's byte-level BPE (bpe.h), for llm.c and Hugging Face GPT-2 checkpoints: any bytes encode,
 *         and <|endoftext|> both begins a prompt and ends a text.
 * Every function below works on both kinds; what a token looks like on screen is the tokenizer's job
 * (sf_tokenizer_piece), so panels never see raw bytes. */
#ifndef SF_TOKENIZER_H
#define SF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/io.h"

/* The character kind's fixed ids. */
enum { SF_TOK_PAD = 0, SF_TOK_BOS = 1, SF_TOK_EOS = 2, SF_TOK_UNK = 3, SF_TOK_FIRST_CHAR = 4 };

typedef enum { SF_TOKENIZER_CHAR = 0, SF_TOKENIZER_BPE = 1 } sf_tokenizer_kind;

/* Room for the longest display form of any token (sf_tokenizer_piece_n never needs more). */
#define SF_PIECE_MAX 1040

typedef struct sf_bpe sf_bpe;

typedef struct {
    int kind;          /* sf_tokenizer_kind; a zeroed struct is an empty character tokenizer */
    uint32_t *chars;   /* char: (n_chars) code point of id SF_TOK_FIRST_CHAR + i */
    int n_chars;
    sf_bpe *bpe;       /* bpe: the merge tables and the compiled pre-tokenizer (owned) */
} sf_tokenizer;

/* Builds a character tokenizer from a UTF-8 alphabet (each code point once). Errors name the byte
 * offset of a malformed sequence or a repeated character. */
sf_err sf_tokenizer_build(sf_tokenizer *t, const char *alphabet, size_t len);
/* Builds a byte-level BPE tokenizer from a .sftok file's bytes (docs/tokenizer-format.md); errors name
 * the byte offset. */
sf_err sf_tokenizer_load_bpe_buffer(sf_tokenizer *t, const unsigned char *buf, size_t len);
/* Reads a .sftok file and builds it; messages start with the path. */
sf_err sf_tokenizer_load_bpe(sf_tokenizer *t, const char *path);
void sf_tokenizer_free(sf_tokenizer *t);

/* Returns the printable name of the kind: "characters" or "gpt2-bpe". */
const char *sf_tokenizer_kind_name(const sf_tokenizer *t);
/* Returns the vocabulary size: 4 specials plus the alphabet, or the BPE's token count (GPT-2: 50257). */
int sf_tokenizer_vocab(const sf_tokenizer *t);
/* Returns the id a decoder sequence starts with (<bos>; GPT-2: <|endoftext|> = 50256). */
int sf_tokenizer_bos(const sf_tokenizer *t);
/* Returns the id that ends a generated text (<eos>; GPT-2: <|endoftext|> again). */
int sf_tokenizer_eos(const sf_tokenizer *t);
/* Returns 1 for ids that are neither text nor the end of one, and so never a model's answer:
 * <pad>, <bos> and <unk> of the character kind. The BPE kind has none. */
int sf_tokenizer_is_control(const sf_tokenizer *t, int id);

/* Encodes text into ids (no <bos>/<eos> added); *n receives the count, at most cap. Errors name the
 * position (character index and byte offset). The character kind refuses malformed UTF-8 and characters
 * outside the alphabet; the BPE kind encodes any bytes (bpe.h says how invalid UTF-8 is split). */
sf_err sf_tokenizer_encode(const sf_tokenizer *t, const char *text, size_t len, int *ids, int cap,
                           int *n);

/* Writes the text ids(n) stand for into out (NUL-terminated, at most size - 1 bytes; special tokens by
 * their names, "<eos>"); returns the length the whole text needs, as snprintf does. */
size_t sf_tokenizer_decode(const sf_tokenizer *t, const int *ids, int n, char *out, size_t size);

/* Writes the display form of one id into out and returns out: the character itself, "<bos>" for a
 * special, U+2423 for a space, "\n" for a newline, and, for a BPE token holding part of a UTF-8
 * character, those bytes in hex ("<e6 b3>"), never a replacement character. Cut with "…" to fit size
 * (SF_PIECE_MAX always fits). */
const char *sf_tokenizer_piece_n(const sf_tokenizer *t, int id, char *out, size_t size);
/* The same into a 16-byte label (long BPE tokens are cut with "…"). */
const char *sf_tokenizer_piece(const sf_tokenizer *t, int id, char out[16]);

/* Writes a character tokenizer's alphabet back as UTF-8 into a malloc'd string; *len gets its size.
 * Returns NULL for the BPE kind (which has no alphabet) or when memory is short. */
char *sf_tokenizer_alphabet(const sf_tokenizer *t, size_t *len);

/* sf_utf8_decode and sf_utf8_encode, which the tokenizers use, are in core/io.h. */

#endif
