# Casellario PEC: every task a developer, CI or an operator runs.
# `make dev` runs the whole system locally; `make test` runs every test. Both install what they need.
SHELL := /bin/bash
GO ?= go
PKGS := ./...

.PHONY: all dev test test-unit bench build cli lint dataset tools clean packages

all: lint test

## tools: the Node tools pinned in package.json (dynalite, dataset source); no download addresses in the lock file
tools: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## packages: the Debian packages the tests drive, installed in one apt-get run when missing: chromium (the
## browser test of the offices' page), awscli (lists dropped into the uploads bucket; /usr/bin/aws itself, not
## another aws on PATH) and dovecot-imapd (the real IMAP server of the mail tests, shared/localdev/dovecot)
packages:
	@missing=""; \
	  test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  test -x /usr/bin/aws || missing="$$missing awscli"; \
	  test -x /usr/sbin/dovecot -a -x /usr/bin/doveadm -a -x /usr/lib/dovecot/dovecot-lda || missing="$$missing dovecot-imapd"; \
	  if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	    $$(command -v sudo) apt-get update -qq && $$(command -v sudo) apt-get install -y -qq --no-install-recommends $$missing; fi

## test: vet, format check and every test (unit, fuzz seeds, integration against local servers, browser, AWS CLI, Dovecot)
test: lint tools packages
	$(GO) test -count=1 -timeout 12m $(PKGS)

## test-unit: the fast tier alone: go test -short skips every test that needs a server (dynalite, gofakes3 on a
## socket, the PEC simulator, the mail sink, the local run) or chromium, and says which; no npm, no browser.
## Go's test cache keeps the results of unchanged packages: TEST_UNIT_FLAGS=-count=1 runs everything again.
test-unit:
	$(GO) test -short -timeout 5m $(TEST_UNIT_FLAGS) $(PKGS)

## lint: go vet, a gofmt check, a tidy go.mod and staticcheck (pinned as a go tool in go.mod)
lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) tool staticcheck $(PKGS)

## bench: every benchmark, with the figures the issues ask for
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## build: the CLI for this machine, and (infra/infra.mk) the functions' Lambda zips
build: cli

## cli: bin/casellario, the operator CLI and local run
cli:
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/casellario ./cmd/casellario

## dataset: regenerate the cadastral-code table from the pinned npm package
dataset: tools
	$(GO) generate ./shared/places

## dev: the whole system on this machine
dev: cli tools
	./bin/casellario dev

clean:
	rm -rf bin build node_modules/.installed

# The Lambda packages and the CDK app: make build (zips), build-repro, infra-test (run by make test), synth, deploy,
# deploy-local, diagram. See infra/README.md.
include infra/infra.mk
