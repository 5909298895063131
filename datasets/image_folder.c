/* Image folders: dir/train/<class>/<image> and dir/test/<class>/<image>. The whole tree is listed
 * and checked before the first image is decoded (class sets, empty folders, stray entries), then
 * every file is read once: its bytes go into the split's provenance checksum and through
 * ds_decode_image into the split, class after class, files sorted by name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "datasets/ds_internal.h"

enum { PATH_MAX_LEN = 4096, SPLITS = 2, LIST_MAX = 400 };
static const char *const SPLIT_NAME[SPLITS] = {"train", "test"};

/* A sorted list of names. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int names_add(names *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (!copy) return -1;
    memcpy(copy, s, len);
    l->v[l->n++] = copy;
    return 0;
}

static int by_bytes(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int join(char *out, const char *dir, const char *name) {
    return snprintf(out, PATH_MAX_LEN, "%s/%s", dir, name) < PATH_MAX_LEN ? 0 : -1;
}

/* The entries of dir not starting with '.', sorted by name (byte order, not the locale's): all
 * folders (want_dirs) or all regular files; anything else is an error naming it. */
static int list_dir(const char *dir, int want_dirs, names *out, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) return ds_fail(err, errlen, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    char path[PATH_MAX_LEN];
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        struct stat st;
        if (join(path, dir, e->d_name)) rc = ds_fail(err, errlen, "%s/%s: path too long", dir, e->d_name);
        else if (stat(path, &st) != 0) rc = ds_fail(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        else if (want_dirs && !S_ISDIR(st.st_mode))
            rc = ds_fail(err, errlen, "%s: not a folder; %s may hold only class folders", path, dir);
        else if (!want_dirs && !S_ISREG(st.st_mode))
            rc = ds_fail(err, errlen, "%s: not a regular file; class folders hold only image files", path);
        else if (names_add(out, e->d_name)) rc = ds_fail(err, errlen, "%s: out of memory", dir);
    }
    closedir(d);
    if (!rc && out->n) qsort(out->v, out->n, sizeof *out->v, by_bytes);
    return rc;
}

/* Appends ", name" (or name to an empty list) while it fits, then ", ..." once. */
static void append(char out[LIST_MAX], const char *name) {
    size_t used = strlen(out);
    if (used >= 3 && strcmp(out + used - 3, "...") == 0) return;
    if (used + strlen(name) + 8 < LIST_MAX) snprintf(out + used, LIST_MAX - used, "%s%s", used ? ", " : "", name);
    else snprintf(out + used, LIST_MAX - used, "%s...", used ? ", " : "");
}

/* Both splits must hold the same class folders; the message lists what is in only one of them. */
static int same_classes(const names *train, const names *test, const char *dir, char *err, size_t errlen) {
    char only[SPLITS][LIST_MAX] = {"", ""};
    size_t i = 0, j = 0;
    while (i < train->n || j < test->n) {
        int cmp = i == train->n ? 1 : j == test->n ? -1 : strcmp(train->v[i], test->v[j]);
        if (cmp < 0) append(only[0], train->v[i++]);
        else if (cmp > 0) append(only[1], test->v[j++]);
        else i++, j++;
    }
    if (!only[0][0] && !only[1][0]) return 0;
    return ds_fail(err, errlen, "%s/train and %s/test must hold the same class folders: only in train: %s; only in "
                   "test: %s", dir, dir, only[0][0] ? only[0] : "(none)", only[1][0] ? only[1] : "(none)");
}

/* The listing of a whole tree, made before any image is decoded. */
typedef struct tree {
    names classes[SPLITS];
    names files[SPLITS][DS_MAX_CLASSES];
    uint64_t total[SPLITS];
    char first[PATH_MAX_LEN];     /* the image that fixed c, h, w */
    uint8_t *buf;                 /* the file being read */
    size_t cap;
} tree;

static void tree_free(tree *t) {
    for (int s = 0; s < SPLITS; s++) {
        names_free(&t->classes[s]);
        for (int k = 0; k < DS_MAX_CLASSES; k++) names_free(&t->files[s][k]);
    }
    free(t->buf);
    free(t);
}

static int check_classes(const names *cls, const char *dir, const char *const *want, int n_want, const char *what,
                         char *err, size_t errlen) {
    if (cls->n < 2 || cls->n > DS_MAX_CLASSES)
        return ds_fail(err, errlen, "%s/train: %zu class folder%s; a classification set needs 2..%d", dir, cls->n,
                       cls->n == 1 ? "" : "s", DS_MAX_CLASSES);
    for (size_t k = 0; k < cls->n; k++)
        if (strlen(cls->v[k]) >= sizeof ((ds_dataset *)0)->class_names[0])
            return ds_fail(err, errlen, "%s/train/%s: class folder names may have at most %zu characters", dir,
                           cls->v[k], sizeof ((ds_dataset *)0)->class_names[0] - 1);
    if (!want) return 0;
    int same = cls->n == (size_t)n_want;
    for (int k = 0; same && k < n_want; k++) same = strcmp(cls->v[k], want[k]) == 0;
    if (same) return 0;
    char have[LIST_MAX] = "", need[LIST_MAX] = "";
    for (size_t k = 0; k < cls->n; k++) append(have, cls->v[k]);
    for (int k = 0; k < n_want; k++) append(need, want[k]);
    return ds_fail(err, errlen, "%s: the class folders in %s/train are %s; %s needs exactly %s", what, dir, have, what,
                   need);
}

static int list_tree(tree *t, const char *dir, const char *const *want, int n_want, const char *what, char *err,
                     size_t errlen) {
    char path[PATH_MAX_LEN], cdir[PATH_MAX_LEN];
    for (int s = 0; s < SPLITS; s++) {
        if (join(path, dir, SPLIT_NAME[s])) return ds_fail(err, errlen, "%s: path too long", dir);
        if (!ds_dir_exists(path))
            return ds_fail(err, errlen, "%s: no %s/ folder; an image folder holds train/<class>/<image> and "
                           "test/<class>/<image>", dir, SPLIT_NAME[s]);
        if (list_dir(path, 1, &t->classes[s], err, errlen)) return -1;
    }
    if (same_classes(&t->classes[0], &t->classes[1], dir, err, errlen) ||
        check_classes(&t->classes[0], dir, want, n_want, what, err, errlen))
        return -1;
    for (int s = 0; s < SPLITS; s++) {
        for (size_t k = 0; k < t->classes[s].n; k++) {
            if (join(path, dir, SPLIT_NAME[s]) || join(cdir, path, t->classes[s].v[k]))
                return ds_fail(err, errlen, "%s: path too long", dir);
            if (list_dir(cdir, 0, &t->files[s][k], err, errlen)) return -1;
            if (t->files[s][k].n == 0)
                return ds_fail(err, errlen, "%s: no images; every class needs at least one in train and one in test",
                               cdir);
            t->total[s] += t->files[s][k].n;
        }
        if (t->total[s] > UINT32_MAX)
            return ds_fail(err, errlen, "%s/%s: %llu images, at most %u allowed", dir, SPLIT_NAME[s],
                           (unsigned long long)t->total[s], UINT32_MAX);
    }
    return 0;
}

/* Reads the whole file into t->buf; *len gets its size. */
static int slurp(tree *t, const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return ds_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size >= SIZE_MAX) {
        rc = ds_fail(err, errlen, "%s: cannot tell its size", path);
    } else {
        size_t size = (size_t)st.st_size;
        if (size > t->cap) {
            uint8_t *b = realloc(t->buf, size);
            if (!b) rc = ds_fail(err, errlen, "%s: out of memory for %zu bytes", path, size);
            else t->buf = b, t->cap = size;
        }
        if (!rc && (fread(t->buf, 1, size, f) != size || fgetc(f) != EOF))
            rc = ds_fail(err, errlen, "%s: read error (did the file change while being read?)", path);
        *len = size;
    }
    fclose(f);
    return rc;
}

/* Decodes one file into split position sp->n; the first image of the set fixes c, h, w. */
static int add_image(ds_dataset *ds, tree *t, ds_split *sp, uint64_t room, const char *path, size_t len,
                     char *err, size_t errlen) {
    char why[DS_ERR_MAX];
    ds_image im;
    if (ds_decode_image(t->buf, len, &im, why, sizeof why)) return ds_fail(err, errlen, "%s: %s", path, why);
    int rc = 0;
    if (ds->c == 0) {
        ds->c = im.c;
        ds->h = im.h;
        ds->w = im.w;
        snprintf(t->first, sizeof t->first, "%s", path);
    } else if (im.c != ds->c || im.h != ds->h || im.w != ds->w) {
        rc = ds_fail(err, errlen, "%s: %dx%dx%d (channels x height x width), but %s is %dx%dx%d; every image must "
                     "have the same size and channel count", path, im.c, im.h, im.w, t->first, ds->c, ds->h, ds->w);
    }
    size_t bytes = (size_t)im.c * (size_t)im.h * (size_t)im.w;
    if (!rc && !sp->images) rc = ds_split_reserve(sp, room, bytes, err, errlen);
    if (!rc) memcpy(sp->images + (size_t)sp->n * bytes, im.pixels, bytes);
    ds_image_free(&im);
    return rc;
}

static int read_split(ds_dataset *ds, tree *t, const char *dir, int s, ds_split *sp, ds_source *src, char *err,
                      size_t errlen) {
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total_bytes = 0;
    char rel[PATH_MAX_LEN], path[PATH_MAX_LEN];
    for (size_t k = 0; k < t->classes[s].n; k++) {
        const names *files = &t->files[s][k];
        for (size_t i = 0; i < files->n; i++) {
            size_t len = 0;
            if (snprintf(rel, sizeof rel, "%s/%s", t->classes[s].v[k], files->v[i]) >= (int)sizeof rel ||
                snprintf(path, sizeof path, "%s/%s/%s", dir, SPLIT_NAME[s], rel) >= (int)sizeof path)
                return ds_fail(err, errlen, "%s/%s/%s: path too long", dir, SPLIT_NAME[s], t->classes[s].v[k]);
            if (slurp(t, path, &len, err, errlen) ||
                add_image(ds, t, sp, t->total[s], path, len, err, errlen))
                return -1;
            crc = crc32_z(crc, (const Bytef *)rel, strlen(rel) + 1);
            crc = crc32_z(crc, t->buf, len);
            total_bytes += len;
            sp->labels[sp->n++] = (uint8_t)k;
        }
    }
    memset(src, 0, sizeof *src);
    snprintf(src->file, sizeof src->file, "%s/", SPLIT_NAME[s]);
    src->bytes = total_bytes;
    src->crc32 = (uint32_t)crc;
    return 0;
}

int ds_read_image_folder(ds_dataset *ds, const char *dir, const char *const *want, int n_want, const char *what,
                         char *err, size_t errlen) {
    tree *t = calloc(1, sizeof *t);
    if (!t) return ds_fail(err, errlen, "out of memory");
    int rc = list_tree(t, dir, want, n_want, what, err, errlen);
    if (!rc) {
        ds->n_classes = (int)t->classes[0].n;
        for (int k = 0; k < ds->n_classes; k++)
            snprintf(ds->class_names[k], sizeof ds->class_names[k], "%s", t->classes[0].v[k]);
    }
    ds_split *split[SPLITS] = {&ds->train, &ds->test};
    for (int s = 0; !rc && s < SPLITS; s++) {
        if (ds->n_sources == DS_MAX_SOURCES) rc = ds_fail(err, errlen, "%s: too many source records", dir);
        else rc = read_split(ds, t, dir, s, split[s], &ds->sources[ds->n_sources++], err, errlen);
    }
    tree_free(t);
    return rc;
}
