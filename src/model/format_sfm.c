/* format_sfm.c - the reader of stepformer's own .sfm checkpoints (docs/checkpoint-format.md): the header
 * first (its first 84 bytes say exactly how long the file is), then validate everything, then allocate. */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static sf_err at(size_t off, sf_err e) {
    if (e.ok) return e;
    char pre[32];
    snprintf(pre, sizeof pre, "byte %zu", off);
    return sf_err_wrap(e, pre);
}

typedef struct { size_t begin, end; int index; } range;

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Reads the fixed header (magic, version, config) and the alphabet's length from r, checking each. */
static sf_err read_head(sf_reader *r, sf_config *cfg, uint32_t *alpha_bytes, size_t *cfg_at) {
    sf_err e;
    const unsigned char *bytes;
    uint32_t u;
    if (r->len == 0) return sf_fail("byte 0: the file is empty; expected a stepformer checkpoint");
    if ((e = sf_read_bytes(r, &bytes, 8, "the magic")).ok == 0) return e;
    if (memcmp(bytes, SF_CKPT_MAGIC, 8) != 0)
        return sf_fail("byte 0: bad magic; expected \"SFMODEL\\0\" (is this a stepformer checkpoint?)");
    if (!(e = sf_read_u32(r, &u, "the version")).ok) return e;
    if (u != SF_CKPT_VERSION)
        return sf_fail("byte 8: version %u is not supported; expected %d", u, SF_CKPT_VERSION);
    if (!(e = sf_read_u32(r, &u, "the config size")).ok) return e;
    if (u != SF_CKPT_CONFIG_BYTES) return sf_fail("byte 12: config size %u; expected %d", u, SF_CKPT_CONFIG_BYTES);

    /* config: sixteen 4-byte fields */
    *cfg_at = r->pos;
    if (!(e = sf_read_bytes(r, &bytes, SF_CKPT_CONFIG_BYTES, "the config")).ok) return e;
    sf_config c;
    int32_t f[16];
    for (int i = 0; i < 16; i++) f[i] = (int32_t)sf_le_u32(bytes + 4 * i);
    c.family = f[0]; c.vocab_size = f[1]; c.d_model = f[2]; c.n_heads = f[3]; c.d_ff = f[4];
    c.n_enc_layers = f[5]; c.n_dec_layers = f[6]; c.max_len = f[7]; c.pos = f[8]; c.norm = f[9];
    c.act = f[10]; c.tied = f[11]; c.scale_emb = f[12]; c.ln_eps = sf_le_f32(bytes + 52);
    if ((e = sf_config_validate(&c)).ok == 0) return at(*cfg_at, e);
    if (f[14] != 0 || f[15] != 0) return sf_fail("byte %zu: reserved config fields must be 0", *cfg_at + 56);
    *cfg = c;

    size_t alpha_at = r->pos;
    if (!(e = sf_read_u32(r, alpha_bytes, "the alphabet size")).ok) return e;
    if (*alpha_bytes > SF_CKPT_MAX_ALPHABET)
        return sf_fail("byte %zu: alphabet of %u bytes; at most %d expected", alpha_at, *alpha_bytes, SF_CKPT_MAX_ALPHABET);
    return sf_ok();
}

/* Returns (in *out) the exact length of a checkpoint of config c with an alphabet of alpha_bytes: the
 * header, the tensor table the config implies, padding to 4, the weights and the checksum. */
static sf_err size_for(const sf_config *c, size_t alpha_bytes, size_t *out) {
    sf_model plan;
    sf_err e = sf_model_plan(&plan, c);
    if (!e.ok) return e;
    size_t n = 16 + SF_CKPT_CONFIG_BYTES + 4 + alpha_bytes + 4;
    for (int i = 0; i < plan.n_table; i++) n += 2 + strlen(plan.table[i].name) + 2 + 4 * (size_t)plan.table[i].rank + 8;
    *out = ((n + 3) & ~(size_t)3) + 4 * plan.n_params + 4; /* bounded by the config limits: no overflow */
    sf_model_free(&plan);
    return sf_ok();
}

sf_err sf_checkpoint_plan(const sf_config *c, size_t alphabet_bytes, size_t *file_bytes) {
    sf_err e = sf_config_validate(c);
    if (!e.ok) return e;
    if (alphabet_bytes > SF_CKPT_MAX_ALPHABET)
        return sf_fail("alphabet of %zu bytes; at most %d fit a checkpoint", alphabet_bytes, SF_CKPT_MAX_ALPHABET);
    size_t n;
    if (!(e = size_for(c, alphabet_bytes, &n)).ok) return e;
    if (n > SF_MAX_FILE_BYTES)
        return sf_fail("the checkpoint would be %zu bytes (%zu MiB); checkpoints are at most %zu MiB, so no "
                       "command could load it (use a smaller d_model, d_ff, vocabulary or fewer layers)",
                       n, n >> 20, SF_MAX_FILE_BYTES >> 20);
    if (file_bytes) *file_bytes = n;
    return sf_ok();
}

sf_err sf_sfm_load_buffer(const unsigned char *buf, size_t len, sf_model *m) {
    memset(m, 0, sizeof *m);
    sf_reader r = {buf, len, 0};
    sf_err e;
    const unsigned char *bytes;
    uint32_t u;

    /* header and config */
    sf_config c;
    size_t cfg_at;
    if (!(e = read_head(&r, &c, &u, &cfg_at)).ok) return e;

    /* tokenizer alphabet */
    size_t alpha_at = r.pos - 4;
    if (!(e = sf_read_bytes(&r, &bytes, u, "the alphabet")).ok) return e;
    sf_tokenizer tok;
    if (!(e = sf_tokenizer_build(&tok, (const char *)bytes, u)).ok) return at(alpha_at + 4, e);
    if (sf_tokenizer_vocab(&tok) != c.vocab_size) {
        int v = sf_tokenizer_vocab(&tok);
        sf_tokenizer_free(&tok);
        return sf_fail("byte %zu: the alphabet gives %d tokens (4 specials + %d characters) but vocab_size is %d",
                       alpha_at, v, v - 4, c.vocab_size);
    }

    /* tensor table: checked against the layout the config implies, before the weights exist */
    size_t count_at = r.pos;
    uint32_t n_tensors;
    if (!(e = sf_read_u32(&r, &n_tensors, "the tensor count")).ok) goto fail_tok;
    if (n_tensors < 1 || n_tensors > SF_CKPT_MAX_TENSORS) {
        e = sf_fail("byte %zu: tensor count %u; expected 1 to %d", count_at, n_tensors, SF_CKPT_MAX_TENSORS);
        goto fail_tok;
    }
    /* the weights can never need more floats than the file has bytes / 4 */
    if ((e = sf_model_build_limited(m, &c, len / 4)).ok == 0) { e = at(cfg_at, e); goto fail_tok; }
    m->tok = tok;
    if ((int)n_tensors != m->n_table) {
        e = sf_fail("byte %zu: %u tensors; this config needs exactly %d", count_at, n_tensors, m->n_table);
        goto fail;
    }
    range *rg = calloc(n_tensors, sizeof *rg);
    if (!rg) { e = sf_fail("out of memory"); goto fail; }
    for (uint32_t i = 0; i < n_tensors; i++) {
        size_t rec_at = r.pos;
        uint16_t nlen;
        uint8_t rank, reserved;
        if (!(e = sf_read_u16(&r, &nlen, "a tensor name length")).ok) goto fail_rg;
        if (nlen < 1 || nlen > 47) { e = sf_fail("byte %zu: tensor %u name length %u; expected 1 to 47", rec_at, i, nlen); goto fail_rg; }
        if (!(e = sf_read_bytes(&r, &bytes, nlen, "a tensor name")).ok) goto fail_rg;
        char name[48];
        memcpy(name, bytes, nlen);
        name[nlen] = 0;
        if (strlen(name) != nlen) { e = sf_fail("byte %zu: tensor %u name contains a NUL byte", rec_at + 2, i); goto fail_rg; }
        const sf_param *p = sf_model_param(m, name);
        if (!p) { e = sf_fail("byte %zu: unknown tensor \"%s\" for this config", rec_at + 2, name); goto fail_rg; }
        int idx = (int)(p - m->table);
        if (rg[idx].end != 0) { e = sf_fail("byte %zu: tensor \"%s\" appears twice", rec_at + 2, name); goto fail_rg; }
        size_t rank_at = r.pos;
        if (!(e = sf_read_u8(&r, &rank, "a tensor rank")).ok) goto fail_rg;
        if (!(e = sf_read_u8(&r, &reserved, "a reserved byte")).ok) goto fail_rg;
        if (rank != p->rank) { e = sf_fail("byte %zu: tensor \"%s\" has rank %u; expected %d", rank_at, name, rank, p->rank); goto fail_rg; }
        for (int d = 0; d < rank; d++) {
            size_t dim_at = r.pos;
            if (!(e = sf_read_u32(&r, &u, "a tensor dimension")).ok) goto fail_rg;
            if ((int64_t)u != (int64_t)p->dims[d]) {
                e = sf_fail("byte %zu: tensor \"%s\" dimension %d is %u; expected %d", dim_at, name, d, u, p->dims[d]);
                goto fail_rg;
            }
        }
        uint64_t off;
        size_t off_at = r.pos;
        if (!(e = sf_read_u64(&r, &off, "a tensor offset")).ok) goto fail_rg;
        size_t nbytes = p->count * 4, end;
        if (off > (uint64_t)len || !sf_add_size((size_t)off, nbytes, &end) || off % 4 != 0) {
            e = sf_fail("byte %zu: tensor \"%s\" offset %llu is past the end of the file or not a multiple of 4",
                        off_at, name, (unsigned long long)off);
            goto fail_rg;
        }
        rg[idx].begin = (size_t)off;
        rg[idx].end = end;
        rg[idx].index = (int)off_at; /* where the offset was written, for messages */
    }
    /* data ranges: inside [end of table, len - 4), not overlapping */
    if (len < 4 || r.pos > len - 4) { e = sf_fail("byte %zu: file ends before the checksum", r.pos); goto fail_rg; }
    size_t data_end = len - 4;
    range *sorted = malloc(n_tensors * sizeof *sorted);
    if (!sorted) { e = sf_fail("out of memory"); goto fail_rg; }
    memcpy(sorted, rg, n_tensors * sizeof *sorted);
    for (uint32_t i = 0; i < n_tensors; i++) sorted[i].index = (int)i;
    qsort(sorted, n_tensors, sizeof *sorted, cmp_range);
    for (uint32_t i = 0; i < n_tensors; i++) {
        const range *x = &sorted[i];
        const char *name = m->table[x->index].name;
        if (x->begin < r.pos) {
            e = sf_fail("byte %d: tensor \"%s\" data at byte %zu overlaps the header (which ends at byte %zu)",
                        rg[x->index].index, name, x->begin, r.pos);
        } else if (x->end > data_end) {
            e = sf_fail("byte %d: tensor \"%s\" data (bytes %zu to %zu) runs past the end of the data (byte %zu)",
                        rg[x->index].index, name, x->begin, x->end, data_end);
        } else if (i > 0 && x->begin < sorted[i - 1].end) {
            e = sf_fail("byte %d: tensor \"%s\" data overlaps tensor \"%s\"", rg[x->index].index, name,
                        m->table[sorted[i - 1].index].name);
        } else continue;
        free(sorted);
        goto fail_rg;
    }
    free(sorted);
    /* the data section holds the tensors and nothing else (so a file's size follows from its header) */
    size_t data_at = (r.pos + 3) & ~(size_t)3;
    if (data_end - data_at != 4 * m->n_params) {
        e = sf_fail("byte %zu: the data section is %zu bytes but the tensors take %zu; a checkpoint holds nothing "
                    "else (something appended, or a gap between tensors)", data_at, data_end - data_at, 4 * m->n_params);
        goto fail_rg;
    }

    /* checksum, then the weights themselves */
    uint32_t want = sf_le_u32(buf + data_end), got = sf_crc32(0, buf, data_end);
    if (want != got) {
        e = sf_fail("byte %zu: checksum mismatch (file says %08x, contents give %08x): the file is damaged",
                    data_end, want, got);
        goto fail_rg;
    }
    for (int i = 0; i < m->n_table; i++) {
        const sf_param *p = &m->table[i];
        float *dst = m->params + p->offset;
        const unsigned char *src = buf + rg[i].begin;
        for (size_t k = 0; k < p->count; k++) {
            float v = sf_le_f32(src + 4 * k);
            if (!isfinite(v)) {
                e = sf_fail("byte %zu: tensor \"%s\" element %zu is %s; weights must be finite", rg[i].begin + 4 * k,
                            p->name, k, isnan(v) ? "NaN" : "infinite");
                goto fail_rg;
            }
            dst[k] = v;
        }
    }
    free(rg);
    return sf_ok();

fail_rg:
    free(rg);
fail:
    sf_model_free(m); /* also frees the tokenizer */
    return e;
fail_tok:
    sf_tokenizer_free(&tok);
    return e;
}

sf_err sf_checkpoint_check_head(const unsigned char *head, size_t n, size_t file_size) {
    sf_reader r = {head, n < SF_CKPT_HEAD_BYTES ? n : SF_CKPT_HEAD_BYTES, 0};
    sf_config c;
    uint32_t alpha;
    size_t cfg_at, want = 0;
    sf_err e = read_head(&r, &c, &alpha, &cfg_at);
    if (e.ok && (e = sf_checkpoint_plan(&c, alpha, &want)).ok && want != file_size)
        e = sf_fail("the file is %zu bytes, but a checkpoint of its config (%s, d_model %d, %d+%d layers, vocab %d) "
                    "and a %u-byte alphabet is exactly %zu bytes: it is truncated or has something appended",
                    file_size, sf_family_name(c.family), c.d_model, c.n_enc_layers, c.n_dec_layers, c.vocab_size, alpha,
                    want);
    return e;
}
