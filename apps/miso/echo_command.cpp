// `miso echo ...`: ECHO-PRIME timelines from the command line.
//   check FILE                 paradoxes with explanations; exit 1 when there are any
//   query FILE --at T          fluents holding at T and the nodes at T (--until T2: the
//                              nodes from T to T2; --branch B)
//   schedule FILE              earliest/latest time of every node and a consistent schedule
//   resolve FILE --out FIXED   applies the cheapest resolution of each branch and saves
// FILE is JSON (.json) or ECHO-PRIME binary (.echo); see docs/echo-format.md.
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/echo/format.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/echo/stn.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/omega/api.hpp"

namespace miso::app {

namespace {

using echo::BranchId;
using echo::NodeId;
using echo::Tick;
using echo::World;

struct EchoOptions {
  std::string file;
  std::string out;
  std::string branch = "main";
  Tick at = 0;
  std::optional<Tick> until;
  bool json = false;
};

[[noreturn]] void usage(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

BranchId branch_of(const World& w, const std::string& name) {
  auto b = w.find_branch(name);
  if (!b) usage("echo: no branch named '" + name + "'");
  return *b;
}

int run_check(const EchoOptions& o) {
  const World w = echo::load_world(o.file);
  const echo::CheckReport r = echo::check(w);
  if (o.json) {
    std::cout << omega::check_json(w, r).dump(2) << "\n";
  } else if (r.consistent()) {
    std::cout << fmt::format("{}: consistent ({} branches, {} constraints, {} links)\n", o.file, w.branch_count(),
                             w.constraints().size(), w.links().size());
  } else {
    std::cout << fmt::format("{}: {} paradox{}\n", o.file, r.paradoxes.size(), r.paradoxes.size() == 1 ? "" : "es");
    for (const echo::Paradox& p : r.paradoxes) {
      std::cout << fmt::format("  [{}] on {}: {}\n", echo::to_string(p.kind), w.branch_name(p.branches.front()),
                               p.message);
    }
  }
  return r.consistent() ? kExitOk : kExitFailed;
}

int run_query(const EchoOptions& o) {
  const World w = echo::load_world(o.file);
  const BranchId b = branch_of(w, o.branch);
  const echo::Timeline& t = w.timeline(b);
  std::vector<std::string> fluents;
  for (echo::Symbol f : t.state_at(o.at)) fluents.push_back(w.text(f));
  std::vector<std::string> nodes;
  const Tick until = o.until.value_or(o.at);
  if (until < o.at) usage("echo query: --until " + std::to_string(until) + " is before --at " + std::to_string(o.at));
  const auto [first, last] = t.range(o.at, until);
  for (std::size_t i = first; i < last; ++i) {
    if (!t[i].free()) nodes.push_back(w.node_name(t[i].id));
  }
  if (o.json) {
    std::cout << nlohmann::json(
                     {{"branch", o.branch}, {"at", o.at}, {"until", until}, {"holds", fluents}, {"nodes", nodes}})
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("at {} {} on {}:\n  holds: {}\n  nodes{}: {}\n", o.at, w.unit(), o.branch,
                           fluents.empty() ? "(nothing)" : fmt::format("{}", fmt::join(fluents, ", ")),
                           until == o.at ? std::string() : fmt::format(" until {}", until),
                           nodes.empty() ? "(none)" : fmt::format("{}", fmt::join(nodes, ", ")));
  return kExitOk;
}

int run_schedule(const EchoOptions& o) {
  const World w = echo::load_world(o.file);
  const BranchId b = branch_of(w, o.branch);
  echo::Checker checker(w);
  const echo::CheckReport& r = checker.update();
  const echo::Stn& stn = checker.network(b);
  const std::vector<NodeId>& points = checker.points(b);
  const echo::Timeline& t = w.timeline(b);
  nlohmann::json earliest = nlohmann::json::object(), latest = nlohmann::json::object(),
                 schedule = nlohmann::json::object();
  const bool consistent = stn.consistent();
  if (consistent) {
    const std::vector<Tick> times = stn.schedule();
    std::unordered_map<NodeId, echo::PointId> point_of;
    for (std::size_t p = 1; p < points.size(); ++p) point_of.emplace(points[p], static_cast<echo::PointId>(p));
    for (std::size_t i = 0; i < t.size(); ++i) {
      const echo::NodeView v = t[i];
      const std::string name = w.node_name(v.id);
      auto it = point_of.find(v.id);
      if (it == point_of.end()) {  // no constraint mentions it: its own time, or free and unbounded
        earliest[name] = v.free() ? nlohmann::json(nullptr) : nlohmann::json(v.time);
        latest[name] = v.free() ? nlohmann::json(nullptr) : nlohmann::json(v.time);
        schedule[name] = v.free() ? v.key : v.time;
        continue;
      }
      const auto lo = stn.earliest(it->second), hi = stn.latest(it->second);
      earliest[name] = lo ? nlohmann::json(*lo) : nlohmann::json(nullptr);
      latest[name] = hi ? nlohmann::json(*hi) : nlohmann::json(nullptr);
      schedule[name] = times[it->second];
    }
  }
  if (o.json) {
    std::cout << nlohmann::json(
                     {{"consistent", consistent}, {"earliest", earliest}, {"latest", latest}, {"schedule", schedule}})
                     .dump(2)
              << "\n";
    return consistent ? kExitOk : kExitFailed;
  }
  if (!consistent) {
    std::cout << fmt::format("{}: branch {} has inconsistent constraints; no schedule ('miso echo check')\n", o.file,
                             o.branch);
    (void)r;
    return kExitFailed;
  }
  std::cout << fmt::format("{:<24} {:>14} {:>14} {:>14}\n", "node", "earliest", "latest", "schedule");
  auto text = [](const nlohmann::json& v) { return v.is_null() ? std::string("-") : v.dump(); };
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string name = w.node_name(t[i].id);
    std::cout << fmt::format("{:<24} {:>14} {:>14} {:>14}\n", name, text(earliest[name]), text(latest[name]),
                             text(schedule[name]));
  }
  return kExitOk;
}

int run_resolve(const EchoOptions& o) {
  World w = echo::load_world(o.file);
  nlohmann::json applied = nlohmann::json::array();
  // Each branch with paradoxes: the least-cost relaxation of its constraints
  // first; what remains (contradictions, causal conflicts among fixed times) by
  // forking on the first remaining paradox, whose alternatives are then
  // resolved in turn. A forked branch stays as it was recorded: it is
  // "superseded" by its alternatives.
  std::vector<BranchId> work;
  for (BranchId b = 0; b < w.branch_count(); ++b) work.push_back(b);
  std::vector<bool> superseded;
  constexpr std::size_t kMaxBranches = 256;
  for (std::size_t k = 0; k < work.size(); ++k) {
    const BranchId b = work[k];
    for (int round = 0; round < 64; ++round) {
      const std::vector<echo::Resolution> options = echo::propose(w, b);
      if (options.empty()) break;
      const echo::Resolution& r = options.front();
      if (r.kind == echo::Resolution::Kind::Fork && w.branch_count() + r.alternatives.size() > kMaxBranches) {
        usage("echo resolve: resolving " + o.file + " would need more than " + std::to_string(kMaxBranches) +
              " branches; resolve it in parts");
      }
      const std::vector<BranchId> made = echo::apply(w, r);
      applied.push_back({{"branch", w.branch_name(b)}, {"description", r.description}});
      if (r.kind == echo::Resolution::Kind::Fork) {
        superseded.resize(w.branch_count(), false);
        superseded[b] = true;
        work.insert(work.end(), made.begin(), made.end());
        break;
      }
    }
  }
  superseded.resize(w.branch_count(), false);
  echo::save_world(w, o.out);
  const echo::CheckReport after = echo::check(w);
  std::size_t left = 0;
  for (const echo::Paradox& p : after.paradoxes) {
    for (BranchId b : p.branches) {
      if (!superseded[b]) {
        ++left;
        break;
      }
    }
  }
  nlohmann::json kept = nlohmann::json::array();
  for (BranchId b = 0; b < w.branch_count(); ++b) {
    if (superseded[b]) kept.push_back(w.branch_name(b));
  }
  if (o.json) {
    std::cout << nlohmann::json({{"applied", applied}, {"out", o.out}, {"superseded", kept}, {"paradoxes_left", left}})
                     .dump(2)
              << "\n";
  } else {
    for (const auto& a : applied) {
      std::cout << fmt::format("{}: {}\n", a["branch"].get<std::string>(), a["description"].get<std::string>());
    }
    std::cout << fmt::format("wrote {} ({} paradoxes left outside the {} branches kept as recorded)\n", o.out, left,
                             kept.size());
  }
  return kExitOk;
}

}  // namespace

void add_echo_commands(CLI::App& app, Action& action) {
  auto o = std::make_shared<EchoOptions>();
  CLI::App* e = app.add_subcommand("echo", "ECHO-PRIME: timelines, temporal constraints and paradoxes");
  e->require_subcommand(1);
  auto file = [o](CLI::App* c) {
    c->add_option("FILE", o->file, "Timeline file (.json or .echo)")->required();
    c->add_flag("--json", o->json, "Print one JSON document on stdout");
  };

  CLI::App* check = e->add_subcommand("check", "List paradoxes with explanations (exit 1 when there are any)");
  file(check);
  check->callback([o, &action] { action = [o] { return run_check(*o); }; });

  CLI::App* query = e->add_subcommand("query", "Fluents that hold at a time, and the nodes at it (or in a window)");
  file(query);
  query->add_option("--at", o->at, "The time, in the file's ticks")->required();
  query->add_option("--until", o->until, "List the nodes from --at to this time (default: at --at only)");
  query->add_option("--branch", o->branch, "Branch name (default main)");
  query->callback([o, &action] { action = [o] { return run_query(*o); }; });

  CLI::App* schedule = e->add_subcommand("schedule", "Earliest and latest time of every node, and a schedule");
  file(schedule);
  schedule->add_option("--branch", o->branch, "Branch name (default main)");
  schedule->callback([o, &action] { action = [o] { return run_schedule(*o); }; });

  CLI::App* resolve = e->add_subcommand("resolve", "Apply the cheapest resolution of every paradox and save");
  file(resolve);
  resolve->add_option("--out", o->out, "Where to write the resolved timeline (.json or .echo)")->required();
  resolve->callback([o, &action] { action = [o] { return run_resolve(*o); }; });
}

}  // namespace miso::app
