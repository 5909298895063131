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
static void *checked_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) { fprintf(stderr, "runtime: out of memory for %zu bytes\n", bytes); abort(); }
    return p;
}

/* buf, or a larger buffer for n items of `size` bytes in its place (contents not kept). */
static void *grown(void *buf, size_t *len, size_t n, size_t size)
{
    if (*len >= n) return buf;
    free(buf);
    *len = n;
    return checked_malloc(n * size);
}

static float *scratch(rt_scratch *sc, size_t floats)
{
    return sc->f = grown(sc->f, &sc->f_len, floats, sizeof *sc->f);
}

static uint64_t *bit_scratch(rt_scratch *sc, size_t words)
{
    return sc->bits = grown(sc->bits, &sc->bits_len, words, sizeof *sc->bits);
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

/* y (rows x n) = the layer applied to col (cols x n, row stride n); kcol: XNOR's K per column;
 * period: columns per sample (the XNOR padding correction repeats with it). */
static void layer_gemm(const dp_exec *ex, rt_scratch *sc, const rt_layer *l, const nn_node *n, int n_cols,
                       const float *col, const float *kcol, int period, float *y)
{
    int rows = l->w.rows, k = l->w.cols, path = path_of(l, n);
    if (path == PATH_XNOR) {
        size_t planes = (size_t)(k + 63) / 64;
        uint64_t *xb = bit_scratch(sc, planes * (size_t)n_cols);
        dp_bits_pack_cols(k, n_cols, col, (size_t)n_cols, xb, (size_t)n_cols, ex);
        if (!l->pad_corr) {
            dp_xnor_gemm(&l->w, n_cols, xb, (size_t)n_cols, kcol, y, (size_t)n_cols, ex);
            return;
        }
        /* sign(0) packs as +1, so each padded tap added the weight's sign: take it back out.
         * d and the correction are small integers, exact in float. */
        dp_xnor_gemm(&l->unit, n_cols, xb, (size_t)n_cols, NULL, y, (size_t)n_cols, ex);
        const float *alpha = dp_binary_alpha(&l->w);
        for (int r = 0; r < rows; r++) {
            float *yr = y + (size_t)r * n_cols;
            const float *cr = l->pad_corr + (size_t)r * period;
            for (int j = 0; j < n_cols; j++) yr[j] = (alpha[r] * kcol[j]) * (yr[j] - cr[j % period]);
        }
    } else if (path == PATH_SHIFT_I32) {
        int fb = (int)n->xt_arg[1], pmin = dp_pow2_head(&l->w)->pmin;
        size_t nx = (size_t)k * n_cols, ny = (size_t)rows * n_cols;
        int32_t *xi = (int32_t *)scratch(sc, nx + ny), *yi = xi + nx;
        for (size_t i = 0; i < nx; i++) xi[i] = (int32_t)ldexpf(col[i], fb);   /* fixed point: exact */
        char why[128];
        if (dp_shift_gemm_i32(&l->w, n_cols, xi, (size_t)n_cols, yi, (size_t)n_cols, ex, why, sizeof why) != 0) {
            fprintf(stderr, "runtime: layer '%s': %s\n", n->name, why);   /* rt_attach ruled it out */
            abort();
        }
        for (size_t i = 0; i < ny; i++) y[i] = ldexpf((float)yi[i], pmin - fb);
    } else {
        dp_gemm(&l->w, n_cols, col, (size_t)n_cols, y, (size_t)n_cols, ex);
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
    float *xq = checked_malloc((size_t)batch * per * sizeof *xq);
    n->xt->forward(n->xt_ctx, n, x, xq, per, batch);
    return *xq_own = xq;
}

/* One sample: its columns, the layer, the affine, straight into y (NCHW). */
static void conv_sample(const dp_exec *ex, rt_scratch *sc, const rt_layer *l, const nn_node *n,
                        const nn_conv_geom *g, const float *xs, float *col, float *kcol, float *y)
{
    const size_t hw = nn_conv_geom_cols(g);
    if (!nn_conv_geom_trivial(g)) nn_im2col(g, xs, col, hw);
    float xk = fabsf(xs[0]);   /* XNOR: every x_q of the sample is +-K */
    for (size_t j = 0; j < hw; j++) kcol[j] = xk;
    layer_gemm(ex, sc, l, n, (int)hw, nn_conv_geom_trivial(g) ? xs : col, kcol, (int)hw, y);
    affine(l, l->w.rows, (int)hw, y);
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
    const size_t per_in = nn_dims_size(n->in_dims), per_out = nn_dims_size(n->out_dims);
    const size_t k = nn_conv_geom_rows(&g), hw = nn_conv_geom_cols(&g);
    const int threads = rt->ex.threads < 1 ? 1 : rt->ex.threads;
    float *xq_own;
    const float *x = transformed(n, x0, batch, &xq_own);
    if (batch == 1 || threads == 1) {   /* the kernels split the columns over the threads */
        float *col = checked_malloc(k * hw * sizeof *col), *kcol = checked_malloc(hw * sizeof *kcol);
        for (int s = 0; s < batch; s++)
            conv_sample(&rt->ex, &rt->ws, l, n, &g, x + (size_t)s * per_in, col, kcol, n->out + (size_t)s * per_out);
        free(col);
        free(kcol);
    } else {   /* each thread takes whole samples, its columns staying in its own cache */
        dp_exec one = rt->ex;
        one.threads = 1;
#pragma omp parallel num_threads(threads)
        {
            rt_scratch sc = { 0 };
            float *col = checked_malloc(k * hw * sizeof *col), *kcol = checked_malloc(hw * sizeof *kcol);
#pragma omp for schedule(static)
            for (int s = 0; s < batch; s++)
                conv_sample(&one, &sc, l, n, &g, x + (size_t)s * per_in, col, kcol, n->out + (size_t)s * per_out);
            free(col);
            free(kcol);
            free(sc.f);
            free(sc.bits);
        }
    }
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
    float *xt = checked_malloc(((size_t)k + rows + 1) * (size_t)batch * sizeof *xt);
    float *yt = xt + (size_t)k * batch, *kcol = yt + (size_t)rows * batch;
    for (int s = 0; s < batch; s++) {   /* samples become columns */
        kcol[s] = fabsf(x[(size_t)s * k]);
        for (int c = 0; c < k; c++) xt[(size_t)c * batch + s] = x[(size_t)s * k + c];
    }
    layer_gemm(&rt->ex, &rt->ws, l, n, batch, xt, kcol, batch, yt);
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

/* XNOR with zero padding: the unit-alpha copy of the signs, and what the padded taps add to
 * each output position (the same for every sample). */
static int xnor_padding(rt_layer *l, const nn_node *n, const dp_exec *ex, char *err, size_t errlen)
{
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t rows = nn_conv_geom_rows(&g), cols = nn_conv_geom_cols(&g), in = nn_dims_size(n->in_dims);
    float *ones = malloc(in * sizeof *ones), *pad = malloc(rows * cols * sizeof *pad);
    l->pad_corr = malloc((size_t)l->w.rows * cols * sizeof *l->pad_corr);
    l->unit.payload = NULL;
    int rc = -1;
    if (ones && pad && l->pad_corr &&
        dp_matrix_load(&l->unit, DP_FORMAT_BINARY, l->w.rows, l->w.cols, l->w.nnz, l->w.payload, l->w.bytes, err,
                       errlen) == 0) {
        for (size_t i = 0; i < in; i++) ones[i] = 1;
        nn_im2col(&g, ones, pad, cols);
        for (size_t i = 0; i < rows * cols; i++) pad[i] = 1 - pad[i];   /* 1 where a tap reads padding */
        float *a = dp_binary_alpha(&l->unit);
        for (int r = 0; r < l->unit.rows; r++) a[r] = 1;
        dp_gemm(&l->unit, (int)cols, pad, cols, l->pad_corr, cols, ex);
        rc = 0;
    } else if (!ones || !pad || !l->pad_corr) snprintf(err, errlen, "out of memory");
    free(ones);
    free(pad);
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
        if (n->kind == NN_CONV && n->pad > 0 && path_of(l, n) == PATH_XNOR && !l->pad_corr) {
            char why[256];
            if (xnor_padding(l, n, &rt->ex, why, sizeof why) != 0) {
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
