// Projection scheduling: one GEMM of a run — the rows of an input (per batch) times the packed
// panels of up to three weight matrices that share that input — cut into tasks of up to the
// port's row block × panel block. Self-attention puts Q, K and V in one projection, so each task
// reads its rows of X once for all three. The grid is computed when a plan is made; a run binds
// the pointers (input, outputs) and runs the tasks.
//
// int8 weights add a first stage: each input row is quantized to int8 (a scale per block of
// inputs, the outlier features kept apart in fp32) into the workspace, then the int8 GEMM
// reads those rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "edgeattn/edgeattn.hpp"
#include "kernel_table.hpp"

namespace edgeattn::engine {

// Address of token (b, l) of a [.., L, F] tensor in the caller's sequence layout.
struct SeqStrides {
  std::ptrdiff_t batch = 0, token = 0;
};
SeqStrides seq_strides(SequenceLayout layout, int batch, int len, int width);

// The output columns of one weight matrix inside a projection: its packed panels, width and
// where its results go.
struct Segment {
  const void* packed = nullptr;
  int N = 0;
  int panels = 0;
  kernels::OutputMap map;             // for batch 0
  std::ptrdiff_t out_batch_step = 0;  // added to map.base per batch
};

struct Projection {
  const KernelTable* k = nullptr;
  const float* a = nullptr;
  SeqStrides in;
  int batch = 0, rows = 0, K = 0;
  int weight_type = 0;  // the packed panels' element type: an index of the gemm kernels
  Segment seg[3];
  int segments = 0;
  int row_blocks = 0, panel_blocks = 0;
  int row_block = 0;  // rows per task: the port's maximum, evened out over the row blocks
  // int8 weights: the kernel, the quantized rows' width (K rounded up to 4) and where they lie
  // in the workspace (set by place_quantized; bound to pointers at run time).
  // The outlier features (fp32 activations) are those of every segment's packed matrix.
  const Int8Gemm* int8 = nullptr;
  int K4 = 0, blocks = 0;
  const std::int32_t* features = nullptr;
  int outliers = 0;
  std::size_t quantized_at = 0;  // in floats from the workspace's start
  std::int8_t* qa = nullptr;
  float* qscale = nullptr;    // [batch · rows][blocks]
  float* qoutlier = nullptr;  // [batch · rows][outliers]

  // Planning: the shape, then each segment's width, then the grid.
  void plan(const KernelTable& kernels, ElementType weight_type_, int batch_, int rows_, int K_,
            const std::int32_t* features_ = nullptr, int outliers_ = 0);
  void add_segment(const void* packed, int N);
  void plan_grid();
  // Workspace floats the quantized rows and their scales take (0 unless int8), and where they
  // go.
  std::size_t quantized_floats() const;
  void place_quantized(std::size_t offset_floats) { quantized_at = offset_floats; }
  std::size_t tasks() const { return static_cast<std::size_t>(batch) * row_blocks * panel_blocks; }
  // Binding at run time.
  void bind(int segment, const kernels::OutputMap& map, std::ptrdiff_t batch_step) {
    seg[segment].map = map;
    seg[segment].out_batch_step = batch_step;
  }
  void bind_workspace(float* workspace) {
    if (!int8) return;
    qa = reinterpret_cast<std::int8_t*>(workspace + quantized_at);
    qscale = workspace + quantized_at + quantized_bytes() / sizeof(float);
    qoutlier = qscale + scale_floats();
  }
  std::size_t quantize_tasks() const {
    return int8 ? static_cast<std::size_t>(batch) * row_blocks : 0;
  }
  void run_quantize_task(std::size_t t) const;
  void run_task(std::size_t t) const;

 private:
  std::size_t quantized_bytes() const;  // the int8 rows, rounded up to 64 bytes
  std::size_t scale_floats() const;     // their block scales, rounded up to 16 floats
};

// The workspace floats projections that run in one stage take for their quantized rows (side by
// side); saturates at SIZE_MAX, which the workspace layout reports as an overflow.
std::size_t quantized_floats_sum(std::initializer_list<const Projection*> projections);

// Runs the tasks of up to three projections as one parallel stage (after one that quantizes
// the inputs of those with int8 weights).
void run_projections(const Projection* const* projections, int count, const Executor& exec);

}  // namespace edgeattn::engine
