/* The method side of a checkpoint (see mt_ckpt in methods/method.h). */
#include "methods/method.h"
#include <stdarg.h>

int mt_ckpt_array(mt_ckpt *io, mt_elem type, void *v, size_t n, const char *fmt, ...)
{
    char name[2 * NN_NAME_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return io->array(io, name, type, v, n);
}
