/* test_ops_mem.c - sf_big_alloc: alignment, zeroing, zero sizes, overflow, free and realloc, and the
 * huge-page advice where the system has it (test_ops_mem_plain runs the same as built without madvise). */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/mem.h"

/* Returns the alignment sf_big_alloc promises for a block of n bytes. */
static size_t promised(size_t n) { return sf_big_advises() && n >= SF_BIG_HUGE ? SF_BIG_PAGE : 64; }

/* Checks that a block of n bytes is aligned, zeroed and writable to its end, then frees it. */
static void check_block(size_t n) {
    unsigned char *p = sf_big_alloc(n);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % promised(n), 0);
    size_t m = n ? n : 1;
    for (size_t i = 0; i < m; i++)
        if (p[i]) fail_msg("byte %zu of a block of %zu is %d, not 0", i, n, p[i]);
    memset(p, 0xA5, m);
    assert_int_equal(p[m - 1], 0xA5);
    sf_big_free(p);
}

static void test_sizes(void **state) {
    (void)state;
    size_t sizes[] = {0, 1, 63, 64, 65, 4096, 100000, SF_BIG_HUGE - 1, SF_BIG_HUGE, SF_BIG_PAGE, 3 * SF_BIG_PAGE + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) check_block(sizes[i]);
    sf_big_free(NULL);
}

static void test_counts(void **state) {
    (void)state;
    float *f = sf_big_calloc(1000000, sizeof *f);
    assert_non_null(f);
    assert_int_equal((uintptr_t)f % promised(1000000 * sizeof *f), 0);
    for (int i = 0; i < 1000000; i++)
        if (f[i] != 0.0f) fail_msg("float %d is %g, not 0", i, f[i]);
    sf_big_free(f);
    float *z = sf_big_calloc(0, sizeof *z); /* a zero count still gives a block to free */
    assert_non_null(z);
    sf_big_free(z);
}

static void test_overflow(void **state) {
    (void)state;
    assert_null(sf_big_alloc(SIZE_MAX));
    assert_null(sf_big_alloc(SIZE_MAX - 10));
    assert_null(sf_big_calloc(SIZE_MAX / 2, 4));
    assert_null(sf_big_calloc((size_t)1 << 40, (size_t)1 << 30));
}

/* A block is an ordinary allocation: realloc keeps its contents, free frees it. */
static void test_plain_block(void **state) {
    (void)state;
    int *p = sf_big_calloc(SF_BIG_HUGE / sizeof(int), sizeof(int));
    assert_non_null(p);
    for (int i = 0; i < 1000; i++) p[i] = i * 7;
    int *q = realloc(p, 2 * SF_BIG_HUGE);
    assert_non_null(q);
    for (int i = 0; i < 1000; i++) assert_int_equal(q[i], i * 7);
    free(q);
}

/* Returns whether the mapping of /proc/self/smaps that holds p has flag (e.g. "hg") in its VmFlags; -1
 * when smaps cannot be read. */
static int mapping_has_flag(const void *p, const char *flag) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int inside = 0, found = 0;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char c;
        if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            char want[8];
            snprintf(want, sizeof want, " %s", flag);
            found = strstr(line + 8, want) != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Where huge pages are advised and the kernel has them, a large block's mapping carries the advice (the
 * kernel's "hg" flag), and a small block's does not ask for it; built without madvise, none does. */
static void test_advice(void **state) {
    (void)state;
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!thp) skip();
    fclose(thp);
    void *big = sf_big_alloc(4 * SF_BIG_PAGE);
    assert_non_null(big);
    int hg = mapping_has_flag(big, "hg");
    if (hg < 0) {
        sf_big_free(big);
        skip();
    }
    assert_int_equal(hg, sf_big_advises());
    sf_big_free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_plain_block),
        cmocka_unit_test(test_advice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
