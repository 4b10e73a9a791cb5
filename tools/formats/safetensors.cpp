#include "safetensors.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

namespace edgeattn::formats {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FormatError(path + ": " + what);
}

DType parse_dtype(const std::string& path, const std::string& name, const std::string& d) {
  if (d == "F32") return DType::f32;
  if (d == "F16") return DType::f16;
  if (d == "BF16") return DType::bf16;
  if (d == "F64") return DType::f64;
  fail(path,
       "tensor '" + name + "' has unsupported dtype " + d + " (supported: F32, F16, BF16, F64)");
}

// The header length from the first 8 bytes, checked against the file size.
std::size_t header_length(const std::string& name, const unsigned char* len_bytes,
                          std::size_t file_size) {
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  if (header_len > file_size - 8)
    fail(name, "header length " + std::to_string(header_len) + " exceeds the file size");
  if (header_len > (100u << 20)) fail(name, "header larger than 100 MB");
  return static_cast<std::size_t>(header_len);
}

}  // namespace

SafeTensors::SafeTensors(const std::string& path) : path_(path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open file");
  // Only a regular file's size is known from seeking; a pipe or FIFO (`<(...)`) is read to its
  // end into memory instead, never sized from a failed tellg().
  std::error_code ec;
  const bool regular = std::filesystem::is_regular_file(path, ec);
  std::streamoff end = -1;
  if (regular && f.seekg(0, std::ios::end)) end = f.tellg();
  if (end < 0) {
    f.clear();
    memory_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) fail(path, "read error");
    parse_memory();
    return;
  }
  const auto file_size = static_cast<std::size_t>(end);
  f.seekg(0);
  unsigned char len_bytes[8];
  if (file_size < 8 || !f.read(reinterpret_cast<char*>(len_bytes), 8))
    fail(path, "truncated: no header length");
  const std::size_t header_len = header_length(path, len_bytes, file_size);
  std::string header(header_len, '\0');
  if (!f.read(header.data(), static_cast<std::streamsize>(header_len)))
    fail(path, "truncated header");
  parse_header(header, file_size);
}

SafeTensors SafeTensors::from_memory(const std::string& name, const unsigned char* data,
                                     std::size_t size) {
  SafeTensors t;
  t.path_ = name;
  t.memory_.assign(data, data + size);
  t.parse_memory();
  return t;
}

void SafeTensors::parse_memory() {
  if (memory_.size() < 8) fail(path_, "truncated: no header length");
  const std::size_t header_len = header_length(path_, memory_.data(), memory_.size());
  parse_header(std::string(reinterpret_cast<const char*>(memory_.data()) + 8, header_len),
               memory_.size());
}

void SafeTensors::parse_header(const std::string& header, std::size_t file_size) {
  const std::string& path = path_;
  data_start_ = 8 + header.size();
  const std::size_t data_size = file_size - data_start_;
  nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail(path, "header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& t = it.value();
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") ||
        !t.contains("data_offsets") || !t["dtype"].is_string() || !t["shape"].is_array() ||
        !t["data_offsets"].is_array() || t["data_offsets"].size() != 2)
      fail(path, "tensor '" + it.key() + "' has a malformed header entry");
    Entry e;
    e.dtype = parse_dtype(path, it.key(), t["dtype"].get<std::string>());
    std::size_t n = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned()) fail(path, "tensor '" + it.key() + "' has a bad shape");
      const std::uint64_t v = d.get<std::uint64_t>();
      if (v != 0 && n > std::numeric_limits<std::size_t>::max() / 16 / v)
        fail(path, "tensor '" + it.key() + "' is too large");
      n *= static_cast<std::size_t>(v);
      e.shape.push_back(static_cast<std::size_t>(v));
    }
    const auto& off = t["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(path, "tensor '" + it.key() + "' has bad data_offsets");
    const std::uint64_t b = off[0].get<std::uint64_t>(), en = off[1].get<std::uint64_t>();
    if (b > en || en > data_size)
      fail(path, "tensor '" + it.key() + "' data_offsets [" + std::to_string(b) + ", " +
                     std::to_string(en) + "] lie outside the " + std::to_string(data_size) +
                     "-byte data section");
    if (en - b != n * dtype_size(e.dtype))
      fail(path, "tensor '" + it.key() + "' data_offsets span " + std::to_string(en - b) +
                     " bytes but its shape needs " + std::to_string(n * dtype_size(e.dtype)));
    e.begin = static_cast<std::size_t>(b);
    e.end = static_cast<std::size_t>(en);
    entries_.emplace(it.key(), std::move(e));
  }
}

std::vector<std::size_t> SafeTensors::shape(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, "no tensor named '" + name + "'");
  return it->second.shape;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.first);
  return out;
}

std::vector<unsigned char> SafeTensors::read_bytes(const std::string& name,
                                                   const Entry** entry) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, "no tensor named '" + name + "'");
  const Entry& e = it->second;
  *entry = &e;
  if (!memory_.empty())
    return std::vector<unsigned char>(
        memory_.begin() + static_cast<std::ptrdiff_t>(data_start_ + e.begin),
        memory_.begin() + static_cast<std::ptrdiff_t>(data_start_ + e.end));
  std::ifstream f(path_, std::ios::binary);
  if (!f) fail(path_, "cannot open file");
  std::vector<unsigned char> bytes(e.end - e.begin);
  f.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  if (!f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    fail(path_, "truncated data for tensor '" + name + "'");
  return bytes;
}

std::vector<float> SafeTensors::read_float(const std::string& name) const {
  const Entry* e = nullptr;
  Array a;
  a.bytes = read_bytes(name, &e);
  a.dtype = e->dtype;
  a.shape = e->shape;
  return a.to_float();
}

DType SafeTensors::dtype(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, "no tensor named '" + name + "'");
  return it->second.dtype;
}

std::vector<std::uint16_t> SafeTensors::read_16bit(const std::string& name) const {
  const Entry* e = nullptr;
  const std::vector<unsigned char> bytes = read_bytes(name, &e);
  if (e->dtype != DType::f16 && e->dtype != DType::bf16)
    fail(path_, "tensor '" + name + "' is " + dtype_name(e->dtype) + ", not F16 or BF16");
  std::vector<std::uint16_t> out(bytes.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)  // safetensors is little-endian
    out[i] = static_cast<std::uint16_t>(bytes[2 * i] | bytes[2 * i + 1] << 8);
  return out;
}

void write_safetensors(
    const std::string& path,
    const std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<float>>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const std::size_t bytes = t.second.size() * 4;
    header[name] = {
        {"dtype", "F32"}, {"shape", t.first}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot create file");
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  f.write(reinterpret_cast<const char*>(len), 8);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, t] : tensors)
    f.write(reinterpret_cast<const char*>(t.second.data()),
            static_cast<std::streamsize>(t.second.size() * 4));
  if (!f) fail(path, "write failed");
}

}  // namespace edgeattn::formats
