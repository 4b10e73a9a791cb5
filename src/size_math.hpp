// Overflow-checked size arithmetic for planning: sizes that do not fit are errors, never
// wrapped.
#pragma once

#include <cstddef>
#include <initializer_list>

namespace edgeattn {

inline bool checked_mul(std::size_t a, std::size_t b, std::size_t* out) {
  std::size_t r = 0;
  const bool overflow = __builtin_mul_overflow(a, b, &r);
  if (out) *out = r;
  return !overflow;
}

inline bool checked_product(std::initializer_list<std::size_t> factors, std::size_t* out) {
  std::size_t r = 1;
  for (std::size_t f : factors)
    if (!checked_mul(r, f, &r)) return false;
  if (out) *out = r;
  return true;
}

inline std::size_t round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }

// Lays regions out one after another, each starting on a 16-float (64-byte) boundary.
class SizeAccumulator {
 public:
  std::size_t add(std::initializer_list<std::size_t> factors) {
    std::size_t n = 0;
    const std::size_t offset = total_;
    if (!checked_product(factors, &n) || n > kLimit || total_ > kLimit - n - 16) {
      overflowed_ = true;
      return offset;
    }
    total_ = round_up(total_ + n, 16);
    return offset;
  }
  std::size_t total() const { return total_; }
  bool overflowed() const { return overflowed_; }

 private:
  // Keep every float offset representable as a ptrdiff_t byte offset.
  static constexpr std::size_t kLimit = (static_cast<std::size_t>(-1) >> 1) / 4 - 64;
  std::size_t total_ = 0;
  bool overflowed_ = false;
};

}  // namespace edgeattn
