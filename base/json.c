/* Tiny JSON writer and path-lookup reader (see json.h). */
#include "base/json.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

/* ==== writer ============================================================================= */

void json_init(json_w *w) { memset(w, 0, sizeof *w); }

void json_free(json_w *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static void put(json_w *w, const char *s, size_t n)
{
    if (w->oom) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1) cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) { w->oom = 1; return; }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(json_w *w, const char *s) { put(w, s, strlen(s)); }

static void indent(json_w *w, int level)
{
    for (int i = 0; i < level; i++) put(w, "  ", 2);
}

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 (a stray byte, an over-long or
 * surrogate form, a code point past U+10FFFF). */
static int utf8_len(const unsigned char *p)
{
    int n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (n == 2 && p[0] < 0xC2) return 0;
    if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;
    if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || p[0] > 0xF4 || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped, and bytes that are not
 * UTF-8 (a file name in another encoding) written as U+FFFD, so the document stays valid. */
static void put_escaped(json_w *w, const char *s)
{
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            int n = utf8_len(p);
            if (n) put(w, (const char *)p, (size_t)n);
            else puts_(w, "\\ufffd");
            p += n ? n - 1 : 0;
            continue;
        }
        static const char *const named[0x20] = {
            ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
        };
        char hex[8];
        if (*p == '"') puts_(w, "\\\"");
        else if (*p == '\\') puts_(w, "\\\\");
        else if (*p < 0x20 && named[*p]) puts_(w, named[*p]);
        else if (*p < 0x20) { snprintf(hex, sizeof hex, "\\u%04x", *p); puts_(w, hex); }
        else put(w, (const char *)p, 1);
    }
    put(w, "\"", 1);
}

/* Separator, indentation and key before a value; container says whether it opens one. */
static void begin_value(json_w *w, const char *key, int container)
{
    if (w->depth == 0) {
        assert(!key && "top-level value takes no key");
        assert(w->len == 0 && "only one top-level value");
        return;
    }
    int lvl = w->depth - 1;
    if (w->kind[lvl] == '{') {
        assert(key && "object members need a key");
        puts_(w, w->count[lvl] ? ",\n" : "\n");
        indent(w, w->depth);
        put_escaped(w, key);
        puts_(w, ": ");
    } else {
        assert(!key && "array elements take no key");
        if (container) w->multiline[lvl] = 1;
        if (container || w->multiline[lvl]) {
            puts_(w, w->count[lvl] ? ",\n" : "\n");
            indent(w, w->depth);
        } else if (w->count[lvl]) {
            puts_(w, ", ");
        }
    }
    w->count[lvl]++;
}

static void end_value(json_w *w)
{
    if (w->depth == 0) put(w, "\n", 1);
}

static void open_container(json_w *w, const char *key, char kind)
{
    begin_value(w, key, 1);
    assert(w->depth < JSON_DEPTH_MAX && "JSON nesting too deep");
    w->kind[w->depth] = kind;
    w->count[w->depth] = 0;
    w->multiline[w->depth] = 0;
    w->depth++;
    put(w, &kind, 1);
}

static void close_container(json_w *w, char kind)
{
    assert(w->depth > 0 && w->kind[w->depth - 1] == kind && "unbalanced JSON container");
    w->depth--;
    int breaks = kind == '{' ? w->count[w->depth] > 0 : w->multiline[w->depth];
    if (breaks) { put(w, "\n", 1); indent(w, w->depth); }
    put(w, kind == '{' ? "}" : "]", 1);
    end_value(w);
}

void json_obj_begin(json_w *w, const char *key) { open_container(w, key, '{'); }
void json_obj_end(json_w *w) { close_container(w, '{'); }
void json_arr_begin(json_w *w, const char *key) { open_container(w, key, '['); }
void json_arr_end(json_w *w) { close_container(w, '['); }

void json_str(json_w *w, const char *key, const char *v)
{
    begin_value(w, key, 0);
    put_escaped(w, v);
    end_value(w);
}

void json_num(json_w *w, const char *key, double v)
{
    begin_value(w, key, 0);
    char buf[32] = "null";
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", v);
    } else if (isfinite(v)) {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    puts_(w, buf);
    end_value(w);
}

void json_int(json_w *w, const char *key, long long v)
{
    begin_value(w, key, 0);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    puts_(w, buf);
    end_value(w);
}

void json_bool(json_w *w, const char *key, int v)
{
    begin_value(w, key, 0);
    puts_(w, v ? "true" : "false");
    end_value(w);
}

void json_null(json_w *w, const char *key)
{
    begin_value(w, key, 0);
    puts_(w, "null");
    end_value(w);
}

const char *json_text(const json_w *w) { return w->buf ? w->buf : ""; }

int json_save(const json_w *w, const char *path, char *err, size_t errlen)
{
    assert(w->depth == 0 && "JSON document has unclosed containers");
    if (w->oom) {
        snprintf(err, errlen, "%s: out of memory while building JSON", path);
        return -1;
    }
    return fio_write_atomic(path, w->buf ? w->buf : "", w->len, err, errlen);
}

/* ==== reader ============================================================================= */

typedef struct { const char *start, *p; const char *msg; } cursor;

static void ws(cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r') c->p++;
}

static int fail(cursor *c, const char *msg)
{
    if (!c->msg) c->msg = msg;
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return 0;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 1;
}

/* Appends byte b to out (if given); tracks the length even past outlen. */
static void emit(char *out, size_t outlen, size_t *n, char b)
{
    if (out && *n + 1 < outlen) out[*n] = b;
    (*n)++;
}

static void emit_utf8(char *out, size_t outlen, size_t *n, unsigned cp)
{
    if (cp < 0x80) { emit(out, outlen, n, (char)cp); return; }
    if (cp < 0x800) {
        emit(out, outlen, n, (char)(0xC0 | (cp >> 6)));
    } else if (cp < 0x10000) {
        emit(out, outlen, n, (char)(0xE0 | (cp >> 12)));
        emit(out, outlen, n, (char)(0x80 | ((cp >> 6) & 0x3F)));
    } else {
        emit(out, outlen, n, (char)(0xF0 | (cp >> 18)));
        emit(out, outlen, n, (char)(0x80 | ((cp >> 12) & 0x3F)));
        emit(out, outlen, n, (char)(0x80 | ((cp >> 6) & 0x3F)));
    }
    emit(out, outlen, n, (char)(0x80 | (cp & 0x3F)));
}

/* Parses a string at c->p; writes the unescaped text to out (may be NULL) and its full
 * length to *len. */
static int parse_string(cursor *c, char *out, size_t outlen, size_t *len)
{
    size_t n = 0;
    if (*c->p != '"') return fail(c, "expected a string");
    c->p++;
    for (;;) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\0') return fail(c, "unterminated string");
        if (ch < 0x20) return fail(c, "control character in string");
        c->p++;
        if (ch == '"') break;
        if (ch != '\\') { emit(out, outlen, &n, (char)ch); continue; }
        char e = *c->p++;
        static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(simple_in, e) : NULL;
        if (hit) { emit(out, outlen, &n, simple_out[hit - simple_in]); continue; }
        if (e != 'u') return fail(c, "invalid escape in string");
        unsigned cp, lo;
        if (!hex4(c->p, &cp)) return fail(c, "invalid \\u escape");
        c->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {          /* high surrogate: needs its low half */
            if (c->p[0] != '\\' || c->p[1] != 'u' || !hex4(c->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return fail(c, "unpaired surrogate in \\u escape");
            c->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            return fail(c, "unpaired surrogate in \\u escape");
        }
        emit_utf8(out, outlen, &n, cp);
    }
    if (out && outlen) out[n < outlen ? n : outlen - 1] = '\0';
    if (len) *len = n;
    return 1;
}

static int digits(cursor *c)
{
    const char *s = c->p;
    while (*c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > s;
}

static int parse_number(cursor *c, double *out)
{
    const char *s = c->p;
    if (*c->p == '-') c->p++;
    if (*c->p == '0') c->p++;
    else if (!digits(c)) return fail(c, "invalid number");
    if (*c->p == '.') { c->p++; if (!digits(c)) return fail(c, "invalid number"); }
    if (*c->p == 'e' || *c->p == 'E') {
        c->p++;
        if (*c->p == '+' || *c->p == '-') c->p++;
        if (!digits(c)) return fail(c, "invalid number");
    }
    if (out) *out = strtod(s, NULL);
    return 1;
}

static int parse_value(cursor *c, int depth);

/* Parses '{' members '}' or '[' elements ']' at c->p, counting them into *count. */
static int parse_container(cursor *c, int depth, int *count)
{
    char close = *c->p == '{' ? '}' : ']';
    int n = 0;
    c->p++;
    ws(c);
    if (*c->p == close) { c->p++; if (count) *count = 0; return 1; }
    for (;;) {
        ws(c);
        if (close == '}') {
            if (*c->p != '"') return fail(c, "expected a member name");
            if (!parse_string(c, NULL, 0, NULL)) return 0;
            ws(c);
            if (*c->p != ':') return fail(c, "expected ':'");
            c->p++;
        }
        if (!parse_value(c, depth + 1)) return 0;
        n++;
        ws(c);
        if (*c->p == ',') { c->p++; continue; }
        if (*c->p == close) { c->p++; break; }
        return fail(c, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (count) *count = n;
    return 1;
}

static int parse_value(cursor *c, int depth)
{
    static const char *const literals[] = {"true", "false", "null"};
    if (depth > 512) return fail(c, "nesting too deep");
    ws(c);
    char ch = *c->p;
    if (ch == '{' || ch == '[') return parse_container(c, depth, NULL);
    if (ch == '"') return parse_string(c, NULL, 0, NULL);
    if (ch == '-' || (ch >= '0' && ch <= '9')) return parse_number(c, NULL);
    for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
        size_t n = strlen(literals[i]);
        if (strncmp(c->p, literals[i], n) == 0) { c->p += n; return 1; }
    }
    return fail(c, ch ? "expected a value" : "unexpected end of text");
}

int json_validate(const char *text, char *err, size_t errlen)
{
    cursor c = {text, text, NULL};
    if (parse_value(&c, 0)) {
        ws(&c);
        if (*c.p == '\0') return 0;
        fail(&c, "text after the JSON value");
    }
    int line = 1, col = 1;
    for (const char *q = text; q < c.p; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    if (err && errlen) snprintf(err, errlen, "line %d, column %d: %s", line, col, c.msg);
    return -1;
}

int json_load(const char *path, size_t max_bytes, char **text, char *err, size_t errlen)
{
    if (fio_read_all(path, max_bytes, text, NULL, err, errlen) != 0) return -1;
    char msg[160];
    if (json_validate(*text, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
}

/* Moves c to the value at the dotted path. */
static json_status find(cursor *c, const char *path)
{
    ws(c);
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t plen = dot ? (size_t)(dot - path) : strlen(path);
        if (*c->p == '{') {
            c->p++;
            ws(c);
            int found = 0;
            while (*c->p == '"') {
                char key[256];
                size_t klen;
                if (!parse_string(c, key, sizeof key, &klen)) return JSON_MISSING;
                ws(c);
                c->p++;                                 /* ':' */
                ws(c);
                if (klen == plen && klen < sizeof key && memcmp(key, path, plen) == 0) { found = 1; break; }
                if (!parse_value(c, 0)) return JSON_MISSING;
                ws(c);
                if (*c->p == ',') { c->p++; ws(c); }
            }
            if (!found) return JSON_MISSING;
        } else if (*c->p == '[') {
            char *end;
            long idx = strtol(path, &end, 10);
            if (plen == 0 || end != path + plen || idx < 0) return JSON_MISSING;
            c->p++;
            ws(c);
            for (long i = 0; i < idx; i++) {
                if (*c->p == ']' || !parse_value(c, 0)) return JSON_MISSING;
                ws(c);
                if (*c->p != ',') return JSON_MISSING;
                c->p++;
                ws(c);
            }
            if (*c->p == ']') return JSON_MISSING;
        } else {
            return JSON_MISSING;                        /* a scalar has no members */
        }
        path += plen;
        if (*path == '.') path++;
    }
    return JSON_OK;
}

json_status json_get_num(const char *text, const char *path, double *out)
{
    cursor c = {text, text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    if (*c.p != '-' && !(*c.p >= '0' && *c.p <= '9')) return JSON_WRONG_TYPE;
    return parse_number(&c, out) ? JSON_OK : JSON_WRONG_TYPE;
}

json_status json_get_str(const char *text, const char *path, char *out, size_t outlen)
{
    cursor c = {text, text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    if (*c.p != '"') return JSON_WRONG_TYPE;
    size_t n;
    if (!parse_string(&c, out, outlen, &n)) return JSON_WRONG_TYPE;
    return n < outlen ? JSON_OK : JSON_TOO_LONG;
}

json_status json_get_bool(const char *text, const char *path, int *out)
{
    cursor c = {text, text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    if (strncmp(c.p, "true", 4) == 0) *out = 1;
    else if (strncmp(c.p, "false", 5) == 0) *out = 0;
    else return JSON_WRONG_TYPE;
    return JSON_OK;
}

json_status json_get_count(const char *text, const char *path, int *out)
{
    cursor c = {text, text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    if (*c.p != '{' && *c.p != '[') return JSON_WRONG_TYPE;
    return parse_container(&c, 0, out) ? JSON_OK : JSON_WRONG_TYPE;
}

json_status json_set_int(char **text, const char *path, long long v)
{
    cursor c = {*text, *text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    const char *at = c.p;
    double old;
    if ((*at != '-' && !(*at >= '0' && *at <= '9')) || !parse_number(&c, &old)) return JSON_WRONG_TYPE;
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    size_t head = (size_t)(at - *text), tail = strlen(c.p), len = head + (size_t)n + tail;
    char *out = malloc(len + 1);
    if (!out) return JSON_TOO_LONG;
    memcpy(out, *text, head);
    memcpy(out + head, num, (size_t)n);
    memcpy(out + head + n, c.p, tail + 1);
    free(*text);
    *text = out;
    return JSON_OK;
}

json_status json_add_int(char **text, const char *path, const char *key, long long v)
{
    cursor c = {*text, *text, NULL};
    json_status st = find(&c, path);
    if (st != JSON_OK) return st;
    if (*c.p != '{') return JSON_WRONG_TYPE;
    const char *open = c.p;
    if (!parse_container(&c, 0, NULL)) return JSON_WRONG_TYPE;
    const char *at = c.p - 1;                      /* the closing brace */
    while (at > open && (at[-1] == ' ' || at[-1] == '\n' || at[-1] == '\t' || at[-1] == '\r')) at--;
    int empty = at == open + 1;
    /* the new member takes the first member's indentation, so pretty-printed files stay so */
    const char *ind = open + 1, *ind_end = ind;
    while (*ind_end == ' ' || *ind_end == '\n' || *ind_end == '\t' || *ind_end == '\r') ind_end++;
    if (empty) ind_end = ind;
    char member[256];
    int n = snprintf(member, sizeof member, "%s%.*s\"%s\": %lld", empty ? "" : ",", (int)(ind_end - ind), ind, key, v);
    if (n < 0 || (size_t)n >= sizeof member) return JSON_TOO_LONG;
    size_t head = (size_t)(at - *text), tail = strlen(at), len = head + (size_t)n + tail;
    char *out = malloc(len + 1);
    if (!out) return JSON_TOO_LONG;
    memcpy(out, *text, head);
    memcpy(out + head, member, (size_t)n);
    memcpy(out + head + n, at, tail + 1);
    free(*text);
    *text = out;
    return JSON_OK;
}
