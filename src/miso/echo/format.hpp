// Timeline files (docs/echo-format.md has the schema and examples in data/echo/).
//
// JSON, full form:
//   {"echo": 1, "unit": "ms",
//    "nodes": [{"id": "a", "time": 0, "type": "arrive", "probability": 0.9,
//               "attributes": {"speed": 3.5, "who": "ann"},
//               "initiates": ["present"], "terminates": [], "requires": []}, ...],
//    "branches": [{"name": "alt", "from": "main", "at": "a",
//                  "nodes": [ ...nodes appended to the branch... ]}],
//    "links": [{"cause": "a", "effect": "b"}],
//    "constraints": [{"from": "a", "to": "b", "min": 5, "max": 10, "weight": 2}],
//    "intervals": [{"id": "talk", "start": "a", "end": "b"}],
//    "relations": [{"a": "talk", "relation": "overlaps", "b": "lunch", "weight": 1}]}
// Minimal form (no "echo" key needed): {"nodes": [{"id": "a", "time": 0},
// {"id": "b"}], "constraints": [{"from": "a", "to": "b", "min": 5, "max": 10}]}.
// A node without "time" is free; a constraint without "min"/"max" is open on
// that side; weight defaults to 1. Nodes of one list whose times are out of
// order are appended in time order (free nodes stay after the node they
// follow in the file). World constraint i is the file's constraint i; the
// constraints of Allen relations follow them (label "relation <k>: a r b").
//
// Binary (".echo"): a little-endian header ("MISOECHO", version, counts,
// section offsets, a checksum of the body), then fixed-size node records, the
// attribute/effect arrays, the symbol table, links and constraints. Read by
// memory-mapping the file; every offset and count is checked against the file
// size before use, so a truncated or corrupt file is an error, never a crash.
// Branches are stored as (name, parent, fork node) plus their own nodes.
//
// Errors: Error(Format) naming the file, the position (JSON: line:column of the
// offending value; binary: byte offset) and the node or constraint (by id/index).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "miso/echo/timeline.hpp"

namespace miso::echo {

// JSON text <-> World. `source` names the text in error messages.
World parse_json(std::string_view text, const std::string& source = "<json>");
std::string to_json(const World& world);  // the full form; parse_json(to_json(w)) rebuilds w

// Binary.
void save_binary(const World& world, const std::filesystem::path& path);
World load_binary(const std::filesystem::path& path);

// By extension: ".json" or ".echo" (else Error(InvalidArgument) naming it).
World load_world(const std::filesystem::path& path);
void save_world(const World& world, const std::filesystem::path& path);

// True when two worlds hold the same symbols' texts, branches, nodes (ids,
// names, times, types, probabilities, attributes, effects), links and
// constraints: what the round-trip tests compare.
bool same_world(const World& a, const World& b, std::string* difference = nullptr);

}  // namespace miso::echo
