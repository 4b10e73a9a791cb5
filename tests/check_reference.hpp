// Catch2 check shared by the test files: a case run on every port this CPU supports (2
// threads) must match the double reference within the suite's tolerance.
#pragma once

#include <catch2/catch.hpp>

#include "test_util.hpp"

namespace edgeattn::test {

inline void require_matches_reference(const Case& c) {
  const reference::Result want =
      reference::multi_head_attention(c.spec(), c.args(nullptr, nullptr));
  for (const std::string& port : runnable_ports()) {
    INFO("port " << port << ": " << c.cfg.describe());
    const LibraryResult got = run_library(c, 2, port.c_str());
    REQUIRE(got.status.ok());
    const Comparison cmp = compare(got.output, want.output, reference_atol(c.cfg, want), 1e-4);
    INFO(cmp.describe());
    REQUIRE(cmp.ok());
  }
}

}  // namespace edgeattn::test
