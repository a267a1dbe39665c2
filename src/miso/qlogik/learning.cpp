// Parameter learning from CSV by streaming counts (see learning.hpp).
#include "miso/qlogik/learning.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <istream>
#include <string_view>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

[[noreturn]] void format_error(const std::string& source, std::int64_t line, std::int64_t column,
                               const std::string& message) {
  auto clamp = [](std::int64_t n) { return static_cast<int>(std::min<std::int64_t>(n, INT_MAX)); };
  throw Error(Error::Kind::Format, located(source, clamp(line), clamp(column), message));
}

bool blank(char c) noexcept { return c == ' ' || c == '\t'; }

struct Cell {
  std::string_view text;
  std::int64_t line = 0, column = 0;  // where the cell starts, from 1
};

// Complete CSV records from a stream read in blocks. A record is handed out
// only once all of it is in the buffer, so it is parsed exactly once, and
// quoted cells are unescaped in place.
class CsvReader {
 public:
  CsvReader(std::istream& in, const std::string& source) : in_(in), source_(source), buffer_(kCsvBlock) {}

  // The cells of the next record that is not blank, valid until the next call;
  // false at the end of the input.
  bool next(std::vector<Cell>& cells) {
    while (true) {
      if (pos_ == end_ && !fill()) return false;
      const std::size_t stop = record_end();  // the record's '\n', or end_ at the end of the input
      std::size_t end = stop;
      if (end > pos_ && buffer_[end - 1] == '\r') --end;
      char* first = buffer_.data() + pos_;
      char* last = buffer_.data() + end;
      pos_ = stop < end_ ? stop + 1 : end_;
      const std::int64_t line = line_;
      line_ = parse(first, last, line, cells) + 1;
      // Blank: one empty cell that was not a quoted "" (rare: the scan runs only then).
      const bool maybe_blank = cells.size() == 1 && cells[0].text.empty();
      if (!maybe_blank || std::any_of(first, last, [](char c) { return !blank(c); })) return true;
    }
  }

  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  // Reads more input after the unparsed bytes [pos_, end_), which move to the
  // front; grows the buffer when they fill it. False at the end of the input.
  bool fill() {
    if (eof_) return false;
    if (pos_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buffer_.size()) buffer_.resize(2 * buffer_.size());
    in_.read(buffer_.data() + end_, static_cast<std::streamsize>(buffer_.size() - end_));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (in_.bad())
      throw Error(Error::Kind::Io, source_ + ": reading failed after " + std::to_string(bytes_) + " bytes");
    if (got == 0) {
      eof_ = true;
      return false;
    }
    end_ += got;
    bytes_ += got;
    return true;
  }

  // The offset of the '\n' ending the record at pos_ (line breaks inside quotes
  // do not count), reading more input as needed; end_ when the input ends first.
  std::size_t record_end() {
    std::size_t scanned = 0;  // bytes after pos_ known to hold no record end
    bool quoted = false;      // inside quotes at pos_ + scanned
    while (true) {
      const char* base = buffer_.data();
      const char* from = base + pos_ + scanned;
      const char* limit = base + end_;
      const auto* nl = static_cast<const char*>(std::memchr(from, '\n', static_cast<std::size_t>(limit - from)));
      const char* stop = nl != nullptr ? nl : limit;
      for (const char* q = from; q < stop; ++q) {
        q = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(stop - q)));
        if (q == nullptr) break;
        quoted = !quoted;
      }
      if (nl != nullptr && !quoted) return static_cast<std::size_t>(nl - base);
      scanned = static_cast<std::size_t>(stop - base) - pos_ + (nl != nullptr ? 1 : 0);
      if (nl == nullptr && !fill()) return end_;
    }
  }

  // Splits [p, end) into cells; returns the line the record ends on.
  std::int64_t parse(char* p, char* end, std::int64_t line, std::vector<Cell>& cells) {
    cells.clear();
    const char* line_start = p;
    while (true) {
      while (p < end && blank(*p)) ++p;
      Cell cell{{}, line, p - line_start + 1};
      if (p < end && *p == '"') {
        char* out = ++p;  // unescaping in place: the cell only shrinks
        const char* start = out;
        while (true) {
          if (p == end) format_error(source_, cell.line, cell.column, "quoted cell is not closed");
          if (*p == '"') {
            if (p + 1 < end && p[1] == '"') {
              *out++ = '"';
              p += 2;
              continue;
            }
            ++p;
            break;
          }
          if (*p == '\n') {
            ++line;
            line_start = p + 1;
          }
          *out++ = *p++;
        }
        cell.text = std::string_view(start, static_cast<std::size_t>(out - start));
        while (p < end && blank(*p)) ++p;
        if (p < end && *p != ',') {
          format_error(source_, line, p - line_start + 1, "expected ',' or the end of the line after a quoted cell");
        }
      } else {
        char* stop = std::find(p, end, ',');
        const char* trimmed = stop;
        while (trimmed > p && blank(trimmed[-1])) --trimmed;
        cell.text = std::string_view(p, static_cast<std::size_t>(trimmed - p));
        p = stop;
      }
      cells.push_back(cell);
      if (p == end) return line;
      ++p;  // the comma
    }
  }

  std::istream& in_;
  const std::string& source_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0;  // unparsed bytes
  bool eof_ = false;
  std::int64_t line_ = 1;  // the line at pos_
  std::uint64_t bytes_ = 0;
};

// State name -> index for one column: open addressing, at most half full.
// A name is keyed by its length and a 64-bit word that holds all of its bytes
// when it has at most 8 (two overlapping loads, as fast hashes do) and its
// first 8 otherwise, so typical state names cost a few loads, one multiply and
// one compare, with no byte loop, no call and no allocation; longer names
// compare their remaining bytes too.
class StateTable {
 public:
  explicit StateTable(const std::vector<std::string>& states) {
    std::size_t size = 4;
    while (size < 2 * states.size()) size *= 2;
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    for (std::size_t s = 0; s < states.size(); ++s) {
      const std::uint64_t word = key(states[s]);
      std::size_t i = slot_of(word, states[s].size());
      while (slots_[i].index >= 0) i = (i + 1) & mask_;
      slots_[i] = Slot{word, states[s], static_cast<int>(s)};
    }
  }

  // The index of `name`, or -1.
  int find(std::string_view name) const noexcept {
    const std::uint64_t word = key(name);
    for (std::size_t i = slot_of(word, name.size());; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.index < 0) return -1;
      if (slot.word == word && slot.name.size() == name.size() &&
          (name.size() <= 8 || std::memcmp(slot.name.data() + 8, name.data() + 8, name.size() - 8) == 0)) {
        return slot.index;
      }
    }
  }

 private:
  struct Slot {
    std::uint64_t word = 0;
    std::string_view name;  // the structure's state name
    int index = -1;
  };

  static std::uint64_t load(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);  // n is a constant at every call: one load
    return v;
  }
  // All bytes of a name of up to 8 bytes (given its length), else its first 8.
  static std::uint64_t key(std::string_view s) noexcept {
    const char* p = s.data();
    const std::size_t n = s.size();
    if (n >= 8) return load(p, 8);
    if (n >= 4) return load(p, 4) | load(p + n - 4, 4) << 32;
    if (n > 0) {
      return static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) |
             static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
             static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
    }
    return 0;
  }
  std::size_t slot_of(std::uint64_t word, std::size_t size) const noexcept {
    const std::uint64_t h = (word ^ (size * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return static_cast<std::size_t>(h >> 32) & mask_;
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& s : names) out.append(out.empty() ? "" : ", ").append(s);
  return out;
}

}  // namespace

Network learn_parameters(const Network& structure, std::istream& csv, const LearningOptions& options,
                         LearningStats* stats, const std::string& source) {
  MISO_PROFILE_SCOPE("qlogik.learn_parameters");
  const auto start = std::chrono::steady_clock::now();
  if (!std::isfinite(options.pseudo_count) || options.pseudo_count < 0) {
    fail("learn_parameters: pseudo_count must be a finite non-negative number");
  }
  if (options.prior == Prior::BDeu &&
      !(std::isfinite(options.equivalent_sample_size) && options.equivalent_sample_size > 0)) {
    fail("learn_parameters: equivalent_sample_size must be a finite positive number");
  }
  (void)structure.topological_order();  // rejects a cycle
  const std::size_t n = structure.size();

  CsvReader reader(csv, source);
  std::vector<Cell> cells;
  if (!reader.next(cells)) format_error(source, 0, 0, "empty input: expected a header row naming the variables");
  // The header: which variable each column holds.
  const std::int64_t header_line = cells.front().line;
  const std::size_t columns = cells.size();
  std::vector<VarId> column_var(columns);
  std::vector<std::size_t> var_column(n, columns);
  for (std::size_t c = 0; c < columns; ++c) {
    const VarId v = structure.find(cells[c].text);
    if (v < 0) {
      format_error(source, cells[c].line, cells[c].column,
                   "unknown column '" + std::string(cells[c].text) + "': network '" + structure.name() +
                       "' has no such variable");
    }
    if (var_column[static_cast<std::size_t>(v)] < columns) {
      format_error(source, cells[c].line, cells[c].column,
                   "column '" + std::string(cells[c].text) + "' appears twice (first as column " +
                       std::to_string(var_column[static_cast<std::size_t>(v)] + 1) + ")");
    }
    column_var[c] = v;
    var_column[static_cast<std::size_t>(v)] = c;
  }
  for (std::size_t v = 0; v < n; ++v) {
    if (var_column[v] == columns) {
      format_error(source, header_line, 0,
                   "the header has no column for variable '" + structure.variable(static_cast<VarId>(v)).name + "'");
    }
  }
  // State names -> indices per column (views of the structure's names).
  std::vector<StateTable> state_of;
  state_of.reserve(columns);
  for (std::size_t c = 0; c < columns; ++c) state_of.emplace_back(structure.variable(column_var[c]).states);
  // Counts in CPT layout; entry of v = offset[v] + sum over the family of x[u] * stride.
  std::vector<std::size_t> offset(n + 1, 0), family_begin(n + 1, 0);
  std::vector<std::pair<VarId, std::size_t>> family;
  for (std::size_t v = 0; v < n; ++v) {
    const auto var = static_cast<VarId>(v);
    offset[v + 1] = offset[v] + static_cast<std::size_t>(structure.rows(var) * structure.cardinality(var));
    std::size_t stride = 1;
    family.emplace_back(var, stride);
    stride *= static_cast<std::size_t>(structure.cardinality(var));
    const auto& parents = structure.parents(var);
    for (std::size_t i = parents.size(); i-- > 0;) {
      family.emplace_back(parents[i], stride);
      stride *= static_cast<std::size_t>(structure.cardinality(parents[i]));
    }
    family_begin[v + 1] = family.size();
  }
  std::vector<std::uint64_t> counts(offset[n], 0);

  std::vector<int> x(n, 0);
  std::uint64_t rows = 0;
  while (reader.next(cells)) {
    if (cells.size() != columns) {
      const Cell& at = cells.size() > columns ? cells[columns] : cells.back();
      std::string message = "the row has " + std::to_string(cells.size()) + (cells.size() == 1 ? " cell" : " cells") +
                            ", the header " + std::to_string(columns);
      if (cells.size() < columns) {
        message += " (no cell for '" + structure.variable(column_var[cells.size()]).name + "')";
      }
      format_error(source, at.line, at.column, message);
    }
    for (std::size_t c = 0; c < columns; ++c) {
      const int state = state_of[c].find(cells[c].text);
      if (state < 0) {
        const Variable& var = structure.variable(column_var[c]);
        format_error(source, cells[c].line, cells[c].column,
                     "unknown state '" + std::string(cells[c].text) + "' of variable '" + var.name +
                         "' (states: " + joined(var.states) + ")");
      }
      x[static_cast<std::size_t>(column_var[c])] = state;
    }
    for (std::size_t v = 0; v < n; ++v) {
      std::size_t at = offset[v];
      for (std::size_t i = family_begin[v]; i < family_begin[v + 1]; ++i) {
        at += static_cast<std::size_t>(x[static_cast<std::size_t>(family[i].first)]) * family[i].second;
      }
      ++counts[at];
    }
    ++rows;
  }

  Network learned = structure;
  for (std::size_t v = 0; v < n; ++v) {
    const auto var = static_cast<VarId>(v);
    const std::int64_t card = structure.cardinality(var), q = structure.rows(var);
    double alpha = 0;  // pseudo-count of every cell
    switch (options.prior) {
      case Prior::MaximumLikelihood: alpha = 0; break;
      case Prior::Dirichlet: alpha = options.pseudo_count; break;
      case Prior::BDeu: alpha = options.equivalent_sample_size / static_cast<double>(q * card); break;
    }
    std::vector<double> table(static_cast<std::size_t>(q * card));
    for (std::int64_t r = 0; r < q; ++r) {
      const std::uint64_t* row = &counts[offset[v] + static_cast<std::size_t>(r * card)];
      std::uint64_t total = 0;
      for (std::int64_t s = 0; s < card; ++s) total += row[s];
      const double denominator = static_cast<double>(total) + static_cast<double>(card) * alpha;
      for (std::int64_t s = 0; s < card; ++s) {
        table[static_cast<std::size_t>(r * card + s)] =
            denominator > 0 ? (static_cast<double>(row[s]) + alpha) / denominator : 1.0 / static_cast<double>(card);
      }
    }
    learned.set_cpt(var, structure.parents(var), std::move(table));
  }
  if (stats != nullptr) {
    stats->rows = rows;
    stats->bytes = reader.bytes();
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return learned;
}

Network learn_parameters_file(const Network& structure, const std::string& path, const LearningOptions& options,
                              LearningStats* stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Error::Kind::Io, "cannot open '" + path + "': " + system_error_text(errno));
  return learn_parameters(structure, in, options, stats, path);
}

}  // namespace miso::qlogik
