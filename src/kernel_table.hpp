// The kernel table: how src/ reaches a port. Each port (ports/<name>/) fills one table with
// its instantiations of the kernel templates and its tile sizes; the planner and executor only
// call through it, so one x86 binary can carry several ports and pick one at run time.
// src/ never includes a port's files and names no port: CMake generates the list of the ports
// this build carries (port_registry.cpp includes it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgeattn/edgeattn.hpp"
#include "kernels/attention.hpp"
#include "kernels/gemm.hpp"
#include "kernels/gemm_int8.hpp"

namespace edgeattn {

// An int8-weight projection kernel (kernels/gemm_int8.hpp) and when the CPU can run it: the
// instructions that make int8 fast (AVX512-VNNI, AVX-VNNI, dot products) are not implied by a
// port's base ISA, so a port lists its variants best first, each with its own CPU check.
struct Int8Gemm {
  const char* isa;  // in kernel names: the port's name with '_', plus the extension used
  int mr;           // rows of its register tile (NR is the port's gemm_nr: the packed layout)
  bool (*cpu_supports)();
  using Block = void (*)(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                         int panel0, int panel1, int N, const kernels::OutputMap& out);
  Block block, block_1row;
};

struct KernelTable {
  const char* name;      // the port's spelling: "generic", "x86-avx2", ...
  int gemm_mr, gemm_nr;  // projection register tile
  int gemm_row_block;    // most rows per projection task (a multiple of gemm_mr)
  int gemm_panel_block;  // NR-column panels per projection task
  int attn_nr;           // columns of the attention tile's Q·Kᵀ and P·V register tile
  int attn_tq, attn_tk;  // query rows per attention task, keys per online-softmax step
  // Padding the attention kernels need: Kᵀ rows hold a multiple of kt_pad_keys keys (whole
  // NR-column tiles, 64-byte aligned rows) and v_slack_floats may be read past V's last row.
  int kt_pad_keys, v_slack_floats;
  bool (*cpu_supports)();  // can this CPU run the port?
  // Packs weights of element type src_type into panels of dst_type (ElementType's values);
  // returns how many finite values overflowed dst_type.
  std::size_t (*pack_b)(const void* src, int src_type, bool transposed, int K, int N, void* packed,
                        int dst_type);
  using GemmBlock = void (*)(const float* a, std::ptrdiff_t lda, int row0, int rows, int K,
                             const void* packed, int panel0, int panel1, int N,
                             const kernels::OutputMap& out);
  // Indexed by the packed weights' element type (f32, f16, bf16).
  GemmBlock gemm_block[kernels::kWeightTypes];
  // The same for a single row (a decode step's projections): a 1 × NR register tile, so the
  // weights stream through at memory speed instead of feeding MR − 1 unused rows.
  GemmBlock gemm_block_1row[kernels::kWeightTypes];
  // int8 weights: the variants, best first (the last runs on every CPU the port runs on), and
  // the activations' quantization.
  const Int8Gemm* int8_gemms;
  int int8_gemm_count;
  void (*quantize_rows)(const float* a, std::ptrdiff_t lda, int rows, int K,
                        const std::int32_t* features, int outliers, std::int8_t* q,
                        std::ptrdiff_t ldq, float* scales, float* outlier_values);
  std::size_t (*attend_scratch_floats)(int head_dim);
  using AttendTile = void (*)(const kernels::HeadView& h, const kernels::MaskView& mask, int i0,
                              int rows, float* scratch);
  // Indexed by kernels::kv_kernel_index of Kᵀ's and V's element type (f32; f16, int8 in a cache).
  AttendTile attend_tile[kernels::kKvTypes];  // any head_dim
  // Specialisations for head_dim 32, 64, 80, 96, 128 (kSpecialHeadDims), same order.
  AttendTile attend_tile_special[kernels::kKvTypes][5];
  void (*vexp)(const float* x, float* y, int n);  // the softmax's exp, vectorised
  // Split-KV decode: one query row over keys [j0, j1) -> {max, sum, unnormalised output}.
  using AttendRowPartial = void (*)(const kernels::HeadView& h, const kernels::MaskView& mask,
                                    int i, int j0, int j1, float* scores, float* state);
  AttendRowPartial attend_row_partial[kernels::kKvTypes];

  // kv_type: ElementType's value.
  AttendTile attend_tile_for(int head_dim, int v_dim, int kv_type = 0) const {
    const int kv = kernels::kv_kernel_index(kv_type);
    if (v_dim != head_dim) return attend_tile[kv];
    for (int i = 0; i < 5; ++i)
      if (kSpecialHeadDims[i] == head_dim) return attend_tile_special[kv][i];
    return attend_tile[kv];
  }
  static constexpr int kSpecialHeadDims[5] = {32, 64, 80, 96, 128};

  // The int8 kernel this CPU runs best.
  const Int8Gemm& int8_gemm() const {
    for (int i = 0; i + 1 < int8_gemm_count; ++i)
      if (int8_gemms[i].cpu_supports()) return int8_gemms[i];
    return int8_gemms[int8_gemm_count - 1];
  }
};

// A port's tile sizes. Projections: an MR × NR register tile, tasks of up to ROW_BLOCK rows ×
// PANEL_BLOCK panels. Attention: an MR × NR register tile for Q·Kᵀ and P·V, TQ query rows per
// task, TK keys per online-softmax step (a multiple of NR). The two
// register tiles may differ: projections run long K (the embedding width) with packed weights,
// attention short K (head_dim or TK) over a key tile.
template <int MR_, int NR_, int ROW_BLOCK_, int PANEL_BLOCK_>
struct ProjectionTiles {
  static constexpr int MR = MR_, NR = NR_, ROW_BLOCK = ROW_BLOCK_, PANEL_BLOCK = PANEL_BLOCK_;
};
template <int MR_, int NR_, int TQ_, int TK_>
struct AttentionTiles {
  static constexpr int MR = MR_, NR = NR_, TQ = TQ_, TK = TK_;
  static_assert(TK_ % NR_ == 0, "an online-softmax step holds whole NR-column tiles");
};

// An entry of a port's int8 variants: policy D (kernels/gemm_int8.hpp), an MR × NR tile.
template <class D, int MR, int NR>
constexpr Int8Gemm make_int8_gemm(const char* isa, bool (*cpu_supports)()) {
  return Int8Gemm{isa, MR, cpu_supports, &kernels::gemm_i8_block<D, MR, NR>,
                  &kernels::gemm_i8_block<D, 1, NR>};
}

constexpr int gcd_int(int a, int b) { return b == 0 ? a : gcd_int(b, a % b); }

// Builds a table from a port's kernel parameters (used by the ports' translation units).
template <class Vec, class P, class A>
constexpr KernelTable make_kernel_table(const char* name, bool (*cpu_supports)(),
                                        const Int8Gemm* int8_gemms, int int8_gemm_count) {
  return KernelTable{
      name,
      P::MR,
      P::NR,
      P::ROW_BLOCK,
      P::PANEL_BLOCK,
      A::NR,
      A::TQ,
      A::TK,
      A::NR / gcd_int(A::NR, 16) * 16,  // lcm(NR, 16)
      A::NR,
      cpu_supports,
      &kernels::pack_b<P::NR>,
      {&kernels::gemm_block<Vec, P::MR, P::NR, kernels::ElemF32>,
       &kernels::gemm_block<Vec, P::MR, P::NR, kernels::ElemF16>,
       &kernels::gemm_block<Vec, P::MR, P::NR, kernels::ElemBF16>},
      {&kernels::gemm_block<Vec, 1, P::NR, kernels::ElemF32>,
       &kernels::gemm_block<Vec, 1, P::NR, kernels::ElemF16>,
       &kernels::gemm_block<Vec, 1, P::NR, kernels::ElemBF16>},
      int8_gemms,
      int8_gemm_count,
      &kernels::quantize_rows,
      &kernels::attend_tile_scratch_floats<A::TQ, A::TK, A::NR>,
      {&kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 0>,
       &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 0, kernels::ElemF16>,
       &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 0, kernels::ElemI8>},
      {{&kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 32>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 64>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 80>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 96>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 128>},
       {&kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 32, kernels::ElemF16>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 64, kernels::ElemF16>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 80, kernels::ElemF16>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 96, kernels::ElemF16>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 128, kernels::ElemF16>},
       {&kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 32, kernels::ElemI8>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 64, kernels::ElemI8>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 80, kernels::ElemI8>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 96, kernels::ElemI8>,
        &kernels::attend_tile<Vec, A::MR, A::NR, A::TQ, A::TK, 128, kernels::ElemI8>}},
      &kernels::vexp<Vec>,
      {&kernels::attend_row_partial<Vec>, &kernels::attend_row_partial<Vec, kernels::ElemF16>,
       &kernels::attend_row_partial<Vec, kernels::ElemI8>}};
}

}  // namespace edgeattn

// In a port's kernels.cpp, after its table: defines the function the generated port list calls
// (port_table_<id>, the id being the folder's name with '-' as '_', set by edgeattn_port()).
#define EDGEATTN_PORT_TABLE_FN_(id) port_table_##id
#define EDGEATTN_PORT_TABLE_FN(id) EDGEATTN_PORT_TABLE_FN_(id)
#define EDGEATTN_REGISTER_PORT(table)                                        \
  const ::edgeattn::KernelTable& EDGEATTN_PORT_TABLE_FN(EDGEATTN_PORT_ID)(); \
  const ::edgeattn::KernelTable& EDGEATTN_PORT_TABLE_FN(EDGEATTN_PORT_ID)() { return table; }
