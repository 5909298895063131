/* Edge bias: y = x + b[c, row class of y, column class of x]. The `pad` rows nearest the top
 * each have their own class, so do the `pad` nearest the bottom, and every row between shares
 * one (columns alike): per channel (2 pad + 1)^2 values, fewer when the map is that small.
 * With pad = 0 it is a plain per-channel bias. It holds exactly what a spatially constant
 * input channel contributes through a zero-padded conv of that padding: a constant inside,
 * less near the border where taps fall on the padding (filter removal folds into it). */
#include "nn/layer_kinds.h"

/* Classes along one axis of length len: min(len, 2 pad + 1). */
static int classes(int len, int pad) { return len < 2 * pad + 1 ? len : 2 * pad + 1; }

static int class_of(int i, int len, int pad)
{
    if (len <= 2 * pad + 1 || i < pad) return i;
    if (i >= len - pad) return 2 * pad + 1 - (len - i);
    return pad;
}

int nn_edgebias_infer(nn_node *n, char *err, size_t errlen)
{
    if (nn_layer_check_input(n, err, errlen) != 0) return -1;
    if (n->pad < 0) return nn_layer_fail(n, err, errlen, "edge width %d is negative", n->pad);
    n->out_dims = n->in_dims;
    n->nw = 0;
    n->nb = (size_t)n->in_dims.c * (size_t)classes(n->in_dims.h, n->pad) * (size_t)classes(n->in_dims.w, n->pad);
    return 0;
}

void nn_edgebias_forward(nn_model *m, nn_node *n, const float *x, const float *x1, int batch, int train)
{
    (void)x1; (void)train;
    const int C = n->in_dims.c, H = n->in_dims.h, W = n->in_dims.w, p = n->pad;
    const int nr = classes(H, p), nc = classes(W, p);
    const size_t HW = (size_t)H * W, plane = (size_t)C * HW;
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int c = 0; c < C; c++) {
        const float *bc = n->b + (size_t)c * nr * nc;
        for (int i = 0; i < batch; i++) {
            const float *xp = x + i * plane + (size_t)c * HW;
            float *yp = n->out + i * plane + (size_t)c * HW;
            for (int y = 0; y < H; y++) {
                const float *br = bc + (size_t)class_of(y, H, p) * nc;
                for (int q = 0; q < W; q++) yp[y * W + q] = xp[y * W + q] + br[class_of(q, W, p)];
            }
        }
    }
}

void nn_edgebias_backward(nn_model *m, nn_node *n, const float *x, const float *x1,
                          float *dx, float *dx1, int batch)
{
    (void)x; (void)x1; (void)dx1;
    const int C = n->in_dims.c, H = n->in_dims.h, W = n->in_dims.w, p = n->pad;
    const int nr = classes(H, p), nc = classes(W, p);
    const size_t HW = (size_t)H * W, plane = (size_t)C * HW;
    nn_dx_begin(n, 0, dx, (size_t)batch * plane);
    #pragma omp parallel for num_threads(nn_layer_threads(m)) schedule(static)
    for (int c = 0; c < C; c++) {
        float *gc = n->gb + (size_t)c * nr * nc;
        for (int i = 0; i < batch; i++) {
            const float *g = n->dout + i * plane + (size_t)c * HW;
            float *d = dx ? dx + i * plane + (size_t)c * HW : NULL;
            for (int y = 0; y < H; y++) {
                float *gr = gc + (size_t)class_of(y, H, p) * nc;
                for (int q = 0; q < W; q++) {
                    gr[class_of(q, W, p)] += g[y * W + q];
                    if (d) d[y * W + q] += g[y * W + q];
                }
            }
        }
    }
}
