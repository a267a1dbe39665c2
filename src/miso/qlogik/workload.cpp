#include "miso/qlogik/workload.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <span>
#include <sstream>

#include "miso/core/error.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/learning.hpp"

#ifndef MISO_DEFAULT_BNLEARN_DIR
#define MISO_DEFAULT_BNLEARN_DIR ""
#endif

namespace miso::qlogik {

namespace {

constexpr const char* kName = "qlogik.learn_query";

// Queries answered per run, by data-set size.
std::size_t queries_for(profiler::DataSize size) {
  switch (size) {
    case profiler::DataSize::Small: return 200;
    case profiler::DataSize::Medium: return 2000;
    case profiler::DataSize::Large: return 20000;
  }
  return 200;
}

// Evidence on `count` random variables at random states (seeded).
Evidence random_evidence(const Network& net, std::size_t count, std::mt19937_64& rng) {
  Evidence ev = no_evidence(net);
  for (std::size_t k = 0; k < count; ++k) {
    auto v = static_cast<std::size_t>(rng() % net.size());
    ev[v] = static_cast<int>(rng() % static_cast<std::uint64_t>(net.cardinality(static_cast<VarId>(v))));
  }
  return ev;
}

// Saved inputs are data files of this kind whose payload is the CSV text.
constexpr const char* kKind = "csv";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Error::Kind::Io, std::string(kName) + ": cannot read '" + path.string() + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Network random_network(std::size_t variables, std::size_t max_parents, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Network net(std::string("random").append(std::to_string(variables)));
  for (std::size_t v = 0; v < variables; ++v) {
    std::vector<std::string> states;
    const std::size_t card = 2 + rng() % 3;
    for (std::size_t s = 0; s < card; ++s) states.push_back(std::string("s").append(std::to_string(s)));
    net.add_variable(std::string("X").append(std::to_string(v)), states);
  }
  std::gamma_distribution<double> gamma(1.0, 1.0);
  for (std::size_t v = 0; v < variables; ++v) {
    std::vector<VarId> parents;
    const std::size_t want = v == 0 ? 0 : rng() % (std::min(v, max_parents) + 1);
    while (parents.size() < want) {
      auto p = static_cast<VarId>(rng() % v);
      if (std::find(parents.begin(), parents.end(), p) == parents.end()) parents.push_back(p);
    }
    std::int64_t rows = 1;
    for (VarId p : parents) rows *= net.cardinality(p);
    const std::int64_t card = net.cardinality(static_cast<VarId>(v));
    std::vector<double> table;
    for (std::int64_t r = 0; r < rows; ++r) {
      std::vector<double> row(static_cast<std::size_t>(card));
      double sum = 0;
      for (double& x : row) sum += (x = gamma(rng) + 1e-3);
      for (double x : row) table.push_back(x / sum);
    }
    net.set_cpt(static_cast<VarId>(v), parents, table);
  }
  return net;
}

WorkloadNetwork workload_network(std::uint64_t seed) {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("MISO_BNLEARN_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  if (*MISO_DEFAULT_BNLEARN_DIR != '\0') dirs.emplace_back(MISO_DEFAULT_BNLEARN_DIR);
  dirs.emplace_back("../shared/data/bnlearn");
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / "alarm.bif", ec)) {
      return {load_network((dir / "alarm.bif").string()), "alarm.bif from " + dir.string()};
    }
  }
  return {random_network(37, 3, seed), "a random 37-variable network (no bnlearn directory found)"};
}

void LearnQueryWorkload::prepare(const profiler::WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("qlogik.learn_query.prepare");
  seed_ = ctx.seed;
  queries_ = queries_for(ctx.size);
  csv_ = ctx.scratch_dir / "qlogik_observations.csv";
  if (!ctx.data_dir.empty()) {
    // A saved data set: verified (checksum) in memory, then put where the
    // learner streams it from, so learning runs in bounded memory either way.
    profiler::DataFile f = profiler::read_data_file(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind);
    seed_ = f.seed;
    source_ = workload_network(seed_);
    std::ofstream out(csv_, std::ios::binary);
    out.write(reinterpret_cast<const char*>(f.payload.data()), static_cast<std::streamsize>(f.payload.size()));
    out.close();
    if (!out) throw Error(Error::Kind::Io, std::string(kName) + ": writing '" + csv_.string() + "' failed");
    csv_bytes_ = f.payload.size();
    return;
  }
  source_ = workload_network(seed_);
  // Rows for the target size: measured from a first small sample.
  std::ostringstream probe;
  sample_csv(source_.network, 1000, seed_, probe);
  const std::string text = probe.str();
  const std::size_t header = text.find('\n') + 1;
  const double row_bytes = static_cast<double>(text.size() - header) / 1000.0;
  rows_ = std::max<std::uint64_t>(
      1000, static_cast<std::uint64_t>(static_cast<double>(profiler::target_bytes(ctx.size)) / row_bytes));
  std::ofstream out(csv_, std::ios::binary);
  if (!out) throw Error(Error::Kind::Io, std::string(kName) + ": cannot write '" + csv_.string() + "'");
  sample_csv(source_.network, rows_, seed_, out);
  out.close();
  if (!out) throw Error(Error::Kind::Io, std::string(kName) + ": writing '" + csv_.string() + "' failed");
  csv_bytes_ = std::filesystem::file_size(csv_);
}

void LearnQueryWorkload::run(const profiler::WorkloadContext&) {
  LearningStats stats;
  learned_ = learn_parameters_file(source_.network, csv_.string(), {}, &stats);
  rows_ = stats.rows;
  JunctionTree jt(learned_);
  std::mt19937_64 rng(seed_ + 1);
  sum_of_marginals_ = 0;
  for (std::size_t q = 0; q < queries_; ++q) {
    Evidence ev = random_evidence(learned_, q % 6, rng);
    Posterior post = jt.query(ev);
    for (const auto& m : post.marginals) {
      for (double p : m) sum_of_marginals_ += p;
    }
  }
}

profiler::CheckResult LearnQueryWorkload::check() const {
  if (learned_.size() != source_.network.size()) return {false, "nothing was learned"};
  // (1) The learned network's marginals converge to the generating network's:
  // with N complete rows their difference shrinks like 1/sqrt(N).
  JunctionTree truth(source_.network), learned(learned_);
  const Posterior a = truth.query(no_evidence(source_.network));
  const Posterior b = learned.query(no_evidence(learned_));
  double worst = 0;
  for (std::size_t v = 0; v < a.marginals.size(); ++v) {
    for (std::size_t s = 0; s < a.marginals[v].size(); ++s) {
      worst = std::max(worst, std::abs(a.marginals[v][s] - b.marginals[v][s]));
    }
  }
  const double bound = 8.0 / std::sqrt(static_cast<double>(std::max<std::uint64_t>(rows_, 1)));
  if (!(worst <= bound)) {
    return {false, "learned marginals differ from the generating network's by " + std::to_string(worst) + " after " +
                       std::to_string(rows_) + " rows (bound " + std::to_string(bound) + ")"};
  }
  // (2) Junction-tree marginals equal variable elimination's under evidence.
  std::mt19937_64 rng(seed_ + 2);
  double diff = 0;
  std::vector<VarId> all;
  for (std::size_t v = 0; v < learned_.size(); ++v) all.push_back(static_cast<VarId>(v));
  for (int q = 0; q < 10; ++q) {
    Evidence ev = random_evidence(learned_, 3, rng);
    Posterior jt = learned.query(ev);
    Posterior ve = variable_elimination(learned_, ev, all);
    if (jt.impossible() != ve.impossible()) return {false, "junction tree and VE disagree on impossible evidence"};
    for (std::size_t v = 0; v < all.size(); ++v) {
      for (std::size_t s = 0; s < jt.marginals[v].size(); ++s) {
        diff = std::max(diff, std::abs(jt.marginals[v][s] - ve.marginals[v][s]));
      }
    }
  }
  if (!(diff <= 1e-9)) return {false, "junction-tree marginals differ from VE by " + std::to_string(diff)};
  std::ostringstream detail;
  detail << "learned " << source_.network.size() << " CPTs of " << source_.origin << " from " << rows_
         << " rows; marginals within " << worst << " of the generating network (bound " << bound << "); " << queries_
         << " junction-tree queries; JT = VE within " << diff;
  return {true, detail.str()};
}

std::vector<std::filesystem::path> LearnQueryWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                                  const std::filesystem::path& dir) const {
  auto path = profiler::input_file(dir, kName, ctx.size);
  const std::string text = read_text(csv_);
  profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(text.data(), text.size())));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "qlogik",
                "sample a CSV from alarm, learn its CPTs back in one streaming pass, answer junction-tree queries",
                [] { return std::make_unique<LearnQueryWorkload>(); }});
}

}  // namespace miso::qlogik
