// The register-tiled AdderNet kernels of nn/adder.c (conv and linear; forward, dW, dX, db)
// against the scalar double-precision references of nn/kernels_ref.c, on random shapes with odd
// sizes, pixel and filter tails, padding, stride 2 and 1x1, batches across the sample chunk,
// 1 and 2 threads, with pre-filled gradients so the += contract is checked too.
//
// Tolerance: |fast - reference| <= kRel * M per element, M = the sum of the magnitudes of the
// terms that element adds up (plus the pre-filled value), computed exactly from the
// multiply-accumulate references on absolute values:
//   forward  M = sum |x - w| + |b|           (every term has the same sign: |y - b| + |b|)
//   dW       M <= sum (|x| + |w|) |dy| + |gw0| = MAC dW(|x|, |dy|) + |w| MAC db(|dy|) + |gw0|
//   dX       M <= sum |dy|  (|HT| <= 1)         = MAC dX(w = 1, |dy|) + |dx0|
// kRel = 1e-5 is about 80 float roundings: far below any real indexing or accumulation bug
// (which moves an element by a whole term), above the rounding of sums of up to a few
// hundred terms in a different order (dW goes through a GEMM: sum x dy - w sum dy).
extern "C" {
#include "support/layer_fixture.h"
#include "nn/kernels_ref.h"
}
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

const double kRel = 1e-5;

nn_node adder_node(nn_kind kind, int out_c, int k, int stride, int pad, int bias)
{
    nn_node t;
    std::memset(&t, 0, sizeof t);
    t.kind = kind;
    std::strcpy(t.name, "adder");
    t.out_c = out_c; t.k = k; t.stride = stride; t.pad = pad; t.has_bias = bias;
    t.kernel = NN_KERNEL_ADDER;
    return t;
}

std::vector<float> absv(const float *v, size_t n)
{
    std::vector<float> a(n);
    for (size_t i = 0; i < n; i++) a[i] = std::fabs(v[i]);
    return a;
}

void expect_within(const float *fast, const std::vector<float> &ref, const std::vector<double> &mag,
                   const char *what)
{
    int bad = 0;
    for (size_t i = 0; i < ref.size() && bad < 5; i++)
        if (!(std::fabs((double)fast[i] - ref[i]) <= kRel * mag[i])) {
            bad++;
            ADD_FAILURE() << what << "[" << i << "]: fast " << fast[i] << " reference " << ref[i]
                          << " magnitude " << mag[i];
        }
}

// Pre-fills gradients, runs the layer's forward and backward, then the references.
// conv: the conv shape, or NULL for a linear node.
void check(lf_layer *L, const nn_ref_conv *conv)
{
    nn_node *n = L->n;
    const size_t nx = L->in_len, ny = L->out_len, nw = n->nw, no = (size_t)n->out_c;
    lf_rng r = lf_rng_make(5);
    lf_fill(&r, n->dout, ny, -1.0f, 1.0f);
    std::vector<float> gw0(nw), gb0(no), dx0(nx);
    lf_fill(&r, gw0.data(), nw, -1.0f, 1.0f);
    lf_fill(&r, gb0.data(), no, -1.0f, 1.0f);
    lf_fill(&r, dx0.data(), nx, -1.0f, 1.0f);

    lf_forward(L, 1);
    std::memcpy(n->gw, gw0.data(), nw * sizeof(float));
    if (n->nb) std::memcpy(n->gb, gb0.data(), no * sizeof(float));
    std::memcpy(L->dx0, dx0.data(), nx * sizeof(float));
    nn_layer_table[n->kind].backward(L->m, n, L->x0, NULL, L->dx0, NULL, L->batch);

    const float *b = n->nb ? n->b : NULL;
    std::vector<float> y(ny), gw = gw0, gb = gb0, dx = dx0;
    std::vector<float> ax = absv(L->x0, nx), ady = absv(n->dout, ny), ones(nw, 1.0f);
    std::vector<float> mdw(nw, 0.0f), mdb(no, 0.0f), mdx(nx, 0.0f), sink(nw, 0.0f);
    const int in = (int)nn_dims_size(n->in_dims);
    if (conv) {
        nn_ref_conv mac = *conv;
        mac.kernel = NN_KERNEL_MAC;
        nn_ref_conv_forward(conv, L->x0, n->w, b, y.data());
        nn_ref_conv_backward(conv, L->x0, n->w, n->dout, dx.data(), gw.data(), n->nb ? gb.data() : NULL);
        nn_ref_conv_backward(&mac, ax.data(), n->w, ady.data(), NULL, mdw.data(), mdb.data());
        nn_ref_conv_backward(&mac, ax.data(), ones.data(), ady.data(), mdx.data(), sink.data(), NULL);
    } else {
        const int B = L->batch, O = n->out_c;
        nn_ref_linear_forward(B, in, O, NN_KERNEL_ADDER, L->x0, n->w, b, y.data());
        nn_ref_linear_backward(B, in, O, NN_KERNEL_ADDER, L->x0, n->w, n->dout, dx.data(), gw.data(),
                               n->nb ? gb.data() : NULL);
        nn_ref_linear_backward(B, in, O, NN_KERNEL_MAC, ax.data(), n->w, ady.data(), NULL, mdw.data(), mdb.data());
        nn_ref_linear_backward(B, in, O, NN_KERNEL_MAC, ax.data(), ones.data(), ady.data(), mdx.data(),
                               sink.data(), NULL);
    }

    std::vector<double> my(ny), mw(nw), mb(no), mx(nx);
    const size_t per_o = ny / ((size_t)L->batch * no);   // output pixels per filter
    for (size_t i = 0; i < ny; i++) {
        const double bo = b ? b[(i / per_o) % no] : 0.0;
        my[i] = std::fabs(y[i] - bo) + std::fabs(bo);
    }
    const size_t per_w = nw / no;
    for (size_t i = 0; i < nw; i++)
        mw[i] = mdw[i] + std::fabs(n->w[i]) * (double)mdb[i / per_w] + std::fabs(gw0[i]);
    for (size_t o = 0; o < no; o++) mb[o] = mdb[o] + std::fabs(gb0[o]);
    for (size_t i = 0; i < nx; i++) mx[i] = mdx[i] + std::fabs(dx0[i]);

    expect_within(n->out, y, my, "forward");
    expect_within(n->gw, gw, mw, "dW");
    if (n->nb) expect_within(n->gb, gb, mb, "db");
    expect_within(L->dx0, dx, mx, "dX");
}

struct ConvShape { int c, h, w, o, k, s, p, bias; };

// Fixed cases for the paths that must be hit, then random ones.
const ConvShape kFixed[] = {
    { 3, 9, 9, 17, 3, 1, 1, 1 },   // 81 pixels: two full tiles and a tail; 17 filters: filter tail
    { 5, 11, 7, 9, 3, 2, 1, 0 },   // stride 2, odd plane
    { 7, 6, 6, 10, 1, 1, 0, 1 },   // 1x1 stride 1: columns are the input itself (dX added in place)
    { 6, 9, 9, 5, 1, 2, 0, 0 },    // 1x1 stride 2
    { 2, 8, 8, 3, 5, 1, 2, 1 },    // 5x5, pad 2
    { 4, 12, 12, 16, 3, 1, 0, 0 }, // no padding, 100 pixels
    { 16, 8, 8, 16, 3, 1, 1, 0 },  // a ResNet-20 stage-3 like shape (64 pixels: whole tiles)
};

void conv_case(const ConvShape &c, int batch, int threads)
{
    SCOPED_TRACE(testing::Message() << "c" << c.c << " " << c.h << "x" << c.w << " o" << c.o << " k"
                 << c.k << " s" << c.s << " p" << c.p << " bias " << c.bias << " batch " << batch
                 << " threads " << threads);
    lf_layer L;
    char err[256] = "";
    nn_node t = adder_node(NN_CONV, c.o, c.k, c.s, c.p, c.bias);
    ASSERT_EQ(lf_init(&L, &t, { c.c, c.h, c.w }, batch, threads, 41, err, sizeof err), 0) << err;
    nn_ref_conv shape = { batch, c.c, c.h, c.w, c.o, c.k, c.s, c.p, NN_KERNEL_ADDER };
    check(&L, &shape);
    lf_free(&L);
}

TEST(AdderFast, ConvFixedShapesMatchReference)
{
    for (const ConvShape &c : kFixed)
        for (int batch : { 1, 9 })          // 9: two sample chunks, the second of one sample
            for (int threads : { 1, 2 }) conv_case(c, batch, threads);
}

TEST(AdderFast, ConvRandomShapesMatchReference)
{
    lf_rng r = lf_rng_make(2024);
    auto pick = [&r](int lo, int hi) { return lo + (int)lf_uniform(&r, 0.0f, (float)(hi - lo + 1) - 1e-3f); };
    for (int i = 0; i < 24; i++) {
        ConvShape c;
        c.k = pick(0, 2) == 0 ? 1 : pick(0, 3) == 0 ? 5 : 3;
        c.s = pick(1, 2);
        c.p = c.k == 1 ? 0 : pick(0, c.k / 2);
        c.c = pick(1, 9);
        c.h = pick(c.k, 14);
        c.w = pick(c.k, 14);
        c.o = pick(1, 21);
        c.bias = pick(0, 1);
        conv_case(c, pick(1, 10), pick(1, 2));
    }
}

TEST(AdderFast, LinearMatchesReference)
{
    // in-features: below one vector, a vector and a tail, whole tiles and a tail
    for (nn_dims in : { nn_dims{ 3, 1, 1 }, nn_dims{ 5, 2, 2 }, nn_dims{ 3, 5, 7 }, nn_dims{ 64, 1, 1 } })
        for (int batch : { 1, 7 })
            for (int threads : { 1, 2 }) {
                SCOPED_TRACE(testing::Message() << "in " << in.c * in.h * in.w << " batch " << batch
                             << " threads " << threads);
                lf_layer L;
                char err[256] = "";
                nn_node t = adder_node(NN_LINEAR, 11, 0, 1, 0, batch == 7);
                ASSERT_EQ(lf_init(&L, &t, in, batch, threads, 43, err, sizeof err), 0) << err;
                check(&L, NULL);
                lf_free(&L);
            }
}

}  // namespace
