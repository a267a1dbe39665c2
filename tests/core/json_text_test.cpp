#include "miso/core/json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "miso/core/error.hpp"

namespace miso::core {
namespace {

// Texts mark one place with a backtick: the text without it, and the place's offset.
std::string unmarked(std::string_view marked) {
  std::string out(marked);
  out.erase(out.find('`'), 1);
  return out;
}
std::size_t mark(std::string_view marked) { return marked.find('`'); }

// The offset json_offset finds, checked against the marked one.
void expect_at(std::string_view marked, const JsonPath& path, bool at_key = false, int occurrence = 1) {
  const std::string text = unmarked(marked);
  EXPECT_EQ(json_offset(text, path, at_key, occurrence), mark(marked))
      << "text: " << text << "\npath: " << json_path_text(path) << (at_key ? " (key)" : "");
}

// The message of the Error(Format) parse() throws.
std::string parse_error_of(std::string_view text, JsonText::RepeatedKey style = JsonText::RepeatedKey::Plain) {
  try {
    (void)JsonText(text, "t.json").parse(style);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

TEST(JsonText, PathText) {
  EXPECT_EQ(json_path_text({}), "");
  EXPECT_EQ(json_path_text({json_key("hmm"), json_key("transition"), json_item(1), json_item(0)}),
            "hmm.transition[1][0]");
  EXPECT_EQ(json_path_text({json_item(2), json_key("a")}), "[2].a");
}

TEST(JsonText, TextPositionCountsLinesAndColumns) {
  const std::string_view text = "ab\ncd\n\nefg";
  EXPECT_EQ(text_position(text, 0).line, 1);
  EXPECT_EQ(text_position(text, 0).column, 1);
  EXPECT_EQ(text_position(text, 2).line, 1);  // the newline itself ends line 1
  EXPECT_EQ(text_position(text, 2).column, 3);
  EXPECT_EQ(text_position(text, 3).line, 2);
  EXPECT_EQ(text_position(text, 3).column, 1);
  EXPECT_EQ(text_position(text, 6).line, 3);  // an empty line
  EXPECT_EQ(text_position(text, 6).column, 1);
  EXPECT_EQ(text_position(text, 9).line, 4);
  EXPECT_EQ(text_position(text, 9).column, 3);
  const auto [line, column] = text_position(text, 1000);  // past the end: the end
  EXPECT_EQ(line, 4);
  EXPECT_EQ(column, 4);
  EXPECT_EQ(text_position("", 0).line, 1);
  EXPECT_EQ(text_position("", 0).column, 1);
}

TEST(JsonText, ErrorPositionIsTheLastByteRead) {
  EXPECT_EQ(json_error_position("ab\ncd", 4).line, 2);  // byte 4 is 'c'
  EXPECT_EQ(json_error_position("ab\ncd", 4).column, 1);
  EXPECT_EQ(json_error_position("ab\ncd", 0).column, 1);  // nothing read
  EXPECT_EQ(json_error_position("ab", 10).column, 3);     // past the end
}

TEST(JsonText, ErrorTextDropsIdAndPosition) {
  EXPECT_EQ(json_error_text("[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while "
                            "parsing value - unexpected end of input"),
            "syntax error while parsing value - unexpected end of input");
  EXPECT_EQ(json_error_text("[json.exception.out_of_range.406] number overflow parsing '1e400'"),
            "number overflow parsing '1e400'");
  EXPECT_EQ(json_error_text("something else: entirely"), "something else: entirely");
}

TEST(JsonText, LocatesValuesInNestedObjectsAndArrays) {
  expect_at(R"(`{"a": 1})", {});
  expect_at(R"({"a": `1, "b": 2})", {json_key("a")});
  expect_at(R"({"a": 1, "b": `2})", {json_key("b")});
  expect_at(R"({"a": 1, "b": {"c": [10, {"d": `"x"}, [true, null]], "e": -2.5e3}})",
            {json_key("b"), json_key("c"), json_item(1), json_key("d")});
  expect_at(R"({"a": 1, "b": {"c": [10, {"d": "x"}, [true, `null]], "e": -2.5e3}})",
            {json_key("b"), json_key("c"), json_item(2), json_item(1)});
  expect_at(R"({"a": 1, "b": {"c": [10, {"d": "x"}, [true, null]], "e": `-2.5e3}})", {json_key("b"), json_key("e")});
  expect_at(R"([1, `[2, 3]])", {json_item(1)});
  expect_at(R"([1, [2, `3]])", {json_item(1), json_item(1)});
  expect_at("{\n  \"a\":\n\t`[ ]\r\n}", {json_key("a")});  // whitespace of every kind
}

TEST(JsonText, LocatesKeys) {
  expect_at(R"({"a": 1, `"b": 2})", {json_key("b")}, true);
  expect_at(R"({"a": {"x": 0, `"y": [1]}})", {json_key("a"), json_key("y")}, true);
  // Which of two equal keys.
  expect_at(R"({"a": 1, "a": `2})", {json_key("a")}, false, 2);
  expect_at(R"({"a": 1, `"a": 2})", {json_key("a")}, true, 2);
  expect_at(R"({`"a": 1, "a": 2})", {json_key("a")}, true, 1);
}

TEST(JsonText, SkipsStringsWithQuotesAndBrackets) {
  // Escaped quotes, brackets and braces inside skipped strings are not structure.
  expect_at(R"({"s": "say \"}\" ]", "t": `1})", {json_key("t")});
  expect_at(R"({"s": {"k": "{[\"\\"}, "t": `[2]})", {json_key("t")});
  expect_at(R"([" ] , ", "\\", `3])", {json_item(2)});
  // Keys with escapes and non-ASCII text match by their value.
  expect_at(R"({"q\"uote": 1, "\u00e9t\u00e9": `2})", {json_key("été")});
  expect_at(R"({"q\"uote": `1})", {json_key("q\"uote")});
  expect_at("{\"\xc3\xa9t\xc3\xa9\": 1, `\"\xe2\x82\xac\": 2}", {json_key("\xe2\x82\xac")}, true);
  // A column counts bytes: "é" is two.
  const std::string text = "{\"\xc3\xa9\": 1, \"b\": 2}";
  EXPECT_EQ(JsonText(text, "u.json").position({json_key("b")}).column, 16);
}

TEST(JsonText, MissingStepPointsAtTheEnclosingValue) {
  expect_at(R"({"a": `{"b": 1}})", {json_key("a"), json_key("c")});
  expect_at(R"({"a": `[1, 2]})", {json_key("a"), json_item(5)});
  expect_at(R"({"a": `3})", {json_key("a"), json_item(0)});  // not a container
  expect_at(R"({"a": `3})", {json_key("a"), json_key("x")});
}

TEST(JsonText, PositionOfPathAcrossLines) {
  const std::string text = "{\n  \"a\": [\n    1,\n    {\"b\": true}\n  ]\n}";
  const JsonText json(text, "p.json");
  const TextPosition value = json.position({json_key("a"), json_item(1), json_key("b")});
  EXPECT_EQ(value.line, 4);
  EXPECT_EQ(value.column, 11);
  const TextPosition key = json.position({json_key("a"), json_item(1), json_key("b")}, true);
  EXPECT_EQ(key.line, 4);
  EXPECT_EQ(key.column, 6);
}

TEST(JsonText, ParseKeepsKeyOrder) {
  const OrderedJson j = JsonText(R"({"z": 1, "a": [true, {"m": null, "b": "x"}], "k": 2.5})", "o.json").parse();
  ASSERT_TRUE(j.is_object());
  std::string keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys += it.key();
  EXPECT_EQ(keys, "zak");
  EXPECT_EQ(j.at("a").at(1).begin().key(), "m");
  EXPECT_EQ(j.at("a").at(1).at("b"), "x");
  EXPECT_EQ(j.at("k").get<double>(), 2.5);
  EXPECT_TRUE(JsonText("[]", "e.json").parse().empty());
  EXPECT_EQ(JsonText(" 7 ", "n.json").parse().get<int>(), 7);
}

TEST(JsonText, RejectsRepeatedKeysAtTheSecond) {
  EXPECT_EQ(parse_error_of("{\"a\": 1,\n \"a\": 2}"), "t.json:2:2: key \"a\" appears twice in one object");
  EXPECT_EQ(parse_error_of("{\"o\": [0, {\"k\": 1, \"k\": 2}]}", JsonText::RepeatedKey::WithPath),
            "t.json:1:20: o[1].k: key \"k\" appears twice in one object");
  // Equal keys in different objects are fine.
  EXPECT_NO_THROW((void)JsonText(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]})", "t.json").parse());
}

TEST(JsonText, SyntaxErrorsNameTheirLineAndColumn) {
  EXPECT_EQ(parse_error_of(""),
            "t.json:1:1: invalid JSON: syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal");
  const std::string m = parse_error_of("{\n  \"a\": [1 2]\n}");
  EXPECT_EQ(m.rfind("t.json:2:11: invalid JSON: syntax error while parsing array", 0), 0u) << m;
  const std::string trailing = parse_error_of("[1, 2,\n\n]");
  EXPECT_EQ(trailing.rfind("t.json:3:1: invalid JSON: syntax error while parsing value", 0), 0u) << trailing;
  const std::string overflow = parse_error_of("[1e400]");
  EXPECT_EQ(overflow.rfind("t.json:1:6: invalid JSON: number overflow parsing '1e400'", 0), 0u) << overflow;
}

TEST(JsonText, FailPointsAtValuesAndKeys) {
  const std::string text = "{\n  \"a\": 1,\n  \"b\": [true]\n}";
  const JsonText json(text, "f.json");
  const auto message_of = [](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::Format);
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(message_of([&] { json.fail({json_key("b"), json_item(0)}, "bad"); }), "f.json:3:9: bad");
  EXPECT_EQ(message_of([&] { json.fail_key({json_key("b")}, "unknown key"); }), "f.json:3:3: unknown key");
  EXPECT_EQ(message_of([&] { json.fail({}, "root"); }), "f.json:1:1: root");
  EXPECT_EQ(message_of([&] { json.fail_at(text.size(), "at the end"); }), "f.json:4:2: at the end");
}

}  // namespace
}  // namespace miso::core
