# relapse: reproduce container-runtime incidents on demand and catch their return.
#
#   make reproduce [INCIDENT=<id>] [JOBS=3]
#                                    the main job: run incident scenarios, write results/
#   make test                        unit tests + e2e suites (what CI runs)
#   make matrix [INCIDENT=<id>] [RUNTIMES="containerd-1.7.24 containerd-2.3.5/runc-1.3.6 dockerd-29.8.1 ..."] [VARIANT=<name>]
#                                    every variant on every runtime build, one report
#   make regression CONTAINERD_CONFIG=<config.toml> [DOCKERD_CONFIG=<daemon.json>]
#                                    judge YOUR runtime configuration against every budget
#   make calibrate [CALIBRATE_RUNS="results/<id> ..."]
#                                    the verdict rules' false-breach rate, power and time to verdict
#   make calibrate-live [LIVE_RUNS=20] [LIVE_MULTIPLES=0,0.5,1,2,4] [LIVE_JOBS=1]
#                                    the same on live runs of a daemon with a known leak (images/leaker),
#                                    LIVE_RUNS per leak size on private dockerds (~30 s each, LIVE_JOBS at once;
#                                    not in make test)
#   make bench                       the harness' hot paths, and the sampler's CPU per sample on a private
#                                    dockerd beside the Docker stats API (results/bench.txt)
#   make track-record                README.md's track record from docs/track-record/summary.json
#   make guest [GUEST_KERNELS="6.1 6.12"] [GUEST_CGROUP=2] [INCIDENT=<id>] [VARIANT=<name>]
#                                    the incidents in qemu guests with other kernels and cgroup v2
#
# All of them install what is missing first (Debian packages, cached runtimes).

SHELL       := /bin/bash
GO          ?= go
INCIDENT    ?=
VARIANT     ?=
RESULTS     ?= $(CURDIR)/results
GINKGO      := $(GO) tool ginkgo
# Runs at once: each in its own relapse (or Ginkgo) process and private
# sandbox. Most variants wait on their incident's pace (a stop call's 2 s
# deadline, a probe timeout, a settle, a daemon's own timer): three at once
# kept 2 cores about half busy (0.93-0.98 cores on the reference machine);
# the variants that need the machine to themselves (Incident.Alone,
# Variant.Alone: machine-wide counters, outcomes that race inside a daemon's
# start) run after the others, one at a time. JOBS=1 runs everything one
# after the other.
JOBS        ?= 3
# Ginkgo flags shared by every suite run: JOBS processes, progress on, a
# JUnit report, and fail when a filter selects nothing.
GINKGO_FLAGS ?= -v --procs=$(JOBS) --fail-on-empty --poll-progress-after=120s --timeout=80m
# The matrix's runtime builds (cells): what users run and upgrade to, each
# minor line's Debian or newest release. A dockerd runs with its release's
# containerd and runc (harness/engine/companions.go); a cell can name
# others (containerd-2.3.5/runc-1.3.6, dockerd-28.5.2/containerd-2.3.5).
# scripts/runtimes.sh fetches or builds each into the cache, and
# `relapse run` asks for the ones it lacks.
RUNTIMES    ?= containerd-1.6.20 containerd-1.7.24 containerd-2.0.14 containerd-2.1.9 containerd-2.2.4 containerd-2.3.5 containerd-2.4.2 \
               dockerd-20.10.5 dockerd-20.10.24 dockerd-26.1.5 dockerd-28.5.2 dockerd-29.8.1
# Calibration: replays per synthetic noise and leak size, and the saved runs
# whose hold series are replayed as real noise (default: the latest run).
CALIBRATE_REPLAYS ?= 1000
CALIBRATE_WORKERS ?= 2
# The verdict rule sets measured side by side.
CALIBRATE_RULES   ?= v1,v2,v3
CALIBRATE_RUNS    ?= $(wildcard $(RESULTS)/latest)
# The sampler cost benchmark: samples per loop (600 at 10 Hz: a minute
# each), and the lock every daemon-starting run takes.
BENCH_SAMPLES ?= 600
E2E_LOCK      ?= /tmp/relapse-e2e.lock
# Live calibration: runs of the leaker per leak size (multiples of its budgets).
LIVE_RUNS         ?= 20
LIVE_MULTIPLES    ?= 0,0.5,1,2,4
# relapse processes running live runs at once, each on its own private
# dockerd: the runs are paced, not CPU-bound (6 at once on 2 cores each
# still take 30 s).
LIVE_JOBS         ?= 1
# The first of these judges the live runs as they go (the default rules,
# whose early stops the runs should show); every one re-judges them after.
LIVE_RULES        ?= v3,v2,v1
# Regression mode judges the user's configuration files.
CONTAINERD_CONFIG ?=
DOCKERD_CONFIG    ?=
# relapse is built once per make invocation; every target asks its plan.
RELAPSE     := $(CURDIR)/bin/relapse
SELECT      := $(INCIDENT) $(if $(VARIANT),-variant '$(VARIANT)',)

export RELAPSE_RESULTS := $(RESULTS)
# Runtime builds run before any measurement, so they may use both cores.
export RELAPSE_BUILD_JOBS ?= 2
export TESTCONTAINERS_RYUK_DISABLED := true

# Guests (scripts/guest.sh): Debian kernels, cgroup mode, and the time bounds'
# stretch for software emulation (RELAPSE_TIME_SCALE; budgets never change).
# What runs in them is a plan selection: the variants an incident marks for
# the guests (Variant.Guest), `relapse plan -label guest` / `-label guest-check`,
# narrowed by INCIDENT and VARIANT.
GUEST_KERNELS    ?= 6.1 6.12
GUEST_CGROUP     ?= 2
GUEST_TIME_SCALE ?= 20

.PHONY: all deps relapse runtimes cells reproduce matrix regression plan test unit e2e coexist-all list vet bench calibrate calibrate-live bisect-demo clean-results guest guest-check track-record

all: test

## deps: install missing Debian packages (containerd, runc, docker.io, fuse3, ...)
deps:
	@bash scripts/install-deps.sh

relapse:
	@$(GO) build -o $(RELAPSE) ./cmd/relapse

## runtimes: fetch or build the runtime builds the selected variants pin
runtimes: deps relapse
	@builds=$$($(RELAPSE) plan -builds $(SELECT)) && { [ -z "$$builds" ] || bash scripts/runtimes.sh $$builds; }

## cells: the builds of RUNTIMES that the selected variants run on (the nightly's jobs)
cells: relapse
	@$(RELAPSE) plan -cells -runtimes '$(RUNTIMES)' $(SELECT)

## plan: what reproduce (or matrix with RUNTIMES, regression with *_CONFIG) would run
plan: relapse
	@$(RELAPSE) plan $(SELECT)

## reproduce: run every incident (or INCIDENT=<id>, VARIANT=<name>), write results/, print the verdict table
reproduce: deps relapse
	@$(RELAPSE) run $(SELECT) -jobs $(JOBS)

## matrix: every variant (or INCIDENT's, or VARIANT) on every build in RUNTIMES, into ONE report
matrix: deps relapse
	@start=$$(date +%s); rc=0; $(RELAPSE) run $(SELECT) -runtimes '$(RUNTIMES)' -jobs $(JOBS) || rc=$$?; \
	  echo "matrix over $(RUNTIMES): $$(( $$(date +%s) - start ))s"; exit $$rc

## regression: judge CONTAINERD_CONFIG and/or DOCKERD_CONFIG against every incident's budgets
regression: deps relapse
	@test -n "$(CONTAINERD_CONFIG)$(DOCKERD_CONFIG)" || { echo "make regression: give CONTAINERD_CONFIG=<config.toml> and/or DOCKERD_CONFIG=<daemon.json> (the configuration to judge)" >&2; exit 2; }
	@$(RELAPSE) run $(INCIDENT) -jobs $(JOBS) $(if $(CONTAINERD_CONFIG),-containerd-config '$(CONTAINERD_CONFIG)',) $(if $(DOCKERD_CONFIG),-dockerd-config '$(DOCKERD_CONFIG)',)

## track-record: rewrite README.md's track record from docs/track-record/summary.json
## (make it from a run with: relapse merge -supersede -out docs/track-record-new results/<run>...)
track-record: relapse
	@$(RELAPSE) track-record -readme README.md docs/track-record

## list: the incident ids
list: relapse
	@$(RELAPSE) list

## test: vet, unit tests, the e2e incident suites against real runtimes, one guest run on cgroup v2
test: deps runtimes vet unit e2e guest-check

## vet: go vet, and actionlint over the GitHub workflows (a go tool in go.mod)
vet:
	$(GO) vet ./...
	$(GO) tool actionlint .github/workflows/*.yml

unit:
	$(GO) test -count=1 -timeout 20m ./harness/... ./scenarios/... ./cmd/... ./images/...

## e2e: the incident suite, the leave-nothing-behind checks (Ctrl-C, SIGKILL),
## the coexistence check (relapse beside a live host containerd and dockerd),
## then the nightly commands end to end (make matrix, relapse ab, make regression)
e2e: relapse
	@set -o pipefail; rc=0; \
	  RELAPSE_INCIDENT='$(INCIDENT)' RELAPSE_VARIANT='$(VARIANT)' $(GINKGO) $(GINKGO_FLAGS) ./suites/incidents || rc=$$?; \
	  $(RELAPSE) table $(RESULTS)/latest || rc=1; \
	  $(GO) test -count=1 -timeout 15m ./suites/cleanup/ || rc=1; \
	  $(GO) test -count=1 -timeout 25m -v ./suites/coexist/ || rc=1; \
	  $(GO) test -count=1 -timeout 50m -v ./suites/nightly/ || rc=1; \
	  exit $$rc

## coexist-all: every incident variant beside a live host containerd and
## dockerd (the ones already running, or started from the system packages)
coexist-all: deps relapse
	RELAPSE_COEXIST_ALL=1 $(GO) test -count=1 -timeout 80m -v -run TestRelapseLeavesTheHostRuntimesAlone ./suites/coexist/

## bisect-demo: find the containerd release that fixed the ExecSync drain leak (not in make test:
## cold, it builds the missing containerd tags, 1-2 min each, and judges ~3 builds at ~1.5 min each)
BISECT_GOOD ?= v2.3.4
BISECT_BAD  ?= v2.3.7
bisect-demo: deps relapse
	@start=$$(date +%s); rc=0; \
	  $(RELAPSE) bisect containerd-execsync-drain-leak -variant vulnerable -good $(BISECT_GOOD) -bad $(BISECT_BAD) || rc=$$?; \
	  echo "bisect $(BISECT_GOOD)..$(BISECT_BAD): $$(( $$(date +%s) - start ))s"; exit $$rc

## guest-check: boot a kernel 6.1 guest on cgroup v2 (qemu, TCG) and run the variants labelled guest-check in it
guest-check: deps relapse
	@start=$$(date +%s); rc=0; \
	  bash scripts/guest.sh -kernel 6.1 -cgroup 2 -time-scale $(GUEST_TIME_SCALE) -timeout 1500 -- sh scripts/guest/runs.sh -label guest-check || rc=$$?; \
	  echo "guest-check (kernel 6.1, cgroup v2): $$(( $$(date +%s) - start ))s"; exit $$rc

## guest: the variants labelled guest in one guest per kernel of GUEST_KERNELS, cgroup GUEST_CGROUP; results/guest-<kernel>-cgroup<N>-*
guest: deps relapse
	@rc=0; for k in $(GUEST_KERNELS); do start=$$(date +%s); \
	  bash scripts/guest.sh -kernel $$k -cgroup $(GUEST_CGROUP) -time-scale $(GUEST_TIME_SCALE) -timeout 10800 -- sh scripts/guest/runs.sh -label guest $(SELECT) || rc=1; \
	  echo "guest kernel $$k cgroup v$(GUEST_CGROUP): $$(( $$(date +%s) - start ))s"; done; exit $$rc

## calibrate: replay series of known truth (synthetic noise, and the real holds of
## CALIBRATE_RUNS) through the watcher's looks under each verdict rule set: false
## breaches, power and time to verdict, in results/calibration/ (every replay's
## time in calibration.json) and docs/calibration/ (the tables and plots)
calibrate: relapse
	@$(RELAPSE) calibrate -rules $(CALIBRATE_RULES) -replays $(CALIBRATE_REPLAYS) -workers $(CALIBRATE_WORKERS) -out $(RESULTS)/calibration $(CALIBRATE_RUNS)
	@mkdir -p docs/calibration && cp $(RESULTS)/calibration/calibration.md \
		$(RESULTS)/calibration/power.svg $(RESULTS)/calibration/time.svg docs/calibration/

## calibrate-live: run the leaker (images/leaker) LIVE_RUNS times per leak size of LIVE_MULTIPLES
## through the engine (private dockerds, results/calibration-live/<run>), re-judge every run under each
## verdict rule set, and add a live section to results/calibration/ (its replay tables are kept);
## docs/calibration/live.md gets the section alone
calibrate-live: deps relapse
	@$(RELAPSE) calibrate -live $(LIVE_RUNS) -jobs $(LIVE_JOBS) -rules $(LIVE_RULES) -multiples $(LIVE_MULTIPLES) -out $(RESULTS)/calibration
	@mkdir -p docs/calibration && cp $(RESULTS)/calibration/live.md docs/calibration/

## bench: benchmarks of the harness' own hot paths (fit, ...), then the sampler's
## own CPU per sample on a real private dockerd at 10 Hz beside the Docker stats
## API and /info for the same numbers (suites/bench: it starts daemons, so it runs
## under E2E_LOCK; give E2E_LOCK= when the caller already holds it); all in
## results/bench.txt
bench:
	@mkdir -p $(RESULTS)
	@set -o pipefail; { $(GO) test -run '^$$' -bench . -benchmem ./harness/... && \
	  $(if $(E2E_LOCK),flock $(E2E_LOCK)) $(GO) test -run '^$$' -bench . -benchtime $(BENCH_SAMPLES)x -timeout 30m ./suites/bench/; } \
	  | tee $(RESULTS)/bench.txt

clean-results:
	rm -rf $(RESULTS)/[0-9]* $(RESULTS)/latest
