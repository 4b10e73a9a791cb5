// ONNX's own test cases of the `Attention` operator (tests/data/onnx-attention/, see its
// README for their origin and license): each case is its own Catch2 test, registered from the
// folder list at start-up, and runs on every port this CPU can run with 1 and 3 threads.
// Every output the case has is compared: Y, present_key/present_value, qk_matmul_output.
//
// Tolerance: float32 cases |got − want| ≤ 1e-6 + 1e-4·|want| (tighter than ONNX's own harness,
// rtol 1e-3); float16 cases are computed in float32 from the float16 inputs and compared with
// the float16 expectations at 2e-3 + 2e-3·|want| (about two float16 ulps).
//
// Every case without qk_matmul_output runs again with K and V staged in f16, as a f16 KV cache
// holds them (AttentionArgs::kv_element_type), against the same expectations at the f16
// tolerance 2e-3 + 2e-3·|want|: rounding K and V to f16 moves a score by at most |q|·|k|·2^-11
// and an output by at most |v|·2^-11 (plus the probabilities' change), well inside it for
// these cases' magnitudes.
#include <catch2/catch.hpp>

#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/npy.hpp"
#include "onnx/onnx_attention.hpp"
#include "test_util.hpp"

using namespace edgeattn;
namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(EDGEATTN_TEST_DATA) / "onnx-attention";
constexpr const char* kPrefix = "ONNX Attention conformance: ";

void compare(const formats::SdpaTensor& got, const formats::Array& want, bool half,
             const std::string& what, bool f16_tolerance = false) {
  INFO(what);
  REQUIRE(got.shape == want.shape);
  const std::vector<float> w = want.to_float();
  REQUIRE(got.data.size() == w.size());
  const bool loose = half || f16_tolerance;
  const double atol = loose ? 2e-3 : 1e-6, rtol = loose ? 2e-3 : 1e-4;
  double worst = 0.0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double g =
        half ? formats::half_to_float(formats::float_to_half(got.data[i])) : got.data[i];
    const double e = w[i];
    if (std::isnan(e) || std::isnan(g)) {
      INFO("element " << i << ": got " << g << ", want " << e);
      REQUIRE(std::isnan(e) == std::isnan(g));
      continue;
    }
    if (std::isinf(e) || std::isinf(g)) {
      INFO("element " << i << ": got " << g << ", want " << e);
      REQUIRE(g == e);
      continue;
    }
    const double excess = std::abs(g - e) - (atol + rtol * std::abs(e));
    if (excess > worst) {
      worst = excess;
      worst_at = i;
    }
  }
  INFO("worst element " << worst_at << ": got " << got.data[worst_at] << ", want " << w[worst_at]);
  CHECK(worst <= 0.0);
}

void run_case() {
  const std::string name =
      Catch::getResultCapture().getCurrentTestName().substr(std::string(kPrefix).size());
  const fs::path dir = kRoot / name;
  std::ifstream meta_file(dir / "case.json");
  REQUIRE(meta_file);
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  const nlohmann::json& attr = meta["attributes"];
  auto load = [&](const std::string& n) {
    return formats::read_npy((dir / (n + ".npy")).string());
  };

  formats::SdpaInputs in;
  in.q = load("Q");
  in.k = load("K");
  in.v = load("V");
  for (const auto& slot : meta["onnx_inputs"]) {
    const std::string n = slot.get<std::string>();
    if (n == "attn_mask") in.attn_mask = load(n);
    if (n == "past_key") in.past_key = load(n);
    if (n == "past_value") in.past_value = load(n);
    if (n == "nonpad_kv_seqlen") in.nonpad_kv_seqlen = load(n);
  }
  in.causal = attr.value("is_causal", 0) != 0;
  if (attr.contains("scale")) in.scale = attr["scale"].get<float>();
  in.softcap = attr.value("softcap", 0.0f);
  in.q_heads = attr.value("q_num_heads", 0);
  in.kv_heads = attr.value("kv_num_heads", 0);
  in.qk_mode = attr.value("qk_matmul_output_mode", 0);
  std::vector<std::string> outputs;
  for (const auto& slot : meta["onnx_outputs"]) outputs.push_back(slot.get<std::string>());
  for (const std::string& n : outputs) {
    if (n == "present_key") in.want_present = true;
    if (n == "qk_matmul_output") in.want_qk = true;
  }

  for (const std::string& port : test::runnable_ports()) {
    for (int threads : {1, 3}) {
      for (const ElementType kv : {ElementType::f32, ElementType::f16}) {
        if (kv == ElementType::f16 && in.want_qk) continue;  // the scores' path reads fp32 K
        INFO("port " << port << ", " << threads << " threads, K/V staged as "
                     << element_type_name(kv));
        in.port = port.c_str();
        in.kv_type = kv;
        Executor exec(threads);
        const formats::SdpaOutputs out = formats::run_sdpa(in, exec);
        for (const std::string& n : outputs) {
          if (n.empty()) continue;
          const formats::Array want = load(n);
          const formats::SdpaTensor& got = n == "Y"               ? out.y
                                           : n == "present_key"   ? out.present_key
                                           : n == "present_value" ? out.present_value
                                                                  : out.qk;
          compare(got, want, out.half, n, kv == ElementType::f16);
        }
      }
    }
  }
}

// One Catch2 test per case folder, registered before main() runs.
struct RegisterCases {
  std::deque<std::string> names;  // Catch keeps references to the names
  RegisterCases() {
    if (!fs::is_directory(kRoot)) return;
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(kRoot))
      if (e.is_directory()) found.push_back(e.path().filename().string());
    std::sort(found.begin(), found.end());
    for (const std::string& f : found) {
      names.push_back(kPrefix + f);
      Catch::AutoReg(Catch::makeTestInvoker(&run_case), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                     Catch::NameAndTags{names.back(), "[onnx][quick]"});
    }
  }
} register_cases;

}  // namespace

TEST_CASE("ONNX Attention conformance: all 76 cases are present", "[onnx][quick]") {
  int cases = 0;
  for (const auto& e : fs::directory_iterator(kRoot)) cases += e.is_directory() ? 1 : 0;
  CHECK(cases == 76);
}
