# The targets a developer and CI use; CI runs `make test` through .ci/run.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
# Empty: the binary reports the module's build information (VCS revision) as its version.
VERSION ?=

.PHONY: run test lint bench build tools

run: ## start the service with demo data on the embedded store
	$(GO) run ./cmd/expertsurvey serve --demo

test: ## the whole suite, with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

lint: ## formatting, vet and staticcheck (config: staticcheck.conf)
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench: ## benchmarks of the hot paths; figures go to docs/performance.md
	$(GO) test -run '^$$' -bench . -benchmem ./...

build: ## the binary in bin/, built as the Dockerfile builds it; VERSION=v1.2.0 names a release
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w -X main.version=$(VERSION)" -o bin/expertsurvey ./cmd/expertsurvey
