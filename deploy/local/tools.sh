#!/usr/bin/env bash
# Installs the host tools some tests need, only when they are missing (idempotent).
# Usage: tools.sh [promtool] [chromium] [docker-compose] [helm] [kubernetes-validate] [kubernetes-models] ...
#        (no argument: all of them)
# promtool, chromium and docker-compose come from Debian packages (`prometheus`, `chromium`,
# `docker-compose`); helm is built from its Go module into the cache (Debian has no package) and
# linked into /usr/local/bin. The chart's manifest validators ship their schemas in their packages, so
# nothing is downloaded when they run: kubernetes-validate (PyPI; the Kubernetes API's schemas) in a venv
# in the cache, linked into /usr/local/bin; kubernetes-models (npm: @kubernetes-models/prometheus-operator,
# the Prometheus Operator's CRD schemas) installed into the cache and linked as $KUBERNETES_MODELS_DIR.
# `apt-get update` runs only when something must be installed; no browser is ever downloaded.
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(promtool chromium docker-compose helm kubernetes-validate kubernetes-models)
CACHE="${OMNIMALL_CACHE:-$HOME/.cache/omnimall}"

HELM_VERSION=v3.16.4
if [[ " ${want[*]} " =~ " helm " ]] && ! command -v helm >/dev/null 2>&1; then
  cache="$CACHE/helm-${HELM_VERSION#v}"
  if [ ! -x "$cache/helm" ]; then
    command -v go >/dev/null 2>&1 || { echo "tools.sh: go not found (needed to build helm)" >&2; exit 1; }
    GOBIN="$cache" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  fi
  ln -sf "$cache/helm" /usr/local/bin/helm
fi
want=("${want[@]/helm}")

KUBERNETES_VALIDATE_VERSION=1.37.0
if [[ " ${want[*]} " =~ " kubernetes-validate " ]] && ! command -v kubernetes-validate >/dev/null 2>&1; then
  cache="$CACHE/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if [ ! -x "$cache/venv/bin/kubernetes-validate" ]; then
    rm -rf "$cache" && mkdir -p "$cache"
    python3 -m venv "$cache/venv" >&2
    "$cache/venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  fi
  ln -sf "$cache/venv/bin/kubernetes-validate" /usr/local/bin/kubernetes-validate
fi
want=("${want[@]/kubernetes-validate}")

# The test reads the models from this link (ESM-only package: imported by absolute path).
KUBERNETES_MODELS_VERSION=6.0.0
KUBERNETES_MODELS_DIR=/usr/local/lib/omnimall-kubernetes-models
if [[ " ${want[*]} " =~ " kubernetes-models " ]] && [ ! -d "$KUBERNETES_MODELS_DIR/node_modules/@kubernetes-models/prometheus-operator" ]; then
  cache="$CACHE/kubernetes-models-$KUBERNETES_MODELS_VERSION"
  if [ ! -f "$cache/node_modules/@kubernetes-models/prometheus-operator/package.json" ]; then
    rm -rf "$cache" && mkdir -p "$cache"
    (cd "$cache" && npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error \
      "@kubernetes-models/prometheus-operator@$KUBERNETES_MODELS_VERSION" >&2)
  fi
  mkdir -p "$(dirname "$KUBERNETES_MODELS_DIR")"
  ln -sfn "$cache" "$KUBERNETES_MODELS_DIR"
fi
want=("${want[@]/kubernetes-models}")

package_of() {
  case "$1" in
    promtool) echo prometheus ;;
    chromium) echo chromium ;;
    docker-compose) echo docker-compose ;;
    *) echo "tools.sh: unknown tool $1 (known: promtool chromium docker-compose helm kubernetes-validate kubernetes-models)" >&2; exit 2 ;;
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
