# igpub - developer entry points. `make demo` and `make test` are the quickstart.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: venv up down deploy status demo test lint typecheck unit stack-tests bench chaos mutation validate clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(local/stack.sh python313)" -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

up: venv            ## start ministack + the fake Instagram, build and deploy igpub into them
	local/stack.sh up

deploy: venv        ## build and deploy again into the running local stack
	local/stack.sh deploy

down:               ## stop what `make up` started
	local/stack.sh down

status:
	local/stack.sh status

demo: venv          ## the main job on the local stack: connect an account, publish posts
	IGPUB_KEEP_STACK=1 local/with-stack.sh $(PY) -m igpub_cli.demo

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv     ## mypy: strict on the library; each function's app.py is its own module
	$(VENV)/bin/mypy layers/igpub/igpub cli local
	@for f in functions/*/app.py; do $(VENV)/bin/mypy --no-error-summary $$f || exit 1; done

unit: venv
	$(VENV)/bin/pytest tests/unit -q

validate: venv      ## template checks: sam validate --lint and cfn-lint
	local/stack.sh venvs
	.samenv/bin/sam validate --lint --template template.yaml
	.samenv/bin/cfn-lint template.yaml

test: venv lint typecheck validate   ## everything: lint, types, template, unit + integration + e2e on the local stack
	local/with-stack.sh $(VENV)/bin/pytest tests -q

bench: venv         ## speed and cost figures (needs `make up`)
	$(PY) -m bench.run

chaos: venv         ## the fault suite at 500 posts, Instagram and AWS faults (needs `make up`)
	$(PY) -m bench.chaos

mutation: venv      ## mutation run over the error table and the request validation (offline, ~30 min)
	$(PY) -m bench.mutation

clean: down
	rm -rf .aws-sam .run .pytest_cache .mypy_cache .ruff_cache
