#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "miso/echo/format.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/mcode/vm.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::program_file;
using test_util::with_access;

const std::string kData = MISO_DATA_DIR;

TEST(EchoModule, BuildBranchAndFluents) {
  std::string source = R"(
let w = echo.world("ticks")
let a = w.append("main", {"id": "a", "time": 0, "type": "arrive", "initiates": ["present"], "attributes": {"speed": 3.5, "who": "ann"}})
let b = w.append("main", {"id": "b", "time": 10, "type": "leave", "terminates": ["present"]})
print(a, b, w.unit, len(w), w)
print(w.holds("main", "present", 5), w.holds("main", "present", 10), w.state_at("main", 3))
let alt = w.fork("main", "a", "stay")
w.append(alt, {"id": "c", "time": 20, "type": "nap"})
print(w.branches(), len(w.nodes("stay")), w.nodes("stay")[1].name, w.holds("stay", "present", 15))
let n = w.node("a")
print(n.time, n.type, n.attributes.speed, n.attributes.who, n.probability)
print(w.nodes()[1])
print(w.consistent(), w.check())
)";
  EXPECT_EQ(
      run_to_string(source),
      "0 1 ticks 2 <world (1 branch, 2 nodes)>\n"
      "true false [\"present\"]\n"
      "[\"main\", \"stay\"] 2 c true\n"
      "0 arrive 3.5 ann 1.0\n"
      "{\"id\": 1, \"name\": \"b\", \"time\": 10, \"type\": \"leave\", \"probability\": 1.0, \"attributes\": {}}\n"
      "true []\n");
}

TEST(EchoModule, ParadoxesMatchEngine) {
  std::string path = kData + "/echo/paradox.json";
  echo::World world = echo::load_world(path);
  echo::CheckReport report = echo::check(world);
  ASSERT_FALSE(report.consistent());
  std::string expected;
  for (const echo::Paradox& p : report.paradoxes)
    expected += std::string(echo::to_string(p.kind)) + ": " + p.message + "\n";
  std::string source = "let w = echo.load(\"" + path +
                       "\")\n"
                       "for p in w.check() { print(p.kind + \": \" + p.message) }\n"
                       "print(w.consistent())\n";
  EXPECT_EQ(run_to_string(source, with_access({kData})), expected + "false\n");
}

TEST(EchoModule, ConstraintsLinksAndResolution) {
  std::string source = R"(
let w = echo.world()
w.append("main", {"id": "p"})
w.append("main", {"id": "q"})
print(w.constrain("p", "q", 10, 20), w.constrain("q", "p", 0, nil))
let ps = w.check()
print(len(ps), ps[0].kind, ps[0].constraints, ps[0].branches)
let props = w.propose("main")
print(len(props) > 0, props[0].kind)
w.resolve("main", 0)
print(w.consistent())
let v = echo.world()
v.append("main", {"id": "x", "time": 5})
v.append("main", {"id": "y", "time": 9})
print(v.link("y", "x"), v.check()[0].kind)
)";
  EXPECT_EQ(run_to_string(source),
            "0 1\n1 inconsistent_constraints [0, 1] [\"main\"]\ntrue relax\ntrue\n0 causal_loop\n");
}

TEST(EchoModule, SaveLoadRoundTrip) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "mcode_echo_module_test";
  std::filesystem::create_directories(dir);
  std::string json = (dir / "w.json").string(), binary = (dir / "w.echo").string();
  std::string source =
      "let w = echo.load(\"" + kData + "/echo/meeting.json\")\n" + "w.save(\"" + json + "\")\nw.save(\"" + binary +
      "\")\n" + "let a = echo.load(\"" + json + "\")\nlet b = echo.load(\"" + binary + "\")\n" +
      "print(a.to_json() == w.to_json(), b.to_json() == w.to_json(), echo.parse(w.to_json()).to_json() == "
      "w.to_json())\n";
  EXPECT_EQ(run_to_string(source, with_access({kData, dir})), "true true true\n");
  EXPECT_TRUE(echo::same_world(echo::load_world(json), echo::load_world(kData + "/echo/meeting.json")));
  std::filesystem::remove_all(dir);
}

TEST(EchoModule, Errors) {
  EXPECT_NE(error_of("echo.load(\"" + kData + "/echo/meeting.json\")").find("meeting.json"), std::string::npos);
  EXPECT_NE(error_of("echo.world().append(\"nope\", {})").find("world.append: unknown branch 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of("echo.world().append(\"main\", 3)").find("world.append: node must be a map, got int"),
            std::string::npos);
  EXPECT_NE(error_of("echo.world().append(\"main\", {\"time\": \"x\"})").find("node.time must be an int, got string"),
            std::string::npos);
  EXPECT_NE(error_of("let w = echo.world()\nw.append(\"main\", {\"time\": 5})\nw.append(\"main\", {\"time\": 1})")
                .find("world.append:"),
            std::string::npos);
  EXPECT_NE(error_of("echo.world().link(\"a\", \"b\")").find("unknown node 'a'"), std::string::npos);
  EXPECT_NE(error_of("echo.world(\"fortnights\")").find("echo.world:"), std::string::npos);
  EXPECT_EQ(run_to_string("try { echo.parse(\"{nodes\") } catch e { print(e.message.starts_with(\"echo.parse: \")) }"),
            "true\n");
  EXPECT_NE(error_of("echo.world().resolve(\"main\")").find("no proposal 0"), std::string::npos);
}

TEST(EchoModule, TimelineProgram) {
  const std::string source = program_file("timeline", "mc");
  const std::string expected = program_file("timeline", "out");
  EXPECT_EQ(run_to_string(source), expected);
}

}  // namespace
}  // namespace miso::mcode
