// The `mprime` module of M-CODE: symbolic expressions as `expr` handles over
// miso::mprime::Expr, and compiled expressions (`compiled` handles) evaluated over
// T-Mathematics tensors.
//
// Wherever an expression is expected a string (parsed), an int (exact) or a float is
// accepted too, so `mprime.diff("sin(x)*x", "x")` needs no explicit parse. Module
// functions take the expression first, so the same natives serve as methods
// (`e.diff("x")`: the receiver is args[0]). Expressions are immutable and interned by
// the engine (thread-safe reference counts), so cloning a handle for a worker VM is a
// plain copy.
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/evaluate.hpp"
#include "miso/mprime/expr.hpp"
#include "miso/mprime/integrate.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"
#include "miso/mprime/series.hpp"
#include "miso/mprime/simplify.hpp"
#include "miso/mprime/solve.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::mcode {

namespace mp = miso::mprime;
namespace tm = miso::tmath;

extern const HandleType kCompiledHandle;  // defined below, after its method table

namespace {

// A compiled expression. Compiled is move-only, so a clone for another VM compiles the
// same expression again from `expr` and `vars`.
struct CompiledData {
  mp::Expr expr;
  std::vector<mp::Expr> vars;
  mp::Compiled compiled;

  CompiledData(mp::Expr e, std::vector<mp::Expr> v) : expr(std::move(e)), vars(v), compiled(expr, std::move(v)) {}
};

void* clone_compiled(const void* data) {
  const auto& c = *static_cast<const CompiledData*>(data);
  return new CompiledData(c.expr, c.vars);
}

std::string display_expr(const void* data) { return mp::to_string(*static_cast<const mp::Expr*>(data)); }

std::string display_compiled(const void* data) {
  const auto& c = *static_cast<const CompiledData*>(data);
  std::string out = "compiled(" + mp::to_string(c.expr) + "; ";
  for (std::size_t i = 0; i < c.vars.size(); ++i) out += (i > 0 ? ", " : "") + c.vars[i].name();
  return out + ")";
}

bool is_expr(Value v) { return v.is_handle() && v.as_handle()->is(kExprHandle); }

// An expression from an expr handle, a string (parsed), an int or a float.
mp::Expr to_expr(const NativeCallContext& context, const std::string& name, Value v, const char* what) {
  if (is_expr(v)) return *v.as_handle()->data_as<mp::Expr>();
  if (v.is_string()) return guarded(context, name, [&] { return mp::parse(v.as_string()->view()); });
  if (v.is_int()) return mp::integer(static_cast<long>(v.as_int()));
  if (v.is_double()) return guarded(context, name, [&] { return mp::real(v.as_double()); });
  context.error(name + ": " + what + " must be an expr, a string or a number, got " + type_name(v));
}

mp::Expr arg_expr(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  if (i >= args.size()) context.error(context.name() + ": missing " + what + " (an expr)");
  return to_expr(context, context.name(), args[i], what);
}

// A variable: a symbol expr or a string naming it.
mp::Expr arg_symbol(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  if (i >= args.size()) context.error(context.name() + ": missing " + what + " (a symbol)");
  mp::Expr e = is_expr(args[i]) ? *args[i].as_handle()->data_as<mp::Expr>()
               : args[i].is_string()
                   ? guarded(context, [&] { return mp::parse(args[i].as_string()->view()); })
                   : (argument_error(context, what, "a symbol (string or expr)", args[i]), mp::Expr());
  if (!e.is_symbol()) context.error(context.name() + ": " + what + " must be a symbol, got " + mp::to_string(e));
  return e;
}

// Checks the number of arguments of a variadic binding. A method's receiver is args[0]
// but not an argument the script wrote, so it is not counted in the message.
void check_arg_count(const NativeCallContext& context, Args args, std::size_t min, std::size_t max) {
  if (args.size() < min || args.size() > max) {
    std::size_t skip = context.native == nullptr ? 1 : 0;
    min -= skip;
    max -= skip;
    std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    context.error(context.name() + ": expects " + expected + " arguments, got " + std::to_string(args.size() - skip));
  }
}

Value wrap(const NativeCallContext& context, mp::Expr e) {
  return make_handle(context.heap(), kExprHandle, std::move(e));
}

// --- operators -------------------------------------------------------------------

Value expr_binary(NativeCallContext& context, HandleOp op, Value a, Value b) {
  std::string name = std::string("expr ").append(handle_op_text(op));
  mp::Expr x = to_expr(context, name, a, "left operand");
  if (op == HandleOp::Negate) return wrap(context, guarded(context, name, [&] { return -x; }));
  mp::Expr y = to_expr(context, name, b, "right operand");
  mp::Expr r = guarded(context, name, [&] {
    switch (op) {
      case HandleOp::Add: return x + y;
      case HandleOp::Subtract: return x - y;
      case HandleOp::Multiply: return x * y;
      case HandleOp::Divide: return x / y;
      case HandleOp::Power: return mp::pow(x, y);
      default: throw miso::Error(miso::Error::Kind::InvalidArgument, "not supported for expressions");
    }
  });
  return wrap(context, std::move(r));
}

// --- functions (and methods: the expression is args[0]) ------------------------------

Value mprime_parse(NativeCallContext& context, Args args) {
  std::string_view text = arg_string(context, args, 0, "text");
  return wrap(context, guarded(context, [&] { return mp::parse(text); }));
}

Value mprime_symbol(NativeCallContext& context, Args args) {
  std::string_view name = arg_string(context, args, 0, "name");
  mp::Expr s = guarded(context, [&] { return mp::parse(name); });
  if (!s.is_symbol()) context.error(context.name() + ": \"" + std::string(name) + "\" is not a symbol name");
  return wrap(context, std::move(s));
}

Value mprime_expr(NativeCallContext& context, Args args) { return wrap(context, arg_expr(context, args, 0, "x")); }

// diff(e, var, order?)
Value mprime_diff(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 3);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Expr var = arg_symbol(context, args, 1, "variable");
  std::int64_t order = has_arg(args, 2) ? arg_int(context, args, 2, "order") : 1;
  // Bounded: the engine differentiates order times without the VM's budget checks.
  if (order < 0 || order > 10000) context.error(context.name() + ": order must be in [0, 10000]");
  return wrap(context, guarded(context, [&] { return mp::diff(e, var, static_cast<long>(order)); }));
}

template <mp::Expr (*F)(const mp::Expr&)>
Value mprime_rewrite(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 1);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  return wrap(context, guarded(context, [&] { return F(e); }));
}

// integrate(e, var) / integrate(e, var, a, b)
Value mprime_integrate(NativeCallContext& context, Args args) {
  if (args.size() != 2 && args.size() != 4)
    context.error(context.name() + ": expects (expr, var) or (expr, var, lower, upper), got " +
                  std::to_string(args.size()) + " arguments");
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Expr var = arg_symbol(context, args, 1, "variable");
  if (args.size() == 2) return wrap(context, guarded(context, [&] { return mp::integrate(e, var); }));
  mp::Expr lower = arg_expr(context, args, 2, "lower bound");
  mp::Expr upper = arg_expr(context, args, 3, "upper bound");
  return wrap(context, guarded(context, [&] { return mp::integrate(e, var, lower, upper); }));
}

// solve(equation or expr, var?): the roots as a list of exprs. A string with "=" is an
// equation; an expression f means f = 0. Without var the equation must have exactly one
// free symbol.
Value mprime_solve(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  mp::Expr f;
  if (args[0].is_string()) {
    mp::Statement st = guarded(context, [&] { return mp::parse_statement(args[0].as_string()->view()); });
    if (st.equations.size() + st.expressions.size() != 1)
      context.error(context.name() + ": expects one equation (systems are not supported here)");
    f = st.is_system() ? st.equations[0].difference() : st.expressions[0];
  } else {
    f = arg_expr(context, args, 0, "equation");
  }
  mp::Expr var;
  if (has_arg(args, 1)) {
    var = arg_symbol(context, args, 1, "variable");
  } else {
    std::vector<mp::Expr> free = mp::free_symbols(f);
    if (free.size() != 1)
      context.error(context.name() + ": give the variable to solve for (the equation has " +
                    std::to_string(free.size()) + " free symbols)");
    var = free[0];
  }
  std::vector<mp::Expr> roots = guarded(context, [&] { return mp::solve_for(f, var); });
  Heap& heap = context.heap();
  List* list = heap.list(roots.size());
  for (mp::Expr& r : roots) list->push(heap, wrap(context, std::move(r)));
  return Value::object(list);
}

// limit(e, var, point, dir?) with dir "+" or "-" for one-sided limits.
Value mprime_limit(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 3, 4);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Expr var = arg_symbol(context, args, 1, "variable");
  mp::Expr point = arg_expr(context, args, 2, "point");
  mp::Direction dir = mp::Direction::Both;
  if (has_arg(args, 3)) {
    std::string_view d = arg_string(context, args, 3, "direction");
    if (d == "+")
      dir = mp::Direction::Plus;
    else if (d == "-")
      dir = mp::Direction::Minus;
    else
      context.error(context.name() + ": direction must be \"+\" or \"-\"");
  }
  return wrap(context, guarded(context, [&] { return mp::compute_limit(e, var, point, dir); }));
}

// series(e, var, point, order): the terms of order below `order` in (var - point).
Value mprime_series(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 4, 4);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Expr var = arg_symbol(context, args, 1, "variable");
  mp::Expr point = arg_expr(context, args, 2, "point");
  std::int64_t order = arg_int(context, args, 3, "order");
  if (order < 0 || order > 1000) context.error(context.name() + ": order must be in [0, 1000]");
  return wrap(context, guarded(context, [&] { return mp::series(e, var, point, static_cast<long>(order)); }));
}

// {"x": 2, ...} as symbol -> value bindings (numbers, or exprs for subs).
template <typename F>
void for_each_binding(const NativeCallContext& context, Args args, std::size_t i, F&& f) {
  if (!has_arg(args, i)) return;
  Map* map = arg_map(context, args, i, "values");
  map->for_each([&](Value key, Value value) {
    if (!key.is_string()) argument_error(context, "values", "a map from symbol names (strings)", key);
    f(key.as_string()->view(), value);
  });
}

// evaluate(e, {"x": 2.0}): a float (exact results are rounded; see subs for exact ones).
Value mprime_evaluate(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Values at;
  for_each_binding(context, args, 1, [&](std::string_view name, Value v) {
    if (!v.is_number()) argument_error(context, "values", "a map to numbers", v);
    at.emplace(std::string(name), v.to_double());
  });
  return Value::number(guarded(context, [&] { return mp::evaluate(e, at); }));
}

// subs(e, {"x": 2}): substitutes exprs, strings or numbers for symbols, exactly (ints and
// rationals stay exact: subs("x^2/3", {"x": 2}) is 4/3).
Value mprime_subs(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 2);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  mp::Substitution rules;
  for_each_binding(context, args, 1, [&](std::string_view name, Value v) {
    mp::Expr sym = guarded(context, [&] { return mp::symbol(name); });
    rules.emplace_back(sym, to_expr(context, context.name(), v, "value"));
  });
  return wrap(context, guarded(context, [&] { return mp::substitute(e, rules); }));
}

// to_number(e): an exact integer as an int, any other numeric value as a float.
Value mprime_to_number(NativeCallContext& context, Args args) {
  mp::Expr e = arg_expr(context, args, 0, "expression");
  if (e.is_integer() && e.number().get_num().fits_slong_p())
    return context.heap().integer(e.number().get_num().get_si());
  return Value::number(guarded(context, [&] { return mp::evaluate(e); }));
}

Value mprime_latex(NativeCallContext& context, Args args) {
  mp::Expr e = arg_expr(context, args, 0, "expression");
  return make_string(context.heap(), guarded(context, [&] { return mp::to_latex(e); }));
}

Value mprime_str(NativeCallContext& context, Args args) {
  mp::Expr e = arg_expr(context, args, 0, "expression");
  return make_string(context.heap(), mp::to_string(e));
}

Value mprime_free_symbols(NativeCallContext& context, Args args) {
  mp::Expr e = arg_expr(context, args, 0, "expression");
  std::vector<std::string> names;
  for (const mp::Expr& s : mp::free_symbols(e)) names.push_back(s.name());
  return make_string_list(context.heap(), names);
}

Value mprime_equals(NativeCallContext& context, Args args) {
  mp::Expr a = arg_expr(context, args, 0, "a");
  mp::Expr b = arg_expr(context, args, 1, "b");
  return Value::boolean(a == b);
}

// compile(e, ["x", "y"]): a `compiled` handle for fast numeric evaluation.
Value mprime_compile(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 2);
  mp::Expr e = arg_expr(context, args, 0, "expression");
  List* list = arg_list(context, args, 1, "variables");
  std::vector<mp::Expr> vars;
  for (std::size_t i = 0; i < list->size(); ++i) {
    Value v = list->at(i);
    mp::Expr s = is_expr(v)      ? *v.as_handle()->data_as<mp::Expr>()
                 : v.is_string() ? guarded(context, [&] { return mp::parse(v.as_string()->view()); })
                                 : (argument_error(context, "variables", "a list of symbols", v), mp::Expr());
    if (!s.is_symbol()) context.error(context.name() + ": " + mp::to_string(s) + " is not a symbol");
    vars.push_back(s);
  }
  auto* data = guarded(context, [&] { return new CompiledData(e, vars); });
  return Value::object(context.heap().handle(kCompiledHandle, data));
}

void finalize_compiled(void* data) noexcept { delete static_cast<CompiledData*>(data); }

const CompiledData& compiled_self(Args args) { return *args[0].as_handle()->data_as<CompiledData>(); }

void check_input_count(const NativeCallContext& context, const CompiledData& c, std::size_t given) {
  if (given != c.vars.size())
    context.error(context.name() + ": expects " + std::to_string(c.vars.size()) + " values (one per variable), got " +
                  std::to_string(given));
}

// c.eval(t1, t2, ...): one tensor per variable, broadcast together, evaluated in one
// fused T-Mathematics pass. Tensors of integer dtypes are converted to f32; mixed
// f32/f64 inputs are computed in f64.
Value compiled_eval(NativeCallContext& context, Args args) {
  const CompiledData& c = compiled_self(args);
  check_input_count(context, c, args.size() - 1);
  std::vector<tm::Tensor> inputs;
  bool any_f64 = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const tm::Tensor& t = arg_handle<tm::Tensor>(context, args, i, kTensorHandle, "input");
    any_f64 = any_f64 || t.dtype() == tm::DType::F64;
    inputs.push_back(t);
  }
  tm::Tensor result = guarded(context, [&] {
    for (tm::Tensor& t : inputs) t = t.to(any_f64 ? tm::DType::F64 : tm::DType::F32);
    return c.compiled.evaluate(inputs);
  });
  std::size_t bytes = result.nbytes();
  return make_handle(context.heap(), kTensorHandle, std::move(result), bytes);
}

// c.eval_float(x, y, ...): one point.
Value compiled_eval_float(NativeCallContext& context, Args args) {
  const CompiledData& c = compiled_self(args);
  check_input_count(context, c, args.size() - 1);
  std::vector<double> values;
  for (std::size_t i = 1; i < args.size(); ++i) values.push_back(arg_number(context, args, i, "value"));
  return Value::number(guarded(context, [&] { return c.compiled(values); }));
}

Value compiled_vars(NativeCallContext& context, Args args) {
  std::vector<std::string> names;
  for (const mp::Expr& v : compiled_self(args).vars) names.push_back(v.name());
  return make_string_list(context.heap(), names);
}

Value compiled_expr(NativeCallContext& context, Args args) { return wrap(context, compiled_self(args).expr); }

const NativeBinding kCompiledMethods[] = {
    {"eval", compiled_eval, -1, "c.eval(t1, t2, ...): a tensor, one input tensor per variable (broadcast)"},
    {"eval_float", compiled_eval_float, -1, "c.eval_float(x, y, ...): the value at one point"},
    {"vars", compiled_vars, 0, "c.vars: the variable names in input order", true},
    {"expr", compiled_expr, 0, "c.expr: the compiled expression", true},
};

using Rewrite = mp::Expr (*)(const mp::Expr&);
mp::Expr do_simplify(const mp::Expr& e) { return mp::simplify(e); }
mp::Expr do_expand(const mp::Expr& e) { return mp::expand(e); }
mp::Expr do_factor(const mp::Expr& e) { return mp::factor(e); }
mp::Expr do_evalf(const mp::Expr& e) { return mp::evalf(e); }
mp::Expr do_trigsimp(const mp::Expr& e) { return mp::trigsimp(e); }
mp::Expr do_cancel(const mp::Expr& e) { return mp::cancel(e); }

const NativeBinding kMprimeFunctions[] = {
    {"parse", mprime_parse, 1, "parse(text): the expression the text denotes"},
    {"symbol", mprime_symbol, 1, "symbol(name): a symbol"},
    {"expr", mprime_expr, 1, "expr(x): an expr from an expr, a string or a number"},
    {"diff", mprime_diff, -1, "diff(e, var, order?): derivative"},
    {"simplify", mprime_rewrite<do_simplify>, 1, "simplify(e)"},
    {"expand", mprime_rewrite<do_expand>, 1, "expand(e): products and powers of sums distributed"},
    {"factor", mprime_rewrite<do_factor>, 1, "factor(e): factorised over the rationals"},
    {"cancel", mprime_rewrite<do_cancel>, 1, "cancel(e): a rational function in lowest terms"},
    {"trigsimp", mprime_rewrite<do_trigsimp>, 1, "trigsimp(e): trigonometric identities"},
    {"evalf", mprime_rewrite<do_evalf>, 1, "evalf(e): exact numbers and constants as floats"},
    {"integrate", mprime_integrate, -1, "integrate(e, var) / integrate(e, var, a, b)"},
    {"solve", mprime_solve, -1, "solve(equation, var?): the roots as a list of exprs"},
    {"limit", mprime_limit, -1, "limit(e, var, point, dir?): dir \"+\" or \"-\" for one-sided"},
    {"series", mprime_series, 4, "series(e, var, point, order): Taylor/Laurent terms below order"},
    {"evaluate", mprime_evaluate, -1, "evaluate(e, {\"x\": 2.0}?): the value as a float"},
    {"subs", mprime_subs, 2, "subs(e, {\"x\": value}): exact substitution (values: exprs, strings, numbers)"},
    {"to_number", mprime_to_number, 1, "to_number(e): an int for an exact integer, else a float"},
    {"latex", mprime_latex, 1, "latex(e): LaTeX text"},
    {"str", mprime_str, 1, "str(e): plain text that parse() reads back"},
    {"free_symbols", mprime_free_symbols, 1, "free_symbols(e): the symbol names, sorted"},
    {"equals", mprime_equals, 2, "equals(a, b): structural equality of the canonical forms"},
    {"compile", mprime_compile, 2, "compile(e, vars): a compiled handle (c.eval(tensors...), c.eval_float(x, ...))"},
};

const NativeBinding kExprMethods[] = {
    {"diff", mprime_diff, -1, "e.diff(var, order?)"},
    {"simplify", mprime_rewrite<do_simplify>, 0, "e.simplify()"},
    {"expand", mprime_rewrite<do_expand>, 0, "e.expand()"},
    {"factor", mprime_rewrite<do_factor>, 0, "e.factor()"},
    {"integrate", mprime_integrate, -1, "e.integrate(var) / e.integrate(var, a, b)"},
    {"series", mprime_series, 3, "e.series(var, point, order)"},
    {"limit", mprime_limit, -1, "e.limit(var, point, dir?)"},
    {"evaluate", mprime_evaluate, -1, "e.evaluate({\"x\": 2.0}?): a float"},
    {"subs", mprime_subs, 1, "e.subs({\"x\": value}): exact substitution"},
    {"latex", mprime_latex, 0, "e.latex()"},
    {"free_symbols", mprime_free_symbols, 0, "e.free_symbols(): the symbol names"},
};

}  // namespace

const HandleType kExprHandle{"expr",      finalize_as<mp::Expr>, nullptr,           kExprMethods,
                             expr_binary, display_expr,          clone_as<mp::Expr>};
const HandleType kCompiledHandle{"compiled", finalize_compiled, nullptr,       kCompiledMethods,
                                 nullptr,    display_compiled,  clone_compiled};

void install_mprime_module(Vm& vm) { vm.define_module("mprime", kMprimeFunctions); }

}  // namespace miso::mcode
