import type { Renderer, RenderOptions, Target } from '../types.js';

/**
 * The options a pass renders with: the abort signal and, when the renderer reads them
 * (`usesClusterCapabilities`) and the target can tell (`Target.capabilities`), the cluster's
 * version and API versions, so Helm's `.Capabilities` see the real cluster (as Argo CD passes
 * `--kube-version` and `--api-versions`).
 */
export async function renderOptionsFor(
  target: Target,
  renderer: Renderer,
  signal: AbortSignal,
): Promise<RenderOptions> {
  if (!renderer.usesClusterCapabilities || typeof target.capabilities !== 'function') return { signal };
  return { signal, capabilities: await target.capabilities({ signal }) };
}
