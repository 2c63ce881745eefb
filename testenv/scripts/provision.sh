#!/usr/bin/env bash
# Provisions the real binaries that the integration tests start: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok, MinIO, kustomize, helm (and OpenTofu,
# Prometheus, ...; see the steps below), built from the
# Go module proxy into a cache folder outside the repository, one folder per name and
# version, reused when present.
#
#   ${GITOPS_KIT_CACHE:-$HOME/.cache/gitops-kit}/bin/<name>-<version>/<binary>
#
# Idempotent: a folder is only used once its `.complete` marker exists, so an interrupted
# build is redone. Prints how long each step took. Exits non-zero, naming the step and
# its log file, when a build fails.
#
# Environment:
#   GITOPS_KIT_CACHE    cache root (default $HOME/.cache/gitops-kit)
#   KUBEBUILDER_ASSETS  a folder with kube-apiserver, etcd and kubectl: used instead of
#                       building the control plane
#   USE_EXISTING_CLUSTER=true  the tests use $KUBECONFIG: the control plane is not built
#   GITOPS_KIT_BUILD_P  parallel compile jobs for `go build -p` (default: nproc)
#   GITOPS_KIT_PROVISION_LANES  builds run at once (default 2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.env
source "$here/../versions.env"

cache="${GITOPS_KIT_CACHE:-$HOME/.cache/gitops-kit}"
bin_root="$cache/bin"
src_root="$cache/src"
log_root="$cache/logs"
mkdir -p "$bin_root" "$src_root" "$log_root"

# One provisioning at a time per cache: two would build into the same folders.
if command -v flock >/dev/null; then
  exec 9>"$cache/provision.lock"
  if ! flock -n 9; then
    printf '[provision] another provisioning holds %s: waiting for it\n' "$cache/provision.lock"
    flock 9
  fi
fi

# The machine's Go must build everything: never download another toolchain.
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
jobs="${GITOPS_KIT_BUILD_P:-$(nproc)}"

total_start=$SECONDS
declare -a summary=()

log() { printf '[provision] %s\n' "$*"; }
fail() {
  printf '[provision] FAILED: %s\n' "$*" >&2
  exit 1
}

# record NAME START: prints and remembers how long a step took.
record() {
  local secs=$((SECONDS - $2))
  summary+=("$(printf '%-56s %5ds' "$1" "$secs")")
  log "$1 took ${secs}s"
}

# Go's default install folder, for shells whose PATH lacks it.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || fail "go is not on PATH; the binaries are built from the Go module proxy"
log "go: $(go version), cache: $cache, go build -p $jobs"

# new_module DIR MODULE_PATH: a scratch module whose requirements `go get` fills in.
new_module() {
  mkdir -p "$1"
  rm -f "$1/go.mod" "$1/go.sum"
  printf 'module %s\n\ngo 1.23\n' "$2" >"$1/go.mod"
}

# build_step NAME VERSION SETUP LDFLAGS OUTPUTS...: builds one cache folder, in the
# background: up to $lanes builds run at once (a cold build spends much of its time
# downloading modules or linking on one core, which another build's compiling fills).
# `await_step NAME` waits for one build (a build that reuses another's compiled packages
# starts after it, rather than compiling them twice at once); `await_all_steps` waits for
# the rest and fails, naming the step and its log, when any build failed.
#   name      cache folder name (bin/<name>-<version>)
#   setup     shell function run inside the scratch module before `go build`; it may set
#             `extra_ldflags` from what `go get` resolved (e.g. a dependency's version)
#   ldflags   extra -ldflags
#   outputs   "binary=package" pairs
declare -A step_pid=() step_label=() step_dest=()
build_step() {
  local name="$1" version="$2" setup="$3" ldflags="$4"
  shift 4
  local dest="$bin_root/$name-$version"
  local step_start=$SECONDS
  if [[ -f "$dest/.complete" ]]; then
    record "$name $version (cached)" "$step_start"
    return 0
  fi
  # Wait for a free lane (a finished build leaves its outcome in "$dest.rc" for await_step).
  while (($(jobs -rp | wc -l) >= lanes)); do sleep 1; done
  step_start=$SECONDS
  local mod="$src_root/$name-$version"
  local logf="$log_root/build-$name-$version.log"
  log "building $name $version (log: $logf)"
  rm -rf "$dest.tmp" "$dest.secs" "$dest.rc"
  mkdir -p "$dest.tmp"
  # The outcome goes to "$dest.rc": bash may no longer know the exit status of a background job
  # that ended long before it is awaited. The build itself runs in a background subshell that is
  # waited for: in a tested context (`( ... ) || rc=$?`) bash would ignore `set -e` inside it.
  (
    rc=0
    (
      set -euo pipefail
      new_module "$mod" "gitops-kit.local/build/$name"
      cd "$mod"
      extra_ldflags=""
      "$setup"
      for pair in "$@"; do
        out="${pair%%=*}"
        pkg="${pair#*=}"
        echo "+ go build $pkg -> $out (ldflags:$ldflags $extra_ldflags)"
        # -s -w strips debug information from the binary, so the compiler need not make it.
        go build -p "$jobs" -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w $ldflags $extra_ldflags" -o "$dest.tmp/$out" "$pkg"
      done
    ) >"$logf" 2>&1 &
    wait $! || rc=$?
    if ((rc == 0)); then
      {
        rm -rf "$dest" && mv "$dest.tmp" "$dest" &&
          printf '%s\n' "$version" >"$dest/.complete" &&
          printf '%s\n' "$((SECONDS - step_start))" >"$dest.secs"
      } || rc=$?
      ((rc != 0)) || log "$name $version built in $((SECONDS - step_start))s"
    fi
    printf '%s\n' "$rc" >"$dest.rc"
  ) &
  step_pid[$name]=$!
  step_label[$name]="$name $version"
  step_dest[$name]="$dest"
}

# await_step NAME: waits for NAME's build (no-op when it was cached); exits on its failure.
await_step() {
  local name="$1" pid="${step_pid[$1]:-}"
  [[ -n "$pid" ]] || return 0
  wait "$pid" 2>/dev/null || true
  unset "step_pid[$name]"
  local label="${step_label[$name]}" version="${step_label[$name]#* }" dest="${step_dest[$name]}"
  local logf="$log_root/build-$name-$version.log" rc
  rc="$(cat "$dest.rc" 2>/dev/null || echo killed)"
  rm -f "$dest.rc"
  if [[ "$rc" != 0 ]]; then
    tail -n 30 "$logf" >&2 || true
    fail "building $label (exit $rc); full log: $logf"
  fi
  summary+=("$(printf '%-56s %5ds' "$label (built)" "$(cat "$dest.secs")")")
  rm -f "$dest.secs"
}

await_all_steps() {
  local name
  for name in "${!step_pid[@]}"; do await_step "$name"; done
}

lanes="${GITOPS_KIT_PROVISION_LANES:-2}"
# A failed step ends the script: the builds still running end with it.
trap 'kill $(jobs -rp) 2>/dev/null || true' EXIT

# --- Kubernetes: kube-apiserver (+ kubectl when the machine has none), and the living
# cluster's kube-controller-manager and kube-scheduler, from the same release ----------
# kube_module PACKAGES...: the scratch module recipe every Kubernetes binary is built from.
kube_module() {
  # k8s.io/kubernetes replaces its staging modules with local paths, which `go install`
  # refuses. Replace each one with its published v0.X.Y instead, listed from the
  # release's own go.mod; KUBE_STAGING_OVERRIDES names the few the proxy refuses.
  local gomod staging="v0${KUBE_VERSION#v1}" override
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [[ -f "$gomod" ]] || { echo "no go.mod for k8s.io/kubernetes@$KUBE_VERSION"; return 1; }
  {
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => \./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod" |
      while read -r module arrow same version; do
        for override in ${KUBE_STAGING_OVERRIDES:-}; do
          [[ "${override%%=*}" == "$module" ]] && version="${override#*=}"
        done
        printf '\t%s %s %s %s\n' "$module" "$arrow" "$same" "$version"
      done
    printf ')\n'
  } >>go.mod
  echo "+ go.mod:"
  cat go.mod
  local pkg
  for pkg in "$@"; do go get "$pkg@$KUBE_VERSION"; done
}

setup_kube() {
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver)
  if [[ "$need_kubectl" == 1 ]]; then pkgs+=(k8s.io/kubernetes/cmd/kubectl); fi
  kube_module "${pkgs[@]}"
}

setup_kube_controllers() {
  kube_module k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

kube_ldflags() {
  local v="$KUBE_VERSION" minor
  minor="$(cut -d. -f2 <<<"$v")"
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

kube_assets_ok() {
  [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" &&
    -x "$KUBEBUILDER_ASSETS/etcd" && -x "$KUBEBUILDER_ASSETS/kubectl" ]]
}

need_kubectl=0
command -v kubectl >/dev/null || need_kubectl=1

if [[ "${USE_EXISTING_CLUSTER:-}" == "true" ]]; then
  log "USE_EXISTING_CLUSTER=true: not provisioning etcd and kube-apiserver"
elif kube_assets_ok; then
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has kube-apiserver, etcd, kubectl: using them"
else
  [[ -z "${KUBEBUILDER_ASSETS:-}" ]] ||
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver, etcd or kubectl: building"
  kube_outputs=("kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver")
  if [[ "$need_kubectl" == 1 ]]; then
    log "kubectl is not on PATH: building it with kube-apiserver"
    kube_outputs+=("kubectl=k8s.io/kubernetes/cmd/kubectl")
    # A folder cached while the machine still had a kubectl lacks one: build it again.
    kube_dir="$bin_root/kube-apiserver-$KUBE_VERSION"
    [[ -x "$kube_dir/kubectl" ]] || rm -f "$kube_dir/.complete"
  fi
  build_step kube-apiserver "$KUBE_VERSION" setup_kube "$(kube_ldflags)" "${kube_outputs[@]}"

  # --- etcd: the server's main package is the module go.etcd.io/etcd/server/v3 --------
  setup_etcd() { go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"; }
  # etcd's version is a constant in its api module; the proxy gives no commit for GitSHA.
  build_step etcd "$ETCD_VERSION" setup_etcd "" "etcd=go.etcd.io/etcd/server/v3"
fi

# --- The living cluster: kube-controller-manager and kube-scheduler of the same release
# (they make Deployments roll out, Jobs finish, ServiceAccounts and garbage collection
# happen), and kwok, which plays the kubelets of a few fake Nodes (its stages are in
# testenv/kwok/stages.yaml). Built also with KUBEBUILDER_ASSETS, whose envtest folders
# hold no controllers; the tests take them from that folder when it has them. -----------
kube_living_ok() {
  [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/kube-controller-manager" &&
    -x "$KUBEBUILDER_ASSETS/kube-scheduler" && -x "$KUBEBUILDER_ASSETS/kwok" ]]
}
if [[ "${USE_EXISTING_CLUSTER:-}" == "true" ]]; then
  log "USE_EXISTING_CLUSTER=true: not provisioning kube-controller-manager, kube-scheduler, kwok"
elif kube_living_ok; then
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has kube-controller-manager, kube-scheduler, kwok: using them"
else
  # Most of their packages are kube-apiserver's: compiled once, by that build.
  await_step kube-apiserver
  build_step kube-controllers "$KUBE_VERSION" setup_kube_controllers "$(kube_ldflags)" \
    "kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager" \
    "kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler"

  # kwok's version is a constant in its source (pkg/consts.Version), right for a module build.
  setup_kwok() { go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; }
  build_step kwok "$KWOK_VERSION" setup_kwok "" "kwok=sigs.k8s.io/kwok/cmd/kwok"
fi

# --- kustomize v5 -------------------------------------------------------------------
setup_kustomize() { go get "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"; }
build_step kustomize "$KUSTOMIZE_VERSION" setup_kustomize \
  "-X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$KUSTOMIZE_VERSION -X sigs.k8s.io/kustomize/api/provenance.buildDate=1970-01-01T00:00:00Z" \
  "kustomize=sigs.k8s.io/kustomize/kustomize/v5"

# --- helm v3: its version lives in an internal package, set through ldflags ----------
# Like Helm's own Makefile, tell helm the Kubernetes version of its client libraries
# (major = client-go's major + 1, minor = client-go's minor): `helm template` reports it as
# .Capabilities.KubeVersion and checks charts' `kubeVersion` against it; without the flags
# it is v1.20.0. Changing these flags? Bump HELM_BUILD in versions.env.
setup_helm() {
  go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  local client_go major minor
  client_go="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
  major=$(($(cut -d. -f1 <<<"${client_go#v}") + 1))
  minor="$(cut -d. -f2 <<<"$client_go")"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    extra_ldflags+=" -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
  done
}
build_step helm "$HELM_VERSION-$HELM_BUILD" setup_helm \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  "helm=helm.sh/helm/v3/cmd/helm"

# --- MinIO at the last release the proxy serves (a pseudo-version: MinIO tags are not
# semver). Its release tag is derived from the pseudo-version's UTC timestamp. ---------
minio_ldflags() {
  local ts="${MINIO_VERSION#v0.0.0-}"
  local stamp="${ts%%-*}" commit="${ts##*-}"
  local iso="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:8:2}:${stamp:10:2}:${stamp:12:2}Z"
  local tag="RELEASE.${iso//:/-}"
  printf '%s' "-X github.com/minio/minio/cmd.Version=$iso -X github.com/minio/minio/cmd.ReleaseTag=$tag"
  printf '%s' " -X github.com/minio/minio/cmd.CommitID=$commit -X github.com/minio/minio/cmd.ShortCommitID=$commit"
  printf '%s' " -X github.com/minio/minio/cmd.CopyrightYear=${stamp:0:4}"
}
setup_minio() { go get "github.com/minio/minio@$MINIO_VERSION"; }
build_step minio "$MINIO_VERSION" setup_minio "$(minio_ldflags)" "minio=github.com/minio/minio"

# --- OpenTofu: its go.mod replaces hashicorp/hcl/v2, which a scratch module's `go get`
# would drop, so it is built as its own main module: the release is copied out of the
# module cache into the scratch folder and built there with -mod=mod. -----------------
setup_opentofu() {
  local dir
  dir="$(go mod download -json "github.com/opentofu/opentofu@$OPENTOFU_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  [[ -d "$dir" ]] || { echo "no source folder for github.com/opentofu/opentofu@$OPENTOFU_VERSION"; return 1; }
  cp -R "$dir/." .
  chmod -R u+w .
  export GOFLAGS="$GOFLAGS -mod=mod"
}
build_step opentofu "$OPENTOFU_VERSION" setup_opentofu \
  "-X github.com/opentofu/opentofu/version.dev=no" \
  "tofu=./cmd/tofu"

# --- terraform-provider-time, laid out as an OpenTofu filesystem mirror, because
# providers cannot be downloaded from a registry here: a CLI config with
# `provider_installation { filesystem_mirror { path = "<folder>/mirror" } }` installs it
# offline. ---------------------------------------------------------------------------
time_provider_platform="$(go env GOOS)_$(go env GOARCH)"
time_provider_rel="mirror/registry.opentofu.org/hashicorp/time/${TIME_PROVIDER_VERSION#v}/$time_provider_platform"
setup_time_provider() {
  go get "github.com/hashicorp/terraform-provider-time@$TIME_PROVIDER_VERSION"
  # `dest` is build_step's staging folder: the binary goes into the mirror's layout.
  mkdir -p "$dest.tmp/$time_provider_rel"
}
build_step terraform-provider-time "$TIME_PROVIDER_VERSION" setup_time_provider "" \
  "$time_provider_rel/terraform-provider-time_$TIME_PROVIDER_VERSION=github.com/hashicorp/terraform-provider-time"

# --- The OCI registry: distribution/distribution v3 (`registry serve <config.yml>`), the
# reference implementation of the OCI distribution spec. ------------------------------
setup_distribution() { go get "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"; }
build_step distribution "$DISTRIBUTION_VERSION" setup_distribution \
  "-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION" \
  "registry=github.com/distribution/distribution/v3/cmd/registry"

# --- cosign v2: the tests sign OCI artifacts with it (key pairs, `sign --key`). --------
setup_cosign() { go get "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"; }
build_step cosign "$COSIGN_VERSION" setup_cosign \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION -X sigs.k8s.io/release-utils/version.gitTreeState=clean" \
  "cosign=github.com/sigstore/cosign/v2/cmd/cosign"

# --- Prometheus, for the metrics integration test. Built with `remove_all_sd`: the module's
# plugins/ folder gates every service-discovery plugin (AWS, Azure, GCE, Kubernetes, Consul, ...)
# behind that tag, which drops 1517 -> 1043 packages from the build (static targets are all the
# test scrapes). No UI assets (they need the npm UI build): the HTTP API and scraping work. ------
setup_prometheus() { go get "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"; }
prometheus_build() {
  local saved="$GOFLAGS"
  export GOFLAGS="$GOFLAGS -tags=remove_all_sd"
  build_step prometheus "$PROMETHEUS_VERSION" setup_prometheus \
    "-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v} -X github.com/prometheus/common/version.Branch=HEAD" \
    "prometheus=github.com/prometheus/prometheus/cmd/prometheus"
  export GOFLAGS="$saved"
}
prometheus_build

await_all_steps
log "summary (total $((SECONDS - total_start))s):"
for line in "${summary[@]}"; do log "  $line"; done
