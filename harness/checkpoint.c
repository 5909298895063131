/* HDF5 checkpoints of a model, its optimizer state and the run's metadata (see checkpoint.h). */
#include "harness/checkpoint.h"

#include <assert.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/dataset.h"
#include "base/h5io.h"
#include "harness/ckpt_graph.h"
#include "harness/ckpt_io.h"


/* /layers/<node>: a shaped copy of the node's tensors for other tools. */
static void put_layer(ck *c, hid_t layers, const nn_node *n, const float *w)
{
    hid_t g = ck_put_group(c, layers, n->name);
    long long kind = n->kind, kernel = n->kernel, frozen = n->frozen;
    ck_put_i64(c, g, "kind", kind);
    ck_put_i64(c, g, "kernel", kernel);
    ck_put_i64(c, g, "frozen", frozen);
    if (n->nw) {
        hsize_t conv[4] = {(hsize_t)n->out_c, (hsize_t)n->in_dims.c, (hsize_t)n->k, (hsize_t)n->k};
        hsize_t fc[2] = {(hsize_t)n->out_c, n->out_c ? n->nw / (hsize_t)n->out_c : 0};
        if (n->kind == NN_CONV && conv[0] * conv[1] * conv[2] * conv[3] == n->nw)
            h5io_put_data(c, g, "weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, conv, w, 0);
        else if (n->kind == NN_LINEAR && fc[0] * fc[1] == n->nw)
            h5io_put_data(c, g, "weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, fc, w, 0);
        else
            ck_put_floats(c, g, "weight", w, n->nw);
    }
    if (n->nb) ck_put_floats(c, g, "bias", n->b, n->nb);
    if (n->run_mean) ck_put_floats(c, g, "running_mean", n->run_mean, n->nw);
    if (n->run_var) ck_put_floats(c, g, "running_var", n->run_var, n->nw);
    ck_close_group(g);
}

static void put_optim(ck *c, hid_t file, const nn_optim *o, size_t n_params)
{
    assert(o->n == n_params && o->m);
    hid_t g = ck_put_group(c, file, "optim");
    ck_put_i64(c, g, "kind", o->kind);
    ck_put_i64(c, g, "step", o->step);
    ck_put_i64(c, g, "nesterov", o->nesterov);
    ck_put_f64(c, g, "momentum", o->momentum);
    ck_put_f64(c, g, "beta1", o->beta1);
    ck_put_f64(c, g, "beta2", o->beta2);
    ck_put_f64(c, g, "eps", o->eps);
    ck_put_f64(c, g, "weight_decay", o->weight_decay);
    ck_put_floats(c, g, "m", o->m, o->n);
    if (o->v) ck_put_floats(c, g, "v", o->v, o->n);
    ck_close_group(g);
}

/* The parameters the network computes with: a node carrying a weight transform (a method still
 * training) contributes its effective weights, so the file evaluates to what the run measured.
 * Returns m->params itself when no node has one, else a malloc'd copy (NULL: out of memory). */
static float *effective_params(const nn_model *m)
{
    float *p = m->params;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (!n->wt) continue;
        if (p == m->params) {
            p = malloc((m->n_params ? m->n_params : 1) * sizeof *p);
            if (!p) return NULL;
            memcpy(p, m->params, m->n_params * sizeof *p);
        }
        n->wt->forward(n->wt_ctx, n, n->w, p + n->w_off, n->nw);
    }
    return p;
}

static void put_model(ck *c, hid_t file, const nn_model *m, const nn_optim *opt, const ckpt_meta *mt)
{
    uint64_t rng[2] = {mt->rng.state, mt->rng.inc};
    ck_put_header(c, file, CKPT_FORMAT, CKPT_VERSION, m);
    ck_put_i64(c, file, "epoch", mt->epoch);
    ck_put_i64(c, file, "round", mt->round);
    ck_put_i64(c, file, "step", mt->step);
    h5io_put_attr(c, file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, 1, &mt->seed);
    h5io_put_attr(c, file, "rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, 2, rng);
    ck_put_f64(c, file, "best_acc", mt->best_acc);
    h5io_put_attr_str(c, file, "config_hash", mt->config_hash);
    float *params = effective_params(m);
    if (!params) ck_fail(c, "params: out of memory");
    ck_put_floats(c, file, "params", params, m->n_params);
    ck_put_floats(c, file, "state", m->state, m->n_state);
    ck_put_str_data(c, file, "state_json", mt->json ? mt->json : "");
    ckg_put(c, file, m);

    hid_t masks = ck_put_group(c, file, "masks"), wfreeze = ck_put_group(c, file, "wfreeze");
    hid_t layers = ck_put_group(c, file, "layers");
    for (int i = 0; i < m->n_nodes && !c->bad; i++) {
        const nn_node *n = &m->nodes[i];
        if (strchr(n->name, '/') || !strcmp(n->name, ".") || !n->name[0]) {
            ck_fail(c, "node %d: name '%s' cannot be an HDF5 link name", i, n->name);
            break;
        }
        if (n->mask) ck_put_bytes(c, masks, n->name, n->mask, n->nw);
        if (n->wfreeze) ck_put_bytes(c, wfreeze, n->name, n->wfreeze, n->nw);
        if ((n->nw || n->nb) && params) put_layer(c, layers, n, params + n->w_off);
    }
    if (params != m->params) free(params);
    ck_close_group(masks);
    ck_close_group(wfreeze);
    ck_close_group(layers);
    if (opt) put_optim(c, file, opt, m->n_params);
    if (mt->put_extra && !c->bad) mt->put_extra(mt->extra_arg, c, file);
}

int ckpt_save(const char *path, const nn_model *m, const nn_optim *opt, const ckpt_meta *meta,
              char *err, size_t errlen)
{
    static const ckpt_meta zero;
    ck c = {path, err, errlen, 0};
    h5io_quiet q = h5io_hush();
    h5io_writer w;
    if (h5io_create(&w, path, err, errlen) != 0) {
        c.bad = 1;
    } else {
        put_model(&c, w.file, m, opt, meta ? meta : &zero);
        if (c.bad) h5io_discard(&w);
        else if (h5io_commit(&w, CKPT_FORMAT, path, err, errlen) != 0) c.bad = 1;
    }
    h5io_unhush(q);
    return c.bad ? -1 : 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Fails naming the layer and element of the first non-finite value in v (params layout when
 * !state, else the state layout). */
static int check_finite(ck *c, const nn_model *m, const char *field, const float *v, size_t n, int state)
{
    size_t i = 0;
    while (i < n && isfinite(v[i])) i++;
    if (i == n || c->bad) return c->bad ? -1 : 0;
    const char *what = isnan(v[i]) ? "NaN" : "infinite";
    for (int k = 0; k < m->n_nodes; k++) {
        const nn_node *nd = &m->nodes[k];
        if (state && nd->run_mean) {
            size_t off = (size_t)(nd->run_mean - m->state);
            if (i >= off && i < off + 2 * nd->nw)
                return ck_fail(c, "%s: layer '%s' %s[%zu] is %s", field, nd->name,
                               i < off + nd->nw ? "running_mean" : "running_var", (i - off) % nd->nw, what);
        } else if (!state) {
            if (nd->nw && i >= nd->w_off && i < nd->w_off + nd->nw)
                return ck_fail(c, "%s: layer '%s' weight[%zu] is %s", field, nd->name, i - nd->w_off, what);
            if (nd->nb && i >= nd->b_off && i < nd->b_off + nd->nb)
                return ck_fail(c, "%s: layer '%s' bias[%zu] is %s", field, nd->name, i - nd->b_off, what);
        }
    }
    return ck_fail(c, "%s[%zu] is %s", field, i, what);
}

static nn_node *find_node(nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return NULL;
}

/* Every dataset in group `gname` must name a weighted node and hold its nw flags (0/1). */
static void get_flags(ck *c, hid_t file, nn_model *m, const char *gname,
                      uint8_t *(*flags_of)(nn_model *, nn_node *))
{
    if (c->bad || H5Lexists(file, gname, H5P_DEFAULT) <= 0) return;
    hid_t g = H5Gopen2(file, gname, H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0) { ck_fail(c, "%s: group cannot be read", gname); ck_close_group(g); return; }
    char where[64];
    snprintf(where, sizeof where, "%s/", gname);
    for (hsize_t i = 0; i < info.nlinks && !c->bad; i++) {
        char name[NN_NAME_MAX + 8];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        nn_node *nd = len > 0 && (size_t)len < sizeof name ? find_node(m, name) : NULL;
        if (!nd || !nn_is_weighted(nd)) {
            ck_fail(c, "%s%s: no weighted layer of that name in arch '%s'", where, len > 0 ? name : "?", m->arch);
            break;
        }
        uint8_t *dst = flags_of(m, nd);
        if (!dst) { ck_fail(c, "%s%s: out of memory", where, name); break; }
        if (h5io_get_data(c, g, where, name, H5T_NATIVE_UINT8, nd->nw, dst) != 0) break;
        for (size_t j = 0; j < nd->nw; j++)
            if (dst[j] > 1) { ck_fail(c, "%s%s: value %d at [%zu] is not 0 or 1", where, name, dst[j], j); break; }
    }
    ck_close_group(g);
}

/* Kernel and frozen flags of weighted nodes, from /layers/<node> when present. */
static void get_node_flags(ck *c, hid_t file, nn_model *m)
{
    for (int i = 0; i < m->n_nodes && !c->bad; i++) {
        nn_node *nd = &m->nodes[i];
        char gpath[NN_NAME_MAX + 16], where[NN_NAME_MAX + 24];
        snprintf(gpath, sizeof gpath, "layers/%s", nd->name);
        if (!nn_is_weighted(nd) || H5Lexists(file, "layers", H5P_DEFAULT) <= 0 ||
            H5Lexists(file, gpath, H5P_DEFAULT) <= 0)
            continue;
        hid_t g = H5Gopen2(file, gpath, H5P_DEFAULT);
        snprintf(where, sizeof where, "%s/", gpath);
        long long kernel = 0, frozen = 0;
        if (g >= 0 && H5Aexists(g, "kernel") > 0 && ck_get_i64(c, g, where, "kernel", &kernel) == 0) {
            if (kernel < 0 || kernel >= NN_KERNEL_COUNT) ck_fail(c, "%skernel: %lld is not a known kernel", where, kernel);
            else nd->kernel = (nn_kernel)kernel;
        }
        if (g >= 0 && H5Aexists(g, "frozen") > 0 && ck_get_i64(c, g, where, "frozen", &frozen) == 0) {
            if (frozen != 0 && frozen != 1) ck_fail(c, "%sfrozen: %lld is not 0 or 1", where, frozen);
            else nd->frozen = (int)frozen;
        }
        ck_close_group(g);
    }
}

/* Loads the optimizer into a fresh one; replaces *dst (freeing its buffers) only on success. */
static void get_optim(ck *c, hid_t file, nn_model *m, nn_optim *dst)
{
    if (c->bad) return;
    if (H5Lexists(file, "optim", H5P_DEFAULT) <= 0) { ck_fail(c, "optim: no optimizer state saved"); return; }
    hid_t g = H5Gopen2(file, "optim", H5P_DEFAULT);
    long long kind = -1, step = 0, nesterov = 0;
    double momentum = 0, beta1 = 0, beta2 = 0, eps = 0, wd = 0;
    ck_get_i64(c, g, "optim/", "kind", &kind);
    if (!c->bad && (kind < 0 || kind >= NN_OPTIM_COUNT)) ck_fail(c, "optim/kind: %lld is not a known optimizer", kind);
    ck_get_i64(c, g, "optim/", "step", &step);
    ck_get_i64(c, g, "optim/", "nesterov", &nesterov);
    const ck_range counts[] = {{"optim/step", step, 0, CKPT_MAX_STEP}, {"optim/nesterov", nesterov, 0, 1}};
    ck_check_ranges(c, counts, 2);
    h5io_get_attr(c, g, "optim/", "momentum", H5T_NATIVE_DOUBLE, 0, 1, &momentum);
    h5io_get_attr(c, g, "optim/", "beta1", H5T_NATIVE_DOUBLE, 0, 1, &beta1);
    h5io_get_attr(c, g, "optim/", "beta2", H5T_NATIVE_DOUBLE, 0, 1, &beta2);
    h5io_get_attr(c, g, "optim/", "eps", H5T_NATIVE_DOUBLE, 0, 1, &eps);
    h5io_get_attr(c, g, "optim/", "weight_decay", H5T_NATIVE_DOUBLE, 0, 1, &wd);
    const struct { const char *name; double v; } hyper[] = {
        {"momentum", momentum}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", wd},
    };
    for (size_t i = 0; i < sizeof hyper / sizeof hyper[0] && !c->bad; i++)
        if (!isfinite(hyper[i].v)) ck_fail(c, "optim/%s: %g is not finite", hyper[i].name, hyper[i].v);
    nn_optim o;
    memset(&o, 0, sizeof o);
    if (!c->bad && nn_optim_init(&o, (nn_optim_kind)kind, m) != 0) ck_fail(c, "optim: out of memory");
    if (c->bad) { ck_close_group(g); return; }
    o.step = step;
    o.nesterov = (int)nesterov;
    o.momentum = (float)momentum;
    o.beta1 = (float)beta1;
    o.beta2 = (float)beta2;
    o.eps = (float)eps;
    o.weight_decay = (float)wd;
    h5io_get_data(c, g, "optim/", "m", H5T_NATIVE_FLOAT, o.n, o.m);
    if (o.v) h5io_get_data(c, g, "optim/", "v", H5T_NATIVE_FLOAT, o.n, o.v);
    check_finite(c, m, "optim/m", o.m, o.n, 0);
    if (o.v) check_finite(c, m, "optim/v", o.v, o.n, 0);
    ck_close_group(g);
    if (c->bad) { nn_optim_free(&o); return; }
    nn_optim_free(dst);
    *dst = o;
}

/* Version 2 named an architecture of nn/arch.c instead of holding the graph. */
static nn_model *build_from_arch(ck *c, const char *arch, nn_dims in, int n_classes, size_t n_params, size_t n_state,
                                 size_t max_params)
{
    char why[NN_ERR_MAX];
    nn_model *m = nn_model_create_capped(arch, in, n_classes, max_params, why, sizeof why);
    if (!m) { ck_fail(c, "arch: %s", why); return NULL; }
    if (n_params != m->n_params || n_state != m->n_state) {
        ck_fail(c, "n_params: the file has %zu parameters and %zu state values, but arch '%s' "
                   "with input %dx%dx%d and %d classes has %zu and %zu", n_params, n_state, arch,
                in.c, in.h, in.w, n_classes, m->n_params, m->n_state);
        nn_model_free(m);
        return NULL;
    }
    return m;
}

/* Opens path read-only after checking its seal (base/h5io.h). */
static hid_t open_file(ck *c)
{
    hid_t f;
    h5io_status s = h5io_open(c->path, CKPT_FORMAT, &f, c->err, c->errlen);
    if (s == H5IO_OK) return f;
    c->bad = 1;
    if (s == H5IO_UNSEALED && c->err) {
        size_t n = strlen(c->err);
        snprintf(c->err + n, c->errlen > n ? c->errlen - n : 0, "; checkpoints are read from format version %d "
                 "on (train again to write one)", CKPT_VERSION_ARCH);
    }
    return -1;
}

static nn_model *load(ck *c, hid_t file, const ckpt_expect *expect, nn_optim *opt, ckpt_meta *meta)
{
    /* params and state are stored as raw float32, so the file's size bounds their counts */
    ck_header h;
    if (ck_get_header(c, file, CKPT_FORMAT, CKPT_VERSION_ARCH, CKPT_VERSION, 1.0 / sizeof(float), expect, &h) != 0)
        return NULL;
    const long long version = h.version;
    nn_model *m = version == CKPT_VERSION_ARCH
                      ? build_from_arch(c, h.arch, h.in, h.n_classes, h.n_params, h.n_state,
                                        (size_t)(h.file_bytes / sizeof(float)))
                      : ckg_build(c, file, h.arch, h.in, h.n_classes, h.n_params, h.n_state);
    if (!m) return NULL;
    h5io_get_data(c, file, "", "params", H5T_NATIVE_FLOAT, m->n_params, m->params);
    h5io_get_data(c, file, "", "state", H5T_NATIVE_FLOAT, m->n_state, m->state);
    check_finite(c, m, "params", m->params, m->n_params, 0);
    check_finite(c, m, "state", m->state, m->n_state, 1);
    get_flags(c, file, m, "masks", nn_node_mask);
    get_flags(c, file, m, "wfreeze", nn_node_wfreeze);
    if (version == CKPT_VERSION_ARCH) get_node_flags(c, file, m);
    else ckg_check_weights(c, m);
    ckpt_meta mt = {0};
    if (meta) {
        long long epoch = 0, round = 0, step = 0;
        uint64_t rng[2] = {0, 0};
        ck_get_i64(c, file, "", "epoch", &epoch);
        ck_get_i64(c, file, "", "round", &round);
        ck_get_i64(c, file, "", "step", &step);
        h5io_get_attr(c, file, "", "seed", H5T_NATIVE_UINT64, 0, 1, &mt.seed);
        h5io_get_attr(c, file, "", "rng", H5T_NATIVE_UINT64, 1, 2, rng);
        h5io_get_attr(c, file, "", "best_acc", H5T_NATIVE_DOUBLE, 0, 1, &mt.best_acc);
        const ck_range pos[] = {
            {"epoch", epoch, 0, CKPT_MAX_EPOCHS - 1}, {"round", round, 0, CKPT_MAX_ROUNDS - 1},
            {"step", step, 0, CKPT_MAX_STEP},
        };
        ck_check_ranges(c, pos, (int)(sizeof pos / sizeof pos[0]));
        if (!c->bad && !(mt.best_acc >= -1 && mt.best_acc <= 100))
            ck_fail(c, "best_acc: %g is not an accuracy in percent", mt.best_acc);
        h5io_get_attr_str(c, file, "", "config_hash", mt.config_hash, sizeof mt.config_hash);
        mt.json = ck_get_str_data(c, file, "state_json", h.file_bytes);
        snprintf(mt.arch, sizeof mt.arch, "%s", h.arch);
        mt.in_dims = h.in;
        mt.n_classes = h.n_classes;
        mt.epoch = (int)epoch;
        mt.round = (int)round;
        mt.step = (long)step;
        mt.rng.state = rng[0];
        mt.rng.inc = rng[1];
    }
    if (opt) get_optim(c, file, m, opt);   /* last: it cleans up after its own failure */
    if (c->bad) {
        ckpt_meta_free(&mt);
        nn_model_free(m);
        return NULL;
    }
    if (meta) *meta = mt;
    return m;
}

nn_model *ckpt_load(const char *path, nn_optim *opt, ckpt_meta *meta, char *err, size_t errlen)
{
    return ckpt_load_expect(path, NULL, opt, meta, err, errlen);
}

nn_model *ckpt_load_expect(const char *path, const ckpt_expect *expect, nn_optim *opt, ckpt_meta *meta,
                           char *err, size_t errlen)
{
    ck c = {path, err, errlen, 0};
    h5io_quiet q = h5io_hush();
    nn_model *m = NULL;
    hid_t file = open_file(&c);
    if (file >= 0) {
        m = load(&c, file, expect, opt, meta);
        H5Fclose(file);
    }
    h5io_unhush(q);
    return m;
}

void ckpt_meta_free(ckpt_meta *meta)
{
    free(meta->json);
    meta->json = NULL;
}
