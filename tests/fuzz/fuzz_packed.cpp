// libFuzzer target: Layer::create_packed on mutated blobs. A valid blob of a small layer (biases,
// bias_k/bias_v, grouped-query heads, a fuzzed weight type, int8 outlier features) is mutated by
// the input — bytes XORed at fuzzed offsets (the header's fields among them), a fuzzed truncation
// or extension — and, when the input asks, resealed with a valid checksum so that the checks behind
// the checksum are reached. create_packed must refuse with a status or give a layer that runs;
// never crash or read outside the blob (ASan).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "fuzz_input.hpp"
#include "layer/layer_impl.hpp"
#include "test_util.hpp"

using namespace edgeattn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  test::FuzzInput in{data, size};
  test::CaseConfig cfg;
  cfg.embed_dim = 8;
  cfg.num_heads = 2;
  cfg.num_kv_heads = in.flip() ? 1 : 2;
  cfg.bias_kv = in.flip();
  cfg.k_bias = in.flip();
  cfg.weight_type = static_cast<ElementType>(in.pick(0, 3));
  if (cfg.weight_type == ElementType::int8 && in.flip()) {  // outlier features: lists to corrupt
    cfg.int8_inputs = {1, 6};
    cfg.int8_heads = {in.pick(0, 7)};
  }
  cfg.q_len = cfg.kv_len = 3;
  const test::Case c = test::make_case(cfg, 1);
  std::size_t bytes = 0;
  if (!packed_size(c.spec(), nullptr, &bytes).ok()) std::abort();
  // The blob in 64-byte aligned memory of exactly its (mutated) length, so that ASan sees any
  // read past its end.
  const int resize = in.pick(0, 7);  // 0: shorter, 1: longer, else the same
  const std::size_t length = resize == 0   ? in.next() * (bytes / 256 + 1) % bytes
                             : resize == 1 ? bytes + 64
                                           : bytes;
  std::vector<unsigned char> packed(bytes);
  if (!pack(c.spec(), nullptr, packed.data(), bytes).ok()) std::abort();
  for (int n = in.pick(0, 8); n > 0; --n) {
    const std::size_t at =
        in.flip() ? in.next() : (std::size_t{in.next()} << 8 | in.next()) % bytes;
    packed[at % bytes] ^= static_cast<unsigned char>(in.next() | 1);
  }
  const bool reseal = in.flip();
  void* mem = std::aligned_alloc(64, (length + 63) / 64 * 64 + 64);
  auto* blob = static_cast<unsigned char*>(mem);
  std::memcpy(blob, packed.data(), std::min(length, bytes));
  if (length > bytes) std::memset(blob + bytes, 0, length - bytes);
  if (reseal && length >= 256) {
    const std::uint64_t zero = 0;
    std::memcpy(blob + packed_blob_checksum_offset(), &zero, sizeof zero);
    const std::uint64_t sum = packed_blob_checksum(blob, length);
    std::memcpy(blob + packed_blob_checksum_offset(), &sum, sizeof sum);
  }
  std::unique_ptr<Layer> layer;
  if (Layer::create_packed(blob, length, &layer).ok()) {
    // Accepted: it must run (on inputs of its own width) without touching anything else.
    const int E = layer->embed_dim();
    std::vector<float> x(static_cast<std::size_t>(3) * E, 0.25f), y(x.size());
    RunArgs a;
    a.layout = SequenceLayout::unbatched;
    a.shape = {1, 3, 3};
    a.query = x.data();
    a.output = y.data();
    if (layer->kdim() == E && layer->vdim() == E) {
      std::size_t ws_bytes = 0;
      if (layer->workspace_size(a.shape, 1, &ws_bytes).ok()) {
        test::Workspace ws(ws_bytes);
        Executor exec(1);
        (void)layer->run(a, ws.data(), ws_bytes, exec);
      }
    }
  }
  layer.reset();
  std::free(mem);
  return 0;
}
