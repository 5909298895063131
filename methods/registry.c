/* The method registry: one X-macro row per method, so adding a method is one line here
 * (and a row never depends on its neighbours, which keeps merges trivial). */
#include "methods/method.h"
#include <string.h>

#define METHOD_ROWS(X) \
    X(magnitude) \
    X(deep_compression) \
    X(sfp) \
    X(lottery) \
    X(inq) \
    X(xnor) \
    X(ttq) \
    X(deepshift) \
    X(addernet) \
    X(twn) \
    X(binaryconnect) \
    X(bnn) \
    X(dorefa) \
    X(pact) \
    X(lsq) \
    X(l1_filter) \
    X(slimming) \
    X(ptq)

#define DECLARE_METHOD(id) extern const method method_##id;
METHOD_ROWS(DECLARE_METHOD)

#define METHOD_ROW(id) &method_##id,
static const method *const table[] = { METHOD_ROWS(METHOD_ROW) };

int method_count(void) { return (int)(sizeof table / sizeof *table); }

const method *method_at(int i)
{
    return i >= 0 && i < method_count() ? table[i] : NULL;
}

const method *method_find(const char *name)
{
    for (int i = 0; name && i < method_count(); i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}
