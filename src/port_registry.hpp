// The ports this build carries (generated from ports/*/port.cmake) and the choice among them.
#pragma once

#include <cstddef>

#include "kernel_table.hpp"

namespace edgeattn::registry {

// The tables this build carries, best first; generic is always last and always present.
const KernelTable* const* tables(std::size_t* count);
// The table to use: `requested` (an API option) if non-null and non-empty, else the
// EDGEATTN_PORT environment variable if set, else the best one this CPU supports. Null with a
// message in `error` (at least 160 bytes) when a requested port is unknown or unsupported.
const KernelTable* select(const char* requested, char* error, std::size_t error_size);
// Kernel names, in one grammar (XNNPACK's): <types>_<op>[_<tile>][_hd<D>]__<isa>, e.g.
// f32_gemm_4x24__x86_avx2, f32_attend_48x128_hd64__x86_avx2, f32_exp__generic,
// f32_decode_hd64__arm_neon64, f32_packb_24__x86_avx2. <types> is f32 for fp32 throughout;
// the element types to come extend it as XNNPACK does (f32_f16w: f16 weights, qd8_f32_qc8w:
// int8 weights with per-row quantized activations, f16: fp16 arithmetic). The tile comes from
// the port's table, so a name always says what runs; <isa> is the port's name with '_' for '-'.
// head_dim > 0 adds _hd<D> (the case a kernel was specialised or measured for).
enum class KernelOp { gemm, packb, attend, exp, decode };
void kernel_name(const KernelTable& t, KernelOp op, int head_dim, char* out, std::size_t size,
                 const char* types = "f32");
// An int8-weight GEMM variant: qd8_f32_qc8w_gemm_<MR>x<NR>__<variant's isa>.
void int8_kernel_name(const KernelTable& t, const Int8Gemm& g, char* out, std::size_t size);

// Padding rules that hold for every port of the build (storage made before a port is chosen).
int kt_pad_keys_all();
int v_slack_floats_all();

}  // namespace edgeattn::registry
