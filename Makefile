# clustersim build.
#
# `make demo` and `make test` are the two commands a new user needs: both
# build first, and the build installs missing Debian packages by itself
# (scripts/install-deps) when a pkg-config module is absent.
#
# Layout: core/ is the controller logic and must not see SQLite, files or the
# event loop; sim/ is the simulator and GeoDB emulation, one sub-folder per
# layer (see docs/architecture.md and `make layering`); tests/ holds one
# cmocka executable per tests/test_*.c plus the scenario runs.

PREFIX ?= /usr/local
prefix ?= $(PREFIX)
bindir ?= $(prefix)/bin
datadir ?= $(prefix)/share
PKG_CONFIG ?= pkg-config
CC ?= cc

PKGS := sqlite3 jansson gsl
ALL_PKGS := $(PKGS) cmocka

# Install missing dependencies before anything asks pkg-config for flags.
NEEDS_DEPS := $(filter-out clean distclean uninstall help,$(or $(MAKECMDGOALS),all))
ifneq ($(NEEDS_DEPS),)
ifneq ($(shell $(PKG_CONFIG) --exists $(ALL_PKGS) 2>/dev/null && echo ok),ok)
$(info clustersim: pkg-config cannot find all of: $(ALL_PKGS); running scripts/install-deps)
INSTALL_DEPS_RC := $(shell ./scripts/install-deps >&2; echo $$?)
ifneq ($(INSTALL_DEPS_RC),0)
$(error scripts/install-deps failed (exit $(INSTALL_DEPS_RC)); install the -dev packages of $(ALL_PKGS) by hand)
endif
endif
endif

ifeq ($(FUZZ),1)
# `make fuzz`: libFuzzer targets, built by clang with ASan and UBSan; every
# object is instrumented for coverage (fuzzer-no-link), the targets link
# libFuzzer's main.
CC := clang
BUILD ?= build-fuzz
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
BIN := $(BUILD)/clustersim
# EXPLORE_PLANT=cooltime (catastrophe, failover, merge) builds a binary with a known defect planted
# (docs/explore.md) in its own build directory, for `make explore-selftest`.
else ifneq ($(EXPLORE_PLANT),)
PLANT_FLAGS := -DCLUSTERSIM_PLANT_$(shell echo $(EXPLORE_PLANT) | tr a-z A-Z)
BUILD ?= build-plant-$(EXPLORE_PLANT)
SAN_FLAGS :=
BIN := $(BUILD)/clustersim
else ifeq ($(SANITIZE),1)
BUILD ?= build-asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BIN := $(BUILD)/clustersim
else
BUILD ?= build
SAN_FLAGS :=
BIN := clustersim
# Link-time optimisation inlines the small cross-module calls of every
# access (topology checks, referrals, counters): bench-1m 3.35-3.59 s to
# 3.25-3.40 s; -O3 on top, 3.25-3.28 s to 3.13-3.17 s; the same bytes out
# (no fast-math: floating-point results do not depend on the level).
# FAST_FLAGS= builds without them (say, with a compiler that lacks
# -flto=auto).
FAST_FLAGS ?= -O3 -flto=auto
endif

# -ffp-contract=off: no fused multiply-add, so load figures are the same
# bytes on every x86-64 machine; no -ffast-math, no -march=native.
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
PROJECT_CFLAGS := -std=c11 $(WARN) -O2 -g -ffp-contract=off -D_POSIX_C_SOURCE=200809L \
	$(SAN_FLAGS) $(PLANT_FLAGS) $(FAST_FLAGS) -MMD -MP
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -pthread
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

CORE_SRC := $(sort $(wildcard core/*.c))
SIM_SRC := $(sort $(filter-out sim/main.c,$(wildcard sim/*.c sim/*/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/sim/main.o
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB := $(BUILD)/libclustersim.a

FUZZ_TARGETS := scenario doveadm director plan
FUZZ_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-build fuzz-deps all test check demo explore-selftest bench bench-10m compare balance-table seeds baseline oracle-deps test-deps clean distclean install uninstall asan layering help
# Keep test objects between runs.
.SECONDARY:

all: $(BIN)

# core/ is compiled without the dependencies' include paths, so an
# accidental #include <sqlite3.h> there fails the build.
$(BUILD)/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/sim/%.o: sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -I. -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(DEP_CFLAGS) $(CMOCKA_CFLAGS) $(CFLAGS) -I. -c $< -o $@

$(LIB): $(CORE_OBJ) $(SIM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(PROJECT_CFLAGS) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(DEP_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $(PROJECT_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(DEP_LIBS) $(CMOCKA_LIBS)

$(BUILD)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -I. -c $< -o $@

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/fuzzfile.o $(LIB)
	$(CC) $(PROJECT_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

# `make fuzz [FUZZ_SECONDS=N]`: builds the libFuzzer targets (fuzz/) with
# clang and runs each for N seconds from its seed corpus in fuzz/corpus/
# (new inputs go to build-fuzz/corpus/, crashes to build-fuzz/artifacts/).
# clang is a fuzz dependency, installed like the others when missing.
ifeq ($(FUZZ),1)
fuzz: fuzz-build
	@./scripts/fuzz $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)
else
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
endif

# libFuzzer's runtime is only a Recommends of clang, which install-deps
# does not install: it is named here.
fuzz-deps:
	@./scripts/install-deps clang libclang-rt-dev

# The layering rule, checked mechanically: every #include points down the
# layers (core < base < geodb < doveadm; base < scenario; < world <
# adapters < report < main/run), only sim/geodb/ includes sqlite3.h, the
# world's modules form an order, and core/ uses no SQLite, files or clocks.
# See docs/architecture.md; tests/layering.sh shows it catches a planted
# wrong-way include.
layering:
	@./scripts/check-layering

# The director conformance suite runs the real director: dovecot-core is a
# test dependency, installed like the others when missing.
oracle-deps:
	@[ -x /usr/sbin/dovecot ] || [ "$${CLUSTERSIM_SKIP_ORACLE:-}" = 1 ] || \
		./scripts/install-deps dovecot-core

# tests/robustness.sh makes single writes fail with strace; tests/sweep.sh
# runs sweeps with GNU parallel, one part of them through an sshd it starts
# (openssh-server), and checks JUnit files with xmllint; tests/html.sh opens
# report.html in headless Chromium; tests/openmetrics.sh backfills
# metrics.om into a real Prometheus; tests/grafana.sh parses the dashboard
# with python3's json.tool. Installed like the others when missing
# (each test says so and skips if it still is).
test-deps:
	@command -v strace > /dev/null 2>&1 || ./scripts/install-deps strace || \
		echo "strace could not be installed: the injected-failure tests will be skipped" >&2
	@{ command -v parallel && command -v xmllint && { command -v sshd || [ -x /usr/sbin/sshd ]; }; } \
		> /dev/null 2>&1 || ./scripts/install-deps parallel openssh-server libxml2-utils || \
		echo "parallel, openssh-server or libxml2-utils could not be installed: sweep tests will fail or skip" >&2
	@command -v chromium > /dev/null 2>&1 || ./scripts/install-deps chromium || \
		echo "chromium could not be installed: the browser test of report.html will be skipped" >&2
	@{ command -v promtool && command -v curl; } > /dev/null 2>&1 || ./scripts/install-deps prometheus curl || \
		echo "prometheus could not be installed: the OpenMetrics test will be skipped" >&2
	@command -v python3 > /dev/null 2>&1 || ./scripts/install-deps python3 || \
		echo "python3 could not be installed: tests/grafana.sh skips its JSON parse" >&2

test: $(BIN) $(TEST_BIN) layering oracle-deps test-deps
	@CLUSTERSIM=$(abspath $(BIN)) BUILD=$(BUILD) ./scripts/run-tests $(TEST_BIN)

check: test

asan:
	$(MAKE) SANITIZE=1 test

demo: $(BIN)
	@./scripts/demo $(abspath $(BIN))

# Not part of `make test`: performance figures against the floor loop
# (scripts/bench; a missed target is printed, BENCH_STRICT=1 fails it).
bench: $(BIN)
	@./scripts/bench $(abspath $(BIN)) 1m 1200 sweep

# 10 million users (minutes, about 3 GiB of memory and disk).
bench-10m: $(BIN)
	@./scripts/bench $(abspath $(BIN)) 10m

compare: $(BIN)
	@./scripts/compare-modes $(abspath $(BIN)) reports/compare

# Not part of `make test`: 50 runs of a 400,000-user day (a few minutes).
# Rewrites the threshold table in docs/controller.md; BALANCE_TABLE_FLAGS
# passes options (e.g. --seeds 10) to scripts/balance-table.
balance-table: $(BIN)
	@./scripts/balance-table --bin $(abspath $(BIN)) --update $(BALANCE_TABLE_FLAGS)

# Explore's proof that it finds bugs: each planted defect built into its own
# binary (EXPLORE_PLANT=...), explored until found, and shrunk
# (scripts/explore-selftest; docs/explore.md).
EXPLORE_PLANTS := cooltime catastrophe failover merge
explore-selftest:
	@for p in $(EXPLORE_PLANTS); do \
		$(MAKE) --no-print-directory EXPLORE_PLANT=$$p build-plant-$$p/clustersim || exit 1; \
		./scripts/explore-selftest $$p build-plant-$$p/clustersim || exit 1; \
	done

# Every bundled scenario on SEEDS seeds (default 20), as a pass table: a
# scenario's expectations are claims about the system, not about one seed.
SEEDS ?= 20
seeds: $(BIN)
	@CLUSTERSIM=$(abspath $(BIN)) ./scripts/seeds -n $(SEEDS)

# The committed threshold-regression baseline that tests/baseline.sh checks
# on new seeds. Re-record it (and commit it) after changing the controller's
# behaviour on purpose.
BASELINE_SCENARIOS := scenarios/catastrophe.json scenarios/degraded-backend.json \
	scenarios/critical-evacuation.json
baseline: $(BIN)
	@mkdir -p baselines
	./$(BIN) baseline record --seeds 5 --work reports/baseline-record --out baselines/bundled.csv \
		$(BASELINE_SCENARIOS)

install: $(BIN)
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(datadir)/clustersim/scenarios
	install -m 0755 $(BIN) $(DESTDIR)$(bindir)/clustersim
	install -m 0644 scenarios/*.json $(DESTDIR)$(datadir)/clustersim/scenarios/

uninstall:
	rm -f $(DESTDIR)$(bindir)/clustersim
	rm -rf $(DESTDIR)$(datadir)/clustersim

clean:
	rm -rf build build-asan build-fuzz build-plant-* clustersim

distclean: clean
	rm -rf reports/*/

help:
	@echo "make [all]        build ./clustersim"
	@echo "make demo         build and run the default scenario, print where the report is"
	@echo "make test         build and run every test (unit, scenario, determinism)"
	@echo "make fuzz         libFuzzer targets (clang), each run FUZZ_SECONDS (60) from fuzz/corpus/"
	@echo "make asan         the tests under AddressSanitizer + UBSan (= make SANITIZE=1 test)"
	@echo "make explore-selftest  explore finds and shrinks each planted defect"
	@echo "make seeds        every bundled scenario on SEEDS=20 seeds: a pass table"
	@echo "make bench        the 24h benchmarks: 1M users on 3x40 backends, 100k on 3x400"
	@echo "make compare      one workload in director mode and in Palomar mode, side by side"
	@echo "make balance-table  balancing moves and imbalance per threshold on a healthy site (docs/controller.md)"
	@echo "make baseline     re-record baselines/bundled.csv (after a deliberate behaviour change)"
	@echo "make install      PREFIX=/usr/local DESTDIR= honoured"

-include $(CORE_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:=.d) \
	$(wildcard $(BUILD)/fuzz/*.d)
