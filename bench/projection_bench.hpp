// Projection-GEMM benchmarks (bench/projection_bench.cpp), registered by edgeattn_bench's main:
// each standard shape's two projection GEMMs — the fused Q/K/V one ([rows, E] × [E, 3E], or
// Q alone over the query and K/V over the memory for cross-attention) and the output one
// ([rows, E] × [E, E]) — with bias, weights packed before timing:
//
//   proj/edgeattn/<shape>/{qkv,out}/threads:1   edgeattn's projection driver (engine::Projection,
//                                               the port in use), as a layer runs it
//   proj/xnnpack/<shape>/{qkv,out}/threads:1    XNNPACK's xnn_fully_connected_nc_f32 operator,
//                                               created once (it packs its weights at create)
//
// XNNPACK's are built only where CMake found it (libxnnpack-dev; EDGEATTN_BENCH_XNNPACK).
#pragma once

namespace edgeattn::bench {
void register_projection_benchmarks();
// "XNNPACK <snapshot>" when the baseline is built, else why not (for the results' context).
const char* xnnpack_status();
}  // namespace edgeattn::bench
