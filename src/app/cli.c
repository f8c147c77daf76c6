/* cli.c - option parsing helpers. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
