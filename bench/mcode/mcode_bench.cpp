// M-CODE against Lua 5.4: the same small programs run on miso::mcode::Vm and on an
// embedded Lua state. Each iteration runs the whole program from source on a fresh VM /
// fresh lua_State (parse + compile + run, for both). Each program computes one integer;
// M-CODE prints it (into a std::ostringstream) and Lua returns it. The first run of each
// benchmark checks that M-CODE and Lua agree with each other and with the expected value.
//
// M-CODE programs wrap their body in `fn main()` so that their variables are locals, as
// the Lua twins use `local`s (M-CODE top-level names are globals, i.e. map lookups).
// Sizes are scaled so one M-CODE run stays well under 2 s: fib(27) rather than the
// issue's fib(32).
#include <benchmark/benchmark.h>

#include <lua.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "miso/mcode/vm.hpp"

namespace {

struct Program {
  const char* name;
  const char* mcode;
  const char* lua;
  const char* expected;  // the printed/returned integer (nullptr: only M-CODE == Lua)
};

// fib(27), naive recursion.
constexpr const char* kFibMcode = R"(
fn main() {
  fn fib(n) { if n < 2 { return n } return fib(n - 1) + fib(n - 2) }
  print(fib(27))
}
main()
)";
constexpr const char* kFibLua = R"(
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
return fib(27)
)";

// Sum of 0 .. 10^7 - 1.
constexpr const char* kLoopMcode = R"(
fn main() {
  let s = 0
  for i in range(0, 10000000) { s += i }
  print(s)
}
main()
)";
constexpr const char* kLoopLua = R"(
local s = 0
for i = 0, 10000000 - 1 do s = s + i end
return s
)";

// n-body, 5 bodies as parallel lists, 10^5 steps of dt = 0.01; the result is
// floor(-energy * 1e9) after the run (energy is negative). sqrt is `** 0.5` in both.
constexpr const char* kNbodyMcode = R"(
fn main() {
  let pi = 3.141592653589793
  let sm = 4.0 * pi * pi
  let dp = 365.24
  let x = [0.0, 4.84143144246472090e+00, 8.34336671824457987e+00, 1.28943695621391310e+01, 1.53796971148509165e+01]
  let y = [0.0, -1.16032004402742839e+00, 4.12479856412430479e+00, -1.51111514016986312e+01, -2.59193146099879641e+01]
  let z = [0.0, -1.03622044471123109e-01, -4.03523417114321381e-01, -2.23307578892655734e-01, 1.79258772950371181e-01]
  let vx = [0.0, 1.66007664274403694e-03 * dp, -2.76742510726862411e-03 * dp, 2.96460137564761618e-03 * dp, 2.68067772490389322e-03 * dp]
  let vy = [0.0, 7.69901118419740425e-03 * dp, 4.99852801234917238e-03 * dp, 2.37847173959480950e-03 * dp, 1.62824170038242295e-03 * dp]
  let vz = [0.0, -6.90460016972063023e-05 * dp, 2.30417297573763929e-05 * dp, -2.96589568540237556e-05 * dp, -9.51592254519715870e-05 * dp]
  let m = [sm, 9.54791938424326609e-04 * sm, 2.85885980666130812e-04 * sm, 4.36624404335156298e-05 * sm, 5.15138902046611451e-05 * sm]
  let n = 5
  let px = 0.0
  let py = 0.0
  let pz = 0.0
  for i in range(0, n) {
    px += vx[i] * m[i]
    py += vy[i] * m[i]
    pz += vz[i] * m[i]
  }
  vx[0] = -px / sm
  vy[0] = -py / sm
  vz[0] = -pz / sm
  let dt = 0.01
  for step in range(0, 100000) {
    for i in range(0, n) {
      let xi = x[i]
      let yi = y[i]
      let zi = z[i]
      let mi = m[i]
      let vxi = vx[i]
      let vyi = vy[i]
      let vzi = vz[i]
      for j in range(i + 1, n) {
        let dx = xi - x[j]
        let dy = yi - y[j]
        let dz = zi - z[j]
        let d2 = dx * dx + dy * dy + dz * dz
        let mag = dt / (d2 * d2 ** 0.5)
        let mj = m[j]
        vxi -= dx * mj * mag
        vyi -= dy * mj * mag
        vzi -= dz * mj * mag
        vx[j] = vx[j] + dx * mi * mag
        vy[j] = vy[j] + dy * mi * mag
        vz[j] = vz[j] + dz * mi * mag
      }
      vx[i] = vxi
      vy[i] = vyi
      vz[i] = vzi
    }
    for i in range(0, n) {
      x[i] = x[i] + dt * vx[i]
      y[i] = y[i] + dt * vy[i]
      z[i] = z[i] + dt * vz[i]
    }
  }
  let e = 0.0
  for i in range(0, n) {
    e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i])
    for j in range(i + 1, n) {
      let dx = x[i] - x[j]
      let dy = y[i] - y[j]
      let dz = z[i] - z[j]
      e -= m[i] * m[j] / (dx * dx + dy * dy + dz * dz) ** 0.5
    }
  }
  print(int(-e * 1000000000.0 // 1))
}
main()
)";
constexpr const char* kNbodyLua = R"(
local pi = 3.141592653589793
local sm = 4.0 * pi * pi
local dp = 365.24
local x = {0.0, 4.84143144246472090e+00, 8.34336671824457987e+00, 1.28943695621391310e+01, 1.53796971148509165e+01}
local y = {0.0, -1.16032004402742839e+00, 4.12479856412430479e+00, -1.51111514016986312e+01, -2.59193146099879641e+01}
local z = {0.0, -1.03622044471123109e-01, -4.03523417114321381e-01, -2.23307578892655734e-01, 1.79258772950371181e-01}
local vx = {0.0, 1.66007664274403694e-03 * dp, -2.76742510726862411e-03 * dp, 2.96460137564761618e-03 * dp, 2.68067772490389322e-03 * dp}
local vy = {0.0, 7.69901118419740425e-03 * dp, 4.99852801234917238e-03 * dp, 2.37847173959480950e-03 * dp, 1.62824170038242295e-03 * dp}
local vz = {0.0, -6.90460016972063023e-05 * dp, 2.30417297573763929e-05 * dp, -2.96589568540237556e-05 * dp, -9.51592254519715870e-05 * dp}
local m = {sm, 9.54791938424326609e-04 * sm, 2.85885980666130812e-04 * sm, 4.36624404335156298e-05 * sm, 5.15138902046611451e-05 * sm}
local n = 5
local px, py, pz = 0.0, 0.0, 0.0
for i = 1, n do
  px = px + vx[i] * m[i]
  py = py + vy[i] * m[i]
  pz = pz + vz[i] * m[i]
end
vx[1] = -px / sm
vy[1] = -py / sm
vz[1] = -pz / sm
local dt = 0.01
for step = 1, 100000 do
  for i = 1, n do
    local xi, yi, zi, mi = x[i], y[i], z[i], m[i]
    local vxi, vyi, vzi = vx[i], vy[i], vz[i]
    for j = i + 1, n do
      local dx = xi - x[j]
      local dy = yi - y[j]
      local dz = zi - z[j]
      local d2 = dx * dx + dy * dy + dz * dz
      local mag = dt / (d2 * d2 ^ 0.5)
      local mj = m[j]
      vxi = vxi - dx * mj * mag
      vyi = vyi - dy * mj * mag
      vzi = vzi - dz * mj * mag
      vx[j] = vx[j] + dx * mi * mag
      vy[j] = vy[j] + dy * mi * mag
      vz[j] = vz[j] + dz * mi * mag
    end
    vx[i] = vxi
    vy[i] = vyi
    vz[i] = vzi
  end
  for i = 1, n do
    x[i] = x[i] + dt * vx[i]
    y[i] = y[i] + dt * vy[i]
    z[i] = z[i] + dt * vz[i]
  end
end
local e = 0.0
for i = 1, n do
  e = e + 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i])
  for j = i + 1, n do
    local dx = x[i] - x[j]
    local dy = y[i] - y[j]
    local dz = z[i] - z[j]
    e = e - m[i] * m[j] / (dx * dx + dy * dy + dz * dz) ^ 0.5
  end
end
return math.tointeger(-e * 1000000000.0 // 1)
)";

// 10^5 concatenations of one-digit strings onto a string that is reset at 100 bytes
// (bounded, so the run measures concatenation rather than quadratic copying); the result
// is the total length built.
constexpr const char* kStringMcode = R"(
fn main() {
  let s = ""
  let total = 0
  for i in range(0, 100000) {
    s = s + str(i % 10)
    if len(s) >= 100 {
      total += len(s)
      s = ""
    }
  }
  print(total + len(s))
}
main()
)";
constexpr const char* kStringLua = R"(
local s = ""
local total = 0
for i = 0, 100000 - 1 do
  s = s .. tostring(i % 10)
  if #s >= 100 then
    total = total + #s
    s = ""
  end
end
return total + #s
)";

// 10^5 string keys "k<i>" inserted, then every key looked up and its value summed.
constexpr const char* kMapMcode = R"(
fn main() {
  let m = {}
  for i in range(0, 100000) { m["k" + str(i)] = i }
  let s = 0
  for i in range(0, 100000) { s += m["k" + str(i)] }
  print(s)
}
main()
)";
constexpr const char* kMapLua = R"(
local m = {}
for i = 0, 100000 - 1 do m["k" .. tostring(i)] = i end
local s = 0
for i = 0, 100000 - 1 do s = s + m["k" .. tostring(i)] end
return s
)";

// A counter closure called 10^6 times; the result is the sum of what it returned.
constexpr const char* kClosureMcode = R"(
fn main() {
  fn counter() {
    let n = 0
    return fn() { n += 1; return n }
  }
  let next = counter()
  let s = 0
  for i in range(0, 1000000) { s += next() }
  print(s)
}
main()
)";
constexpr const char* kClosureLua = R"(
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local next = counter()
local s = 0
for i = 0, 1000000 - 1 do s = s + next() end
return s
)";

// binary-trees: one long-lived tree of depth 12, then 2^(12 - d + 4) trees of depth d for
// d = 4, 6, ..., 12, each built and its nodes counted. Nodes are [left, right] lists /
// {left, right} tables; leaves have nil children. The result is the total count.
constexpr const char* kTreesMcode = R"(
fn main() {
  fn make(d) {
    if d == 0 { return [nil, nil] }
    return [make(d - 1), make(d - 1)]
  }
  fn check(t) {
    if t[0] == nil { return 1 }
    return 1 + check(t[0]) + check(t[1])
  }
  let max_depth = 12
  let long_lived = make(max_depth)
  let total = 0
  let d = 4
  while d <= max_depth {
    let iters = 2 ** (max_depth - d + 4)
    for i in range(0, iters) { total += check(make(d)) }
    d += 2
  }
  print(total + check(long_lived))
}
main()
)";
constexpr const char* kTreesLua = R"(
local function make(d)
  if d == 0 then return {nil, nil} end
  return {make(d - 1), make(d - 1)}
end
local function check(t)
  if t[1] == nil then return 1 end
  return 1 + check(t[1]) + check(t[2])
end
local max_depth = 12
local long_lived = make(max_depth)
local total = 0
local d = 4
while d <= max_depth do
  local iters = 1 << (max_depth - d + 4)
  for i = 1, iters do total = total + check(make(d)) end
  d = d + 2
end
return total + check(long_lived)
)";

// Expected results: fib(27); sum 0..10^7-1; floor(-energy * 1e9) after 10^5 n-body steps
// (energy -0.169079859...); 10^5 characters; sum 0..10^5-1; sum 1..10^6; binary-trees
// nodes: 2^13 - 1 = 8191 long-lived plus sum over d of 2^(16-d) * (2^(d+1) - 1) = 649904.
const Program kPrograms[] = {
    {"fib", kFibMcode, kFibLua, "196418"},
    {"loop_sum", kLoopMcode, kLoopLua, "49999995000000"},
    {"nbody", kNbodyMcode, kNbodyLua, "169079859"},
    {"string_build", kStringMcode, kStringLua, "100000"},
    {"map", kMapMcode, kMapLua, "4999950000"},
    {"closure", kClosureMcode, kClosureLua, "500000500000"},
    {"binary_trees", kTreesMcode, kTreesLua, "658095"},
};

std::string run_mcode(const Program& program) {
  std::ostringstream out;
  miso::mcode::VmOptions options;
  options.output = &out;
  miso::mcode::Vm vm(options);
  vm.run(program.mcode, program.name);
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string run_lua(const Program& program) {
  lua_State* state = luaL_newstate();
  if (state == nullptr) return "<lua: out of memory>";
  luaL_openlibs(state);
  std::string result;
  if (luaL_loadstring(state, program.lua) != LUA_OK || lua_pcall(state, 0, 1, 0) != LUA_OK) {
    const char* message = lua_tostring(state, -1);
    result = std::string("<lua error: ") + (message != nullptr ? message : "?") + ">";
  } else {
    std::size_t length = 0;
    const char* text = luaL_tolstring(state, -1, &length);
    result.assign(text, length);
  }
  lua_close(state);
  return result;
}

// Runs both once and compares; returns an empty string when they agree.
std::string verify(const Program& program) {
  std::string mcode;
  try {
    mcode = run_mcode(program);
  } catch (const std::exception& e) {
    return std::string("M-CODE failed: ") + e.what();
  }
  const std::string lua = run_lua(program);
  if (mcode != lua) return "M-CODE printed '" + mcode + "', Lua returned '" + lua + "'";
  if (program.expected != nullptr && mcode != program.expected)
    return "both gave '" + mcode + "', expected '" + program.expected + "'";
  return {};
}

void BM_Mcode(benchmark::State& state, const Program* program) {
  if (const std::string error = verify(*program); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    std::string out = run_mcode(*program);
    benchmark::DoNotOptimize(out);
  }
}

void BM_Lua(benchmark::State& state, const Program* program) {
  if (const std::string error = verify(*program); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    std::string out = run_lua(*program);
    benchmark::DoNotOptimize(out);
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  for (const Program& program : kPrograms) {
    benchmark::RegisterBenchmark((std::string("mcode/") + program.name).c_str(), BM_Mcode, &program)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("lua/") + program.name).c_str(), BM_Lua, &program)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
