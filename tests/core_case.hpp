// A random configuration of the attention core (every option of AttentionArgs) with its
// buffers, for the random test and the fuzz target; `pick(lo, hi)` draws each choice.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn::test {

struct CoreCase {
  AttentionArgs args;
  std::vector<float> q, k, v, past_key, past_value, mask_f, y, present_key, present_value, qk;
  std::vector<std::uint8_t> mask_b;
  std::vector<std::int64_t> nonpad;
  std::string describe() const;
};

// small: every size <= 9 (the fuzz target). wide: also lengths past a second key tile, query
// lengths past a query tile and the specialised head widths. The case is valid: the library must
// accept it.
enum class CoreSizes { small, wide };
CoreCase make_core_case(const std::function<int(int, int)>& pick, std::uint32_t seed,
                        CoreSizes sizes = CoreSizes::small);

}  // namespace edgeattn::test
