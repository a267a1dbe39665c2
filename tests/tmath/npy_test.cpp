#include "miso/tmath/npy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "../profiler/test_dir.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

const std::vector<DType> kAllDTypes = {DType::F32, DType::F64, DType::F16, DType::BF16,
                                       DType::I32, DType::I64, DType::Bool};

// The raw bytes of a tensor's elements in row-major order.
std::string bytes_of(const Tensor& t) {
  Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

void expect_same(const Tensor& expected, const Tensor& actual) {
  ASSERT_TRUE(actual.defined());
  EXPECT_EQ(actual.dtype(), expected.dtype());
  EXPECT_EQ(actual.shape(), expected.shape());
  if (actual.numel() > 0) {  // is_contiguous() is false for some empty shapes
    EXPECT_TRUE(actual.is_contiguous());
  }
  EXPECT_EQ(bytes_of(actual), bytes_of(expected))
      << "dtype " << name(expected.dtype()) << " shape " << to_string(expected.shape());
}

Tensor random_tensor(const Shape& shape, DType dtype, Generator& gen) {
  if (dtype == DType::Bool) return gt(rand_uniform(shape, gen), scalar(0.5));
  Tensor t = rand_uniform(shape, gen, -1000.0, 1000.0, DType::F64);
  return t.to(dtype);
}

// The message of the miso::Error that f throws (fails the test when it throws none).
template <typename F>
std::string error_of(F&& f, Error::Kind kind = Error::Kind::Format) {
  return miso::testing::error_of(std::forward<F>(f), kind);
}

// A .npy file of version `major` with the given header text (padded to 64
// bytes like NumPy's) and data bytes.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((6 + 2 + len_bytes + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// --- round trips -----------------------------------------------------------------------

TEST(NpyRoundTrip, EveryDtypeAndShapeInMemory) {
  Generator gen(7);
  const std::vector<Shape> shapes = {{}, {0}, {1}, {5}, {2, 3}, {3, 0, 2}, {2, 3, 4}, {1, 1, 1, 7}};
  for (DType dt : kAllDTypes) {
    for (const Shape& shape : shapes) {
      Tensor t = random_tensor(shape, dt, gen);
      std::string bytes = to_npy(t);
      EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
      EXPECT_EQ((bytes.size() - t.nbytes()) % 64, 0u) << "data must start 64-byte aligned";
      expect_same(t, parse_npy(bytes, "mem"));
    }
  }
}

class NpyFile : public miso::testing::TempDirTest {};

TEST_F(NpyFile, EveryDtypeRoundTripsThroughDisk) {
  Generator gen(11);
  for (DType dt : kAllDTypes) {
    for (const Shape& shape : std::vector<Shape>{{}, {0, 4}, {6}, {3, 5}, {2, 2, 3}}) {
      Tensor t = random_tensor(shape, dt, gen);
      auto path = dir_ / (std::string(name(dt)) + "_" + std::to_string(shape.size()) + ".npy");
      save_npy(path, t);
      expect_same(t, load_npy(path));
      EXPECT_EQ(core::read_file(path), to_npy(t));
    }
  }
}

TEST_F(NpyFile, NonContiguousInputsAreWrittenInCOrder) {
  Generator gen(3);
  for (DType dt : kAllDTypes) {
    Tensor base = random_tensor({4, 6, 5}, dt, gen);
    const std::vector<Tensor> views = {base.transpose(0, 2),
                                       base.slice(1, 1, 6, 2),
                                       base.permute({2, 0, 1}),
                                       base.select(1, 3),
                                       base.slice(0, 1, 2).expand({3, 6, 5}),
                                       base.slice(2, 0, 5, 3).t()};
    for (std::size_t i = 0; i < views.size(); ++i) {
      ASSERT_FALSE(views[i].is_contiguous()) << i;
      auto path = dir_ / ("view" + std::to_string(i) + ".npy");
      save_npy(path, views[i]);
      Tensor back = load_npy(path);
      expect_same(views[i].contiguous(), back);
      EXPECT_EQ(to_npy(views[i]), to_npy(views[i].contiguous()));
    }
  }
}

TEST_F(NpyFile, SaveReplacesAtomicallyAndLeavesNoTemporaries) {
  auto path = dir_ / "x.npy";
  save_npy(path, arange(0, 10));
  save_npy(path, ones({2, 2}, DType::I64));
  expect_same(ones({2, 2}, DType::I64), load_npy(path));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(NpyFile, IoErrorsNameThePath) {
  std::string msg = error_of([&] { load_npy(dir_ / "missing.npy"); }, Error::Kind::Io);
  EXPECT_NE(msg.find("missing.npy"), std::string::npos) << msg;
  msg = error_of([&] { load_npy(dir_); }, Error::Kind::Io);
  EXPECT_NE(msg.find("folder"), std::string::npos) << msg;
  msg = error_of([&] { save_npy(dir_ / "no" / "such" / "x.npy", ones({2})); }, Error::Kind::Io);
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  msg = error_of([&] { save_npy(dir_ / "u.npy", Tensor()); }, Error::Kind::InvalidArgument);
  EXPECT_NE(msg.find("undefined"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "u.npy"));
}

// --- exact bytes -------------------------------------------------------------------------

TEST(NpyFormat, ExactBytesOfASmallFile) {
  // What numpy.save(f, numpy.array([1.0, -2.0], dtype='<f4')) writes: version 1.0,
  // a 118-byte header (the dict, 20 spare spaces for the first axis, padding to
  // 64 bytes with spaces and a newline), then the data.
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected += "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  expected += std::string(60, ' ');
  expected += "\n";
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  ASSERT_EQ(expected.size(), 136u);
  EXPECT_EQ(to_npy(from_values({1.0, -2.0}, {2})), expected);
  expect_same(from_values({1.0, -2.0}, {2}), parse_npy(expected, "known.npy"));
}

TEST(NpyFormat, ExactHeadersOfEveryDtype) {
  struct Case {
    DType dtype;
    Shape shape;
    std::string dict;
  };
  const std::vector<Case> cases = {
      {DType::F64, {2, 3}, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + std::string(20, ' ')},
      {DType::F16, {}, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }"},
      {DType::BF16, {4}, "{'descr': '<V2', 'fortran_order': False, 'shape': (4,), }" + std::string(20, ' ')},
      {DType::I32, {0}, "{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }" + std::string(20, ' ')},
      {DType::I64, {12, 1}, "{'descr': '<i8', 'fortran_order': False, 'shape': (12, 1), }" + std::string(19, ' ')},
      {DType::Bool, {1, 2, 3}, "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2, 3), }" + std::string(20, ' ')},
  };
  for (const Case& c : cases) {
    Tensor t = zeros(c.shape, c.dtype);
    std::string bytes = to_npy(t);
    EXPECT_EQ(bytes, npy_file(c.dict, std::string(t.nbytes(), '\0'))) << name(c.dtype);
  }
}

TEST(NpyFormat, HugeHeadersUseVersion2) {
  Shape shape(22000, 1);  // "1, " per dimension: over 65535 bytes of header
  shape[0] = 3;
  Tensor t = arange(0, 3, 1, DType::I32).reshape(shape);
  std::string bytes = to_npy(t);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x02\x00", 8));
  std::uint32_t len = 0;
  std::memcpy(&len, bytes.data() + 8, 4);
  EXPECT_GT(len, 65535u);
  EXPECT_EQ((12 + len) % 64, 0u);
  Tensor back = parse_npy(bytes, "big-header");
  EXPECT_EQ(back.shape(), shape);
  EXPECT_EQ(back.to_vector<std::int32_t>(), (std::vector<std::int32_t>{0, 1, 2}));
}

// --- reading variants ----------------------------------------------------------------------

TEST(NpyRead, HeaderDictSyntaxVariants) {
  const std::string data = raw(std::vector<float>{1, 2, 3});
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
      "{'descr':'<f4','fortran_order':False,'shape':(3,)}",
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
      "{ 'fortran_order' : False ,\n 'shape' : ( 3 , ) ,\t'descr' : '<f4' , }",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}",
      "{u'descr': u'<f4', u'fortran_order': False, u'shape': (3L,), }",
      "  {'descr': 'f4', 'fortran_order': False, 'shape': (+3,)}  ",
      "{'descr': '=f4', 'fortran_order': False, 'shape': ((3),)}",
      "{'descr': 'f', 'fortran_order': False, 'shape': (3,)}",
  };
  for (const std::string& d : dicts) {
    Tensor t = parse_npy(npy_file(d, data), "variant");
    EXPECT_EQ(t.shape(), (Shape{3})) << d;
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3})) << d;
  }
}

TEST(NpyRead, EmptyShapeAndZeroSizes) {
  Tensor s =
      parse_npy(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", raw(std::vector<double>{2.5})), "s");
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 2.5);
  Tensor e = parse_npy(npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (0, 3, 2)}", ""), "e");
  EXPECT_EQ(e.shape(), (Shape{0, 3, 2}));
}

TEST(NpyRead, Versions2And3) {
  for (int major : {2, 3}) {
    Tensor t = parse_npy(npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
                                  raw(std::vector<std::int32_t>{1, -2, 3, -4}), major),
                         "v");
    EXPECT_EQ(t.shape(), (Shape{2, 2}));
    EXPECT_EQ(t.to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, -2, 3, -4})) << major;
  }
}

TEST(NpyRead, FortranOrder) {
  // [[0, 1, 2], [3, 4, 5]] stored column by column.
  Tensor t = parse_npy(npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }",
                                raw(std::vector<std::int64_t>{0, 3, 1, 4, 2, 5})),
                       "f");
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));

  std::vector<float> col(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        col[static_cast<std::size_t>(i + 2 * j + 6 * k)] = static_cast<float>(100 * i + 10 * j + k);
  Tensor u = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", raw(col)), "f3");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(u.at({i, j, k}), 100 * i + 10 * j + k);
  Tensor one = parse_npy(
      npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", raw(std::vector<float>{1, 2, 3})), "f1");
  EXPECT_EQ(one.to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(NpyRead, BigEndianIsByteSwapped) {
  auto swapped = [](std::string s, std::size_t esize) {
    for (std::size_t i = 0; i < s.size(); i += esize)
      std::reverse(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(i + esize));
    return s;
  };
  Tensor f = parse_npy(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}",
                                swapped(raw(std::vector<float>{1.5f, -3.0f}), 4)),
                       "be");
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1.5f, -3.0f}));
  Tensor d = parse_npy(
      npy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (1,)}", swapped(raw(std::vector<double>{0.1}), 8)),
      "be");
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{0.1}));
  Tensor i = parse_npy(npy_file("{'descr': '>i8', 'fortran_order': False, 'shape': (2,)}",
                                swapped(raw(std::vector<std::int64_t>{-2, 1LL << 40}), 8)),
                       "be");
  EXPECT_EQ(i.to_vector<std::int64_t>(), (std::vector<std::int64_t>{-2, 1LL << 40}));
  Tensor h =
      parse_npy(npy_file("{'descr': '>f2', 'fortran_order': False, 'shape': (1,)}", std::string("\x3c\x00", 2)), "be");
  EXPECT_EQ(h.dtype(), DType::F16);
  EXPECT_EQ(h.item(), 1.0);
}

TEST(NpyRead, BoolAndBf16Descrs) {
  for (const char* d : {"|b1", "?", "<b1", "b1"}) {
    Tensor t = parse_npy(npy_file(std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (3,)}",
                                  std::string("\x00\x01\x07", 3)),
                         "b");
    EXPECT_EQ(t.dtype(), DType::Bool) << d;
    EXPECT_EQ(t.to_vector<bool>(), (std::vector<bool>{false, true, true})) << d;  // nonzero bytes read as true
  }
  for (const char* d : {"<V2", "|V2", "V2"}) {
    Tensor t = parse_npy(npy_file(std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (2,)}",
                                  std::string("\x80\x3f\x40\xc0", 4)),
                         "bf");
    EXPECT_EQ(t.dtype(), DType::BF16) << d;
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.0f, -3.0f})) << d;
  }
}

// --- malformed files ------------------------------------------------------------------------

TEST(NpyMalformed, ErrorsNameTheFileAndTheProblem) {
  const std::string f4 = raw(std::vector<float>{1, 2, 3, 4, 5, 6});
  const std::string good = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4);
  std::string bad_version = good;
  bad_version[6] = 4;
  std::string bad_minor = good;
  bad_minor[7] = 1;
  std::string long_header = good.substr(0, 30);
  std::string nested = "{'descr': " + std::string(100, '(') + "1" + std::string(100, ')') + "}";
  struct Case {
    std::string bytes;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::vector<Case> cases = {
      {"", {"bad.npy: ", "truncated header", "after 0 bytes"}},
      {"\x93NUM", {"truncated header"}},
      {"PK\x03\x04 this is a zip", {"bad.npy: ", "not a .npy file: bad magic 'PK\\x03\\x04 t'"}},
      {bad_version, {"unsupported .npy format version 4.0", "1.0, 2.0, 3.0"}},
      {bad_minor, {"unsupported .npy format version 1.1"}},
      {std::string("\x93NUMPY\x02\x00\x10", 9), {"truncated header", "header length field of version 2.0"}},
      {long_header, {"truncated header: the header length field says 118 bytes, only 20 follow"}},
      {npy_file("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", f4),
       {"malformed header dict: expected ',' or '}' after the value of key 'descr' at offset 16",
        "found ''fortran_order': Fal'", "in header '{'descr': '<f4' 'fortran_order'"}},
      {npy_file("['descr', '<f4']", f4), {"malformed header dict: expected '{'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", f4),
       {"unexpected text after the header dict"}},
      {npy_file("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", f4), {"unexpected name 'false'"}},
      {npy_file("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", f4), {"malformed header dict"}},
      {npy_file("{'descr: '<f4', 'fortran_order': False}", f4), {"malformed header dict"}},
      {npy_file("{'descr': '<f4", f4), {"unterminated string"}},
      {npy_file("{3: '<f4'}", f4), {"expected a string key in the header dict, found '3'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.5)}", f4), {"not a float"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", f4),
       {"'99999999999999999999' does not fit in 64 bits"}},
      {npy_file(nested, f4), {"nested more than 32 deep"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False}", f4), {"the header dict has no 'shape' key"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}", f4), {"unexpected key 'extra'"}},
      {npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", f4),
       {"key 'descr' appears twice"}},
      {npy_file("{'descr': '<u2', 'fortran_order': False, 'shape': (12,)}", f4),
       {"unsupported descr '<u2'", "'<f4' (f32)"}},
      {npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", f4), {"unsupported descr '<c8'"}},
      {npy_file("{'descr': 'O', 'fortran_order': False, 'shape': (3,)}", f4), {"unsupported descr 'O'"}},
      {npy_file("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (3,)}", f4),
       {"unsupported descr '[('a', '<f4'), ('b', '<f4')]'", "structured dtypes are not supported"}},
      {npy_file("{'descr': 4, 'fortran_order': False, 'shape': (6,)}", f4), {"'descr' must be a string, found '4'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", f4),
       {"'fortran_order' must be True or False, found '0'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", f4), {"'shape' must be a tuple", "(6,)"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", f4),
       {"'shape' must be a tuple", "'[2, 3]'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, '3')}", f4), {"found ''3'' in '(2, '3')'"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -3)}", f4),
       {"negative dimension -2 in shape '(-2, -3)'"}},
      {npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", f4), {"is too large"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296)}", ""),
       {"is too large"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", f4.substr(0, 20)),
       {"truncated data: shape (2, 3) of '<f4' needs 24 bytes of data after the header, found 20"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", f4 + "xyz"),
       {"extra data", "found 27 (3 bytes too many)"}},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", ""),
       {"truncated data: shape () of '<f4' needs 4 bytes"}},
  };
  for (const Case& c : cases) {
    std::string msg = error_of([&] { parse_npy(c.bytes, "bad.npy"); });
    EXPECT_EQ(msg.rfind("bad.npy: ", 0), 0u) << msg;
    for (const std::string& part : c.expected)
      EXPECT_NE(msg.find(part), std::string::npos) << "want '" << part << "' in: " << msg;
  }
}

class NpyMalformedFile : public miso::testing::TempDirTest {};

TEST_F(NpyMalformedFile, LoadReportsThePath) {
  const std::string good = to_npy(arange(0, 6).reshape({2, 3}));
  auto write = [&](const std::string& file, const std::string& bytes) {
    std::ofstream(dir_ / file, std::ios::binary) << bytes;
    return dir_ / file;
  };
  struct Case {
    std::string bytes;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"", "truncated header"},
           {good.substr(0, 5), "truncated header"},
           {good.substr(0, 9), "truncated header"},
           {good.substr(0, 60), "truncated header: the header length field says 118 bytes, only 50 follow"},
           {good.substr(0, good.size() - 1), "truncated data"},
           {good + "!", "extra data"},
           {"hello world, not numpy", "bad magic"}}) {
    auto path = write("bad.npy", c.bytes);
    std::string msg = error_of([&] { load_npy(path); });
    EXPECT_EQ(msg.rfind(path.string() + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.expected), std::string::npos) << "want '" << c.expected << "' in: " << msg;
  }
  // Version 2 and 3 files through the file path.
  std::string v2 =
      npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,)}", raw(std::vector<std::int64_t>{5, 6}), 2);
  EXPECT_EQ(load_npy(write("v2.npy", v2)).to_vector<std::int64_t>(), (std::vector<std::int64_t>{5, 6}));
  std::string v3 =
      npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 1)}", raw(std::vector<std::int64_t>{5, 6}), 3);
  EXPECT_EQ(load_npy(write("v3.npy", v3)).to_vector<std::int64_t>(), (std::vector<std::int64_t>{5, 6}));
  std::string msg = error_of([&] { load_npy(write("v2t.npy", v2.substr(0, 11))); });
  EXPECT_NE(msg.find("header length field of version 2.0"), std::string::npos) << msg;
}

// Random corruptions of valid files must throw miso::Error or give a valid
// tensor: never crash, hang or throw anything else.
TEST(NpyFuzz, CorruptedFilesThrowMisoErrors) {
  Generator gen(2024);
  std::vector<std::string> seeds;
  seeds.push_back(to_npy(random_tensor({3, 4}, DType::F32, gen)));
  seeds.push_back(to_npy(random_tensor({}, DType::F64, gen)));
  seeds.push_back(to_npy(random_tensor({2, 0, 3}, DType::I64, gen)));
  seeds.push_back(to_npy(random_tensor({5}, DType::Bool, gen)));
  seeds.push_back(to_npy(random_tensor({2, 2}, DType::BF16, gen)));
  seeds.push_back(npy_file("{'descr': '>f2', 'fortran_order': True, 'shape': (2, 3), }", std::string(12, '\x3c'), 2));
  seeds.push_back(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ((1,),), }", "", 3));
  const std::string structural = "{}()[],:'\" \n-+0123456789LTrueFalseNone<>|=fiVb?\\u";
  std::mt19937_64 rng(99);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % std::max<std::size_t>(n, 1)); };
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = seeds[pick(seeds.size())];
    const int mutations = 1 + static_cast<int>(pick(4));
    for (int m = 0; m < mutations; ++m) {
      switch (pick(6)) {
        case 0:  // flip bits anywhere
          if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 + pick(255));
          break;
        case 1:  // a structural character in the header
          if (s.size() > 10)
            s[10 + pick(std::min<std::size_t>(s.size() - 10, 100))] = structural[pick(structural.size())];
          break;
        case 2:  // truncate
          s.resize(pick(s.size() + 1));
          break;
        case 3:  // insert bytes
          s.insert(pick(s.size() + 1), std::string(1 + pick(8), static_cast<char>(pick(256))));
          break;
        case 4:  // erase bytes
          if (!s.empty()) s.erase(pick(s.size()), 1 + pick(4));
          break;
        default:  // corrupt the header length field or version
          if (s.size() > 9) s[6 + pick(4)] = static_cast<char>(pick(256));
          break;
      }
    }
    try {
      Tensor t = parse_npy(s, "fuzz");
      ++parsed;
      EXPECT_GE(t.numel(), 0);
      (void)bytes_of(t);
    } catch (const Error& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).rfind("fuzz: ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-miso exception: " << e.what();
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(parsed, 10);
}

// --- NumPy itself ------------------------------------------------------------------------------

// A Python with NumPy, or "" (tries $MISO_TEST_PYTHON, python3, /usr/bin/python3).
std::string find_numpy_python() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("MISO_TEST_PYTHON")) candidates.emplace_back(env);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const std::string& py : candidates) {
    std::string cmd = py + " -c \"import numpy\" >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return {};
}

class NpyNumpy : public miso::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    python_ = find_numpy_python();
    if (python_.empty()) {
      GTEST_SKIP() << "NumPy interoperability not tested: no Python with numpy found ($MISO_TEST_PYTHON, python3, "
                      "/usr/bin/python3)";
    }
  }
  // Runs a script in dir_; returns its standard output.
  std::string run_python(const std::string& script) {
    core::write_file_atomic(dir_ / "script.py", script);
    std::string cmd = "cd '" + dir_.string() + "' && " + python_ + " script.py > out.txt 2> err.txt";
    int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << core::read_file(dir_ / "err.txt");
    return core::read_file(dir_ / "out.txt");
  }
  std::string python_;
};

TEST_F(NpyNumpy, ReadsFilesWrittenByNumpy) {
  run_python(R"PY(
import numpy as np
from numpy.lib import format as fmt
a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5 - 3
np.save('f32.npy', a.astype('<f4'))
np.save('f64.npy', a)
np.save('f16.npy', a.astype('<f2'))
np.save('i32.npy', (a * 2).astype('<i4'))
np.save('i64.npy', (a * 2).astype('<i8') * 1000000000)
np.save('bool.npy', a > 1)
np.save('scalar.npy', np.float64(2.25))
np.save('empty.npy', np.zeros((0, 3), dtype='<f4'))
np.save('fortran.npy', np.asfortranarray(a.astype('<f4')))
np.save('bigendian.npy', a.astype('>f4'))
np.save('bigendian_i8.npy', (a * 2).astype('>i8'))
np.save('transposed.npy', a.astype('<f4').transpose(2, 0, 1))
with open('v2.npy', 'wb') as f:
    fmt.write_array(f, a.astype('<f4'), version=(2, 0))
with open('v3.npy', 'wb') as f:
    fmt.write_array(f, a.astype('<f4'), version=(3, 0))
)PY");
  Tensor a = sub(mul(arange(0, 24, 1, DType::F64).reshape({2, 3, 4}), scalar(0.5, DType::F64)), scalar(3, DType::F64));
  auto load = [&](const char* file) { return load_npy(dir_ / file); };
  const Tensor a2 = mul(a, scalar(2, DType::F64));
  expect_same(a.to(DType::F32), load("f32.npy"));
  expect_same(a, load("f64.npy"));
  expect_same(a.to(DType::F16), load("f16.npy"));
  expect_same(a2.to(DType::I32), load("i32.npy"));
  expect_same(mul(a2.to(DType::I64), scalar(1000000000, DType::I64)), load("i64.npy"));
  expect_same(gt(a, scalar(1, DType::F64)), load("bool.npy"));
  expect_same(scalar(2.25, DType::F64), load("scalar.npy"));
  expect_same(zeros({0, 3}), load("empty.npy"));
  expect_same(a.to(DType::F32), load("fortran.npy"));
  expect_same(a.to(DType::F32), load("bigendian.npy"));
  expect_same(a2.to(DType::I64), load("bigendian_i8.npy"));
  expect_same(a.to(DType::F32).permute({2, 0, 1}), load("transposed.npy"));
  expect_same(a.to(DType::F32), load("v2.npy"));
  expect_same(a.to(DType::F32), load("v3.npy"));
  // Our writer produces NumPy's bytes exactly.
  for (const char* file :
       {"f32.npy", "f64.npy", "f16.npy", "i32.npy", "i64.npy", "bool.npy", "scalar.npy", "empty.npy"}) {
    EXPECT_EQ(to_npy(load(file)), core::read_file(dir_ / file)) << file;
  }
}

TEST_F(NpyNumpy, NumpyReadsOurFiles) {
  Generator gen(5);
  struct Case {
    std::string file;
    Tensor t;
    std::string descr;
  };
  std::vector<Case> cases = {
      {"f32", random_tensor({2, 3}, DType::F32, gen), "<f4"},
      {"f64", random_tensor({4}, DType::F64, gen), "<f8"},
      {"f16", random_tensor({3, 1, 2}, DType::F16, gen), "<f2"},
      {"bf16", random_tensor({5}, DType::BF16, gen), "|V2"},
      {"i32", random_tensor({2, 2}, DType::I32, gen), "<i4"},
      {"i64", mul(random_tensor({3}, DType::I64, gen), scalar(1e12, DType::I64)), "<i8"},
      {"bool", random_tensor({2, 3}, DType::Bool, gen), "|b1"},
      {"scalar", scalar(-7.5, DType::F64), "<f8"},
      {"empty", zeros({2, 0}, DType::I32), "<i4"},
      {"view", random_tensor({3, 4}, DType::F32, gen).t(), "<f4"},
  };
  for (const Case& c : cases) save_npy(dir_ / (c.file + ".npy"), c.t);
  std::string out = run_python(R"PY(
import numpy as np
for name in ['f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'bool', 'scalar', 'empty', 'view']:
    a = np.load(name + '.npy', allow_pickle=False)
    d = a.dtype.str
    if d == '|V2':
        a = (a.view('<u2').astype('<u4') << 16).view('<f4')
    vals = ' '.join(repr(int(x)) if a.dtype.kind in 'ib' else '%.17g' % float(x) for x in a.reshape(-1))
    print(name, d, a.ndim, ','.join(str(s) for s in a.shape), vals)
)PY");
  std::istringstream lines(out);
  for (const Case& c : cases) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "missing output for " << c.file << "; got:\n" << out;
    std::istringstream in(line);
    std::string file, descr, shape_text;
    std::int64_t ndim = 0;
    in >> file >> descr >> ndim;
    EXPECT_EQ(file, c.file);
    EXPECT_EQ(descr, c.descr) << c.file;
    EXPECT_EQ(ndim, c.t.dim()) << c.file;
    if (c.t.dim() > 0) in >> shape_text;
    std::string expected_shape;
    for (std::int64_t d : c.t.shape()) {
      if (!expected_shape.empty()) expected_shape += ',';
      expected_shape += std::to_string(d);
    }
    EXPECT_EQ(shape_text, expected_shape) << c.file;
    std::vector<double> expected = c.t.to_vector<double>();
    for (std::size_t i = 0; i < expected.size(); ++i) {
      double v = 0;
      ASSERT_TRUE(in >> v) << c.file << " value " << i << " in: " << line;
      EXPECT_EQ(v, expected[i]) << c.file << " value " << i;
    }
  }
}

}  // namespace
}  // namespace miso::tmath
