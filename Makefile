# Thin wrapper over npm scripts and deploy/local. `make up` runs the platform, `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ONLY ?=
DEMO ?=

.PHONY: help install build up down status test lint bench demo

help:
	@echo "make up      install, start Kafka + FerretDB + schema registry + every service; Ctrl-C stops all"
	@echo "make demo    (with make up running) seed a small business, play its scenarios with their measured times, then live traffic"
	@echo "make up DEMO=1  make up in the background, then make demo; the platform stays up (make down stops it)"
	@echo "make down    stop everything make up started"
	@echo "make status  what runs"
	@echo "make test    install, start the infrastructure, run every test, stop what it started"
	@echo "make lint    eslint, prettier --check, tsc -b"
	@echo "make bench   run the benchmarks (ONLY=<prefix>[,<prefix>...]); writes bench/last-run.json"

install:
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

build: install
	@npm run --silent build

up: build
	@if [ -n "$(DEMO)" ]; then bash deploy/local/platform.sh up </dev/null && node --import tsx scripts/demo/run.ts; \
	else bash deploy/local/platform.sh up; fi

# Expects the platform running (`make up` in another terminal): says so and exits 2 if not. See scripts/demo/run.ts.
demo: install
	@node --import tsx scripts/demo/run.ts

down:
	@bash deploy/local/platform.sh down

status:
	@bash deploy/local/platform.sh status

test: build
	@bash deploy/local/with-stack.sh bash deploy/local/run-tests.sh $(JEST_ARGS)

lint: install
	@npm run --silent lint

bench: build
	@ONLY="$(ONLY)" bash deploy/local/with-stack.sh node --import tsx bench/run.ts
