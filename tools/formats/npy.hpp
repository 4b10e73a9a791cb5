// NumPy .npy files: read (float32/float64/float16, bool/uint8, int32/int64; little-endian,
// C order; versions 1–3) and write float32. Every malformed file raises FormatError naming the
// file and the problem; nothing is trusted before it is checked against the file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgeattn::formats {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType { f32, f64, f16, bf16, boolean, u8, i32, i64 };
const char* dtype_name(DType t);
std::size_t dtype_size(DType t);

struct Array {
  DType dtype = DType::f32;
  std::vector<std::size_t> shape;
  std::vector<unsigned char> bytes;  // little-endian element data, C order
  std::size_t elements() const;
  std::string shape_string() const;
  bool is_float() const {
    return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::f16 ||
           dtype == DType::bf16;
  }
  bool is_bool() const { return dtype == DType::boolean || dtype == DType::u8; }
  std::vector<float> to_float() const;         // float dtypes only
  std::vector<std::uint8_t> to_bool() const;   // bool/uint8 only
  std::vector<std::int64_t> to_int64() const;  // integer dtypes only
};

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);  // round to nearest even

Array read_npy(const std::string& path);
Array parse_npy(const std::string& name, const unsigned char* data, std::size_t size);
void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const float* data);
void write_npy_f16(const std::string& path, const std::vector<std::size_t>& shape,
                   const float* data);

}  // namespace edgeattn::formats
