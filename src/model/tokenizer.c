/* tokenizer.c - the tokenizer interface: the character kind, the BPE kind's display and decoding (its
 * encoding is bpe.c), and a strict UTF-8 decoder. */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/io.h"
#include "bpe.h"

/* Orders (code point, index) pairs by code point, then by index. */
static int cmp_pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

sf_err sf_tokenizer_build(sf_tokenizer *t, const char *alphabet, size_t len) {
    memset(t, 0, sizeof *t);
    t->kind = SF_TOKENIZER_CHAR;
    if (len > 4 * 65536) return sf_fail("alphabet: %zu bytes; at most %d bytes expected", len, 4 * 65536);
    uint32_t *chars = malloc((len ? len : 1) * sizeof *chars);
    uint32_t *at = malloc((len ? len : 1) * sizeof *at); /* byte offset of each character */
    uint32_t *pairs = malloc((len ? len : 1) * 2 * sizeof *pairs);
    if (!chars || !at || !pairs) {
        free(chars); free(at); free(pairs);
        return sf_fail("alphabet: out of memory");
    }
    int n = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t start = pos;
        uint32_t cp;
        if (!sf_utf8_decode(alphabet, len, &pos, &cp)) {
            free(chars); free(at); free(pairs);
            return sf_fail("alphabet: byte %zu: malformed UTF-8", start);
        }
        at[n] = (uint32_t)start;
        chars[n++] = cp;
    }
    /* repeated characters: sort (code point, index) pairs (n log n, not n^2, for a 262144-byte alphabet)
     * and report the repeat that comes first in the file */
    for (int k = 0; k < n; k++) { pairs[2 * k] = chars[k]; pairs[2 * k + 1] = (uint32_t)k; }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_pair);
    int first = -1;
    for (int k = 1; k < n; k++)
        if (pairs[2 * k] == pairs[2 * k - 2] && (first < 0 || pairs[2 * k + 1] < (uint32_t)first))
            first = (int)pairs[2 * k + 1];
    if (first >= 0) {
        sf_err e = sf_fail("alphabet: byte %u: character U+%04X appears twice", (unsigned)at[first],
                           (unsigned)chars[first]);
        free(chars); free(at); free(pairs);
        return e;
    }
    free(at);
    free(pairs);
    t->chars = chars;
    t->n_chars = n;
    return sf_ok();
}

sf_err sf_tokenizer_load_bpe_buffer(sf_tokenizer *t, const unsigned char *buf, size_t len) {
    memset(t, 0, sizeof *t);
    sf_bpe *b;
    sf_err e = sf_bpe_load_buffer(buf, len, &b);
    if (!e.ok) return e;
    t->kind = SF_TOKENIZER_BPE;
    t->bpe = b;
    return sf_ok();
}

sf_err sf_tokenizer_load_bpe(sf_tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    sf_map f;
    sf_err e = sf_map_file(path, (size_t)16 << 20, &f);
    if (!e.ok) return e;
    e = sf_tokenizer_load_bpe_buffer(t, f.data, f.len);
    sf_unmap_file(&f);
    return sf_err_wrap(e, path);
}

void sf_tokenizer_free(sf_tokenizer *t) {
    free(t->chars);
    sf_bpe_free(t->bpe);
    memset(t, 0, sizeof *t);
}

const char *sf_tokenizer_kind_name(const sf_tokenizer *t) { return t->kind == SF_TOKENIZER_BPE ? "gpt2-bpe" : "characters"; }

int sf_tokenizer_vocab(const sf_tokenizer *t) {
    return t->kind == SF_TOKENIZER_BPE ? sf_bpe_vocab(t->bpe) : SF_TOK_FIRST_CHAR + t->n_chars;
}

int sf_tokenizer_bos(const sf_tokenizer *t) { return t->kind == SF_TOKENIZER_BPE ? sf_bpe_eot(t->bpe) : SF_TOK_BOS; }
int sf_tokenizer_eos(const sf_tokenizer *t) { return t->kind == SF_TOKENIZER_BPE ? sf_bpe_eot(t->bpe) : SF_TOK_EOS; }

int sf_tokenizer_is_control(const sf_tokenizer *t, int id) {
    if (t->kind == SF_TOKENIZER_BPE) return 0;
    return id == SF_TOK_PAD || id == SF_TOK_BOS || id == SF_TOK_UNK;
}

sf_err sf_tokenizer_encode(const sf_tokenizer *t, const char *text, size_t len, int *ids, int cap,
                           int *n) {
    if (t->kind == SF_TOKENIZER_BPE) return sf_bpe_encode(t->bpe, text, len, ids, cap, n);
    size_t pos = 0;
    int count = 0;
    *n = 0;
    while (pos < len) {
        size_t at = pos;
        uint32_t cp;
        if (!sf_utf8_decode(text, len, &pos, &cp))
            return sf_fail("input: byte %zu (character %d): malformed UTF-8", at, count + 1);
        int id = -1;
        for (int k = 0; k < t->n_chars; k++)
            if (t->chars[k] == cp) { id = SF_TOK_FIRST_CHAR + k; break; }
        if (id < 0) {
            char s[8];
            sf_utf8_encode(cp, s);
            return sf_fail("input: character %d '%s' (U+%04X, byte %zu) is not in the model's alphabet",
                           count + 1, cp < 0x20 ? "?" : s, (unsigned)cp, at);
        }
        if (count >= cap)
            return sf_fail("input: character %d: longer than the model's limit of %d tokens", count + 1, cap);
        ids[count++] = id;
    }
    *n = count;
    return sf_ok();
}

static const char *const char_special[] = {"<pad>", "<bos>", "<eos>", "<unk>"};

/* Appends the display form of n bytes of one token to out (room for 4 bytes per byte plus 2): characters
 * as themselves (a space as U+2423, controls escaped), bytes that are not whole UTF-8 characters in hex. */
static size_t show_bytes(const unsigned char *p, size_t n, char *out) {
    size_t o = 0, i = 0;
    while (i < n) {
        size_t q = i;
        uint32_t cp;
        if (sf_utf8_decode((const char *)p, n, &q, &cp)) {
            if (cp == ' ') { memcpy(out + o, "\xE2\x90\xA3", 3); o += 3; }
            else if (cp == '\n') { memcpy(out + o, "\\n", 2); o += 2; }
            else if (cp == '\t') { memcpy(out + o, "\\t", 2); o += 2; }
            else if (cp == '\r') { memcpy(out + o, "\\r", 2); o += 2; }
            else if (cp < 0x20 || cp == 0x7F) o += (size_t)sprintf(out + o, "\\x%02x", (unsigned)cp);
            else if (cp >= 0x80 && cp < 0xA0) o += (size_t)sprintf(out + o, "\\u%04x", (unsigned)cp); /* C1 controls */
            else { memcpy(out + o, p + i, q - i); o += q - i; }
            i = q;
            continue;
        }
        /* a run of bytes that are not whole characters: <e6 b3> */
        out[o++] = '<';
        for (int first = 1; i < n; first = 0) {
            q = i;
            if (!first && sf_utf8_decode((const char *)p, n, &q, &cp)) break;
            o += (size_t)sprintf(out + o, first ? "%02x" : " %02x", p[i]);
            i++;
        }
        out[o++] = '>';
    }
    out[o] = 0;
    return o;
}

const char *sf_tokenizer_piece_n(const sf_tokenizer *t, int id, char *out, size_t size) {
    char full[SF_PIECE_MAX];
    if (size == 0) return out;
    if (t->kind == SF_TOKENIZER_BPE) {
        size_t n;
        const unsigned char *p = sf_bpe_bytes(t->bpe, id, &n);
        if (!p) snprintf(full, sizeof full, "<%d?>", id);
        else if (sf_bpe_is_special(t->bpe, id)) snprintf(full, sizeof full, "%.*s", (int)n, (const char *)p);
        else show_bytes(p, n, full); /* n <= SF_BPE_MAX_TOKEN_BYTES: 4 n + 3 < SF_PIECE_MAX */
    } else if (id >= 0 && id < SF_TOK_FIRST_CHAR) snprintf(full, sizeof full, "%s", char_special[id]);
    else if (id >= SF_TOK_FIRST_CHAR && id - SF_TOK_FIRST_CHAR < t->n_chars) {
        uint32_t cp = t->chars[id - SF_TOK_FIRST_CHAR];
        if (cp == ' ') snprintf(full, sizeof full, "\xE2\x90\xA3"); /* U+2423 OPEN BOX shows a space */
        else if (cp < 0x20) snprintf(full, sizeof full, "\\x%02X", (unsigned)cp);
        else sf_utf8_encode(cp, full);
    } else snprintf(full, sizeof full, "<%d?>", id);
    size_t n = strlen(full);
    if (n < size) { memcpy(out, full, n + 1); return out; }
    /* too long: cut at a character boundary and end with U+2026 (or just cut, if even that cannot fit) */
    size_t keep = size > 4 ? size - 4 : size - 1;
    while (keep > 0 && ((unsigned char)full[keep] & 0xC0) == 0x80) keep--;
    memcpy(out, full, keep);
    if (size > 4) { memcpy(out + keep, "\xE2\x80\xA6", 3); keep += 3; }
    out[keep] = 0;
    return out;
}

const char *sf_tokenizer_piece(const sf_tokenizer *t, int id, char out[16]) { return sf_tokenizer_piece_n(t, id, out, 16); }

size_t sf_tokenizer_decode(const sf_tokenizer *t, const int *ids, int n, char *out, size_t size) {
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        char one[8];
        const char *p;
        size_t k;
        if (t->kind == SF_TOKENIZER_BPE) {
            p = (const char *)sf_bpe_bytes(t->bpe, ids[i], &k);
            if (!p) { snprintf(one, sizeof one, "<?>"); p = one; k = 3; }
        } else if (ids[i] >= 0 && ids[i] < SF_TOK_FIRST_CHAR) {
            p = char_special[ids[i]];
            k = 5;
        } else if (ids[i] >= SF_TOK_FIRST_CHAR && ids[i] - SF_TOK_FIRST_CHAR < t->n_chars) {
            k = (size_t)sf_utf8_encode(t->chars[ids[i] - SF_TOK_FIRST_CHAR], one);
            p = one;
        } else { snprintf(one, sizeof one, "<?>"); p = one; k = 3; }
        for (size_t j = 0; j < k; j++, o++)
            if (o + 1 < size) out[o] = p[j];
    }
    if (size) out[o < size ? o : size - 1] = 0;
    return o;
}

char *sf_tokenizer_alphabet(const sf_tokenizer *t, size_t *len) {
    *len = 0;
    if (t->kind != SF_TOKENIZER_CHAR) return NULL;
    char *s = malloc((size_t)t->n_chars * 4 + 1);
    if (!s) return NULL;
    size_t n = 0;
    for (int k = 0; k < t->n_chars; k++) n += (size_t)sf_utf8_encode(t->chars[k], s + n);
    s[n] = 0;
    *len = n;
    return s;
}
