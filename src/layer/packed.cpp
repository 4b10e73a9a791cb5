// Packed weight blobs: pack() writes a layer's packed panels for one port behind a header,
// Layer::create_packed() checks the header and reads the panels in place.
//
// Layout (little-endian): a 256-byte header, then ten sections, each 64-byte aligned — the
// panels of Wq, Wk, Wv and Wo (kernels::packed_matrix_bytes each: elements of the weight type;
// for int8 also the column scales, the outlier features and their f16 weights) and
// the biases q, k, v, out, bias_k, bias_v (fp32; offset 0 when absent). The checksum covers
// the whole blob with its own field read as zero.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "layer/layer_impl.hpp"
#include "port_registry.hpp"
#include "size_math.hpp"

namespace edgeattn {

namespace {

constexpr char kMagic[8] = {'E', 'A', 'P', 'A', 'C', 'K', 'E', 'D'};
constexpr std::uint32_t kVersion = 2;  // 2: int8 with block-scaled activations and outliers
constexpr std::size_t kHeaderBytes = 256;
constexpr int kSections = 10;  // q, k, v, out panels; q, k, v, out biases; bias_k, bias_v
const char* const kSectionNames[kSections] = {"q",      "k",      "v",      "out",    "q_bias",
                                              "k_bias", "v_bias", "o_bias", "bias_k", "bias_v"};

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_bytes;
  std::uint64_t total_bytes;
  std::uint64_t checksum;
  char port[32];
  std::int32_t panel_columns;
  std::int32_t weight_type;
  std::int32_t embed_dim, num_heads, num_kv_heads, kdim, vdim;
  float scale;
  std::uint64_t offset[kSections];
  std::int32_t input_outliers, head_outliers;  // int8: outlier features of Wq/Wk/Wv and of Wo
};
static_assert(sizeof(Header) <= kHeaderBytes, "the header fits its 256 bytes");

struct PortLayout {
  const char* name;
  int panel_columns;
};
// Every port's panel width, whether or not this build compiles it (generated from
// ports/*/port.cmake by edgeattn_pack_layout()).
constexpr PortLayout kLayouts[] = {
#define EDGEATTN_PACK_LAYOUT(name, columns) {name, columns},
#include "edgeattn_pack_layouts.inc"
#undef EDGEATTN_PACK_LAYOUT
};

const PortLayout* layout_of(const char* port) {
  for (const PortLayout& l : kLayouts)
    if (std::strcmp(l.name, port) == 0) return &l;
  return nullptr;
}

}  // namespace

// 64-bit FNV-1a over 8-byte words (then the tail bytes), with the checksum field as zero.
std::uint64_t packed_blob_checksum(const unsigned char* p, std::size_t n) {
  constexpr std::uint64_t kPrime = 0x100000001b3ull;
  std::uint64_t h = 0xcbf29ce484222325ull;
  const std::size_t field = offsetof(Header, checksum);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    if (i != field) std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kPrime;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

std::size_t packed_blob_checksum_offset() { return offsetof(Header, checksum); }

namespace {

// The sections' sizes in bytes for these dimensions, panel width and weight type.
void section_bytes(const LayerImpl& L, int columns, std::size_t bytes[kSections],
                   const bool present[kSections]) {
  const int t = static_cast<int>(L.weight_type);
  const int in = L.input_outliers;
  bytes[0] = kernels::packed_matrix_bytes(L.embed_dim, L.embed_dim, columns, t, in);
  bytes[1] = kernels::packed_matrix_bytes(L.kdim, L.kv_width, columns, t, in);
  bytes[2] = kernels::packed_matrix_bytes(L.vdim, L.kv_width, columns, t, in);
  bytes[3] = kernels::packed_matrix_bytes(L.embed_dim, L.embed_dim, columns, t, L.head_outliers);
  const int widths[6] = {L.embed_dim, L.kv_width, L.kv_width, L.embed_dim, L.kv_width, L.kv_width};
  for (int i = 0; i < 6; ++i)
    bytes[4 + i] = present[4 + i] ? static_cast<std::size_t>(widths[i]) * sizeof(float) : 0;
}

Status blob_error(const char* what) {
  return Status::error(StatusCode::invalid_argument, "packed blob: %s", what);
}

}  // namespace

namespace {

// What a blob for this spec and port holds: the port, its panel width, the dimensions, the
// sections present and their sizes, the total.
struct BlobPlan {
  const char* port = nullptr;
  int columns = 0;
  LayerImpl dims;
  bool present[kSections] = {};
  std::size_t sizes[kSections] = {};
  std::size_t total = 0;
};

Status plan_blob(const LayerSpec& spec, const char* port, BlobPlan* p) {
  Status st = validate_layer_spec(spec);
  if (!st) return st;
  p->port = port;
  if (!port || !*port) {
    char error[160];
    const KernelTable* t = registry::select(nullptr, error, sizeof error);
    if (!t) return Status::error(StatusCode::unsupported, "%s", error);
    p->port = t->name;
  }
  const PortLayout* layout = layout_of(p->port);
  if (!layout) return Status::error(StatusCode::invalid_argument, "no port named '%s'", p->port);
  p->columns = layout->panel_columns;
  set_layer_dims(p->dims, spec);
  const Weights& w = spec.weights;
  const float* biases[6] = {w.q_bias, w.k_bias, w.v_bias, w.out_bias, w.bias_k, w.bias_v};
  for (int i = 0; i < kSections; ++i) p->present[i] = i < 4 || biases[i - 4] != nullptr;
  section_bytes(p->dims, p->columns, p->sizes, p->present);
  p->total = kHeaderBytes;
  for (std::size_t s : p->sizes) p->total += round_up(s, 64);
  return Status();
}

}  // namespace

Status packed_size(const LayerSpec& spec, const char* port, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  BlobPlan p;
  Status st = plan_blob(spec, port, &p);
  if (st) *bytes = p.total;
  return st;
}

Status pack(const LayerSpec& spec, const char* port, void* blob, std::size_t size) {
  BlobPlan p;
  Status st = plan_blob(spec, port, &p);
  if (!st) return st;
  if (!blob) return Status::error(StatusCode::null_pointer, "blob is null");
  if (size < p.total)
    return Status::error(StatusCode::workspace_too_small, "the blob needs %zu bytes, got %zu",
                         p.total, size);
  const LayerImpl& L = p.dims;
  const Weights& w = spec.weights;
  const int columns = p.columns;
  const std::size_t need = p.total;
  const bool* present = p.present;
  const std::size_t* sizes = p.sizes;
  auto* out = static_cast<unsigned char*>(blob);
  std::memset(out, 0, need);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.header_bytes = kHeaderBytes;
  h.total_bytes = need;
  std::snprintf(h.port, sizeof h.port, "%s", p.port);
  h.panel_columns = columns;
  h.weight_type = static_cast<std::int32_t>(spec.weight_type);
  h.embed_dim = L.embed_dim;
  h.num_heads = L.num_heads;
  h.num_kv_heads = L.num_kv_heads;
  h.kdim = L.kdim;
  h.vdim = L.vdim;
  h.scale = L.scale;
  h.input_outliers = L.input_outliers;
  h.head_outliers = L.head_outliers;
  std::size_t at = kHeaderBytes;
  for (int i = 0; i < kSections; ++i) {
    h.offset[i] = present[i] ? at : 0;
    at += round_up(sizes[i], 64);
  }
  const void* matrices[4] = {w.q, w.k, w.v, w.out};
  const int ins[4] = {L.embed_dim, L.kdim, L.vdim, L.embed_dim};
  const int outs[4] = {L.embed_dim, L.kv_width, L.kv_width, L.embed_dim};
  for (int i = 0; i < 4 && st; ++i)
    st = pack_matrix(columns, spec, matrices[i], kSectionNames[i], ins[i], outs[i],
                     i < 3 ? L.input_features : L.head_features,
                     i < 3 ? L.input_outliers : L.head_outliers, out + h.offset[i]);
  if (!st) return st;
  const float* biases[6] = {w.q_bias, w.k_bias, w.v_bias, w.out_bias, w.bias_k, w.bias_v};
  for (int i = 0; i < 6; ++i)
    if (biases[i]) std::memcpy(out + h.offset[4 + i], biases[i], sizes[4 + i]);
  std::memcpy(out, &h, sizeof h);
  h.checksum = packed_blob_checksum(out, need);
  std::memcpy(out + offsetof(Header, checksum), &h.checksum, sizeof h.checksum);
  return Status();
}

Status Layer::create_packed(const void* blob, std::size_t size, std::unique_ptr<Layer>* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "output layer pointer is null");
  out->reset();
  if (!blob) return Status::error(StatusCode::null_pointer, "blob is null");
  if (reinterpret_cast<std::uintptr_t>(blob) % 64 != 0)
    return blob_error("must be 64-byte aligned (an mmap of the file is)");
  if (size < kHeaderBytes) return blob_error("shorter than its 256-byte header");
  const auto* bytes = static_cast<const unsigned char*>(blob);
  Header h;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
    return blob_error("not an edgeattn packed blob (bad magic)");
  if (h.version != kVersion)
    return Status::error(StatusCode::unsupported,
                         "packed blob: format version %u, this library reads version %u", h.version,
                         kVersion);
  if (h.header_bytes != kHeaderBytes || h.total_bytes != size)
    return Status::error(StatusCode::invalid_argument,
                         "packed blob: its header says %llu bytes, the blob has %zu (truncated?)",
                         static_cast<unsigned long long>(h.total_bytes), size);
  if (packed_blob_checksum(bytes, size) != h.checksum)
    return blob_error("checksum mismatch (the blob is corrupted)");
  if (std::memchr(h.port, '\0', sizeof h.port) == nullptr) return blob_error("bad port name");
  char error[160];
  const KernelTable* k = registry::select(h.port, error, sizeof error);
  if (!k)
    return Status::error(StatusCode::unsupported, "packed blob is for port %s: %s", h.port, error);
  if (k->gemm_nr != h.panel_columns)
    return Status::error(StatusCode::invalid_argument,
                         "packed blob: panels of %d columns, port %s reads %d", h.panel_columns,
                         h.port, k->gemm_nr);
  // The dimensions, through the checks create() makes (pointers stand in for the weights).
  LayerSpec spec;
  spec.embed_dim = h.embed_dim;
  spec.num_heads = h.num_heads;
  spec.num_kv_heads = h.num_kv_heads;
  spec.kdim = h.kdim;
  spec.vdim = h.vdim;
  spec.scale = h.scale;
  spec.weight_type = static_cast<ElementType>(h.weight_type);
  spec.weights.q = spec.weights.k = spec.weights.v = spec.weights.out = bytes;
  const bool has_kv_bias = h.offset[8] != 0;
  if (has_kv_bias != (h.offset[9] != 0)) return blob_error("bias_k and bias_v must come together");
  if (has_kv_bias)
    spec.weights.bias_k = spec.weights.bias_v = reinterpret_cast<const float*>(bytes);
  Status st = validate_layer_spec(spec);
  if (!st) return Status::error(st.code(), "packed blob: %s", st.message());
  const bool int8 = spec.weight_type == ElementType::int8;
  if (h.input_outliers < 0 || h.input_outliers > (int8 ? kInt8MaxOutliers : 0) ||
      h.head_outliers < 0 || h.head_outliers > (int8 ? kInt8MaxOutliers : 0))
    return blob_error("bad int8 outlier counts");

  std::unique_ptr<LayerImpl> impl(new (std::nothrow) LayerImpl());
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  LayerImpl& L = *impl;
  set_layer_dims(L, spec);
  L.input_outliers = h.input_outliers;
  L.head_outliers = h.head_outliers;
  L.kernels = k;
  bool present[kSections];
  for (int i = 0; i < kSections; ++i) present[i] = h.offset[i] != 0;
  std::size_t sizes[kSections];
  section_bytes(L, h.panel_columns, sizes, present);
  for (int i = 0; i < kSections; ++i) {
    if (i < 4 && !present[i]) return blob_error("a weight matrix is missing");
    if (!present[i]) continue;
    if (h.offset[i] % 64 != 0 || h.offset[i] < kHeaderBytes || h.offset[i] > size ||
        sizes[i] > size - h.offset[i])
      return Status::error(StatusCode::invalid_argument,
                           "packed blob: section %s (%zu bytes at %llu) lies outside its %zu bytes",
                           kSectionNames[i], sizes[i], static_cast<unsigned long long>(h.offset[i]),
                           size);
  }
  L.wq = bytes + h.offset[0];
  L.wk = bytes + h.offset[1];
  L.wv = bytes + h.offset[2];
  L.wout = bytes + h.offset[3];
  if (int8) {  // the outlier features each matrix holds: one list for Wq, Wk, Wv, checked
    auto features = [&](int section, int K, int N, int count, std::int32_t* dst) {
      const std::size_t at = kernels::int8_layout(K, N, h.panel_columns, count).features;
      std::memcpy(dst, bytes + h.offset[section] + at, sizeof(std::int32_t) * count);
    };
    std::int32_t k_features[kInt8MaxOutliers], v_features[kInt8MaxOutliers];
    features(0, L.embed_dim, L.embed_dim, L.input_outliers, L.input_features);
    features(1, L.kdim, L.kv_width, L.input_outliers, k_features);
    features(2, L.vdim, L.kv_width, L.input_outliers, v_features);
    features(3, L.embed_dim, L.embed_dim, L.head_outliers, L.head_features);
    const std::size_t n = sizeof(std::int32_t) * L.input_outliers;
    if (std::memcmp(k_features, L.input_features, n) != 0 ||
        std::memcmp(v_features, L.input_features, n) != 0)
      return blob_error("Wq, Wk and Wv hold different int8 outlier features");
    int inputs[kInt8MaxOutliers], heads[kInt8MaxOutliers];
    std::copy(L.input_features, L.input_features + L.input_outliers, inputs);
    std::copy(L.head_features, L.head_features + L.head_outliers, heads);
    spec.int8_outliers = {inputs, L.input_outliers, heads, L.head_outliers};
    st = validate_layer_spec(spec);
    if (!st) return Status::error(st.code(), "packed blob: %s", st.message());
  }
  L.packed_bytes = round_up(sizes[0], 64) + round_up(sizes[1], 64) + round_up(sizes[2], 64) +
                   round_up(sizes[3], 64);
  bool oom = false;
  auto bias = [&](int i) {
    return present[i] ? copy_floats(reinterpret_cast<const float*>(bytes + h.offset[i]),
                                    sizes[i] / sizeof(float), &oom)
                      : nullptr;
  };
  L.bq = bias(4);
  L.bk = bias(5);
  L.bv = bias(6);
  L.bo = bias(7);
  L.bias_k = bias(8);
  L.bias_v = bias(9);
  if (oom) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  out->reset(new (std::nothrow) Layer(std::move(impl)));
  if (!*out) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  return Status();
}

}  // namespace edgeattn
