/* bpe.c - GPT-2's byte-level BPE: the .sftok loader, the pre-tokenizer (PCRE2) and the merge loop. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/io.h"
#include "config.h"
#include "tokenizer.h"

/* OpenAI's pattern (openai/gpt-2 src/encoder.py; tiktoken's r50k_base):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with \s spelled out as what it means there. encoder.py compiles it with Python's `regex` module, whose
 * \s is Unicode's White_Space property (25 characters). PCRE2's own \s (with PCRE2_UCP) also takes
 * U+180E, and JavaScript's takes U+FEFF but not U+0085, so neither is used. */
#define WS "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

#define HEADER_BYTES 28 /* magic, version, pretokenizer, merges, specials, eot */

struct sf_bpe {
    int n_merges, n_special, vocab, eot;
    int id_of_byte[256];      /* token id of each byte value */
    uint16_t (*pair)[2];      /* (n_merges) merge r joins pair[r][0] and pair[r][1] into token 256 + r */
    uint32_t *off;            /* (vocab + 1) token id's bytes are text[off[id] .. off[id + 1]) */
    unsigned char *text;      /* every token's bytes back to back */
    uint32_t *slot;           /* (1 << slot_bits) open-addressed hash of pairs: merge rank + 1, 0 = empty */
    int slot_bits;
    pcre2_code *re;           /* the compiled pre-tokenizer */
};

/* Returns the hash slot to start probing at for the pair (l, r). */
static uint32_t pair_hash(const sf_bpe *b, int l, int r) {
    uint32_t key = (uint32_t)l << 16 | (uint32_t)r;
    return (key * 2654435761u) >> (32 - b->slot_bits);
}

/* Returns the rank of the merge that joins tokens l and r, or -1 if there is none. */
static int merge_rank(const sf_bpe *b, int l, int r) {
    uint32_t mask = (1u << b->slot_bits) - 1;
    for (uint32_t h = pair_hash(b, l, r);; h = (h + 1) & mask) {
        uint32_t v = b->slot[h];
        if (!v) return -1;
        if (b->pair[v - 1][0] == l && b->pair[v - 1][1] == r) return (int)v - 1;
    }
}

void sf_bpe_free(sf_bpe *b) {
    if (!b) return;
    free(b->pair);
    free(b->off);
    free(b->text);
    free(b->slot);
    if (b->re) pcre2_code_free(b->re);
    free(b);
}

/* Returns the failure for a .sftok file after freeing what was built so far. */
static sf_err fail_free(sf_bpe *b, sf_err e) {
    sf_bpe_free(b);
    return e;
}

sf_err sf_bpe_load_buffer(const unsigned char *buf, size_t len, sf_bpe **out) {
    *out = NULL;
    sf_reader r = {buf, len, 0};
    sf_err e;
    const unsigned char *p;
    uint32_t version, pretok, n_merges, n_special, eot;
    if (len == 0) return sf_fail("byte 0: the file is empty; expected a stepformer tokenizer (.sftok)");
    if (!(e = sf_read_bytes(&r, &p, 8, "the magic")).ok) return e;
    if (memcmp(p, SF_BPE_MAGIC, 8) != 0) return sf_fail("byte 0: bad magic; expected \"SFTOKBPE\" (is this a .sftok file?)");
    if (!(e = sf_read_u32(&r, &version, "the version")).ok) return e;
    if (version != SF_BPE_VERSION) return sf_fail("byte 8: version %u is not supported; expected %d", version, SF_BPE_VERSION);
    if (!(e = sf_read_u32(&r, &pretok, "the pre-tokenizer")).ok) return e;
    if (pretok != SF_BPE_PRETOKENIZER_GPT2)
        return sf_fail("byte 12: pre-tokenizer %u is not known; expected %d (GPT-2's regex)", pretok, SF_BPE_PRETOKENIZER_GPT2);
    if (!(e = sf_read_u32(&r, &n_merges, "the merge count")).ok) return e;
    if (!(e = sf_read_u32(&r, &n_special, "the special token count")).ok) return e;
    if (n_special < 1 || n_special > SF_BPE_MAX_SPECIAL)
        return sf_fail("byte 20: %u special tokens; expected 1 to %d", n_special, SF_BPE_MAX_SPECIAL);
    if (n_merges > (uint32_t)(SF_MAX_VOCAB - 256) - n_special)
        return sf_fail("byte 16: %u merges; with 256 byte tokens and %u specials at most %d tokens fit",
                       n_merges, n_special, SF_MAX_VOCAB);
    if (!(e = sf_read_u32(&r, &eot, "the end-of-text id")).ok) return e;
    uint32_t vocab = 256 + n_merges + n_special;
    if (eot < 256 + n_merges || eot >= vocab)
        return sf_fail("byte 24: end-of-text id %u is not a special token (expected %u to %u)", eot, 256 + n_merges, vocab - 1);
    /* every field above is bounded, so the sizes below cannot overflow */
    size_t need = HEADER_BYTES + 256 + (size_t)n_merges * 4 + 4;
    if (len < need)
        return sf_fail("byte %zu: the file ends before its %u merges (needs at least %zu bytes, has %zu)", (size_t)HEADER_BYTES,
                       n_merges, need, len);

    sf_bpe *b = calloc(1, sizeof *b);
    if (!b) return sf_fail("tokenizer: out of memory");
    b->n_merges = (int)n_merges;
    b->n_special = (int)n_special;
    b->vocab = (int)vocab;
    b->eot = (int)eot;
    b->slot_bits = 4;
    while ((1u << b->slot_bits) < 2 * n_merges + 2) b->slot_bits++;
    b->pair = malloc((n_merges ? n_merges : 1) * sizeof *b->pair);
    b->off = malloc(((size_t)vocab + 1) * sizeof *b->off);
    b->slot = calloc((size_t)1 << b->slot_bits, sizeof *b->slot);
    uint32_t *tlen = malloc((size_t)vocab * sizeof *tlen);
    if (!b->pair || !b->off || !b->slot || !tlen) { free(tlen); return fail_free(b, sf_fail("tokenizer: out of memory")); }

    /* the byte tokens: a permutation of the 256 byte values */
    size_t bytes_at = r.pos;
    if (!(e = sf_read_bytes(&r, &p, 256, "the byte tokens")).ok) { free(tlen); return fail_free(b, e); }
    for (int i = 0; i < 256; i++) b->id_of_byte[i] = -1;
    for (int i = 0; i < 256; i++) {
        if (b->id_of_byte[p[i]] >= 0) {
            free(tlen);
            return fail_free(b, sf_fail("byte %zu: byte token %d is byte 0x%02x again (token %d has it); each byte once expected",
                                        bytes_at + (size_t)i, i, p[i], b->id_of_byte[p[i]]));
        }
        b->id_of_byte[p[i]] = i;
        tlen[i] = 1;
    }
    const unsigned char *byte_of = p;

    /* the merges: each joins two tokens made before it, once */
    size_t total = 256;
    for (uint32_t k = 0; k < n_merges; k++) {
        size_t at = r.pos;
        uint16_t lr[2];
        sf_read_u16(&r, &lr[0], "a merge"); /* in bounds: checked against need above */
        sf_read_u16(&r, &lr[1], "a merge");
        for (int s = 0; s < 2; s++)
            if (lr[s] >= 256 + k) {
                free(tlen);
                return fail_free(b, sf_fail("byte %zu: merge %u uses token %u, which is not made before it (expected < %u)",
                                            at + 2 * (size_t)s, k, lr[s], 256 + k));
            }
        int q = merge_rank(b, lr[0], lr[1]);
        if (q >= 0) {
            free(tlen);
            return fail_free(b, sf_fail("byte %zu: merge %u repeats merge %d (tokens %u and %u)", at, k, q, lr[0], lr[1]));
        }
        uint32_t n = tlen[lr[0]] + tlen[lr[1]];
        if (n > SF_BPE_MAX_TOKEN_BYTES) {
            free(tlen);
            return fail_free(b, sf_fail("byte %zu: merge %u makes a token of %u bytes; at most %d expected", at, k, n,
                                        SF_BPE_MAX_TOKEN_BYTES));
        }
        tlen[256 + k] = n;
        total += n;
        b->pair[k][0] = lr[0];
        b->pair[k][1] = lr[1];
        uint32_t mask = (1u << b->slot_bits) - 1, h = pair_hash(b, lr[0], lr[1]);
        while (b->slot[h]) h = (h + 1) & mask;
        b->slot[h] = k + 1;
    }

    /* the special tokens: a length byte and the name */
    const unsigned char *special[SF_BPE_MAX_SPECIAL];
    for (uint32_t k = 0; k < n_special; k++) {
        size_t at = r.pos;
        uint8_t n;
        if (!(e = sf_read_u8(&r, &n, "a special token's length")).ok) { free(tlen); return fail_free(b, e); }
        if (n < 1 || n > 64) {
            free(tlen);
            return fail_free(b, sf_fail("byte %zu: special token %u has %u bytes; 1 to 64 expected", at, k, n));
        }
        if (!(e = sf_read_bytes(&r, &special[k], n, "a special token"))
                 .ok) { free(tlen); return fail_free(b, e); }
        tlen[256 + n_merges + k] = n;
        total += n;
    }
    if (len - r.pos != 4) {
        free(tlen);
        return fail_free(b, sf_fail("byte %zu: %zu bytes follow the special tokens; expected only the 4-byte checksum", r.pos,
                                    len - r.pos));
    }
    uint32_t want = sf_le_u32(buf + r.pos), got = sf_crc32(0, buf, r.pos);
    if (want != got) {
        free(tlen);
        return fail_free(b, sf_fail("byte %zu: checksum mismatch (file says %08x, contents give %08x): the file is damaged",
                                    r.pos, want, got));
    }

    /* every token's bytes, built from the merges (total <= 65536 * 256 bytes) */
    b->text = malloc(total);
    if (!b->text) { free(tlen); return fail_free(b, sf_fail("tokenizer: out of memory")); }
    uint32_t o = 0;
    for (uint32_t id = 0; id < vocab; id++) {
        b->off[id] = o;
        unsigned char *d = b->text + o;
        if (id < 256) d[0] = byte_of[id];
        else if (id < 256 + n_merges) {
            const uint16_t *lr = b->pair[id - 256];
            memcpy(d, b->text + b->off[lr[0]], tlen[lr[0]]);
            memcpy(d + tlen[lr[0]], b->text + b->off[lr[1]], tlen[lr[1]]);
        } else memcpy(d, special[id - 256 - n_merges], tlen[id]);
        o += tlen[id];
    }
    b->off[vocab] = o;
    free(tlen);

    int errcode;
    PCRE2_SIZE erroff;
    b->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
    if (!b->re) return fail_free(b, sf_fail("tokenizer: PCRE2 cannot compile the GPT-2 pattern (error %d at %zu)", errcode,
                                            (size_t)erroff));
    *out = b;
    return sf_ok();
}

int sf_bpe_vocab(const sf_bpe *b) { return b->vocab; }
int sf_bpe_eot(const sf_bpe *b) { return b->eot; }
int sf_bpe_is_special(const sf_bpe *b, int id) { return id >= 256 + b->n_merges && id < b->vocab; }

const unsigned char *sf_bpe_bytes(const sf_bpe *b, int id, size_t *len) {
    if (id < 0 || id >= b->vocab) { *len = 0; return NULL; }
    *len = b->off[id + 1] - b->off[id];
    return b->text + b->off[id];
}

/* ---- encoding ------------------------------------------------------------------------------------ */

/* Scratch for the merge loop, grown to the longest piece seen. */
typedef struct {
    int *id, *next, *prev;
    uint64_t *heap; /* (rank << 32 | position): the smallest is the lowest rank, then the leftmost */
    size_t cap, n_heap;
} work;

static int work_grow(work *w, size_t n) {
    if (n <= w->cap) return 1;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n) cap *= 2;
    int *id = realloc(w->id, cap * sizeof *id);
    if (id) w->id = id;
    int *nx = id ? realloc(w->next, cap * sizeof *nx) : NULL;
    if (nx) w->next = nx;
    int *pv = nx ? realloc(w->prev, cap * sizeof *pv) : NULL;
    if (pv) w->prev = pv;
    uint64_t *hp = pv ? realloc(w->heap, 3 * cap * sizeof *hp) : NULL;
    if (hp) w->heap = hp;
    if (!hp) return 0;
    w->cap = cap;
    return 1;
}

static void heap_push(work *w, uint64_t v) {
    size_t i = w->n_heap++;
    while (i > 0 && w->heap[(i - 1) / 2] > v) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = v;
}

static uint64_t heap_pop(work *w) {
    uint64_t top = w->heap[0], v = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && w->heap[c + 1] < w->heap[c]) c++;
        if (w->heap[c] >= v) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = v;
    return top;
}

/* Pushes the pair starting at position i, if the tokens there merge. */
static void push_pair(const sf_bpe *b, work *w, int i) {
    int j = w->next[i];
    if (j < 0) return;
    int r = merge_rank(b, w->id[i], w->id[j]);
    if (r >= 0) heap_push(w, (uint64_t)r << 32 | (uint32_t)i);
}

typedef struct {
    int *ids, cap, n;
    int full;       /* set when a token did not fit in cap */
    size_t full_at; /* byte offset of the piece that did not fit */
} sink;

/* Encodes one piece of n bytes at text + at into s: the merge loop. Returns 0 when memory is short. */
static int encode_piece(const sf_bpe *b, work *w, const unsigned char *p, size_t n, size_t at, sink *s) {
    if (s->full || n == 0) return 1;
    if (!work_grow(w, n)) return 0;
    for (size_t i = 0; i < n; i++) {
        w->id[i] = b->id_of_byte[p[i]];
        w->next[i] = i + 1 < n ? (int)i + 1 : -1;
        w->prev[i] = (int)i - 1;
    }
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(b, w, (int)i);
    while (w->n_heap) {
        uint64_t top = heap_pop(w);
        int r = (int)(top >> 32), i = (int)(uint32_t)top, j = w->next[i];
        /* stale entries: the left token was merged away, or the pair there has changed */
        if (w->id[i] < 0 || j < 0 || merge_rank(b, w->id[i], w->id[j]) != r) continue;
        w->id[i] = 256 + r;
        w->id[j] = -1;
        w->next[i] = w->next[j];
        if (w->next[j] >= 0) w->prev[w->next[j]] = i;
        if (w->prev[i] >= 0) push_pair(b, w, w->prev[i]);
        push_pair(b, w, i);
    }
    for (int i = 0; i >= 0; i = w->next[i]) {
        if (s->n >= s->cap) { s->full = 1; s->full_at = at; return 1; }
        s->ids[s->n++] = w->id[i];
    }
    return 1;
}

/* Splits one valid UTF-8 segment with the GPT-2 pattern and encodes each piece. Returns a failure
 * only when PCRE2 or memory fails. */
static sf_err encode_segment(const sf_bpe *b, work *w, pcre2_match_data *md, const unsigned char *seg, size_t len,
                             size_t at, sink *s) {
    size_t off = 0;
    while (off < len && !s->full) {
        int rc = pcre2_match(b->re, seg, len, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
            return sf_fail("input: byte %zu: the pre-tokenizer failed (PCRE2 error %d)", at + off, rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s0 = rc < 0 ? len : ov[0], s1 = rc < 0 ? len : ov[1];
        /* every character matches some alternative, so there are no gaps; if one ever appeared its bytes
         * would still be encoded, never dropped */
        if (s0 > off && !encode_piece(b, w, seg + off, s0 - off, at + off, s)) return sf_fail("input: out of memory");
        if (s1 <= s0) { /* an empty match cannot happen either; step past one character */
            size_t q = s0;
            uint32_t cp;
            if (q >= len || !sf_utf8_decode((const char *)seg, len, &q, &cp)) q = len;
            if (!encode_piece(b, w, seg + s0, q - s0, at + s0, s)) return sf_fail("input: out of memory");
            off = q;
            continue;
        }
        if (!encode_piece(b, w, seg + s0, s1 - s0, at + s0, s)) return sf_fail("input: out of memory");
        off = s1;
    }
    return sf_ok();
}

sf_err sf_bpe_encode(const sf_bpe *b, const char *text, size_t len, int *ids, int cap, int *n) {
    *n = 0;
    if (len > SF_BPE_MAX_TEXT_BYTES)
        return sf_fail("input: %zu bytes; at most %zu expected", len, SF_BPE_MAX_TEXT_BYTES);
    if (cap < 0) cap = 0;
    if (len > (size_t)cap * SF_BPE_MAX_TOKEN_BYTES) /* could not fit even if every token were the longest */
        return sf_fail("input: byte %zu: longer than the model's limit of %d tokens", (size_t)cap * SF_BPE_MAX_TOKEN_BYTES, cap);
    const unsigned char *t = (const unsigned char *)text;
    work w = {0};
    sink s = {ids, cap, 0, 0, 0};
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return sf_fail("input: out of memory");
    sf_err e = sf_ok();
    size_t pos = 0;
    while (pos < len && e.ok && !s.full) {
        /* a maximal run of valid UTF-8 goes through the pattern; a maximal run of other bytes is one piece */
        size_t start = pos, q = pos;
        uint32_t cp;
        while (q < len && sf_utf8_decode(text, len, &q, &cp)) pos = q;
        if (pos > start) {
            e = encode_segment(b, &w, md, t + start, pos - start, start, &s);
            continue;
        }
        while (pos < len) {
            q = pos;
            if (sf_utf8_decode(text, len, &q, &cp)) break;
            pos++;
        }
        if (!encode_piece(b, &w, t + start, pos - start, start, &s)) e = sf_fail("input: out of memory");
    }
    pcre2_match_data_free(md);
    free(w.id);
    free(w.next);
    free(w.prev);
    free(w.heap);
    if (!e.ok) return e;
    if (s.full) return sf_fail("input: byte %zu: longer than the model's limit of %d tokens", s.full_at, cap);
    *n = s.n;
    return sf_ok();
}
