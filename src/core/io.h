/* io.h - checked file I/O: bounded reads, atomic saves, CRC-32, and a bounds-checked byte reader. */
#ifndef SF_IO_H
#define SF_IO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The largest file any loader reads (1 GiB); larger files are refused before allocation. */
#define SF_MAX_FILE_BYTES ((size_t)1 << 30)

/* ---- reading: every file the program reads is opened here ------------------------------------ */

/* A file opened for reading by sf_file_open: checked to be a regular file of `size` bytes. */
typedef struct {
    int fd;
    size_t size;
    const char *path; /* for messages; not owned */
} sf_file;

/* Opens path for reading without ever blocking: open(O_NONBLOCK) then fstat, so a FIFO, a device, a
 * socket or a folder is refused ("not a regular file: a FIFO") instead of waiting for a writer; a file
 * larger than max_bytes is refused with its size and the limit. Messages start with the path. On
 * success the caller reads with sf_file_read_at / sf_file_read_all and closes with sf_file_close. */
sf_err sf_file_open(sf_file *f, const char *path, size_t max_bytes);
/* Reads n bytes at offset off into buf; a file that ends first is an error naming both sizes. */
sf_err sf_file_read_at(const sf_file *f, size_t off, void *buf, size_t n);
/* Reads the whole file into a malloc'd buffer (NUL-terminated, the NUL not counted in f->size); it
 * must still be f->size bytes long. The caller frees *data. */
sf_err sf_file_read_all(const sf_file *f, unsigned char **data);
void sf_file_close(sf_file *f);

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience, not counted in *len):
 * sf_file_open's checks (regular file, at most max_bytes), then the read. The caller frees *data. */
sf_err sf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len);

/* Returns success if path is a regular file of at most max_bytes that can be opened for reading (the
 * same checks, without reading it): for files that another library opens by name (fonts). */
sf_err sf_check_file(const char *path, size_t max_bytes);

/* Returns 1 if path exists and is readable, found without opening it (so a FIFO cannot block). */
int sf_file_exists(const char *path);

/* Writes data to path atomically: a temporary file `path.tmp.<pid>` in the same folder, fsync, rename,
 * fsync of the folder. When path is a symbolic link, the file it points to is replaced and the link
 * stays; a replaced file keeps its mode (and its owner when the process may set it); a new one is
 * created 0666 less the umask. On failure nothing at path changes, no temporary file is left behind, and
 * the message says "<path>: not written: <what failed> after N of M bytes: <reason>; <what is there now>".
 * Before writing and after a successful rename it also removes `path.tmp.<pid>` files of writers that
 * were killed mid-save (pid no longer running). */
sf_err sf_write_file_atomic(const char *path, const void *data, size_t len);

/* Writes into out(cap) the file a write to path replaces: path, or the file its symbolic links lead to. */
sf_err sf_write_target(const char *path, char *out, size_t cap);

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

/* Decodes one UTF-8 code point at s[*pos] (len bytes total); returns 1 and advances, or 0 if malformed
 * (overlong, a surrogate, past U+10FFFF, cut short). */
int sf_utf8_decode(const char *s, size_t len, size_t *pos, uint32_t *cp);
/* Writes code point cp as UTF-8 into out (at least 5 bytes, NUL-terminated); returns the byte count. */
int sf_utf8_encode(uint32_t cp, char *out);

/* ---- printing what came from a file -------------------------------------------------------- */

/* Copies s into out(cap) with everything a terminal could take as a command escaped: control characters
 * (as \x1b; \n and \t kept when keep_lines, else \n and \t), DEL, C1 controls and the bidirectional
 * and line-separator code points (as \u202e), and bytes that are not valid UTF-8 (as \xff). Other text,
 * backslashes included, is copied as it is. Always NUL-terminates, cutting at a whole character or
 * escape; returns out. */
char *sf_escape(char *out, size_t cap, const char *s, int keep_lines);
/* Returns 1 for a code point a terminal could take as a command, which sf_escape escapes (and trace --json
 * writes as \u escapes): C0 controls, DEL, C1 controls, the bidirectional marks, overrides and isolates,
 * and the line and paragraph separators. */
int sf_escape_needed(uint32_t cp);
/* Returns the bytes sf_escape needs for s (its NUL included). */
size_t sf_escaped_size(const char *s, int keep_lines);

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

/* Maps the whole of a file opened by sf_file_open read-only (or, where mmap fails, reads it); the mapping
 * stays valid after sf_file_close. On failure *m is empty and the message starts with the path. */
sf_err sf_map_open(const sf_file *f, sf_map *m);
/* Maps a whole regular file read-only: sf_file_open's checks (no blocking on a FIFO or device, a regular
 * file of at most max_bytes), then sf_map_open. On failure *m is empty and the message starts with the path. */
sf_err sf_map_file(const char *path, size_t max_bytes, sf_map *m);
/* Releases what sf_map_file mapped or read; leaves *m empty. Safe on an empty sf_map. */
void sf_unmap_file(sf_map *m);

#endif
