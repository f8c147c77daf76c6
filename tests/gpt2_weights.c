/* gpt2_weights.c - writes GPT-2-shaped checkpoints from the formula of tests/make_gpt2_fixtures.py. */
#include "gpt2_weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"

/*                               wte wpe ln1w ln1b qkvw qkvb apw apb ln2w ln2b fcw fcb fpw fpb lnfw lnfb */
static const int BITS[16] =   {23, 23, 20, 23, 23, 23, 23, 23, 20, 23, 23, 23, 23, 23, 20, 23};
static const int SHIFT[16] =  {26, 27, 22, 26, 24, 26, 25, 26, 22, 26, 25, 26, 26, 26, 22, 26};
static const int OFFSET[16] = {0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0};

size_t gw_count(const gw_shape *s, int t) {
    size_t C = (size_t)s->C, L = (size_t)s->L;
    const size_t n[16] = {(size_t)s->Vp * C, (size_t)s->T * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
                          L * C, L * C, L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, C, C};
    return n[t];
}

float gw_weight(const gw_shape *s, int t, size_t i, uint32_t seed) {
    if (t == 0 && i >= (size_t)s->V * (size_t)s->C) return 0.0f; /* llm.c pads the vocabulary with zeros */
    uint32_t x = (uint32_t)i * 0x9E3779B1u + (uint32_t)(t + 1) * 0x85EBCA77u + seed * 0xC2B2AE3Du;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    int32_t q = (int32_t)(x >> (32 - BITS[t])) - (1 << (BITS[t] - 1));
    float scale = 1.0f;
    for (int k = 0; k < SHIFT[t]; k++) scale *= 0.5f; /* exactly 2^-SHIFT */
    return (float)q * scale + (float)OFFSET[t];
}

/* A file being written through a 1 MiB buffer, with its running CRC. */
typedef struct { FILE *f; uint32_t crc; size_t bytes, used; int failed; unsigned char buf[1 << 20]; } out;

static void flush_out(out *o) {
    if (!o->failed && o->used && fwrite(o->buf, 1, o->used, o->f) != o->used) o->failed = 1;
    o->crc = sf_crc32(o->crc, o->buf, o->used);
    o->used = 0;
}

static void put(out *o, const void *p, size_t n) {
    const unsigned char *b = p;
    o->bytes += n;
    while (n) {
        size_t k = sizeof o->buf - o->used < n ? sizeof o->buf - o->used : n;
        memcpy(o->buf + o->used, b, k);
        o->used += k;
        b += k;
        n -= k;
        if (o->used == sizeof o->buf) flush_out(o);
    }
}

static out *open_out(const char *path) {
    out *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->f = fopen(path, "wb");
    if (!o->f) { perror(path); free(o); return NULL; }
    return o;
}

static int close_out(out *o, const char *path, uint32_t *crc, size_t *bytes) {
    flush_out(o);
    if (fclose(o->f) != 0) o->failed = 1;
    int ok = !o->failed;
    if (crc) *crc = o->crc;
    if (bytes) *bytes = o->bytes;
    free(o);
    if (!ok) fprintf(stderr, "%s: write failed\n", path);
    return ok;
}


/* Returns v as an IEEE half, rounded to nearest even (the formula's small weights are normal halves). */
static uint16_t to_f16(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    uint32_t sign = (b >> 16) & 0x8000;
    int e = (int)((b >> 23) & 0xFF) - 127 + 15;
    uint32_t man = b & 0x7FFFFF;
    if ((b & 0x7FFFFFFF) == 0) return (uint16_t)sign;
    if (e <= 0) { /* subnormal half */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int sh = 14 - e;
        uint32_t h = man >> sh, rem = man & ((1u << sh) - 1), half = 1u << (sh - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    if (e >= 31) return (uint16_t)(sign | 0x7C00);
    uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

/* Returns v as a bfloat16, rounded to nearest even. */
static uint16_t to_bf16(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    b += 0x7FFF + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

/* Writes one weight little-endian in the given element size/kind: 4 = F32, 2 = F16, 3 = BF16. */
static void put_weight(out *o, float v, int kind) {
    unsigned char b[4];
    uint32_t u;
    if (kind == 4) { memcpy(&u, &v, 4); }
    else u = kind == 2 ? to_f16(v) : to_bf16(v);
    for (int k = 0; k < 4; k++) b[k] = (unsigned char)(u >> (8 * k));
    put(o, b, kind == 4 ? 4 : 2);
}

int gw_write_llmc(const char *path, const gw_shape *s, uint32_t seed, int version, uint32_t *crc, size_t *bytes) {
    out *o = open_out(path);
    if (!o) return 0;
    int32_t h[256] = {20240326, version, s->T, s->V, s->L, s->NH, s->C, s->Vp};
    unsigned char b[1024];
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < 4; k++) b[4 * i + k] = (unsigned char)((uint32_t)h[i] >> (8 * k));
    put(o, b, sizeof b);
    for (int t = 0; t < 16; t++)
        for (size_t i = 0, n = gw_count(s, t); i < n; i++) put_weight(o, gw_weight(s, t, i, seed), version == 5 ? 3 : 4);
    return close_out(o, path, crc, bytes);
}

/* One tensor of the safetensors file: llm.c tensor t, layer l (or -1), transposed or not. */
typedef struct { char name[128]; int t, l, rows, cols, transpose, mask; } st_tensor;

int gw_write_safetensors(const char *path, const gw_shape *s, uint32_t seed, const char *dtype, const char *prefix,
                         int lm_head, uint32_t *crc, size_t *bytes) {
    int C = s->C, kind = !strcmp(dtype, "F32") ? 4 : !strcmp(dtype, "F16") ? 2 : 3, elt = kind == 4 ? 4 : 2;
    int n = 0, cap = 5 + 13 * s->L;
    st_tensor *t = calloc((size_t)cap, sizeof *t);
    if (!t) return 0;
#define ADD(nm, tt, ll, r, c, tr, mk) \
    (snprintf(t[n].name, sizeof t[n].name, "%s%s", prefix, nm), t[n].t = tt, t[n].l = ll, t[n].rows = r, t[n].cols = c, \
     t[n].transpose = tr, t[n].mask = mk, n++)
    ADD("wte.weight", 0, -1, s->V, C, 0, 0);
    ADD("wpe.weight", 1, -1, s->T, C, 0, 0);
    for (int l = 0; l < s->L; l++) {
        char p[96];
#define LAYER(sfx, tt, r, c, tr, mk) (snprintf(p, sizeof p, "h.%d.%s", l, sfx), ADD(p, tt, l, r, c, tr, mk))
        LAYER("ln_1.weight", 2, C, 0, 0, 0);
        LAYER("ln_1.bias", 3, C, 0, 0, 0);
        LAYER("attn.bias", -1, s->T, s->T, 0, 1);
        LAYER("attn.c_attn.weight", 4, C, 3 * C, 1, 0);
        LAYER("attn.c_attn.bias", 5, 3 * C, 0, 0, 0);
        LAYER("attn.c_proj.weight", 6, C, C, 1, 0);
        LAYER("attn.c_proj.bias", 7, C, 0, 0, 0);
        LAYER("ln_2.weight", 8, C, 0, 0, 0);
        LAYER("ln_2.bias", 9, C, 0, 0, 0);
        LAYER("mlp.c_fc.weight", 10, C, 4 * C, 1, 0);
        LAYER("mlp.c_fc.bias", 11, 4 * C, 0, 0, 0);
        LAYER("mlp.c_proj.weight", 12, 4 * C, C, 1, 0);
        LAYER("mlp.c_proj.bias", 13, C, 0, 0, 0);
#undef LAYER
    }
    ADD("ln_f.weight", 14, -1, C, 0, 0, 0);
    ADD("ln_f.bias", 15, -1, C, 0, 0, 0);
    if (lm_head) { snprintf(t[n].name, sizeof t[n].name, "lm_head.weight"); t[n].t = 0; t[n].l = -1; t[n].rows = s->V; t[n].cols = C; n++; }
#undef ADD
    /* the header: members in file order, no spaces, padded with spaces to a multiple of 8 */
    size_t hcap = 256 + (size_t)n * 224, hl = 0, off = 0;
    char *hdr = malloc(hcap);
    if (!hdr) { free(t); return 0; }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        size_t count = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1), nb = count * (size_t)(t[i].mask ? 4 : elt);
        if (t[i].mask)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[1,1,%d,%d],\"data_offsets\":[%zu,%zu]}",
                                   t[i].name, t[i].rows, t[i].cols, off, off + nb);
        else if (t[i].cols)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                   t[i].name, dtype, t[i].rows, t[i].cols, off, off + nb);
        else
            hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                   t[i].name, dtype, t[i].rows, off, off + nb);
        off += nb;
    }
    hdr[hl++] = '}';
    while ((8 + hl) % 8) hdr[hl++] = ' ';
    out *o = open_out(path);
    if (!o) { free(hdr); free(t); return 0; }
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    put(o, len8, 8);
    put(o, hdr, hl);
    for (int i = 0; i < n; i++) {
        const st_tensor *x = &t[i];
        size_t rows = (size_t)x->rows, cols = x->cols ? (size_t)x->cols : 1;
        if (x->mask) { /* the causal mask buffer: lower triangle of ones */
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++) put_weight(o, c <= r ? 1.0f : 0.0f, 4);
            continue;
        }
        size_t base = x->l < 0 ? 0 : (size_t)x->l * (gw_count(s, x->t) / (size_t)s->L);
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) /* Conv1D (in, out): element (r, c) is llm.c's (c, r) */
                put_weight(o, gw_weight(s, x->t, base + (x->transpose ? c * rows + r : r * cols + c), seed), kind);
    }
    free(hdr);
    free(t);
    return close_out(o, path, crc, bytes);
}

int gw_write_config(const char *path, const gw_shape *s, uint32_t *crc, size_t *bytes) {
    out *o = open_out(path);
    if (!o) return 0;
    char text[512];
    int n = snprintf(text, sizeof text,
                     "{\"activation_function\":\"gelu_new\",\"architectures\":[\"GPT2LMHeadModel\"],\"layer_norm_epsilon\":1e-05,"
                     "\"model_type\":\"gpt2\",\"n_ctx\":%d,\"n_embd\":%d,\"n_head\":%d,\"n_inner\":null,\"n_layer\":%d,"
                     "\"n_positions\":%d,\"vocab_size\":%d}\n",
                     s->T, s->C, s->NH, s->L, s->T, s->V);
    put(o, text, (size_t)n);
    return close_out(o, path, crc, bytes);
}
