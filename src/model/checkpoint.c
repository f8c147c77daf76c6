/* checkpoint.c - the .sfm writer and its atomic save (the reader is format_sfm.c; format.c picks readers). */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_err sf_checkpoint_encode(const sf_model *m, sf_buf *out) {
    const sf_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    sf_buf_put(out, SF_CKPT_MAGIC, 8);
    sf_buf_u32(out, SF_CKPT_VERSION);
    sf_buf_u32(out, SF_CKPT_CONFIG_BYTES);
    int32_t f[13] = {c->family, c->vocab_size, c->d_model, c->n_heads, c->d_ff, c->n_enc_layers, c->n_dec_layers,
                     c->max_len, c->pos, c->norm, c->act, c->tied, c->scale_emb};
    for (int i = 0; i < 13; i++) sf_buf_u32(out, (uint32_t)f[i]);
    sf_buf_f32(out, c->ln_eps);
    sf_buf_u32(out, 0);
    sf_buf_u32(out, 0);
    size_t alen;
    if (m->tok.kind != SF_TOKENIZER_CHAR) {
        sf_buf_free(out);
        return sf_fail("checkpoint: this model's tokenizer is %s; a .sfm file holds only a character alphabet",
                       sf_tokenizer_kind_name(&m->tok));
    }
    char *alpha = sf_tokenizer_alphabet(&m->tok, &alen);
    if (!alpha) { sf_buf_free(out); return sf_fail("checkpoint: out of memory"); }
    sf_buf_u32(out, (uint32_t)alen);
    sf_buf_put(out, alpha, alen);
    free(alpha);
    sf_buf_u32(out, (uint32_t)m->n_table);
    /* the records' size is known up front, so each data offset can be written in one pass */
    size_t table = 0;
    for (int i = 0; i < m->n_table; i++) table += 2 + strlen(m->table[i].name) + 2 + 4 * (size_t)m->table[i].rank + 8;
    size_t data = (out->len + table + 3) & ~(size_t)3, off = data;
    for (int i = 0; i < m->n_table; i++) {
        const sf_param *p = &m->table[i];
        size_t nl = strlen(p->name);
        sf_buf_u16(out, (uint16_t)nl);
        sf_buf_put(out, p->name, nl);
        sf_buf_u8(out, (uint8_t)p->rank);
        sf_buf_u8(out, 0);
        for (int d = 0; d < p->rank; d++) sf_buf_u32(out, (uint32_t)p->dims[d]);
        sf_buf_u64(out, off);
        off += 4 * p->count;
    }
    while (out->len < data) sf_buf_u8(out, 0);
    for (int i = 0; i < m->n_table; i++) {
        const float *x = m->params + m->table[i].offset;
        for (size_t k = 0; k < m->table[i].count; k++) sf_buf_f32(out, x[k]);
    }
    if (!out->failed) sf_buf_u32(out, sf_crc32(0, out->data, out->len));
    if (out->failed) {
        sf_buf_free(out);
        return sf_fail("checkpoint: out of memory while encoding");
    }
    return sf_ok();
}

sf_err sf_checkpoint_save(const sf_model *m, const char *path) {
    sf_buf b;
    sf_err e = sf_checkpoint_encode(m, &b);
    if (!e.ok) return e;
    e = sf_write_file_atomic(path, b.data, b.len);
    sf_buf_free(&b);
    return e;
}
