/* err.h - error values that carry a message; nothing in stepformer aborts on bad input. */
#ifndef SF_ERR_H
#define SF_ERR_H

#include <stddef.h>

/* An error: ok == 0 means success; otherwise msg says where (file, line or byte offset) and what. */
typedef struct {
    int ok;          /* 1 on success, 0 on failure */
    char msg[512];   /* human-readable: "<where>: <what was expected>" */
} sf_err;

/* Returns a success value. */
sf_err sf_ok(void);
/* Returns a failure value with a printf-style message. */
sf_err sf_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Prefixes an existing failure's message with "prefix: " (e.g. a file name); success passes through. */
sf_err sf_err_wrap(sf_err e, const char *prefix);

/* Overflow-checked size arithmetic: returns 1 and stores the result, or 0 if it would overflow. */
int sf_mul_size(size_t a, size_t b, size_t *out);
int sf_add_size(size_t a, size_t b, size_t *out);

#endif
