#include "deploy/isa.h"
#include "deploy/simd.h"
#include <string.h>

static const char *const isa_names[DP_ISA_COUNT] = {
    [DP_ISA_PORTABLE] = "portable", [DP_ISA_AVX2] = "avx2", [DP_ISA_AVX512] = "avx512",
};
static_assert(sizeof isa_names / sizeof isa_names[0] == DP_ISA_COUNT, "one name per level");

const char *dp_isa_name(dp_isa isa)
{
    return (unsigned)isa < DP_ISA_COUNT ? isa_names[isa] : "?";
}

/* __builtin_cpu_supports reads CPUID once (libgcc's constructor) and also checks XGETBV, so a
 * level is reported only when the operating system saves its registers. */
int dp_isa_supported(dp_isa isa)
{
    switch (isa) {
    case DP_ISA_PORTABLE: return 1;
#if DP_X86
    case DP_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
    case DP_ISA_AVX512:
        return dp_isa_supported(DP_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
#endif
    default: return 0;
    }
}

dp_isa dp_isa_best(void)
{
    for (int l = DP_ISA_COUNT - 1; l > DP_ISA_PORTABLE; l--)
        if (dp_isa_supported((dp_isa)l)) return (dp_isa)l;
    return DP_ISA_PORTABLE;
}

int dp_isa_parse(const char *name)
{
    for (int l = 0; l < DP_ISA_COUNT; l++)
        if (!strcmp(name, isa_names[l])) return l;
    return -1;
}

dp_exec dp_exec_default(int threads)
{
    return (dp_exec){ dp_isa_best(), threads < 1 ? 1 : threads };
}
