/* The packed model's forward pass: the hooks rt_attach installs on the engine's nodes. */
#include "runtime/packed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/kernels.h"
#include "methods/input_transforms.h"
#include "nn/im2col.h"

/* How a layer computes, decided once by rt_attach. */
enum { PATH_GEMM = 0, PATH_XNOR = 1, PATH_SHIFT_I32 = 2 };

/* Scratch of the hooks (they cannot fail: like the engine, out of memory aborts). */
static float *scratch(rt_model *rt, size_t floats)
{
    if (rt->ws_len < floats) {
        free(rt->ws);
        rt->ws = malloc(floats * sizeof *rt->ws);
        if (!rt->ws) { fprintf(stderr, "runtime: out of memory for %zu floats\n", floats); abort(); }
        rt->ws_len = floats;
    }
    return rt->ws;
}

static uint64_t *bit_scratch(rt_model *rt, size_t words)
{
    if (rt->bits_len < words) {
        free(rt->bits);
        rt->bits = malloc(words * sizeof *rt->bits);
        if (!rt->bits) { fprintf(stderr, "runtime: out of memory for %zu words\n", words); abort(); }
        rt->bits_len = words;
    }
    return rt->bits;
}

static int path_of(const rt_layer *l, const nn_node *n)
{
    int xt = mt_xt_kind_of(n);
    if (xt == MT_XT_SIGN_MEAN && l->w.format == DP_FORMAT_BINARY) return PATH_XNOR;
    if (xt == MT_XT_FIXED_POINT && (l->w.format == DP_FORMAT_POW2_4 || l->w.format == DP_FORMAT_POW2_8)) {
        /* exact in int32 when |x| < 2^(ib+fb) shifted by at most pmax - pmin cannot reach 2^31 */
        const dp_head_pow2 *h = dp_pow2_head(&l->w);
        double bound = (double)l->w.cols * ldexp(1.0, (int)n->xt_arg[0] + (int)n->xt_arg[1] + h->pmax - h->pmin);
        if (h->pmax - h->pmin <= 31 && bound < 2147483648.0) return PATH_SHIFT_I32;
    }
    return PATH_GEMM;
}

/* y (rows x n) = the layer applied to col (cols x n, row stride n); x_k: XNOR's K. */
static void layer_gemm(rt_model *rt, const rt_layer *l, const nn_node *n, int n_cols, const float *col, float x_k,
                       const float *kcol, float *y)
{
    int rows = l->w.rows, k = l->w.cols, path = path_of(l, n);
    if (path == PATH_XNOR) {
        size_t planes = (size_t)(k + 63) / 64;
        uint64_t *xb = bit_scratch(rt, planes * (size_t)n_cols);
        dp_bits_pack_cols(k, n_cols, col, (size_t)n_cols, xb, (size_t)n_cols, &rt->ex);
        if (!l->pad_cols) {
            dp_xnor_gemm(&l->w, n_cols, xb, (size_t)n_cols, kcol, y, (size_t)n_cols, &rt->ex);
            return;
        }
        /* sign(0) packs as +1, so each padded tap added the weight's sign: take it back out.
         * d and the correction are small integers, exact in float. */
        float *corr = scratch(rt, (size_t)rows * n_cols);
        dp_xnor_gemm(&l->unit, n_cols, xb, (size_t)n_cols, NULL, y, (size_t)n_cols, &rt->ex);
        dp_gemm(&l->unit, n_cols, l->pad_cols, (size_t)n_cols, corr, (size_t)n_cols, &rt->ex);
        const float *alpha = dp_binary_alpha(&l->w);
        for (int r = 0; r < rows; r++) {
            float ak = alpha[r] * x_k;
            for (int j = 0; j < n_cols; j++) y[(size_t)r * n_cols + j] = ak * (y[(size_t)r * n_cols + j] - corr[(size_t)r * n_cols + j]);
        }
    } else if (path == PATH_SHIFT_I32) {
        int fb = (int)n->xt_arg[1], pmin = dp_pow2_head(&l->w)->pmin;
        size_t nx = (size_t)k * n_cols, ny = (size_t)rows * n_cols;
        int32_t *xi = (int32_t *)scratch(rt, nx + ny), *yi = xi + nx;
        for (size_t i = 0; i < nx; i++) xi[i] = (int32_t)ldexpf(col[i], fb);   /* fixed point: exact */
        char why[128];
        if (dp_shift_gemm_i32(&l->w, n_cols, xi, (size_t)n_cols, yi, (size_t)n_cols, &rt->ex, why, sizeof why) != 0) {
            fprintf(stderr, "runtime: layer '%s': %s\n", n->name, why);   /* rt_attach ruled it out */
            abort();
        }
        for (size_t i = 0; i < ny; i++) y[i] = ldexpf((float)yi[i], pmin - fb);
    } else {
        dp_gemm(&l->w, n_cols, col, (size_t)n_cols, y, (size_t)n_cols, &rt->ex);
    }
}

static void affine(const rt_layer *l, int rows, int n_cols, float *y)
{
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * n_cols;
        if (l->scale)
            for (int j = 0; j < n_cols; j++) yr[j] = yr[j] * l->scale[r] + l->shift[r];
        else if (l->shift)
            for (int j = 0; j < n_cols; j++) yr[j] += l->shift[r];
    }
}

/* The input transform, applied as the engine would (XNOR's sign x K, DeepShift's fixed point).
 * INT8 layers never come here: their kernels round the raw input to the transform's grid
 * themselves (a padded tap to the zero point, which is what padding after the transform gives). */
static const float *transformed(nn_node *n, const float *x, int batch, float **xq_own)
{
    *xq_own = NULL;
    if (!n->xt) return x;
    size_t per = nn_dims_size(n->in_dims);
    float *xq = malloc((size_t)batch * per * sizeof *xq);
    if (!xq) { fprintf(stderr, "runtime: out of memory\n"); abort(); }
    n->xt->forward(n->xt_ctx, n, x, xq, per, batch);
    return *xq_own = xq;
}

static void run_conv(void *ctx, nn_model *m, nn_node *n, const float *x0, const float *x1, int batch)
{
    (void)x1;
    rt_model *rt = ctx;
    const rt_layer *l = &rt->layer[n - m->nodes];
    nn_conv_geom g = nn_conv_geom_of(n);
    if (l->w.format == DP_FORMAT_INT8) {   /* the whole batch in one int8 convolution, affine included */
        const dp_conv_shape sh = { batch, g.c, g.h, g.w, g.k, g.stride, g.pad };
        dp_int8_conv(&l->w, &sh, x0, n->out, l->scale, l->shift, &rt->ex);
        return;
    }
    size_t per_in = nn_dims_size(n->in_dims), per_out = nn_dims_size(n->out_dims);
    int n_cols = (int)nn_conv_geom_cols(&g), trivial = nn_conv_geom_trivial(&g);
    float *xq_own;
    const float *x = transformed(n, x0, batch, &xq_own);
    float *col = trivial ? NULL : malloc(nn_conv_geom_rows(&g) * (size_t)n_cols * sizeof *col);
    float *kcol = malloc((size_t)n_cols * sizeof *kcol);
    if ((!trivial && !col) || !kcol) { fprintf(stderr, "runtime: out of memory\n"); abort(); }
    for (int s = 0; s < batch; s++) {
        const float *xs = x + (size_t)s * per_in;
        if (!trivial) nn_im2col(&g, xs, col, (size_t)n_cols);
        float xk = fabsf(xs[0]);   /* XNOR: every x_q of the sample is +-K */
        for (int j = 0; j < n_cols; j++) kcol[j] = xk;
        float *ys = n->out + (size_t)s * per_out;
        layer_gemm(rt, l, n, n_cols, trivial ? xs : col, xk, kcol, ys);
        affine(l, l->w.rows, n_cols, ys);
    }
    free(col);
    free(kcol);
    free(xq_own);
}

static void run_linear(void *ctx, nn_model *m, nn_node *n, const float *x0, const float *x1, int batch)
{
    (void)x1;
    rt_model *rt = ctx;
    const rt_layer *l = &rt->layer[n - m->nodes];
    int rows = l->w.rows, k = l->w.cols;
    if (l->w.format == DP_FORMAT_INT8) {   /* the batch as it lies: samples are the matmul's rows */
        dp_int8_linear(&l->w, batch, x0, n->out, l->scale, l->shift, &rt->ex);
        return;
    }
    float *xq_own;
    const float *x = transformed(n, x0, batch, &xq_own);
    float *xt = malloc(((size_t)k + rows + 1) * (size_t)batch * sizeof *xt);
    if (!xt) { fprintf(stderr, "runtime: out of memory\n"); abort(); }
    float *yt = xt + (size_t)k * batch, *kcol = yt + (size_t)rows * batch;
    for (int s = 0; s < batch; s++) {   /* samples become columns */
        kcol[s] = fabsf(x[(size_t)s * k]);
        for (int c = 0; c < k; c++) xt[(size_t)c * batch + s] = x[(size_t)s * k + c];
    }
    layer_gemm(rt, l, n, batch, xt, 0.0f, kcol, yt);
    affine(l, rows, batch, yt);
    for (int s = 0; s < batch; s++)
        for (int r = 0; r < rows; r++) n->out[(size_t)s * rows + r] = yt[(size_t)r * batch + s];
    free(xt);
    free(xq_own);
}

/* A batch norm folded into its producer. */
static void run_identity(void *ctx, nn_model *m, nn_node *n, const float *x0, const float *x1, int batch)
{
    (void)ctx; (void)m; (void)x1;
    memmove(n->out, x0, (size_t)batch * nn_dims_size(n->out_dims) * sizeof(float));
}

/* XNOR with zero padding: the unit-alpha copy of the signs and where the padding is. */
static int xnor_padding(rt_layer *l, const nn_node *n, char *err, size_t errlen)
{
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t rows = nn_conv_geom_rows(&g), cols = nn_conv_geom_cols(&g), in = nn_dims_size(n->in_dims);
    float *ones = malloc(in * sizeof *ones);
    l->pad_cols = malloc(rows * cols * sizeof *l->pad_cols);
    l->unit.payload = NULL;
    int rc = -1;
    if (ones && l->pad_cols &&
        dp_matrix_load(&l->unit, DP_FORMAT_BINARY, l->w.rows, l->w.cols, l->w.nnz, l->w.payload, l->w.bytes, err,
                       errlen) == 0) {
        for (size_t i = 0; i < in; i++) ones[i] = 1;
        nn_im2col(&g, ones, l->pad_cols, cols);
        for (size_t i = 0; i < rows * cols; i++) l->pad_cols[i] = 1 - l->pad_cols[i];
        float *a = dp_binary_alpha(&l->unit);
        for (int r = 0; r < l->unit.rows; r++) a[r] = 1;
        rc = 0;
    } else if (!ones || !l->pad_cols) snprintf(err, errlen, "out of memory");
    free(ones);
    return rc;
}

#define LAYER_FAIL(...) do { char m_[320]; snprintf(m_, sizeof m_, __VA_ARGS__); \
    snprintf(err, errlen, "layer '%s': %s", n->name, m_); return -1; } while (0)

/* Everything a stored layer must agree on with its node. */
static int check_layer(rt_model *rt, int i, char *err, size_t errlen)
{
    nn_model *m = rt->m;
    nn_node *n = &m->nodes[i];
    rt_layer *l = &rt->layer[i];
    if (!nn_is_weighted(n)) {
        if (l->present) LAYER_FAIL("format: a %s node has no weights to pack", nn_kind_name(n->kind));
        return 0;
    }
    if (!l->present || !l->w.payload) LAYER_FAIL("format: no packed weights for this weighted layer");
    if (l->w.rows != rt_node_rows(n) || l->w.cols != rt_node_cols(n))
        LAYER_FAIL("rows: %d x %d weights, the layer needs %d x %d", l->w.rows, l->w.cols, rt_node_rows(n),
                   rt_node_cols(n));
    if (l->engine != (n->kernel == NN_KERNEL_ADDER))
        LAYER_FAIL("engine: %d, but the layer's kernel is %s", l->engine, n->kernel == NN_KERNEL_ADDER ? "adder" : "mac");
    if (l->engine && (l->w.format != DP_FORMAT_F32 || l->scale))
        LAYER_FAIL("format: an adder layer is stored as f32 without a folded batch norm, not %s%s",
                   dp_format_name(l->w.format), l->scale ? " with a scale" : "");
    if (l->w.format == DP_FORMAT_INT8) {
        dp_head_int8 want;
        const dp_head_int8 *h = dp_int8_head(&l->w);
        if (!rt_int8_grid(n, &want))
            LAYER_FAIL("format: an int8 layer needs a uniform input transform of at most 8 bits");
        if (h->x_scale != want.x_scale || h->x_zero != want.x_zero || h->x_qmax != want.x_qmax)
            LAYER_FAIL("payload: int8 input grid (scale %g, zero %d, top %d) is not the layer's input transform's "
                       "(scale %g, zero %d, top %d)", h->x_scale, h->x_zero, h->x_qmax, want.x_scale, want.x_zero,
                       want.x_qmax);
    }
    if (l->folds >= 0) {
        const nn_node *bn = l->folds < m->n_nodes ? &m->nodes[l->folds] : NULL;
        if (!bn || bn->kind != NN_BATCHNORM || bn->in[0] != i || rt->folded[l->folds])
            LAYER_FAIL("folds: node %d is not a batch norm reading this layer (once)", l->folds);
        for (int j = i + 1; j < m->n_nodes; j++)
            if (j != l->folds && (m->nodes[j].in[0] == i || (m->nodes[j].n_in == 2 && m->nodes[j].in[1] == i)))
                LAYER_FAIL("folds: node %d '%s' reads the layer before its batch norm", j, m->nodes[j].name);
        if (!l->scale || !l->shift) LAYER_FAIL("scale: a folded batch norm needs a scale and a shift");
        rt->folded[l->folds] = 1;
    } else if (l->scale) {
        LAYER_FAIL("scale: only a folded batch norm brings a scale");
    } else if (!l->shift != !n->has_bias) {
        LAYER_FAIL("shift: the layer %s a bias but the file %s one", n->has_bias ? "has" : "has no",
                   l->shift ? "holds" : "lacks");
    }
    return 0;
}

int rt_attach(rt_model *rt, int threads, char *err, size_t errlen)
{
    nn_model *m = rt->m;
    rt->ex = dp_exec_default(threads);
    memset(rt->folded, 0, sizeof rt->folded);
    for (int i = 0; i < m->n_nodes; i++)
        if (check_layer(rt, i, err, errlen) != 0) return -1;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].kind == NN_BATCHNORM && !rt->folded[i] && !m->nodes[i].run_mean) {
            snprintf(err, errlen, "layer '%s': batch norm without statistics", m->nodes[i].name);
            return -1;
        }
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *n = &m->nodes[i];
        rt_layer *l = &rt->layer[i];
        if (rt->folded[i]) { n->run = run_identity; n->run_ctx = rt; continue; }
        if (!l->present) continue;
        if (l->engine) {   /* the engine's adder kernel, with the stored weights and bias */
            dp_format_table[DP_FORMAT_F32].unpack(&l->w, n->w);
            if (l->shift) memcpy(n->b, l->shift, n->nb * sizeof *n->b);
            continue;
        }
        if (n->kind == NN_CONV && n->pad > 0 && path_of(l, n) == PATH_XNOR && !l->pad_cols) {
            char why[256];
            if (xnor_padding(l, n, why, sizeof why) != 0) {
                snprintf(err, errlen, "layer '%s': %s", n->name, why);
                return -1;
            }
        }
        n->run = n->kind == NN_CONV ? run_conv : run_linear;
        n->run_ctx = rt;
    }
    nn_model_set_inspectable(m, 1);
    nn_model_set_threads(m, threads);
    return 0;
}
