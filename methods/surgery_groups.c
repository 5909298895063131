/* Which convs may lose output channels, and which must lose the same ones. Every node's output
 * lives in a channel space: a conv or linear layer starts one, channel-wise nodes (bn, relu,
 * pools, flatten, edgebias) pass their input's on, and an addition merges its two operands'.
 * The convs that start a space are one group. */
#include "methods/surgery.h"
#include <assert.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int parent[NN_MAX_NODES + 1];   /* union-find over nodes; index n_nodes = the model input */
    int flat[NN_MAX_NODES];         /* output is (or comes from) a flattened tensor */
} spaces;

static int find(spaces *s, int i)
{
    while (s->parent[i] != i) i = s->parent[i] = s->parent[s->parent[i]];
    return i;
}

static int producer(const nn_model *m, int node, int k)
{
    int in = m->nodes[node].in[k];
    return in < 0 ? m->n_nodes : in;
}

static void build(const nn_model *m, spaces *s)
{
    s->parent[m->n_nodes] = m->n_nodes;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        int in = producer(m, i, 0);
        s->flat[i] = n->kind == NN_FLATTEN || (!nn_is_weighted(n) && in < m->n_nodes && s->flat[in]);
        if (nn_is_weighted(n)) { s->parent[i] = i; continue; }
        s->parent[i] = find(s, in);
        if (n->kind == NN_ADD) {
            int a = find(s, in), b = find(s, producer(m, i, 1));
            if (a != b) s->parent[b] = a;
        }
    }
}

/* Why the space `root` cannot lose channels, or NULL. */
static const char *blocked(const nn_model *m, spaces *s, int root, int conv, char *why, size_t whylen)
{
    const char *name = m->nodes[conv].name;
    if (find(s, m->n_nodes) == root)
        return snprintf(why, whylen, "%s's output is added to the model input", name), why;
    if (find(s, m->n_nodes - 1) == root)
        return snprintf(why, whylen, "%s's channels reach the network output (%s)", name,
                        m->nodes[m->n_nodes - 1].name), why;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (nn_is_weighted(n) && find(s, i) == root) {          /* a source of the space */
            if (n->kind != NN_CONV)
                return snprintf(why, whylen, "an addition ties %s's channels to %s's outputs", name, n->name), why;
            if (n->wt || n->kernel != NN_KERNEL_MAC)
                return snprintf(why, whylen, "%s (tied to %s) carries a weight transform or the adder kernel: "
                                "a zero filter does not silence its channel", n->name, name), why;
        }
        if (n->kind == NN_ADD && find(s, i) == root)
            for (int k = 0; k < 2; k++)
                if (n->in[k] >= 0 && s->flat[n->in[k]])
                    return snprintf(why, whylen, "%s's channels are flattened before addition %s", name, n->name), why;
        if (nn_is_weighted(n) && find(s, producer(m, i, 0)) == root &&
            (n->wt || n->xt || n->kernel != NN_KERNEL_MAC))
            return snprintf(why, whylen, "%s's consumer %s carries a transform or the adder kernel", name, n->name), why;
    }
    return NULL;
}

int mt_surgery_group(const nn_model *m, int conv, mt_channel_group *g, char *why, size_t whylen)
{
    assert(conv >= 0 && conv < m->n_nodes);
    if (m->nodes[conv].kind != NN_CONV) {
        snprintf(why, whylen, "%s is a %s, not a conv", m->nodes[conv].name, nn_kind_name(m->nodes[conv].kind));
        return -1;
    }
    spaces s;
    build(m, &s);
    int root = find(&s, conv);
    if (blocked(m, &s, root, conv, why, whylen)) return -1;
    memset(g, 0, sizeof *g);
    g->channels = m->nodes[conv].out_c;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].kind != NN_CONV || find(&s, i) != root) continue;
        if (g->n >= MT_GROUP_MAX) {
            snprintf(why, whylen, "more than %d convs are tied to %s", MT_GROUP_MAX, m->nodes[conv].name);
            return -1;
        }
        assert(m->nodes[i].out_c == g->channels);   /* the builder checked the additions' shapes */
        g->conv[g->n++] = i;
    }
    return 0;
}
