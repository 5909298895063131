/* The configs of a folder (see config_scan.h). */
#include "harness/config_scan.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness/config.h"

int hx_config_describe(const char *path, hx_found_config *f, char *err, size_t errlen)
{
    hx_config c;
    memset(f, 0, sizeof *f);
    if (cfg_load(path, NULL, 0, &c, err, errlen) != 0) return -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->name, sizeof f->name, "%s", c.name);
    snprintf(f->arch, sizeof f->arch, "%s", c.arch);
    snprintf(f->dataset, sizeof f->dataset, "%s", c.dataset);
    snprintf(f->suite, sizeof f->suite, "%s", c.suite);
    snprintf(f->pretrained, sizeof f->pretrained, "%s", c.pretrained);
    snprintf(f->method, sizeof f->method, "%s", c.method ? c.method->name : "none");
    snprintf(f->key, sizeof f->key, "%s", f->method);
    const opt_spec *mode = c.method ? opt_find(c.method->options, c.method->n_options, "mode") : NULL;
    if (mode) {   /* the same key harness table groups by: name:mode */
        char line[2 * OPT_STR_MAX];
        opt_format(mode, c.method_config, line, sizeof line);
        const char *v = strstr(line, " = ");
        if (v && v[3]) snprintf(f->key, sizeof f->key, "%s:%s", f->method, v + 3);
    }
    cfg_hash(&c, f->hash);
    cfg_free(&c);
    return 0;
}

static int cmp_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* Appends the .ini files of dir (and, when depth > 0, of its sub-folders) to *paths. */
static int list_ini(const char *dir, int depth, char ***paths, int *n, int *cap, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot read the configs folder", dir);
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[FIO_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth > 0) rc = list_ini(path, depth - 1, paths, n, cap, err, errlen);
            continue;
        }
        if (!S_ISREG(st.st_mode) || !has_suffix(e->d_name, ".ini")) continue;
        if (*n == *cap) *paths = realloc(*paths, sizeof **paths * (size_t)(*cap = *cap ? *cap * 2 : 64));
        (*paths)[(*n)++] = strdup(path);
    }
    closedir(d);
    return rc;
}

int hx_config_scan(const char *dir, hx_found_config **out, int *n_out, char *err, size_t errlen)
{
    char **paths = NULL;
    int n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    int rc = list_ini(dir, 1, &paths, &n, &cap, err, errlen);
    if (rc == 0 && n) qsort(paths, (size_t)n, sizeof *paths, cmp_path);
    hx_found_config *found = calloc((size_t)n + 1, sizeof *found);
    for (int i = 0; i < n && rc == 0; i++) rc = hx_config_describe(paths[i], &found[i], err, errlen);
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
    if (rc != 0) { free(found); return -1; }
    *out = found;
    *n_out = n;
    return 0;
}
