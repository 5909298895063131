// Batch loader and validation split: exact normalization, batch sizes (short last batch), range
// subsets, seeded determinism, augmentation = some pad-crop/flip of the source image, and a
// validation split that is disjoint from and complementary to what train keeps; a training subset
// drawn from the whole split, not its first images.
#include <gtest/gtest.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>
extern "C" {
#include "datasets/dataset.h"
#include "support/ds_fixtures.h"
}

namespace {

constexpr int C = 3, H = 6, W = 5, IMG = C * H * W;
constexpr uint32_t N = 23;

// Labels are the image's own index, so every sample is identifiable. Pixels are >= 1 so that
// zero padding is visible.
struct Toy {
    ds_dataset ds;
    Toy() {
        memset(&ds, 0, sizeof ds);
        ds.c = C, ds.h = H, ds.w = W, ds.n_classes = N;
        ds.train = {(uint8_t *)malloc(N * IMG), (uint8_t *)malloc(N), N};
        dsfx_pattern(ds.train.images, N * IMG, 3, 1);
        for (uint32_t i = 0; i < N; i++) ds.train.labels[i] = (uint8_t)i;
        const float mean[C] = {0.5f, 0.25f, 0.75f}, sd[C] = {0.2f, 0.3f, 0.125f};
        memcpy(ds.mean, mean, sizeof mean);
        memcpy(ds.std, sd, sizeof sd);
    }
    ~Toy() { ds_free(&ds); }
    float norm(int c, int p) const { return ((float)p / 255.0f - ds.mean[c]) / ds.std[c]; }
    // Reference augmentation: pad by 4 with raw 0, crop at (oy, ox) in the padded image, flip.
    std::vector<float> augmented(uint32_t i, int ox, int oy, bool flip) const {
        std::vector<float> out(IMG);
        const uint8_t *src = ds.train.images + (size_t)i * IMG;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int cx = flip ? W - 1 - x : x;
                    int py = y + oy - 4, px = cx + ox - 4;
                    int p = py >= 0 && py < H && px >= 0 && px < W ? src[(c * H + py) * W + px] : 0;
                    out[(c * H + y) * W + x] = norm(c, p);
                }
        return out;
    }
};

using Epoch = std::vector<std::pair<std::vector<float>, std::vector<uint8_t>>>;

Epoch run_epoch(ds_loader *L, int batch) {
    Epoch e;
    std::vector<float> x(batch * IMG + 1, -999.0f);
    std::vector<uint8_t> y(batch + 1, 255);
    for (;;) {
        std::fill(x.begin(), x.end(), -999.0f);
        int k = ds_loader_next(L, x.data(), y.data());
        if (k <= 0) break;
        for (size_t i = (size_t)k * IMG; i < x.size(); i++) EXPECT_EQ(x[i], -999.0f) << "written past the batch";
        e.push_back({std::vector<float>(x.begin(), x.begin() + k * IMG), std::vector<uint8_t>(y.begin(), y.begin() + k)});
    }
    return e;
}

std::vector<uint8_t> labels_of(const Epoch &e) {
    std::vector<uint8_t> all;
    for (auto &b : e) all.insert(all.end(), b.second.begin(), b.second.end());
    return all;
}

TEST(Loader, NormalizesInOrderWithShortLastBatch) {
    Toy t;
    ds_loader L;
    ASSERT_EQ(ds_loader_init(&L, &t.ds, &t.ds.train, 0, N, 5, 0, 0, 1), 0);
    Epoch e = run_epoch(&L, 5);
    ASSERT_EQ(e.size(), 5u);
    for (size_t b = 0; b < 4; b++) EXPECT_EQ(e[b].second.size(), 5u);
    EXPECT_EQ(e[4].second.size(), 3u);
    std::vector<uint8_t> want(N);
    for (uint32_t i = 0; i < N; i++) want[i] = (uint8_t)i;
    EXPECT_EQ(labels_of(e), want);
    for (size_t b = 0; b < e.size(); b++)
        for (size_t j = 0; j < e[b].second.size(); j++) {
            uint32_t i = e[b].second[j];
            for (int c = 0; c < C; c++)
                for (int p = 0; p < H * W; p++)
                    ASSERT_FLOAT_EQ(e[b].first[j * IMG + c * H * W + p], t.norm(c, t.ds.train.images[i * IMG + c * H * W + p]));
        }
    std::vector<float> x(5 * IMG);
    std::vector<uint8_t> y(5);
    EXPECT_EQ(ds_loader_next(&L, x.data(), y.data()), 0);  // epoch stays done until rewound
    ds_loader_rewind(&L);
    EXPECT_EQ(labels_of(run_epoch(&L, 5)), want);  // no shuffle: same order again
    ds_loader_free(&L);
}

TEST(Loader, SubsetRangeAndBadArguments) {
    Toy t;
    ds_loader L;
    ASSERT_EQ(ds_loader_init(&L, &t.ds, &t.ds.train, 4, 7, 3, 1, 0, 9), 0);
    std::vector<uint8_t> got = labels_of(run_epoch(&L, 3));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<uint8_t>{4, 5, 6, 7, 8, 9, 10}));
    ds_loader_free(&L);
    EXPECT_NE(ds_loader_init(&L, &t.ds, &t.ds.train, 20, 4, 3, 0, 0, 1), 0);
    EXPECT_NE(ds_loader_init(&L, &t.ds, &t.ds.train, 0, N, 0, 0, 0, 1), 0);
    EXPECT_NE(ds_loader_init(&L, &t.ds, &t.ds.train, N, 1, 1, 0, 0, 1), 0);
}

TEST(Loader, ShuffleIsSeededPermutationPerEpoch) {
    Toy t;
    ds_loader a, b, c;
    ASSERT_EQ(ds_loader_init(&a, &t.ds, &t.ds.train, 0, N, 4, 1, 1, 42), 0);
    ASSERT_EQ(ds_loader_init(&b, &t.ds, &t.ds.train, 0, N, 4, 1, 1, 42), 0);
    ASSERT_EQ(ds_loader_init(&c, &t.ds, &t.ds.train, 0, N, 4, 1, 1, 43), 0);
    std::vector<std::vector<uint8_t>> orders;
    for (int epoch = 0; epoch < 3; epoch++) {
        Epoch ea = run_epoch(&a, 4), eb = run_epoch(&b, 4), ec = run_epoch(&c, 4);
        EXPECT_EQ(ea, eb);  // same seed: same images, same augmentation, same order
        EXPECT_NE(labels_of(ea), labels_of(ec));
        std::vector<uint8_t> sorted = labels_of(ea);
        orders.push_back(sorted);
        std::sort(sorted.begin(), sorted.end());
        for (uint32_t i = 0; i < N; i++) ASSERT_EQ(sorted[i], i);  // each image exactly once
        ds_loader_rewind(&a), ds_loader_rewind(&b), ds_loader_rewind(&c);
    }
    EXPECT_NE(orders[0], orders[1]);  // reshuffled each epoch
    ds_loader_free(&a), ds_loader_free(&b), ds_loader_free(&c);
}

TEST(Loader, AugmentationIsPadCropFlipOfTheSource) {
    Toy t;
    ds_loader L;
    ASSERT_EQ(ds_loader_init(&L, &t.ds, &t.ds.train, 0, N, 8, 0, 1, 5), 0);
    std::set<std::pair<int, int>> offsets;
    int flips = 0, total = 0;
    for (int epoch = 0; epoch < 10; epoch++, ds_loader_rewind(&L))
        for (auto &b : run_epoch(&L, 8))
            for (size_t j = 0; j < b.second.size(); j++, total++) {
                std::vector<float> got(b.first.begin() + j * IMG, b.first.begin() + (j + 1) * IMG);
                bool found = false;
                for (int oy = 0; oy <= 8 && !found; oy++)
                    for (int ox = 0; ox <= 8 && !found; ox++)
                        for (int f = 0; f < 2 && !found; f++)
                            if (t.augmented(b.second[j], ox, oy, f) == got) {
                                found = true;
                                offsets.insert({ox, oy});
                                flips += f;
                            }
                ASSERT_TRUE(found) << "sample " << total << " is no pad-crop/flip of image " << int(b.second[j]);
            }
    EXPECT_EQ(total, 10 * (int)N);
    EXPECT_GT(offsets.size(), 30u);  // of 81 possible offsets, over 230 draws
    EXPECT_GT(flips, total / 2 - 35);
    EXPECT_LT(flips, total / 2 + 35);
    ds_loader_free(&L);
}

// Cutout: each image is the plain one with one clipped size x size square of zeros (the
// normalized mean) in every channel, at a centre that varies; same seed, same squares.
TEST(Loader, CutoutZeroesOneClippedSquarePerImage) {
    Toy t;
    const int size = 4;
    ds_loader plain, cut, again;
    ASSERT_EQ(ds_loader_init(&plain, &t.ds, &t.ds.train, 0, N, 8, 0, 0, 5), 0);
    ASSERT_EQ(ds_loader_init(&cut, &t.ds, &t.ds.train, 0, N, 8, 0, 0, 5), 0);
    ASSERT_EQ(ds_loader_init(&again, &t.ds, &t.ds.train, 0, N, 8, 0, 0, 5), 0);
    cut.cutout = again.cutout = size;
    Epoch p = run_epoch(&plain, 8), c = run_epoch(&cut, 8);
    EXPECT_EQ(c, run_epoch(&again, 8));
    ASSERT_EQ(p.size(), c.size());
    std::set<std::pair<int, int>> corners;
    for (size_t b = 0; b < p.size(); b++)
        for (size_t j = 0; j < p[b].second.size(); j++) {
            const float *a = p[b].first.data() + j * IMG, *z = c[b].first.data() + j * IMG;
            int y0 = H, y1 = -1, x0 = W, x1 = -1;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    if (z[y * W + x] != a[y * W + x]) {   // pixels are >= 1: a cut one differs
                        y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
                    }
            ASSERT_GE(y1, 0) << "no square cut out of image " << int(p[b].second[j]);
            EXPECT_LE(y1 - y0 + 1, size);
            EXPECT_LE(x1 - x0 + 1, size);
            EXPECT_GE(y1 - y0 + 1, size / 2);   // a centre inside the image keeps half a side
            EXPECT_GE(x1 - x0 + 1, size / 2);
            corners.insert({y0, x0});
            for (int ch = 0; ch < C; ch++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        bool in = y >= y0 && y <= y1 && x >= x0 && x <= x1;
                        EXPECT_EQ(z[(ch * H + y) * W + x], in ? 0.0f : a[(ch * H + y) * W + x]);
                    }
        }
    EXPECT_GT(corners.size(), 5u);
    ds_loader_free(&plain);
    ds_loader_free(&cut);
    ds_loader_free(&again);
}

TEST(Validation, DisjointCompleteAndSeeded) {
    Toy t, u, v;
    ds_split val, val_u, val_v;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_split_validation(&t.ds, 6, 77, &val, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_split_validation(&u.ds, 6, 77, &val_u, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_split_validation(&v.ds, 6, 78, &val_v, err, sizeof err), 0) << err;
    ASSERT_EQ(val.n, 6u);
    ASSERT_EQ(t.ds.train.n, N - 6);
    std::vector<uint8_t> pristine(N * IMG);
    dsfx_pattern(pristine.data(), pristine.size(), 3, 1);
    std::set<int> seen;
    for (const ds_split *s : {(const ds_split *)&t.ds.train, (const ds_split *)&val})
        for (uint32_t i = 0; i < s->n; i++) {
            int id = s->labels[i];
            EXPECT_TRUE(seen.insert(id).second) << "image " << id << " in both splits";
            EXPECT_EQ(memcmp(s->images + (size_t)i * IMG, pristine.data() + (size_t)id * IMG, IMG), 0);
            if (i) {
                EXPECT_LT(s->labels[i - 1], id);  // original order kept within each split
            }
        }
    EXPECT_EQ(seen.size(), N);
    EXPECT_EQ(std::vector<uint8_t>(val.labels, val.labels + 6), std::vector<uint8_t>(val_u.labels, val_u.labels + 6));
    EXPECT_NE(std::vector<uint8_t>(val.labels, val.labels + 6), std::vector<uint8_t>(val_v.labels, val_v.labels + 6));
    ds_split_free(&val), ds_split_free(&val_u), ds_split_free(&val_v);
    // A loader over the validation split works like any other.
    Toy w;
    ds_split vw;
    ASSERT_EQ(ds_split_validation(&w.ds, 1, 1, &vw, err, sizeof err), 0) << err;
    ds_loader L;
    ASSERT_EQ(ds_loader_init(&L, &w.ds, &vw, 0, 1, 4, 1, 0, 1), 0);
    EXPECT_EQ(run_epoch(&L, 4).size(), 1u);
    ds_loader_free(&L);
    ds_split_free(&vw);
}

TEST(Validation, SizeMustLeaveTrainingImages) {
    Toy t;
    ds_split val;
    char err[DS_ERR_MAX] = "";
    EXPECT_NE(ds_split_validation(&t.ds, N, 1, &val, err, sizeof err), 0);
    EXPECT_NE(std::string(err).find("validation size 23 must be between 1 and 22"), std::string::npos) << err;
    EXPECT_NE(ds_split_validation(&t.ds, 0, 1, &val, err, sizeof err), 0);
    EXPECT_EQ(t.ds.train.n, N);
}

TEST(Subset, SeededDrawnFromTheWholeSplitInStoreOrder) {
    Toy t, u, v, all;
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_split_subset(&t.ds, 8, 5, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_split_subset(&u.ds, 8, 5, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_split_subset(&v.ds, 8, 6, err, sizeof err), 0) << err;
    ASSERT_EQ(ds_split_subset(&all.ds, N, 5, err, sizeof err), 0) << err;   // not below n: kept whole
    EXPECT_EQ(all.ds.train.n, N);
    ASSERT_EQ(t.ds.train.n, 8u);
    std::vector<uint8_t> pristine(N * IMG);
    dsfx_pattern(pristine.data(), pristine.size(), 3, 1);
    for (uint32_t i = 0; i < 8; i++) {
        int id = t.ds.train.labels[i];
        EXPECT_EQ(memcmp(t.ds.train.images + (size_t)i * IMG, pristine.data() + (size_t)id * IMG, IMG), 0);
        if (i) EXPECT_LT(t.ds.train.labels[i - 1], id);
    }
    EXPECT_GE(t.ds.train.labels[7], 8) << "the first 8 images: a prefix, not a draw";
    std::vector<uint8_t> a(t.ds.train.labels, t.ds.train.labels + 8), b(u.ds.train.labels, u.ds.train.labels + 8),
        c(v.ds.train.labels, v.ds.train.labels + 8);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
}

// A store kept class by class (as an image-folder import writes it): the subset still holds
// every class in about its share.
TEST(Subset, ClassBlockedStoreGivesAMixedSubset) {
    constexpr uint32_t n = 1000, classes = 10, keep = 200;
    ds_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.c = 1, ds.h = 1, ds.w = 1, ds.n_classes = classes;
    ds.train = {(uint8_t *)calloc(n, 1), (uint8_t *)malloc(n), n};
    for (uint32_t i = 0; i < n; i++) ds.train.labels[i] = (uint8_t)(i / (n / classes));
    char err[DS_ERR_MAX] = "";
    ASSERT_EQ(ds_split_subset(&ds, keep, 1, err, sizeof err), 0) << err;
    ASSERT_EQ(ds.train.n, keep);
    int count[classes] = {0};
    for (uint32_t i = 0; i < keep; i++) count[ds.train.labels[i]]++;
    for (uint32_t k = 0; k < classes; k++) {
        EXPECT_GE(count[k], 8) << "class " << k;   // 20 expected; binomial sd 4
        EXPECT_LE(count[k], 32) << "class " << k;
    }
    ds_free(&ds);
}

}  // namespace
