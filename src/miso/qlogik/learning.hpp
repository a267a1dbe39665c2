// Parameter learning: the CPTs of a network of known structure from complete
// data, a CSV table with one column per variable and state names as cells.
//
// Counting streams: the input is read in blocks of kCsvBlock bytes and each
// complete record is counted and dropped, so memory is bounded by the counts
// (one per CPT entry) and the longest record, never by the file (a gigabyte of
// CSV is fine). Cells are views into the read buffer and map to state indices
// through a small per-column hash table, so a cell costs one short hash and no
// allocation.
//
// CSV dialect (RFC 4180 with leniencies): the first non-blank record is a
// header of variable names, in any order; every variable of the structure
// needs exactly one column, and a column naming no variable is an error. Cells
// are separated by ',', records by "\n" or "\r\n"; a cell may be quoted with
// '"' (a quote doubled inside, commas and line breaks allowed). Blanks around
// unquoted cells are trimmed; blank lines are skipped. Every problem throws
// Error(Format) located as "source:line:column:" (the column of the cell, in
// bytes from 1) that names the cell, the variable and what was expected.
//
// Estimates, for variable i with r_i states and q_i parent configurations,
// N_ijk the count of state k in parent configuration j and N_ij = sum_k N_ijk:
//   MaximumLikelihood  theta_ijk = N_ijk / N_ij; a row with N_ij = 0 is uniform.
//   Dirichlet          theta_ijk = (N_ijk + a) / (N_ij + r_i a), a = pseudo_count
//                      (a = 0 is maximum likelihood).
//   BDeu               theta_ijk = (N_ijk + s / (q_i r_i)) / (N_ij + s / q_i),
//                      s = equivalent_sample_size (> 0).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

inline constexpr std::size_t kCsvBlock = std::size_t{1} << 20;

enum class Prior { MaximumLikelihood, Dirichlet, BDeu };

struct LearningOptions {
  Prior prior = Prior::MaximumLikelihood;
  double pseudo_count = 1.0;            // Dirichlet: added to every cell
  double equivalent_sample_size = 1.0;  // BDeu
};

struct LearningStats {
  std::uint64_t rows = 0;   // data records counted (the header excluded)
  std::uint64_t bytes = 0;  // bytes read
  double seconds = 0;       // wall time of the whole call
};

// Learns the CPTs of `structure` (same variables, states, parents, names and
// properties; its own probabilities are ignored) from `csv`. `source` names the
// input in error messages. Throws Error(InvalidArgument) for a cyclic structure
// or a negative or non-finite pseudo_count / non-positive equivalent_sample_size,
// Error(Format) for malformed CSV (see above), Error(Io) when reading fails.
Network learn_parameters(const Network& structure, std::istream& csv, const LearningOptions& options = {},
                         LearningStats* stats = nullptr, const std::string& source = "<csv>");
// The same from a file; Error(Io) naming the path when it cannot be opened.
Network learn_parameters_file(const Network& structure, const std::string& path, const LearningOptions& options = {},
                              LearningStats* stats = nullptr);

}  // namespace miso::qlogik
