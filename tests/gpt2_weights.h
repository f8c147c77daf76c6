/* gpt2_weights.h - GPT-2-shaped checkpoints whose weights come from a formula, not a file: the same
 * formula as tests/make_gpt2_fixtures.py (see there), so tests and the bench can write an llm.c file, a
 * Hugging Face model.safetensors and its config.json of any GPT-2 shape, bit for bit what the PyTorch
 * oracle used, without committing megabytes of weights. */
#ifndef SF_TEST_GPT2_WEIGHTS_H
#define SF_TEST_GPT2_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct { int V, Vp, C, NH, L, T; } gw_shape; /* vocab, padded vocab, width, heads, layers, positions */

/* The oracle's model: GPT-2's vocabulary, 2 layers, 64 wide, 4 heads, 128 positions. */
#define GW_SMALL ((gw_shape){50257, 50304, 64, 4, 2, 128})
/* GPT-2 small (124M) as llm.c's gpt2_124M.bin has it. */
#define GW_124M ((gw_shape){50257, 50304, 768, 12, 12, 1024})

/* Returns the number of elements of llm.c tensor t (0..15, llm.c's order) for shape s. */
size_t gw_count(const gw_shape *s, int t);
/* Returns element i of llm.c tensor t (layer-stacked, llm.c's layout); wte's padded rows are 0. */
float gw_weight(const gw_shape *s, int t, size_t i, uint32_t seed);

/* Each writes one file and returns 1, or 0 after printing why; *crc and *bytes (may be NULL) receive
 * the file's CRC-32 and size. */
/* llm.c's layout: version 3 (fp32) or 5 (bf16). */
int gw_write_llmc(const char *path, const gw_shape *s, uint32_t seed, int version, uint32_t *crc, size_t *bytes);
/* Hugging Face's: dtype "F32", "F16" or "BF16"; every name after prefix ("" or "transformer."); with
 * lm_head, an lm_head.weight equal to wte (as a tied GPT2LMHeadModel may hold it). */
int gw_write_safetensors(const char *path, const gw_shape *s, uint32_t seed, const char *dtype, const char *prefix,
                         int lm_head, uint32_t *crc, size_t *bytes);
/* config.json for shape s. */
int gw_write_config(const char *path, const gw_shape *s, uint32_t *crc, size_t *bytes);

#endif
