# relapse: reproduce container-runtime incidents on demand and catch their return.
#
#   make reproduce [INCIDENT=<id>]   the main job: run incident scenarios, write results/
#   make test                        unit tests + e2e suites (what CI runs)
#
# Both install what is missing first (Debian packages, cached runtimes).

SHELL       := /bin/bash
GO          ?= go
INCIDENT    ?=
RESULTS     ?= $(CURDIR)/results
GINKGO      := $(GO) tool ginkgo
# Ginkgo flags shared by every suite run: serial (the specs measure one
# machine), progress on, a JUnit report, and fail when a filter selects nothing.
GINKGO_FLAGS ?= -v --fail-on-empty --poll-progress-after=120s --timeout=80m
LABELS      := $(if $(INCIDENT),--label-filter='$(INCIDENT)',)

export RELAPSE_RESULTS := $(RESULTS)
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all deps runtimes images reproduce test unit e2e list vet bench clean-results

all: test

## deps: install missing Debian packages (containerd, runc, docker.io, fuse3, ...)
deps:
	@bash scripts/install-deps.sh

## runtimes: fetch the cached runtime builds the scenarios pin (dockerd 20.10.5)
runtimes: deps
	@bash scripts/fetch-dockerd.sh 20.10.5

## list: the incident ids
list:
	@$(GO) run ./cmd/relapse list

## reproduce: run every incident (or INCIDENT=<id>), write results/, print the verdict table
reproduce: deps runtimes
	@$(GO) run ./cmd/relapse check $(INCIDENT)
	@set -o pipefail; rc=0; \
	  $(GINKGO) $(GINKGO_FLAGS) $(LABELS) ./suites/incidents || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  exit $$rc

## test: vet, unit tests, then the e2e incident suites against real runtimes
test: deps runtimes vet unit e2e

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./harness/... ./scenarios/... ./cmd/...

## e2e: the incident suite, then the leave-nothing-behind checks (Ctrl-C, SIGKILL)
e2e:
	@set -o pipefail; rc=0; \
	  $(GINKGO) $(GINKGO_FLAGS) $(LABELS) ./suites/incidents || rc=$$?; \
	  $(GO) run ./cmd/relapse table $(RESULTS)/latest || rc=1; \
	  $(GO) test -count=1 -timeout 15m ./suites/cleanup/ || rc=1; \
	  exit $$rc

## bench: benchmarks of the harness' own hot paths (fit, sampler), recorded under results/
bench:
	@mkdir -p $(RESULTS)
	$(GO) test -run '^$$' -bench . -benchmem ./harness/... | tee $(RESULTS)/bench.txt

clean-results:
	rm -rf $(RESULTS)/[0-9]* $(RESULTS)/latest
