#include "miso/echo/format.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/hash.hpp"
#include "miso/echo/paradox.hpp"

namespace miso::echo {
namespace {

namespace fs = std::filesystem;

using miso::testing::error_of;

// prefix + number (not "x" + to_string(): GCC 12 warns falsely with -Wrestrict on that).
std::string numbered(const char* prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

std::string data_file(const char* name) { return std::string(MISO_SOURCE_DIR) + "/data/echo/" + name; }

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / numbered(("miso_echo_format_" + std::string(info->name()) + "_").c_str(),
                                                 static_cast<std::uint64_t>(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_bytes(const fs::path& p) { return core::read_file(p); }
void write_bytes(const fs::path& p, const std::string& bytes) {
  // A new file rather than a truncated one: ext4 flushes a truncated-and-rewritten file on close.
  fs::remove(p);
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

NodeSpec spec_of(Tick time, Symbol type, double probability, const std::vector<Attribute>& attributes,
                 const std::vector<FluentEffect>& effects) {
  NodeSpec s;
  s.time = time;
  s.type = type;
  s.probability = probability;
  s.attributes = attributes;
  s.effects = effects;
  return s;
}

// A random world: named and unnamed nodes, free nodes, attributes of both
// kinds, effects, branches forked from any branch (some with an empty prefix)
// with appends interleaved across branches, links and constraints.
World random_world(std::uint64_t seed) {
  core::SplitMix64 rng(seed);
  auto below = [&](std::uint64_t n) { return rng.next() % n; };
  World w;
  static const char* kUnits[] = {"ns", "us", "ms", "s", "ticks"};
  w.set_unit(kUnits[below(5)]);
  static const char* kTypes[] = {"", "arrive", "leave", "talk", "é \"quoted\" \\ type", "tab\there"};
  static const char* kKeys[] = {"speed", "who", "room", "x", "ключ"};
  static const char* kFluents[] = {"present", "talking", "open", "lit"};
  std::vector<NodeId> all;
  std::size_t name_counter = 0;
  auto append = [&](BranchId b) {
    const Timeline& tl = w.timeline(b);
    const Tick last = tl.empty() ? 0 : tl.back().key;
    const Tick time = below(5) == 0 ? kFree : last + static_cast<Tick>(below(4));
    std::vector<Attribute> attributes;
    const std::size_t n_attr = below(4);
    for (std::size_t k = 0; k < n_attr; ++k) {  // distinct keys: kKeys[k] rotated
      Attribute a;
      a.key = w.intern(kKeys[(k + seed) % 5]);
      if (below(2) == 0) {
        a.value = Value::of((rng.next_double() - 0.5) * 1e6);
      } else if (below(3) == 0) {
        a.value = Value::of(static_cast<double>(below(100)));
      } else {
        a.value = Value::text_of(w.intern(numbered("text ", below(7))));
      }
      attributes.push_back(a);
    }
    std::vector<FluentEffect> effects;
    const std::size_t n_eff = below(4);
    for (std::size_t k = 0; k < n_eff; ++k) {
      effects.push_back(FluentEffect{w.intern(kFluents[below(4)]), static_cast<Effect>(below(3))});
    }
    const double probability = below(3) == 0 ? rng.next_double() : 1.0;
    const std::string name = below(4) == 0 ? std::string() : numbered(below(5) == 0 ? "n \"q\" " : "n", name_counter++);
    all.push_back(w.append(b, spec_of(time, w.intern(kTypes[below(6)]), probability, attributes, effects), name));
  };
  const std::size_t steps = 10 + below(40);
  for (std::size_t s = 0; s < steps; ++s) {
    const auto branches = static_cast<BranchId>(w.branch_count());
    if (below(8) == 0 && w.branch_count() < 6) {
      const auto from = static_cast<BranchId>(below(branches));
      const Timeline& tl = w.timeline(from);
      const NodeId at = tl.empty() || below(6) == 0 ? kNoNode : tl[below(tl.size())].id;
      w.fork(from, at, numbered(below(2) == 0 ? "alt " : "b/", s));
    } else {
      append(static_cast<BranchId>(below(branches)));
    }
  }
  if (!all.empty()) {
    const std::size_t n_links = below(6);
    for (std::size_t i = 0; i < n_links; ++i) w.add_link(CausalLink{all[below(all.size())], all[below(all.size())]});
    const std::size_t n_constraints = below(10);
    for (std::size_t i = 0; i < n_constraints; ++i) {
      TemporalConstraint c;
      c.from = all[below(all.size())];
      c.to = all[below(all.size())];
      if (below(3) != 0) c.lo = static_cast<Tick>(below(50)) - 20;
      if (below(3) != 0) c.hi = std::max<Tick>(c.lo == kNegInf ? 0 : c.lo, 0) + static_cast<Tick>(below(30));
      c.weight = below(2) == 0 ? 1.0 : rng.next_double() * 10;
      c.label = below(2) == 0 ? numbered("constraint ", i) : numbered("label ", below(1000));
      w.add_constraint(c);
    }
  }
  return w;
}

// ------------------------------------------------------------------ round trips

TEST(EchoFormat, JsonRoundTripOfRandomWorlds) {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(seed);
    const World w = random_world(seed);
    const std::string text = to_json(w);
    const World back = parse_json(text, "random.json");
    std::string difference;
    EXPECT_TRUE(same_world(w, back, &difference)) << difference << "\n" << text;
    EXPECT_EQ(to_json(back), text);  // the text is stable too
  }
}

TEST(EchoFormat, BinaryRoundTripOfRandomWorlds) {
  const TempDir dir;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(seed);
    const World w = random_world(seed);
    const fs::path path = dir.path() / "w.echo";
    save_binary(w, path);
    const World back = load_binary(path);
    std::string difference;
    EXPECT_TRUE(same_world(w, back, &difference)) << difference;
    // And by extension, through both formats.
    save_world(back, dir.path() / "w.json");
    EXPECT_TRUE(same_world(w, load_world(dir.path() / "w.json"), &difference)) << difference;
  }
  // Nothing but the files themselves: the temporaries were renamed into place.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"w.echo", "w.json"}));
}

TEST(EchoFormat, RoundTripKeepsIdsAndSharingWhenAppendsInterleave) {
  World w;
  const Symbol t = w.intern("t");
  const NodeId a = w.append(0, spec_of(0, t, 1.0, {}, {}), "a");
  const BranchId alt = w.fork(0, a, "alt");
  const NodeId b = w.append(alt, spec_of(5, t, 1.0, {}, {}), "b");  // id 1 on alt
  const NodeId c = w.append(0, spec_of(3, t, 1.0, {}, {}));         // id 2 on main, unnamed
  const BranchId empty = w.fork(alt, kNoNode, "empty");
  w.append(empty, spec_of(1, t, 1.0, {}, {}), "e");
  w.add_link(CausalLink{c, b});
  w.add_constraint(TemporalConstraint{c, b, 1, 2, 3.0, "c to b"});
  const World back = parse_json(to_json(w));
  std::string difference;
  ASSERT_TRUE(same_world(w, back, &difference)) << difference;
  // The file lists main's nodes first, so the unnamed node is "#1" there.
  EXPECT_NE(to_json(w).find("\"cause\":\"#1\""), std::string::npos) << to_json(w);
  EXPECT_EQ(back.timeline(2).size(), 1u);
  EXPECT_EQ(back.branch_name(2), "empty");
  EXPECT_EQ(back.parent(2), 1u);
}

TEST(EchoFormat, MergedWorldsCannotBeSaved) {
  World w;
  const NodeId a = w.append(0, spec_of(0, 0, 1.0, {}, {}), "a");
  const BranchId alt = w.fork(0, a, "alt");
  w.append(alt, spec_of(5, 0, 1.0, {}, {}), "b");
  w.append(0, spec_of(3, 0, 1.0, {}, {}), "c");
  ASSERT_TRUE(w.merge(alt, 0));
  const std::string message = error_of([&] { to_json(w); }, Error::Kind::InvalidArgument);
  EXPECT_NE(message.find("branch 'main'"), std::string::npos) << message;
  EXPECT_NE(message.find("merge"), std::string::npos) << message;
  const TempDir dir;
  error_of([&] { save_binary(w, dir.path() / "m.echo"); }, Error::Kind::InvalidArgument);
  EXPECT_FALSE(fs::exists(dir.path() / "m.echo"));
}

// ------------------------------------------------------------------ example files

TEST(EchoFormat, MinimalExample) {
  const World w = load_world(data_file("minimal.json"));
  EXPECT_EQ(w.unit(), "ms");
  ASSERT_EQ(w.branch_count(), 1u);
  const Timeline& tl = w.timeline(0);
  ASSERT_EQ(tl.size(), 4u);
  // breakfast (20) was listed after commute (40): appended in time order; coffee stays after wake.
  std::vector<std::string> order;
  for (std::size_t p = 0; p < tl.size(); ++p) order.push_back(w.node_name(tl[p].id));
  EXPECT_EQ(order, (std::vector<std::string>{"wake", "coffee", "breakfast", "commute"}));
  EXPECT_TRUE(tl[1].free());
  EXPECT_EQ(tl[1].key, 0);
  EXPECT_EQ(w.text(tl[0].type), "");
  EXPECT_EQ(tl[0].probability, 1.0);
  ASSERT_EQ(w.constraints().size(), 3u);
  const TemporalConstraint& c1 = w.constraints()[1];
  EXPECT_EQ(c1.from, *w.find_node("coffee"));
  EXPECT_EQ(c1.to, *w.find_node("commute"));
  EXPECT_EQ(c1.lo, 10);
  EXPECT_EQ(c1.hi, kPosInf);                  // omitted max
  EXPECT_EQ(w.constraints()[2].lo, kNegInf);  // omitted min
  EXPECT_EQ(c1.weight, 1.0);
  EXPECT_EQ(c1.label, "constraint 1");
  EXPECT_TRUE(check(w).consistent());
}

TEST(EchoFormat, MeetingExample) {
  const World w = load_world(data_file("meeting.json"));
  EXPECT_EQ(w.unit(), "s");
  ASSERT_EQ(w.branch_count(), 2u);
  EXPECT_EQ(w.branch_name(1), "cancelled");
  EXPECT_EQ(w.timeline(0).size(), 6u);
  ASSERT_EQ(w.timeline(1).size(), 4u);  // arrive, talk_start, then its own two
  EXPECT_EQ(w.node_name(w.timeline(1)[1].id), "talk_start");
  EXPECT_EQ(w.home(*w.find_node("talk_cancel")), 1u);

  const NodeView arrive = w.node(*w.find_node("arrive"));
  EXPECT_EQ(w.text(arrive.type), "arrive");
  ASSERT_EQ(arrive.attributes.size(), 2u);
  EXPECT_EQ(w.text(arrive.attributes[0].key), "who");  // file order kept
  EXPECT_EQ(arrive.attribute(*w.lookup("who")), Value::text_of(*w.lookup("ann")));
  EXPECT_EQ(arrive.attribute(*w.lookup("floor")), Value::of(3));
  EXPECT_EQ(w.node(*w.find_node("lunch_start")).probability, 0.8);
  EXPECT_TRUE(w.timeline(0).holds(*w.lookup("talking"), 20));
  EXPECT_FALSE(w.timeline(1).holds(*w.lookup("talking"), 20));

  ASSERT_EQ(w.links().size(), 3u);
  // 3 file constraints, 2 intervals, 3 for "talk overlaps lunch".
  ASSERT_EQ(w.constraints().size(), 8u);
  EXPECT_EQ(w.constraints()[0].weight, 2.0);
  EXPECT_EQ(w.constraints()[1].label, "leave after the talk");
  EXPECT_EQ(w.constraints()[3].label, "interval talk");
  EXPECT_EQ(w.constraints()[3].lo, 0);
  EXPECT_EQ(w.constraints()[3].hi, kPosInf);
  const NodeId ts = *w.find_node("talk_start"), te = *w.find_node("talk_end");
  const NodeId ls = *w.find_node("lunch_start"), le = *w.find_node("lunch_end");
  const std::vector<std::pair<NodeId, NodeId>> expected = {{ts, ls}, {ls, te}, {te, le}};
  for (std::size_t k = 0; k < 3; ++k) {
    const TemporalConstraint& c = w.constraints()[5 + k];
    EXPECT_EQ(c.label, "relation 0: talk overlaps lunch");
    EXPECT_EQ(std::make_pair(c.from, c.to), expected[k]);
    EXPECT_EQ(c.lo, 1);
    EXPECT_EQ(c.hi, kPosInf);
    EXPECT_EQ(c.weight, 1.5);
  }
  EXPECT_TRUE(check(w).consistent());
}

TEST(EchoFormat, ParadoxExampleHoldsThePlantedParadoxes) {
  const World w = load_world(data_file("paradox.json"));
  const CheckReport report = check(w);
  std::set<Paradox::Kind> kinds;
  for (const Paradox& p : report.paradoxes) kinds.insert(p.kind);
  EXPECT_EQ(kinds, (std::set<Paradox::Kind>{Paradox::Kind::InconsistentConstraints, Paradox::Kind::CausalLoop,
                                            Paradox::Kind::Contradiction}));
  // spark (50) was listed before fire (40): appended in time order.
  EXPECT_EQ(w.node_name(w.timeline(0)[3].id), "fire");
}

TEST(EchoFormat, ExampleFilesRoundTrip) {
  const TempDir dir;
  for (const char* name : {"minimal.json", "meeting.json", "paradox.json"}) {
    SCOPED_TRACE(name);
    const World w = load_world(data_file(name));
    std::string difference;
    EXPECT_TRUE(same_world(w, parse_json(to_json(w)), &difference)) << difference;
    save_world(w, dir.path() / "x.echo");
    EXPECT_TRUE(same_world(w, load_world(dir.path() / "x.echo"), &difference)) << difference;
  }
}

// ------------------------------------------------------------------ the minimal form

TEST(EchoFormat, MinimalFormDefaults) {
  const World w = parse_json(R"({"nodes": [
      {"id": "a"}, {"id": 7, "time": 5}, {"time": 1}, {"id": "b"}, {"time": 3},
      {"id": "c", "time": 5}],
    "constraints": [{"from": "a", "to": 7}, {"from": "#2", "to": "c", "min": -3},
                    {"from": "7", "to": "#4", "max": 9}]})");
  EXPECT_EQ(w.unit(), "ms");
  const Timeline& tl = w.timeline(0);
  ASSERT_EQ(tl.size(), 6u);
  // Groups [a], [7], [#2 b], [#4], [c] in time order; a leading free node stays first.
  std::vector<std::string> order;
  for (std::size_t p = 0; p < tl.size(); ++p) order.push_back(w.node_name(tl[p].id));
  EXPECT_EQ(order[0], "a");
  EXPECT_EQ(order[2], "b");
  EXPECT_EQ(order[4], "7");  // integer ids are names as text
  EXPECT_EQ(order[5], "c");  // equal times keep the file's order
  EXPECT_EQ(tl[1].time, 1);
  EXPECT_TRUE(tl[2].free());
  EXPECT_EQ(tl[2].key, 1);  // b follows the node with time 1, as in the file
  EXPECT_EQ(tl[3].time, 3);
  ASSERT_EQ(w.constraints().size(), 3u);
  const TemporalConstraint& c0 = w.constraints()[0];
  EXPECT_EQ(c0.lo, kNegInf);
  EXPECT_EQ(c0.hi, kPosInf);
  EXPECT_EQ(c0.weight, 1.0);
  EXPECT_EQ(c0.to, *w.find_node("7"));
  // "#k" is the k-th node of the file, whatever order it was appended in.
  EXPECT_EQ(w.constraints()[1].from, tl[1].id);
  EXPECT_EQ(w.constraints()[1].lo, -3);
  EXPECT_EQ(w.constraints()[2].to, tl[3].id);
  EXPECT_EQ(w.constraints()[2].hi, 9);
  // An empty document is an empty world.
  const World empty = parse_json("{}");
  EXPECT_EQ(empty.timeline(0).size(), 0u);
  EXPECT_TRUE(same_world(empty, World()));
}

// ------------------------------------------------------------------ malformed JSON

std::pair<int, int> line_column(const std::string& text, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

struct Bad {
  const char* text;
  const char* at;       // the error points at this text's occurrence...
  int occurrence;       // ...this one (from 1)
  const char* what;     // the node / constraint / ... named
  const char* message;  // and what is wrong
};

TEST(EchoFormat, MalformedJsonNamesThePlace) {
  const std::vector<Bad> cases = {
      {"{\"nodes\": [\n {\"id\": \"a\", \"time\": 0},\n {\"id\": \"b\", \"time\": \"5\"}\n]}", "\"5\"", 1, "node 'b'",
       "\"time\" must be an integer"},
      {"{\"nodes\": [{\"id\": \"a\",\n  \"time\": 1.5}]}", "1.5", 1, "node 'a'", "\"time\" must be an integer"},
      {"{\"nodes\": [{\"id\": \"a\",\n  \"tiem\": 1}]}", "\"tiem\"", 1, "node 'a'", "unknown key \"tiem\""},
      {"{\"node\": []}", "\"node\"", 1, "", "unknown key \"node\""},
      {"{\"nodes\": [{\"id\": \"p\", \"probability\": 1.5}]}", "1.5", 1, "node 'p'", "must be in [0, 1]"},
      {"{\"nodes\": [{\"id\": \"p\", \"probability\": \"high\"}]}", "\"high\"", 1, "node 'p'",
       "\"probability\" must be a number"},
      {"{\"nodes\": [{\"id\": \"q\", \"attributes\": [1, 2]}]}", "[1, 2]", 1, "node 'q'",
       "\"attributes\" must be an object"},
      {"{\"nodes\": [{\"id\": \"q\",\n \"attributes\": {\"n\": 1, \"ok\": true}}]}", "true", 1, "node 'q'",
       "attribute \"ok\" must be a number or a text"},
      {"{\"nodes\": [{\"id\": \"f\", \"initiates\": \"x\"}]}", "\"x\"", 1, "node 'f'", "\"initiates\" must be a list"},
      {"{\"nodes\": [{\"id\": \"f\", \"requires\": [\"a\", 3]}]}", "3]", 1, "node 'f'",
       "\"requires[1]\" must be a text"},
      {"{\"nodes\": [{\"id\": \"a\"},\n {\"id\": \"a\"}]}", "\"a\"", 2, "node 'a'", "already used"},
      {"{\"nodes\": [{\"id\": \"a\", \"time\": 1,\n \"time\": 2}]}", "\"time\"", 2, "", "appears twice"},
      {"{\"nodes\": [{\"id\": \"a\", \"time\": 1}],\n \"links\": [{\"cause\": \"a\", \"effect\": \"zz\"}]}", "\"zz\"",
       1, "link 0", "unknown node 'zz'"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"links\": [{\"cause\": \"a\"}]}", "{\"cause\"", 1, "link 0",
       "missing \"effect\""},
      {"{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}],\n \"constraints\": [{\"from\": \"a\", \"to\": \"b\", "
       "\"min\": 9, \"max\": 3}]}",
       "9", 1, "constraint 0", "\"min\" 9 is above \"max\" 3"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"constraints\": [{\"from\": \"a\", \"to\": \"a\"},\n {\"from\": \"a\", "
       "\"to\": \"a\", \"max\": \"ten\"}]}",
       "\"ten\"", 1, "constraint 1", "\"max\" must be an integer"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"constraints\": [{\"from\": \"a\", \"to\": \"a\", \"weight\": -1}]}", "-1", 1,
       "constraint 0", "\"weight\" must be >= 0"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"constraints\": [{\"from\": \"a\", \"to\": \"a\", \"mn\": 1}]}", "\"mn\"", 1,
       "constraint 0", "unknown key \"mn\""},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"constraints\": [{\"from\": \"a\", \"to\": \"a\", \"min\": "
       "9223372036854775807}]}",
       "9223372036854775807", 1, "constraint 0", "\"min\" is out of range"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"constraints\": [{\"from\": \"#5\", \"to\": \"a\"}]}", "\"#5\"", 1,
       "constraint 0", "unknown node '#5'"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"branches\": [{\"name\": \"x\", \"from\": \"nope\", \"at\": \"a\"}]}",
       "\"nope\"", 1, "branch 'x'", "unknown branch 'nope'"},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"branches\": [{\"name\": \"x\", \"at\": \"a\", \"nodes\": [{\"id\": "
       "\"b\"}]},\n"
       "  {\"name\": \"y\", \"at\": \"b\"}]}",
       "\"b\"}]}", 2, "branch 'y'", "is not on branch 'main'"},
      {"{\"branches\": [{\"name\": \"main\"}]}", "\"main\"", 1, "branch 'main'", "already exists"},
      {"{\"nodes\": [{\"id\": \"c\", \"time\": 10}],\n \"branches\": [{\"name\": \"x\", \"at\": \"c\", \"nodes\": [\n"
       "   {\"id\": \"d\", \"time\": 5}]}]}",
       "5}", 1, "node 'd'", "time 5 is before 10"},
      {"{\"branches\": [{\"from\": \"main\"}]}", "{\"from\"", 1, "branch 0", "missing \"name\""},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"intervals\": [{\"id\": \"i\", \"start\": \"a\", \"end\": \"zz\"}]}",
       "\"zz\"", 1, "interval 'i'", "unknown node 'zz'"},
      {"{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}],\n \"intervals\": [{\"id\": \"i\", \"start\": \"a\", \"end\": "
       "\"b\"}],\n \"relations\": [{\"a\": \"i\", \"relation\": \"overlap\", \"b\": \"i\"}]}",
       "\"overlap\"", 1, "relation 0", "unknown relation 'overlap'"},
      {"{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}],\n \"intervals\": [{\"id\": \"i\", \"start\": \"a\", \"end\": "
       "\"b\"}],\n \"relations\": [{\"a\": \"i\", \"relation\": \"before\", \"b\": \"j\"}]}",
       "\"j\"", 1, "relation 0", "unknown interval 'j'"},
      {"{\"unit\": \"hours\"}", "\"hours\"", 1, "", "unknown time unit 'hours'"},
      {"{\"echo\": 2}", "2", 1, "", "unsupported format version 2"},
      {"{\"nodes\": {\"a\": 1}}", "{\"a\"", 1, "", "\"nodes\" must be a list"},
      {"[1, 2]", "[", 1, "", "expected an object, found a list"},
      {"{\"nodes\": [{\"id\": \"\"}]}", "\"\"", 1, "node 0", "\"id\" must not be empty"},
      {"{\"nodes\": [{\"id\": {\"x\": 1}}]}", "{\"x\"", 1, "node 0", "\"id\" must be a text or an integer"},
      {"{\"nodes\": [{\"time\": 1}, {\"time\": \"x\"}]}", "\"x\"", 1, "node 1", "\"time\" must be an integer"},
      {"{\"nodes\": [{\"id\": \"a\"},\n {\"id\": \"b\", \"time\": -5}]}", "-5", 1, "node 'b'", "time -5 is before 0"},
      {"{\"nodes\": [{\"id\": \"a\",\n \"ti\\u006de2\": 1}]}", "\"ti\\u006de2\"", 1, "node 'a'",
       "unknown key \"time2\""},
      {"{\"nodes\": [{\"id\": \"a\"}],\n \"branches\": [{\"name\": \"x\", \"at\": \"a\", \"nodes\": [{\"id\": \"q\", "
       "\"colour\": 1}]}]}",
       "\"colour\"", 1, "node 'q'", "unknown key \"colour\""},
      {"{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}],\n \"intervals\": [{\"id\": \"i\", \"start\": \"a\", \"end\": "
       "\"b\"}],\n \"relations\": [{\"a\": \"i\", \"relation\": \"before\", \"b\": \"i\", \"weight\": \"w\"}]}",
       "\"w\"", 1, "relation 0", "\"weight\" must be a number"},
      {"{\"links\": [{\"cause\": true, \"effect\": 1}]}", "true", 1, "link 0",
       "\"cause\" must be a text or an integer"},
  };
  ASSERT_GE(cases.size(), 25u);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Bad& c = cases[i];
    const std::string text = c.text;
    SCOPED_TRACE("case " + std::to_string(i) + ": " + text);
    std::size_t offset = std::string::npos;
    for (int k = 0; k < c.occurrence; ++k) offset = text.find(c.at, offset == std::string::npos ? 0 : offset + 1);
    ASSERT_NE(offset, std::string::npos);
    const auto [line, column] = line_column(text, offset);
    const std::string message = error_of([&] { parse_json(text, "bad.json"); }, Error::Kind::Format);
    const std::string where = "bad.json:" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    EXPECT_EQ(message.rfind(where, 0), 0u) << message << "\nexpected to start with " << where;
    if (*c.what != '\0') {
      EXPECT_EQ(message.find(std::string(c.what) + ": ", where.size()), where.size()) << message;
    }
    EXPECT_NE(message.find(c.message), std::string::npos) << message << "\nmissing: " << c.message;
  }
}

TEST(EchoFormat, ErrorPositionMatchesTheDocumentedExample) {
  const std::string text = "{\"nodes\": [\n  {\"id\": \"a\", \"time\": 0},\n  {\"id\": \"b\", \"time\": \"5\"}\n]}";
  EXPECT_EQ(error_of([&] { parse_json(text, "meeting.json"); }, Error::Kind::Format),
            "meeting.json:3:23: node 'b': \"time\" must be an integer, found a text");
}

TEST(EchoFormat, SyntaxErrorsGiveLineAndColumn) {
  struct Syntax {
    std::string text;
    int line;
  };
  const std::vector<Syntax> cases = {
      {"{\"nodes\": [\n  {\"id\": \"a\" \"time\": 1}]}", 2},
      {"{\"nodes\": [\n\n  {\"id\": \"a\"}", 3},
      {"{\"nodes\": [\n  {\"id\": tru}]}", 2},
      {"{\"nodes\": []}\n  x", 2},
      {"", 1},
      {"{\"a\": \"\\x\"}", 1},
      {"{\"nodes\": [{\"attributes\": {\"n\": 1e999}}]}", 1},
  };
  for (const Syntax& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string message = error_of([&] { parse_json(c.text, "s.json"); }, Error::Kind::Format);
    EXPECT_EQ(message.rfind("s.json:" + std::to_string(c.line) + ":", 0), 0u) << message;
    EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
  }
  // The column is that of the offending character.
  EXPECT_EQ(error_of([&] { parse_json("{\"a\": tru}", "s.json"); }, Error::Kind::Format).rfind("s.json:1:10:", 0), 0u);
}

// ------------------------------------------------------------------ binary corruption

// The bytes of a saved world.
std::string saved_bytes(const World& w, const fs::path& dir) {
  save_binary(w, dir / "good.echo");
  return read_bytes(dir / "good.echo");
}

void refresh_checksum(std::string& bytes) {
  core::Checksum sum;
  sum.update(std::as_bytes(std::span<const char>(bytes.data(), 24)));
  const std::array<std::byte, 8> zero{};
  sum.update(zero);
  sum.update(std::as_bytes(std::span<const char>(bytes.data() + 32, bytes.size() - 32)));
  const std::uint64_t v = sum.value();
  for (int i = 0; i < 8; ++i) bytes[24 + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

TEST(EchoFormat, BinaryCorruptionIsAFormatErrorNeverACrash) {
  const TempDir dir;
  const World w = random_world(7);
  const std::string good = saved_bytes(w, dir.path());
  ASSERT_GT(good.size(), 200u);
  const fs::path bad = dir.path() / "bad.echo";

  // Truncated at many offsets (every one for the header, then a stride).
  for (std::size_t n = 0; n < good.size(); n += n < 200 ? 1 : 7) {
    write_bytes(bad, good.substr(0, n));
    const std::string message = error_of([&] { load_binary(bad); }, Error::Kind::Format);
    EXPECT_NE(message.find("bad.echo: byte "), std::string::npos) << message;
  }
  // Every byte flipped: the checksum (or the header checks before it) catches it.
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string b = good;
    b[i] = static_cast<char>(b[i] ^ 0x5A);
    write_bytes(bad, b);
    error_of([&] { load_binary(bad); }, Error::Kind::Format);
  }
  {
    std::string b = good;
    b[0] = 'X';
    write_bytes(bad, b);
    EXPECT_NE(error_of([&] { load_binary(bad); }, Error::Kind::Format).find("byte 0: not an ECHO timeline file"),
              std::string::npos);
    b = good;
    b[8] = 2;
    refresh_checksum(b);
    write_bytes(bad, b);
    EXPECT_NE(error_of([&] { load_binary(bad); }, Error::Kind::Format).find("byte 8: unsupported version 2"),
              std::string::npos);
    b = good;
    b[40] ^= 1;  // a flipped bit in the node count
    write_bytes(bad, b);
    EXPECT_NE(error_of([&] { load_binary(bad); }, Error::Kind::Format).find("checksum mismatch"), std::string::npos);
    write_bytes(bad, good + std::string(8, '\0'));
    EXPECT_NE(error_of([&] { load_binary(bad); }, Error::Kind::Format).find("byte 16:"), std::string::npos);
  }
  // Structural damage behind a valid checksum: counts, offsets, indices and
  // values are checked on their own. Each load fails cleanly or succeeds.
  core::SplitMix64 rng(99);
  std::size_t failures = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string b = good;
    const int edits = 1 + static_cast<int>(rng.next() % 3);
    for (int e = 0; e < edits; ++e) {
      // Half the edits hit the section table, the rest anywhere after the checksum.
      const std::size_t i = rng.next() % 2 == 0 ? 32 + rng.next() % (168 - 32) : 32 + rng.next() % (b.size() - 32);
      b[i] = static_cast<char>(rng.next() % 3 == 0 ? 0xFF : rng.next());
    }
    refresh_checksum(b);
    write_bytes(bad, b);
    try {
      load_binary(bad);
    } catch (const Error& e) {
      ++failures;
      EXPECT_EQ(e.kind(), Error::Kind::Format) << e.what();
      EXPECT_NE(std::string(e.what()).find(": byte "), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(failures, 500u);
  // The good file still loads.
  write_bytes(bad, good);
  EXPECT_TRUE(same_world(w, load_binary(bad)));
}

TEST(EchoFormat, FileErrors) {
  const TempDir dir;
  EXPECT_NE(error_of([&] { load_binary(dir.path() / "missing.echo"); }, Error::Kind::Io).find("missing.echo"),
            std::string::npos);
  error_of([&] { load_world(dir.path() / "missing.json"); }, Error::Kind::Io);
  EXPECT_NE(error_of([&] { load_world(dir.path() / "w.txt"); }, Error::Kind::InvalidArgument).find("'.txt'"),
            std::string::npos);
  error_of([&] { save_world(World(), dir.path() / "w"); }, Error::Kind::InvalidArgument);
  write_bytes(dir.path() / "bad.json", "{\"nodes\": [\n  {\"id\": 1, \"time\": null}]}");
  EXPECT_EQ(error_of([&] { load_world(dir.path() / "bad.json"); }, Error::Kind::Format)
                .rfind((dir.path() / "bad.json").string() + ":2:21: node '1': \"time\" must be an integer", 0),
            0u);
}

// ------------------------------------------------------------------ same_world

TEST(EchoFormat, SameWorldReportsTheFirstDifference) {
  const World base = random_world(3);
  std::string difference = "stale";
  EXPECT_TRUE(same_world(base, base, &difference));
  EXPECT_EQ(difference, "");
  const std::string text = to_json(base);

  struct Change {
    std::function<void(World&)> apply;
    const char* expected;
  };
  auto with_main_node = [](World& w, Tick time, const char* name, const char* type = "t") {
    const Timeline& tl = w.timeline(0);
    const Tick t = time == kFree ? kFree : (tl.empty() ? 0 : tl.back().key) + time;
    w.append(0, spec_of(t, w.intern(type), 1.0, {}, {}), name);
  };
  const std::vector<Change> changes = {
      {[](World& w) { w.set_unit(w.unit() == "s" ? "ms" : "s"); }, "units"},
      {[](World& w) { w.fork(0, kNoNode, "extra"); }, "branches"},
      {[&](World& w) { with_main_node(w, 1, "extra node"); }, "branch 'main': "},
      {[](World& w) {
         w.add_link(CausalLink{0, 0});
       },
       "links"},
      {[](World& w) {
         w.add_constraint(TemporalConstraint{0, 0, kNegInf, kPosInf, 1.0, "x"});
       },
       "constraints"},
  };
  for (const Change& c : changes) {
    World changed = parse_json(text);
    c.apply(changed);
    EXPECT_FALSE(same_world(base, changed, &difference)) << c.expected;
    EXPECT_NE(difference.find(c.expected), std::string::npos) << difference;
  }

  // Node-level differences, on a small world edited through its JSON text.
  const std::string small =
      R"({"nodes": [{"id": "a", "time": 1, "type": "t", "attributes": {"k": 1, "s": "x"}, "initiates": ["f"]},
                    {"id": "b", "time": 2}],
          "constraints": [{"from": "a", "to": "#1", "min": 1, "max": 4, "weight": 2}]})";
  const World w = parse_json(small);
  auto differs = [&](const std::string& from, const std::string& to, const char* expected) {
    std::string edited = small;
    const std::size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, from.size(), to);
    std::string d;
    EXPECT_FALSE(same_world(w, parse_json(edited), &d)) << edited;
    EXPECT_NE(d.find(expected), std::string::npos) << d;
  };
  differs("\"time\": 2", "\"time\": 3", "branch 'main' position 1 (node b): times 2 vs 3");
  differs("\"id\": \"b\"", "\"id\": \"c\"", "names 'b' vs 'c'");
  differs("\"type\": \"t\"", "\"type\": \"u\"", "types 't' vs 'u'");
  differs("\"k\": 1", "\"k\": 2", "attribute 0");
  differs("\"s\": \"x\"", "\"s\": \"y\"", "attribute 1");
  differs("\"initiates\"", "\"terminates\"", "fluent effects");
  differs("\"max\": 4", "\"max\": 5", "constraint 0: bounds [1, 4] vs [1, 5]");
  differs(", \"weight\": 2", "", "constraint 0: weights");
  differs("\"weight\": 2", "\"weight\": 2, \"label\": \"l\"", "constraint 0: labels");
  differs("\"from\": \"a\", \"to\": \"#1\"", "\"from\": \"#1\", \"to\": \"a\"", "constraint 0: different nodes");
}

}  // namespace
}  // namespace miso::echo
