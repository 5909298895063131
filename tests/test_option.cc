#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>

extern "C" {
#include "base/option.h"
}

namespace {

struct cfg {
    int bits;
    double t;
    int flag;
    char name[OPT_STR_MAX];
    int mode;
    opt_floats portions;
    opt_ints milestones;
    double lr;
    int req;
    double neg;
};

const opt_spec specs[] = {
    {"bits", OPT_INT, offsetof(cfg, bits), "4", 1, 8, 0, 0, nullptr, "bits"},
    {"t", OPT_FLOAT, offsetof(cfg, t), "0.05", 0, 1, 1, 1, nullptr, "threshold"},
    {"flag", OPT_BOOL, offsetof(cfg, flag), "on", 0, 0, 0, 0, nullptr, "a flag"},
    {"name", OPT_STR, offsetof(cfg, name), "lenet", 0, 0, 0, 0, nullptr, "a name"},
    {"mode", OPT_CHOICE, offsetof(cfg, mode), "layer", 0, 0, 0, 0, "global|layer|filter", "mode"},
    {"portions", OPT_FLOATS, offsetof(cfg, portions), "0.5, 0.75, 1", 0, 1, 1, 0, nullptr, "p"},
    {"milestones", OPT_INTS, offsetof(cfg, milestones), "60,120 ,160", 1, 1000, 0, 0, nullptr, "m"},
    {"lr", OPT_FLOAT, offsetof(cfg, lr), "0.1", 0, HUGE_VAL, 1, 0, nullptr, "lr"},
    {"req", OPT_INT, offsetof(cfg, req), nullptr, 0, 0, 0, 0, nullptr, "required"},
    {"neg", OPT_FLOAT, offsetof(cfg, neg), "-1e-3", 0, 0, 0, 0, nullptr, "anything"},
};
const int n_specs = sizeof specs / sizeof specs[0];

const opt_spec *spec(const char *key)
{
    const opt_spec *s = opt_find(specs, n_specs, key);
    EXPECT_NE(s, nullptr) << key;
    return s;
}

// Parses and returns the error message ("" on success).
std::string parse(cfg *c, const char *key, const char *value)
{
    char err[1024] = "";
    int rc = opt_parse(spec(key), c, value, err, sizeof err);
    EXPECT_EQ(rc == 0, err[0] == '\0') << key << " = " << value;
    return rc == 0 ? std::string() : std::string(err);
}

TEST(Option, Defaults)
{
    cfg c;
    memset(&c, 0x5a, sizeof c);
    opt_defaults(specs, n_specs, &c);
    EXPECT_EQ(c.bits, 4);
    EXPECT_DOUBLE_EQ(c.t, 0.05);
    EXPECT_EQ(c.flag, 1);
    EXPECT_STREQ(c.name, "lenet");
    EXPECT_EQ(c.mode, 1);
    ASSERT_EQ(c.portions.n, 3);
    EXPECT_DOUBLE_EQ(c.portions.v[0], 0.5);
    EXPECT_DOUBLE_EQ(c.portions.v[2], 1.0);
    ASSERT_EQ(c.milestones.n, 3);
    EXPECT_EQ(c.milestones.v[1], 120);
    EXPECT_EQ(c.req, 0);  // required: zeroed, not left as garbage
    EXPECT_DOUBLE_EQ(c.neg, -1e-3);
}

TEST(Option, BadDefaultAsserts)
{
    const opt_spec bad[] = {{"bits", OPT_INT, offsetof(cfg, bits), "9", 1, 8, 0, 0, nullptr, "b"}};
    cfg c;
    EXPECT_DEATH(opt_defaults(bad, 1, &c), "bits = 9");
}

TEST(Option, Find)
{
    EXPECT_EQ(opt_find(specs, n_specs, "mode"), &specs[4]);
    EXPECT_EQ(opt_find(specs, n_specs, "nope"), nullptr);
    EXPECT_EQ(opt_find(specs, n_specs, "bit"), nullptr);
}

TEST(Option, Int)
{
    cfg c{};
    EXPECT_EQ(parse(&c, "bits", "1"), "");
    EXPECT_EQ(c.bits, 1);
    EXPECT_EQ(parse(&c, "bits", " 8 "), "");
    EXPECT_EQ(c.bits, 8);
    EXPECT_EQ(parse(&c, "bits", "0"), "bits = 0: expected an integer in [1, 8]");
    EXPECT_EQ(parse(&c, "bits", "9"), "bits = 9: expected an integer in [1, 8]");
    EXPECT_EQ(parse(&c, "bits", "12abc"), "bits = 12abc: expected an integer in [1, 8]");
    EXPECT_EQ(parse(&c, "bits", "4.0"), "bits = 4.0: expected an integer in [1, 8]");
    EXPECT_EQ(parse(&c, "bits", ""), "bits = : expected an integer in [1, 8]");
    EXPECT_EQ(parse(&c, "bits", "99999999999999999999"),
              "bits = 99999999999999999999: expected an integer in [1, 8]");
    EXPECT_EQ(c.bits, 8);  // failed parses leave the field alone
    EXPECT_EQ(parse(&c, "req", "-2147483648"), "");
    EXPECT_EQ(c.req, -2147483648LL);
    EXPECT_EQ(parse(&c, "req", "2147483648"), "req = 2147483648: expected an integer");
}

TEST(Option, Float)
{
    cfg c{};
    EXPECT_EQ(parse(&c, "t", "0.25"), "");
    EXPECT_DOUBLE_EQ(c.t, 0.25);
    EXPECT_EQ(parse(&c, "t", "1e-3"), "");
    EXPECT_DOUBLE_EQ(c.t, 1e-3);
    EXPECT_EQ(parse(&c, "t", "1.5"), "t = 1.5: expected a number in (0, 1)");
    EXPECT_EQ(parse(&c, "t", "1"), "t = 1: expected a number in (0, 1)");
    EXPECT_EQ(parse(&c, "t", "0"), "t = 0: expected a number in (0, 1)");
    EXPECT_EQ(parse(&c, "t", "0.5x"), "t = 0.5x: expected a number in (0, 1)");
    EXPECT_EQ(parse(&c, "neg", "nan"), "neg = nan: expected a number");
    EXPECT_EQ(parse(&c, "neg", "inf"), "neg = inf: expected a number");
    EXPECT_EQ(parse(&c, "neg", "-Infinity"), "neg = -Infinity: expected a number");
    EXPECT_EQ(parse(&c, "neg", "1e999"), "neg = 1e999: expected a number");
    EXPECT_EQ(parse(&c, "lr", "0"), "lr = 0: expected a number > 0");
    EXPECT_EQ(parse(&c, "lr", "1e6"), "");
    EXPECT_DOUBLE_EQ(c.lr, 1e6);
}

TEST(Option, Bool)
{
    cfg c{};
    const char *yes[] = {"true", "1", "yes", "on", "TRUE", " On "};
    const char *no[] = {"false", "0", "no", "off", "False"};
    for (const char *v : yes) { c.flag = 0; EXPECT_EQ(parse(&c, "flag", v), ""); EXPECT_EQ(c.flag, 1) << v; }
    for (const char *v : no) { c.flag = 1; EXPECT_EQ(parse(&c, "flag", v), ""); EXPECT_EQ(c.flag, 0) << v; }
    EXPECT_EQ(parse(&c, "flag", "2"), "flag = 2: expected a boolean (true/false, yes/no, on/off, 1/0)");
    EXPECT_EQ(parse(&c, "flag", "yess"), "flag = yess: expected a boolean (true/false, yes/no, on/off, 1/0)");
}

TEST(Option, String)
{
    cfg c{};
    EXPECT_EQ(parse(&c, "name", "runs/a b"), "");
    EXPECT_STREQ(c.name, "runs/a b");
    std::string longv(OPT_STR_MAX, 'x');
    EXPECT_EQ(parse(&c, "name", longv.c_str()).find("expected text of at most 255 characters") != std::string::npos, true);
    std::string fits(OPT_STR_MAX - 1, 'y');
    EXPECT_EQ(parse(&c, "name", fits.c_str()), "");
    EXPECT_EQ(std::string(c.name), fits);
}

TEST(Option, Choice)
{
    cfg c{};
    EXPECT_EQ(parse(&c, "mode", "global"), "");
    EXPECT_EQ(c.mode, 0);
    EXPECT_EQ(parse(&c, "mode", "filter"), "");
    EXPECT_EQ(c.mode, 2);
    EXPECT_EQ(parse(&c, "mode", "glob"), "mode = glob: expected one of global|layer|filter");
    EXPECT_EQ(parse(&c, "mode", "global|layer"), "mode = global|layer: expected one of global|layer|filter");
    EXPECT_EQ(parse(&c, "mode", ""), "mode = : expected one of global|layer|filter");
}

TEST(Option, Lists)
{
    cfg c{};
    EXPECT_EQ(parse(&c, "portions", "0.25,0.5 , 1"), "");
    ASSERT_EQ(c.portions.n, 3);
    EXPECT_DOUBLE_EQ(c.portions.v[0], 0.25);
    EXPECT_DOUBLE_EQ(c.portions.v[1], 0.5);
    EXPECT_DOUBLE_EQ(c.portions.v[2], 1.0);
    EXPECT_EQ(parse(&c, "portions", "0.5, 0"), "portions = 0.5, 0: expected a list of numbers in (0, 1]");
    EXPECT_EQ(parse(&c, "portions", "0.5, 0.3x"), "portions = 0.5, 0.3x: expected a list of numbers in (0, 1]");
    EXPECT_EQ(parse(&c, "portions", "0.5,,1"), "portions = 0.5,,1: expected a list of numbers in (0, 1]");
    EXPECT_EQ(parse(&c, "portions", "0.5,"), "portions = 0.5,: expected a list of numbers in (0, 1]");
    EXPECT_EQ(c.portions.n, 3);  // unchanged by failures
    EXPECT_EQ(parse(&c, "portions", "  "), "");
    EXPECT_EQ(c.portions.n, 0);
    EXPECT_EQ(parse(&c, "milestones", "10, 20"), "");
    ASSERT_EQ(c.milestones.n, 2);
    EXPECT_EQ(c.milestones.v[1], 20);
    EXPECT_EQ(parse(&c, "milestones", "10, 0"), "milestones = 10, 0: expected a list of integers in [1, 1000]");
    EXPECT_EQ(parse(&c, "milestones", "10, 2.5"), "milestones = 10, 2.5: expected a list of integers in [1, 1000]");
    std::string many;
    for (int i = 1; i <= OPT_LIST_MAX; i++) many += (i > 1 ? "," : "") + std::to_string(i);
    EXPECT_EQ(parse(&c, "milestones", many.c_str()), "");
    EXPECT_EQ(c.milestones.n, OPT_LIST_MAX);
    many += ",33";
    EXPECT_EQ(parse(&c, "milestones", many.c_str()),
              "milestones = " + many + ": expected a list of integers in [1, 1000] (at most 32 values)");
}

TEST(Option, Describe)
{
    char out[128];
    opt_describe(spec("bits"), out, sizeof out);
    EXPECT_STREQ(out, "an integer in [1, 8]");
    opt_describe(spec("portions"), out, sizeof out);
    EXPECT_STREQ(out, "a list of numbers in (0, 1]");
    opt_describe(spec("mode"), out, sizeof out);
    EXPECT_STREQ(out, "one of global|layer|filter");
    opt_describe(spec("lr"), out, sizeof out);
    EXPECT_STREQ(out, "a number > 0");
    opt_spec s = *spec("lr");
    s.lo = -HUGE_VAL; s.hi = 2.5; s.hi_open = 0;
    opt_describe(&s, out, sizeof out);
    EXPECT_STREQ(out, "a number <= 2.5");
}

TEST(Option, FormatRoundTrip)
{
    cfg a;
    opt_defaults(specs, n_specs, &a);
    parse(&a, "t", "0.1");
    parse(&a, "lr", "0.30000000000000004");
    parse(&a, "neg", "-123456.789e-20");
    parse(&a, "portions", "0.1, 0.2, 0.7000000000000001");
    parse(&a, "name", "with = sign, and commas");
    parse(&a, "mode", "filter");
    parse(&a, "flag", "off");
    parse(&a, "req", "-7");
    char out[1024];
    opt_format(spec("t"), &a, out, sizeof out);
    EXPECT_STREQ(out, "t = 0.1");  // shortest form, not 0.10000000000000001
    opt_format(spec("portions"), &a, out, sizeof out);
    EXPECT_STREQ(out, "portions = 0.1, 0.2, 0.7000000000000001");
    opt_format(spec("milestones"), &a, out, sizeof out);
    EXPECT_STREQ(out, "milestones = 60, 120, 160");
    opt_format(spec("mode"), &a, out, sizeof out);
    EXPECT_STREQ(out, "mode = filter");

    cfg b;
    memset(&b, 0, sizeof b);
    for (int i = 0; i < n_specs; i++) {
        opt_format(&specs[i], &a, out, sizeof out);
        std::string line(out), prefix = std::string(specs[i].key) + " = ";
        ASSERT_EQ(line.compare(0, prefix.size(), prefix), 0) << line;
        EXPECT_EQ(parse(&b, specs[i].key, line.c_str() + prefix.size()), "") << line;
    }
    EXPECT_EQ(memcmp(&a.bits, &b.bits, sizeof a.bits), 0);
    EXPECT_EQ(a.t, b.t);
    EXPECT_EQ(a.lr, b.lr);
    EXPECT_EQ(a.neg, b.neg);
    EXPECT_EQ(a.flag, b.flag);
    EXPECT_STREQ(a.name, b.name);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.req, b.req);
    ASSERT_EQ(a.portions.n, b.portions.n);
    for (int i = 0; i < a.portions.n; i++) EXPECT_EQ(a.portions.v[i], b.portions.v[i]);
    ASSERT_EQ(a.milestones.n, b.milestones.n);
    for (int i = 0; i < a.milestones.n; i++) EXPECT_EQ(a.milestones.v[i], b.milestones.v[i]);
}

}  // namespace
