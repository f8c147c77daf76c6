/* mem.c - large zeroed buffers on huge pages (aligned_alloc, then madvise where it exists). */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE (glibc hides them under strict ISO C) */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(MADV_HUGEPAGE) && !defined(SF_MEM_NO_ADVISE) /* (the latter: the tests build the fallback) */
#define SF_MEM_ADVISE 1
#else
#define SF_MEM_ADVISE 0
#endif

/* Returns whether huge pages are advised; see mem.h. */
int sf_big_advises(void) { return SF_MEM_ADVISE; }

/* Returns a zeroed, aligned block of n bytes, advised onto huge pages from SF_BIG_HUGE bytes on; see mem.h. */
void *sf_big_alloc(size_t n) {
    if (n == 0) n = 1;
    int huge = SF_MEM_ADVISE && n >= SF_BIG_HUGE;
    size_t align = huge ? SF_BIG_PAGE : 64;
    if (n > SIZE_MAX - align) return NULL;
    size_t size = (n + align - 1) / align * align; /* aligned_alloc wants a multiple of the alignment */
    void *p = aligned_alloc(align, size);
    if (!p) return NULL;
#if SF_MEM_ADVISE
    /* advised before the first touch, so the zeroing below faults in huge pages; a refusal (a kernel
     * without THP) leaves ordinary pages, which work the same */
    if (huge) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    memset(p, 0, size);
    return p;
}

/* Returns sf_big_alloc(count * size), or NULL when the product overflows. */
void *sf_big_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    return sf_big_alloc(count * size);
}

/* Frees a block of sf_big_alloc (an ordinary aligned_alloc block). */
void sf_big_free(void *p) { free(p); }
