/* INT8's GEMM through oneDNN's int8 matmul: u8 input (the layer's 8-bit grid, zero point as a
 * oneDNN source zero point), s8 weights, s32 sums, scaled per output row to f32 by oneDNN's
 * output scales (scale[r] x_scale). oneDNN's matmul scales per column of its destination, so
 * it runs transposed: Y^T (n x rows) = U^T (n x cols) . W^T (cols x rows), W^T being the
 * payload itself read column-major. Primitives are built per column count n and kept (a few
 * per matrix: one per batch size). The sums are exact; only the final product by the scale
 * rounds, as in the reference (kernels_ref.c). A linear layer's activations are already U^T's
 * layout (sample-major), so dp_int8_linear hands them over with no transposes at all. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include "deploy/kernels_ref.h"
#include "deploy/int8_plan.h"

static void slot_free(int8_slot *s)
{
    if (s->prim) dnnl_primitive_destroy(s->prim);
    dnnl_memory_t *mem[] = { &s->src, &s->wei, &s->dst, &s->zp };
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++)
        if (*mem[i]) dnnl_memory_destroy(*mem[i]);
    memset(s, 0, sizeof *s);
}

void dp_int8_release(void *plan)
{
    int8_plan *p = plan;
    if (!p) return;
    for (int i = 0; i < INT8_PLANS; i++) {
        slot_free(&p->slot[i]);
        dp_int8_conv_slot_free(&p->conv[i]);
    }
    if (p->stream) dnnl_stream_destroy(p->stream);
    if (p->engine) dnnl_engine_destroy(p->engine);
    free(p->out_scale);
    free(p);
}

int dp_int8_prepare(dp_matrix *m, char *err, size_t errlen)
{
    int8_plan *p = calloc(1, sizeof *p);
    if (!p || !(p->out_scale = malloc((size_t)m->rows * sizeof *p->out_scale))) {
        free(p);
        return dp_fail(err, errlen, "int8: out of memory");
    }
    m->plan = p;   /* dp_matrix_free releases it from here on */
    if (dnnl_engine_create(&p->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags) != dnnl_success)
        return dp_fail(err, errlen, "int8: oneDNN offers no CPU engine");
    const dp_head_int8 *h = dp_int8_head(m);
    p->zero = h->x_zero;
    for (int r = 0; r < m->rows; r++) p->out_scale[r] = dp_int8_scale(m)[r] * h->x_scale;
    return 0;
}

/* The matmul for n columns: built once, NULL when oneDNN cannot (reported on stderr). */
static int8_slot *slot_for(const dp_matrix *m, int8_plan *p, int n)
{
    for (int i = 0; i < INT8_PLANS; i++)
        if (p->slot[i].n == n) return &p->slot[i];
    int8_slot *s = &p->slot[p->next];
    p->next = (p->next + 1) % INT8_PLANS;
    slot_free(s);
    dnnl_memory_desc_t src, wei, dst, zp;
    dnnl_dims_t sd = { n, m->cols }, wd = { m->cols, m->rows }, dd = { n, m->rows };
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_u8, dnnl_ab) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_s8, dnnl_ba) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab) == dnnl_success &&
             dp_int8_attr(p, m->rows, &zp, &attr);
    dnnl_matmul_desc_t md;
    ok = ok && dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst) == dnnl_success &&
         dnnl_primitive_desc_create(&pd, &md, attr, p->engine, NULL) == dnnl_success &&
         dnnl_primitive_create(&s->prim, pd) == dnnl_success &&
         dnnl_memory_create(&s->src, &src, p->engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&s->wei, &wei, p->engine, dp_int8_q(m)) == dnnl_success &&
         dnnl_memory_create(&s->dst, &dst, p->engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&s->zp, &zp, p->engine, &p->zero) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        slot_free(s);
        return NULL;
    }
    s->n = n;
    return s;
}

int dp_int8_attr(const int8_plan *p, int rows, dnnl_memory_desc_t *zp, dnnl_primitive_attr_t *attr)
{
    const dnnl_dims_t zd = { 1 };
    const int zero_arg[1] = { DNNL_RUNTIME_S32_VAL };
    return dnnl_memory_desc_init_by_tag(zp, 1, zd, dnnl_s32, dnnl_x) == dnnl_success &&
           dnnl_primitive_attr_create(attr) == dnnl_success &&
           dnnl_primitive_attr_set_output_scales(*attr, rows, 1 << 1, p->out_scale) == dnnl_success &&
           dnnl_primitive_attr_set_zero_points(*attr, DNNL_ARG_SRC, 1, 0, zero_arg) == dnnl_success;
}

/* oneDNN's u8 x s8 sums are exact only where it has VNNI (AVX-512 VNNI or later, AVX-VNNI):
 * without it (AVX2, plain AVX-512) it adds pairs of products in saturating 16-bit lanes, and a
 * full-range input against a -128 weight comes out wrong (seen with ONEDNN_MAX_CPU_ISA=AVX2).
 * There the scalar reference computes the layer: slower, the same numbers on every machine. */
int dp_int8_onednn_exact(void)
{
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    const unsigned vnni512 = (unsigned)dnnl_cpu_isa_avx512_core_vnni, vnni2 = (unsigned)dnnl_cpu_isa_avx2_vnni;
    return (isa & vnni512) == vnni512 || (isa & vnni2) == vnni2;
}

/* oneDNN's matmul of u (n x cols, the input grid's integers) into dst (n x rows floats, scaled). */
static void run_matmul(const dp_matrix *w, int n, uint8_t *u, float *dst)
{
    int8_slot *s = slot_for(w, w->plan, n);
    if (!s) {
        fprintf(stderr, "deploy: oneDNN offers no int8 matmul for %d x %d . %d x %d\n", w->rows, w->cols, w->cols, n);
        abort();
    }
    int8_plan *p = w->plan;
    dnnl_memory_set_data_handle(s->src, u);
    dnnl_memory_set_data_handle(s->dst, dst);
    const dnnl_exec_arg_t args[] = {
        { DNNL_ARG_SRC, s->src }, { DNNL_ARG_WEIGHTS, s->wei }, { DNNL_ARG_DST, s->dst },
        { DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, s->zp },
    };
    DP_ASSERT(dnnl_primitive_execute(s->prim, p->stream, 4, args) == dnnl_success);
    DP_ASSERT(dnnl_stream_wait(p->stream) == dnnl_success);
}

void dp_int8_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy, const dp_exec *ex)
{
    (void)ex;   /* oneDNN runs on the OpenMP threads of the caller; the sums do not depend on them */
    DP_ASSERT(w->format == DP_FORMAT_INT8 && w->payload && w->plan);
    DP_ASSERT(n >= 0 && ldx >= (size_t)n && ldy >= (size_t)n);
    if (n == 0) return;
    if (!dp_int8_onednn_exact()) { dp_ref_gemm_int8(w, n, x, ldx, y, ldy); return; }
    const int rows = w->rows, cols = w->cols;
    const dp_head_int8 *h = dp_int8_head(w);
    uint8_t *u = dp_alloc((size_t)n * cols);
    float *yt = dp_alloc((size_t)n * rows * sizeof *yt);
    DP_ASSERT(u && yt);
    for (int c = 0; c < cols; c++)   /* the input grid's integers, transposed: U^T */
        for (int j = 0; j < n; j++) u[(size_t)j * cols + c] = (uint8_t)dp_int8_level(h, x[(size_t)c * ldx + j]);
    run_matmul(w, n, u, yt);
    for (int j = 0; j < n; j++)
        for (int r = 0; r < rows; r++) y[(size_t)r * ldy + j] = yt[(size_t)j * rows + r];
    free(u);
    free(yt);
}

void dp_int8_linear(const dp_matrix *w, int n, const float *x, float *y, const float *a_scale, const float *a_shift,
                    const dp_exec *ex)
{
    DP_ASSERT(w->format == DP_FORMAT_INT8 && w->payload && w->plan && n >= 0);
    if (n == 0) return;
    if (!dp_int8_onednn_exact()) { dp_ref_linear_int8(w, n, x, y, a_scale, a_shift); return; }
    const int rows = w->rows;
    const size_t cols = (size_t)w->cols;
    uint8_t *u = dp_alloc((size_t)n * cols);
    DP_ASSERT(u);
    dp_int8_levels_at(ex)(dp_int8_head(w), x, (size_t)n * cols, u);
    run_matmul(w, n, u, y);
    free(u);
    if (!a_scale && !a_shift) return;
    for (int j = 0; j < n; j++) {   /* the reference's affine, in place */
        float *yj = y + (size_t)j * rows;
        if (a_scale)
            for (int r = 0; r < rows; r++) yj[r] = yj[r] * a_scale[r] + a_shift[r];
        else
            for (int r = 0; r < rows; r++) yj[r] += a_shift[r];
    }
}
