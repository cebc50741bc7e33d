#!/usr/bin/env bash
# Runs a command with the local infrastructure up: starts what is not running, runs the command,
# then stops only what this script started (a stack you started yourself keeps running). The command
# gets the local registry's client credentials (SCHEMA_REGISTRY_USER / SCHEMA_REGISTRY_PASSWORD).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$ROOT/deploy/local"
was_running=()
for c in kafka ferretdb schema-registry; do
  if bash "$HERE/$c.sh" status >/dev/null 2>&1; then was_running+=("$c"); fi
done
cleanup() {
  for c in schema-registry ferretdb kafka; do
    if [[ ! " ${was_running[*]} " =~ " $c " ]]; then bash "$HERE/$c.sh" stop >/dev/null 2>&1 || true; fi
  done
}
trap cleanup EXIT
bash "$HERE/stack.sh" up
# what runs here (tests, benches) talks to the local registry as its client user
while IFS= read -r assignment; do [ -n "$assignment" ] && export "${assignment?}"; done < <(registry_env)
cd "$ROOT"
"$@"
