// .safetensors reader: an 8-byte little-endian header length, a JSON header mapping tensor
// names to dtype, shape and data_offsets, then the raw data. Offsets, sizes and shapes are
// checked against each other and the file before any tensor is read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "npy.hpp"

namespace edgeattn::formats {

class SafeTensors {
 public:
  // Reads and checks the header of a regular file (tensors are read when asked for); a pipe or
  // FIFO is read whole into memory first.
  explicit SafeTensors(const std::string& path);
  // The same from bytes in memory (kept by the object); `name` is used in messages.
  static SafeTensors from_memory(const std::string& name, const unsigned char* data,
                                 std::size_t size);
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::size_t> shape(const std::string& name) const;
  // The tensor converted to float32 (F32, F16, BF16, F64); FormatError if missing.
  std::vector<float> read_float(const std::string& name) const;
  DType dtype(const std::string& name) const;
  // An F16 or BF16 tensor's elements as they are stored (bit patterns), not widened.
  std::vector<std::uint16_t> read_16bit(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    DType dtype;
    std::vector<std::size_t> shape;
    std::size_t begin, end;
  };
  SafeTensors() = default;
  void parse_memory();  // the header of the file held in memory_
  std::vector<unsigned char> read_bytes(const std::string& name, const Entry** entry) const;
  void parse_header(const std::string& header, std::size_t file_size);
  std::string path_;
  std::vector<unsigned char> memory_;  // the whole file when made from_memory or read from a pipe
  std::size_t data_start_ = 0;
  std::map<std::string, Entry> entries_;
};

// Writes a .safetensors file of float32 tensors (used by tests and tools).
void write_safetensors(
    const std::string& path,
    const std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<float>>>& tensors);

}  // namespace edgeattn::formats
