/* Instruction-set levels of the deploy kernels, picked at run time.
 *
 * Every fast kernel is compiled once per level with per-function target attributes, so the
 * library needs no -march flag and one binary runs on AVX2-only and AVX-512 parts alike: the
 * level is a property of the machine that runs, never of the machine that built. Callers pass
 * the level in a dp_exec, so a test can run every level the CPU offers (AVX2 on an AVX-512
 * part too) and nothing here keeps global state. */
#ifndef DP_ISA_H
#define DP_ISA_H

typedef enum dp_isa {
    DP_ISA_PORTABLE = 0,   /* plain C: the fast algorithms, compiled for the x86-64-v2 baseline (or any CPU) */
    DP_ISA_AVX2 = 1,       /* AVX2 + FMA + BMI2 + POPCNT (Haswell, Zen 1 and later) */
    DP_ISA_AVX512 = 2,     /* AVX-512 F/BW/DQ/VL + VPOPCNTDQ (Ice Lake, Zen 4 and later;
                              Skylake-X lacks VPOPCNTDQ and runs the AVX2 level) */
    DP_ISA_COUNT
} dp_isa;

/* How a kernel call runs: at which level and on how many threads (OpenMP over columns or
 * rows; the numbers do not depend on the thread count). */
typedef struct dp_exec {
    dp_isa isa;
    int threads;
} dp_exec;

const char *dp_isa_name(dp_isa isa);
/* 1 when this CPU (and its operating system, which must save the wide registers) runs the level. */
int dp_isa_supported(dp_isa isa);
/* The highest supported level. */
dp_isa dp_isa_best(void);
/* The level named by name ("portable", "avx2", "avx512"), -1 if none. */
int dp_isa_parse(const char *name);
/* { dp_isa_best(), threads }. */
dp_exec dp_exec_default(int threads);

#endif
