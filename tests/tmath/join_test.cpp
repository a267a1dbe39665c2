#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

const std::vector<DType> kAllDTypes = {DType::F32, DType::F64, DType::F16, DType::BF16,
                                       DType::I32, DType::I64, DType::Bool};

// Calls f(index) for every multi-index of `shape` in row-major order.
void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& f) {
  if (numel_of(shape) == 0) return;
  Shape idx(shape.size(), 0);
  while (true) {
    f(idx);
    std::size_t d = shape.size();
    while (d > 0) {
      --d;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
      if (d == 0) return;
    }
    if (shape.empty()) return;
  }
}

std::int64_t rand_int(Generator& gen, std::int64_t lo, std::int64_t hi) {  // [lo, hi]
  return lo + static_cast<std::int64_t>(gen.next() % static_cast<std::uint64_t>(hi - lo + 1));
}

// Small integers (exact in every dtype, bf16 included), as `dtype`.
Tensor random_ints(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = Tensor::empty(shape, DType::I64);
  auto* p = t.data<std::int64_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = rand_int(gen, dtype == DType::Bool ? 0 : -100, 100);
  return t.to(dtype);
}

// A non-contiguous view with the given shape and dtype (a transposed, strided
// slice of a bigger tensor), when `strided`; else a contiguous tensor.
Tensor make_input(const Shape& shape, DType dtype, Generator& gen, bool strided) {
  if (!strided || shape.empty()) return random_ints(shape, dtype, gen);
  Shape big = shape;
  std::reverse(big.begin(), big.end());
  big.back() = big.back() * 2 + 1;
  Tensor b = random_ints(big, dtype, gen);
  b = b.slice(static_cast<std::int64_t>(big.size()) - 1, 1, big.back(), 2);
  std::vector<std::int64_t> order(shape.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(order.size() - 1 - i);
  Tensor v = b.permute(order);
  EXPECT_EQ(v.shape(), shape);
  return v;
}

template <typename F>
std::string error_of(F&& f) {
  return miso::testing::error_of(std::forward<F>(f), Error::Kind::InvalidArgument);
}

#define EXPECT_MESSAGE(call, part)                                                           \
  do {                                                                                       \
    std::string msg_ = error_of([&] { (void)(call); });                                      \
    EXPECT_NE(msg_.find(part), std::string::npos) << "want '" << (part) << "' in: " << msg_; \
  } while (0)

// --- concatenate ------------------------------------------------------------------------

TEST(Concatenate, MatchesReferenceOnRandomInputs) {
  Generator gen(1);
  for (int trial = 0; trial < 200; ++trial) {
    const auto rank = static_cast<std::size_t>(rand_int(gen, 1, 4));
    Shape base(rank);
    for (auto& d : base) d = rand_int(gen, 1, 4);
    const std::int64_t axis = rand_int(gen, -static_cast<std::int64_t>(rank), static_cast<std::int64_t>(rank) - 1);
    const auto ax = static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
    const auto count = static_cast<std::size_t>(rand_int(gen, 1, 4));
    std::vector<Tensor> inputs;
    DType expected_dtype = DType::Bool;
    for (std::size_t i = 0; i < count; ++i) {
      Shape s = base;
      s[ax] = rand_int(gen, 0, 3);
      DType dt = kAllDTypes[static_cast<std::size_t>(rand_int(gen, 0, 6))];
      expected_dtype = i == 0 ? dt : promote(expected_dtype, dt);
      inputs.push_back(make_input(s, dt, gen, trial % 2 == 1));
    }
    Tensor out = concatenate(inputs, axis);
    ASSERT_EQ(out.dtype(), expected_dtype);
    if (out.numel() > 0) {
      ASSERT_TRUE(out.is_contiguous());
    }
    Shape expected_shape = base;
    expected_shape[ax] = 0;
    for (const Tensor& t : inputs) expected_shape[ax] += t.shape()[ax];
    ASSERT_EQ(out.shape(), expected_shape);
    for_each_index(out.shape(), [&](const Shape& idx) {
      std::size_t which = 0;
      Shape local = idx;
      while (local[ax] >= inputs[which].shape()[ax]) local[ax] -= inputs[which++].shape()[ax];
      ASSERT_EQ(out.at(idx), inputs[which].at(local)) << "trial " << trial << " at " << to_string(idx);
    });
  }
}

TEST(Concatenate, PromotesAndConverts) {
  Tensor a = from_values({1, 0, 1}, {3}, DType::Bool);
  Tensor b = from_values({-2, 7}, {2}, DType::I32);
  Tensor c = from_values({0.5}, {1}, DType::F16);
  EXPECT_EQ(concatenate({a, b}).dtype(), DType::I32);
  Tensor out = concatenate({a, b, c});
  EXPECT_EQ(out.dtype(), DType::F16);
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{1, 0, 1, -2, 7, 0.5}));
  Tensor d = from_values({1.5}, {1}, DType::BF16);
  EXPECT_EQ(concatenate({c, d}).dtype(), DType::F32);
  EXPECT_EQ(concatenate({b, from_values({3}, {1}, DType::I64)}).dtype(), DType::I64);
  EXPECT_EQ(concatenate({a, a}).dtype(), DType::Bool);
}

TEST(Concatenate, LargeInputsAndEmptyPieces) {
  Generator gen(2);
  Tensor a = random_ints({300, 257}, DType::F32, gen);
  Tensor b = random_ints({257, 100}, DType::F64, gen).t();  // [100, 257], non-contiguous
  Tensor e = zeros({0, 257}, DType::I32);
  Tensor out = concatenate({a, e, b, e}, 0);
  ASSERT_EQ(out.shape(), (Shape{400, 257}));
  EXPECT_EQ(out.slice(0, 0, 300).to_vector<double>(), a.to_vector<double>());
  EXPECT_EQ(out.slice(0, 300, 400).to_vector<double>(), b.to_vector<double>());
  Tensor z = concatenate({e, e}, 1);
  EXPECT_EQ(z.shape(), (Shape{0, 514}));
}

TEST(Concatenate, Errors) {
  EXPECT_MESSAGE(concatenate({}), "concatenate: no tensors given");
  EXPECT_MESSAGE(concatenate({zeros({2, 3}), Tensor()}), "tensor 1 is undefined");
  EXPECT_MESSAGE(
      concatenate({zeros({2, 3}), zeros({2, 3}), zeros({2, 4})}, 0),
      "concatenate: tensor 2 has shape [2, 4] but tensor 0 has shape [2, 3]: sizes must match except on axis 0 "
      "(dimension 1: 4 vs 3)");
  EXPECT_MESSAGE(concatenate({zeros({2, 3}), zeros({2, 3, 1})}),
                 "tensor 1 has shape [2, 3, 1] (3 dimensions) but tensor 0 has shape [2, 3] (2 dimensions)");
  EXPECT_MESSAGE(concatenate({zeros({2}), zeros({2})}, 1), "out of range");
  EXPECT_MESSAGE(concatenate({zeros({2}), zeros({2})}, -2), "out of range");
  EXPECT_MESSAGE(concatenate({scalar(1), scalar(2)}), "tensor 0 is zero-dimensional");
}

// --- stack ---------------------------------------------------------------------------------

TEST(Stack, MatchesReferenceOnRandomInputs) {
  Generator gen(3);
  for (int trial = 0; trial < 150; ++trial) {
    const auto rank = static_cast<std::size_t>(rand_int(gen, 0, 3));
    Shape shape(rank);
    for (auto& d : shape) d = rand_int(gen, 0, 4);
    const std::int64_t axis = rand_int(gen, -static_cast<std::int64_t>(rank) - 1, static_cast<std::int64_t>(rank));
    const auto ax = static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) + 1 : axis);
    const auto count = static_cast<std::size_t>(rand_int(gen, 1, 4));
    std::vector<Tensor> inputs;
    DType expected_dtype = DType::Bool;
    for (std::size_t i = 0; i < count; ++i) {
      DType dt = kAllDTypes[static_cast<std::size_t>(rand_int(gen, 0, 6))];
      expected_dtype = i == 0 ? dt : promote(expected_dtype, dt);
      inputs.push_back(make_input(shape, dt, gen, trial % 2 == 0));
    }
    Tensor out = stack(inputs, axis);
    ASSERT_EQ(out.dtype(), expected_dtype);
    Shape expected_shape = shape;
    expected_shape.insert(expected_shape.begin() + static_cast<std::ptrdiff_t>(ax), static_cast<std::int64_t>(count));
    ASSERT_EQ(out.shape(), expected_shape);
    for_each_index(out.shape(), [&](const Shape& idx) {
      Shape local = idx;
      const auto which = static_cast<std::size_t>(local[ax]);
      local.erase(local.begin() + static_cast<std::ptrdiff_t>(ax));
      ASSERT_EQ(out.at(idx), inputs[which].at(local)) << "trial " << trial << " at " << to_string(idx);
    });
  }
}

TEST(Stack, ScalarsAndLastAxis) {
  Tensor s = stack({scalar(1, DType::I32), scalar(2.5, DType::F64), scalar(1, DType::Bool)});
  EXPECT_EQ(s.shape(), (Shape{3}));
  EXPECT_EQ(s.dtype(), DType::F64);
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{1, 2.5, 1}));
  Tensor a = from_values({1, 2, 3, 4}, {2, 2});
  Tensor b = from_values({5, 6, 7, 8}, {2, 2});
  Tensor out = stack({a, b}, -1);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, 5, 2, 6, 3, 7, 4, 8}));
}

TEST(Stack, Errors) {
  EXPECT_MESSAGE(stack({}), "stack: no tensors given");
  EXPECT_MESSAGE(stack({zeros({2, 3}), zeros({2, 3}), zeros({3, 2})}),
                 "stack: tensor 2 has shape [3, 2] but tensor 0 has shape [2, 3] (all shapes must be equal)");
  EXPECT_MESSAGE(stack({zeros({2}), zeros({2})}, 2), "out of range");
  EXPECT_MESSAGE(stack({zeros({2}), zeros({2})}, -3), "out of range");
  EXPECT_MESSAGE(stack({Tensor()}), "tensor 0 is undefined");
}

// --- index_select ------------------------------------------------------------------------

TEST(IndexSelect, MatchesReferenceOnRandomInputs) {
  Generator gen(4);
  for (int trial = 0; trial < 200; ++trial) {
    const auto rank = static_cast<std::size_t>(rand_int(gen, 1, 4));
    Shape shape(rank);
    for (auto& d : shape) d = rand_int(gen, 1, 5);
    const std::int64_t axis = rand_int(gen, -static_cast<std::int64_t>(rank), static_cast<std::int64_t>(rank) - 1);
    const auto ax = static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
    DType dt = kAllDTypes[static_cast<std::size_t>(rand_int(gen, 0, 6))];
    Tensor a = make_input(shape, dt, gen, trial % 2 == 0);
    const std::int64_t n = shape[ax];
    const std::int64_t k = rand_int(gen, 0, 7);
    std::vector<std::int64_t> raw(static_cast<std::size_t>(k) * 2);
    for (auto& v : raw) v = rand_int(gen, -n, n - 1);
    Tensor index = from_vector(raw, {k * 2}).slice(0, 0, k * 2, 2);  // strided
    if (trial % 3 == 0) index = index.to(DType::I32);
    Tensor out = index_select(a, axis, index);
    ASSERT_EQ(out.dtype(), dt);
    Shape expected_shape = shape;
    expected_shape[ax] = k;
    ASSERT_EQ(out.shape(), expected_shape);
    for_each_index(out.shape(), [&](const Shape& idx) {
      Shape src = idx;
      std::int64_t i = raw[static_cast<std::size_t>(idx[ax] * 2)];
      src[ax] = i < 0 ? i + n : i;
      ASSERT_EQ(out.at(idx), a.at(src)) << "trial " << trial << " at " << to_string(idx);
    });
  }
}

TEST(IndexSelect, NegativeIndicesWrapAndLargeInputs) {
  Tensor a = arange(0, 12).reshape({3, 4});
  Tensor rows = index_select(a, 0, from_vector(std::vector<std::int64_t>{-1, 0, -3, 2}, {4}));
  EXPECT_EQ(rows.shape(), (Shape{4, 4}));
  EXPECT_EQ(rows.to_vector<float>(), (std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3, 0, 1, 2, 3, 8, 9, 10, 11}));
  Tensor cols = index_select(a, -1, from_vector(std::vector<std::int32_t>{3, -4}, {2}));
  EXPECT_EQ(cols.to_vector<float>(), (std::vector<float>{3, 0, 7, 4, 11, 8}));
  Tensor one = index_select(a, 1, scalar(2, DType::I64));  // a 0-d index selects one
  EXPECT_EQ(one.shape(), (Shape{3, 1}));
  EXPECT_EQ(index_select(a, 0, Tensor::empty({0}, DType::I64)).shape(), (Shape{0, 4}));

  // Big enough to run in parallel: rows of an embedding table.
  Generator gen(5);
  Tensor table = random_ints({500, 64}, DType::F32, gen);
  std::vector<std::int64_t> ids(3000);
  for (auto& id : ids) id = rand_int(gen, -500, 499);
  Tensor out = index_select(table, 0, from_vector(ids, {3000}));
  ASSERT_EQ(out.shape(), (Shape{3000, 64}));
  const std::vector<float> o = out.to_vector<float>(), t = table.to_vector<float>();
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const std::int64_t src = ids[r] < 0 ? ids[r] + 500 : ids[r];
    for (std::size_t c = 0; c < 64; ++c) ASSERT_EQ(o[r * 64 + c], t[static_cast<std::size_t>(src) * 64 + c]);
  }
}

TEST(IndexSelect, Errors) {
  Tensor a = zeros({3, 4});
  EXPECT_MESSAGE(index_select(a, 0, from_vector(std::vector<std::int64_t>{0, 3}, {2})),
                 "index_select: index 3 (at position 1 of the index) is out of range for axis 0 of size 3");
  EXPECT_MESSAGE(index_select(a, 1, from_vector(std::vector<std::int32_t>{-5}, {1})),
                 "index -5 (at position 0 of the index) is out of range for axis 1 of size 4");
  EXPECT_MESSAGE(index_select(a, 0, from_values({0}, {1})), "the index tensor must be i32 or i64, not f32");
  EXPECT_MESSAGE(index_select(a, 0, zeros({1, 1}, DType::I64)), "must be one-dimensional, got shape [1, 1]");
  EXPECT_MESSAGE(index_select(a, 2, zeros({1}, DType::I64)), "out of range");
  EXPECT_MESSAGE(index_select(scalar(1), 0, zeros({1}, DType::I64)), "zero-dimensional");
  EXPECT_MESSAGE(index_select(a, 0, Tensor()), "undefined");
  EXPECT_MESSAGE(index_select(zeros({0, 2}), 0, zeros({1}, DType::I64)), "out of range for axis 0 of size 0");
}

// --- gather ----------------------------------------------------------------------------------

TEST(Gather, MatchesReferenceOnRandomInputs) {
  Generator gen(6);
  for (int trial = 0; trial < 200; ++trial) {
    const auto rank = static_cast<std::size_t>(rand_int(gen, 1, 4));
    Shape shape(rank), ishape(rank);
    const std::int64_t axis = rand_int(gen, -static_cast<std::int64_t>(rank), static_cast<std::int64_t>(rank) - 1);
    const auto ax = static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
    for (std::size_t d = 0; d < rank; ++d) {
      shape[d] = rand_int(gen, 1, 5);
      ishape[d] = d == ax ? rand_int(gen, 0, 6) : rand_int(gen, 0, shape[d]);
    }
    DType dt = kAllDTypes[static_cast<std::size_t>(rand_int(gen, 0, 6))];
    Tensor a = make_input(shape, dt, gen, trial % 2 == 0);
    const std::int64_t n = shape[ax];
    Tensor index = Tensor::empty(ishape, DType::I64);
    for (std::int64_t i = 0; i < index.numel(); ++i) index.data<std::int64_t>()[i] = rand_int(gen, -n, n - 1);
    if (trial % 3 == 0) index = index.to(DType::I32);
    if (trial % 4 == 1 && rank >= 2) index = index.transpose(0, 1).contiguous().transpose(0, 1);  // strided
    Tensor out = gather(a, axis, index);
    ASSERT_EQ(out.dtype(), dt);
    ASSERT_EQ(out.shape(), ishape);
    for_each_index(ishape, [&](const Shape& idx) {
      Shape src = idx;
      auto i = static_cast<std::int64_t>(index.at(idx));
      src[ax] = i < 0 ? i + n : i;
      ASSERT_EQ(out.at(idx), a.at(src)) << "trial " << trial << " at " << to_string(idx);
    });
  }
}

TEST(Gather, PyTorchExampleAndLargeInput) {
  // torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]])) == [[1, 1], [4, 3]]
  Tensor t = from_values({1, 2, 3, 4}, {2, 2}, DType::I64);
  Tensor out = gather(t, 1, from_vector(std::vector<std::int64_t>{0, 0, 1, 0}, {2, 2}));
  EXPECT_EQ(out.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 4, 3}));
  Tensor neg = gather(t, 0, from_vector(std::vector<std::int32_t>{-1, 0}, {1, 2}));
  EXPECT_EQ(neg.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(gather(scalar(5), 0, scalar(-1, DType::I64)).item(), 5);

  Generator gen(7);
  Tensor a = make_input({300, 200}, DType::F64, gen, true);
  Tensor index = Tensor::empty({300, 150}, DType::I64);
  for (std::int64_t i = 0; i < index.numel(); ++i) index.data<std::int64_t>()[i] = rand_int(gen, -200, 199);
  Tensor g = gather(a, 1, index);
  const std::vector<double> go = g.to_vector<double>();
  const std::vector<std::int64_t> iv = index.to_vector<std::int64_t>();
  for (std::int64_t r = 0; r < 300; ++r) {
    for (std::int64_t c = 0; c < 150; ++c) {
      std::int64_t j = iv[static_cast<std::size_t>(r * 150 + c)];
      ASSERT_EQ(go[static_cast<std::size_t>(r * 150 + c)], a.at({r, j < 0 ? j + 200 : j}));
    }
  }
}

TEST(Gather, Errors) {
  Tensor a = zeros({3, 4});
  EXPECT_MESSAGE(gather(a, 1, zeros({2, 2, 1}, DType::I64)),
                 "gather: the index has shape [2, 2, 1] (3 dimensions) but the input has shape [3, 4] (2 dimensions)");
  EXPECT_MESSAGE(gather(a, 1, zeros({4, 1}, DType::I64)),
                 "gather: the index has shape [4, 1], larger than the input's [3, 4] in dimension 0 (4 > 3; only axis "
                 "1 may differ)");
  EXPECT_MESSAGE(gather(a, 1, from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4, 0}, {3, 2})),
                 "gather: index 4 (at position [2, 0] of the index) is out of range for axis 1 of size 4");
  EXPECT_MESSAGE(gather(a, 0, from_vector(std::vector<std::int32_t>{-4}, {1, 1})),
                 "index -4 (at position [0, 0] of the index) is out of range for axis 0 of size 3");
  EXPECT_MESSAGE(gather(a, 0, zeros({1, 1}, DType::Bool)), "must be i32 or i64, not bool");
  EXPECT_MESSAGE(gather(a, 2, zeros({1, 1}, DType::I64)), "out of range");
  EXPECT_MESSAGE(gather(Tensor(), 0, zeros({1}, DType::I64)), "undefined");
}

}  // namespace
}  // namespace miso::tmath
