/* cli.c - option parsing helpers. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "core/io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "stepformer: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_int(const char *opt, const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "stepformer: %s '%s': expected a whole number from %ld to %ld\n", opt, s, lo, hi);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_float(const char *opt, const char *s, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "stepformer: %s '%s': expected a number from %g to %g\n", opt, s, lo, hi);
        return 0;
    }
    *out = (float)v;
    return 1;
}

int cli_fail(sf_err e) {
    fputs("stepformer: ", stderr);
    cli_puts_safe(stderr, e.msg, 1);
    fputc('\n', stderr);
    return 1;
}

int cli_size(const char *cmd, const char *opt, const char *v, int *w, int *h) {
    char *x;
    long a = strtol(v, &x, 10), b = *x == 'x' ? strtol(x + 1, &x, 10) : 0;
    if (*x || a < 320 || b < 240 || a > 7680 || b > 4320) {
        fprintf(stderr, "stepformer %s: %s '%s': expected WIDTHxHEIGHT from 320x240 to 7680x4320\n", cmd, opt, v);
        return 0;
    }
    *w = (int)a;
    *h = (int)b;
    return 1;
}

/* Writes the folder the lesson index lists into out: $STEPFORMER_LESSONS, ./lessons, or the source tree's
 * lessons/; returns 0 if none of them is a folder. */
int cli_lessons_dir(char *out, size_t size) {
    const char *env = getenv("STEPFORMER_LESSONS");
    const char *cand[3] = {env && *env ? env : NULL, "lessons", NULL};
#ifdef STEPFORMER_SOURCE_DIR
    cand[2] = STEPFORMER_SOURCE_DIR "/lessons";
#endif
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (cand[i] && stat(cand[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(out, size, "%s", cand[i]);
            return 1;
        }
    }
    return 0;
}

void cli_puts_safe(FILE *f, const char *s, int keep_lines) {
    char buf[1024];
    const unsigned char *p = (const unsigned char *)s;
    while (*p) { /* a chunk at a time, each cut at a character boundary (at most 4 bytes each) */
        char chunk[256];
        size_t n = 0;
        while (p[n] && n < sizeof chunk - 5) n++;
        while (p[n] && n > 0 && (p[n] & 0xC0) == 0x80) n--; /* do not split a character */
        if (n == 0) n = 1;
        memcpy(chunk, p, n);
        chunk[n] = 0;
        fputs(sf_escape(buf, sizeof buf, chunk, keep_lines), f);
        p += n;
    }
}

const char *cli_safe(const char *s) {
    static char ring[8][2048];
    static int k = 0;
    k = (k + 1) % 8;
    return sf_escape(ring[k], sizeof ring[k], s, 0);
}

sf_err cli_refuse_existing(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return sf_ok();
    if (S_ISDIR(st.st_mode)) return sf_fail("%s: is a folder; expected a file name", path);
    return sf_fail("%s: already exists (%lld bytes); not replacing it: pass --force to overwrite it, or another --out",
                   path, (long long)st.st_size);
}
