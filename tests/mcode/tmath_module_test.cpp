// The `tmath` module of M-CODE: tensors made and transformed by scripts, checked against
// the same computations through the miso::tmath C++ API.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/tmath/custom_kernel.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/tensor.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::program_file;

namespace tm = miso::tmath;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

// Runs `source` on `vm` and returns the tensor in global `name`.
tm::Tensor tensor_global(Vm& vm, std::string_view name) {
  Value v = vm.global(name);
  EXPECT_TRUE(v.is_handle() && v.as_handle()->is(kTensorHandle)) << name;
  if (!v.is_handle()) return {};
  return *v.as_handle()->data_as<tm::Tensor>();
}

void expect_tensors_near(const tm::Tensor& a, const tm::Tensor& b, double tolerance = 1e-5) {
  ASSERT_EQ(a.shape(), b.shape());
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], tolerance) << "element " << i;
}

TEST(TmathModule, CreatesTensorsFromLists) {
  EXPECT_EQ(run("let t = tmath.tensor([[1, 2], [3, 4]])\nprint(t.shape, t.dtype, t.ndim, t.size, len(t))"),
            "[2, 2] i64 2 4 2\n");
  EXPECT_EQ(run("print(tmath.tensor([[1, 2.5], [3, 4]]))"), "tensor([[1.0, 2.5], [3.0, 4.0]], dtype=f32)\n");
  EXPECT_EQ(run("print(tmath.tensor([1, 2], \"f64\").dtype, tmath.tensor([true, false]))"),
            "f64 tensor([true, false], dtype=bool)\n");
  EXPECT_EQ(run("print(tmath.tensor(5).shape, tmath.tensor([]).shape, tmath.tensor([[], []]).shape)"),
            "[] [0] [2, 0]\n");
  EXPECT_EQ(run("print(tmath.zeros([2, 2]).tolist(), tmath.ones([3], \"i32\").tolist())"),
            "[[0.0, 0.0], [0.0, 0.0]] [1, 1, 1]\n");
  EXPECT_EQ(run("print(tmath.full([2], 7).tolist(), tmath.full([2], 0.5).tolist())"), "[7, 7] [0.5, 0.5]\n");
  EXPECT_EQ(run("print(tmath.arange(4).tolist(), tmath.arange(1, 2, 0.25).tolist(), tmath.arange(0, 6, 2).dtype)"),
            "[0, 1, 2, 3] [1.0, 1.25, 1.5, 1.75] i64\n");
  EXPECT_EQ(run("print(tmath.linspace(0, 1, 5).tolist(), tmath.eye(2).tolist(), tmath.eye(2, 3).shape)"),
            "[0.0, 0.25, 0.5, 0.75, 1.0] [[1.0, 0.0], [0.0, 1.0]] [2, 3]\n");
  EXPECT_EQ(run("print(tmath.pi > 3.14 and tmath.pi < 3.15)"), "true\n");
}

TEST(TmathModule, RandomTensorsAreDeterministicWithASeed) {
  Vm vm;
  vm.run("let a = tmath.randn([3, 4], 7)\nlet b = tmath.randn([3, 4], 7)\nlet c = tmath.rand([1000], 1)");
  tm::Generator gen(7);
  tm::Tensor expected = tm::rand_normal({3, 4}, gen);
  expect_tensors_near(tensor_global(vm, "a"), expected, 0);
  expect_tensors_near(tensor_global(vm, "b"), expected, 0);
  std::vector<float> u = tensor_global(vm, "c").to_vector<float>();
  for (float x : u) {
    EXPECT_GE(x, 0.0f);
    EXPECT_LT(x, 1.0f);
  }
  EXPECT_EQ(run("let a = tmath.randn([2], 1)\nlet b = tmath.randn([2], 2)\nprint(a.tolist() == b.tolist())"),
            "false\n");
}

TEST(TmathModule, MatmulMatchesTheEngine) {
  Vm vm;
  vm.run(
      "let w = tmath.randn([64, 64], 3)\n"
      "let x = tmath.randn([64, 64], 4)\n"
      "let y = x @ w\n"
      "let z = tmath.matmul(x, w)\n"
      "let m = x.matmul(w)\n"
      "let r = tmath.randn([64, 64]) @ w\n");
  tm::Tensor w = tensor_global(vm, "w"), x = tensor_global(vm, "x");
  tm::Tensor expected = tm::matmul(x, w);
  expect_tensors_near(tensor_global(vm, "y"), expected);
  expect_tensors_near(tensor_global(vm, "z"), expected);
  expect_tensors_near(tensor_global(vm, "m"), expected);
  EXPECT_EQ(tensor_global(vm, "r").shape(), (tm::Shape{64, 64}));
  EXPECT_EQ(run("let a = tmath.tensor([[1, 2], [3, 4]])\nprint((a @ a).tolist(), (a @ tmath.tensor([1, 1])).tolist())"),
            "[[7, 10], [15, 22]] [3, 7]\n");
}

TEST(TmathModule, ArithmeticBroadcastsWithScalarsOnEitherSide) {
  EXPECT_EQ(run("let a = tmath.tensor([[1.0, 2.0], [3.0, 4.0]])\n"
                "print((a + 1).tolist(), (1 + a).tolist(), (10 - a).tolist(), (a * 2).tolist())\n"
                "print((a / 2).tolist(), (2 / a).get(1, 1), (a ** 2).tolist(), (-a).tolist())\n"
                "print((a + tmath.tensor([10.0, 20.0])).tolist(), (a - a).sum().item())"),
            "[[2.0, 3.0], [4.0, 5.0]] [[2.0, 3.0], [4.0, 5.0]] [[9.0, 8.0], [7.0, 6.0]] [[2.0, 4.0], [6.0, 8.0]]\n"
            "[[0.5, 1.0], [1.5, 2.0]] 0.5 [[1.0, 4.0], [9.0, 16.0]] [[-1.0, -2.0], [-3.0, -4.0]]\n"
            "[[11.0, 22.0], [13.0, 24.0]] 0.0\n");
  // Ints stay ints next to integer tensors; a fraction promotes to float.
  EXPECT_EQ(run("let i = tmath.arange(3)\nprint((i * 2).tolist(), (i * 2).dtype, (i + 0.5).dtype, (i / 2).dtype)"),
            "[0, 2, 4] i64 f32 f32\n");
}

TEST(TmathModule, ReductionsAndMethods) {
  EXPECT_EQ(run("let a = tmath.tensor([[1.0, 5.0], [3.0, 2.0]])\n"
                "print(a.sum().item(), a.sum(0).tolist(), a.sum(1, true).shape, a.mean().item())\n"
                "print(a.max().item(), a.min(1).tolist(), a.argmax(), a.argmax(0).tolist(), a.sum([0, 1]).item())\n"
                "print(a.T.tolist(), a.transpose().tolist(), a.transpose(0, 1).shape, a.reshape([4]).tolist())\n"
                "print(a.reshape(1, -1).shape, a.flatten().shape, a.astype(\"i32\").tolist(), a.get(-1, 0))"),
            "11.0 [4.0, 7.0] [2, 1] 2.75\n"
            "5.0 [1.0, 2.0] 1 [1, 0] 11.0\n"
            "[[1.0, 3.0], [5.0, 2.0]] [[1.0, 3.0], [5.0, 2.0]] [2, 2] [1.0, 5.0, 3.0, 2.0]\n"
            "[1, 4] [4] [[1, 5], [3, 2]] 3.0\n");
  Vm vm;
  vm.run(
      "let x = tmath.randn([4, 8], 5)\nlet s = x.softmax()\nlet s0 = tmath.softmax(x, 0)\n"
      "let e = x.exp()\nlet l = e.log()\nlet r = x.relu()\nlet th = tmath.tanh(x)\nlet q = x.abs().sqrt()\n"
      "let ln = tmath.layer_norm(x)\n"
      "let at = tmath.attention(x, x, x)\n"
      "let c = tmath.concat([x, x], 1)\nlet st = tmath.stack([x, x])\n");
  tm::Tensor x = tensor_global(vm, "x");
  expect_tensors_near(tensor_global(vm, "s"), tm::softmax(x, -1));
  expect_tensors_near(tensor_global(vm, "s0"), tm::softmax(x, 0));
  expect_tensors_near(tensor_global(vm, "e"), tm::exp(x));
  expect_tensors_near(tensor_global(vm, "l"), x, 1e-5);
  expect_tensors_near(tensor_global(vm, "r"), tm::relu(x));
  expect_tensors_near(tensor_global(vm, "th"), tm::tanh(x));
  expect_tensors_near(tensor_global(vm, "q"), tm::sqrt(tm::abs(x)));
  expect_tensors_near(tensor_global(vm, "ln"), tm::layer_norm(x, {}, {}));
  expect_tensors_near(tensor_global(vm, "at"), tm::scaled_dot_product_attention(x, x, x));
  EXPECT_EQ(tensor_global(vm, "c").shape(), (tm::Shape{4, 16}));
  EXPECT_EQ(tensor_global(vm, "st").shape(), (tm::Shape{2, 4, 8}));
}

TEST(TmathModule, ErrorsNameTheFunction) {
  EXPECT_NE(error_of("tmath.tensor([1, 2]) @ tmath.tensor([[1, 2, 3]])").find("tensor @: matmul"), std::string::npos);
  EXPECT_NE(error_of("tmath.matmul(tmath.ones([2, 3]), tmath.ones([2, 3]))").find("tmath.matmul: matmul"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]) + tmath.ones([3])").find("tensor +:"), std::string::npos);
  EXPECT_NE(error_of("tmath.zeros(\"x\")").find("tmath.zeros: shape must be a list of ints, got string"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.zeros([-1])").find("negative dimension"), std::string::npos);
  EXPECT_NE(error_of("tmath.zeros([2], \"f99\")").find("tmath.zeros:"), std::string::npos);
  EXPECT_NE(error_of("tmath.tensor([[1, 2], [3]])").find("not rectangular"), std::string::npos);
  EXPECT_NE(error_of("tmath.tensor([1, \"a\"])").find("nested list of numbers, got string"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2, 2]).reshape([3])").find("tensor.reshape:"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2, 2]).item()").find("tensor.item: only a one-element tensor"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2, 2]).get(2, 0)").find("index 2 is out of range"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2, 2]).get(0)").find("expects 2 indices"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]) + \"s\"").find("operands must be tensors"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]) // 2").find("not supported for tensors"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]) @ 2").find("both operands must be tensors"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]).sum(3)").find("tensor.sum:"), std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]).sum(0, false, 1)").find("tensor.sum: expects 0 to 2 arguments, got 3"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.sum()").find("tmath.sum: expects 1 to 3 arguments, got 0"), std::string::npos);
  EXPECT_NE(error_of("tmath.concat([])").find("needs at least one tensor"), std::string::npos);
  VmOptions small;
  small.memory_budget = 8u << 20;
  EXPECT_NE(error_of("tmath.zeros([100000, 100000])", small).find("exceeds the memory budget"), std::string::npos);
  EXPECT_NE(error_of("tmath.zeros([1000000, 1000000, 1000000])").find("exceeds the memory budget"), std::string::npos);
  // Engine errors are catchable M-CODE errors.
  EXPECT_EQ(run("try { tmath.ones([2]) @ tmath.ones([3]) } catch e { print(\"caught\") }"), "caught\n");
}

TEST(TmathModule, DroppedTensorsAreCollected) {
  Vm vm;
  vm.run("let keep = tmath.ones([256, 256])\nfor i in range(50) { let t = tmath.ones([256, 256]) * 2 }");
  vm.heap().collect();
  HeapStats stats = vm.heap().stats();
  EXPECT_GE(stats.objects_freed, 90u);
  // Only `keep` (256 KiB of f32) is charged after the collection.
  EXPECT_GE(stats.bytes_in_use, 256u * 256u * 4u);
  EXPECT_LT(stats.bytes_in_use, 2u * 256u * 256u * 4u);
}

TEST(TmathModule, HandlesCloneForOtherVms) {
  Vm vm;
  vm.run("let t = tmath.tensor([1.0, 2.0])");
  Value t = vm.global("t");
  void* copy = kTensorHandle.clone(t.as_handle()->data());
  EXPECT_EQ(static_cast<tm::Tensor*>(copy)->to_vector<float>(), (std::vector<float>{1.0f, 2.0f}));
  kTensorHandle.finalize(copy);
  EXPECT_EQ(run("print(tmath.zeros([20, 20]))"), "tensor(shape=[20, 20], dtype=f32)\n");
}

TEST(TmathModule, TensorsTravelToWorkerVms) {
  EXPECT_EQ(run("let w = tmath.tensor([[1.0, 2.0], [3.0, 4.0]])\n"
                "let xs = [tmath.tensor([1.0, 0.0]), tmath.tensor([0.0, 1.0])]\n"
                "print(nexus.parallel_map(fn(x) { return (x @ w).tolist() }, xs))"),
            "[[1.0, 2.0], [3.0, 4.0]]\n");
}

TEST(TmathModule, ExampleProgram) {
  const std::string source = program_file("tensors", "mc");
  const std::string expected = program_file("tensors", "out");
  EXPECT_EQ(run(source), expected);
  // Collecting at every safepoint changes nothing (no handle is used after it is dropped).
  VmOptions stress;
  stress.heap.stress = true;
  EXPECT_EQ(run(source, stress), expected);
}

// tmath.map / t.map call the custom kernels of T-Mathematics' registry by name.
class TmathMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto scale = std::make_shared<tm::CustomKernel>();
    scale->name = "test_mcode.triple";
    scale->f64 = [](const double* a, const double*, double* out, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i) out[i] = 3 * a[i];
    };
    tm::register_kernel(scale);
    auto diff = std::make_shared<tm::CustomKernel>();
    diff->name = "test_mcode.diff";
    diff->arity = 2;
    diff->f64 = [](const double* a, const double* b, double* out, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i) {
        if (b[i] < 0) throw miso::Error(miso::Error::Kind::Format, "test_mcode.diff: negative b");
        out[i] = a[i] - b[i];
      }
    };
    tm::register_kernel(diff);
  }
  void TearDown() override {
    tm::unregister_kernel("test_mcode.triple");
    tm::unregister_kernel("test_mcode.diff");
  }
};

TEST_F(TmathMapTest, ModuleFunctionAndMethodRunRegisteredKernels) {
  EXPECT_EQ(run("print(tmath.map(\"test_mcode.triple\", tmath.tensor([1.0, 2.0])).tolist())"), "[3.0, 6.0]\n");
  EXPECT_EQ(run("let t = tmath.tensor([[1.0], [2.0]], \"f64\")\n"
                "let d = t.map(\"test_mcode.diff\", tmath.tensor([0.5, 1.0], \"f64\"))\n"
                "print(d.shape, d.dtype, d.tolist())"),
            "[2, 2] f64 [[0.5, 0.0], [1.5, 1.0]]\n");
  EXPECT_EQ(run("print(tmath.map(\"test_mcode.diff\", tmath.tensor([5, 7]), 2).tolist())"), "[3.0, 5.0]\n");
  EXPECT_NE(run("print(tmath.kernels())").find("\"test_mcode.triple\""), std::string::npos);
}

TEST_F(TmathMapTest, ErrorsNameTheKernelAndAreCatchable) {
  EXPECT_NE(error_of("tmath.map(\"test_mcode.nope\", tmath.ones([2]))")
                .find("tmath.map: unknown custom kernel 'test_mcode.nope'"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.map(\"test_mcode.triple\", tmath.ones([2]), tmath.ones([2]))")
                .find("'test_mcode.triple' takes 1 operand, got 2"),
            std::string::npos);
  EXPECT_NE(
      error_of("tmath.map(\"test_mcode.diff\", tmath.ones([2]), tmath.ones([3]))").find("tmath.map 'test_mcode.diff':"),
      std::string::npos);
  EXPECT_NE(error_of("tmath.map(\"test_mcode.triple\", [1, 2])").find("tmath.map: a must be tensor"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.map(\"test_mcode.diff\", tmath.ones([2]), \"x\")")
                .find("b must be a tensor or a number, got string"),
            std::string::npos);
  EXPECT_NE(error_of("tmath.ones([2]).map()").find("tensor.map: expects 1 to 2 arguments, got 0"), std::string::npos);
  EXPECT_EQ(run("try { tmath.map(\"test_mcode.diff\", tmath.ones([2]), -1) } catch e { print(e.message) }"),
            "tmath.map: test_mcode.diff: negative b\n");
}

}  // namespace
}  // namespace miso::mcode
