// libFuzzer target: the .safetensors reader, the checkpoint loader and Layer::create on what it
// loads. Every malformed header, offset or shape must raise FormatError; tensors the header
// accepts must read back with the size their shape says; a layer the loader accepts must get
// from it exactly as many floats as it reads (ASan sees any read past a tensor), and run.
//
// Structure-aware: besides libFuzzer's byte mutations, a custom mutator parses the file and
// changes shapes, dtypes, names and offsets together, re-laying the data section, so that it
// reaches files that are well formed but do not fit the layer (the narrow q_proj.weight of
// regressions/safetensors/hf_narrow_q_proj was found that way).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgeattn/edgeattn.hpp"
#include "formats/checkpoint.hpp"
#include "formats/safetensors.hpp"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

using edgeattn::formats::AttentionWeights;
using edgeattn::formats::FormatError;
using edgeattn::formats::SafeTensors;

const char* const kPrefixes[] = {"", "model.encoder.layers.0.self_attn."};

// The floats a layer reads from each weight the loader accepted must be exactly there.
void check_sizes(const AttentionWeights& w) {
  const auto E = static_cast<std::size_t>(w.embed_dim), W = static_cast<std::size_t>(w.kv_width);
  const auto kdim = static_cast<std::size_t>(w.kdim), vdim = static_cast<std::size_t>(w.vdim);
  auto bias_ok = [](const std::vector<float>& b, std::size_t n) {
    return b.empty() || b.size() == n;
  };
  const bool b16 = w.element_type != edgeattn::ElementType::f32;
  const std::size_t q = b16 ? w.q16.size() : w.q.size(), k = b16 ? w.k16.size() : w.k.size(),
                    v = b16 ? w.v16.size() : w.v.size(), o = b16 ? w.out16.size() : w.out.size();
  if (q != E * E || k != W * kdim || v != W * vdim || o != E * E || !bias_ok(w.q_bias, E) ||
      !bias_ok(w.k_bias, W) || !bias_ok(w.v_bias, W) || !bias_ok(w.out_bias, E) ||
      !bias_ok(w.bias_k, W) || !bias_ok(w.bias_v, W) ||
      w.num_kv_heads * (w.embed_dim / w.num_heads) != w.kv_width)
    __builtin_trap();
}

// Creates the layer and runs it once on two positions of cross-attention (small layers only).
void create_and_run(const AttentionWeights& w) {
  if (w.embed_dim > 256 || w.kdim > 256 || w.vdim > 256) return;
  std::unique_ptr<edgeattn::Layer> layer;
  const edgeattn::LayerSpec spec = w.spec();
  if (!edgeattn::Layer::create(spec, &layer)) return;  // refused with a status: fine
  std::vector<float> q(2 * static_cast<std::size_t>(w.embed_dim), 0.5f),
      k(2 * static_cast<std::size_t>(w.kdim), -0.25f),
      v(2 * static_cast<std::size_t>(w.vdim), 1.0f), y(q.size());
  edgeattn::RunArgs a;
  a.layout = edgeattn::SequenceLayout::unbatched;
  a.shape = {1, 2, 2};
  a.query = q.data();
  a.key = k.data();
  a.value = v.data();
  a.output = y.data();
  edgeattn::Executor serial(1);
  std::size_t bytes = 0;
  if (!layer->workspace_size(a.shape, 1, &bytes)) __builtin_trap();
  std::vector<unsigned char> ws(bytes + edgeattn::kWorkspaceAlignment);
  void* aligned =
      ws.data() + (edgeattn::kWorkspaceAlignment -
                   reinterpret_cast<std::uintptr_t>(ws.data()) % edgeattn::kWorkspaceAlignment);
  if (!layer->run(a, aligned, bytes, serial)) __builtin_trap();
}

// ---- the custom mutator's view of a file: header entries and each tensor's bytes

struct Tensor {
  std::string name, dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
  std::vector<std::uint8_t> bytes;
};

struct File {
  nlohmann::json metadata;
  std::vector<Tensor> tensors;
};

std::size_t dtype_bytes(const std::string& d) { return d == "F64" ? 8 : d == "F32" ? 4 : 2; }

bool parse(const std::uint8_t* data, std::size_t size, File* f) {
  if (size < 8) return false;
  std::uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = len << 8 | data[i];
  if (len > size - 8) return false;
  const nlohmann::json h = nlohmann::json::parse(data + 8, data + 8 + len, nullptr, false);
  if (h.is_discarded() || !h.is_object()) return false;
  const std::size_t data_size = size - 8 - len;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      f->metadata = it.value();
      continue;
    }
    const auto& e = it.value();
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2 || !e["data_offsets"][0].is_number_unsigned() ||
        !e["data_offsets"][1].is_number_unsigned())
      return false;
    Tensor t;
    t.name = it.key();
    t.dtype = e["dtype"].get<std::string>();
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) return false;
      t.shape.push_back(d.get<std::uint64_t>());
    }
    t.begin = e["data_offsets"][0].get<std::uint64_t>();
    t.end = e["data_offsets"][1].get<std::uint64_t>();
    if (t.begin <= t.end && t.end <= data_size)
      t.bytes.assign(data + 8 + len + t.begin, data + 8 + len + t.end);
    f->tensors.push_back(std::move(t));
  }
  return true;
}

// Lays the tensors out one after another, each tensor's bytes cut or zero-padded to its shape.
bool relayout(File* f) {
  std::uint64_t at = 0;
  for (Tensor& t : f->tensors) {
    std::uint64_t n = dtype_bytes(t.dtype);
    for (std::uint64_t d : t.shape) {
      if (d != 0 && n > (std::uint64_t{1} << 24) / d) return false;  // keep mutated files small
      n *= d;
    }
    t.bytes.resize(n, 0);
    t.begin = at;
    t.end = at += n;
  }
  return true;
}

std::size_t serialize(const File& f, std::uint8_t* out, std::size_t max_size) {
  nlohmann::json h = nlohmann::json::object();
  if (!f.metadata.is_null()) h["__metadata__"] = f.metadata;
  std::vector<std::uint8_t> body;
  for (const Tensor& t : f.tensors) {
    if (t.end > max_size) return 0;
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    if (t.end > body.size()) body.resize(t.end, 0);
    if (t.begin <= t.end && t.end - t.begin == t.bytes.size())
      std::copy(t.bytes.begin(), t.bytes.end(),
                body.begin() + static_cast<std::ptrdiff_t>(t.begin));
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::size_t total = 8 + text.size() + body.size();
  if (total > max_size) return 0;
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  std::memcpy(out + 8, text.data(), text.size());
  if (!body.empty()) std::memcpy(out + 8 + text.size(), body.data(), body.size());
  return total;
}

// Names the loader looks for, so that a mutation can move a tensor from one scheme to another.
const char* const kNames[] = {"in_proj_weight", "in_proj_bias",  "q_proj_weight", "k_proj_weight",
                              "v_proj_weight",  "q_proj.weight", "q_proj.bias",   "k_proj.weight",
                              "k_proj.bias",    "v_proj.weight", "v_proj.bias",   "out_proj.weight",
                              "out_proj.bias",  "bias_k",        "bias_v"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace edgeattn::formats;
  try {
    const SafeTensors st = SafeTensors::from_memory("fuzz.safetensors", data, size);
    for (const std::string& name : st.names()) {
      std::size_t n = 1;
      for (std::size_t d : st.shape(name)) n *= d;
      if (st.read_float(name).size() != n) __builtin_trap();
    }
    for (const char* prefix : kPrefixes) {
      for (int heads : {1, 2, 4}) {
        for (int kv_heads : {0, 1}) {
          try {
            const AttentionWeights w = load_attention_weights(st, prefix, heads, kv_heads);
            check_sizes(w);
            create_and_run(w);
          } catch (const FormatError&) {
          }
        }
      }
    }
  } catch (const FormatError&) {
  }
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  File f;
  if (pick(4) == 0 || !parse(data, size, &f) || f.tensors.empty())
    return LLVMFuzzerMutate(data, size, max_size);
  Tensor& t = f.tensors[pick(f.tensors.size())];
  bool relay = true;
  switch (pick(7)) {
    case 0:  // one dimension a little or a lot off: narrower, wider, 1, doubled, halved
    case 1: {
      if (t.shape.empty()) break;
      std::uint64_t& d = t.shape[pick(t.shape.size())];
      const std::uint64_t choices[] = {d + 1, d > 1 ? d - 1 : 2, 1, 2 * d, d / 2,
                                       d + 8, d > 8 ? d - 8 : 0};
      d = choices[pick(std::size(choices))];
      break;
    }
    case 2:  // rank: a leading 1 added or a dimension removed, or two dimensions swapped
      if (pick(3) == 0 && t.shape.size() >= 2) {
        std::swap(t.shape[0], t.shape[1]);
      } else if (pick(2) == 0 || t.shape.empty()) {
        t.shape.insert(t.shape.begin(), 1);
      } else {
        t.shape.erase(t.shape.begin() + static_cast<std::ptrdiff_t>(pick(t.shape.size())));
      }
      break;
    case 3: {  // another tensor's shape
      t.shape = f.tensors[pick(f.tensors.size())].shape;
      break;
    }
    case 4: {  // another dtype (the bytes are re-laid, not converted)
      const char* const dtypes[] = {"F32", "F16", "BF16", "F64"};
      t.dtype = dtypes[pick(4)];
      break;
    }
    case 5: {  // renamed to another name the loader reads (same prefix), or removed
      const std::string prefix =
          t.name.compare(0, std::strlen(kPrefixes[1]), kPrefixes[1]) == 0 ? kPrefixes[1] : "";
      if (pick(4) == 0) {
        f.tensors.erase(f.tensors.begin() + (&t - f.tensors.data()));
      } else {
        const std::string name = prefix + kNames[pick(std::size(kNames))];
        if (std::none_of(f.tensors.begin(), f.tensors.end(),
                         [&](const Tensor& o) { return o.name == name; }))
          t.name = name;
      }
      break;
    }
    default: {  // offsets alone, inconsistent with the shape or the data section
      relay = false;
      const std::uint64_t delta = 1 + pick(64);
      if (pick(2) == 0) {
        t.end = pick(2) == 0 ? t.end + delta : (t.end >= delta ? t.end - delta : 0);
      } else {
        t.begin = pick(2) == 0 ? t.begin + delta : (t.begin >= delta ? t.begin - delta : 0);
      }
      break;
    }
  }
  if (relay && !relayout(&f)) return LLVMFuzzerMutate(data, size, max_size);
  const std::size_t n = serialize(f, data, max_size);
  return n ? n : LLVMFuzzerMutate(data, size, max_size);
}
