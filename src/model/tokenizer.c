/* tokenizer.c - the character tokenizer and a strict UTF-8 decoder. */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_utf8_decode(const char *s, size_t len, size_t *pos, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = *pos;
    if (i >= len) return 0;
    unsigned c = p[i];
    int n;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; *pos = i + 1; return 1; }
    else if ((c & 0xE0) == 0xC0) { n = 1; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (len - i - 1 < (size_t)n) return 0;
    for (int k = 1; k <= n; k++) {
        unsigned cc = p[i + k];
        if ((cc & 0xC0) != 0x80) return 0;
        v = (v << 6) | (cc & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    *pos = i + 1 + (size_t)n;
    return 1;
}

int sf_utf8_encode(uint32_t cp, char *out) {
    int n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    out[n] = 0;
    return n;
}

/* Orders (code point, index) pairs by code point, then by index. */
static int cmp_pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

sf_err sf_tokenizer_build(sf_tokenizer *t, const char *alphabet, size_t len) {
    t->chars = NULL;
    t->n_chars = 0;
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

void sf_tokenizer_free(sf_tokenizer *t) {
    free(t->chars);
    t->chars = NULL;
    t->n_chars = 0;
}

int sf_tokenizer_vocab(const sf_tokenizer *t) { return SF_TOK_FIRST_CHAR + t->n_chars; }

sf_err sf_tokenizer_encode(const sf_tokenizer *t, const char *text, size_t len, int *ids, int cap,
                           int *n) {
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

const char *sf_tokenizer_piece(const sf_tokenizer *t, int id, char out[16]) {
    static const char *const special[] = {"<pad>", "<bos>", "<eos>", "<unk>"};
    if (id >= 0 && id < SF_TOK_FIRST_CHAR) snprintf(out, 16, "%s", special[id]);
    else if (id >= SF_TOK_FIRST_CHAR && id - SF_TOK_FIRST_CHAR < t->n_chars) {
        uint32_t cp = t->chars[id - SF_TOK_FIRST_CHAR];
        if (cp == ' ') snprintf(out, 16, "\xE2\x90\xA3"); /* U+2423 OPEN BOX shows a space */
        else if (cp < 0x20) snprintf(out, 16, "\\x%02X", (unsigned)cp);
        else sf_utf8_encode(cp, out);
    } else snprintf(out, 16, "<%d?>", id);
    return out;
}

char *sf_tokenizer_alphabet(const sf_tokenizer *t, size_t *len) {
    char *s = malloc((size_t)t->n_chars * 4 + 1);
    if (!s) return NULL;
    size_t n = 0;
    for (int k = 0; k < t->n_chars; k++) n += (size_t)sf_utf8_encode(t->chars[k], s + n);
    s[n] = 0;
    *len = n;
    return s;
}
