// The `echo` module of M-CODE: ECHO-PRIME worlds (timelines with branches, causal links,
// temporal constraints, fluents), their paradoxes and resolutions, and the JSON / binary
// timeline files.
//
// A world handle owns a std::shared_ptr<echo::World>: worlds are mutable (append, fork,
// link, constrain), so a clone for another VM is a deep copy (a JSON round trip), never a
// shared pointer. bridge_module.cpp reads worlds through kWorldHandle.
#include <memory>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/echo/format.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

using WorldPtr = std::shared_ptr<echo::World>;

namespace {

std::string display_world(const void* data) {
  const echo::World& w = **static_cast<const WorldPtr*>(data);
  return "<world (" + std::to_string(w.branch_count()) + (w.branch_count() == 1 ? " branch, " : " branches, ") +
         std::to_string(w.node_count()) + (w.node_count() == 1 ? " node)>" : " nodes)>");
}

void* clone_world(const void* data) {
  const echo::World& w = **static_cast<const WorldPtr*>(data);
  return new WorldPtr(std::make_shared<echo::World>(echo::parse_json(echo::to_json(w), "<clone>")));
}

echo::World& world_of(NativeCallContext& context, Args args) {
  return *arg_handle<WorldPtr>(context, args, 0, kWorldHandle, "receiver");
}

// A branch by name (or id); nil or absent means "main".
echo::BranchId branch_arg(NativeCallContext& context, Args args, std::size_t i, const echo::World& w) {
  if (!has_arg(args, i)) return w.main();
  Value v = args[i];
  if (v.is_int()) {
    if (v.as_int() < 0 || static_cast<std::size_t>(v.as_int()) >= w.branch_count())
      context.error(context.name() + ": no branch " + std::to_string(v.as_int()));
    return static_cast<echo::BranchId>(v.as_int());
  }
  if (!v.is_string()) argument_error(context, "branch", "a branch name", v);
  auto b = w.find_branch(v.as_string()->view());
  if (!b) context.error(context.name() + ": unknown branch '" + std::string(v.as_string()->view()) + "'");
  return *b;
}

// A node by name (string) or id (int).
echo::NodeId node_arg(NativeCallContext& context, Args args, std::size_t i, const echo::World& w, const char* what) {
  if (i >= args.size()) argument_error(context, what, "a node name or id", Value());
  Value v = args[i];
  if (v.is_int()) {
    if (v.as_int() < 0 || static_cast<echo::NodeId>(v.as_int()) >= w.node_count())
      context.error(context.name() + ": no node " + std::to_string(v.as_int()));
    return static_cast<echo::NodeId>(v.as_int());
  }
  if (!v.is_string()) argument_error(context, what, "a node name or id", v);
  auto id = w.find_node(v.as_string()->view());
  if (!id) context.error(context.name() + ": unknown node '" + std::string(v.as_string()->view()) + "'");
  return *id;
}

Value node_ref(Heap& heap, const echo::World& w, echo::NodeId id) { return heap.string_value(w.node_name(id)); }

Value wrap_world(NativeCallContext& context, echo::World w) {
  std::size_t bytes = sizeof(echo::World) + 64 * w.node_count();
  return make_handle(context.heap(), kWorldHandle, WorldPtr(std::make_shared<echo::World>(std::move(w))), bytes);
}

Value echo_world(NativeCallContext& context, Args args) {
  echo::World w;
  if (has_arg(args, 0)) {
    std::string unit(arg_string(context, args, 0, "unit"));
    guarded(context, [&] {
      w.set_unit(unit);
      return 0;
    });
  }
  return wrap_world(context, std::move(w));
}

Value echo_parse(NativeCallContext& context, Args args) {
  std::string_view text = arg_string(context, args, 0, "json");
  return wrap_world(context, guarded(context, [&] { return echo::parse_json(text, "<text>"); }));
}

Value echo_load(NativeCallContext& context, Args args) {
  auto path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  return wrap_world(context, guarded(context, [&] { return echo::load_world(path); }));
}

// --- world methods ---

// append(branch, {"time", "type", "id", "probability", "attributes", "initiates", "terminates", "requires"}) -> id
Value world_append(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  Map* spec_map = arg_map(context, args, 2, "node");
  Heap& heap = context.heap();
  auto field = [&](const char* key) { return spec_map->get(heap.string_value(key)); };
  echo::NodeSpec spec;
  std::vector<echo::Attribute> attributes;
  std::vector<echo::FluentEffect> effects;
  std::string name;
  Value time = field("time");
  if (!time.is_empty() && !time.is_nil()) {
    if (!time.is_int()) argument_error(context, "node.time", "an int", time);
    spec.time = time.as_int();
  }
  Value type = field("type");
  if (!type.is_empty() && !type.is_nil()) {
    if (!type.is_string()) argument_error(context, "node.type", "a string", type);
    spec.type = w.intern(type.as_string()->view());
  } else {
    spec.type = w.intern("");
  }
  Value id = field("id");
  if (!id.is_empty() && !id.is_nil()) {
    if (!id.is_string()) argument_error(context, "node.id", "a string", id);
    name = std::string(id.as_string()->view());
  }
  Value p = field("probability");
  if (!p.is_empty() && !p.is_nil()) {
    if (!p.is_number()) argument_error(context, "node.probability", "a number", p);
    spec.probability = p.to_double();
  }
  Value attrs = field("attributes");
  if (!attrs.is_empty() && !attrs.is_nil()) {
    if (!attrs.is_map()) argument_error(context, "node.attributes", "a map", attrs);
    attrs.as_map()->for_each([&](Value k, Value v) {
      if (!k.is_string()) argument_error(context, "an attribute name", "a string", k);
      echo::Attribute a;
      a.key = w.intern(k.as_string()->view());
      if (v.is_number())
        a.value = echo::Value::of(v.to_double());
      else if (v.is_string())
        a.value = echo::Value::text_of(w.intern(v.as_string()->view()));
      else
        argument_error(context, "an attribute value", "a number or a string", v);
      attributes.push_back(a);
    });
  }
  const std::pair<const char*, echo::Effect> kinds[] = {{"initiates", echo::Effect::Initiates},
                                                        {"terminates", echo::Effect::Terminates},
                                                        {"requires", echo::Effect::Requires}};
  for (const auto& [key, effect] : kinds) {
    Value list = field(key);
    if (list.is_empty() || list.is_nil()) continue;
    if (!list.is_list()) argument_error(context, key, "a list of fluent names", list);
    for (Value f : list.as_list()->items()) {
      if (!f.is_string()) argument_error(context, key, "a list of fluent names", f);
      effects.push_back({w.intern(f.as_string()->view()), effect});
    }
  }
  spec.attributes = attributes;
  spec.effects = effects;
  echo::NodeId node = guarded(context, [&] { return w.append(b, spec, name); });
  return heap.integer(static_cast<std::int64_t>(node));
}

Value world_fork(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  echo::NodeId at = node_arg(context, args, 2, w, "at");
  std::string name(arg_string(context, args, 3, "name"));
  echo::BranchId nb = guarded(context, [&] { return w.fork(b, at, name); });
  return make_string(context.heap(), w.branch_name(nb));
}

Value world_merge(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId from = branch_arg(context, args, 1, w);
  if (!has_arg(args, 2)) argument_error(context, "into", "a branch name", Value());
  echo::BranchId into = branch_arg(context, args, 2, w);
  return Value::boolean(guarded(context, [&] { return w.merge(from, into); }));
}

Value world_link(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::CausalLink link{node_arg(context, args, 1, w, "cause"), node_arg(context, args, 2, w, "effect")};
  return context.heap().integer(static_cast<std::int64_t>(guarded(context, [&] { return w.add_link(link); })));
}

// constrain(from, to, min, max, [weight]): min <= t(to) - t(from) <= max (nil: open side).
Value world_constrain(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::TemporalConstraint c;
  c.from = node_arg(context, args, 1, w, "from");
  c.to = node_arg(context, args, 2, w, "to");
  if (has_arg(args, 3)) c.lo = arg_int(context, args, 3, "min");
  if (has_arg(args, 4)) c.hi = arg_int(context, args, 4, "max");
  if (has_arg(args, 5)) c.weight = arg_number(context, args, 5, "weight");
  c.label = "constraint " + std::to_string(w.constraints().size());
  return context.heap().integer(static_cast<std::int64_t>(guarded(context, [&] { return w.add_constraint(c); })));
}

Value world_branches(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  List* out = context.heap().list(w.branch_count());
  for (echo::BranchId b = 0; b < w.branch_count(); ++b)
    out->push(context.heap(), context.heap().string_value(w.branch_name(b)));
  return Value::object(out);
}

Value node_value(Heap& heap, const echo::World& w, const echo::NodeView& n) {
  Map* m = heap.map(6);
  m->set(heap, heap.string_value("id"), heap.integer(static_cast<std::int64_t>(n.id)));
  m->set(heap, heap.string_value("name"), heap.string_value(w.node_name(n.id)));
  m->set(heap, heap.string_value("time"), n.free() ? Value() : heap.integer(n.time));
  m->set(heap, heap.string_value("type"), heap.string_value(w.text(n.type)));
  m->set(heap, heap.string_value("probability"), Value::number(n.probability));
  Map* attrs = heap.map(n.attributes.size());
  for (const echo::Attribute& a : n.attributes)
    attrs->set(heap, heap.string_value(w.text(a.key)),
               a.value.kind == echo::Value::Kind::Number ? Value::number(a.value.number)
                                                         : heap.string_value(w.text(a.value.text)));
  m->set(heap, heap.string_value("attributes"), Value::object(attrs));
  return Value::object(m);
}

Value world_nodes(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  const echo::Timeline& t = w.timeline(branch_arg(context, args, 1, w));
  List* out = context.heap().list(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) out->push(context.heap(), node_value(context.heap(), w, t[i]));
  return Value::object(out);
}

Value world_node(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  return node_value(context.heap(), w, w.node(node_arg(context, args, 1, w, "node")));
}

Value world_holds(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  std::string_view fluent = arg_string(context, args, 2, "fluent");
  std::int64_t t = arg_int(context, args, 3, "time");
  auto s = w.lookup(fluent);
  return Value::boolean(s && w.timeline(b).holds(*s, t));
}

Value world_state_at(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  std::int64_t t = arg_int(context, args, 2, "time");
  List* out = context.heap().list();
  for (echo::Symbol s : w.timeline(b).state_at(t)) out->push(context.heap(), context.heap().string_value(w.text(s)));
  return Value::object(out);
}

Value paradox_value(Heap& heap, const echo::World& w, const echo::Paradox& p) {
  Map* m = heap.map(6);
  m->set(heap, heap.string_value("kind"), heap.string_value(echo::to_string(p.kind)));
  m->set(heap, heap.string_value("message"), heap.string_value(p.message));
  List* branches = heap.list(p.branches.size());
  for (echo::BranchId b : p.branches) branches->push(heap, heap.string_value(w.branch_name(b)));
  m->set(heap, heap.string_value("branches"), Value::object(branches));
  List* nodes = heap.list(p.nodes.size());
  for (echo::NodeId n : p.nodes) nodes->push(heap, node_ref(heap, w, n));
  m->set(heap, heap.string_value("nodes"), Value::object(nodes));
  List* constraints = heap.list(p.constraints.size());
  for (std::size_t c : p.constraints) constraints->push(heap, heap.integer(static_cast<std::int64_t>(c)));
  m->set(heap, heap.string_value("constraints"), Value::object(constraints));
  List* links = heap.list(p.links.size());
  for (std::size_t l : p.links) links->push(heap, heap.integer(static_cast<std::int64_t>(l)));
  m->set(heap, heap.string_value("links"), Value::object(links));
  if (p.kind == echo::Paradox::Kind::Contradiction)
    m->set(heap, heap.string_value("fluent"), heap.string_value(w.text(p.fluent)));
  return Value::object(m);
}

Value world_check(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::CheckReport report = guarded(context, [&] { return echo::check(w); });
  List* out = context.heap().list(report.paradoxes.size());
  for (const echo::Paradox& p : report.paradoxes) out->push(context.heap(), paradox_value(context.heap(), w, p));
  return Value::object(out);
}

Value world_consistent(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  return Value::boolean(guarded(context, [&] { return echo::check(w).consistent(); }));
}

// propose(branch) -> [{"kind": "relax"/"fork", "cost", "description", "index"}]; resolve(branch, index) applies one.
Value world_propose(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  std::vector<echo::Resolution> rs = guarded(context, [&] { return echo::propose(w, b); });
  Heap& heap = context.heap();
  List* out = heap.list(rs.size());
  for (const echo::Resolution& r : rs) {
    Map* m = heap.map(4);
    m->set(heap, heap.string_value("kind"),
           heap.string_value(r.kind == echo::Resolution::Kind::Relax ? "relax" : "fork"));
    m->set(heap, heap.string_value("cost"), Value::number(r.cost));
    m->set(heap, heap.string_value("description"), heap.string_value(r.description));
    List* alts = heap.list(r.alternatives.size());
    for (echo::NodeId n : r.alternatives) alts->push(heap, node_ref(heap, w, n));
    m->set(heap, heap.string_value("alternatives"), Value::object(alts));
    out->push(heap, Value::object(m));
  }
  return Value::object(out);
}

Value world_resolve(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  echo::BranchId b = branch_arg(context, args, 1, w);
  std::int64_t index = has_arg(args, 2) ? arg_int(context, args, 2, "index") : 0;
  std::vector<echo::Resolution> rs = guarded(context, [&] { return echo::propose(w, b); });
  if (index < 0 || static_cast<std::size_t>(index) >= rs.size())
    context.error(context.name() + ": no proposal " + std::to_string(index) + " (branch '" + w.branch_name(b) +
                  "' has " + std::to_string(rs.size()) + ")");
  std::vector<echo::BranchId> created =
      guarded(context, [&] { return echo::apply(w, rs[static_cast<std::size_t>(index)]); });
  List* out = context.heap().list(created.size());
  for (echo::BranchId nb : created) out->push(context.heap(), context.heap().string_value(w.branch_name(nb)));
  return Value::object(out);
}

Value world_to_json(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  return make_string(context.heap(), guarded(context, [&] { return echo::to_json(w); }));
}

Value world_save(NativeCallContext& context, Args args) {
  echo::World& w = world_of(context, args);
  auto path = context.vm.checked_path(arg_string(context, args, 1, "path"));
  guarded(context, [&] {
    echo::save_world(w, path);
    return 0;
  });
  return Value();
}

Value world_unit(NativeCallContext& context, Args args) {
  return make_string(context.heap(), world_of(context, args).unit());
}

Value world_len(NativeCallContext& context, Args args) {
  return context.heap().integer(static_cast<std::int64_t>(world_of(context, args).node_count()));
}

const NativeBinding kFunctions[] = {
    {"world", echo_world, -1, "world([unit]): an empty world with the branch \"main\""},
    {"parse", echo_parse, 1, "parse(json): a world from timeline JSON"},
    {"load", echo_load, 1, "load(path): a world from a .json or .echo file"},
};

const NativeBinding kWorldMethods[] = {
    {"unit", world_unit, 0, "the time unit", true},
    {"len", world_len, 0, "number of nodes"},
    {"append", world_append, 2, "append(branch, node map): the new node's id"},
    {"fork", world_fork, 3, "fork(branch, at, name): a new branch sharing the prefix up to node at"},
    {"merge", world_merge, 2, "merge(from, into): whether the merge was consistent (and done)"},
    {"link", world_link, 2, "link(cause, effect): a causal link's index"},
    {"constrain", world_constrain, -1, "constrain(from, to, min, max, [weight]): a constraint's index"},
    {"branches", world_branches, 0, "branch names"},
    {"nodes", world_nodes, -1, "nodes([branch]): the branch's nodes as maps"},
    {"node", world_node, 1, "node(ref): one node as a map"},
    {"holds", world_holds, 3, "holds(branch, fluent, t)"},
    {"state_at", world_state_at, 2, "state_at(branch, t): fluents holding at t"},
    {"check", world_check, 0, "paradoxes as a list of maps"},
    {"consistent", world_consistent, 0, "whether there is no paradox"},
    {"propose", world_propose, -1, "propose([branch]): resolutions"},
    {"resolve", world_resolve, -1, "resolve(branch, [index]): apply a proposal; the branches it created"},
    {"to_json", world_to_json, 0, "the world as timeline JSON"},
    {"save", world_save, 1, "save(path): .json or .echo"},
};

}  // namespace

const HandleType kWorldHandle{"world", finalize_as<WorldPtr>, nullptr,    kWorldMethods,
                              nullptr, display_world,         clone_world};

void install_echo_module(Vm& vm) { vm.define_module("echo", kFunctions); }

}  // namespace miso::mcode
