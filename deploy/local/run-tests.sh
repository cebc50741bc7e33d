#!/usr/bin/env bash
# Every test of the repository, in two jest runs: unit and integration tests first (two workers),
# then, alone, the end-to-end tests (they start every service as a process and measure lags) and the
# `*.serial.test.ts` files (a crash and replay whose catch-up is measured against a bound: beside
# the other suites it replays the whole platform's acknowledgements of the moment), so they get the
# machine to themselves. With RESULTS_DIR set, each run writes jest's JSON report there.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
json() { [ -n "${RESULTS_DIR:-}" ] && echo "--json --outputFile=$RESULTS_DIR/$1.json"; }
status=0
# shellcheck disable=SC2046
npx jest --ci --testPathIgnorePatterns '/e2e/' '/node_modules/' '/dist/' '\.serial\.test\.ts$' $(json main) "$@" || status=1
# shellcheck disable=SC2046
npx jest --ci --runInBand --testPathPattern '/e2e/|\.serial\.test\.ts$' $(json e2e) "$@" || status=1
exit $status
