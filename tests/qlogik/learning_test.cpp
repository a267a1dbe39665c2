#include "miso/qlogik/learning.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <unistd.h>

#include "approximate_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/approximate.hpp"

namespace miso::qlogik {
namespace {

#ifdef NDEBUG
constexpr std::uint64_t kRows = 200000;
#else
constexpr std::uint64_t kRows = 20000;
#endif

Network learn_text(const Network& structure, const std::string& csv, const LearningOptions& options = {},
                   LearningStats* stats = nullptr) {
  std::istringstream in(csv);
  return learn_parameters(structure, in, options, stats, "data.csv");
}

// The counts N_ijk of a CSV written by sample_csv, by a plain independent parse.
std::vector<std::vector<double>> reference_counts(const Network& net, const std::string& csv) {
  std::vector<std::vector<double>> counts(net.size());
  for (std::size_t v = 0; v < net.size(); ++v) counts[v].assign(net.cpt(static_cast<VarId>(v)).table.size(), 0.0);
  approximate_testing::for_each_sample(net, csv, [&](const std::vector<int>& x) {
    for (std::size_t v = 0; v < net.size(); ++v) {
      std::int64_t at = 0;
      for (VarId p : net.parents(static_cast<VarId>(v))) at = at * net.cardinality(p) + x[static_cast<std::size_t>(p)];
      counts[v][static_cast<std::size_t>(at * net.cardinality(static_cast<VarId>(v)) + x[v])] += 1;
    }
  });
  return counts;
}

// Samples from `truth`, learns it back by maximum likelihood: equal to the
// counts' ratios, and close to the truth within the sampling error of each row.
void expect_learns_back(const Network& truth, double fixed_tolerance, std::uint64_t rows = kRows) {
  std::ostringstream out;
  sample_csv(truth, rows, 17, out);
  const std::string csv = out.str();
  LearningStats stats;
  const Network learned = learn_text(truth, csv, {}, &stats);
  EXPECT_EQ(stats.rows, rows);
  EXPECT_EQ(stats.bytes, csv.size());
  EXPECT_GT(stats.seconds, 0);
  EXPECT_NO_THROW(learned.validate(1e-12));
  const auto counts = reference_counts(truth, csv);
  for (std::size_t v = 0; v < truth.size(); ++v) {
    const auto var = static_cast<VarId>(v);
    EXPECT_EQ(learned.parents(var), truth.parents(var));
    const auto card = static_cast<std::size_t>(truth.cardinality(var));
    const auto& want = truth.cpt(var).table;
    const auto& got = learned.cpt(var).table;
    for (std::size_t r = 0; r * card < want.size(); ++r) {
      double n = 0;
      for (std::size_t s = 0; s < card; ++s) n += counts[v][r * card + s];
      for (std::size_t s = 0; s < card; ++s) {
        const std::size_t i = r * card + s;
        SCOPED_TRACE(::testing::Message() << truth.variable(var).name << " row " << r << " state " << s);
        EXPECT_NEAR(got[i], n > 0 ? counts[v][i] / n : 1.0 / static_cast<double>(card), 1e-12);
        if (n == 0) continue;
        const double sigma = std::sqrt(want[i] * (1 - want[i]) / n);
        EXPECT_NEAR(got[i], want[i], fixed_tolerance > 0 ? fixed_tolerance : 5 * sigma + 1e-3);
      }
    }
  }
}

TEST(LearnParameters, LearnsTheSprinklerBackWithinOneHundredth) {
  expect_learns_back(approximate_testing::sprinkler(), 0.01);
}

TEST(LearnParameters, LearnsAsiaBackWithinTheSamplingError) {
  // asia has rare rows (asia = yes is 1%), so the bound is per row: 5 sigma of its count.
  expect_learns_back(approximate_testing::asia(), 0);
}

TEST(LearnParameters, LearnsAlarmBackWithinTheSamplingError) {
  MISO_STANDARD_NETWORK_OR_SKIP(net, "alarm");
  expect_learns_back(*net, 0, kRows / 2);
}

// A (states x, y, z) -> B (states p, q, r); columns in the other order, z never seen.
Network tiny_structure() {
  Network net("tiny");
  const VarId a = net.add_variable("A", {"x", "y", "z"});
  const VarId b = net.add_variable("B", {"p", "q", "r"});
  net.set_cpt(b, {a}, std::vector<double>(9, 1.0 / 3));
  return net;
}

const char* const kTinyCsv = "B,A\np,x\nq,x\np,x\nr,y\np,x\n";  // A: x 4, y 1; B|x: p 3, q 1; B|y: r 1

void expect_tables(const Network& net, const std::vector<double>& a, const std::vector<double>& b) {
  const auto& ta = net.cpt(net.id("A")).table;
  const auto& tb = net.cpt(net.id("B")).table;
  ASSERT_EQ(ta.size(), a.size());
  ASSERT_EQ(tb.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(ta[i], a[i], 1e-15) << "A entry " << i;
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(tb[i], b[i], 1e-15) << "B entry " << i;
}

TEST(LearnParameters, MaximumLikelihoodByHand) {
  const double t = 1.0 / 3;
  expect_tables(learn_text(tiny_structure(), kTinyCsv), {0.8, 0.2, 0.0},
                {0.75, 0.25, 0.0, 0.0, 0.0, 1.0, t, t, t});  // the row of unseen z is uniform
}

TEST(LearnParameters, DirichletByHand) {
  // (N_ijk + 1) / (N_ij + 3): A (5, 2, 1) / 8; B|x (4, 2, 1) / 7; B|y (1, 1, 2) / 4; B|z uniform.
  const double t = 1.0 / 3;
  expect_tables(learn_text(tiny_structure(), kTinyCsv, {Prior::Dirichlet, 1.0}), {5.0 / 8, 2.0 / 8, 1.0 / 8},
                {4.0 / 7, 2.0 / 7, 1.0 / 7, 0.25, 0.25, 0.5, t, t, t});
  // a = 0.5: A (4.5, 1.5, 0.5) / 6.5.
  expect_tables(learn_text(tiny_structure(), kTinyCsv, {Prior::Dirichlet, 0.5}), {4.5 / 6.5, 1.5 / 6.5, 0.5 / 6.5},
                {3.5 / 5.5, 1.5 / 5.5, 0.5 / 5.5, 0.5 / 2.5, 0.5 / 2.5, 1.5 / 2.5, t, t, t});
}

TEST(LearnParameters, BDeuByHand) {
  // s = 9. A: q = 1, r = 3, a = 3: (7, 4, 3) / 14. B: q = 3, r = 3, a = 1: B|x (4, 2, 1) / 7; B|y (1, 1, 2) / 4.
  const double t = 1.0 / 3;
  expect_tables(learn_text(tiny_structure(), kTinyCsv, {Prior::BDeu, 1.0, 9.0}), {7.0 / 14, 4.0 / 14, 3.0 / 14},
                {4.0 / 7, 2.0 / 7, 1.0 / 7, 0.25, 0.25, 0.5, t, t, t});
}

TEST(LearnParameters, KeepsTheStructureAndItsNames) {
  Network structure = tiny_structure();
  structure.properties().push_back("source = test");
  const Network learned = learn_text(structure, kTinyCsv);
  EXPECT_EQ(learned.name(), "tiny");
  EXPECT_EQ(learned.properties(), structure.properties());
  EXPECT_EQ(learned.variable(1).states, structure.variable(1).states);
}

TEST(LearnParameters, CsvDialect) {
  // CRLF, blanks around cells, blank lines, quoted cells with commas, doubled
  // quotes and a line break, and no final line break.
  Network structure("dialect");
  const VarId a = structure.add_variable("A", {"plain", "with,comma", "say \"hi\"", "two\nlines"});
  const VarId b = structure.add_variable("B b", {"u", "v"});
  structure.set_cpt(b, {a}, std::vector<double>(8, 0.5));
  const std::string csv =
      "\"B b\" , A\r\n"
      "\r\n"
      "u, plain\r\n"
      "  v ,\"with,comma\"\n"
      "\n"
      "u,\"say \"\"hi\"\"\"\n"
      "v,\"two\nlines\"\n"
      "u , plain";
  LearningStats stats;
  const Network learned = learn_text(structure, csv, {}, &stats);
  EXPECT_EQ(stats.rows, 5u);
  EXPECT_EQ(learned.cpt(a).table, (std::vector<double>{0.4, 0.2, 0.2, 0.2}));
  EXPECT_EQ(learned.cpt(b).table, (std::vector<double>{1, 0, 0, 1, 1, 0, 0, 1}));
  // Line numbers count the line breaks inside quotes.
  try {
    learn_text(structure, csv + "\nv,nope");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "data.csv:10:3: unknown state 'nope' of variable 'A' (states: plain, with,comma, say \"hi\", two\nlines)");
  }
}

// The message of the Error(Format) that learning `csv` throws.
std::string format_error(const std::string& csv) {
  try {
    learn_text(tiny_structure(), csv);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << csv;
  return "";
}

TEST(LearnParameters, ErrorsNameTheLineAndColumn) {
  EXPECT_EQ(format_error("B,A\np,x\nq, w\n"), "data.csv:3:4: unknown state 'w' of variable 'A' (states: x, y, z)");
  // Blank lines count.
  EXPECT_EQ(format_error("B,A\n\n\"p\",\"x\"\n\"q\",x\n\"s\",x\n"),
            "data.csv:5:1: unknown state 's' of variable 'B' (states: p, q, r)");
  EXPECT_EQ(format_error("B,A\np,x,q\n"), "data.csv:2:5: the row has 3 cells, the header 2");
  EXPECT_EQ(format_error("B,A\np,x\np\n"), "data.csv:3:1: the row has 1 cell, the header 2 (no cell for 'A')");
  EXPECT_EQ(format_error("B,A,C\n"), "data.csv:1:5: unknown column 'C': network 'tiny' has no such variable");
  EXPECT_EQ(format_error("B,A,B\n"), "data.csv:1:5: column 'B' appears twice (first as column 1)");
  EXPECT_EQ(format_error("A\nx\n"), "data.csv:1: the header has no column for variable 'B'");
  EXPECT_EQ(format_error(""), "data.csv: empty input: expected a header row naming the variables");
  EXPECT_EQ(format_error("\n \n"), "data.csv: empty input: expected a header row naming the variables");
  EXPECT_EQ(format_error("B,A\np,\"x\n"), "data.csv:2:3: quoted cell is not closed");
  EXPECT_EQ(format_error("B,A\np,\"x\"y\n"), "data.csv:2:6: expected ',' or the end of the line after a quoted cell");
}

TEST(LearnParameters, RejectsBadOptionsAndStructures) {
  auto expect_invalid = [](auto&& call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid([] { learn_text(tiny_structure(), kTinyCsv, {Prior::Dirichlet, -1.0}); }, "pseudo_count");
  expect_invalid([] { learn_text(tiny_structure(), kTinyCsv, {Prior::BDeu, 1.0, 0.0}); }, "equivalent_sample_size");
  Network cyclic = tiny_structure();
  cyclic.set_cpt(0, {1}, std::vector<double>(9, 1.0 / 3));
  expect_invalid([&] { learn_text(cyclic, kTinyCsv); }, "cycle");
}

TEST(LearnParameters, StreamsAcrossBlocks) {
  // A quoted record with a line break straddles the first 1 MiB block
  // boundary, and one record (a 1.5 MiB state name) is longer than a block.
  Network structure("blocks");
  const std::string huge(3 << 19, 'h');
  const VarId a = structure.add_variable("A", {"a\nb", "c", huge});
  const VarId b = structure.add_variable("B", {"0", "1"});
  structure.set_cpt(b, {a}, std::vector<double>(6, 0.5));
  std::string csv = "A,B\n";
  std::vector<double> expected_a(3, 0.0);
  auto add = [&](int state) {
    static const char* const rows[] = {"\"a\nb\",1\n", "c,0\n", nullptr};
    csv += state == 2 ? huge + ",1\n" : rows[state];
    expected_a[static_cast<std::size_t>(state)] += 1;
  };
  while (csv.size() + 4 < kCsvBlock) add(1);
  add(0);  // bytes [kCsvBlock - 4, kCsvBlock + 4) or so
  add(2);
  for (int i = 0; csv.size() < 4 * kCsvBlock; ++i) add(i % 7 == 0 ? 0 : 1);
  const double total = expected_a[0] + expected_a[1] + expected_a[2];
  for (double& p : expected_a) p /= total;
  LearningStats stats;
  const Network learned = learn_text(structure, csv, {}, &stats);
  EXPECT_EQ(static_cast<double>(stats.rows), total);
  EXPECT_EQ(stats.bytes, csv.size());
  EXPECT_EQ(learned.cpt(a).table, expected_a);
  EXPECT_EQ(learned.cpt(b).table, (std::vector<double>{0, 1, 1, 0, 0, 1}));
}

TEST(LearnParameters, FromAFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   approximate_testing::numbered("miso_learning_test_", static_cast<std::size_t>(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tiny.csv").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << kTinyCsv;
  }
  LearningStats stats;
  const Network learned = learn_parameters_file(tiny_structure(), path, {}, &stats);
  EXPECT_EQ(stats.rows, 5u);
  EXPECT_EQ(learned.cpt(0).table, (std::vector<double>{0.8, 0.2, 0.0}));
  {
    std::ofstream out(path, std::ios::binary);
    out << "B,A\np,q\n";
  }
  try {
    learn_parameters_file(tiny_structure(), path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":2:3: unknown state 'q'", 0), 0u) << e.what();
  }
  std::filesystem::remove_all(dir);
  try {
    learn_parameters_file(tiny_structure(), path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Io);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(LearnParameters, RoundTripsQuotedNamesThroughSampleCsv) {
  Network net("quoting");
  const VarId a = net.add_variable("a,b", {"say \"hi\"", "x,y", "plain"});
  const VarId b = net.add_variable("c\nd", {"p", "q"});
  net.set_cpt(a, {}, {0.2, 0.3, 0.5});
  net.set_cpt(b, {a}, {0.1, 0.9, 0.5, 0.5, 0.8, 0.2});
  std::ostringstream out;
  sample_csv(net, kRows / 4, 3, out);
  const Network learned = learn_text(net, out.str());
  const double n = static_cast<double>(kRows / 4);
  for (std::size_t i = 0; i < 3; ++i) {
    const double p = net.cpt(a).table[i];
    EXPECT_NEAR(learned.cpt(a).table[i], p, 5 * std::sqrt(p * (1 - p) / n));
  }
}

}  // namespace
}  // namespace miso::qlogik
