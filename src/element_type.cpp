#include "edgeattn/edgeattn.hpp"

namespace edgeattn {

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return "f32";
    case ElementType::f16:
      return "f16";
    case ElementType::bf16:
      return "bf16";
    case ElementType::int8:
      return "int8";
  }
  return "unknown";
}

std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return 4;
    case ElementType::f16:
    case ElementType::bf16:
      return 2;
    case ElementType::int8:
      return 1;
  }
  return 0;
}

}  // namespace edgeattn
