# Every target runs on the Node.js 24 that npm installs as the node@24 package, not on the machine's.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# kafkajs 2.2.4 passes a negative timeout to setTimeout on Node 24; the warning is harmless noise.
NODE_RUN := node --disable-warning=TimeoutNegativeWarning

.PHONY: install build lint format run test test-unit test-integration demo chaos bench dlq-replay broker-start broker-stop clean

install: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	node scripts/check-node.cjs
	touch $@

build: install
	tsc -p tsconfig.build.json

lint: install
	eslint . --max-warnings 0
	prettier --check .
	tsc -p tsconfig.json --noEmit

format: install
	prettier --write .

# Starts the local broker unless KAFKA_BROKERS is set, migrates the local PostgreSQL and replaces
# this shell with the service, so a signal reaches Node directly.
run: build
	@set -euo pipefail; \
	if [ -z "$${KAFKA_BROKERS:-}" ]; then scripts/kafka-broker.sh start >/dev/null; export KAFKA_BROKERS=127.0.0.1:$${KAFKA_PORT:-9092}; fi; \
	export APP_ENV=$${APP_ENV:-development}; \
	if [ -z "$${SERVICE_TOKENS:-}$${SERVICE_TOKEN:-}" ]; then \
	  export SERVICE_TOKEN=dev-token-$$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n'); \
	  echo "make run: development service token: $$SERVICE_TOKEN (header X-Sds-Service-Token)"; \
	fi; \
	echo "make run: KAFKA_BROKERS=$$KAFKA_BROKERS DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/quota_lock}"; \
	exec $(NODE_RUN) dist/src/main.js

broker-start: install
	scripts/kafka-broker.sh start

broker-stop:
	scripts/kafka-broker.sh stop

test-unit: install
	NODE_OPTIONS=--experimental-vm-modules jest --selectProjects unit

# Runs every suite on its own broker and databases; see scripts/run-tests.sh.
test: build
	scripts/run-tests.sh

demo: build
	scripts/run-demo.sh

# Fault injection against a ledger, on a database and broker of its own; see scripts/run-chaos.sh.
# Settings as make or environment variables: SEED, EVENTS, CUSTOMERS, INSTANCES, DURATION.
chaos: build
	scripts/run-chaos.sh

# Throughput of one service process against a plain kafkajs consumer on the same backlog, on a
# database and broker of its own; settings EVENTS and CUSTOMERS. Prints figures, checks nothing.
bench: build
	scripts/run-chaos.sh dist/scripts/bench.js

# Resends chosen dead letters to their original topics; a dry run unless APPLY=1. The filters
# REASON, SINCE and TOPIC and the Kafka settings come from the environment; see --help. Like
# make run, it uses the local broker on KAFKA_PORT (default 9092) unless KAFKA_BROKERS is set.
dlq-replay: build
	@if [ -z "$${KAFKA_BROKERS:-}" ]; then export KAFKA_BROKERS=127.0.0.1:$${KAFKA_PORT:-9092}; fi; \
	exec $(NODE_RUN) dist/scripts/dlq-replay.js

clean:
	rm -rf dist coverage
