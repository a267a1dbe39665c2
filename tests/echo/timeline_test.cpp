#include "miso/echo/timeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::echo {
namespace {

// Runs fn, which must throw miso::Error of kind InvalidArgument whose message contains every needle.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown (expected one mentioning '" << needles.front() << "')";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
    for (const auto& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << needle;
    }
  }
}

// prefix + number (not "x" + to_string(): GCC 12 warns falsely with -Wrestrict on that).
std::string numbered(const char* prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// The plain model of a node.
struct ModelNode {
  NodeId id = kNoNode;
  Tick time = kFree;
  Tick key = 0;
  Symbol type = 0;
  double probability = 1.0;
  std::vector<Attribute> attributes;
  std::vector<FluentEffect> effects;
};

NodeSpec spec(Tick time, Symbol type, double probability = 1.0, std::span<const Attribute> attributes = {},
              std::span<const FluentEffect> effects = {}) {
  NodeSpec s;
  s.time = time;
  s.type = type;
  s.probability = probability;
  s.attributes = attributes;
  s.effects = effects;
  return s;
}

NodeSpec spec_of(const ModelNode& m) { return spec(m.time, m.type, m.probability, m.attributes, m.effects); }

void expect_same(const NodeView& v, const ModelNode& m) {
  EXPECT_EQ(v.id, m.id);
  EXPECT_EQ(v.time, m.time);
  EXPECT_EQ(v.key, m.key);
  EXPECT_EQ(v.free(), m.time == kFree);
  EXPECT_EQ(v.type, m.type);
  EXPECT_EQ(v.probability, m.probability);
  ASSERT_EQ(v.attributes.size(), m.attributes.size());
  for (std::size_t i = 0; i < m.attributes.size(); ++i) EXPECT_EQ(v.attributes[i], m.attributes[i]);
  ASSERT_EQ(v.effects.size(), m.effects.size());
  for (std::size_t i = 0; i < m.effects.size(); ++i) EXPECT_EQ(v.effects[i], m.effects[i]);
}

// Random node stream: nondecreasing times with repeats, ~20% free nodes, a few
// attributes and fluent effects over `fluents` fluents.
class Generator {
 public:
  explicit Generator(std::uint32_t seed, Symbol fluents = 6) : rng_(seed), fluents_(fluents) {}

  ModelNode next(NodeId id) {
    ModelNode m;
    m.id = id;
    if (coin(0.2)) {
      m.time = kFree;
      m.key = last_key_;
    } else {
      time_ += static_cast<Tick>(pick(0, 3));  // 0 gives equal times
      m.time = time_;
      m.key = time_;
    }
    last_key_ = m.key;
    m.type = static_cast<Symbol>(pick(1, 5));
    m.probability = static_cast<double>(pick(0, 100)) / 100.0;
    const auto n_attr = pick(0, 3);
    for (int i = 0; i < n_attr; ++i) {
      Attribute a;
      a.key = static_cast<Symbol>(pick(1, 4));
      a.value =
          coin(0.5) ? Value::of(static_cast<double>(pick(-50, 50))) : Value::text_of(static_cast<Symbol>(pick(0, 9)));
      m.attributes.push_back(a);
    }
    const auto n_eff = coin(0.5) ? 0 : pick(1, 3);
    for (int i = 0; i < n_eff; ++i) {
      FluentEffect e;
      e.fluent = static_cast<Symbol>(100 + pick(0, static_cast<int>(fluents_) - 1));
      const int k = pick(0, 2);
      e.effect = k == 0 ? Effect::Initiates : k == 1 ? Effect::Terminates : Effect::Requires;
      m.effects.push_back(e);
    }
    return m;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  Symbol fluents_;
  Tick time_ = 0;
  Tick last_key_ = 0;
};

// Brute force of Timeline::holds on a model.
bool model_holds(const std::vector<ModelNode>& nodes, Symbol fluent, Tick t) {
  std::optional<bool> state;
  for (const ModelNode& m : nodes) {
    if (m.key > t) break;
    for (const FluentEffect& e : m.effects) {
      if (e.fluent != fluent || e.effect == Effect::Requires) continue;
      state = e.effect == Effect::Initiates;
    }
  }
  return state.value_or(false);
}

void check_against_model(const Timeline& tl, const std::vector<ModelNode>& model, std::mt19937& rng) {
  ASSERT_EQ(tl.size(), model.size());
  EXPECT_EQ(tl.empty(), model.empty());
  for (std::size_t p = 0; p < model.size(); ++p) expect_same(tl[p], model[p]);
  if (!model.empty()) expect_same(tl.back(), model.back());
  for (std::size_t p = 0; p < model.size(); ++p) {
    const auto found = tl.find(model[p].id);
    ASSERT_TRUE(found.has_value()) << "node " << model[p].id;
    EXPECT_EQ(*found, p);
  }
  const Tick max_key = model.empty() ? 0 : model.back().key;
  std::uniform_int_distribution<Tick> tick(-3, max_key + 3);
  for (int q = 0; q < 300; ++q) {
    Tick lo = tick(rng), hi = tick(rng);
    if (q % 7 == 0) std::swap(lo, hi);  // sometimes lo > hi: empty
    std::size_t first = 0;
    while (first < model.size() && model[first].key < lo) ++first;
    std::size_t last = first;
    while (last < model.size() && model[last].key <= hi) ++last;
    if (lo > hi) last = first = 0;
    const auto [f, l] = tl.range(lo, hi);
    if (lo > hi) {
      EXPECT_EQ(f, l);
    } else {
      EXPECT_EQ(f, first) << lo << ".." << hi;
      EXPECT_EQ(l, last) << lo << ".." << hi;
    }
  }
}

TEST(EchoTimeline, AppendLookupRangeMatchModel) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    Generator gen(seed);
    Timeline tl;
    std::vector<ModelNode> model;
    NodeId id = 5;
    const std::size_t n = 3 * Timeline::kChunk + 123;
    for (std::size_t i = 0; i < n; ++i) {
      id += static_cast<NodeId>(gen.pick(1, 3));  // gaps: ids need only increase
      model.push_back(gen.next(id));
      tl.append(id, spec_of(model.back()));
      if (i == 10) check_against_model(tl, model, gen.rng());
    }
    check_against_model(tl, model, gen.rng());
    EXPECT_EQ(tl.chunk_count(), 4u);
    // Ids that are not on the timeline.
    EXPECT_FALSE(tl.find(0).has_value());
    EXPECT_FALSE(tl.find(id + 1).has_value());
    EXPECT_FALSE(tl.find(kNoNode).has_value());
    for (std::size_t p = 1; p < model.size(); ++p) {
      if (model[p].id > model[p - 1].id + 1) {
        EXPECT_FALSE(tl.find(model[p].id - 1).has_value());
      }
    }
  }
}

TEST(EchoTimeline, EmptyTimelineAndFreeNodesAtStart) {
  Timeline tl;
  EXPECT_TRUE(tl.empty());
  EXPECT_EQ(tl.range(-100, 100), (std::pair<std::size_t, std::size_t>{0, 0}));
  EXPECT_FALSE(tl.find(0).has_value());
  EXPECT_FALSE(tl.holds(1, 100));
  EXPECT_TRUE(tl.state_at(100).empty());
  EXPECT_EQ(tl.chunk_count(), 0u);
  EXPECT_TRUE(tl.prefix(Timeline::npos).empty());
  // Free nodes at the start take key 0.
  tl.append(0, spec(kFree, 1));
  tl.append(1, spec(kFree, 1));
  tl.append(2, spec(7, 1));
  tl.append(3, spec(kFree, 1));
  EXPECT_EQ(tl[0].key, 0);
  EXPECT_TRUE(tl[0].free());
  EXPECT_EQ(tl[0].time, kFree);
  EXPECT_EQ(tl[2].key, 7);
  EXPECT_EQ(tl[3].key, 7);
  EXPECT_EQ(tl.range(0, 0), (std::pair<std::size_t, std::size_t>{0, 2}));
  EXPECT_EQ(tl.range(7, 7), (std::pair<std::size_t, std::size_t>{2, 4}));
  // A timed node before the free nodes' key 0 would break the key order.
  expect_error(
      [&] {
        Timeline t2;
        t2.append(0, spec(kFree, 1));
        t2.append(1, spec(-5, 1));
      },
      {"#1", "-5"});
}

TEST(EchoTimeline, AttributeLookup) {
  const std::vector<Attribute> attrs = {{3, Value::of(2.5)}, {4, Value::text_of(9)}};
  Timeline tl;
  tl.append(0, spec(1, 2, 1.0, attrs, {}));
  const NodeView v = tl[0];
  ASSERT_TRUE(v.attribute(3).has_value());
  EXPECT_EQ(*v.attribute(3), Value::of(2.5));
  EXPECT_EQ(*v.attribute(4), Value::text_of(9));
  EXPECT_FALSE(v.attribute(5).has_value());
  EXPECT_TRUE(v.effects.empty());
}

TEST(EchoTimeline, ErrorsNameTheNode) {
  Timeline tl;
  tl.append(10, spec(100, 1));
  tl.append(11, spec(kFree, 1));
  expect_error([&] { tl.append(12, spec(99, 1)); }, {"#12", "99", "100"});
  expect_error([&] { tl.append(12, spec(100, 1, 1.5)); }, {"#12", "probability", "1.5"});
  expect_error([&] { tl.append(12, spec(100, 1, -0.25)); }, {"#12", "probability"});
  expect_error([&] { tl.append(12, spec(100, 1, std::nan(""))); }, {"#12", "probability"});
  expect_error([&] { tl.append(11, spec(100, 1)); }, {"#11", "increase"});
  expect_error([&] { tl.append(3, spec(100, 1)); }, {"#3"});
  EXPECT_EQ(tl.size(), 2u);  // failed appends change nothing
  tl.append(12, spec(100, 1, 0.0));
  tl.append(13, spec(100, 1, 1.0));
  EXPECT_EQ(tl.size(), 4u);

  World w;
  w.append(w.main(), spec(50, w.intern("a")), "first");
  expect_error([&] { w.append(w.main(), spec(40, w.intern("a")), "late"); }, {"'late'", "40", "50"});
  expect_error([&] { w.append(w.main(), spec(60, w.intern("a"), 2.0), "unlikely"); }, {"'unlikely'", "probability"});
  expect_error([&] { w.append(w.main(), spec(40, w.intern("a"))); }, {"#1", "40"});
  expect_error([&] { w.append(7, spec(60, 0)); }, {"branch 7"});
  EXPECT_EQ(w.node_count(), 1u);
  EXPECT_FALSE(w.find_node("late").has_value());
}

TEST(EchoTimeline, CopyOnWrite) {
  Generator gen(7);
  Timeline a;
  std::vector<ModelNode> ma;
  NodeId id = 0;
  for (std::size_t i = 0; i < Timeline::kChunk + 500; ++i) {
    ma.push_back(gen.next(id));
    a.append(id++, spec_of(ma.back()));
  }
  const NodeView held = a.back();  // spans into the shared tail chunk
  const std::vector<Attribute> held_attrs(held.attributes.begin(), held.attributes.end());
  Timeline b = a;
  EXPECT_EQ(b.shared_chunks(a), 2u);
  EXPECT_EQ(b.chunk_count(), 2u);
  std::vector<ModelNode> mb = ma;
  for (int i = 0; i < 700; ++i) {  // crosses a chunk boundary
    mb.push_back(gen.next(id));
    b.append(id++, spec_of(mb.back()));
  }
  for (int i = 0; i < 300; ++i) {
    ma.push_back(gen.next(id));
    if (ma.back().time == kFree) ma.back().key = ma[ma.size() - 2].key;  // gen's last key was b's
    a.append(id++, spec_of(ma.back()));
  }
  check_against_model(a, ma, gen.rng());
  check_against_model(b, mb, gen.rng());
  EXPECT_EQ(a.shared_chunks(b), 1u);  // only the first full chunk
  EXPECT_EQ(Timeline::first_divergence(a, b), Timeline::kChunk + 500);
  // The view taken before still reads the original node.
  ASSERT_EQ(held.attributes.size(), held_attrs.size());
  for (std::size_t i = 0; i < held_attrs.size(); ++i) EXPECT_EQ(held.attributes[i], held_attrs[i]);
  // Assignment shares too; appending to the original leaves the copy alone.
  Timeline c;
  c = a;
  const std::size_t before = c.size();
  a.append(id++, spec(ma.back().key + 1, 1));
  EXPECT_EQ(c.size(), before);
  EXPECT_EQ(a.size(), before + 1);
  EXPECT_FALSE(c.find(id - 1).has_value());
}

TEST(EchoTimeline, PrefixSharesFullChunks) {
  Generator gen(11);
  Timeline tl;
  std::vector<ModelNode> model;
  for (NodeId id = 0; id < 4 * Timeline::kChunk + 17; ++id) {
    model.push_back(gen.next(id));
    tl.append(id, spec_of(model.back()));
  }
  for (std::size_t position : {std::size_t{0}, std::size_t{5}, Timeline::kChunk - 1, Timeline::kChunk,
                               2 * Timeline::kChunk + 300, 4 * Timeline::kChunk - 1, 4 * Timeline::kChunk + 16}) {
    const Timeline p = tl.prefix(position);
    std::vector<ModelNode> expect(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(position + 1));
    check_against_model(p, expect, gen.rng());
    const std::size_t full = (position + 1) / Timeline::kChunk;
    const bool partial = (position + 1) % Timeline::kChunk != 0;
    EXPECT_EQ(p.chunk_count(), full + (partial ? 1 : 0));
    // Every full chunk is shared; a partial one is a copy unless it is the whole tail.
    const bool whole = position + 1 == tl.size();
    EXPECT_EQ(p.shared_chunks(tl), full + (whole && partial ? 1 : 0)) << position;
    EXPECT_EQ(Timeline::first_divergence(p, tl), position + 1);
    // Appending to the prefix continues its key order, not the original's.
    Timeline q = p;
    const Tick last = expect.back().key;
    q.append(tl.back().id + 1, spec(last, 1));
    EXPECT_EQ(q.size(), position + 2);
    EXPECT_EQ(tl.size(), model.size());
    EXPECT_EQ(Timeline::first_divergence(q, tl), position + 1);
  }
  EXPECT_TRUE(tl.prefix(Timeline::npos).empty());
}

TEST(EchoTimeline, HoldsAndStateMatchBruteForce) {
  for (std::uint32_t seed : {21u, 22u}) {
    Generator gen(seed, 5);
    Timeline tl;
    std::vector<ModelNode> model;
    for (NodeId id = 0; id < 3 * Timeline::kChunk + 77; ++id) {
      model.push_back(gen.next(id));
      tl.append(id, spec_of(model.back()));
    }
    const Tick max_key = model.back().key;
    for (int q = 0; q < 120; ++q) {
      const Tick t = gen.pick(-2, static_cast<int>(max_key) + 2);
      std::vector<Symbol> expect;
      for (Symbol f = 100; f < 106; ++f) {  // fluent 105 never occurs
        const bool h = model_holds(model, f, t);
        EXPECT_EQ(tl.holds(f, t), h) << "fluent " << f << " at " << t;
        if (h) expect.push_back(f);
      }
      EXPECT_EQ(tl.state_at(t), expect) << "at " << t;
    }
    // Also on a prefix (partial copied chunk) and at the exact end.
    const Timeline p = tl.prefix(2 * Timeline::kChunk + 10);
    std::vector<ModelNode> pm(model.begin(), model.begin() + 2 * Timeline::kChunk + 11);
    for (Symbol f = 100; f < 105; ++f) {
      EXPECT_EQ(p.holds(f, max_key + 1), model_holds(pm, f, max_key + 1));
      EXPECT_EQ(tl.holds(f, max_key), model_holds(model, f, max_key));
    }
  }
}

TEST(EchoTimeline, FirstDivergence) {
  std::mt19937 rng(3);
  for (std::size_t common :
       {std::size_t{0}, std::size_t{1}, Timeline::kChunk - 1, Timeline::kChunk, 2 * Timeline::kChunk + 5}) {
    // Built apart (no shared chunks), the same ids up to `common`.
    Timeline a, b;
    const std::size_t na = common + 1 + rng() % 50, nb = common + rng() % 50;
    for (std::size_t i = 0; i < na; ++i) a.append(i < common ? i : 100000 + i, spec(static_cast<Tick>(i), 1));
    for (std::size_t i = 0; i < nb; ++i) b.append(i < common ? i : 200000 + i, spec(static_cast<Tick>(i), 1));
    EXPECT_EQ(Timeline::first_divergence(a, b), common);  // a is longer, b holds at least `common`
    EXPECT_EQ(Timeline::first_divergence(b, a), Timeline::first_divergence(a, b));
    EXPECT_EQ(a.shared_chunks(b), 0u);
    EXPECT_EQ(Timeline::first_divergence(a, a), na);
    // A prefix of itself.
    EXPECT_EQ(Timeline::first_divergence(a, a.prefix(common)), common + 1);
  }
  Timeline empty;
  Timeline one;
  one.append(0, spec(0, 1));
  EXPECT_EQ(Timeline::first_divergence(empty, one), 0u);
}

TEST(EchoTimeline, AttributeSpansStayValidAcrossAppends) {
  // Nodes with many attributes fill the chunk's storage blocks; earlier views
  // must keep pointing at their (unmoved) attributes.
  Timeline tl;
  std::vector<NodeView> views;
  std::vector<std::vector<Attribute>> expected;
  for (NodeId id = 0; id < 300; ++id) {
    const std::size_t n = id % 50 == 7 ? 5000 : id % 5;
    std::vector<Attribute> attrs;
    for (std::size_t k = 0; k < n; ++k) {
      attrs.push_back({static_cast<Symbol>(k), Value::of(static_cast<double>(id * 10000 + k))});
    }
    tl.append(id, spec(static_cast<Tick>(id), 1, 1.0, attrs));
    views.push_back(tl.back());
    expected.push_back(std::move(attrs));
  }
  for (std::size_t i = 0; i < views.size(); ++i) {
    ASSERT_EQ(views[i].attributes.size(), expected[i].size());
    for (std::size_t k = 0; k < expected[i].size(); ++k) ASSERT_EQ(views[i].attributes[k], expected[i][k]);
    EXPECT_EQ(tl[i].attributes.data(), views[i].attributes.data());
  }
}

TEST(EchoTimeline, LastEffectInsideOneNodeWins) {
  Timeline tl;
  const std::vector<FluentEffect> on_off = {{1, Effect::Initiates}, {1, Effect::Terminates}, {2, Effect::Initiates}};
  const std::vector<FluentEffect> req = {{1, Effect::Requires}, {2, Effect::Terminates}, {2, Effect::Initiates}};
  tl.append(0, spec(5, 0, 1.0, {}, on_off));
  tl.append(1, spec(6, 0, 1.0, {}, req));
  EXPECT_FALSE(tl.holds(1, 5));
  EXPECT_TRUE(tl.holds(2, 5));
  EXPECT_FALSE(tl.holds(2, 4));
  EXPECT_TRUE(tl.holds(2, 6));
  EXPECT_EQ(tl.state_at(100), std::vector<Symbol>{2});
}

TEST(EchoWorld, SymbolsAndUnits) {
  World w;
  EXPECT_EQ(w.text(0), "");  // symbol 0 is the empty text
  const Symbol a = w.intern("alpha");
  const Symbol b = w.intern("beta");
  EXPECT_NE(a, b);
  EXPECT_EQ(w.intern("alpha"), a);
  EXPECT_EQ(w.text(a), "alpha");
  EXPECT_EQ(w.lookup("beta"), b);
  EXPECT_FALSE(w.lookup("gamma").has_value());
  expect_error([&] { (void)w.text(12345); }, {"12345"});
  const std::string& ref = w.text(a);
  for (int i = 0; i < 1000; ++i) w.intern(numbered("s", i));
  EXPECT_EQ(ref, "alpha");  // references stay valid
  EXPECT_EQ(w.unit(), "ms");
  w.set_unit("us");
  EXPECT_EQ(w.unit(), "us");
  expect_error([&] { w.set_unit("fortnights"); }, {"fortnights"});
  EXPECT_EQ(w.unit(), "us");
}

TEST(EchoWorld, BranchesForkAndNames) {
  World w;
  EXPECT_EQ(w.branch_count(), 1u);
  EXPECT_EQ(w.branch_name(w.main()), "main");
  EXPECT_EQ(w.parent(w.main()), w.main());
  EXPECT_EQ(w.find_branch("main"), w.main());
  const Symbol ev = w.intern("ev");
  const NodeId n0 = w.append(w.main(), spec(1, ev), "start");
  const NodeId n1 = w.append(w.main(), spec(2, ev));
  const NodeId n2 = w.append(w.main(), spec(3, ev), "third");
  EXPECT_EQ(n0, 0u);
  EXPECT_EQ(n1, 1u);
  EXPECT_EQ(n2, 2u);
  EXPECT_EQ(w.node_count(), 3u);
  EXPECT_EQ(w.find_node("start"), n0);
  EXPECT_FALSE(w.find_node("#1").has_value());
  EXPECT_EQ(w.node_name(n0), "start");
  EXPECT_EQ(w.node_name(n1), "#1");
  expect_error([&] { w.append(w.main(), spec(4, ev), "start"); }, {"'start'", "taken"});
  EXPECT_EQ(w.node_count(), 3u);

  const BranchId alt = w.fork(w.main(), n1, "alt");
  EXPECT_EQ(w.branch_count(), 2u);
  EXPECT_EQ(w.branch_name(alt), "alt");
  EXPECT_EQ(w.parent(alt), w.main());
  EXPECT_EQ(w.find_branch("alt"), alt);
  EXPECT_EQ(w.timeline(alt).size(), 2u);
  const NodeId n3 = w.append(alt, spec(10, ev), "alt-node");
  EXPECT_EQ(w.home(n3), alt);
  EXPECT_EQ(w.home(n0), w.main());
  EXPECT_EQ(w.node(n3).time, 10);
  EXPECT_EQ(w.node(n2).time, 3);
  EXPECT_EQ(w.timeline(w.main()).size(), 3u);
  EXPECT_EQ(w.first_divergence(alt, w.main()), 2u);
  EXPECT_EQ(w.first_divergence(w.main(), w.main()), 3u);

  expect_error([&] { w.fork(w.main(), n1, "alt"); }, {"'alt'", "taken"});
  expect_error([&] { w.fork(w.main(), n3, "other"); }, {"alt-node", "'main'"});
  expect_error([&] { w.fork(9, n0, "x"); }, {"branch 9"});
  expect_error([&] { (void)w.timeline(9); }, {"branch 9"});
  expect_error([&] { (void)w.branch_name(9); }, {"branch 9"});
  expect_error([&] { (void)w.home(99); }, {"#99"});
  expect_error([&] { (void)w.node(99); }, {"#99"});
  // A fork at no node is an empty branch.
  const BranchId empty = w.fork(w.main(), kNoNode, "empty");
  EXPECT_TRUE(w.timeline(empty).empty());
  const BranchId sub = w.fork(alt, n3, "alt/sub");
  EXPECT_EQ(w.parent(sub), alt);
  EXPECT_EQ(w.timeline(sub).shared_chunks(w.timeline(alt)), 1u);
}

TEST(EchoWorld, ForkingIsCheapInMemory) {
  World w;
  const Symbol ev = w.intern("ev");
  const Symbol key = w.intern("k");
  const std::size_t n = 100000;
  const auto tag = EchoTag::tag();
  const std::int64_t start = core::memory::stats(tag).live_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    const Attribute attr{key, Value::of(static_cast<double>(i))};
    w.append(w.main(), spec(static_cast<Tick>(i), ev, 1.0, std::span<const Attribute>(&attr, 1), {}));
  }
  const std::int64_t one_copy = core::memory::stats(tag).live_bytes - start;
  EXPECT_GT(one_copy, static_cast<std::int64_t>(n * 48));  // records plus attributes
  const std::int64_t before = core::memory::stats(tag).live_bytes;
  std::mt19937 rng(5);
  std::vector<BranchId> forks;
  for (int i = 0; i < 1000; ++i) {
    const NodeId at = std::uniform_int_distribution<NodeId>(0, n - 1)(rng);
    forks.push_back(w.fork(w.main(), at, numbered("f", i)));
  }
  const std::int64_t forks_cost = core::memory::stats(tag).live_bytes - before;
  // A copy would cost 1000 * one_copy; each fork copies at most one partial chunk.
  EXPECT_LT(forks_cost, 1000 * one_copy / 50);
  for (std::size_t i = 0; i < forks.size(); i += 97) {
    const Timeline& f = w.timeline(forks[i]);
    const std::size_t full = f.size() / Timeline::kChunk;
    EXPECT_EQ(f.shared_chunks(w.timeline(w.main())), full);
    EXPECT_EQ(f.back().attribute(key), Value::of(static_cast<double>(f.size() - 1)));
  }
}

TEST(EchoWorld, DifferingFluents) {
  World w;
  const Symbol ev = w.intern("ev");
  const Symbol f = w.intern("f"), g = w.intern("g"), h = w.intern("h");
  const std::vector<FluentEffect> init_fg = {{f, Effect::Initiates}, {g, Effect::Initiates}};
  const std::vector<FluentEffect> term_f = {{f, Effect::Terminates}};
  const std::vector<FluentEffect> init_h = {{h, Effect::Initiates}};
  const NodeId a = w.append(w.main(), spec(1, ev, 1.0, {}, init_fg));
  const BranchId alt = w.fork(w.main(), a, "alt");
  w.append(w.main(), spec(5, ev, 1.0, {}, term_f));
  w.append(alt, spec(7, ev, 1.0, {}, init_h));
  EXPECT_TRUE(w.differing_fluents(w.main(), alt, 4).empty());
  EXPECT_EQ(w.differing_fluents(w.main(), alt, 5), std::vector<Symbol>{f});
  std::vector<Symbol> both = {f, h};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(w.differing_fluents(w.main(), alt, 7), both);
  EXPECT_EQ(w.differing_fluents(alt, w.main(), 100), both);
}

TEST(EchoWorld, MergeInterleavesByKey) {
  World w;
  const Symbol ev = w.intern("ev");
  const NodeId p0 = w.append(w.main(), spec(0, ev));
  const NodeId p1 = w.append(w.main(), spec(10, ev));
  const BranchId alt = w.fork(w.main(), p1, "alt");
  const NodeId m0 = w.append(w.main(), spec(12, ev));
  const NodeId m1 = w.append(w.main(), spec(20, ev));
  const NodeId a0 = w.append(alt, spec(11, ev));
  const NodeId a1 = w.append(alt, spec(kFree, ev));  // key 11
  const NodeId a2 = w.append(alt, spec(20, ev));     // tie with m1: main first
  const NodeId a3 = w.append(alt, spec(25, ev));
  const Timeline alt_before = w.timeline(alt);
  ASSERT_TRUE(w.merge(alt, w.main()));
  const Timeline& merged = w.timeline(w.main());
  std::vector<NodeId> order;
  for (std::size_t p = 0; p < merged.size(); ++p) order.push_back(merged[p].id);
  EXPECT_EQ(order, (std::vector<NodeId>{p0, p1, a0, a1, m0, m1, a2, a3}));
  EXPECT_EQ(merged[3].key, 11);
  EXPECT_TRUE(merged[3].free());
  for (std::size_t p = 0; p < order.size(); ++p) EXPECT_EQ(merged.find(order[p]), p);
  EXPECT_FALSE(merged.find(99).has_value());
  // `from` is unchanged; nodes keep their home.
  EXPECT_EQ(w.timeline(alt).size(), alt_before.size());
  EXPECT_EQ(w.home(a2), alt);
  EXPECT_EQ(w.node(a2).time, 20);
  // Appending after a merge continues, ids still increase.
  const NodeId next = w.append(w.main(), spec(30, ev));
  EXPECT_EQ(merged.find(next), order.size());
  // Merging again is a no-op; merging into itself too.
  EXPECT_TRUE(w.merge(alt, w.main()));
  EXPECT_EQ(w.timeline(w.main()).size(), order.size() + 1);
  EXPECT_TRUE(w.merge(alt, alt));
  // New nodes on alt after a merge: only they are merged the second time.
  const NodeId a4 = w.append(alt, spec(26, ev));
  ASSERT_TRUE(w.merge(alt, w.main()));
  std::vector<NodeId> again;
  for (std::size_t p = 0; p < w.timeline(w.main()).size(); ++p) again.push_back(w.timeline(w.main())[p].id);
  EXPECT_EQ(again, (std::vector<NodeId>{p0, p1, a0, a1, m0, m1, a2, a3, a4, next}));
  expect_error([&] { w.merge(7, w.main()); }, {"branch 7"});
}

TEST(EchoWorld, MergeIntoPrefixTakesTheOtherBranch) {
  World w;
  const Symbol ev = w.intern("ev");
  const NodeId p0 = w.append(w.main(), spec(0, ev));
  const BranchId alt = w.fork(w.main(), p0, "alt");
  for (int i = 1; i < 2000; ++i) w.append(alt, spec(i, ev));
  ASSERT_TRUE(w.merge(alt, w.main()));
  EXPECT_EQ(w.timeline(w.main()).size(), 2000u);
  EXPECT_EQ(w.timeline(w.main()).shared_chunks(w.timeline(alt)), 2u);
}

TEST(EchoWorld, MergeRefusesNewContradictions) {
  World w;
  const Symbol ev = w.intern("ev");
  const Symbol f = w.intern("f");
  const Symbol g = w.intern("g");
  const std::vector<FluentEffect> init_f = {{f, Effect::Initiates}};
  const std::vector<FluentEffect> term_f = {{f, Effect::Terminates}};
  const NodeId base = w.append(w.main(), spec(0, ev));
  const BranchId alt = w.fork(w.main(), base, "alt");
  w.append(w.main(), spec(5, ev, 1.0, {}, init_f));
  w.append(alt, spec(5, ev, 1.0, {}, term_f));
  const Timeline before = w.timeline(w.main());
  EXPECT_FALSE(w.merge(alt, w.main()));
  EXPECT_EQ(w.timeline(w.main()).size(), before.size());
  EXPECT_EQ(w.timeline(w.main()).shared_chunks(before), before.chunk_count());  // unchanged

  // Different ticks are fine.
  World w2;
  const Symbol ev2 = w2.intern("ev");
  const NodeId b2 = w2.append(w2.main(), spec(0, ev2));
  const BranchId alt2 = w2.fork(w2.main(), b2, "alt");
  w2.append(w2.main(), spec(5, ev2, 1.0, {}, init_f));
  w2.append(alt2, spec(6, ev2, 1.0, {}, term_f));
  EXPECT_TRUE(w2.merge(alt2, w2.main()));
  EXPECT_EQ(w2.timeline(w2.main()).size(), 3u);

  // A contradiction one branch already had alone does not block the merge.
  World w3;
  const Symbol ev3 = w3.intern("ev");
  const NodeId b3 = w3.append(w3.main(), spec(0, ev3));
  const BranchId alt3 = w3.fork(w3.main(), b3, "alt");
  w3.append(w3.main(), spec(5, ev3, 1.0, {}, init_f));
  w3.append(w3.main(), spec(5, ev3, 1.0, {}, term_f));
  w3.append(alt3, spec(5, ev3, 1.0, {}, term_f));
  const std::vector<FluentEffect> init_g = {{g, Effect::Initiates}};
  w3.append(alt3, spec(6, ev3, 1.0, {}, init_g));
  EXPECT_TRUE(w3.merge(alt3, w3.main()));
  EXPECT_EQ(w3.timeline(w3.main()).size(), 5u);

  // A clash with the common prefix's last tick counts too.
  World w4;
  const Symbol ev4 = w4.intern("ev");
  const NodeId b4 = w4.append(w4.main(), spec(5, ev4, 1.0, {}, init_f));
  const BranchId alt4 = w4.fork(w4.main(), b4, "alt");
  w4.append(w4.main(), spec(6, ev4));
  w4.append(alt4, spec(5, ev4, 1.0, {}, term_f));  // alt alone already clashes at 5
  EXPECT_TRUE(w4.merge(alt4, w4.main()));
}

TEST(EchoWorld, MergeRefusesUnmetRequirements) {
  World w;
  const Symbol ev = w.intern("ev");
  const Symbol door = w.intern("door_open");
  const std::vector<FluentEffect> open = {{door, Effect::Initiates}};
  const std::vector<FluentEffect> close = {{door, Effect::Terminates}};
  const std::vector<FluentEffect> need = {{door, Effect::Requires}};
  const NodeId base = w.append(w.main(), spec(0, ev, 1.0, {}, open));
  const BranchId alt = w.fork(w.main(), base, "alt");
  w.append(w.main(), spec(3, ev, 1.0, {}, close));  // main closes the door at 3
  w.append(alt, spec(5, ev, 1.0, {}, need));        // alt walks through at 5
  const Timeline before = w.timeline(w.main());
  EXPECT_FALSE(w.merge(alt, w.main()));
  EXPECT_EQ(w.timeline(w.main()).size(), before.size());
  EXPECT_EQ(Timeline::first_divergence(w.timeline(w.main()), before), before.size());

  // Walking through before the door closes is consistent.
  World w2;
  const Symbol ev2 = w2.intern("ev");
  const Symbol door2 = w2.intern("door_open");
  const std::vector<FluentEffect> open2 = {{door2, Effect::Initiates}};
  const std::vector<FluentEffect> close2 = {{door2, Effect::Terminates}};
  const std::vector<FluentEffect> need2 = {{door2, Effect::Requires}};
  const NodeId b2 = w2.append(w2.main(), spec(0, ev2, 1.0, {}, open2));
  const BranchId alt2 = w2.fork(w2.main(), b2, "alt");
  w2.append(w2.main(), spec(5, ev2, 1.0, {}, close2));
  w2.append(alt2, spec(5, ev2, 1.0, {}, need2));  // state just before 5: still open
  EXPECT_TRUE(w2.merge(alt2, w2.main()));
  EXPECT_EQ(w2.timeline(w2.main()).size(), 3u);

  // A requirement already unmet on its own branch does not block.
  World w3;
  const Symbol ev3 = w3.intern("ev");
  const Symbol d3 = w3.intern("d");
  const std::vector<FluentEffect> need3 = {{d3, Effect::Requires}};
  const NodeId b3 = w3.append(w3.main(), spec(0, ev3));
  const BranchId alt3 = w3.fork(w3.main(), b3, "alt");
  w3.append(alt3, spec(5, ev3, 1.0, {}, need3));
  w3.append(w3.main(), spec(4, ev3));
  EXPECT_TRUE(w3.merge(alt3, w3.main()));
}

TEST(EchoWorld, RandomMergesKeepEveryNodeFindable) {
  std::mt19937 rng(99);
  World w;
  const Symbol ev = w.intern("ev");
  Tick t_main = 0;
  for (int i = 0; i < 1500; ++i) w.append(w.main(), spec(t_main += rng() % 3, ev));
  for (int round = 0; round < 4; ++round) {
    const Timeline& m = w.timeline(w.main());
    const NodeId at = m[rng() % m.size()].id;
    const BranchId b = w.fork(w.main(), at, numbered("r", round));
    Tick t = w.timeline(b).back().key;
    Tick tm = w.timeline(w.main()).back().key;
    for (int i = 0; i < 800; ++i) w.append(b, spec(rng() % 5 == 0 ? kFree : (t += rng() % 4), ev));
    for (int i = 0; i < 300; ++i) w.append(w.main(), spec(tm += rng() % 4, ev));
    const Timeline main_before = w.timeline(w.main());
    ASSERT_TRUE(w.merge(b, w.main()));
    const Timeline& merged = w.timeline(w.main());
    EXPECT_EQ(merged.size(),
              main_before.size() + w.timeline(b).size() - Timeline::first_divergence(main_before, w.timeline(b)));
    // Keys nondecreasing, every id found at its position, both branches' nodes present.
    std::set<NodeId> ids;
    for (std::size_t p = 0; p < merged.size(); ++p) {
      if (p > 0) {
        EXPECT_LE(merged[p - 1].key, merged[p].key);
      }
      ASSERT_EQ(merged.find(merged[p].id), p);
      ids.insert(merged[p].id);
    }
    EXPECT_EQ(ids.size(), merged.size());
    for (std::size_t p = 0; p < w.timeline(b).size(); ++p) EXPECT_TRUE(ids.count(w.timeline(b)[p].id));
    for (std::size_t p = 0; p < main_before.size(); ++p) EXPECT_TRUE(ids.count(main_before[p].id));
    // Range on the merged timeline against a scan.
    for (int q = 0; q < 20; ++q) {
      const Tick lo = static_cast<Tick>(rng() % (tm + 2)), hi = lo + static_cast<Tick>(rng() % 20);
      std::size_t first = 0;
      while (first < merged.size() && merged[first].key < lo) ++first;
      std::size_t last = first;
      while (last < merged.size() && merged[last].key <= hi) ++last;
      EXPECT_EQ(merged.range(lo, hi), (std::pair<std::size_t, std::size_t>{first, last}));
    }
    // Prefixes of a merged timeline find their nodes too.
    const Timeline pre = merged.prefix(merged.size() / 2);
    for (std::size_t p = 0; p < pre.size(); p += 7) EXPECT_EQ(pre.find(pre[p].id), p);
    EXPECT_FALSE(pre.find(merged.back().id).has_value());
  }
}

TEST(EchoWorld, LinksAndConstraints) {
  World w;
  const Symbol ev = w.intern("ev");
  const NodeId a = w.append(w.main(), spec(0, ev), "a");
  const NodeId b = w.append(w.main(), spec(kFree, ev), "b");
  EXPECT_EQ(w.add_link({a, b}), 0u);
  EXPECT_EQ(w.add_link({b, a}), 1u);
  ASSERT_EQ(w.links().size(), 2u);
  EXPECT_EQ(w.links()[1].cause, b);
  expect_error([&] { w.add_link({a, 42}); }, {"causal link 2", "#42"});
  expect_error([&] { w.add_link({42, a}); }, {"causal link 2", "#42"});
  EXPECT_EQ(w.links().size(), 2u);

  EXPECT_EQ(w.add_constraint({a, b, 5, 10, 2.0, "c0"}), 0u);
  EXPECT_EQ(w.add_constraint({b, a, kNegInf, 3, 1.0, ""}), 1u);
  expect_error(
      [&] {
        w.add_constraint({a, b, 10, 5, 1.0, "allen a before b"});
      },
      {"constraint 2", "allen a before b", "10", "5"});
  expect_error([&] { w.add_constraint({a, 77, 0, 5, 1.0, ""}); }, {"constraint 2", "#77"});
  expect_error([&] { w.add_constraint({77, a, 0, 5, 1.0, ""}); }, {"constraint 2", "#77"});
  expect_error([&] { w.add_constraint({a, b, 0, 5, -1.0, ""}); }, {"constraint 2", "weight"});
  ASSERT_EQ(w.constraints().size(), 2u);
  EXPECT_EQ(w.constraints()[0].lo, 5);
  EXPECT_EQ(w.constraints()[0].hi, 10);
  EXPECT_EQ(w.constraints()[0].label, "c0");
  // Bounds beyond the infinities are clamped to them.
  EXPECT_EQ(w.add_constraint({a, b, std::numeric_limits<Tick>::min(), std::numeric_limits<Tick>::max(), 1.0, ""}), 2u);
  EXPECT_EQ(w.constraints()[2].lo, kNegInf);
  EXPECT_EQ(w.constraints()[2].hi, kPosInf);

  w.set_bounds(0, 6, 8);
  EXPECT_EQ(w.constraints()[0].lo, 6);
  EXPECT_EQ(w.constraints()[0].hi, 8);
  EXPECT_EQ(w.constraints()[0].weight, 2.0);
  expect_error([&] { w.set_bounds(0, 9, 8); }, {"constraint 0", "9", "8"});
  expect_error([&] { w.set_bounds(5, 0, 8); }, {"5"});
  EXPECT_EQ(w.constraints()[0].lo, 6);
  w.drop_constraint(0);
  EXPECT_EQ(w.constraints()[0].lo, kNegInf);
  EXPECT_EQ(w.constraints()[0].hi, kPosInf);
  EXPECT_EQ(w.constraints().size(), 3u);  // indices stay stable
  EXPECT_EQ(w.constraints()[1].hi, 3);
  expect_error([&] { w.drop_constraint(3); }, {"3"});
}

TEST(EchoWorld, CopiesAreIndependent) {
  World w;
  const Symbol ev = w.intern("ev");
  w.append(w.main(), spec(1, ev), "one");
  World copy = w;
  copy.append(copy.main(), spec(2, ev), "two");
  copy.fork(copy.main(), 0, "side");
  copy.intern("only-in-copy");
  EXPECT_EQ(w.timeline(w.main()).size(), 1u);
  EXPECT_EQ(w.branch_count(), 1u);
  EXPECT_FALSE(w.find_node("two").has_value());
  EXPECT_FALSE(w.lookup("only-in-copy").has_value());
  EXPECT_EQ(copy.timeline(copy.main()).size(), 2u);
  EXPECT_EQ(copy.find_node("two"), 1u);
  // The original can still name a node "two" itself.
  EXPECT_NO_THROW(w.append(w.main(), spec(3, ev), "two"));
}

}  // namespace
}  // namespace miso::echo
