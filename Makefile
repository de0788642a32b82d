# SPDX-License-Identifier: MIT
# Top-level wrapper: every target a user needs. CMake does the real work.
#   make run            install deps, build, start cellgated on 127.0.0.1:7070 (data in ./var)
#   make test           install deps, build, run every test, then again under ASan+UBSan
#   make demo           the guided demo (see README)
#   make demo-ha        the HA demo: three replicas on PostgreSQL, the leader killed mid-rollout
#   make bench          benchmarks against their peers (never part of make test)
#   make fuzz           build the libFuzzer targets (clang) and run each for FUZZ_SECS seconds
#   make model          model-check the protocol with spin (model/, docs/model.md; also in make test)
#   make man            regenerate the OPTIONS section of docs/man/cellgated.8.md from server/config.c
#   make install        install into $(DESTDIR)$(PREFIX) (default /usr/local; docs/packaging.md)
#   make deb            the five Debian packages into $(DEB_OUT) (default build/deb/);
#                       CG_DEB_PREBUILT=build packages that built tree instead of building
#   make clean          remove build trees

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN     ?= 127.0.0.1:7070
DATA       ?= var
FUZZ_BUILD ?= build-fuzz
FUZZ_CC    ?= clang
FUZZ_SECS  ?= 60
FUZZ_TARGETS ?=
PREFIX     ?= /usr/local
DESTDIR    ?=
DEB_OUT    ?= $(BUILD)/deb
CG_DEB_PREBUILT ?=

.PHONY: install deb all deps build run test test-fast test-sanitize demo demo-ha bench fuzz model man clean format check-format

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p $(DATA)
	$(BUILD)/server/cellgated --data $(DATA) --listen $(LISTEN)

# The whole suite, normal build then sanitizer build.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-sanitize

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=address,undefined
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  CG_SANITIZED=1 ctest --output-on-failure -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

demo-ha: build
	@bash scripts/demo-ha.sh $(BUILD)

bench: build
	@bash bench/run.sh $(BUILD)

# libFuzzer binaries of tests/fuzz/ (docs/tests.md, "Fuzzing"): needs clang.
# FUZZ_SECS per target; FUZZ_TARGETS="json plan" runs only those.
fuzz: deps
	CC=$(FUZZ_CC) cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCG_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECS) $(FUZZ_TARGETS)

# The SPIN model of the assignment and apply protocol (docs/model.md): every
# run exhaustive within its stated bounds, the mutations must fail. pan is
# generated and compiled under $(BUILD)/model, never in the source tree.
# make test runs the same script as the CTest test model.spin.
model:
	@bash model/check.sh $(BUILD)/model

man: build
	python3 scripts/gen-man-options.py $(BUILD)

# Installs what `make build` built under $(DESTDIR)$(PREFIX) (/etc files
# under $(PREFIX)/etc unless PREFIX is /usr).
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# Debian packages (debian/, docs/packaging.md): built from a copy of the
# tree so that nothing lands in the repository's parent.
deb: deps
	bash scripts/make-deb.sh $(DEB_OUT) $(CG_DEB_PREBUILT)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@bash scripts/check-format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
