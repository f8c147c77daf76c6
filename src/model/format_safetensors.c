/* format_safetensors.c - the reader of Hugging Face GPT-2 checkpoints: model.safetensors (an 8-byte
 * header length, a JSON header naming each tensor's dtype, shape and byte range, then the data) with the
 * sizes from config.json. Both JSON texts are parsed with jansson. HF's GPT-2 uses Conv1D layers, whose
 * weights are stored (in, out): they are transposed into our (out, in). Names may carry the
 * "transformer." prefix (GPT2LMHeadModel) or not (GPT2Model). */
#include "format.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/io.h"

/* ---- config.json --------------------------------------------------------------------------------- */

/* Reads integer member key of obj into *out (def when absent and def >= 0); errors name the key. */
static sf_err get_int(json_t *obj, const char *key, int def, int lo, int hi, int *out) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (def >= 0) { *out = def; return sf_ok(); }
        return sf_fail("config.json: \"%s\" is missing; a GPT-2 config names it", key);
    }
    if (!json_is_integer(v)) return sf_fail("config.json: \"%s\" is not a whole number", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) return sf_fail("config.json: \"%s\" is %lld; expected %d to %d", key, (long long)x, lo, hi);
    *out = (int)x;
    return sf_ok();
}

/* Reads boolean member key of obj (def when absent). */
static sf_err get_bool(json_t *obj, const char *key, int def, int *out) {
    json_t *v = json_object_get(obj, key);
    if (!v) { *out = def; return sf_ok(); }
    if (!json_is_boolean(v)) return sf_fail("config.json: \"%s\" is not true or false", key);
    *out = json_is_true(v);
    return sf_ok();
}

/* Parses config.json into a GPT-2 config. */
static sf_err read_config(const char *text, size_t len, sf_config *c) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return sf_fail("config.json: line %d, column %d: %s", je.line, je.column, je.text);
    sf_err e = sf_ok();
    int C = 0, NH = 0, L = 0, T = 0, V = 0, F = 0, b = 0, tied = 1;
    *c = sf_config_default(SF_FAMILY_GPT);
    if (!json_is_object(root)) { e = sf_fail("config.json: expected an object { ... }"); goto done; }
    json_t *mt = json_object_get(root, "model_type");
    if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), "gpt2") != 0)) {
        e = sf_fail("config.json: model_type is %s%s%s; only \"gpt2\" models are read", json_is_string(mt) ? "\"" : "",
                    json_is_string(mt) ? json_string_value(mt) : "not a string", json_is_string(mt) ? "\"" : "");
        goto done;
    }
    if (!(e = get_int(root, "n_embd", -1, 2, SF_MAX_DMODEL, &C)).ok) goto done;
    if (!(e = get_int(root, "n_head", -1, 1, SF_MAX_HEADS, &NH)).ok) goto done;
    if (!(e = get_int(root, "n_layer", -1, 1, SF_MAX_LAYERS, &L)).ok) goto done;
    if (json_object_get(root, "n_positions")) e = get_int(root, "n_positions", -1, 1, SF_MAX_LEN, &T);
    else e = get_int(root, "n_ctx", -1, 1, SF_MAX_LEN, &T);
    if (!e.ok) goto done;
    if (!(e = get_int(root, "vocab_size", -1, 5, SF_MAX_VOCAB, &V)).ok) goto done;
    if (C <= SF_MAX_DFF / 4 && !(e = get_int(root, "n_inner", 4 * C, 1, SF_MAX_DFF, &F)).ok) goto done;
    if (C > SF_MAX_DFF / 4 && !(e = get_int(root, "n_inner", -1, 1, SF_MAX_DFF, &F)).ok) goto done;
    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    if (eps && !json_is_number(eps)) { e = sf_fail("config.json: \"layer_norm_epsilon\" is not a number"); goto done; }
    c->ln_eps = eps ? (float)json_number_value(eps) : 1e-5f;
    json_t *act = json_object_get(root, "activation_function");
    const char *a = act && json_is_string(act) ? json_string_value(act) : act ? "" : "gelu_new";
    if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh")) c->act = SF_ACT_GELU;
    else if (!strcmp(a, "relu")) c->act = SF_ACT_RELU;
    else {
        e = sf_fail("config.json: activation_function \"%s\" is not supported; expected \"gelu_new\" (GPT-2's tanh "
                    "approximation) or \"relu\"", a);
        goto done;
    }
    if (!(e = get_bool(root, "scale_attn_weights", 1, &b)).ok) goto done;
    if (!b) { e = sf_fail("config.json: scale_attn_weights false is not supported (scores are always / sqrt(head size))"); goto done; }
    if (!(e = get_bool(root, "scale_attn_by_inverse_layer_idx", 0, &b)).ok) goto done;
    if (b) { e = sf_fail("config.json: scale_attn_by_inverse_layer_idx true is not supported"); goto done; }
    if (!(e = get_bool(root, "tie_word_embeddings", 1, &tied)).ok) goto done; /* false: lm_head.weight is read */
    c->vocab_size = V;
    c->d_model = C;
    c->n_heads = NH;
    c->d_ff = F;
    c->n_dec_layers = L;
    c->max_len = T;
    c->tied = tied;
    e = sf_config_validate(c);
    if (!e.ok) e = sf_err_wrap(e, "config.json");
done:
    json_decref(root);
    return e;
}

/* ---- the tensor table ---------------------------------------------------------------------------- */

enum { DT_F32 = 1, DT_F16, DT_BF16, DT_OTHER };

/* One tensor of the header: where its bytes are and where they go. */
typedef struct {
    const char *name;   /* as written in the header (points into the parsed JSON) */
    int dtype, elt;     /* DT_*, bytes per element */
    int rank;
    long long shape[4];
    size_t begin, end;  /* absolute byte offsets in the file */
    float *dst;         /* NULL: not a parameter (attn.bias, masked_bias) */
    int rows, cols;     /* the shape expected for dst as stored: (rows, cols), cols 0 for a vector */
    int transpose;      /* 1: stored (in, out) = (rows, cols), wanted (out, in) */
} entry;

/* Returns the size in bytes of a safetensors dtype name, or 0 if unknown; *dt receives DT_*. */
static int dtype_size(const char *s, int *dt) {
    static const struct { const char *n; int size, dt; } k[] = {
        {"F32", 4, DT_F32}, {"F16", 2, DT_F16}, {"BF16", 2, DT_BF16}, {"F64", 8, DT_OTHER}, {"I64", 8, DT_OTHER},
        {"U64", 8, DT_OTHER}, {"I32", 4, DT_OTHER}, {"U32", 4, DT_OTHER}, {"I16", 2, DT_OTHER}, {"U16", 2, DT_OTHER},
        {"I8", 1, DT_OTHER}, {"U8", 1, DT_OTHER}, {"BOOL", 1, DT_OTHER}, {"F8_E4M3", 1, DT_OTHER},
        {"F8_E5M2", 1, DT_OTHER}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(s, k[i].n)) { *dt = k[i].dt; return k[i].size; }
    return 0;
}

/* Points e at the parameter its (prefix-free) name n stands for; returns 0 if n is not one of GPT-2's
 * tensors, 1 if it is, 2 if it is one to skip: the causal-mask buffers "attn.bias" and "attn.masked_bias",
 * and lm_head.weight of a tied model (Hugging Face ties it to wte on loading, whatever the file holds). */
static int bind(sf_model *m, const char *n, entry *e) {
    const sf_config *c = &m->cfg;
    int C = c->d_model, F = c->d_ff, l, k = 0;
    sf_weights *w = &m->w;
    e->transpose = 0;
    if (!strcmp(n, "wte.weight")) { e->dst = w->tok_emb; e->rows = c->vocab_size; e->cols = C; return 1; }
    if (!strcmp(n, "wpe.weight")) { e->dst = w->pos_emb; e->rows = c->max_len; e->cols = C; return 1; }
    if (!strcmp(n, "ln_f.weight")) { e->dst = w->dec_ln_f.w; e->rows = C; e->cols = 0; return 1; }
    if (!strcmp(n, "ln_f.bias")) { e->dst = w->dec_ln_f.b; e->rows = C; e->cols = 0; return 1; }
    if (!strcmp(n, "lm_head.weight")) {
        if (c->tied) return 2;
        e->dst = w->lm_head; e->rows = c->vocab_size; e->cols = C;
        return 1;
    }
    if (sscanf(n, "h.%d.%n", &l, &k) != 1 || k == 0 || l < 0 || l >= c->n_dec_layers) return 0;
    char digits[16];
    snprintf(digits, sizeof digits, "h.%d.", l);
    if (strncmp(n, digits, strlen(digits)) != 0) return 0; /* "h.+1." or "h.01.": not how a layer is named */
    const char *s = n + k;
    sf_layer_w *lw = &w->dec[l];
    const struct { const char *suffix; float *dst; int rows, cols, transpose; } t[] = {
        {"ln_1.weight", lw->ln_self.w, C, 0, 0},       {"ln_1.bias", lw->ln_self.b, C, 0, 0},
        {"attn.c_attn.weight", lw->self.w_in, C, 3 * C, 1}, {"attn.c_attn.bias", lw->self.b_in, 3 * C, 0, 0},
        {"attn.c_proj.weight", lw->self.wo, C, C, 1},  {"attn.c_proj.bias", lw->self.bo, C, 0, 0},
        {"ln_2.weight", lw->ln_ffn.w, C, 0, 0},        {"ln_2.bias", lw->ln_ffn.b, C, 0, 0},
        {"mlp.c_fc.weight", lw->ffn.w1, C, F, 1},      {"mlp.c_fc.bias", lw->ffn.b1, F, 0, 0},
        {"mlp.c_proj.weight", lw->ffn.w2, F, C, 1},    {"mlp.c_proj.bias", lw->ffn.b2, C, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].suffix)) {
            e->dst = t[i].dst; e->rows = t[i].rows; e->cols = t[i].cols; e->transpose = t[i].transpose;
            return 1;
        }
    if (!strcmp(s, "attn.bias") || !strcmp(s, "attn.masked_bias")) return 2;
    return 0;
}

/* Returns element k of a tensor stored as dtype dt at p. */
static float element(const unsigned char *p, int dt, size_t k) {
    if (dt == DT_F32) return sf_le_f32(p + 4 * k);
    uint16_t h = (uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
    return dt == DT_F16 ? sf_f16_to_f32(h) : sf_bf16_to_f32(h);
}

/* Copies one tensor into its parameter (transposing Conv1D weights), refusing non-finite values. */
static sf_err copy_entry(const unsigned char *buf, const entry *e) {
    const unsigned char *p = buf + e->begin;
    size_t rows = (size_t)e->rows, cols = e->cols ? (size_t)e->cols : 1;
    for (size_t i0 = 0; i0 < rows; i0 += 32) /* in tiles, so a transpose reads and writes near itself */
        for (size_t j0 = 0; j0 < cols; j0 += 32)
            for (size_t i = i0; i < rows && i < i0 + 32; i++)
                for (size_t j = j0; j < cols && j < j0 + 32; j++) {
                    size_t k = i * cols + j;
                    float v = element(p, e->dtype, k);
                    if (!isfinite(v))
                        return sf_fail("byte %zu: tensor \"%s\" element %zu is %s; weights must be finite",
                                       e->begin + k * (size_t)e->elt, e->name, k, isnan(v) ? "NaN" : "infinite");
                    e->dst[e->transpose ? j * rows + i : k] = v;
                }
    return sf_ok();
}

static int cmp_begin(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Reads one header member into e (dtype, shape, absolute byte range), checked against the data area. */
static sf_err read_entry(const char *name, json_t *v, size_t data_at, size_t len, entry *e, size_t hdr_end) {
    memset(e, 0, sizeof *e);
    e->name = name;
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"), *of = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(dt) || !json_is_array(sh) || !json_is_array(of) || json_array_size(of) != 2)
        return sf_fail("bytes 8 to %zu (the JSON header): tensor \"%s\" needs \"dtype\", \"shape\" and two \"data_offsets\"",
                       hdr_end, name);
    if (!(e->elt = dtype_size(json_string_value(dt), &e->dtype)))
        return sf_fail("bytes 8 to %zu: tensor \"%s\" has unknown dtype \"%s\"", hdr_end, name, json_string_value(dt));
    size_t rank = json_array_size(sh), numel = 1, bytes;
    if (rank > 4) return sf_fail("bytes 8 to %zu: tensor \"%s\" has rank %zu; at most 4 expected", hdr_end, name, rank);
    e->rank = (int)rank;
    for (size_t d = 0; d < rank; d++) {
        json_t *x = json_array_get(sh, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return sf_fail("bytes 8 to %zu: tensor \"%s\" shape entry %zu is not a whole number >= 0", hdr_end, name, d);
        e->shape[d] = json_integer_value(x);
        if ((unsigned long long)e->shape[d] > (size_t)-1 || !sf_mul_size(numel, (size_t)e->shape[d], &numel))
            return sf_fail("bytes 8 to %zu: tensor \"%s\" shape overflows", hdr_end, name);
    }
    if (!sf_mul_size(numel, (size_t)e->elt, &bytes)) return sf_fail("bytes 8 to %zu: tensor \"%s\" shape overflows", hdr_end, name);
    json_t *b0 = json_array_get(of, 0), *b1 = json_array_get(of, 1);
    if (!json_is_integer(b0) || !json_is_integer(b1) || json_integer_value(b0) < 0 || json_integer_value(b1) < json_integer_value(b0))
        return sf_fail("bytes 8 to %zu: tensor \"%s\" data_offsets are not two whole numbers begin <= end", hdr_end, name);
    unsigned long long lo = (unsigned long long)json_integer_value(b0), hi = (unsigned long long)json_integer_value(b1);
    size_t room = len - data_at;
    if (hi > room)
        return sf_fail("bytes 8 to %zu: tensor \"%s\" data (bytes %llu to %llu of the data) runs past the end of the file "
                       "(the data has %zu bytes)", hdr_end, name, lo, hi, room);
    if (hi - lo != bytes)
        return sf_fail("bytes 8 to %zu: tensor \"%s\" data_offsets span %llu bytes but its shape and dtype need %zu",
                       hdr_end, name, hi - lo, bytes);
    e->begin = data_at + (size_t)lo;
    e->end = data_at + (size_t)hi;
    return sf_ok();
}

sf_err sf_safetensors_load_buffer(const unsigned char *buf, size_t len, const char *config, size_t config_len,
                                  sf_model *m) {
    memset(m, 0, sizeof *m);
    sf_config cfg;
    sf_err e = read_config(config, config_len, &cfg);
    if (!e.ok) return e;
    if (len < 8) return sf_fail("byte %zu: the file ends inside the 8-byte header length", len);
    uint64_t n = (uint64_t)sf_le_u32(buf) | (uint64_t)sf_le_u32(buf + 4) << 32;
    if (n < 2 || n > SF_SAFETENSORS_MAX_HEADER)
        return sf_fail("byte 0: JSON header of %llu bytes; expected 2 to %d", (unsigned long long)n, SF_SAFETENSORS_MAX_HEADER);
    if (n > len - 8)
        return sf_fail("byte %zu: the file ends inside the JSON header (which says it has %llu bytes)", len,
                       (unsigned long long)n);
    size_t data_at = 8 + (size_t)n;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root) return sf_fail("byte %zu: the JSON header: %s", 8 + (size_t)(je.position > 0 ? je.position : 0), je.text);
    entry *t = NULL;
    entry **order = NULL;
    const float **filled = NULL;
    size_t count = json_is_object(root) ? json_object_size(root) : 0;
    if (!json_is_object(root)) { e = sf_fail("byte 8: the JSON header is not an object { ... }"); goto done; }
    t = calloc(count ? count : 1, sizeof *t);
    order = calloc(count ? count : 1, sizeof *order);
    if (!t || !order) { e = sf_fail("out of memory"); goto done; }

    /* 1. every member's dtype, shape and byte range, before anything is allocated */
    size_t nt = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) { e = sf_fail("bytes 8 to %zu: \"__metadata__\" is not an object", data_at); goto done; }
            continue;
        }
        if (!(e = read_entry(key, v, data_at, len, &t[nt], data_at)).ok) goto done;
        order[nt] = &t[nt];
        nt++;
    }
    /* 2. the data ranges may not overlap */
    qsort(order, nt, sizeof *order, cmp_begin);
    for (size_t i = 1; i < nt; i++)
        if (order[i]->begin < order[i - 1]->end) {
            e = sf_fail("byte %zu: tensor \"%s\" data overlaps tensor \"%s\"", order[i]->begin, order[i]->name, order[i - 1]->name);
            goto done;
        }
    /* 3. the model, then each name bound to its parameter with the shape checked; every parameter once */
    size_t data_len = len - data_at;
    if (!(e = sf_model_build_limited(m, &cfg, data_len / 2)).ok) {
        const char *needs = strstr(e.msg, "needs ");
        size_t n_need;
        if (needs && sscanf(needs, "needs %zu parameters but", &n_need) == 1) /* the data is too small for the sizes */
            e = sf_fail("byte %zu: the data has %zu bytes but config.json's sizes need %zu parameters (is the file truncated?)",
                        data_at, data_len, n_need);
        else e = sf_err_wrap(e, "config.json");
        goto done;
    }
    int seen = 0;
    filled = calloc((size_t)m->n_table + 1, sizeof *filled);
    if (!filled) { e = sf_fail("out of memory"); goto done; }
    for (size_t i = 0; i < nt; i++) {
        entry *x = &t[i];
        const char *bare = strncmp(x->name, "transformer.", 12) ? x->name : x->name + 12;
        int kind = bind(m, bare, x);
        if (kind == 0) {
            e = sf_fail("bytes 8 to %zu: tensor \"%s\" is not part of a GPT-2 model with this config", data_at, x->name);
            goto done;
        }
        if (kind == 2) { x->dst = NULL; continue; }
        if (x->dtype == DT_OTHER) {
            e = sf_fail("bytes 8 to %zu: tensor \"%s\" is not F32, F16 or BF16", data_at, x->name);
            goto done;
        }
        int want_rank = x->cols ? 2 : 1;
        if (x->rank != want_rank || x->shape[0] != x->rows || (want_rank == 2 && x->shape[1] != x->cols)) {
            char want[48];
            if (want_rank == 2) snprintf(want, sizeof want, "[%d, %d]", x->rows, x->cols);
            else snprintf(want, sizeof want, "[%d]", x->rows);
            e = sf_fail("bytes 8 to %zu: tensor \"%s\" has rank %d, first dimension %lld; this config needs %s", data_at,
                        x->name, x->rank, x->rank ? x->shape[0] : 0, want);
            goto done;
        }
        for (int j = 0; j < seen; j++)
            if (filled[j] == x->dst) { e = sf_fail("bytes 8 to %zu: tensor \"%s\" is given twice", data_at, x->name); goto done; }
        filled[seen++] = x->dst;
    }
    for (int i = 0; i < m->n_table; i++) {
        const float *p = m->params + m->table[i].offset;
        int found = 0;
        for (int j = 0; j < seen && !found; j++) found = filled[j] == p;
        if (!found) {
            e = sf_fail("bytes 8 to %zu: no tensor for stepformer's \"%s\" (a GPT-2 tensor is missing)", data_at,
                        m->table[i].name);
            goto done;
        }
    }
    /* 4. the weights */
    for (size_t i = 0; i < nt && e.ok; i++)
        if (t[i].dst) e = copy_entry(buf, &t[i]);
done:
    if (!e.ok) sf_model_free(m);
    else m->format = SF_FORMAT_SAFETENSORS;
    free(filled);
    free(t);
    free(order);
    json_decref(root);
    return e;
}
