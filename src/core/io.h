/* io.h - checked file I/O: bounded reads, atomic saves, CRC-32, and a bounds-checked byte reader. */
#ifndef SF_IO_H
#define SF_IO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The largest file any loader reads (1 GiB); larger files are refused before allocation. */
#define SF_MAX_FILE_BYTES ((size_t)1 << 30)

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience, not counted in *len).
 * Refuses files larger than max_bytes. The caller frees *data. */
sf_err sf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len);

/* Writes data to path atomically: a temporary file `path.tmp.<pid>` in the same folder, fsync, rename.
 * On failure nothing at path changes and no temporary file is left behind. Before writing and after a
 * successful rename it also removes `path.tmp.<pid>` files of writers that were killed mid-save (pid no
 * longer running). */
sf_err sf_write_file_atomic(const char *path, const void *data, size_t len);

/* Returns the CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes, continuing from crc (start with 0). */
uint32_t sf_crc32(uint32_t crc, const void *data, size_t len);

/* A growable byte buffer for writers. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed; /* set when an allocation failed; later appends do nothing */
} sf_buf;

void sf_buf_put(sf_buf *b, const void *p, size_t n);
void sf_buf_u8(sf_buf *b, uint8_t v);
void sf_buf_u16(sf_buf *b, uint16_t v);
void sf_buf_u32(sf_buf *b, uint32_t v);
void sf_buf_u64(sf_buf *b, uint64_t v);
void sf_buf_f32(sf_buf *b, float v);
void sf_buf_free(sf_buf *b);

/* A bounds-checked little-endian reader over (buffer, length); every read reports the byte offset. */
typedef struct {
    const unsigned char *p;
    size_t len, pos;
} sf_reader;

/* Each returns success and advances, or a failure naming the offset and `what` (e.g. "tensor count"). */
sf_err sf_read_u8(sf_reader *r, uint8_t *v, const char *what);
sf_err sf_read_u16(sf_reader *r, uint16_t *v, const char *what);
sf_err sf_read_u32(sf_reader *r, uint32_t *v, const char *what);
sf_err sf_read_u64(sf_reader *r, uint64_t *v, const char *what);
sf_err sf_read_f32(sf_reader *r, float *v, const char *what);
sf_err sf_read_bytes(sf_reader *r, const unsigned char **p, size_t n, const char *what);

/* Returns little-endian float / u32 read from p (no bounds check: callers checked). */
float sf_le_f32(const unsigned char *p);
uint32_t sf_le_u32(const unsigned char *p);

/* A read-only view of a whole file (sf_map_file): mapped with mmap where the system allows, else read into
 * memory. data is valid until sf_unmap_file; the caller must not write to it. */
typedef struct {
    const unsigned char *data; /* (len) the file's bytes ("" for an empty file) */
    size_t len;
    void *base;                /* what sf_unmap_file releases (NULL for an empty file) */
    int mapped;                /* 1: base is an mmap of len bytes; 0: base is malloc'd */
} sf_map;

/* The largest file sf_map_file is asked to map for a model (16 GiB: GPT-2 XL in fp32 is 6.2 GB). */
#define SF_MAX_MAP_BYTES ((size_t)1 << 34)

/* Maps a whole regular file read-only. Opens without blocking (a FIFO or device is refused, not waited
 * on), checks with fstat that it is a regular file of at most max_bytes, then maps it (or, where mmap
 * fails, reads it). On failure *m is empty and the message starts with the path. */
sf_err sf_map_file(const char *path, size_t max_bytes, sf_map *m);
/* Releases what sf_map_file mapped or read; leaves *m empty. Safe on an empty sf_map. */
void sf_unmap_file(sf_map *m);

#endif
