// The edgeattn command-line tool, run as a user would: `run` on the PyTorch golden cases
// (both naming conventions) must match torch; every malformed input and usage error must give
// exactly one line on stderr naming the problem and exit code 2.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "formats/npy.hpp"
#include "formats/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace edgeattn;

namespace {

struct CliResult {
  int exit_code;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

fs::path scratch_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("edgeattn_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// A shell command line (a pipeline, say); its exit code, stdout and stderr.
CliResult shell(const std::string& command) {
  const fs::path out = scratch_dir() / "stdout.txt", err = scratch_dir() / "stderr.txt";
  const std::string cmd = "( " + command + " ) >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

CliResult cli(const std::string& args) { return shell(std::string(EDGEATTN_CLI) + " " + args); }

void require_one_line_error(const CliResult& r, const std::string& fragment) {
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.find(fragment) != std::string::npos);
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  REQUIRE(r.err.back() == '\n');
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

const fs::path golden = fs::path(EDGEATTN_TEST_DATA) / "golden";

}  // namespace

TEST_CASE("edgeattn run matches torch on the golden state dicts", "[cli][quick]") {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(golden)) {
    const fs::path d = entry.path();
    std::ifstream mf(d / "case.json");
    const nlohmann::json meta = nlohmann::json::parse(mf);
    std::string args = "run --weights " + (d / "weights.safetensors").string() + " --heads " +
                       std::to_string(meta["heads"].get<int>()) + " --query " +
                       (d / "query.npy").string();
    if (!meta["prefix"].get<std::string>().empty())
      args += " --prefix " + meta["prefix"].get<std::string>();
    if (fs::exists(d / "key.npy"))
      args += " --key " + (d / "key.npy").string() + " --value " + (d / "value.npy").string();
    if (fs::exists(d / "attn_mask.npy")) args += " --attn-mask " + (d / "attn_mask.npy").string();
    if (fs::exists(d / "key_padding_mask.npy"))
      args += " --key-padding-mask " + (d / "key_padding_mask.npy").string();
    if (meta["causal"].get<bool>()) args += " --causal";
    if (meta["seq_first"].get<bool>()) args += " --seq-first";
    const fs::path out = scratch_dir() / "y.npy", weights = scratch_dir() / "a.npy";
    args += " --threads 2 --out " + out.string() + " --attn-weights-out " + weights.string();
    INFO("edgeattn " << args);
    const CliResult r = cli(args);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const formats::Array got = formats::read_npy(out.string()),
                         want = formats::read_npy((d / "out.npy").string());
    REQUIRE(got.shape == want.shape);
    REQUIRE(test::compare(got.to_float(), as_double(want.to_float()), 1e-5, 1e-4).ok());
    const formats::Array gw = formats::read_npy(weights.string()),
                         ww = formats::read_npy((d / "attn_weights.npy").string());
    REQUIRE(gw.shape == ww.shape);
    REQUIRE(test::compare(gw.to_float(), as_double(ww.to_float()), 1e-6, 1e-4).ok());
    ++cases;
  }
  REQUIRE(cases >= 8);
}

TEST_CASE("edgeattn rejects malformed files with one line and exit code 2", "[cli][quick]") {
  const fs::path d = golden / "torch_self_basic";
  const std::string weights = (d / "weights.safetensors").string();
  const std::string query = (d / "query.npy").string();
  const fs::path dir = scratch_dir();
  const std::string out = (dir / "y.npy").string();
  const std::string good_npy = slurp(d / "query.npy");
  const std::string good_st = slurp(d / "weights.safetensors");
  auto run_with = [&](const std::string& w, const std::string& q, const std::string& extra = "") {
    return cli("run --weights " + w + " --heads 4 --query " + q + " --out " + out + " " + extra);
  };

  SECTION("missing file") {
    require_one_line_error(run_with(weights, (dir / "nope.npy").string()), "nope.npy: cannot open");
  }
  SECTION("truncated .npy") {
    write_bytes(dir / "trunc.npy", good_npy.substr(0, good_npy.size() - 7));
    require_one_line_error(run_with(weights, (dir / "trunc.npy").string()),
                           "trunc.npy: truncated data");
  }
  SECTION("bad .npy magic") {
    write_bytes(dir / "magic.npy", "NOTNUMPY" + good_npy.substr(8));
    require_one_line_error(run_with(weights, (dir / "magic.npy").string()),
                           "magic.npy: not a .npy file");
  }
  SECTION("bad .npy header") {
    std::string bad = good_npy;
    bad.replace(bad.find("shape"), 5, "shope");
    write_bytes(dir / "header.npy", bad);
    require_one_line_error(run_with(weights, (dir / "header.npy").string()),
                           "header.npy: bad .npy header");
  }
  SECTION("unsupported dtype") {
    std::string bad = good_npy;
    bad.replace(bad.find("<f4"), 3, "<c8");
    write_bytes(dir / "complex.npy", bad);
    require_one_line_error(run_with(weights, (dir / "complex.npy").string()),
                           "complex.npy: unsupported dtype '<c8'");
  }
  SECTION("shape mismatch with the weights") {
    std::vector<float> x(2 * 3 * 10, 0.5f);
    formats::write_npy((dir / "wide.npy").string(), {2, 3, 10}, x.data());
    require_one_line_error(run_with(weights, (dir / "wide.npy").string()),
                           "does not match embed_dim 16");
  }
  SECTION("safetensors offsets that lie") {
    std::string bad = good_st;
    const std::size_t at = bad.find("\"data_offsets\": [");
    REQUIRE(at != std::string::npos);
    bad.replace(bad.find('[', at) + 1, 1, "9");  // first offset now starts with 9...
    write_bytes(dir / "lying.safetensors", bad);
    require_one_line_error(run_with((dir / "lying.safetensors").string(), query),
                           "lying.safetensors: tensor");
  }
  SECTION("safetensors header length past the end") {
    std::string bad = good_st;
    bad[5] = '\x7f';
    write_bytes(dir / "len.safetensors", bad);
    require_one_line_error(run_with((dir / "len.safetensors").string(), query),
                           "exceeds the file size");
  }
  SECTION("missing tensor name") {
    require_one_line_error(run_with(weights, query, "--prefix model.layers.3."),
                           "no attention weights under prefix 'model.layers.3.'");
  }
  SECTION("mask of the wrong shape") {
    std::vector<float> m(5 * 4, 0.0f);
    formats::write_npy((dir / "mask.npy").string(), {5, 4}, m.data());
    require_one_line_error(run_with(weights, query, "--attn-mask " + (dir / "mask.npy").string()),
                           "attn_mask is [5, 4]");
  }
  SECTION("heads not dividing the width") {
    require_one_line_error(
        cli("run --weights " + weights + " --heads 3 --query " + query + " --out " + out),
        "does not divide embed_dim 16");
  }
  SECTION("usage errors are exit code 2 too") {
    require_one_line_error(cli(""), "error");
    require_one_line_error(cli("run --weights " + weights + " --query " + query + " --out " + out),
                           "--heads");
    require_one_line_error(cli("info --bogus"), "bogus");
    require_one_line_error(cli("bench --shape S9"), "--shape");
    require_one_line_error(cli("bench --threads 0"), "threads");
  }
}

namespace {

using TensorShapes = std::vector<std::pair<std::string, std::vector<std::size_t>>>;

// One layer's tensors (E = 16) in each naming scheme the loader reads.
const std::map<std::string, TensorShapes> kConventions = {
    {"torch-in_proj",
     {{"in_proj_weight", {48, 16}},
      {"in_proj_bias", {48}},
      {"out_proj.weight", {16, 16}},
      {"out_proj.bias", {16}},
      {"bias_k", {1, 1, 16}},
      {"bias_v", {1, 1, 16}}}},
    {"torch-separate",
     {{"q_proj_weight", {16, 16}},
      {"k_proj_weight", {16, 16}},
      {"v_proj_weight", {16, 16}},
      {"in_proj_bias", {48}},
      {"out_proj.weight", {16, 16}},
      {"out_proj.bias", {16}}}},
    {"huggingface",
     {{"q_proj.weight", {16, 16}},
      {"q_proj.bias", {16}},
      {"k_proj.weight", {16, 16}},
      {"k_proj.bias", {16}},
      {"v_proj.weight", {16, 16}},
      {"v_proj.bias", {16}},
      {"out_proj.weight", {16, 16}},
      {"out_proj.bias", {16}}}},
};

void write_checkpoint(const fs::path& path, const TensorShapes& tensors) {
  std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<float>>> t;
  float x = 0.0f;
  for (const auto& [name, shape] : tensors) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    std::vector<float> data(n);
    for (float& v : data) v = 0.01f * std::sin(x += 1.0f);
    t[name] = {shape, data};
  }
  formats::write_safetensors(path.string(), t);
}

}  // namespace

TEST_CASE("edgeattn run refuses every checkpoint tensor of a wrong shape", "[cli][quick]") {
  // Each tensor of each naming scheme, each dimension one larger, and each rank one higher:
  // one line naming the file and the tensor, exit code 2, never a read past the tensor.
  const std::string query = (golden / "torch_self_basic" / "query.npy").string();  // [.., 16]
  const fs::path dir = scratch_dir();
  const std::string out = (dir / "y.npy").string();
  const fs::path file = dir / "shapes.safetensors";
  auto run = [&] {
    return cli("run --weights " + file.string() + " --heads 4 --query " + query + " --out " + out);
  };
  int refused = 0;
  for (const auto& [convention, tensors] : kConventions) {
    INFO("convention " << convention);
    write_checkpoint(file, tensors);
    const CliResult good = run();
    INFO("stderr: " << good.err);
    REQUIRE(good.exit_code == 0);
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      const std::string& name = tensors[t].first;
      const std::vector<std::size_t>& shape = tensors[t].second;
      // The input width of a key or value projection is the layer's kdim or vdim: a checkpoint
      // may set it (cross-attention), and then self-attention is refused.
      const bool sets_kv_input =
          shape.size() == 2 && (name.rfind("k_proj", 0) == 0 || name.rfind("v_proj", 0) == 0);
      for (std::size_t i = 0; i <= shape.size(); ++i) {
        TensorShapes bad = tensors;
        std::vector<std::size_t>& s = bad[t].second;
        if (i < shape.size()) {
          ++s[i];
        } else {
          s.insert(s.begin(), 1);
        }
        INFO("tensor " << name << " with shape [" << s.size() << "-d, dimension " << i
                       << " changed]");
        write_checkpoint(file, bad);
        const CliResult r = run();
        require_one_line_error(
            r, sets_kv_input && i == 1 ? "kdim/vdim different from embed_dim" : "'" + name + "'");
        REQUIRE(r.err.find(file.string()) != std::string::npos);
        ++refused;
      }
    }
  }
  REQUIRE(refused == 54);
}

TEST_CASE("edgeattn run names the tensor, its shape and the shape expected", "[cli][quick]") {
  // The first report of this defect: a narrow Hugging Face q_proj.weight [E, X], X < E, was
  // packed as E x E floats (a heap over-read) and the run exited 0.
  const std::string query = (golden / "torch_self_basic" / "query.npy").string();
  const fs::path dir = scratch_dir();
  const fs::path file = dir / "narrow_q.safetensors";
  TensorShapes hf = kConventions.at("huggingface");
  hf[0].second = {16, 8};
  write_checkpoint(file, hf);
  const std::string base =
      "run --weights " + file.string() + " --query " + query + " --out " + (dir / "y.npy").string();
  const std::string args = base + " --heads 4";
  require_one_line_error(
      cli(args), file.string() + ": tensor 'q_proj.weight' has shape [16, 8], expected [16, 16]");

  TensorShapes gqa = kConventions.at("huggingface");  // 2 key/value heads of 4
  for (auto& [name, shape] : gqa)
    if (name.rfind("k_proj", 0) == 0 || name.rfind("v_proj", 0) == 0) shape[0] = 8;
  write_checkpoint(file, gqa);
  REQUIRE(cli(args).exit_code == 0);
  REQUIRE(cli(args + " --kv-heads 2").exit_code == 0);
  require_one_line_error(cli(args + " --kv-heads 4"), "not 4 key/value heads");
  require_one_line_error(cli(base + " --heads 3"), "does not divide embed_dim 16");

  TensorShapes torch = kConventions.at("torch-in_proj");
  torch[4].second = {16};  // bias_k must be [1, 1, E], as nn.MultiheadAttention stores it
  write_checkpoint(file, torch);
  require_one_line_error(cli(args), "tensor 'bias_k' has shape [16], expected [1, 1, 16]");
}

TEST_CASE("edgeattn run reads a checkpoint from a pipe", "[cli][quick]") {
  // A pipe has no size to seek to: the reader streams it instead of trusting a failed tellg().
  const fs::path d = golden / "hf_whisper_like";
  std::ifstream mf(d / "case.json");
  const nlohmann::json meta = nlohmann::json::parse(mf);
  const fs::path dir = scratch_dir();
  const std::string tail = " --heads " + std::to_string(meta["heads"].get<int>()) + " --prefix " +
                           meta["prefix"].get<std::string>() + " --query " +
                           (d / "query.npy").string() + " --out ";
  const std::string from_file = (dir / "from_file.npy").string(),
                    from_pipe = (dir / "from_pipe.npy").string();
  REQUIRE(
      cli("run --weights " + (d / "weights.safetensors").string() + tail + from_file).exit_code ==
      0);
  const std::string cli_on_stdin =
      std::string(EDGEATTN_CLI) + " run --weights /dev/stdin" + tail + from_pipe;
  const CliResult piped =
      shell("cat " + (d / "weights.safetensors").string() + " | " + cli_on_stdin);
  INFO("stderr: " << piped.err);
  REQUIRE(piped.exit_code == 0);
  REQUIRE(slurp(from_file) == slurp(from_pipe));
  // A pipe that ends inside the header is refused with a message.
  const CliResult cut =
      shell("head -c 100 " + (d / "weights.safetensors").string() + " | " + cli_on_stdin);
  require_one_line_error(cut, "/dev/stdin: header length");
}

TEST_CASE("edgeattn info and bench", "[cli][quick]") {
  const CliResult info = cli("info");
  REQUIRE(info.exit_code == 0);
  REQUIRE(info.out.find("port in use:") != std::string::npos);
  REQUIRE(info.out.find("default threads:") != std::string::npos);
  for (const std::string& port : test::runnable_ports()) {
    std::string isa = port;  // the kernel names end in the port's name with '_' for '-'
    std::replace(isa.begin(), isa.end(), '-', '_');
    const CliResult forced = cli("info --port " + port);
    REQUIRE(forced.exit_code == 0);
    REQUIRE(forced.out.find("port in use:     " + port + " (forced by --port)") !=
            std::string::npos);
    REQUIRE(forced.out.find("gemm kernel:     f32_gemm_") != std::string::npos);
    REQUIRE(forced.out.find("__" + isa + " (tile") != std::string::npos);
    // The environment variable is read when no option is given.
    const CliResult env =
        shell("EDGEATTN_PORT=" + port + " " + std::string(EDGEATTN_CLI) + " info");
    REQUIRE(env.exit_code == 0);
    REQUIRE(env.out.find("port in use:     " + port + " (forced by EDGEATTN_PORT)") !=
            std::string::npos);
    REQUIRE(env.out.find("attention tile:  f32_attend_") != std::string::npos);
  }
  require_one_line_error(cli("info --port mips-msa"), "unknown port 'mips-msa'");
  const fs::path json = scratch_dir() / "bench.json";
  const CliResult bench = cli("bench --shape S1 --threads 1 --min-time 0 --json " + json.string());
  INFO(bench.err);
  REQUIRE(bench.exit_code == 0);
  REQUIRE(bench.out.find("S1_tiny_edge") != std::string::npos);
  std::ifstream f(json);
  const nlohmann::json j = nlohmann::json::parse(f);
  REQUIRE(j["machine"].contains("cpu"));
  REQUIRE(j["results"].size() == 1);
  const auto& r = j["results"][0];
  REQUIRE(r["shape"] == "S1_tiny_edge");
  REQUIRE(r["threads"] == 1);
  REQUIRE(r["median_ms"].get<double>() > 0.0);
  REQUIRE(r["min_ms"].get<double>() <= r["median_ms"].get<double>());
  REQUIRE(r["gflops"].get<double>() > 0.0);
  REQUIRE(r["workspace_bytes"].get<std::size_t>() > 0);
}

TEST_CASE("edgeattn bench --packed times a blob's layer on the shapes of its sizes",
          "[cli][quick]") {
  // An S1-sized layer (E 256, 4 heads) packed through the library, int8.
  test::CaseConfig cfg;
  cfg.embed_dim = 256;
  cfg.num_heads = 4;
  cfg.weight_type = ElementType::int8;
  const test::Case c = test::make_case(cfg, 5);
  std::size_t bytes = 0;
  REQUIRE(packed_size(c.spec(), nullptr, &bytes).ok());
  std::string blob(bytes, '\0');
  REQUIRE(pack(c.spec(), nullptr, blob.data(), bytes).ok());
  const fs::path file = scratch_dir() / "s1.eapk";
  write_bytes(file, blob);
  const fs::path json = scratch_dir() / "packed.json";
  const CliResult r =
      cli("bench --packed " + file.string() + " --threads 1 --min-time 0 --json " + json.string());
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("int8 weights from " + file.string()) != std::string::npos);
  CHECK(r.out.find("S1_tiny_edge") != std::string::npos);
  CHECK(r.out.find("S2_vit_tiny") == std::string::npos);  // only the shapes of its sizes
  std::ifstream f(json);
  const nlohmann::json j = nlohmann::json::parse(f);
  CHECK(j["machine"]["weight_type"] == "int8");
  CHECK(j["machine"]["packed"] == file.string());
  REQUIRE(j["results"].size() == 1);
  require_one_line_error(cli("bench --packed " + file.string() + " --shape S3"),
                         "fits none of the shapes");
  require_one_line_error(cli("bench --packed " + file.string() + " --weight-type f16"),
                         "the blob fixes the port and the weight type");
  write_bytes(scratch_dir() / "short.eapk", blob.substr(0, 100));
  require_one_line_error(cli("bench --packed " + (scratch_dir() / "short.eapk").string()),
                         "packed blob");
}

TEST_CASE("edgeattn run converts float16 and float64 inputs", "[cli][quick]") {
  // The same values stored as float16, float64 and float32 must give the same output.
  const fs::path d = golden / "torch_self_basic";
  const formats::Array q = formats::read_npy((d / "query.npy").string());
  std::vector<float> rounded = q.to_float();
  for (float& x : rounded) x = formats::half_to_float(formats::float_to_half(x));
  const fs::path dir = scratch_dir();
  formats::write_npy_f16((dir / "q16.npy").string(), q.shape, rounded.data());
  formats::write_npy((dir / "q32.npy").string(), q.shape, rounded.data());
  {  // float64: header by hand, data as doubles
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 5, 16), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) +
                        char(header.size() >> 8) + header;
    for (float x : rounded) {
      const double v = x;
      bytes.append(reinterpret_cast<const char*>(&v), 8);
    }
    write_bytes(dir / "q64.npy", bytes);
  }
  std::vector<std::vector<float>> outs;
  for (const char* name : {"q16.npy", "q32.npy", "q64.npy"}) {
    const std::string out = (dir / (std::string("y_") + name)).string();
    const CliResult r = cli("run --weights " + (d / "weights.safetensors").string() +
                            " --heads 4 --query " + (dir / name).string() + " --out " + out);
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    outs.push_back(formats::read_npy(out).to_float());
  }
  REQUIRE(outs[0] == outs[1]);
  REQUIRE(outs[2] == outs[1]);
}

TEST_CASE("edgeattn run keeps an F16 checkpoint in 16 bits (--weight-type)", "[cli][quick]") {
  // The golden weights rounded to f16, written once as F16 and once as F32: the F16 file runs
  // with f16 weights by default, and gives bit for bit what the F32 file gives with
  // --weight-type f16 (the same packed weights) and with f32 weights holding the same values.
  const fs::path d = golden / "torch_self_basic";
  const formats::SafeTensors src((d / "weights.safetensors").string());
  const fs::path dir = scratch_dir();
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<float>>> f32;
  for (const std::string& name : src.names()) {
    std::vector<float> v = src.read_float(name);
    const std::size_t begin = data.size();
    for (float& x : v) {
      const std::uint16_t h = formats::float_to_half(x);
      x = formats::half_to_float(h);
      data += static_cast<char>(h & 0xff);
      data += static_cast<char>(h >> 8);
    }
    header[name] = {
        {"dtype", "F16"}, {"shape", src.shape(name)}, {"data_offsets", {begin, data.size()}}};
    f32[name] = {src.shape(name), v};
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((head.size() >> (8 * i)) & 0xff);
  write_bytes(dir / "w16.safetensors", file + head + data);
  formats::write_safetensors((dir / "w32.safetensors").string(), f32);
  std::vector<std::vector<float>> outs;
  for (const std::string& args :
       {std::string("w16.safetensors"), std::string("w32.safetensors --weight-type f16"),
        std::string("w32.safetensors"), std::string("w16.safetensors --weight-type f32")}) {
    const std::string out = (dir / "y16.npy").string();
    const CliResult r = cli("run --heads 4 --query " + (d / "query.npy").string() + " --out " +
                            out + " --weights " + (dir / args).string());
    INFO(args << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    outs.push_back(formats::read_npy(out).to_float());
  }
  for (const auto& o : outs) REQUIRE(o == outs[0]);
  require_one_line_error(cli("run --heads 4 --query " + (d / "query.npy").string() + " --out " +
                             (dir / "y.npy").string() + " --weight-type f8 --weights " +
                             (dir / "w16.safetensors").string()),
                         "--weight-type");
}

TEST_CASE("edgeattn pack, then run --packed: the same output, foreign blobs refused",
          "[cli][quick]") {
  const fs::path d = golden / "torch_self_basic";
  const fs::path dir = scratch_dir();
  const std::string w = (d / "weights.safetensors").string(), q = (d / "query.npy").string();
  for (const char* type : {"f32", "bf16", "int8"}) {
    INFO(type);
    const std::string blob = (dir / "layer.eapk").string();
    CliResult r =
        cli("pack --weights " + w + " --heads 4 --weight-type " + type + " --out " + blob);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.find("layer.eapk: ") != std::string::npos);
    r = cli("run --packed " + blob + " --query " + q + " --out " + (dir / "yp.npy").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    r = cli("run --weights " + w + " --heads 4 --weight-type " + type + " --query " + q +
            " --out " + (dir / "yw.npy").string());
    REQUIRE(r.exit_code == 0);
    REQUIRE(slurp(dir / "yp.npy") == slurp(dir / "yw.npy"));
  }
  // A port no build of this machine's architecture carries: packed, then refused by run.
  const std::string other = (dir / "other.eapk").string();
#if defined(__x86_64__)
  const char* foreign = "arm-neon64";
#else
  const char* foreign = "x86-avx2";
#endif
  REQUIRE(
      cli("pack --weights " + w + " --heads 4 --port " + foreign + " --out " + other).exit_code ==
      0);
  require_one_line_error(
      cli("run --packed " + other + " --query " + q + " --out " + (dir / "y.npy").string()),
      "packed blob is for port");
  write_bytes(dir / "short.eapk", slurp(other).substr(0, 300));
  require_one_line_error(cli("run --packed " + (dir / "short.eapk").string() + " --query " + q +
                             " --out " + (dir / "y.npy").string()),
                         "truncated");
  require_one_line_error(cli("run --packed " + other + " --weights " + w + " --query " + q +
                             " --out " + (dir / "y.npy").string()),
                         "either --weights");
  require_one_line_error(cli("pack --weights " + w + " --heads 4 --port riscv --out " + other),
                         "no port named 'riscv'");
}

TEST_CASE("edgeattn pack --calibrate: int8 outlier features from sample inputs", "[cli][quick]") {
  // A real MiniLM layer: calibrated on its first 64 tokens, the int8 blob's output over all
  // 264 is within the int8 bound of torch's fp32 output and closer than without calibration.
  const fs::path data = fs::path(EDGEATTN_TEST_DATA) / "minilm", dir = scratch_dir();
  const std::string w = (data / "attention.safetensors").string();
  const formats::Array hidden = formats::read_npy((data / "hidden_0.npy").string());
  const std::vector<float> x = hidden.to_float();
  const std::size_t E = hidden.shape.back();
  const std::string sample = (dir / "sample.npy").string();
  formats::write_npy(sample, {64, E}, x.data());
  const std::vector<float> want = formats::read_npy((data / "torch_0.npy").string()).to_float();
  auto int8_error = [&](const std::string& extra) {
    const std::string blob = (dir / "minilm.eapk").string(), y = (dir / "y8.npy").string();
    CliResult r = cli("pack --weights " + w + " --prefix layer.0. --heads 12 --weight-type int8 " +
                      extra + " --out " + blob);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    if (!extra.empty()) REQUIRE(r.out.find("int8 outlier features: inputs [") != std::string::npos);
    r = cli("run --packed " + blob + " --query " + (data / "hidden_0.npy").string() + " --out " +
            y);
    REQUIRE(r.exit_code == 0);
    const std::vector<float> got = formats::read_npy(y).to_float();
    REQUIRE(got.size() == want.size());
    double err = 0, norm = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      norm += double(want[i]) * want[i];
    }
    return std::sqrt(err / norm);
  };
  const double plain = int8_error(""), calibrated = int8_error("--calibrate " + sample);
  INFO("relative RMS error: blocks only " << plain << ", calibrated " << calibrated);
  CHECK(calibrated <= 2e-2);
  CHECK(calibrated < plain);
  CHECK(int8_error("--calibrate " + sample + " --outliers 0") == plain);  // no outlier at all
  // run takes the same options (with --weights); errors are one line.
  const std::string q = (data / "hidden_0.npy").string(), y = (dir / "y.npy").string();
  REQUIRE(cli("run --weights " + w +
              " --prefix layer.0. --heads 12 --weight-type int8 "
              "--calibrate " +
              sample + " --outliers 4 --query " + q + " --out " + y)
              .exit_code == 0);
  require_one_line_error(cli("pack --weights " + w + " --prefix layer.0. --heads 12 --calibrate " +
                             sample + " --out " + y),
                         "it needs --weight-type int8");
  require_one_line_error(cli("pack --weights " + w +
                             " --prefix layer.0. --heads 12 --weight-type "
                             "int8 --outliers 3 --out " +
                             y),
                         "--outliers requires --calibrate");
  require_one_line_error(cli("pack --weights " + w +
                             " --prefix layer.0. --heads 12 --weight-type "
                             "int8 --calibrate " +
                             (data / "torch_0.npy").string() + " " + w + " --out " + y),
                         "not a .npy file");
  formats::write_npy(sample, {64, E - 1}, x.data());
  require_one_line_error(cli("pack --weights " + w +
                             " --prefix layer.0. --heads 12 --weight-type "
                             "int8 --calibrate " +
                             sample + " --out " + y),
                         "does not match embed_dim 384");
  require_one_line_error(cli("run --packed " + (dir / "minilm.eapk").string() + " --calibrate " +
                             sample + " --query " + q + " --out " + y),
                         "--packed takes no");
}

// `edgeattn sdpa` on ONNX conformance cases: every input the case has goes in as its flag,
// every output comes back in Q's dtype and matches ONNX's expectation.
TEST_CASE("edgeattn sdpa runs ONNX conformance cases", "[cli][quick]") {
  const fs::path root = fs::path(EDGEATTN_TEST_DATA) / "onnx-attention";
  const char* cases[] = {"test_attention_4d_gqa_with_past_and_present_fp16",
                         "test_attention_3d_with_past_and_present_qk_matmul_softcap",
                         "test_attention_4d_attn_mask_bool_4d",
                         "test_attention_4d_causal_nonpad_continued_prefill",
                         "test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal"};
  const std::map<std::string, std::string> input_flag = {
      {"Q", "--q"},
      {"K", "--k"},
      {"V", "--v"},
      {"attn_mask", "--attn-mask"},
      {"past_key", "--past-key"},
      {"past_value", "--past-value"},
      {"nonpad_kv_seqlen", "--nonpad-kv-seqlen"}};
  const std::map<std::string, std::string> output_flag = {{"Y", "--out"},
                                                          {"present_key", "--present-key"},
                                                          {"present_value", "--present-value"},
                                                          {"qk_matmul_output", "--qk-out"}};
  for (const char* name : cases) {
    INFO("case " << name);
    const fs::path dir = root / name;
    std::ifstream meta_file(dir / "case.json");
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    const nlohmann::json& attr = meta["attributes"];
    std::string args = "sdpa --threads 2";
    for (const auto& n : meta["onnx_inputs"])
      if (!n.get<std::string>().empty())
        args += " " + input_flag.at(n.get<std::string>()) + " " +
                (dir / (n.get<std::string>() + ".npy")).string();
    for (const auto& n : meta["onnx_outputs"])
      if (!n.get<std::string>().empty())
        args += " " + output_flag.at(n.get<std::string>()) + " " +
                (scratch_dir() / (n.get<std::string>() + ".npy")).string();
    if (attr.value("is_causal", 0)) args += " --causal";
    if (attr.contains("scale")) args += " --scale " + std::to_string(attr["scale"].get<double>());
    if (attr.contains("softcap"))
      args += " --softcap " + std::to_string(attr["softcap"].get<double>());
    if (attr.contains("q_num_heads"))
      args += " --q-heads " + std::to_string(attr["q_num_heads"].get<int>());
    if (attr.contains("kv_num_heads"))
      args += " --kv-heads " + std::to_string(attr["kv_num_heads"].get<int>());
    if (attr.contains("qk_matmul_output_mode"))
      args += " --qk-mode " + std::to_string(attr["qk_matmul_output_mode"].get<int>());
    const CliResult r = cli(args);
    INFO(args << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    for (const auto& n : meta["onnx_outputs"]) {
      const std::string o = n.get<std::string>();
      if (o.empty()) continue;
      INFO("output " << o);
      const formats::Array got = formats::read_npy((scratch_dir() / (o + ".npy")).string());
      const formats::Array want = formats::read_npy((dir / (o + ".npy")).string());
      REQUIRE(got.dtype == want.dtype);
      REQUIRE(got.shape == want.shape);
      const std::vector<float> g = got.to_float(), w = want.to_float();
      const double tol = want.dtype == formats::DType::f16 ? 2e-3 : 1e-5;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (std::isinf(w[i])) {
          REQUIRE(g[i] == w[i]);
          continue;
        }
        INFO("element " << i);
        REQUIRE(std::abs(g[i] - w[i]) <= tol + tol * std::abs(w[i]));
      }
    }
  }
}

TEST_CASE("edgeattn sdpa rejects bad combinations with one line and exit code 2", "[cli][quick]") {
  const fs::path c = fs::path(EDGEATTN_TEST_DATA) / "onnx-attention" /
                     "test_attention_4d_gqa_with_past_and_present";
  const std::string qkv = " --q " + (c / "Q.npy").string() + " --k " + (c / "K.npy").string() +
                          " --v " + (c / "V.npy").string() + " --out " +
                          (scratch_dir() / "y.npy").string();
  const std::string pk = " --past-key " + (c / "past_key.npy").string();
  const std::string pv = " --past-value " + (c / "past_value.npy").string();
  require_one_line_error(cli("sdpa" + qkv + pk), "--past-key and --past-value go together");
  require_one_line_error(cli("sdpa" + qkv + " --qk-mode 2"), "--qk-mode needs --qk-out");
  require_one_line_error(cli("sdpa" + qkv + " --qk-out x.npy --qk-mode 4"), "--qk-mode");
  require_one_line_error(cli("sdpa" + qkv + " --present-key x.npy"),
                         "--present-key and --present-value");
  require_one_line_error(
      cli("sdpa" + qkv + pk + pv + " --nonpad-kv-seqlen " + (c / "Q.npy").string()),
      "not with --past-key");
  require_one_line_error(cli("sdpa" + qkv + " --softcap -1"), "--softcap");
  require_one_line_error(cli("sdpa" + qkv + " --scale inf"), "scale must be finite");
  require_one_line_error(cli("sdpa" + qkv + " --q-heads 4"), "--q-heads says 4");
  // K of the wrong head size, a mask wider than the keys, 3-D inputs without head counts.
  require_one_line_error(
      cli("sdpa --q " + (c / "Q.npy").string() + " --k " + (c / "past_key.npy").string() + " --v " +
          (c / "V.npy").string() + " --out y.npy"),
      "V has shape");
  const fs::path wide = fs::path(EDGEATTN_TEST_DATA) / "onnx-attention" /
                        "test_attention_4d_with_past_and_present_qk_matmul_bias";
  require_one_line_error(cli("sdpa" + qkv + " --attn-mask " + (wide / "attn_mask.npy").string()),
                         "attn_mask's last dimension");
  const fs::path c3 = fs::path(EDGEATTN_TEST_DATA) / "onnx-attention" / "test_attention_3d";
  require_one_line_error(
      cli("sdpa --q " + (c3 / "Q.npy").string() + " --k " + (c3 / "K.npy").string() + " --v " +
          (c3 / "V.npy").string() + " --out y.npy"),
      "q_num_heads");
}

TEST_CASE("edgeattn decode prints per-token latency and bandwidth", "[cli][quick]") {
  const CliResult r = cli("decode --shape S1 --steps 6 --threads 1");
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("S1_tiny_edge: prompt of 64 tokens") != std::string::npos);
  CHECK(r.out.find("6 steps (cache 64 -> 70 positions)") != std::string::npos);
  CHECK(r.out.find("per-token latency: median") != std::string::npos);
  CHECK(r.out.find("GB/s") != std::string::npos);
  const CliResult q =
      cli("decode --shape S1 --steps 3 --threads 1 --weight-type int8 --kv-type int8");
  INFO("stdout: " << q.out << "\nstderr: " << q.err);
  REQUIRE(q.exit_code == 0);
  CHECK(q.out.find("int8 weights, int8 cache") != std::string::npos);
  require_one_line_error(cli("decode --kv-type bf16"), "--kv-type");
  require_one_line_error(cli("decode --steps 0"), "--steps");
  require_one_line_error(cli("decode --shape S9"), "--shape must be S1..S6");
}
