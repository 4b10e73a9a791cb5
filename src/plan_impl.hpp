// What a Plan holds: the plan of one front-end (a layer run, a decode step, the attention core,
// cached attention), made once, read by every run made with it.
#pragma once

#include <memory>

#include "core/core_plan.hpp"
#include "edgeattn/edgeattn.hpp"
#include "kv_cache/cached_plan.hpp"
#include "layer/layer_impl.hpp"

namespace edgeattn {

enum class PlanKind { layer_run, layer_decode, attention, cached_attention };

struct detail::PlanImpl {
  PlanKind kind = PlanKind::layer_run;
  const void* owner = nullptr;  // the layer a layer plan was made by; null otherwise
  int threads = 0;
  std::size_t bytes = 0;
  LayerRunPlan layer;
  LayerDecodePlan decode;
  CorePlan core;
  CachedPlan cached;

  static std::unique_ptr<PlanImpl> make(PlanKind kind, const void* owner);
  void finish(const engine::WorkspaceLayout& ws, int num_threads) {
    bytes = ws.bytes();
    threads = num_threads;
  }
  // The plan behind `plan` when it is of `kind` and was made by `owner`; an error otherwise.
  static Status check(const Plan& plan, PlanKind kind, const void* owner, const PlanImpl** out);
};
using PlanImpl = detail::PlanImpl;

}  // namespace edgeattn
