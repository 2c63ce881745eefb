import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pinned versions from testenv/versions.env, shared with scripts/provision.sh. */
export interface PinnedVersions {
  /** kube-apiserver (and kubectl when it had to be built), e.g. `v1.32.13`. */
  kube: string;
  /** etcd server, e.g. `v3.5.35`. */
  etcd: string;
  /** MinIO's Go pseudo-version (its tags are not semver). */
  minio: string;
  /** kustomize v5. */
  kustomize: string;
  /** helm v3. */
  helm: string;
  /** Build id of helm's cache folder, bumped when its ldflags change. */
  helmBuild: string;
  /** kwok, the simulated kubelets of the living cluster. */
  kwok: string;
  /** OpenTofu (the OpenTofu target example). */
  opentofu: string;
  /** hashicorp/terraform-provider-time, kept as an OpenTofu filesystem mirror. */
  timeProvider: string;
  /** distribution/distribution v3, the OCI registry (`registry serve`). */
  distribution: string;
  /** cosign v2, which signs the OCI artifacts of the tests. */
  cosign: string;
  /** Prometheus (github.com/prometheus/prometheus module version, e.g. `v0.316.0`). */
  prometheus: string;
}

/** The binaries testenv runs. */
export type AssetName =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'etcd'
  | 'kubectl'
  | 'minio'
  | 'kustomize'
  | 'helm'
  | 'tofu'
  | 'registry'
  | 'cosign'
  | 'prometheus';

/** Binaries envtest-style `KUBEBUILDER_ASSETS` folders may hold (the control plane). */
const KUBE_ASSETS: readonly AssetName[] = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'etcd',
  'kubectl',
];

const versionsFile = fileURLToPath(new URL('../versions.env', import.meta.url));

/** Reads testenv/versions.env (KEY=VALUE lines), the single place versions are pinned. */
export function pinnedVersions(): PinnedVersions {
  const values = new Map<string, string>();
  for (const line of readFileSync(versionsFile, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) values.set(match[1], match[2].trim());
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`testenv: ${key} is missing from ${versionsFile}`);
    return value;
  };
  return {
    kube: get('KUBE_VERSION'),
    etcd: get('ETCD_VERSION'),
    minio: get('MINIO_VERSION'),
    kustomize: get('KUSTOMIZE_VERSION'),
    helm: get('HELM_VERSION'),
    helmBuild: get('HELM_BUILD'),
    kwok: get('KWOK_VERSION'),
    opentofu: get('OPENTOFU_VERSION'),
    timeProvider: get('TIME_PROVIDER_VERSION'),
    distribution: get('DISTRIBUTION_VERSION'),
    cosign: get('COSIGN_VERSION'),
    prometheus: get('PROMETHEUS_VERSION'),
  };
}

/** The cache root that provision.sh builds into: `$GITOPS_KIT_CACHE` or `~/.cache/gitops-kit`. */
export function cacheDir(): string {
  return process.env.GITOPS_KIT_CACHE || join(homedir(), '.cache', 'gitops-kit');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folder in the cache that holds a binary built by provision.sh. */
function cacheFolder(name: AssetName, versions: PinnedVersions): string {
  const bin = join(cacheDir(), 'bin');
  switch (name) {
    case 'kube-apiserver':
    case 'kubectl':
      return join(bin, `kube-apiserver-${versions.kube}`);
    case 'kube-controller-manager':
    case 'kube-scheduler':
      return join(bin, `kube-controllers-${versions.kube}`);
    case 'kwok':
      return join(bin, `kwok-${versions.kwok}`);
    case 'etcd':
      return join(bin, `etcd-${versions.etcd}`);
    case 'minio':
      return join(bin, `minio-${versions.minio}`);
    case 'kustomize':
      return join(bin, `kustomize-${versions.kustomize}`);
    case 'helm':
      return join(bin, `helm-${versions.helm}-${versions.helmBuild}`);
    case 'tofu':
      return join(bin, `opentofu-${versions.opentofu}`);
    case 'registry':
      return join(bin, `distribution-${versions.distribution}`);
    case 'cosign':
      return join(bin, `cosign-${versions.cosign}`);
    case 'prometheus':
      return join(bin, `prometheus-${versions.prometheus}`);
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds a binary, in envtest's order: `TEST_ASSET_<NAME>` (e.g. TEST_ASSET_KUBE_APISERVER),
 * then `$KUBEBUILDER_ASSETS/<name>` for the control plane, then the provision cache; kubectl
 * also falls back to PATH. Throws an error that says how to provision it.
 */
export function findAsset(name: AssetName, versions: PinnedVersions = pinnedVersions()): string {
  const envName = `TEST_ASSET_${name.toUpperCase().replace(/-/g, '_')}`;
  const fromEnv = process.env[envName];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`testenv: ${envName}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates: string[] = [];
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && KUBE_ASSETS.includes(name)) {
    candidates.push(join(assets, name));
  }
  candidates.push(join(cacheFolder(name, versions), name));
  for (const candidate of candidates) {
    if (isExecutable(candidate)) return candidate;
  }
  if (name === 'kubectl') {
    const found = onPath('kubectl');
    if (found) return found;
  }
  throw new Error(
    `testenv: no ${name} binary (looked at ${envName}, ${candidates.join(', ')}${
      name === 'kubectl' ? ', PATH' : ''
    }); run \`pnpm provision\` to build it`,
  );
}

/**
 * The OpenTofu filesystem mirror provision.sh lays out (`<mirror>/registry.opentofu.org/hashicorp/
 * time/<version>/<os>_<arch>/...`), for `provider_installation { filesystem_mirror { path } }`.
 * Throws an error that says how to provision it.
 */
export function findProviderMirror(versions: PinnedVersions = pinnedVersions()): string {
  const mirror = join(cacheDir(), 'bin', `terraform-provider-time-${versions.timeProvider}`, 'mirror');
  try {
    accessSync(join(mirror, '..', '.complete'), constants.R_OK);
  } catch {
    throw new Error(`testenv: no provider mirror at ${mirror}; run \`pnpm provision\` to build it`);
  }
  return mirror;
}
