// Hidden Markov models and their minimal JSON form (hmm.hpp).
//
// One checker serves both Hmm::validate (Error(InvalidArgument) naming the
// field) and parse_hmm_json (Error(Format) naming the field and its
// line:column): it reports a path ("hmm", "transition", 1) and a message; the
// reader turns the path into a line:column with core::JsonText, which scans
// the text only for an error, so a successful parse pays nothing for positions.
#include "miso/bridge/hmm.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/json_text.hpp"
#include "miso/profiler/span.hpp"

namespace miso::bridge {

namespace {

using ojson = core::OrderedJson;

constexpr double kSumTolerance = 1e-9;
constexpr std::string_view kUnobserved = "?";

// The shortest text that reads back as exactly `x`.
std::string number_text(double x) {
  std::array<char, 32> buf{};  // the longest shortest form of a double is 24 characters
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), x);
  if (ec != std::errc()) throw Error(Error::Kind::Internal, "hmm: to_chars failed");
  return std::string(buf.data(), end);
}

// ------------------------------------------------------------------ paths

using Path = core::JsonPath;

core::JsonStep key(std::string k) { return core::json_key(std::move(k)); }
core::JsonStep item(std::size_t i) { return core::json_item(i); }

Path field(const char* name) { return {key("hmm"), key(name)}; }
Path field(const char* name, std::size_t i) { return {key("hmm"), key(name), item(i)}; }
Path field(const char* name, std::size_t i, std::size_t j) { return {key("hmm"), key(name), item(i), item(j)}; }

std::string path_text(const Path& path) { return core::json_path_text(path); }

// Where a check failed, and why.
struct Issue {
  Path path;
  std::string message;
};

std::string quoted_name(const std::string& name) { return "'" + name + "'"; }

// --------------------------------------------------------------- the checker

// The first problem with the names: lists empty, a name empty, repeated, or
// "?" as a symbol (an issue with an empty path when there is none).
Issue names_issue(const Hmm& hmm) {
  if (hmm.states.empty()) return {field("states"), "there must be at least one state"};
  if (hmm.symbols.empty()) return {field("symbols"), "there must be at least one symbol"};
  // Likelihood rows are 32-bit indices (chain.hpp), "?" taking index O.
  if (hmm.symbols.size() >= 0xFFFFFFFFull) return {field("symbols"), "too many symbols"};
  for (const char* which : {"states", "symbols"}) {
    const std::vector<std::string>& names = std::string_view(which) == "states" ? hmm.states : hmm.symbols;
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) return {field(which, i), "a name must not be empty"};
      if (names[i] == kUnobserved && std::string_view(which) == "symbols") {
        return {field(which, i), "'?' is reserved for \"nothing observed\""};
      }
      const auto [it, fresh] = seen.emplace(names[i], i);
      if (!fresh) {
        return {field(which, i),
                "duplicate name " + quoted_name(names[i]) + " (also " + path_text(field(which, it->second)) + ")"};
      }
    }
  }
  return {};
}

// The first problem of `hmm` (names, then sizes, then entries and sums, in
// field order), or an issue with an empty path when there is none.
Issue first_issue(const Hmm& hmm) {
  if (Issue is = names_issue(hmm); !is.path.empty()) return is;
  const std::size_t s_count = hmm.states.size(), o_count = hmm.symbols.size();
  if (hmm.initial.size() != s_count) {
    return {field("initial"), "has " + std::to_string(hmm.initial.size()) + " entries, expected " +
                                  std::to_string(s_count) + " (one per state)"};
  }
  if (hmm.transition.size() != s_count * s_count) {
    return {field("transition"), "has " + std::to_string(hmm.transition.size()) + " entries, expected " +
                                     std::to_string(s_count * s_count) + " (" + std::to_string(s_count) + " x " +
                                     std::to_string(s_count) + ")"};
  }
  if (hmm.emission.size() != s_count * o_count) {
    return {field("emission"), "has " + std::to_string(hmm.emission.size()) + " entries, expected " +
                                   std::to_string(s_count * o_count) + " (" + std::to_string(s_count) + " states x " +
                                   std::to_string(o_count) + " symbols)"};
  }

  // One probability row: entries finite and >= 0, sum 1 within the tolerance.
  const auto row_issue = [](const double* row, std::size_t n, const char* name, bool matrix, std::size_t r) -> Issue {
    double sum = 0;
    for (std::size_t c = 0; c < n; ++c) {
      const double p = row[c];
      if (!std::isfinite(p) || p < 0) {  // the path is built only for a failure
        return {matrix ? field(name, r, c) : field(name, c), std::string("a probability must be ") +
                                                                 (std::isfinite(p) ? ">= 0" : "finite") + ", found " +
                                                                 number_text(p)};
      }
      sum += p;
    }
    if (!(std::fabs(sum - 1.0) <= kSumTolerance)) {
      return {matrix ? field(name, r) : field(name),
              std::string(matrix ? "row sums" : "sums") + " to " + number_text(sum) + ", not 1"};
    }
    return {};
  };
  if (Issue is = row_issue(hmm.initial.data(), s_count, "initial", false, 0); !is.path.empty()) return is;
  for (std::size_t r = 0; r < s_count; ++r) {
    if (Issue is = row_issue(hmm.transition.data() + r * s_count, s_count, "transition", true, r); !is.path.empty())
      return is;
  }
  for (std::size_t r = 0; r < s_count; ++r) {
    if (Issue is = row_issue(hmm.emission.data() + r * o_count, o_count, "emission", true, r); !is.path.empty())
      return is;
  }
  return {};
}

// ------------------------------------------------------------------ reading

using core::json_kind_name;

class Reader {
 public:
  Reader(std::string_view text, const std::string& source) : json_(text, source) {}

  Hmm read() {
    const ojson root = json_.parse(core::JsonText::RepeatedKey::WithPath);
    if (!root.is_object()) {
      fail({}, std::string("expected an object {\"hmm\": {...}}, found ") + json_kind_name(root));
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (it.key() != "hmm") {
        fail_key({key(it.key())}, "unknown key \"" + it.key() + "\" (the file must be {\"hmm\": {...}})");
      }
    }
    const auto top = root.find("hmm");
    if (top == root.end()) fail({}, "missing \"hmm\" (the file must be {\"hmm\": {...}})");
    const ojson& h = *top;
    const Path at_hmm{key("hmm")};
    if (!h.is_object()) fail(at_hmm, std::string("hmm: expected an object, found ") + json_kind_name(h));
    static constexpr std::array<const char*, 5> kFields = {"states", "symbols", "initial", "transition", "emission"};
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (std::find_if(kFields.begin(), kFields.end(), [&](const char* f) { return it.key() == f; }) == kFields.end()) {
        fail_key({key("hmm"), key(it.key())},
                 "hmm: unknown key \"" + it.key() + "\" (expected states, symbols, initial, transition, emission)");
      }
    }
    for (const char* f : kFields) {
      if (!h.contains(f)) fail(at_hmm, std::string("hmm: missing \"") + f + "\"");
    }

    Hmm hmm;
    hmm.states = names(h.at("states"), "states");
    hmm.symbols = names(h.at("symbols"), "symbols");
    // Names first: the other fields' expected sizes come from them.
    if (Issue is = names_issue(hmm); !is.path.empty()) fail(is.path, path_text(is.path) + ": " + is.message);
    const std::size_t s_count = hmm.states.size(), o_count = hmm.symbols.size();
    hmm.initial = numbers(h.at("initial"), field("initial"), s_count, "one per state");
    matrix(h.at("transition"), "transition", s_count, s_count, "states", hmm.transition);
    matrix(h.at("emission"), "emission", s_count, o_count, "symbols", hmm.emission);
    if (Issue is = first_issue(hmm); !is.path.empty()) fail(is.path, path_text(is.path) + ": " + is.message);
    return hmm;
  }

 private:
  [[noreturn]] void fail(const Path& path, const std::string& message) const { json_.fail(path, message); }
  [[noreturn]] void fail_key(const Path& path, const std::string& message) const { json_.fail_key(path, message); }

  // A list of names (texts; emptiness and repeats are left to the checker).
  std::vector<std::string> names(const ojson& j, const char* name) const {
    const Path at = field(name);
    if (!j.is_array()) fail(at, path_text(at) + ": expected a list of names, found " + json_kind_name(j));
    std::vector<std::string> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string()) {
        const Path ai = field(name, i);
        fail(ai, path_text(ai) + ": a name must be a text, found " + json_kind_name(j[i]));
      }
      out.push_back(j[i].get<std::string>());
    }
    return out;
  }

  // A list of exactly n numbers (values are left to the checker).
  std::vector<double> numbers(const ojson& j, const Path& at, std::size_t n, const char* per) const {
    if (!j.is_array()) fail(at, path_text(at) + ": expected a list of numbers, found " + json_kind_name(j));
    if (j.size() != n) {
      fail(at, path_text(at) + ": has " + std::to_string(j.size()) + " entries, expected " + std::to_string(n) + " (" +
                   per + ")");
    }
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!j[i].is_number()) {
        Path ai = at;
        ai.push_back(item(i));
        fail(ai, path_text(ai) + ": a probability must be a number, found " + json_kind_name(j[i]));
      }
      out[i] = j[i].get<double>();
    }
    return out;
  }

  // rows x columns, one list per row, appended row-major to `out`.
  void matrix(const ojson& j, const char* name, std::size_t rows, std::size_t columns, const char* column_kind,
              std::vector<double>& out) const {
    const Path at = field(name);
    if (!j.is_array()) fail(at, path_text(at) + ": expected a list of rows, found " + json_kind_name(j));
    if (j.size() != rows) {
      fail(at, path_text(at) + ": has " + std::to_string(j.size()) + " rows, expected " + std::to_string(rows) +
                   " (one per state)");
    }
    out.reserve(rows * columns);
    const std::string per = std::string("one per ") + (column_kind == std::string_view("states") ? "state" : "symbol");
    for (std::size_t r = 0; r < rows; ++r) {
      const std::vector<double> row = numbers(j[r], field(name, r), columns, per.c_str());
      out.insert(out.end(), row.begin(), row.end());
    }
  }

  core::JsonText json_;
};

void append_list(std::string& out, const std::vector<std::string>& names) {
  out += '[';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += ", ";
    out += ojson(names[i]).dump();
  }
  out += ']';
}

void append_row(std::string& out, const double* row, std::size_t n) {
  out += '[';
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ", ";
    out += number_text(row[i]);
  }
  out += ']';
}

void append_matrix(std::string& out, const std::vector<double>& m, std::size_t rows, std::size_t columns) {
  out += "[\n";
  for (std::size_t r = 0; r < rows; ++r) {
    out += "      ";
    append_row(out, m.data() + r * columns, columns);
    out += r + 1 < rows ? ",\n" : "\n";
  }
  out += "    ]";
}

}  // namespace

// ------------------------------------------------------------------ Hmm

void Hmm::validate() const {
  if (Issue is = first_issue(*this); !is.path.empty()) {
    throw Error(Error::Kind::InvalidArgument, path_text(is.path) + ": " + is.message);
  }
}

Chain Hmm::chain() const {
  validate();
  Chain c;
  c.states = states;
  c.initial = initial;
  c.transition = transition;
  return c;
}

Likelihoods Hmm::likelihoods() const {
  validate();
  const std::size_t s_count = states.size(), o_count = symbols.size();
  Likelihoods l;
  l.states = s_count;
  l.rows.assign((o_count + 1) * s_count, 1.0);  // the last row stays all ones: "?"
  for (std::size_t s = 0; s < s_count; ++s) {
    for (std::size_t k = 0; k < o_count; ++k) l.rows[k * s_count + s] = emission[s * o_count + k];
  }
  return l;
}

std::vector<std::uint32_t> Hmm::observations(const std::vector<std::string>& names) const {
  MISO_PROFILE_SCOPE("bridge.hmm_observations");
  std::unordered_map<std::string_view, std::uint32_t> index;
  index.reserve(symbols.size() + 1);
  for (std::size_t k = symbols.size(); k-- > 0;) index[symbols[k]] = static_cast<std::uint32_t>(k);  // first wins
  index[kUnobserved] = static_cast<std::uint32_t>(symbols.size());
  std::vector<std::uint32_t> out;
  out.reserve(names.size());
  for (std::size_t t = 0; t < names.size(); ++t) {
    const auto it = index.find(names[t]);
    if (it == index.end()) {
      // The list of known symbols is cut short for models with many.
      constexpr std::size_t kShown = 20;
      std::string known;
      for (std::size_t k = 0; k < symbols.size() && k < kShown; ++k) known += "'" + symbols[k] + "', ";
      if (symbols.size() > kShown) known += "... (" + std::to_string(symbols.size()) + " in all), ";
      known += "'?' (nothing observed)";
      throw Error(Error::Kind::InvalidArgument, "observation " + std::to_string(t + 1) + ": unknown symbol '" +
                                                    names[t] + "' (known: " + known + ")");
    }
    out.push_back(it->second);
  }
  return out;
}

// ------------------------------------------------------------------ JSON

Hmm parse_hmm_json(std::string_view text, const std::string& source) {
  MISO_PROFILE_SCOPE("bridge.parse_hmm_json");
  return Reader(text, source).read();
}

std::string to_json(const Hmm& hmm) {
  MISO_PROFILE_SCOPE("bridge.hmm_to_json");
  hmm.validate();  // sizes must match before rows can be cut
  std::string out = "{\n  \"hmm\": {\n    \"states\": ";
  try {
    append_list(out, hmm.states);
    out += ",\n    \"symbols\": ";
    append_list(out, hmm.symbols);
  } catch (const nlohmann::json::exception& e) {  // a name that is not UTF-8
    throw Error(Error::Kind::InvalidArgument, std::string("to_json: a state or symbol name is not UTF-8: ") + e.what());
  }
  out += ",\n    \"initial\": ";
  append_row(out, hmm.initial.data(), hmm.initial.size());
  out += ",\n    \"transition\": ";
  append_matrix(out, hmm.transition, hmm.states.size(), hmm.states.size());
  out += ",\n    \"emission\": ";
  append_matrix(out, hmm.emission, hmm.states.size(), hmm.symbols.size());
  out += "\n  }\n}\n";
  return out;
}

Hmm load_hmm(const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("bridge.load_hmm");
  const std::string text = core::read_file(path);
  return parse_hmm_json(text, path.string());
}

std::vector<std::string> split_observations(std::string_view comma_separated) {
  MISO_PROFILE_SCOPE("bridge.split_observations");
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  const auto trim = [&](std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
  };
  std::vector<std::string> out;
  if (trim(comma_separated).empty()) return out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = comma_separated.find(',', begin);
    const std::string_view entry =
        trim(comma_separated.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin));
    if (entry.empty()) {
      throw Error(Error::Kind::InvalidArgument, "observation " + std::to_string(out.size() + 1) + " is empty");
    }
    out.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return out;
}

}  // namespace miso::bridge
