/* A convolution's shape, as the int8 convolution (conv_int8.c) and its reference take it. */
#ifndef DP_CONV_SHAPE_H
#define DP_CONV_SHAPE_H

/* A convolution's shape: batch n, input planes c x h x w, a square k x k kernel, one stride,
 * pad zeros on every side. Outputs: the weight matrix's rows (channels) of oh x ow. */
typedef struct dp_conv_shape { int n, c, h, w, k, stride, pad; } dp_conv_shape;
static inline int dp_conv_out(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

#endif
