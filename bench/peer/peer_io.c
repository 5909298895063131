#include "bench/peer/peer_io.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int peer_model_spec(const nn_model *m, char *out, size_t len)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int w = 0;
        const char *sep = i ? "," : "";
        if (n->kernel != NN_KERNEL_MAC) return -1;
        switch (n->kind) {
        case NN_CONV:
            w = snprintf(out + o, len - o, "%sconv:%d:%d:%d:%d:%d", sep, n->out_c, n->k, n->stride,
                         n->pad, n->has_bias);
            break;
        case NN_LINEAR:
            w = snprintf(out + o, len - o, "%slinear:%zu:%d:%d", sep, nn_dims_size(n->in_dims),
                         n->out_c, n->has_bias);
            break;
        case NN_MAXPOOL: w = snprintf(out + o, len - o, "%smaxpool:%d:%d", sep, n->k, n->stride); break;
        case NN_AVGPOOL: w = snprintf(out + o, len - o, "%savgpool:%d:%d", sep, n->k, n->stride); break;
        case NN_GAP: w = snprintf(out + o, len - o, "%sgap", sep); break;
        case NN_BATCHNORM: w = snprintf(out + o, len - o, "%sbn:%d", sep, n->in_dims.c); break;
        case NN_RELU: w = snprintf(out + o, len - o, "%srelu", sep); break;
        case NN_HARDTANH: w = snprintf(out + o, len - o, "%shardtanh:%g", sep, (double)n->clip); break;
        case NN_FLATTEN: w = snprintf(out + o, len - o, "%sflatten", sep); break;
        case NN_ADD: w = snprintf(out + o, len - o, "%sadd", sep); break;
        default: return -1;
        }
        if (w < 0 || (size_t)w >= len - o) return -1;
        o += (size_t)w;
        if (n->n_in == 1 && n->in[0] == i - 1) continue;
        w = n->n_in == 2 ? snprintf(out + o, len - o, "@%d+%d", n->in[0], n->in[1])
                         : snprintf(out + o, len - o, "@%d", n->in[0]);
        if (w < 0 || (size_t)w >= len - o) return -1;
        o += (size_t)w;
    }
    return 0;
}

int peer_write_dump(const ds_dataset *ds, uint32_t n_train, uint32_t n_test, char *path, size_t len)
{
    snprintf(path, len, "/tmp/hx_peer_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) { close(fd); unlink(path); return -1; }
    size_t px = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    int ok = fwrite(ds->train.images, px, n_train, f) == n_train &&
             fwrite(ds->train.labels, 1, n_train, f) == n_train &&
             fwrite(ds->test.images, px, n_test, f) == n_test &&
             fwrite(ds->test.labels, 1, n_test, f) == n_test;
    if (fclose(f) != 0 || !ok) { unlink(path); return -1; }
    return 0;
}

static int file_exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

const char *peer_find_script(const char *script, const char *argv0, char *buf, size_t len)
{
    snprintf(buf, len, "bench/%s", script);
    if (file_exists(buf)) return buf;
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        snprintf(buf, len, "%.*s/../../bench/%s", (int)(slash - argv0), argv0, script);
        if (file_exists(buf)) return buf;
    }
    return NULL;
}

void peer_join_list(char *out, size_t len, const float *f, const int *d, int n)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < n && o < len; i++) {
        int w = f ? snprintf(out + o, len - o, "%s%.9g", i ? "," : "", (double)f[i])
                  : snprintf(out + o, len - o, "%s%d", i ? "," : "", d[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}
