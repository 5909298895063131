/* results/reference.csv reader (see report_ref.h). */
#include "harness/report_ref.h"
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"

enum { REF_MAX_BYTES = 1 << 20 };

typedef enum {
    C_METHOD, C_ARCH, C_DATASET, C_SETTING, C_W_BITS, C_A_BITS, C_BASELINE, C_TOP1, C_DELTA, C_COMPRESSION,
    C_COMPRESSION_OF, C_CONFIRMED, C_SOURCE, C_NOTES, C_COUNT
} column;

/* Where each column lands in rf_row: a text field (size) or a number. */
typedef struct { const char *name; size_t offset, size; int required; } column_spec;
#define TXT(c, f, req) [c] = {#f, offsetof(rf_row, f), sizeof(((rf_row *)0)->f), req}
#define NUM(c, name, f) [c] = {name, offsetof(rf_row, f), 0, 0}
static const column_spec columns[] = {
    TXT(C_METHOD, method, 1), TXT(C_ARCH, arch, 1), TXT(C_DATASET, dataset, 1), TXT(C_SETTING, setting, 0),
    TXT(C_W_BITS, w_bits, 0), TXT(C_A_BITS, a_bits, 0), NUM(C_BASELINE, "baseline_top1", baseline),
    NUM(C_TOP1, "top1", top1), NUM(C_DELTA, "delta", delta), NUM(C_COMPRESSION, "compression", compression),
    TXT(C_COMPRESSION_OF, compression_of, 0), [C_CONFIRMED] = {"confirmed", 0, 0, 1},
    TXT(C_SOURCE, source, 1), TXT(C_NOTES, notes, 0),
};
static_assert(sizeof columns / sizeof columns[0] == C_COUNT, "one spec per column");

static const char *const confirmed_names[] = {[RF_YES] = "yes", [RF_NO] = "no", [RF_PARTIAL] = "partial",
                                              [RF_SECONDARY] = "secondary"};
static_assert(sizeof confirmed_names / sizeof confirmed_names[0] == RF_CONFIRMED_COUNT, "one name per value");

const char *rf_mark(rf_confirmed c)
{
    static const char *const marks[] = {[RF_YES] = "", [RF_NO] = "*", [RF_PARTIAL] = "*", [RF_SECONDARY] = "†"};
    static_assert(sizeof marks / sizeof marks[0] == RF_CONFIRMED_COUNT, "one mark per value");
    return marks[c];
}

/* Splits one CSV record starting at *p into fields (NUL-terminated in place); moves *p past
 * the line end. Returns the field count, or -1 on an unterminated quote. */
static int split_record(char **p, char **fields, int max)
{
    char *s = *p, *w = s;
    int n = 0;
    fields[n++] = w;
    for (;;) {
        if (*s == '"') {
            for (s++;; s++) {
                if (*s == '\0') return -1;
                if (*s == '"' && s[1] == '"') { *w++ = '"'; s++; }
                else if (*s == '"') { s++; break; }
                else *w++ = *s;
            }
        } else if (*s == ',') {
            *w++ = '\0';
            s++;
            if (n == max) return max + 1;
            fields[n++] = w;
        } else if (*s == '\n' || *s == '\r' || *s == '\0') {
            if (*s == '\r' && s[1] == '\n') s++;
            char *next = *s ? s + 1 : s;
            *w = '\0';
            *p = next;
            return n;
        } else *w++ = *s++;
    }
}

static int parse_row(const char *path, int line, char **f, const int *col_of, rf_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof *row);
    row->line = line;
    for (int c = 0; c < C_COUNT; c++) {
        const column_spec *cs = &columns[c];
        const char *v = col_of[c] >= 0 ? f[col_of[c]] : "";
        if (cs->required && !*v) {
            snprintf(err, errlen, "%s: line %d: column %s is empty", path, line, cs->name);
            return -1;
        }
        if (c == C_CONFIRMED) {
            int k = 0;
            while (k < RF_CONFIRMED_COUNT && strcmp(v, confirmed_names[k]) != 0) k++;
            if (k == RF_CONFIRMED_COUNT) {
                snprintf(err, errlen, "%s: line %d: confirmed is '%s'; allowed: yes, no, partial, secondary", path,
                         line, v);
                return -1;
            }
            row->confirmed = (rf_confirmed)k;
        } else if (cs->size) {
            if (strlen(v) >= cs->size) {
                snprintf(err, errlen, "%s: line %d: column %s is longer than %zu characters", path, line, cs->name,
                         cs->size - 1);
                return -1;
            }
            memcpy((char *)row + cs->offset, v, strlen(v) + 1);
        } else {
            double *out = (double *)((char *)row + cs->offset);
            char *end;
            *out = *v ? strtod(v, &end) : NAN;
            if (*v && (*end || !isfinite(*out))) {
                snprintf(err, errlen, "%s: line %d: column %s is '%s', not a number (leave it empty if not reported)",
                         path, line, cs->name, v);
                return -1;
            }
        }
    }
    return 0;
}

int rf_load(const char *path, rf_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char *text;
    if (fio_read_all(path, REF_MAX_BYTES, &text, NULL, err, errlen) != 0) return -1;
    enum { MAX_FIELDS = 32 };
    char *f[MAX_FIELDS + 1], *p = text;
    int col_of[C_COUNT], n = split_record(&p, f, MAX_FIELDS), rc = 0;
    for (int c = 0; c < C_COUNT; c++) {
        col_of[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(f[i], columns[c].name) == 0) col_of[c] = i;
        if (col_of[c] < 0 && (columns[c].required || c == C_TOP1)) {
            snprintf(err, errlen, "%s: line 1: the header has no column '%s'", path, columns[c].name);
            rc = -1;
            break;
        }
    }
    int cap = 0;
    for (int line = 2; rc == 0 && *p; line++) {
        int nf = split_record(&p, f, MAX_FIELDS);
        if (nf == 1 && f[0][0] == '\0') continue;   /* blank line */
        if (nf != n) {
            snprintf(err, errlen, "%s: line %d: %d fields, the header has %d%s", path, line, nf, n,
                     nf < 0 ? " (a quote is not closed)" : "");
            rc = -1;
            break;
        }
        if (t->n == cap) t->rows = realloc(t->rows, sizeof *t->rows * (size_t)(cap = cap ? cap * 2 : 64));
        rc = parse_row(path, line, f, col_of, &t->rows[t->n], err, errlen);
        if (rc == 0) t->n++;
    }
    free(text);
    if (rc != 0) rf_free(t);
    return rc;
}

void rf_free(rf_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* The row states these bits: a whole number in its w_bits / a_bits field equals them ("8 conv /
 * 5 fc" states 8 and 5; "6 (5.1 after Huffman)" states 6, not 5); a field without one states
 * nothing and is taken as matching. */
static int bits_equal(const char *field, int bits)
{
    int stated = 0;
    for (const char *p = field; *p;) {
        if (!isdigit((unsigned char)*p)) { p++; continue; }
        char *end;
        long v = strtol(p, &end, 10);
        int whole = *end != '.' && (p == field || p[-1] != '.');
        if (whole && v == bits) return 1;
        stated |= whole;
        p = end;
    }
    return !stated;
}

int rf_match(const rf_table *t, const char *key, const char *arch, const char *dataset, int w_bits, int a_bits)
{
    size_t bare = strcspn(key, ":");
    /* exact key at the group's bits, exact key, bare name at the bits, bare name */
    for (int pass = 0; pass < 4; pass++)
        for (int i = 0; i < t->n; i++) {
            const rf_row *r = &t->rows[i];
            if (strcmp(r->arch, arch) != 0 || strcmp(r->dataset, dataset) != 0) continue;
            if (pass % 2 == 0 && !(bits_equal(r->w_bits, w_bits) && bits_equal(r->a_bits, a_bits))) continue;
            if (pass < 2 ? strcmp(r->method, key) == 0
                         : key[bare] && strlen(r->method) == bare && strncmp(r->method, key, bare) == 0)
                return i;
        }
    return -1;
}
