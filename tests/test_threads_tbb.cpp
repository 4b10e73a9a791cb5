// Threads with the oneTBB executor: calls from inside the caller's own oneTBB work, and a cap
// on the number of threads working for one run.
#include <catch2/catch.hpp>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

#include <atomic>

#include "access.hpp"
#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

TEST_CASE("run from inside the caller's own oneTBB work does not deadlock", "[threads][quick]") {
  const Case c = make_case(three_head_config(), 79);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  Executor exec(2);
  const LibraryResult expected = run_layer(*layer, c, exec);
  std::atomic<int> bad{0};
  tbb::task_arena outer(2);
  outer.execute([&] {
    tbb::parallel_for(0, 8, [&](int) {
      const LibraryResult r = run_layer(*layer, c, exec);
      if (!r.status.ok() || r.output != expected.output) ++bad;
    });
  });
  REQUIRE(bad == 0);
}

TEST_CASE("no more threads work for a run than the executor allows", "[threads][quick]") {
  // A task_scheduler_observer on the executor's arena counts the threads inside it at once.
  for (int limit : {1, 2, 3}) {
    Executor exec(limit);
    CaseConfig cfg = three_head_config();
    cfg.q_len = cfg.kv_len = 300;
    const Case c = make_case(cfg, 80);
    std::unique_ptr<Layer> layer;
    REQUIRE(Layer::create(c.spec(), &layer).ok());
    std::atomic<int> concurrent{0}, peak{0};
    class Observer : public tbb::task_scheduler_observer {
     public:
      Observer(tbb::task_arena& a, std::atomic<int>& cur, std::atomic<int>& pk)
          : tbb::task_scheduler_observer(a), cur_(cur), peak_(pk) {
        observe(true);
      }
      ~Observer() override { observe(false); }
      void on_scheduler_entry(bool) override {
        const int now = ++cur_;
        int p = peak_.load();
        while (now > p && !peak_.compare_exchange_weak(p, now)) {
        }
      }
      void on_scheduler_exit(bool) override { --cur_; }

     private:
      std::atomic<int>& cur_;
      std::atomic<int>& peak_;
    };
    auto* arena = static_cast<tbb::task_arena*>(detail::Access::task_arena(exec));
    Observer obs(*arena, concurrent, peak);
    for (int rep = 0; rep < 3; ++rep) REQUIRE(run_layer(*layer, c, exec).status.ok());
    INFO("limit " << limit << " peak " << peak.load());
    if (limit == 1) {
      REQUIRE(peak.load() == 0);  // one thread: the tasks run inline on the caller, no arena
    } else {
      // The tasks ran inside the executor's arena (work escaping it would leave the peak at 0),
      // with no more threads than it allows.
      REQUIRE(peak.load() >= 1);
      REQUIRE(peak.load() <= limit);
    }
  }
}
