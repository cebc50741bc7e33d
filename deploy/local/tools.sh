#!/usr/bin/env bash
# Installs the host tools some tests need, only when they are missing (idempotent).
# Usage: tools.sh [promtool] [chromium] [docker-compose] [helm] ...   (no argument: all of them)
# promtool, chromium and docker-compose come from Debian packages (`prometheus`, `chromium`,
# `docker-compose`); helm is built from its Go module into the cache (Debian has no package) and
# linked into /usr/local/bin.
# `apt-get update` runs only when something must be installed; no browser is ever downloaded.
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(promtool chromium docker-compose helm)

HELM_VERSION=v3.16.4
if [[ " ${want[*]} " =~ " helm " ]] && ! command -v helm >/dev/null 2>&1; then
  cache="${OMNIMALL_CACHE:-$HOME/.cache/omnimall}/helm-${HELM_VERSION#v}"
  if [ ! -x "$cache/helm" ]; then
    command -v go >/dev/null 2>&1 || { echo "tools.sh: go not found (needed to build helm)" >&2; exit 1; }
    GOBIN="$cache" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  fi
  ln -sf "$cache/helm" /usr/local/bin/helm
fi
want=("${want[@]/helm}")

package_of() {
  case "$1" in
    promtool) echo prometheus ;;
    chromium) echo chromium ;;
    docker-compose) echo docker-compose ;;
    *) echo "tools.sh: unknown tool $1 (known: promtool chromium docker-compose helm)" >&2; exit 2 ;;
  esac
}

missing=()
for tool in "${want[@]}"; do
  [ -n "$tool" ] || continue
  pkg=$(package_of "$tool")
  command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Another process may hold the dpkg lock (a parallel test run installing the same tools): wait for it.
for i in $(seq 1 120); do
  if ! fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1 && ! fuser /var/lib/apt/lists/lock >/dev/null 2>&1; then break; fi
  sleep 1
done
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
for tool in "${want[@]}"; do
  [ -n "$tool" ] || continue
  command -v "$tool" >/dev/null 2>&1 || { echo "tools.sh: $tool still missing after installing ${missing[*]}" >&2; exit 1; }
done
