/* format_llmc.c - the reader of llm.c's GPT-2 checkpoints (gpt2_124M.bin; train_gpt2.py write_model):
 * a 256 x int32 header, then 16 tensors, each layer-stacked (all layers back to back), linear weights
 * (out, in) as ours, the token embedding padded to padded_vocab_size rows (the padding is dropped). */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/io.h"

#define HEADER_BYTES (4 * SF_LLMC_HEADER_INTS)

/* Returns the value of the little-endian 16-bit word at p. */
static uint16_t le_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Copies n weights stored at src (fp32, or bf16 when elt is 2) into dst, refusing non-finite values;
 * at is src's byte offset in the file, for the message. */
static sf_err take(float *dst, const unsigned char *src, size_t n, int elt, size_t at, const char *name, int layer) {
    for (size_t k = 0; k < n; k++) {
        float v = elt == 2 ? sf_bf16_to_f32(le_u16(src + 2 * k)) : sf_le_f32(src + 4 * k);
        if (!isfinite(v)) {
            char where[32] = "";
            if (layer >= 0) snprintf(where, sizeof where, " of layer %d", layer);
            return sf_fail("byte %zu: %s%s element %zu is %s; weights must be finite", at + (size_t)elt * k, name,
                           where, k, isnan(v) ? "NaN" : "infinite");
        }
        dst[k] = v;
    }
    return sf_ok();
}

sf_err sf_llmc_load_buffer(const unsigned char *buf, size_t len, sf_model *m) {
    memset(m, 0, sizeof *m);
    if (len < HEADER_BYTES)
        return sf_fail("byte %zu: the file ends inside the %d-byte llm.c header", len, HEADER_BYTES);
    int32_t h[8];
    for (int i = 0; i < 8; i++) h[i] = (int32_t)sf_le_u32(buf + 4 * i);
    if (h[0] != SF_LLMC_MAGIC) return sf_fail("byte 0: bad magic %d; expected %d (an llm.c GPT-2 checkpoint)", h[0], SF_LLMC_MAGIC);
    if (h[1] != 3 && h[1] != 5)
        return sf_fail("byte 4: version %d is not supported; expected 3 (fp32, padded vocabulary) or 5 (bf16)", h[1]);
    int elt = h[1] == 5 ? 2 : 4;
    static const char *const field[8] = {"magic", "version", "max_seq_len", "vocab_size", "num_layers", "num_heads",
                                         "channels", "padded_vocab_size"};
    static const int lo[8] = {0, 0, 1, 5, 1, 1, 2, 5};
    static const int hi[8] = {0, 0, SF_MAX_LEN, SF_MAX_VOCAB, SF_MAX_LAYERS, SF_MAX_HEADS, SF_MAX_DFF / 4,
                              SF_MAX_VOCAB + 128};
    for (int i = 2; i < 8; i++)
        if (h[i] < lo[i] || h[i] > hi[i])
            return sf_fail("byte %d: %s is %d; expected %d to %d", 4 * i, field[i], h[i], lo[i], hi[i]);
    int T = h[2], V = h[3], L = h[4], NH = h[5], C = h[6], Vp = h[7];
    if (C % NH) return sf_fail("byte 24: channels %d is not divisible by num_heads %d", C, NH);
    if (Vp < V) return sf_fail("byte 28: padded_vocab_size %d is smaller than vocab_size %d", Vp, V);

    /* the 16 tensors in llm.c's order; each is the per-layer count times L where layer-stacked */
    size_t c = (size_t)C;
    const struct { const char *name; size_t each; int stacked; } t[16] = {
        {"wte", (size_t)Vp * c, 0},   {"wpe", (size_t)T * c, 0},  {"ln1w", c, 1},        {"ln1b", c, 1},
        {"qkvw", 3 * c * c, 1},       {"qkvb", 3 * c, 1},         {"attprojw", c * c, 1}, {"attprojb", c, 1},
        {"ln2w", c, 1},               {"ln2b", c, 1},             {"fcw", 4 * c * c, 1}, {"fcb", 4 * c, 1},
        {"fcprojw", 4 * c * c, 1},    {"fcprojb", c, 1},          {"lnfw", c, 0},        {"lnfb", c, 0},
    };
    size_t off[17], total = HEADER_BYTES, n_floats = 0;
    for (int i = 0; i < 16; i++) {
        size_t n = t[i].each, bytes;
        if (t[i].stacked && !sf_mul_size(n, (size_t)L, &n)) return sf_fail("byte 16: the shapes overflow");
        if (!sf_mul_size(n, (size_t)elt, &bytes) || !sf_add_size(n_floats, n, &n_floats)) return sf_fail("byte 16: the shapes overflow");
        off[i] = total;
        if (!sf_add_size(total, bytes, &total)) return sf_fail("byte 16: the shapes overflow");
    }
    off[16] = total;
    if (len < total)
        return sf_fail("byte %zu: the file ends here, but the header's shapes need %zu parameters (%zu bytes in all): "
                       "is it truncated?", len, n_floats, total);
    if (len > total)
        return sf_fail("byte %zu: %zu bytes follow the last tensor; the header's shapes need exactly %zu bytes", total,
                       len - total, total);

    sf_config cfg = sf_config_default(SF_FAMILY_GPT);
    cfg.vocab_size = V;
    cfg.d_model = C;
    cfg.n_heads = NH;
    cfg.d_ff = 4 * C;
    cfg.n_dec_layers = L;
    cfg.max_len = T;
    sf_err e = sf_model_build_limited(m, &cfg, len / (size_t)elt);
    if (!e.ok) return sf_err_wrap(e, "byte 8");
    sf_weights *w = &m->w;
    /* the embeddings: only the first V rows of wte are tokens */
    if (!(e = take(w->tok_emb, buf + off[0], (size_t)V * c, elt, off[0], "wte", -1)).ok) goto fail;
    if (!(e = take(w->pos_emb, buf + off[1], (size_t)T * c, elt, off[1], "wpe", -1)).ok) goto fail;
    for (int l = 0; l < L; l++) {
        sf_layer_w *lw = &w->dec[l];
        float *dst[12] = {lw->ln_self.w, lw->ln_self.b, lw->self.w_in, lw->self.b_in, lw->self.wo, lw->self.bo,
                          lw->ln_ffn.w,  lw->ln_ffn.b,  lw->ffn.w1,    lw->ffn.b1,    lw->ffn.w2,  lw->ffn.b2};
        for (int i = 2; i < 14; i++) {
            size_t at = off[i] + (size_t)l * t[i].each * (size_t)elt;
            if (!(e = take(dst[i - 2], buf + at, t[i].each, elt, at, t[i].name, l)).ok) goto fail;
        }
    }
    if (!(e = take(w->dec_ln_f.w, buf + off[14], c, elt, off[14], "lnfw", -1)).ok) goto fail;
    if (!(e = take(w->dec_ln_f.b, buf + off[15], c, elt, off[15], "lnfb", -1)).ok) goto fail;
    m->format = SF_FORMAT_LLMC;
    return sf_ok();
fail:
    sf_model_free(m);
    return e;
}
