// The edgeattn command-line tool: `info`, `run` (one attention layer of a real checkpoint on
// .npy inputs), `sdpa` (the attention core on projected Q/K/V, ONNX Attention semantics),
// `decode` (token-by-token through a KV cache) and `bench` (the standard shapes). Every error is
// one line on stderr and exit code 2; nothing else exits non-zero.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>  // POSIX: packed blobs are mapped (mmap), not read
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__) && (defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

#include "edgeattn/edgeattn.hpp"
#include "formats/checkpoint.hpp"
#include "formats/npy.hpp"
#include "formats/safetensors.hpp"
#include "onnx/onnx_attention.hpp"
#include "shapes.hpp"

namespace {

using edgeattn::formats::Array;
using edgeattn::formats::FormatError;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  std::string fallback;
  while (std::getline(f, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (key == "model name" || key == "Model") return value;
    if (key == "CPU part" && fallback.empty()) fallback = "ARM CPU part " + value;
  }
  return fallback.empty() ? "unknown" : fallback;
}

std::vector<std::string> cpu_features() {
  std::vector<std::string> out;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse2")) out.push_back("sse2");
  if (__builtin_cpu_supports("sse4.2")) out.push_back("sse4.2");
  if (__builtin_cpu_supports("avx")) out.push_back("avx");
  if (__builtin_cpu_supports("avx2")) out.push_back("avx2");
  if (__builtin_cpu_supports("fma")) out.push_back("fma");
  // CPUID's view; whether the OS also enables the zmm state is x86-avx512's own check (XCR0),
  // reported by "ports built" below.
  if (__builtin_cpu_supports("avx512f")) out.push_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) out.push_back("avx512bw");
  if (__builtin_cpu_supports("avx512dq")) out.push_back("avx512dq");
  if (__builtin_cpu_supports("avx512vl")) out.push_back("avx512vl");
#elif defined(__aarch64__) && defined(__linux__)
  // AT_HWCAP bits, named as /proc/cpuinfo's Features line names them.
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & HWCAP_ASIMD) out.push_back("asimd");
  if (hw & HWCAP_ASIMDHP) out.push_back("asimdhp");  // fp16 arithmetic (arm-neon64-fp16dot)
  if (hw & HWCAP_ASIMDDP) out.push_back("asimddp");  // sdot/udot (arm-neon64-fp16dot)
#elif defined(__arm__) && defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & (1UL << 12)) out.push_back("neon");
  if (hw & (1UL << 16)) out.push_back("vfpv4");
#endif
  return out;
}

// ---------------------------------------------------------------- info
// What each port's CPU check asks for (ports/*/cpu.cpp), for `info` to say why a port is skipped.
const char* port_requirement(const std::string& name) {
  if (name == "x86-avx512") return "AVX-512F/BW/DQ/VL with the OS's zmm state";
  if (name == "x86-avx2") return "AVX2, FMA and F16C";
  if (name == "x86-sse2") return "SSE2";
  if (name == "arm-neon64-fp16dot")
    return "ARMv8.2 fp16 arithmetic and dot products (asimdhp, asimddp)";
  if (name == "arm-neon64") return "AArch64 Advanced SIMD";
  if (name == "arm-neon32") return "NEON";
  if (name == "emulated-avx512") return "nothing, but is a test port used only when forced";
  return "nothing";  // generic
}

int cmd_info(const std::string& port) {
  edgeattn::PortInfo selected{};
  const edgeattn::Status st = edgeattn::select_port(port.c_str(), &selected);
  if (!st) throw UsageError(st.message());
  std::printf("edgeattn %s\n", edgeattn::version());
  std::printf("cpu:             %s\n", cpu_model().c_str());
  std::string features;
  for (const auto& f : cpu_features()) features += (features.empty() ? "" : " ") + f;
  std::printf("cpu features:    %s\n", features.empty() ? "(none detected)" : features.c_str());
  std::printf("port in use:     %s%s\n", selected.name,
              !port.empty()                  ? " (forced by --port)"
              : std::getenv("EDGEATTN_PORT") ? " (forced by EDGEATTN_PORT)"
                                             : " (automatic: the best port built this CPU runs)");
  // Why: each better port skipped and what it needs; then what the chosen one needs.
  for (int i = 0; i < edgeattn::port_count(); ++i) {
    const edgeattn::PortInfo p = edgeattn::port_info(i);
    if (std::string(p.name) == selected.name) break;
    std::printf("  skipped:       %s: %s (needs %s)\n", p.name,
                p.cpu_supported ? "not requested" : "this CPU lacks it", port_requirement(p.name));
  }
  std::printf("  chosen:        %s: this CPU has %s\n", selected.name,
              port_requirement(selected.name));
  std::printf("gemm kernel:     %s (tile %d x %d)\n", selected.gemm_kernel, selected.gemm_mr,
              selected.gemm_nr);
  std::printf("attention tile:  %s (%d query rows x %d keys)\n", selected.attention_kernel,
              selected.attn_query_tile, selected.attn_kv_tile);
  std::printf("int8 gemm:       %s (the port's best int8 kernel this CPU runs)\n",
              selected.int8_gemm_kernel);
  std::printf("default threads: %d\n", edgeattn::default_num_threads());
  std::printf("ports built:    ");
  for (int i = 0; i < edgeattn::port_count(); ++i) {
    const edgeattn::PortInfo p = edgeattn::port_info(i);
    std::printf(" %s%s", p.name, p.cpu_supported ? "" : " (CPU lacks it)");
  }
  std::printf("\n");
  return 0;
}

// --weight-type: the layer's packed weights (the option's choices are checked by CLI11).
edgeattn::ElementType weight_type_named(const std::string& name) {
  if (name == "f16") return edgeattn::ElementType::f16;
  if (name == "bf16") return edgeattn::ElementType::bf16;
  if (name == "int8") return edgeattn::ElementType::int8;
  return edgeattn::ElementType::f32;
}

// ---------------------------------------------------------------- run
struct RunOptions {
  std::string weights, prefix, query, key, value, attn_mask, key_padding_mask, out,
      attn_weights_out;
  std::string port;
  std::string weight_type;  // empty: the checkpoint's (f16/bf16 where all four matrices are)
  std::string packed;       // a packed blob instead of --weights
  std::vector<std::string> calibrate;  // int8: sample hidden states choosing outlier features
  int outliers = edgeattn::kInt8MaxOutliers;
  int heads = 0, kv_heads = 0, threads = 0;
  bool causal = false, seq_first = false;
};

// Sequence tensor [B, L, F] (or [L, B, F] with seq_first, or [L, F] unbatched) → B, L, F.
void sequence_dims(const Array& a, const std::string& path, bool seq_first, int* B, int* L,
                   int* F) {
  const auto& s = a.shape;
  if (s.size() == 2) {
    *B = 1;
    *L = static_cast<int>(s[0]);
    *F = static_cast<int>(s[1]);
  } else if (s.size() == 3) {
    *B = static_cast<int>(seq_first ? s[1] : s[0]);
    *L = static_cast<int>(seq_first ? s[0] : s[1]);
    *F = static_cast<int>(s[2]);
  } else {
    throw FormatError(path + ": expected shape " +
                      (seq_first ? "[seq, batch, E]" : "[batch, seq, E]") + " or [seq, E], got " +
                      a.shape_string());
  }
  for (std::size_t d : s)
    if (d == 0 || d > (1u << 30))
      throw FormatError(path + ": bad dimension in shape " + a.shape_string());
  if (!a.is_float())
    throw FormatError(path + ": expected a float array, got " +
                      edgeattn::formats::dtype_name(a.dtype));
}

// A file mapped read-only (a packed blob, used in place by Layer::create_packed).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw FormatError(path + ": cannot open file");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
      ::close(fd);
      throw FormatError(path + ": not a regular, non-empty file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data_ == MAP_FAILED) throw FormatError(path + ": cannot map file");
  }
  ~MappedFile() { ::munmap(data_, size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::string path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// --calibrate: int8 outlier features (LayerSpec::int8_outliers) chosen by an f32 layer with the
// same weights from sample hidden states, self-attention (.npy [batch, seq, E] or [seq, E],
// each checked against the layer), the `count` largest of each list.
struct CalibratedOutliers {
  std::vector<int> inputs, heads;
};

CalibratedOutliers calibrate_outliers(edgeattn::LayerSpec spec,
                                      const std::vector<std::string>& files, int count,
                                      const std::string& source) {
  if (spec.weight_type != edgeattn::ElementType::int8)
    throw UsageError("--calibrate chooses int8 outlier features: it needs --weight-type int8");
  spec.weight_type = edgeattn::ElementType::f32;
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = edgeattn::Layer::create(spec, &layer);
  if (!st) throw FormatError(source + ": " + st.message());
  edgeattn::Int8Calibration stats;
  for (const std::string& path : files) {
    const Array a = edgeattn::formats::read_npy(path);
    int B = 0, L = 0, E = 0;
    sequence_dims(a, path, false, &B, &L, &E);
    if (E != layer->embed_dim())
      throw FormatError(path + ": last dimension " + std::to_string(E) +
                        " does not match embed_dim " + std::to_string(layer->embed_dim()) + " of " +
                        source);
    const std::vector<float> x = a.to_float();
    std::vector<float> y(x.size());
    edgeattn::RunArgs args;
    args.shape = {B, L, L};
    args.query = x.data();
    args.output = y.data();
    st = layer->calibrate_int8(args, &stats);
    if (!st) throw FormatError(path + ": " + st.message());
  }
  return {stats.top_inputs(count), stats.top_heads(count)};
}

std::string feature_list(const std::vector<int>& f) {
  std::string s = "[";
  for (std::size_t i = 0; i < f.size(); ++i) s += (i ? ", " : "") + std::to_string(f[i]);
  return s + "]";
}

// The layer of `run`: from a checkpoint (--weights, --heads) or a packed blob (--packed).
struct RunLayer {
  std::unique_ptr<MappedFile> blob;
  edgeattn::formats::AttentionWeights w;  // empty with --packed
  std::unique_ptr<edgeattn::Layer> layer;
  std::string source;  // the file named in messages
  int embed_dim = 0, kdim = 0, vdim = 0;
};

void load_run_layer(const RunOptions& o, RunLayer* r) {
  if (o.weights.empty() == o.packed.empty())
    throw UsageError("give either --weights (a checkpoint) or --packed (a packed blob)");
  if (!o.packed.empty()) {
    if (o.heads || o.kv_heads || !o.prefix.empty() || !o.weight_type.empty() || !o.port.empty() ||
        !o.calibrate.empty())
      throw UsageError(
          "--packed takes no --heads, --kv-heads, --prefix, --weight-type, --port or "
          "--calibrate: the blob fixes them");
    r->source = o.packed;
    r->blob = std::make_unique<MappedFile>(o.packed);
    const edgeattn::Status st =
        edgeattn::Layer::create_packed(r->blob->data(), r->blob->size(), &r->layer);
    if (!st) throw FormatError(o.packed + ": " + st.message());
    r->embed_dim = r->layer->embed_dim();
    r->kdim = r->layer->kdim();
    r->vdim = r->layer->vdim();
    return;
  }
  if (o.heads <= 0) throw UsageError("--heads must be >= 1");
  r->source = o.weights;
  const edgeattn::formats::SafeTensors file(o.weights);
  // Checks every tensor's shape against the layer (heads, --kv-heads) before reading it.
  r->w = edgeattn::formats::load_attention_weights(file, o.prefix, o.heads, o.kv_heads);
  r->embed_dim = r->w.embed_dim;
  r->kdim = r->w.kdim;
  r->vdim = r->w.vdim;
}

int cmd_run(const RunOptions& o) {
  RunLayer rl;
  load_run_layer(o, &rl);
  struct {
    int embed_dim, kdim, vdim;
  } const w{rl.embed_dim, rl.kdim, rl.vdim};
  const std::string& source = rl.source;

  const Array q = edgeattn::formats::read_npy(o.query);
  int B, Lq, Eq;
  sequence_dims(q, o.query, o.seq_first, &B, &Lq, &Eq);
  const bool unbatched = q.shape.size() == 2;
  if (Eq != w.embed_dim)
    throw FormatError(o.query + ": last dimension " + std::to_string(Eq) +
                      " does not match embed_dim " + std::to_string(w.embed_dim) + " of " + source);
  const std::vector<float> query = q.to_float();
  std::vector<float> key, value;
  int Lkv = Lq;
  if (o.key.empty() != o.value.empty())
    throw UsageError("--key and --value must be given together");
  if (!o.key.empty()) {
    const Array k = edgeattn::formats::read_npy(o.key), v = edgeattn::formats::read_npy(o.value);
    int Bk, Lk, Fk, Bv, Lv, Fv;
    sequence_dims(k, o.key, o.seq_first, &Bk, &Lk, &Fk);
    sequence_dims(v, o.value, o.seq_first, &Bv, &Lv, &Fv);
    if (k.shape.size() != q.shape.size() || Bk != B)
      throw FormatError(o.key + ": shape " + k.shape_string() +
                        " does not match the query's batch " + q.shape_string());
    if (v.shape.size() != q.shape.size() || Bv != B || Lv != Lk)
      throw FormatError(o.value + ": shape " + v.shape_string() + " does not match the key's " +
                        k.shape_string());
    if (Fk != w.kdim)
      throw FormatError(o.key + ": last dimension " + std::to_string(Fk) + " does not match kdim " +
                        std::to_string(w.kdim) + " of " + source);
    if (Fv != w.vdim)
      throw FormatError(o.value + ": last dimension " + std::to_string(Fv) +
                        " does not match vdim " + std::to_string(w.vdim) + " of " + source);
    key = k.to_float();
    value = v.to_float();
    Lkv = Lk;
  } else if (w.kdim != w.embed_dim || w.vdim != w.embed_dim) {
    throw UsageError(source + " has kdim/vdim different from embed_dim: pass --key and --value");
  }

  edgeattn::RunArgs args;
  args.layout = unbatched     ? edgeattn::SequenceLayout::unbatched
                : o.seq_first ? edgeattn::SequenceLayout::seq_first
                              : edgeattn::SequenceLayout::batch_first;
  args.shape = {B, Lq, Lkv};
  args.query = query.data();
  args.key = key.empty() ? nullptr : key.data();
  args.value = value.empty() ? nullptr : value.data();
  args.causal = o.causal;
  std::vector<float> mask_f, kpm_f;
  std::vector<std::uint8_t> mask_b, kpm_b;
  if (!o.attn_mask.empty()) {
    const Array m = edgeattn::formats::read_npy(o.attn_mask);
    if (m.shape.size() != 2 && m.shape.size() != 3)
      throw FormatError(
          o.attn_mask +
          ": attention mask must be [q_len, kv_len] or [batch*heads, q_len, kv_len], got " +
          m.shape_string());
    args.attn_mask.rank = static_cast<int>(m.shape.size());
    for (std::size_t i = 0; i < m.shape.size(); ++i) {
      if (m.shape[i] > (1u << 30))
        throw FormatError(o.attn_mask + ": bad dimension in shape " + m.shape_string());
      args.attn_mask.dims[i] = static_cast<int>(m.shape[i]);
    }
    if (m.is_bool()) {
      mask_b = m.to_bool();
      args.attn_mask.type = edgeattn::MaskType::boolean;
      args.attn_mask.data = mask_b.data();
      args.attn_mask.sense =
          edgeattn::BoolMaskSense::blocks_if_true;  // torch.nn.MultiheadAttention
    } else if (m.is_float()) {
      mask_f = m.to_float();
      args.attn_mask.type = edgeattn::MaskType::additive;
      args.attn_mask.data = mask_f.data();
    } else {
      throw FormatError(o.attn_mask + ": attention mask must be bool or float, got " +
                        edgeattn::formats::dtype_name(m.dtype));
    }
  }
  if (!o.key_padding_mask.empty()) {
    const Array m = edgeattn::formats::read_npy(o.key_padding_mask);
    const bool ok = (m.shape.size() == 2 && m.shape[0] == static_cast<std::size_t>(B)) ||
                    (unbatched && m.shape.size() == 1);
    if (!ok || m.shape.back() != static_cast<std::size_t>(Lkv))
      throw FormatError(o.key_padding_mask +
                        ": key padding mask must be [batch=" + std::to_string(B) +
                        ", kv_len=" + std::to_string(Lkv) + "], got " + m.shape_string());
    args.key_padding_mask.dims[0] = B;
    args.key_padding_mask.dims[1] = Lkv;
    if (m.is_bool()) {
      kpm_b = m.to_bool();
      args.key_padding_mask.type = edgeattn::MaskType::boolean;
      args.key_padding_mask.data = kpm_b.data();
      args.key_padding_mask.sense = edgeattn::BoolMaskSense::blocks_if_true;
    } else if (m.is_float()) {
      kpm_f = m.to_float();
      args.key_padding_mask.type = edgeattn::MaskType::additive;
      args.key_padding_mask.data = kpm_f.data();
    } else {
      throw FormatError(o.key_padding_mask + ": key padding mask must be bool or float, got " +
                        edgeattn::formats::dtype_name(m.dtype));
    }
  }
  std::unique_ptr<edgeattn::Layer>& layer = rl.layer;
  edgeattn::Status st;
  if (!layer) {
    edgeattn::LayerSpec spec = rl.w.spec();
    spec.port = o.port.empty() ? nullptr : o.port.c_str();
    spec.weight_type = o.weight_type.empty() ? rl.w.element_type : weight_type_named(o.weight_type);
    CalibratedOutliers outliers;
    if (!o.calibrate.empty()) {
      outliers = calibrate_outliers(spec, o.calibrate, o.outliers, source);
      spec.int8_outliers = {outliers.inputs.data(), static_cast<int>(outliers.inputs.size()),
                            outliers.heads.data(), static_cast<int>(outliers.heads.size())};
    }
    st = edgeattn::Layer::create(spec, &layer);
    if (!st) throw FormatError(source + ": " + st.message());
  }
  const int S = Lkv + (layer->has_bias_kv() ? 1 : 0);
  std::vector<float> output(static_cast<std::size_t>(B) * Lq * w.embed_dim);
  std::vector<float> weights;
  if (!o.attn_weights_out.empty()) {
    weights.resize(static_cast<std::size_t>(B) * Lq * S);
    args.attn_weights = edgeattn::AttnWeightsOutput::averaged;
    args.attn_weights_out = weights.data();
  }
  args.output = output.data();
  edgeattn::Executor exec(o.threads);
  std::size_t bytes = 0;
  st = layer->workspace_size(args.shape, exec.num_threads(), &bytes);
  if (!st) throw UsageError(st.message());
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(edgeattn::kWorkspaceAlignment, (bytes + 63) / 64 * 64), std::free);
  if (!ws)
    throw UsageError("out of memory allocating " + std::to_string(bytes) + " bytes of workspace");
  st = layer->run(args, ws.get(), bytes, exec);
  if (!st)
    throw UsageError(std::string(edgeattn::status_code_name(st.code())) + ": " + st.message());
  std::vector<std::size_t> out_shape = q.shape;
  out_shape.back() = static_cast<std::size_t>(w.embed_dim);
  edgeattn::formats::write_npy(o.out, out_shape, output.data());
  if (!o.attn_weights_out.empty()) {
    std::vector<std::size_t> ws_shape;
    if (!unbatched) ws_shape.push_back(static_cast<std::size_t>(B));
    ws_shape.push_back(static_cast<std::size_t>(Lq));
    ws_shape.push_back(static_cast<std::size_t>(S));
    edgeattn::formats::write_npy(o.attn_weights_out, ws_shape, weights.data());
  }
  return 0;
}

// ---------------------------------------------------------------- pack
struct PackOptions {
  std::string weights, prefix, weight_type, port, out;
  std::vector<std::string> calibrate;
  int outliers = edgeattn::kInt8MaxOutliers;
  int heads = 0, kv_heads = 0;
};

// Packs a checkpoint's layer for one port (any port, whatever this machine runs) into a blob
// file that `run --packed` and Layer::create_packed use in place.
int cmd_pack(const PackOptions& o) {
  if (o.heads <= 0) throw UsageError("--heads must be >= 1");
  const edgeattn::formats::SafeTensors file(o.weights);
  const edgeattn::formats::AttentionWeights w =
      edgeattn::formats::load_attention_weights(file, o.prefix, o.heads, o.kv_heads);
  edgeattn::LayerSpec spec = w.spec();
  spec.weight_type = o.weight_type.empty() ? w.element_type : weight_type_named(o.weight_type);
  CalibratedOutliers outliers;
  if (!o.calibrate.empty()) {
    outliers = calibrate_outliers(spec, o.calibrate, o.outliers, o.weights);
    spec.int8_outliers = {outliers.inputs.data(), static_cast<int>(outliers.inputs.size()),
                          outliers.heads.data(), static_cast<int>(outliers.heads.size())};
  }
  const char* port = o.port.empty() ? nullptr : o.port.c_str();
  std::size_t bytes = 0;
  edgeattn::Status st = edgeattn::packed_size(spec, port, &bytes);
  if (!st) throw FormatError(o.weights + ": " + st.message());
  std::vector<unsigned char> blob(bytes);
  st = edgeattn::pack(spec, port, blob.data(), blob.size());
  if (!st) throw FormatError(o.weights + ": " + st.message());
  std::ofstream f(o.out, std::ios::binary);
  if (!f.write(reinterpret_cast<const char*>(blob.data()), static_cast<std::streamsize>(bytes)))
    throw FormatError(o.out + ": cannot write");
  edgeattn::PortInfo info{};
  const bool here = edgeattn::select_port(port, &info).ok();
  std::printf("%s: %zu bytes, port %s, %s weights, E %d, %d heads (%d key/value)%s\n",
              o.out.c_str(), bytes, port ? port : info.name,
              edgeattn::element_type_name(spec.weight_type), w.embed_dim, w.num_heads,
              w.num_kv_heads, here ? "" : "; this machine cannot run that port");
  if (!o.calibrate.empty())
    std::printf("int8 outlier features: inputs %s, heads %s\n",
                feature_list(outliers.inputs).c_str(), feature_list(outliers.heads).c_str());
  return 0;
}

// ---------------------------------------------------------------- bench
struct BenchResult {
  std::string shape;
  int threads;
  double median_ms, min_ms, max_ms, gflops;
  std::size_t workspace_bytes;
};

// `packed`: a layer from a blob, used instead of one made from the shape's built-in weights.
BenchResult bench_shape(const edgeattn::tools::StandardShape& s, int threads, double min_seconds,
                        const std::string& port, edgeattn::ElementType weight_type,
                        const edgeattn::Layer* packed) {
  edgeattn::tools::StandardProblem problem(s);
  std::unique_ptr<edgeattn::Layer> owned;
  edgeattn::Status st;
  if (!packed) {
    edgeattn::LayerSpec spec = problem.spec();
    spec.port = port.empty() ? nullptr : port.c_str();
    spec.weight_type = weight_type;
    st = edgeattn::Layer::create(spec, &owned);
    if (!st) throw UsageError(st.message());
  }
  const edgeattn::Layer* layer = packed ? packed : owned.get();
  const edgeattn::RunArgs args = problem.args();
  edgeattn::Executor exec(threads);
  std::size_t bytes = 0;
  st = layer->workspace_size(args.shape, exec.num_threads(), &bytes);
  if (!st) throw UsageError(st.message());
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(edgeattn::kWorkspaceAlignment, (bytes + 63) / 64 * 64), std::free);
  st = layer->run(args, ws.get(), bytes, exec);  // warm-up: threads start, caches fill
  if (!st) throw UsageError(st.message());
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  while (times.size() < 5 ||
         (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
              min_seconds &&
          times.size() < 1000)) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)layer->run(args, ws.get(), bytes, exec);
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times.size() % 2
                            ? times[times.size() / 2]
                            : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
  return {s.name,        exec.num_threads(), median,
          times.front(), times.back(),       edgeattn::tools::flops(s) / (median * 1e-3) * 1e-9,
          bytes};
}

int cmd_bench(const std::string& shape, int threads, const std::string& json_path,
              double min_seconds, const std::string& port, edgeattn::ElementType weight_type,
              const std::string& packed_path, bool weight_type_given) {
  std::vector<const edgeattn::tools::StandardShape*> shapes;
  for (const auto& s : edgeattn::tools::kStandardShapes)
    if (shape == "all" || shape == s.id || shape == s.name) shapes.push_back(&s);
  if (shapes.empty())
    throw UsageError("--shape must be S1..S6, a full shape name or all, got '" + shape + "'");
  // --packed: the blob's layer (its port and weight type), on the shapes of its sizes.
  std::unique_ptr<MappedFile> blob;
  std::unique_ptr<edgeattn::Layer> packed;
  std::string port_name = port;
  if (!packed_path.empty()) {
    if (!port.empty() || weight_type_given)
      throw UsageError(
          "--packed: the blob fixes the port and the weight type; drop --port and "
          "--weight-type");
    blob = std::make_unique<MappedFile>(packed_path);
    const edgeattn::Status st = edgeattn::Layer::create_packed(blob->data(), blob->size(), &packed);
    if (!st) throw FormatError(packed_path + ": " + st.message());
    weight_type = packed->weight_type();
    port_name = packed->port();
    std::vector<const edgeattn::tools::StandardShape*> fitting;
    for (const auto* s : shapes)
      if (s->embed_dim == packed->embed_dim() && s->heads == packed->num_heads() &&
          packed->kdim() == s->embed_dim && packed->vdim() == s->embed_dim &&
          packed->num_kv_heads() == s->heads)
        fitting.push_back(s);
    if (fitting.empty())
      throw UsageError(packed_path + ": a layer of embed_dim " +
                       std::to_string(packed->embed_dim()) + " and " +
                       std::to_string(packed->num_heads()) +
                       " heads fits none of the shapes asked for (S1..S6: see docs/benchmarks.md)");
    shapes = fitting;
  }
  edgeattn::PortInfo info{};
  const edgeattn::Status st = edgeattn::select_port(port_name.c_str(), &info);
  if (!st) throw UsageError(st.message());
  std::printf("edgeattn %s, port %s, %s weights%s%s, cpu %s\n", edgeattn::version(), info.name,
              edgeattn::element_type_name(weight_type), packed ? " from " : "",
              packed ? packed_path.c_str() : "", cpu_model().c_str());
  std::printf("%-16s %7s %10s %10s %10s %9s %14s\n", "shape", "threads", "median_ms", "min_ms",
              "max_ms", "GFLOP/s", "workspace_B");
  std::vector<BenchResult> results;
  for (const auto* s : shapes) {
    const BenchResult r = bench_shape(*s, threads, min_seconds, port, weight_type, packed.get());
    std::printf("%-16s %7d %10.3f %10.3f %10.3f %9.2f %14zu\n", r.shape.c_str(), r.threads,
                r.median_ms, r.min_ms, r.max_ms, r.gflops, r.workspace_bytes);
    std::fflush(stdout);
    results.push_back(r);
  }
  if (!json_path.empty()) {
    nlohmann::json j;
    j["machine"] = {{"cpu", cpu_model()},
                    {"port", info.name},
                    {"edgeattn_version", edgeattn::version()},
                    {"weight_type", edgeattn::element_type_name(weight_type)},
                    {"packed", packed_path},
                    {"hardware_threads", edgeattn::default_num_threads()}};
    j["results"] = nlohmann::json::array();
    for (const auto& r : results)
      j["results"].push_back({{"shape", r.shape},
                              {"threads", r.threads},
                              {"median_ms", r.median_ms},
                              {"min_ms", r.min_ms},
                              {"max_ms", r.max_ms},
                              {"gflops", r.gflops},
                              {"workspace_bytes", r.workspace_bytes}});
    std::ofstream f(json_path);
    f << j.dump(2) << "\n";
    if (!f) throw FormatError(json_path + ": cannot write");
  }
  return 0;
}

// ---------------------------------------------------------------- decode
// A prompt of the shape's kv_len tokens, then --steps tokens one at a time through a KV cache,
// on the shape's built-in random weights.
int cmd_decode(const std::string& shape, int steps, int threads, const std::string& port,
               edgeattn::ElementType weight_type, edgeattn::ElementType kv_type) {
  const edgeattn::tools::StandardShape* s = nullptr;
  for (const auto& x : edgeattn::tools::kStandardShapes)
    if (shape == x.id || shape == x.name) s = &x;
  if (!s) throw UsageError("--shape must be S1..S6 or a full shape name, got '" + shape + "'");
  edgeattn::tools::StandardProblem problem(*s);
  edgeattn::LayerSpec spec = problem.spec();
  spec.port = port.empty() ? nullptr : port.c_str();
  spec.weight_type = weight_type;
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = edgeattn::Layer::create(spec, &layer);
  if (!st) throw UsageError(st.message());
  const int E = s->embed_dim, prompt = s->kv_len;
  edgeattn::KvCacheSpec cs;
  cs.kv_heads = layer->num_kv_heads();
  cs.head_dim = layer->head_dim();
  cs.capacity = prompt + steps;
  cs.element_type = kv_type;
  std::unique_ptr<edgeattn::KvCache> cache;
  st = edgeattn::KvCache::create(cs, &cache);
  if (!st) throw UsageError(st.message());
  edgeattn::Executor exec(threads);
  std::size_t bytes = 0;
  st = layer->decode_workspace_size(*cache, {1, prompt, 0}, exec.num_threads(), &bytes);
  if (!st) throw UsageError(st.message());
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(edgeattn::kWorkspaceAlignment, (bytes + 63) / 64 * 64), std::free);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(prompt + steps) * E),
      y(static_cast<std::size_t>(prompt) * E);
  for (float& v : x) v = d(rng);
  edgeattn::RunArgs args;
  args.shape = {1, prompt, 0};
  args.query = x.data();
  args.output = y.data();
  const auto p0 = std::chrono::steady_clock::now();
  st = layer->decode(args, cache.get(), ws.get(), bytes, exec);
  if (!st) throw UsageError(st.message());
  const double prompt_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();
  std::vector<double> ms;
  args.shape = {1, 1, 0};
  for (int t = 0; t < steps; ++t) {
    args.query = x.data() + static_cast<std::size_t>(prompt + t) * E;
    const auto t0 = std::chrono::steady_clock::now();
    st = layer->decode(args, cache.get(), ws.get(), bytes, exec);
    if (!st) throw UsageError(st.message());
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2], p90 = ms[std::min(ms.size() - 1, ms.size() * 9 / 10)];
  // What a step must read: the four weight matrices (weight_bytes: with their scales and
  // biases) and the cache at its mean length (int8: with a K and a V scale per position/head).
  const double positions = (prompt + steps / 2.0) * cs.kv_heads;
  const double step_bytes =
      static_cast<double>(layer->weight_bytes()) +
      2.0 * positions * cs.head_dim * static_cast<double>(edgeattn::element_size(kv_type)) +
      (kv_type == edgeattn::ElementType::int8 ? 2.0 * positions * 4.0 : 0.0);
  std::printf("edgeattn %s, port %s, %s weights, %s cache, %d threads, cpu %s\n",
              edgeattn::version(), layer->port(), edgeattn::element_type_name(weight_type),
              edgeattn::element_type_name(kv_type), exec.num_threads(), cpu_model().c_str());
  std::printf("%s: prompt of %d tokens in %.3f ms, then %d steps (cache %d -> %d positions)\n",
              s->name, prompt, prompt_ms, steps, prompt, prompt + steps);
  std::printf("per-token latency: median %.3f ms, p90 %.3f ms, min %.3f ms, max %.3f ms\n", median,
              p90, ms.front(), ms.back());
  std::printf(
      "bandwidth at the median: %.2f GB/s (%.1f MB per step: weights and cache; one layer's data "
      "may sit in "
      "the last-level cache)\n",
      step_bytes / (median * 1e-3) * 1e-9, step_bytes * 1e-6);
  return 0;
}

// ---------------------------------------------------------------- sdpa
struct SdpaOptions {
  std::string q, k, v, attn_mask, past_key, past_value, nonpad, qk_out, out, present_key,
      present_value, port;
  bool causal = false;
  double scale = 0.0, softcap = 0.0;
  bool scale_set = false;
  int q_heads = 0, kv_heads = 0, qk_mode = -1, threads = 0;
};

void write_like_q(const std::string& path, const edgeattn::formats::SdpaTensor& t, bool half) {
  if (half)
    edgeattn::formats::write_npy_f16(path, t.shape, t.data.data());
  else
    edgeattn::formats::write_npy(path, t.shape, t.data.data());
}

int cmd_sdpa(const SdpaOptions& o) {
  if (o.past_key.empty() != o.past_value.empty())
    throw UsageError("--past-key and --past-value go together");
  if (o.present_key.empty() != o.present_value.empty())
    throw UsageError("--present-key and --present-value go together");
  if (o.qk_mode >= 0 && o.qk_out.empty()) throw UsageError("--qk-mode needs --qk-out");
  if (!o.nonpad.empty() && !o.past_key.empty())
    throw UsageError(
        "--nonpad-kv-seqlen describes keys passed in --k (an external cache): not with --past-key");
  edgeattn::formats::SdpaInputs in;
  in.q = edgeattn::formats::read_npy(o.q);
  in.k = edgeattn::formats::read_npy(o.k);
  in.v = edgeattn::formats::read_npy(o.v);
  if (!o.attn_mask.empty()) in.attn_mask = edgeattn::formats::read_npy(o.attn_mask);
  if (!o.past_key.empty()) {
    in.past_key = edgeattn::formats::read_npy(o.past_key);
    in.past_value = edgeattn::formats::read_npy(o.past_value);
  }
  if (!o.nonpad.empty()) in.nonpad_kv_seqlen = edgeattn::formats::read_npy(o.nonpad);
  in.causal = o.causal;
  if (o.scale_set) in.scale = static_cast<float>(o.scale);
  in.softcap = static_cast<float>(o.softcap);
  in.q_heads = o.q_heads;
  in.kv_heads = o.kv_heads;
  in.want_present = !o.present_key.empty();
  in.want_qk = !o.qk_out.empty();
  in.qk_mode = std::max(0, o.qk_mode);
  in.port = o.port.empty() ? nullptr : o.port.c_str();
  edgeattn::Executor exec(o.threads);
  const edgeattn::formats::SdpaOutputs out = edgeattn::formats::run_sdpa(in, exec);
  write_like_q(o.out, out.y, out.half);
  if (in.want_present) {
    write_like_q(o.present_key, out.present_key, out.half);
    write_like_q(o.present_value, out.present_value, out.half);
  }
  if (in.want_qk) write_like_q(o.qk_out, out.qk, out.half);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgeattn: multi-head attention inference for edge CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", edgeattn::version());

  std::string port;
  CLI::App* info =
      app.add_subcommand("info", "CPU features, kernel port and tile sizes, default thread count");
  info->add_option("--port", port, "Show this port instead of the automatic choice");

  RunOptions ro;
  PackOptions po;
  CLI::App* packcmd = app.add_subcommand(
      "pack", "Pack a checkpoint's layer for a port into a blob that run --packed maps in place");
  packcmd->add_option("--weights", po.weights, "Weights (.safetensors)")->required();
  packcmd->add_option("--prefix", po.prefix, "Prefix of the layer's tensor names");
  packcmd->add_option("--heads", po.heads, "Number of attention heads")->required();
  packcmd->add_option("--kv-heads", po.kv_heads, "Key/value heads (grouped-query)");
  packcmd
      ->add_option("--weight-type", po.weight_type,
                   "f32, f16, bf16 or int8 (default: the checkpoint's)")
      ->check(CLI::IsMember(std::vector<std::string>{"f32", "f16", "bf16", "int8"}));
  packcmd->add_option("--port", po.port,
                      "The port whose panel layout to write, any port (default: this machine's)");
  packcmd->add_option("--out", po.out, "The blob file to write")->required();
  const char* calibrate_help =
      "int8: sample hidden states .npy ([batch, seq, E] or [seq, E], self-attention, one or "
      "more files) from which the outlier features kept out of int8 are chosen";
  const char* outliers_help = "Outlier features per list with --calibrate (0..8, default 8)";
  packcmd->add_option("--calibrate", po.calibrate, calibrate_help);
  packcmd->add_option("--outliers", po.outliers, outliers_help)
      ->check(CLI::Range(0, edgeattn::kInt8MaxOutliers))
      ->needs("--calibrate");

  CLI::App* run = app.add_subcommand(
      "run", "Run one attention layer of a .safetensors checkpoint on .npy inputs");
  run->add_option("--weights", ro.weights, "Weights (.safetensors), PyTorch or Hugging Face names");
  run->add_option("--packed", ro.packed,
                  "A packed blob (from `edgeattn pack`) instead of --weights, mapped and used in "
                  "place");
  run->add_option("--prefix", ro.prefix,
                  "Prefix of the layer's tensor names, e.g. model.encoder.layers.0.self_attn.");
  run->add_option("--heads", ro.heads, "Number of attention heads (with --weights)");
  run->add_option("--kv-heads", ro.kv_heads,
                  "Key/value heads (grouped-query); checked against the checkpoint");
  run->add_option("--query", ro.query, "Query .npy [batch, seq, E] or [seq, E]")->required();
  run->add_option("--key", ro.key, "Key .npy (omit key and value for self-attention)");
  run->add_option("--value", ro.value, "Value .npy");
  run->add_option("--attn-mask", ro.attn_mask,
                  "[q_len, kv_len] or [batch*heads, q_len, kv_len]; bool (true = may not attend) "
                  "or float (added)");
  run->add_option("--key-padding-mask", ro.key_padding_mask,
                  "[batch, kv_len]; bool (true = padding) or float (added)");
  run->add_flag("--causal", ro.causal, "Query i attends keys j <= i only");
  run->add_flag("--seq-first", ro.seq_first, "Read and write [seq, batch, E]");
  run->add_option(
      "--port", ro.port,
      "Force a kernel port (x86-avx2, generic, ...); default: EDGEATTN_PORT or automatic");
  run->add_option("--threads", ro.threads, "Threads (default: all hardware threads)")
      ->check(CLI::Range(1, 1024));
  const std::vector<std::string> weight_types = {"f32", "f16", "bf16", "int8"};
  run->add_option("--weight-type", ro.weight_type,
                  "The layer's weights: f32, f16, bf16 or int8 (default: the checkpoint's, "
                  "f16/bf16 where all four matrices are)")
      ->check(CLI::IsMember(weight_types));
  run->add_option("--out", ro.out, "Output .npy (float32)")->required();
  run->add_option("--calibrate", ro.calibrate, calibrate_help);
  run->add_option("--outliers", ro.outliers, outliers_help)
      ->check(CLI::Range(0, edgeattn::kInt8MaxOutliers))
      ->needs("--calibrate");
  run->add_option("--attn-weights-out", ro.attn_weights_out,
                  "Attention weights averaged over heads .npy");

  SdpaOptions so;
  CLI::App* sdpa = app.add_subcommand(
      "sdpa", "Scaled dot-product attention on projected Q, K, V (ONNX Attention semantics)");
  sdpa->add_option("--q", so.q,
                   "Q .npy: [batch, q_heads, q_len, head_dim], or [batch, q_len, q_heads*head_dim] "
                   "with --q-heads/--kv-heads")
      ->required();
  sdpa->add_option("--k", so.k, "K .npy, Q's layout with kv heads")->required();
  sdpa->add_option("--v", so.v, "V .npy, Q's layout with kv heads (its head size may differ)")
      ->required();
  sdpa->add_option("--attn-mask", so.attn_mask,
                   "Mask .npy broadcast to [batch, q_heads, q_len, total]; bool (true = may "
                   "attend) or float (added)");
  sdpa->add_option("--past-key", so.past_key, "Cached keys .npy [batch, kv_heads, past, head_dim]");
  sdpa->add_option("--past-value", so.past_value,
                   "Cached values .npy [batch, kv_heads, past, v_head_dim]");
  sdpa->add_option("--nonpad-kv-seqlen", so.nonpad,
                   "Valid key count per batch .npy (int64 [batch]); not with --past-key");
  sdpa->add_flag("--causal", so.causal,
                 "Causal mask, bottom-right aligned with a past or valid lengths");
  sdpa->add_option("--scale", so.scale, "Score scale (default 1/sqrt(head_dim))")
      ->each([&](const std::string&) { so.scale_set = true; });
  sdpa->add_option("--softcap", so.softcap,
                   "Soft cap c > 0: scores become c*tanh(scores/c) before the mask")
      ->check(CLI::NonNegativeNumber);
  sdpa->add_option("--q-heads", so.q_heads, "Query heads (required for 3-D inputs)")
      ->check(CLI::Range(1, 1 << 20));
  sdpa->add_option("--kv-heads", so.kv_heads, "Key/value heads (required for 3-D inputs)")
      ->check(CLI::Range(1, 1 << 20));
  sdpa->add_option("--qk-out", so.qk_out,
                   "Also write the score matrix .npy [batch, q_heads, q_len, total]");
  sdpa->add_option(
          "--qk-mode", so.qk_mode,
          "Which scores --qk-out holds: 0 scaled, 1 after softcap, 2 after mask, 3 softmax")
      ->check(CLI::Range(0, 3));
  sdpa->add_option("--out", so.out, "Output Y .npy, in Q's dtype and layout")->required();
  sdpa->add_option("--present-key", so.present_key,
                   "Write past+new keys .npy [batch, kv_heads, total, head_dim]");
  sdpa->add_option("--present-value", so.present_value, "Write past+new values .npy");
  sdpa->add_option("--port", so.port, "Force a kernel port; default: EDGEATTN_PORT or automatic");
  sdpa->add_option("--threads", so.threads, "Threads (default: all hardware threads)")
      ->check(CLI::Range(1, 1024));

  int threads = 0;
  std::string decode_shape = "S6";
  int steps = 64;
  CLI::App* decode = app.add_subcommand(
      "decode", "Feed tokens one at a time through a KV cache; per-token latency and bandwidth");
  decode->add_option("--shape", decode_shape,
                     "S1..S6 (embedding width, heads; its kv_len is the prompt length)");
  decode->add_option("--steps", steps, "Tokens decoded after the prompt")
      ->check(CLI::Range(1, 1000000));
  decode->add_option("--threads", threads, "Threads (default: all hardware threads)")
      ->check(CLI::Range(1, 1024));
  decode->add_option("--port", port, "Force a kernel port; default: EDGEATTN_PORT or automatic");
  std::string weight_type = "f32";
  decode->add_option("--weight-type", weight_type, "The layer's weights: f32, f16, bf16 or int8")
      ->check(CLI::IsMember(weight_types));
  std::string kv_type = "f32";
  decode->add_option("--kv-type", kv_type, "The KV cache's elements: f32, f16 or int8")
      ->check(CLI::IsMember(std::vector<std::string>{"f32", "f16", "int8"}));

  std::string shape = "all", json;
  double min_time = 0.5;
  CLI::App* bench =
      app.add_subcommand("bench", "Time the standard shapes S1-S6 on built-in random weights");
  bench->add_option("--shape", shape, "S1..S6 or all");
  bench->add_option("--threads", threads, "Threads (default: all hardware threads)")
      ->check(CLI::Range(1, 1024));
  bench->add_option("--port", port, "Force a kernel port; default: EDGEATTN_PORT or automatic");
  bench->add_option("--json", json, "Write the results as JSON to this file");
  bench->add_option("--weight-type", weight_type, "The layers' weights: f32, f16, bf16 or int8")
      ->check(CLI::IsMember(weight_types));
  std::string bench_packed;
  bench->add_option("--packed", bench_packed,
                    "Time this packed blob's layer (mapped, used in place) on the shapes whose "
                    "sizes it has, instead of built-in weights");
  bench->add_option("--min-time", min_time, "Seconds to spend per shape (at least 5 runs)")
      ->check(CLI::Range(0.0, 3600.0));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string what = e.what();
    what.erase(std::remove(what.begin(), what.end(), '\n'), what.end());
    std::fprintf(stderr, "edgeattn: error: %s (see edgeattn --help)\n", what.c_str());
    return 2;
  }
  try {
    if (app.got_subcommand("info")) return cmd_info(port);
    if (app.got_subcommand("run")) return cmd_run(ro);
    if (app.got_subcommand("pack")) return cmd_pack(po);
    if (app.got_subcommand("sdpa")) return cmd_sdpa(so);
    if (app.got_subcommand("decode"))
      return cmd_decode(decode_shape, steps, threads, port, weight_type_named(weight_type),
                        weight_type_named(kv_type));
    if (app.got_subcommand("bench"))
      return cmd_bench(shape, threads, json, min_time, port, weight_type_named(weight_type),
                       bench_packed, bench->count("--weight-type") > 0);
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::fprintf(stderr, "edgeattn: error: %s\n", what.c_str());
    return 2;
  }
  return 2;
}
