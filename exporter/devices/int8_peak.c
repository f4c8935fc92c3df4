// The int8 multiply-accumulate ceiling of this CPU: independent accumulators in registers, each step
// one widening dot product of 8-bit vectors, the instruction an int8 GEMM's inner loop is built on:
//   vnni512: vpdpbusd zmm (AVX-512 VNNI), 64 u8 x s8 MACs per instruction, 12 accumulators
//   vnni256: {vex} vpdpbusd ymm (AVX-VNNI; "%{vex%}" in asm, whose braces are dialect marks), 32 MACs, 12 accumulators
//   avx2:    vpmaddubsw + vpmaddwd + vpaddd ymm, 32 MACs per three instructions (what int8 kernels
//            without VNNI run), 10 accumulators (16 ymm registers: 10 + inputs + temporaries)
// The loops are written in assembly: compiled C merged identical accumulators into one dependency
// chain, shared AVX2's product between them, or spilled them to the stack (each of which moved the
// figure by 2x here), and an earlier loop the compiler had shortened overstated the peak 2.4x.
// int8_peak.py's KERNELS repeats the MACs per step and the accumulator counts.
#include <stdint.h>

#define ACC2(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9)
#define ACC12(op) ACC2(op) op(10) op(11)

// one AVX2 step into ymm<i>: ymm10 (u8) x ymm11 (s8) -> pairs summed to s16 -> x ymm12 (ones) -> s32
#define AVX2_STEP(i) "vpmaddubsw %%ymm11, %%ymm10, %%ymm13\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm13\n\t" \
                     "vpaddd %%ymm13, %%ymm" #i ", %%ymm" #i "\n\t"
#define ZERO_Y(i) "vpxor %%xmm" #i ", %%xmm" #i ", %%xmm" #i "\n\t"
#define ADD_Y(i) "vpaddd %%ymm" #i ", %%ymm15, %%ymm15\n\t"

static const uint8_t A8[64] = {[0 ... 63] = 3};
static const int8_t B8[64] = {[0 ... 63] = 5};
static const int16_t ONES[16] = {[0 ... 15] = 1};

int64_t peak_avx2(int64_t iters) {
    int32_t out[8];
    __asm__ volatile(
        ACC2(ZERO_Y)
        "vmovdqu %[a], %%ymm10\n\tvmovdqu %[b], %%ymm11\n\tvmovdqu %[ones], %%ymm12\n\t"
        "1:\n\t" ACC2(AVX2_STEP) "dec %[n]\n\tjnz 1b\n\t"
        "vpxor %%xmm15, %%xmm15, %%xmm15\n\t" ACC2(ADD_Y) "vmovdqu %%ymm15, %[out]\n\tvzeroupper\n\t"
        : [n] "+r"(iters), [out] "=m"(out)
        : [a] "m"(A8), [b] "m"(B8), [ones] "m"(ONES)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm15", "cc", "memory");
    int64_t total = 0;
    for (int i = 0; i < 8; i++) total += out[i];
    return total;
}

#define VNNI256_STEP(i) "%{vex%} vpdpbusd %%ymm13, %%ymm12, %%ymm" #i "\n\t"

int64_t peak_vnni256(int64_t iters) {
    int32_t out[8];
    __asm__ volatile(
        ACC12(ZERO_Y)
        "vmovdqu %[a], %%ymm12\n\tvmovdqu %[b], %%ymm13\n\t"
        "1:\n\t" ACC12(VNNI256_STEP) "dec %[n]\n\tjnz 1b\n\t"
        "vpxor %%xmm15, %%xmm15, %%xmm15\n\t" ACC12(ADD_Y) "vmovdqu %%ymm15, %[out]\n\tvzeroupper\n\t"
        : [n] "+r"(iters), [out] "=m"(out)
        : [a] "m"(A8), [b] "m"(B8)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm15", "cc", "memory");
    int64_t total = 0;
    for (int i = 0; i < 8; i++) total += out[i];
    return total;
}

#define VNNI512_STEP(i) "vpdpbusd %%zmm13, %%zmm12, %%zmm" #i "\n\t"
#define ZERO_Z(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i "\n\t"
#define ADD_Z(i) "vpaddd %%zmm" #i ", %%zmm15, %%zmm15\n\t"

int64_t peak_vnni512(int64_t iters) {
    int32_t out[16];
    __asm__ volatile(
        ACC12(ZERO_Z)
        "vmovdqu64 %[a], %%zmm12\n\tvmovdqu64 %[b], %%zmm13\n\t"
        "1:\n\t" ACC12(VNNI512_STEP) "dec %[n]\n\tjnz 1b\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t" ACC12(ADD_Z) "vmovdqu64 %%zmm15, %[out]\n\tvzeroupper\n\t"
        : [n] "+r"(iters), [out] "=m"(out)
        : [a] "m"(A8), [b] "m"(B8)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm15", "cc", "memory");
    int64_t total = 0;
    for (int i = 0; i < 16; i++) total += out[i];
    return total;
}
