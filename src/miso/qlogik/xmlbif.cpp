// XMLBIF 0.3 reading and writing (see format.hpp) with pugixml. Positions in
// messages come from pugixml: the parse result's offset for XML that is not
// well-formed, a node's offset_debug() for content that is wrong.
#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/format.hpp"

namespace miso::qlogik {

namespace {

bool xml_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && xml_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && xml_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool named(pugi::xml_node node, const char* name) { return std::string_view(node.name()) == name; }

class XmlBifReader {
 public:
  XmlBifReader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Network read() {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed =
        doc.load_buffer(text_.data(), text_.size(), pugi::parse_default, pugi::encoding_auto);
    if (!parsed) {
      fail_at(static_cast<std::size_t>(parsed.offset), std::string("XML is not well-formed: ") + parsed.description());
    }
    const pugi::xml_node root = doc.document_element();
    if (!named(root, "BIF")) fail(root, "expected the root element <BIF>, found <" + std::string(root.name()) + ">");
    pugi::xml_node network;
    for (pugi::xml_node n : root.children()) {
      if (n.type() != pugi::node_element) continue;
      if (!named(n, "NETWORK")) fail(n, "unexpected element <" + std::string(n.name()) + "> in <BIF>");
      if (network) fail(n, "a second <NETWORK> (a file holds one network)");
      network = n;
    }
    if (!network) fail(root, "<BIF> has no <NETWORK>");

    // Variables first, then definitions: XMLBIF allows them in any order.
    std::vector<pugi::xml_node> variables;
    bool has_name = false;
    for (pugi::xml_node n : network.children()) {
      if (n.type() != pugi::node_element) continue;
      if (named(n, "NAME")) {
        if (has_name) fail(n, "a second <NAME> in <NETWORK>");
        has_name = true;
        net_.set_name(std::string(text_of(n)));
      } else if (named(n, "PROPERTY")) {
        net_.properties().emplace_back(text_of(n));
      } else if (named(n, "VARIABLE")) {
        variable(n);
        variables.push_back(n);
      } else if (!named(n, "DEFINITION")) {
        fail(n, "unexpected element <" + std::string(n.name()) + "> in <NETWORK>");
      }
    }
    std::vector<pugi::xml_node> definition_of(net_.size());
    for (pugi::xml_node n : network.children("DEFINITION")) definition(n, definition_of);
    for (std::size_t v = 0; v < net_.size(); ++v) {
      if (!definition_of[v]) {
        fail(variables[v], "variable '" + net_.variable(static_cast<VarId>(v)).name + "' has no <DEFINITION>");
      }
    }
    try {
      net_.validate();
    } catch (const Error& e) {
      throw Error(Error::Kind::Format, source_ + ": " + e.what());
    }
    return std::move(net_);
  }

 private:
  [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const {
    throw Error(Error::Kind::Format, detail::located_at(source_, text_, offset, message));
  }
  // The offset of the element's '<' (offset_debug() gives its name's).
  std::size_t offset_of(pugi::xml_node node) const {
    const std::ptrdiff_t at = node.offset_debug();
    std::size_t offset = at < 0 ? 0 : static_cast<std::size_t>(at);
    if (offset > 0 && offset <= text_.size() && text_[offset - 1] == '<') --offset;
    return offset;
  }
  [[noreturn]] void fail(pugi::xml_node node, const std::string& message) const { fail_at(offset_of(node), message); }

  static std::string_view text_of(pugi::xml_node node) { return trim(node.text().get()); }

  // The one child element `name` of node (an error when absent or repeated).
  pugi::xml_node only_child(pugi::xml_node node, const char* name) const {
    pugi::xml_node found = node.child(name);
    if (!found) fail(node, "<" + std::string(node.name()) + "> has no <" + name + ">");
    if (found.next_sibling(name)) fail(found.next_sibling(name), "a second <" + std::string(name) + ">");
    return found;
  }

  // <VARIABLE TYPE="nature"><NAME/><OUTCOME/>+<PROPERTY/>*</VARIABLE>
  void variable(pugi::xml_node node) {
    const std::string_view type = node.attribute("TYPE").as_string("nature");
    if (type != "nature") {
      fail(node, "variable of TYPE \"" + std::string(type) + "\": only \"nature\" (chance) variables are supported");
    }
    const std::string name(text_of(only_child(node, "NAME")));
    std::vector<std::string> states;
    std::vector<std::string> properties;
    for (pugi::xml_node n : node.children()) {
      if (n.type() != pugi::node_element || named(n, "NAME")) continue;
      if (named(n, "OUTCOME"))
        states.emplace_back(text_of(n));
      else if (named(n, "PROPERTY"))
        properties.emplace_back(text_of(n));
      else
        fail(n, "unexpected element <" + std::string(n.name()) + "> in variable '" + name + "'");
    }
    try {
      const VarId v = net_.add_variable(name, std::move(states));
      net_.variable(v).properties = std::move(properties);
    } catch (const Error& e) {
      fail(node, e.what());
    }
  }

  VarId lookup(pugi::xml_node node, const char* role) const {
    const std::string_view name = text_of(node);
    const VarId v = net_.find(name);
    if (v < 0) fail(node, std::string(role) + " '" + std::string(name) + "' is not a declared variable");
    return v;
  }

  // <DEFINITION><FOR/><GIVEN/>*<TABLE/></DEFINITION>
  void definition(pugi::xml_node node, std::vector<pugi::xml_node>& definition_of) {
    const VarId child = lookup(only_child(node, "FOR"), "<FOR>");
    const std::string& cname = net_.variable(child).name;
    pugi::xml_node& seen = definition_of[static_cast<std::size_t>(child)];
    if (seen) {
      const auto [line, column] = detail::line_column(text_, offset_of(seen));
      fail(node, "a second <DEFINITION> for '" + cname + "' (the first is at " + std::to_string(line) + ":" +
                     std::to_string(column) + ")");
    }
    seen = node;
    std::vector<VarId> parents;
    std::size_t rows = 1;
    for (pugi::xml_node n : node.children()) {
      // A definition's PROPERTY is dropped: a CPT has none.
      if (n.type() != pugi::node_element || named(n, "FOR") || named(n, "TABLE") || named(n, "PROPERTY")) continue;
      if (!named(n, "GIVEN"))
        fail(n, "unexpected element <" + std::string(n.name()) + "> in the definition of '" + cname + "'");
      parents.push_back(lookup(n, "<GIVEN>"));
      rows *= static_cast<std::size_t>(net_.cardinality(parents.back()));
      if (static_cast<std::int64_t>(rows) * net_.cardinality(child) > detail::kMaxTableEntries) {
        fail(n, "the table of '" + cname + "' would have more than " + std::to_string(detail::kMaxTableEntries) +
                    " entries");
      }
    }
    const pugi::xml_node table_node = only_child(node, "TABLE");
    const std::size_t want = rows * static_cast<std::size_t>(net_.cardinality(child));
    std::vector<double> table;
    const std::string_view text = table_node.text().get();
    table.reserve(std::min(want, text.size() / 2 + 1));  // a number and its blank take 2 characters or more
    for (std::size_t i = 0; i < text.size();) {
      if (xml_blank(text[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < text.size() && !xml_blank(text[j])) ++j;
      double p = 0;
      if (!detail::parse_probability(text.substr(i, j - i), p)) {
        fail(table_node, "<TABLE> of '" + cname + "': '" +
                             std::string(text.substr(i, std::min<std::size_t>(j - i, 40))) + "' is not a probability");
      }
      table.push_back(p);
      i = j;
    }
    if (table.size() != want) {
      fail(table_node, "<TABLE> of '" + cname + "' has " + std::to_string(table.size()) + " probabilities, expected " +
                           std::to_string(want) + " (" + std::to_string(rows) + " parent configurations x " +
                           std::to_string(net_.cardinality(child)) + " states)");
    }
    try {
      net_.set_cpt(child, std::move(parents), std::move(table));
    } catch (const Error& e) {
      fail(node, e.what());
    }
  }

  std::string_view text_;
  const std::string& source_;
  Network net_;
};

// Text the reader would trim cannot come back unchanged.
const std::string& checked(const std::string& text, const std::string& what) {
  if (!text.empty() && (xml_blank(text.front()) || xml_blank(text.back()))) {
    throw Error(Error::Kind::InvalidArgument,
                "write_xmlbif: " + what + " '" + text + "' has surrounding blanks, which XMLBIF readers trim");
  }
  return text;
}

void add_text(pugi::xml_node parent, const char* name, const std::string& text, const std::string& what) {
  parent.append_child(name).append_child(pugi::node_pcdata).set_value(checked(text, what).c_str());
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, std::size_t size) override { out.append(static_cast<const char*>(data), size); }
};

}  // namespace

Network read_xmlbif(std::string_view text, const std::string& source) {
  MISO_PROFILE_SCOPE("qlogik.read_xmlbif");
  return XmlBifReader(text, source).read();
}

std::string write_xmlbif(const Network& net) {
  MISO_PROFILE_SCOPE("qlogik.write_xmlbif");
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node bif = doc.append_child("BIF");
  bif.append_attribute("VERSION") = "0.3";
  pugi::xml_node network = bif.append_child("NETWORK");
  add_text(network, "NAME", net.name(), "the network's name");
  for (const std::string& p : net.properties()) add_text(network, "PROPERTY", p, "network property");
  for (std::size_t v = 0; v < net.size(); ++v) {
    const Variable& var = net.variable(static_cast<VarId>(v));
    pugi::xml_node node = network.append_child("VARIABLE");
    node.append_attribute("TYPE") = "nature";
    add_text(node, "NAME", var.name, "variable name");
    for (const std::string& s : var.states) add_text(node, "OUTCOME", s, "state of '" + var.name + "'");
    for (const std::string& p : var.properties) add_text(node, "PROPERTY", p, "property of '" + var.name + "'");
  }
  std::string values;
  for (std::size_t v = 0; v < net.size(); ++v) {
    const Cpt& cpt = net.cpt(static_cast<VarId>(v));
    pugi::xml_node node = network.append_child("DEFINITION");
    node.append_child("FOR")
        .append_child(pugi::node_pcdata)
        .set_value(net.variable(static_cast<VarId>(v)).name.c_str());
    for (VarId p : cpt.parents)
      node.append_child("GIVEN").append_child(pugi::node_pcdata).set_value(net.variable(p).name.c_str());
    values.clear();
    for (std::size_t i = 0; i < cpt.table.size(); ++i) {
      if (i > 0) values += ' ';
      detail::append_probability(values, cpt.table[i]);
    }
    node.append_child("TABLE").append_child(pugi::node_pcdata).set_value(values.c_str());
  }
  StringWriter writer;
  doc.save(writer, "  ", pugi::format_indent, pugi::encoding_utf8);
  return std::move(writer.out);
}

}  // namespace miso::qlogik
