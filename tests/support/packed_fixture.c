/* The packed model of every format (see packed_fixture.h). */
#include "support/packed_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "methods/input_transforms.h"

nn_model *packed_fixture_float(char *err, size_t errlen)
{

    nn_builder *b = nn_builder_new("packed", (nn_dims){1, 4, 4}, 2);
    int c = nn_add_conv(b, "conv", -1, 2, 3, 1, 1, 0);
    int bn = nn_add_bn(b, "bn", c);
    int e = nn_add_edgebias(b, "conv.fold", bn, 1);
    int bn2 = nn_add_bn(b, "bn2", e);
    int f = nn_add_flatten(b, "flat", bn2);
    int q = nn_add_linear(b, "fcq", f, 8, 1);
    int h = nn_add_linear(b, "fc1", q, 6, 1);
    int t = nn_add_linear(b, "fc2", h, 5, 0);
    int s = nn_add_linear(b, "fc3", t, 5, 1);
    int d = nn_add_linear(b, "fc4", s, 4, 0);
    int l = nn_add_linear(b, "fcl", d, 3, 1);
    nn_add_linear(b, "fc5", l, 2, 1);
    nn_model *m = nn_builder_finish(b, err, errlen);
    if (!m) return NULL;
    nn_node *n = m->nodes;
    for (size_t i = 0; i < n[c].nw; i++) n[c].w[i] = (i % 3 ? 0.5f : -0.5f) * (i < n[c].nw / 2 ? 1 : 2);
    for (int k = 0; k < 2; k++) {
        n[bn].w[k] = 1.5f - k; n[bn].b[k] = 0.25f; n[bn].run_mean[k] = 0.1f; n[bn].run_var[k] = 2.0f;
        n[bn2].w[k] = 1; n[bn2].b[k] = -0.5f; n[bn2].run_mean[k] = 0; n[bn2].run_var[k] = 1;
    }
    for (size_t i = 0; i < n[e].nb; i++) n[e].b[i] = 0.125f * (float)(i % 5);
    for (size_t i = 0; i < n[h].nw; i++) n[h].w[i] = i % 4 ? 0.25f : i % 8 ? -2.0f : 0.0f;
    for (size_t i = 0; i < n[t].nw; i++) n[t].w[i] = i % 3 == 0 ? 0.75f : i % 3 == 1 ? -0.5f : 0.0f;
    uint8_t *mask = nn_node_mask(m, &n[s]), *dmask = nn_node_mask(m, &n[d]);
    for (size_t i = 0; i < n[s].nw; i++) { mask[i] = i % 4 == 0; n[s].w[i] = 0.1f * (float)i; }
    for (size_t i = 0; i < n[d].nw; i++) { dmask[i] = i % 3 != 2; n[d].w[i] = i % 2 ? 0.5f : -0.25f; }
    static const float levels[4] = { -0.75f, -0.25f, 0.25f, 1.25f };   /* 2-bit, uneven: 0.25 x {-3, -1, 1, 5} */
    for (size_t i = 0; i < n[l].nw; i++) n[l].w[i] = levels[(i * 7 + 1) % 4];
    for (size_t i = 0; i < n[l + 1].nw; i++) n[l + 1].w[i] = 0.01f * (float)i;
    for (int r = 0; r < 8; r++)   /* int8 per row: q in [-127, 127], the row's top is 127 */
        for (int k = 0; k < 32; k++)
            n[q].w[r * 32 + k] = 0.01f * (float)(r + 1) * (float)(k == 0 ? 127 : (r * 37 + k * 11) % 255 - 127);
    for (int r = 0; r < 8; r++) n[q].b[r] = 0.05f * (float)(r - 3);
    static const float none[NN_XT_ARGS] = {0}, grid[NN_XT_ARGS] = {4, 6}, u8[NN_XT_ARGS] = {8, -1.5f, 2.0f},
                       lsq[NN_XT_ARGS] = {3, 0.125f};
    if (mt_xt_install(&n[c], MT_XT_SIGN_MEAN, none, err, errlen) != 0 ||
        mt_xt_install(&n[h], MT_XT_FIXED_POINT, grid, err, errlen) != 0 ||
        mt_xt_install(&n[q], MT_XT_UNIFORM, u8, err, errlen) != 0 ||
        mt_xt_install(&n[l], MT_XT_LSQ, lsq, err, errlen) != 0) {
        nn_model_free(m);
        return NULL;
    }
    n[c].wform = (nn_wform){ .kind = NN_WFORM_BINARY };
    n[h].wform = (nn_wform){ .kind = NN_WFORM_POW2, .e_min = -3, .e_max = 1 };
    n[t].wform = (nn_wform){ .kind = NN_WFORM_TERNARY, .wp = 0.75f, .wn = 0.5f };
    n[d].wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = 2, .index_bits = 2 };
    n[l].wform = (nn_wform){ .kind = NN_WFORM_CODEBOOK, .bits = 2 };
    n[l + 1].kernel = NN_KERNEL_ADDER;
    return m;
}

int packed_fixture_model(rt_model *rt, char *err, size_t errlen)
{
    nn_model *m = packed_fixture_float(err, errlen);
    return m ? rt_from_model(rt, m, 1, err, errlen) : -1;
}
