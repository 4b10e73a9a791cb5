// Packed weight blobs (pack, Layer::create_packed): a layer loaded in place from a blob
// computes bit for bit what the layer created from the same spec computes, on every port and
// weight type; blobs for ports this build or CPU cannot run, truncated, corrupted, misaligned
// or lying blobs are error statuses; an mmapped blob adds almost no private memory.
// White-box (the blob checksum), so static builds only, as test_kernels.cpp.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "layer/layer_impl.hpp"
#include "port_registry.hpp"
#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

namespace {

// A blob in 64-byte aligned memory (as an mmap or a linker section gives it).
struct Blob {
  explicit Blob(std::size_t n) : size(n), mem(std::aligned_alloc(64, (n + 63) / 64 * 64)) {}
  ~Blob() { std::free(mem); }
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  unsigned char* data() const { return static_cast<unsigned char*>(mem); }
  std::size_t size;
  void* mem;
};

std::unique_ptr<Blob> make_blob(const LayerSpec& spec, const char* port) {
  std::size_t bytes = 0;
  const Status st = packed_size(spec, port, &bytes);
  INFO(st.message());
  REQUIRE(st.ok());
  auto blob = std::make_unique<Blob>(bytes);
  REQUIRE(pack(spec, port, blob->data(), bytes).ok());
  return blob;
}

void reseal(Blob& b) {  // a valid checksum over whatever the blob now holds
  const std::uint64_t zero = 0;
  std::memcpy(b.data() + packed_blob_checksum_offset(), &zero, sizeof zero);
  const std::uint64_t c = packed_blob_checksum(b.data(), b.size);
  std::memcpy(b.data() + packed_blob_checksum_offset(), &c, sizeof c);
}

long private_dirty_kib() {  // the process's private dirty memory, /proc/self/smaps_rollup
  std::ifstream f("/proc/self/smaps_rollup");
  std::string key;
  long value = -1;
  while (f >> key) {
    if (key == "Private_Dirty:") {
      f >> value;
      return value;
    }
    f.ignore(1 << 20, '\n');
  }
  return -1;
}

}  // namespace

TEST_CASE("a layer from a packed blob equals the layer from its spec, bit for bit",
          "[packed][quick]") {
  CaseConfig cfg = three_head_config();
  cfg.bias_kv = true;
  cfg.k_bias = false;
  for (const ElementType type :
       {ElementType::f32, ElementType::f16, ElementType::bf16, ElementType::int8}) {
    cfg.weight_type = type;
    if (type == ElementType::int8) {  // outlier features travel in the blob
      cfg.int8_inputs = {5, 0, 11};
      cfg.int8_heads = {2};
    }
    const Case c = make_case(cfg, 31);
    for (const std::string& port : runnable_ports()) {
      INFO("port " << port << ", " << element_type_name(type) << " weights");
      LayerSpec spec = c.spec();
      spec.port = port.c_str();
      const auto blob = make_blob(spec, port.c_str());
      std::unique_ptr<Layer> from_blob, from_spec;
      const Status st = Layer::create_packed(blob->data(), blob->size, &from_blob);
      INFO(st.message());
      REQUIRE(st.ok());
      REQUIRE(Layer::create(spec, &from_spec).ok());
      REQUIRE(std::string(from_blob->port()) == port);
      REQUIRE(from_blob->weight_type() == type);
      REQUIRE(from_blob->weight_bytes() == from_spec->weight_bytes());
      REQUIRE(from_blob->has_bias_kv());
      Executor exec(2);
      const LibraryResult a = run_layer(*from_blob, c, exec), b = run_layer(*from_spec, c, exec);
      REQUIRE(a.status.ok());
      REQUIRE(std::memcmp(a.output.data(), b.output.data(), a.output.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("any build packs for any port; a blob for a port it cannot run is refused",
          "[packed][quick]") {
  const Case c = make_case(three_head_config(), 3);
  const std::vector<std::string> runnable = runnable_ports();
  for (const char* port : {"x86-avx512", "x86-avx2", "x86-sse2", "arm-neon64", "arm-neon32",
                           "generic", "emulated-avx512"}) {
    INFO("port " << port);
    const auto blob = make_blob(c.spec(), port);
    std::unique_ptr<Layer> layer;
    const Status st = Layer::create_packed(blob->data(), blob->size, &layer);
    const bool runs = std::find(runnable.begin(), runnable.end(), port) != runnable.end();
    INFO(st.message());
    REQUIRE(st.ok() == runs);
    if (!runs) REQUIRE(std::string(st.message()).find("packed blob is for port") == 0);
  }
  std::size_t bytes = 0;
  const Status st = packed_size(c.spec(), "riscv-v", &bytes);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::string(st.message()) == "no port named 'riscv-v'");
  // Every port the build carries packs panels as wide as its kernels read them.
  for (int i = 0; i < port_count(); ++i) {
    const PortInfo p = port_info(i);
    const auto blob = make_blob(c.spec(), p.name);
    std::int32_t columns = 0;
    std::memcpy(&columns, blob->data() + 64, sizeof columns);  // Header::panel_columns
    INFO("port " << p.name);
    REQUIRE(columns == p.gemm_nr);
  }
}

TEST_CASE("truncated, corrupted, misaligned and lying blobs are error statuses",
          "[packed][errors][quick]") {
  const Case c = make_case(three_head_config(), 4);
  const auto blob = make_blob(c.spec(), "generic");
  std::unique_ptr<Layer> layer;
  auto refused = [&](const void* p, std::size_t n, const char* fragment) {
    const Status st = Layer::create_packed(p, n, &layer);
    INFO("status: " << st.message());
    REQUIRE_FALSE(st.ok());
    REQUIRE(std::string(st.message()).find(fragment) != std::string::npos);
    REQUIRE_FALSE(layer);
  };
  refused(nullptr, blob->size, "null");
  refused(blob->data(), 100, "shorter than its 256-byte header");
  refused(blob->data(), blob->size - 64, "truncated");
  // One flipped bit anywhere: the checksum (or, in the first bytes, the magic) catches it.
  for (std::size_t at :
       {std::size_t{0}, std::size_t{40}, std::size_t{300}, blob->size / 2, blob->size - 1}) {
    Blob copy(blob->size);
    std::memcpy(copy.data(), blob->data(), blob->size);
    copy.data()[at] ^= 0x10;
    INFO("bit flipped at " << at);
    refused(copy.data(), copy.size, at < 8 ? "bad magic" : "checksum");
  }
  {  // misaligned
    Blob copy(blob->size + 64);
    std::memcpy(copy.data() + 16, blob->data(), blob->size);
    refused(copy.data() + 16, blob->size, "64-byte aligned");
  }
  // Headers that lie, sealed with a valid checksum: each is refused by a check, not the sum.
  struct Lie {
    std::size_t at;
    std::int32_t value;
    const char* fragment;
  };
  const Lie lies[] = {
      {8, 3, "format version"},          // version
      {64, 24, "panels of 24 columns"},  // panel_columns (generic reads 8)
      {68, 9, "unknown element type"},   // weight_type
      {72, 0, "embed_dim"},              // embed_dim
      {76, 5, "does not divide"},        // num_heads
      {84, -1, "kdim"},                  // kdim
      {96, 1 << 30, "lies outside"},     // offset of q (low word)
      {100, 1, "lies outside"},          // offset of q (high word)
  };
  for (const Lie& lie : lies) {
    Blob copy(blob->size);
    std::memcpy(copy.data(), blob->data(), blob->size);
    std::memcpy(copy.data() + lie.at, &lie.value, sizeof lie.value);
    reseal(copy);
    INFO("field at " << lie.at << " = " << lie.value);
    refused(copy.data(), copy.size, lie.fragment);
  }
  // int8 blobs carry their outlier features: counts and lists are checked as create() checks a
  // spec's, and Wq, Wk, Wv must agree (one quantization of the input serves the three).
  CaseConfig cfg8 = three_head_config();
  cfg8.weight_type = ElementType::int8;
  cfg8.int8_inputs = {4, 1};
  cfg8.int8_heads = {7};
  const Case c8 = make_case(cfg8, 5);
  const auto blob8 = make_blob(c8.spec(), "generic");
  REQUIRE(Layer::create_packed(blob8->data(), blob8->size, &layer).ok());
  auto section = [&](int i) {  // Header::offset[i]
    std::uint64_t at = 0;
    std::memcpy(&at, blob8->data() + 96 + 8 * i, sizeof at);
    return static_cast<std::size_t>(at);
  };
  const int E = cfg8.embed_dim, NR = 8;
  const std::size_t features_at = kernels::int8_layout(E, E, NR, 2).features;
  const struct {
    std::vector<std::size_t> at;
    std::int32_t value;
    const char* fragment;
  } lies8[] = {
      {{176}, 9, "outlier counts"},   // Header::input_outliers
      {{180}, -1, "outlier counts"},  // Header::head_outliers
      {{section(1) + features_at}, 6, "different int8 outlier features"},
      {{section(0) + features_at, section(1) + features_at, section(2) + features_at},
       E,
       "is not a feature"},
      {{section(0) + features_at + 4, section(1) + features_at + 4, section(2) + features_at + 4},
       4,
       "twice"},
  };
  for (const auto& lie : lies8) {
    Blob copy(blob8->size);
    std::memcpy(copy.data(), blob8->data(), blob8->size);
    for (std::size_t at : lie.at) std::memcpy(copy.data() + at, &lie.value, sizeof lie.value);
    reseal(copy);
    INFO("int8 field at " << lie.at[0] << " = " << lie.value);
    refused(copy.data(), copy.size, lie.fragment);
  }
}

TEST_CASE("an mmapped S4 blob: the layer reads it in place", "[packed][quick]") {
  // BERT-base's attention (E 768, 12 heads) packed for this machine's port, written to a file,
  // mapped read-only: creating the layer copies no weights (the biases only, 12 KB), so the
  // private memory the process gains stays far below the weights' 9 MB.
  CaseConfig cfg;
  cfg.embed_dim = 768;
  cfg.num_heads = 12;
  cfg.q_len = cfg.kv_len = 4;
  const Case c = make_case(cfg, 8);
  const auto blob = make_blob(c.spec(), nullptr);
  // Written and synced first: a page still dirty in the page cache would count as the
  // mapping's Private_Dirty.
  const std::string path = "edgeattn_test_s4_" + std::to_string(::getpid()) + ".eapk";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, blob->data(), blob->size) == static_cast<ssize_t>(blob->size));
  REQUIRE(::fsync(fd) == 0);
  void* map = ::mmap(nullptr, blob->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  std::remove(path.c_str());
  REQUIRE(map != MAP_FAILED);
  // The count is the whole process's: earlier tests' buffers were advised to transparent huge
  // pages (aligned_buffer.cpp), and khugepaged collapsing one of them in the background during
  // the measurement added up to 2 MB (seen once in CI: +1316 KiB). Huge pages are off for the
  // process while it measures.
  const int thp_was_disabled = ::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  const long before = private_dirty_kib();
  std::unique_ptr<Layer> layer;
  const Status st = Layer::create_packed(map, blob->size, &layer);
  const long after = private_dirty_kib();
  if (thp_was_disabled == 0) ::prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
  INFO(st.message());
  REQUIRE(st.ok());
  INFO("Private_Dirty " << before << " -> " << after << " KiB");
  if (before >= 0) REQUIRE(after - before < 64);
  Executor exec(1);
  std::unique_ptr<Layer> from_spec;
  REQUIRE(Layer::create(c.spec(), &from_spec).ok());
  const LibraryResult a = run_layer(*layer, c, exec), b = run_layer(*from_spec, c, exec);
  REQUIRE(std::memcmp(a.output.data(), b.output.data(), a.output.size() * sizeof(float)) == 0);
  layer.reset();
  ::munmap(map, blob->size);
}
