/* format.h - model files: three readers into one sf_model, and the dispatcher that picks one by content.
 *
 *   .sfm         stepformer's own checkpoint (docs/checkpoint-format.md); starts "SFMODEL\0"
 *   llm.c        gpt2_124M.bin and its kind (docs/gpt2.md): a 256 x int32 header, magic 20240326,
 *                version 3 (fp32, padded vocabulary) or 5 (bf16); 16 layer-stacked tensors, (out, in)
 *   safetensors  a Hugging Face GPT-2 model.safetensors (u64 header length, then a JSON header "{"),
 *                read with the config.json beside it; Conv1D weights (in, out), F32, F16 or BF16
 *
 * None of the readers knows the others. Each parses from (buffer, length), validates every field with
 * overflow-checked arithmetic before it allocates, names the byte offset in its errors, and is fuzzed
 * from that entry point (tests/fuzz). GPT-2 files carry no tokenizer: sf_model_load adds the byte-level
 * BPE (bpe.h) from a .sftok file. */
#ifndef SF_FORMAT_H
#define SF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum { SF_FORMAT_UNKNOWN = 0, SF_FORMAT_SFM = 1, SF_FORMAT_LLMC = 2, SF_FORMAT_SAFETENSORS = 3 } sf_format;

#define SF_LLMC_MAGIC 20240326
#define SF_LLMC_HEADER_INTS 256
#define SF_SAFETENSORS_MAX_HEADER 100000000 /* the limit safetensors itself puts on its JSON header */
#define SF_CONFIG_JSON_MAX_BYTES ((size_t)1 << 20)
/* Where sf_model_load looks for GPT-2's tokenizer when none is given (after the current folder's
 * assets/tokenizers/gpt2.sftok). */
#ifndef SF_ASSET_DIR
#define SF_ASSET_DIR "assets"
#endif
#define SF_GPT2_TOKENIZER "tokenizers/gpt2.sftok"

/* Returns the format the bytes look like (by magic alone; nothing is validated). */
sf_format sf_format_detect(const unsigned char *buf, size_t len);
/* Returns the printable name of a format ("sfm", "llm.c", "safetensors", "?"). */
const char *sf_format_name(int format);

/* The three readers. Each builds m (tokenizer left empty except for .sfm, whose alphabet it holds);
 * on failure m is left empty. */
sf_err sf_sfm_load_buffer(const unsigned char *buf, size_t len, sf_model *m);
sf_err sf_llmc_load_buffer(const unsigned char *buf, size_t len, sf_model *m);
/* config (config_len bytes) is the config.json that names the sizes; its errors say "config.json". */
sf_err sf_safetensors_load_buffer(const unsigned char *buf, size_t len, const char *config, size_t config_len,
                                  sf_model *m);

typedef struct {
    const char *tokenizer; /* .sftok file for GPT-2 models; NULL: ./assets/tokenizers/gpt2.sftok, then
                            * SF_ASSET_DIR's (the source tree's, in a build) */
} sf_load_opts;

/* Loads a model file of any format by content: maps it (sf_map_file), runs its reader and, for GPT-2
 * files, adds the tokenizer and checks that its vocabulary matches the model's. A folder is taken as a
 * Hugging Face snapshot (its model.safetensors). o may be NULL. Messages start with the path. */
sf_err sf_model_load(const char *path, const sf_load_opts *o, sf_model *m);

/* Returns the float value of an IEEE half (binary16) and of a bfloat16, both as stored (little-endian). */
float sf_f16_to_f32(uint16_t h);
float sf_bf16_to_f32(uint16_t h);

#endif
