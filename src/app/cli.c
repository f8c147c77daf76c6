/* cli.c - option parsing helpers. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    fprintf(stderr, "stepformer: %s\n", e.msg);
    return 1;
}

int cli_size(const char *cmd, const char *v, int *w, int *h) {
    char *x;
    long a = strtol(v, &x, 10), b = *x == 'x' ? strtol(x + 1, &x, 10) : 0;
    if (*x || a < 320 || b < 240 || a > 7680 || b > 4320) {
        fprintf(stderr, "stepformer %s: --size '%s': expected WIDTHxHEIGHT from 320x240 to 7680x4320\n", cmd, v);
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
