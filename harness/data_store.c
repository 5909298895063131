#include "harness/data_store.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "base/fileio.h"
#include "harness/roots.h"
#include "nn/loss.h"

void hx_dataset_path(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s.h5", hx_data_root(), name);
}

static int is_known(const char *name)
{
    for (int i = 0; i < ds_known_count(); i++)
        if (strcmp(ds_known_name(i), name) == 0) return 1;
    return 0;
}

int hx_dataset_open(const char *name, ds_dataset *ds, FILE *log, char *err, size_t errlen)
{
    char path[PATH_MAX];
    hx_dataset_path(name, path, sizeof path);
    if (!fio_exists(path)) {
        if (!is_known(name)) {
            snprintf(err, errlen, "dataset '%s': %s does not exist; prepare it with `harness data %s` "
                     "(known: mnist, fashion-mnist, cifar10) or `harness data import %s --idx DIR | --images DIR`",
                     name, path, name, name);
            return -1;
        }
        if (fio_mkdir_p(hx_data_root(), err, errlen) != 0) return -1;
        if (log) fprintf(log, "preparing %s -> %s\n", name, path);
        if (ds_prepare(name, NULL, path, err, errlen) != 0) return -1;
    }
    int rc = ds_load_h5(path, ds, err, errlen);
    if (rc != DS_LOAD_OLD_FORMAT || !is_known(name)) return rc < 0 ? -1 : rc;
    /* A known dataset's store in an older format is prepared again from its raw files. */
    if (log) fprintf(log, "preparing %s again -> %s (the store there is in an older format)\n", name, path);
    char why[DS_ERR_MAX];
    if (ds_prepare(name, NULL, path, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s is in an older format, and preparing %s again failed: %s", path, name, why);
        return -1;
    }
    return ds_load_h5(path, ds, err, errlen) != 0 ? -1 : 0;
}

double hx_evaluate(nn_model *m, const ds_dataset *ds, const ds_split *split, uint32_t n, int batch, double *loss)
{
    return hx_predict(m, ds, split, n, batch, loss, NULL);
}

double hx_predict(nn_model *m, const ds_dataset *ds, const ds_split *split, uint32_t n, int batch, double *loss,
                  uint8_t *pred)
{
    if (n == 0 || n > split->n) n = split->n;
    ds_loader ld;
    if (ds_loader_init(&ld, ds, split, 0, n, batch, 0, 0, 0) != 0) return -1;
    size_t per = (size_t)ds->c * ds->h * ds->w;
    float *x = malloc(sizeof(float) * per * (size_t)batch);
    uint8_t *y = malloc((size_t)batch);
    long correct = 0;
    double loss_sum = 0;
    int got;
    size_t at = 0;
    while ((got = ds_loader_next(&ld, x, y)) > 0) {
        const float *logits = nn_forward(m, x, got, 0);
        int c = 0;
        loss_sum += (double)nn_softmax_xent(logits, y, got, m->n_classes, NULL, &c) * got;
        correct += c;
        for (int i = 0; pred && i < got; i++, at++)   /* as the loss counts a hit */
            pred[at] = (uint8_t)nn_argmax(logits + (size_t)i * m->n_classes, m->n_classes);
    }
    free(x);
    free(y);
    ds_loader_free(&ld);
    if (loss) *loss = loss_sum / n;
    return 100.0 * (double)correct / n;
}
