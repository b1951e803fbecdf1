# relapse: reproduce container-runtime incidents on demand and catch their return.
#
#   make reproduce [INCIDENT=<id>]   the main job: run incident scenarios, write results/
#   make test                        unit tests + e2e suites (what CI runs)
#   make matrix [INCIDENT=<id>] [RUNTIMES="containerd-1.7.18 dockerd-20.10.5 ..."] [VARIANT=<name>]
#                                    every variant on every runtime build, one report
#   make regression CONTAINERD_CONFIG=<config.toml> [DOCKERD_CONFIG=<daemon.json>]
#                                    judge YOUR runtime configuration against every budget
#
# All of them install what is missing first (Debian packages, cached runtimes).

SHELL       := /bin/bash
GO          ?= go
INCIDENT    ?=
RESULTS     ?= $(CURDIR)/results
GINKGO      := $(GO) tool ginkgo
# Ginkgo flags shared by every suite run: serial (the specs measure one
# machine), progress on, a JUnit report, and fail when a filter selects nothing.
GINKGO_FLAGS ?= -v --fail-on-empty --poll-progress-after=120s --timeout=80m
LABELS      := $(if $(INCIDENT),--label-filter='$(INCIDENT)',)
# The matrix's runtime builds (cells): built or fetched into the cache by
# scripts/runtimes.sh. The default is every version relapse knows.
RUNTIMES    ?= containerd-1.6.20 containerd-1.7.18 containerd-2.0.14 dockerd-20.10.5 dockerd-20.10.24
# VARIANT picks one variant by name (a Ginkgo focus on its spec title).
VARIANT     ?=
FOCUS       := $(if $(VARIANT),--focus='(^| )$(VARIANT) (holds|reproduces)',)
CHECK       := $(GO) run ./cmd/relapse check $(if $(VARIANT),-variant '$(VARIANT)',)
# Regression mode judges the user's configuration files.
CONTAINERD_CONFIG ?=
DOCKERD_CONFIG    ?=
empty :=
space := $(empty) $(empty)
REGRESSION_LABELS := $(subst $(space),||,$(strip $(if $(CONTAINERD_CONFIG),containerd,) $(if $(DOCKERD_CONFIG),dockerd,)))

export RELAPSE_RESULTS := $(RESULTS)
# Runtime builds run before any measurement, so they may use both cores.
export RELAPSE_BUILD_JOBS ?= 2
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all deps runtimes matrix-runtimes reproduce matrix regression test unit e2e list vet bench clean-results

all: test

## deps: install missing Debian packages (containerd, runc, docker.io, fuse3, ...)
deps:
	@bash scripts/install-deps.sh

## runtimes: fetch the cached runtime builds the scenarios pin (dockerd 20.10.5)
runtimes: deps
	@bash scripts/runtimes.sh dockerd-20.10.5

## matrix-runtimes: build or fetch the runtimes in RUNTIMES that INCIDENT (or VARIANT) runs on
matrix-runtimes: deps
	@cells=$$($(CHECK) -cells -runtimes '$(RUNTIMES)' $(INCIDENT)) && bash scripts/runtimes.sh $$cells

## matrix: every variant (or INCIDENT's, or VARIANT) on every build in RUNTIMES, into ONE report
matrix: matrix-runtimes
	@$(CHECK) -runtimes '$(RUNTIMES)' $(INCIDENT)
	@set -o pipefail; rc=0; start=$$(date +%s); \
	  RELAPSE_MATRIX='$(RUNTIMES)' $(GINKGO) $(GINKGO_FLAGS) $(LABELS) $(FOCUS) ./suites/incidents || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  echo "matrix over $(RUNTIMES): $$(( $$(date +%s) - start ))s"; \
	  exit $$rc

## regression: judge CONTAINERD_CONFIG and/or DOCKERD_CONFIG against every incident's budgets
regression: deps
	@test -n "$(REGRESSION_LABELS)" || { echo "make regression: give CONTAINERD_CONFIG=<config.toml> and/or DOCKERD_CONFIG=<daemon.json> (the configuration to judge)" >&2; exit 2; }
	@set -o pipefail; rc=0; \
	  export RELAPSE_CONTAINERD_CONFIG='$(if $(CONTAINERD_CONFIG),$(abspath $(CONTAINERD_CONFIG)),)' RELAPSE_DOCKERD_CONFIG='$(if $(DOCKERD_CONFIG),$(abspath $(DOCKERD_CONFIG)),)'; \
	  $(CHECK) -regression $(INCIDENT) || exit 2; \
	  $(GINKGO) $(GINKGO_FLAGS) --label-filter='($(REGRESSION_LABELS))$(if $(INCIDENT), && $(INCIDENT),)' ./suites/regression || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  exit $$rc

## list: the incident ids
list:
	@$(GO) run ./cmd/relapse list

## reproduce: run every incident (or INCIDENT=<id>), write results/, print the verdict table
reproduce: deps runtimes
	@$(CHECK) $(INCIDENT)
	@set -o pipefail; rc=0; \
	  $(GINKGO) $(GINKGO_FLAGS) $(LABELS) $(FOCUS) ./suites/incidents || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  exit $$rc

## test: vet, unit tests, then the e2e incident suites against real runtimes
test: deps runtimes vet unit e2e

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./harness/... ./scenarios/... ./cmd/...

## e2e: the incident suite, the leave-nothing-behind checks (Ctrl-C, SIGKILL),
## then the nightly commands end to end (make matrix, relapse ab, make regression)
e2e:
	@set -o pipefail; rc=0; \
	  $(GINKGO) $(GINKGO_FLAGS) $(LABELS) ./suites/incidents || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  $(GO) test -count=1 -timeout 15m ./suites/cleanup/ || rc=1; \
	  $(GO) test -count=1 -timeout 50m -v ./suites/nightly/ || rc=1; \
	  exit $$rc

## bench: benchmarks of the harness' own hot paths (fit, sampler), recorded under results/
bench:
	@mkdir -p $(RESULTS)
	$(GO) test -run '^$$' -bench . -benchmem ./harness/... | tee $(RESULTS)/bench.txt

clean-results:
	rm -rf $(RESULTS)/[0-9]* $(RESULTS)/latest
