// Every layer kind's backward against central finite differences of the scalar loss
// sum(out * R) (R random), for dW, db and dx. The AdderNet kernel's gradients are not the
// derivatives of its forward by design, so they are checked against the paper's formulas, and
// its forward against a brute-force negative L1 distance.
extern "C" {
#include "support/layer_fixture.h"
#include "nn/layer.h"
}
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

namespace {

nn_node make(nn_kind kind)
{
    nn_node t;
    std::memset(&t, 0, sizeof t);
    t.kind = kind;
    t.stride = 1;
    std::strcpy(t.name, "probe");
    return t;
}

struct Layer {
    lf_layer L;
    Layer(const nn_node &t, nn_dims in, int batch, uint64_t seed = 7, int threads = 2)
    {
        char err[256] = "";
        EXPECT_EQ(lf_init(&L, &t, in, batch, threads, seed, err, sizeof err), 0) << err;
    }
    ~Layer() { lf_free(&L); }
};

double loss(lf_layer *L, const std::vector<float> &R, int train)
{
    lf_forward(L, train);
    double s = 0.0;
    for (size_t i = 0; i < L->out_len; i++) s += (double)L->n->out[i] * R[i];
    return s;
}

std::vector<float> random_r(size_t n, uint64_t seed)
{
    lf_rng r = lf_rng_make(seed);
    std::vector<float> v(n);
    lf_fill(&r, v.data(), n, -1.0f, 1.0f);
    return v;
}

// Central differences of loss w.r.t. each entry of v, against analytic gradient g.
void compare(lf_layer *L, const std::vector<float> &R, int train, float *v, const float *g,
             size_t n, const char *what, double eps)
{
    const double rtol = 1e-2, atol = 2e-3;
    int bad = 0;
    for (size_t i = 0; i < n && bad < 5; i++) {
        const float keep = v[i];
        v[i] = keep + (float)eps;
        double lp = loss(L, R, train);
        v[i] = keep - (float)eps;
        double lm = loss(L, R, train);
        v[i] = keep;
        double num = (lp - lm) / (2.0 * eps), ana = g[i];
        double tol = atol + rtol * std::max(std::fabs(num), std::fabs(ana));
        if (std::fabs(num - ana) > tol) {
            bad++;
            ADD_FAILURE() << what << "[" << i << "]: analytic " << ana << " vs numeric " << num;
        }
    }
}

// Runs backward with dout = R, then checks dW, db, dx0 (and dx1) by finite differences.
void gradcheck(lf_layer *L, int train = 1, double eps = 1e-3, bool check_w = true)
{
    std::vector<float> R = random_r(L->out_len, 99);
    lf_forward(L, train);
    std::memcpy(L->n->dout, R.data(), L->out_len * sizeof(float));
    lf_backward(L);
    nn_node *n = L->n;
    std::vector<float> gw(n->gw, n->gw + n->nw), gb(n->gb, n->gb + n->nb);
    std::vector<float> dx0(L->dx0, L->dx0 + L->in_len), dx1;
    if (L->dx1) dx1.assign(L->dx1, L->dx1 + L->in_len);
    if (check_w) {
        compare(L, R, train, n->w, gw.data(), n->nw, "dW", eps);
        compare(L, R, train, n->b, gb.data(), n->nb, "db", eps);
    }
    compare(L, R, train, L->x0, dx0.data(), L->in_len, "dx0", eps);
    if (L->x1) compare(L, R, train, L->x1, dx1.data(), L->in_len, "dx1", eps);
}

// Inputs as a shuffled ladder of distinct values 0.01 apart: no ties within eps (max pool).
void distinct_inputs(lf_layer *L)
{
    std::vector<size_t> idx(L->in_len);
    std::iota(idx.begin(), idx.end(), 0);
    lf_rng r = lf_rng_make(5);
    for (size_t i = idx.size(); i > 1; i--) std::swap(idx[i - 1], idx[(size_t)lf_uniform(&r, 0, (float)i) % i]);
    for (size_t i = 0; i < L->in_len; i++) L->x0[idx[i]] = 0.01f * (float)i - 1.0f;
}

// Keeps inputs at least `gap` away from each kink (ReLU at 0, hard-tanh at +-clip).
void away_from(lf_layer *L, std::initializer_list<float> kinks, float gap)
{
    for (size_t i = 0; i < L->in_len; i++)
        for (float k : kinks)
            if (std::fabs(L->x0[i] - k) < gap) L->x0[i] = k + (L->x0[i] >= k ? gap : -gap);
}

nn_node conv(int out_c, int k, int stride, int pad, int bias, nn_kernel kernel = NN_KERNEL_MAC)
{
    nn_node t = make(NN_CONV);
    t.out_c = out_c; t.k = k; t.stride = stride; t.pad = pad; t.has_bias = bias; t.kernel = kernel;
    return t;
}

struct ConvCase { int c, h, w, o, k, s, p, bias, batch; };

TEST(Gradcheck, ConvMac)
{
    const ConvCase cases[] = {
        { 3, 7, 6, 4, 3, 1, 1, 1, 2 }, { 2, 7, 7, 3, 3, 2, 0, 1, 2 }, { 2, 6, 5, 3, 3, 2, 2, 0, 2 },
        { 3, 5, 5, 4, 1, 1, 0, 1, 3 }, { 1, 8, 8, 2, 5, 1, 2, 1, 1 }, { 2, 5, 6, 2, 2, 3, 1, 1, 2 },
        { 2, 4, 4, 33, 3, 1, 1, 1, 1 },   /* many filters: ordinary columns, not the wide layout */
    };
    for (const ConvCase &c : cases) {
        SCOPED_TRACE(testing::Message() << "conv c" << c.c << " " << c.h << "x" << c.w << " o" << c.o
                                        << " k" << c.k << " s" << c.s << " p" << c.p);
        Layer l(conv(c.o, c.k, c.s, c.p, c.bias), { c.c, c.h, c.w }, c.batch);
        gradcheck(&l.L);
    }
}

TEST(Gradcheck, Linear)
{
    for (int bias = 0; bias <= 1; bias++) {
        nn_node t = make(NN_LINEAR);
        t.out_c = 5; t.has_bias = bias;
        Layer l(t, { 2, 3, 2 }, 3);
        EXPECT_EQ(l.L.n->nw, 60u);
        gradcheck(&l.L);
    }
}

TEST(Gradcheck, MaxPool)
{
    struct { int k, s, p, h, w; } cases[] = { { 2, 2, 0, 6, 6 }, { 3, 2, 1, 5, 5 }, { 3, 1, 0, 5, 4 } };
    for (auto c : cases) {
        nn_node t = make(NN_MAXPOOL);
        t.k = c.k; t.stride = c.s; t.pad = c.p;
        Layer l(t, { 3, c.h, c.w }, 2);
        distinct_inputs(&l.L);
        gradcheck(&l.L);
    }
}

TEST(Gradcheck, AvgPoolAndGap)
{
    struct { int k, s, p; } cases[] = { { 2, 2, 0 }, { 3, 2, 1 }, { 3, 1, 0 } };
    for (auto c : cases) {
        nn_node t = make(NN_AVGPOOL);
        t.k = c.k; t.stride = c.s; t.pad = c.p;
        Layer l(t, { 2, 5, 6 }, 2);
        gradcheck(&l.L);
    }
    Layer g(make(NN_GAP), { 3, 4, 5 }, 2);
    gradcheck(&g.L);
}

TEST(Gradcheck, BatchNormTrainAndEval)
{
    Layer l(make(NN_BATCHNORM), { 3, 3, 3 }, 4);
    gradcheck(&l.L, 1);
    Layer f(make(NN_BATCHNORM), { 4, 1, 1 }, 5);      /* after a linear layer */
    gradcheck(&f.L, 1);
    Layer e(make(NN_BATCHNORM), { 3, 2, 2 }, 3);
    for (int c = 0; c < 3; c++) { e.L.n->run_mean[c] = 0.1f * c; e.L.n->run_var[c] = 0.5f + c; }
    gradcheck(&e.L, 0);
}

TEST(Gradcheck, Activations)
{
    Layer r(make(NN_RELU), { 2, 3, 4 }, 3);
    away_from(&r.L, { 0.0f }, 0.02f);
    gradcheck(&r.L);
    nn_node t = make(NN_HARDTANH);
    t.clip = 0.5f;
    Layer h(t, { 2, 3, 4 }, 3);
    away_from(&h.L, { -0.5f, 0.5f }, 0.02f);
    gradcheck(&h.L);
}

TEST(Gradcheck, FlattenAndAdd)
{
    Layer f(make(NN_FLATTEN), { 2, 3, 4 }, 2);
    EXPECT_EQ(f.L.n->out_dims.c, 24);
    gradcheck(&f.L);
    nn_node t = make(NN_ADD);
    t.n_in = 2;
    Layer a(t, { 2, 3, 3 }, 2);
    gradcheck(&a.L);
}

// Edge bias: rows/columns within `pad` of the border get their own bias, the rest share one.
TEST(Gradcheck, EdgeBias)
{
    struct { int c, h, w, pad; size_t nb; } cases[] = {
        { 2, 5, 6, 1, 2 * 3 * 3 }, { 2, 4, 3, 2, 2 * 4 * 3 }, { 3, 4, 4, 0, 3 }, { 1, 9, 7, 2, 25 },
    };
    for (const auto &c : cases) {
        nn_node t = make(NN_EDGEBIAS);
        t.pad = c.pad;
        Layer l(t, { c.c, c.h, c.w }, 2);
        ASSERT_EQ(l.L.n->nb, c.nb);
        EXPECT_EQ(l.L.n->nw, 0u);
        gradcheck(&l.L);
    }
    // which bias each pixel gets: 5 rows x 4 columns, band 1 -> 3 x 3 classes
    nn_node t = make(NN_EDGEBIAS);
    t.pad = 1;
    Layer l(t, { 2, 5, 4 }, 1);
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++) l.L.n->b[(c * 3 + r) * 3 + q] = 100.0f * c + 10.0f * r + q;
    std::fill(l.L.x0, l.L.x0 + l.L.in_len, 0.5f);
    lf_forward(&l.L, 0);
    const int row_class[5] = { 0, 1, 1, 1, 2 }, col_class[4] = { 0, 1, 1, 2 };
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 4; x++)
                EXPECT_EQ(l.L.n->out[(c * 5 + y) * 4 + x], 0.5f + 100.0f * c + 10.0f * row_class[y] + col_class[x])
                    << c << " " << y << " " << x;
}

// --- AdderNet ------------------------------------------------------------------------------

float clamp1(float v) { return std::min(1.0f, std::max(-1.0f, v)); }

TEST(Gradcheck, AdderConvFormulas)
{
    const ConvCase cases[] = { { 3, 6, 5, 4, 3, 1, 1, 1, 2 }, { 2, 7, 7, 3, 3, 2, 2, 0, 3 },
                               { 3, 4, 4, 2, 1, 1, 0, 1, 2 } };
    for (const ConvCase &c : cases) {
        SCOPED_TRACE(testing::Message() << "adder k" << c.k << " s" << c.s << " p" << c.p);
        Layer l(conv(c.o, c.k, c.s, c.p, c.bias, NN_KERNEL_ADDER), { c.c, c.h, c.w }, c.batch);
        lf_layer *L = &l.L;
        nn_node *n = L->n;
        const int oh = n->out_dims.h, ow = n->out_dims.w;
        std::vector<float> R = random_r(L->out_len, 3);
        lf_forward(L, 1);
        std::memcpy(n->dout, R.data(), L->out_len * sizeof(float));
        lf_backward(L);
        // Brute force over every (sample, filter, output pixel, patch entry).
        std::vector<double> gw(n->nw, 0.0), dx(L->in_len, 0.0);
        for (int b = 0; b < c.batch; b++)
            for (int o = 0; o < c.o; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double y = n->b ? n->b[o] : 0.0;
                        const double g = R[((size_t)(b * c.o + o) * oh + i) * ow + j];
                        for (int ch = 0; ch < c.c; ch++)
                            for (int ki = 0; ki < c.k; ki++)
                                for (int kj = 0; kj < c.k; kj++) {
                                    int ih = i * c.s - c.p + ki, iw = j * c.s - c.p + kj;
                                    bool in = ih >= 0 && ih < c.h && iw >= 0 && iw < c.w;
                                    size_t xi = in ? ((size_t)(b * c.c + ch) * c.h + ih) * c.w + iw : 0;
                                    size_t wi = ((size_t)(o * c.c + ch) * c.k + ki) * c.k + kj;
                                    float xv = in ? L->x0[xi] : 0.0f, wv = n->w[wi];
                                    y -= std::fabs(xv - wv);
                                    gw[wi] += (xv - wv) * g;
                                    if (in) dx[xi] += clamp1(wv - xv) * g;
                                }
                        EXPECT_NEAR(n->out[((size_t)(b * c.o + o) * oh + i) * ow + j], y, 1e-4);
                    }
        for (size_t q = 0; q < n->nw; q++) EXPECT_NEAR(n->gw[q], gw[q], 1e-4 * (1 + std::fabs(gw[q]))) << q;
        for (size_t q = 0; q < L->in_len; q++) EXPECT_NEAR(L->dx0[q], dx[q], 1e-4 * (1 + std::fabs(dx[q]))) << q;
        // The bias enters linearly, so its gradient is a true derivative.
        if (n->nb) {
            std::vector<float> gb(n->gb, n->gb + n->nb);
            compare(L, R, 1, n->b, gb.data(), n->nb, "adder db", 1e-3);
        }
    }
}

TEST(Gradcheck, AdderLinearFormulas)
{
    nn_node t = make(NN_LINEAR);
    t.out_c = 4; t.has_bias = 1; t.kernel = NN_KERNEL_ADDER;
    Layer l(t, { 11, 1, 1 }, 3);
    lf_layer *L = &l.L;
    nn_node *n = L->n;
    std::vector<float> R = random_r(L->out_len, 4);
    lf_forward(L, 1);
    std::memcpy(n->dout, R.data(), L->out_len * sizeof(float));
    lf_backward(L);
    for (int b = 0; b < 3; b++)
        for (int o = 0; o < 4; o++) {
            double y = n->b[o];
            for (int q = 0; q < 11; q++) y -= std::fabs(L->x0[b * 11 + q] - n->w[o * 11 + q]);
            EXPECT_NEAR(n->out[b * 4 + o], y, 1e-5);
        }
    for (int o = 0; o < 4; o++)
        for (int q = 0; q < 11; q++) {
            double g = 0;
            for (int b = 0; b < 3; b++) g += (L->x0[b * 11 + q] - n->w[o * 11 + q]) * R[b * 4 + o];
            EXPECT_NEAR(n->gw[o * 11 + q], g, 1e-5);
        }
    for (int b = 0; b < 3; b++)
        for (int q = 0; q < 11; q++) {
            double g = 0;
            for (int o = 0; o < 4; o++) g += clamp1(n->w[o * 11 + q] - L->x0[b * 11 + q]) * R[b * 4 + o];
            EXPECT_NEAR(L->dx0[b * 11 + q], g, 1e-5);
        }
    std::vector<float> gb(n->gb, n->gb + n->nb);
    compare(L, R, 1, n->b, gb.data(), n->nb, "adder db", 1e-3);
}

}  // namespace
