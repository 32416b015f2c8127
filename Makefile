# igpub - developer entry points. `make demo` and `make test` are the quickstart.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: venv up down deploy status demo test test-fast lint checkov typecheck unit stack-tests bench chaos burst burst-model mutation model validate clean invoke api lambda lambda-image

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(local/stack.sh python313)" -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

up: venv            ## start ministack + the fake Instagram, build and deploy igpub into them
	local/stack.sh up

deploy: venv        ## build and deploy again into the running local stack
	local/stack.sh deploy

down:               ## stop what `make up` (and `make invoke`/`make api`) started
	local/samlocal.sh docker-down
	local/stack.sh down

invoke: venv        ## sam local invoke FUNCTION=<logical id> EVENT=events/<file>.json against the running stack
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=OAuthFunction EVENT=events/oauth_connect.json"; exit 2; }
	local/samlocal.sh invoke "$(FUNCTION)" "$(EVENT)"

api: venv           ## sam local start-api for the OAuth routes (PORT=3000) against the running stack
	local/samlocal.sh api $(or $(PORT),3000)

lambda: venv        ## sam local start-lambda (PORT=3001): every function warm, call it with boto3 (endpoint_url)
	local/samlocal.sh lambda $(or $(PORT),3001)

lambda-image:       ## the Lambda base image for sam local: the real one, or the cached stand-in
	local/samlocal.sh image

status:
	local/stack.sh status

demo: venv          ## the main job on the local stack: connect an account, publish posts
	IGPUB_KEEP_STACK=1 local/with-stack.sh $(PY) -m igpub_cli.demo

lint: venv checkov
	$(VENV)/bin/ruff check .

CHECKOV := .checkovenv/bin/checkov
$(CHECKOV): local/checkov-requirements.txt
	@test -x .checkovenv/bin/python || "$$(local/stack.sh python313)" -m venv .checkovenv
	.checkovenv/bin/pip install -q --disable-pip-version-check -r local/checkov-requirements.txt
	@touch $@

checkov: $(CHECKOV)  ## template.yaml's security checks: 0 failed (each finding fixed, or skipped in the template with its reason)
	$(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download

typecheck: venv     ## mypy: strict on the library; each function's app.py is its own module
	$(VENV)/bin/mypy layers/igpub/igpub cli local
	@for f in functions/*/app.py; do $(VENV)/bin/mypy --no-error-summary $$f || exit 1; done

# the tests that need no stack: every folder of tests/ but integration/ and e2e/ (unit, model ...)
OFFLINE_TESTS := --ignore=tests/integration --ignore=tests/e2e tests

unit: venv
	$(VENV)/bin/pytest tests/unit -q -n auto

test-fast: venv     ## the inner loop: every test that needs no stack (unit, model: 10 examples), on every core
	IGPUB_MODEL_EXAMPLES=$${IGPUB_MODEL_EXAMPLES:-10} $(VENV)/bin/pytest $(OFFLINE_TESTS) -q -n auto

validate: venv      ## template checks: sam validate --lint and cfn-lint
	local/stack.sh venvs
	.samenv/bin/sam validate --lint --template template.yaml
	.samenv/bin/cfn-lint template.yaml

# the stack tests in E2E_GROUPS groups at once, each on a local stack of its own (see local/e2e_groups.py)
E2E_GROUPS ?= 3

test: venv lint typecheck validate   ## everything: lint, types, template, unit + integration + e2e on the local stack
	$(VENV)/bin/pytest $(OFFLINE_TESTS) -q -rs -n auto
	$(PY) local/e2e_groups.py --groups $(E2E_GROUPS)

stack-tests: venv   ## only the integration + e2e tests, on E2E_GROUPS local stacks (ARGS: more pytest arguments)
	$(PY) local/e2e_groups.py --groups $(E2E_GROUPS) $(ARGS)

bench: venv         ## speed and cost figures (needs `make up`)
	$(PY) -m bench.run

chaos: venv         ## the fault suite at 500 posts, Instagram and AWS faults (needs `make up`)
	$(PY) -m bench.chaos

burst: venv         ## the 9 o'clock burst: N posts over M accounts, one publish_at (needs `make up`; not in CI)
	$(PY) -m bench.burst $(BURST_ARGS)

burst-model: venv   ## the burst at 1,000-100,000 posts, simulated against AWS's quotas (offline, ~1 min)
	$(PY) -m bench.burst_model $(BURST_MODEL_ARGS)

mutation: venv      ## mutation run: the error table, the request validation, the publish protocol (offline; MUTATION_ARGS)
	$(PY) -m bench.mutation $(MUTATION_ARGS)

model: venv         ## the publish protocol's model-based test, long (offline; EXAMPLES=20000 by default)
	IGPUB_MODEL_EXAMPLES=$(or $(EXAMPLES),20000) $(VENV)/bin/pytest tests/unit/publishing/test_protocol_model.py -q -p no:logging

clean: down
	rm -rf .aws-sam .run .pytest_cache .mypy_cache .ruff_cache
