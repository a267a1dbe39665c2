#include "miso/tmath/lazy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "miso/nexus/executor.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/mutex.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/block_ops.hpp"
#include "miso/tmath/custom_kernel.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/vector_math.hpp"

namespace miso::tmath {

namespace lazy {

enum class Kind : std::uint8_t { Input, Constant, Unary, Binary, Where, Reduce, Custom };
enum class ReduceOp : std::uint8_t { Sum, Mean, Max, Min };

struct Node {
  Kind kind = Kind::Input;
  Shape shape;
  DType dtype = DType::F32;
  Tensor tensor;     // Input
  double value = 0;  // Constant
  std::uint8_t op = 0;
  std::vector<std::shared_ptr<const Node>> args;
  std::vector<std::int64_t> axes;  // Reduce: sorted, unique, non-negative
  bool keepdims = false;
  std::shared_ptr<const CustomKernel> kernel;  // Custom
};

}  // namespace lazy

namespace {

using lazy::Kind;
using lazy::Node;
using lazy::ReduceOp;
using NodePtr = std::shared_ptr<const Node>;

using detail::fail;

void append(std::string& s, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) s.append(p);
}

NodePtr make(Node n) { return std::make_shared<const Node>(std::move(n)); }

// ---- the compiled form ----------------------------------------------------------
// BinaryConstA/B: a binary operation whose first/second operand is constant
// number `index` (broadcast from a register, not read from a filled buffer).
// Map: an f32 chain of constant operations around at most one vectorised
// function, run in one pass with the values in registers (vmath::map); `op` is
// the vmath::Fn, steps [index, index + pre) come before it and
// [index + pre, index + pre + post) after.
// Custom: custom kernel number `index` of the trace on a (and b), into a register that
// is neither operand's (kernels may not write over their inputs).
enum class Code : std::uint8_t { Leaf, Const, Unary, Binary, Where, BinaryConstA, BinaryConstB, Map, Custom };

struct Instr {
  Code code = Code::Leaf;
  std::uint8_t op = 0;
  int dst = 0;
  int a = -1, b = -1, c = -1;
  int index = 0;          // leaf or constant number; Map: first step
  int pre = 0, post = 0;  // Map: steps before and after the function
};

// A step of a Map: the operation and the number of its constant.
struct StepRef {
  vmath::Step::Op op = vmath::Step::Op::Add;
  bool constant_first = false;
  int constant = 0;
};

struct Plan {
  std::vector<Instr> code;  // physical registers
  std::vector<StepRef> steps;
  int registers = 0;
  int result = 0;
  DType compute = DType::F32;
};

// A kernel as traced from the graph: SSA instructions, its leaves and constants.
struct Trace {
  std::vector<Instr> code;  // dst = SSA value number
  std::vector<StepRef> steps;
  std::vector<const Node*> leaves;
  std::vector<double> constants;
  // The custom kernels, by number; the plan refers to them only by number, so a cached
  // plan runs whatever kernels the evaluated graph holds.
  std::vector<const CustomKernel*> kernels;
  std::string key;
  DType compute = DType::Bool;
};

// The step a constant binary operation is, if it is one a Map can hold.
bool as_step(const Instr& in, StepRef* step) {
  if (in.code != Code::BinaryConstA && in.code != Code::BinaryConstB) return false;
  switch (static_cast<BinaryOp>(in.op)) {
    case BinaryOp::Add: step->op = vmath::Step::Op::Add; break;
    case BinaryOp::Sub: step->op = vmath::Step::Op::Sub; break;
    case BinaryOp::Mul: step->op = vmath::Step::Op::Mul; break;
    case BinaryOp::Div: step->op = vmath::Step::Op::Div; break;
    case BinaryOp::Maximum: step->op = vmath::Step::Op::Max; break;
    case BinaryOp::Minimum: step->op = vmath::Step::Op::Min; break;
    default: return false;
  }
  step->constant_first = in.code == Code::BinaryConstA;
  step->constant = in.index;
  return true;
}

// The vectorised function a unary operation is, if any.
bool as_function(const Instr& in, vmath::Fn* fn) {
  if (in.code != Code::Unary) return false;
  vmath::Fn f;
  switch (static_cast<UnaryOp>(in.op)) {
    case UnaryOp::Exp: f = vmath::Fn::Exp; break;
    case UnaryOp::Log: f = vmath::Fn::Log; break;
    case UnaryOp::Tanh: f = vmath::Fn::Tanh; break;
    case UnaryOp::Erf: f = vmath::Fn::Erf; break;
    case UnaryOp::Sigmoid: f = vmath::Fn::Sigmoid; break;
    case UnaryOp::Gelu: f = vmath::Fn::Gelu; break;
    default: return false;
  }
  if (fn != nullptr) *fn = f;
  return true;
}

// Fuses, in an f32 kernel, every chain of two or more operations in which each
// takes the previous one's value as its only varying operand, that value has
// no other use, and the operations are constant steps around at most one
// vectorised function, into one Map instruction. y = gelu(x * a + b) * c then
// makes one pass over the block instead of four.
void fuse_maps(Trace& t) {
  if (t.compute != DType::F32) return;
  const auto n = static_cast<int>(t.code.size());
  std::vector<int> uses(static_cast<std::size_t>(n), 0), user(static_cast<std::size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    const Instr& in = t.code[static_cast<std::size_t>(i)];
    for (int v : {in.a, in.b, in.c}) {
      if (v < 0) continue;
      ++uses[static_cast<std::size_t>(v)];
      user[static_cast<std::size_t>(v)] = i;
    }
  }
  ++uses[static_cast<std::size_t>(n - 1)];  // the result
  auto link = [&](const Instr& in) {        // a chain member: a step or a function
    StepRef s;
    vmath::Fn f;
    return as_step(in, &s) || as_function(in, &f);
  };
  std::vector<int> renumber(static_cast<std::size_t>(n), -1);
  std::vector<bool> absorbed(static_cast<std::size_t>(n), false);
  std::vector<Instr> code;
  for (int i = 0; i < n; ++i) {
    if (absorbed[static_cast<std::size_t>(i)]) continue;
    Instr in = t.code[static_cast<std::size_t>(i)];
    for (int* v : {&in.a, &in.b, &in.c}) {
      if (*v >= 0) *v = renumber[static_cast<std::size_t>(*v)];
    }
    // The longest chain starting at i.
    std::vector<int> chain{i};
    int functions = as_function(in, nullptr) ? 1 : 0;
    if (link(in)) {
      for (int j = i; uses[static_cast<std::size_t>(j)] == 1 && user[static_cast<std::size_t>(j)] >= 0;) {
        const int next = user[static_cast<std::size_t>(j)];
        const Instr& nx = t.code[static_cast<std::size_t>(next)];
        vmath::Fn f;
        const bool fn = as_function(nx, &f);
        if (!link(nx) || (fn && functions == 1)) break;
        functions += fn ? 1 : 0;
        chain.push_back(next);
        j = next;
      }
    }
    if (chain.size() < 2) {
      in.dst = static_cast<int>(code.size());
      renumber[static_cast<std::size_t>(i)] = in.dst;
      code.push_back(in);
      continue;
    }
    Instr map;
    map.code = Code::Map;
    map.op = static_cast<std::uint8_t>(vmath::Fn::Identity);
    map.a = in.a;
    map.index = static_cast<int>(t.steps.size());
    bool after = false;
    for (int k : chain) {
      const Instr& member = t.code[static_cast<std::size_t>(k)];
      StepRef s;
      vmath::Fn f;
      if (as_function(member, &f)) {
        map.op = static_cast<std::uint8_t>(f);
        after = true;
      } else if (as_step(member, &s)) {
        t.steps.push_back(s);
        ++(after ? map.post : map.pre);
      }
      absorbed[static_cast<std::size_t>(k)] = true;
    }
    map.dst = static_cast<int>(code.size());
    renumber[static_cast<std::size_t>(chain.back())] = map.dst;
    code.push_back(map);
  }
  t.code = std::move(code);
}

struct Cache {
  profiler::Mutex mutex{"tmath.plan_cache"};
  std::unordered_map<std::string, std::shared_ptr<const Plan>> plans;
  std::uint64_t hits = 0, misses = 0;
};

Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// Assigns physical registers: a value's register is free again after its last
// use. Constant registers are never reused (they are filled once per chunk).
std::shared_ptr<const Plan> allocate(const Trace& t) {
  auto plan = std::make_shared<Plan>();
  plan->compute = t.compute;
  plan->steps = t.steps;
  const int n = static_cast<int>(t.code.size());
  std::vector<int> last_use(static_cast<std::size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    for (int v : {t.code[static_cast<std::size_t>(i)].a, t.code[static_cast<std::size_t>(i)].b,
                  t.code[static_cast<std::size_t>(i)].c}) {
      if (v >= 0) last_use[static_cast<std::size_t>(v)] = i;
    }
  }
  last_use[static_cast<std::size_t>(n - 1)] = n;  // the result lives to the end
  std::vector<int> phys(static_cast<std::size_t>(n), -1);
  std::vector<int> free_regs;
  int next = 0;
  for (int i = 0; i < n; ++i) {
    Instr in = t.code[static_cast<std::size_t>(i)];
    for (int* operand : {&in.a, &in.b, &in.c}) {
      if (*operand >= 0) *operand = phys[static_cast<std::size_t>(*operand)];
    }
    // Free operands that die here before choosing dst, so dst may reuse one
    // (the block kernels allow the output to alias an input; custom kernels do not).
    if (in.code == Code::Custom) {
      int reg = next;
      if (!free_regs.empty()) {
        reg = free_regs.back();
        free_regs.pop_back();
      } else {
        ++next;
      }
      phys[static_cast<std::size_t>(i)] = in.dst = reg;
    }
    for (int v : {t.code[static_cast<std::size_t>(i)].a, t.code[static_cast<std::size_t>(i)].b,
                  t.code[static_cast<std::size_t>(i)].c}) {
      if (v >= 0 && last_use[static_cast<std::size_t>(v)] == i &&
          t.code[static_cast<std::size_t>(v)].code != Code::Const &&
          std::find(free_regs.begin(), free_regs.end(), phys[static_cast<std::size_t>(v)]) == free_regs.end()) {
        free_regs.push_back(phys[static_cast<std::size_t>(v)]);
      }
    }
    int reg;
    if (in.code == Code::Custom) {
      plan->code.push_back(in);
      continue;
    }
    if (in.code != Code::Const && !free_regs.empty()) {
      reg = free_regs.back();
      free_regs.pop_back();
    } else {
      reg = next++;
    }
    phys[static_cast<std::size_t>(i)] = reg;
    in.dst = reg;
    plan->code.push_back(in);
  }
  plan->registers = next;
  plan->result = phys[static_cast<std::size_t>(n - 1)];
  return plan;
}

std::shared_ptr<const Plan> compile(const Trace& t) {
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.plans.find(t.key);
    if (it != c.plans.end()) {
      ++c.hits;
      return it->second;
    }
  }
  MISO_PROFILE_SCOPE("tmath.lazy.compile");
  auto plan = allocate(t);
  std::lock_guard lock(c.mutex);
  ++c.misses;
  c.plans.emplace(t.key, plan);
  return plan;
}

// Per-chunk register file of a plan.
template <typename C>
struct Registers {
  std::vector<C> storage;
  std::vector<const C*> value;
  // Where the registers sit modulo 4 KiB matters: a load is stalled behind an
  // unrelated earlier store whose address matches it in the low 12 bits (4K
  // aliasing), and a block pass loads one array while storing another at the
  // same offsets. Large inputs start on 4 KiB boundaries (the pool aligns
  // them), so registers start at 512 + 1024 r bytes past one: every pair of
  // streams in a pass stays at least 512 bytes apart.
  static constexpr std::size_t kPage = 4096;
  static constexpr std::size_t kStrideBytes = (detail::kBlock * sizeof(C) + kPage - 1) / kPage * kPage + 1024;
  C* base = nullptr;
  C* buffer(int r) {
    return reinterpret_cast<C*>(reinterpret_cast<std::byte*>(base) + static_cast<std::size_t>(r) * kStrideBytes);
  }
  std::vector<C> constant;         // every constant of the kernel, converted
  std::vector<vmath::Step> steps;  // the Map steps with their constants (f32 kernels)
  const std::vector<const CustomKernel*>* kernels = nullptr;
  std::vector<double> wide;  // custom kernels run in f64 on a non-f64 compute type: a, b, out
  Registers(const Plan& plan, const std::vector<double>& constants,
            const std::vector<const CustomKernel*>* custom_kernels = nullptr)
      : storage((static_cast<std::size_t>(plan.registers) * kStrideBytes + 2 * kPage) / sizeof(C)),
        value(static_cast<std::size_t>(plan.registers), nullptr),
        kernels(custom_kernels) {
    for (const StepRef& s : plan.steps) {
      steps.push_back({s.op, s.constant_first, static_cast<float>(constants[static_cast<std::size_t>(s.constant)])});
    }
    auto address = reinterpret_cast<std::uintptr_t>(storage.data());
    std::uintptr_t aligned = (address + kPage - 1) / kPage * kPage + 512;
    base = reinterpret_cast<C*>(reinterpret_cast<std::byte*>(storage.data()) + (aligned - address));
    for (double c : constants) constant.push_back(convert<C>(c));
    for (const Instr& in : plan.code) {
      if (in.code != Code::Const) continue;
      C v = convert<C>(constants[static_cast<std::size_t>(in.index)]);
      std::fill(buffer(in.dst), buffer(in.dst) + detail::kBlock, v);
      value[static_cast<std::size_t>(in.dst)] = buffer(in.dst);
    }
  }
};

// Calls a custom kernel on a block: directly in its own type, else through f64.
template <typename C>
void run_custom(const CustomKernel& k, const C* a, const C* b, C* out, std::int64_t m, std::vector<double>& wide) {
  if constexpr (std::is_same_v<C, double>) {
    k.f64(a, b, out, m);
    return;
  } else {
    if constexpr (std::is_same_v<C, float>) {
      if (k.f32) {
        k.f32(a, b, out, m);
        return;
      }
    }
    wide.resize(static_cast<std::size_t>(3 * detail::kBlock));
    double* wa = wide.data();
    double* wb = wa + detail::kBlock;
    double* wo = wb + detail::kBlock;
    for (std::int64_t i = 0; i < m; ++i) wa[i] = static_cast<double>(a[i]);
    if (b != nullptr) {
      for (std::int64_t i = 0; i < m; ++i) wb[i] = static_cast<double>(b[i]);
    }
    k.f64(wa, b != nullptr ? wb : nullptr, wo, m);
    for (std::int64_t i = 0; i < m; ++i) out[i] = convert<C>(wo[i]);
  }
}

// Runs the plan on m elements whose leaf pointers are ptrs[first_leaf + i];
// returns the result's values.
// `out`, when not null, receives the last instruction's values directly (the
// kernel's output when it has the compute type and unit stride).
template <typename C>
const C* run_block(const Plan& plan, Registers<C>& regs, const std::vector<const Node*>& leaves,
                   const std::vector<std::byte*>& ptrs, const std::vector<std::int64_t>& inner, std::size_t first_leaf,
                   std::int64_t off, std::int64_t m, C* out = nullptr, vmath::Store store = vmath::Store::Cached) {
  const Instr* last = &plan.code.back();
  for (const Instr& in : plan.code) {
    auto dst = static_cast<std::size_t>(in.dst);
    C* target = (out != nullptr && &in == last) ? out : regs.buffer(in.dst);
    switch (in.code) {
      case Code::Const: break;
      case Code::Leaf: {
        std::size_t k = first_leaf + static_cast<std::size_t>(in.index);
        regs.value[dst] = detail::load<C>(ptrs[k] + off * inner[k], leaves[static_cast<std::size_t>(in.index)]->dtype,
                                          inner[k], m, regs.buffer(in.dst));
        break;
      }
      case Code::Unary:
        detail::apply_unary<C>(static_cast<UnaryOp>(in.op), regs.value[static_cast<std::size_t>(in.a)], target, m);
        regs.value[dst] = target;
        break;
      case Code::Binary:
        detail::apply_binary<C>(static_cast<BinaryOp>(in.op), regs.value[static_cast<std::size_t>(in.a)],
                                regs.value[static_cast<std::size_t>(in.b)], target, m);
        regs.value[dst] = target;
        break;
      case Code::BinaryConstA:
        detail::apply_binary_lhs<C>(static_cast<BinaryOp>(in.op), regs.constant[static_cast<std::size_t>(in.index)],
                                    regs.value[static_cast<std::size_t>(in.a)], target, m);
        regs.value[dst] = target;
        break;
      case Code::BinaryConstB:
        detail::apply_binary_rhs<C>(static_cast<BinaryOp>(in.op), regs.value[static_cast<std::size_t>(in.a)],
                                    regs.constant[static_cast<std::size_t>(in.index)], target, m);
        regs.value[dst] = target;
        break;
      case Code::Map:
        if constexpr (std::is_same_v<C, float>) {
          const vmath::Step* steps = regs.steps.data() + in.index;
          vmath::map(static_cast<vmath::Fn>(in.op), steps, in.pre, steps + in.pre, in.post,
                     regs.value[static_cast<std::size_t>(in.a)], target, m, &in == last ? store : vmath::Store::Cached);
          regs.value[dst] = target;
        }
        break;
      case Code::Custom: {
        const CustomKernel& k = *(*regs.kernels)[static_cast<std::size_t>(in.index)];
        run_custom<C>(k, regs.value[static_cast<std::size_t>(in.a)],
                      in.b >= 0 ? regs.value[static_cast<std::size_t>(in.b)] : nullptr, target, m, regs.wide);
        regs.value[dst] = target;
        break;
      }
      case Code::Where: {
        const C* c = regs.value[static_cast<std::size_t>(in.a)];
        const C* x = regs.value[static_cast<std::size_t>(in.b)];
        const C* y = regs.value[static_cast<std::size_t>(in.c)];
        C* o = target;
        for (std::int64_t i = 0; i < m; ++i) o[i] = c[i] != C(0) ? x[i] : y[i];
        regs.value[dst] = o;
        break;
      }
    }
  }
  return regs.value[static_cast<std::size_t>(plan.result)];
}

// Results at least this large are written with streaming stores.
constexpr std::int64_t kStreamingBytes = std::int64_t{64} << 20;

// acc combined with v: added, or the larger/smaller where a NaN on either side wins.
inline double fold(ReduceOp op, double acc, double v) noexcept {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: return acc + v;
    case ReduceOp::Max: return (v > acc || v != v) && acc == acc ? v : acc;
    case ReduceOp::Min: return (v < acc || v != v) && acc == acc ? v : acc;
  }
  return acc;
}

bool is_elementwise(const Node& n) { return n.kind != Kind::Input && n.kind != Kind::Reduce; }

class Evaluator {
 public:
  Tensor materialize(const NodePtr& node) {
    if (node->kind == Kind::Input) return node->tensor;
    auto it = done_.find(node.get());
    if (it != done_.end()) return it->second;
    Tensor t = node->kind == Kind::Reduce ? reduce(*node) : elementwise(*node);
    done_.emplace(node.get(), t);
    return t;
  }

 private:
  // Traces the elementwise subtree under `root` (stopping at inputs and
  // reductions, which become leaves) into SSA instructions.
  Trace trace(const Node& root) {
    Trace t;
    std::unordered_map<const Node*, int> value;
    std::unordered_map<const Node*, int> leaf_of;
    auto visit = [&](auto&& self, const Node& n) -> int {
      auto found = value.find(&n);
      if (found != value.end()) return found->second;
      Instr in;
      t.compute = t.compute == DType::Bool ? n.dtype : promote(t.compute, n.dtype);
      if (!is_elementwise(n)) {
        auto [pos, fresh] = leaf_of.emplace(&n, static_cast<int>(t.leaves.size()));
        if (fresh) t.leaves.push_back(&n);
        in.code = Code::Leaf;
        in.index = pos->second;
        append(t.key, {"L", std::to_string(in.index), ":", name(n.dtype), tmath::to_string(n.shape), ";"});
      } else if (n.kind == Kind::Constant) {
        in.code = Code::Const;
        in.index = static_cast<int>(t.constants.size());
        t.constants.push_back(n.value);
        append(t.key, {"C", name(n.dtype), ";"});
      } else if (n.kind == Kind::Binary && (n.args[0]->kind == Kind::Constant) != (n.args[1]->kind == Kind::Constant)) {
        const bool first_is_constant = n.args[0]->kind == Kind::Constant;
        const Node& constant = first_is_constant ? *n.args[0] : *n.args[1];
        t.compute = promote(t.compute, constant.dtype);
        in.a = self(self, first_is_constant ? *n.args[1] : *n.args[0]);
        in.code = first_is_constant ? Code::BinaryConstA : Code::BinaryConstB;
        in.index = static_cast<int>(t.constants.size());
        t.constants.push_back(constant.value);
        in.op = n.op;
        append(t.key, {std::to_string(static_cast<int>(in.code)), ".", std::to_string(in.op), "(", std::to_string(in.a),
                       ",C", name(constant.dtype), ");"});
      } else if (n.kind == Kind::Custom) {
        in.a = self(self, *n.args[0]);
        if (n.args.size() > 1) in.b = self(self, *n.args[1]);
        in.code = Code::Custom;
        in.index = static_cast<int>(t.kernels.size());
        t.kernels.push_back(n.kernel.get());
        const std::string& kname = n.kernel->name;
        append(t.key, {"K", std::to_string(kname.size()), ":", kname, "(", std::to_string(in.a), ",",
                       std::to_string(in.b), ");"});
      } else {
        in.a = self(self, *n.args[0]);
        if (n.args.size() > 1) in.b = self(self, *n.args[1]);
        if (n.args.size() > 2) in.c = self(self, *n.args[2]);
        in.code = n.kind == Kind::Unary ? Code::Unary : n.kind == Kind::Binary ? Code::Binary : Code::Where;
        in.op = n.op;
        append(t.key, {std::to_string(static_cast<int>(in.code)), ".", std::to_string(in.op), "(", std::to_string(in.a),
                       ",", std::to_string(in.b), ",", std::to_string(in.c), ");"});
      }
      in.dst = static_cast<int>(t.code.size());
      t.code.push_back(in);
      value.emplace(&n, in.dst);
      return in.dst;
    };
    visit(visit, root);
    t.compute = compute_type(t.compute);
    append(t.key, {"->", name(t.compute)});
    fuse_maps(t);
    return t;
  }

  std::vector<Tensor> leaf_tensors(const Trace& t) {
    std::vector<Tensor> leaves;
    for (const Node* n : t.leaves) {
      if (n->kind == Kind::Input) {
        leaves.push_back(n->tensor);
      } else {  // a reduction inside the formula: computed first
        leaves.push_back(materialize(find_ptr(n)));
      }
    }
    return leaves;
  }

  NodePtr find_ptr(const Node* n) {
    // Reduction leaves are reached through their parents' args: look them up.
    auto it = owners_.find(n);
    if (it != owners_.end()) return it->second;
    fail("lazy: internal error: a reduction leaf without an owner");
  }

  void remember_owners(const Node& root) {
    std::vector<const Node*> stack{&root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      for (const NodePtr& a : n->args) {
        if (owners_.emplace(a.get(), a).second) stack.push_back(a.get());
      }
    }
  }

  Tensor elementwise(const Node& root) {
    MISO_PROFILE_SCOPE("tmath.lazy.kernel");
    remember_owners(root);
    Trace t = trace(root);
    std::string key;
    append(key, {"E", tmath::to_string(root.shape), name(root.dtype), "|", t.key});
    t.key = std::move(key);
    auto plan = compile(t);
    std::vector<Tensor> leaves = leaf_tensors(t);
    Tensor out = Tensor::empty(root.shape, root.dtype);
    std::vector<const Tensor*> operands{&out};
    for (const Tensor& l : leaves) operands.push_back(&l);
    detail::DynLoop loop = detail::make_dyn_loop(root.shape, operands);
    const DType ot = out.dtype();
    const bool streaming = static_cast<std::int64_t>(out.nbytes()) >= kStreamingBytes;
    const bool ends_in_map = plan->code.back().code == Code::Map;
    detail::visit_compute(plan->compute, [&](auto tag) {
      using C = typename decltype(tag)::type;
      detail::parallel_range(out.numel(), detail::kMinParallel, [&](std::int64_t begin, std::int64_t end) {
        Registers<C> regs(*plan, t.constants, &t.kernels);
        std::vector<std::byte*> ptrs(operands.size());
        std::vector<std::int64_t> inner(operands.size());
        detail::dyn_runs(loop, begin, end, ptrs, inner, [&](auto& p, auto& in, std::int64_t n) {
          for (std::int64_t off = 0; off < n; off += detail::kBlock) {
            std::int64_t m = std::min(detail::kBlock, n - off);
            std::byte* dst = p[0] + off * in[0];
            const bool same = ot == dtype_of<C>() && in[0] == static_cast<std::int64_t>(sizeof(C));
            if constexpr (std::is_same_v<C, float>) {
              if (same && streaming && ends_in_map) {  // the fused pass streams its result itself
                run_block<C>(*plan, regs, t.leaves, p, in, 1, off, m, reinterpret_cast<C*>(dst),
                             vmath::Store::Streaming);
                continue;
              }
              if (same && streaming) {  // a result far larger than the caches: no read-for-ownership
                const C* r = run_block<C>(*plan, regs, t.leaves, p, in, 1, off, m);
                vmath::stream_copy(reinterpret_cast<float*>(dst), r, m);
                continue;
              }
            }
            const C* r =
                run_block<C>(*plan, regs, t.leaves, p, in, 1, off, m, same ? reinterpret_cast<C*>(dst) : nullptr);
            detail::store<C>(dst, ot, in[0], m, r);
          }
        });
      });
    });
    return out;
  }

  Tensor reduce(const Node& node) {
    const Node& input = *node.args[0];
    const auto nd = static_cast<std::int64_t>(input.shape.size());
    bool trailing = true;
    for (std::size_t i = 0; i < node.axes.size(); ++i) {
      trailing = trailing && node.axes[i] == nd - static_cast<std::int64_t>(node.axes.size() - i);
    }
    auto op = static_cast<ReduceOp>(node.op);
    if (!trailing || !is_elementwise(input)) {
      // Not fusable: compute the input, then the eager reduction.
      Tensor x = materialize(node.args[0]);
      switch (op) {
        case ReduceOp::Sum: return tmath::sum(x, node.axes, node.keepdims);
        case ReduceOp::Mean: return tmath::mean(x, node.axes, node.keepdims);
        case ReduceOp::Max: return tmath::max(x, node.axes, node.keepdims);
        case ReduceOp::Min: return tmath::min(x, node.axes, node.keepdims);
      }
    }
    MISO_PROFILE_SCOPE("tmath.lazy.reduce_kernel");
    remember_owners(node);
    Trace t = trace(input);
    std::string key;
    append(key,
           {"R", std::to_string(node.op), tmath::to_string(input.shape), tmath::to_string(node.shape), "|", t.key});
    t.key = std::move(key);
    auto plan = compile(t);
    std::vector<Tensor> leaves = leaf_tensors(t);
    std::vector<const Tensor*> operands;
    for (const Tensor& l : leaves) operands.push_back(&l);
    detail::DynLoop loop = detail::make_dyn_loop(input.shape, operands);
    Tensor out = Tensor::empty(node.shape, node.dtype);
    const std::int64_t outputs = out.numel();
    const std::int64_t per = outputs == 0 ? 0 : numel_of(input.shape) / outputs;
    if ((op == ReduceOp::Max || op == ReduceOp::Min) && per == 0) {
      fail(std::string(op == ReduceOp::Max ? "max" : "min") + ": reduction over an empty dimension of shape " +
           tmath::to_string(input.shape));
    }
    // Work items: (output, chunk of its range), combined per output in chunk order,
    // so the result does not depend on the schedule.
    constexpr std::int64_t kChunk = 1 << 16;
    const std::int64_t chunks = std::max<std::int64_t>(1, (per + kChunk - 1) / kChunk);
    std::vector<double> partial(static_cast<std::size_t>(outputs * chunks));
    detail::visit_compute(plan->compute, [&](auto tag) {
      using C = typename decltype(tag)::type;
      auto work = [&](std::int64_t item0, std::int64_t item1) {
        Registers<C> regs(*plan, t.constants, &t.kernels);
        std::vector<std::byte*> ptrs(operands.size());
        std::vector<std::int64_t> inner(operands.size());
        for (std::int64_t item = item0; item < item1; ++item) {
          std::int64_t o = item / chunks, ch = item % chunks;
          std::int64_t b = o * per + ch * kChunk, e = o * per + std::min(per, (ch + 1) * kChunk);
          double acc = op == ReduceOp::Max   ? -std::numeric_limits<double>::infinity()
                       : op == ReduceOp::Min ? std::numeric_limits<double>::infinity()
                                             : 0.0;
          detail::dyn_runs(loop, b, e, ptrs, inner, [&](auto& p, auto& in, std::int64_t n) {
            for (std::int64_t off = 0; off < n; off += detail::kBlock) {
              std::int64_t m = std::min(detail::kBlock, n - off);
              const C* r = run_block<C>(*plan, regs, t.leaves, p, in, 0, off, m);
              if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
                double s = 0;  // a block's sum first, then into acc
                for (std::int64_t i = 0; i < m; ++i) s += static_cast<double>(r[i]);
                acc += s;
              } else {
                for (std::int64_t i = 0; i < m; ++i) acc = fold(op, acc, static_cast<double>(r[i]));
              }
            }
          });
          partial[static_cast<std::size_t>(item)] = acc;
        }
      };
      const std::int64_t items = outputs * chunks;
      const std::int64_t per_item = std::max<std::int64_t>(1, std::min(per, kChunk));
      detail::parallel_range(items, std::max<std::int64_t>(1, detail::kMinParallel / per_item), work);
    });
    std::vector<double> result(static_cast<std::size_t>(outputs));
    for (std::int64_t o = 0; o < outputs; ++o) {
      double acc = partial[static_cast<std::size_t>(o * chunks)];
      for (std::int64_t ch = 1; ch < chunks; ++ch) {
        acc = fold(op, acc, partial[static_cast<std::size_t>(o * chunks + ch)]);
      }
      if (op == ReduceOp::Mean)
        acc = per > 0 ? acc / static_cast<double>(per) : std::numeric_limits<double>::quiet_NaN();
      result[static_cast<std::size_t>(o)] = acc;
    }
    visit_dtype(out.dtype(), [&](auto tag) {
      using S = typename decltype(tag)::type;
      S* p = out.data<S>();
      for (std::int64_t o = 0; o < outputs; ++o) p[o] = convert<S>(result[static_cast<std::size_t>(o)]);
    });
    return out;
  }

  std::unordered_map<const Node*, Tensor> done_;
  std::unordered_map<const Node*, NodePtr> owners_;
};

Lazy reduce_node(ReduceOp op, const Lazy& a, const std::vector<std::int64_t>& axes, bool keepdims, const char* what) {
  Node n;
  n.kind = Kind::Reduce;
  n.op = static_cast<std::uint8_t>(op);
  n.args = {a.node()};
  n.keepdims = keepdims;
  const auto nd = static_cast<std::int64_t>(a.shape().size());
  if (axes.empty()) {
    for (std::int64_t d = 0; d < nd; ++d) n.axes.push_back(d);
  } else {
    for (std::int64_t ax : axes) {
      std::int64_t d = normalize_dim(ax, nd, what);
      if (std::find(n.axes.begin(), n.axes.end(), d) != n.axes.end()) {
        fail(std::string(what) + ": axis " + std::to_string(ax) + " repeated for shape " + tmath::to_string(a.shape()));
      }
      n.axes.push_back(d);
    }
    std::sort(n.axes.begin(), n.axes.end());
  }
  for (std::int64_t d = 0; d < nd; ++d) {
    bool reduced = std::find(n.axes.begin(), n.axes.end(), d) != n.axes.end();
    if (!reduced) {
      n.shape.push_back(a.shape()[static_cast<std::size_t>(d)]);
    } else if (keepdims) {
      n.shape.push_back(1);
    }
  }
  DType dt = a.dtype();
  if (op == ReduceOp::Sum && !is_floating(dt)) dt = DType::I64;
  if (op == ReduceOp::Mean && !is_floating(dt)) dt = DType::F32;
  n.dtype = dt;
  return Lazy(make(std::move(n)));
}

Lazy scalar_like(double v, const Lazy& t) { return constant(v, scalar_operand_dtype(v, t.dtype())); }

}  // namespace

Lazy::Lazy(const Tensor& tensor) {
  if (!tensor.defined()) fail("lazy: an undefined tensor cannot be an input");
  Node n;
  n.kind = Kind::Input;
  n.shape = tensor.shape();
  n.dtype = tensor.dtype();
  n.tensor = tensor;
  node_ = make(std::move(n));
}

const Shape& Lazy::shape() const noexcept { return node_->shape; }
DType Lazy::dtype() const noexcept { return node_->dtype; }

Tensor Lazy::eval() const {
  MISO_PROFILE_SCOPE("tmath.lazy.eval");
  Evaluator ev;
  return ev.materialize(node_);
}

Lazy constant(double value, DType dtype) {
  Node n;
  n.kind = Kind::Constant;
  n.dtype = dtype;
  n.value = value;
  return Lazy(make(std::move(n)));
}

Lazy binary(BinaryOp op, const Lazy& a, const Lazy& b) {
  Node n;
  n.kind = Kind::Binary;
  n.op = static_cast<std::uint8_t>(op);
  n.shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  n.dtype = result_dtype(op, a.dtype(), b.dtype());
  n.args = {a.node(), b.node()};
  return Lazy(make(std::move(n)));
}

Lazy unary(UnaryOp op, const Lazy& a) {
  Node n;
  n.kind = Kind::Unary;
  n.op = static_cast<std::uint8_t>(op);
  n.shape = a.shape();
  n.dtype = result_dtype(op, a.dtype());
  n.args = {a.node()};
  return Lazy(make(std::move(n)));
}

Lazy where(const Lazy& cond, const Lazy& a, const Lazy& b) {
  Node n;
  n.kind = Kind::Where;
  n.shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  n.dtype = promote(a.dtype(), b.dtype());
  n.args = {cond.node(), a.node(), b.node()};
  return Lazy(make(std::move(n)));
}

Lazy custom(std::shared_ptr<const CustomKernel> kernel, const Lazy& a) {
  if (kernel == nullptr) fail("lazy: custom: null kernel");
  if (kernel->arity != 1) {
    fail("custom kernel '" + kernel->name + "' takes " + std::to_string(kernel->arity) + " operands, got 1");
  }
  Node n;
  n.kind = Kind::Custom;
  n.shape = a.shape();
  n.dtype = custom_result_dtype(a.dtype());
  n.args = {a.node()};
  n.kernel = std::move(kernel);
  return Lazy(make(std::move(n)));
}

Lazy custom(std::shared_ptr<const CustomKernel> kernel, const Lazy& a, const Lazy& b) {
  if (kernel == nullptr) fail("lazy: custom: null kernel");
  if (kernel->arity != 2) fail("custom kernel '" + kernel->name + "' takes 1 operand, got 2");
  Node n;
  n.kind = Kind::Custom;
  const std::string what = "custom kernel '" + kernel->name + "'";
  n.shape = broadcast_shapes(a.shape(), b.shape(), what.c_str());
  n.dtype = custom_result_dtype(a.dtype(), b.dtype());
  n.args = {a.node(), b.node()};
  n.kernel = std::move(kernel);
  return Lazy(make(std::move(n)));
}

Lazy operator+(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Add, a, b); }
Lazy operator-(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Sub, a, b); }
Lazy operator*(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Mul, a, b); }
Lazy operator/(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Div, a, b); }
Lazy operator-(const Lazy& a) { return unary(UnaryOp::Neg, a); }
Lazy operator+(const Lazy& a, double b) { return a + scalar_like(b, a); }
Lazy operator-(const Lazy& a, double b) { return a - scalar_like(b, a); }
Lazy operator*(const Lazy& a, double b) { return a * scalar_like(b, a); }
Lazy operator/(const Lazy& a, double b) { return a / scalar_like(b, a); }
Lazy operator+(double a, const Lazy& b) { return scalar_like(a, b) + b; }
Lazy operator-(double a, const Lazy& b) { return scalar_like(a, b) - b; }
Lazy operator*(double a, const Lazy& b) { return scalar_like(a, b) * b; }
Lazy operator/(double a, const Lazy& b) { return scalar_like(a, b) / b; }

Lazy sum(const Lazy& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  return reduce_node(ReduceOp::Sum, a, axes, keepdims, "sum");
}
Lazy mean(const Lazy& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  return reduce_node(ReduceOp::Mean, a, axes, keepdims, "mean");
}
Lazy max(const Lazy& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  return reduce_node(ReduceOp::Max, a, axes, keepdims, "max");
}
Lazy min(const Lazy& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  return reduce_node(ReduceOp::Min, a, axes, keepdims, "min");
}

PlanCacheStats plan_cache_stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return {c.hits, c.misses, c.plans.size()};
}

void clear_plan_cache() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.plans.clear();
  c.hits = c.misses = 0;
}

}  // namespace miso::tmath
