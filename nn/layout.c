/* Which activations live in the channel-blocked layout.
 *
 * oneDNN's convolutions compute in (N, C/B, H, W, B) layouts (B = 16 on AVX-512, 8 on AVX2);
 * handing them NCHW costs a reorder of every input, output and gradient (a quarter of the
 * convolution time on ResNet-20, docs/PERFORMANCE.md). Batch norm, ReLU and the residual add
 * are per-channel or element-wise and global average pooling reduces over space, so a chain
 * conv -> bn -> relu -> add -> ... -> gap can stay blocked from the first convolution's output
 * to the pooling. A node's output is blocked when
 *   - its kind can write it: a oneDNN convolution (any input layout), or a layout-preserving
 *     kind (bn, relu, add) whose inputs are all blocked;
 *   - its channels are a multiple of B (no padding lanes to keep at zero);
 *   - every reader can take it: a oneDNN convolution without an input transform, global
 *     average pooling, or a blocked layout-preserving node;
 *   - it is not the model's output, and the model is not inspectable.
 * The rules only ever remove candidates, so the loop below reaches a fixed point. Layouts are
 * re-decided when what they depend on changes (a method switching a kernel or attaching an
 * input transform), which the signature detects at every forward. */
#include <string.h>
#include "nn/layer_kinds.h"
#include "nn/model_priv.h"

int nn_layout_block(void)
{
    static int block;       /* a property of the CPU: computed once, never changes */
    if (!block) block = __builtin_cpu_supports("avx512f") ? 16 : 8;
    return block;
}

static int preserving(nn_kind k) { return k == NN_BATCHNORM || k == NN_RELU || k == NN_ADD; }

static int reads_blocked(const nn_model *m, const nn_node *c, int blocked_c)
{
    if (c->kind == NN_CONV) return nn_conv_onednn_eligible(m, c) && !c->xt;
    if (c->kind == NN_GAP) return 1;
    return preserving(c->kind) && blocked_c;
}

static uint64_t signature(const nn_model *m)
{
    const nn_model_priv *p = (const nn_model_priv *)m;
    uint64_t h = 1469598103934665603ull;
    #define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
    MIX(p->inspectable); MIX(p->conv_gemm_only); MIX(m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->kind == NN_CONV) { MIX(i); MIX(n->kernel); MIX(n->xt != NULL); }
    }
    #undef MIX
    return h;
}

static void decide(nn_model *m)
{
    const int B = nn_layout_block(), last = m->n_nodes - 1;
    const nn_model_priv *p = (const nn_model_priv *)m;
    uint8_t blk[NN_MAX_NODES];
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int can = n->kind == NN_CONV ? nn_conv_onednn_eligible(m, n) : preserving(n->kind);
        blk[i] = can && !p->inspectable && i != last && n->out_dims.c % B == 0;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < m->n_nodes; i++) {
            if (!blk[i]) continue;
            const nn_node *n = &m->nodes[i];
            int ok = 1;
            if (preserving(n->kind))
                for (int j = 0; j < n->n_in; j++) ok &= n->in[j] >= 0 && blk[n->in[j]];
            for (int k = i + 1; k < m->n_nodes && ok; k++)
                for (int j = 0; j < m->nodes[k].n_in; j++)
                    if (m->nodes[k].in[j] == i && !reads_blocked(m, &m->nodes[k], blk[k])) ok = 0;
            if (!ok) { blk[i] = 0; changed = 1; }
        }
    }
    for (int i = 0; i < m->n_nodes; i++)
        m->nodes[i].layout = blk[i] ? NN_LAYOUT_BLOCKED : NN_LAYOUT_PLAIN;
}

void nn_layouts_update(nn_model *m)
{
    nn_model_priv *p = nn_priv(m);
    uint64_t sig = signature(m);
    if (sig == p->layout_sig && p->layout_gen) return;
    decide(m);
    p->layout_sig = sig;
    p->layout_gen++;
}

int nn_input_layout(const nn_model *m, const nn_node *n, int j)
{
    return n->in[j] < 0 ? NN_LAYOUT_PLAIN : m->nodes[n->in[j]].layout;
}
