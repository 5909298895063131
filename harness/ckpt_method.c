/* A method run's checkpoint beyond the model (see ckpt_method.h). */
#include "harness/ckpt_method.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/checkpoint.h"
#include "harness/ckpt_io.h"

typedef struct {
    h5io_ctx *c;
    hid_t group;
} ckm_io;

/* mt_ckpt.array: one named array written into, or read from, /method. */
static int io_array(mt_ckpt *io, const char *name, mt_elem type, void *v, size_t n)
{
    ckm_io *k = io->ctx;
    const hid_t ftype[] = {H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_STD_I32LE, H5T_STD_I64LE, H5T_STD_U8LE};
    const hid_t mtype[] = {H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT32, H5T_NATIVE_INT64, H5T_NATIVE_UINT8};
    if ((int)type < 0 || (int)type >= (int)(sizeof ftype / sizeof *ftype))
        return h5io_fail(k->c, "method/%s: unknown element type %d", name, (int)type);
    if (strchr(name, '/') || !name[0]) return h5io_fail(k->c, "method/%s: not an HDF5 link name", name);
    if (io->loading) return h5io_get_data(k->c, k->group, "method/", name, mtype[type], n, v);
    hsize_t dims[1] = {n};
    return h5io_put_data(k->c, k->group, name, ftype[type], mtype[type], 1, dims, v, 0);
}

static int has_weight_transform(const nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].wt) return 1;
    return 0;
}

void ckm_put(void *arg, h5io_ctx *c, hid_t file)
{
    const ckm_source *s = arg;
    const nn_model *m = s->run->model;
    hid_t g = ck_put_group(c, file, "method");
    h5io_put_attr_str(c, g, "name", s->method->name);
    if (has_weight_transform(m)) ck_put_floats(c, g, "latent_params", m->params, m->n_params);
    ckm_io k = {c, g};
    mt_ckpt io = {0, io_array, &k};
    if (!c->bad && s->method->checkpoint && s->method->checkpoint(s->run, s->state, &io) != 0 && !c->bad)
        h5io_fail(c, "method %s: its state could not be saved", s->method->name);
    ck_close_group(g);
}

/* dst and src must be the same network: same nodes, kinds, sizes, input transforms. */
static int same_node(h5io_ctx *c, const nn_node *d, const nn_node *s)
{
    if (strcmp(d->name, s->name) || d->kind != s->kind || d->nw != s->nw || d->nb != s->nb)
        return h5io_fail(c, "graph: node '%s' (%zu weights) is '%s' (%zu weights) in the network this config "
                         "sets up", s->name, s->nw, d->name, d->nw);
    if (d->xt != s->xt)
        return h5io_fail(c, "graph: node '%s': its input transform is %s in the file, %s in the network this "
                         "config sets up", s->name, s->xt ? s->xt->name : "none", d->xt ? d->xt->name : "none");
    if ((d->mask && !s->mask) || (d->wfreeze && !s->wfreeze))
        return h5io_fail(c, "%s/%s: the method's setup gives this layer flags the file does not hold",
                         d->mask && !s->mask ? "masks" : "wfreeze", s->name);
    return 0;
}

int ckm_restore_model(nn_model *dst, const nn_model *src, const char *path, char *err, size_t errlen)
{
    h5io_ctx c = {path, err, errlen, 0};
    if (dst->n_nodes != src->n_nodes || dst->n_params != src->n_params || dst->n_state != src->n_state)
        return h5io_fail(&c, "graph: %d nodes, %zu parameters, %zu state values; this config sets up %d, %zu "
                         "and %zu", src->n_nodes, src->n_params, src->n_state, dst->n_nodes, dst->n_params,
                         dst->n_state);
    for (int i = 0; i < dst->n_nodes; i++)
        if (same_node(&c, &dst->nodes[i], &src->nodes[i]) != 0) return -1;
    memcpy(dst->params, src->params, src->n_params * sizeof *dst->params);
    if (src->n_state) memcpy(dst->state, src->state, src->n_state * sizeof *dst->state);
    for (int i = 0; i < dst->n_nodes; i++) {
        nn_node *d = &dst->nodes[i];
        const nn_node *s = &src->nodes[i];
        uint8_t *mask = s->mask ? nn_node_mask(dst, d) : NULL, *freeze = s->wfreeze ? nn_node_wfreeze(dst, d) : NULL;
        if ((s->mask && !mask) || (s->wfreeze && !freeze)) return h5io_fail(&c, "%s: out of memory", s->name);
        if (mask) memcpy(mask, s->mask, s->nw);
        if (freeze) memcpy(freeze, s->wfreeze, s->nw);
        d->kernel = s->kernel;
        d->frozen = s->frozen;
        d->wform = s->wform;
        memcpy(d->xt_arg, s->xt_arg, sizeof d->xt_arg);
    }
    return 0;
}

int ckm_load(const char *path, const ckm_source *s, char *err, size_t errlen)
{
    h5io_ctx c = {path, err, errlen, 0};
    h5io_quiet q = h5io_hush();
    hid_t f = -1, g = -1;
    if (h5io_open(path, CKPT_FORMAT, &f, err, errlen) != H5IO_OK) {
        h5io_unhush(q);
        return -1;
    }
    char name[64] = "";
    nn_model *m = s->run->model;
    if (H5Lexists(f, "method", H5P_DEFAULT) <= 0)
        h5io_fail(&c, "method: no method state in the file (written before method runs could resume)");
    else if ((g = H5Gopen2(f, "method", H5P_DEFAULT)) < 0)
        h5io_fail(&c, "method: group cannot be opened");
    else if (h5io_get_attr_str(&c, g, "method/", "name", name, sizeof name) == 0 && strcmp(name, s->method->name))
        h5io_fail(&c, "method/name: the state of method %s, but this config runs %s", name, s->method->name);
    if (!c.bad && H5Lexists(g, "latent_params", H5P_DEFAULT) > 0 &&
        h5io_get_data(&c, g, "method/", "latent_params", H5T_NATIVE_FLOAT, m->n_params, m->params) == 0) {
        for (size_t i = 0; i < m->n_params && !c.bad; i++)
            if (!isfinite(m->params[i])) h5io_fail(&c, "method/latent_params[%zu] is not finite", i);
    }
    ckm_io k = {&c, g};
    mt_ckpt io = {1, io_array, &k};
    if (!c.bad && s->method->checkpoint && s->method->checkpoint(s->run, s->state, &io) != 0 && !c.bad)
        h5io_fail(&c, "method %s: its state does not fit this config's set-up (or out of memory)", s->method->name);
    if (g >= 0) H5Gclose(g);
    H5Fclose(f);
    h5io_unhush(q);
    return c.bad ? -1 : 0;
}
