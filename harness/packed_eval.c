/* The packed model against its float twin (see packed_eval.h). */
#include "harness/packed_eval.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/checkpoint.h"
#include "harness/data_store.h"
#include "harness/packed_file.h"

/* "<folder of path>/model.h5" */
static void float_twin(const char *path, char *out, size_t outlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(out, outlen, "%s/model.h5", dirname(dir));
}

static void print_layers(FILE *out, const rt_model *rt)
{
    fprintf(out, "layers:");
    for (int i = 0; i < rt->m->n_nodes; i++) {
        const rt_layer *l = &rt->layer[i];
        if (!l->present) continue;
        fprintf(out, " %s=%s%s%s", rt->m->nodes[i].name, l->enc == RT_ENC_DC ? "dc->" : "", dp_format_name(l->w.format),
                l->engine ? "(adder)" : l->folds >= 0 ? "+bn" : "");
    }
    fprintf(out, "\n");
}

int hx_packed_eval_run(const char *path, const char *data, int batch, int threads, FILE *out, hx_packed_eval *res,
                       char *err, size_t errlen)
{
    hx_packed_eval r;
    memset(&r, 0, sizeof r);
    ds_dataset ds;
    if (hx_dataset_open(data, &ds, out ? stderr : NULL, err, errlen) != 0) return -1;
    ckpt_expect want = {{ds.c, ds.h, ds.w}, ds.n_classes};
    rt_model rt;
    int rc = -1;
    uint8_t *pred = malloc(ds.test.n ? ds.test.n : 1), *fpred = malloc(ds.test.n ? ds.test.n : 1);
    if (!pred || !fpred) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (hx_packed_load(path, &want, threads, &rt, err, errlen) != 0) goto done;
    r.n = ds.test.n;
    r.acc = hx_predict(rt.m, &ds, &ds.test, 0, batch, &r.loss, pred);
    rt_model_bytes(&rt, &r.weight_bytes, &r.param_bytes);
    if (out) print_layers(out, &rt);
    rt_free(&rt);

    char twin[PATH_MAX + 16];
    float_twin(path, twin, sizeof twin);
    if (access(twin, R_OK) == 0) {
        nn_model *m = ckpt_load_expect(twin, &want, NULL, NULL, err, errlen);
        if (!m) goto done;
        nn_model_set_threads(m, threads);
        r.float_acc = hx_predict(m, &ds, &ds.test, 0, batch, NULL, fpred);
        nn_model_free(m);
        r.have_float = 1;
        for (uint32_t i = 0; i < r.n; i++) r.differ += pred[i] != fpred[i];
    }
    if (out) {
        fprintf(out, "%s on %s test (%u images): packed top-1 %.2f%%, loss %.4f; %zu bytes of packed weights + %zu of "
                "fp32 parameters\n", path, data, r.n, r.acc, r.loss, r.weight_bytes, r.param_bytes);
        if (r.have_float)
            fprintf(out, "agreement with %s (top-1 %.2f%%): %u of %u predictions differ\n", twin, r.float_acc, r.differ,
                    r.n);
        else
            fprintf(out, "agreement: no %s beside it to compare with\n", twin);
    }
    if (res) *res = r;
    rc = 0;
done:
    free(pred);
    free(fpred);
    ds_free(&ds);
    return rc;
}
