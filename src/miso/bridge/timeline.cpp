// Observations from ECHO-PRIME timelines and branch posteriors (timeline.hpp).
//
// A mapping is read with core::JsonText, which finds line:column only when an
// error is reported. observations_of walks a branch's nodes once, looking each
// mapped attribute up by its interned symbol (an attribute whose text the
// World never interned is on no node). branch_posteriors combines the branches
// in log space and normalises with the maximum subtracted, so branches whose
// likelihoods are e^-10000 still get their relative weights.
#include "miso/bridge/timeline.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/json_text.hpp"
#include "miso/profiler/span.hpp"

namespace miso::bridge {

namespace {

using ojson = core::OrderedJson;
using Path = core::JsonPath;

constexpr std::string_view kUnobserved = "?";

// The shortest text that reads back as exactly `x` (2.0 -> "2", 3.5 -> "3.5").
std::string number_text(double x) {
  std::array<char, 32> buf{};  // the longest shortest form of a double is 24 characters
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), x);
  if (ec != std::errc()) throw Error(Error::Kind::Internal, "timeline: to_chars failed");
  return std::string(buf.data(), end);
}

using core::json_kind_name;

Path entry_path(std::size_t i) { return {core::json_key("mapping"), core::json_item(i)}; }
Path entry_path(std::size_t i, const std::string& k) {
  return {core::json_key("mapping"), core::json_item(i), core::json_key(k)};
}

class MappingReader {
 public:
  MappingReader(std::string_view text, const std::string& source) : json_(text, source) {}

  Mapping read() const {
    const ojson root = json_.parse(core::JsonText::RepeatedKey::WithPath);
    if (!root.is_object())
      json_.fail({}, std::string("expected an object {\"mapping\": [...]}, found ") + json_kind_name(root));
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (it.key() != "mapping") {
        json_.fail_key({core::json_key(it.key())},
                       "unknown key \"" + it.key() + "\" (the file must be {\"mapping\": [...]})");
      }
    }
    const auto list = root.find("mapping");
    if (list == root.end()) json_.fail({}, "missing \"mapping\" (the file must be {\"mapping\": [...]})");
    const Path at_list{core::json_key("mapping")};
    if (!list->is_array()) json_.fail(at_list, std::string("mapping: expected a list, found ") + json_kind_name(*list));
    if (list->empty()) json_.fail(at_list, "mapping: the list must map at least one attribute");

    Mapping mapping;
    mapping.maps.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) mapping.maps.push_back(entry((*list)[i], i));

    // Each attribute is one observation and each variable gets one: repeats
    // would make a step's entries ambiguous.
    for (std::size_t i = 0; i < mapping.maps.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (mapping.maps[i].attribute == mapping.maps[j].attribute) {
          json_.fail(entry_path(i, "attribute"), where(i) + ": attribute \"" + mapping.maps[i].attribute +
                                                     "\" is already mapped by mapping[" + std::to_string(j) + "]");
        }
        if (mapping.maps[i].variable == mapping.maps[j].variable) {
          json_.fail(entry_path(i, "variable"), where(i) + ": variable \"" + mapping.maps[i].variable +
                                                    "\" is already mapped by mapping[" + std::to_string(j) + "]");
        }
      }
    }
    return mapping;
  }

 private:
  static std::string where(std::size_t i) { return "mapping[" + std::to_string(i) + "]"; }

  AttributeMap entry(const ojson& e, std::size_t i) const {
    if (!e.is_object()) {
      json_.fail(entry_path(i),
                 where(i) + ": expected an object {\"attribute\": ..., \"variable\": ...}, found " + json_kind_name(e));
    }
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (it.key() != "attribute" && it.key() != "variable" && it.key() != "values") {
        json_.fail_key(entry_path(i, it.key()),
                       where(i) + ": unknown key \"" + it.key() + "\" (expected attribute, variable, values)");
      }
    }
    AttributeMap map;
    map.attribute = name(e, i, "attribute");
    map.variable = name(e, i, "variable");
    if (const auto values = e.find("values"); values != e.end()) {
      const Path at = entry_path(i, "values");
      if (!values->is_object()) {
        json_.fail(
            at, where(i) + ": \"values\" must be an object {attribute value: state}, found " + json_kind_name(*values));
      }
      map.values.reserve(values->size());
      for (auto it = values->begin(); it != values->end(); ++it) {  // repeated keys: parse() rejected them
        if (!it.value().is_string()) {
          Path vp = at;
          vp.push_back(core::json_key(it.key()));
          json_.fail(vp, where(i) + ": values[\"" + it.key() + "\"] must be a state name (a text), found " +
                             json_kind_name(it.value()));
        }
        std::string state = it.value().get<std::string>();
        if (state.empty()) {
          Path vp = at;
          vp.push_back(core::json_key(it.key()));
          json_.fail(vp, where(i) + ": values[\"" + it.key() + "\"]: a state name must not be empty");
        }
        map.values.emplace_back(it.key(), std::move(state));
      }
    }
    return map;
  }

  // A required, non-empty text field.
  std::string name(const ojson& e, std::size_t i, const char* field) const {
    const auto it = e.find(field);
    if (it == e.end()) json_.fail(entry_path(i), where(i) + ": missing \"" + field + "\"");
    if (!it->is_string()) {
      json_.fail(entry_path(i, field), where(i) + ": \"" + field + "\" must be a text, found " + json_kind_name(*it));
    }
    std::string out = it->get<std::string>();
    if (out.empty()) json_.fail(entry_path(i, field), where(i) + ": \"" + field + "\" must not be empty");
    return out;
  }

  core::JsonText json_;
};

// The checks log_likelihood makes on its inputs besides impossibility, made
// here first so that a broken `compile` is reported as such and is never taken
// for an impossible observation sequence.
void check_compiled(const Chain& chain, const Likelihoods& likelihoods, const std::vector<std::uint32_t>& observations,
                    const std::string& branch) {
  const auto fail = [&](const std::string& message) {
    throw Error(Error::Kind::InvalidArgument, "branch_posteriors: branch '" + branch + "': compile " + message);
  };
  if (likelihoods.states != chain.size()) {
    fail("gave likelihood rows of " + std::to_string(likelihoods.states) + " entries for a chain of " +
         std::to_string(chain.size()) + " states");
  }
  if (likelihoods.rows.size() % chain.size() != 0) {
    fail("gave " + std::to_string(likelihoods.rows.size()) + " likelihood values, not a multiple of " +
         std::to_string(chain.size()));
  }
  for (std::size_t i = 0; i < likelihoods.rows.size(); ++i) {
    const double v = likelihoods.rows[i];
    if (!std::isfinite(v) || v < 0) {
      fail("gave likelihood row " + std::to_string(i / chain.size()) + ", state " + std::to_string(i % chain.size()) +
           " = " + number_text(v) + " (must be finite and non-negative)");
    }
  }
  const std::size_t rows = likelihoods.count();
  for (std::size_t t = 0; t < observations.size(); ++t) {
    if (observations[t] >= rows) {
      fail("gave observation " + std::to_string(t) + " = row " + std::to_string(observations[t]) + " of only " +
           std::to_string(rows) + " rows");
    }
  }
}

}  // namespace

Mapping parse_mapping(std::string_view json, const std::string& source) {
  MISO_PROFILE_SCOPE("bridge.parse_mapping");
  return MappingReader(json, source).read();
}

Mapping load_mapping(const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("bridge.load_mapping");
  const std::string text = core::read_file(path);
  return parse_mapping(text, path.string());
}

TimelineObservations observations_of(const echo::World& world, echo::BranchId b, const Mapping& mapping) {
  MISO_PROFILE_SCOPE("bridge.observations_of");
  const echo::Timeline& timeline = world.timeline(b);  // Error for an unknown branch

  // Per map: the attribute's symbol (none when the World never interned it, so
  // no node has it) and the value table as a hash map (empty: identity).
  struct Lookup {
    std::optional<echo::Symbol> key;
    std::unordered_map<std::string_view, std::string_view> values;
  };
  std::vector<Lookup> lookups(mapping.maps.size());
  for (std::size_t m = 0; m < mapping.maps.size(); ++m) {
    const AttributeMap& map = mapping.maps[m];
    lookups[m].key = world.lookup(map.attribute);
    lookups[m].values.reserve(map.values.size());
    for (const auto& [from, to] : map.values) lookups[m].values.emplace(from, to);  // the first of equal keys wins
  }

  TimelineObservations out;
  std::vector<std::string> step(mapping.maps.size());
  for (std::size_t pos = 0; pos < timeline.size(); ++pos) {
    const echo::NodeView node = timeline[pos];
    bool any = false;
    for (std::size_t m = 0; m < lookups.size(); ++m) {
      const std::optional<echo::Value> value =
          lookups[m].key ? node.attribute(*lookups[m].key) : std::optional<echo::Value>{};
      if (!value) {
        step[m] = std::string(kUnobserved);  // a move: GCC 12 misreports assigning the view (-Wrestrict)
        continue;
      }
      any = true;
      std::string text =
          value->kind == echo::Value::Kind::Number ? number_text(value->number) : world.text(value->text);
      if (!lookups[m].values.empty()) {
        const auto it = lookups[m].values.find(text);
        if (it == lookups[m].values.end()) {
          std::string known;
          for (const auto& [from, to] : mapping.maps[m].values) known += (known.empty() ? "'" : ", '") + from + "'";
          throw Error(Error::Kind::InvalidArgument,
                      "branch '" + world.branch_name(b) + "', node '" + world.node_name(node.id) + "': attribute '" +
                          mapping.maps[m].attribute + "' has value '" + text + "', which the mapping for variable '" +
                          mapping.maps[m].variable + "' does not list (known: " + known + ")");
        }
        text = std::string(it->second);
      }
      step[m] = std::move(text);
    }
    if (!any) continue;  // a node that observes nothing is not a step
    out.steps.push_back(step);
    out.nodes.push_back(node.id);
  }
  return out;
}

// Impossible observations: log_likelihood throws Error(InvalidArgument) when
// an observation has probability zero. Its other InvalidArgument cases (sizes,
// rows out of range, bad entries) are checked beforehand (chain.validate(),
// check_compiled), so what is caught is impossibility, plus the message test
// below to keep a forward overflow or any new failure from passing as a
// posterior of 0. Other error kinds propagate.
std::vector<BranchBelief> branch_posteriors(const echo::World& world, const std::vector<echo::BranchId>& branches,
                                            const Chain& chain, const Mapping& mapping, const Compile& compile) {
  MISO_PROFILE_SCOPE("bridge.branch_posteriors");
  if (branches.empty()) throw Error(Error::Kind::InvalidArgument, "branch_posteriors: no branches given");
  chain.validate();
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();

  std::vector<BranchBelief> out;
  out.reserve(branches.size());
  for (const echo::BranchId b : branches) {
    BranchBelief belief;
    belief.branch = b;
    const echo::Timeline& timeline = world.timeline(b);

    // The prior: what b adds after it leaves main (main's own nodes count 1).
    if (b != world.main()) {
      for (std::size_t pos = world.first_divergence(world.main(), b); pos < timeline.size(); ++pos) {
        belief.log_prior += std::log(timeline[pos].probability);  // ln 0 = -inf: the branch cannot happen
      }
    }

    const TimelineObservations observed = observations_of(world, b, mapping);
    const auto [likelihoods, rows] = compile(observed.steps);
    check_compiled(chain, likelihoods, rows, world.branch_name(b));
    try {
      belief.log_likelihood = log_likelihood(chain, likelihoods, rows);
    } catch (const Error& e) {
      if (e.kind() != Error::Kind::InvalidArgument ||
          std::string_view(e.what()).find("has probability zero") == std::string_view::npos) {
        throw;
      }
      belief.log_likelihood = kNegInf;  // ln P = ln 0
    }
    out.push_back(belief);
  }

  double top = kNegInf;
  for (const BranchBelief& belief : out) top = std::max(top, belief.log_prior + belief.log_likelihood);
  if (top == kNegInf) {
    std::string names;
    for (const BranchBelief& belief : out)
      names += (names.empty() ? "'" : ", '") + world.branch_name(belief.branch) + "'";
    throw Error(
        Error::Kind::InvalidArgument,
        "branch_posteriors: every branch is impossible (prior 0 or observations of probability zero): " + names);
  }
  double total = 0;
  for (BranchBelief& belief : out) {
    belief.posterior = std::exp(belief.log_prior + belief.log_likelihood - top);  // exp(-inf) = 0
    total += belief.posterior;
  }
  for (BranchBelief& belief : out) belief.posterior /= total;  // total >= 1: the maximum contributes exp(0)
  return out;
}

}  // namespace miso::bridge
