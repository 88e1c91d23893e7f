# infra.mk: the Lambda packages and the CDK app. Included by the top-level Makefile (`include infra/infra.mk`);
# every path is relative to the repository root. infra/ is its own Go module (CDK and jsii stay out of the
# functions' module graph), so its vet and tests run here, not through the root's `go test ./...`.
#
#   make build         build/<name>.zip for every functions/<name> (linux/arm64, reproducible); STRICT=1: all five required
#   make build-repro   build twice and compare the bytes of every zip
#   make infra-test    vet + CDK assertion tests + RIE smoke test of the built functions (run by `make test`)
#   make synth         cdk synth (pinned aws-cdk CLI) into infra/cdk.out; TENANTS=, PEC_TRUST= as for deploy
#   make deploy        cdk deploy to AWS: TENANTS=FILE PEC_TRUST=FILE required (infra/README.md)
#   make deploy-local  the same on LocalStack through aws-cdk-local (not run in CI)
#   make diagram       regenerate infra/ARCHITECTURE.txt from the synthesized stack

GO ?= go
LAMBDA_FUNCTIONS := intake dispatch poll api notify
LAMBDA_BUILD := build
LAMBDA_LDFLAGS := -s -w -buildid=
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags "$(LAMBDA_LDFLAGS)"
# jsii: no end-of-life banner for node 20, its package cache and the CDK's home inside build/
INFRA_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 \
	JSII_RUNTIME_PACKAGE_CACHE_ROOT=$(abspath $(LAMBDA_BUILD))/jsii-cache CDK_HOME=$(abspath $(LAMBDA_BUILD))/cdk-home \
	CASELLARIO_DYNALITE=$(abspath node_modules/.bin/dynalite)
CDK := cd infra && $(INFRA_ENV) npx --no-install cdk
CDKLOCAL := cd infra && $(INFRA_ENV) npx --no-install cdklocal
TENANTS ?=
PEC_TRUST ?=
CDK_CONTEXT = $(if $(TENANTS),-c tenants=$(abspath $(TENANTS))) $(if $(PEC_TRUST),-c pecTrust=$(abspath $(PEC_TRUST))) \
	$(if $(STRICT),-c requireAllFunctions=true) $(CDK_ARGS)

.PHONY: build build-lambdas build-repro infra-test synth deploy deploy-local diagram

# `build` also builds the CLI (top-level Makefile); this adds the Lambda zips to it.
build: build-lambdas
test: infra-test

$(LAMBDA_BUILD)/bin/lambdazip: infra/cmd/lambdazip/main.go infra/internal/lambdazip/lambdazip.go
	$(GO) build -C infra -o $(abspath $@) ./cmd/lambdazip

build-lambdas: $(LAMBDA_BUILD)/bin/lambdazip
	@set -e; for f in $(LAMBDA_FUNCTIONS); do \
	  if [ ! -d functions/$$f ]; then \
	    if [ -n "$(STRICT)" ]; then echo "build: functions/$$f does not exist (STRICT=1)" >&2; exit 1; fi; \
	    echo "build: NOTE functions/$$f does not exist yet: no $(LAMBDA_BUILD)/$$f.zip, the stack leaves $$f out"; \
	    rm -f $(LAMBDA_BUILD)/$$f.zip; continue; \
	  fi; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(LAMBDA_BUILD)/arm64/$$f/bootstrap ./functions/$$f; \
	  $(LAMBDA_BUILD)/bin/lambdazip -o $(LAMBDA_BUILD)/$$f.zip bootstrap=$(LAMBDA_BUILD)/arm64/$$f/bootstrap; \
	  echo "build: $(LAMBDA_BUILD)/$$f.zip $$(sha256sum $(LAMBDA_BUILD)/$$f.zip | cut -c1-16)"; \
	done

build-repro: build-lambdas
	@set -e; mkdir -p $(LAMBDA_BUILD)/repro; cp $(LAMBDA_BUILD)/*.zip $(LAMBDA_BUILD)/repro/; \
	rm -rf $(LAMBDA_BUILD)/arm64 $(LAMBDA_BUILD)/*.zip; $(MAKE) --no-print-directory $(addprefix -f ,$(MAKEFILE_LIST)) build-lambdas >/dev/null; \
	for z in $(LAMBDA_BUILD)/repro/*.zip; do cmp $$z $(LAMBDA_BUILD)/$$(basename $$z) && echo "build-repro: $$(basename $$z) identical"; done; \
	rm -rf $(LAMBDA_BUILD)/repro

infra-test: tools
	cd infra && $(GO) vet ./...
	cd infra && $(INFRA_ENV) $(GO) test -count=1 -timeout 10m ./...

synth: build-lambdas tools
	$(CDK) synth --quiet $(CDK_CONTEXT)

# First time in an account and region: make deploy CDK_ARGS= after `cd infra && npx --no-install cdk bootstrap aws://ACCOUNT/eu-south-1`.
deploy: build-lambdas tools
	@test -n "$(TENANTS)" -a -n "$(PEC_TRUST)" || { echo "deploy: set TENANTS=FILE (tenants.json with Secrets Manager names) and PEC_TRUST=FILE (AgID PEM)" >&2; exit 1; }
	$(CDK) deploy --require-approval broadening $(CDK_CONTEXT)

# LocalStack must be running (localstack start); no HTTP API / Cognito there (local=true).
deploy-local: build-lambdas tools
	$(CDKLOCAL) bootstrap -c local=true $(CDK_CONTEXT)
	$(CDKLOCAL) deploy --require-approval never -c local=true $(CDK_CONTEXT)

diagram:
	cd infra && $(INFRA_ENV) $(GO) test -count=1 -run TestDiagram -update .
