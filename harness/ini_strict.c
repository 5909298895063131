/* Strict INI reader (see ini_strict.h). */
#include "harness/ini_strict.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where each section and key was first seen, to name both lines of a repeat. */
typedef struct { const char *section, *key; int line; } seen_entry;
typedef struct { seen_entry *v; int n, cap; } seen_list;

static int seen_find(const seen_list *s, const char *section, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].section, section) && ((!key && !s->v[i].key) || (key && s->v[i].key && !strcmp(s->v[i].key, key))))
            return s->v[i].line;
    return 0;
}

static int seen_add(seen_list *s, const char *section, const char *key, int line)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 32;
        seen_entry *v = realloc(s->v, sizeof *v * (size_t)cap);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (seen_entry){section, key, line};
    return 0;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) end--;
    *end = 0;
    return s;
}

static int is_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-') return 0;
    return 1;
}

static int bad(char *err, size_t errlen, const char *path, int line, const char *what)
{
    snprintf(err, errlen, "%s:%d: %s", path, line, what);
    return -1;
}

/* One line (NUL-terminated, without its newline). *section follows section headers. */
static int parse_line(char *s, int line, const char **section, seen_list *seen, const char *path, ini_key_fn fn,
                      void *user, char *err, size_t errlen)
{
    char msg[INI_LINE_MAX + 256];
    char *end = s + strlen(s);
    s = trim(s, end);
    if (*s == 0 || *s == ';' || *s == '#') return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || close[1] != 0) return bad(err, errlen, path, line, "a section header is [name] and nothing else");
        const char *name = trim(s + 1, close);
        if (!is_name(name)) {
            snprintf(msg, sizeof msg, "section name '%s': use letters, digits, '_', '.', '-'", name);
            return bad(err, errlen, path, line, msg);
        }
        int first = seen_find(seen, name, NULL);
        if (first) {
            snprintf(msg, sizeof msg, "section [%s] again (first at line %d): give each section once", name, first);
            return bad(err, errlen, path, line, msg);
        }
        if (seen_add(seen, name, NULL, line) != 0) return bad(err, errlen, path, line, "out of memory");
        *section = name;
        return 0;
    }
    char *eq = strchr(s, '=');
    if (!eq) return bad(err, errlen, path, line, "expected [section], key = value, or a comment (; or #)");
    const char *key = trim(s, eq), *value = trim(eq + 1, end);
    if (!is_name(key)) {
        snprintf(msg, sizeof msg, "key '%s': use letters, digits, '_', '.', '-'", key);
        return bad(err, errlen, path, line, msg);
    }
    if (!**section) {
        snprintf(msg, sizeof msg, "key '%s' before any [section]", key);
        return bad(err, errlen, path, line, msg);
    }
    int first = seen_find(seen, *section, key);
    if (first) {
        snprintf(msg, sizeof msg, "[%s] %s again (first at line %d): give each key once", *section, key, first);
        return bad(err, errlen, path, line, msg);
    }
    if (seen_add(seen, *section, key, line) != 0) return bad(err, errlen, path, line, "out of memory");
    return fn(user, line, *section, key, value, err, errlen);
}

int ini_strict_parse(char *text, size_t len, const char *path, ini_key_fn fn, void *user, char *err, size_t errlen)
{
    static const char bom[] = "\xEF\xBB\xBF";
    char *p = text, *stop = text + len;
    if (len >= 3 && memcmp(p, bom, 3) == 0) p += 3;
    const char *section = "";
    seen_list seen = {0};
    int rc = 0;
    for (int line = 1; p < stop && rc == 0; line++) {
        char *nl = memchr(p, '\n', (size_t)(stop - p));
        char *end = nl ? nl : stop;
        char *nul = memchr(p, 0, (size_t)(end - p));
        if (nul) {
            char msg[96];
            snprintf(msg, sizeof msg, "NUL byte at column %d: a config is text", (int)(nul - p) + 1);
            rc = bad(err, errlen, path, line, msg);
            break;
        }
        if (end > p && end[-1] == '\r') end--;
        if (end - p > INI_LINE_MAX) {
            char msg[96];
            snprintf(msg, sizeof msg, "line of %ld characters; at most %d", (long)(end - p), INI_LINE_MAX);
            rc = bad(err, errlen, path, line, msg);
            break;
        }
        *end = 0;
        rc = parse_line(p, line, &section, &seen, path, fn, user, err, errlen);
        p = nl ? nl + 1 : stop;
    }
    free(seen.v);
    return rc;
}
