// MPRIME side by side with its peers, in one binary:
//   - the classic expansion benchmarks, gcd and factorisation of dense
//     multivariate polynomials: MISO (text in, canonical expression out), FLINT
//     called directly (polynomials built in FLINT, result left in FLINT), GiNaC
//     (text parsed by GiNaC's parser, expanded ex out) and SymPy (a python3
//     process, timed there);
//   - differentiation of a large expression: MISO vs GiNaC (vs SymPy);
//   - a compiled expression over 10^7 points vs a hand-written C++ loop (one
//     thread and both cores).
// Ratios to report: MISO / FLINT (goal <= 3), GiNaC / MISO (goal >= 50 on the
// polynomial benchmarks, >= 1 on differentiation), MISO compiled / hand loop
// (goal <= 1.5).
#include <benchmark/benchmark.h>
#include <flint/fmpz_mpoly.h>
#include <flint/fmpz_mpoly_factor.h>

#include <ginac/ginac.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "miso/mprime/diff.hpp"
#include "miso/mprime/evaluate.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/tmath/tensor.hpp"

namespace {

namespace mp = miso::mprime;

const char* const kExpand20 = "(x+y+z+1)^20*((x+y+z+1)^20+1)";
const char* const kExpand15 = "(x+y+z+w)^15*((x+y+z+w)^15+w)";

// ---- expansion -------------------------------------------------------------

void BM_Miso_Expand(benchmark::State& state, const char* text) {
  std::size_t terms = 0;
  for (auto _ : state) {
    const mp::Expr e = mp::expand(mp::parse(text));
    terms = e.size();
    benchmark::DoNotOptimize(e.id());
  }
  state.counters["terms"] = static_cast<double>(terms);
}
BENCHMARK_CAPTURE(BM_Miso_Expand, x_y_z_1_pow20, kExpand20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Miso_Expand, x_y_z_w_pow15, kExpand15)->Unit(benchmark::kMillisecond)->UseRealTime();

struct FlintVars {
  fmpz_mpoly_ctx_t ctx;
  std::vector<fmpz_mpoly_struct> gens;
  explicit FlintVars(slong n) : gens(static_cast<std::size_t>(n)) {
    fmpz_mpoly_ctx_init(ctx, n, ORD_LEX);
    for (slong i = 0; i < n; ++i) {
      fmpz_mpoly_init(&gens[static_cast<std::size_t>(i)], ctx);
      fmpz_mpoly_gen(&gens[static_cast<std::size_t>(i)], i, ctx);
    }
  }
  ~FlintVars() {
    for (auto& g : gens) fmpz_mpoly_clear(&g, ctx);
    fmpz_mpoly_ctx_clear(ctx);
  }
  FlintVars(const FlintVars&) = delete;
  FlintVars& operator=(const FlintVars&) = delete;
};

// FLINT alone: (g0 + g1 + g2 + last)^n * ((...)^n + extra).
void flint_expand(benchmark::State& state, int n, bool four_vars) {
  FlintVars v(four_vars ? 4 : 3);
  fmpz_mpoly_t s, p, q, r;
  fmpz_mpoly_init(s, v.ctx);
  fmpz_mpoly_init(p, v.ctx);
  fmpz_mpoly_init(q, v.ctx);
  fmpz_mpoly_init(r, v.ctx);
  slong terms = 0;
  for (auto _ : state) {
    fmpz_mpoly_add(s, &v.gens[0], &v.gens[1], v.ctx);
    fmpz_mpoly_add(s, s, &v.gens[2], v.ctx);
    if (four_vars) {
      fmpz_mpoly_add(s, s, &v.gens[3], v.ctx);
    } else {
      fmpz_mpoly_add_ui(s, s, 1, v.ctx);
    }
    fmpz_mpoly_pow_ui(p, s, static_cast<ulong>(n), v.ctx);
    if (four_vars) {
      fmpz_mpoly_add(q, p, &v.gens[3], v.ctx);
    } else {
      fmpz_mpoly_add_ui(q, p, 1, v.ctx);
    }
    fmpz_mpoly_mul(r, p, q, v.ctx);
    terms = fmpz_mpoly_length(r, v.ctx);
  }
  state.counters["terms"] = static_cast<double>(terms);
  fmpz_mpoly_clear(s, v.ctx);
  fmpz_mpoly_clear(p, v.ctx);
  fmpz_mpoly_clear(q, v.ctx);
  fmpz_mpoly_clear(r, v.ctx);
}
void BM_Flint_Expand_x_y_z_1_pow20(benchmark::State& state) { flint_expand(state, 20, false); }
void BM_Flint_Expand_x_y_z_w_pow15(benchmark::State& state) { flint_expand(state, 15, true); }
BENCHMARK(BM_Flint_Expand_x_y_z_1_pow20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Flint_Expand_x_y_z_w_pow15)->Unit(benchmark::kMillisecond)->UseRealTime();

GiNaC::ex ginac_parse(const std::string& text) {
  GiNaC::parser reader;
  return reader(text);
}

void BM_Ginac_Expand(benchmark::State& state, const char* text) {
  std::size_t terms = 0;
  for (auto _ : state) {
    const GiNaC::ex e = GiNaC::expand(ginac_parse(text));
    terms = e.nops();
  }
  state.counters["terms"] = static_cast<double>(terms);
}
BENCHMARK_CAPTURE(BM_Ginac_Expand, x_y_z_1_pow20, kExpand20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_Ginac_Expand, x_y_z_w_pow15, kExpand15)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// SymPy in a python3 process; the time is measured there around the work only.
double sympy_seconds(const std::string& body) {
  static const std::string python =
      std::system("python3 -c 'import sympy' >/dev/null 2>&1") == 0 ? "python3" : "/usr/bin/python3";
  const std::string script = python + " -c \"import time, sympy\nfrom sympy import *\n" + body + "\" 2>/dev/null";
  FILE* p = popen(script.c_str(), "r");
  double seconds = -1;
  if (p != nullptr) {
    if (std::fscanf(p, "%lf", &seconds) != 1) seconds = -1;
    pclose(p);
  }
  return seconds;
}

void BM_Sympy(benchmark::State& state, const char* body) {
  for (auto _ : state) {
    const double seconds = sympy_seconds(body);
    if (seconds < 0) {
      state.SkipWithError("python3 with SymPy is not available");
      break;
    }
    state.SetIterationTime(seconds);
  }
}
BENCHMARK_CAPTURE(BM_Sympy, expand_x_y_z_w_pow15,
                  "x, y, z, w = symbols('x y z w')\n"
                  "t = time.perf_counter()\n"
                  "e = expand(sympify('(x+y+z+w)**15*((x+y+z+w)**15+w)'))\n"
                  "print(time.perf_counter() - t)")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1);

// ---- gcd and factorisation of dense multivariate polynomials -----------------

// gcd(g*a, g*b) with g = (1+x+y+z)^8, a = (x-y+2z+3)^6, b = (2x+y-z-1)^6, all
// expanded: given to MISO and GiNaC as text, to FLINT as built polynomials.
struct GcdInput {
  std::string a, b;
  GcdInput() {
    const mp::Expr g = mp::parse("(1+x+y+z)^8");
    a = mp::to_string(mp::expand(g * mp::parse("(x-y+2*z+3)^6")));
    b = mp::to_string(mp::expand(g * mp::parse("(2*x+y-z-1)^6")));
  }
};
const GcdInput& gcd_input() {
  static const GcdInput in;
  return in;
}

void BM_Miso_Gcd(benchmark::State& state) {
  const GcdInput& in = gcd_input();
  std::size_t terms = 0;
  for (auto _ : state) {
    const mp::Expr g = mp::gcd(mp::parse(in.a), mp::parse(in.b));
    terms = g.size();
  }
  state.counters["terms"] = static_cast<double>(terms);
}
BENCHMARK(BM_Miso_Gcd)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Flint_Gcd(benchmark::State& state) {
  const GcdInput& in = gcd_input();
  fmpz_mpoly_ctx_t ctx;
  fmpz_mpoly_ctx_init(ctx, 3, ORD_LEX);
  const char* vars[] = {"x", "y", "z"};
  fmpz_mpoly_t a, b, g;
  fmpz_mpoly_init(a, ctx);
  fmpz_mpoly_init(b, ctx);
  fmpz_mpoly_init(g, ctx);
  if (fmpz_mpoly_set_str_pretty(a, in.a.c_str(), vars, ctx) != 0 ||
      fmpz_mpoly_set_str_pretty(b, in.b.c_str(), vars, ctx) != 0) {
    state.SkipWithError("FLINT could not read the polynomials");
  }
  for (auto _ : state) fmpz_mpoly_gcd(g, a, b, ctx);
  state.counters["terms"] = static_cast<double>(fmpz_mpoly_length(g, ctx));
  fmpz_mpoly_clear(a, ctx);
  fmpz_mpoly_clear(b, ctx);
  fmpz_mpoly_clear(g, ctx);
  fmpz_mpoly_ctx_clear(ctx);
}
BENCHMARK(BM_Flint_Gcd)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Ginac_Gcd(benchmark::State& state) {
  const GcdInput& in = gcd_input();
  std::size_t terms = 0;
  for (auto _ : state) {
    GiNaC::parser reader;  // one parser, so both texts share the symbols x, y, z
    const GiNaC::ex a = reader(in.a);
    const GiNaC::ex b = reader(in.b);
    terms = GiNaC::gcd(a, b).nops();
  }
  state.counters["terms"] = static_cast<double>(terms);
}
BENCHMARK(BM_Ginac_Gcd)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// factor of (x+y+z+1)^4 * (x^2 - y*z + 3)^3 * (x*y*z + x + 2)^2, expanded.
const std::string& factor_input() {
  static const std::string text = mp::to_string(mp::expand(mp::parse("(x+y+z+1)^4*(x^2-y*z+3)^3*(x*y*z+x+2)^2")));
  return text;
}

void BM_Miso_Factor(benchmark::State& state) {
  std::size_t factors = 0;
  for (auto _ : state) {
    const mp::Expr f = mp::factor(mp::parse(factor_input()));
    factors = f.size();
  }
  state.counters["factors"] = static_cast<double>(factors);
}
BENCHMARK(BM_Miso_Factor)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Flint_Factor(benchmark::State& state) {
  fmpz_mpoly_ctx_t ctx;
  fmpz_mpoly_ctx_init(ctx, 3, ORD_LEX);
  const char* vars[] = {"x", "y", "z"};
  fmpz_mpoly_t a;
  fmpz_mpoly_init(a, ctx);
  if (fmpz_mpoly_set_str_pretty(a, factor_input().c_str(), vars, ctx) != 0)
    state.SkipWithError("FLINT could not read the polynomial");
  slong factors = 0;
  for (auto _ : state) {
    fmpz_mpoly_factor_t f;
    fmpz_mpoly_factor_init(f, ctx);
    fmpz_mpoly_factor(f, a, ctx);
    factors = f->num;
    fmpz_mpoly_factor_clear(f, ctx);
  }
  state.counters["factors"] = static_cast<double>(factors);
  fmpz_mpoly_clear(a, ctx);
  fmpz_mpoly_ctx_clear(ctx);
}
BENCHMARK(BM_Flint_Factor)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Ginac_Factor(benchmark::State& state) {
  std::size_t factors = 0;
  for (auto _ : state) {
    const GiNaC::ex f = GiNaC::factor(ginac_parse(factor_input()));
    factors = f.nops();
  }
  state.counters["factors"] = static_cast<double>(factors);
}
BENCHMARK(BM_Ginac_Factor)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// ---- differentiation ---------------------------------------------------------

// A large expression: sum over k of sin(k*x + y)^2 * exp(x/k) * log(1 + x^k*y)
// / (1 + cos(x*y + k)), k = 1..400, differentiated in x (text in for both).
std::string diff_input() {
  std::string text;
  for (int k = 1; k <= 400; ++k) {
    const std::string n = std::to_string(k);
    if (k > 1) text += " + ";
    text += "sin(" + n + "*x + y)^2*exp(x/" + n + ")*log(1 + x^" + n + "*y)/(1 + cos(x*y + " + n + "))";
  }
  return text;
}

void BM_Miso_Diff(benchmark::State& state) {
  static const std::string text = diff_input();
  const mp::Expr x = mp::symbol("x");
  for (auto _ : state) benchmark::DoNotOptimize(mp::diff(mp::parse(text), x).id());
}
BENCHMARK(BM_Miso_Diff)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Ginac_Diff(benchmark::State& state) {
  static const std::string text = diff_input();
  for (auto _ : state) {
    GiNaC::parser reader;
    const GiNaC::ex e = reader(text);
    const GiNaC::symbol x = GiNaC::ex_to<GiNaC::symbol>(reader.get_syms()["x"]);
    benchmark::DoNotOptimize(e.diff(x).nops());
  }
}
BENCHMARK(BM_Ginac_Diff)->Unit(benchmark::kMillisecond)->UseRealTime();

// A deeply nested expression with shared parts: f(k+1) = sin(f(k)) * f(k) + x
// (depth 16). The DAG has ~70 nodes, the tree 2^16 times more; GiNaC, which
// differentiates the tree, doubles its time per level (depth 25 took it 440 s).
constexpr int kNestedDepth = 16;
void BM_Miso_DiffNested(benchmark::State& state) {
  const mp::Expr x = mp::symbol("x");
  mp::Expr f = x;
  for (int k = 0; k < kNestedDepth; ++k) f = mp::sin(f) * f + x;
  for (auto _ : state) benchmark::DoNotOptimize(mp::diff(f, x).id());
}
BENCHMARK(BM_Miso_DiffNested)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Ginac_DiffNested(benchmark::State& state) {
  const GiNaC::symbol x("x");
  GiNaC::ex f = x;
  for (int k = 0; k < kNestedDepth; ++k) f = GiNaC::sin(f) * f + x;
  for (auto _ : state) benchmark::DoNotOptimize(f.diff(x).nops());
}
BENCHMARK(BM_Ginac_DiffNested)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(1);

// ---- compiled evaluation over 10^7 points --------------------------------------

constexpr std::int64_t kPoints = 10'000'000;
const char* const kFormula = "x^3 - 2*x*y + exp(-x^2)/(1 + y^2)";

struct Points {
  miso::tmath::Tensor x, y;
  Points() {
    std::vector<double> xs(kPoints), ys(kPoints);
    for (std::int64_t i = 0; i < kPoints; ++i) {
      xs[static_cast<std::size_t>(i)] = -2.0 + 4.0 * static_cast<double>(i) / kPoints;
      ys[static_cast<std::size_t>(i)] = std::sin(static_cast<double>(i) * 1e-3);
    }
    x = miso::tmath::from_vector(xs, {kPoints});
    y = miso::tmath::from_vector(ys, {kPoints});
  }
};
const Points& points() {
  static const Points p;
  return p;
}

void BM_Miso_CompiledEval(benchmark::State& state) {
  const Points& p = points();
  const mp::Compiled c(mp::parse(kFormula), {mp::symbol("x"), mp::symbol("y")});
  const std::vector<miso::tmath::Tensor> in{p.x, p.y};
  for (auto _ : state) benchmark::DoNotOptimize(c.evaluate(in).raw_data());
  state.SetItemsProcessed(state.iterations() * kPoints);
}
BENCHMARK(BM_Miso_CompiledEval)->Unit(benchmark::kMillisecond)->UseRealTime();

double hand_formula(double x, double y) { return x * x * x - 2 * x * y + std::exp(-x * x) / (1 + y * y); }

void BM_HandLoop_OneThread(benchmark::State& state) {
  const Points& p = points();
  const double* x = p.x.data<double>();
  const double* y = p.y.data<double>();
  std::vector<double> out(kPoints);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kPoints; ++i) out[static_cast<std::size_t>(i)] = hand_formula(x[i], y[i]);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kPoints);
}
BENCHMARK(BM_HandLoop_OneThread)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HandLoop_AllCores(benchmark::State& state) {
  const Points& p = points();
  const double* x = p.x.data<double>();
  const double* y = p.y.data<double>();
  std::vector<double> out(kPoints);
  for (auto _ : state) {
    miso::nexus::parallel_for(0, static_cast<std::size_t>(kPoints), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) out[i] = hand_formula(x[i], y[i]);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kPoints);
}
BENCHMARK(BM_HandLoop_AllCores)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
