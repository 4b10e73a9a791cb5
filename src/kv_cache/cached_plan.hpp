// The plan of attention over a cache (the core API's CachedAttentionArgs): the pre-scaled,
// head-major Q the queries are gathered into and the engine's attention stage.
#pragma once

#include <cstddef>

#include "engine/attention.hpp"
#include "engine/workspace.hpp"
#include "kv_cache/kv_cache_impl.hpp"

namespace edgeattn {

struct CachedPlan {
  CacheGeometry geo;
  int q_heads = 0, q_len = 0, threads = 0;
  engine::WorkspaceLayout ws;
  std::size_t q = 0;
  engine::AttentionPlan attn;
};

}  // namespace edgeattn
