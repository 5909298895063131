/* The architecture table: one row per network. A new architecture is one builder function
 * and one row. Builders chain adds without checking: the builder's first error sticks and
 * nn_builder_finish reports it. Inputs are any c x h x w; the class count comes from the data. */
#include "nn/model.h"
#include <stdio.h>
#include <string.h>

/* Layer naming: kind stem + running count ("conv1", "bn2", "pool1", "fc3"). */
typedef struct {
    nn_builder *b;
    int n_conv, n_fc, n_bn, n_relu, n_pool;
    char name[NN_NAME_MAX];
} net;

static const char *next_name(net *t, const char *stem, int *count)
{
    snprintf(t->name, sizeof t->name, "%s%d", stem, ++*count);
    return t->name;
}

static int conv(net *t, int in, int c, int k, int pad, int bias)
{
    return nn_add_conv(t->b, next_name(t, "conv", &t->n_conv), in, c, k, 1, pad, bias);
}
static int fc(net *t, int in, int out, int bias)
{
    return nn_add_linear(t->b, next_name(t, "fc", &t->n_fc), in, out, bias);
}
static int bn(net *t, int in) { return nn_add_bn(t->b, next_name(t, "bn", &t->n_bn), in); }
static int relu(net *t, int in) { return nn_add_relu(t->b, next_name(t, "relu", &t->n_relu), in); }
static int pool2(net *t, int in) { return nn_add_maxpool(t->b, next_name(t, "pool", &t->n_pool), in, 2, 2); }
static int flatten(net *t, int in) { return nn_add_flatten(t->b, "flatten", in); }

/* conv (no bias: BN's beta takes its place) -> bn -> relu */
static int conv_bn_relu(net *t, int in, int c, int k, int pad)
{
    return relu(t, bn(t, conv(t, in, c, k, pad, 0)));
}

static void lenet300(net *t, int n_classes, int arg)
{
    (void)arg;
    int x = flatten(t, -1);
    x = relu(t, fc(t, x, 300, 1));
    x = relu(t, fc(t, x, 100, 1));
    fc(t, x, n_classes, 1);
}

/* Caffe's LeNet: no nonlinearity after the convolutions. */
static void lenet5(net *t, int n_classes, int arg)
{
    (void)arg;
    int x = pool2(t, conv(t, -1, 20, 5, 0, 1));
    x = pool2(t, conv(t, x, 50, 5, 0, 1));
    x = relu(t, fc(t, flatten(t, x), 500, 1));
    fc(t, x, n_classes, 1);
}

static void lenet5_bn(net *t, int n_classes, int arg)
{
    (void)arg;
    int x = pool2(t, conv_bn_relu(t, -1, 20, 5, 0));
    x = pool2(t, conv_bn_relu(t, x, 50, 5, 0));
    x = relu(t, bn(t, fc(t, flatten(t, x), 500, 0)));
    fc(t, x, n_classes, 1);
}

/* XNOR-Net's block order: BN right before every layer the method binarizes (all but the
 * first and last), so the binarized input is centred. */
static void lenet5_xnor(net *t, int n_classes, int arg)
{
    (void)arg;
    int x = pool2(t, conv_bn_relu(t, -1, 20, 5, 0));
    x = pool2(t, relu(t, conv(t, bn(t, x), 50, 5, 0, 1)));
    x = relu(t, fc(t, bn(t, flatten(t, x)), 500, 1));
    fc(t, x, n_classes, 1);
}

/* Lottery Ticket conv-2/4/6: arg pairs of 3x3 convs (64, 128, 256 channels), each pair
 * followed by 2x2 max pooling, then fc256-fc256-fc. */
static void conv_lt(net *t, int n_classes, int pairs)
{
    int x = -1;
    for (int p = 0; p < pairs; p++) {
        int c = 64 << p;
        x = relu(t, conv(t, x, c, 3, 1, 1));
        x = pool2(t, relu(t, conv(t, x, c, 3, 1, 1)));
    }
    x = relu(t, fc(t, flatten(t, x), 256, 1));
    x = relu(t, fc(t, x, 256, 1));
    fc(t, x, n_classes, 1);
}

/* He et al. 2016 CIFAR ResNet-(6n+2): arg = n basic blocks per stage. Projection shortcut
 * (1x1 conv + bn) where the shape changes. */
static int basic_block(net *t, int in, int in_c, int c, int stride, const char *p)
{
    char nm[64];                /* longer than any name; the builder rejects overlong ones */
    nn_builder *b = t->b;
#define NM(suffix) (snprintf(nm, sizeof nm, "%s.%s", p, suffix), nm)
    int x = nn_add_conv(b, NM("conv1"), in, c, 3, stride, 1, 0);
    x = nn_add_relu(b, NM("relu1"), nn_add_bn(b, NM("bn1"), x));
    x = nn_add_bn(b, NM("bn2"), nn_add_conv(b, NM("conv2"), x, c, 3, 1, 1, 0));
    int sc = in;
    if (stride != 1 || in_c != c)
        sc = nn_add_bn(b, NM("short.bn"), nn_add_conv(b, NM("short.conv"), in, c, 1, stride, 0, 0));
    x = nn_add_add(b, NM("add"), x, sc);
    return nn_add_relu(b, NM("relu2"), x);
#undef NM
}

static void resnet(net *t, int n_classes, int blocks)
{
    int x = conv_bn_relu(t, -1, 16, 3, 1), in_c = 16;
    for (int s = 1; s <= 3; s++) {
        int c = 16 << (s - 1);
        for (int j = 1; j <= blocks; j++) {
            char p[16];
            snprintf(p, sizeof p, "s%db%d", s % 100, j % 100);
            x = basic_block(t, x, in_c, c, s > 1 && j == 1 ? 2 : 1, p);
            in_c = c;
        }
    }
    x = nn_add_gap(t->b, "gap", x);
    nn_add_linear(t->b, "fc", x, n_classes, 1);
}

/* ResNet-20 in binary-ResNet block order for XNOR-Net: BN right before every conv the method
 * binarizes (a centred input; a ReLU output would binarize to all +1), ReLU after conv1 and
 * after the residual add; projection shortcut bn -> 1x1 conv. Stem conv and fc as in resnet. */
static int xnor_block(net *t, int in, int in_c, int c, int stride, const char *p)
{
    char nm[64];
    nn_builder *b = t->b;
#define NM(suffix) (snprintf(nm, sizeof nm, "%s.%s", p, suffix), nm)
    int x = nn_add_bn(b, NM("bn1"), in);
    x = nn_add_relu(b, NM("relu1"), nn_add_conv(b, NM("conv1"), x, c, 3, stride, 1, 0));
    x = nn_add_bn(b, NM("bn2"), x);
    x = nn_add_conv(b, NM("conv2"), x, c, 3, 1, 1, 0);
    int sc = in;
    if (stride != 1 || in_c != c) {
        sc = nn_add_bn(b, NM("short.bn"), in);
        sc = nn_add_conv(b, NM("short.conv"), sc, c, 1, stride, 0, 0);
    }
    x = nn_add_add(b, NM("add"), x, sc);
    return nn_add_relu(b, NM("relu2"), x);
#undef NM
}

static void resnet_xnor(net *t, int n_classes, int blocks)
{
    int x = conv_bn_relu(t, -1, 16, 3, 1), in_c = 16;
    for (int s = 1; s <= 3; s++)
        for (int j = 1; j <= blocks; j++) {
            char p[16];
            snprintf(p, sizeof p, "s%db%d", s % 100, j % 100);
            x = xnor_block(t, x, in_c, 16 << (s - 1), s > 1 && j == 1 ? 2 : 1, p);
            in_c = 16 << (s - 1);
        }
    nn_add_linear(t->b, "fc", nn_add_gap(t->b, "gap", x), n_classes, 1);
}

/* AdderNet's VGG-small. */
static void vgg_small(net *t, int n_classes, int arg)
{
    (void)arg;
    int x = -1;
    for (int c = 128; c <= 512; c *= 2) {
        x = conv_bn_relu(t, x, c, 3, 1);
        x = pool2(t, conv_bn_relu(t, x, c, 3, 1));
    }
    fc(t, flatten(t, x), n_classes, 1);
}

typedef struct {
    const char *name, *help;
    void (*build)(net *, int n_classes, int arg);
    int arg;
} arch_row;

static const arch_row arch_table[] = {
    { "lenet300", "MLP 300-100 with ReLU (784-300-100-10 on MNIST)", lenet300, 0 },
    { "lenet5", "Caffe LeNet-5: conv20k5-pool-conv50k5-pool-fc500-relu-fc", lenet5, 0 },
    { "lenet5-bn", "LeNet-5 with BN+ReLU after every conv and fc500 (AdderNet)", lenet5_bn, 0 },
    { "lenet5-xnor", "LeNet-5 in XNOR-Net block order (BN before each binarized layer)", lenet5_xnor, 0 },
    { "conv2", "Lottery Ticket conv-2: 64,64,pool, fc256-fc256-fc", conv_lt, 1 },
    { "conv4", "Lottery Ticket conv-4: conv-2 + 128,128,pool", conv_lt, 2 },
    { "conv6", "Lottery Ticket conv-6: conv-4 + 256,256,pool", conv_lt, 3 },
    { "resnet20", "CIFAR ResNet-20 (3 stages x 3 basic blocks, 16/32/64 ch)", resnet, 3 },
    { "resnet20-xnor", "ResNet-20 in XNOR-Net block order (BN before each binarized conv)", resnet_xnor, 3 },
    { "resnet32", "CIFAR ResNet-32 (3 stages x 5 basic blocks)", resnet, 5 },
    { "resnet56", "CIFAR ResNet-56 (3 stages x 9 basic blocks)", resnet, 9 },
    { "vgg-small", "AdderNet VGG-small: [conv-bn-relu]x2-pool at 128/256/512 ch, fc", vgg_small, 0 },
};
enum { ARCH_COUNT = sizeof arch_table / sizeof arch_table[0] };

int nn_arch_count(void) { return ARCH_COUNT; }
const char *nn_arch_name(int i) { return i >= 0 && i < ARCH_COUNT ? arch_table[i].name : NULL; }
const char *nn_arch_help(int i) { return i >= 0 && i < ARCH_COUNT ? arch_table[i].help : NULL; }

nn_model *nn_model_create(const char *arch, nn_dims in, int n_classes, char *err, size_t errlen)
{
    return nn_model_create_capped(arch, in, n_classes, 0, err, errlen);
}

nn_model *nn_model_create_capped(const char *arch, nn_dims in, int n_classes, size_t max_params, char *err,
                                 size_t errlen)
{
    for (int i = 0; i < ARCH_COUNT; i++) {
        if (strcmp(arch, arch_table[i].name)) continue;
        net t = { .b = nn_builder_new(arch, in, n_classes) };
        if (!t.b) { snprintf(err, errlen, "%s: out of memory", arch); return NULL; }
        nn_builder_cap(t.b, max_params);
        arch_table[i].build(&t, n_classes, arch_table[i].arg);
        char e[NN_ERR_MAX] = "";
        nn_model *m = nn_builder_finish(t.b, e, sizeof e);
        if (!m) snprintf(err, errlen, "%s on %dx%dx%d input: %s", arch, in.c, in.h, in.w, e);
        return m;
    }
    int k = snprintf(err, errlen, "unknown architecture '%s'; known:", arch);
    for (int i = 0; i < ARCH_COUNT && k >= 0 && (size_t)k < errlen; i++)
        k += snprintf(err + k, errlen - (size_t)k, " %s", arch_table[i].name);
    return NULL;
}
