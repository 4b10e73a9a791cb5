// Properties that hold whatever the numbers, on every port: they catch mistakes a shared
// misunderstanding of the reference would hide.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

namespace {
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}
}  // namespace

TEST_CASE("permuting keys together with values leaves the output unchanged", "[property][quick]") {
  const std::string port = GENERATE(from_range(runnable_ports()));  // every port
  INFO("port " << port);
  CaseConfig cfg;
  cfg.embed_dim = 48;
  cfg.num_heads = 3;
  cfg.cross = true;
  cfg.batch = 2;
  cfg.q_len = 9;
  cfg.kv_len = 70;
  Case c = make_case(cfg, 3);
  const LibraryResult before = run_library(c, 2, port.c_str());
  REQUIRE(before.status.ok());
  std::vector<int> perm(cfg.kv_len);
  for (int i = 0; i < cfg.kv_len; ++i) perm[i] = (i * 37 + 11) % cfg.kv_len;  // 37 coprime to 70
  Case p = c;
  for (int b = 0; b < cfg.batch; ++b)
    for (int j = 0; j < cfg.kv_len; ++j)
      for (int f = 0; f < cfg.embed_dim; ++f) {
        const std::size_t dst = (std::size_t(b) * cfg.kv_len + j) * cfg.embed_dim + f;
        const std::size_t src = (std::size_t(b) * cfg.kv_len + perm[j]) * cfg.embed_dim + f;
        p.key[dst] = c.key[src];
        p.value[dst] = c.value[src];
      }
  const LibraryResult after = run_library(p, 2, port.c_str());
  REQUIRE(after.status.ok());
  REQUIRE(max_abs_diff(before.output, after.output) < 1e-5);
}

TEST_CASE("a causal row ignores later keys", "[property][quick]") {
  const std::string port = GENERATE(from_range(runnable_ports()));  // every port
  INFO("port " << port);
  CaseConfig cfg;
  cfg.embed_dim = 32;
  cfg.num_heads = 2;
  cfg.q_len = cfg.kv_len = 40;
  cfg.causal = true;
  cfg.cross = true;
  Case c = make_case(cfg, 5);
  const LibraryResult before = run_library(c, 2, port.c_str());
  Case changed = c;
  const int cut = 23;  // change every key and value after position `cut`
  for (int j = cut + 1; j < cfg.kv_len; ++j)
    for (int f = 0; f < cfg.embed_dim; ++f) {
      changed.key[std::size_t(j) * cfg.embed_dim + f] += 5.0f;
      changed.value[std::size_t(j) * cfg.embed_dim + f] -= 3.0f;
    }
  const LibraryResult after = run_library(changed, 2, port.c_str());
  REQUIRE(before.status.ok());
  REQUIRE(after.status.ok());
  const std::size_t rows_unchanged = std::size_t(cut + 1) * cfg.embed_dim;
  for (std::size_t i = 0; i < rows_unchanged; ++i) REQUIRE(before.output[i] == after.output[i]);
  REQUIRE(max_abs_diff(before.output, after.output) > 1e-3);  // later rows did see the change
}

TEST_CASE("adding a constant to all logits of a row changes nothing", "[property][quick]") {
  const std::string port = GENERATE(from_range(runnable_ports()));  // every port
  INFO("port " << port);
  CaseConfig cfg;
  cfg.embed_dim = 24;
  cfg.num_heads = 3;
  cfg.q_len = 17;
  cfg.kv_len = 30;
  cfg.cross = true;
  cfg.attn_mask = MaskType::additive;
  Case c = make_case(cfg, 9);
  for (float& m : c.attn_mask_f)
    if (std::isinf(m)) m = -1.0f;
  const LibraryResult before = run_library(c, 1, port.c_str());
  Case shifted = c;
  for (int i = 0; i < cfg.q_len; ++i)
    for (int j = 0; j < cfg.kv_len; ++j)
      shifted.attn_mask_f[std::size_t(i) * cfg.kv_len + j] += 7.5f * (i + 1);
  const LibraryResult after = run_library(shifted, 1, port.c_str());
  REQUIRE(before.status.ok());
  REQUIRE(after.status.ok());
  REQUIRE(max_abs_diff(before.output, after.output) < 1e-5);
}

TEST_CASE("sequence-first and batch-first layouts agree", "[property][quick]") {
  const std::string port = GENERATE(from_range(runnable_ports()));  // every port
  INFO("port " << port);
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 2;
  cfg.batch = 3;
  cfg.q_len = cfg.kv_len = 11;
  const Case c = make_case(cfg, 21);
  Case sf = c;
  sf.cfg.layout = SequenceLayout::seq_first;
  for (int b = 0; b < cfg.batch; ++b)
    for (int l = 0; l < cfg.q_len; ++l)
      for (int f = 0; f < cfg.embed_dim; ++f)
        sf.query[(std::size_t(l) * cfg.batch + b) * cfg.embed_dim + f] =
            c.query[(std::size_t(b) * cfg.q_len + l) * cfg.embed_dim + f];
  const LibraryResult bf = run_library(c, 2, port.c_str()), sq = run_library(sf, 2, port.c_str());
  REQUIRE(bf.status.ok());
  REQUIRE(sq.status.ok());
  for (int b = 0; b < cfg.batch; ++b)
    for (int l = 0; l < cfg.q_len; ++l)
      for (int f = 0; f < cfg.embed_dim; ++f)
        REQUIRE(sq.output[(std::size_t(l) * cfg.batch + b) * cfg.embed_dim + f] ==
                bf.output[(std::size_t(b) * cfg.q_len + l) * cfg.embed_dim + f]);
}
