#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "format_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik {
namespace {

using testing::bnlearn;
using testing::identical;
using testing::mutated;
using testing::standard_networks;

// A document whose body starts on line 5.
std::string xml(const std::string& body) {
  return "<?xml version=\"1.0\"?>\n<BIF VERSION=\"0.3\">\n<NETWORK>\n<NAME>t</NAME>\n" + body + "</NETWORK>\n</BIF>\n";
}

// Lines 5-7: variables a and b, and a's definition.
const std::string kVars =
    "<VARIABLE TYPE=\"nature\"><NAME>a</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>\n"
    "<VARIABLE TYPE=\"nature\"><NAME>b</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>\n"
    "<DEFINITION><FOR>a</FOR><TABLE>0.3 0.7</TABLE></DEFINITION>\n";

std::string xml_error(const std::string& text) {
  try {
    (void)read_xmlbif(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

// The dog problem of the XMLBIF 0.3 specification (Charniak's numbers), laid
// out loosely: definitions before variables, blanks around names, comments.
const char* const kDogProblem = R"(<?xml version="1.0" encoding="US-ASCII"?>
<!-- the spec's example, with its DTD -->
<!DOCTYPE BIF [
  <!ELEMENT BIF ( NETWORK )*>
  <!ATTLIST BIF VERSION CDATA #REQUIRED>
  <!ELEMENT NETWORK ( NAME, ( PROPERTY | VARIABLE | DEFINITION )* )>
  <!ELEMENT DEFINITION ( FOR | GIVEN | TABLE | PROPERTY )* >
]>
<BIF VERSION="0.3">
<NETWORK>
  <NAME> Dog-Problem </NAME>
  <PROPERTY>short = dog</PROPERTY>
  <DEFINITION>
    <FOR>dog-out</FOR>
    <GIVEN>bowel-problem</GIVEN>
    <GIVEN>family-out</GIVEN>
    <TABLE>0.99 0.01 0.97 0.03
           0.9 0.1 0.3 0.7</TABLE>
    <PROPERTY>dropped = yes</PROPERTY>
  </DEFINITION>
  <VARIABLE TYPE="nature">
    <NAME>
      bowel-problem
    </NAME>
    <OUTCOME>true</OUTCOME>
    <OUTCOME>false</OUTCOME>
    <PROPERTY>position = (190, 69)</PROPERTY>
  </VARIABLE>
  <VARIABLE><NAME>family-out</NAME><OUTCOME>true</OUTCOME><OUTCOME>false</OUTCOME></VARIABLE>
  <VARIABLE TYPE="nature"><NAME>dog-out</NAME><OUTCOME>true</OUTCOME><OUTCOME><![CDATA[false]]></OUTCOME></VARIABLE>
  <DEFINITION><FOR>bowel-problem</FOR><TABLE>0.01 0.99</TABLE></DEFINITION>
  <DEFINITION><FOR>family-out</FOR><TABLE>0.15 0.85</TABLE></DEFINITION>
</NETWORK>
</BIF>
)";

TEST(XmlBif, TableListsTheForVariableFastestAndTheLastGivenNext) {
  const Network net = read_xmlbif(kDogProblem);
  EXPECT_EQ(net.name(), "Dog-Problem");
  EXPECT_EQ(net.properties(), (std::vector<std::string>{"short = dog"}));
  const VarId dog = net.id("dog-out");
  ASSERT_EQ(net.parents(dog), (std::vector<VarId>{net.id("bowel-problem"), net.id("family-out")}));
  EXPECT_EQ(net.variable(dog).states, (std::vector<std::string>{"true", "false"}));
  EXPECT_EQ(net.variable(net.id("bowel-problem")).properties, (std::vector<std::string>{"position = (190, 69)"}));
  // The same network in BIF, rows by name: the spec's table means these.
  const Network bif = read_bif(R"(network Dog-Problem { property short = dog; }
variable bowel-problem { type discrete [ 2 ] { true, false }; property position = (190, 69); }
variable family-out { type discrete [ 2 ] { true, false }; }
variable dog-out { type discrete [ 2 ] { true, false }; }
probability ( dog-out | bowel-problem, family-out ) {
  (true, true) 0.99, 0.01; (true, false) 0.97, 0.03; (false, true) 0.9, 0.1; (false, false) 0.3, 0.7; }
probability ( bowel-problem ) { table 0.01, 0.99; }
probability ( family-out ) { table 0.15, 0.85; })");
  // Same content; the variable order differs (XMLBIF declares dog-out last too).
  EXPECT_EQ(net.size(), bif.size());
  for (const char* name : {"bowel-problem", "family-out", "dog-out"}) {
    EXPECT_EQ(net.cpt(net.id(name)).table, bif.cpt(bif.id(name)).table) << name;
  }
}

TEST(XmlBif, WritesTheDocumentedLayout) {
  Network net("a&b");
  const VarId a = net.add_variable("a<1>", {"yes", "\"no\""});
  const VarId b = net.add_variable("b", {"x"});
  net.properties().push_back("note = it's");
  net.set_cpt(a, {}, {0.25, 0.75});
  net.set_cpt(b, {a}, {1, 1});
  EXPECT_EQ(write_xmlbif(net), R"(<?xml version="1.0" encoding="UTF-8"?>
<BIF VERSION="0.3">
  <NETWORK>
    <NAME>a&amp;b</NAME>
    <PROPERTY>note = it's</PROPERTY>
    <VARIABLE TYPE="nature">
      <NAME>a&lt;1&gt;</NAME>
      <OUTCOME>yes</OUTCOME>
      <OUTCOME>"no"</OUTCOME>
    </VARIABLE>
    <VARIABLE TYPE="nature">
      <NAME>b</NAME>
      <OUTCOME>x</OUTCOME>
    </VARIABLE>
    <DEFINITION>
      <FOR>a&lt;1&gt;</FOR>
      <TABLE>0.25 0.75</TABLE>
    </DEFINITION>
    <DEFINITION>
      <FOR>b</FOR>
      <GIVEN>a&lt;1&gt;</GIVEN>
      <TABLE>1 1</TABLE>
    </DEFINITION>
  </NETWORK>
</BIF>
)");
}

TEST(XmlBif, RandomNetworksRoundTripExactly) {
  std::mt19937_64 rng(977);
  for (int round = 0; round < 40; ++round) {
    const Network net = testing::random_network(rng, 1 + round % 9);
    const std::string text = write_xmlbif(net);
    Network back;
    ASSERT_NO_THROW(back = read_xmlbif(text)) << text;
    ASSERT_TRUE(identical(net, back)) << text;
  }
}

TEST(XmlBif, WriteRejectsTextTheReaderWouldTrim) {
  for (const char* bad : {" a", "a\n", "\ta"}) {
    Network net;
    net.add_variable("v", {"s", bad});
    try {
      (void)write_xmlbif(net);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("state of 'v'"), std::string::npos) << e.what();
    }
  }
}

// The XMLBIF round trip, continued back to BIF: BIF -> XMLBIF -> BIF.
TEST(XmlBifStandard, BifToXmlBifToBifIsIdentical) {
  MISO_SKIP_WITHOUT_BNLEARN();
  for (const auto& known : standard_networks()) {
    SCOPED_TRACE(known.name);
    const Network* net = bnlearn(known.name);  // read from the BIF file
    ASSERT_NE(net, nullptr);
    const Network via_xml = read_xmlbif(write_xmlbif(*net), "written.xml");
    EXPECT_TRUE(identical(*net, via_xml));
    EXPECT_TRUE(identical(*net, read_bif(write_bif(via_xml), "written.bif")));
  }
}

struct BadCase {
  const char* what;
  std::string text;
  std::vector<const char*> expected;
};

TEST(XmlBifErrors, MalformedInputsNameThePlaceAndTheProblem) {
  const std::string def_b = "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.1 0.9 0.2 0.8</TABLE></DEFINITION>\n";
  const std::string a_given_b = "<DEFINITION><FOR>a</FOR><GIVEN>b</GIVEN><TABLE>0.1 0.9 0.2 0.8</TABLE></DEFINITION>\n";
  const std::string vars_only = kVars.substr(0, kVars.find("<DEFINITION>"));
  std::vector<BadCase> cases = {
      {"not well-formed",
       xml(kVars + "<DEFINITION><FOR>b</FOR>\n<TABLE>1 0 0 1</TABEL></DEFINITION>\n"),
       {"<xmlbif>:9:17:", "XML is not well-formed: Start-end tags mismatch"}},
      {"no document", "", {"<xmlbif>:1:1:", "XML is not well-formed: No document element found"}},
      {"table of the wrong length",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.1 0.9 0.2</TABLE></DEFINITION>\n"),
       {"<xmlbif>:8:41:", "<TABLE> of 'b' has 3 probabilities, expected 4 (2 parent configurations x 2 states)"}},
      {"unknown GIVEN",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>c</GIVEN><TABLE>1 0</TABLE></DEFINITION>\n"),
       {"<xmlbif>:8:25:", "<GIVEN> 'c' is not a declared variable"}},
      {"unknown FOR",
       xml(kVars + def_b + "<DEFINITION><FOR> c </FOR><TABLE>1 0</TABLE></DEFINITION>\n"),
       {"<xmlbif>:9:13:", "<FOR> 'c' is not a declared variable"}},
      {"missing definition", xml(kVars), {"<xmlbif>:6:1:", "variable 'b' has no <DEFINITION>"}},
      {"second definition",
       xml(kVars + def_b + def_b),
       {"<xmlbif>:9:1:", "a second <DEFINITION> for 'b' (the first is at 8:1)"}},
      {"not a number",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.1 abc 0.2 0.8</TABLE></DEFINITION>\n"),
       {"<xmlbif>:8:41:", "<TABLE> of 'b': 'abc' is not a probability"}},
      {"rows not summing to 1",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.1 0.9 0.2 0.7</TABLE></DEFINITION>\n"),
       {"<xmlbif>: variable 'b', row 1 (a=no): probabilities sum to 0.89999999"}},
      {"negative probability",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>-0.1 1.1 0.2 0.8</TABLE></DEFINITION>\n"),
       {"<xmlbif>: variable 'b', row 0 (a=yes)", "not a finite non-negative number"}},
      {"cycle", xml(vars_only + a_given_b + def_b), {"<xmlbif>: network 't' has a cycle", "a -> b -> a"}},
      {"root not BIF", "<NETWORK/>", {"<xmlbif>:1:1:", "expected the root element <BIF>, found <NETWORK>"}},
      {"no NETWORK", "<BIF VERSION=\"0.3\">\n</BIF>", {"<xmlbif>:1:1:", "<BIF> has no <NETWORK>"}},
      {"two NETWORKs", "<BIF>\n<NETWORK/>\n<NETWORK/>\n</BIF>", {"<xmlbif>:3:1:", "a second <NETWORK>"}},
      {"decision variable",
       xml("<VARIABLE TYPE=\"decision\"><NAME>d</NAME><OUTCOME>go</OUTCOME></VARIABLE>\n"),
       {"<xmlbif>:5:1:", "variable of TYPE \"decision\""}},
      {"unexpected element",
       xml("<VARIABLE><NAME>c</NAME><OUTCOMES>x</OUTCOMES></VARIABLE>\n"),
       {"<xmlbif>:5:25:", "unexpected element <OUTCOMES> in variable 'c'"}},
      {"unexpected element in NETWORK",
       xml(kVars + def_b + "<NODE/>\n"),
       {"<xmlbif>:9:1:", "unexpected element <NODE> in <NETWORK>"}},
      {"duplicate variable",
       xml(kVars + def_b + "<VARIABLE><NAME>a</NAME><OUTCOME>x</OUTCOME></VARIABLE>\n"),
       {"<xmlbif>:9:1:", "variable 'a' declared twice"}},
      {"variable without NAME",
       xml("<VARIABLE><OUTCOME>x</OUTCOME></VARIABLE>\n"),
       {"<xmlbif>:5:1:", "<VARIABLE> has no <NAME>"}},
      {"variable without OUTCOME",
       xml("<VARIABLE><NAME>e</NAME></VARIABLE>\n"),
       {"<xmlbif>:5:1:", "variable 'e': needs at least one state"}},
      {"definition without TABLE",
       xml(kVars + "<DEFINITION>\n<FOR>b</FOR><GIVEN>a</GIVEN></DEFINITION>\n"),
       {"<xmlbif>:8:1:", "<DEFINITION> has no <TABLE>"}},
      {"two TABLEs",
       xml(kVars + "<DEFINITION><FOR>b</FOR><TABLE>1 0</TABLE>\n  <TABLE>1 0</TABLE></DEFINITION>\n"),
       {"<xmlbif>:9:3:", "a second <TABLE>"}},
      {"parent listed twice",
       xml(kVars + "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><GIVEN>a</GIVEN><TABLE>" + std::string(16, ' ') +
           "1 0 1 0 1 0 1 0</TABLE></DEFINITION>\n"),
       {"<xmlbif>:8:1:", "parent 'a' listed twice"}},
  };
  // 26 binary parents: 2^27 entries, over the limit; reported at the GIVEN that crosses it.
  std::string huge;
  std::string definition = "<DEFINITION><FOR>v0</FOR>";
  for (int v = 0; v <= 26; ++v) {
    huge += "<VARIABLE><NAME>v" + std::to_string(v) + "</NAME><OUTCOME>t</OUTCOME><OUTCOME>f</OUTCOME></VARIABLE>\n";
    if (v > 0) definition += "<GIVEN>v" + std::to_string(v) + "</GIVEN>";
  }
  const std::string at = "<xmlbif>:32:" + std::to_string(definition.find("<GIVEN>v26") + 1) + ":";
  huge = xml(huge + definition + "<TABLE>0.5 0.5</TABLE></DEFINITION>\n");
  cases.push_back({"table too large", huge, {at.c_str(), "the table of 'v0' would have more than 67108864 entries"}});

  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string message = xml_error(c.text);
    for (const char* want : c.expected) EXPECT_NE(message.find(want), std::string::npos) << message;
  }
  EXPECT_GE(cases.size(), 12u);
}

TEST(XmlBifErrors, CorruptedTextGivesAnErrorOrANetworkNeverACrash) {
  const std::string original = write_xmlbif(read_xmlbif(kDogProblem));
  const std::string alphabet = "<>/=\"&;! \n0.1e-5TABLEGIVENFOR";
  std::mt19937_64 rng(4343);
  int parsed = 0;
  for (int round = 0; round < 600; ++round) {
    const std::string text = mutated(original, alphabet, rng);
    try {
      (void)read_xmlbif(text, "corrupt.xml");
      ++parsed;
    } catch (const Error& err) {
      ASSERT_EQ(err.kind(), Error::Kind::Format) << err.what();
      ASSERT_EQ(std::string(err.what()).rfind("corrupt.xml:", 0), 0u) << err.what();
    }
  }
  EXPECT_LT(parsed, 600);
}

}  // namespace
}  // namespace miso::qlogik
