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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

sf_err sf_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sf_fail("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sf_fail("%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max_bytes) {
        fclose(f);
        return sf_fail("%s: file is %lld bytes; the limit is %zu bytes", path, (long long)st.st_size,
                       max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return sf_fail("%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        return sf_fail("%s: read error after %zu of %zu bytes", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return sf_ok();
}

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

/* ---- whole-file mapping --------------------------------------------------------------------------- */

sf_err sf_map_file(const char *path, size_t max_bytes, sf_map *m) {
    memset(m, 0, sizeof *m);
    m->data = (const unsigned char *)"";
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return sf_fail("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sf_fail("%s: not a regular file", path);
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)max_bytes) {
        close(fd);
        return sf_fail("%s: file is %lld bytes; the limit is %zu bytes", path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    if (n == 0) { close(fd); return sf_ok(); }
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
        posix_madvise(p, n, POSIX_MADV_SEQUENTIAL); /* loaders read front to back, once */
        close(fd);
        m->base = p;
        m->data = p;
        m->len = n;
        m->mapped = 1;
        return sf_ok();
    }
    /* some file systems cannot map: read it instead, with the same checks already done */
    unsigned char *buf = malloc(n);
    if (!buf) { close(fd); return sf_fail("%s: out of memory reading %zu bytes", path, n); }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (got != n) { free(buf); return sf_fail("%s: read error after %zu of %zu bytes", path, got, n); }
    m->base = buf;
    m->data = buf;
    m->len = n;
    return sf_ok();
}

void sf_unmap_file(sf_map *m) {
    if (m->base) {
        if (m->mapped) munmap(m->base, m->len);
        else free(m->base);
    }
    memset(m, 0, sizeof *m);
    m->data = (const unsigned char *)"";
}
