import { findAsset } from './assets.js';
import { run } from './process.js';

/** Absolute paths of the real CLI tools, and the versions they report. */
export interface ToolsInfo {
  /** kustomize v5. */
  kustomize: string;
  /** helm v3. */
  helm: string;
  /** kubectl (the machine's, or KUBEBUILDER_ASSETS/TEST_ASSET_KUBECTL). */
  kubectl: string;
  /** Version each tool reports, keyed `kustomize`, `helm`, `kubectl`. */
  versions: Record<string, string>;
}

/** Finds kustomize, helm and kubectl and asks each for its version. */
export async function findTools(): Promise<ToolsInfo> {
  const kustomize = findAsset('kustomize');
  const helm = findAsset('helm');
  const kubectl = findAsset('kubectl');
  const [kustomizeOut, helmOut, kubectlOut] = await Promise.all([
    run(kustomize, ['version']),
    run(helm, ['version', '--template', '{{.Version}}']),
    run(kubectl, ['version', '--client', '-o', 'json']),
  ]);
  const kubectlVersion = (JSON.parse(kubectlOut) as { clientVersion?: { gitVersion?: string } }).clientVersion
    ?.gitVersion;
  return {
    kustomize,
    helm,
    kubectl,
    versions: {
      // "v5.8.2" or "{Version:kustomize/v5.8.2 ...}" depending on the release
      kustomize: /v\d+\.\d+\.\d+/.exec(kustomizeOut)?.[0] ?? kustomizeOut.trim(),
      helm: helmOut.trim(),
      kubectl: kubectlVersion ?? 'unknown',
    },
  };
}
