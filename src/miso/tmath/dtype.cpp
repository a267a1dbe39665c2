#include "miso/tmath/dtype.hpp"

#include "miso/core/error.hpp"

namespace miso::tmath {

std::size_t size_of(DType t) noexcept {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::Bool: return 1;
  }
  return 1;
}

std::string_view name(DType t) noexcept {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::Bool: return "bool";
  }
  return "?";
}

DType parse_dtype(std::string_view text) {
  for (int i = 0; i < kDTypeCount; ++i) {
    auto t = static_cast<DType>(i);
    if (name(t) == text) return t;
  }
  throw Error(Error::Kind::InvalidArgument,
              "unknown dtype '" + std::string(text) + "' (expected f32, f64, f16, bf16, i32, i64 or bool)");
}

bool is_floating(DType t) noexcept { return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16; }

bool is_integer(DType t) noexcept { return t == DType::I32 || t == DType::I64; }

namespace {
int rank(DType t) noexcept {
  switch (t) {
    case DType::Bool: return 0;
    case DType::I32: return 1;
    case DType::I64: return 2;
    case DType::F16: return 3;
    case DType::BF16: return 3;
    case DType::F32: return 4;
    case DType::F64: return 5;
  }
  return 0;
}
}  // namespace

DType promote(DType a, DType b) noexcept {
  if (a == b) return a;
  if ((a == DType::F16 && b == DType::BF16) || (a == DType::BF16 && b == DType::F16)) return DType::F32;
  return rank(a) >= rank(b) ? a : b;
}

DType compute_type(DType t) noexcept {
  switch (t) {
    case DType::F16:
    case DType::BF16:
    case DType::F32: return DType::F32;
    case DType::F64: return DType::F64;
    case DType::I64: return DType::I64;
    case DType::I32:
    case DType::Bool: return DType::I32;
  }
  return DType::F32;
}

}  // namespace miso::tmath
