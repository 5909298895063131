/* Declared options: parsing, range checks, descriptions and formatting (see option.h).
 * Range convention: lo == hi == 0 means "no range"; -HUGE_VAL / HUGE_VAL leave one side open-ended. */
#include "base/option.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small text helpers ----------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return s;
}

/* Copies s[0..n) into out with surrounding spaces removed; 0 if it does not fit. */
static int copy_trimmed(const char *s, size_t n, char *out, size_t outlen)
{
    while (n > 0 && isspace((unsigned char)*s)) { s++; n--; }
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n + 1 > outlen) return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* Shortest "%.*g" text that reads back as exactly v; whole numbers without an exponent. */
static void format_double(double v, char *out, size_t outlen)
{
    if (v == floor(v) && fabs(v) < 1e15) { snprintf(out, outlen, "%.0f", v); return; }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* ---- scalar parsers: 1 = ok --------------------------------------------------------------- */

static int parse_long_text(const char *s, long *out)
{
    s = skip_space(s);
    if (*s == '\0') return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *skip_space(end) != '\0') return 0;
    *out = v;
    return 1;
}

static int parse_double_text(const char *s, double *out)
{
    s = skip_space(s);
    if (*s == '\0') return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1.0) return 0;      /* overflow; underflow to ~0 is fine */
    if (end == s || *skip_space(end) != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int has_range(const opt_spec *sp) { return !(sp->lo == 0.0 && sp->hi == 0.0); }

static int in_range(const opt_spec *sp, double v)
{
    if (!has_range(sp)) return 1;
    if (sp->lo_open ? !(v > sp->lo) : !(v >= sp->lo)) return 0;
    if (sp->hi_open ? !(v < sp->hi) : !(v <= sp->hi)) return 0;
    return 1;
}

static int parse_int_elem(const opt_spec *sp, const char *s, int *out)
{
    long v;
    if (!parse_long_text(s, &v) || v < INT_MIN || v > INT_MAX || !in_range(sp, (double)v)) return 0;
    *out = (int)v;
    return 1;
}

static int parse_float_elem(const opt_spec *sp, const char *s, double *out)
{
    double v;
    if (!parse_double_text(s, &v) || !in_range(sp, v)) return 0;
    *out = v;
    return 1;
}

/* Spellings of booleans, case-insensitive. */
static const struct { const char *text; int value; } bool_words[] = {
    {"true", 1}, {"false", 0}, {"1", 1}, {"0", 0}, {"yes", 1}, {"no", 0}, {"on", 1}, {"off", 0},
};

static int parse_bool_text(const char *s, int *out)
{
    char word[8];
    if (!copy_trimmed(s, strlen(s), word, sizeof word)) return 0;
    for (size_t i = 0; i < sizeof bool_words / sizeof bool_words[0]; i++)
        if (strcasecmp(word, bool_words[i].text) == 0) { *out = bool_words[i].value; return 1; }
    return 0;
}

/* Index of `s` (trimmed) among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *s)
{
    char word[OPT_STR_MAX];
    if (!copy_trimmed(s, strlen(s), word, sizeof word)) return -1;
    size_t wl = strlen(word);
    int idx = 0;
    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == wl && strncmp(p, word, len) == 0) return idx;
        if (!bar) return -1;
        p = bar + 1;
    }
}

/* The idx-th choice into out; 0 if idx is out of range. */
static int choice_name(const char *choices, int idx, char *out, size_t outlen)
{
    const char *p = choices;
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '|');
        if (!p) return 0;
        p++;
    }
    if (idx < 0) return 0;
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(out, outlen, "%.*s", (int)len, p);
    return 1;
}

/* Comma-separated list; blank text is the empty list. 1 = ok, 0 = bad element, 2 = too long. */
static int parse_list(const opt_spec *sp, const char *value, void *field)
{
    int n = 0;
    opt_floats fl = {0};
    opt_ints il = {0};
    if (*skip_space(value) != '\0') {
        for (const char *p = value;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char elem[64];
            if (n >= OPT_LIST_MAX) return 2;
            if (!copy_trimmed(p, len, elem, sizeof elem)) return 0;
            int ok = sp->type == OPT_FLOATS ? parse_float_elem(sp, elem, &fl.v[n])
                                            : parse_int_elem(sp, elem, &il.v[n]);
            if (!ok) return 0;
            n++;
            if (!comma) break;
            p = comma + 1;
        }
    }
    if (sp->type == OPT_FLOATS) { fl.n = n; memcpy(field, &fl, sizeof fl); }
    else { il.n = n; memcpy(field, &il, sizeof il); }
    return 1;
}

/* ---- public ----------------------------------------------------------------------------- */

int opt_parse(const opt_spec *sp, void *obj, const char *value, char *err, size_t errlen)
{
    assert(sp && obj && value && sp->type >= 0 && sp->type < OPT_TYPE_COUNT);
    char *field = (char *)obj + sp->offset;
    int ok = 0, too_long = 0;
    switch (sp->type) {
    case OPT_INT: { int v; if ((ok = parse_int_elem(sp, value, &v))) *(int *)field = v; break; }
    case OPT_FLOAT: { double v; if ((ok = parse_float_elem(sp, value, &v))) *(double *)field = v; break; }
    case OPT_BOOL: { int v; if ((ok = parse_bool_text(value, &v))) *(int *)field = v; break; }
    case OPT_STR:
        ok = strlen(value) < OPT_STR_MAX;
        if (ok) memcpy(field, value, strlen(value) + 1);
        break;
    case OPT_CHOICE: {
        assert(sp->choices);
        int i = choice_index(sp->choices, value);
        if ((ok = i >= 0)) *(int *)field = i;
        break;
    }
    case OPT_FLOATS: case OPT_INTS: {
        int rc = parse_list(sp, value, field);
        ok = rc == 1;
        too_long = rc == 2;
        break;
    }
    case OPT_TYPE_COUNT: assert(0); break;
    }
    if (ok) return 0;
    if (err && errlen) {
        char what[160];
        opt_describe(sp, what, sizeof what);
        if (too_long) snprintf(err, errlen, "%s = %s: expected %s (at most %d values)", sp->key,
                               value, what, OPT_LIST_MAX);
        else snprintf(err, errlen, "%s = %s: expected %s", sp->key, value, what);
    }
    return -1;
}

void opt_defaults(const opt_spec *specs, int n, void *obj)
{
    static const size_t field_size[OPT_TYPE_COUNT] = {
        [OPT_INT] = sizeof(int), [OPT_FLOAT] = sizeof(double), [OPT_BOOL] = sizeof(int),
        [OPT_STR] = OPT_STR_MAX, [OPT_CHOICE] = sizeof(int),
        [OPT_FLOATS] = sizeof(opt_floats), [OPT_INTS] = sizeof(opt_ints),
    };
    for (int i = 0; i < n; i++) {
        const opt_spec *sp = &specs[i];
        assert(sp->type >= 0 && sp->type < OPT_TYPE_COUNT);
        memset((char *)obj + sp->offset, 0, field_size[sp->type]);
        if (!sp->def) continue;
        char err[512];
        int rc = opt_parse(sp, obj, sp->def, err, sizeof err);
        if (rc != 0) fprintf(stderr, "invalid default in option table: %s\n", err);
        assert(rc == 0 && "option default must satisfy its own spec");
        (void)rc;
    }
}

const opt_spec *opt_find(const opt_spec *specs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].key, key) == 0) return &specs[i];
    return NULL;
}

/* " in [lo, hi]", " >= lo", " < hi" or "" for the spec's range. */
static void describe_range(const opt_spec *sp, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!has_range(sp)) return;
    char lo[32], hi[32];
    format_double(sp->lo, lo, sizeof lo);
    format_double(sp->hi, hi, sizeof hi);
    int lo_inf = isinf(sp->lo), hi_inf = isinf(sp->hi);
    if (lo_inf && hi_inf) return;
    if (hi_inf) snprintf(out, outlen, " %s %s", sp->lo_open ? ">" : ">=", lo);
    else if (lo_inf) snprintf(out, outlen, " %s %s", sp->hi_open ? "<" : "<=", hi);
    else snprintf(out, outlen, " in %c%s, %s%c", sp->lo_open ? '(' : '[', lo, hi,
                  sp->hi_open ? ')' : ']');
}

void opt_describe(const opt_spec *sp, char *out, size_t outlen)
{
    char range[80];
    describe_range(sp, range, sizeof range);
    switch (sp->type) {
    case OPT_INT: snprintf(out, outlen, "an integer%s", range); break;
    case OPT_FLOAT: snprintf(out, outlen, "a number%s", range); break;
    case OPT_BOOL: snprintf(out, outlen, "a boolean (true/false, yes/no, on/off, 1/0)"); break;
    case OPT_STR: snprintf(out, outlen, "text of at most %d characters", OPT_STR_MAX - 1); break;
    case OPT_CHOICE: snprintf(out, outlen, "one of %s", sp->choices); break;
    case OPT_FLOATS: snprintf(out, outlen, "a list of numbers%s", range); break;
    case OPT_INTS: snprintf(out, outlen, "a list of integers%s", range); break;
    case OPT_TYPE_COUNT: assert(0); break;
    }
}

void opt_format(const opt_spec *sp, const void *obj, char *out, size_t outlen)
{
    const char *field = (const char *)obj + sp->offset;
    int w = snprintf(out, outlen, "%s = ", sp->key);
    if (w < 0 || (size_t)w >= outlen) return;
    char *p = out + w;
    size_t left = outlen - (size_t)w;
    switch (sp->type) {
    case OPT_INT: snprintf(p, left, "%d", *(const int *)field); break;
    case OPT_FLOAT: format_double(*(const double *)field, p, left); break;
    case OPT_BOOL: snprintf(p, left, "%s", *(const int *)field ? "true" : "false"); break;
    case OPT_STR: snprintf(p, left, "%s", field); break;
    case OPT_CHOICE:
        if (!choice_name(sp->choices, *(const int *)field, p, left)) snprintf(p, left, "?");
        break;
    case OPT_FLOATS: case OPT_INTS: {
        const opt_floats *fl = (const opt_floats *)field;
        const opt_ints *il = (const opt_ints *)field;
        int n = sp->type == OPT_FLOATS ? fl->n : il->n;
        *p = '\0';
        for (int i = 0; i < n; i++) {
            char num[32];
            if (sp->type == OPT_FLOATS) format_double(fl->v[i], num, sizeof num);
            else snprintf(num, sizeof num, "%d", il->v[i]);
            size_t used = strlen(p);
            snprintf(p + used, left - used, "%s%s", i ? ", " : "", num);
        }
        break;
    }
    case OPT_TYPE_COUNT: assert(0); break;
    }
}
