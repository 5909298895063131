/* AdderNet kernels (Chen et al., CVPR 2020): outputs are negative L1 distances between input
 * patches and filters, y = -sum_k |x_k - w_k| (+ b). Backward uses the paper's full-precision
 * gradients: dW = sum (x - w) * dy and dX = sum HT(w - x) * dy, HT = clamp to [-1, 1].
 *
 * Conv runs on a chunk of samples' columns (nn/im2col.h; a 1x1 stride-1 conv reads its input
 * directly) in register tiles:
 *   forward  a tile of FO filters x PT pixels stays in registers across the k loop, so each
 *            column load serves FO filters and each output is stored once;
 *   dX       a tile of KB column rows x PT pixels stays in registers across the o loop (the
 *            column values too), so each output-gradient load serves KB rows;
 *   dW       sum_p (x - w) dy = sum_p x dy - w sum_p dy: one GEMM per sample (CBLAS, single-
 *            threaded inside our threads) plus a per-filter correction.
 * Every forward and dX element sums in the order the plain loops used (k, resp. o, ascending),
 * so the tile width changes no bit; dW's order is the GEMM's. Threads own disjoint outputs, so
 * results do not depend on timing. nn/kernels_ref.c holds the scalar twins the tests use. */
#include <assert.h>
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <omp.h>
#include "nn/layer_kinds.h"
#include "nn/im2col.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

enum { ADDER_CHUNK = 8 };   /* samples whose columns are extracted together */

/* The build's widest float vector (Release builds are -march=native): VW lanes. The tiles are
 * sized so accumulators and operands fit the register file (32 registers with AVX-512, 16
 * below). */
#if defined(__AVX512F__)
#define VW 16
enum { FO = 8, KB = 4 };
#define VMAX _mm512_max_ps
#define VMIN _mm512_min_ps
#elif defined(__AVX__)
#define VW 8
enum { FO = 4, KB = 2 };
#define VMAX _mm256_max_ps
#define VMIN _mm256_min_ps
#elif defined(__SSE__)
#define VW 4
enum { FO = 4, KB = 2 };
#define VMAX _mm_max_ps
#define VMIN _mm_min_ps
#else
#define VW 4
enum { FO = 4, KB = 2 };
#endif
enum { NP = 2, PT = NP * VW };   /* pixels of a tile: NP vectors */

typedef float vf __attribute__((vector_size(VW * sizeof(float))));
typedef unsigned vu __attribute__((vector_size(VW * sizeof(float))));
#define ALWAYS static inline __attribute__((always_inline))

ALWAYS vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
ALWAYS void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
ALWAYS vf vsplat(float s) { return (vf){ 0 } + s; }
ALWAYS vf vabs(vf v) { return (vf)((vu)v & 0x7fffffffu); }

/* HT(v) = clamp(v, -1, 1), as v < -1 ? -1 : v, then v > 1 ? 1 : v (same bits for non-NaN). */
ALWAYS vf vclamp1(vf v)
{
#ifdef VMAX
    return VMIN(VMAX(v, vsplat(-1.0f)), vsplat(1.0f));
#else
    vu lo = (vu)(v < vsplat(-1.0f)), hi = (vu)(v > vsplat(1.0f));
    v = (vf)((lo & (vu)vsplat(-1.0f)) | (~lo & (vu)v));
    return (vf)((hi & (vu)vsplat(1.0f)) | (~hi & (vu)v));
#endif
}

/* The clamp's compares block vectorization of the scalar tails under the default
 * -ftrapping-math (they could raise on NaN); nothing here relies on traps. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_TRAPS __attribute__((optimize("no-trapping-math")))
#else
#define NO_TRAPS
#endif

static inline float ht(float v) { v = v < -1.0f ? -1.0f : v; return v > 1.0f ? 1.0f : v; }

size_t nn_adder_conv_ws_floats(const nn_node *n, int batch)
{
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t chunk = batch < ADDER_CHUNK ? (size_t)batch : ADDER_CHUNK;
    return 2 * chunk * nn_conv_geom_rows(&g) * nn_conv_geom_cols(&g);
}

/* Column source of one chunk: sample j's row r starts at col(j) + r*ld. Trivial geometries
 * read the input directly. */
typedef struct { const float *base; size_t sample_step, ld; } colview;

static colview chunk_columns(nn_model *m, const nn_node *n, const nn_conv_geom *g,
                             const float *x, int n0, int nb, int T)
{
    const size_t P = nn_conv_geom_cols(g), in_sz = nn_dims_size(n->in_dims);
    if (nn_conv_geom_trivial(g)) return (colview){ x + (size_t)n0 * in_sz, in_sz, P };
    float *col = m->ws;
    #pragma omp parallel for num_threads(T) schedule(static)
    for (int j = 0; j < nb; j++) nn_im2col(g, x + (size_t)(n0 + j) * in_sz, col + (size_t)j * P, (size_t)nb * P);
    return (colview){ col, P, (size_t)nb * P };
}

static int chunk_size(const nn_model *m, const nn_node *n, int batch)
{
    int c = batch < ADDER_CHUNK ? batch : ADDER_CHUNK;
    nn_conv_geom g = nn_conv_geom_of(n);
    size_t per = 2 * nn_conv_geom_rows(&g) * nn_conv_geom_cols(&g);
    if ((size_t)c * per > m->ws_len) c = (int)(m->ws_len / per);
    assert(c >= 1 && "workspace too small for adder conv");
    return c;
}

/* ---- forward ---------------------------------------------------------------------------- */

/* y[a][p] = b[a] - sum_k |c[k][p] - w[a][k]| for nf (<= FO) filters and nv (<= NP) vectors of
 * pixels. w: the first filter's row (K long); c: row 0 at the tile's first pixel, row k at
 * c + k*ld; y: the first filter's output at the first pixel, filter a at y + a*ys. */
ALWAYS void fwd_tile(int nf, int nv, int K, const float *w, const float *c, size_t ld,
                     float *y, size_t ys, const float *b)
{
    vf acc[FO][NP];
    for (int a = 0; a < nf; a++)
        for (int v = 0; v < nv; v++) acc[a][v] = vsplat(0.0f);
    for (int k = 0; k < K; k++) {
        vf cv[NP];
        for (int v = 0; v < nv; v++) cv[v] = vload(c + (size_t)k * ld + v * VW);
        for (int a = 0; a < nf; a++) {
            const vf wv = vsplat(w[(size_t)a * K + k]);
            for (int v = 0; v < nv; v++) acc[a][v] -= vabs(cv[v] - wv);
        }
    }
    for (int a = 0; a < nf; a++)
        for (int v = 0; v < nv; v++)
            vstore(y + (size_t)a * ys + v * VW, acc[a][v] + vsplat(b ? b[a] : 0.0f));
}

/* All filters on pixels [p0, p0 + np) of one sample; np <= PT. */
static void fwd_pixels(int O, int K, const float *w, const float *b, const float *c, size_t ld,
                       float *y, size_t P, int np)
{
    int o = 0;
    if (np == PT) {
        for (; o + FO <= O; o += FO)
            fwd_tile(FO, NP, K, w + (size_t)o * K, c, ld, y + o * P, P, b ? b + o : NULL);
        for (; o < O; o++)
            fwd_tile(1, NP, K, w + (size_t)o * K, c, ld, y + o * P, P, b ? b + o : NULL);
        return;
    }
    int p = 0;
    for (; p + VW <= np; p += VW) {
        for (o = 0; o + FO <= O; o += FO)
            fwd_tile(FO, 1, K, w + (size_t)o * K, c + p, ld, y + o * P + p, P, b ? b + o : NULL);
        for (; o < O; o++)
            fwd_tile(1, 1, K, w + (size_t)o * K, c + p, ld, y + o * P + p, P, b ? b + o : NULL);
    }
    for (; p < np; p++)
        for (o = 0; o < O; o++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) s -= fabsf(c[(size_t)k * ld + p] - w[(size_t)o * K + k]);
            y[o * P + p] = s + (b ? b[o] : 0.0f);
        }
}

void nn_adder_conv_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const int T = nn_layer_threads(m), chunk = chunk_size(m, n, batch);
    const int tiles = (P + PT - 1) / PT;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int nb = batch - n0 < chunk ? batch - n0 : chunk;
        const colview cv = chunk_columns(m, n, &g, x, n0, nb, T);
        /* a work item is one sample's pixel tile under every filter: the tile's columns stay
         * in cache while the filters pass over them */
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int it = 0; it < nb * tiles; it++) {
            const int j = it / tiles, p0 = (it % tiles) * PT;
            const int np = P - p0 < PT ? P - p0 : PT;
            fwd_pixels(O, K, n->w_eff, n->b, cv.base + j * cv.sample_step + p0, cv.ld,
                       n->out + (size_t)(n0 + j) * O * P + p0, (size_t)P, np);
        }
    }
}

/* ---- backward: dX ------------------------------------------------------------------------ */

/* r[kb][p] (+)= sum_o HT(w[o][k0+kb] - c[kb][p]) * d[o][p], o ascending, for nk (<= KB) rows
 * and nv (<= NP) vectors of pixels. c, r: row kb at + kb*ld; d: filter o at d + o*ds; w:
 * column k0 of the O x K weights. add: r holds a sum to add to (else it is overwritten). */
ALWAYS void dx_tile(int nk, int nv, int O, int K, const float *w, const float *c, size_t ld,
                    const float *d, size_t ds, float *r, int add)
{
    vf acc[KB][NP], cv[KB][NP];
    for (int a = 0; a < nk; a++)
        for (int v = 0; v < nv; v++) {
            cv[a][v] = vload(c + (size_t)a * ld + v * VW);
            acc[a][v] = add ? vload(r + (size_t)a * ld + v * VW) : vsplat(0.0f);
        }
    for (int o = 0; o < O; o++) {
        vf dv[NP];
        for (int v = 0; v < nv; v++) dv[v] = vload(d + (size_t)o * ds + v * VW);
        for (int a = 0; a < nk; a++) {
            const vf wv = vsplat(w[(size_t)o * K + a]);
            for (int v = 0; v < nv; v++) acc[a][v] += vclamp1(wv - cv[a][v]) * dv[v];
        }
    }
    for (int a = 0; a < nk; a++)
        for (int v = 0; v < nv; v++) vstore(r + (size_t)a * ld + v * VW, acc[a][v]);
}

/* All column rows on pixels [0, np) of one sample's tile; np <= PT. */
NO_TRAPS static void dx_pixels(int O, int K, const float *w, const float *c, size_t ld,
                               const float *d, size_t ds, float *r, int add, int np)
{
    int k = 0;
    if (np == PT) {
        for (; k + KB <= K; k += KB)
            dx_tile(KB, NP, O, K, w + k, c + (size_t)k * ld, ld, d, ds, r + (size_t)k * ld, add);
        for (; k < K; k++)
            dx_tile(1, NP, O, K, w + k, c + (size_t)k * ld, ld, d, ds, r + (size_t)k * ld, add);
        return;
    }
    int p = 0;
    for (; p + VW <= np; p += VW) {
        for (k = 0; k + KB <= K; k += KB)
            dx_tile(KB, 1, O, K, w + k, c + (size_t)k * ld + p, ld, d + p, ds, r + (size_t)k * ld + p, add);
        for (; k < K; k++)
            dx_tile(1, 1, O, K, w + k, c + (size_t)k * ld + p, ld, d + p, ds, r + (size_t)k * ld + p, add);
    }
    for (; p < np; p++)
        for (k = 0; k < K; k++) {
            const float cx = c[(size_t)k * ld + p];
            float s = add ? r[(size_t)k * ld + p] : 0.0f;
            for (int o = 0; o < O; o++) s += ht(w[(size_t)o * K + k] - cx) * d[(size_t)o * ds + p];
            r[(size_t)k * ld + p] = s;
        }
}

/* ---- backward: dW ------------------------------------------------------------------------ */

/* gw[o][k] += sum_j sum_p c_j[k][p] dy_j[o][p] - w[o][k] * sum_j sum_p dy_j[o][p] for filters
 * [o0, o1) of one chunk. */
static void dw_rows(const nn_node *n, const colview *cv, const float *dy, size_t out_sz,
                    int nb, int K, int P, int o0, int o1)
{
    if (o1 <= o0) return;
    const float *w = n->w_eff;
    for (int j = 0; j < nb; j++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o1 - o0, K, P, 1.0f,
                    dy + (size_t)j * out_sz + (size_t)o0 * P, P, cv->base + j * cv->sample_step,
                    (int)cv->ld, 1.0f, n->gw + (size_t)o0 * K, K);
    for (int o = o0; o < o1; o++) {
        float s = 0.0f;
        for (int j = 0; j < nb; j++) {
            const float *r = dy + (size_t)j * out_sz + (size_t)o * P;
            float sj = 0.0f;
            #pragma omp simd reduction(+:sj)
            for (int p = 0; p < P; p++) sj += r[p];
            s += sj;
        }
        float *gw = n->gw + (size_t)o * K;
        const float *wo = w + (size_t)o * K;
        for (int k = 0; k < K; k++) gw[k] -= wo[k] * s;
    }
}

void nn_adder_conv_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch)
{
    const nn_conv_geom g = nn_conv_geom_of(n);
    const int K = (int)nn_conv_geom_rows(&g), P = (int)nn_conv_geom_cols(&g), O = n->out_c;
    const int T = nn_layer_threads(m), chunk = chunk_size(m, n, batch);
    const size_t in_sz = nn_dims_size(n->in_dims), out_sz = (size_t)O * P;
    const int trivial = nn_conv_geom_trivial(&g), tiles = (P + PT - 1) / PT;
    const float *w = n->w_eff, *dy = n->dout;

    if (n->gb) {
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int i = 0; i < batch; i++) {
                const float *r = dy + (size_t)i * out_sz + (size_t)o * P;
                #pragma omp simd reduction(+:s)
                for (int p = 0; p < P; p++) s += r[p];
            }
            n->gb[o] += s;
        }
    }

    nn_blas_serial();
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int nb = batch - n0 < chunk ? batch - n0 : chunk;
        const colview cv = chunk_columns(m, n, &g, x, n0, nb, T);
        const float *dyc = dy + (size_t)n0 * out_sz;
        float *dcol = m->ws + (size_t)nb * K * P;
        #pragma omp parallel num_threads(T)
        {
            /* dW: each thread owns a fixed band of filter rows (static split by thread id) */
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            dw_rows(n, &cv, dyc, out_sz, nb, K, P, (int)((long)O * t / nt), (int)((long)O * (t + 1) / nt));
            if (dx) {
                /* dX columns: a work item is one sample's pixel tile of every column row; a
                 * trivial geometry adds to dx directly */
                #pragma omp for schedule(static)
                for (int it = 0; it < nb * tiles; it++) {
                    const int j = it / tiles, p0 = (it % tiles) * PT;
                    const int np = P - p0 < PT ? P - p0 : PT;
                    float *r = trivial ? dx + (size_t)(n0 + j) * in_sz + p0
                                       : dcol + (size_t)j * P + p0;
                    dx_pixels(O, K, w, cv.base + j * cv.sample_step + p0, cv.ld,
                              dyc + (size_t)j * out_sz + p0, (size_t)P, r, trivial, np);
                }
                if (!trivial) {
                    #pragma omp for schedule(static)
                    for (int j = 0; j < nb; j++)
                        nn_col2im_add(&g, dcol + (size_t)j * P, (size_t)nb * P,
                                      dx + (size_t)(n0 + j) * in_sz);
                }
            }
        }
    }
}

/* ---- linear: x is batch x F, w is O x F ---------------------------------------------------- */

void nn_adder_linear_forward(nn_model *m, nn_node *n, const float *x, int batch)
{
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c, T = nn_layer_threads(m);
    const float *w = n->w_eff;
    #pragma omp parallel for num_threads(T) schedule(static)
    for (int o = 0; o < O; o++) {
        const float *wo = w + (size_t)o * F;
        for (int i = 0; i < batch; i++) {
            const float *xi = x + (size_t)i * F;
            float s = 0.0f;
            #pragma omp simd reduction(+:s)
            for (int q = 0; q < F; q++) s += fabsf(xi[q] - wo[q]);
            n->out[(size_t)i * O + o] = (n->b ? n->b[o] : 0.0f) - s;
        }
    }
}

/* g[q] += sum_i (x[i][q] - w[q]) * d[i*ds], i ascending, on nv (<= NP) vectors of q. */
ALWAYS void lin_dw_tile(int nv, int batch, const float *x, size_t F, const float *w,
                        const float *d, size_t ds, float *g)
{
    vf acc[NP], wv[NP];
    for (int v = 0; v < nv; v++) { acc[v] = vload(g + v * VW); wv[v] = vload(w + v * VW); }
    for (int i = 0; i < batch; i++) {
        const vf dv = vsplat(d[(size_t)i * ds]);
        for (int v = 0; v < nv; v++) acc[v] += (vload(x + (size_t)i * F + v * VW) - wv[v]) * dv;
    }
    for (int v = 0; v < nv; v++) vstore(g + v * VW, acc[v]);
}

/* r[q] += sum_o HT(w[o][q] - x[q]) * d[o], o ascending, on nv (<= NP) vectors of q. */
ALWAYS void lin_dx_tile(int nv, int O, const float *w, size_t F, const float *x,
                        const float *d, float *r)
{
    vf acc[NP], xv[NP];
    for (int v = 0; v < nv; v++) { acc[v] = vload(r + v * VW); xv[v] = vload(x + v * VW); }
    for (int o = 0; o < O; o++) {
        const vf dv = vsplat(d[o]);
        for (int v = 0; v < nv; v++) acc[v] += vclamp1(vload(w + (size_t)o * F + v * VW) - xv[v]) * dv;
    }
    for (int v = 0; v < nv; v++) vstore(r + v * VW, acc[v]);
}

NO_TRAPS void nn_adder_linear_backward(nn_model *m, nn_node *n, const float *x, float *dx, int batch)
{
    const int F = (int)nn_dims_size(n->in_dims), O = n->out_c, T = nn_layer_threads(m);
    const float *w = n->w_eff, *dy = n->dout;
    #pragma omp parallel num_threads(T)
    {
        #pragma omp for schedule(static)
        for (int o = 0; o < O; o++) {
            const float *wo = w + (size_t)o * F;
            float *gw = n->gw + (size_t)o * F, gb = 0.0f;
            int q = 0;
            for (; q + PT <= F; q += PT) lin_dw_tile(NP, batch, x + q, F, wo + q, dy + o, O, gw + q);
            for (; q + VW <= F; q += VW) lin_dw_tile(1, batch, x + q, F, wo + q, dy + o, O, gw + q);
            for (; q < F; q++)
                for (int i = 0; i < batch; i++) gw[q] += (x[(size_t)i * F + q] - wo[q]) * dy[(size_t)i * O + o];
            for (int i = 0; i < batch; i++) gb += dy[(size_t)i * O + o];
            if (n->gb) n->gb[o] += gb;
        }
        if (dx) {
            #pragma omp for schedule(static)
            for (int i = 0; i < batch; i++) {
                const float *xi = x + (size_t)i * F, *di = dy + (size_t)i * O;
                float *dxi = dx + (size_t)i * F;
                int q = 0;
                for (; q + PT <= F; q += PT) lin_dx_tile(NP, O, w + q, F, xi + q, di, dxi + q);
                for (; q + VW <= F; q += VW) lin_dx_tile(1, O, w + q, F, xi + q, di, dxi + q);
                for (; q < F; q++)
                    for (int o = 0; o < O; o++) dxi[q] += ht(w[(size_t)o * F + q] - xi[q]) * di[o];
            }
        }
    }
}
