/* err.c - error values and overflow-checked size arithmetic. */
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

sf_err sf_ok(void) {
    sf_err e;
    e.ok = 1;
    e.msg[0] = '\0';
    return e;
}

sf_err sf_fail(const char *fmt, ...) {
    sf_err e;
    va_list ap;
    e.ok = 0;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    return e;
}

sf_err sf_err_wrap(sf_err e, const char *prefix) {
    if (e.ok || !prefix) return e;
    sf_err out;
    out.ok = 0;
    size_t np = strlen(prefix), nm = strlen(e.msg), cap = sizeof out.msg - 1;
    if (np > cap) np = cap;
    memcpy(out.msg, prefix, np);
    size_t n = np;
    if (n + 2 <= cap) { memcpy(out.msg + n, ": ", 2); n += 2; }
    if (nm > cap - n) nm = cap - n;
    memcpy(out.msg + n, e.msg, nm);
    out.msg[n + nm] = 0;
    return out;
}

int sf_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int sf_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
