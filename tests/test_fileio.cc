// fileio (atomic writes, mkdir -p, bounded reads) and the JSON writer/reader.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "base/fileio.h"
#include "base/json.h"
}

namespace {

class TmpDir : public ::testing::Test {
protected:
    std::string dir;
    void SetUp() override
    {
        char tmpl[] = "/tmp/hx_fileio_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::string cmd = "rm -rf '" + dir + "'"; (void)system(cmd.c_str()); }
    std::string p(const std::string &name) const { return dir + "/" + name; }
    // Names in dir, sorted.
    std::vector<std::string> ls(const std::string &sub = "") const
    {
        std::vector<std::string> out;
        DIR *d = opendir((dir + "/" + sub).c_str());
        if (!d) return out;
        while (dirent *e = readdir(d))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) out.push_back(e->d_name);
        closedir(d);
        std::sort(out.begin(), out.end());
        return out;
    }
    std::string slurp(const std::string &path) const
    {
        char *buf = nullptr, err[512];
        size_t len = 0;
        EXPECT_EQ(fio_read_all(path.c_str(), 1 << 20, &buf, &len, err, sizeof err), 0) << err;
        std::string s(buf ? buf : "", len);
        free(buf);
        return s;
    }
};

using FileIO = TmpDir;
using Json = TmpDir;

TEST_F(FileIO, AtomicWriteReplacesAndLeavesNoTmp)
{
    char err[512];
    std::string f = p("a.txt");
    ASSERT_EQ(fio_write_string(f.c_str(), "first", err, sizeof err), 0) << err;
    EXPECT_EQ(slurp(f), "first");
    const char bin[] = {'x', '\0', 'y'};
    ASSERT_EQ(fio_write_atomic(f.c_str(), bin, 3, err, sizeof err), 0) << err;
    EXPECT_EQ(slurp(f), std::string(bin, 3));
    EXPECT_EQ(ls(), std::vector<std::string>{"a.txt"});
    ASSERT_EQ(fio_write_atomic(f.c_str(), "", 0, err, sizeof err), 0) << err;
    EXPECT_EQ(slurp(f), "");
}

TEST_F(FileIO, FailedWriteKeepsOriginal)
{
    char err[512];
    // A directory stands where the file should go: the rename fails, the directory and its
    // content survive, and the temporary file is gone.
    std::string d = p("out");
    ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
    std::string inner = d + "/keep.txt";
    ASSERT_EQ(fio_write_string(inner.c_str(), "keep", err, sizeof err), 0);
    err[0] = '\0';
    EXPECT_EQ(fio_write_string(d.c_str(), "new", err, sizeof err), -1);
    EXPECT_NE(strstr(err, d.c_str()), nullptr) << err;
    EXPECT_NE(strstr(err, strerror(EISDIR)), nullptr) << err;
    EXPECT_EQ(slurp(inner), "keep");
    EXPECT_EQ(ls(), std::vector<std::string>{"out"});
    EXPECT_EQ(ls("out"), std::vector<std::string>{"keep.txt"});

    // Missing parent directory: nothing is created, message names the path.
    std::string nested = p("nope/x.json");
    EXPECT_EQ(fio_write_string(nested.c_str(), "x", err, sizeof err), -1);
    EXPECT_NE(strstr(err, nested.c_str()), nullptr) << err;
    EXPECT_NE(strstr(err, strerror(ENOENT)), nullptr) << err;
}

TEST_F(FileIO, StreamDiscardKeepsOriginal)
{
    char err[512], tmp[FIO_PATH_MAX];
    std::string f = p("b.txt");
    ASSERT_EQ(fio_write_string(f.c_str(), "old", err, sizeof err), 0);
    FILE *fp = fio_open_tmp(f.c_str(), tmp, sizeof tmp, err, sizeof err);
    ASSERT_NE(fp, nullptr) << err;
    EXPECT_EQ(std::string(tmp), f + ".tmp." + std::to_string(getpid()));
    fputs("half", fp);
    fio_close_discard(fp, tmp);
    EXPECT_EQ(slurp(f), "old");
    EXPECT_EQ(ls(), std::vector<std::string>{"b.txt"});
    fp = fio_open_tmp(f.c_str(), tmp, sizeof tmp, err, sizeof err);
    ASSERT_NE(fp, nullptr) << err;
    fputs("whole", fp);
    EXPECT_EQ(slurp(f), "old");  // not visible until committed
    ASSERT_EQ(fio_close_commit(fp, tmp, f.c_str(), err, sizeof err), 0) << err;
    EXPECT_EQ(slurp(f), "whole");
    EXPECT_EQ(ls(), std::vector<std::string>{"b.txt"});
}

// Pieces written one after another into one file (a sealed HDF5 file's block and body), and the
// folder of a file made first (dataset stores); a failed write names the file and keeps the old one.
TEST_F(FileIO, SpansParentFoldersAndFailedWrites)
{
    char err[512];
    std::string f = p("x/y/two.bin");
    ASSERT_EQ(fio_mkdir_parent(f.c_str(), err, sizeof err), 0) << err;
    EXPECT_EQ(ls("x"), std::vector<std::string>{"y"});
    EXPECT_EQ(fio_mkdir_parent("plain-name", err, sizeof err), 0) << err;   // no folder part: nothing to do
    const fio_span parts[3] = {{"head", 4}, {"", 0}, {"-body", 5}};
    ASSERT_EQ(fio_write_spans(f.c_str(), parts, 3, err, sizeof err), 0) << err;
    EXPECT_EQ(slurp(f), "head-body");
    EXPECT_EQ(ls("x/y"), std::vector<std::string>{"two.bin"});
    std::string tmp = f + ".tmp." + std::to_string(getpid());
    ASSERT_EQ(symlink("/dev/full", tmp.c_str()), 0);   // the temporary file's writes fail: ENOSPC
    EXPECT_EQ(fio_write_spans(f.c_str(), parts, 3, err, sizeof err), -1);
    EXPECT_EQ(std::string(err), f + ": cannot write: " + strerror(ENOSPC) + "; the previous file (if any) is unchanged");
    EXPECT_EQ(slurp(f), "head-body");
    EXPECT_EQ(ls("x/y"), std::vector<std::string>{"two.bin"});
}

TEST_F(FileIO, MkdirP)
{
    char err[512];
    std::string d = p("a/b/c");
    ASSERT_EQ(fio_mkdir_p(d.c_str(), err, sizeof err), 0) << err;
    struct stat st;
    ASSERT_EQ(stat(d.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(fio_mkdir_p(d.c_str(), err, sizeof err), 0) << err;            // exists: fine
    EXPECT_EQ(fio_mkdir_p((d + "/").c_str(), err, sizeof err), 0) << err;    // trailing slash
    ASSERT_EQ(fio_write_string(p("file").c_str(), "x", err, sizeof err), 0);
    EXPECT_EQ(fio_mkdir_p(p("file/sub").c_str(), err, sizeof err), -1);      // a file in the way
    EXPECT_NE(strstr(err, p("file").c_str()), nullptr) << err;
    EXPECT_TRUE(fio_exists(p("a/b").c_str()));
    EXPECT_FALSE(fio_exists(p("zzz").c_str()));
}

TEST_F(FileIO, ReadAllLimits)
{
    char err[512], *buf = nullptr;
    size_t len = 0;
    std::string f = p("r.txt");
    std::string content(1000, 'q');
    ASSERT_EQ(fio_write_string(f.c_str(), content.c_str(), err, sizeof err), 0);
    ASSERT_EQ(fio_read_all(f.c_str(), 1000, &buf, &len, err, sizeof err), 0) << err;
    EXPECT_EQ(len, 1000u);
    EXPECT_EQ(buf[1000], '\0');
    EXPECT_EQ(std::string(buf, len), content);
    free(buf);
    EXPECT_EQ(fio_read_all(f.c_str(), 999, &buf, &len, err, sizeof err), -1);
    EXPECT_EQ(buf, nullptr);
    EXPECT_NE(strstr(err, f.c_str()), nullptr) << err;
    EXPECT_NE(strstr(err, "999"), nullptr) << err;
    std::string missing = p("missing.txt");
    EXPECT_EQ(fio_read_all(missing.c_str(), 10, &buf, &len, err, sizeof err), -1);
    EXPECT_EQ(std::string(err), missing + ": cannot open: " + strerror(ENOENT));
    EXPECT_EQ(fio_read_all(dir.c_str(), 10, &buf, &len, err, sizeof err), -1);
    EXPECT_NE(strstr(err, dir.c_str()), nullptr) << err;
}

// ---- JSON ---------------------------------------------------------------------------------

TEST(JsonWriter, Layout)
{
    json_w w;
    json_init(&w);
    json_obj_begin(&w, nullptr);
    json_str(&w, "name", "x");
    json_arr_begin(&w, "acc");
    json_num(&w, nullptr, 0.5);
    json_int(&w, nullptr, 2);
    json_arr_end(&w);
    json_arr_begin(&w, "layers");
    json_obj_begin(&w, nullptr);
    json_bool(&w, "ok", 1);
    json_obj_end(&w);
    json_arr_end(&w);
    json_obj_begin(&w, "empty");
    json_obj_end(&w);
    json_null(&w, "none");
    json_obj_end(&w);
    EXPECT_STREQ(json_text(&w),
                 "{\n"
                 "  \"name\": \"x\",\n"
                 "  \"acc\": [0.5, 2],\n"
                 "  \"layers\": [\n"
                 "    {\n"
                 "      \"ok\": true\n"
                 "    }\n"
                 "  ],\n"
                 "  \"empty\": {},\n"
                 "  \"none\": null\n"
                 "}\n");
    json_free(&w);
}

// Bytes that are not UTF-8 (a config path in another encoding) used to go into result.json raw,
// making it invalid JSON; they are written as U+FFFD, well-formed UTF-8 as it is.
TEST(JsonWriter, NonUtf8BytesBecomeReplacementCharacters)
{
    json_w w;
    json_init(&w);
    json_str(&w, nullptr, "caf\xc3\xa9 \xff\xfe \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80 \xe2\x82");
    EXPECT_STREQ(json_text(&w), "\"caf\xc3\xa9 \\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80 "
                                "\\ufffd\\ufffd\"\n");
    json_free(&w);
}

TEST(JsonWriter, NumbersRoundTripShortest)
{
    const double vals[] = {0.1, 1.0 / 3.0, -2.5e-300, 1e300, 123456789012345678.0, 0.0, -1.0,
                           5e-324, 0.30000000000000004, 1e15, 97.53};
    json_w w;
    json_init(&w);
    json_arr_begin(&w, nullptr);
    for (double v : vals) json_num(&w, nullptr, v);
    json_num(&w, nullptr, NAN);
    json_num(&w, nullptr, -INFINITY);
    json_arr_end(&w);
    const char *t = json_text(&w);
    ASSERT_EQ(json_validate(t, nullptr, 0), 0) << t;
    int n = 0;
    ASSERT_EQ(json_get_count(t, "", &n), JSON_OK);
    EXPECT_EQ(n, 13);
    for (int i = 0; i < 11; i++) {
        double got;
        ASSERT_EQ(json_get_num(t, std::to_string(i).c_str(), &got), JSON_OK) << i;
        EXPECT_EQ(got, vals[i]) << i;  // bit-exact
    }
    double dummy;
    EXPECT_EQ(json_get_num(t, "11", &dummy), JSON_WRONG_TYPE);  // NaN was written as null
    EXPECT_NE(strstr(t, "[0.1, 0.3333333333333333, "), nullptr) << t;
    EXPECT_NE(strstr(t, ", 97.53, null, null]"), nullptr) << t;
    json_free(&w);
}

TEST_F(Json, RoundTripThroughFile)
{
    const char *tricky = "quote\" back\\ slash/ nl\n tab\t cr\r bell\x07 \x01 caf\xc3\xa9 \xe2\x82\xac";
    json_w w;
    json_init(&w);
    json_obj_begin(&w, nullptr);
    json_str(&w, "method", "xnor");
    json_str(&w, tricky, tricky);   // escaped keys too
    json_obj_begin(&w, "footprint");
    json_num(&w, "bytes", 12345.5);
    json_int(&w, "layers", -7);
    json_bool(&w, "sparse", 0);
    json_obj_end(&w);
    json_arr_begin(&w, "per_layer");
    for (int i = 0; i < 3; i++) {
        json_obj_begin(&w, nullptr);
        json_str(&w, "name", ("conv" + std::to_string(i)).c_str());
        json_arr_begin(&w, "bits");
        json_int(&w, nullptr, i);
        json_int(&w, nullptr, 2 * i);
        json_arr_end(&w);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    char err[512];
    std::string f = p("result.json");
    ASSERT_EQ(json_save(&w, f.c_str(), err, sizeof err), 0) << err;
    json_free(&w);
    EXPECT_EQ(ls(), std::vector<std::string>{"result.json"});

    char *t = nullptr;
    ASSERT_EQ(json_load(f.c_str(), 1 << 20, &t, err, sizeof err), 0) << err;
    char s[256];
    double d;
    int b, n;
    EXPECT_EQ(json_get_str(t, "method", s, sizeof s), JSON_OK);
    EXPECT_STREQ(s, "xnor");
    EXPECT_EQ(json_get_num(t, "footprint.bytes", &d), JSON_OK);
    EXPECT_EQ(d, 12345.5);
    EXPECT_EQ(json_get_num(t, "footprint.layers", &d), JSON_OK);
    EXPECT_EQ(d, -7);
    EXPECT_EQ(json_get_bool(t, "footprint.sparse", &b), JSON_OK);
    EXPECT_EQ(b, 0);
    EXPECT_EQ(json_get_count(t, "per_layer", &n), JSON_OK);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(json_get_count(t, "footprint", &n), JSON_OK);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(json_get_str(t, "per_layer.2.name", s, sizeof s), JSON_OK);
    EXPECT_STREQ(s, "conv2");
    EXPECT_EQ(json_get_num(t, "per_layer.2.bits.1", &d), JSON_OK);
    EXPECT_EQ(d, 4);
    // The escaped key (which holds no dot) is a member like any other.
    EXPECT_EQ(json_get_count(t, "", &n), JSON_OK);
    EXPECT_EQ(n, 4);
    EXPECT_EQ(json_get_str(t, tricky, s, sizeof s), JSON_OK);
    EXPECT_STREQ(s, tricky);
    json_w w2;
    json_init(&w2);
    json_obj_begin(&w2, nullptr);
    json_str(&w2, "k", tricky);
    json_obj_end(&w2);
    EXPECT_EQ(json_get_str(json_text(&w2), "k", s, sizeof s), JSON_OK);
    EXPECT_STREQ(s, tricky);
    json_free(&w2);
    // Missing / wrong type / too long.
    EXPECT_EQ(json_get_num(t, "footprint.nope", &d), JSON_MISSING);
    EXPECT_EQ(json_get_num(t, "per_layer.3.name", &d), JSON_MISSING);
    EXPECT_EQ(json_get_num(t, "per_layer.x", &d), JSON_MISSING);
    EXPECT_EQ(json_get_num(t, "method.sub", &d), JSON_MISSING);
    EXPECT_EQ(json_get_num(t, "method", &d), JSON_WRONG_TYPE);
    EXPECT_EQ(json_get_str(t, "footprint.bytes", s, sizeof s), JSON_WRONG_TYPE);
    EXPECT_EQ(json_get_str(t, "method", s, 4), JSON_TOO_LONG);
    EXPECT_STREQ(s, "xno");
    free(t);
}

// harness export rewrites result.json's packed figures in place: only the number changes.
TEST(JsonEdit, SetIntReplacesOnlyThatNumber)
{
    const char *orig = "{\"a\": 1, \"f\": {\"x\": -2.5e3, \"y\": \"s\"}, \"l\": [7, 8]}";
    char *t = strdup(orig);
    ASSERT_EQ(json_set_int(&t, "f.x", 123456789012LL), JSON_OK);
    EXPECT_STREQ(t, "{\"a\": 1, \"f\": {\"x\": 123456789012, \"y\": \"s\"}, \"l\": [7, 8]}");
    ASSERT_EQ(json_set_int(&t, "l.1", -3), JSON_OK);
    ASSERT_EQ(json_set_int(&t, "a", 0), JSON_OK);
    EXPECT_STREQ(t, "{\"a\": 0, \"f\": {\"x\": 123456789012, \"y\": \"s\"}, \"l\": [7, -3]}");
    EXPECT_EQ(json_validate(t, nullptr, 0), 0);
    EXPECT_EQ(json_set_int(&t, "f.y", 1), JSON_WRONG_TYPE);
    EXPECT_EQ(json_set_int(&t, "f.z", 1), JSON_MISSING);
    EXPECT_EQ(json_set_int(&t, "f", 1), JSON_WRONG_TYPE);
    free(t);
}

// harness export adds packed figures to records written before them: appended to the object, in
// the indentation of its first member, the rest kept byte for byte.
TEST(JsonEdit, AddIntAppendsAMember)
{
    char *t = strdup("{\n  \"f\": {\n    \"x\": 1\n  },\n  \"e\": {}, \"s\": \"v\"\n}");
    ASSERT_EQ(json_add_int(&t, "f", "y", -7), JSON_OK);
    EXPECT_STREQ(t, "{\n  \"f\": {\n    \"x\": 1,\n    \"y\": -7\n  },\n  \"e\": {}, \"s\": \"v\"\n}");
    ASSERT_EQ(json_add_int(&t, "e", "z", 3), JSON_OK);
    EXPECT_NE(strstr(t, "\"e\": {\"z\": 3}"), nullptr) << t;
    EXPECT_EQ(json_validate(t, nullptr, 0), 0);
    double v = 0;
    EXPECT_EQ(json_get_num(t, "f.y", &v), JSON_OK);
    EXPECT_EQ(v, -7);
    EXPECT_EQ(json_add_int(&t, "s", "k", 1), JSON_WRONG_TYPE);
    EXPECT_EQ(json_add_int(&t, "nope", "k", 1), JSON_MISSING);
    free(t);
}

TEST(JsonReader, UnicodeEscapes)
{
    char s[64];
    const char *t = "{\"a\": \"\\u00e9\\u20ac\\ud83d\\ude00\\/\", \"b\" : [ 1 , {\"c\":-0.5e+1} ] }";
    ASSERT_EQ(json_validate(t, nullptr, 0), 0);
    ASSERT_EQ(json_get_str(t, "a", s, sizeof s), JSON_OK);
    EXPECT_STREQ(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/");
    double d;
    ASSERT_EQ(json_get_num(t, "b.1.c", &d), JSON_OK);
    EXPECT_EQ(d, -5.0);
}

TEST(JsonReader, RejectsMalformed)
{
    struct { const char *text, *msg; } bad[] = {
        {"", "line 1, column 1: unexpected end of text"},
        {"{\"a\": 1,}", "line 1, column 9: expected a member name"},
        {"{\"a\" 1}", "line 1, column 6: expected ':'"},
        {"[1, 2\n, 3", "line 2, column 4: expected ',' or ']'"},
        {"[01]", "line 1, column 3: expected ',' or ']'"},
        {"[1.]", "line 1, column 4: invalid number"},
        {"[NaN]", "line 1, column 2: expected a value"},
        {"\"abc", "line 1, column 5: unterminated string"},
        {"\"a\tb\"", "line 1, column 3: control character in string"},
        {"\"\\x\"", "line 1, column 4: invalid escape in string"},
        {"\"\\ud800\"", "line 1, column 8: unpaired surrogate in \\u escape"},
        {"{} []", "line 1, column 4: text after the JSON value"},
        {"tru", "line 1, column 1: expected a value"},
    };
    for (auto &b : bad) {
        char err[256] = "";
        EXPECT_EQ(json_validate(b.text, err, sizeof err), -1) << b.text;
        EXPECT_STREQ(err, b.msg) << b.text;
    }
}

TEST_F(Json, LoadNamesFile)
{
    char err[512], *t = nullptr;
    std::string f = p("bad.json");
    ASSERT_EQ(fio_write_string(f.c_str(), "{\n  \"a\": [1,\n}", err, sizeof err), 0);
    EXPECT_EQ(json_load(f.c_str(), 1000, &t, err, sizeof err), -1);
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(std::string(err), f + ": line 3, column 1: expected a value");
}

}  // namespace

// ---- PNG ------------------------------------------------------------------------------------
extern "C" {
#include <png.h>
#include "harness/png_out.h"
}

namespace {

// Reads a PNG back in its stored format; returns the pixels (empty on failure).
std::vector<uint8_t> read_png(const std::string &path, png_uint_32 format, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path.c_str())) return {};
    bool gray = !(img.format & PNG_FORMAT_FLAG_COLOR);
    EXPECT_EQ(gray, format == PNG_FORMAT_GRAY);
    img.format = format;
    std::vector<uint8_t> px(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, nullptr, px.data(), 0, nullptr)) return {};
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

using Png = TmpDir;

TEST_F(Png, GrayAndRgbRoundTrip)
{
    const int w = 13, h = 7;
    std::vector<uint8_t> g(w * h), rgb(w * h * 3);
    for (size_t i = 0; i < g.size(); i++) g[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < rgb.size(); i++) rgb[i] = (uint8_t)(i * 101 + 3);
    char err[512];
    ASSERT_EQ(png_write_gray(p("g.png").c_str(), w, h, g.data(), err, sizeof err), 0) << err;
    ASSERT_EQ(png_write_rgb(p("c.png").c_str(), w, h, rgb.data(), err, sizeof err), 0) << err;
    EXPECT_EQ(ls(), (std::vector<std::string>{"c.png", "g.png"}));
    int rw = 0, rh = 0;
    EXPECT_EQ(read_png(p("g.png"), PNG_FORMAT_GRAY, &rw, &rh), g);
    EXPECT_EQ(rw, w);
    EXPECT_EQ(rh, h);
    EXPECT_EQ(read_png(p("c.png"), PNG_FORMAT_RGB, &rw, &rh), rgb);
    std::string bad = p("missing/x.png");
    EXPECT_EQ(png_write_gray(bad.c_str(), w, h, g.data(), err, sizeof err), -1);
    EXPECT_NE(strstr(err, bad.c_str()), nullptr) << err;
}

TEST_F(Png, GridPlacesTiles)
{
    // 5 RGB tiles of 2x3 in 3 columns, pad 1: 3*(3+1)+1 = 13 wide, 2*(2+1)+1 = 7 high.
    const int n = 5, c = 3, h = 2, w = 3, cols = 3, pad = 1;
    std::vector<uint8_t> imgs(n * c * h * w);
    auto val = [](int i, int ch, int y, int x) { return (uint8_t)(1 + i * 40 + ch * 10 + y * 3 + x); };
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) imgs[((i * c + ch) * h + y) * w + x] = val(i, ch, y, x);
    char err[512];
    int W = 0, H = 0;
    uint8_t *tiled = png_tile(imgs.data(), n, c, h, w, cols, pad, 0, &W, &H);
    ASSERT_NE(tiled, nullptr);
    int rc = png_write_rgb(p("grid.png").c_str(), W, H, tiled, err, sizeof err);
    free(tiled);
    ASSERT_EQ(rc, 0) << err;
    std::vector<uint8_t> px = read_png(p("grid.png"), PNG_FORMAT_RGB, &W, &H);
    ASSERT_EQ(W, 13);
    ASSERT_EQ(H, 7);
    std::vector<int> covered(W * H, 0);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int X = pad + (i % cols) * (w + pad) + x, Y = pad + (i / cols) * (h + pad) + y;
                covered[Y * W + X] = 1;
                for (int ch = 0; ch < c; ch++) EXPECT_EQ(px[(Y * W + X) * 3 + ch], val(i, ch, y, x));
            }
    for (int k = 0; k < W * H; k++)
        if (!covered[k])
            for (int ch = 0; ch < 3; ch++) EXPECT_EQ(px[k * 3 + ch], 0) << k;  // padding and the empty 6th slot

    // Gray: tile() alone, with a visible background.
    int gw, gh;
    uint8_t *g = png_tile(imgs.data(), 2, 1, 3, 3, 4, 2, 200, &gw, &gh);  // cols clamps to n
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(gw, 2 * (3 + 2) + 2);
    EXPECT_EQ(gh, 3 + 4);
    EXPECT_EQ(g[0], 200);
    EXPECT_EQ(g[2 * gw + 2], imgs[0]);
    EXPECT_EQ(g[(2 + 2) * gw + 2 + 5 + 2], imgs[9 + 8]);  // image 1, y=2, x=2
    free(g);
}

TEST(PngScale, SignedValuesAroundMidGray)
{
    const float x[] = {-1.0f, 0.0f, 1.0f, NAN, 0.5f, -3.0f, 3.0f};
    uint8_t out[7];
    png_signed_to_u8(x, 7, 1.0f, out);
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[1], 128);   // 127.5 rounds to even
    EXPECT_EQ(out[2], 255);
    EXPECT_EQ(out[3], 0);
    EXPECT_EQ(out[4], 191);   // 127.5 + 63.75
    EXPECT_EQ(out[5], 0);     // beyond absmax: clamped
    EXPECT_EQ(out[6], 255);
    png_signed_to_u8(x, 3, 0.0f, out);   // all-zero layer: everything mid-gray
    EXPECT_EQ(out[0], 128);
    EXPECT_EQ(out[2], 128);
}

TEST(PngUpscale, EveryPixelBecomesABlock)
{
    // 2x2 RGB, factor 3: 6x6, pixel (x, y) fills [3x, 3x+3) x [3y, 3y+3).
    const uint8_t rgb[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t *big = png_upscale(rgb, 2, 2, 3, 3);
    ASSERT_NE(big, nullptr);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
            for (int ch = 0; ch < 3; ch++)
                EXPECT_EQ(big[(y * 6 + x) * 3 + ch], rgb[((y / 3) * 2 + x / 3) * 3 + ch]) << x << "," << y;
    free(big);
    uint8_t *same = png_upscale(rgb, 4, 3, 1, 1);   // factor 1: a copy
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(memcmp(same, rgb, 12), 0);
    free(same);
}

}  // namespace
