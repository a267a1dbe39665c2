// Network files: BIF (the text format of the bnlearn repository, as pgmpy and
// bnlearn write it) and XMLBIF 0.3 (the XML format of JavaBayes, Weka and pgmpy).
//
// Readers take the whole text and a source name for messages. Every problem is
// an Error(Format) that starts "source:line:column:" and says what was expected
// and what was found; after parsing, Network::validate() runs (rows summing to 1,
// no cycle) and its message is rethrown as Error(Format) prefixed with the source.
// Writers emit text that the matching reader turns back into an identical
// network: same names, states, properties, parent order and bit-identical
// probabilities (printed in the shortest form that reads back exactly). Output
// is deterministic: variables and rows in the network's order.
//
// BIF dialect (bnlearn/pgmpy; the Interchange Format 0.15 blocks):
//   network NAME { property TEXT; ... }
//   variable X { type discrete [ 2 ] { s1, s2 }; property TEXT; ... }
//   probability ( X | P1, P2 ) { (p1state, p2state) 0.1, 0.9; ... default 0.5, 0.5; }
//   probability ( X ) { table 0.2, 0.8; }
// Names are words (any run of characters other than blanks and { } ( ) [ ] , ; | ")
// or "quoted strings" with \" and \\ escapes; // and /* */ comments are blanks.
// A row is placed by its parent states, so rows may come in any order; a missing
// row (unless a `default` row covers it) or a repeated one is an error. A
// `table` in a block with parents lists the child's state slowest, as pgmpy's
// BIFWriter writes it. A property's TEXT is the raw text up to ';' (trimmed);
// properties inside probability blocks are accepted and dropped (a CPT has none).
// Blocks may come in any order; every variable needs exactly one probability block.
//
// XMLBIF 0.3: <BIF VERSION="0.3"><NETWORK><NAME/><PROPERTY/>* <VARIABLE TYPE="nature">
// <NAME/><OUTCOME/>+<PROPERTY/>*</VARIABLE>* <DEFINITION><FOR/><GIVEN/>*<TABLE/>
// </DEFINITION>*</NETWORK></BIF>. TABLE lists P(FOR | GIVEN...) with the FOR
// variable's state fastest and the GIVEN variables in their order, the last
// fastest, i.e. exactly a Cpt's layout (the spec's dog-problem example:
// dog-out | bowel-problem, family-out is "0.99 0.01 0.97 0.03 0.9 0.1 0.3 0.7").
// Text is trimmed; a DEFINITION's PROPERTY is dropped, like a BIF probability
// block's. Decision and utility variables are rejected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

Network read_bif(std::string_view text, const std::string& source = "<bif>");
// Throws Error(InvalidArgument) for a property BIF cannot hold (one with a ';'
// outside quotes, unbalanced quotes, or surrounding blanks).
std::string write_bif(const Network& net);

Network read_xmlbif(std::string_view text, const std::string& source = "<xmlbif>");
// Throws Error(InvalidArgument) for a name, state or property with surrounding
// blanks (the reader trims them).
std::string write_xmlbif(const Network& net);

// By extension: .bif is BIF, .xml and .xmlbif are XMLBIF; any other file is
// XMLBIF when its text starts (after blanks) with "<?xml" or "<BIF", else BIF.
// Throws Error(Io) naming the path when the file cannot be read.
Network load_network(const std::string& path);
// By extension as above (Error(InvalidArgument) for another one); the file is
// written to a temporary name and renamed into place.
void save_network(const Network& net, const std::string& path);

namespace detail {
// The largest CPT a reader accepts (512 MiB of doubles): a few bytes of text
// naming many parents must not make a reader allocate without bound.
inline constexpr std::int64_t kMaxTableEntries = std::int64_t{1} << 26;
// Shared by the two formats. Appends the shortest text std::from_chars reads back as p.
void append_probability(std::string& out, double p);
// 1-based line and column (in bytes) of a byte offset into text.
std::pair<int, int> line_column(std::string_view text, std::size_t offset);
// "source:line:column: message" for a byte offset into text (computed only on
// errors: the readers carry offsets, not line counters).
std::string located_at(const std::string& source, std::string_view text, std::size_t offset,
                       const std::string& message);
// Parses a whole word as a double (a leading '+' allowed); false when it is not one.
bool parse_probability(std::string_view word, double& out);
}  // namespace detail

}  // namespace miso::qlogik
