#include "harness/metrics.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"

static const char header[] =
    "round,epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,nonzero_weights\n";

void hx_metrics_add(hx_metrics *m, const hx_metrics_row *r)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->rows = realloc(m->rows, sizeof *m->rows * (size_t)m->cap);
    }
    m->rows[m->n++] = *r;
}

/* Fields that do not exist for a run (no validation split) are left empty. */
static int put(char *out, size_t n, double v, const char *fmt)
{
    return isfinite(v) ? snprintf(out, n, fmt, v) : snprintf(out, n, "%s", "");
}

int hx_metrics_save(const hx_metrics *m, const char *path, char *err, size_t errlen)
{
    size_t cap = sizeof header + (size_t)m->n * 256, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf, cap, "%s", header);
    for (int i = 0; i < m->n; i++) {
        const hx_metrics_row *r = &m->rows[i];
        len += (size_t)snprintf(buf + len, cap - len, "%d,%d,%.6g,%.6f,%.4f,", r->round, r->epoch, r->lr,
                                r->train_loss, r->train_acc);
        len += (size_t)put(buf + len, cap - len, r->val_loss, "%.6f");
        len += (size_t)snprintf(buf + len, cap - len, ",");
        len += (size_t)put(buf + len, cap - len, r->val_acc, "%.4f");
        len += (size_t)snprintf(buf + len, cap - len, ",%.6f,%.4f,%.0f\n", r->test_loss, r->test_acc,
                                r->nonzero);
    }
    int rc = fio_write_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

static double field(char **p)
{
    char *s = *p, *end;
    char *comma = strchr(s, ',');
    if (comma) { *comma = 0; *p = comma + 1; } else { *p = s + strlen(s); }
    if (*s == 0) return NAN;
    double v = strtod(s, &end);
    return v;
}

int hx_metrics_load(hx_metrics *m, const char *path, int round, int epoch, char *err, size_t errlen)
{
    char *text;
    if (fio_read_all(path, 64u << 20, &text, NULL, err, errlen) != 0) return -1;
    m->n = 0;
    int line = 0;
    for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n")) {
        if (line++ == 0) continue;
        hx_metrics_row r;
        char *p = s;
        r.round = (int)field(&p); r.epoch = (int)field(&p);
        r.lr = field(&p); r.train_loss = field(&p); r.train_acc = field(&p);
        r.val_loss = field(&p); r.val_acc = field(&p); r.test_loss = field(&p); r.test_acc = field(&p);
        r.nonzero = field(&p);
        if (r.round - 1 > round || (r.round - 1 == round && r.epoch - 1 > epoch)) break;
        hx_metrics_add(m, &r);
    }
    free(text);
    return 0;
}

void hx_metrics_free(hx_metrics *m)
{
    free(m->rows);
    memset(m, 0, sizeof *m);
}
