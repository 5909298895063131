/* harness table: grouping over seeds, Δ vs baseline, the join with reference.csv, the three
 * output formats and the errors on bad input. Runs are synthetic folders written here. */
#include <gtest/gtest.h>
#include <cmath>
#include <string>
#include <vector>
#include "report_fixture.h"
extern "C" {
#include "harness/report_ref.h"
#include "harness/report_runs.h"
#include "harness/table.h"
}

namespace {

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) { out.push_back(cur); cur.clear(); }
        else cur += ch;
    }
    out.push_back(cur);
    return out;
}

/* Markdown table row starting with "| first |": its cells, trimmed. */
std::vector<std::string> md_row(const std::string &doc, const std::string &first)
{
    size_t at = doc.find("| " + first + " |");
    if (at == std::string::npos) return {};
    std::string line = doc.substr(at, doc.find('\n', at) - at);
    std::vector<std::string> cells;
    for (std::string c : split(line.substr(2, line.size() - 4), '|')) {
        size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
        cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    return cells;
}

/* CSV line whose first fields are part,arch,dataset,method. */
std::vector<std::string> csv_row(const std::string &doc, const std::string &prefix)
{
    for (const std::string &line : split(doc, '\n'))
        if (line.compare(0, prefix.size(), prefix) == 0) return split(line, ',');
    return {};
}

struct Table : ::testing::Test {
    std::string root, runs, ref;
    char err[2048] = "";
    void SetUp() override
    {
        root = fx_tempdir("table");
        runs = root + "/runs";
        mkdir(runs.c_str(), 0777);
        ref = root + "/reference.csv";
        fx_write(ref, "method,arch,dataset,setting,w_bits,a_bits,baseline_top1,top1,delta,compression,"
                      "compression_of,confirmed,source,notes\n"
                      "xnor:bwn,lenet5,mnist,BWN,1,32,99.30,99.10,-0.20,32,32/w_bits,yes,Paper A Table 1,\n"
                      "xnor:bwn,lenet5,mnist,\"other setting, longer\",1,32,99.0,98.0,-1.0,32,32/w_bits,no,Paper B,\n"
                      "ttq,resnet20,cifar10,ternary,2,32,91.77,91.13,-0.64,16,32/w_bits,no,Paper C,\n");
        /* Two baseline seeds, three BWN seeds, one XNOR seed. */
        fx_run b;
        b.id = "base-1"; b.acc = 99.0; fx_write_run(runs, b);
        b.id = "base-2"; b.seed = 2; b.acc = 99.2; fx_write_run(runs, b);
        fx_run x;
        x.method = "xnor"; x.mode = "bwn";
        x.layers = {{"conv1", 32, 32, 500}, {"conv2", 1, 32, 25000}, {"fc1", 1, 32, 400000}, {"fc2", 32, 32, 5000}};
        x.bytes = 2000; x.macs_needed = 250;
        x.packed_bytes = 2500;   /* the BWN seeds were exported: stored bytes above the accounting */
        const double accs[] = {98.0, 98.5, 99.0};
        for (int i = 0; i < 3; i++) {
            x.id = "bwn-" + std::to_string(i); x.seed = i + 1; x.acc = accs[i];
            if (i > 0) { x.agree_differ = i; x.agree_images = 100; }   /* seed 1 recorded before the check */
            fx_write_run(runs, x);
        }
        x.mode = "xnor"; x.id = "xnor-1"; x.seed = 1; x.acc = 97.0; x.packed_bytes = 0; x.agree_differ = -1;
        for (auto &l : x.layers) l.a_bits = l.w_bits;
        fx_write_run(runs, x);
    }
    void TearDown() override { fx_rmtree(root); }
    std::string run_table(std::vector<std::string> args, int expect_rc = 0)
    {
        std::vector<char *> argv;
        for (auto &a : args) argv.push_back(&a[0]);
        char *buf = nullptr;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int rc = hx_table_main((int)argv.size(), argv.data(), out, err, sizeof err);
        fclose(out);
        std::string s(buf, len);
        free(buf);
        EXPECT_EQ(rc, expect_rc) << err;
        return s;
    }
};

TEST_F(Table, GroupsBySettingWithMeanAndSampleStd)
{
    rr_set s;
    ASSERT_EQ(rr_load(runs.c_str(), 0, nullptr, &s, err, sizeof err), 0) << err;
    EXPECT_EQ(s.n_runs, 6);
    ASSERT_EQ(s.n_groups, 3);
    EXPECT_STREQ(s.groups[0].key, "none");   /* baseline first within a model */
    EXPECT_STREQ(s.groups[1].key, "xnor:bwn");
    EXPECT_STREQ(s.groups[2].key, "xnor:xnor");
    const rr_group &bwn = s.groups[1];
    EXPECT_EQ(bwn.n_runs, 3);
    EXPECT_NEAR(bwn.acc.mean, 98.5, 1e-12);
    EXPECT_NEAR(bwn.acc.std, 0.5, 1e-12);   /* sample std of 98, 98.5, 99 */
    EXPECT_NEAR(s.groups[0].acc.mean, 99.1, 1e-12);
    EXPECT_NEAR(s.groups[0].acc.std, std::sqrt(0.02), 1e-12);
    EXPECT_EQ(s.groups[2].acc.std, 0.0);     /* one seed */
    EXPECT_EQ(bwn.baseline, 0);
    EXPECT_NEAR(bwn.bytes.mean, 2500, 1e-12);        /* the stored bytes, */
    EXPECT_NEAR(bwn.bytes_bits.mean, 2000, 1e-12);   /* the accounting beside them */
    EXPECT_EQ(bwn.n_packed, 3);
    EXPECT_NEAR(bwn.compression.mean, 12.8, 1e-12);  /* of the stored bytes */
    EXPECT_NEAR(s.groups[2].compression.mean, 16.0, 1e-12);   /* never exported: the accounting */
    EXPECT_EQ(s.groups[2].n_packed, 0);
    EXPECT_NEAR(bwn.macs_ratio.mean, 0.25, 1e-12);
    rr_free(&s);
}

TEST_F(Table, BitSummaryNamesFullPrecisionEndsOrTheMean)
{
    rr_run r;
    ASSERT_EQ(rr_read_run((runs + "/xnor-1").c_str(), &r, err, sizeof err), 0) << err;
    char t[64];
    rr_bits_text(&r.w, t, sizeof t);
    EXPECT_STREQ(t, "1 (fp first/last)");
    EXPECT_STREQ(r.key, "xnor:xnor");
    fx_run d;
    d.id = "dc"; d.method = "deep-compression";
    d.layers = {{"conv1", 8, 32, 500}, {"conv2", 8, 32, 25000}, {"fc1", 5, 32, 400000}, {"fc2", 5, 32, 5000}};
    fx_write_run(root, d);
    ASSERT_EQ(rr_read_run((root + "/dc").c_str(), &r, err, sizeof err), 0) << err;
    rr_bits_text(&r.w, t, sizeof t);
    char want[64];
    snprintf(want, sizeof want, "5 (mean %.1f)", (8.0 * 25500 + 5.0 * 405000) / 430500);
    EXPECT_STREQ(t, want);
    EXPECT_STREQ(r.key, "deep-compression");   /* no mode in its config.ini */
    rr_bits_text(&r.a, t, sizeof t);
    EXPECT_STREQ(t, "32");
}

TEST_F(Table, MarkdownJoinsReferenceAndListsUnrunSettings)
{
    std::string md = run_table({"--runs", runs, "--ref", ref});
    auto row = md_row(md, "XNOR-Net (bwn)");
    ASSERT_EQ(row.size(), 14u) << md;
    EXPECT_EQ(row[1], "1 (fp first/last)");
    EXPECT_EQ(row[2], "32");
    EXPECT_EQ(row[3], "98.50 ± 0.50");
    EXPECT_EQ(row[4], "99.1 [1]");
    EXPECT_EQ(row[5], "-0.60");   /* 98.5 - 99.1 */
    EXPECT_EQ(row[6], "-0.2");
    EXPECT_EQ(row[7], "2.5");
    EXPECT_EQ(row[8], "2.0");
    EXPECT_EQ(row[9], "12.8");
    EXPECT_EQ(row[10], "0.25");
    EXPECT_EQ(row[12], "3 of 200 (2 of 3 seeds)") << "differing predictions summed over the seeds that record them";
    EXPECT_EQ(row[13], "3");
    auto x = md_row(md, "XNOR-Net (xnor)");
    ASSERT_EQ(x.size(), 14u);
    EXPECT_EQ(x[12], "—");
    EXPECT_EQ(x[2], "1 (fp first/last)");
    EXPECT_EQ(x[3], "97.00");
    EXPECT_EQ(x[4], "—");          /* no published xnor:xnor row */
    EXPECT_EQ(x[5], "-2.10");
    EXPECT_EQ(x[7], "2.0 ‡");      /* no model.packed.h5 figure: the accounting, marked */
    EXPECT_EQ(x[9], "16.0");
    auto base = md_row(md, "Full precision");
    ASSERT_EQ(base.size(), 14u);
    EXPECT_EQ(base[5], "—");
    EXPECT_EQ(base[13], "2");
    EXPECT_NE(md.find("[1] Paper A Table 1"), std::string::npos);
    /* Unrun settings: the second BWN row and the TTQ row, with their marks. */
    size_t only = md.find("## Reported only");
    ASSERT_NE(only, std::string::npos);
    std::string tail = md.substr(only);
    auto ttq = md_row(tail, "resnet20");
    ASSERT_EQ(ttq.size(), 11u);
    EXPECT_EQ(ttq[2], "ttq");
    EXPECT_EQ(ttq[7], "91.13\\*");
    EXPECT_EQ(ttq[8], "-0.64\\*");
    EXPECT_EQ(ttq[9], "16 (32/w_bits)");
    EXPECT_NE(tail.find("other setting, longer"), std::string::npos);
    EXPECT_EQ(tail.find("Paper A"), std::string::npos);   /* the matched row is not repeated */
}

TEST_F(Table, FlagsRowsWhoseSeedsDifferInConfigOrCode)
{
    std::string dir = root + "/flagged";
    mkdir(dir.c_str(), 0777);
    fx_run r;
    r.recipe = "aaaa"; r.code_version = "0.1.0+src.1";
    for (int i = 0; i < 3; i++) { r.id = "same-" + std::to_string(i); r.seed = i + 1; fx_write_run(dir, r); }
    std::string md = run_table({"--runs", dir, "--ref", ref});
    auto row = md_row(md, "Full precision");
    ASSERT_EQ(row.size(), 14u) << md;
    EXPECT_EQ(row[13], "3");                        // seeds of one config and one code: no flag
    EXPECT_EQ(md.find("Warning"), std::string::npos) << md;
    r.id = "other-config"; r.seed = 4; r.recipe = "bbbb"; fx_write_run(dir, r);
    r.id = "other-code"; r.seed = 5; r.recipe = "aaaa"; r.code_version = "0.1.0+src.2"; fx_write_run(dir, r);
    r.id = "other-base"; r.seed = 6; r.code_version = "0.1.0+src.1"; r.pretrained_hash = "cccc"; fx_write_run(dir, r);
    md = run_table({"--runs", dir, "--ref", ref});
    row = md_row(md, "Full precision");
    ASSERT_EQ(row.size(), 14u) << md;
    EXPECT_EQ(row[13], "6 (2 configs; 2 code versions; 2 baselines)");
    EXPECT_NE(md.find("averages runs of 2 different configs"), std::string::npos) << md;
    EXPECT_NE(md.find("averages runs of 2 code versions"), std::string::npos) << md;
    EXPECT_NE(md.find("started from 2 different baselines"), std::string::npos) << md;
}

/* Runs of one dataset from two stores of it (the same images in another order) are flagged
 * once for the table; records without data_sources (older ones) are not counted. */
TEST_F(Table, FlagsRunsFromDifferentStoresOfADataset)
{
    std::string dir = root + "/stores";
    mkdir(dir.c_str(), 0777);
    fx_run r;
    r.id = "old"; fx_write_run(dir, r);                                  // no data_sources
    r.id = "a-1"; r.seed = 2; r.data_crcs = {"fb134abf", "558b75a6"}; fx_write_run(dir, r);
    fx_run x;
    x.method = "xnor"; x.mode = "bwn"; x.id = "bwn-a"; x.data_crcs = {"fb134abf", "558b75a6"};
    fx_write_run(dir, x);
    std::string md = run_table({"--runs", dir, "--ref", ref});
    EXPECT_EQ(md.find("different stores"), std::string::npos) << md;
    x.id = "bwn-b"; x.seed = 2; x.data_crcs = {"11111111", "558b75a6"}; fx_write_run(dir, x);
    md = run_table({"--runs", dir, "--ref", ref});
    EXPECT_NE(md.find("the runs on mnist come from 2 different stores"), std::string::npos) << md;
}

/* A bit-width sweep of one method: one row per W/A setting, each its own seeds, none flagged. */
TEST_F(Table, SweepIsOneRowPerBitWidth)
{
    std::string dir = root + "/sweep";
    mkdir(dir.c_str(), 0777);
    fx_run r;
    r.method = "dorefa";
    const int bits[3] = {8, 2, 4};
    for (int i = 0; i < 6; i++) {
        int b = bits[i % 3];
        r.id = "dorefa-w" + std::to_string(b) + "-" + std::to_string(i);
        r.seed = 1 + i / 3;
        r.acc = 90.0 + b / 4.0 + i / 3;
        r.recipe = "d" + std::to_string(b);
        r.layers = {{"conv1", 32, 32, 500}, {"fc1", b, b, 4000}};
        fx_write_run(dir, r);
    }
    std::string csv = run_table({"--runs", dir, "--ref", ref, "--format", "csv"});
    auto head = split(csv.substr(0, csv.find('\n')), ',');
    size_t w = 0, acc = 0, seeds = 0;
    for (size_t i = 0; i < head.size(); i++) {
        if (head[i] == "w_bits") w = i;
        if (head[i] == "top1_mean") acc = i;
        if (head[i] == "seeds") seeds = i;
    }
    ASSERT_TRUE(w && acc && seeds) << csv;
    std::vector<std::vector<std::string>> rows;
    for (size_t p = csv.find("run,lenet5,mnist,dorefa,"); p != std::string::npos;
         p = csv.find("run,lenet5,mnist,dorefa,", p + 1))
        rows.push_back(split(csv.substr(p, csv.find('\n', p) - p), ','));
    ASSERT_EQ(rows.size(), 3u) << csv;
    const char *want_w[3] = {"2", "4", "8"};
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(rows[i][w], std::string(want_w[i]) + " (fp first)") << csv;
        EXPECT_EQ(rows[i][seeds], "2") << csv;
        EXPECT_DOUBLE_EQ(std::stod(rows[i][acc]), 90.5 + std::stoi(want_w[i]) / 4.0);
    }
    EXPECT_EQ(run_table({"--runs", dir, "--ref", ref}).find("Warning"), std::string::npos);
}

TEST_F(Table, CsvHasRawNumbersForRunsAndReportedOnlyRows)
{
    std::string csv = run_table({"--runs", runs, "--ref", ref, "--format", "csv"});
    auto head = split(csv.substr(0, csv.find('\n')), ',');
    auto row = csv_row(csv, "run,lenet5,mnist,xnor:bwn,");
    ASSERT_EQ(row.size(), head.size()) << csv;
    auto col = [&](const char *name) {
        for (size_t i = 0; i < head.size(); i++)
            if (head[i] == name) return row[i];
        ADD_FAILURE() << "no column " << name;
        return std::string();
    };
    EXPECT_DOUBLE_EQ(std::stod(col("top1_mean")), 98.5);
    EXPECT_DOUBLE_EQ(std::stod(col("top1_std")), 0.5);
    EXPECT_EQ(col("seeds"), "3");
    EXPECT_NEAR(std::stod(col("delta")), -0.6, 1e-9);
    EXPECT_DOUBLE_EQ(std::stod(col("reported_top1")), 99.1);
    EXPECT_EQ(col("reported_source"), "Paper A Table 1");
    auto ttq = csv_row(csv, "reported_only,resnet20,cifar10,ttq,");
    ASSERT_EQ(ttq.size(), head.size());
    EXPECT_NE(csv.find("\"other setting, longer\""), std::string::npos);   /* quoted: holds a comma */
}

TEST_F(Table, LatexEscapesAndOutFileIsWritten)
{
    std::string out = root + "/t.tex";
    std::string msg = run_table({"--runs", runs, "--ref", ref, "--format", "tex", "--out", out});
    EXPECT_NE(msg.find("wrote " + out), std::string::npos);
    std::string tex = fx_read(out);
    EXPECT_NE(tex.find("\\begin{tabular}"), std::string::npos);
    EXPECT_NE(tex.find("98.50 $\\pm$ 0.50"), std::string::npos);
    EXPECT_NE(tex.find("32/w\\_bits"), std::string::npos);
    EXPECT_EQ(tex.find("±"), std::string::npos);
    EXPECT_EQ(tex.find("‡"), std::string::npos);
    EXPECT_NE(tex.find("2.0 \\textsuperscript{\\ddag}"), std::string::npos);
    EXPECT_NE(tex.find("\\multicolumn{14}{l}{\\textbf{lenet5 / mnist}}"), std::string::npos);
}

TEST_F(Table, MalformedJsonNamesTheFileUnlessSkipped)
{
    std::string bad = runs + "/broken";
    mkdir(bad.c_str(), 0777);
    fx_write(bad + "/result.json", "{\"run_id\": \"broken\", \"method\": ");
    run_table({"--runs", runs, "--ref", ref}, -1);
    EXPECT_NE(std::string(err).find(bad + "/result.json"), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("--skip-bad"), std::string::npos) << err;
    std::string md = run_table({"--runs", runs, "--ref", ref, "--skip-bad"});
    EXPECT_NE(md.find("1 run(s) with a bad result.json skipped"), std::string::npos);
    EXPECT_EQ(md_row(md, "XNOR-Net (bwn)").size(), 14u);
}

TEST_F(Table, MissingKeyNamesFileAndKey)
{
    fx_run r;
    r.id = "nokey";
    fx_write_run(runs, r);
    std::string path = runs + "/nokey/result.json";
    std::string text = fx_read(path);
    size_t at = text.find("\"final_acc\"");
    text.replace(at, 11, "\"final_acx\"");
    fx_write(path, text);
    run_table({"--runs", runs, "--ref", ref}, -1);
    EXPECT_NE(std::string(err).find(path), std::string::npos) << err;
    EXPECT_NE(std::string(err).find("\"final_acc\" is missing"), std::string::npos) << err;
}

TEST_F(Table, BadArgumentsAndBadReferenceAreReported)
{
    run_table({"--format", "html"}, -1);
    EXPECT_NE(std::string(err).find("allowed md, csv, tex"), std::string::npos);
    fx_write(ref, "method,arch,dataset,top1,confirmed,source\nttq,resnet20,cifar10,91.1x,yes,P\n");
    run_table({"--runs", runs, "--ref", ref}, -1);
    EXPECT_NE(std::string(err).find("line 2: column top1 is '91.1x'"), std::string::npos) << err;
    fx_write(ref, "method,arch,dataset,top1,confirmed,source\nttq,resnet20,cifar10,91.1,maybe,P\n");
    run_table({"--runs", runs, "--ref", ref}, -1);
    EXPECT_NE(std::string(err).find("allowed: yes, no, partial, secondary"), std::string::npos) << err;
    run_table({"--runs", root + "/nope"}, -1);
    EXPECT_NE(std::string(err).find(root + "/nope"), std::string::npos);
}

TEST(Reference, BareMethodRowMatchesAnyModeButExactWins)
{
    rf_row rows[2] = {};
    snprintf(rows[0].method, sizeof rows[0].method, "deepshift");
    snprintf(rows[1].method, sizeof rows[1].method, "deepshift:ps");
    for (auto &r : rows) {
        snprintf(r.arch, sizeof r.arch, "resnet20");
        snprintf(r.dataset, sizeof r.dataset, "cifar10");
    }
    rf_table t = {rows, 2};
    EXPECT_EQ(rf_match(&t, "deepshift:ps", "resnet20", "cifar10", 6, 32), 1);
    EXPECT_EQ(rf_match(&t, "deepshift:q", "resnet20", "cifar10", 6, 32), 0);
    EXPECT_EQ(rf_match(&t, "deepshift", "resnet20", "cifar10", 6, 32), 0);
    EXPECT_EQ(rf_match(&t, "deepshift:q", "resnet32", "cifar10", 6, 32), -1);
    EXPECT_EQ(rf_match(&t, "deep", "resnet20", "cifar10", 6, 32), -1);
}

/* A sweep's rows each meet the published row of their own bits, before any other of the key. */
TEST(Reference, RowAtTheGroupsBitsWins)
{
    rf_row rows[3] = {};
    const char *w[3] = {"1", "2", "8 (G8)"}, *a[3] = {"2", "2", "8"};
    for (int i = 0; i < 3; i++) {
        snprintf(rows[i].method, sizeof rows[i].method, "dorefa");
        snprintf(rows[i].arch, sizeof rows[i].arch, "lenet5");
        snprintf(rows[i].dataset, sizeof rows[i].dataset, "mnist");
        snprintf(rows[i].w_bits, sizeof rows[i].w_bits, "%s", w[i]);
        snprintf(rows[i].a_bits, sizeof rows[i].a_bits, "%s", a[i]);
    }
    rf_table t = {rows, 3};
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 2, 2), 1);
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 8, 8), 2);
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 4, 4), 0) << "no row at 4 bits: the key's first";
    rows[0].w_bits[0] = rows[0].a_bits[0] = 0;   /* a row stating no bits matches any */
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 4, 4), 0);
    snprintf(rows[0].w_bits, sizeof rows[0].w_bits, "8 conv / 5 fc");   /* each number is stated */
    snprintf(rows[0].a_bits, sizeof rows[0].a_bits, "32");
    snprintf(rows[1].w_bits, sizeof rows[1].w_bits, "6 (5.1 after Huffman)");
    snprintf(rows[1].a_bits, sizeof rows[1].a_bits, "32");
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 5, 32), 0);
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 6, 32), 1);
    rows[0].w_bits[0] = 0;
    EXPECT_EQ(rf_match(&t, "dorefa", "lenet5", "mnist", 5, 32), 0) << "5.1 is not a whole 5";
}

/* The project's own reference file parses and its Δ agrees with top-1 minus baseline. */
TEST(Reference, ProjectFileIsConsistent)
{
    rf_table t;
    char err[1024];
    ASSERT_EQ(rf_load(HARNESS_SOURCE_DIR "/results/reference.csv", &t, err, sizeof err), 0) << err;
    EXPECT_GT(t.n, 30);
    for (int i = 0; i < t.n; i++) {
        const rf_row &r = t.rows[i];
        if (!std::isnan(r.top1) && !std::isnan(r.baseline) && !std::isnan(r.delta))
            EXPECT_NEAR(r.top1 - r.baseline, r.delta, 0.011) << "line " << r.line;
        EXPECT_TRUE(std::isnan(r.compression) || r.compression >= 1) << "line " << r.line;
        EXPECT_FALSE(std::isnan(r.top1) && std::isnan(r.delta)) << "line " << r.line << " reports nothing";
    }
    rf_free(&t);
}

}  // namespace
