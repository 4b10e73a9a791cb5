// The kernel benchmarks' cases, shared by edgeattn_bench (timed, `ukernel/...`) and
// edgeattn_icount (instruction counts under callgrind). One case = one kernel of one port on
// fixed buffers; `run()` does one call. Names follow the kernels:
//
//   ukernel/f32_gemm_6x16__x86_avx2/task:48x64x768    one projection task (rows × cols × K)
//   ukernel/f32_packb_16__x86_avx2/768x768            weight packing (bytes/s)
//   ukernel/f32_exp__x86_avx2/n:4096                  the softmax's vectorised exp
//   ukernel/f32_attend_48x128_hd64__x86_avx2/kv:512   one flash-attention query tile
//   ukernel/f32_decode_hd64__x86_avx2/kv:256          one split-KV decode chunk (bytes/s)
//   ukernel/qd8_f32_qc8w_gemm_4x24__x86_avx2/task:... one int8-weight projection task, per
//                                                     variant of the port (VNNI, ...)
//   ukernel/f32_qc8kv_decode_hd64__x86_avx2/kv:256    the decode chunk over an int8 cache
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace edgeattn {
struct KernelTable;
}

namespace edgeattn::bench {

enum class KernelKind { gemm, gemm_int8, pack, exp, attend, decode };

// How big the buffers are: `timing` sizes the memory-bound cases past the last-level cache
// (packing reads and writes 2 × 64 MiB); `counting` keeps them small for callgrind.
enum class CaseSize { timing, counting };

struct KernelCase {
  std::string name;
  const KernelTable* table;
  KernelKind kind;
  int m, n, k;   // gemm: rows, columns, depth; pack: N, K; exp: n; attend: rows, kv,
                 // head_dim; decode: 1, kv, head_dim
  double flops;  // per call (gemm, attend), 0 where bytes are the measure
  double bytes;  // per call, read + written (pack, exp)
  // gemm: the packed weights' element type; attend, decode: Kᵀ and V's (ElementType's value)
  int elem_type = 0;
  int int8_variant = -1;  // gemm_int8: the index in the port's int8 variants
  bool cpu_supported() const;
};

// The cases of every port this build carries, in port order.
std::vector<KernelCase> kernel_cases(CaseSize size);

// Buffers for one case, filled once; run() calls the kernel once.
class KernelRunner {
 public:
  explicit KernelRunner(const KernelCase& c);
  ~KernelRunner();
  KernelRunner(const KernelRunner&) = delete;
  KernelRunner& operator=(const KernelRunner&) = delete;
  void run();
  const float* result() const;  // something the call wrote, to keep it alive

 private:
  struct Buffers;
  const KernelCase& case_;
  std::unique_ptr<Buffers> b_;
};

}  // namespace edgeattn::bench
