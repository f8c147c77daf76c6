/* mem.h - large zeroed buffers, aligned and on huge pages where the system has them.
 *
 * The trainer's buffers (the chunks' gradient buffers, the summed gradient, the weights, the packed
 * records) are read and written every step: on 4 KB pages their several MB take thousands of TLB entries.
 * sf_big_alloc gives a buffer of at least SF_BIG_HUGE bytes a 2 MB-aligned block, rounded up to whole
 * 2 MB pages, and asks the kernel to back it with transparent huge pages (madvise(MADV_HUGEPAGE), Linux;
 * in its "madvise" mode only advised memory gets them). Smaller buffers, and systems without madvise,
 * get a 64-byte-aligned block. Either way the memory is zeroed, as from calloc. */
#ifndef SF_MEM_H
#define SF_MEM_H

#include <stddef.h>

#define SF_BIG_HUGE ((size_t)512 << 10) /* from this size on, a buffer is put on huge pages */
#define SF_BIG_PAGE ((size_t)2 << 20)   /* a huge page */

/* Returns a zeroed block of n bytes (n 0 counts as 1), 64-byte aligned (2 MB from SF_BIG_HUGE bytes on,
 * where huge pages are advised), or NULL when out of memory or when n rounded up overflows. Free it with
 * sf_big_free. */
void *sf_big_alloc(size_t n);
/* Returns a zeroed block for count elements of size bytes each, as sf_big_alloc (NULL on overflow). */
void *sf_big_calloc(size_t count, size_t size);
/* Frees a block from sf_big_alloc (NULL is ignored). The block is an ordinary C allocation (aligned_alloc):
 * free and realloc take it too, so a buffer some path reallocates may come from here (a realloc keeps
 * neither the alignment nor the advice). */
void sf_big_free(void *p);
/* Returns whether sf_big_alloc asks for huge pages on this system (built with madvise's MADV_HUGEPAGE). */
int sf_big_advises(void);

#endif
