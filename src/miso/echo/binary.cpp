// Timeline files in binary (".echo"); the layout table is in docs/echo-format.md.
//
// Everything little-endian, fixed-size records, 8-byte aligned sections:
//   header (168 bytes): "MISOECHO", version, header size, file size, checksum,
//     unit, then (count, offset) for each of the eight sections below
//   nodes        40 bytes: time, probability, name, type, attribute range, effect range
//   attributes   16 bytes: key, kind, number bits or text
//   effects       8 bytes: fluent, kind
//   strings      16 bytes: offset and length in the text bytes
//   text bytes    1 byte each
//   branches     32 bytes: name, parent, fork node, first node, node count
//   links        16 bytes: cause, effect (node indices)
//   constraints  48 bytes: from, to, lo, hi, weight, label
// The checksum covers the whole file with its own field read as zero, so any
// changed byte is caught; then every count, offset, range and index is checked
// against the file before it is used.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/hash.hpp"
#include "miso/echo/format.hpp"
#include "miso/echo/format_detail.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

namespace {

constexpr char kMagic[8] = {'M', 'I', 'S', 'O', 'E', 'C', 'H', 'O'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kNone = ~std::uint32_t{0};  // no string (an unnamed node)
constexpr std::uint64_t kNoIndex = ~std::uint64_t{0};

// Header fields' offsets.
constexpr std::size_t kVersionAt = 8, kHeaderSizeAt = 12, kFileSizeAt = 16, kChecksumAt = 24, kUnitAt = 32;
constexpr std::size_t kSectionsAt = 40;

enum Section : std::size_t { Nodes, Attributes, Effects, Strings, Bytes, Branches, Links, Constraints, kSections };
constexpr std::array<std::uint64_t, kSections> kRecord = {40, 16, 8, 16, 1, 32, 16, 48};
constexpr std::array<const char*, kSections> kSectionName = {"nodes",      "attributes", "effects", "strings",
                                                             "text bytes", "branches",   "links",   "constraints"};
constexpr std::size_t kHeaderSize = kSectionsAt + 16 * kSections;

// ------------------------------------------------------------------ writing

class Writer {
 public:
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void bytes(std::string_view s) { out_.append(s); }
  void align() {
    while (out_.size() % 8 != 0) out_.push_back('\0');
  }
  void put_u64(std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  std::size_t size() const { return out_.size(); }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

class StringTable {
 public:
  std::uint32_t add(const std::string& s) {
    auto [it, fresh] = index_.emplace(s, static_cast<std::uint32_t>(texts_.size()));
    if (fresh) {
      if (texts_.size() >= kNone - 1) throw Error(Error::Kind::InvalidArgument, "save_binary: too many strings");
      texts_.push_back(s);
    }
    return it->second;
  }
  const std::vector<std::string>& texts() const { return texts_; }

 private:
  std::unordered_map<std::string, std::uint32_t> index_;
  std::vector<std::string> texts_;
};

std::uint64_t file_checksum(std::string_view file) {
  core::Checksum sum;
  auto feed = [&](std::size_t from, std::size_t to) {
    sum.update(std::as_bytes(std::span<const char>(file.data() + from, to - from)));
  };
  feed(0, kChecksumAt);
  constexpr std::array<std::byte, 8> kZero{};
  sum.update(kZero);
  feed(kChecksumAt + 8, file.size());
  return sum.value();
}

std::string encode(const World& world) {
  const detail::Layout layout = detail::layout_of(world);
  StringTable strings;
  const std::uint32_t unit = strings.add(world.unit());
  auto u32_count = [](std::size_t n, const char* what) {
    if (n >= kNone) throw Error(Error::Kind::InvalidArgument, std::string("save_binary: too many ") + what);
    return static_cast<std::uint32_t>(n);
  };

  Writer nodes, attributes, effects;
  std::size_t attribute_count = 0, effect_count = 0;
  for (const NodeId id : layout.order) {
    const NodeView v = world.node(id);
    const std::string name = detail::external_name(world, id);
    nodes.i64(v.time);
    nodes.f64(v.probability);
    nodes.u32(name.empty() ? kNone : strings.add(name));
    nodes.u32(strings.add(world.text(v.type)));
    nodes.u32(u32_count(attribute_count, "attributes"));
    nodes.u32(u32_count(v.attributes.size(), "attributes"));
    nodes.u32(u32_count(effect_count, "effects"));
    nodes.u32(u32_count(v.effects.size(), "effects"));
    for (const Attribute& a : v.attributes) {
      attributes.u32(strings.add(world.text(a.key)));
      if (a.value.kind == Value::Kind::Text) {
        attributes.u32(1);
        attributes.u64(strings.add(world.text(a.value.text)));
      } else {
        attributes.u32(0);
        attributes.f64(a.value.number);
      }
    }
    for (const FluentEffect& e : v.effects) {
      effects.u32(strings.add(world.text(e.fluent)));
      effects.u32(static_cast<std::uint32_t>(e.effect));
    }
    attribute_count += v.attributes.size();
    effect_count += v.effects.size();
  }
  u32_count(attribute_count, "attributes");
  u32_count(effect_count, "effects");

  Writer branches;
  for (const detail::BranchLayout& bl : layout.branches) {
    branches.u32(strings.add(world.branch_name(bl.id)));
    branches.u32(world.parent(bl.id));
    branches.u64(bl.fork == kNoNode ? kNoIndex : layout.index.at(bl.fork));
    branches.u64(bl.first_index);
    branches.u64(bl.own_count);
  }
  Writer links;
  for (const CausalLink& l : world.links()) {
    links.u64(layout.index.at(l.cause));
    links.u64(layout.index.at(l.effect));
  }
  Writer constraints;
  for (const TemporalConstraint& c : world.constraints()) {
    constraints.u64(layout.index.at(c.from));
    constraints.u64(layout.index.at(c.to));
    constraints.i64(c.lo);
    constraints.i64(c.hi);
    constraints.f64(c.weight);
    constraints.u32(strings.add(c.label));
    constraints.u32(0);
  }
  Writer table, text;
  for (const std::string& s : strings.texts()) {
    table.u64(text.size());
    table.u64(s.size());
    text.bytes(s);
  }

  const std::array<std::pair<Writer*, std::uint64_t>, kSections> sections = {{
      {&nodes, layout.order.size()},
      {&attributes, attribute_count},
      {&effects, effect_count},
      {&table, strings.texts().size()},
      {&text, text.size()},
      {&branches, layout.branches.size()},
      {&links, world.links().size()},
      {&constraints, world.constraints().size()},
  }};
  Writer file;
  file.bytes(std::string_view(kMagic, 8));
  file.u32(kVersion);
  file.u32(static_cast<std::uint32_t>(kHeaderSize));
  file.u64(0);  // file size, below
  file.u64(0);  // checksum, below
  file.u32(unit);
  file.u32(0);
  const std::size_t table_at = file.size();
  for (std::size_t s = 0; s < kSections; ++s) {
    file.u64(sections[s].second);
    file.u64(0);  // offset, below
  }
  for (std::size_t s = 0; s < kSections; ++s) {
    file.align();
    file.put_u64(table_at + 16 * s + 8, file.size());
    file.bytes(sections[s].first->text());
  }
  file.align();
  file.put_u64(kFileSizeAt, file.size());
  file.put_u64(kChecksumAt, file_checksum(file.text()));
  return std::move(file.text());
}

// ------------------------------------------------------------------ reading

// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw Error(Error::Kind::Io, path.string() + ": cannot open: " + system_error_text(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int e = errno;
      ::close(fd_);
      throw Error(Error::Kind::Io, path.string() + ": cannot read its size: " + system_error_text(e));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) return;  // mmap refuses empty files; the size check reports it
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd_);
      throw Error(Error::Kind::Io, path.string() + ": cannot map: " + system_error_text(e));
    }
    data_ = static_cast<const char*>(p);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

class Reader {
 public:
  Reader(std::string_view file, std::string source) : f_(file), source_(std::move(source)) {}

  World read() {
    check_header();
    World world;
    guard(kUnitAt, "unit", [&] { world.set_unit(std::string(string_at(u32(kUnitAt), kUnitAt, "unit"))); });

    // Branches: their node ranges must tile the node records in order.
    const std::uint64_t branch_count = count_[Branches];
    if (branch_count == 0) fail(offset_[Branches], "there must be at least the branch 'main'");
    std::vector<NodeId> ids;  // node index -> id in the new world
    ids.reserve(count_[Nodes]);
    std::uint64_t next_node = 0;
    for (std::uint64_t b = 0; b < branch_count; ++b) {
      const std::size_t at = record(Branches, b);
      const std::string what = "branch " + std::to_string(b);
      const std::string_view name = string_at(u32(at), at, what);
      const std::uint32_t parent = u32(at + 4);
      const std::uint64_t fork = u64(at + 8);
      const std::uint64_t first = u64(at + 16);
      const std::uint64_t count = u64(at + 24);
      BranchId branch = 0;
      if (b == 0) {
        if (name != "main" || parent != 0 || fork != kNoIndex) fail(at, what + ": the first branch must be 'main'");
      } else {
        if (parent >= b) fail(at + 4, what + ": parent " + std::to_string(parent) + " is not an earlier branch");
        if (fork != kNoIndex && fork >= next_node) {
          fail(at + 8, what + ": fork node " + std::to_string(fork) + " is not an earlier node");
        }
        branch = guard(at, what,
                       [&] { return world.fork(parent, fork == kNoIndex ? kNoNode : ids[fork], std::string(name)); });
      }
      if (first != next_node || count > count_[Nodes] - next_node) {
        fail(at + 16, what + ": nodes [" + std::to_string(first) + ", +" + std::to_string(count) +
                          ") do not follow the previous branch's within " + std::to_string(count_[Nodes]) + " nodes");
      }
      for (std::uint64_t k = first; k < first + count; ++k) ids.push_back(node(world, branch, k));
      next_node = first + count;
    }
    if (next_node != count_[Nodes]) {
      fail(offset_[Branches],
           "the branches hold " + std::to_string(next_node) + " of the " + std::to_string(count_[Nodes]) + " nodes");
    }

    for (std::uint64_t i = 0; i < count_[Links]; ++i) {
      const std::size_t at = record(Links, i);
      const std::string what = "link " + std::to_string(i);
      const CausalLink link{node_id(ids, u64(at), at, what), node_id(ids, u64(at + 8), at + 8, what)};
      guard(at, what, [&] { return world.add_link(link); });
    }
    for (std::uint64_t i = 0; i < count_[Constraints]; ++i) {
      const std::size_t at = record(Constraints, i);
      const std::string what = "constraint " + std::to_string(i);
      TemporalConstraint c;
      c.from = node_id(ids, u64(at), at, what);
      c.to = node_id(ids, u64(at + 8), at + 8, what);
      c.lo = static_cast<Tick>(u64(at + 16));
      c.hi = static_cast<Tick>(u64(at + 24));
      c.weight = std::bit_cast<double>(u64(at + 32));
      c.label = std::string(string_at(u32(at + 40), at + 40, what));
      if (u32(at + 44) != 0) fail(at + 44, what + ": reserved field is not zero");
      if (c.lo < kNegInf || c.hi > kPosInf || c.lo > c.hi) fail(at + 16, what + ": bad bounds");
      guard(at, what, [&] { return world.add_constraint(std::move(c)); });
    }
    return world;
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw Error(Error::Kind::Format, source_ + ": byte " + std::to_string(offset) + ": " + message);
  }
  template <typename F>
  auto guard(std::size_t offset, const std::string& what, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Error& e) {
      fail(offset, what + ": " + e.what());
    }
  }

  // Callers have checked that [at, at + 4/8) lies within the file.
  std::uint32_t u32(std::size_t at) const {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(f_[at + i])) << (8 * i);
    return v;
  }
  std::uint64_t u64(std::size_t at) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(f_[at + i])) << (8 * i);
    return v;
  }

  void check_header() {
    if (f_.size() < kHeaderSize) {
      fail(f_.size(), "the file is " + std::to_string(f_.size()) + " bytes, shorter than the " +
                          std::to_string(kHeaderSize) + "-byte header (truncated?)");
    }
    if (std::memcmp(f_.data(), kMagic, 8) != 0) fail(0, "not an ECHO timeline file (bad magic)");
    if (u32(kVersionAt) != kVersion) {
      fail(kVersionAt,
           "unsupported version " + std::to_string(u32(kVersionAt)) + " (expected " + std::to_string(kVersion) + ")");
    }
    if (u32(kHeaderSizeAt) != kHeaderSize)
      fail(kHeaderSizeAt, "unexpected header size " + std::to_string(u32(kHeaderSizeAt)));
    if (u64(kFileSizeAt) != f_.size()) {
      fail(kFileSizeAt, "the header says " + std::to_string(u64(kFileSizeAt)) + " bytes but the file has " +
                            std::to_string(f_.size()) + " (truncated or extended)");
    }
    if (u64(kChecksumAt) != file_checksum(f_)) fail(kChecksumAt, "checksum mismatch: the file is corrupt");
    if (u32(kUnitAt + 4) != 0) fail(kUnitAt + 4, "reserved field is not zero");
    for (std::size_t s = 0; s < kSections; ++s) {
      const std::size_t at = kSectionsAt + 16 * s;
      count_[s] = u64(at);
      offset_[s] = u64(at + 8);
      if (offset_[s] < kHeaderSize || offset_[s] > f_.size() || count_[s] > (f_.size() - offset_[s]) / kRecord[s]) {
        fail(at, std::string("section '") + kSectionName[s] + "' (" + std::to_string(count_[s]) + " records at " +
                     std::to_string(offset_[s]) + ") lies outside the file");
      }
    }
  }

  std::size_t record(Section s, std::uint64_t i) const { return static_cast<std::size_t>(offset_[s] + i * kRecord[s]); }

  std::string_view string_at(std::uint32_t index, std::size_t at, const std::string& what) const {
    if (index >= count_[Strings]) {
      fail(at,
           what + ": string " + std::to_string(index) + " is not in the table of " + std::to_string(count_[Strings]));
    }
    const std::size_t entry = record(Strings, index);
    const std::uint64_t begin = u64(entry), length = u64(entry + 8);
    if (begin > count_[Bytes] || length > count_[Bytes] - begin) {
      fail(entry, "string " + std::to_string(index) + " lies outside the text bytes");
    }
    return f_.substr(static_cast<std::size_t>(offset_[Bytes] + begin), static_cast<std::size_t>(length));
  }

  Symbol symbol(World& world, std::uint32_t index, std::size_t at, const std::string& what) const {
    return world.intern(string_at(index, at, what));
  }

  NodeId node_id(const std::vector<NodeId>& ids, std::uint64_t index, std::size_t at, const std::string& what) const {
    if (index >= ids.size()) fail(at, what + ": node " + std::to_string(index) + " does not exist");
    return ids[index];
  }

  // Appends node record k to the branch.
  NodeId node(World& world, BranchId branch, std::uint64_t k) const {
    const std::size_t at = record(Nodes, k);
    const std::string what = "node " + std::to_string(k);
    NodeSpec spec;
    spec.time = static_cast<Tick>(u64(at));
    spec.probability = std::bit_cast<double>(u64(at + 8));
    const std::uint32_t name_index = u32(at + 16);
    const std::string_view name = name_index == kNone ? std::string_view() : string_at(name_index, at + 16, what);
    if (name_index != kNone && name.empty()) fail(at + 16, what + ": empty name");
    spec.type = symbol(world, u32(at + 20), at + 20, what);
    const std::uint64_t a_first = u32(at + 24), a_count = u32(at + 28);
    const std::uint64_t e_first = u32(at + 32), e_count = u32(at + 36);
    if (a_first > count_[Attributes] || a_count > count_[Attributes] - a_first) {
      fail(at + 24, what + ": attributes out of range");
    }
    if (e_first > count_[Effects] || e_count > count_[Effects] - e_first)
      fail(at + 32, what + ": effects out of range");
    std::vector<Attribute> attributes(a_count);
    for (std::uint64_t i = 0; i < a_count; ++i) {
      const std::size_t ra = record(Attributes, a_first + i);
      Attribute& a = attributes[i];
      a.key = symbol(world, u32(ra), ra, what);
      const std::uint32_t kind = u32(ra + 4);
      if (kind == 0) {
        a.value = Value::of(std::bit_cast<double>(u64(ra + 8)));
      } else if (kind == 1) {
        const std::uint64_t text = u64(ra + 8);
        if (text >= kNone) fail(ra + 8, what + ": bad text index");
        a.value = Value::text_of(symbol(world, static_cast<std::uint32_t>(text), ra + 8, what));
      } else {
        fail(ra + 4, what + ": unknown attribute kind " + std::to_string(kind));
      }
    }
    std::vector<FluentEffect> effects(e_count);
    for (std::uint64_t i = 0; i < e_count; ++i) {
      const std::size_t re = record(Effects, e_first + i);
      const std::uint32_t kind = u32(re + 4);
      if (kind > static_cast<std::uint32_t>(Effect::Requires)) fail(re + 4, what + ": unknown effect kind");
      effects[i] = FluentEffect{symbol(world, u32(re), re, what), static_cast<Effect>(kind)};
    }
    spec.attributes = attributes;
    spec.effects = effects;
    return guard(at, what, [&] { return world.append(branch, spec, name); });
  }

  std::string_view f_;
  std::string source_;
  std::array<std::uint64_t, kSections> count_{};
  std::array<std::uint64_t, kSections> offset_{};
};

}  // namespace

void save_binary(const World& world, const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("echo.save_binary");
  const std::string bytes = encode(world);
  core::write_file_atomic(path, bytes);  // a temporary file renamed into place: never half-written
}

World load_binary(const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("echo.load_binary");
  const MappedFile file(path);
  return Reader(file.bytes(), path.string()).read();
}

World load_world(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".echo") return load_binary(path);
  if (ext == ".json") {
    MISO_PROFILE_SCOPE("echo.load_json");
    return parse_json(core::read_file(path), path.string());
  }
  throw Error(Error::Kind::InvalidArgument,
              path.string() + ": unknown timeline file extension '" + ext + "' (expected .json or .echo)");
}

void save_world(const World& world, const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".echo") return save_binary(world, path);
  if (ext == ".json") {
    MISO_PROFILE_SCOPE("echo.save_json");
    core::write_file_atomic(path, to_json(world));
    return;
  }
  throw Error(Error::Kind::InvalidArgument,
              path.string() + ": unknown timeline file extension '" + ext + "' (expected .json or .echo)");
}

}  // namespace miso::echo
