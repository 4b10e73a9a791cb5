// libFuzzer target: the .npy reader on arbitrary bytes. A malformed file must raise
// FormatError (never crash, hang or read out of bounds); a parsed one must convert cleanly.
#include <cstddef>
#include <cstdint>

#include "formats/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const edgeattn::formats::Array a = edgeattn::formats::parse_npy("fuzz.npy", data, size);
    if (a.bytes.size() != a.elements() * edgeattn::formats::dtype_size(a.dtype)) __builtin_trap();
    if (a.is_float()) (void)a.to_float();
    if (a.is_bool()) (void)a.to_bool();
    if (a.dtype == edgeattn::formats::DType::i32 || a.dtype == edgeattn::formats::DType::i64)
      (void)a.to_int64();
  } catch (const edgeattn::formats::FormatError&) {
  }
  return 0;
}
