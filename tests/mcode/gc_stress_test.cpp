// The incremental collector under stress: every safepoint runs a one-object marking slice
// (HeapOptions::stress), so a cycle is nearly always in progress while scripts mutate old
// structures, and HeapOptions::verify checks before every sweep that no marked object
// points to an unmarked one. Each program must print the same in three modes: normal
// pacing, incremental stress, and a full collection at every safepoint. Use-after-free
// would show under ASan (these tests run there too).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "miso/mcode/heap.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {
namespace {

struct Outcome {
  std::string output;
  HeapStats stats;
};

Outcome run_mode(const std::string& source, int mode, bool engines = false) {
  std::ostringstream out;
  VmOptions options;
  options.output = &out;
  options.engine_modules = engines;  // fewer objects make stress_full's collections cheap
  options.heap.verify = mode != 0;
  options.heap.stress = mode == 1;
  options.heap.stress_full = mode == 2;
  Vm vm(options);
  vm.run(source, "gc_stress.mc");
  return {out.str(), vm.heap().stats()};
}

// Runs `source` in the three modes; returns the (identical) output.
std::string run_all_modes(const std::string& source) {
  Outcome normal = run_mode(source, 0);
  Outcome incremental = run_mode(source, 1);
  EXPECT_EQ(incremental.output, normal.output);
  EXPECT_GT(incremental.stats.collections, 0u);
  EXPECT_EQ(incremental.stats.verify_violations, 0u);
  Outcome full = run_mode(source, 2);
  EXPECT_EQ(full.output, normal.output);
  return normal.output;
}

// A long-lived graph of maps and lists rewired every iteration; the only reference to
// each young object moves from a register into an old (likely black) container.
TEST(GcStress, OldGraphRewiredWhileMarking) {
  const std::string source = R"(
let nodes = []
for i in range(64) { push(nodes, {"id": i, "next": nil, "data": [i]}) }
for round in range(600) {
  let young = {"v": round, "s": str(round) + "-y", "l": [round, [round * 2]]}
  let k = round % 64
  nodes[k].next = young
  nodes[(k * 7 + 3) % 64]["data"] = [young, str(round) + "-d"]
  young = nil
  if round % 5 == 0 { nodes[(k + 1) % 64] = {"id": k + 1, "next": nodes[k], "data": []} }
}
let total = 0
let text = 0
for n in nodes {
  if n.next != nil { total += n.next.v + n.next.l[1][0] }
  for d in n.data { if type(d) == "string" { text += len(d) } }
}
print(total, text)
)";
  std::string out = run_all_modes(source);
  EXPECT_FALSE(out.empty());
  EXPECT_NE(out, "0 0\n");
}

// Closures capture variables; the frames return (closing upvalues) while marking runs,
// and closed upvalues are then written through (SetUpvalue barrier).
TEST(GcStress, UpvaluesClosedAndWrittenWhileMarking) {
  const std::string source = R"(
fn make(n) {
  let acc = []
  let count = 0
  let add = fn(x) { count += 1; push(acc, str(x) + "!"); return count }
  for i in range(n) { add(i) }
  return [add, fn() { return acc }, fn() { return count }]
}
let keep = []
for i in range(20) { push(keep, nil) }
for r in range(300) {
  let fs = make(r % 13)
  keep[r % 20] = fs
  let old = keep[(r * 3) % 20]
  if old != nil { old[0]("late" + str(r)) }
}
let sum = 0
let chars = 0
for fs in keep { sum += fs[2](); for s in fs[1]() { chars += len(s) } }
print(sum, chars)
)";
  std::string out = run_all_modes(source);
  EXPECT_NE(out, "0 0\n");
}

// Globals reassigned (top-level variables are globals: SetGlobal stores into the globals
// map), deep recursion building nested lists, and cycles that become garbage.
TEST(GcStress, GlobalsRecursionAndCycles) {
  const std::string source = R"(
fn build(d) {
  if d == 0 { return [] }
  return [build(d - 1), str(d) + "-level"]
}
fn depth(t) {
  let n = 0
  while len(t) > 0 { n += 1; t = t[0] }
  return n
}
let total = 0
let current = nil
let kept = nil
for r in range(20) {
  current = build(100 + r)
  let a = {"name": "a" + str(r)}
  let b = {"name": "b" + str(r), "peer": a}
  a.peer = b
  a.self = [a, b]
  if r % 3 == 0 { kept = a }
  total += depth(current)
}
print(total, depth(current), kept.peer.name, kept.self[1].peer.name)
)";
  EXPECT_EQ(run_all_modes(source), std::to_string(20 * 100 + 20 * 19 / 2) + " 119 b18 a18\n");
}

// Many short-lived objects: memory stays bounded under incremental pacing too.
TEST(GcStress, ShortLivedObjectsStayBounded) {
  const std::string source = R"(
let sum = 0
for i in range(200000) {
  let pair = [i, str(i % 1000) + "x"]
  sum += pair[0] + len(pair[1])
}
print(sum)
)";
  Outcome normal = run_mode(source, 0);
  std::int64_t expected = 0;
  for (int i = 0; i < 200000; ++i) expected += i + static_cast<std::int64_t>(std::to_string(i % 1000).size()) + 1;
  EXPECT_EQ(normal.output, std::to_string(expected) + "\n");
  EXPECT_GT(normal.stats.collections, 2u);
  EXPECT_LT(normal.stats.peak_bytes, 16u << 20);
  EXPECT_EQ(normal.stats.verify_violations, 0u);
}

// The example programs print exactly their expected output under both stress modes.
TEST(GcStress, ExamplePrograms) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(MISO_MCODE_PROGRAMS_DIR)) {
    if (entry.path().extension() != ".mc") continue;
    fs::path expected_path = entry.path();
    expected_path.replace_extension(".out");
    std::ifstream source_file(entry.path()), expected_file(expected_path);
    if (!expected_file) continue;
    std::stringstream source, expected;
    source << source_file.rdbuf();
    expected << expected_file.rdbuf();
    SCOPED_TRACE(entry.path().filename().string());
    Outcome normal = run_mode(source.str(), 0, true);
    Outcome incremental = run_mode(source.str(), 1, true);
    EXPECT_EQ(incremental.output, normal.output);
    EXPECT_EQ(incremental.stats.verify_violations, 0u);
    if (normal.output == expected.str()) ++checked;
  }
  EXPECT_GE(checked, 5);
}

}  // namespace
}  // namespace miso::mcode
