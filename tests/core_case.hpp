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

// All sizes small (<= 9). The returned case is valid: the library must accept it.
CoreCase make_core_case(const std::function<int(int, int)>& pick, std::uint32_t seed);

}  // namespace edgeattn::test
