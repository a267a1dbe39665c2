#include "miso/omega/api.hpp"

#include <charconv>

#include "miso/core/error.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/evaluate.hpp"
#include "miso/mprime/integrate.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"
#include "miso/mprime/series.hpp"
#include "miso/mprime/simplify.hpp"
#include "miso/mprime/solve.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/enumerate.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::omega {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

}  // namespace

// ---- Q-Logik ----------------------------------------------------------------------

QlogikAnswer qlogik_query(const qlogik::Network& net, const QlogikQuery& q) {
  QlogikAnswer m;
  m.method = q.method;
  const qlogik::Evidence ev = q.evidence.empty() ? qlogik::no_evidence(net) : q.evidence;
  if (ev.size() != net.size()) usage("qlogik query: evidence is not sized to the network");
  m.query = q.query;
  if (m.query.empty()) {  // every unobserved variable
    for (std::size_t v = 0; v < net.size(); ++v) {
      if (ev[v] < 0) m.query.push_back(static_cast<qlogik::VarId>(v));
    }
  }
  const std::string& method = q.method;
  if (method == "jt") {
    qlogik::JunctionTree jt(net);
    auto post = jt.query(ev);
    m.p_evidence = post.p_evidence;
    m.p = std::move(post.marginals);
  } else if (method == "ve") {
    auto post = qlogik::variable_elimination(net, ev, m.query);
    m.p_evidence = post.p_evidence;
    m.p = std::move(post.marginals);
  } else if (method == "enumerate") {
    auto e = qlogik::enumerate(net, ev);
    m.p_evidence = e.p_evidence;
    m.p = std::move(e.marginals);
  } else if (method == "lw" || method == "gibbs") {
    qlogik::SamplingOptions so;
    so.samples = q.samples;
    so.seed = q.seed;
    auto a = method == "lw" ? qlogik::likelihood_weighting(net, ev, so) : qlogik::gibbs_sampling(net, ev, so);
    m.p_evidence = a.p_evidence;
    m.p_evidence_known = method == "lw";
    m.p = std::move(a.marginals);
    m.error = std::move(a.standard_error);
    m.details = {{"samples", a.samples}, {"effective_samples", a.effective_samples}, {"seed", q.seed}};
  } else if (method == "bp") {
    auto b = qlogik::loopy_belief_propagation(net, ev);
    m.p_evidence_known = false;
    m.p = std::move(b.marginals);
    m.details = {{"iterations", b.iterations}, {"converged", b.converged}, {"max_change", b.max_change}};
  } else {
    usage("qlogik query: unknown method '" + method + "' (jt, ve, enumerate, lw, gibbs, bp)");
  }
  m.impossible = m.p_evidence_known && m.p_evidence == 0;
  return m;
}

nlohmann::json to_json(const qlogik::Network& net, const QlogikAnswer& m) {
  nlohmann::json out;
  out["p_evidence"] = m.p_evidence_known ? nlohmann::json(m.p_evidence) : nlohmann::json(nullptr);
  nlohmann::json marginals = nlohmann::json::object();
  nlohmann::json errors = nlohmann::json::object();
  for (qlogik::VarId v : m.query) {
    const auto& var = net.variable(v);
    nlohmann::json states = nlohmann::json::object();
    nlohmann::json se = nlohmann::json::object();
    for (std::size_t s = 0; s < var.states.size(); ++s) {
      states[var.states[s]] =
          m.impossible ? nlohmann::json(nullptr) : nlohmann::json(m.p[static_cast<std::size_t>(v)][s]);
      if (!m.error.empty()) se[var.states[s]] = m.error[static_cast<std::size_t>(v)][s];
    }
    marginals[var.name] = states;
    if (!m.error.empty()) errors[var.name] = se;
  }
  out["marginals"] = marginals;
  out["method"] = m.method;
  if (m.impossible) out["impossible_evidence"] = true;
  if (!m.error.empty()) out["standard_error"] = errors;
  if (!m.details.empty()) out["details"] = m.details;
  return out;
}

// ---- ECHO-PRIME -------------------------------------------------------------------

nlohmann::json paradox_json(const echo::World& w, const echo::Paradox& p) {
  nlohmann::json nodes = nlohmann::json::array(), branches = nlohmann::json::array();
  for (echo::NodeId n : p.nodes) nodes.push_back(w.node_name(n));
  for (echo::BranchId b : p.branches) branches.push_back(w.branch_name(b));
  return {{"kind", echo::to_string(p.kind)},
          {"constraints", p.constraints},
          {"links", p.links},
          {"nodes", nodes},
          {"branches", branches},
          {"message", p.message}};
}

nlohmann::json check_json(const echo::World& w, const echo::CheckReport& r) {
  nlohmann::json list = nlohmann::json::array();
  for (const echo::Paradox& p : r.paradoxes) list.push_back(paradox_json(w, p));
  return {{"consistent", r.consistent()}, {"paradoxes", list}};
}

// ---- MPRIME -----------------------------------------------------------------------

namespace {

using mprime::Expr;

std::string fmt_double(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// "x=1.5,y=2" -> pairs of (name, text of the value).
std::vector<std::pair<std::string, std::string>> assignments(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      usage("mprime: --at expects NAME=VALUE[,NAME=VALUE...], got '" + item + "'");
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

Expr parse_option(const std::string& what, const std::string& text) {
  try {
    return mprime::parse(text);
  } catch (const Error& e) {
    usage("mprime: " + what + ": " + e.what());
  }
}

// The variable: --var, else the only free symbol of x.
Expr variable_of(const MprimeRequest& o, const Expr& x, const std::string& command) {
  if (!o.var.empty()) {
    Expr v = parse_option("--var", o.var);
    if (!v.is_symbol()) usage("mprime " + command + ": --var must name a symbol, got '" + o.var + "'");
    return v;
  }
  const std::vector<Expr> symbols = mprime::free_symbols(x);
  if (symbols.size() == 1) return symbols[0];
  if (symbols.empty()) return mprime::symbol("x");
  usage("mprime " + command + ": the expression has several symbols; say which with --var");
}

mprime::Direction direction_of(const MprimeRequest& o) {
  if (o.dir.empty()) return mprime::Direction::Both;
  if (o.dir == "+") return mprime::Direction::Plus;
  if (o.dir == "-") return mprime::Direction::Minus;
  usage("mprime: --dir must be + or -, got '" + o.dir + "'");
}

// The point of --at for series and limit: "x=a" or just "a" (default 0).
Expr point_of(const MprimeRequest& o, const Expr& var) {
  if (o.at.empty()) return Expr(0);
  const auto eq = o.at.find('=');
  if (eq == std::string::npos) return parse_option("--at", o.at);
  const auto items = assignments(o.at);
  for (const auto& [name, value] : items)
    if (name == var.name()) return parse_option("--at", value);
  usage("mprime: --at gives no value for the variable " + var.name());
}

Expr single_expression(const mprime::Statement& s, const std::string& command) {
  if (s.is_system() || s.expressions.size() != 1)
    usage("mprime " + command + ": expected one expression (equations only for solve)");
  return mprime::evaluate_operations(s.expressions[0]);
}

MprimeAnswer result_answer(const MprimeRequest& o, std::string result) {
  MprimeAnswer a;
  a.json = {{"input", o.text}, {"result", result}};
  a.text = std::move(result);
  return a;
}

MprimeAnswer run_transform(const std::string& command, const MprimeRequest& o) {
  const mprime::Statement s = mprime::parse_statement(o.text);
  if (command == "latex") {
    std::string out;
    for (const auto& eq : s.equations) out += (out.empty() ? "" : "; ") + mprime::to_latex(eq);
    for (const auto& ex : s.expressions) out += (out.empty() ? "" : "; ") + mprime::to_latex(ex);
    return result_answer(o, out);
  }
  if (command == "simplify" && s.is_system()) {
    std::string out;
    for (const auto& eq : s.equations) {
      const mprime::Equation simple{mprime::simplify(mprime::evaluate_operations(eq.lhs)),
                                    mprime::simplify(mprime::evaluate_operations(eq.rhs))};
      out += (out.empty() ? "" : "; ") + mprime::to_string(simple);
    }
    return result_answer(o, out);
  }
  const Expr x = single_expression(s, command);
  Expr result;
  if (command == "simplify") {
    result = mprime::simplify(x);
  } else if (command == "expand") {
    result = mprime::expand(x);
  } else if (command == "factor") {
    result = mprime::factor(x);
  } else if (command == "diff") {
    const long order = o.order.value_or(1);
    if (order < 0) usage("mprime diff: --order must be >= 0");
    result = mprime::diff(x, variable_of(o, x, "diff"), order);
  } else if (command == "integrate") {
    const Expr var = variable_of(o, x, "integrate");
    if (o.from.empty() != o.to.empty()) usage("mprime integrate: give both --from and --to, or neither");
    result = o.from.empty() ? mprime::integrate(x, var)
                            : mprime::integrate(x, var, parse_option("--from", o.from), parse_option("--to", o.to));
  } else if (command == "series") {
    const Expr var = variable_of(o, x, "series");
    const long order = o.order.value_or(6);
    if (order < 0) usage("mprime series: --order must be >= 0");
    result = mprime::series(x, var, point_of(o, var), order);
  } else if (command == "limit") {
    const Expr var = variable_of(o, x, "limit");
    result = mprime::compute_limit(x, var, point_of(o, var), direction_of(o));
  }
  return result_answer(o, mprime::to_string(result));
}

MprimeAnswer run_eval(const MprimeRequest& o) {
  const Expr x = single_expression(mprime::parse_statement(o.text), "eval");
  mprime::Values at;
  for (const auto& [name, value] : assignments(o.at)) {
    try {
      at[name] = mprime::evaluate(mprime::parse(value));
    } catch (const Error& e) {
      usage("mprime eval: --at " + name + ": " + e.what());
    }
  }
  MprimeAnswer a;
  if (o.digits) {
    if (*o.digits < 1 || *o.digits > o.max_digits) {
      usage("mprime eval: --digits must be in 1.." + std::to_string(o.max_digits));
    }
    const std::string text = mprime::evaluate_digits(x, at, *o.digits);
    a.json = {{"input", o.text}, {"value", std::stod(text)}, {"digits", text}};
    a.text = text;
    return a;
  }
  const double value = mprime::evaluate(x, at);
  a.json = {{"input", o.text}, {"value", value}};
  a.text = fmt_double(value);
  return a;
}

MprimeAnswer run_solve(const MprimeRequest& o) {
  const mprime::Statement s = mprime::parse_statement(o.text);
  std::vector<mprime::Equation> equations;
  for (const auto& eq : s.equations)
    equations.push_back({mprime::evaluate_operations(eq.lhs), mprime::evaluate_operations(eq.rhs)});
  for (const auto& ex : s.expressions) equations.push_back({mprime::evaluate_operations(ex), Expr(0)});
  std::vector<Expr> unknowns;
  if (!o.var.empty()) {
    for (const auto& name : split_commas(o.var)) {
      Expr v = parse_option("--var", name);
      if (!v.is_symbol()) usage("mprime solve: --var must list symbols, got '" + name + "'");
      unknowns.push_back(v);
    }
  }
  const auto solutions = mprime::solve(equations, unknowns);
  MprimeAnswer a;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& sol : solutions) {
    nlohmann::json one = nlohmann::json::object();
    std::string line;
    for (const auto& [var, value] : sol) {
      one[mprime::to_string(var)] = mprime::to_string(value);
      line += (line.empty() ? "" : ", ") + mprime::to_string(var) + " = " + mprime::to_string(value);
    }
    list.push_back(one);
    a.text += (a.text.empty() ? "" : "\n") + line;
  }
  if (solutions.empty()) a.text = "no solution";
  a.json = {{"input", o.text}, {"solutions", list}};
  return a;
}

}  // namespace

const std::vector<std::string>& mprime_operations() {
  static const std::vector<std::string> ops = {"simplify", "expand", "factor", "diff", "integrate",
                                               "series",   "limit",  "solve",  "eval", "latex"};
  return ops;
}

MprimeAnswer mprime_operation(std::string_view operation, const MprimeRequest& request) {
  const std::string op(operation);
  if (op == "eval") return run_eval(request);
  if (op == "solve") return run_solve(request);
  for (const auto& known : mprime_operations()) {
    if (known == op) return run_transform(op, request);
  }
  usage("mprime: unknown operation '" + op +
        "' (simplify, expand, factor, diff, integrate, series, limit, solve, eval, "
        "latex)");
}

}  // namespace miso::omega
