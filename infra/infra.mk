# infra.mk: the Lambda packages and the CDK app. Included by the top-level Makefile (`include infra/infra.mk`);
# every path is relative to the repository root. infra/ is its own Go module (CDK and jsii stay out of the
# functions' module graph), so its vet and tests run here, not through the root's `go test ./...`.
# Every setting of a deployment is in infra/deployments/<name>.json (infra/README.md): no -c flags to repeat.
#
#   make build                    build/<name>.zip for every functions/<name> (linux/arm64, reproducible)
#   make build-repro              build twice and compare the bytes of every zip
#   make infra-test               vet + CDK assertion tests + RIE smoke test of the built functions (run by `make test`)
#   make synth DEPLOYMENT=name    cdk synth (pinned aws-cdk CLI) into infra/cdk.out (default: local); STRICT=1: every zip required
#   make deploy DEPLOYMENT=name   preflight checks (credentials, Region enabled, CDK bootstrap), cdk deploy (all five functions), stack policy
#   make deploy-local             the local deployment on LocalStack through aws-cdk-local (not run in CI)
#   make diagram                  regenerate infra/ARCHITECTURE.txt from the synthesized stack

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
DEPLOYMENT ?=
DEPLOYMENT_FILE = infra/deployments/$(DEPLOYMENT).json

.PHONY: build build-lambdas build-repro infra-test synth deploy deploy-local diagram

# `build` also builds the CLI (top-level Makefile); this adds the Lambda zips to it.
build: build-lambdas
test: infra-test

$(LAMBDA_BUILD)/bin/lambdazip: infra/cmd/lambdazip/main.go infra/internal/lambdazip/lambdazip.go
	$(GO) build -C infra -o $(abspath $@) ./cmd/lambdazip

build-lambdas: $(LAMBDA_BUILD)/bin/lambdazip
	@set -e; for f in $(LAMBDA_FUNCTIONS); do \
	  if [ ! -d functions/$$f ]; then echo "build: functions/$$f does not exist" >&2; exit 1; fi; \
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
	$(CDK) synth --quiet -c deployment=$(or $(DEPLOYMENT),local) $(if $(STRICT),-c requireAllFunctions=true)

# The preflight (infra/preflight.sh) stops with the command to run when the credentials are another
# account's, the Region is not enabled or the CDK is not bootstrapped there; it also tells a first create
# (no deletion protection until the stack exists, so that a failed create rolls back whole).
deploy: build-lambdas tools
	@test -n "$(DEPLOYMENT)" || { echo "deploy: set DEPLOYMENT=name (infra/deployments/name.json; see infra/README.md)" >&2; exit 1; }
	@test -f "$(DEPLOYMENT_FILE)" || { echo "deploy: $(DEPLOYMENT_FILE) does not exist (copy infra/deployments/TEMPLATE.json)" >&2; exit 1; }
	@set -e; where=$$($(GO) run -C infra ./cmd/deployment $(abspath $(DEPLOYMENT_FILE))); \
	  region=$${where% *}; account=$${where#* }; \
	  first=$$(bash infra/preflight.sh $$region $$account); \
	  $(CDK) deploy --require-approval broadening -c deployment=$(DEPLOYMENT) $$first -c requireAllFunctions=true; \
	  aws cloudformation set-stack-policy --region $$region --stack-name Casellario --stack-policy-body file://$(abspath infra/stack-policy.json); \
	  echo "deploy: done. Outputs: aws cloudformation describe-stacks --region $$region --stack-name Casellario --query 'Stacks[0].Outputs'"

# LocalStack must be running (localstack start); no HTTP API / Cognito there (deployments/local.json).
deploy-local: build-lambdas tools
	$(CDKLOCAL) bootstrap -c deployment=local
	$(CDKLOCAL) deploy --require-approval never -c deployment=local

diagram:
	cd infra && $(INFRA_ENV) $(GO) test -count=1 -run TestDiagram -update .
