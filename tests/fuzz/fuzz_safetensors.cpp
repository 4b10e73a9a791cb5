// libFuzzer target: the .safetensors reader and the checkpoint loader on arbitrary bytes.
// Every malformed header, offset or shape must raise FormatError; tensors the header accepts
// must read back with the size their shape says.
#include <cstddef>
#include <cstdint>

#include "formats/checkpoint.hpp"
#include "formats/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace edgeattn::formats;
  try {
    const SafeTensors st = SafeTensors::from_memory("fuzz.safetensors", data, size);
    for (const std::string& name : st.names()) {
      std::size_t n = 1;
      for (std::size_t d : st.shape(name)) n *= d;
      if (st.read_float(name).size() != n) __builtin_trap();
    }
    for (const char* prefix : {"", "model.encoder.layers.0.self_attn."}) {
      try {
        const AttentionWeights w = load_attention_weights(st, prefix);
        if (w.q.size() != static_cast<std::size_t>(w.embed_dim) * w.embed_dim) __builtin_trap();
      } catch (const FormatError&) {
      }
    }
  } catch (const FormatError&) {
  }
  return 0;
}
