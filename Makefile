# Brooks — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export BROOKS_STATE ?= $(CURDIR)/.brooks
GO ?= go
BIN := bin/brooks
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: help build services-up services-down services-status migrate test test-setup vet unit bench demo demo-down bench-components fmt verify

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

DASH_WEB := dashboards/web

build: ## build bin/brooks (with the dashboards' front-end bundled by esbuild and embedded)
	@if [ ! -d $(DASH_WEB)/node_modules ] || [ $(DASH_WEB)/package-lock.json -nt $(DASH_WEB)/node_modules/.package-lock.json ]; then \
		cd $(DASH_WEB) && npm ci --no-audit --no-fund --loglevel=error; fi
	cd $(DASH_WEB) && npm run --silent build
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/brooks

services-up: ## install (first run) and start Kafka, Redis, FerretDB, Cassandra, Elasticsearch
	deploy/local/stack.sh up

services-down: ## stop the servers services-up started
	deploy/local/stack.sh down

services-status: ## show each server, its port, pid, health and memory
	deploy/local/stack.sh status

migrate: build ## create topics, tables, indexes and templates (idempotent)
	$(BIN) migrate

vet: ## go vet (with the chaos tag too), gofmt, go mod tidy and internal/ import checks
	$(GO) vet ./...
	$(GO) vet -tags chaos ./...
	$(GO) vet -tags verify ./audit/faults/
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "not gofmt-formatted:"; echo "$$bad"; exit 1; fi
	@if ! $(GO) mod tidy -diff; then echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; fi
	@mod=$$($(GO) list -m); bad=""; \
	for p in $$($(GO) list ./internal/... | grep -v /internal/testkit); do \
		for d in $$($(GO) list -deps $$p | grep "^$$mod/" | grep -v "^$$mod/internal/"); do bad="$$bad$$p imports $$d\n"; done; done; \
	if [ -n "$$bad" ]; then printf "internal/ (outside internal/testkit) must not import a subsystem:\n$$bad"; exit 1; fi

test-setup: services-up ## everything tests need: the servers, the schema, the browser test's tools
	@if [ -x shadow/collector/browsertest/setup.sh ]; then shadow/collector/browsertest/setup.sh; fi
	$(MAKE) --no-print-directory migrate

test: test-setup vet ## start what tests need, then run go vet and every test against the real servers
	$(GO) test -p 2 -timeout 25m -count=1 ./...
	@pkgs=$$(grep -rl '^//go:build chaos' --include='*_test.go' . | xargs -r -n1 dirname | sort -u); \
	if [ -n "$$pkgs" ]; then \
		echo "== chaos tests (stop and start real servers; run one at a time): $$pkgs"; \
		$(GO) test -tags chaos -p 1 -timeout 15m -count=1 -run Chaos $$pkgs; fi

verify: test-setup ## plant every fault kind into each system on loadgen traffic, check the audit catches it, write the table to README.md
	GO=$(GO) scripts/verify.sh

bench: services-up build ## the whole-platform benchmark: every component under full load, one table (README "Benchmarks"; BENCH_SECONDS, default 40)
	scripts/bench.sh platform

bench-components: test-setup ## each component's own benchmarks against the real servers (see each package README for figures)
	scripts/bench.sh components

demo: services-up build ## run the whole platform on generated traffic and print where to look
	deploy/local/demo.sh up

demo-down: ## stop the demo's components (the servers keep running; see services-down)
	deploy/local/demo.sh down

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')
