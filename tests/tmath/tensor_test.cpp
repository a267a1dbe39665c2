#include "miso/tmath/tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "../error_of.hpp"
#include "miso/core/error.hpp"

namespace miso::tmath {
namespace {

// A [2, 3, 4] tensor holding 0..23.
Tensor iota234(DType dtype = DType::F32) { return arange(0, 24, 1, dtype).reshape({2, 3, 4}); }

using miso::testing::error_of;

TEST(Shape, HelpersAndBroadcasting) {
  EXPECT_EQ(numel_of({2, 3, 4}), 24);
  EXPECT_EQ(numel_of({}), 1);
  EXPECT_EQ(numel_of({3, 0}), 0);
  EXPECT_EQ(to_string(Shape{2, 3}), "[2, 3]");
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}, "add"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({5, 1, 3}, {4, 1}, "add"), (Shape{5, 4, 3}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}, "add"), (Shape{2, 2}));
  std::string msg = error_of([] { (void)broadcast_shapes({2, 3}, {4, 3}, "mul"); });
  EXPECT_NE(msg.find("mul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 3]"), std::string::npos) << msg;
  EXPECT_EQ(normalize_dim(-1, 3, "x"), 2);
  EXPECT_THROW((void)normalize_dim(3, 3, "x"), Error);
  EXPECT_THROW((void)normalize_dim(-4, 3, "x"), Error);
}

TEST(Tensor, CreationValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), DType::F32);
  EXPECT_TRUE(z.is_contiguous());
  for (float v : z.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  for (double v : ones({4}, DType::BF16).to_vector<double>()) EXPECT_EQ(v, 1.0);
  for (std::int64_t v : full({3}, 7, DType::I64).to_vector<std::int64_t>()) EXPECT_EQ(v, 7);
  EXPECT_EQ(scalar(2.5).dim(), 0);
  EXPECT_EQ(scalar(2.5).item(), 2.5);
  EXPECT_EQ(arange(0, 5).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1, 2, 0.25, DType::F64).to_vector<double>(), (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(arange(5, 0, -2, DType::I32).to_vector<std::int32_t>(), (std::vector<std::int32_t>{5, 3, 1}));
  EXPECT_EQ(arange(3, 1).numel(), 0);
  EXPECT_THROW((void)arange(0, 1, 0), Error);
  EXPECT_EQ(linspace(0, 1, 5, DType::F64).to_vector<double>(), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(linspace(2, 3, 1).to_vector<float>(), (std::vector<float>{2}));
  EXPECT_EQ(eye(2, 3, DType::I32).to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(eye(2).to_vector<float>(), (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(from_values({1, 2, 3, 4}, {2, 2}, DType::F16).at({1, 0}), 3.0);
  EXPECT_EQ(from_vector<std::int64_t>({5, 6}, {2}).at({-1}), 6.0);
  EXPECT_THROW((void)from_vector<float>({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW((void)Tensor::empty({2, -1}), Error);
}

TEST(Tensor, GeneratorIsSeededAndDistributed) {
  Generator g1(42), g2(42), g3(43);
  Tensor a = rand_uniform({1000}, g1, -2, 3);
  Tensor b = rand_uniform({1000}, g2, -2, 3);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), rand_uniform({1000}, g3, -2, 3).to_vector<float>());
  double mean = 0;
  for (float v : a.to_vector<float>()) {
    ASSERT_GE(v, -2.0f);
    ASSERT_LT(v, 3.0f);
    mean += v / 1000.0;
  }
  EXPECT_NEAR(mean, 0.5, 0.15);
  Generator g4(1);
  std::vector<double> n = rand_normal({20000}, g4, 1.0, 2.0, DType::F64).to_vector<double>();
  double m = 0, m2 = 0;
  for (double v : n) m += v / static_cast<double>(n.size());
  for (double v : n) m2 += (v - m) * (v - m) / static_cast<double>(n.size());
  EXPECT_NEAR(m, 1.0, 0.05);
  EXPECT_NEAR(std::sqrt(m2), 2.0, 0.05);
}

TEST(Tensor, SliceSelectAndTransposeAreViews) {
  Tensor t = iota234();
  Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.storage(), t.storage());
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
  EXPECT_EQ(t.slice(1, -2, 100).shape(), (Shape{2, 2, 4}));  // negative start, clamped stop
  EXPECT_EQ(t.slice(1, 2, 1).numel(), 0);
  EXPECT_THROW((void)t.slice(0, 0, 2, 0), Error);
  Tensor row = t.select(0, 1).select(0, -1);  // t[1][2]
  EXPECT_EQ(row.to_vector<float>(), (std::vector<float>{20, 21, 22, 23}));
  EXPECT_NE(error_of([&] { (void)t.select(1, 3); }).find("size 3"), std::string::npos);
  Tensor tr = t.transpose(0, 2);
  EXPECT_EQ(tr.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(tr.at({3, 2, 1}), 23.0);
  EXPECT_EQ(tr.at({1, 0, 1}), 13.0);
  Tensor p = t.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(p.at({2, 1, 1}), t.at({1, 2, 1}));
  EXPECT_THROW((void)t.permute({0, 0, 1}), Error);
  EXPECT_THROW((void)t.permute({0, 1}), Error);
  EXPECT_EQ(arange(0, 6).reshape({2, 3}).t().to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, ExpandSqueezeUnsqueeze) {
  Tensor col = arange(0, 3).reshape({3, 1});
  Tensor e = col.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(e.at({1, 2, 3}), 2.0);
  EXPECT_THROW((void)col.expand({3, 2}).expand({4, 2}), Error);
  EXPECT_THROW((void)col.expand({3}), Error);
  Tensor u = col.unsqueeze(0);
  EXPECT_EQ(u.shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(u.unsqueeze(-1).shape(), (Shape{1, 3, 1, 1}));
  EXPECT_EQ(u.squeeze().shape(), (Shape{3}));
  EXPECT_EQ(u.squeeze(0).shape(), (Shape{3, 1}));
  EXPECT_THROW((void)u.squeeze(1), Error);
}

TEST(Tensor, ReshapeViewsWhenStridesAllowAndCopiesOtherwise) {
  Tensor t = iota234();
  Tensor r = t.reshape({6, -1});
  EXPECT_EQ(r.shape(), (Shape{6, 4}));
  EXPECT_EQ(r.storage(), t.storage());  // a view
  EXPECT_EQ(t.view({4, 6}).at({3, 5}), 23.0);
  // A slice along the first dimension keeps inner rows contiguous: still a view.
  Tensor half = t.slice(0, 1, 2).reshape({12});
  EXPECT_EQ(half.storage(), t.storage());
  EXPECT_EQ(half.at({0}), 12.0);
  // A transpose cannot be flattened without a copy: reshape copies, view refuses.
  Tensor tr = t.transpose(1, 2);
  Tensor flat = tr.reshape({-1});
  EXPECT_NE(flat.storage(), t.storage());
  EXPECT_EQ(flat.at({1}), 4.0);  // tr[0][0][1] = t[0][1][0]
  std::string msg = error_of([&] { (void)tr.view({24}); });
  EXPECT_NE(msg.find("without a copy"), std::string::npos) << msg;
  EXPECT_THROW((void)t.reshape({5, -1}), Error);
  EXPECT_THROW((void)t.reshape({-1, -1}), Error);
  EXPECT_THROW((void)t.reshape({7}), Error);
  // Views of views: a [2, 2] block of a transposed matrix reshaped to [4] copies correctly.
  Tensor m = arange(0, 16).reshape({4, 4}).t().slice(0, 1, 3).slice(1, 0, 4, 2);
  EXPECT_EQ(m.reshape({4}).to_vector<float>(), (std::vector<float>{1, 9, 2, 10}));
}

TEST(Tensor, ContiguousCloneAndToConvert) {
  Tensor t = iota234().transpose(0, 1);
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<float>(), t.to_vector<float>());
  Tensor same = c.contiguous();
  EXPECT_EQ(same.storage(), c.storage());
  Tensor cl = c.clone();
  EXPECT_NE(cl.storage(), c.storage());
  EXPECT_EQ(cl.to_vector<float>(), c.to_vector<float>());
  for (int i = 0; i < kDTypeCount; ++i) {
    auto dt = static_cast<DType>(i);
    Tensor conv = t.to(dt);
    EXPECT_EQ(conv.dtype(), dt);
    std::vector<double> back = conv.to_vector<double>();
    std::vector<double> expect = t.to_vector<double>();
    for (std::size_t k = 0; k < back.size(); ++k) {
      ASSERT_EQ(back[k], dt == DType::Bool ? (expect[k] != 0 ? 1.0 : 0.0) : expect[k]) << name(dt) << " " << k;
    }
  }
  EXPECT_EQ(from_values({0.1}, {1}).to(DType::BF16).item(), static_cast<double>(bf16_to_float(float_to_bf16(0.1f))));
}

TEST(Tensor, CopyIntoBroadcastsAndWritesThroughViews) {
  Tensor dst = zeros({3, 4}, DType::F64);
  copy_into(dst.slice(1, 0, 4, 2), from_values({1, 2, 3}, {3, 1}, DType::I32));  // even columns
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 0, 1, 0, 2, 0, 2, 0, 3, 0, 3, 0}));
  EXPECT_THROW(copy_into(dst, zeros({2, 4})), Error);
  std::string msg = error_of([&] { copy_into(dst, zeros({3, 1, 4})); });
  EXPECT_NE(msg.find("[3, 1, 4]"), std::string::npos) << msg;
}

TEST(Device, CpuIsSynchronous) {
  EXPECT_STREQ(name(Device::Cpu), "cpu");
  Tensor t = ones({4});
  EXPECT_EQ(t.device(), Device::Cpu);
  EXPECT_EQ(t.storage()->device(), Device::Cpu);
  EXPECT_NO_THROW(synchronize());
  EXPECT_THROW(synchronize(static_cast<Device>(7)), Error);
  EXPECT_EQ(t.at({3}), 1.0);  // the result was complete when ones() returned
}

TEST(Tensor, EmptyTensorsAreContiguous) {
  Tensor e = Tensor::empty({3, 0, 2});
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_EQ(e.contiguous().storage(), e.storage());
  EXPECT_EQ(e.numel(), 0);
}

TEST(Tensor, ElementAccessAndErrors) {
  Tensor t = iota234(DType::I64);
  EXPECT_EQ(t.at({1, 2, 3}), 23.0);
  EXPECT_EQ(t.at({-1, -1, -1}), 23.0);
  EXPECT_THROW((void)t.at({2, 0, 0}), Error);
  EXPECT_THROW((void)t.at({0, 0}), Error);
  EXPECT_THROW((void)t.item(), Error);
  EXPECT_THROW((void)t.data<float>(), Error);
  EXPECT_EQ(t.data<std::int64_t>()[5], 5);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.nbytes(), 24u * 8u);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_NE(t.to_string().find("[2, 3, 4], i64"), std::string::npos);
  EXPECT_EQ(Tensor().to_string(), "tensor(undefined)");
}

}  // namespace
}  // namespace miso::tmath
