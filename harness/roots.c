/* The results and data folders (see roots.h). */
#include "harness/roots.h"
#include <stdlib.h>

const char *hx_results_root(void)
{
    const char *e = getenv("HARNESS_RESULTS");
    return e && *e ? e : "results";
}

const char *hx_data_root(void)
{
    const char *e = getenv("HARNESS_DATA_DIR");
    return e && *e ? e : "data";
}
