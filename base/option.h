/* Declared options: one table row per key, shared by the config loader (every section) and by
 * methods ([method] keys). A value is parsed, type-checked and range-checked against its row, so
 * every bad value gets the same kind of message: key, what was given, what is allowed. */
#ifndef BASE_OPTION_H
#define BASE_OPTION_H
#include <stddef.h>

typedef enum { OPT_INT = 0, OPT_FLOAT = 1, OPT_BOOL = 2, OPT_STR = 3, OPT_CHOICE = 4,
               OPT_FLOATS = 5, OPT_INTS = 6, OPT_TYPE_COUNT } opt_type;

enum { OPT_LIST_MAX = 32, OPT_STR_MAX = 256 };

typedef struct { int n; double v[OPT_LIST_MAX]; } opt_floats;   /* OPT_FLOATS: "0.5, 0.75, 1" */
typedef struct { int n; int v[OPT_LIST_MAX]; } opt_ints;        /* OPT_INTS:   "60, 120, 160" */

/* Field types at `offset` in the target struct: OPT_INT int, OPT_FLOAT double, OPT_BOOL int,
 * OPT_STR char[OPT_STR_MAX], OPT_CHOICE int (index into choices), OPT_FLOATS opt_floats,
 * OPT_INTS opt_ints. Ranges apply to numbers and to every list element. */
typedef struct opt_spec {
    const char *key;
    opt_type type;
    size_t offset;
    const char *def;        /* default as text; NULL = required */
    double lo, hi;          /* allowed range, inclusive unless the *_open flag is set */
    int lo_open, hi_open;
    const char *choices;    /* OPT_CHOICE: "a|b|c" */
    const char *help;       /* one line */
} opt_spec;

/* Parse value into obj per spec; on error, err says "<key> = <value>: <what is allowed>". */
int opt_parse(const opt_spec *spec, void *obj, const char *value, char *err, size_t errlen);
/* Fill every field with its default (required keys left zero). */
void opt_defaults(const opt_spec *specs, int n, void *obj);
const opt_spec *opt_find(const opt_spec *specs, int n, const char *key);
/* "int in [1, 8]", "one of a|b|c", "list of float in (0, 1]" ... */
void opt_describe(const opt_spec *spec, char *out, size_t outlen);
/* Write "key = value" for the field's current value (for the resolved config). */
void opt_format(const opt_spec *spec, const void *obj, char *out, size_t outlen);

#endif
