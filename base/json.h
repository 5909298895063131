/* A tiny JSON writer (into a growable buffer, saved atomically) and a minimal reader that looks
 * values up by dotted path ("footprint.bytes", "layers.0.name": numeric parts index arrays).
 *
 * Writer: every call takes the member key, which must be NULL inside arrays and at the top
 * level, and non-NULL inside objects (asserted). Objects are written one member per line,
 * arrays of scalars on one line. Non-finite numbers are written as null (JSON has no NaN). */
#ifndef BASE_JSON_H
#define BASE_JSON_H
#include <stddef.h>

enum { JSON_DEPTH_MAX = 32 };

typedef struct json_w {
    char *buf; size_t len, cap;
    int depth;
    int count[JSON_DEPTH_MAX];      /* members written so far at each level */
    char kind[JSON_DEPTH_MAX];      /* '{' or '[' */
    int multiline[JSON_DEPTH_MAX];  /* array holding containers: one element per line */
    int oom;                        /* an allocation failed; json_save reports it */
} json_w;

void json_init(json_w *);
void json_free(json_w *);
void json_obj_begin(json_w *, const char *key);
void json_obj_end(json_w *);
void json_arr_begin(json_w *, const char *key);
void json_arr_end(json_w *);
void json_str(json_w *, const char *key, const char *v);
void json_num(json_w *, const char *key, double v);   /* shortest text that round-trips */
void json_int(json_w *, const char *key, long long v);
void json_bool(json_w *, const char *key, int v);
void json_null(json_w *, const char *key);
/* The text so far (NUL-terminated; "" before anything is written). */
const char *json_text(const json_w *);
/* Write the finished document (all containers closed: asserted) atomically to path. */
int json_save(const json_w *, const char *path, char *err, size_t errlen);

/* --- reading ---------------------------------------------------------------------------- */
typedef enum { JSON_OK = 0, JSON_MISSING = -1, JSON_WRONG_TYPE = -2, JSON_TOO_LONG = -3 } json_status;

/* Check that text is one well-formed JSON value; on error err says "line L, column C: ...". */
int json_validate(const char *text, char *err, size_t errlen);
/* Read and validate a JSON file (at most max_bytes); *text is malloc'd. Errors name the path. */
int json_load(const char *path, size_t max_bytes, char **text, char *err, size_t errlen);
/* Lookups on validated text. An empty path means the top-level value. */
json_status json_get_num(const char *text, const char *path, double *out);
json_status json_get_str(const char *text, const char *path, char *out, size_t outlen);
json_status json_get_bool(const char *text, const char *path, int *out);
/* Members of an object or elements of an array at path. */
json_status json_get_count(const char *text, const char *path, int *out);
/* Replaces the number at path in the validated, malloc'd *text with v (the text is reallocated;
 * the rest of it is kept byte for byte; JSON_TOO_LONG when no memory is left for it). */
json_status json_set_int(char **text, const char *path, long long v);
/* Appends the member "key": v to the object at path (no check that key is new: look it up first). */
json_status json_add_int(char **text, const char *path, const char *key, long long v);

#endif
