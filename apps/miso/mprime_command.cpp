// `miso mprime ...`: MPRIME symbolic mathematics from the command line.
//   simplify|expand|factor|diff|integrate|series|limit|solve|eval|latex "TEXT"
//     --var x        the variable (diff, integrate, series, limit; solve: x,y,...)
//     --order n      derivative order (diff, default 1) or series order (default 6)
//     --at x=1.5,y=2 values (eval), the point (series, limit: x=a, a may be oo)
//     --from a --to b  bounds of a definite integral
//     --dir +|-      one-sided limit
//     --digits n     eval to n significant digits (MPFR)
//     --json         {"input": ..., "result": "<text the parser reads back>"}
//                    (eval: {"value": number}; solve: {"solutions": [{var: text}]})
// Every command first carries out the operations written in TEXT (d/dx, ∫, lim),
// so `miso mprime simplify "d/dx(sin(x))"` prints cos(x).
#include <charconv>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
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

namespace miso::app {

namespace {

using mprime::Expr;

struct MprimeOptions {
  std::string text;
  std::string var;
  std::optional<long> order;
  std::string at;
  std::string from, to;
  std::string dir;
  std::optional<int> digits;
  bool json = false;
};

[[noreturn]] void usage(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

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

Expr parse_option(const std::string& what, const std::string& text) {
  try {
    return mprime::parse(text);
  } catch (const Error& e) {
    usage("mprime: " + what + ": " + e.what());
  }
}

// The variable: --var, else the only free symbol of x.
Expr variable_of(const MprimeOptions& o, const Expr& x, const char* command) {
  if (!o.var.empty()) {
    Expr v = parse_option("--var", o.var);
    if (!v.is_symbol()) usage(std::string("mprime ") + command + ": --var must name a symbol, got '" + o.var + "'");
    return v;
  }
  const std::vector<Expr> symbols = mprime::free_symbols(x);
  if (symbols.size() == 1) return symbols[0];
  if (symbols.empty()) return mprime::symbol("x");
  usage(std::string("mprime ") + command + ": the expression has several symbols; say which with --var");
}

mprime::Direction direction_of(const MprimeOptions& o) {
  if (o.dir.empty()) return mprime::Direction::Both;
  if (o.dir == "+") return mprime::Direction::Plus;
  if (o.dir == "-") return mprime::Direction::Minus;
  usage("mprime: --dir must be + or -, got '" + o.dir + "'");
}

// The point of --at for series and limit: "x=a" or just "a" (default 0).
Expr point_of(const MprimeOptions& o, const Expr& var) {
  if (o.at.empty()) return Expr(0);
  const auto eq = o.at.find('=');
  if (eq == std::string::npos) return parse_option("--at", o.at);
  const auto items = assignments(o.at);
  for (const auto& [name, value] : items)
    if (name == var.name()) return parse_option("--at", value);
  usage("mprime: --at gives no value for the variable " + var.name());
}

Expr single_expression(const mprime::Statement& s, const char* command) {
  if (s.is_system() || s.expressions.size() != 1)
    usage(std::string("mprime ") + command + ": expected one expression (equations only for solve)");
  return mprime::evaluate_operations(s.expressions[0]);
}

int print_result(const MprimeOptions& o, const std::string& result) {
  if (o.json) {
    std::cout << nlohmann::json{{"input", o.text}, {"result", result}}.dump() << "\n";
  } else {
    std::cout << result << "\n";
  }
  return kExitOk;
}

int run_transform(const std::string& command, const MprimeOptions& o) {
  const mprime::Statement s = mprime::parse_statement(o.text);
  if (command == "latex") {
    std::string out;
    for (const auto& eq : s.equations) out += (out.empty() ? "" : "; ") + mprime::to_latex(eq);
    for (const auto& ex : s.expressions) out += (out.empty() ? "" : "; ") + mprime::to_latex(ex);
    return print_result(o, out);
  }
  if (command == "simplify" && s.is_system()) {
    std::string out;
    for (const auto& eq : s.equations) {
      const mprime::Equation simple{mprime::simplify(mprime::evaluate_operations(eq.lhs)),
                                    mprime::simplify(mprime::evaluate_operations(eq.rhs))};
      out += (out.empty() ? "" : "; ") + mprime::to_string(simple);
    }
    return print_result(o, out);
  }
  const Expr x = single_expression(s, command.c_str());
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
  return print_result(o, mprime::to_string(result));
}

int run_eval(const MprimeOptions& o) {
  const Expr x = single_expression(mprime::parse_statement(o.text), "eval");
  mprime::Values at;
  for (const auto& [name, value] : assignments(o.at)) {
    try {
      at[name] = mprime::evaluate(mprime::parse(value));
    } catch (const Error& e) {
      usage("mprime eval: --at " + name + ": " + e.what());
    }
  }
  if (o.digits) {
    if (*o.digits < 1 || *o.digits > 100000) usage("mprime eval: --digits must be in 1..100000");
    const std::string text = mprime::evaluate_digits(x, at, *o.digits);
    if (o.json) {
      std::cout << nlohmann::json{{"input", o.text}, {"value", std::stod(text)}, {"digits", text}}.dump() << "\n";
    } else {
      std::cout << text << "\n";
    }
    return kExitOk;
  }
  const double value = mprime::evaluate(x, at);
  if (o.json) {
    std::cout << nlohmann::json{{"input", o.text}, {"value", value}}.dump() << "\n";
  } else {
    std::cout << fmt_double(value) << "\n";
  }
  return kExitOk;
}

int run_solve(const MprimeOptions& o) {
  const mprime::Statement s = mprime::parse_statement(o.text);
  std::vector<mprime::Equation> equations;
  for (const auto& eq : s.equations)
    equations.push_back({mprime::evaluate_operations(eq.lhs), mprime::evaluate_operations(eq.rhs)});
  for (const auto& ex : s.expressions) equations.push_back({mprime::evaluate_operations(ex), Expr(0)});
  std::vector<Expr> unknowns;
  if (!o.var.empty()) {
    for (const auto& name : CLI::detail::split(o.var, ',')) {
      Expr v = parse_option("--var", name);
      if (!v.is_symbol()) usage("mprime solve: --var must list symbols, got '" + name + "'");
      unknowns.push_back(v);
    }
  }
  const auto solutions = mprime::solve(equations, unknowns);
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& sol : solutions) {
      nlohmann::json one = nlohmann::json::object();
      for (const auto& [var, value] : sol) one[mprime::to_string(var)] = mprime::to_string(value);
      list.push_back(one);
    }
    std::cout << nlohmann::json{{"input", o.text}, {"solutions", list}}.dump() << "\n";
  } else if (solutions.empty()) {
    std::cout << "no solution\n";
  } else {
    for (const auto& sol : solutions) {
      std::string line;
      for (const auto& [var, value] : sol)
        line += (line.empty() ? "" : ", ") + mprime::to_string(var) + " = " + mprime::to_string(value);
      std::cout << line << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void add_mprime_commands(CLI::App& app, Action& action) {
  auto* mp = app.add_subcommand("mprime", "MPRIME symbolic mathematics: simplify, expand, factor, diff, ...");
  mp->require_subcommand(1);
  auto options = std::make_shared<MprimeOptions>();
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"simplify", "carry out d/dx, ∫, lim and simplify"},
      {"expand", "expand products and powers"},
      {"factor", "factor over the rationals"},
      {"diff", "differentiate (--var, --order)"},
      {"integrate", "integrate (--var; --from/--to for a definite integral)"},
      {"series", "Taylor/Laurent series (--var, --order, --at x=a)"},
      {"limit", "limit (--var, --at x=a, --dir +|-)"},
      {"solve", "solve equations or a system separated by ';' (--var x,y)"},
      {"eval", "numeric value (--at x=1.5,y=2, --digits n)"},
      {"latex", "LaTeX of the input"},
  };
  for (const auto& [name, help] : commands) {
    auto* c = mp->add_subcommand(name, help);
    c->add_option("text", options->text, "the expression, equation or system")->required();
    c->add_option("--var", options->var, "variable (solve: comma-separated unknowns)");
    c->add_option("--order", options->order, "derivative order or series order");
    c->add_option("--at", options->at, "values NAME=VALUE,... (eval) or the point x=a (series, limit)");
    c->add_option("--from", options->from, "lower bound of a definite integral");
    c->add_option("--to", options->to, "upper bound of a definite integral");
    c->add_option("--dir", options->dir, "side of a limit: + or -");
    c->add_option("--digits", options->digits, "eval: significant digits (MPFR)");
    c->add_flag("--json", options->json, "print JSON");
    c->callback([&action, options, name = name] {
      action = [options, name] {
        if (name == "eval") return run_eval(*options);
        if (name == "solve") return run_solve(*options);
        return run_transform(name, *options);
      };
    });
  }
}

}  // namespace miso::app
