/* expect.c - the parser of the PyTorch fixture files (see expect.h for the format). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"

/* Returns the next whitespace-separated word of the text at *p, skipping '#' comment lines; NULL at the
 * end. Words are NUL-terminated in place. */
static char *next_word(char **p) {
    char *s = *p;
    for (;;) {
        while (*s && isspace((unsigned char)*s)) s++;
        if (*s != '#') break;
        while (*s && *s != '\n') s++; /* a comment runs to the end of its line */
    }
    if (!*s) { *p = s; return NULL; }
    char *w = s;
    while (*s && !isspace((unsigned char)*s)) s++;
    if (*s) *s++ = '\0';
    *p = s;
    return w;
}

/* Returns 1 after parsing the next word as an integer in [lo, hi] into *out, 0 if it is not one. */
static int parse_long(char **p, long lo, long hi, long *out) {
    char *w = next_word(p), *end;
    if (!w) return 0;
    long v = strtol(w, &end, 10);
    if (*end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* Returns 1 after parsing the next word as a number into *out, 0 if it is not one. */
static int parse_double(char **p, double *out) {
    char *w = next_word(p), *end;
    if (!w) return 0;
    *out = strtod(w, &end);
    return *end == '\0';
}

/* Returns 1 after parsing "N id id ..." into a fresh array *ids of *n ids (replacing any earlier one),
 * 0 on a malformed list. */
static int parse_ids(char **p, int **ids, int *n) {
    long k, v;
    if (!parse_long(p, 1, EXPECT_MAX_IDS, &k)) return 0;
    free(*ids);
    *n = 0;
    *ids = malloc((size_t)k * sizeof **ids);
    if (!*ids) return 0;
    for (long i = 0; i < k; i++) {
        if (!parse_long(p, 0, 1 << 20, &v)) return 0;
        (*ids)[i] = (int)v;
    }
    *n = (int)k;
    return 1;
}

/* Returns 1 after parsing "NAME RANK D0 [D1] values..." into a new last tensor of x, 0 (after printing
 * why) if it is malformed. */
static int parse_tensor(char **p, expect *x, const char *path) {
    expect_tensor *grown = realloc(x->t, (size_t)(x->n_t + 1) * sizeof *grown);
    if (!grown) return 0;
    x->t = grown;
    expect_tensor *t = &x->t[x->n_t];
    memset(t, 0, sizeof *t);
    char *name = next_word(p);
    long rank, d;
    if (!name || strlen(name) >= sizeof t->name || !parse_long(p, 1, 2, &rank)) {
        print_error("%s: tensor %s: bad name or rank\n", path, name ? name : "(none)");
        return 0;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rank = (int)rank;
    t->dims[1] = 1;
    for (int i = 0; i < t->rank; i++) {
        if (!parse_long(p, 1, 1 << 16, &d)) {
            print_error("%s: tensor %s: bad dimension\n", path, t->name);
            return 0;
        }
        t->dims[i] = (int)d;
    }
    size_t count = (size_t)t->dims[0] * (size_t)t->dims[1];
    t->v = malloc(count * sizeof *t->v);
    if (!t->v) return 0;
    x->n_t++;
    for (size_t i = 0; i < count; i++)
        if (!parse_double(p, &t->v[i])) {
            print_error("%s: tensor %s: bad or missing value\n", path, t->name);
            return 0;
        }
    return 1;
}

/* Returns the whole file at path as a NUL-terminated string, or NULL after printing why. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { print_error("cannot open %s\n", path); return NULL; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        print_error("cannot read %s\n", path);
        fclose(f);
        free(text);
        return NULL;
    }
    fclose(f);
    text[size] = '\0';
    return text;
}

expect *expect_load(const char *path) {
    char *text = read_text(path);
    if (!text) return NULL;
    expect *x = calloc(1, sizeof *x);
    if (!x) { free(text); return NULL; }
    char *p = text, *w;
    int ok = 1;
    while (ok && (w = next_word(&p))) {
        if (!strcmp(w, "src")) {
            ok = parse_ids(&p, &x->src, &x->n_src);
        } else if (!strcmp(w, "in")) {
            ok = parse_ids(&p, &x->in, &x->n_in);
        } else if (!strcmp(w, "tgt")) {
            ok = parse_ids(&p, &x->tgt, &x->n_tgt);
        } else if (!strcmp(w, "loss")) {
            ok = x->has_loss = parse_double(&p, &x->loss);
        } else if (!strcmp(w, "tensor")) {
            ok = parse_tensor(&p, x, path);
            continue; /* parse_tensor says what was wrong */
        } else {
            print_error("%s: unexpected word '%s'\n", path, w);
            ok = 0;
            continue;
        }
        if (!ok) print_error("%s: bad %s line\n", path, w);
    }
    free(text);
    if (ok && (!x->n_tgt || !x->n_t)) {
        print_error("%s: no tgt line or no tensors\n", path);
        ok = 0;
    }
    if (!ok) {
        expect_free(x);
        return NULL;
    }
    return x;
}

void expect_free(expect *x) {
    if (!x) return;
    for (int i = 0; i < x->n_t; i++) free(x->t[i].v);
    free(x->t);
    free(x->src);
    free(x->in);
    free(x->tgt);
    free(x);
}

int expect_compare_trace(const sf_trace *tr, const expect *x, double tol, const char *what, int verbose,
                         double *max_diff) {
    int failures = 0;
    double worst = 0.0;
    for (int i = 0; i < x->n_t; i++) {
        const expect_tensor *t = &x->t[i];
        const sf_trace_entry *en = sf_trace_find(tr, t->name);
        if (!en) {
            if (verbose) print_error("%s: tensor %s is missing from the trace\n", what, t->name);
            failures++;
            continue;
        }
        int dims[SF_TRACE_MAX_RANK] = {0, 0};
        int rank = sf_trace_shape(tr, en, dims);
        if (rank != t->rank || dims[0] != t->dims[0] || (rank == 2 && dims[1] != t->dims[1])) {
            if (verbose)
                print_error("%s: %s has shape rank %d (%d, %d); expected rank %d (%d, %d)\n", what, t->name, rank,
                            dims[0], rank == 2 ? dims[1] : 0, t->rank, t->dims[0], t->rank == 2 ? t->dims[1] : 0);
            failures++;
            continue;
        }
        int d1 = t->rank == 2 ? t->dims[1] : 1, bad = 0;
        double tworst = 0.0;
        for (int r = 0; r < t->dims[0]; r++)
            for (int c = 0; c < d1; c++) {
                int idx[2] = {r, c};
                double want = t->v[(size_t)r * (size_t)d1 + (size_t)c];
                double got = sf_trace_get(tr, en, idx);
                double d = fabs(got - want);
                if (!(d <= tol)) { /* also catches NaN */
                    if (verbose && bad < 3)
                        print_error("%s: %s[%d,%d] = %.9g, PyTorch %.9g (|diff| %.3g)\n", what, t->name, r, c, got,
                                    want, d);
                    bad++;
                    if (isnan(d)) d = INFINITY;
                }
                if (d > tworst) tworst = d;
            }
        if (bad) {
            failures++;
            if (verbose) print_error("%s: %s: %d of %d values off, max |diff| %.3g\n", what, t->name, bad,
                                     t->dims[0] * d1, tworst);
        }
        if (tworst > worst) worst = tworst;
    }
    *max_diff = worst;
    return failures;
}
