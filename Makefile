# Thin entry points; CMake does the building. See README.md.
SHELL := /bin/bash
RELEASE := build/release
ASAN := build/asan
TSAN := build/tsan
FUZZ := build/fuzz
CMAKE_COMMON := -G Ninja -DMISO_WERROR=ON
CTEST_FLAGS := --output-on-failure -j $(shell nproc)
# ccache (used when installed) hashes paths relative to here, so clones share it.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all deps release asan tsan fuzz fuzz-build run test bench format clean

all: release

deps:
	@bash scripts/deps.sh

release: deps
	cmake -S . -B $(RELEASE) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(RELEASE)

# Debug build (assertions on) with AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B $(ASAN) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DMISO_SANITIZE=ON -DMISO_BUILD_BENCH=OFF
	cmake --build $(ASAN)

# ThreadSanitizer build of the scheduler's tests (the lock-free deque and executor).
tsan: deps
	cmake -S . -B $(TSAN) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMISO_TSAN=ON -DMISO_BUILD_BENCH=OFF
	cmake --build $(TSAN) --target miso_nexus_tests

# libFuzzer target of M-CODE (clang, ASan+UBSan; only the core language is compiled).
# `make fuzz` runs a campaign of FUZZ_SECONDS; new inputs collect in build/fuzz/corpus,
# crashes in build/fuzz/artifacts (see docs/mcode.md, "Fuzzing").
FUZZ_SECONDS ?= 300
FUZZ_FLAGS := -max_len=4096 -timeout=10 -rss_limit_mb=2048 -dict=fuzz/mcode.dict -print_final_stats=1
fuzz-build: deps
	cmake -S fuzz -B $(FUZZ) -G Ninja -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FUZZ)

fuzz: fuzz-build
	mkdir -p $(FUZZ)/corpus $(FUZZ)/artifacts
	$(FUZZ)/mcode_fuzz $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ)/artifacts/ \
	  $(FUZZ)/corpus fuzz/corpus tests/mcode/programs

# Profiles every component on the small data set and writes build/report/.
run: release
	$(RELEASE)/bin/miso profile --size small --out build/report

test: release asan tsan fuzz-build
	cd $(RELEASE) && ctest $(CTEST_FLAGS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest $(CTEST_FLAGS)
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest $(CTEST_FLAGS) -R '^(WorkStealingDeque|Executor|TaskGroup|TaskGraph|ParallelFor|ParallelReduce|Task|BlockedSumWorkload)\.' 
# Last, a short fuzz run with a fixed seed and run count (about a minute): the same inputs each time.
	rm -rf $(FUZZ)/smoke && mkdir -p $(FUZZ)/smoke/corpus
	$(FUZZ)/mcode_fuzz $(FUZZ_FLAGS) -seed=1 -runs=40000 -artifact_prefix=$(FUZZ)/smoke/ \
	  $(FUZZ)/smoke/corpus fuzz/corpus tests/mcode/programs

# Benchmarks, Release build; median of 5 repetitions, peers in the same binary.
bench: release
	@for b in $(RELEASE)/bench/*/bench_*; do \
	  echo "== $$b"; \
	  $$b --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true --benchmark_display_aggregates_only=true; \
	done

format:
	git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build
