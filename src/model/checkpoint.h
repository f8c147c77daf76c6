/* checkpoint.h - reading and writing models in the .sfm format (docs/checkpoint-format.md). */
#ifndef SF_CHECKPOINT_H
#define SF_CHECKPOINT_H

#include <stddef.h>

#include "../core/io.h"
#include "model.h"

#define SF_CKPT_MAGIC "SFMODEL"  /* 7 letters and a NUL: 8 bytes */
#define SF_CKPT_VERSION 1
#define SF_CKPT_MAX_ALPHABET 262144
#define SF_CKPT_MAX_TENSORS 100000
#define SF_CKPT_CONFIG_BYTES 64 /* sixteen 4-byte fields */

/* Parses a model file from (buf, len) into m (which it builds), choosing the reader by content
 * (format.h): .sfm, or llm.c's GPT-2 layout (whose tokenizer is left empty: sf_model_load adds it).
 * On failure m is left empty and the message names the byte offset and what was expected there. Never
 * aborts; allocates only what the validated header implies, never more than the buffer could hold. */
sf_err sf_checkpoint_load_buffer(const unsigned char *buf, size_t len, sf_model *m);

/* Returns the exact size of the .sfm checkpoint of config c with an alphabet of alphabet_bytes in
 * *file_bytes (may be NULL), or the loader's refusal: config out of range, alphabet too long, or a file
 * larger than SF_MAX_FILE_BYTES. Whatever writes a new model (init) checks this first, so it never writes
 * a file that no command can load. (Implemented with the reader, in format_sfm.c.) */
sf_err sf_checkpoint_plan(const sf_config *c, size_t alphabet_bytes, size_t *file_bytes);

/* The bytes at the start of a checkpoint that say how long the whole file is: magic, version, config,
 * alphabet length. */
#define SF_CKPT_HEAD_BYTES 84

/* Checks the first n bytes of a .sfm file (SF_CKPT_HEAD_BYTES, or the whole file if shorter) and that the
 * file's size is exactly the one they imply; what sf_model_load does before reading a .sfm file on. Any
 * file sf_sfm_load_buffer accepts passes this too. */
sf_err sf_checkpoint_check_head(const unsigned char *head, size_t n, size_t file_size);

/* Loads any model file by content with its tokenizer: sf_model_load(path, NULL, m) (format.h), which
 * checks a .sfm file's first 84 bytes (magic, config, and the exact size they imply) before it reads the
 * rest. Messages start with the path. */
sf_err sf_checkpoint_load(const char *path, sf_model *m);

/* Serialises m (weights in canonical order, 4-byte aligned) into out, which the caller frees. */
sf_err sf_checkpoint_encode(const sf_model *m, sf_buf *out);

/* Writes m to path atomically (temporary file in the same folder, fsync, rename). */
sf_err sf_checkpoint_save(const sf_model *m, const char *path);

#endif
