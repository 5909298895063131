// The method registry: every row well-formed, findable by name, its option table consistent
// and its defaults valid under its own ranges.
#include <gtest/gtest.h>
#include <set>
#include <string>
extern "C" {
#include "methods/method.h"
#include "base/option.h"
}

static size_t field_size(opt_type t)
{
    switch (t) {
    case OPT_INT: case OPT_BOOL: case OPT_CHOICE: return sizeof(int);
    case OPT_FLOAT: return sizeof(double);
    case OPT_STR: return OPT_STR_MAX;
    case OPT_FLOATS: return sizeof(opt_floats);
    case OPT_INTS: return sizeof(opt_ints);
    default: return 0;
    }
}

TEST(MethodRegistry, RowsAreFindableAndUnique)
{
    ASSERT_GE(method_count(), 4);
    std::set<std::string> names;
    for (int i = 0; i < method_count(); i++) {
        const method *m = method_at(i);
        ASSERT_NE(m, nullptr);
        ASSERT_NE(m->name, nullptr);
        EXPECT_TRUE(names.insert(m->name).second) << "duplicate method " << m->name;
        EXPECT_EQ(method_find(m->name), m);
        EXPECT_TRUE(m->title && m->title[0]) << m->name;
        EXPECT_TRUE(m->paper && m->paper[0]) << m->name;
    }
    EXPECT_EQ(method_at(method_count()), nullptr);
    EXPECT_EQ(method_at(-1), nullptr);
    EXPECT_EQ(method_find("no-such-method"), nullptr);
    for (const char *n : { "magnitude", "deep-compression", "sfp", "lottery" })
        EXPECT_NE(method_find(n), nullptr) << n;
}

TEST(MethodRegistry, OptionTablesAreConsistentAndDefaultsValid)
{
    for (int i = 0; i < method_count(); i++) {
        const method *m = method_at(i);
        std::set<std::string> keys;
        std::string buf(m->config_size + 1, '\0');
        opt_defaults(m->options, m->n_options, &buf[0]);
        for (int k = 0; k < m->n_options; k++) {
            const opt_spec *sp = &m->options[k];
            EXPECT_TRUE(keys.insert(sp->key).second) << m->name << ": duplicate key " << sp->key;
            EXPECT_LE(sp->offset + field_size(sp->type), m->config_size) << m->name << "." << sp->key;
            EXPECT_TRUE(sp->help && sp->help[0]) << m->name << "." << sp->key;
            EXPECT_EQ(opt_find(m->options, m->n_options, sp->key), sp);
            if (!sp->def) continue;
            char err[256] = "";
            EXPECT_EQ(0, opt_parse(sp, &buf[0], sp->def, err, sizeof err)) << m->name << "." << sp->key << ": " << err;
        }
        char err[256] = "";
        if (m->check) { EXPECT_EQ(0, m->check(&buf[0], err, sizeof err)) << m->name << ": " << err; }
    }
}
