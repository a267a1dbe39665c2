// NumPy .npy files: one tensor per file, in the format of numpy.save / numpy.load
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
//
// Reading accepts format versions 1.0, 2.0 and 3.0. The header is a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } and is parsed as
// one: any key order, any whitespace, trailing commas, 1-tuples "(3,)", the
// empty shape "()", single or double quotes, Python 2 longs "3L".
//
// dtypes ('descr'):        f32 '<f4'   f64 '<f8'   f16 '<f2'   i32 '<i4'   i64 '<i8'
//                          bool '|b1' (also read as '?')
//   bf16 has no NumPy dtype: it is written as the 2-byte void type '<V2' (the
//   way ml_dtypes' bfloat16 appears in .npy files) and '<V2', '|V2' or 'V2' are
//   read back as bf16. NumPy itself loads such a file as raw 2-byte records;
//   `a.view('<u2').astype('<u4') << 16` viewed as '<f4' gives the values.
//   On read, '=' and no byte-order character mean little-endian (the only
//   byte order MISO runs on), '|' is accepted for every type, the character
//   codes 'e', 'f', 'd' are accepted for f16/f32/f64, and big-endian data ('>f4',
//   '>i8', ...) is byte-swapped. Other dtypes (unsigned, 8/16-bit integers,
//   complex, structured, object) are rejected with an error naming the descr.
//   Bool bytes other than 0 are read as true.
// fortran_order True is read (the result is C-contiguous like every tensor that
// comes out of here); writing always produces C order, making a non-contiguous
// tensor contiguous first.
//
// Writing produces exactly what NumPy >= 1.23 writes for the same array: version
// 1.0 (2.0 when the header needs more than 65535 bytes), keys in sorted order,
// spare spaces for growing the first axis, the header padded with spaces and a
// newline so that the data starts at a multiple of 64 bytes.
//
// Errors: a file that cannot be opened, read or written throws Error(Io); a
// malformed file throws Error(Format) whose message starts with the file name
// (or the `what` of parse_npy) and says what is wrong: bad magic, unsupported
// version, truncated header, malformed dict (quoting the header), unsupported
// descr, negative dimensions, or data whose size does not match the shape.
// Saving an undefined tensor throws Error(InvalidArgument).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "miso/tmath/tensor.hpp"

namespace miso::tmath {

Tensor load_npy(const std::filesystem::path& path);
// Writes atomically: the file appears complete or not at all.
void save_npy(const std::filesystem::path& path, const Tensor& tensor);

// The same on bytes in memory; `what` names the bytes in error messages.
Tensor parse_npy(std::string_view bytes, const std::string& what);
std::string to_npy(const Tensor& tensor);

}  // namespace miso::tmath
