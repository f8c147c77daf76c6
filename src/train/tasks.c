/* tasks.c - generators for reverse, copy, sort, words, add, dates and induction, and their hash-based
 * held-out splits. */
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"
#include "core/rng.h"
#include "model/tokenizer.h"

#define HELDOUT_MOD 10   /* one example in ten (by content hash) is held out */
#define WORDS_MAX_BYTES ((size_t)64 << 20)
#define INDUCTION_MIN 4  /* letters in an induction example's random string, and at least in its copy */
#define INDUCTION_MAX 15

enum { TASK_REVERSE, TASK_COPY, TASK_SORT, TASK_WORDS, TASK_ADD, TASK_DATES, TASK_INDUCTION };

/* Returns the internal task number for a task (its name decides). */
static int task_kind(const sf_task *t) {
    if (strcmp(t->name, "reverse") == 0) return TASK_REVERSE;
    if (strcmp(t->name, "copy") == 0) return TASK_COPY;
    if (strcmp(t->name, "sort") == 0) return TASK_SORT;
    if (strcmp(t->name, "add") == 0) return TASK_ADD;
    if (strcmp(t->name, "dates") == 0) return TASK_DATES;
    if (strcmp(t->name, "induction") == 0) return TASK_INDUCTION;
    return TASK_WORDS;
}

/* Returns the printable list of task names. */
const char *sf_task_list(void) { return "reverse, copy, sort, words, add, dates, induction"; }

/* Returns a 64-bit mix of x (splitmix64's finaliser): nearby inputs give unrelated outputs. */
static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Returns the key of example i of a training step: a hash of (seed, step, i). */
uint64_t sf_task_key(uint64_t seed, uint64_t step, uint64_t i) {
    return mix64(mix64(mix64(seed) ^ step) ^ (i * 0xD6E8FEB86659FD93ull));
}

/* Returns the held-out or training split of a content string, from an FNV-1a hash of the task name
 * and the ids (so the same string may fall differently in two tasks). */
sf_split sf_task_split_of(const sf_task *t, const int *ids, int n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (const char *c = t->name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001B3ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(unsigned)ids[i]) * 0x100000001B3ull;
    return mix64(h) % HELDOUT_MOD == 0 ? SF_SPLIT_HELDOUT : SF_SPLIT_TRAIN;
}

/* Returns the default config of a family with the task's sizes (vocab from the alphabet). */
static sf_config task_config(int family, const char *alphabet, int C, int NH, int F, int enc, int dec, int L) {
    sf_config c = sf_config_default((sf_family)family);
    c.vocab_size = SF_TOK_FIRST_CHAR + (int)strlen(alphabet);
    c.d_model = C;
    c.n_heads = NH;
    c.d_ff = F;
    c.n_enc_layers = enc;
    c.n_dec_layers = dec;
    c.max_len = L;
    return c;
}

/* Returns 1 if line[0..n) is a usable word: 1 to max_len-1 letters, all lowercase a-z. */
static int usable_word(const char *w, size_t n, int max_len) {
    if (n < 1 || n > (size_t)max_len - 1) return 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] < 'a' || w[i] > 'z') return 0;
    return 1;
}

/* Reads the word list, keeps the usable words and splits them by hash into train and held. */
static sf_err load_words(sf_task *t, const char *path) {
    unsigned char *data;
    size_t len;
    sf_err e = sf_read_file(path, WORDS_MAX_BYTES, &data, &len);
    if (!e.ok) return sf_fail("word list %s", e.msg);
    /* count the usable words first: the arrays are sized by them, not by the lines (a 64 MiB file of empty
     * lines would otherwise ask for 1 GiB of pointers) */
    size_t words = 0;
    for (const char *p = (const char *)data, *end = p + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n > 0 && p[n - 1] == '\r') n--;
        words += usable_word(p, n, t->cfg.max_len);
        p = stop + 1;
    }
    size_t lines = words ? words : 1;
    t->words_buf = (char *)data;
    t->train = malloc(lines * sizeof *t->train);
    t->held = malloc(lines * sizeof *t->held);
    if (!t->train || !t->held) return sf_fail("word list %s: out of memory", path);
    char *p = t->words_buf, *end = t->words_buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n > 0 && p[n - 1] == '\r') n--;
        if (usable_word(p, n, t->cfg.max_len)) {
            int ids[SF_TASK_MAX_LEN];
            for (size_t i = 0; i < n; i++) ids[i] = SF_TOK_FIRST_CHAR + (p[i] - 'a');
            p[n] = '\0';
            if (sf_task_split_of(t, ids, (int)n) == SF_SPLIT_HELDOUT) t->held[t->n_held++] = p;
            else t->train[t->n_train++] = p;
        }
        p = stop + 1;
    }
    if (t->n_train == 0 || t->n_held == 0)
        return sf_fail("word list %s: %s (expected one word per line, lowercase a-z, at most %d letters)", path,
                       t->n_train + t->n_held == 0 ? "no usable words" : "too few usable words to split",
                       t->cfg.max_len - 1);
    return sf_ok();
}

/* Prepares a task by name; see tasks.h. */
sf_err sf_task_open(sf_task *t, const char *name, const char *words_path) {
    memset(t, 0, sizeof *t);
    if (!name) return sf_fail("no task given; expected one of: %s", sf_task_list());
    if (strcmp(name, "reverse") == 0) {
        t->name = "reverse";
        t->alphabet = "abcdefghijklmnopqrstuvwxyz";
        t->cfg = task_config(SF_FAMILY_ENCDEC, t->alphabet, 64, 4, 256, 2, 2, 16);
        t->recipe = (sf_recipe){2500, 32, 2e-3f, 100};
    } else if (strcmp(name, "copy") == 0) {
        t->name = "copy";
        t->alphabet = "0123456789";
        t->cfg = task_config(SF_FAMILY_ENCDEC, t->alphabet, 64, 4, 256, 2, 2, 16);
        t->recipe = (sf_recipe){2000, 32, 2e-3f, 100};
    } else if (strcmp(name, "sort") == 0) {
        t->name = "sort";
        t->alphabet = "ABC=";
        t->cfg = task_config(SF_FAMILY_GPT, t->alphabet, 48, 3, 192, 0, 3, 16);
        t->recipe = (sf_recipe){1000, 32, 2e-3f, 100};
    } else if (strcmp(name, "words") == 0) {
        t->name = "words";
        t->alphabet = "abcdefghijklmnopqrstuvwxyz";
        t->cfg = task_config(SF_FAMILY_GPT, t->alphabet, 64, 4, 256, 0, 3, 24);
        t->recipe = (sf_recipe){3000, 32, 2e-3f, 100};
        sf_err e = load_words(t, words_path ? words_path : SF_TASK_DEFAULT_WORDS);
        if (!e.ok) {
            sf_task_close(t);
            return e;
        }
    } else if (strcmp(name, "add") == 0) {
        t->name = "add";
        t->alphabet = "0123456789+=";
        t->cfg = task_config(SF_FAMILY_GPT, t->alphabet, 64, 4, 256, 0, 3, 16);
        t->recipe = (sf_recipe){5000, 32, 2e-3f, 100};
    } else if (strcmp(name, "dates") == 0) {
        t->name = "dates";
        t->alphabet = "0123456789abcdefghijklmnopqrstuvwxyz ,-";
        t->cfg = task_config(SF_FAMILY_ENCDEC, t->alphabet, 64, 4, 256, 2, 2, 24);
        t->recipe = (sf_recipe){2000, 32, 2e-3f, 100};
    } else if (strcmp(name, "induction") == 0) {
        t->name = "induction";
        t->alphabet = "abcdefghijklmnopqrstuvwxyz|";
        /* attention-only (d_ff 0), two layers: the smallest model in which induction heads form. GPT-2's
         * 0.02 initialisation leaves this narrow model's attention near uniform for thousands of steps;
         * 1/sqrt(d_model) lets a previous-token head and induction heads form within about 2000 */
        t->cfg = task_config(SF_FAMILY_GPT, t->alphabet, 64, 4, 0, 0, 2, 2 * INDUCTION_MAX + 2);
        t->recipe = (sf_recipe){4000, 32, 3e-3f, 100};
        t->init_sd = 0.125f;
    } else {
        return sf_fail("unknown task '%s'; expected one of: %s", name, sf_task_list());
    }
    return sf_ok();
}

/* Frees the word list (if any) and empties the task. */
void sf_task_close(sf_task *t) {
    free(t->words_buf);
    free(t->train);
    free(t->held);
    memset(t, 0, sizeof *t);
}

/* Fills an encoder-decoder example: src given, output = src (copy) or src reversed (reverse). */
static void make_seq2seq(sf_example *ex, const int *src, int n, int reverse) {
    ex->n_src = n;
    memcpy(ex->src, src, (size_t)n * sizeof *src);
    ex->in[0] = SF_TOK_BOS;
    for (int i = 0; i < n; i++) {
        int y = reverse ? src[n - 1 - i] : src[i];
        ex->in[i + 1] = y;
        ex->tgt[i] = y;
    }
    ex->tgt[n] = SF_TOK_EOS;
    ex->n = n + 1;
    ex->n_prompt = 1;
}

/* Fills a sort example from six letters: <bos> x1..x6 = y1..y6 with targets only on y and <eos>. */
static void make_sort(sf_example *ex, const int *x) {
    int sorted[6], k = 0;
    for (int letter = 0; letter < 3; letter++)
        for (int i = 0; i < 6; i++)
            if (x[i] == SF_TOK_FIRST_CHAR + letter) sorted[k++] = x[i];
    int sep = SF_TOK_FIRST_CHAR + 3;
    ex->n_src = 0;
    ex->in[0] = SF_TOK_BOS;
    for (int i = 0; i < 6; i++) ex->in[1 + i] = x[i];
    ex->in[7] = sep;
    for (int i = 0; i < 6; i++) ex->in[8 + i] = sorted[i];
    for (int i = 0; i < 7; i++) ex->tgt[i] = SF_TOK_PAD; /* the unsorted input is not predicted */
    for (int i = 0; i < 6; i++) ex->tgt[7 + i] = sorted[i];
    ex->tgt[13] = SF_TOK_EOS;
    ex->n = 14;
    ex->n_prompt = 8;
}

/* Fills a words example: <bos> w1..wn predicting w1..wn <eos>. */
static void make_word(sf_example *ex, const char *w) {
    int n = (int)strlen(w);
    ex->n_src = 0;
    ex->in[0] = SF_TOK_BOS;
    for (int i = 0; i < n; i++) {
        ex->in[i + 1] = SF_TOK_FIRST_CHAR + (w[i] - 'a');
        ex->tgt[i] = ex->in[i + 1];
    }
    ex->tgt[n] = SF_TOK_EOS;
    ex->n = n + 1;
    ex->n_prompt = 1;
}

/* Writes the decimal digits of v (no leading zeros) as ids into out; returns their count. */
static int put_number(int *out, int v) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", v);
    for (int i = 0; i < n; i++) out[i] = SF_TOK_FIRST_CHAR + (buf[i] - '0');
    return n;
}

/* Fills an addition example from the prompt ids x(n) ("a+b=") and the sum: targets only on the sum
 * digits and <eos>. */
static void make_add(sf_example *ex, const int *x, int n, int sum) {
    ex->n_src = 0;
    ex->in[0] = SF_TOK_BOS;
    memcpy(ex->in + 1, x, (size_t)n * sizeof *x);
    int digits[8], nd = put_number(digits, sum);
    for (int i = 0; i < n; i++) ex->tgt[i] = SF_TOK_PAD; /* the question is not predicted */
    for (int i = 0; i < nd; i++) {
        ex->in[1 + n + i] = digits[i];
        ex->tgt[n + i] = digits[i];
    }
    ex->tgt[n + nd] = SF_TOK_EOS;
    ex->n = 1 + n + nd;
    ex->n_prompt = 1 + n;
}

/* Fills an induction example from a string x of n distinct letters and a suffix start k:
 * <bos> x | x[k..n) <eos>. The loss counts the suffix after its first letter and the final <eos>: the
 * first letter is given (it says where to continue), everything before it is random. */
static void make_induction(sf_example *ex, const int *x, int n, int k) {
    int sep = SF_TOK_FIRST_CHAR + 26; /* '|' */
    int m = n - k;                    /* suffix length */
    ex->n_src = 0;
    ex->in[0] = SF_TOK_BOS;
    memcpy(ex->in + 1, x, (size_t)n * sizeof *x);
    ex->in[n + 1] = sep;
    memcpy(ex->in + n + 2, x + k, (size_t)m * sizeof *x);
    ex->n = n + 2 + m;
    ex->n_prompt = n + 3; /* <bos> x | and the suffix's first letter */
    for (int i = 0; i < ex->n - 1; i++) ex->tgt[i] = i >= ex->n_prompt - 1 ? ex->in[i + 1] : SF_TOK_PAD;
    ex->tgt[ex->n - 1] = SF_TOK_EOS;
}

/* Writes the ids of text s (characters of the alphabet) into ids; returns their count. */
static int text_ids(const sf_task *t, const char *s, int *ids) {
    int n = 0;
    for (; s[n] && n < SF_TASK_MAX_LEN; n++) ids[n] = SF_TOK_FIRST_CHAR + (int)(strchr(t->alphabet, s[n]) - t->alphabet);
    return n;
}

/* Fills an encoder-decoder example from two texts: src in, dst out (every letter and <eos> counted). */
static void make_text_pair(const sf_task *t, sf_example *ex, const char *src, const char *dst) {
    int out[SF_TASK_MAX_LEN], n_out = text_ids(t, dst, out);
    ex->n_src = text_ids(t, src, ex->src);
    ex->in[0] = SF_TOK_BOS;
    for (int i = 0; i < n_out; i++) ex->in[i + 1] = ex->tgt[i] = out[i];
    ex->tgt[n_out] = SF_TOK_EOS;
    ex->n = n_out + 1;
    ex->n_prompt = 1;
}

/* ---- dates: written-out dates into ISO 8601 ------------------------------------------------------ */

static const char *const MONTHS[12] = {"january", "february", "march",     "april",   "may",      "june",
                                       "july",    "august",   "september", "october", "november", "december"};

/* Returns the number of days in month m (1-12) of year y (Gregorian leap years). */
static int days_in(int m, int y) {
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

void sf_task_date_text(int day, int month, int year, int us, char *in, char *iso, size_t cap) {
    if (cap == 0) return;
    int d = day < 1 ? 1 : day > 31 ? 31 : day, m = month < 1 ? 1 : month > 12 ? 12 : month;
    int y = year < 1000 ? 1000 : year > 9999 ? 9999 : year; /* so the texts have the lengths below */
    if (us) snprintf(in, cap, "%s %d, %d", MONTHS[m - 1], d, y);
    else snprintf(in, cap, "%d %s %d", d, MONTHS[m - 1], y);
    snprintf(iso, cap, "%04d-%02d-%02u", y, m, (unsigned)d % 100u);
}

/* Writes the example of `split` for key; draws candidates until one falls in the split. */
void sf_task_example(const sf_task *t, sf_split split, uint64_t key, sf_example *ex) {
    memset(ex, 0, sizeof *ex);
    sf_rng r;
    sf_rng_seed(&r, key);
    int kind = task_kind(t);
    if (kind == TASK_WORDS) {
        if (split == SF_SPLIT_HELDOUT) make_word(ex, t->held[sf_rng_int(&r, t->n_held)]);
        else make_word(ex, t->train[sf_rng_int(&r, t->n_train)]);
        return;
    }
    if (kind == TASK_DATES) { /* a valid date of 1000-2999, British or American order; its text decides the split */
        char in[SF_TASK_MAX_LEN + 1], iso[SF_TASK_MAX_LEN + 1];
        int ids[SF_TASK_MAX_LEN];
        do {
            int year = 1000 + sf_rng_int(&r, 2000), month = 1 + sf_rng_int(&r, 12);
            int day = 1 + sf_rng_int(&r, days_in(month, year)), us = sf_rng_int(&r, 2);
            sf_task_date_text(day, month, year, us, in, iso, sizeof in);
        } while (sf_task_split_of(t, ids, text_ids(t, in, ids)) != split);
        make_text_pair(t, ex, in, iso);
        return;
    }
    int x[SF_TASK_MAX_LEN], n, sum = 0, start = 0;
    for (;;) {
        if (kind == TASK_ADD) { /* "a+b=" with a, b in 0..999 */
            int a = sf_rng_int(&r, 1000), b = sf_rng_int(&r, 1000);
            /* the split is decided by the unordered pair, so b+a is held out whenever a+b is */
            int lo = a < b ? a : b, hi = a < b ? b : a, key[SF_TASK_MAX_LEN];
            int nk = put_number(key, lo);
            key[nk++] = SF_TOK_FIRST_CHAR + 10;
            nk += put_number(key + nk, hi);
            key[nk++] = SF_TOK_FIRST_CHAR + 11;
            n = put_number(x, a);
            x[n++] = SF_TOK_FIRST_CHAR + 10; /* '+' */
            n += put_number(x + n, b);
            x[n++] = SF_TOK_FIRST_CHAR + 11; /* '=' */
            sum = a + b;
            if (sf_task_split_of(t, key, nk) == split) break;
            continue;
        } else if (kind == TASK_INDUCTION) { /* INDUCTION_MIN..MAX distinct letters, then a suffix start */
            int pool[26];
            for (int i = 0; i < 26; i++) pool[i] = SF_TOK_FIRST_CHAR + i;
            n = INDUCTION_MIN + sf_rng_int(&r, INDUCTION_MAX - INDUCTION_MIN + 1);
            for (int i = 0; i < n; i++) { /* a partial Fisher-Yates shuffle */
                int j = i + sf_rng_int(&r, 26 - i), tmp = pool[i];
                pool[i] = pool[j];
                pool[j] = tmp;
                x[i] = pool[i];
            }
            start = sf_rng_int(&r, n - INDUCTION_MIN + 1);
            /* the split hashes the prompt after <bos>: the string, '|' and the letter the copy starts at */
            x[n] = SF_TOK_FIRST_CHAR + 26;
            x[n + 1] = x[start];
            if (sf_task_split_of(t, x, n + 2) == split) break;
            continue;
        } else if (kind == TASK_SORT) {
            n = 6;
            for (int i = 0; i < n; i++) x[i] = SF_TOK_FIRST_CHAR + sf_rng_int(&r, 3);
        } else {
            int A = (int)strlen(t->alphabet);
            n = 4 + sf_rng_int(&r, 9); /* 4 to 12 */
            for (int i = 0; i < n; i++) x[i] = SF_TOK_FIRST_CHAR + sf_rng_int(&r, A);
        }
        if (sf_task_split_of(t, x, n) == split) break;
    }
    if (kind == TASK_SORT) make_sort(ex, x);
    else if (kind == TASK_ADD) make_add(ex, x, n, sum);
    else if (kind == TASK_INDUCTION) make_induction(ex, x, n, start);
    else make_seq2seq(ex, x, n, kind == TASK_REVERSE);
}

/* Fills a training batch; see tasks.h. */
void sf_task_batch(const sf_task *t, uint64_t seed, long step, sf_example *ex, int n) {
    for (int i = 0; i < n; i++)
        sf_task_example(t, SF_SPLIT_TRAIN, sf_task_key(seed, (uint64_t)step, (uint64_t)i), &ex[i]);
}

/* Writes the add-one-smoothed unigram distribution of the training targets into p(V). */
int sf_task_unigram(const sf_task *t, double *p, int V) {
    int A = (int)strlen(t->alphabet);
    if (V < SF_TOK_FIRST_CHAR + A) return 0;
    double *count = calloc((size_t)V, sizeof *count);
    if (!count) return 0;
    for (int i = 0; i < A; i++) count[SF_TOK_FIRST_CHAR + i] = 1.0;
    count[SF_TOK_EOS] = 1.0;
    if (task_kind(t) == TASK_WORDS) {
        for (int w = 0; w < t->n_train; w++) {
            for (const char *c = t->train[w]; *c; c++) count[SF_TOK_FIRST_CHAR + (*c - 'a')] += 1.0;
            count[SF_TOK_EOS] += 1.0;
        }
    } else { /* a large fixed sample of training examples */
        sf_example ex;
        for (int k = 0; k < 20000; k++) {
            sf_task_example(t, SF_SPLIT_TRAIN, sf_task_key(0x756E6967ull, 0, (uint64_t)k), &ex);
            for (int i = 0; i < ex.n; i++)
                if (ex.tgt[i] != SF_TOK_PAD) count[ex.tgt[i]] += 1.0;
        }
    }
    double total = 0.0;
    for (int i = 0; i < V; i++) total += count[i];
    for (int i = 0; i < V; i++) p[i] = count[i] / total;
    free(count);
    return 1;
}

/* Writes ids(n) as text: alphabet characters as themselves, specials as <bos>, <eos>, <pad>, <unk>. */
void sf_task_text(const sf_task *t, const int *ids, int n, char *out, size_t cap) {
    static const char *special[] = {"<pad>", "<bos>", "<eos>", "<unk>"};
    int A = (int)strlen(t->alphabet);
    size_t k = 0;
    if (cap == 0) return;
    for (int i = 0; i < n; i++) {
        const char *s;
        char one[2] = {0, 0};
        if (ids[i] >= SF_TOK_FIRST_CHAR && ids[i] < SF_TOK_FIRST_CHAR + A) {
            one[0] = t->alphabet[ids[i] - SF_TOK_FIRST_CHAR];
            s = one;
        } else {
            s = ids[i] >= 0 && ids[i] < SF_TOK_FIRST_CHAR ? special[ids[i]] : "?";
        }
        size_t l = strlen(s);
        if (k + l + 1 > cap) break;
        memcpy(out + k, s, l);
        k += l;
    }
    out[k] = '\0';
}
