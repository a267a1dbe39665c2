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
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/omega/api.hpp"

namespace miso::app {

namespace {

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

int run_operation(const std::string& name, const MprimeOptions& o) {
  omega::MprimeRequest r;
  r.text = o.text;
  r.var = o.var;
  r.order = o.order;
  r.at = o.at;
  r.from = o.from;
  r.to = o.to;
  r.dir = o.dir;
  r.digits = o.digits;
  const omega::MprimeAnswer answer = omega::mprime_operation(name, r);
  std::cout << (o.json ? answer.json.dump() : answer.text) << "\n";
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
    c->callback(
        [&action, options, name = name] { action = [options, name] { return run_operation(name, *options); }; });
  }
}

}  // namespace miso::app
