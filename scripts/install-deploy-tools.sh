#!/usr/bin/env bash
# promtool, kustomize and checkov for the deployment checks (tests/deploy), built from their Go modules
# at pinned versions into .lapor/tools/bin (git-ignored). A second run with the same versions
# does nothing; with Go's build cache warm a rebuild takes seconds, cold about 10 minutes
# (promtool is most of it). A tool that cannot be built is reported here and by the tests
# that need it, which fail.
set -uo pipefail
cd "$(dirname "$0")/.."

# promtool of Prometheus 3 (the Go module's v0.316.0 is Prometheus v3.16).
PROMETHEUS_MODULE=github.com/prometheus/prometheus/cmd/promtool
PROMETHEUS_VERSION=v0.316.0
# kustomize v5.8.2 uses sigs.k8s.io/kustomize/api v0.21.2, the newest that builds with the
# machine's Go 1.26 (v5.8.3 needs Go 1.27). `kubectl kustomize` is this same code in kubectl.
KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5
KUSTOMIZE_VERSION=v5.8.2
# checkov pins packages older than the project's (packaging<24 against pytest's >=24): it gets
# a virtualenv of its own.
CHECKOV_VERSION=3.3.30
PYTHON=${PYTHON:-python3}

TOOLS="$PWD/.lapor/tools"
mkdir -p "$TOOLS/bin"
GO="$(command -v go || true)"
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; }

build() {  # name module version
  local name=$1 module=$2 version=$3
  if [ -x "$TOOLS/bin/$name" ] && [ "$(cat "$TOOLS/$name.version" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  rm -f "$TOOLS/$name.version"
  if [ -z "$GO" ]; then
    echo "install-deploy-tools: no Go toolchain found; $name $version not built" | tee "$TOOLS/$name.log" >&2
    return 1
  fi
  echo "install-deploy-tools: building $name $version (cold: minutes)" >&2
  # GOTOOLCHAIN=local: build with this machine's Go, never download another toolchain.
  if GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN="$TOOLS/bin" \
    "$GO" install "$module@$version" >"$TOOLS/$name.log" 2>&1; then
    echo "$version" >"$TOOLS/$name.version"
  else
    echo "install-deploy-tools: building $name $version failed, see $TOOLS/$name.log" >&2
    tail -n 20 "$TOOLS/$name.log" >&2
    return 1
  fi
}

install_checkov() {
  local venv="$TOOLS/checkov"
  if [ -x "$TOOLS/bin/checkov" ] && [ "$(cat "$TOOLS/checkov.version" 2>/dev/null)" = "$CHECKOV_VERSION" ]; then
    return 0
  fi
  rm -f "$TOOLS/checkov.version"
  echo "install-deploy-tools: installing checkov $CHECKOV_VERSION" >&2
  if "$PYTHON" -m venv "$venv" >"$TOOLS/checkov.log" 2>&1 &&
    "$venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" >>"$TOOLS/checkov.log" 2>&1; then
    ln -sf "$venv/bin/checkov" "$TOOLS/bin/checkov"
    echo "$CHECKOV_VERSION" >"$TOOLS/checkov.version"
  else
    echo "install-deploy-tools: installing checkov failed, see $TOOLS/checkov.log" >&2
    return 1
  fi
}

status=0
build promtool "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION" || status=1
build kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION" || status=1
install_checkov || status=1
exit $status
