/* INT8's convolution through oneDNN's int8 convolution, over the whole batch: the float NCHW
 * input rounded to the layer's grid into a u8 NHWC buffer (the layout oneDNN's int8 kernels
 * read), the grid's zero point as oneDNN's run-time source zero point, s8 weights reordered
 * once into the primitive's layout, s32 sums, per-channel output scales scale[r] x_scale to
 * f32 NHWC, then the per-channel affine while transposing back to NCHW.
 *
 * Padding: oneDNN's zero points describe the source's real values, and its int8 kernels
 * compensate the padded taps so that they read real 0, i.e. the integer x_zero, which adds
 * nothing to the sum (its zero-point padding compensation). That is what the engine's
 * padding after the input transform gives, and what the scalar reference does; the test
 * (tests/test_conv_int8.cc) holds the two equal with a nonzero zero point and padding.
 *
 * Not fused: requantizing the output to the next layer's u8 grid inside oneDNN, so activations
 * would stay 8-bit between layers. The simulated model computes the next input as
 * clamp(nearbyint(y / x_scale') + zero', 0, top') from the float y = fl(fl(S os[r]) a[r] + b[r])
 * after ReLU. In LeNet-5 an f32 max pool sits between every two int8 layers; in ResNet-20 a
 * block's first conv feeds its second through ReLU alone, but oneDNN's requantization is one
 * multiply by a combined scale and its own f32 -> u8 conversion: matching the chain above bit
 * for bit would take a division post-op and that exact rounding in every implementation oneDNN
 * may pick, which nothing in its contract guarantees (and the ReLU is the engine's node). So
 * the hand-off stays f32 and the predictions stay identical to the simulated model's. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include "deploy/kernels_ref.h"
#include "deploy/int8_plan.h"

void dp_int8_conv_slot_free(int8_conv_slot *s)
{
    if (s->prim) dnnl_primitive_destroy(s->prim);
    dnnl_memory_t *mem[] = { &s->src, &s->wei, &s->dst, &s->zp };
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++)
        if (*mem[i]) dnnl_memory_destroy(*mem[i]);
    memset(s, 0, sizeof *s);
}

static int same_shape(const dp_conv_shape *a, const dp_conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k && a->stride == b->stride &&
           a->pad == b->pad;
}

/* Copies the payload's s8 OIHW weights into the primitive's layout (once per slot). */
static int reorder_weights(const dp_matrix *m, int8_plan *p, const dnnl_memory_desc_t *user_md, int8_conv_slot *s)
{
    dnnl_memory_t user = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    const dnnl_memory_desc_t *want = NULL;
    int ok = dnnl_memory_get_memory_desc(s->wei, &want) == dnnl_success &&
             dnnl_memory_create(&user, user_md, p->engine, dp_int8_q(m)) == dnnl_success &&
             dnnl_reorder_primitive_desc_create(&rpd, user_md, p->engine, want, p->engine, NULL) == dnnl_success &&
             dnnl_primitive_create(&r, rpd) == dnnl_success;
    if (ok) {
        const dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, user }, { DNNL_ARG_TO, s->wei } };
        ok = dnnl_primitive_execute(r, p->stream, 2, args) == dnnl_success &&
             dnnl_stream_wait(p->stream) == dnnl_success;
    }
    if (r) dnnl_primitive_destroy(r);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (user) dnnl_memory_destroy(user);
    return ok;
}

/* The convolution for shape sh: built once, NULL when oneDNN cannot (the caller reports). */
static int8_conv_slot *conv_for(const dp_matrix *m, int8_plan *p, const dp_conv_shape *sh)
{
    for (int i = 0; i < INT8_PLANS; i++)
        if (p->conv[i].s.n && same_shape(&p->conv[i].s, sh)) return &p->conv[i];
    int8_conv_slot *s = &p->conv[p->conv_next];
    p->conv_next = (p->conv_next + 1) % INT8_PLANS;
    dp_int8_conv_slot_free(s);
    const int oh = dp_conv_out(sh->h, sh->k, sh->stride, sh->pad), ow = dp_conv_out(sh->w, sh->k, sh->stride, sh->pad);
    dnnl_memory_desc_t src, wei, wei_any, dst, zp;
    dnnl_dims_t sd = { sh->n, sh->c, sh->h, sh->w }, wd = { m->rows, sh->c, sh->k, sh->k };
    dnnl_dims_t dd = { sh->n, m->rows, oh, ow }, strides = { sh->stride, sh->stride };
    dnnl_dims_t pad = { sh->pad, sh->pad };
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_u8, dnnl_nhwc) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_s8, dnnl_oihw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&wei_any, 4, wd, dnnl_s8, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nhwc) == dnnl_success &&
             dp_int8_attr(p, m->rows, &zp, &attr);
    dnnl_convolution_desc_t cd;
    ok = ok &&
         dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei_any, NULL,
                                            &dst, strides, pad, pad) == dnnl_success &&
         dnnl_primitive_desc_create(&pd, &cd, attr, p->engine, NULL) == dnnl_success &&
         dnnl_primitive_create(&s->prim, pd) == dnnl_success &&
         dnnl_memory_create(&s->src, &src, p->engine, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
         dnnl_memory_create(&s->wei, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), p->engine,
                            DNNL_MEMORY_ALLOCATE) == dnnl_success &&
         dnnl_memory_create(&s->dst, &dst, p->engine, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
         dnnl_memory_create(&s->zp, &zp, p->engine, &p->zero) == dnnl_success && reorder_weights(m, p, &wei, s);
    const char *impl = NULL;
    if (ok && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(s->impl, sizeof s->impl, "%s", impl);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        dp_int8_conv_slot_free(s);
        return NULL;
    }
    s->s = *sh;
    return s;
}

int dp_int8_conv_onednn(void) { return dp_int8_onednn_exact(); }

/* The grid's integers of a run of floats (int8_plan.h): a division, a rounding and a clamp per
 * value, which vectorize; compiled once per level (the same IEEE operations, the same integers). */
enum { LEVEL_RUN = 1024 };

DP_INLINE void levels_body(const dp_head_int8 *h, const float *x, size_t n, uint8_t *u)
{
    const float scale = h->x_scale, zero = (float)h->x_zero, top = (float)h->x_qmax;
    for (size_t i = 0; i < n; i++) {
        float v = __builtin_nearbyintf(x[i] / scale) + zero;
        v = v < 0 ? 0 : v > top ? top : v;
        u[i] = (uint8_t)(int)v;
    }
}

static void levels_portable(const dp_head_int8 *h, const float *x, size_t n, uint8_t *u) { levels_body(h, x, n, u); }
#if DP_X86
DP_TARGET_AVX2 static void levels_avx2(const dp_head_int8 *h, const float *x, size_t n, uint8_t *u)
{
    levels_body(h, x, n, u);
}
DP_TARGET_AVX512 static void levels_avx512(const dp_head_int8 *h, const float *x, size_t n, uint8_t *u)
{
    levels_body(h, x, n, u);
}
#endif

dp_int8_levels_fn dp_int8_levels_at(const dp_exec *ex)
{
#if DP_X86
    if (ex && ex->isa == DP_ISA_AVX512) return levels_avx512;
    if (ex && ex->isa == DP_ISA_AVX2) return levels_avx2;
#endif
    return levels_portable;
}

static int8_conv_slot *conv_or_die(const dp_matrix *w, const dp_conv_shape *s)
{
    DP_ASSERT(w->format == DP_FORMAT_INT8 && w->payload && w->plan);
    DP_ASSERT(s->n > 0 && s->c > 0 && s->k > 0 && s->stride > 0 && s->pad >= 0 && w->cols == s->c * s->k * s->k);
    DP_ASSERT(s->h + 2 * s->pad >= s->k && s->w + 2 * s->pad >= s->k);
    int8_conv_slot *slot = conv_for(w, w->plan, s);
    if (!slot) {
        fprintf(stderr, "deploy: oneDNN offers no int8 convolution for %d x %d x %d x %d -> %d, k %d, stride %d, pad %d\n",
                s->n, s->c, s->h, s->w, w->rows, s->k, s->stride, s->pad);
        abort();
    }
    return slot;
}

const char *dp_int8_conv_impl(const dp_matrix *w, const dp_conv_shape *s)
{
    return dp_int8_conv_onednn() ? conv_or_die(w, s)->impl : "ref";
}

void dp_int8_conv(const dp_matrix *w, const dp_conv_shape *s, const float *x, float *y, const float *a_scale,
                  const float *a_shift, const dp_exec *ex)
{
    if (!dp_int8_conv_onednn()) { dp_ref_conv_int8(w, s, x, y, a_scale, a_shift); return; }
    int8_conv_slot *slot = conv_or_die(w, s);
    int8_plan *p = w->plan;
    const dp_head_int8 *h = dp_int8_head(w);
    const int c = s->c, rows = w->rows, threads = ex && ex->threads > 1 ? ex->threads : 1;
    const size_t hw = (size_t)s->h * s->w;
    const size_t ohw = (size_t)dp_conv_out(s->h, s->k, s->stride, s->pad) * dp_conv_out(s->w, s->k, s->stride, s->pad);
    uint8_t *u = NULL;
    float *d = NULL;
    DP_ASSERT(dnnl_memory_get_data_handle(slot->src, (void **)&u) == dnnl_success &&
              dnnl_memory_get_data_handle(slot->dst, (void **)&d) == dnnl_success);
    const dp_int8_levels_fn levels = dp_int8_levels_at(ex);
#pragma omp parallel for num_threads(threads) schedule(static) if (s->n > 1)
    for (int b = 0; b < s->n; b++)   /* NCHW floats -> NHWC grid integers, a run of one plane at a time */
        for (int ch = 0; ch < c; ch++)
            for (size_t i0 = 0; i0 < hw; i0 += LEVEL_RUN) {
                const size_t len = hw - i0 < LEVEL_RUN ? hw - i0 : LEVEL_RUN;
                uint8_t run[LEVEL_RUN];
                uint8_t *ub = u + ((size_t)b * hw + i0) * c + ch;
                levels(h, x + ((size_t)b * c + ch) * hw + i0, len, c == 1 ? ub : run);
                if (c > 1)
                    for (size_t i = 0; i < len; i++) ub[i * c] = run[i];
            }
    const dnnl_exec_arg_t args[] = {
        { DNNL_ARG_SRC, slot->src }, { DNNL_ARG_WEIGHTS, slot->wei }, { DNNL_ARG_DST, slot->dst },
        { DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, slot->zp },
    };
    DP_ASSERT(dnnl_primitive_execute(slot->prim, p->stream, 4, args) == dnnl_success);
    DP_ASSERT(dnnl_stream_wait(p->stream) == dnnl_success);
#pragma omp parallel for num_threads(threads) schedule(static) if (s->n > 1)
    for (int b = 0; b < s->n; b++)   /* NHWC -> NCHW, with the affine of the reference */
        for (int r = 0; r < rows; r++) {
            const float *dr = d + (size_t)b * ohw * rows + r;
            float *yr = y + ((size_t)b * rows + r) * ohw;
            if (a_scale)
                for (size_t i = 0; i < ohw; i++) yr[i] = dr[i * rows] * a_scale[r] + a_shift[r];
            else if (a_shift)
                for (size_t i = 0; i < ohw; i++) yr[i] = dr[i * rows] + a_shift[r];
            else
                for (size_t i = 0; i < ohw; i++) yr[i] = dr[i * rows];
        }
}
