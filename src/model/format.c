/* format.c - the dispatcher: which reader a model file needs, and loading a file with its tokenizer. */
#define _POSIX_C_SOURCE 200809L
#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/io.h"
#include "checkpoint.h"

sf_format sf_format_detect(const unsigned char *buf, size_t len) {
    if (len >= 8 && memcmp(buf, SF_CKPT_MAGIC, 8) == 0) return SF_FORMAT_SFM;
    if (len >= 4 && sf_le_u32(buf) == SF_LLMC_MAGIC) return SF_FORMAT_LLMC;
    if (len >= 9 && buf[8] == '{') {
        uint64_t n = (uint64_t)sf_le_u32(buf) | (uint64_t)sf_le_u32(buf + 4) << 32;
        if (n >= 2 && n <= SF_SAFETENSORS_MAX_HEADER) return SF_FORMAT_SAFETENSORS;
    }
    return SF_FORMAT_UNKNOWN;
}

const char *sf_format_name(int format) {
    switch (format) {
    case SF_FORMAT_SFM: return "sfm";
    case SF_FORMAT_LLMC: return "llm.c";
    case SF_FORMAT_SAFETENSORS: return "safetensors";
    default: return "?";
    }
}

sf_err sf_checkpoint_load_buffer(const unsigned char *buf, size_t len, sf_model *m) {
    switch (sf_format_detect(buf, len)) {
    case SF_FORMAT_LLMC: return sf_llmc_load_buffer(buf, len, m);
    case SF_FORMAT_SAFETENSORS:
        memset(m, 0, sizeof *m);
        return sf_fail("byte 0: a safetensors file, which is read together with its config.json (load it by path)");
    default: return sf_sfm_load_buffer(buf, len, m); /* .sfm, or its message about the magic */
    }
}

sf_err sf_checkpoint_load(const char *path, sf_model *m) { return sf_model_load(path, NULL, m); }

/* Loads GPT-2's tokenizer into t: o's file if given, else the first shipped one found. */
static sf_err load_gpt2_tokenizer(const sf_load_opts *o, sf_tokenizer *t) {
    if (o && o->tokenizer) return sf_tokenizer_load_bpe(t, o->tokenizer);
    const char *cand[2] = {"assets/" SF_GPT2_TOKENIZER, SF_ASSET_DIR "/" SF_GPT2_TOKENIZER};
    for (int i = 0; i < 2; i++)
        if (sf_file_exists(cand[i])) return sf_tokenizer_load_bpe(t, cand[i]);
    memset(t, 0, sizeof *t);
    return sf_fail("GPT-2's tokenizer was not found (looked for %s and %s); give one with --tokenizer FILE", cand[0],
                   cand[1]);
}

/* Reads the config.json in the folder of file into a malloc'd buffer. */
static sf_err read_config_beside(const char *file, unsigned char **buf, size_t *len) {
    const char *slash = strrchr(file, '/');
    size_t dir = slash ? (size_t)(slash - file) + 1 : 0;
    char *cfg = malloc(dir + sizeof "config.json");
    if (!cfg) return sf_fail("out of memory");
    memcpy(cfg, file, dir);
    memcpy(cfg + dir, "config.json", sizeof "config.json");
    sf_err e = sf_read_file(cfg, SF_CONFIG_JSON_MAX_BYTES, buf, len);
    if (!e.ok) e = sf_fail("a safetensors model is read with the config.json beside it: %s", e.msg);
    free(cfg);
    return e;
}

/* Reads a .sfm file opened as f into m: its first 84 bytes (head, n) are checked (magic, config, and the
 * exact size they imply) before the rest is read, so junk, a truncated or padded file, or a sparse file
 * claiming hundreds of megabytes is refused having read only its head. */
static sf_err load_sfm(const sf_file *f, const unsigned char *head, size_t n, sf_model *m) {
    sf_err e = sf_checkpoint_check_head(head, n, f->size); /* also: at most SF_MAX_FILE_BYTES */
    if (!e.ok) return sf_err_wrap(e, f->path);
    unsigned char *buf = NULL;
    if (!(e = sf_file_read_all(f, &buf)).ok) return e; /* its messages name the path already */
    e = sf_err_wrap(sf_sfm_load_buffer(buf, f->size, m), f->path);
    free(buf);
    return e;
}

sf_err sf_model_load(const char *path, const sf_load_opts *o, sf_model *m) {
    memset(m, 0, sizeof *m);
    /* a folder: a Hugging Face snapshot, whose weights are model.safetensors */
    char *file = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(path);
        file = malloc(n + sizeof "/model.safetensors");
        if (!file) return sf_fail("%s: out of memory", path);
        snprintf(file, n + sizeof "/model.safetensors", "%s/model.safetensors", path);
        if (stat(file, &st) != 0) {
            free(file);
            return sf_fail("%s: is a folder, not a regular file (and not a Hugging Face one: it has no model.safetensors)", path);
        }
    }
    const char *fp = file ? file : path;
    /* every model file is opened without blocking and checked to be a regular file (io.h); only its first
     * bytes are read before a reader is chosen */
    sf_file f;
    sf_err e = sf_file_open(&f, fp, SF_MAX_MAP_BYTES);
    if (!e.ok) { free(file); return e; } /* already names the file */
    unsigned char head[SF_CKPT_HEAD_BYTES];
    size_t n = f.size < sizeof head ? f.size : sizeof head;
    e = sf_file_read_at(&f, 0, head, n);
    int format = e.ok ? sf_format_detect(head, n) : SF_FORMAT_UNKNOWN;
    if (!e.ok) {
        /* the file layer's messages name the file */
    } else if (format == SF_FORMAT_LLMC || format == SF_FORMAT_SAFETENSORS) {
        /* GPT-2 files run to gigabytes: mapped, and their readers check every size against the length */
        sf_map map;
        if ((e = sf_map_open(&f, &map)).ok) {
            if (format == SF_FORMAT_SAFETENSORS) {
                unsigned char *cfg;
                size_t cfg_len;
                e = read_config_beside(fp, &cfg, &cfg_len);
                if (e.ok) {
                    e = sf_safetensors_load_buffer(map.data, map.len, (const char *)cfg, cfg_len, m);
                    free(cfg);
                }
            } else {
                e = sf_llmc_load_buffer(map.data, map.len, m);
            }
            e = sf_err_wrap(e, fp);
            sf_unmap_file(&map);
        }
    } else {
        e = load_sfm(&f, head, n, m); /* .sfm, or its message about the magic */
    }
    sf_file_close(&f);
    if (e.ok && (format == SF_FORMAT_LLMC || format == SF_FORMAT_SAFETENSORS)) {
        sf_tokenizer t;
        e = load_gpt2_tokenizer(o, &t);
        if (e.ok && sf_tokenizer_vocab(&t) != m->cfg.vocab_size) {
            e = sf_fail("the tokenizer has %d tokens but the model's vocabulary is %d", sf_tokenizer_vocab(&t),
                        m->cfg.vocab_size);
            sf_tokenizer_free(&t);
        }
        if (e.ok) m->tok = t;
        else sf_model_free(m);
        e = sf_err_wrap(e, fp);
    }
    if (e.ok) m->format = format == SF_FORMAT_UNKNOWN ? SF_FORMAT_SFM : format;
    free(file);
    return e;
}

float sf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (ex == 0x1F) bits = sign | 0x7F800000u | man << 13; /* inf, NaN */
    else if (ex) bits = sign | (ex + 112) << 23 | man << 13;
    else if (!man) bits = sign; /* zero */
    else { /* subnormal: normalise */
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        bits = sign | (uint32_t)(112 - e) << 23 | (man & 0x3FF) << 13;
    }
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

float sf_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}
