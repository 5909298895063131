/* File helpers. Every output file is written atomically: the data goes to "<path>.tmp.<pid>",
 * which is flushed to disk and then renamed over <path>, so a reader (or a crash) sees either
 * the old file or the complete new one, never a half-written one. The one implementation of
 * atomic writes and mkdir -p in the project. All functions return 0 on success, -1 with a
 * message naming the path and the system's reason in err. */
#ifndef BASE_FILEIO_H
#define BASE_FILEIO_H
#include <stddef.h>
#include <stdio.h>

enum { FIO_PATH_MAX = 4096 };

/* Write len bytes to path atomically. A failed write leaves path as it was, and err says
 * "<path>: cannot write: <reason>; the previous file (if any) is unchanged". */
int fio_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen);
/* The same for several pieces written one after another (a header and a body kept apart). */
typedef struct fio_span { const void *buf; size_t len; } fio_span;
int fio_write_spans(const char *path, const fio_span *spans, int n, char *err, size_t errlen);
/* Write a NUL-terminated string (without the NUL) to path atomically. */
int fio_write_string(const char *path, const char *s, char *err, size_t errlen);
/* Create dir and its missing parents (like mkdir -p). An existing directory is fine. */
int fio_mkdir_p(const char *dir, char *err, size_t errlen);
/* fio_mkdir_p for the folder holding path (nothing to do when path has no folder part). */
int fio_mkdir_parent(const char *path, char *err, size_t errlen);
/* Read the whole file into a malloc'd, NUL-terminated buffer (*len excludes the NUL; len may
 * be NULL). Files larger than max_bytes are refused. */
int fio_read_all(const char *path, size_t max_bytes, char **out, size_t *len, char *err, size_t errlen);
/* 1 when name may be one component of a path the harness makes (a run or dataset name):
 * letters, digits, '.', '_', '-' only, not starting with '.', no "..", not empty. */
int fio_safe_name(const char *name);
/* 1 if path exists (any type), 0 otherwise. */
int fio_exists(const char *path);

/* For writers that need a file name or a FILE* of their own (HDF5, libpng):
 * fio_tmp_path gives the temporary name for path; fio_commit flushes tmp to disk and renames
 * it to path (removing tmp on failure); fio_discard removes tmp. */
int  fio_tmp_path(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen);
int  fio_commit(const char *tmp, const char *path, char *err, size_t errlen);
void fio_discard(const char *tmp);
/* fopen(tmp, "wb") for path, with tmp filled in; NULL + err on failure. Finish with
 * fio_close_commit (flush, close, rename) or fio_close_discard. */
FILE *fio_open_tmp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen);
int   fio_close_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen);
void  fio_close_discard(FILE *f, const char *tmp);

#endif
