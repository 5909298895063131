/* Writes the seed corpus of the fuzz targets into DIR/<target>/ with the project's own writers:
 * a few tiny valid files per reader. The committed corpus (tests/fuzz/corpus) came from it; run
 * it again when a format changes:  build/fuzz/make_seeds tests/fuzz/corpus
 * (checkpoint/lenet300-1x1x1-sgd-v2.h5 is a version 2 checkpoint, from before the graph: kept,
 * since the reader still reads that version). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "datasets/dataset.h"
#include "harness/checkpoint.h"
#include "harness/packed_file.h"
#include "support/packed_fixture.h"
#include "methods/input_transforms.h"
#include "nn/optim.h"
#include "support/image_fixtures.h"

static void put(const char *dir, const char *target, const char *name, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) { perror(path); exit(1); }
}

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static void idx_seeds(const char *dir)
{
    unsigned char im[16 + 3 * 2 * 2], lb[8 + 3];
    put_be32(im, 0x803); put_be32(im + 4, 3); put_be32(im + 8, 2); put_be32(im + 12, 2);
    for (int i = 0; i < 12; i++) im[16 + i] = (unsigned char)(i * 21);
    put_be32(lb, 0x801); put_be32(lb + 4, 3);
    lb[8] = 0; lb[9] = 1; lb[10] = 2;
    put(dir, "idx", "images-3x2x2", im, sizeof im);
    put(dir, "idx", "labels-3", lb, sizeof lb);
    unsigned char gz[256];
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);   /* gzip wrapper */
    z.next_in = im; z.avail_in = sizeof im; z.next_out = gz; z.avail_out = sizeof gz;
    deflate(&z, Z_FINISH);
    put(dir, "idx", "images-3x2x2.gz", gz, sizeof gz - z.avail_out);
    deflateEnd(&z);
}

static void cifar_seeds(const char *dir)
{
    enum { REC = 1 + 3 * 32 * 32 };
    static unsigned char two[2 * REC];
    for (int r = 0; r < 2; r++) {
        two[r * REC] = (unsigned char)(r * 7);
        for (int i = 1; i < REC; i++) two[r * REC + i] = (unsigned char)(i * (r + 3));
    }
    put(dir, "cifar", "one-record.bin", two, REC);
    put(dir, "cifar", "two-records.bin", two, sizeof two);
}

static void image_seeds(const char *dir)
{
    uint8_t px[4 * 4 * 3];
    char path[4096];
    imfx_picture(px, 3, 4, 4, 1);
    snprintf(path, sizeof path, "%s/image/rgb-4x4.jpg", dir);
    if (imfx_write_jpeg(path, 3, 4, 4, px, 90) != 0) { perror(path); exit(1); }
    snprintf(path, sizeof path, "%s/image/rgb-4x4.png", dir);
    if (imfx_write_png8(path, 3, 4, 4, px) != 0) { perror(path); exit(1); }
    imfx_picture(px, 1, 4, 4, 2);
    snprintf(path, sizeof path, "%s/image/gray-4x4.png", dir);
    if (imfx_write_png8(path, 1, 4, 4, px) != 0) { perror(path); exit(1); }
}

static void config_seeds(const char *dir)
{
    static const char plain[] =
        "; a plain training run\n[run]\nname = seed\nseed = 3\nthreads = 1\n\n[data]\ndataset = mnist\nval_size = 10\n\n"
        "[model]\narch = lenet5\ninit = glorot-uniform\n\n[train]\nepochs = 2\nbatch = 32\noptimizer = adam\nlr = 0.001\n"
        "schedule = multistep\nmilestones = 1, 2\nwarmup_epochs = 1\n";
    static const char method[] =
        "[run]\nname = dc\n[data]\ndataset = fashion-mnist\n[model]\narch = lenet300\n"
        "pretrained = configs/baseline-lenet300.ini\n[train]\nepochs = 1\nschedule = cosine\n"
        "[method]\nname = deep-compression\nquality = 0.5, 0.6, 0.7\nprune_rounds = 2\nbits_fc = 4\n";
    put(dir, "config", "plain.ini", plain, sizeof plain - 1);
    put(dir, "config", "method.ini", method, sizeof method - 1);
}

static void store_seeds(const char *dir)
{
    ds_dataset ds;
    memset(&ds, 0, sizeof ds);
    snprintf(ds.name, sizeof ds.name, "tiny");
    ds.c = 1, ds.h = 2, ds.w = 2, ds.n_classes = 2;
    snprintf(ds.class_names[0], sizeof ds.class_names[0], "no");
    snprintf(ds.class_names[1], sizeof ds.class_names[1], "yes");
    uint8_t im[3 * 4] = {0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6}, lb[3] = {0, 1, 1};
    ds.train = (ds_split){im, lb, 2};
    ds.test = (ds_split){im + 8, lb + 2, 1};
    ds_compute_stats(&ds);
    ds.n_sources = 1;
    snprintf(ds.sources[0].file, sizeof ds.sources[0].file, "raw.bin");
    ds.sources[0].bytes = 12;
    char path[4096], err[DS_ERR_MAX];
    snprintf(path, sizeof path, "%s/store/tiny.h5", dir);
    if (ds_save_h5(&ds, path, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }
}

static void checkpoint_seeds(const char *dir)
{
    char err[1024], path[4096];
    nn_model *m = nn_model_create("lenet300", (nn_dims){1, 1, 1}, 2, err, sizeof err);   /* the smallest */
    if (!m) { fprintf(stderr, "%s\n", err); exit(1); }
    nn_optim opt = {0};
    nn_optim_init(&opt, NN_SGD, m);   /* all zeros: the file compresses to little in git */
    ckpt_meta meta = {0};
    meta.epoch = 1;
    snprintf(meta.config_hash, sizeof meta.config_hash, "0123456789abcdef");
    snprintf(path, sizeof path, "%s/checkpoint/lenet300-1x1x1-sgd.h5", dir);
    if (ckpt_save(path, m, &opt, &meta, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }
    nn_optim_free(&opt);
    nn_model_free(m);

    /* Every graph field the reader restores: a conv with binarized inputs and binary weights,
     * an edgebias node (SFP's smaller networks), an adder linear layer, a fixed-point input and
     * power-of-two weights, a ternary classifier. */
    nn_builder *b = nn_builder_new("graph", (nn_dims){1, 4, 4}, 2);
    int c = nn_add_conv(b, "conv", -1, 2, 3, 1, 1, 0);
    int e = nn_add_edgebias(b, "conv.fold", c, 1);
    int f = nn_add_flatten(b, "flat", e);
    int h = nn_add_linear(b, "fc1", f, 3, 1);
    nn_add_linear(b, "fc2", h, 2, 0);
    m = nn_builder_finish(b, err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); exit(1); }
    nn_node *conv = &m->nodes[c], *fc1 = &m->nodes[h], *fc2 = &m->nodes[h + 1];
    for (size_t i = 0; i < conv->nw; i++) conv->w[i] = i % 3 ? 0.5f : -0.5f;
    for (size_t i = 0; i < fc1->nw; i++) fc1->w[i] = i % 4 ? 0.25f : i % 8 ? -2.0f : 0.0f;
    for (size_t i = 0; i < fc2->nw; i++) fc2->w[i] = i % 3 == 0 ? 0.75f : i % 3 == 1 ? -0.5f : 0.0f;
    static const float none[NN_XT_ARGS] = {0}, grid[NN_XT_ARGS] = {4, 6};
    if (mt_xt_install(conv, MT_XT_SIGN_MEAN, none, err, sizeof err) != 0 ||
        mt_xt_install(fc1, MT_XT_FIXED_POINT, grid, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }
    conv->wform = (nn_wform){ .kind = NN_WFORM_BINARY };
    fc1->wform = (nn_wform){ .kind = NN_WFORM_POW2, .e_min = -3, .e_max = 1 };
    fc1->kernel = NN_KERNEL_ADDER;
    fc2->wform = (nn_wform){ .kind = NN_WFORM_TERNARY, .wp = 0.75f, .wn = 0.5f };
    snprintf(path, sizeof path, "%s/checkpoint/graph-1x4x4.h5", dir);
    if (ckpt_save(path, m, NULL, &meta, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }
    nn_model_free(m);
}

/* A packed model with every format and path the reader restores (tests/support/packed_fixture.h). */
static void packed_seeds(const char *dir)
{
    char err[1024], path[4096];
    rt_model rt;
    hx_packed_size sz;
    snprintf(path, sizeof path, "%s/packed/every-format-1x4x4.h5", dir);
    if (packed_fixture_model(&rt, err, sizeof err) != 0 || hx_packed_save(path, &rt, &sz, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    rt_free(&rt);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: make_seeds DIR (writes DIR/<target>/...)\n"); return 2; }
    idx_seeds(argv[1]);
    cifar_seeds(argv[1]);
    image_seeds(argv[1]);
    config_seeds(argv[1]);
    store_seeds(argv[1]);
    checkpoint_seeds(argv[1]);
    packed_seeds(argv[1]);
    return 0;
}
