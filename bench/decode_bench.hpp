// Decode-step benchmarks (bench/decode_bench.cpp): registered by edgeattn_bench's main.
#pragma once

namespace edgeattn::bench {
// decode/edgeattn/S6_decode/threads:<n> and stream/read/threads:<n> for n = 1 .. max_threads.
void register_decode_benchmarks(int max_threads);
}  // namespace edgeattn::bench
