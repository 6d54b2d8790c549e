# Coffer: `make up` to run it, `make test` to test it. Both install what is missing first.
.PHONY: build up test unit bench clean deps system-deps test-deps

NODE_DEPS := node_modules/.package-lock.json

build: system-deps $(NODE_DEPS)
	npx tsc -p tsconfig.json

system-deps:
	@scripts/install-system-deps.sh

test-deps:
	@scripts/install-system-deps.sh --test

$(NODE_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

up: build
	bin/coffer serve

test: build test-deps
	node scripts/run-tests.mjs

unit: $(NODE_DEPS)
	npx tsc -p tsconfig.json
	node scripts/run-tests.mjs --unit

bench: build
	node dist/bench/provision.js

clean:
	rm -rf dist
