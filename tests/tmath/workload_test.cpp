#include "miso/tmath/workload.hpp"

#include <gtest/gtest.h>

#include "../profiler/test_dir.hpp"
#include "miso/core/error.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

using TransformerBlockWorkloadTest = miso::testing::TempDirTest;

TEST_F(TransformerBlockWorkloadTest, RunsChecksAndRoundTripsItsInput) {
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 5, {}, dir_, 0};
  TransformerBlockWorkload w;
  w.prepare(ctx);
  BlockShape s = block_shape_for(profiler::DataSize::Small);
  EXPECT_EQ(w.input_bytes(), static_cast<std::uint64_t>(s.batch * s.seq * s.model) * 4u);
  EXPECT_FALSE(w.check().passed);  // not run yet
  w.run(ctx);
  profiler::CheckResult r = w.check();
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_NE(r.detail.find("f64 reference"), std::string::npos) << r.detail;

  auto files = w.save_input(ctx, dir_);
  ASSERT_EQ(files.size(), 1u);
  profiler::WorkloadContext load{profiler::DataSize::Small, 0, dir_, dir_, 0};
  TransformerBlockWorkload again;
  again.prepare(load);
  again.run(load);
  EXPECT_TRUE(again.check().passed);

  // An input of the wrong length is a clear error.
  std::vector<float> ten(10);
  profiler::write_data_file(files[0], "float32", 5, std::as_bytes(std::span(ten)));
  TransformerBlockWorkload bad;
  EXPECT_THROW(bad.prepare(load), Error);

  profiler::WorkloadRegistry registry;
  register_workloads(registry);
  ASSERT_EQ(registry.all().size(), 1u);
  EXPECT_EQ(registry.all()[0].name, "tmath.transformer_block");
  EXPECT_EQ(registry.all()[0].component, "tmath");
}

TEST(TransformerBlock, SizesGrowAndTheBlockKeepsItsShape) {
  BlockShape small = block_shape_for(profiler::DataSize::Small);
  BlockShape medium = block_shape_for(profiler::DataSize::Medium);
  BlockShape large = block_shape_for(profiler::DataSize::Large);
  auto bytes = [](const BlockShape& s) { return s.batch * s.seq * s.model * 4 * 24 + 12 * s.model * s.model * 4; };
  EXPECT_LT(bytes(small), 2 << 20);
  EXPECT_GT(bytes(medium), 50 << 20);
  EXPECT_GT(bytes(large), std::int64_t{1} << 30);
  BlockShape s{2, 5, 8, 2};
  BlockWeights w = make_block_weights(s, 1, DType::F32);
  Generator g(2);
  Tensor x = rand_normal({2, 5, 8}, g);
  Tensor y = transformer_block(x, w, s);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 8}));
  // Causal: the first token's output does not depend on later tokens.
  Tensor x2 = x.clone();
  copy_into(x2.slice(1, 3, 5), zeros({2, 2, 8}));
  Tensor y2 = transformer_block(x2, w, s);
  auto a = y.slice(1, 0, 3).to_vector<float>(), b = y2.slice(1, 0, 3).to_vector<float>();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5);
}

}  // namespace
}  // namespace miso::tmath
