# Thin wrapper over npm scripts and deploy/local. `make up` runs the platform, `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ONLY ?=

.PHONY: help install build up down status test lint bench

help:
	@echo "make up      install, start Kafka + FerretDB + schema registry + every service; Ctrl-C stops all"
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
	@bash deploy/local/platform.sh up

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
