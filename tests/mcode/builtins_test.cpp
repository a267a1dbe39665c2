// The global builtins and the methods of strings, lists and maps (builtins.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "miso/mcode/vm.hpp"

namespace miso::mcode {
namespace {

std::string run(std::string_view source) {
  VmOptions options;
  options.engine_modules = false;
  return run_to_string(source, options);
}

std::string error_of(std::string_view source) {
  try {
    run(source);
  } catch (const miso::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Builtins, Numbers) {
  EXPECT_EQ(run("print(abs(-3), abs(2.5), abs(-9223372036854775807), min(3, 1, 2), max([1, 5.5, 2]), min(2, 2.0))"),
            "3 2.5 9223372036854775807 1 5.5 2\n");
  EXPECT_EQ(run("print(sqrt(16), exp(0), log(1), sin(0), cos(0), floor(2.7), floor(-2.5), floor(7))"),
            "4.0 1.0 0.0 0.0 1.0 2 -3 7\n");
  EXPECT_NE(error_of("min()").find("min: needs at least one value"), std::string::npos);
  EXPECT_NE(error_of("max(1, \"a\")").find("max: every value must be a number, got string"), std::string::npos);
  EXPECT_NE(error_of("sqrt(\"x\")").find("sqrt: x must be a number, got string"), std::string::npos);
  EXPECT_NE(error_of("floor(1e300)").find("out of int range"), std::string::npos);
  EXPECT_EQ(run("let a = clock()\nlet b = clock()\nprint(b >= a)"), "true\n");
}

TEST(Builtins, StringMethods) {
  EXPECT_EQ(run("print(\"a,b,,c\".split(\",\"), \"  two  words \".split(), \"x\".split(\",\"), \"\".split(\",\"))"),
            "[\"a\", \"b\", \"\", \"c\"] [\"two\", \"words\"] [\"x\"] [\"\"]\n");
  EXPECT_EQ(run("print(\"ab--cd--\".split(\"--\"))"), "[\"ab\", \"cd\", \"\"]\n");
  EXPECT_EQ(run("print(\" \\tx y\\n\".strip() + \"|\", \"MiXed\".upper(), \"MiXed\".lower())"), "x y| MIXED mixed\n");
  EXPECT_EQ(
      run("let s = \"hello world\"\nprint(s.starts_with(\"he\"), s.ends_with(\"ld\"), s.find(\"o\"), s.find(\"z\"), "
          "s.contains(\"lo w\"), s.len())"),
      "true true 4 -1 true 11\n");
  EXPECT_EQ(
      run("print(\"a.b.c\".replace(\".\", \"::\"), \"aaa\".replace(\"aa\", \"b\"), \", \".join([1, \"x\", 2.5]))"),
      "a::b::c ba 1, x, 2.5\n");
  EXPECT_EQ(run("let s = \"abcdef\"\nprint(s.slice(1, 3), s.slice(-2), s.slice(4, 2) == \"\", s.slice(0, 100))"),
            "bc ef true abcdef\n");
  EXPECT_NE(error_of("\"a\".split(\"\")").find("separator must not be empty"), std::string::npos);
  EXPECT_NE(error_of("\"a\".replace(\"\", \"b\")").find("old must not be empty"), std::string::npos);
  EXPECT_NE(error_of("\"a\".find(1)").find("string.find: text must be a string, got int"), std::string::npos);
  EXPECT_NE(error_of("\"a\".join(1)").find("string.join: items must be a list, got int"), std::string::npos);
}

TEST(Builtins, SplitAgreesWithAReferenceOnRandomStrings) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string s;
    int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) s.push_back("ab,"[rng() % 3]);
    // Reference: pieces between commas, and the count of commas + 1.
    std::string expected = "[";
    std::string piece;
    for (char c : s) {
      if (c == ',') {
        expected += "\"" + piece + "\", ";
        piece.clear();
      } else {
        piece.push_back(c);
      }
    }
    expected += "\"" + piece + "\"]\n";
    EXPECT_EQ(run("print(\"" + s + "\".split(\",\"))"), expected) << s;
  }
}

TEST(Builtins, ListMethods) {
  EXPECT_EQ(run("let xs = [3, 1, 2]\nxs.push(0)\nprint(xs, xs.len(), xs.pop(), xs)"), "[3, 1, 2] 4 0 [3, 1, 2]\n");
  EXPECT_EQ(run("let xs = [1, 2]\nxs.insert(0, \"a\")\nxs.insert(3, \"z\")\nprint(xs, xs.remove_at(1), xs)"),
            "[\"a\", 2, \"z\"] 1 [\"a\", 2, \"z\"]\n");
  EXPECT_EQ(run("let xs = [5, 1.5, 3, -2]\nxs.sort()\nlet ys = [\"b\", \"a\"]\nys.sort()\nprint(xs, ys)"),
            "[-2, 1.5, 3, 5] [\"a\", \"b\"]\n");
  EXPECT_EQ(run("let xs = [1, 2, 3]\nxs.reverse()\nlet c = xs.copy()\nc.push(9)\n"
                "print(xs, c, xs.index(1), xs.index(7), xs.contains(2), xs.slice(1), xs.slice(-1, 10))"),
            "[3, 2, 1] [3, 2, 1, 9] 2 -1 true [2, 1] [1]\n");
  EXPECT_NE(error_of("[].pop()").find("pop() from an empty list"), std::string::npos);
  EXPECT_NE(error_of("[1, \"a\"].sort()").find("all numbers or all strings"), std::string::npos);
  EXPECT_NE(error_of("[1].insert(5, 0)").find("list.insert: index 5 out of range for a list of size 1"),
            std::string::npos);
  EXPECT_NE(error_of("[].remove_at(0)").find("the list is empty"), std::string::npos);
  EXPECT_NE(error_of("[1].push()").find("list.push() expects 1 argument, got 0"), std::string::npos);
}

TEST(Builtins, MapMethods) {
  EXPECT_EQ(run("let m = {\"a\": 1, \"b\": 2}\nprint(m.keys(), m.values(), m.len(), m.contains(\"a\"), m.get(\"z\"), "
                "m.get(\"z\", 0), m.get(\"b\", 0))"),
            "[\"a\", \"b\"] [1, 2] 2 true nil 0 2\n");
  EXPECT_EQ(run("let m = {1: \"x\"}\nprint(m.remove(1), m.remove(1), m)"), "true false {}\n");
  // A map holding a function: m.f(x) calls it (no receiver passed).
  EXPECT_EQ(run("let m = {\"twice\": fn(x) { return 2 * x }}\nprint(m.twice(21))"), "42\n");
  EXPECT_NE(error_of("{}.get()").find("map.get expects 1 or 2 arguments"), std::string::npos);
  EXPECT_NE(error_of("{}.frob()").find("a value of type map has no method 'frob'"), std::string::npos);
}

}  // namespace
}  // namespace miso::mcode
