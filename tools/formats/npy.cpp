#include "npy.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace edgeattn::formats {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw FormatError(name + ": " + what);
}

// Extracts the value text after 'key': in a numpy header dict.
std::string dict_value(const std::string& name, const std::string& header, const std::string& key) {
  const std::string quoted1 = "'" + key + "'", quoted2 = "\"" + key + "\"";
  std::size_t at = header.find(quoted1);
  std::size_t len = quoted1.size();
  if (at == std::string::npos) {
    at = header.find(quoted2);
    len = quoted2.size();
  }
  if (at == std::string::npos) fail(name, "bad .npy header: no '" + key + "'");
  std::size_t colon = header.find(':', at + len);
  if (colon == std::string::npos) fail(name, "bad .npy header near '" + key + "'");
  std::size_t start = header.find_first_not_of(" \t", colon + 1);
  if (start == std::string::npos) fail(name, "bad .npy header near '" + key + "'");
  std::size_t end;
  if (header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos) fail(name, "bad .npy header: unterminated shape");
    return header.substr(start, end - start + 1);
  }
  if (header[start] == '\'' || header[start] == '"') {
    end = header.find(header[start], start + 1);
    if (end == std::string::npos) fail(name, "bad .npy header: unterminated string");
    return header.substr(start + 1, end - start - 1);
  }
  end = header.find_first_of(",}", start);
  if (end == std::string::npos) fail(name, "bad .npy header near '" + key + "'");
  std::string v = header.substr(start, end - start);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  return v;
}

DType parse_descr(const std::string& name, const std::string& d) {
  if (d == "<f4") return DType::f32;
  if (d == "<f8") return DType::f64;
  if (d == "<f2") return DType::f16;
  if (d == "|b1") return DType::boolean;
  if (d == "|u1") return DType::u8;
  if (d == "<i4") return DType::i32;
  if (d == "<i8") return DType::i64;
  fail(name,
       "unsupported dtype '" + d +
           "' (supported: float32, float64, float16, bool, uint8, int32, int64, little-endian)");
}

}  // namespace

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "float32";
    case DType::f64:
      return "float64";
    case DType::f16:
      return "float16";
    case DType::bf16:
      return "bfloat16";
    case DType::boolean:
      return "bool";
    case DType::u8:
      return "uint8";
    case DType::i32:
      return "int32";
    case DType::i64:
      return "int64";
  }
  return "?";
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
    default:
      return 1;
  }
}

std::size_t Array::elements() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::string Array::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalise
      int e = -1;
      std::uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400u) == 0);
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (m & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 112) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow → inf
  if (abs < 0x33000001u) return sign;                                         // underflow → 0
  std::uint32_t exp = abs >> 23;
  std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
  int shift = exp < 113 ? static_cast<int>(126 - exp) : 13;  // subnormal halves shift more
  std::uint32_t result;
  if (exp < 113) {
    result = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (result & 1u))) ++result;
  } else {
    result = ((exp - 112) << 10) | ((mant >> 13) & 0x3ffu);
    const std::uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (result & 1u))) ++result;
  }
  return static_cast<std::uint16_t>(sign | result);
}

std::vector<float> Array::to_float() const {
  const std::size_t n = elements();
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* p = bytes.data() + i * dtype_size(dtype);
    switch (dtype) {
      case DType::f32:
        std::memcpy(&out[i], p, 4);
        break;
      case DType::f64: {
        double d;
        std::memcpy(&d, p, 8);
        out[i] = static_cast<float>(d);
        break;
      }
      case DType::f16: {
        std::uint16_t h;
        std::memcpy(&h, p, 2);
        out[i] = half_to_float(h);
        break;
      }
      case DType::bf16: {
        std::uint16_t h;
        std::memcpy(&h, p, 2);
        std::uint32_t b = std::uint32_t(h) << 16;
        std::memcpy(&out[i], &b, 4);
        break;
      }
      default:
        throw FormatError(std::string("cannot read ") + dtype_name(dtype) + " as float");
    }
  }
  return out;
}

std::vector<std::uint8_t> Array::to_bool() const {
  if (!is_bool()) throw FormatError(std::string("cannot read ") + dtype_name(dtype) + " as bool");
  std::vector<std::uint8_t> out(bytes.begin(), bytes.end());
  for (auto& b : out) b = b != 0;
  return out;
}

std::vector<std::int64_t> Array::to_int64() const {
  const std::size_t n = elements();
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (dtype == DType::i64)
      std::memcpy(&out[i], bytes.data() + 8 * i, 8);
    else if (dtype == DType::i32) {
      std::int32_t v;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      out[i] = v;
    } else
      throw FormatError(std::string("cannot read ") + dtype_name(dtype) + " as integers");
  }
  return out;
}

Array parse_npy(const std::string& name, const unsigned char* data, std::size_t size) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, magic, 6) != 0) fail(name, "not a .npy file (bad magic)");
  const int major = data[6];
  std::size_t header_len, header_start;
  if (major == 1) {
    header_len = data[8] | (std::size_t(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(name, "truncated .npy header");
    header_len = data[8] | (std::size_t(data[9]) << 8) | (std::size_t(data[10]) << 16) |
                 (std::size_t(data[11]) << 24);
    header_start = 12;
  } else {
    fail(name, "unsupported .npy version " + std::to_string(major));
  }
  if (header_len > size - header_start) fail(name, "truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(data + header_start), header_len);
  Array a;
  a.dtype = parse_descr(name, dict_value(name, header, "descr"));
  if (dict_value(name, header, "fortran_order") != "False")
    fail(name, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  const std::string shape = dict_value(name, header, "shape");
  // shape is "(d0, d1, ...)": comma-separated decimal integers, a trailing comma allowed.
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    fail(name, "bad shape '" + shape + "' (expected a tuple)");
  std::size_t total = 1;
  std::stringstream items(shape.substr(1, shape.size() - 2));
  std::string item;
  while (std::getline(items, item, ',')) {
    const std::size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    const std::string digits = item.substr(b, e - b + 1);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 12)
      fail(name, "bad shape '" + shape + "'");
    const std::size_t d = static_cast<std::size_t>(std::stoull(digits));
    if (d != 0 && total > std::numeric_limits<std::size_t>::max() / 16 / d)
      fail(name, "shape " + shape + " is too large");
    total *= d;
    a.shape.push_back(d);
  }
  const std::size_t need = total * dtype_size(a.dtype);
  const std::size_t have = size - header_start - header_len;
  if (have < need)
    fail(name, "truncated data: shape " + a.shape_string() + " of " + dtype_name(a.dtype) +
                   " needs " + std::to_string(need) + " bytes, file has " + std::to_string(have));
  a.bytes.assign(data + header_start + header_len, data + header_start + header_len + need);
  return a;
}

Array read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open file");
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(f)),
                                  std::istreambuf_iterator<char>());
  return parse_npy(path, data.data(), data.size());
}

static void write_npy_bytes(const std::string& path, const std::vector<std::size_t>& shape,
                            const char* descr, const void* data, std::size_t bytes) {
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    shape_text += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  shape_text += ")";
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot create file");
  const unsigned char pre[10] = {0x93,
                                 'N',
                                 'U',
                                 'M',
                                 'P',
                                 'Y',
                                 1,
                                 0,
                                 static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(pre), 10);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!f) fail(path, "write failed");
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const float* data) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  write_npy_bytes(path, shape, "<f4", data, n * 4);
}

void write_npy_f16(const std::string& path, const std::vector<std::size_t>& shape,
                   const float* data) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  std::vector<std::uint16_t> h(n);
  for (std::size_t i = 0; i < n; ++i) h[i] = float_to_half(data[i]);
  write_npy_bytes(path, shape, "<f2", h.data(), n * 2);
}

}  // namespace edgeattn::formats
