/* io.c - bounded file reads, atomic writes, CRC-32, byte buffers and readers. */
#define _POSIX_C_SOURCE 200809L
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Returns what kind of file st describes, for "not a regular file" messages. */
static const char *kind_of(const struct stat *st) {
    if (S_ISDIR(st->st_mode)) return "a folder";
    if (S_ISFIFO(st->st_mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(st->st_mode)) return "a character device";
    if (S_ISBLK(st->st_mode)) return "a block device";
    if (S_ISSOCK(st->st_mode)) return "a socket";
    return "a special file";
}

sf_err sf_file_open(sf_file *f, const char *path, size_t max_bytes) {
    f->fd = -1;
    f->size = 0;
    f->path = path;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; O_NOCTTY: a terminal
     * device must not become the controlling terminal. Both are checked away right after by fstat. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return sf_fail("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sf_err e = sf_fail("%s: cannot read its size: %s", path, strerror(errno));
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sf_fail("%s: is %s, not a regular file", path, kind_of(&st));
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)max_bytes) {
        close(fd);
        return sf_fail("%s: file is %lld bytes; the limit is %zu bytes", path, (long long)st.st_size, max_bytes);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK); /* a regular file: reads behave as usual */
    f->fd = fd;
    f->size = (size_t)st.st_size;
    return sf_ok();
}

sf_err sf_file_read_at(const sf_file *f, size_t off, void *buf, size_t n) {
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return sf_fail("%s: read error at byte %zu: %s", f->path, off + got, strerror(errno));
        if (r == 0)
            return sf_fail("%s: the file ended at byte %zu while %zu bytes from byte %zu were read (did it change "
                           "while being read?)", f->path, off + got, n, off);
        got += (size_t)r;
    }
    return sf_ok();
}

sf_err sf_file_read_all(const sf_file *f, unsigned char **data) {
    *data = NULL;
    unsigned char *buf = malloc(f->size + 1);
    if (!buf) return sf_fail("%s: out of memory reading %zu bytes", f->path, f->size);
    sf_err e = sf_file_read_at(f, 0, buf, f->size);
    if (!e.ok) {
        free(buf);
        return e;
    }
    buf[f->size] = 0;
    *data = buf;
    return sf_ok();
}

void sf_file_close(sf_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

sf_err sf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    sf_file f;
    sf_err e = sf_file_open(&f, path, max_bytes);
    if (!e.ok) return e;
    e = sf_file_read_all(&f, data);
    if (e.ok) *len = f.size;
    sf_file_close(&f);
    return e;
}

sf_err sf_check_file(const char *path, size_t max_bytes) {
    sf_file f;
    sf_err e = sf_file_open(&f, path, max_bytes);
    sf_file_close(&f);
    return e;
}

int sf_file_exists(const char *path) { return access(path, R_OK) == 0; }

/* Removes `path.tmp.<pid>` files left beside path by writers that were killed before their rename
 * (pid no longer running, and not this process). Best effort: errors are ignored. */
static void remove_stale_temps(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return;
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *n = ent->d_name;
        if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0) continue;
        const char *digits = n + blen + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (end == digits || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* still running (or not ours to judge) */
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        unlink(full);
    }
    closedir(d);
}

sf_err sf_write_file_atomic(const char *path, const void *data, size_t len) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return sf_fail("%s: out of memory", path);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    remove_stale_temps(path); /* before too: writers killed again and again must not pile theirs up */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        sf_err e = sf_fail("%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return e;
    }
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            sf_err e = sf_fail("%s: write failed: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return e;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        sf_err e = sf_fail("%s: flush failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return e;
    }
    if (rename(tmp, path) != 0) {
        sf_err e = sf_fail("%s: rename from %s failed: %s", path, tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return e;
    }
    free(tmp);
    remove_stale_temps(path);
    return sf_ok();
}

uint32_t sf_crc32(uint32_t crc, const void *data, size_t len) {
    static uint32_t table[256];
    static int ready = 0;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

void sf_buf_put(sf_buf *b, const void *p, size_t n) {
    if (b->failed || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void sf_buf_u8(sf_buf *b, uint8_t v) { sf_buf_put(b, &v, 1); }
void sf_buf_u16(sf_buf *b, uint16_t v) {
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    sf_buf_put(b, c, 2);
}
void sf_buf_u32(sf_buf *b, uint32_t v) {
    unsigned char c[4];
    for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
    sf_buf_put(b, c, 4);
}
void sf_buf_u64(sf_buf *b, uint64_t v) {
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
    sf_buf_put(b, c, 8);
}
void sf_buf_f32(sf_buf *b, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    sf_buf_u32(b, u);
}
void sf_buf_free(sf_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

uint32_t sf_le_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
float sf_le_f32(const unsigned char *p) {
    uint32_t u = sf_le_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static sf_err need(sf_reader *r, size_t n, const char *what) {
    if (r->pos > r->len || n > r->len - r->pos)
        return sf_fail("byte %zu: file ends while reading %s (%zu bytes needed, %zu left)", r->pos, what,
                       n, r->pos > r->len ? (size_t)0 : r->len - r->pos);
    return sf_ok();
}

sf_err sf_read_u8(sf_reader *r, uint8_t *v, const char *what) {
    sf_err e = need(r, 1, what);
    if (!e.ok) return e;
    *v = r->p[r->pos++];
    return e;
}
sf_err sf_read_u16(sf_reader *r, uint16_t *v, const char *what) {
    sf_err e = need(r, 2, what);
    if (!e.ok) return e;
    *v = (uint16_t)(r->p[r->pos] | r->p[r->pos + 1] << 8);
    r->pos += 2;
    return e;
}
sf_err sf_read_u32(sf_reader *r, uint32_t *v, const char *what) {
    sf_err e = need(r, 4, what);
    if (!e.ok) return e;
    *v = sf_le_u32(r->p + r->pos);
    r->pos += 4;
    return e;
}
sf_err sf_read_u64(sf_reader *r, uint64_t *v, const char *what) {
    sf_err e = need(r, 8, what);
    if (!e.ok) return e;
    *v = (uint64_t)sf_le_u32(r->p + r->pos) | (uint64_t)sf_le_u32(r->p + r->pos + 4) << 32;
    r->pos += 8;
    return e;
}
sf_err sf_read_f32(sf_reader *r, float *v, const char *what) {
    sf_err e = need(r, 4, what);
    if (!e.ok) return e;
    *v = sf_le_f32(r->p + r->pos);
    r->pos += 4;
    return e;
}
sf_err sf_read_bytes(sf_reader *r, const unsigned char **p, size_t n, const char *what) {
    sf_err e = need(r, n, what);
    if (!e.ok) return e;
    *p = r->p + r->pos;
    r->pos += n;
    return e;
}
