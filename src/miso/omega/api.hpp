// The computations behind both the `miso` commands and the HTTP API (server.cpp) that
// return JSON: a Q-Logik query, an ECHO-PRIME check and MPRIME operations. One place
// builds each answer, so `miso qlogik query --json` and POST /api/qlogik/query agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/echo/paradox.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::omega {

// ---- Q-Logik ----------------------------------------------------------------------

struct QlogikQuery {
  qlogik::Evidence evidence;         // sized to the network; empty: no evidence
  std::vector<qlogik::VarId> query;  // empty: every unobserved variable
  std::string method = "jt";         // jt | ve | enumerate | lw | gibbs | bp
  std::uint64_t samples = 100000;    // lw, gibbs
  std::uint64_t seed = 1;            // lw, gibbs
};

struct QlogikAnswer {
  std::string method;
  std::vector<qlogik::VarId> query;  // the variables answered, in order
  double p_evidence = 0;
  bool p_evidence_known = true;            // false for gibbs and bp
  bool impossible = false;                 // P(evidence) = 0: no posterior exists
  std::vector<std::vector<double>> p;      // per variable of the network (indexed by VarId)
  std::vector<std::vector<double>> error;  // standard errors (lw, gibbs), else empty
  nlohmann::json details = nlohmann::json::object();
};

// Posterior marginals; Error(InvalidArgument) for an unknown method.
QlogikAnswer qlogik_query(const qlogik::Network& net, const QlogikQuery& query);
// {"p_evidence", "marginals": {var: {state: p}}, "method", "impossible_evidence"?,
//  "standard_error"?, "details"?} (the document `miso qlogik query --json` prints).
nlohmann::json to_json(const qlogik::Network& net, const QlogikAnswer& answer);

// ---- ECHO-PRIME -------------------------------------------------------------------

// {"kind", "constraints", "links", "nodes", "branches", "message"}
nlohmann::json paradox_json(const echo::World& world, const echo::Paradox& paradox);
// {"consistent", "paradoxes": [...]} (the document `miso echo check --json` prints).
nlohmann::json check_json(const echo::World& world, const echo::CheckReport& report);

// ---- MPRIME -----------------------------------------------------------------------

// One of simplify|expand|factor|diff|integrate|series|limit|solve|eval|latex on `text`.
struct MprimeRequest {
  std::string text;
  std::string var;  // the variable (solve: comma-separated unknowns)
  std::optional<long> order;
  std::string at;  // "x=1.5,y=2" (eval) or the point "x=a" / "a" (series, limit)
  std::string from, to;
  std::string dir;  // "+" | "-" | ""
  std::optional<int> digits;
  int max_digits = 100000;  // the API lowers it
};

struct MprimeAnswer {
  // {"input", "result"} | eval: {"input", "value", "digits"?} | solve: {"input", "solutions"}
  nlohmann::json json;
  std::string text;  // what `miso mprime OP TEXT` prints (without a final newline)
};

// The operations, in the order `miso mprime --help` lists them.
const std::vector<std::string>& mprime_operations();
// Error(InvalidArgument) for an unknown operation or a bad option (naming it); parse
// errors of the expression as the parser reports them.
MprimeAnswer mprime_operation(std::string_view operation, const MprimeRequest& request);

}  // namespace miso::omega
