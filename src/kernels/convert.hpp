// Scalar conversions between fp32 and the 16-bit weight types, bit-exact and independent of
// the FPU's modes: IEEE binary16 (f16) and bfloat16 (bf16, fp32's upper half). Narrowing rounds
// to nearest, ties to even, as hardware does (vcvtps2ph with imm 0, fcvtn, vcvtneps2bf16).
// Used when weights are packed (any port, any build: packing is layout, not instructions) and
// by the scalar kernels; the SIMD kernels widen with their own instructions (vec.hpp), tested
// against f16_to_f32 on all 65536 patterns.
#pragma once

#include <cstdint>
#include <cstring>

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

inline std::uint32_t f32_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float f32_from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Branch-free (selects, not jumps), so a compiler can vectorise the loops of the scalar port.
inline float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t em = h & 0x7fffu;                    // exponent and mantissa
  const std::uint32_t normal = (em << 13) + (112u << 23);  // rebias the exponent
  const std::uint32_t inf_nan = 0x7f800000u | (em & 0x3ffu) << 13;
  // Subnormal (or zero): em · 2^-24, exact in fp32 and computed from an integer, so a CPU that
  // flushes denormals (ARMv7 NEON, DAZ) reads it right.
  const std::uint32_t subnormal = f32_bits(static_cast<float>(em) * 5.9604644775390625e-8f);
  const std::uint32_t bits = em >= 0x7c00u ? inf_nan : em >= 0x0400u ? normal : subnormal;
  return f32_from_bits(sign | bits);
}

inline float bf16_to_f32(std::uint16_t h) {
  return f32_from_bits(static_cast<std::uint32_t>(h) << 16);
}

// Whether a finite value rounds to an f16 infinity (|f| >= 65520): what f32_to_f16 reports.
inline bool f16_overflows(float f) {
  const std::uint32_t magnitude = f32_bits(f) & 0x7fffffffu;
  return magnitude >= 0x477ff000u && magnitude < 0x7f800000u;  // 65520 <= |f| < inf
}

// Sets *overflow when a finite value rounds to infinity (|f| >= 65520).
inline std::uint16_t f32_to_f16(float f, bool* overflow) {
  const std::uint32_t u = f32_bits(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;  // NaN stays a (quiet) NaN
  if (a >= 0x477ff000u) {                      // rounds to infinity
    if (a != 0x7f800000u) *overflow = true;
    return sign | 0x7c00u;
  }
  if (a < 0x38800000u) {  // below 2^-14: a subnormal f16, m · 2^-24 with m = round(|f| · 2^24)
    const std::uint32_t e = a >> 23;
    if (e < 102) return sign;  // below 2^-25 (fp32 subnormals too): rounds to zero
    const std::uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;  // 14..24
    std::uint32_t q = m >> shift;
    const std::uint32_t rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u))) ++q;  // q = 1024 is 2^-14, encoded right
    return static_cast<std::uint16_t>(sign | q);
  }
  std::uint32_t r = a - (112u << 23);  // rebias the exponent, then round 13 mantissa bits off
  r += 0xfffu + ((r >> 13) & 1u);      // a carry into the exponent is the right result
  return static_cast<std::uint16_t>(sign | (r >> 13));
}

inline std::uint16_t f32_to_bf16(float f, bool* overflow) {
  std::uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  const bool finite = (u & 0x7f800000u) != 0x7f800000u;
  u += 0x7fffu + ((u >> 16) & 1u);
  if (finite && (u & 0x7f800000u) == 0x7f800000u) *overflow = true;
  return static_cast<std::uint16_t>(u >> 16);
}

}  // namespace
}  // namespace edgeattn::kernels
