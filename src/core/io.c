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

sf_err sf_write_target(const char *path, char *out, size_t cap) {
    char cur[4096], link[4096];
    if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) return sf_fail("%s: path too long", path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
            if (snprintf(out, cap, "%s", cur) >= (int)cap) return sf_fail("%s: path too long", path);
            return sf_ok();
        }
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) return sf_fail("%s: cannot read the symbolic link %s: %s", path, cur, strerror(errno));
        link[n] = 0;
        const char *slash = strrchr(cur, '/');
        char next[4096];
        int w = link[0] == '/' || !slash ? snprintf(next, sizeof next, "%s", link)
                                         : snprintf(next, sizeof next, "%.*s/%s", (int)(slash - cur), cur, link);
        if (w < 0 || w >= (int)sizeof next) return sf_fail("%s: path too long", path);
        memcpy(cur, next, (size_t)w + 1);
    }
    return sf_fail("%s: too many levels of symbolic links", path);
}

/* Flushes the folder holding path, so that a rename into it survives a power cut (best effort). */
static void sync_folder(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

sf_err sf_write_file_atomic(const char *path, const void *data, size_t len) {
    /* a symlink stays a symlink: the file it points to is the one replaced */
    char target[4096];
    sf_err e = sf_write_target(path, target, sizeof target);
    if (!e.ok) return e;
    char how[4200] = "";
    if (strcmp(target, path) != 0) snprintf(how, sizeof how, " (the file its link points to, %s)", target);
    size_t plen = strlen(target);
    char *tmp = malloc(plen + 32);
    if (!tmp) return sf_fail("%s: not written: out of memory", path);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", target, (long)getpid());
    remove_stale_temps(target); /* before too: writers killed again and again must not pile theirs up */
    struct stat old;
    int had = stat(target, &old) == 0 && S_ISREG(old.st_mode);
    /* a new file gets the usual 0666 less the umask; a replaced one keeps its mode (and, when allowed, its owner).
     * O_EXCL | O_NOFOLLOW: the temporary name is predictable, so in a shared folder someone could plant it as
     * a symlink to another file; it is never followed. One left by an earlier process of this pid goes. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        e = sf_fail("%s: not written: cannot create temporary file %s: %s; %s", path, tmp, strerror(errno),
                    had ? "the file there is unchanged" : "no file was created");
        free(tmp);
        return e;
    }
    if (had) {
        if (fchown(fd, old.st_uid, old.st_gid) != 0) { /* not ours to give away: keep our own owner */ }
        fchmod(fd, old.st_mode & 07777);
    }
    const unsigned char *p = data;
    size_t left = len;
    const char *fail = NULL;
    int err = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { fail = "write failed"; err = w < 0 ? errno : ENOSPC; break; }
        p += w;
        left -= (size_t)w;
    }
    if (!fail && fsync(fd) != 0) { fail = "flush (fsync) failed"; err = errno; }
    if (close(fd) != 0 && !fail) { fail = "close failed"; err = errno; }
    if (!fail && rename(tmp, target) != 0) { fail = "rename failed"; err = errno; }
    if (fail) {
        unlink(tmp);
        e = sf_fail("%s%s: not written: %s after %zu of %zu bytes: %s; %s", path, how, fail, len - left, len,
                    strerror(err), had ? "the file there is unchanged" : "no file was created");
        free(tmp);
        return e;
    }
    free(tmp);
    sync_folder(target);
    remove_stale_temps(target);
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

sf_err sf_map_open(const sf_file *f, sf_map *m) {
    memset(m, 0, sizeof *m);
    m->data = (const unsigned char *)"";
    size_t n = f->size;
    if (n == 0) return sf_ok();
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p != MAP_FAILED) {
        posix_madvise(p, n, POSIX_MADV_SEQUENTIAL); /* loaders read front to back, once */
        m->base = p;
        m->data = p;
        m->len = n;
        m->mapped = 1;
        return sf_ok();
    }
    /* some file systems cannot map: read it instead, with the same checks already done */
    unsigned char *buf;
    sf_err e = sf_file_read_all(f, &buf);
    if (!e.ok) return e;
    m->base = buf;
    m->data = buf;
    m->len = n;
    return sf_ok();
}

sf_err sf_map_file(const char *path, size_t max_bytes, sf_map *m) {
    memset(m, 0, sizeof *m);
    m->data = (const unsigned char *)"";
    sf_file f;
    sf_err e = sf_file_open(&f, path, max_bytes);
    if (!e.ok) return e;
    e = sf_map_open(&f, m);
    sf_file_close(&f); /* a mapping outlives its descriptor */
    return e;
}

void sf_unmap_file(sf_map *m) {
    if (m->base) {
        if (m->mapped) munmap(m->base, m->len);
        else free(m->base);
    }
    memset(m, 0, sizeof *m);
    m->data = (const unsigned char *)"";
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

int sf_utf8_decode(const char *s, size_t len, size_t *pos, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = *pos;
    if (i >= len) return 0;
    unsigned c = p[i];
    int n;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; *pos = i + 1; return 1; }
    else if ((c & 0xE0) == 0xC0) { n = 1; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (len - i - 1 < (size_t)n) return 0;
    for (int k = 1; k <= n; k++) {
        unsigned cc = p[i + k];
        if ((cc & 0xC0) != 0x80) return 0;
        v = (v << 6) | (cc & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    *pos = i + 1 + (size_t)n;
    return 1;
}

int sf_utf8_encode(uint32_t cp, char *out) {
    int n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    out[n] = 0;
    return n;
}

/* ---- printing what came from a file -------------------------------------------------------- */

int sf_escape_needed(uint32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Writes the escaped form of the character at s (consuming *used bytes) into e(16); returns its length. */
static int escape_one(const unsigned char *s, int keep_lines, char e[16], int *used) {
    uint32_t cp;
    size_t n = 0; /* the character's bytes: sf_utf8_decode stops at the NUL, which ends a cut-short one */
    if (!sf_utf8_decode((const char *)s, strnlen((const char *)s, 4), &n, &cp)) {
        *used = 1;
        return snprintf(e, 16, "\\x%02x", s[0]);
    }
    *used = (int)n;
    if (cp == '\n' || cp == '\t') {
        if (keep_lines) { e[0] = (char)cp; e[1] = 0; return 1; }
        return snprintf(e, 16, "\\%c", cp == '\n' ? 'n' : 't');
    }
    if (cp < 0x20 || cp == 0x7F) return snprintf(e, 16, "\\x%02x", (unsigned)cp);
    if (sf_escape_needed(cp)) return snprintf(e, 16, "\\u%04x", (unsigned)cp);
    memcpy(e, s, n);
    e[n] = 0;
    return (int)n;
}

char *sf_escape(char *out, size_t cap, const char *s, int keep_lines) {
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    if (cap == 0) return out;
    while (*p) {
        char e[16];
        int used, k = escape_one(p, keep_lines, e, &used);
        if (o + (size_t)k + 1 > cap) break;
        memcpy(out + o, e, (size_t)k);
        o += (size_t)k;
        p += used;
    }
    out[o] = 0;
    return out;
}

size_t sf_escaped_size(const char *s, int keep_lines) {
    size_t o = 1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char e[16];
        int used;
        o += (size_t)escape_one(p, keep_lines, e, &used);
        p += used;
    }
    return o;
}
