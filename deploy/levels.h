/* Internal to deploy/: instantiates a kernel file's per-level body once per instruction-set
 * level (the pattern of Highway's foreach_target.h). A kernel file reads
 *
 *     #ifndef DP_LEVEL
 *       shared part: argument structs, ...
 *       #define DP_SELF "deploy/this_file.c"
 *       #include "deploy/levels.h"            <- compiles the body below three times
 *       dispatch table of name_portable, name_avx2, name_avx512; public entry point
 *     #else
 *       body, written with VF / VU (float / uint32 vector), NV (vectors per 16-column
 *       tile), W (lanes per vector) and LEVEL_FN(name) (name_portable, ...)
 *     #endif
 *
 * Each body is compiled under its level's target pragma, so everything in it, helpers
 * included, may use that level's instructions and nothing above them. */
#ifndef DP_SELF
#error "define DP_SELF as the including file before including deploy/levels.h"
#endif

#define DP_LEVEL 0
#define LEVEL_FN(n) DP_CAT(n, _portable)
#define VF dp_v4f
#define VU dp_v4u
#define NV 4
#define W 4
#include DP_SELF
#undef DP_LEVEL
#undef LEVEL_FN
#undef VF
#undef VU
#undef NV
#undef W

#if DP_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt")
#define DP_LEVEL 1
#define LEVEL_FN(n) DP_CAT(n, _avx2)
#define VF dp_v8f
#define VU dp_v8u
#define NV 2
#define W 8
#include DP_SELF
#undef DP_LEVEL
#undef LEVEL_FN
#undef VF
#undef VU
#undef NV
#undef W
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vpopcntdq,avx2,fma,bmi,bmi2,popcnt")
#define DP_LEVEL 2
#define LEVEL_FN(n) DP_CAT(n, _avx512)
#define VF dp_v16f
#define VU dp_v16u
#define NV 1
#define W 16
#include DP_SELF
#undef DP_LEVEL
#undef LEVEL_FN
#undef VF
#undef VU
#undef NV
#undef W
#pragma GCC pop_options
#endif

/* The dispatch table of a body function: one entry per level, NULL where not built. */
#if DP_X86
#define DP_LEVEL_TABLE(n) { DP_CAT(n, _portable), DP_CAT(n, _avx2), DP_CAT(n, _avx512) }
#else
#define DP_LEVEL_TABLE(n) { DP_CAT(n, _portable), NULL, NULL }
#endif
