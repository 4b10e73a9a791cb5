// Threads: bitwise identical results for any thread count, and concurrent runs of one layer
// from many std::threads with separate workspaces (also built with the serial executor, where
// ThreadSanitizer can see all synchronisation).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

TEST_CASE("results are bitwise identical for 1, 2, 3 and 8 threads", "[threads][quick]") {
  for (AttnWeightsOutput w : {AttnWeightsOutput::none, AttnWeightsOutput::averaged}) {
    CaseConfig cfg = three_head_config();
    cfg.weights = w;
    const Case c = make_case(cfg, 77);
    for (const std::string& port : runnable_ports()) {
      INFO("port " << port);
      const LibraryResult one = run_library(c, 1, port.c_str());
      REQUIRE(one.status.ok());
      for (int t : {2, 3, 8}) {
        const LibraryResult many = run_library(c, t, port.c_str());
        REQUIRE(many.status.ok());
        REQUIRE(many.output == one.output);
        REQUIRE(many.weights == one.weights);
      }
    }
  }
}

TEST_CASE("one layer run from 8 threads at once equals sequential runs",
          "[threads][concurrency][quick]") {
  const Case c = make_case(three_head_config(), 78);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  Executor exec(2);
  const LibraryResult expected = run_layer(*layer, c, exec);
  REQUIRE(expected.status.ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int rep = 0; rep < 5; ++rep) {
        const LibraryResult r = run_layer(*layer, c, exec);
        if (!r.status.ok() || r.output != expected.output) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(mismatches == 0);
}
