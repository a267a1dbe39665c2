// Timeline files as JSON (the schema: format.hpp and docs/echo-format.md).
//
// Reading: core::JsonText parses the text into an ordered DOM (attributes keep
// their order; duplicate keys are rejected); the reader then walks the DOM with
// a chain of path steps on the stack. Positions are not recorded while
// parsing: only an error needs one, and then JsonText scans the (valid) text
// along the failing value's path to find its line:column — a successful parse
// pays nothing for line:column reporting.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/core/json_text.hpp"
#include "miso/echo/format.hpp"
#include "miso/echo/format_detail.hpp"
#include "miso/echo/stn.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

namespace detail {

std::string external_name(const World& world, NodeId id) {
  std::string name = world.node_name(id);
  const std::string digits = std::to_string(id);
  // node_name's text for an unnamed node is "#<id>".
  if (name.size() == digits.size() + 1 && name[0] == '#' && name.compare(1, digits.size(), digits) == 0) return {};
  return name;
}

Layout layout_of(const World& world) {
  Layout layout;
  layout.branches.resize(world.branch_count());
  for (BranchId b = 0; b < world.branch_count(); ++b) {
    const Timeline& tl = world.timeline(b);
    BranchLayout& bl = layout.branches[b];
    bl.id = b;
    std::size_t first = 0;
    if (b != 0) {
      const BranchId parent = world.parent(b);
      if (parent >= b) {
        throw Error(Error::Kind::InvalidArgument, "branch '" + world.branch_name(b) + "': its parent '" +
                                                      world.branch_name(parent) +
                                                      "' was created after it; this world cannot be saved");
      }
      // The branch's own nodes follow the shared prefix (appends only go to the end).
      std::size_t lo = 0, hi = tl.size();
      while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (world.home(tl[mid].id) == b) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      first = lo;
      if (Timeline::first_divergence(tl, world.timeline(parent)) < first) {
        throw Error(Error::Kind::InvalidArgument,
                    "branch '" + world.branch_name(b) + "' no longer shares its prefix with its parent '" +
                        world.branch_name(parent) + "' (a merge changed it); merged worlds cannot be saved");
      }
      bl.fork = first == 0 ? kNoNode : tl[first - 1].id;
    }
    bl.first_own = first;
    bl.first_index = layout.order.size();
    for (std::size_t p = first; p < tl.size(); ++p) {
      const NodeId id = tl[p].id;
      if (world.home(id) != b) {
        throw Error(Error::Kind::InvalidArgument, "branch '" + world.branch_name(b) + "' holds node " +
                                                      world.node_name(id) + " of branch '" +
                                                      world.branch_name(world.home(id)) +
                                                      "' after its fork point (a merge); merged worlds "
                                                      "cannot be saved");
      }
      layout.index.emplace(id, layout.order.size());
      layout.order.push_back(id);
    }
    bl.own_count = layout.order.size() - bl.first_index;
  }
  return layout;
}

}  // namespace detail

namespace {

using ojson = core::OrderedJson;

// ------------------------------------------------------------------ positions

// A value's place while reading: a chain of steps up to the root (the root has up == nullptr).
struct Where {
  const Where* up = nullptr;
  std::string_view key;
  std::size_t index = 0;
  bool is_key = false;

  Where child(std::string_view k) const { return Where{this, k, 0, true}; }
  Where item(std::size_t i) const { return Where{this, {}, i, false}; }

  core::JsonPath steps() const {
    core::JsonPath out;
    for (const Where* w = this; w->up != nullptr; w = w->up)
      out.push_back(core::JsonStep{std::string(w->key), w->index, w->is_key});
    std::reverse(out.begin(), out.end());
    return out;
  }
};

// ------------------------------------------------------------------ reading

using core::json_kind_name;

struct FileNode {
  std::string name;
  Tick time = kFree;
  Symbol type = 0;
  double probability = 1.0;
  std::vector<Attribute> attributes;
  std::vector<FluentEffect> effects;
};

struct IntervalNodes {
  NodeId start = kNoNode;
  NodeId end = kNoNode;
};

class JsonReader {
 public:
  JsonReader(std::string_view text, const std::string& source) : json_(text, source) {}

  World read() {
    const ojson root = json_.parse();
    const Where top;
    object(root, top, "", {"echo", "unit", "nodes", "branches", "links", "constraints", "intervals", "relations"});
    if (const ojson* v = get(root, "echo")) {
      const Tick version = integer(*v, top.child("echo"), "", "echo", 0, std::numeric_limits<Tick>::max());
      if (version != 1)
        fail(top.child("echo"), "", "unsupported format version " + std::to_string(version) + " (expected 1)");
    }
    if (const ojson* v = get(root, "unit")) {
      const std::string unit = string(*v, top.child("unit"), "", "unit");
      guard(top.child("unit"), "", [&] { world_.set_unit(unit); });
    }
    if (const ojson* v = get(root, "nodes")) {
      nodes(*v, top.child("nodes"), world_.main(), "");
    }
    if (const ojson* v = get(root, "branches")) branches(*v, top.child("branches"));
    if (const ojson* v = get(root, "links")) links(*v, top.child("links"));
    if (const ojson* v = get(root, "constraints")) constraints(*v, top.child("constraints"));
    if (const ojson* v = get(root, "intervals")) intervals(*v, top.child("intervals"));
    if (const ojson* v = get(root, "relations")) relations(*v, top.child("relations"));
    return std::move(world_);
  }

 private:
  // --- errors

  [[noreturn]] void fail(const Where& w, const std::string& what, const std::string& message) const {
    json_.fail(w.steps(), what.empty() ? message : what + ": " + message);
  }
  [[noreturn]] void fail_key(const Where& w, const std::string& what, const std::string& message) const {
    json_.fail_key(w.steps(), what.empty() ? message : what + ": " + message);
  }
  // Runs f, turning the World's InvalidArgument into a Format error at w.
  template <typename F>
  auto guard(const Where& w, const std::string& what, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Error& e) {
      std::string message = e.what();
      // The World names the node by its id; `what` names it as the file does.
      if (!what.empty() && message.rfind("node ", 0) == 0) {
        if (auto colon = message.find(": "); colon != std::string::npos) message = message.substr(colon + 2);
      }
      fail(w, what, message);
    }
  }

  // --- typed access

  static const ojson* get(const ojson& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  void object(const ojson& j, const Where& w, const std::string& what,
              std::initializer_list<std::string_view> allowed) const {
    if (!j.is_object()) fail(w, what, std::string("expected an object, found ") + json_kind_name(j));
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
      std::string known;
      for (std::string_view a : allowed) known.append(known.empty() ? "" : ", ").append(a);
      fail_key(w.child(it.key()), what, "unknown key \"" + it.key() + "\" (expected one of: " + known + ")");
    }
  }
  const ojson& list(const ojson& j, const Where& w, const std::string& what, std::string_view field) const {
    if (!j.is_array()) {
      fail(w, what, "\"" + std::string(field) + "\" must be a list, found " + json_kind_name(j));
    }
    return j;
  }
  Tick integer(const ojson& j, const Where& w, const std::string& what, std::string_view field, Tick lo,
               Tick hi) const {
    const std::string f = "\"" + std::string(field) + "\"";
    if (j.is_number_unsigned()) {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi))
        fail(w, what, f + " is out of range (at most " + std::to_string(hi) + ")");
      return static_cast<Tick>(u);
    }
    if (!j.is_number_integer()) fail(w, what, f + " must be an integer, found " + json_kind_name(j));
    const auto v = j.get<std::int64_t>();
    if (v < lo || v > hi) {
      fail(w, what, f + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
    }
    return v;
  }
  double number(const ojson& j, const Where& w, const std::string& what, std::string_view field) const {
    if (!j.is_number()) fail(w, what, "\"" + std::string(field) + "\" must be a number, found " + json_kind_name(j));
    return j.get<double>();
  }
  std::string string(const ojson& j, const Where& w, const std::string& what, std::string_view field) const {
    if (!j.is_string()) fail(w, what, "\"" + std::string(field) + "\" must be a text, found " + json_kind_name(j));
    return j.get<std::string>();
  }
  // A name: a non-empty text, or an integer (its decimal text).
  std::string name(const ojson& j, const Where& w, const std::string& what, std::string_view field) const {
    if (j.is_number_unsigned()) return std::to_string(j.get<std::uint64_t>());
    if (j.is_number_integer()) return std::to_string(j.get<std::int64_t>());
    if (!j.is_string()) {
      fail(w, what, "\"" + std::string(field) + "\" must be a text or an integer, found " + json_kind_name(j));
    }
    std::string s = j.get<std::string>();
    if (s.empty()) fail(w, what, "\"" + std::string(field) + "\" must not be empty");
    return s;
  }
  const ojson& required(const ojson& obj, const Where& w, const std::string& what, const char* key) const {
    const ojson* v = get(obj, key);
    if (v == nullptr) fail(w, what, std::string("missing \"") + key + "\"");
    return *v;
  }
  // A node reference: a name of this file, or "#k", the k-th node of the file (from 0).
  NodeId node_ref(const ojson& j, const Where& w, const std::string& what, std::string_view field) const {
    const std::string ref = name(j, w, what, field);
    if (auto it = names_.find(ref); it != names_.end()) return it->second;
    if (ref.size() > 1 && ref[0] == '#' &&
        std::all_of(ref.begin() + 1, ref.end(), [](char c) { return c >= '0' && c <= '9'; }) && ref.size() < 19) {
      const std::size_t k = std::stoull(ref.substr(1));
      if (k < by_file_.size()) return by_file_[k];
    }
    fail(w, what, "\"" + std::string(field) + "\": unknown node '" + ref + "'");
  }
  double weight(const ojson& obj, const Where& w, const std::string& what) const {
    const ojson* v = get(obj, "weight");
    if (v == nullptr) return 1.0;
    const double x = number(*v, w.child("weight"), what, "weight");
    if (!(x >= 0.0)) fail(w.child("weight"), what, "\"weight\" must be >= 0");
    return x;
  }

  // --- sections

  // Reads one list of nodes and appends them to branch b in time order.
  void nodes(const ojson& j, const Where& w, BranchId b, const std::string& list_name) {
    list(j, w, list_name, "nodes");
    std::vector<FileNode> read(j.size());
    const std::size_t first_index = by_file_.size();
    for (std::size_t i = 0; i < j.size(); ++i) {
      const Where wi = w.item(i);
      const ojson& n = j[i];
      FileNode& fn = read[i];
      std::string what = (list_name.empty() ? "" : list_name + " ") + "node " + std::to_string(i);
      if (n.is_object()) {
        if (const ojson* id = get(n, "id")) {
          fn.name = name(*id, wi.child("id"), what, "id");
          what = "node '" + fn.name + "'";
        }
      }
      object(n, wi, what, {"id", "time", "type", "probability", "attributes", "initiates", "terminates", "requires"});
      if (!fn.name.empty()) {
        if (names_.count(fn.name) != 0) fail(wi.child("id"), what, "the id is already used by another node");
        names_.emplace(fn.name, kNoNode);  // reserved now, so a repeat within this list is caught too
      }
      if (const ojson* v = get(n, "time")) {
        fn.time = integer(*v, wi.child("time"), what, "time", kFree + 1, std::numeric_limits<Tick>::max());
      }
      if (const ojson* v = get(n, "type")) fn.type = world_.intern(string(*v, wi.child("type"), what, "type"));
      if (const ojson* v = get(n, "probability")) {
        fn.probability = number(*v, wi.child("probability"), what, "probability");
        if (!(fn.probability >= 0.0 && fn.probability <= 1.0)) {
          fail(wi.child("probability"), what, "\"probability\" must be in [0, 1]");
        }
      }
      if (const ojson* v = get(n, "attributes")) {
        const Where wa = wi.child("attributes");
        if (!v->is_object())
          fail(wa, what, std::string("\"attributes\" must be an object, found ") + json_kind_name(*v));
        for (auto it = v->begin(); it != v->end(); ++it) {
          const Where wk = wa.child(it.key());
          if (it.key().empty()) fail_key(wk, what, "an attribute needs a non-empty key");
          Attribute a;
          a.key = world_.intern(it.key());
          if (it->is_number()) {
            a.value = Value::of(it->get<double>());
          } else if (it->is_string()) {
            a.value = Value::text_of(world_.intern(it->get<std::string>()));
          } else {
            fail(wk, what, "attribute \"" + it.key() + "\" must be a number or a text, found " + json_kind_name(*it));
          }
          fn.attributes.push_back(a);
        }
      }
      static constexpr std::pair<const char*, Effect> kEffects[] = {
          {"initiates", Effect::Initiates}, {"terminates", Effect::Terminates}, {"requires", Effect::Requires}};
      for (const auto& [key, effect] : kEffects) {
        const ojson* v = get(n, key);
        if (v == nullptr) continue;
        const Where we = wi.child(key);
        list(*v, we, what, key);
        for (std::size_t k = 0; k < v->size(); ++k) {
          const std::string fluent =
              string((*v)[k], we.item(k), what, std::string(key) + "[" + std::to_string(k) + "]");
          if (fluent.empty()) fail(we.item(k), what, "a fluent needs a non-empty name");
          fn.effects.push_back(FluentEffect{world_.intern(fluent), effect});
        }
      }
    }

    // Time order: each timed node with the free nodes after it is one group; free
    // nodes before the first timed node stay first.
    struct Group {
      Tick time;
      std::size_t begin, end;
    };
    std::vector<Group> groups;
    for (std::size_t i = 0; i < read.size(); ++i) {
      if (read[i].time != kFree || groups.empty()) {
        groups.push_back(Group{read[i].time, i, i + 1});
      } else {
        groups.back().end = i + 1;
      }
    }
    std::stable_sort(groups.begin(), groups.end(), [](const Group& x, const Group& y) { return x.time < y.time; });

    by_file_.resize(first_index + read.size(), kNoNode);
    for (const Group& g : groups) {
      for (std::size_t i = g.begin; i < g.end; ++i) {
        const FileNode& fn = read[i];
        const Where wi = w.item(i);
        const std::string what = fn.name.empty()
                                     ? (list_name.empty() ? "" : list_name + " ") + "node " + std::to_string(i)
                                     : "node '" + fn.name + "'";
        const Timeline& tl = world_.timeline(b);
        if (fn.time != kFree && !tl.empty() && fn.time < tl.back().key) {
          fail(wi.child("time"), what,
               "time " + std::to_string(fn.time) + " is before " + std::to_string(tl.back().key) + ", where branch '" +
                   world_.branch_name(b) + "' already is");
        }
        const NodeSpec spec{fn.time, fn.type, fn.probability, fn.attributes, fn.effects};
        const NodeId id =
            guard(fn.time == kFree ? wi : wi.child("time"), what, [&] { return world_.append(b, spec, fn.name); });
        by_file_[first_index + i] = id;
        if (!fn.name.empty()) names_[fn.name] = id;
      }
    }
  }

  void branches(const ojson& j, const Where& w) {
    list(j, w, "", "branches");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const Where wi = w.item(i);
      const ojson& br = j[i];
      std::string what = "branch " + std::to_string(i);
      if (br.is_object()) {
        if (const ojson* v = get(br, "name")) what = "branch '" + name(*v, wi.child("name"), what, "name") + "'";
      }
      object(br, wi, what, {"name", "from", "at", "nodes"});
      const std::string branch_name = name(required(br, wi, what, "name"), wi.child("name"), what, "name");
      if (world_.find_branch(branch_name)) fail(wi.child("name"), what, "a branch of that name already exists");
      BranchId parent = world_.main();
      if (const ojson* v = get(br, "from")) {
        const std::string from = name(*v, wi.child("from"), what, "from");
        const auto p = world_.find_branch(from);
        if (!p)
          fail(wi.child("from"), what, "\"from\": unknown branch '" + from + "' (list a branch before its forks)");
        parent = *p;
      }
      NodeId at = kNoNode;  // no "at": the branch starts empty
      if (const ojson* v = get(br, "at")) {
        at = node_ref(*v, wi.child("at"), what, "at");
        if (!world_.timeline(parent).find(at)) {
          fail(wi.child("at"), what,
               "node " + world_.node_name(at) + " is not on branch '" + world_.branch_name(parent) + "'");
        }
      }
      const BranchId b = guard(wi, what, [&] { return world_.fork(parent, at, branch_name); });
      if (const ojson* v = get(br, "nodes")) nodes(*v, wi.child("nodes"), b, "branch '" + branch_name + "'");
    }
  }

  void links(const ojson& j, const Where& w) {
    list(j, w, "", "links");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const Where wi = w.item(i);
      const std::string what = "link " + std::to_string(i);
      object(j[i], wi, what, {"cause", "effect"});
      const NodeId cause = node_ref(required(j[i], wi, what, "cause"), wi.child("cause"), what, "cause");
      const NodeId effect = node_ref(required(j[i], wi, what, "effect"), wi.child("effect"), what, "effect");
      guard(wi, what, [&] { return world_.add_link(CausalLink{cause, effect}); });
    }
  }

  void constraints(const ojson& j, const Where& w) {
    list(j, w, "", "constraints");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const Where wi = w.item(i);
      const ojson& c = j[i];
      const std::string what = "constraint " + std::to_string(i);
      object(c, wi, what, {"from", "to", "min", "max", "weight", "label"});
      TemporalConstraint tc;
      tc.from = node_ref(required(c, wi, what, "from"), wi.child("from"), what, "from");
      tc.to = node_ref(required(c, wi, what, "to"), wi.child("to"), what, "to");
      if (const ojson* v = get(c, "min")) tc.lo = integer(*v, wi.child("min"), what, "min", kNegInf, kPosInf);
      if (const ojson* v = get(c, "max")) tc.hi = integer(*v, wi.child("max"), what, "max", kNegInf, kPosInf);
      if (tc.lo > tc.hi) {
        fail(wi.child("min"), what, "\"min\" " + std::to_string(tc.lo) + " is above \"max\" " + std::to_string(tc.hi));
      }
      tc.weight = weight(c, wi, what);
      tc.label = what;
      if (const ojson* v = get(c, "label")) tc.label = string(*v, wi.child("label"), what, "label");
      guard(wi, what, [&] { return world_.add_constraint(std::move(tc)); });
    }
  }

  void intervals(const ojson& j, const Where& w) {
    list(j, w, "", "intervals");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const Where wi = w.item(i);
      const ojson& iv = j[i];
      std::string what = "interval " + std::to_string(i);
      if (iv.is_object()) {
        if (const ojson* v = get(iv, "id")) what = "interval '" + name(*v, wi.child("id"), what, "id") + "'";
      }
      object(iv, wi, what, {"id", "start", "end"});
      const std::string id = name(required(iv, wi, what, "id"), wi.child("id"), what, "id");
      if (intervals_.count(id) != 0) fail(wi.child("id"), what, "the id is already used by another interval");
      IntervalNodes nodes;
      nodes.start = node_ref(required(iv, wi, what, "start"), wi.child("start"), what, "start");
      nodes.end = node_ref(required(iv, wi, what, "end"), wi.child("end"), what, "end");
      intervals_.emplace(id, nodes);
      TemporalConstraint tc{nodes.start, nodes.end, 0, kPosInf, 1.0, "interval " + id};
      guard(wi, what, [&] { return world_.add_constraint(std::move(tc)); });
    }
  }

  void relations(const ojson& j, const Where& w) {
    list(j, w, "", "relations");
    for (std::size_t k = 0; k < j.size(); ++k) {
      const Where wk = w.item(k);
      const ojson& r = j[k];
      const std::string what = "relation " + std::to_string(k);
      object(r, wk, what, {"a", "relation", "b", "weight"});
      auto interval = [&](const char* key) {
        const std::string id = name(required(r, wk, what, key), wk.child(key), what, key);
        auto it = intervals_.find(id);
        if (it == intervals_.end())
          fail(wk.child(key), what, "\"" + std::string(key) + "\": unknown interval '" + id + "'");
        return std::pair{id, it->second};
      };
      const auto [a_id, a] = interval("a");
      const auto [b_id, b] = interval("b");
      const std::string rel = string(required(r, wk, what, "relation"), wk.child("relation"), what, "relation");
      const auto allen = parse_allen(rel);
      if (!allen) {
        fail(wk.child("relation"), what,
             "unknown relation '" + rel +
                 "' (expected before, after, meets, met_by, overlaps, overlapped_by, starts, started_by, during, "
                 "contains, finishes, finished_by or equals)");
      }
      const double wt = weight(r, wk, what);
      // Points 1, 2: a's start and end; 3, 4: b's. The origin does not occur.
      const NodeId point_node[] = {kNoNode, a.start, a.end, b.start, b.end};
      const std::string label = "relation " + std::to_string(k) + ": " + a_id + " " + rel + " " + b_id;
      for (const StnConstraint& sc : allen_constraints(Interval{1, 2}, *allen, Interval{3, 4}, wt)) {
        if (sc.from == kOrigin || sc.to == kOrigin || sc.from > 4 || sc.to > 4) {
          throw Error(Error::Kind::Internal, what + ": an Allen constraint refers to the origin");
        }
        TemporalConstraint tc{point_node[sc.from], point_node[sc.to], sc.lo, sc.hi, sc.weight, label};
        guard(wk, what, [&] { return world_.add_constraint(std::move(tc)); });
      }
    }
  }

  core::JsonText json_;
  World world_;
  std::unordered_map<std::string, NodeId> names_;
  std::vector<NodeId> by_file_;  // file order (main's list, then each branch's) -> node id
  std::unordered_map<std::string, IntervalNodes> intervals_;
};

// ------------------------------------------------------------------ writing

std::string dump(const ojson& j) { return j.dump(); }

}  // namespace

World parse_json(std::string_view text, const std::string& source) {
  MISO_PROFILE_SCOPE("echo.parse_json");
  return JsonReader(text, source).read();
}

std::string to_json(const World& world) {
  MISO_PROFILE_SCOPE("echo.to_json");
  const detail::Layout layout = detail::layout_of(world);
  // A reference: the node's name, or "#k" (its file index) when it has none.
  auto ref = [&](NodeId id) -> ojson {
    std::string name = detail::external_name(world, id);
    if (!name.empty()) return name;
    return "#" + std::to_string(layout.index.at(id));
  };
  auto node_json = [&](NodeId id) {
    const NodeView v = world.node(id);
    ojson n = ojson::object();
    if (std::string name = detail::external_name(world, id); !name.empty()) n["id"] = name;
    if (!v.free()) n["time"] = v.time;
    if (!world.text(v.type).empty()) n["type"] = world.text(v.type);
    if (v.probability != 1.0) n["probability"] = v.probability;
    if (!v.attributes.empty()) {
      ojson attrs = ojson::object();
      for (const Attribute& a : v.attributes) {
        const std::string& key = world.text(a.key);
        if (attrs.contains(key)) {
          throw Error(Error::Kind::InvalidArgument,
                      "node " + world.node_name(id) + ": attribute '" + key + "' appears twice; JSON cannot hold it");
        }
        if (a.value.kind == Value::Kind::Text) {
          attrs[key] = world.text(a.value.text);
        } else {
          if (!std::isfinite(a.value.number)) {
            throw Error(Error::Kind::InvalidArgument, "node " + world.node_name(id) + ": attribute '" + key +
                                                          "' is not a finite number; JSON cannot hold it");
          }
          attrs[key] = a.value.number;
        }
      }
      n["attributes"] = std::move(attrs);
    }
    static constexpr std::pair<const char*, Effect> kEffects[] = {
        {"initiates", Effect::Initiates}, {"terminates", Effect::Terminates}, {"requires", Effect::Requires}};
    for (const auto& [key, effect] : kEffects) {
      ojson fluents = ojson::array();
      for (const FluentEffect& e : v.effects) {
        if (e.effect == effect) fluents.push_back(world.text(e.fluent));
      }
      if (!fluents.empty()) n[key] = std::move(fluents);
    }
    return n;
  };
  auto node_lines = [&](const detail::BranchLayout& bl, const char* indent) {
    std::string out = "[";
    for (std::size_t k = 0; k < bl.own_count; ++k) {
      out += (k == 0 ? "\n" : ",\n") + std::string(indent) + dump(node_json(layout.order[bl.first_index + k]));
    }
    if (bl.own_count != 0) out += "\n" + std::string(indent).substr(2);
    return out + "]";
  };

  try {
    std::string out = "{\n  \"echo\": 1,\n  \"unit\": " + dump(world.unit()) + ",\n  \"nodes\": ";
    const detail::BranchLayout& main = layout.branches[0];
    out += node_lines(main, "    ");
    if (layout.branches.size() > 1) {
      out += ",\n  \"branches\": [";
      for (std::size_t b = 1; b < layout.branches.size(); ++b) {
        const detail::BranchLayout& bl = layout.branches[b];
        ojson head = ojson::object();
        head["name"] = world.branch_name(bl.id);
        head["from"] = world.branch_name(world.parent(bl.id));
        if (bl.fork != kNoNode) head["at"] = ref(bl.fork);
        std::string h = dump(head);
        h.pop_back();  // reopen the object to add the node list
        out += (b == 1 ? "\n    " : ",\n    ") + h + ", \"nodes\": " + node_lines(bl, "      ") + "}";
      }
      out += "\n  ]";
    }
    if (!world.links().empty()) {
      out += ",\n  \"links\": [";
      for (std::size_t i = 0; i < world.links().size(); ++i) {
        const CausalLink& l = world.links()[i];
        ojson j = ojson::object();
        j["cause"] = ref(l.cause);
        j["effect"] = ref(l.effect);
        out += (i == 0 ? "\n    " : ",\n    ") + dump(j);
      }
      out += "\n  ]";
    }
    if (!world.constraints().empty()) {
      out += ",\n  \"constraints\": [";
      for (std::size_t i = 0; i < world.constraints().size(); ++i) {
        const TemporalConstraint& c = world.constraints()[i];
        ojson j = ojson::object();
        j["from"] = ref(c.from);
        j["to"] = ref(c.to);
        if (c.lo > kNegInf) j["min"] = c.lo;
        if (c.hi < kPosInf) j["max"] = c.hi;
        if (c.weight != 1.0) {
          if (!std::isfinite(c.weight)) {
            throw Error(Error::Kind::InvalidArgument,
                        "constraint " + std::to_string(i) + ": weight is not finite; JSON cannot hold it");
          }
          j["weight"] = c.weight;
        }
        if (c.label != "constraint " + std::to_string(i)) j["label"] = c.label;
        out += (i == 0 ? "\n    " : ",\n    ") + dump(j);
      }
      out += "\n  ]";
    }
    return out + "\n}\n";
  } catch (const nlohmann::json::exception& e) {  // a text that is not UTF-8
    throw Error(Error::Kind::InvalidArgument, std::string("to_json: ") + e.what());
  }
}

// ------------------------------------------------------------------ comparing

namespace {

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

std::string describe(const Value& v, const World& w) {
  return v.kind == Value::Kind::Text ? "'" + w.text(v.text) + "'" : std::to_string(v.number);
}

// Differences between two nodes as text ("" when equal).
std::string node_difference(const World& a, const NodeView& x, const World& b, const NodeView& y) {
  const std::string na = detail::external_name(a, x.id), nb = detail::external_name(b, y.id);
  if (na != nb) return "names '" + na + "' vs '" + nb + "'";
  if (x.time != y.time) {
    auto t = [](Tick v) { return v == kFree ? std::string("free") : std::to_string(v); };
    return "times " + t(x.time) + " vs " + t(y.time);
  }
  if (a.text(x.type) != b.text(y.type)) return "types '" + a.text(x.type) + "' vs '" + b.text(y.type) + "'";
  if (!same_number(x.probability, y.probability)) {
    return "probabilities " + std::to_string(x.probability) + " vs " + std::to_string(y.probability);
  }
  if (x.attributes.size() != y.attributes.size()) {
    return std::to_string(x.attributes.size()) + " vs " + std::to_string(y.attributes.size()) + " attributes";
  }
  for (std::size_t i = 0; i < x.attributes.size(); ++i) {
    const Attribute& p = x.attributes[i];
    const Attribute& q = y.attributes[i];
    const bool same_value = p.value.kind == q.value.kind &&
                            (p.value.kind == Value::Kind::Text ? a.text(p.value.text) == b.text(q.value.text)
                                                               : same_number(p.value.number, q.value.number));
    if (a.text(p.key) != b.text(q.key) || !same_value) {
      return "attribute " + std::to_string(i) + ": " + a.text(p.key) + "=" + describe(p.value, a) + " vs " +
             b.text(q.key) + "=" + describe(q.value, b);
    }
  }
  // Effects as sets: the files group them by kind.
  auto effects = [](const World& w, const NodeView& v) {
    std::vector<std::pair<int, std::string>> out;
    for (const FluentEffect& e : v.effects) out.emplace_back(static_cast<int>(e.effect), w.text(e.fluent));
    std::sort(out.begin(), out.end());
    return out;
  };
  if (effects(a, x) != effects(b, y)) return "different fluent effects";
  return {};
}

}  // namespace

bool same_world(const World& a, const World& b, std::string* difference) {
  MISO_PROFILE_SCOPE("echo.same_world");
  auto differ = [&](const std::string& message) {
    if (difference != nullptr) *difference = message;
    return false;
  };
  if (a.unit() != b.unit()) return differ("units '" + a.unit() + "' vs '" + b.unit() + "'");
  if (a.branch_count() != b.branch_count()) {
    return differ(std::to_string(a.branch_count()) + " vs " + std::to_string(b.branch_count()) + " branches");
  }
  // Node ids may differ (a file renumbers them in its own order): match nodes by
  // place, and require the matching to be one-to-one across every branch.
  std::unordered_map<NodeId, NodeId> forward, backward;
  for (BranchId br = 0; br < a.branch_count(); ++br) {
    const std::string where = "branch '" + a.branch_name(br) + "'";
    if (a.branch_name(br) != b.branch_name(br)) {
      return differ("branch " + std::to_string(br) + ": names '" + a.branch_name(br) + "' vs '" + b.branch_name(br) +
                    "'");
    }
    if (a.parent(br) != b.parent(br)) return differ(where + ": different parents");
    const Timeline& ta = a.timeline(br);
    const Timeline& tb = b.timeline(br);
    if (ta.size() != tb.size()) {
      return differ(where + ": " + std::to_string(ta.size()) + " vs " + std::to_string(tb.size()) + " nodes");
    }
    for (std::size_t p = 0; p < ta.size(); ++p) {
      const NodeView x = ta[p];
      const NodeView y = tb[p];
      const std::string at = where + " position " + std::to_string(p) + " (node " + a.node_name(x.id) + ")";
      auto [f, f_new] = forward.emplace(x.id, y.id);
      auto [g, g_new] = backward.emplace(y.id, x.id);
      if (f->second != y.id || g->second != x.id) return differ(at + ": the branches share different nodes");
      if (!f_new) continue;  // already compared on an earlier branch
      if (std::string d = node_difference(a, x, b, y); !d.empty()) return differ(at + ": " + d);
    }
  }
  auto mapped = [&](NodeId x, NodeId y) {
    auto it = forward.find(x);
    return it != forward.end() && it->second == y;
  };
  if (a.links().size() != b.links().size()) {
    return differ(std::to_string(a.links().size()) + " vs " + std::to_string(b.links().size()) + " links");
  }
  for (std::size_t i = 0; i < a.links().size(); ++i) {
    const CausalLink& x = a.links()[i];
    const CausalLink& y = b.links()[i];
    if (!mapped(x.cause, y.cause) || !mapped(x.effect, y.effect)) {
      return differ("link " + std::to_string(i) + ": " + a.node_name(x.cause) + " -> " + a.node_name(x.effect) +
                    " vs " + b.node_name(y.cause) + " -> " + b.node_name(y.effect));
    }
  }
  if (a.constraints().size() != b.constraints().size()) {
    return differ(std::to_string(a.constraints().size()) + " vs " + std::to_string(b.constraints().size()) +
                  " constraints");
  }
  for (std::size_t i = 0; i < a.constraints().size(); ++i) {
    const TemporalConstraint& x = a.constraints()[i];
    const TemporalConstraint& y = b.constraints()[i];
    const std::string at = "constraint " + std::to_string(i);
    if (!mapped(x.from, y.from) || !mapped(x.to, y.to)) return differ(at + ": different nodes");
    if (x.lo != y.lo || x.hi != y.hi) {
      return differ(at + ": bounds [" + std::to_string(x.lo) + ", " + std::to_string(x.hi) + "] vs [" +
                    std::to_string(y.lo) + ", " + std::to_string(y.hi) + "]");
    }
    if (!same_number(x.weight, y.weight)) {
      return differ(at + ": weights " + std::to_string(x.weight) + " vs " + std::to_string(y.weight));
    }
    if (x.label != y.label) return differ(at + ": labels '" + x.label + "' vs '" + y.label + "'");
  }
  if (difference != nullptr) difference->clear();
  return true;
}

}  // namespace miso::echo
