#include "miso/mprime/workload.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/evaluate.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/simplify.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"

namespace miso::mprime {

namespace {

constexpr const char* kName = "mprime.corpus";
constexpr const char* kKind = "exprs";  // at most 8 characters
// Every line is parsed, differentiated and evaluated; the full simplify (which
// tries cancel, factor, expand and rewrite rules) runs on one line in this many.
constexpr std::size_t kSimplifyEvery = 32;

// Random expressions over x and y whose values stay finite and moderate for
// x, y in [0.5, 1.5]: denominators are kept away from zero (2 + cos(..)),
// logarithms and roots see positive arguments, exponentials bounded ones.
class CorpusWriter {
 public:
  explicit CorpusWriter(std::uint64_t seed) : rng_(seed ^ 0x6d7072696d650000ULL) {}

  void line(std::string& out) {
    if (pick(4) == 0) {
      // A shared subexpression: the DAG stores it once.
      std::string shared;
      expr(shared, 2);
      out += "(" + shared + ")*sin(" + shared + ") + ";
    }
    expr(out, 1 + static_cast<int>(pick(3)));
    out += '\n';
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return rng_.next() % n; }

  void leaf(std::string& out) {
    switch (pick(7)) {
      case 0:
      case 1: out += 'x'; break;
      case 2: out += 'y'; break;
      case 3: out += std::to_string(1 + pick(9)); break;
      case 4: out += std::to_string(1 + pick(9)) + "/" + std::to_string(2 + pick(7)); break;
      case 5: out += std::to_string(2 + pick(7)) + "x"; break;  // implicit product
      default: out += "x*y"; break;
    }
  }

  void expr(std::string& out, int depth) {
    if (depth == 0) {
      leaf(out);
      return;
    }
    auto sub = [&](std::string& o) { expr(o, depth - 1); };
    std::string a, b;
    sub(a);
    switch (pick(12)) {
      case 0: out += "sin(" + a + ")"; break;
      case 1: out += "cos(" + a + ")"; break;
      case 2: out += "exp(sin(" + a + "))"; break;
      case 3: out += "log(2 + cos(" + a + "))"; break;
      case 4: out += "sqrt(1 + (" + a + ")^2)"; break;
      case 5: out += "atan(" + a + ")"; break;
      case 6:
        // Powers only of small operands: nested powers (x^27) would make lines
        // no finite difference can check.
        if (depth == 1) {
          out += "(" + a + ")^" + std::to_string(2 + pick(2));
        } else {
          out += "(" + a + ")*(" + a + ")";
        }
        break;
      case 7:
        sub(b);
        out += "(" + a + ")/(2 + cos(" + b + "))";
        break;
      case 8:
        sub(b);
        out += a + " - " + b;
        break;
      case 9:
        sub(b);
        out += "(" + a + ")*(" + b + ")";
        break;
      case 10: out += "tanh(" + a + ")"; break;
      default:
        sub(b);
        out += a + " + " + b;
        break;
    }
  }

  core::SplitMix64 rng_;
};

std::string generate_corpus(std::uint64_t bytes, std::uint64_t seed) {
  std::string text;
  text.reserve(bytes + 256);
  CorpusWriter writer(seed);
  while (text.size() < bytes) writer.line(text);
  return text;
}

struct LineCheck {
  std::uint64_t lines = 0, simplified = 0, nodes = 0, derivative_nodes = 0, failures = 0, unresolved = 0;
  double worst = 0;  // largest scaled derivative error
  std::string first_failure;
};

class CorpusWorkload final : public profiler::Workload {
 public:
  void prepare(const profiler::WorkloadContext& ctx) override {
    seed_ = ctx.seed;
    if (!ctx.data_dir.empty()) {
      const auto bytes =
          profiler::read_data_array<char>(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind, seed_);
      text_.assign(bytes.begin(), bytes.end());
    } else {
      MISO_PROFILE_SCOPE("mprime.workload.generate");
      text_ = generate_corpus(profiler::target_bytes(ctx.size), seed_);
    }
    lines_.clear();
    std::size_t start = 0;
    while (start < text_.size()) {
      std::size_t end = text_.find('\n', start);
      if (end == std::string::npos) end = text_.size();
      if (end > start) lines_.push_back({start, end - start});
      start = end + 1;
    }
  }
  std::uint64_t input_bytes() const override { return text_.size(); }

  void run(const profiler::WorkloadContext& /*ctx*/) override {
    MISO_PROFILE_SCOPE("mprime.workload");
    std::mutex merge;
    LineCheck total;
    nexus::parallel_for(
        0, lines_.size(),
        [&](std::size_t begin, std::size_t end) {
          LineCheck part;
          for (std::size_t i = begin; i < end; ++i) check_line(i, part);
          std::lock_guard lock(merge);
          total.lines += part.lines;
          total.simplified += part.simplified;
          total.nodes += part.nodes;
          total.derivative_nodes += part.derivative_nodes;
          total.failures += part.failures;
          total.unresolved += part.unresolved;
          total.worst = std::max(total.worst, part.worst);
          if (total.first_failure.empty()) total.first_failure = part.first_failure;
        },
        256);
    // Lines too steep for any finite difference at the sampled point must stay rare.
    const bool resolved = total.unresolved * 50 <= total.lines;
    if (total.failures == 0 && total.lines == lines_.size() && resolved) {
      result_ = {true, "parsed, differentiated and evaluated " + std::to_string(total.lines) + " expressions (" +
                           std::to_string(total.nodes) + " DAG nodes, derivatives " +
                           std::to_string(total.derivative_nodes) + "), simplified " +
                           std::to_string(total.simplified) +
                           " (value unchanged); every d/dx agrees with an extrapolated central difference (worst "
                           "error " +
                           std::to_string(total.worst) + " of its estimated accuracy; " +
                           std::to_string(total.unresolved) + " lines too steep to resolve at their point)"};
    } else {
      result_ = {false, std::string(kName) + ": " + std::to_string(total.failures) + " of " +
                            std::to_string(lines_.size()) + " lines failed, " + std::to_string(total.unresolved) +
                            " unresolved; first failure: " + total.first_failure};
    }
  }

  profiler::CheckResult check() const override { return result_; }

  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override {
    auto path = profiler::input_file(dir, kName, ctx.size);
    profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(text_.data(), text_.size())));
    return {path};
  }

 private:
  void check_line(std::size_t i, LineCheck& out) const {
    const std::string_view text(text_.data() + lines_[i].first, lines_[i].second);
    auto fail = [&](const std::string& why) {
      ++out.failures;
      if (out.first_failure.empty())
        out.first_failure = "line " + std::to_string(i + 1) + " '" + std::string(text) + "': " + why;
    };
    try {
      const Expr x = symbol("x");
      Expr f;
      {
        MISO_PROFILE_SCOPE("mprime.workload.parse");
        f = parse(text);
      }
      Expr df;
      {
        MISO_PROFILE_SCOPE("mprime.workload.diff");
        df = diff(f, x);
      }
      ++out.lines;
      out.nodes += f.dag_size();
      out.derivative_nodes += df.dag_size();
      // A point in [0.5, 1.5]^2 that depends only on the line number.
      core::SplitMix64 rng(seed_ + i * 0x9e3779b97f4a7c15ULL);
      const double px = 0.5 + rng.next_double(), py = 0.5 + rng.next_double();
      MISO_PROFILE_SCOPE("mprime.workload.evaluate");
      const Values at{{"x", px}, {"y", py}};
      const double value = evaluate(f, at);
      const double slope = evaluate(df, at);
      auto central = [&](double h) {
        return (evaluate(f, {{"x", px + h}, {"y", py}}) - evaluate(f, {{"x", px - h}, {"y", py}})) / (2 * h);
      };
      // Richardson-extrapolated central differences at h and h/2; their gap
      // estimates the truncation error, so steep lines (cos((7x)^3)) are judged
      // by what the finite difference can resolve there, and lines where it
      // resolves nothing are counted apart rather than passed.
      const double h = 1e-3;
      const double d1 = central(h), d2 = central(h / 2), d4 = central(h / 4);
      const double r1 = (4 * d2 - d1) / 3, r2 = (4 * d4 - d2) / 3;
      const double fd = (16 * r2 - r1) / 15;
      const double truncation = std::abs(r2 - r1);
      const double rounding = 1e-12 * (std::abs(value) + 1) / h;
      const double scale = 1e-7 * (1 + std::abs(slope)) + truncation + rounding;
      // Not in the asymptotic regime: even the h/4 difference is 1% off, or a
      // much smaller step disagrees (the three steps can alias on a fast
      // oscillation such as cos(4096 x^4) and agree on a wrong slope).
      const double fine = central(h / 64);
      const bool steep =
          std::abs(d4 - fd) > 1e-2 * (1 + std::abs(fd)) || std::abs(fine - fd) > 1e-3 * (1 + std::abs(fd));
      if (steep || truncation > 1e-4 * (1 + std::abs(slope))) {
        ++out.unresolved;
      } else {
        const double err = std::abs(slope - fd) / scale;
        out.worst = std::max(out.worst, err);
        if (!(err <= 10.0))
          fail("d/dx = " + std::to_string(slope) + " but the finite difference is " + std::to_string(fd));
      }
      if (i % kSimplifyEvery == 0) {
        Expr s;
        {
          MISO_PROFILE_SCOPE("mprime.workload.simplify");
          s = simplify(f);
        }
        const double sv = evaluate(s, {{"x", px}, {"y", py}});
        ++out.simplified;
        if (!(std::abs(sv - value) <= 1e-9 * (1 + std::abs(value))))
          fail("simplify changed the value from " + std::to_string(value) + " to " + std::to_string(sv));
      }
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  std::uint64_t seed_ = 0;
  std::string text_;
  std::vector<std::pair<std::size_t, std::size_t>> lines_;  // offset, length
  profiler::CheckResult result_;
};

}  // namespace

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "mprime",
                "parse, differentiate, evaluate (and every 32nd: simplify) a generated corpus of expressions; "
                "derivatives checked against finite differences",
                [] { return std::make_unique<CorpusWorkload>(); }});
}

}  // namespace miso::mprime
