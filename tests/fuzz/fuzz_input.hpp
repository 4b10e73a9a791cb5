// The fuzz targets' reader of their input: each call takes the next byte (0 past the end),
// so every input, however short, decodes to a configuration.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgeattn::test {

struct FuzzInput {
  const std::uint8_t* data;
  std::size_t size, at = 0;
  std::uint8_t next() { return at < size ? data[at++] : 0; }
  int pick(int lo, int hi) { return lo + next() % (hi - lo + 1); }
  bool flip() { return next() & 1; }
};

}  // namespace edgeattn::test
