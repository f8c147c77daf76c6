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

/* Loads any model file by content with its tokenizer: sf_model_load(path, NULL, m) (format.h).
 * Messages start with the path. */
sf_err sf_checkpoint_load(const char *path, sf_model *m);

/* Serialises m (weights in canonical order, 4-byte aligned) into out, which the caller frees. */
sf_err sf_checkpoint_encode(const sf_model *m, sf_buf *out);

/* Writes m to path atomically (temporary file in the same folder, fsync, rename). */
sf_err sf_checkpoint_save(const sf_model *m, const char *path);

#endif
