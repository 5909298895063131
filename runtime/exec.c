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

/* y (rows x n) = the layer applied to col (cols x n, row stride n): the float and shift paths. */
static void layer_gemm(const dp_exec *ex, rt_scratch *sc, const rt_layer *l, const nn_node *n, int n_cols,
                       const float *col, float *y)
{
    int rows = l->w.rows, k = l->w.cols;
    if (path_of(l, n) == PATH_SHIFT_I32) {
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

/* XNOR-Net's conv of one sample, from its float input as it is (the transform's sign x K is
 * never written out): K, the receptive fields' sign bits in the (ki, kj, c) order l->xw's rows
 * were permuted to, and the popcount GEMM whose epilogue applies K, the padding correction and
 * the affine as each output leaves the registers. The same numbers as transform + im2col +
 * packing + GEMM + affine: d and the correction are exact integers, K is the transform's. */
static void xnor_conv_sample(const dp_exec *ex, rt_scratch *sc, const rt_layer *l, const nn_conv_geom *g,
                             size_t per_in, const float *xs, float *kcol, float *y)
{
    const dp_conv_shape s = { 1, g->c, g->h, g->w, g->k, g->stride, g->pad };
    const size_t hw = nn_conv_geom_cols(g), planes = (size_t)(l->xw.cols + 63) / 64;
    uint64_t *xb = bit_scratch(sc, planes * hw + dp_xnor_image_words(&s));
    const float k = mt_xnor_scale(xs, per_in);
    for (size_t j = 0; j < hw; j++) kcol[j] = k;
    dp_xnor_pack_conv(&s, xs, xb + planes * hw, xb, hw, ex);
    const dp_xnor_epilogue e = { kcol, l->pad_corr, hw, l->scale, l->shift };
    dp_xnor_gemm(&l->xw, (int)hw, xb, hw, &e, y, hw, ex);
}

/* One sample: its columns, the layer, the affine, straight into y (NCHW). */
static void conv_sample(const dp_exec *ex, rt_scratch *sc, const rt_layer *l, const nn_node *n,
                        const nn_conv_geom *g, const float *xs, float *col, float *kcol, float *y)
{
    const size_t hw = nn_conv_geom_cols(g);
    if (l->xw.payload) {
        xnor_conv_sample(ex, sc, l, g, nn_dims_size(n->in_dims), xs, kcol, y);
        return;
    }
    if (!nn_conv_geom_trivial(g)) nn_im2col(g, xs, col, hw);
    layer_gemm(ex, sc, l, n, (int)hw, nn_conv_geom_trivial(g) ? xs : col, y);
    affine(l, l->w.rows, (int)hw, y);
}

/* The executor a hook runs its kernels with: at most the model's threads as nn_forward has set
 * them for this pass (one for one image: nn_forward says why; the kernels give the same numbers
 * on any thread count). */
static dp_exec exec_for(const rt_model *rt, const nn_model *m)
{
    dp_exec ex = rt->ex;
    if (m->threads > 0 && m->threads < ex.threads) ex.threads = m->threads;
    return ex;
}

/* The INT8 matrix a layer runs on the int8 kernels: its own (PTQ) or the one built for its k-bit
 * grid; NULL for every other layer. */
static const dp_matrix *int8_of(const rt_layer *l)
{
    return l->w.format == DP_FORMAT_INT8 ? &l->w : l->qw.payload ? &l->qw : NULL;
}

static void run_conv(void *ctx, nn_model *m, nn_node *n, const float *x0, const float *x1, int batch)
{
    (void)x1;
    rt_model *rt = ctx;
    const rt_layer *l = &rt->layer[n - m->nodes];
    nn_conv_geom g = nn_conv_geom_of(n);
    const dp_matrix *q = int8_of(l);
    const dp_exec ex = exec_for(rt, m);
    if (q) {   /* the whole batch in one int8 convolution, affine included */
        const dp_conv_shape sh = { batch, g.c, g.h, g.w, g.k, g.stride, g.pad };
        dp_int8_conv(q, &sh, x0, n->out, l->scale, l->shift, &ex);
        return;
    }
    const size_t per_in = nn_dims_size(n->in_dims), per_out = nn_dims_size(n->out_dims);
    const size_t k = nn_conv_geom_rows(&g), hw = nn_conv_geom_cols(&g);
    const int threads = ex.threads < 1 ? 1 : ex.threads;
    float *xq_own = NULL;
    const int xnor = l->xw.payload != NULL;
    const float *x = xnor ? x0 : transformed(n, x0, batch, &xq_own);
    const size_t col_len = xnor ? 1 : k * hw;
    if (threads == 1) {   /* one sample after another (one image always runs here: nn_forward) */
        float *col = checked_malloc(col_len * sizeof *col), *kcol = checked_malloc(hw * sizeof *kcol);
        for (int s = 0; s < batch; s++)
            conv_sample(&ex, &rt->ws, l, n, &g, x + (size_t)s * per_in, col, kcol, n->out + (size_t)s * per_out);
        free(col);
        free(kcol);
    } else {   /* each thread takes whole samples, its columns staying in its own cache */
        dp_exec one = ex;
        one.threads = 1;
#pragma omp parallel num_threads(threads)
        {
            rt_scratch sc = { 0 };
            float *col = checked_malloc(col_len * sizeof *col), *kcol = checked_malloc(hw * sizeof *kcol);
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
    const dp_matrix *q = int8_of(l);
    const dp_exec ex = exec_for(rt, m);
    if (q) {   /* the batch as it lies: samples are the matmul's rows */
        dp_int8_linear(q, batch, x0, n->out, l->scale, l->shift, &ex);
        return;
    }
    const int xnor = path_of(l, n) == PATH_XNOR;
    float *xq_own = NULL;
    const float *x = xnor ? x0 : transformed(n, x0, batch, &xq_own);
    float *xt = checked_malloc(((size_t)k + rows + 1) * (size_t)batch * sizeof *xt);
    float *yt = xt + (size_t)k * batch, *kcol = yt + (size_t)rows * batch;
    for (int s = 0; s < batch; s++) {   /* samples become columns */
        if (xnor) kcol[s] = mt_xnor_scale(x + (size_t)s * k, (size_t)k);
        for (int c = 0; c < k; c++) xt[(size_t)c * batch + s] = x[(size_t)s * k + c];
    }
    if (xnor) {   /* XNOR-Net: the signs of x as they are, K and the affine in the GEMM's epilogue */
        uint64_t *xb = bit_scratch(&rt->ws, (size_t)(k + 63) / 64 * batch);
        dp_bits_pack_cols(k, batch, xt, (size_t)batch, xb, (size_t)batch, &ex);
        const dp_xnor_epilogue e = { kcol, NULL, 0, l->scale, l->shift };
        dp_xnor_gemm(&l->w, batch, xb, (size_t)batch, &e, yt, (size_t)batch, &ex);
    } else {
        layer_gemm(&ex, &rt->ws, l, n, batch, xt, yt);
        affine(l, rows, batch, yt);
    }
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

/* An XNOR conv: its weights with rows permuted to dp_xnor_pack_conv's (ki, kj, c) order and,
 * with zero padding, what the padded taps (packed as +1) add to d at each output position (the
 * same for every sample): the sum of the weight signs of those taps, whatever the row order. */
static int xnor_conv_prepare(rt_layer *l, const nn_node *n, char *err, size_t errlen)
{
    const nn_conv_geom g = nn_conv_geom_of(n);
    if (dp_binary_permute_taps(&l->w, g.c, g.k, &l->xw, err, errlen) != 0) return -1;
    if (g.pad == 0) return 0;
    const int taps = g.k * g.k, kw = dp_matrix_words(&l->xw), rows = l->xw.rows;
    const size_t cols = nn_conv_geom_cols(&g);
    int *tap_sum = malloc((size_t)rows * taps * sizeof *tap_sum);
    l->pad_corr = malloc((size_t)rows * cols * sizeof *l->pad_corr);
    if (!tap_sum || !l->pad_corr) {
        free(tap_sum);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    for (int r = 0; r < rows; r++) {
        const uint64_t *wr = &dp_binary_blocks(&l->xw)[(size_t)r * kw].pos;
        for (int t = 0; t < taps; t++) {
            int sum = 0;
            for (int i = t * g.c; i < (t + 1) * g.c; i++) sum += (wr[i / 64] >> (i % 64)) & 1 ? 1 : -1;
            tap_sum[(size_t)r * taps + t] = sum;
        }
    }
    for (size_t j = 0; j < cols; j++) {
        const int y0 = (int)(j / (size_t)g.ow) * g.stride - g.pad, x0 = (int)(j % (size_t)g.ow) * g.stride - g.pad;
        for (int r = 0; r < rows; r++) {
            int corr = 0;
            for (int t = 0; t < taps; t++) {
                const int iy = y0 + t / g.k, ix = x0 + t % g.k;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) corr += tap_sum[(size_t)r * taps + t];
            }
            l->pad_corr[(size_t)r * cols + j] = (float)corr;
        }
    }
    free(tap_sum);
    return 0;
}

/* The grid of at most 8 bits a k-bit input transform rounds to, as the int8 kernels read it
 * (u = clamp(round(x / scale), 0, top)): DoReFa's clip(x, 0, 1) on 2^bits - 1 steps, PACT's
 * clip(x, 0, alpha), LSQ's multiples of its step. DoReFa and PACT round at x L + 1/2, the kernel
 * at x / scale half to even: the same level but where x sits within rounding error of a tie. */
typedef float (*kbit_scale_fn)(const nn_node *n, float top);
static float unit_scale(const nn_node *n, float top) { (void)n; return 1.0f / top; }
static float pact_scale(const nn_node *n, float top) { return n->xt_arg[1] / top; }
static float lsq_scale(const nn_node *n, float top) { (void)top; return n->xt_arg[1]; }
static const kbit_scale_fn kbit_scale[MT_XT_COUNT] = {
    [MT_XT_UNIT_UNIFORM] = unit_scale, [MT_XT_PACT] = pact_scale, [MT_XT_LSQ] = lsq_scale,
};

static int kbit_input_grid(const nn_node *n, dp_head_int8 *h)
{
    const int kind = mt_xt_kind_of(n), bits = n->xt ? (int)n->xt_arg[0] : 0;
    if (kind <= 0 || !kbit_scale[kind] || bits < 1 || bits > 8) return 0;
    const float top = (float)((1 << bits) - 1);
    *h = (dp_head_int8){ kbit_scale[kind](n, top), 0, (int)top };
    return isfinite(h->x_scale) && h->x_scale > 0;
}

/* A LUT layer's weights as INT8 (l->qw) when its table is s times integers within int8 (the
 * smallest gap between levels, or half of it: DoReFa's levels are odd multiples of 1/L) and its
 * input has a k-bit grid. 0 also when it is not such a layer (qw left empty); -1 only on failure. */
static int kbit_prepare(rt_layer *l, const nn_node *n, char *err, size_t errlen)
{
    dp_head_int8 grid;
    const dp_format f = l->w.format;
    if (!dp_lut_bits(f) || !kbit_input_grid(n, &grid)) return 0;
    const int levels = dp_lut_head(&l->w)->levels;
    const float *t = dp_lut_table(&l->w);
    double gap = levels > 1 ? INFINITY : fabs(t[0]) > 0 ? fabs(t[0]) : 1.0;
    for (int i = 1; i < levels; i++) gap = fmin(gap, (double)t[i] - t[i - 1]);
    float s = 0, q[256];
    for (int d = 1; d <= 2 && !s; d++) {
        s = (float)(gap / d);
        for (int i = 0; i < levels && s; i++) {
            const double v = t[i] / (double)s, r = nearbyint(v);
            if (fabs(v - r) > 1e-3 || fabs(r) > 127) s = 0;
            q[i] = (float)r;
        }
    }
    if (!s) return 0;   /* not an int8 grid: the fp32 GEMM on the decoded table */
    const size_t nw = (size_t)l->w.rows * l->w.cols;
    float *w = malloc(nw * sizeof *w);
    if (!w) return snprintf(err, errlen, "out of memory"), -1;
    for (int r = 0; r < l->w.rows; r++)
        for (int c = 0; c < l->w.cols; c++) w[(size_t)r * l->w.cols + c] = s * q[dp_lut_code(&l->w, r, c)];
    int rc = dp_matrix_pack(&l->qw, DP_FORMAT_INT8, l->w.rows, l->w.cols, w, err, errlen) == 0 &&
             dp_int8_set_input(&l->qw, grid.x_scale, grid.x_zero, grid.x_qmax, err, errlen) == 0 ? 0 : -1;
    if (rc == 0) {   /* INT8 must hold s q exactly (its grid search finds s); else keep the fp32 path */
        float *back = malloc(nw * sizeof *back);
        if (!back) rc = (snprintf(err, errlen, "out of memory"), -1);
        else {
            dp_format_table[DP_FORMAT_INT8].unpack(&l->qw, back);
            if (memcmp(back, w, nw * sizeof *w) != 0) dp_matrix_free(&l->qw);
            free(back);
        }
    }
    free(w);
    if (rc != 0) dp_matrix_free(&l->qw);
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
        if (n->kind == NN_CONV && path_of(l, n) == PATH_XNOR && !l->xw.payload) {
            char why[256];
            if (xnor_conv_prepare(l, n, why, sizeof why) != 0) {
                snprintf(err, errlen, "layer '%s': %s", n->name, why);
                return -1;
            }
        }
        if (!l->qw.payload) {
            char why[256];
            if (kbit_prepare(l, n, why, sizeof why) != 0) {
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
