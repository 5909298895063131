/* Atomic file writing, mkdir -p and bounded whole-file reads (see fileio.h). */
#include "base/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *path, const char *what, int e)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    return -1;
}

/* A failed atomic write: the temporary file is gone and path was never touched. */
static int write_failed(char *err, size_t errlen, const char *path, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: cannot write: %s; the previous file (if any) is unchanged", path, strerror(e));
    return -1;
}

int fio_tmp_path(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    int n = snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= tmplen) return fail(err, errlen, path, "cannot name temporary file", ENAMETOOLONG);
    return 0;
}

void fio_discard(const char *tmp) { unlink(tmp); }

/* fsync the directory holding path so the rename itself is durable. Best effort. */
static void sync_parent(const char *path)
{
    char dir[FIO_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

int fio_commit(const char *tmp, const char *path, char *err, size_t errlen)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0) { int e = errno; fio_discard(tmp); return write_failed(err, errlen, path, e); }
    if (fsync(fd) != 0) {
        int e = errno; close(fd); fio_discard(tmp);
        return write_failed(err, errlen, path, e);
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno; fio_discard(tmp);
        return write_failed(err, errlen, path, e);
    }
    sync_parent(path);
    return 0;
}

FILE *fio_open_tmp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    if (fio_tmp_path(path, tmp, tmplen, err, errlen) != 0) return NULL;
    FILE *f = fopen(tmp, "wb");
    if (!f) fail(err, errlen, tmp, "cannot create temporary file", errno);   /* tmp names path too */
    return f;
}

int fio_close_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
    errno = 0;
    int bad = ferror(f) || fflush(f) != 0;
    int e = errno ? errno : EIO;
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) { fio_discard(tmp); return write_failed(err, errlen, path, e); }
    return fio_commit(tmp, path, err, errlen);
}

void fio_close_discard(FILE *f, const char *tmp)
{
    fclose(f);
    fio_discard(tmp);
}

int fio_write_spans(const char *path, const fio_span *spans, int n, char *err, size_t errlen)
{
    char tmp[FIO_PATH_MAX];
    FILE *f = fio_open_tmp(path, tmp, sizeof tmp, err, errlen);
    if (!f) return -1;
    for (int i = 0; i < n; i++) {
        errno = 0;
        if (spans[i].len && fwrite(spans[i].buf, 1, spans[i].len, f) != spans[i].len) {
            int e = errno ? errno : EIO;
            fio_close_discard(f, tmp);
            return write_failed(err, errlen, path, e);
        }
    }
    return fio_close_commit(f, tmp, path, err, errlen);
}

int fio_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
    const fio_span one = {buf, len};
    return fio_write_spans(path, &one, 1, err, errlen);
}

int fio_write_string(const char *path, const char *s, char *err, size_t errlen)
{
    return fio_write_atomic(path, s, strlen(s), err, errlen);
}

int fio_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[FIO_PATH_MAX];
    int n = snprintf(buf, sizeof buf, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof buf) return fail(err, errlen, dir, "cannot create directory", ENAMETOOLONG);
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return fail(err, errlen, buf, "cannot create directory", errno);
        *p = saved;
        if (saved == '\0') break;
    }
    struct stat st;
    if (stat(dir, &st) != 0) return fail(err, errlen, dir, "cannot create directory", errno);
    if (!S_ISDIR(st.st_mode)) return fail(err, errlen, dir, "cannot create directory", ENOTDIR);
    return 0;
}

int fio_mkdir_parent(const char *path, char *err, size_t errlen)
{
    char dir[FIO_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n <= 0 || (size_t)n >= sizeof dir) return fail(err, errlen, path, "cannot create directory", ENAMETOOLONG);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;   /* the current folder or the root */
    *slash = '\0';
    return fio_mkdir_p(dir, err, errlen);
}

int fio_read_all(const char *path, size_t max_bytes, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, path, "cannot open", errno);
    struct stat st;
    if (fstat(fileno(f), &st) != 0) { int e = errno; fclose(f); return fail(err, errlen, path, "cannot stat", e); }
    if (S_ISDIR(st.st_mode)) { fclose(f); return fail(err, errlen, path, "cannot read", EISDIR); }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        if (err && errlen)
            snprintf(err, errlen, "%s: file is %lld bytes, more than the %zu allowed", path,
                     (long long)st.st_size, max_bytes);
        return -1;
    }
    if (max_bytes > ((size_t)-1) / 4) max_bytes = ((size_t)-1) / 4;
    size_t cap = (size_t)st.st_size + 64, n = 0;
    if (cap > max_bytes + 2) cap = max_bytes + 2;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return fail(err, errlen, path, "cannot read", ENOMEM); }
    /* Read until EOF (the size may differ from stat's for special files), one byte past the
     * limit at most so an oversized file is noticed. */
    for (;;) {
        if (n + 1 == cap) {
            if (n > max_bytes) break;
            size_t ncap = cap * 2 > max_bytes + 2 ? max_bytes + 2 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) { free(buf); fclose(f); return fail(err, errlen, path, "cannot read", ENOMEM); }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { int e = errno ? errno : EIO; free(buf); fclose(f); return fail(err, errlen, path, "cannot read", e); }
    fclose(f);
    if (n > max_bytes) {
        free(buf);
        if (err && errlen) snprintf(err, errlen, "%s: file is larger than the %zu bytes allowed", path, max_bytes);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return 0;
}

int fio_safe_name(const char *s)
{
    if (!*s || *s == '.' || strstr(s, "..")) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-') return 0;
    return 1;
}

int fio_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
