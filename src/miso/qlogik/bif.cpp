// BIF reading and writing (see format.hpp), the helpers both formats share, and
// load_network/save_network.
//
// The reader is a hand-written lexer over the caller's text (tokens are views:
// no copies except for quoted names with escapes) feeding a recursive-descent
// parser in two phases: syntax first (blocks in any order, collected with the
// byte offset of every token), then resolution of names against the declared
// variables. Line and column are computed from an offset only when an error is
// reported, so the hot path never counts lines.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/format.hpp"

namespace miso::qlogik {

namespace detail {

void append_probability(std::string& out, double p) {
  std::array<char, 32> buf{};  // the longest shortest form of a double is 24 characters
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), p);
  if (ec != std::errc()) throw Error(Error::Kind::Internal, "append_probability: to_chars failed");
  out.append(buf.data(), end);
}

std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return {static_cast<int>(line), static_cast<int>(column)};
}

std::string located_at(const std::string& source, std::string_view text, std::size_t offset,
                       const std::string& message) {
  const auto [line, column] = line_column(text, offset);
  return located(source, line, column, message);
}

bool parse_probability(std::string_view word, double& out) {
  if (!word.empty() && word.front() == '+') {
    word.remove_prefix(1);
    if (!word.empty() && word.front() == '-') return false;  // "+-1"
  }
  if (word.empty()) return false;
  const char* last = word.data() + word.size();
  auto [ptr, ec] = std::from_chars(word.data(), last, out);
  return ec == std::errc() && ptr == last;
}

}  // namespace detail

namespace {

// ---------------------------------------------------------------- lexer

enum class Tok : std::uint8_t {
  Word,
  Quoted,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semi,
  Pipe,
  End
};

// Character classes: a word is a run of kWord characters and of '/' (kSlash)
// not starting a comment.
enum : std::uint8_t { kWord, kBlank, kPunct, kSlash };

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> c{};
  for (unsigned char b : std::string_view(" \t\n\r\f\v")) c[b] = kBlank;
  for (unsigned char b : std::string_view("{}()[],;|\"")) c[b] = kPunct;
  c['/'] = kSlash;
  return c;
}
constexpr std::array<std::uint8_t, 256> kClass = make_classes();

std::uint8_t char_class(char c) { return kClass[static_cast<unsigned char>(c)]; }

bool comment_at(std::string_view s, std::size_t i) {
  return s[i] == '/' && i + 1 < s.size() && (s[i + 1] == '/' || s[i + 1] == '*');
}

struct Token {
  Tok kind = Tok::End;
  std::string_view text;  // a word, a quoted string's contents (unescaped) or the punctuation
  std::size_t offset = 0;

  bool is_name() const { return kind == Tok::Word || kind == Tok::Quoted; }
  bool is(std::string_view keyword) const { return kind == Tok::Word && text == keyword; }
};

std::string describe(const Token& t) {
  if (t.kind == Tok::End) return "end of file";
  constexpr std::size_t kMax = 40;
  std::string s(t.text.substr(0, kMax));
  if (t.text.size() > kMax) s += "...";
  return t.kind == Tok::Quoted ? "\"" + s + "\"" : "'" + s + "'";
}

// Index of the first ';' outside "quotes" in s from `from` (npos when none);
// `open` tells whether s ends inside quotes. Used for a property's raw text by
// the reader and, to check it can be read back, by the writer.
std::size_t property_end(std::string_view s, std::size_t from, bool& open) {
  open = false;
  for (std::size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    if (open) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        open = false;
    } else if (c == '"') {
      open = true;
    } else if (c == ';') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && char_class(s.front()) == kBlank) s.remove_prefix(1);
  while (!s.empty() && char_class(s.back()) == kBlank) s.remove_suffix(1);
  return s;
}

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Token next() {
    skip_blanks_and_comments();
    const std::size_t start = pos_;
    if (start >= text_.size()) return Token{Tok::End, {}, text_.size()};
    Tok kind = Tok::Word;
    switch (text_[start]) {
      case '{': kind = Tok::LBrace; break;
      case '}': kind = Tok::RBrace; break;
      case '(': kind = Tok::LParen; break;
      case ')': kind = Tok::RParen; break;
      case '[': kind = Tok::LBracket; break;
      case ']': kind = Tok::RBracket; break;
      case ',': kind = Tok::Comma; break;
      case ';': kind = Tok::Semi; break;
      case '|': kind = Tok::Pipe; break;
      case '"': return quoted();
      default: {
        std::size_t p = start;
        for (; p < text_.size(); ++p) {
          const std::uint8_t k = char_class(text_[p]);
          if (k != kWord && (k != kSlash || comment_at(text_, p))) break;
        }
        pos_ = p;
        return Token{Tok::Word, text_.substr(start, p - start), start};
      }
    }
    ++pos_;
    return Token{kind, text_.substr(start, 1), start};
  }

  // The raw text from here to the next ';' outside quotes, trimmed; consumes the ';'.
  std::string_view raw_to_semicolon() {
    const std::size_t start = pos_;
    bool open = false;
    const std::size_t end = property_end(text_, start, open);
    if (end == std::string_view::npos) fail(start, "expected ';' to end the property, found end of file");
    pos_ = end + 1;
    return trim(text_.substr(start, end - start));
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw Error(Error::Kind::Format, detail::located_at(source_, text_, offset, message));
  }
  [[noreturn]] void expected(const std::string& what, const Token& found) const {
    fail(found.offset, "expected " + what + ", found " + describe(found));
  }
  // "L:C" of an offset, for messages that point at a second place.
  std::string where(std::size_t offset) const {
    const auto [line, column] = detail::line_column(text_, offset);
    return std::to_string(line) + ":" + std::to_string(column);
  }
  const std::string& source() const { return source_; }

 private:
  void skip_blanks_and_comments() {
    const std::size_t n = text_.size();
    while (pos_ < n) {
      const char c = text_[pos_];
      if (char_class(c) == kBlank) {
        ++pos_;
      } else if (comment_at(text_, pos_) && text_[pos_ + 1] == '/') {
        const std::size_t eol = text_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? n : eol + 1;
      } else if (comment_at(text_, pos_)) {
        const std::size_t close = text_.find("*/", pos_ + 2);
        if (close == std::string_view::npos) fail(pos_, "unterminated comment: '/*' has no closing '*/'");
        pos_ = close + 2;
      } else {
        break;
      }
    }
  }

  Token quoted() {
    const std::size_t start = pos_;
    bool escapes = false;
    std::size_t p = start + 1;
    while (p < text_.size() && text_[p] != '"') {
      if (text_[p] == '\\') {
        escapes = true;
        ++p;
      }
      ++p;
    }
    if (p >= text_.size()) fail(start, "unterminated quoted name: '\"' has no closing '\"'");
    pos_ = p + 1;
    std::string_view body = text_.substr(start + 1, p - start - 1);
    if (escapes) {
      std::string& s = unescaped_.emplace_back();
      for (std::size_t i = 0; i < body.size(); ++i) s += body[i] == '\\' ? body[++i] : body[i];
      body = s;
    }
    return Token{Tok::Quoted, body, start};
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::deque<std::string> unescaped_;  // stable storage for quoted names with escapes
};

// ---------------------------------------------------------------- reader

// One line of a probability block, kept as offsets into the reader's flat
// arrays until every variable is known.
struct Entry {
  enum class Kind : std::uint8_t { Row, Default, Table } kind;
  std::size_t offset;        // of '(' or the keyword
  std::size_t states_begin;  // into BifReader::states_ (rows only)
  std::size_t states_count;
  std::size_t values_begin;  // into BifReader::values_
  std::size_t values_count;
};

struct ProbabilityBlock {
  Token child;
  std::vector<Token> parents;
  std::vector<Entry> entries;
};

class BifReader {
 public:
  BifReader(std::string_view text, const std::string& source) : lex_(text, source) {}

  Network read() {
    bool named = false;
    for (Token t = lex_.next(); t.kind != Tok::End; t = lex_.next()) {
      if (t.is("network")) {
        if (named) lex_.fail(t.offset, "a second 'network' block (a file holds one network)");
        named = true;
        network_block();
      } else if (t.is("variable")) {
        variable_block();
      } else if (t.is("probability")) {
        probability_block();
      } else {
        lex_.expected("'network', 'variable' or 'probability'", t);
      }
    }
    std::vector<std::size_t> block_of(net_.size(), kNone);
    for (std::size_t b = 0; b < blocks_.size(); ++b) resolve(blocks_[b], b, block_of);
    for (std::size_t v = 0; v < net_.size(); ++v) {
      if (block_of[v] == kNone) {
        lex_.fail(declared_at_[v],
                  "variable '" + net_.variable(static_cast<VarId>(v)).name + "' has no probability block");
      }
    }
    try {
      net_.validate();
    } catch (const Error& e) {
      throw Error(Error::Kind::Format, lex_.source() + ": " + e.what());
    }
    return std::move(net_);
  }

 private:
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

  Token expect(Tok kind, const char* what) {
    Token t = lex_.next();
    if (t.kind != kind) lex_.expected(what, t);
    return t;
  }
  Token expect_name(const std::string& what) {
    Token t = lex_.next();
    if (!t.is_name()) lex_.expected(what, t);
    return t;
  }

  // network NAME { property ...; }
  void network_block() {
    net_.set_name(std::string(expect_name("the network's name").text));
    expect(Tok::LBrace, "'{'");
    for (Token t = lex_.next(); t.kind != Tok::RBrace; t = lex_.next()) {
      if (!t.is("property")) lex_.expected("'property' or '}'", t);
      net_.properties().emplace_back(lex_.raw_to_semicolon());
    }
  }

  // variable NAME { type discrete [ N ] { s1, s2, ... }; property ...; }
  void variable_block() {
    const Token name = expect_name("a variable name");
    expect(Tok::LBrace, "'{'");
    std::vector<std::string> states;
    std::vector<std::string> properties;
    bool typed = false;
    Token t = lex_.next();
    for (; t.kind != Tok::RBrace; t = lex_.next()) {
      if (t.is("property")) {
        properties.emplace_back(lex_.raw_to_semicolon());
      } else if (t.is("type")) {
        if (typed) lex_.fail(t.offset, "variable '" + std::string(name.text) + "' has a second type declaration");
        typed = true;
        states = type_declaration(name);
      } else {
        lex_.expected("'type', 'property' or '}' in variable '" + std::string(name.text) + "'", t);
      }
    }
    if (!typed) lex_.fail(t.offset, "variable '" + std::string(name.text) + "' has no 'type discrete' declaration");
    try {
      const VarId v = net_.add_variable(std::string(name.text), std::move(states));
      net_.variable(v).properties = std::move(properties);
    } catch (const Error& e) {
      lex_.fail(name.offset, e.what());
    }
    declared_at_.push_back(name.offset);
  }

  // After 'type': discrete [ N ] { s1, s2, ... };
  std::vector<std::string> type_declaration(const Token& name) {
    const Token kind = lex_.next();
    if (!kind.is("discrete")) lex_.expected("'discrete' (the only variable type supported)", kind);
    expect(Tok::LBracket, "'['");
    const Token count = lex_.next();
    std::int64_t n = -1;
    if (count.kind == Tok::Word) {
      const char* last = count.text.data() + count.text.size();
      auto [ptr, ec] = std::from_chars(count.text.data(), last, n);
      if (ec != std::errc() || ptr != last) n = -1;
    }
    if (n < 1) lex_.expected("the number of states (a positive integer)", count);
    expect(Tok::RBracket, "']'");
    expect(Tok::LBrace, "'{'");
    std::vector<std::string> states;
    while (true) {
      states.emplace_back(expect_name("a state name").text);
      const Token sep = lex_.next();
      if (sep.kind == Tok::RBrace) break;
      if (sep.kind != Tok::Comma) lex_.expected("',' or '}' after a state name", sep);
    }
    expect(Tok::Semi, "';' after the state list");
    if (static_cast<std::int64_t>(states.size()) != n) {
      lex_.fail(count.offset, "variable '" + std::string(name.text) + "' declares " + std::to_string(n) +
                                  " states but lists " + std::to_string(states.size()));
    }
    return states;
  }

  // probability ( X | P1, P2 ) { (s1, s2) p, ...; table p, ...; default p, ...; property ...; }
  void probability_block() {
    ProbabilityBlock& block = blocks_.emplace_back();
    expect(Tok::LParen, "'('");
    block.child = expect_name("the variable's name");
    Token t = lex_.next();
    if (t.kind == Tok::Pipe) {
      while (true) {
        block.parents.push_back(expect_name("a parent's name"));
        t = lex_.next();
        if (t.kind == Tok::RParen) break;
        if (t.kind != Tok::Comma) lex_.expected("',' or ')' after a parent's name", t);
      }
    } else if (t.kind != Tok::RParen) {
      lex_.expected("'|' or ')' after '" + std::string(block.child.text) + "'", t);
    }
    expect(Tok::LBrace, "'{'");
    for (t = lex_.next(); t.kind != Tok::RBrace; t = lex_.next()) {
      if (t.kind == Tok::LParen) {
        Entry& e = block.entries.emplace_back(Entry{Entry::Kind::Row, t.offset, states_.size(), 0, 0, 0});
        Token s = lex_.next();
        while (s.kind != Tok::RParen) {
          if (!s.is_name()) lex_.expected("a parent state", s);
          states_.push_back(s);
          s = lex_.next();
          if (s.kind == Tok::Comma)
            s = lex_.next();
          else if (s.kind != Tok::RParen)
            lex_.expected("',' or ')' after a parent state", s);
        }
        e.states_count = states_.size() - e.states_begin;
        read_values(e);
      } else if (t.is("table") || t.is("default")) {
        Entry& e = block.entries.emplace_back(
            Entry{t.is("table") ? Entry::Kind::Table : Entry::Kind::Default, t.offset, 0, 0, 0, 0});
        read_values(e);
      } else if (t.is("property")) {
        (void)lex_.raw_to_semicolon();  // a CPT has no properties to keep
      } else {
        lex_.expected("a row '(states) p, ...;', 'table', 'default', 'property' or '}'", t);
      }
    }
  }

  // p (, p)* ;
  void read_values(Entry& e) {
    e.values_begin = values_.size();
    while (true) {
      const Token t = lex_.next();
      double p = 0;
      if (t.kind != Tok::Word || !detail::parse_probability(t.text, p)) lex_.expected("a probability", t);
      values_.push_back(p);
      const Token sep = lex_.next();
      if (sep.kind == Tok::Semi) break;
      if (sep.kind != Tok::Comma) lex_.expected("',' or ';' after a probability", sep);
    }
    e.values_count = values_.size() - e.values_begin;
  }

  VarId lookup(const Token& name, const char* role) {
    const VarId v = net_.find(name.text);
    if (v < 0)
      lex_.fail(name.offset, std::string(role) + " '" + std::string(name.text) + "' is not a declared variable");
    return v;
  }

  // The index of `state` among v's states, trying `guess` (the previous row's
  // state) and the one after it first: files list rows in one order or another,
  // so this almost always avoids the scan.
  int state_of(VarId v, const Token& state, int guess) const {
    const auto& states = net_.variable(v).states;
    const int n = static_cast<int>(states.size());
    for (int k : {guess, guess + 1 < n ? guess + 1 : 0}) {
      if (states[static_cast<std::size_t>(k)] == state.text) return k;
    }
    for (int k = 0; k < n; ++k) {
      if (states[static_cast<std::size_t>(k)] == state.text) return k;
    }
    std::string known;
    for (const std::string& s : states) known.append(known.empty() ? "" : ", ").append(s);
    lex_.fail(state.offset, "variable '" + net_.variable(v).name + "' has no state '" + std::string(state.text) +
                                "' (states: " + known + ")");
  }

  std::string row_text(const Entry& e) const {
    std::string s = "(";
    for (std::size_t i = 0; i < e.states_count; ++i) {
      s.append(i == 0 ? "" : ", ").append(states_[e.states_begin + i].text);
    }
    return s + ")";
  }

  void resolve(const ProbabilityBlock& block, std::size_t b, std::vector<std::size_t>& block_of) {
    const VarId child = lookup(block.child, "probability block for");
    const std::string& cname = net_.variable(child).name;
    std::size_t& owner = block_of[static_cast<std::size_t>(child)];
    if (owner != kNone) {
      lex_.fail(block.child.offset, "second probability block for '" + cname + "' (the first is at " +
                                        lex_.where(blocks_[owner].child.offset) + ")");
    }
    owner = b;
    std::vector<VarId> parents;
    std::int64_t rows = 1;
    for (const Token& p : block.parents) {
      parents.push_back(lookup(p, "parent"));
      rows *= net_.cardinality(parents.back());
      if (rows * net_.cardinality(child) > detail::kMaxTableEntries) {
        lex_.fail(p.offset, "the table of '" + cname + "' would have more than " +
                                std::to_string(detail::kMaxTableEntries) + " entries");
      }
    }
    const auto card = static_cast<std::size_t>(net_.cardinality(child));
    const auto nrows = static_cast<std::size_t>(rows);
    std::vector<double> table(nrows * card, std::numeric_limits<double>::quiet_NaN());
    // Setting the shape first checks the parents (repeated, or the child itself).
    try {
      net_.set_cpt(child, parents, table);
    } catch (const Error& e) {
      lex_.fail(block.child.offset, e.what());
    }

    std::vector<std::size_t> row_at(nrows, kNone);  // the offset of the entry that gave each row
    std::vector<int> guess(parents.size(), 0);
    const Entry* fallback = nullptr;
    bool has_table = false;
    for (const Entry& e : block.entries) {
      if (has_table) {
        lex_.fail(e.offset, "'table' gives every row of '" + cname + "'; nothing may follow it");
      }
      const double* values = values_.data() + e.values_begin;
      switch (e.kind) {
        case Entry::Kind::Table: {
          if (&e != &block.entries.front()) {
            lex_.fail(e.offset, "'table' gives every row of '" + cname + "'; it cannot follow rows or 'default'");
          }
          if (e.values_count != table.size()) {
            lex_.fail(e.offset, "'table' of '" + cname + "' has " + std::to_string(e.values_count) +
                                    " probabilities, expected " + std::to_string(table.size()) + " (" +
                                    std::to_string(nrows) + " parent configurations x " + std::to_string(card) +
                                    " states)");
          }
          // Listed with the child's state slowest (pgmpy's BIFWriter).
          for (std::size_t s = 0; s < card; ++s) {
            for (std::size_t r = 0; r < nrows; ++r) table[r * card + s] = values[s * nrows + r];
          }
          std::fill(row_at.begin(), row_at.end(), e.offset);
          has_table = true;
          break;
        }
        case Entry::Kind::Default:
          if (fallback != nullptr) {
            lex_.fail(e.offset, "a second 'default' row for '" + cname + "' (the first is at " +
                                    lex_.where(fallback->offset) + ")");
          }
          check_count(e, card, cname);
          fallback = &e;
          break;
        case Entry::Kind::Row: {
          if (e.states_count != parents.size()) {
            lex_.fail(e.offset, "row " + row_text(e) + " of '" + cname + "' gives " + std::to_string(e.states_count) +
                                    " parent states, expected " + std::to_string(parents.size()));
          }
          std::size_t r = 0;
          for (std::size_t i = 0; i < parents.size(); ++i) {
            const VarId p = parents[i];
            guess[i] = state_of(p, states_[e.states_begin + i], guess[i]);
            r = r * static_cast<std::size_t>(net_.cardinality(p)) + static_cast<std::size_t>(guess[i]);
          }
          if (row_at[r] != kNone) {
            lex_.fail(e.offset, "row " + row_text(e) + " of '" + cname + "' is given twice (first at " +
                                    lex_.where(row_at[r]) + ")");
          }
          check_count(e, card, cname);
          row_at[r] = e.offset;
          std::copy(values, values + card, table.begin() + static_cast<std::ptrdiff_t>(r * card));
          break;
        }
      }
    }
    for (std::size_t r = 0; r < nrows; ++r) {
      if (row_at[r] != kNone) continue;
      if (fallback == nullptr) {
        lex_.fail(block.child.offset, "probability block of '" + cname + "' has no row for (" +
                                          net_.describe_row(child, static_cast<std::int64_t>(r)) + ")");
      }
      const double* values = values_.data() + fallback->values_begin;
      std::copy(values, values + card, table.begin() + static_cast<std::ptrdiff_t>(r * card));
    }
    net_.set_cpt(child, std::move(parents), std::move(table));
  }

  void check_count(const Entry& e, std::size_t card, const std::string& cname) const {
    if (e.values_count == card) return;
    const std::string what = e.kind == Entry::Kind::Row ? "row " + row_text(e) : "'default'";
    lex_.fail(e.offset, what + " of '" + cname + "' has " + std::to_string(e.values_count) +
                            " probabilities, expected " + std::to_string(card) + " (one per state)");
  }

  Lexer lex_;
  Network net_;
  std::vector<std::size_t> declared_at_;  // per variable: offset of its name
  std::vector<ProbabilityBlock> blocks_;
  std::vector<Token> states_;   // parent states of every row, flat
  std::vector<double> values_;  // probabilities of every entry, flat
};

// ---------------------------------------------------------------- writer

// A name that the lexer reads back as one word; anything else is quoted.
bool plain_word(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::uint8_t k = char_class(s[i]);
    if (k != kWord && (k != kSlash || comment_at(s, i))) return false;
  }
  return true;
}

void append_name(std::string& out, std::string_view name) {
  if (plain_word(name)) {
    out += name;
    return;
  }
  out += '"';
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void append_property(std::string& out, std::string_view owner, const std::string& property) {
  bool open = false;
  if (property_end(property, 0, open) != std::string_view::npos || open || trim(property) != property) {
    throw Error(Error::Kind::InvalidArgument,
                "write_bif: property '" + property + "' of " + std::string(owner) +
                    " cannot be written in BIF (it has a ';' outside quotes, an unclosed quote or surrounding blanks)");
  }
  out.append("  property ").append(property).append(";\n");
}

void append_values(std::string& out, const double* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    detail::append_probability(out, p[i]);
  }
  out += ";\n";
}

}  // namespace

Network read_bif(std::string_view text, const std::string& source) {
  MISO_PROFILE_SCOPE("qlogik.read_bif");
  return BifReader(text, source).read();
}

std::string write_bif(const Network& net) {
  MISO_PROFILE_SCOPE("qlogik.write_bif");
  std::string out;
  out += "network ";
  append_name(out, net.name());
  out += " {\n";
  for (const std::string& p : net.properties()) append_property(out, "the network", p);
  out += "}\n";
  for (std::size_t v = 0; v < net.size(); ++v) {
    const Variable& var = net.variable(static_cast<VarId>(v));
    out += "variable ";
    append_name(out, var.name);
    out += " {\n  type discrete [ " + std::to_string(var.states.size()) + " ] { ";
    for (std::size_t s = 0; s < var.states.size(); ++s) {
      if (s > 0) out += ", ";
      append_name(out, var.states[s]);
    }
    out += " };\n";
    for (const std::string& p : var.properties) append_property(out, "variable '" + var.name + "'", p);
    out += "}\n";
  }
  for (std::size_t v = 0; v < net.size(); ++v) {
    const auto id = static_cast<VarId>(v);
    const Cpt& cpt = net.cpt(id);
    const std::size_t card = net.variable(id).states.size();
    out += "probability ( ";
    append_name(out, net.variable(id).name);
    for (std::size_t i = 0; i < cpt.parents.size(); ++i) {
      out += i == 0 ? " | " : ", ";
      append_name(out, net.variable(cpt.parents[i]).name);
    }
    out += " ) {\n";
    if (cpt.parents.empty()) {
      out += "  table ";
      append_values(out, cpt.table.data(), card);
    } else {
      // Rows in table order: an odometer over the parents' states, the last fastest.
      std::vector<std::size_t> idx(cpt.parents.size(), 0);
      for (std::size_t r = 0; r * card < cpt.table.size(); ++r) {
        out += "  (";
        for (std::size_t i = 0; i < idx.size(); ++i) {
          if (i > 0) out += ", ";
          append_name(out, net.variable(cpt.parents[i]).states[idx[i]]);
        }
        out += ") ";
        append_values(out, cpt.table.data() + r * card, card);
        for (std::size_t i = idx.size(); i-- > 0;) {
          if (++idx[i] < net.variable(cpt.parents[i]).states.size()) break;
          idx[i] = 0;
        }
      }
    }
    out += "}\n";
  }
  return out;
}

// ---------------------------------------------------------------- files

namespace {

enum class Format { Bif, XmlBif, Unknown };

Format format_of_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".bif") return Format::Bif;
  if (ext == ".xml" || ext == ".xmlbif") return Format::XmlBif;
  return Format::Unknown;
}

bool looks_like_xml(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  text = trim(text);
  return text.substr(0, 5) == "<?xml" || text.substr(0, 4) == "<BIF";
}

}  // namespace

Network load_network(const std::string& path) {
  const std::string text = core::read_file(path);
  Format format = format_of_extension(path);
  if (format == Format::Unknown) format = looks_like_xml(text) ? Format::XmlBif : Format::Bif;
  return format == Format::XmlBif ? read_xmlbif(text, path) : read_bif(text, path);
}

void save_network(const Network& net, const std::string& path) {
  const Format format = format_of_extension(path);
  if (format == Format::Unknown) {
    throw Error(Error::Kind::InvalidArgument,
                "save_network: cannot tell the format of '" + path + "' (use a .bif, .xml or .xmlbif extension)");
  }
  core::write_file_atomic(path, format == Format::Bif ? write_bif(net) : write_xmlbif(net));
}

}  // namespace miso::qlogik
