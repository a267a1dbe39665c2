// Incremental trigger evaluation.
//
// State is kept per branch and per trigger. A branch gets its state lazily, on
// the first node or advance_to the engine sees for it, and it starts EMPTY: a
// branch forked from another does not inherit the partial matches of its
// parent (the engine evaluates the nodes it is given, it never replays a
// prefix). Nodes appended to the World directly, not through the engine, are
// not seen at all.
//
// Exact matching rules (windows compare node keys; "after" is append order):
//   Sequence     every types[0] node opens a partial match (conditions are
//                not asked of it); a partial match waiting for types[j]
//                is advanced by the first later types[j] node (skip till next
//                match), every waiting partial match at once. When a node
//                completes partial matches and the condition holds on it, each
//                of them fires (earliest start first) and is dropped; when the
//                condition fails they keep waiting for a later last-type node.
//                A partial match whose first node is more than `window` before
//                the current node is dropped. So A1 A2 B with [A, B] fires
//                (A1, B) and (A2, B).
//   Conjunction  the latest node of each type is kept (for a type listed m
//                times, the latest m, in order). When every slot is filled
//                with nodes all within `window` of the newest and the
//                condition holds on the newest, it fires and every slot is
//                emptied: a node takes part in at most one firing of a given
//                Conjunction trigger.
//   Count        the keys of types[0] nodes within `window` of the newest are
//                kept (a sliding window); when there are at least `count` of
//                them and the condition holds on the newest, it fires with the
//                newest `count` of them and the window is emptied, so it fires
//                again only once `count` new nodes accumulate.
//   Absence      a types[0] node satisfying the condition opens a pending
//                entry with deadline key + window. A types[1] node appended
//                later with key <= deadline cancels it (it cancels every entry
//                still pending). An entry fires at its deadline (Firing::at) as
//                soon as a node with key > deadline is appended (before that
//                node is matched) or advance_to(t) with t >= deadline.
//
// Conditions: a missing attribute fails every comparison, Exists included;
// numbers compare numerically (IEEE: NaN fails all but Ne); texts by symbol,
// Eq/Ne only (add rejects ordering a text value); a number against a text is
// unequal (Ne holds, the rest fail). The predicate, if any, runs after the
// comparisons, at most once per node and trigger.
//
// Besides the header's list, add() rejects a Count with more than one type,
// an Absence with more than two, an Emit with a negative delay and unknown
// enum values. An unnamed trigger is "trigger #<index>" in messages and forks
// "trigger<index>/<n>".
//
// Actions run after all triggers have seen the node, in firing order (FIFO):
//   Emit   appends a node of type action.type at Firing::at + delay (the key
//          of the completing node; the deadline for Absence), raised to the
//          branch's last key when earlier firings (or an Absence found late)
//          have already moved the branch past it. The node carries a
//          "message" text attribute when the message is non-empty and is fed
//          to the triggers in turn; a chain deeper than kMaxEmitDepth (or more
//          than kMaxEmitsPerCall emissions for one call) is an emit loop:
//          Error(InvalidArgument) naming the trigger. The nodes appended and
//          firings recorded before the error stay; the actions still queued
//          are dropped and the engine stays usable.
//   Fork   World::fork at the completing node (Absence: the last node with key
//          <= deadline) into "<trigger>/<n>", n = 1, 2, ... per trigger,
//          skipping names already taken.
//   Alert  only the firing record.
//
// Hot path: a node looks up the triggers watching its type in a vector indexed
// by Symbol and advances them in place; partial matches live in ring buffers
// and a slot pool that are reused, so steady-state appends do not allocate
// (the matched-node vector of a Firing is only built when it fires).
#include "miso/echo/trigger.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/echo/condition.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

namespace {

constexpr std::size_t kMaxEmitDepth = 64;
constexpr std::size_t kMaxEmitsPerCall = std::size_t{1} << 20;
constexpr Tick kMaxTick = std::numeric_limits<Tick>::max();
constexpr Tick kMinTick = std::numeric_limits<Tick>::min();

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// a + b without overflow (b >= 0), saturating at the largest tick.
Tick sat_add(Tick a, Tick b) noexcept { return a > kMaxTick - b ? kMaxTick : a + b; }

// A FIFO on a power-of-two buffer: reused after clear(), so it allocates only
// when it grows past its largest size so far.
template <typename T>
class Ring {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  T& front() noexcept { return buf_[head_]; }
  T& operator[](std::size_t i) noexcept { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  void push_back(const T& v) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = v;
    ++size_;
  }
  void pop_front() noexcept {
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
  }
  void clear() noexcept {
    head_ = 0;
    size_ = 0;
  }

 private:
  void grow() {
    EchoVector<T> next(buf_.empty() ? 8 : buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) next[i] = (*this)[i];
    buf_.swap(next);
    head_ = 0;
  }
  EchoVector<T> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

struct Ref {
  NodeId id = kNoNode;
  Tick key = 0;  // the node's key; for an Absence entry, its deadline
};

// One trigger's state on one branch; only the members of its pattern kind are used.
struct TriggerState {
  // Sequence: slot s of the pool holds a partial match's nodes at [s*k, s*k+k);
  // lists[j] (1 <= j < k) the slots that matched types[0..j), by start.
  EchoVector<Ref> pool;
  EchoVector<std::uint32_t> free_slots;
  std::vector<Ring<std::uint32_t>> lists;
  // Conjunction: the node in each role (id kNoNode: empty), how many are filled.
  EchoVector<Ref> roles;
  std::size_t filled = 0;
  // Count: the nodes in the window. Absence: the pending entries, by deadline.
  Ring<Ref> window;
};

struct BranchState {
  std::vector<TriggerState> triggers;
  Tick next_deadline = kMaxTick;  // <= every pending Absence deadline (may be stale low)
};

struct Watch {
  std::uint32_t trigger;
  std::uint32_t role;  // position in types (Conjunction: the first position of the type)
  // What a node does through this watch (one dispatch per watch): Sequence
  // single type / open / advance / complete, Conjunction, Count, Absence start / cancel.
  enum class Op : std::uint8_t { SeqSingle, SeqOpen, SeqAdvance, SeqComplete, Conj, Count, AbsStart, AbsCancel };
  Op op = Op::SeqSingle;
  bool first = false;   // the first watch of its trigger in its type's list (its condition is asked afresh)
  bool always = false;  // no comparisons and no predicate: the condition holds on every node
};

// What the hot path reads of a trigger, packed (Trigger itself is large).
struct Hot {
  Pattern::Kind kind = Pattern::Kind::Sequence;
  bool alert = true;  // the action is Alert: nothing to queue
  std::uint32_t k = 0;
  std::uint32_t count = 1;
  Tick window = 0;
};

struct Compiled {
  std::string label;  // "trigger 'name'" for messages
  std::string fork_base;
  std::size_t k = 0;
  std::vector<std::vector<std::uint32_t>> same_type;  // Conjunction: role -> the roles of its type
  Attribute message;
  bool has_message = false;
  std::size_t forks = 0;
};

struct PendingAction {
  std::size_t firing;
  std::size_t depth;  // emit depth of the node that caused the firing
  NodeId fork_at;
};

bool compare(const Comparison& c, const NodeView& n) {
  const std::optional<Value> v = n.attribute(c.key);
  if (!v) return false;
  if (c.op == Comparison::Op::Exists) return true;
  if (v->kind != c.value.kind) return c.op == Comparison::Op::Ne;
  if (v->kind == Value::Kind::Text) return (c.op == Comparison::Op::Eq) == (v->text == c.value.text);
  const double a = v->number;
  const double b = c.value.number;
  switch (c.op) {
    case Comparison::Op::Eq: return a == b;
    case Comparison::Op::Ne: return a != b;
    case Comparison::Op::Lt: return a < b;
    case Comparison::Op::Le: return a <= b;
    case Comparison::Op::Gt: return a > b;
    case Comparison::Op::Ge: return a >= b;
    case Comparison::Op::Exists: return true;
  }
  return false;
}

}  // namespace

struct TriggerEngine::Impl {
  explicit Impl(World& w) : world(w) {}

  World& world;
  std::vector<Trigger> triggers;
  std::vector<Compiled> compiled;
  std::vector<std::vector<Watch>> watches;  // by event type (built by add)
  // The same, flattened for the hot path: type t's watches are
  // watch_list[watch_start[t], watch_start[t + 1]).
  std::vector<Watch> watch_list;
  std::vector<std::uint32_t> watch_start;
  std::vector<Hot> hot;  // by trigger
  // The state of the branch fed last (appends usually come in runs on one branch).
  BranchId cached_branch = 0;
  BranchState* cached_state = nullptr;
  std::vector<std::uint32_t> absences;  // the Absence triggers
  std::vector<std::unique_ptr<BranchState>> branches;
  std::vector<Firing> firings;
  std::vector<PendingAction> actions;
  std::size_t emitted = 0;  // in the current call

  BranchState& branch(BranchId b) {
    if (cached_state != nullptr && cached_branch == b) [[likely]]
      return *cached_state;
    return branch_slow(b);
  }
  [[gnu::noinline]] BranchState& branch_slow(BranchId b) {
    if (b >= branches.size()) branches.resize(static_cast<std::size_t>(b) + 1);
    if (!branches[b]) branches[b] = std::make_unique<BranchState>();
    BranchState& s = *branches[b];
    const std::size_t had = s.triggers.size();
    if (had < triggers.size()) {
      s.triggers.resize(triggers.size());
      for (std::size_t t = had; t < triggers.size(); ++t) {
        TriggerState& st = s.triggers[t];
        if (hot[t].kind == Pattern::Kind::Sequence) st.lists.resize(hot[t].k);
        if (hot[t].kind == Pattern::Kind::Conjunction) st.roles.assign(hot[t].k, Ref{});
      }
    }
    cached_branch = b;
    cached_state = &s;
    return s;
  }

  // Rebuilds the flat watch index after add().
  void flatten() {
    watch_list.clear();
    watch_start.assign(watches.size() + 1, 0);
    for (std::size_t type = 0; type < watches.size(); ++type) {
      watch_start[type] = static_cast<std::uint32_t>(watch_list.size());
      std::uint32_t previous = ~std::uint32_t{0};
      for (Watch w : watches[type]) {
        const Trigger& tr = triggers[w.trigger];
        const std::size_t k = tr.pattern.types.size();
        switch (tr.pattern.kind) {
          case Pattern::Kind::Sequence:
            w.op = k == 1            ? Watch::Op::SeqSingle
                   : w.role == 0     ? Watch::Op::SeqOpen
                   : w.role + 1 == k ? Watch::Op::SeqComplete
                                     : Watch::Op::SeqAdvance;
            break;
          case Pattern::Kind::Conjunction: w.op = Watch::Op::Conj; break;
          case Pattern::Kind::Count: w.op = Watch::Op::Count; break;
          case Pattern::Kind::Absence: w.op = w.role == 0 ? Watch::Op::AbsStart : Watch::Op::AbsCancel; break;
        }
        w.first = w.trigger != previous;
        w.always = tr.conditions.empty() && !tr.predicate;
        previous = w.trigger;
        watch_list.push_back(w);
      }
    }
    watch_start[watches.size()] = static_cast<std::uint32_t>(watch_list.size());
    cached_state = nullptr;  // branch states must grow for the new trigger
  }

  bool condition(std::size_t t, const NodeView& n) const {
    const Trigger& tr = triggers[t];
    for (const Comparison& c : tr.conditions) {
      if (!compare(c, n)) return false;
    }
    return !tr.predicate || tr.predicate(n);
  }

  // Records a firing; the caller fills the returned matched list (reserved for `k` nodes).
  std::vector<NodeId>& fire(std::size_t t, BranchId b, std::size_t k, Tick at, std::size_t depth, NodeId fork_at) {
    Firing& f = firings.emplace_back();
    f.trigger = t;
    f.branch = b;
    f.at = at;
    f.matched.reserve(k);
    if (!hot[t].alert) actions.push_back({firings.size() - 1, depth, fork_at});
    return f.matched;
  }

  // Fires the Absence entries of branch b whose deadline is < limit (inclusive: <= limit).
  void expire(BranchId b, BranchState& s, Tick limit, bool inclusive, std::size_t depth) {
    Tick next = kMaxTick;
    for (const std::uint32_t t : absences) {
      Ring<Ref>& pending = s.triggers[t].window;
      while (!pending.empty() && (pending.front().key < limit || (inclusive && pending.front().key == limit))) {
        const Ref r = pending.front();
        pending.pop_front();
        // Fork (if asked) at the last node the deadline covers.
        NodeId fork_at = kNoNode;
        if (triggers[t].action.kind == Action::Kind::Fork) {
          const Timeline& tl = world.timeline(b);
          const std::size_t last = tl.range(kMinTick, r.key).second;
          if (last > 0) fork_at = tl[last - 1].id;
        }
        fire(t, b, 1, r.key, depth, fork_at).push_back(r.id);
      }
      if (!pending.empty()) next = std::min(next, pending.front().key);
    }
    s.next_deadline = next;
  }

  // Matches node n (just appended to b) against the triggers.
  void feed(BranchId b, const NodeView& n, std::size_t depth) {
    BranchState& s = branch(b);
    if (n.key > s.next_deadline) expire(b, s, n.key, false, depth);
    if (std::size_t{n.type} + 1 >= watch_start.size()) return;
    const Watch* w = watch_list.data() + watch_start[n.type];
    const Watch* const end = watch_list.data() + watch_start[n.type + 1];
    int cond = -1;  // the current trigger's condition on n: unknown, false, true
    for (; w != end; ++w) {
      if (w->first) cond = w->always ? 1 : -1;
      auto holds = [&] {
        if (cond < 0) cond = condition(w->trigger, n) ? 1 : 0;
        return cond == 1;
      };
      step(s, b, *w, n, depth, holds);
    }
  }

  // Drops the partial matches of a Sequence list whose first node is more than
  // the window before `key`. Keys never decrease and a list is ordered by start,
  // so a list is expired lazily, just before it is used or grown; that is the
  // same as expiring every list on every node, and keeps each list bounded.
  static void expire_list(TriggerState& st, Ring<std::uint32_t>& l, const Hot& h, Tick key) {
    while (!l.empty() && sat_add(st.pool[std::size_t{l.front()} * h.k].key, h.window) < key) {
      st.free_slots.push_back(l.front());
      l.pop_front();
    }
  }

  template <typename Holds>
  void step(BranchState& s, BranchId b, const Watch& w, const NodeView& n, std::size_t depth, Holds&& holds) {
    const std::uint32_t t = w.trigger;
    const Hot& h = hot[t];
    TriggerState& st = s.triggers[t];
    const std::size_t k = h.k;
    const std::size_t j = w.role;
    const Ref ref{n.id, n.key};
    switch (w.op) {
      case Watch::Op::SeqSingle:
        if (holds()) fire(t, b, 1, n.key, depth, n.id).push_back(n.id);
        break;
      case Watch::Op::SeqOpen: {
        expire_list(st, st.lists[1], h, n.key);
        std::uint32_t slot;
        if (!st.free_slots.empty()) {
          slot = st.free_slots.back();
          st.free_slots.pop_back();
        } else {
          slot = static_cast<std::uint32_t>(st.pool.size() / k);
          st.pool.resize(st.pool.size() + k);
        }
        st.pool[slot * k] = ref;
        st.lists[1].push_back(slot);
        break;
      }
      case Watch::Op::SeqComplete: {
        Ring<std::uint32_t>& l = st.lists[j];
        expire_list(st, l, h, n.key);
        if (l.empty() || !holds()) break;
        for (std::size_t i = 0; i < l.size(); ++i) {
          const std::uint32_t slot = l[i];
          std::vector<NodeId>& matched = fire(t, b, k, n.key, depth, n.id);
          const Ref* first = st.pool.data() + std::size_t{slot} * k;
          for (std::size_t p = 0; p + 1 < k; ++p) matched.push_back(first[p].id);
          matched.push_back(n.id);
          st.free_slots.push_back(slot);
        }
        l.clear();
        break;
      }
      case Watch::Op::SeqAdvance: {
        Ring<std::uint32_t>& from = st.lists[j];
        Ring<std::uint32_t>& to = st.lists[j + 1];
        expire_list(st, from, h, n.key);
        expire_list(st, to, h, n.key);
        // Partial matches further along started earlier, so appending keeps `to` ordered by start.
        for (std::size_t i = 0; i < from.size(); ++i) {
          st.pool[from[i] * k + j] = ref;
          to.push_back(from[i]);
        }
        from.clear();
        break;
      }
      case Watch::Op::Conj: {
        // Shift the roles of n's type (oldest first), n takes the last one.
        const std::vector<std::uint32_t>& group = compiled[t].same_type[j];
        if (st.roles[group.front()].id == kNoNode) ++st.filled;
        for (std::size_t g = 0; g + 1 < group.size(); ++g) st.roles[group[g]] = st.roles[group[g + 1]];
        st.roles[group.back()] = ref;
        if (st.filled < k) break;
        const Tick window = h.window;
        for (Ref& r : st.roles) {
          if (r.id != kNoNode && sat_add(r.key, window) < n.key) {
            r = Ref{};
            --st.filled;
          }
        }
        if (st.filled < k || !holds()) break;
        std::vector<NodeId>& matched = fire(t, b, k, n.key, depth, n.id);
        for (std::size_t p = 0; p < k; ++p) matched.push_back(st.roles[p].id);
        std::fill(st.roles.begin(), st.roles.end(), Ref{});
        st.filled = 0;
        break;
      }
      case Watch::Op::Count: {
        while (!st.window.empty() && sat_add(st.window.front().key, h.window) < n.key) st.window.pop_front();
        st.window.push_back(ref);
        const std::size_t count = h.count;
        if (st.window.size() < count || !holds()) break;
        std::vector<NodeId>& matched = fire(t, b, count, n.key, depth, n.id);
        const std::size_t skip = st.window.size() - count;
        for (std::size_t p = 0; p < count; ++p) matched.push_back(st.window[skip + p].id);
        st.window.clear();
        break;
      }
      case Watch::Op::AbsCancel:
        // Entries past their deadline were fired before this node was matched.
        st.window.clear();
        break;
      case Watch::Op::AbsStart:
        if (holds()) {
          const Tick deadline = sat_add(n.key, h.window);
          st.window.push_back(Ref{n.id, deadline});
          s.next_deadline = std::min(s.next_deadline, deadline);
        }
        break;
    }
  }

  // Runs the queued Fork/Emit actions; emitted nodes are fed in turn.
  void run_actions() {
    for (std::size_t head = 0; head < actions.size(); ++head) {
      const PendingAction a = actions[head];
      const std::size_t t = firings[a.firing].trigger;
      const BranchId b = firings[a.firing].branch;
      const Action& action = triggers[t].action;
      Compiled& c = compiled[t];
      if (action.kind == Action::Kind::Fork) {
        if (a.fork_at == kNoNode) continue;
        std::string name;
        do {
          name = c.fork_base + "/" + std::to_string(++c.forks);
        } while (world.find_branch(name));
        const BranchId forked = world.fork(b, a.fork_at, std::move(name));
        firings[a.firing].forked = forked;
        continue;
      }
      if (a.depth + 1 > kMaxEmitDepth) {
        fail(c.label + ": emit loop: emitted nodes kept firing emits " + std::to_string(kMaxEmitDepth) +
             " levels deep on branch '" + world.branch_name(b) + "' (at tick " + std::to_string(firings[a.firing].at) +
             ")");
      }
      if (++emitted > kMaxEmitsPerCall) {
        fail(c.label + ": emit loop: more than " + std::to_string(kMaxEmitsPerCall) +
             " nodes emitted for one append on branch '" + world.branch_name(b) + "'");
      }
      const Tick last = world.timeline(b).back().key;
      NodeSpec spec;
      spec.time = std::max(sat_add(firings[a.firing].at, action.delay), last);
      spec.type = action.type;
      if (c.has_message) spec.attributes = std::span<const Attribute>(&c.message, 1);
      const NodeView view = world.append_view(b, spec, {});
      firings[a.firing].produced = view.id;
      feed(b, view, a.depth + 1);
    }
    actions.clear();
  }
};

TriggerEngine::TriggerEngine(World& world) : impl_(std::make_shared<Impl>(world)) {}

std::size_t TriggerEngine::add(Trigger t) {
  MISO_PROFILE_SCOPE("echo.trigger_add");
  Impl& m = *impl_;
  const std::size_t index = m.triggers.size();
  Compiled c;
  c.label = t.name.empty() ? "trigger #" + std::to_string(index) : "trigger '" + t.name + "'";
  c.fork_base = t.name.empty() ? "trigger" + std::to_string(index) : t.name;
  const Pattern& p = t.pattern;
  if (p.kind != Pattern::Kind::Sequence && p.kind != Pattern::Kind::Conjunction && p.kind != Pattern::Kind::Count &&
      p.kind != Pattern::Kind::Absence) {
    fail(c.label + ": unknown pattern kind " + std::to_string(static_cast<int>(p.kind)));
  }
  if (p.types.empty()) fail(c.label + ": the pattern has no event types");
  if (p.window < 0) fail(c.label + ": negative window " + std::to_string(p.window));
  if (p.kind == Pattern::Kind::Count) {
    if (p.count == 0) fail(c.label + ": a Count pattern needs a count of at least 1");
    if (p.types.size() != 1) {
      fail(c.label + ": a Count pattern takes one event type, got " + std::to_string(p.types.size()));
    }
  }
  if (p.kind == Pattern::Kind::Absence && p.types.size() != 2) {
    fail(c.label + ": an Absence pattern takes two event types (the event, then the one that must not follow), got " +
         std::to_string(p.types.size()));
  }
  if (p.types.size() > std::numeric_limits<std::uint32_t>::max() / 2) fail(c.label + ": too many event types");
  for (std::size_t i = 0; i < t.conditions.size(); ++i) {
    const Comparison& cmp = t.conditions[i];
    if (static_cast<int>(cmp.op) > static_cast<int>(Comparison::Op::Exists)) {
      fail(c.label + ": condition " + std::to_string(i) + " has an unknown operator");
    }
    if (cmp.op != Comparison::Op::Exists && cmp.op != Comparison::Op::Eq && cmp.op != Comparison::Op::Ne &&
        cmp.value.kind == Value::Kind::Text) {
      fail(c.label + ": condition " + std::to_string(i) + " orders a text value; texts compare with Eq and Ne only");
    }
  }
  if (!t.condition.empty()) {
    ConditionFn named = find_condition(t.condition);
    if (!named) {
      std::string known;
      for (const std::string& n : condition_names()) known += (known.empty() ? "" : ", ") + n;
      fail(c.label + ": unknown condition '" + t.condition + "' (registered: " + (known.empty() ? "none" : known) +
           ")");
    }
    // Folded into the predicate: the hot path asks one function, as before.
    const World* world = &m.world;
    t.predicate = [named = std::move(named), code = std::move(t.predicate), world](const NodeView& n) {
      return (!code || code(n)) && named(*world, n);
    };
  }
  const Action& a = t.action;
  if (a.kind != Action::Kind::Emit && a.kind != Action::Kind::Fork && a.kind != Action::Kind::Alert) {
    fail(c.label + ": unknown action kind " + std::to_string(static_cast<int>(a.kind)));
  }
  if (a.kind == Action::Kind::Emit) {
    if (a.delay < 0) fail(c.label + ": negative emit delay " + std::to_string(a.delay));
    if (!a.message.empty()) {
      c.has_message = true;
      c.message = Attribute{m.world.intern("message"), Value::text_of(m.world.intern(a.message))};
    }
  }

  // Roles and the index. Watches of one trigger are adjacent, highest role
  // first, so a node advances partial matches before it opens new ones.
  const std::size_t k = p.types.size();
  c.k = k;
  const auto ti = static_cast<std::uint32_t>(index);
  auto watch = [&](Symbol type, std::uint32_t role) {
    if (type >= m.watches.size()) m.watches.resize(static_cast<std::size_t>(type) + 1);
    m.watches[type].push_back(Watch{ti, role});
  };
  if (p.kind == Pattern::Kind::Conjunction) {
    c.same_type.resize(k);
    for (std::size_t r = 0; r < k; ++r) {
      for (std::size_t q = 0; q < k; ++q) {
        if (p.types[q] == p.types[r]) c.same_type[r].push_back(static_cast<std::uint32_t>(q));
      }
      if (c.same_type[r].front() == r) watch(p.types[r], static_cast<std::uint32_t>(r));
    }
  } else if (p.kind == Pattern::Kind::Count) {
    watch(p.types[0], 0);
  } else {
    for (std::size_t r = k; r-- > 0;) watch(p.types[r], static_cast<std::uint32_t>(r));
  }
  Hot h;
  h.kind = p.kind;
  h.alert = a.kind == Action::Kind::Alert;
  h.k = static_cast<std::uint32_t>(k);
  h.count = p.count;
  h.window = p.window;
  m.hot.push_back(h);
  m.triggers.push_back(std::move(t));
  m.compiled.push_back(std::move(c));
  if (m.triggers.back().pattern.kind == Pattern::Kind::Absence) m.absences.push_back(ti);
  m.flatten();
  return index;
}

const std::vector<Trigger>& TriggerEngine::triggers() const noexcept { return impl_->triggers; }

NodeId TriggerEngine::append(BranchId b, const NodeSpec& spec, std::string_view name) {
  // No profiler span here: this is the per-event hot path (spans mark the
  // rarer action runs and advance_to).
  Impl& m = *impl_;
  const NodeView view = m.world.append_view(b, spec, name);
  m.actions.clear();
  m.emitted = 0;
  m.feed(b, view, 0);
  if (!m.actions.empty()) {
    MISO_PROFILE_SCOPE("echo.trigger_actions");
    m.run_actions();
  }
  return view.id;
}

void TriggerEngine::advance_to(BranchId b, Tick t) {
  MISO_PROFILE_SCOPE("echo.trigger_advance");
  Impl& m = *impl_;
  (void)m.world.timeline(b);  // Error for an unknown branch
  m.actions.clear();
  m.emitted = 0;
  BranchState& s = m.branch(b);
  if (t >= s.next_deadline) m.expire(b, s, t, true, 0);
  m.run_actions();
}

const std::vector<Firing>& TriggerEngine::firings() const noexcept { return impl_->firings; }

void TriggerEngine::clear_firings() { impl_->firings.clear(); }

}  // namespace miso::echo
