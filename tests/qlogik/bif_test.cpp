#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "format_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik {
namespace {

using testing::bnlearn;
using testing::bnlearn_text;
using testing::identical;
using testing::mutated;
using testing::standard_networks;

// P(child = state #s | parents in declared order = `states`), indexed through
// Network's own name lookups (not the reader's).
double prob(const Network& net, const std::string& child, const std::vector<std::string>& states, std::size_t s) {
  const VarId c = net.id(child);
  const auto& parents = net.parents(c);
  EXPECT_EQ(parents.size(), states.size()) << child;
  std::int64_t row = 0;
  for (std::size_t i = 0; i < parents.size(); ++i) {
    row = row * net.cardinality(parents[i]) + net.state_index(parents[i], states[i]);
  }
  return net.cpt(c).table.at(static_cast<std::size_t>(row * net.cardinality(c)) + s);
}

// The message of the Error(Format) that reading `text` throws ("" when none).
std::string bif_error(const std::string& text) {
  try {
    (void)read_bif(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

std::string example(const std::string& name) { return std::string(MISO_SOURCE_DIR) + "/data/qlogik/" + name; }

const char* const kAsiaLike = R"(network test {
}
variable a {
  type discrete [ 2 ] { yes, no };
}
variable b {
  type discrete [ 2 ] { yes, no };
}
probability ( a ) {
  table 0.3, 0.7;
}
)";

// ---------------------------------------------------------------- standard networks

TEST(BifStandard, CountsMatchPublishedFigures) {
  MISO_SKIP_WITHOUT_BNLEARN();
  for (const auto& known : standard_networks()) {
    SCOPED_TRACE(known.name);
    const Network* net = bnlearn(known.name);
    ASSERT_NE(net, nullptr) << "missing " << testing::bnlearn_path(known.name);
    std::size_t arcs = 0;
    std::int64_t parameters = 0;
    for (std::size_t v = 0; v < net->size(); ++v) {
      const auto id = static_cast<VarId>(v);
      arcs += net->parents(id).size();
      parameters += (net->cardinality(id) - 1) * net->rows(id);
    }
    EXPECT_EQ(net->size(), known.variables);
    EXPECT_EQ(arcs, known.arcs);
    EXPECT_EQ(parameters, known.parameters);
    EXPECT_EQ(net->name(), "unknown");  // every file says `network unknown { }`
  }
}

TEST(BifStandard, ProbabilitiesArePlacedByParentStates) {
  MISO_SKIP_WITHOUT_BNLEARN();
  // Values read off the files' text. The files list rows with the first parent
  // fastest, the opposite of the table layout, so these check the placement.
  const Network& asia = *bnlearn("asia");
  EXPECT_EQ(prob(asia, "asia", {}, 0), 0.01);
  EXPECT_EQ(prob(asia, "either", {"yes", "yes"}, 0), 1.0);  // P(either=yes | lung=yes, tub=yes)
  EXPECT_EQ(prob(asia, "either", {"no", "yes"}, 0), 1.0);
  EXPECT_EQ(prob(asia, "either", {"no", "no"}, 0), 0.0);
  EXPECT_EQ(prob(asia, "dysp", {"no", "yes"}, 0), 0.7);  // (bronc=no, either=yes)
  EXPECT_EQ(prob(asia, "dysp", {"yes", "no"}, 1), 0.2);
  EXPECT_EQ(asia.variable(asia.parents(asia.id("either"))[0]).name, "lung");

  const Network& child = *bnlearn("child");
  EXPECT_EQ(prob(child, "ChestXray", {"Abnormal", "High"}, 3), 0.34);
  EXPECT_EQ(prob(child, "HypDistrib", {"Rt_to_Lt", "Mild"}, 1), 0.5);
  // States with characters a substring or identifier match would trip on.
  EXPECT_EQ(child.variable(child.id("Age")).states, (std::vector<std::string>{"0-3_days", "4-10_days", "11-30_days"}));
  EXPECT_EQ(child.state_index(child.id("LungParench"), "Abnormal"), 2);
  EXPECT_EQ(child.variable(child.id("Disease")).states.back(), "Lung");

  const Network& hail = *bnlearn("hailfinder");
  EXPECT_EQ(prob(hail, "InsSclInScen", {"LessUnstable", "LittleChange"}, 1), 0.1);

  const Network& pathfinder = *bnlearn("pathfinder");
  EXPECT_EQ(prob(pathfinder, "F40", {"Granulomatous_laden", "Present", "LNC"}, 1), 0.94);

  const Network& barley = *bnlearn("barley");
  EXPECT_EQ(prob(barley, "aks_m2", {"x225_275", "x90_105", "x41_50", "x2"}, 2), 0.34066593);
  EXPECT_EQ(prob(barley, "aks_m2", {"x275_325", "x_195", "x25_40", "x8"}, 0), 0.29157084);
}

TEST(BifStandard, WriteThenReadIsIdentical) {
  MISO_SKIP_WITHOUT_BNLEARN();
  for (const auto& known : standard_networks()) {
    SCOPED_TRACE(known.name);
    const Network* net = bnlearn(known.name);
    ASSERT_NE(net, nullptr);
    const std::string text = write_bif(*net);
    const Network back = read_bif(text, "written");
    EXPECT_TRUE(identical(*net, back));
  }
}

// ---------------------------------------------------------------- dialect

TEST(BifFormat, ReadsCommentsQuotesAnyBlockOrderDefaultsAndProperties) {
  const std::string text = R"(// leading comment
/* block
   comment */ network "Two words" { property author = "M. E."; property version = 1; }
probability ( "my var" | b-2.x ) {   // before the variables are declared
  default 0.5, 0.5;
  (on) +1e0, 0;       /* a row given explicitly */
}
variable b-2.x { property position = (1, 2); type discrete [ 3 ] { on, off, "semi;colon" }; }
variable "my var" {
  type discrete[2]{"a \"q\"",b\x};
}
probability(b-2.x){table 2.5E-1,0.25,.5;property ignored = yes;}
)";
  const Network net = read_bif(text);
  EXPECT_EQ(net.name(), "Two words");
  EXPECT_EQ(net.properties(), (std::vector<std::string>{"author = \"M. E.\"", "version = 1"}));
  ASSERT_EQ(net.size(), 2u);
  const VarId b = net.id("b-2.x");
  const VarId v = net.id("my var");
  EXPECT_EQ(net.variable(b).states, (std::vector<std::string>{"on", "off", "semi;colon"}));
  EXPECT_EQ(net.variable(b).properties, (std::vector<std::string>{"position = (1, 2)"}));
  EXPECT_EQ(net.variable(v).states, (std::vector<std::string>{"a \"q\"", "b\\x"}));
  EXPECT_EQ(net.cpt(b).table, (std::vector<double>{0.25, 0.25, 0.5}));
  EXPECT_EQ(net.parents(v), (std::vector<VarId>{b}));
  // Row "on" given; "off" and "semi;colon" from the default.
  EXPECT_EQ(net.cpt(v).table, (std::vector<double>{1, 0, 0.5, 0.5, 0.5, 0.5}));
}

TEST(BifFormat, TableWithParentsListsTheChildSlowest) {
  // pgmpy's BIFWriter: dog-out | bowel-problem, family-out as one `table`.
  const std::string head = R"(
variable bowel-problem { type discrete [ 2 ] { true, false }; }
variable family-out { type discrete [ 2 ] { true, false }; }
variable dog-out { type discrete [ 2 ] { true, false }; }
probability ( bowel-problem ) { table 0.01, 0.99; }
probability ( family-out ) { table 0.15, 0.85; }
)";
  const Network as_table = read_bif(head + R"(probability ( dog-out | bowel-problem, family-out ) {
  table 0.99, 0.97, 0.9, 0.3, 0.01, 0.03, 0.1, 0.7; })");
  const Network as_rows = read_bif(head + R"(probability ( dog-out | bowel-problem, family-out ) {
  (false, false) 0.3, 0.7; (true, false) 0.97, 0.03; (false, true) 0.9, 0.1; (true, true) 0.99, 0.01; })");
  EXPECT_TRUE(identical(as_table, as_rows));
  EXPECT_EQ(prob(as_rows, "dog-out", {"true", "false"}, 0), 0.97);
  EXPECT_EQ(prob(as_rows, "dog-out", {"false", "true"}, 0), 0.9);
}

TEST(BifFormat, WritesTheDocumentedLayout) {
  Network net("demo net");
  const VarId a = net.add_variable("a", {"yes", "no"});
  const VarId b = net.add_variable("b c", {"lo", "mid,1", ""});
  net.variable(b).properties.push_back("position = (3, 4)");
  net.set_cpt(a, {}, {0.1, 0.9});
  net.set_cpt(b, {a}, {0.2, 0.3, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  EXPECT_EQ(write_bif(net), R"(network "demo net" {
}
variable a {
  type discrete [ 2 ] { yes, no };
}
variable "b c" {
  type discrete [ 3 ] { lo, "mid,1", "" };
  property position = (3, 4);
}
probability ( a ) {
  table 0.1, 0.9;
}
probability ( "b c" | a ) {
  (yes) 0.2, 0.3, 0.5;
  (no) 0.3333333333333333, 0.3333333333333333, 0.3333333333333333;
}
)");
}

TEST(BifFormat, RandomNetworksRoundTripExactly) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 40; ++round) {
    const Network net = testing::random_network(rng, 1 + round % 9);
    const std::string text = write_bif(net);
    Network back;
    ASSERT_NO_THROW(back = read_bif(text)) << text;
    ASSERT_TRUE(identical(net, back)) << text;
  }
}

TEST(BifFormat, WriteRejectsPropertiesBifCannotHold) {
  for (const char* bad : {"a = 1; b = 2", "say \"hi", " padded"}) {
    Network net;
    net.set_cpt(net.add_variable("x", {"s"}), {}, {1.0});
    net.variable(0).properties.push_back(bad);
    try {
      (void)write_bif(net);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("variable 'x'"), std::string::npos) << e.what();
    }
  }
  // A ';' inside quotes is fine.
  Network net;
  net.set_cpt(net.add_variable("x", {"s"}), {}, {1.0});
  net.variable(0).properties.push_back("label = \"a;b\"");
  EXPECT_TRUE(identical(net, read_bif(write_bif(net))));
}

TEST(BifFormat, ProbabilitiesPrintShortAndReadBackBitExact) {
  std::mt19937_64 rng(99);
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    // Random bit patterns cover every exponent; skip infinities and NaNs.
    const auto x = std::bit_cast<double>(rng());
    if (!std::isfinite(x)) continue;
    text.clear();
    detail::append_probability(text, x);
    double y = 0;
    ASSERT_TRUE(detail::parse_probability(text, y)) << text;
    ASSERT_EQ(std::bit_cast<std::uint64_t>(x), std::bit_cast<std::uint64_t>(y)) << text;
    ASSERT_LE(text.size(), 24u) << text;
  }
  text.clear();
  detail::append_probability(text, 0.1);
  EXPECT_EQ(text, "0.1");
  double y = 0;
  EXPECT_TRUE(detail::parse_probability("+1e-3", y));
  EXPECT_EQ(y, 0.001);
  EXPECT_TRUE(detail::parse_probability(".5", y));
  EXPECT_EQ(y, 0.5);
  for (const char* bad : {"", "+", "+-1", "1,", "0.5x", "1e", "--1", "++1", "0x1p3"}) {
    EXPECT_FALSE(detail::parse_probability(bad, y)) << bad;
  }
}

TEST(BifFormat, EmptyTextIsAnEmptyNetwork) {
  const Network net = read_bif("  // nothing\n");
  EXPECT_EQ(net.size(), 0u);
  EXPECT_TRUE(identical(net, read_bif(write_bif(net))));
}

// ---------------------------------------------------------------- errors

struct BadCase {
  const char* what;
  std::string text;
  std::vector<const char*> expected;  // substrings of the message
};

TEST(BifErrors, MalformedInputsNameThePlaceAndTheProblem) {
  const std::string decl = kAsiaLike;  // a and b declared; a has its table; b has none yet
  std::vector<BadCase> cases = {
      {"missing semicolon",
       decl + "probability ( b | a ) {\n  (yes) 0.1, 0.9\n  (no) 0.2, 0.8;\n}\n",
       {"<bif>:14:3:", "expected ',' or ';' after a probability, found '('"}},
      {"unknown variable",
       decl + "probability ( b | c ) {\n  (yes) 0.1, 0.9;\n}\n",
       {"<bif>:12:19:", "parent 'c' is not a declared variable"}},
      {"unknown child",
       decl + "probability ( b ) { table 1, 0; }\nprobability ( zz ) { table 1; }\n",
       {"<bif>:13:15:", "'zz' is not a declared variable"}},
      {"too many probabilities",
       decl + "probability ( b | a ) {\n  (yes) 0.1, 0.8, 0.1;\n  (no) 0.2, 0.8;\n}\n",
       {"<bif>:13:3:", "row (yes) of 'b' has 3 probabilities, expected 2"}},
      {"row given twice",
       decl + "probability ( b | a ) {\n  (yes) 0.1, 0.9;\n  (no) 0.2, 0.8;\n  (yes) 0.1, 0.9;\n}\n",
       {"<bif>:15:3:", "row (yes) of 'b' is given twice (first at 13:3)"}},
      {"missing row",
       decl + "probability ( b | a ) {\n  (no) 0.2, 0.8;\n}\n",
       {"<bif>:12:15:", "probability block of 'b' has no row for (a=yes)"}},
      {"unknown parent state",
       decl + "probability ( b | a ) {\n  (yes) 0.1, 0.9;\n  (maybe) 0.2, 0.8;\n}\n",
       {"<bif>:14:4:", "variable 'a' has no state 'maybe' (states: yes, no)"}},
      {"wrong number of parent states",
       decl + "probability ( b | a ) {\n  (yes, no) 0.1, 0.9;\n}\n",
       {"<bif>:13:3:", "row (yes, no) of 'b' gives 2 parent states, expected 1"}},
      {"negative probability",
       decl + "probability ( b | a ) {\n  (yes) -0.1, 1.1;\n  (no) 0.2, 0.8;\n}\n",
       {"<bif>: variable 'b', row 0 (a=yes)", "not a finite non-negative number"}},
      {"row not summing to 1",
       decl + "probability ( b | a ) {\n  (yes) 0.1, 0.9;\n  (no) 0.2, 0.7;\n}\n",
       {"<bif>: variable 'b', row 1 (a=no): probabilities sum to 0.89999999"}},
      {"cycle",
       decl.substr(0, decl.find("probability")) + "probability ( b | a ) { (yes) 1, 0; (no) 0, 1; }\n" +
           "probability ( a | b ) { (yes) 1, 0; (no) 0, 1; }\n",
       {"<bif>: network 'test' has a cycle", "a -> b -> a"}},
      {"unterminated comment",
       decl + "probability ( b ) {\n  table 0.5, /* half\n 0.5; }\n",
       {"<bif>:13:14:", "unterminated comment"}},
      {"duplicate variable",
       decl + "variable a {\n  type discrete [ 2 ] { yes, no };\n}\n",
       {"<bif>:12:10:", "variable 'a' declared twice"}},
      {"unterminated quote", decl + "variable \"c {\n", {"<bif>:12:10:", "unterminated quoted name"}},
      {"state count mismatch",
       "variable x {\n  type discrete [ 3 ] { a, b };\n}\n",
       {"<bif>:2:19:", "variable 'x' declares 3 states but lists 2"}},
      {"no probability block", decl, {"<bif>:6:10:", "variable 'b' has no probability block"}},
      {"second probability block",
       decl + "probability ( b ) { table 1, 0; }\nprobability ( a ) { table 1, 0; }\n",
       {"<bif>:13:15:", "second probability block for 'a' (the first is at 9:15)"}},
      {"not a number",
       decl + "probability ( b ) {\n  table 0.5, half;\n}\n",
       {"<bif>:13:14:", "expected a probability, found 'half'"}},
      {"table of the wrong size",
       decl + "probability ( b | a ) {\n  table 0.5, 0.5;\n}\n",
       {"<bif>:13:3:", "'table' of 'b' has 2 probabilities, expected 4"}},
      {"table after rows",
       decl + "probability ( b | a ) {\n  (yes) 1, 0;\n  table 1, 0, 0, 1;\n}\n",
       {"<bif>:14:3:", "it cannot follow rows or 'default'"}},
      {"two defaults",
       decl + "probability ( b | a ) {\n  default 1, 0;\n  default 0, 1;\n}\n",
       {"<bif>:14:3:", "a second 'default' row for 'b' (the first is at 13:3)"}},
      {"parent listed twice",
       decl + "probability ( b | a, a ) {\n  default 1, 0;\n}\n",
       {"<bif>:12:15:", "parent 'a' listed twice"}},
      {"own parent",
       decl + "probability ( b | b ) {\n  default 1, 0;\n}\n",
       {"<bif>:12:15:", "'b' cannot be its own parent"}},
      {"no type", "variable x {\n  property p = 1;\n}\n", {"<bif>:3:1:", "variable 'x' has no 'type discrete'"}},
      {"other type", "variable x {\n  type continuous;\n}\n", {"<bif>:2:8:", "expected 'discrete'", "'continuous'"}},
      {"stray keyword",
       decl + "potential ( b ) { }\n",
       {"<bif>:12:1:", "expected 'network', 'variable' or 'probability'"}},
      {"unterminated block", decl + "probability ( b ) {\n  table 1, 0;\n", {"<bif>:14:1:", "found end of file"}},
      {"property without ';'",
       "network n {\n  property a = 1\n}\n",
       {"<bif>:2:11:", "expected ';' to end the property"}},
      {"second network block", "network a { }\nnetwork b { }\n", {"<bif>:2:1:", "a second 'network' block"}},
  };
  // 26 binary parents: 2^27 entries, over the limit; reported at the parent that crosses it.
  std::string huge;
  std::string header = "probability ( v0 | ";
  for (int v = 0; v <= 26; ++v) {
    huge += "variable v" + std::to_string(v) + " { type discrete [ 2 ] { t, f }; }\n";
    if (v > 0) header += (v > 1 ? ", v" : "v") + std::to_string(v);
  }
  huge += header + " ) { default 0.5, 0.5; }\n";
  const std::string at = "<bif>:28:" + std::to_string(header.find("v26") + 1) + ":";
  cases.push_back({"table too large", huge, {at.c_str(), "the table of 'v0' would have more than 67108864 entries"}});

  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string message = bif_error(c.text);
    for (const char* want : c.expected) EXPECT_NE(message.find(want), std::string::npos) << message;
  }
  EXPECT_GE(cases.size(), 12u);
}

TEST(BifErrors, CorruptedTextGivesAnErrorOrANetworkNeverACrash) {
  // Random edits of a valid file: each read either succeeds or throws
  // miso::Error(Format); anything else (another exception, a sanitizer report)
  // fails.
  const std::string original = core::read_file(example("sprinkler.bif"));
  const std::string alphabet = "{}()[],;|\"/*\\ \n0.1e-5xtrueTable";
  std::mt19937_64 rng(4242);
  int parsed = 0;
  for (int round = 0; round < 600; ++round) {
    const std::string text = mutated(original, alphabet, rng);
    try {
      (void)read_bif(text, "corrupt.bif");
      ++parsed;
    } catch (const Error& err) {
      ASSERT_EQ(err.kind(), Error::Kind::Format) << err.what();
      ASSERT_EQ(std::string(err.what()).rfind("corrupt.bif:", 0), 0u) << err.what();
    }
  }
  EXPECT_LT(parsed, 600);  // the edits do break files
}

// ---------------------------------------------------------------- files and examples

class NetworkFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("miso-format-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(NetworkFiles, SaveThenLoadByExtension) {
  std::mt19937_64 rng(7);
  const Network net = testing::random_network(rng, 6);
  for (const char* name : {"n.bif", "n.xml", "n.XMLBIF", "n.BIF"}) {
    SCOPED_TRACE(name);
    save_network(net, path(name));
    EXPECT_TRUE(identical(net, load_network(path(name))));
  }
  EXPECT_EQ(core::read_file(path("n.bif")), write_bif(net));
  EXPECT_EQ(core::read_file(path("n.xml")), write_xmlbif(net));
  // Saving over a file replaces it, and no temporary is left behind.
  Network other("other");
  other.add_variable("x", {"s"});
  save_network(other, path("n.bif"));
  EXPECT_TRUE(identical(other, load_network(path("n.bif"))));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(files, 4u);
}

TEST_F(NetworkFiles, LoadSniffsOtherExtensions) {
  std::mt19937_64 rng(8);
  const Network net = testing::random_network(rng, 4);
  core::write_file_atomic(path("as-xml.txt"), "\xEF\xBB\xBF\n  " + write_xmlbif(net));
  core::write_file_atomic(path("as-bif"), write_bif(net));
  EXPECT_TRUE(identical(net, load_network(path("as-xml.txt"))));
  EXPECT_TRUE(identical(net, load_network(path("as-bif"))));
  std::string xml = write_xmlbif(net);
  xml.erase(0, xml.find("<BIF"));  // no declaration: sniffed by the root element
  core::write_file_atomic(path("bare.net"), xml);
  EXPECT_TRUE(identical(net, load_network(path("bare.net"))));
}

TEST_F(NetworkFiles, ErrorsNameThePath) {
  try {
    (void)load_network(path("absent.bif"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Io);
    EXPECT_NE(std::string(e.what()).find(path("absent.bif")), std::string::npos) << e.what();
  }
  core::write_file_atomic(path("bad.bif"), "variable x {\n  type discrete [ 1 ] { s }\n}\n");
  try {
    (void)load_network(path("bad.bif"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format);
    EXPECT_NE(std::string(e.what()).find(path("bad.bif") + ":3:1:"), std::string::npos) << e.what();
  }
  Network net;
  try {
    save_network(net, path("n.json"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("n.json"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path("n.json")));
  EXPECT_THROW(save_network(net, path("no-such-folder/n.bif")), Error);
}

TEST(Examples, SprinklerGivesTheTextbookPosteriors) {
  const Network bif = load_network(example("sprinkler.bif"));
  const Network xml = load_network(example("sprinkler.xml"));
  EXPECT_TRUE(identical(bif, xml));
  ASSERT_EQ(bif.size(), 4u);
  // Brute force over the 16 joint states: P(W), P(S | W), P(R | W) with the
  // usual figures 0.6471, 0.2781 / 0.6471 and 0.4581 / 0.6471.
  const VarId s = bif.id("Sprinkler"), r = bif.id("Rain"), w = bif.id("WetGrass");
  const int wet = bif.state_index(w, "true");
  const int on = bif.state_index(s, "true");
  const int rains = bif.state_index(r, "true");
  double p_w = 0, p_sw = 0, p_rw = 0;
  for (int x = 0; x < 16; ++x) {
    const std::vector<int> a = {x & 1, (x >> 1) & 1, (x >> 2) & 1, (x >> 3) & 1};
    if (a[static_cast<std::size_t>(w)] != wet) continue;
    const double p = bif.joint_probability(a);
    p_w += p;
    if (a[static_cast<std::size_t>(s)] == on) p_sw += p;
    if (a[static_cast<std::size_t>(r)] == rains) p_rw += p;
  }
  EXPECT_NEAR(p_w, 0.6471, 1e-12);
  EXPECT_NEAR(p_sw, 0.2781, 1e-12);
  EXPECT_NEAR(p_rw, 0.4581, 1e-12);
}

}  // namespace
}  // namespace miso::qlogik
