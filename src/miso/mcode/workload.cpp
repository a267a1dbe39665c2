#include "miso/mcode/workload.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "miso/bridge/chain.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/evaluate.hpp"
#include "miso/mprime/expr.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/print.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/workload.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::mcode {

namespace {

constexpr const char* kName = "mcode.scripts";
constexpr const char* kKind = "csv";  // saved input: the whole CSV (one header, all rows)
constexpr const char* kHeader = "id,region,product,quantity,price,timestamp";
constexpr int kTopProducts = 5;
constexpr int kTopWords = 10;
constexpr const char* kRegions[] = {"north", "south", "east", "west", "central", "coastal", "mountain", "island"};
constexpr int kProducts = 200;
constexpr std::int64_t kParkMillerModulus = 2147483647;  // 2^31 - 1
constexpr std::int64_t kParkMillerMultiplier = 48271;    // products stay below 2^47: inline ints
constexpr const char* kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "po", "qui", "dra"};

// ---------------------------------------------------------------------------------------
// The scripts. Each runs on a fresh Vm whose globals the host defines before the run
// (FILES, WORDS, SEED, ...) and leaves its answer in the global `result`.

// (a) Group-by over the sales CSV, one shard in memory at a time: read_lines holds a
// whole file, so the data set is written as shards (read_lines of a 1 GB file would
// need several GB of heap for its line strings).
constexpr const char* kCsvScript = R"MC(
let result = nil
fn aggregate() {
  let regions = {}
  let products = {}
  let rows = 0
  let total_quantity = 0
  let min_ts = nil
  let max_ts = nil
  for path in FILES {
    let lines = read_lines(path)
    for i in range(1, len(lines)) {      # line 0 is the header
      let line = lines[i]
      if len(line) == 0 { continue }
      let f = line.split(",")
      let region = f[1]
      let quantity = int(f[3])
      let price = float(f[4])
      let ts = int(f[5])
      let revenue = quantity * price
      let r = regions.get(region)
      if r == nil {
        r = {"count": 0, "quantity": 0, "revenue": 0.0, "min_price": price, "max_price": price}
        regions[region] = r
      }
      r.count += 1
      r.quantity += quantity
      r.revenue += revenue
      if price < r.min_price { r.min_price = price }
      if price > r.max_price { r.max_price = price }
      products[f[2]] = products.get(f[2], 0.0) + revenue
      total_quantity += quantity
      if min_ts == nil or ts < min_ts { min_ts = ts }
      if max_ts == nil or ts > max_ts { max_ts = ts }
      rows += 1
    }
  }
  # top-k products by revenue (ties: smaller name first), by repeated selection
  let names = products.keys()
  let taken = {}
  let top = []
  for k in range(0, TOP_K) {
    let best = nil
    for name in names {
      if not taken.contains(name) {
        let v = products[name]
        if best == nil or v > products[best] or (v == products[best] and name < best) { best = name }
      }
    }
    if best == nil { break }
    taken[best] = true
    top.push([best, products[best]])
  }
  result = {"rows": rows, "quantity": total_quantity, "min_ts": min_ts, "max_ts": max_ts,
            "regions": regions, "products": len(products), "top": top}
}
aggregate()
)MC";

// (b) Pure language: integer arithmetic, string building, map updates, floats.
constexpr const char* kWordsScript = R"MC(
let result = nil
fn count_words() {
  let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "po", "qui", "dra"]
  let state = SEED
  let counts = {}
  let chars = 0
  for w in range(0, WORDS) {
    state = (state * 48271) % 2147483647
    let a = state
    state = (state * 48271) % 2147483647
    let index = a % (1 + state % 2000)      # skewed towards small indices
    let word = syllables[index % 12]        # index in base 12, one syllable per digit
    let rest = index // 12
    while rest > 0 {
      word = word + syllables[rest % 12]
      rest = rest // 12
    }
    counts[word] = counts.get(word, 0) + 1
    chars += len(word)
  }
  let entropy = 0.0
  for word in counts {
    let p = counts[word] / WORDS
    entropy -= p * log(p)
  }
  let taken = {}
  let top = []
  for k in range(0, TOP_K) {
    let best = nil
    for word in counts {
      if not taken.contains(word) {
        let c = counts[word]
        if best == nil or c > counts[best] or (c == counts[best] and word < best) { best = word }
      }
    }
    if best == nil { break }
    taken[best] = true
    top.push([best, counts[best]])
  }
  result = {"distinct": len(counts), "chars": chars, "entropy": entropy, "top": top}
}
count_words()
)MC";

// (c) Engine scripts: each drives one engine module; C++ calls the engine directly.
constexpr const char* kTmathScript = R"MC(
let result = nil
fn go() {
  let outs = []
  let total = 0.0
  for i in range(0, ITER) {
    let a = tmath.randn([N, N], SEED + 2 * i)
    let b = tmath.randn([N, N], SEED + 2 * i + 1)
    let s = (a @ b).softmax()
    total += s.sum().item()
    outs.push(s)
  }
  result = {"outs": outs, "total": total}
}
go()
)MC";

constexpr const char* kMprimeScript = R"MC(
let result = nil
fn go() {
  let texts = []
  let total = 0.0
  let at = {"x": 0.7, "y": 1.3}
  for text in EXPRS {
    let d = mprime.diff(mprime.parse(text), "x")
    texts.push(str(d))
    total += d.evaluate(at)
  }
  result = {"derivatives": texts, "total": total}
}
go()
)MC";

constexpr const char* kQlogikScript = R"MC(
let result = nil
fn go() {
  let net = qlogik.load(NETWORK)
  let states = net.states(TARGET)
  let marginals = []
  let mass = 0.0
  for ev in EVIDENCE {
    let post = net.query(ev)
    let dist = post[TARGET]
    for s in states { marginals.push(dist[s]) }
    for v in post { for s in post[v] { mass += post[v][s] } }
  }
  result = {"marginals": marginals, "mass": mass, "variables": len(net)}
}
go()
)MC";

constexpr const char* kNexusScript = R"MC(
let result = nil
fn work(n) {
  let s = 0
  for i in range(0, n) { s += (i * i + n) % 7 }
  return s
}
fn go() {
  let xs = []
  for i in range(0, COUNT) { xs.push(WORK + i) }
  let par = profiler.scope("mcode.workload.nexus.parallel_map", fn() { return nexus.parallel_map(work, xs) })
  let seq = profiler.scope("mcode.workload.nexus.sequential", fn() {
    let out = []
    for x in xs { out.push(work(x)) }
    return out
  })
  result = {"parallel": par, "sequential": seq}
}
go()
)MC";

// echo: a timeline of N timed nodes with fluents and constraints, a branch forked at its
// middle whose nodes break constraints, causal order and a requirement on purpose; then
// check() and fluent-state queries on both branches.
constexpr const char* kEchoScript = R"MC(
let result = nil
fn go() {
  let types = ["start", "work", "stop"]
  let w = echo.world("ticks")
  for i in range(0, N) {
    let node = {"id": "n" + str(i), "time": 10 * i, "type": types[i % 3], "attributes": {"v": i % 13}}
    let r = i % 50
    let block = i // 50
    if r == 0 { node["initiates"] = ["f" + str(block % 4)] }
    if r == 10 { node["requires"] = ["f" + str(block % 4)] }
    if r == 25 { node["terminates"] = ["f" + str((block + 1) % 4)] }
    w.append("main", node)
    if i % 100 == 1 { w.constrain(i - 1, i, 5, 20) }    # 10 ticks apart: satisfied
  }
  let alt = w.fork("main", N // 2, "alt")
  let first = len(w)                                     # the id of alt's first node
  let stride = max(40, ALT // 20)
  for j in range(0, ALT) {
    let node = {"id": "a" + str(j), "time": 10 * (N // 2) + 5 + 10 * j, "type": "alt"}
    if j % stride == 3 { node["requires"] = ["never"] }  # a contradiction
    w.append(alt, node)
  }
  for j in range(0, ALT - 5, stride) {
    w.constrain(first + j, first + j + 1, 50, 60)        # they are 10 apart: inconsistent
    w.link(first + j + 5, first + j + 4)                 # an effect before its cause
  }
  let paradoxes = []
  for p in w.check() { paradoxes.push(p.kind + " " + ",".join(p.branches) + " " + p.message) }
  let held = 0
  let alt_holds = 0
  for q in range(0, QUERIES) {
    let t = (q * 7919) % (10 * N)
    held += len(w.state_at("main", t))
    if w.holds(alt, "f1", t) { alt_holds += 1 }
  }
  result = {"nodes": len(w), "branches": w.branches(), "paradoxes": paradoxes, "held": held,
            "alt_holds": alt_holds, "final_state": w.state_at("main", 10 * N)}
}
go()
)MC";

// bridge: an HMM loaded from the scratch folder, over an observation file sampled from it
// (with some steps unobserved, "?"): ln P(obs) and Viterbi over the whole sequence, then
// filtering and smoothing window by window, and a prediction.
constexpr const char* kBridgeScript = R"MC(
let result = nil
fn argmax(belief, states) {
  let best = states[0]
  for s in states { if belief[s] > belief[best] { best = s } }
  return best
}
fn go() {
  let h = bridge.load_hmm(HMM)
  let obs = read_lines(OBS)
  let states = h.states()
  let ll = h.log_likelihood(obs)
  let v = h.viterbi(obs)
  let window_ll = 0.0
  let mass = 0.0
  let agree = 0
  for start in range(0, len(obs), WINDOW) {
    let window = obs.slice(start, start + WINDOW)
    let f = h.filter(window)
    let s = h.smooth(window)
    window_ll += f.log_likelihood
    for t in range(0, len(window)) {
      let sb = s.beliefs[t]
      mass += sb[states[0]]
      if argmax(f.beliefs[t], states) == argmax(sb, states) { agree += 1 }
    }
  }
  let pred = h.predict(obs, 3)
  let predicted = []
  for s in states { predicted.push(pred[s]) }
  result = {"steps": len(obs), "log_likelihood": ll, "path": v.path, "log_probability": v.log_probability,
            "window_ll": window_ll, "mass": mass, "agree": agree, "predicted": predicted}
}
go()
)MC";

// ---------------------------------------------------------------------------------------
// Reading the script's `result` from C++ (between runs: nothing collects).

class ResultReader {
 public:
  explicit ResultReader(Vm& vm) : vm_(vm) {}

  Map* root() {
    Value v = vm_.global("result");
    if (!v.is_map()) fail("`result` is not a map");
    return v.as_map();
  }
  Value field(Map* m, std::string_view key) {
    Value v = m->get(vm_.heap().string_value(key));
    if (v.is_empty()) fail("`result` has no field '" + std::string(key) + "'");
    return v;
  }
  std::int64_t integer(Map* m, std::string_view key) {
    Value v = field(m, key);
    if (!v.is_int()) fail(std::string(key) + " is a " + type_name(v) + ", not an int");
    return v.as_int();
  }
  double number(Map* m, std::string_view key) {
    Value v = field(m, key);
    if (!v.is_number()) fail(std::string(key) + " is a " + type_name(v) + ", not a number");
    return v.to_double();
  }
  Map* map(Map* m, std::string_view key) {
    Value v = field(m, key);
    if (!v.is_map()) fail(std::string(key) + " is not a map");
    return v.as_map();
  }
  List* list(Map* m, std::string_view key) {
    Value v = field(m, key);
    if (!v.is_list()) fail(std::string(key) + " is not a list");
    return v.as_list();
  }
  // A top-k list of [name, number] pairs.
  std::vector<std::pair<std::string, double>> pairs(Map* m, std::string_view key) {
    std::vector<std::pair<std::string, double>> out;
    List* l = list(m, key);
    for (std::size_t i = 0; i < l->size(); ++i) {
      Value item = l->at(i);
      if (!item.is_list() || item.as_list()->size() != 2 || !item.as_list()->at(0).is_string() ||
          !item.as_list()->at(1).is_number())
        fail(std::string(key) + "[" + std::to_string(i) + "] is not a [string, number] pair");
      out.emplace_back(std::string(item.as_list()->at(0).as_string()->view()), item.as_list()->at(1).to_double());
    }
    return out;
  }
  // run_script names the script: "<script> script failed: result: ...".
  [[noreturn]] void fail(const std::string& what) { throw Error(Error::Kind::Internal, "result: " + what); }

 private:
  Vm& vm_;
};

// Collects the first mismatch between the script's and C++'s answers.
class Comparison {
 public:
  explicit Comparison(std::string script) : script_(std::move(script)) {}
  void exact(const std::string& what, std::int64_t got, std::int64_t want) {
    if (got != want) mismatch(what, std::to_string(got), std::to_string(want));
    ++checked_;
  }
  void text(const std::string& what, const std::string& got, const std::string& want) {
    if (got != want) mismatch(what, "'" + got + "'", "'" + want + "'");
    ++checked_;
  }
  // Float sums: the script and C++ add in the same order, so they agree to the last bit
  // in practice; the tolerance only allows for a different (still correct) libm.
  void close(const std::string& what, double got, double want, double rel = 1e-9) {
    if (!(std::abs(got - want) <= rel * std::max(1.0, std::abs(want)))) mismatch(what, fmt(got), fmt(want));
    ++checked_;
  }
  bool ok() const noexcept { return first_.empty(); }
  const std::string& first() const noexcept { return first_; }
  std::size_t checked() const noexcept { return checked_; }

 private:
  static std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }
  void mismatch(const std::string& what, const std::string& got, const std::string& want) {
    if (first_.empty()) first_ = script_ + " script: " + what + " is " + got + " but C++ computes " + want;
  }
  std::string script_;
  std::string first_;
  std::size_t checked_ = 0;
};

// ---------------------------------------------------------------------------------------
// (a) The sales CSV: generation into shards, and the C++ aggregation.

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path dir, std::uint64_t shard_bytes) : dir_(std::move(dir)), limit_(shard_bytes) {}

  void row(std::string_view line) {  // without the newline
    if (!out_.is_open() || written_ + line.size() + 1 > limit_) open_next();
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.put('\n');
    written_ += line.size() + 1;
    total_ += line.size() + 1;
  }
  void finish() {
    if (!out_.is_open()) open_next();  // an empty data set still has one (header-only) shard
    close();
  }
  const std::vector<std::filesystem::path>& files() const noexcept { return files_; }
  std::uint64_t bytes() const noexcept { return total_; }

 private:
  void open_next() {
    close();
    char name[40];
    std::snprintf(name, sizeof name, "mcode_sales_%04zu.csv", files_.size());
    files_.push_back(dir_ / name);
    out_.open(files_.back(), std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(Error::Kind::Io, std::string(kName) + ": cannot write '" + files_.back().string() + "'");
    written_ = 0;
    out_ << kHeader << '\n';
    written_ += std::string_view(kHeader).size() + 1;
    total_ += std::string_view(kHeader).size() + 1;
  }
  void close() {
    if (!out_.is_open()) return;
    out_.close();
    if (!out_) throw Error(Error::Kind::Io, std::string(kName) + ": writing '" + files_.back().string() + "' failed");
  }

  std::filesystem::path dir_;
  std::uint64_t limit_;
  std::ofstream out_;
  std::vector<std::filesystem::path> files_;
  std::uint64_t written_ = 0, total_ = 0;
};

void generate_csv(ShardWriter& writer, std::uint64_t bytes, std::uint64_t seed) {
  MISO_PROFILE_SCOPE("mcode.workload.generate_csv");
  core::SplitMix64 rng(seed ^ 0x6d636f6465637376ULL);
  std::string line;
  char buf[128];
  for (std::uint64_t id = 0; writer.bytes() < bytes; ++id) {
    // Regions and products are skewed so the group sizes and the top-k differ.
    const std::uint64_t r = rng.next();
    const auto region = static_cast<std::size_t>((r % 8) * ((r >> 8) % 8) / 7);
    const auto product = static_cast<int>((rng.next() % kProducts) * (rng.next() % kProducts) / kProducts);
    const auto quantity = static_cast<int>(1 + rng.next() % 50);
    const std::uint64_t cents = 50 + rng.next() % 99950;  // 0.50 .. 999.99
    const std::uint64_t ts = 1700000000 + id * 7 + rng.next() % 7;
    const int n =
        std::snprintf(buf, sizeof buf, "%llu,%s,p%03d,%d,%llu.%02llu,%llu", static_cast<unsigned long long>(id),
                      kRegions[region], product, quantity, static_cast<unsigned long long>(cents / 100),
                      static_cast<unsigned long long>(cents % 100), static_cast<unsigned long long>(ts));
    writer.row(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  writer.finish();
}

struct RegionTotals {
  std::int64_t count = 0, quantity = 0;
  double revenue = 0, min_price = 0, max_price = 0;
};

struct CsvExpected {
  std::int64_t rows = 0, quantity = 0, min_ts = 0, max_ts = 0, products = 0;
  std::map<std::string, RegionTotals> regions;
  std::vector<std::pair<std::string, double>> top;
};

template <typename T>
T parse_field(std::string_view text, const std::filesystem::path& file, std::uint64_t line) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw Error(Error::Kind::Format, std::string(kName) + ": '" + file.string() + "' line " + std::to_string(line) +
                                         ": cannot parse '" + std::string(text) + "'");
  return value;
}

// Top-k by value, ties by smaller name: the order the scripts' selection loops produce.
template <typename V>
std::vector<std::pair<std::string, V>> top_k(const std::vector<std::pair<std::string, V>>& all, std::size_t k) {
  std::vector<std::pair<std::string, V>> sorted = all;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (sorted.size() > k) sorted.resize(k);
  return sorted;
}

// The script's computation in C++, reading the same shard files.
CsvExpected aggregate_csv(const std::vector<std::filesystem::path>& files) {
  MISO_PROFILE_SCOPE("mcode.workload.csv_reference");
  CsvExpected e;
  std::unordered_map<std::string, std::size_t> product_index;
  std::vector<std::pair<std::string, double>> products;
  bool any = false;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(Error::Kind::Io, std::string(kName) + ": cannot read '" + file.string() + "'");
    std::string line;
    std::uint64_t number = 0;
    std::string_view f[6];
    while (std::getline(in, line)) {
      if (number++ == 0) continue;  // header
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::size_t start = 0, n = 0;
      for (; n < 6; ++n) {
        std::size_t comma = line.find(',', start);
        f[n] = std::string_view(line).substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (n < 5)
        throw Error(Error::Kind::Format, std::string(kName) + ": '" + file.string() + "' line " +
                                             std::to_string(number) + " has < 6 fields");
      const auto quantity = parse_field<std::int64_t>(f[3], file, number);
      const auto price = parse_field<double>(f[4], file, number);
      const auto ts = parse_field<std::int64_t>(f[5], file, number);
      const double revenue = static_cast<double>(quantity) * price;
      auto [it, fresh] = e.regions.try_emplace(std::string(f[1]));
      RegionTotals& r = it->second;
      if (fresh) r.min_price = r.max_price = price;
      r.count += 1;
      r.quantity += quantity;
      r.revenue += revenue;
      r.min_price = std::min(r.min_price, price);
      r.max_price = std::max(r.max_price, price);
      auto [p, new_product] = product_index.try_emplace(std::string(f[2]), products.size());
      if (new_product) products.emplace_back(std::string(f[2]), 0.0);
      products[p->second].second += revenue;
      e.quantity += quantity;
      if (!any || ts < e.min_ts) e.min_ts = ts;
      if (!any || ts > e.max_ts) e.max_ts = ts;
      any = true;
      ++e.rows;
    }
  }
  e.products = static_cast<std::int64_t>(products.size());
  e.top = top_k(products, kTopProducts);
  return e;
}

std::string compare_csv(Vm& vm, const CsvExpected& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("csv");
  Map* res = rd.root();
  c.exact("rows", rd.integer(res, "rows"), e.rows);
  c.exact("total quantity", rd.integer(res, "quantity"), e.quantity);
  c.exact("products", rd.integer(res, "products"), e.products);
  if (e.rows > 0) {
    c.exact("min timestamp", rd.integer(res, "min_ts"), e.min_ts);
    c.exact("max timestamp", rd.integer(res, "max_ts"), e.max_ts);
  }
  Map* regions = rd.map(res, "regions");
  c.exact("number of regions", static_cast<std::int64_t>(regions->size()), static_cast<std::int64_t>(e.regions.size()));
  for (const auto& [name, want] : e.regions) {
    Value v = regions->get(vm.heap().string_value(name));
    if (!v.is_map()) {
      c.text("region", "(missing)", name);
      continue;
    }
    Map* got = v.as_map();
    c.exact(name + ".count", rd.integer(got, "count"), want.count);
    c.exact(name + ".quantity", rd.integer(got, "quantity"), want.quantity);
    c.close(name + ".revenue", rd.number(got, "revenue"), want.revenue);
    c.close(name + ".min_price", rd.number(got, "min_price"), want.min_price, 0);
    c.close(name + ".max_price", rd.number(got, "max_price"), want.max_price, 0);
  }
  auto top = rd.pairs(res, "top");
  c.exact("top-k length", static_cast<std::int64_t>(top.size()), static_cast<std::int64_t>(e.top.size()));
  for (std::size_t i = 0; i < std::min(top.size(), e.top.size()); ++i) {
    c.text("top[" + std::to_string(i) + "] product", top[i].first, e.top[i].first);
    c.close("top[" + std::to_string(i) + "] revenue", top[i].second, e.top[i].second);
  }
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream s;
  s << e.rows << " rows, " << e.regions.size() << " regions, " << e.products << " products, top-" << kTopProducts
    << " by revenue; " << c.checked() << " values equal to C++";
  return s.str();
}

// ---------------------------------------------------------------------------------------
// (b) Word frequencies, mirrored in C++.

struct WordsExpected {
  std::int64_t distinct = 0, chars = 0;
  double entropy = 0;
  std::vector<std::pair<std::string, std::int64_t>> top;
};

WordsExpected count_words(std::int64_t words, std::int64_t seed) {
  MISO_PROFILE_SCOPE("mcode.workload.words_reference");
  WordsExpected e;
  std::unordered_map<std::string, std::size_t> index_of;
  std::vector<std::pair<std::string, std::int64_t>> counts;  // first-seen order, as the script's map
  std::int64_t state = seed;
  std::string word;
  for (std::int64_t w = 0; w < words; ++w) {
    state = state * kParkMillerMultiplier % kParkMillerModulus;
    const std::int64_t a = state;
    state = state * kParkMillerMultiplier % kParkMillerModulus;
    const std::int64_t index = a % (1 + state % 2000);
    word = kSyllables[index % 12];
    for (std::int64_t rest = index / 12; rest > 0; rest /= 12) word += kSyllables[rest % 12];
    auto [it, fresh] = index_of.try_emplace(word, counts.size());
    if (fresh) counts.emplace_back(word, 0);
    ++counts[it->second].second;
    e.chars += static_cast<std::int64_t>(word.size());
  }
  for (const auto& [w, c] : counts) {
    const double p = static_cast<double>(c) / static_cast<double>(words);
    e.entropy -= p * std::log(p);
  }
  e.distinct = static_cast<std::int64_t>(counts.size());
  e.top = top_k(counts, kTopWords);
  return e;
}

std::string compare_words(Vm& vm, const WordsExpected& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("words");
  Map* res = rd.root();
  c.exact("distinct words", rd.integer(res, "distinct"), e.distinct);
  c.exact("characters", rd.integer(res, "chars"), e.chars);
  c.close("entropy", rd.number(res, "entropy"), e.entropy);
  auto top = rd.pairs(res, "top");
  c.exact("top-k length", static_cast<std::int64_t>(top.size()), static_cast<std::int64_t>(e.top.size()));
  for (std::size_t i = 0; i < std::min(top.size(), e.top.size()); ++i) {
    c.text("top[" + std::to_string(i) + "] word", top[i].first, e.top[i].first);
    c.exact("top[" + std::to_string(i) + "] count", static_cast<std::int64_t>(top[i].second), e.top[i].second);
  }
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream s;
  s << e.distinct << " distinct words, entropy " << e.entropy << " nats, top-" << kTopWords << " ('" << e.top[0].first
    << "' x" << e.top[0].second << "); " << c.checked() << " values equal to C++";
  return s.str();
}

// ---------------------------------------------------------------------------------------
// (c) Engine scripts: sizes, inputs and the C++ computations.

namespace tm = miso::tmath;
namespace mp = miso::mprime;
namespace ql = miso::qlogik;

struct EngineSizes {
  std::int64_t matrix = 0, matmuls = 0;   // tmath: matmuls of [matrix, matrix] matrices
  std::int64_t exprs = 0;                 // mprime: expressions differentiated
  std::int64_t queries = 0;               // qlogik: junction-tree queries
  std::int64_t elements = 0, work = 0;    // nexus: elements and loop length per element
  std::int64_t nodes = 0, alt_nodes = 0;  // echo: nodes on main, nodes appended to the forked branch
  std::int64_t state_queries = 0;         // echo: state_at + holds queries
  std::int64_t steps = 0, window = 0;     // bridge: observations, filter/smooth window
};

EngineSizes engine_sizes(std::uint64_t target) {
  const double mib = static_cast<double>(target) / (1 << 20);
  if (mib < 0.5) return {32, 2, 20, 5, 8, 300, 300, 60, 200, 400, 100};                        // tests
  if (mib <= 8) return {128, 4, 200, 20, 32, 2000, 2000, 200, 2000, 20000, 1000};              // small
  if (mib <= 256) return {512, 4, 2000, 200, 256, 20000, 100000, 10000, 20000, 500000, 1000};  // medium
  return {1024, 4, 10000, 1000, 1024, 20000, 1000000, 100000, 50000, 2000000, 1000};           // large
}

// Expressions whose derivatives stay finite at x = 0.7, y = 1.3.
std::vector<std::string> generate_exprs(std::int64_t count, std::uint64_t seed) {
  core::SplitMix64 rng(seed ^ 0x6d636f64656d70ULL);
  std::vector<std::string> out;
  auto k = [&](int lo, int hi) {
    return std::to_string(lo + static_cast<int>(rng.next() % static_cast<std::uint64_t>(hi - lo + 1)));
  };
  for (std::int64_t i = 0; i < count; ++i) {
    switch (rng.next() % 5) {
      case 0: out.push_back("sin(" + k(1, 9) + "*x)*x^" + k(2, 5) + " + cos(x*y)/(" + k(1, 9) + " + x^2)"); break;
      case 1: out.push_back("exp(" + k(1, 3) + "*x)*log(1 + x^2)/(x + " + k(1, 9) + ")"); break;
      case 2: out.push_back("sqrt(x^" + k(2, 4) + " + " + k(1, 9) + ")*atan(x*y) - " + k(1, 9) + "*x"); break;
      case 3: out.push_back("tanh(x)^" + k(2, 4) + "*(y - x)^" + k(1, 3) + " + x/y"); break;
      default: out.push_back("(x^" + k(2, 6) + " + " + k(1, 9) + "*x*y)/(2 + cos(" + k(1, 5) + "*x))"); break;
    }
  }
  return out;
}

struct MprimeExpected {
  std::vector<std::string> derivatives;
  double total = 0;
};

MprimeExpected differentiate_all(const std::vector<std::string>& exprs) {
  MISO_PROFILE_SCOPE("mcode.workload.mprime_reference");
  MprimeExpected e;
  const mp::Expr x = mp::symbol("x");
  const mp::Values at{{"x", 0.7}, {"y", 1.3}};
  for (const std::string& text : exprs) {
    const mp::Expr d = mp::diff(mp::parse(text), x);
    e.derivatives.push_back(mp::to_string(d));
    e.total += mp::evaluate(d, at);
  }
  return e;
}

struct QlogikInput {
  std::filesystem::path file;  // the network, written where the script may read it
  std::string origin, target;
  std::vector<std::vector<std::pair<std::string, std::string>>> evidence;
  std::vector<double> marginals;  // the target's posterior per query, states in order
  double mass = 0;                // all variables' posteriors summed over all queries
  std::int64_t variables = 0;
  std::uint64_t bytes = 0;
};

QlogikInput prepare_qlogik(const std::filesystem::path& dir, std::int64_t queries, std::uint64_t seed) {
  MISO_PROFILE_SCOPE("mcode.workload.qlogik_reference");
  QlogikInput in;
  ql::WorkloadNetwork source = ql::workload_network(seed);
  in.origin = source.origin;
  in.file = dir / "mcode_network.bif";
  ql::save_network(source.network, in.file.string());
  in.bytes = std::filesystem::file_size(in.file);
  // The reference reads the written file back, as the script does.
  const ql::Network net = ql::load_network(in.file.string());
  in.variables = static_cast<std::int64_t>(net.size());
  const auto target = static_cast<ql::VarId>(net.size() / 2);
  in.target = net.variable(target).name;
  core::SplitMix64 rng(seed ^ 0x716c6f67696bULL);
  ql::JunctionTree jt(net);
  for (std::int64_t q = 0; q < queries; ++q) {
    ql::Evidence ev = ql::no_evidence(net);
    std::vector<std::pair<std::string, std::string>> named;
    for (int k = 0; k < 2; ++k) {
      const auto v = static_cast<ql::VarId>(rng.next() % net.size());
      if (v == target || ev[static_cast<std::size_t>(v)] >= 0) continue;
      const auto& states = net.variable(v).states;
      const auto st = static_cast<int>(rng.next() % states.size());
      ev[static_cast<std::size_t>(v)] = st;
      named.emplace_back(net.variable(v).name, states[static_cast<std::size_t>(st)]);
    }
    const ql::Posterior post = jt.query(ev);
    for (double p : post.marginals[static_cast<std::size_t>(target)]) in.marginals.push_back(p);
    for (const auto& m : post.marginals)
      for (double p : m) in.mass += p;
    in.evidence.push_back(std::move(named));
  }
  return in;
}

std::string compare_tmath(Vm& vm, const EngineSizes& z, std::int64_t seed, double total_offset, bool& ok) {
  MISO_PROFILE_SCOPE("mcode.workload.tmath_reference");
  ResultReader rd(vm);
  Comparison c("tmath");
  Map* res = rd.root();
  List* outs = rd.list(res, "outs");
  c.exact("number of outputs", static_cast<std::int64_t>(outs->size()), z.matmuls);
  double total = 0, worst = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(outs->size(), static_cast<std::size_t>(z.matmuls)); ++i) {
    Value v = outs->at(i);
    if (!v.is_handle() || !v.as_handle()->is(kTensorHandle)) rd.fail("outs[" + std::to_string(i) + "] is no tensor");
    const std::vector<float> got = v.as_handle()->data_as<tm::Tensor>()->to_vector<float>();
    const auto s = seed + 2 * static_cast<std::int64_t>(i);
    tm::Generator ga(static_cast<std::uint64_t>(s)), gb(static_cast<std::uint64_t>(s + 1));
    const tm::Tensor a = tm::rand_normal({z.matrix, z.matrix}, ga);
    const tm::Tensor b = tm::rand_normal({z.matrix, z.matrix}, gb);
    const std::vector<float> want = tm::softmax(tm::matmul(a, b)).to_vector<float>();
    c.exact("outs[" + std::to_string(i) + "] elements", static_cast<std::int64_t>(got.size()),
            static_cast<std::int64_t>(want.size()));
    for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) {
      worst = std::max(worst, static_cast<double>(std::abs(got[k] - want[k])));
      total += want[k];
    }
  }
  c.close("largest |softmax(a @ b) difference|", worst, 0.0, 1e-6);
  // The script sums in f32 (tensor.sum), C++ in double: f32 precision.
  c.close("sum of all outputs", rd.number(res, "total"), total + total_offset, 1e-5);
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << z.matmuls << " x softmax(randn(" << z.matrix << "x" << z.matrix << ") @ randn) equal to tmath C++ (max diff "
      << worst << ")";
  return out.str();
}

std::string compare_mprime(Vm& vm, const MprimeExpected& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("mprime");
  Map* res = rd.root();
  List* got = rd.list(res, "derivatives");
  c.exact("number of derivatives", static_cast<std::int64_t>(got->size()),
          static_cast<std::int64_t>(e.derivatives.size()));
  for (std::size_t i = 0; i < std::min(got->size(), e.derivatives.size()); ++i) {
    Value v = got->at(i);
    c.text("derivative " + std::to_string(i), v.is_string() ? std::string(v.as_string()->view()) : "(not a string)",
           e.derivatives[i]);
  }
  c.close("sum of derivatives at (0.7, 1.3)", rd.number(res, "total"), e.total);
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << e.derivatives.size() << " derivatives equal to mprime C++ (text and values)";
  return out.str();
}

std::string compare_qlogik(Vm& vm, const QlogikInput& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("qlogik");
  Map* res = rd.root();
  c.exact("variables", rd.integer(res, "variables"), e.variables);
  List* got = rd.list(res, "marginals");
  c.exact("number of marginals", static_cast<std::int64_t>(got->size()), static_cast<std::int64_t>(e.marginals.size()));
  for (std::size_t i = 0; i < std::min(got->size(), e.marginals.size()); ++i)
    c.close("marginal " + std::to_string(i), got->at(i).is_number() ? got->at(i).to_double() : -1, e.marginals[i]);
  c.close("total posterior mass", rd.number(res, "mass"), e.mass);
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << e.evidence.size() << " queries of P(" << e.target << " | 2 observed) on " << e.origin
      << " equal to qlogik C++";
  return out.str();
}

std::int64_t nexus_work(std::int64_t n) {
  std::int64_t s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += (i * i + n) % 7;
  return s;
}

std::string compare_nexus(Vm& vm, const EngineSizes& z, std::int64_t offset, bool& ok) {
  ResultReader rd(vm);
  Comparison c("nexus");
  Map* res = rd.root();
  for (const char* key : {"parallel", "sequential"}) {
    List* got = rd.list(res, key);
    c.exact(std::string(key) + " length", static_cast<std::int64_t>(got->size()), z.elements);
    for (std::size_t i = 0; i < std::min<std::size_t>(got->size(), static_cast<std::size_t>(z.elements)); ++i) {
      const std::int64_t want = nexus_work(z.work + static_cast<std::int64_t>(i)) + (i == 0 ? offset : 0);
      c.exact(std::string(key) + "[" + std::to_string(i) + "]", got->at(i).is_int() ? got->at(i).as_int() : -1, want);
    }
  }
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << "nexus.parallel_map over " << z.elements << " elements equal to the sequential loop and to C++";
  return out.str();
}

// ---------------------------------------------------------------------------------------
// (d) echo and bridge: the scripts' worlds and models built through the engines' C++ APIs.

namespace ec = miso::echo;
namespace br = miso::bridge;

struct EchoExpected {
  std::int64_t nodes = 0, held = 0, alt_holds = 0;
  std::vector<std::string> branches, paradoxes, final_state;
};

// The echo script's world, appended node by node as echo_module.cpp's append does (the
// same interning order, so state_at lists fluents in the same order).
EchoExpected echo_reference(const EngineSizes& z) {
  MISO_PROFILE_SCOPE("mcode.workload.echo_reference");
  EchoExpected e;
  ec::World w;
  w.set_unit("ticks");
  const char* types[] = {"start", "work", "stop"};
  auto constrain = [&w](ec::NodeId from, ec::NodeId to, ec::Tick lo, ec::Tick hi) {
    ec::TemporalConstraint c;
    c.from = from;
    c.to = to;
    c.lo = lo;
    c.hi = hi;
    c.label = "constraint " + std::to_string(w.constraints().size());
    w.add_constraint(c);
  };
  for (std::int64_t i = 0; i < z.nodes; ++i) {
    ec::NodeSpec spec;
    spec.time = 10 * i;
    spec.type = w.intern(types[i % 3]);
    const ec::Attribute attr{w.intern("v"), ec::Value::of(static_cast<double>(i % 13))};
    spec.attributes = std::span(&attr, 1);
    const std::int64_t r = i % 50, block = i / 50;
    std::vector<ec::FluentEffect> effects;
    if (r == 0) effects.push_back({w.intern("f" + std::to_string(block % 4)), ec::Effect::Initiates});
    if (r == 10) effects.push_back({w.intern("f" + std::to_string(block % 4)), ec::Effect::Requires});
    if (r == 25) effects.push_back({w.intern("f" + std::to_string((block + 1) % 4)), ec::Effect::Terminates});
    spec.effects = effects;
    w.append(w.main(), spec, "n" + std::to_string(i));
    if (i % 100 == 1) constrain(static_cast<ec::NodeId>(i - 1), static_cast<ec::NodeId>(i), 5, 20);
  }
  const ec::BranchId alt = w.fork(w.main(), static_cast<ec::NodeId>(z.nodes / 2), "alt");
  const ec::NodeId first = w.node_count();
  const std::int64_t stride = std::max<std::int64_t>(40, z.alt_nodes / 20);
  for (std::int64_t j = 0; j < z.alt_nodes; ++j) {
    ec::NodeSpec spec;
    spec.time = 10 * (z.nodes / 2) + 5 + 10 * j;
    spec.type = w.intern("alt");
    std::vector<ec::FluentEffect> effects;
    if (j % stride == 3) effects.push_back({w.intern("never"), ec::Effect::Requires});
    spec.effects = effects;
    w.append(alt, spec, "a" + std::to_string(j));
  }
  for (std::int64_t j = 0; j < z.alt_nodes - 5; j += stride) {
    const auto a = first + static_cast<ec::NodeId>(j);
    constrain(a, a + 1, 50, 60);
    w.add_link({a + 5, a + 4});
  }
  for (const ec::Paradox& p : ec::check(w).paradoxes) {
    std::string text = std::string(ec::to_string(p.kind)) + " ";
    for (std::size_t k = 0; k < p.branches.size(); ++k) text += (k ? "," : "") + w.branch_name(p.branches[k]);
    e.paradoxes.push_back(text + " " + p.message);
  }
  const std::optional<ec::Symbol> f1 = w.lookup("f1");
  for (std::int64_t q = 0; q < z.state_queries; ++q) {
    const ec::Tick t = q * 7919 % (10 * z.nodes);
    e.held += static_cast<std::int64_t>(w.timeline(w.main()).state_at(t).size());
    if (f1 && w.timeline(alt).holds(*f1, t)) ++e.alt_holds;
  }
  for (ec::Symbol s : w.timeline(w.main()).state_at(10 * z.nodes)) e.final_state.push_back(w.text(s));
  for (ec::BranchId b = 0; b < w.branch_count(); ++b) e.branches.push_back(w.branch_name(b));
  e.nodes = static_cast<std::int64_t>(w.node_count());
  return e;
}

std::vector<std::string> string_list(ResultReader& rd, Map* m, std::string_view key) {
  std::vector<std::string> out;
  List* l = rd.list(m, key);
  for (std::size_t i = 0; i < l->size(); ++i) {
    if (!l->at(i).is_string()) rd.fail(std::string(key) + "[" + std::to_string(i) + "] is not a string");
    out.emplace_back(l->at(i).as_string()->view());
  }
  return out;
}

void compare_lists(Comparison& c, const std::string& what, const std::vector<std::string>& got,
                   const std::vector<std::string>& want) {
  c.exact(what + " length", static_cast<std::int64_t>(got.size()), static_cast<std::int64_t>(want.size()));
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    if (got[i] != want[i]) c.text(what + "[" + std::to_string(i) + "]", got[i], want[i]);
}

std::string compare_echo(Vm& vm, const EngineSizes& z, const EchoExpected& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("echo");
  Map* res = rd.root();
  c.exact("nodes", rd.integer(res, "nodes"), e.nodes);
  compare_lists(c, "branches", string_list(rd, res, "branches"), e.branches);
  compare_lists(c, "paradoxes", string_list(rd, res, "paradoxes"), e.paradoxes);
  c.exact("fluents held over the queries on main", rd.integer(res, "held"), e.held);
  c.exact("queries where f1 holds on alt", rd.integer(res, "alt_holds"), e.alt_holds);
  compare_lists(c, "final state", string_list(rd, res, "final_state"), e.final_state);
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << e.nodes << " nodes on 2 branches, " << e.paradoxes.size() << " paradoxes, " << z.state_queries
      << " state queries equal to echo C++";
  return out.str();
}

struct BridgeInput {
  std::filesystem::path hmm_file, obs_file;
  std::uint64_t bytes = 0;
  std::int64_t steps = 0, agree = 0;
  double log_likelihood = 0, log_probability = 0, window_ll = 0, mass = 0;
  std::vector<std::string> path;
  std::vector<double> predicted;
};

// A sticky random HMM (6 states, 5 symbols) and a sequence sampled from it, every 17th
// step unobserved, both written where the script may read them; the reference reads them
// back as the script does.
BridgeInput prepare_bridge(const std::filesystem::path& dir, const EngineSizes& z, std::uint64_t seed) {
  MISO_PROFILE_SCOPE("mcode.workload.bridge_reference");
  constexpr std::size_t kStates = 6, kSymbols = 5;
  core::SplitMix64 rng(seed ^ 0x627269646765ULL);
  br::Hmm gen;
  for (std::size_t s = 0; s < kStates; ++s) gen.states.push_back("s" + std::to_string(s));
  for (std::size_t o = 0; o < kSymbols; ++o) gen.symbols.push_back("o" + std::to_string(o));
  auto row = [&rng](std::size_t n, std::size_t heavy) {
    std::vector<double> r(n);
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += r[k] = 0.05 + rng.next_double() + (k == heavy ? 3.0 : 0.0);
    for (double& x : r) x /= sum;
    return r;
  };
  gen.initial = row(kStates, kStates);
  for (std::size_t s = 0; s < kStates; ++s) {
    for (double x : row(kStates, s)) gen.transition.push_back(x);
    for (double x : row(kSymbols, s % kSymbols)) gen.emission.push_back(x);
  }
  BridgeInput in;
  in.hmm_file = dir / "mcode_hmm.json";
  in.obs_file = dir / "mcode_observations.txt";
  {
    std::ofstream out(in.hmm_file, std::ios::binary);
    out << br::to_json(gen);
    if (!out) throw Error(Error::Kind::Io, std::string(kName) + ": cannot write '" + in.hmm_file.string() + "'");
  }
  const br::Hmm hmm = br::load_hmm(in.hmm_file);
  auto draw = [&rng](std::span<const double> p) {
    double u = rng.next_double();
    for (std::size_t k = 0; k + 1 < p.size(); ++k)
      if ((u -= p[k]) < 0) return k;
    return p.size() - 1;
  };
  std::vector<std::string> symbols;
  symbols.reserve(static_cast<std::size_t>(z.steps));
  {
    std::ofstream out(in.obs_file, std::ios::binary);
    std::size_t state = draw(hmm.initial);
    for (std::int64_t t = 0; t < z.steps; ++t) {
      if (t > 0) state = draw(std::span(hmm.transition).subspan(state * kStates, kStates));
      const std::size_t o = draw(std::span(hmm.emission).subspan(state * kSymbols, kSymbols));
      symbols.push_back(t % 17 == 16 ? "?" : hmm.symbols[o]);
      out << symbols.back() << '\n';
    }
    if (!out) throw Error(Error::Kind::Io, std::string(kName) + ": cannot write '" + in.obs_file.string() + "'");
  }
  in.bytes = std::filesystem::file_size(in.hmm_file) + std::filesystem::file_size(in.obs_file);
  in.steps = z.steps;
  const br::Chain chain = hmm.chain();
  const br::Likelihoods lk = hmm.likelihoods();
  const std::vector<std::uint32_t> obs = hmm.observations(symbols);
  in.log_likelihood = br::log_likelihood(chain, lk, obs);
  const br::ViterbiResult v = br::viterbi(chain, lk, obs);
  in.log_probability = v.log_probability;
  for (std::uint32_t s : v.path) in.path.push_back(chain.states[s]);
  const std::size_t n = chain.size();
  auto argmax = [n](std::span<const double> p) {
    std::size_t best = 0;
    for (std::size_t s = 0; s < n; ++s)
      if (p[s] > p[best]) best = s;
    return best;
  };
  const auto window = static_cast<std::size_t>(z.window);
  for (std::size_t start = 0; start < obs.size(); start += window) {
    const auto part = std::span(obs).subspan(start, std::min(window, obs.size() - start));
    const br::FilterResult f = br::filter(chain, lk, part);
    const br::SmoothResult s = br::smooth(chain, lk, part);
    in.window_ll += f.log_likelihood;
    for (std::size_t t = 0; t < part.size(); ++t) {
      const auto sb = std::span(s.smoothed).subspan(t * n, n);
      in.mass += sb[0];
      if (argmax(std::span(f.filtered).subspan(t * n, n)) == argmax(sb)) ++in.agree;
    }
  }
  br::Filter f(chain, lk);
  for (std::uint32_t o : obs) f.step(o);
  in.predicted = f.predict(3);
  return in;
}

std::string compare_bridge(Vm& vm, const BridgeInput& e, bool& ok) {
  ResultReader rd(vm);
  Comparison c("bridge");
  Map* res = rd.root();
  c.exact("steps", rd.integer(res, "steps"), e.steps);
  // The script and C++ run the same engine code on the same numbers: 1e-12 leaves room
  // only for a different summation order, none for a different model or sequence.
  c.close("log-likelihood", rd.number(res, "log_likelihood"), e.log_likelihood, 1e-12);
  c.close("Viterbi log-probability", rd.number(res, "log_probability"), e.log_probability, 1e-12);
  compare_lists(c, "Viterbi path", string_list(rd, res, "path"), e.path);
  c.close("sum of the windows' filter log-likelihoods", rd.number(res, "window_ll"), e.window_ll);
  c.close("smoothed mass of the first state", rd.number(res, "mass"), e.mass);
  c.exact("steps whose filtered and smoothed argmax agree", rd.integer(res, "agree"), e.agree);
  List* pred = rd.list(res, "predicted");
  c.exact("predicted states", static_cast<std::int64_t>(pred->size()), static_cast<std::int64_t>(e.predicted.size()));
  for (std::size_t i = 0; i < std::min(pred->size(), e.predicted.size()); ++i)
    c.close("predicted[" + std::to_string(i) + "]", pred->at(i).is_number() ? pred->at(i).to_double() : -1,
            e.predicted[i]);
  ok = c.ok();
  if (!ok) return c.first();
  std::ostringstream out;
  out << e.steps << " steps of a 6-state HMM: ln P(obs) " << e.log_likelihood
      << ", Viterbi path, windowed filter/smooth and prediction equal to bridge C++";
  return out.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------

struct ScriptsWorkload::State {
  std::uint64_t seed = 0;
  profiler::DataSize size = profiler::DataSize::Small;
  std::filesystem::path dir;  // the scratch folder: the Vm's allow-list
  std::vector<std::filesystem::path> shards;
  std::uint64_t csv_bytes = 0;
  CsvExpected csv;
  std::int64_t words = 0;
  std::int64_t words_seed = 1;
  WordsExpected words_expected;
  EngineSizes engines;
  std::vector<std::string> exprs;
  std::uint64_t expr_bytes = 0;
  MprimeExpected mprime;
  QlogikInput qlogik;
  EchoExpected echo;
  BridgeInput bridge;
  double tmath_total_offset = 0;  // the test hook's perturbations
  std::int64_t nexus_offset = 0;
};

ScriptsWorkload::ScriptsWorkload(ScriptsWorkloadOptions options) : options_(std::move(options)) {}
ScriptsWorkload::~ScriptsWorkload() = default;

void ScriptsWorkload::prepare(const profiler::WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("mcode.workload.prepare");
  state_ = std::make_unique<State>();
  State& s = *state_;
  reports_.clear();
  ran_ = false;
  s.seed = ctx.seed;
  s.size = ctx.size;
  s.dir = ctx.scratch_dir.empty() ? std::filesystem::temp_directory_path() : ctx.scratch_dir;
  const std::uint64_t target = options_.target_bytes != 0 ? options_.target_bytes : profiler::target_bytes(ctx.size);
  if (options_.shard_bytes < 256)
    throw Error(Error::Kind::InvalidArgument, std::string(kName) + ": shard_bytes must be at least 256");
  ShardWriter writer(s.dir, options_.shard_bytes);
  if (!ctx.data_dir.empty()) {
    // A saved data set: verified in memory, then cut into shards like a generated one.
    profiler::DataFile f = profiler::read_data_file(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind);
    s.seed = f.seed;
    std::string_view text(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
    std::size_t start = 0;
    bool header = true;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      if (!header) writer.row(text.substr(start, end - start));
      header = false;
      start = end + 1;
    }
    writer.finish();
  } else {
    // Three quarters of the data set is the CSV; the word script processes the rest.
    generate_csv(writer, target / 4 * 3, s.seed);
  }
  s.shards = writer.files();
  s.csv_bytes = writer.bytes();
  s.csv = aggregate_csv(s.shards);
  // About 8 bytes of text per word (a word and a space).
  s.words = static_cast<std::int64_t>(std::max<std::uint64_t>(target / 4 / 8, 1000));
  s.words_seed = static_cast<std::int64_t>(1 + s.seed % static_cast<std::uint64_t>(kParkMillerModulus - 1));
  s.words_expected = count_words(s.words, s.words_seed);
  s.engines = engine_sizes(target);
  s.exprs = generate_exprs(s.engines.exprs, s.seed);
  for (const std::string& e : s.exprs) s.expr_bytes += e.size() + 1;
  s.mprime = differentiate_all(s.exprs);
  s.qlogik = prepare_qlogik(s.dir, s.engines.queries, s.seed);
  s.echo = echo_reference(s.engines);
  s.bridge = prepare_bridge(s.dir, s.engines, s.seed);

  // The test hook: a wrong expected value must fail the check.
  const std::string& bad = options_.corrupt_expected;
  if (bad == "csv") {
    if (!s.csv.regions.empty()) s.csv.regions.begin()->second.revenue *= 1 + 1e-6;
  } else if (bad == "words") {
    s.words_expected.chars += 1;
  } else if (bad == "tmath") {
    s.tmath_total_offset = 1;
  } else if (bad == "mprime") {
    s.mprime.derivatives.back() += " + 0";
  } else if (bad == "qlogik") {
    if (!s.qlogik.marginals.empty()) s.qlogik.marginals.front() += 1e-6;
  } else if (bad == "nexus") {
    s.nexus_offset = 1;
  } else if (bad == "echo") {
    s.echo.held += 1;
  } else if (bad == "bridge") {
    if (!s.bridge.path.empty()) {
      std::string& st = s.bridge.path[s.bridge.path.size() / 2];
      st = st == "s0" ? "s1" : "s0";
    }
  } else if (!bad.empty()) {
    throw Error(Error::Kind::InvalidArgument, std::string(kName) + ": unknown script '" + bad + "' to corrupt");
  }
}

std::uint64_t ScriptsWorkload::input_bytes() const {
  if (!state_) return 0;
  // The word stream counts as its text: the words and one separator each.
  const State& s = *state_;
  const auto matrix_bytes = static_cast<std::uint64_t>(s.engines.matmuls * s.engines.matrix * s.engines.matrix) * 12;
  return s.csv_bytes + static_cast<std::uint64_t>(s.words_expected.chars + s.words) + matrix_bytes + s.expr_bytes +
         s.qlogik.bytes + s.bridge.bytes;
}

namespace {

struct ScriptSpec {
  const char* name;
  const char* source;
  const char* unit;
  std::uint64_t items;
  std::uint64_t bytes;
  std::function<void(Vm&)> define;                    // the script's input globals
  std::function<std::string(Vm&, bool& ok)> compare;  // result vs C++
};

ScriptReport run_script(const ScriptSpec& spec, const std::filesystem::path& dir) {
  ScriptReport rep;
  rep.name = spec.name;
  rep.unit = spec.unit;
  rep.items = spec.items;
  rep.bytes = spec.bytes;
  std::ostringstream printed;
  VmOptions options;
  options.output = &printed;
  options.allowed_paths = {dir};
  Vm vm(options);
  spec.define(vm);
  const std::string site_name = std::string("mcode.workload.") + spec.name;
  const profiler::SpanSite& site = profiler::intern_site(site_name);
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  try {
    {
      profiler::Scope span(site);
      vm.run(spec.source, site_name + ".mc");
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.detail = spec.compare(vm, rep.passed);
  } catch (const Error& e) {
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.passed = false;
    rep.detail = std::string(spec.name) + " script failed: " + e.what();
  }
  rep.cpu_seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const HeapStats heap = vm.heap().stats();
  rep.instructions = vm.instructions_executed();
  rep.gc_collections = heap.collections;
  rep.gc_nanoseconds = heap.gc_nanoseconds;
  rep.heap_peak_bytes = heap.peak_bytes;
  rep.objects_allocated = heap.objects_allocated;
  // Counters the sampler turns into series, and per-script totals in the report.
  profiler::counter("mcode.workload.instructions", "instructions").add(static_cast<std::int64_t>(rep.instructions));
  profiler::counter("mcode.workload.gc_collections").add(static_cast<std::int64_t>(rep.gc_collections));
  profiler::counter("mcode.workload.objects_allocated", "objects")
      .add(static_cast<std::int64_t>(rep.objects_allocated));
  profiler::counter(site_name + "." + spec.unit, spec.unit).add(static_cast<std::int64_t>(rep.items));
  profiler::gauge("mcode.workload.heap_peak", "bytes").set(static_cast<std::int64_t>(rep.heap_peak_bytes));
  return rep;
}

}  // namespace

void ScriptsWorkload::run(const profiler::WorkloadContext& /*ctx*/) {
  MISO_PROFILE_SCOPE("mcode.workload");
  if (!state_) throw Error(Error::Kind::InvalidArgument, std::string(kName) + ": run() before prepare()");
  State& s = *state_;
  std::vector<ScriptSpec> specs;
  specs.push_back({"csv", kCsvScript, "rows", static_cast<std::uint64_t>(s.csv.rows), s.csv_bytes,
                   [&s](Vm& vm) {
                     Heap& heap = vm.heap();
                     List* files = heap.list(s.shards.size());
                     vm.define_global("FILES", Value::object(files));
                     for (const auto& f : s.shards) files->push(heap, heap.string_value(f.string()));
                     vm.define_global("TOP_K", Value::small_int(kTopProducts));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_csv(vm, s.csv, ok); }});
  specs.push_back({"words", kWordsScript, "words", static_cast<std::uint64_t>(s.words),
                   static_cast<std::uint64_t>(s.words_expected.chars + s.words),
                   [&s](Vm& vm) {
                     vm.define_global("WORDS", Value::small_int(s.words));
                     vm.define_global("SEED", Value::small_int(s.words_seed));
                     vm.define_global("TOP_K", Value::small_int(kTopWords));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_words(vm, s.words_expected, ok); }});
  const EngineSizes& z = s.engines;
  specs.push_back({"tmath", kTmathScript, "matmuls", static_cast<std::uint64_t>(z.matmuls),
                   static_cast<std::uint64_t>(z.matmuls * z.matrix * z.matrix) * 12,
                   [&s](Vm& vm) {
                     vm.define_global("N", Value::small_int(s.engines.matrix));
                     vm.define_global("ITER", Value::small_int(s.engines.matmuls));
                     vm.define_global("SEED", Value::small_int(static_cast<std::int64_t>(s.seed % 1000000)));
                   },
                   [&s](Vm& vm, bool& ok) {
                     return compare_tmath(vm, s.engines, static_cast<std::int64_t>(s.seed % 1000000),
                                          s.tmath_total_offset, ok);
                   }});
  specs.push_back({"mprime", kMprimeScript, "exprs", static_cast<std::uint64_t>(z.exprs), s.expr_bytes,
                   [&s](Vm& vm) {
                     Heap& heap = vm.heap();
                     List* list = heap.list(s.exprs.size());
                     vm.define_global("EXPRS", Value::object(list));
                     for (const std::string& e : s.exprs) list->push(heap, heap.string_value(e));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_mprime(vm, s.mprime, ok); }});
  specs.push_back({"qlogik", kQlogikScript, "queries", static_cast<std::uint64_t>(z.queries), s.qlogik.bytes,
                   [&s](Vm& vm) {
                     Heap& heap = vm.heap();
                     vm.define_global("NETWORK", heap.string_value(s.qlogik.file.string()));
                     vm.define_global("TARGET", heap.string_value(s.qlogik.target));
                     List* list = heap.list(s.qlogik.evidence.size());
                     vm.define_global("EVIDENCE", Value::object(list));
                     for (const auto& ev : s.qlogik.evidence) {
                       Map* m = heap.map(ev.size());
                       list->push(heap, Value::object(m));
                       for (const auto& [var, state] : ev)
                         m->set(heap, heap.string_value(var), heap.string_value(state));
                     }
                   },
                   [&s](Vm& vm, bool& ok) { return compare_qlogik(vm, s.qlogik, ok); }});
  specs.push_back({"nexus", kNexusScript, "elements", static_cast<std::uint64_t>(2 * z.elements), 0,
                   [&s](Vm& vm) {
                     vm.define_global("COUNT", Value::small_int(s.engines.elements));
                     vm.define_global("WORK", Value::small_int(s.engines.work));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_nexus(vm, s.engines, s.nexus_offset, ok); }});
  specs.push_back({"echo", kEchoScript, "nodes", static_cast<std::uint64_t>(z.nodes + z.alt_nodes), 0,
                   [&s](Vm& vm) {
                     vm.define_global("N", Value::small_int(s.engines.nodes));
                     vm.define_global("ALT", Value::small_int(s.engines.alt_nodes));
                     vm.define_global("QUERIES", Value::small_int(s.engines.state_queries));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_echo(vm, s.engines, s.echo, ok); }});
  specs.push_back({"bridge", kBridgeScript, "steps", static_cast<std::uint64_t>(z.steps), s.bridge.bytes,
                   [&s](Vm& vm) {
                     Heap& heap = vm.heap();
                     vm.define_global("HMM", heap.string_value(s.bridge.hmm_file.string()));
                     vm.define_global("OBS", heap.string_value(s.bridge.obs_file.string()));
                     vm.define_global("WINDOW", Value::small_int(s.engines.window));
                   },
                   [&s](Vm& vm, bool& ok) { return compare_bridge(vm, s.bridge, ok); }});
  reports_.clear();
  for (const ScriptSpec& spec : specs) {
    const auto& only = options_.only;
    if (!only.empty() && std::find(only.begin(), only.end(), spec.name) == only.end()) continue;
    reports_.push_back(run_script(spec, s.dir));
  }
  ran_ = true;
}

profiler::CheckResult ScriptsWorkload::check() const {
  if (!ran_) return {false, std::string(kName) + ": not run"};
  std::ostringstream detail;
  bool passed = true;
  for (const ScriptReport& r : reports_) {
    if (!r.passed) {
      passed = false;
      detail << "FAILED " << r.detail << "; ";
      continue;
    }
    char rate[224];
    std::snprintf(rate, sizeof rate,
                  "%.3f s (CPU %.3f s), %.3g %s/s, %.1f M instructions (%.0f M/s), %llu GCs (%.1f ms), heap peak "
                  "%.1f MiB",
                  r.seconds, r.cpu_seconds, static_cast<double>(r.items) / std::max(r.seconds, 1e-9), r.unit,
                  static_cast<double>(r.instructions) / 1e6,
                  static_cast<double>(r.instructions) / 1e6 / std::max(r.seconds, 1e-9),
                  static_cast<unsigned long long>(r.gc_collections), static_cast<double>(r.gc_nanoseconds) / 1e6,
                  static_cast<double>(r.heap_peak_bytes) / (1 << 20));
    detail << r.name << ": " << r.detail << " [" << rate << "]; ";
  }
  std::string text = detail.str();
  if (text.size() >= 2) text.resize(text.size() - 2);
  return {passed, text};
}

std::vector<std::filesystem::path> ScriptsWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                               const std::filesystem::path& dir) const {
  if (!state_) throw Error(Error::Kind::InvalidArgument, std::string(kName) + ": save_input() before prepare()");
  // One CSV: the header once, then every shard's rows.
  std::string text = std::string(kHeader) + "\n";
  text.reserve(state_->csv_bytes);
  for (const auto& file : state_->shards) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(Error::Kind::Io, std::string(kName) + ": cannot read '" + file.string() + "'");
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (!header) text.append(line).push_back('\n');
      header = false;
    }
  }
  auto path = profiler::input_file(dir, kName, ctx.size);
  profiler::write_data_file(path, kKind, state_->seed, std::as_bytes(std::span(text.data(), text.size())));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "mcode",
                "M-CODE scripts: group-by over a sharded sales CSV (read_lines, split, maps), word frequencies "
                "(pure language), tmath matmul+softmax, mprime diff, qlogik queries, nexus.parallel_map, echo "
                "timelines and paradoxes, bridge HMM inference; each result checked against the same computation "
                "in C++",
                [] { return std::make_unique<ScriptsWorkload>(); }});
}

}  // namespace miso::mcode
