/* Internal to deploy/: INT8's kernel plan, shared by its GEMM (gemm_int8.c, oneDNN's int8
 * matmul) and its convolution (conv_int8.c, oneDNN's int8 convolution). Built by
 * dp_int8_prepare, released by dp_int8_release; primitives are built on first use per shape
 * and kept, INT8_PLANS of each kind per matrix (the oldest is replaced). */
#ifndef DP_INT8_PLAN_H
#define DP_INT8_PLAN_H
#include <dnnl.h>
#include "deploy/kernels.h"

enum { INT8_PLANS = 4 };

typedef struct {
    int n;                          /* 0 = empty */
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, zp;
} int8_slot;

typedef struct {
    dp_conv_shape s;                /* s.n = 0: empty */
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, zp;   /* src (u8 NHWC), wei (oneDNN's layout), dst (f32 NHWC): owned buffers */
    char impl[64];                  /* the implementation oneDNN chose */
} int8_conv_slot;

typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int32_t zero;                   /* the source zero point, as oneDNN reads it */
    float *out_scale;               /* rows: fl(scale[r] x_scale) */
    int8_slot slot[INT8_PLANS];
    int next;                       /* the slot a new n replaces */
    int8_conv_slot conv[INT8_PLANS];
    int conv_next;
} int8_plan;

/* 1 when oneDNN's u8 x s8 sums are exact on this CPU (gemm_int8.c says why it matters). */
int dp_int8_onednn_exact(void);
void dp_int8_conv_slot_free(int8_conv_slot *s);
/* What the matmul and the convolution share (gemm_int8.c): the source zero point's descriptor
 * (one s32, given at run time) and an attribute with p's per-row output scales and that zero
 * point. 1 done; 0 failed (*attr, if created, is the caller's to destroy). */
int dp_int8_attr(const int8_plan *p, int rows, dnnl_memory_desc_t *zp, dnnl_primitive_attr_t *attr);
/* u[i] = dp_int8_level(h, x[i]) for i < n, at ex's instruction-set level (conv_int8.c). */
typedef void (*dp_int8_levels_fn)(const dp_head_int8 *h, const float *x, size_t n, uint8_t *u);
dp_int8_levels_fn dp_int8_levels_at(const dp_exec *ex);

#endif
