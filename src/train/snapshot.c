/* snapshot.c - the snapshot series: writer, float16, probe measurement and the validating reader
 * (layout: docs/snapshot-format.md). */
#define _POSIX_C_SOURCE 200809L
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backward.h"
#include "core/io.h"
#include "model/sample.h"
#include "trainer.h"

#define CONFIG_BYTES 64
#define INFO_BYTES 24      /* step u32 and five f32 */
#define FIXED_HEAD 124     /* header bytes besides the alphabet, before its CRC */
#define PROBE_KEY 0x534E4150ull /* "SNAP": the probe examples' keys */
#define MAX_ALPHABET 262144

/* ---- float16 --------------------------------------------------------------------------------- */

/* Returns the bits of f. */
static uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Returns the float with bits b. */
static float of_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

uint16_t sf_half_of_float(float f) {
    uint32_t x = bits_of(f), sign = (x >> 16) & 0x8000u, mant = x & 0x7FFFFFu;
    int exp = (int)((x >> 23) & 0xFF);
    if (exp == 0xFF) return (uint16_t)(sign | 0x7C00u | (mant ? 0x200u : 0u)); /* infinity, NaN */
    int e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u); /* too large: infinity */
    if (e <= 0) {                                    /* a float16 subnormal, or zero */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry into the exponent is right too */
    return (uint16_t)(sign | h);
}

float sf_float_of_half(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    if (exp == 0x1F) return of_bits(sign | 0x7F800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0) return of_bits(sign);
        float v = (float)mant * (1.0f / 16777216.0f); /* mant * 2^-24, exact */
        return sign ? -v : v;
    }
    return of_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

int sf_snapshot_round(float *params, size_t n, int precision) {
    if (precision == 32) return 1;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(params[i]) <= 65504.0f)) return 0;
    for (size_t i = 0; i < n; i++) params[i] = sf_float_of_half(sf_half_of_float(params[i]));
    return 1;
}

/* ---- measuring ------------------------------------------------------------------------------- */

sf_err sf_snapshot_measure(const sf_model *m, sf_seq *s, const sf_task *t, sf_snapshot_info *info) {
    int V = m->cfg.vocab_size, per_token = strcmp(t->name, "words") == 0;
    double loss = 0.0;
    long tokens = 0, right = 0;
    int exact = 0;
    for (int i = 0; i < SF_SNAP_PROBE; i++) {
        sf_example ex;
        sf_task_example(t, SF_SPLIT_HELDOUT, sf_task_key(PROBE_KEY, 0, (uint64_t)i), &ex);
        int counted = 0;
        float l = sf_forward_loss(m, s, ex.src, m->cfg.family == SF_FAMILY_ENCDEC ? ex.n_src : 0, ex.in, ex.tgt,
                                  ex.n, &counted);
        if (isnan(l)) return sf_fail("snapshot: held-out example %d does not fit the model", i);
        loss += l;
        tokens += counted;
        for (int p = 0; p < ex.n; p++)
            if (ex.tgt[p] != SF_TOK_PAD) right += sf_argmax(s->logits + (size_t)p * V, V) == ex.tgt[p];
        if (per_token) continue;
        int got[SF_TASK_MAX_LEN];
        int ng = sf_greedy(m, s, &ex, got, SF_TASK_MAX_LEN);
        const int *want = ex.tgt + ex.n_prompt - 1; /* what generation should produce, <eos> included */
        int nw = ex.n - ex.n_prompt + 1, ok = ng == nw;
        for (int k = 0; ok && k < nw; k++) ok = got[k] == want[k];
        exact += ok;
    }
    info->heldout_loss = tokens ? (float)(loss / (double)tokens) : NAN;
    info->heldout_acc = tokens ? (float)((double)right / (double)tokens) : NAN;
    info->heldout_exact = per_token ? NAN : (float)exact / (float)SF_SNAP_PROBE;
    return sf_ok();
}

/* ---- writing --------------------------------------------------------------------------------- */

/* Writes all of data at offset off of fd; returns 0 (errno set) on failure. */
static int write_at(int fd, const unsigned char *data, size_t len, off_t off) {
    while (len > 0) {
        ssize_t k = pwrite(fd, data, len, off);
        if (k < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (k == 0) { errno = ENOSPC; return 0; }
        data += k;
        len -= (size_t)k;
        off += k;
    }
    return 1;
}

/* Stores v little-endian at p. */
static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Stores f's bits little-endian at p. */
static void put_f32(unsigned char *p, float f) { put_u32(p, bits_of(f)); }

/* Returns the bytes of one record for n_params weights of `precision` bits, or 0 on overflow. */
static size_t record_size(size_t n_params, int precision) {
    size_t w;
    if (!sf_mul_size(n_params, (size_t)(precision / 8), &w) || w > SIZE_MAX - INFO_BYTES - 4) return 0;
    return INFO_BYTES + w + 4;
}

sf_err sf_snapshot_create(sf_snapshot_writer *w, const char *path, const sf_model *m, const char *task,
                          int interval, int total_steps, int precision) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (precision != 16 && precision != 32) return sf_fail("%s: precision %d; expected 16 or 32", path, precision);
    if (interval < 0 || total_steps < 1) return sf_fail("%s: the interval must be 0 or more and the steps 1 or more", path);
    size_t alen;
    char *alpha = sf_tokenizer_alphabet(&m->tok, &alen);
    if (!alpha) return sf_fail("%s: out of memory", path);
    w->precision = precision;
    w->n_params = m->n_params;
    w->record_bytes = record_size(m->n_params, precision);
    w->header_bytes = FIXED_HEAD + alen + 4;
    w->head = calloc(1, w->header_bytes);
    w->rec = w->record_bytes ? malloc(w->record_bytes) : NULL;
    w->path = malloc(strlen(path) + 1);
    w->last_step = -1;
    if (!w->head || !w->rec || !w->path) {
        free(alpha);
        sf_snapshot_close(w);
        return sf_fail("%s: out of memory", path);
    }
    strcpy(w->path, path);
    /* the header: magic, version, precision, interval, steps, task, config, alphabet, parameters,
     * probe size, count (0 for now), CRC */
    unsigned char *h = w->head;
    const sf_config *c = &m->cfg;
    memcpy(h, SF_SNAP_MAGIC, 8);
    put_u32(h + 8, SF_SNAP_VERSION);
    put_u32(h + 12, (uint32_t)precision);
    put_u32(h + 16, (uint32_t)interval);
    put_u32(h + 20, (uint32_t)total_steps);
    strncpy((char *)h + 24, task, SF_SNAP_TASK_BYTES - 1);
    int32_t f[16] = {c->family, c->vocab_size, c->d_model, c->n_heads, c->d_ff, c->n_enc_layers, c->n_dec_layers,
                     c->max_len, c->pos, c->norm, c->act, c->tied, c->scale_emb, 0, 0, 0};
    for (int i = 0; i < 16; i++) put_u32(h + 40 + 4 * i, (uint32_t)f[i]);
    put_f32(h + 40 + 52, c->ln_eps);
    put_u32(h + 104, (uint32_t)alen);
    memcpy(h + 108, alpha, alen);
    free(alpha);
    uint64_t np = m->n_params;
    for (int i = 0; i < 8; i++) h[108 + alen + i] = (unsigned char)(np >> (8 * i));
    put_u32(h + 116 + alen, SF_SNAP_PROBE);
    put_u32(h + 120 + alen, 0);
    put_u32(h + 124 + alen, sf_crc32(0, h, 124 + alen));
    if (!w->record_bytes) {
        sf_snapshot_close(w);
        return sf_fail("%s: the model is too large for a snapshot record", path);
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (w->fd < 0) {
        sf_err e = errno == EEXIST ? sf_fail("%s: exists already; a snapshot series is never overwritten (remove it or "
                                             "choose another name)", path)
                                   : sf_fail("%s: cannot create it: %s", path, strerror(errno));
        sf_snapshot_close(w);
        return e;
    }
    if (!write_at(w->fd, h, w->header_bytes, 0) || fsync(w->fd) != 0) {
        sf_err e = sf_fail("%s: write failed: %s", path, strerror(errno));
        sf_snapshot_close(w);
        unlink(path);
        return e;
    }
    return sf_ok();
}

sf_err sf_snapshot_append(sf_snapshot_writer *w, const sf_snapshot_info *info, const float *params) {
    if (w->fd < 0) return sf_fail("snapshot: the series is not open");
    if (info->step <= w->last_step)
        return sf_fail("%s: snapshot of step %d after step %d; steps must increase", w->path, info->step, w->last_step);
    unsigned char *r = w->rec;
    put_u32(r, (uint32_t)info->step);
    put_f32(r + 4, info->lr);
    put_f32(r + 8, info->train_loss);
    put_f32(r + 12, info->heldout_loss);
    put_f32(r + 16, info->heldout_acc);
    put_f32(r + 20, info->heldout_exact);
    unsigned char *p = r + INFO_BYTES;
    for (size_t i = 0; i < w->n_params; i++) {
        if (w->precision == 32) {
            put_f32(p, params[i]);
            p += 4;
        } else {
            uint16_t hv = sf_half_of_float(params[i]);
            p[0] = (unsigned char)hv;
            p[1] = (unsigned char)(hv >> 8);
            p += 2;
        }
    }
    put_u32(p, sf_crc32(0, r, w->record_bytes - 4));
    /* the record first, then the header that counts it */
    off_t at = (off_t)(w->header_bytes + (size_t)w->count * w->record_bytes);
    unsigned char *h = w->head;
    size_t alen = w->header_bytes - FIXED_HEAD - 4;
    put_u32(h + 120 + alen, w->count + 1);
    put_u32(h + 124 + alen, sf_crc32(0, h, 124 + alen));
    if (!write_at(w->fd, r, w->record_bytes, at) || fsync(w->fd) != 0 ||
        !write_at(w->fd, h + 120 + alen, 8, (off_t)(120 + alen)) || fsync(w->fd) != 0) {
        put_u32(h + 120 + alen, w->count);
        put_u32(h + 124 + alen, sf_crc32(0, h, 124 + alen));
        return sf_fail("%s: write failed after %u snapshots: %s", w->path, w->count, strerror(errno));
    }
    w->count++;
    w->last_step = info->step;
    return sf_ok();
}

sf_err sf_snapshot_take(sf_snapshot_writer *w, sf_model *m, const sf_task *t, int step, float lr, float train_loss) {
    if (m->n_params != w->n_params) return sf_fail("%s: the model does not match the series", w->path);
    sf_err e;
    if (!w->seq.mem && !(e = sf_seq_build(&w->seq, &m->cfg)).ok) return e;
    if (!w->keep && !(w->keep = malloc(w->n_params * sizeof *w->keep))) return sf_fail("%s: out of memory", w->path);
    memcpy(w->keep, m->params, w->n_params * sizeof *w->keep);
    if (!sf_snapshot_round(m->params, w->n_params, w->precision))
        return sf_fail("%s: a weight is beyond float16's range (65504); use 32-bit snapshots", w->path);
    sf_snapshot_info info = {step, lr, train_loss, NAN, NAN, NAN};
    e = sf_snapshot_measure(m, &w->seq, t, &info); /* the weights as the file will hold them */
    if (e.ok) e = sf_snapshot_append(w, &info, m->params);
    memcpy(m->params, w->keep, w->n_params * sizeof *w->keep);
    return e;
}

void sf_snapshot_close(sf_snapshot_writer *w) {
    if (w->fd >= 0) close(w->fd);
    sf_seq_free(&w->seq);
    free(w->keep);
    free(w->path);
    free(w->rec);
    free(w->head);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

/* ---- reading --------------------------------------------------------------------------------- */

/* Returns 1 if v is a loss (finite, >= 0) or NaN where allow_nan. */
static int ok_loss(float v, int allow_nan) { return isnan(v) ? allow_nan : isfinite(v) && v >= 0.0f; }

/* Returns 1 if v is a share in [0, 1], or NaN where allow_nan. */
static int ok_share(float v, int allow_nan) { return isnan(v) ? allow_nan : v >= 0.0f && v <= 1.0f; }

sf_err sf_snapshots_load_buffer(const unsigned char *buf, size_t len, sf_snapshots *s) {
    memset(s, 0, sizeof *s);
    s->buf = buf;
    s->len = len;
    sf_reader r = {buf, len, 0};
    sf_err e;
    const unsigned char *b;
    uint32_t u, prec, interval, steps, alen, probe, count;
    uint64_t np;

    /* 1. the fixed fields */
    if (len == 0) return sf_fail("byte 0: the file is empty; expected a stepformer snapshot series");
    if (!(e = sf_read_bytes(&r, &b, 8, "the magic")).ok) return e;
    if (memcmp(b, SF_SNAP_MAGIC, 8) != 0)
        return sf_fail("byte 0: bad magic; expected \"SFSNAPS\\0\" (is this a snapshot series?)");
    if (!(e = sf_read_u32(&r, &u, "the version")).ok) return e;
    if (u != SF_SNAP_VERSION) return sf_fail("byte 8: version %u is not supported; expected %d", u, SF_SNAP_VERSION);
    if (!(e = sf_read_u32(&r, &prec, "the precision")).ok || !(e = sf_read_u32(&r, &interval, "the interval")).ok ||
        !(e = sf_read_u32(&r, &steps, "the step count")).ok)
        return e;
    if (prec != 16 && prec != 32) return sf_fail("byte 12: precision %u; expected 16 or 32", prec);
    if (interval > 100000000) return sf_fail("byte 16: interval %u; expected 0 (listed steps) to 100000000", interval);
    if (steps < 1 || steps > 100000000) return sf_fail("byte 20: step count %u; expected 1 to 100000000", steps);
    if (!(e = sf_read_bytes(&r, &b, SF_SNAP_TASK_BYTES, "the task name")).ok) return e;
    int ended = 0;
    for (int i = 0; i < SF_SNAP_TASK_BYTES; i++) {
        if (b[i] == 0) ended = 1;
        else if (ended || b[i] < 0x21 || b[i] > 0x7E)
            return sf_fail("byte %d: the task name must be printable ASCII padded with NUL bytes", 24 + i);
    }
    if (!ended) return sf_fail("byte 24: the task name has no terminating NUL");
    memcpy(s->task, b, SF_SNAP_TASK_BYTES);

    /* 2. the config and the alphabet, as a checkpoint stores them */
    size_t cfg_at = r.pos;
    if (!(e = sf_read_bytes(&r, &b, CONFIG_BYTES, "the config")).ok) return e;
    int32_t f[16];
    for (int i = 0; i < 16; i++) f[i] = (int32_t)sf_le_u32(b + 4 * i);
    sf_config c;
    c.family = f[0]; c.vocab_size = f[1]; c.d_model = f[2]; c.n_heads = f[3]; c.d_ff = f[4];
    c.n_enc_layers = f[5]; c.n_dec_layers = f[6]; c.max_len = f[7]; c.pos = f[8]; c.norm = f[9];
    c.act = f[10]; c.tied = f[11]; c.scale_emb = f[12]; c.ln_eps = sf_le_f32(b + 52);
    if (!(e = sf_config_validate(&c)).ok) return sf_fail("byte %zu: %s", cfg_at, e.msg);
    if (f[14] != 0 || f[15] != 0) return sf_fail("byte %zu: reserved config fields must be 0", cfg_at + 56);
    size_t alpha_at = r.pos;
    if (!(e = sf_read_u32(&r, &alen, "the alphabet size")).ok) return e;
    if (alen > MAX_ALPHABET) return sf_fail("byte %zu: alphabet of %u bytes; at most %d expected", alpha_at, alen, MAX_ALPHABET);
    if (!(e = sf_read_bytes(&r, &b, alen, "the alphabet")).ok) return e;
    sf_tokenizer tok;
    if (!(e = sf_tokenizer_build(&tok, (const char *)b, alen)).ok) return sf_fail("byte %zu: %s", alpha_at + 4, e.msg);
    if (sf_tokenizer_vocab(&tok) != c.vocab_size) {
        int v = sf_tokenizer_vocab(&tok);
        sf_tokenizer_free(&tok);
        return sf_fail("byte %zu: the alphabet gives %d tokens but vocab_size is %d", alpha_at, v, c.vocab_size);
    }
    if (!(e = sf_read_u64(&r, &np, "the parameter count")).ok || !(e = sf_read_u32(&r, &probe, "the probe size")).ok ||
        !(e = sf_read_u32(&r, &count, "the snapshot count")).ok) {
        sf_tokenizer_free(&tok);
        return e;
    }
    size_t head_end = r.pos;
    if (!(e = sf_read_u32(&r, &u, "the header checksum")).ok) { sf_tokenizer_free(&tok); return e; }
    if (u != sf_crc32(0, buf, head_end)) {
        sf_tokenizer_free(&tok);
        return sf_fail("byte %zu: header checksum mismatch (damaged, or not written by stepformer)", head_end);
    }
    if (probe < 1 || probe > 1000000) { sf_tokenizer_free(&tok); return sf_fail("byte %zu: probe size %u; expected 1 to 1000000", head_end - 8, probe); }

    /* 3. the parameter count the config implies, and records the file can hold: the weights can never
     *    need more floats than the file has bytes / 2 */
    if (!(e = sf_model_build_limited(&s->model, &c, len / 2)).ok) {
        sf_tokenizer_free(&tok);
        return sf_fail("byte %zu: %s", cfg_at, e.msg);
    }
    s->model.tok = tok;
    if (np != s->model.n_params) {
        e = sf_fail("byte %zu: %llu parameters; this config has %zu", head_end - 16, (unsigned long long)np,
                    s->model.n_params);
        goto fail;
    }
    s->header_bytes = r.pos;
    s->record_bytes = record_size(s->model.n_params, (int)prec);
    size_t have = len - s->header_bytes;
    if (count < 1) { e = sf_fail("byte %zu: the series holds no snapshot", head_end - 4); goto fail; }
    if (!s->record_bytes || have / s->record_bytes < count) {
        e = sf_fail("byte %zu: %u snapshots of %zu bytes do not fit in the %zu bytes that follow the header", head_end - 4,
                    count, s->record_bytes, have);
        goto fail;
    }
    s->trailing = have - (size_t)count * s->record_bytes;
    s->precision = (int)prec;
    s->interval = (int)interval;
    s->total_steps = (int)steps;
    s->n_probe = (int)probe;
    s->n = (int)count;
    s->info = calloc(count, sizeof *s->info);
    if (!s->info) { e = sf_fail("out of memory"); goto fail; }

    /* 4. every record: checksum, figures, weights */
    for (uint32_t k = 0; k < count; k++) {
        size_t at = s->header_bytes + (size_t)k * s->record_bytes;
        const unsigned char *p = buf + at;
        if (sf_le_u32(p + s->record_bytes - 4) != sf_crc32(0, p, s->record_bytes - 4)) {
            e = sf_fail("byte %zu: snapshot %u: checksum mismatch (damaged)", at, k);
            goto fail;
        }
        sf_snapshot_info *in = &s->info[k];
        uint32_t step = sf_le_u32(p);
        in->lr = sf_le_f32(p + 4);
        in->train_loss = sf_le_f32(p + 8);
        in->heldout_loss = sf_le_f32(p + 12);
        in->heldout_acc = sf_le_f32(p + 16);
        in->heldout_exact = sf_le_f32(p + 20);
        if (step > steps || (k > 0 && (int)step <= s->info[k - 1].step)) {
            e = sf_fail("byte %zu: snapshot %u is of step %u; expected steps increasing, at most %u", at, k, step, steps);
            goto fail;
        }
        in->step = (int)step;
        if (!(isfinite(in->lr) && in->lr >= 0.0f && in->lr <= 10.0f) || !ok_loss(in->train_loss, 1) ||
            !ok_loss(in->heldout_loss, 1) || !ok_share(in->heldout_acc, 1) || !ok_share(in->heldout_exact, 1)) {
            e = sf_fail("byte %zu: snapshot %u: its learning rate, losses or accuracies are out of range", at + 4, k);
            goto fail;
        }
        const unsigned char *wp = p + INFO_BYTES;
        for (size_t i = 0; i < s->model.n_params; i++) {
            int finite = prec == 32 ? isfinite(sf_le_f32(wp + 4 * i)) : ((wp[2 * i + 1] & 0x7C) != 0x7C);
            if (!finite) {
                e = sf_fail("byte %zu: snapshot %u: weight %zu is not finite", at + INFO_BYTES + i * (prec / 8), k, i);
                goto fail;
            }
        }
    }
    s->selected = -1;
    sf_snapshots_select(s, 0);
    return sf_ok();
fail:
    sf_snapshots_free(s);
    return e;
}

sf_err sf_snapshots_load(const char *path, sf_snapshots *s) {
    unsigned char *data;
    size_t len;
    memset(s, 0, sizeof *s);
    sf_err e = sf_read_file(path, SF_MAX_FILE_BYTES, &data, &len);
    if (!e.ok) return e;
    e = sf_snapshots_load_buffer(data, len, s);
    if (!e.ok) {
        free(data);
        return sf_err_wrap(e, path);
    }
    s->data = data;
    return e;
}

void sf_snapshots_free(sf_snapshots *s) {
    sf_model_free(&s->model);
    free(s->info);
    free(s->data);
    memset(s, 0, sizeof *s);
}

const sf_snapshot_info *sf_snapshots_info(const sf_snapshots *s, int k) {
    return k >= 0 && k < s->n ? &s->info[k] : NULL;
}

int sf_snapshots_weights(const sf_snapshots *s, int k, float *params) {
    if (k < 0 || k >= s->n) return 0;
    const unsigned char *wp = s->buf + s->header_bytes + (size_t)k * s->record_bytes + INFO_BYTES;
    for (size_t i = 0; i < s->model.n_params; i++)
        params[i] = s->precision == 32 ? sf_le_f32(wp + 4 * i)
                                       : sf_float_of_half((uint16_t)(wp[2 * i] | (unsigned)wp[2 * i + 1] << 8));
    return 1;
}

int sf_snapshots_select(sf_snapshots *s, int k) {
    if (k == s->selected) return k >= 0 && k < s->n;
    if (!sf_snapshots_weights(s, k, s->model.params)) return 0;
    s->selected = k;
    return 1;
}

int sf_snapshots_at_step(const sf_snapshots *s, int step) {
    int best = 0;
    for (int k = 0; k < s->n; k++)
        if (s->info[k].step <= step) best = k;
    return best;
}
