#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller for `pnpm bench:flux`, on demand: only
# the benchmark needs them, so `pnpm provision` does not build them (the cold provisioning budget
# of CI is for what the tests need). Same cache layout as testenv/scripts/provision.sh:
#
#   ${GITOPS_KIT_CACHE:-$HOME/.cache/gitops-kit}/bin/<controller>-<version>/<controller>
#   ${GITOPS_KIT_CACHE:-$HOME/.cache/gitops-kit}/bin/<controller>-<version>/crds/*.yaml
#
# A folder is used once its `.complete` marker exists, so a build is done once and an interrupted
# one is redone. Prints the folder of each controller on stdout, one a line, and how long each
# build took on stderr.
#
# Why each controller is built as its own main module (copied out of the module cache and built
# with -mod=mod): a scratch module that requires it ignores its go.mod `replace` of
# opencontainers/go-digest and fails with `undefined: digest.RegisterAlgorithm`. Its `./api`
# replace is dropped (that folder is a module of its own, not in the module zip), so the api
# module of the same version comes from the proxy. source-controller v1.9.6 requires
# fluxcd/pkg/artifact v0.18.3, which the proxy refuses; v0.18.0 is what it is built with.
# v1.10.x cannot be built from the proxy today (Go 1.27 and several refused dependencies).
set -euo pipefail

version="${FLUX_CONTROLLERS_VERSION:-v1.9.6}"
cache="${GITOPS_KIT_CACHE:-$HOME/.cache/gitops-kit}"
bin_root="$cache/bin"
src_root="$cache/src"
log_root="$cache/logs"
mkdir -p "$bin_root" "$src_root" "$log_root"

export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=mod"
jobs="${GITOPS_KIT_BUILD_P:-$(nproc)}"
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "go is not on PATH: Flux is built from the Go module proxy" >&2; exit 1; }

# build NAME: builds github.com/fluxcd/NAME@$version into $bin_root/NAME-$version.
build() {
  local name="$1"
  local dest="$bin_root/$name-$version"
  if [[ -f "$dest/.complete" ]]; then
    echo "$dest"
    return 0
  fi
  local start=$SECONDS
  local mod="$src_root/$name-$version"
  local logf="$log_root/build-$name-$version.log"
  echo "[build-flux] building $name $version (log: $logf)" >&2
  (
    set -euo pipefail
    local dir
    dir="$(go mod download -json "github.com/fluxcd/$name@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
    [[ -d "$dir" ]] || { echo "no source folder for github.com/fluxcd/$name@$version"; exit 1; }
    rm -rf "$mod" "$dest.tmp"
    mkdir -p "$mod" "$dest.tmp/crds"
    cp -R "$dir/." "$mod"
    chmod -R u+w "$mod"
    cd "$mod"
    go mod edit -dropreplace "github.com/fluxcd/$name/api"
    if [[ "$name" == source-controller ]]; then
      go mod edit -require github.com/fluxcd/pkg/artifact@v0.18.0
    fi
    echo "+ go build -> $dest.tmp/$name"
    go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$dest.tmp/$name" .
    cp config/crd/bases/*.yaml "$dest.tmp/crds/"
  ) >"$logf" 2>&1 || {
    tail -n 30 "$logf" >&2
    echo "[build-flux] FAILED: $name $version; full log: $logf" >&2
    exit 1
  }
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  printf '%s\n' "$version" >"$dest/.complete"
  echo "[build-flux] $name $version built in $((SECONDS - start)) s" >&2
  echo "$dest"
}

build source-controller
build kustomize-controller
