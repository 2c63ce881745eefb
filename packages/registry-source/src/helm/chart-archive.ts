import { createHash } from 'node:crypto';
import type { ArtifactFileInput, ResolvedArtifactLimits } from '@gitops-kit/core';
import { readTarGz } from '../archive/tar.js';
import { RegistryError } from '../errors.js';

/** Why a chart archive was refused; the caller names the chart and URL. */
export class ChartArchiveProblem extends Error {}

/** `sha256:<hex>` of some bytes. */
export function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function* once(bytes: Buffer): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * The files of a packaged chart (`<name>-<version>.tgz`) with the chart's top folder removed, as
 * Helm's loader reads them: `Chart.yaml` at the root, subcharts in `charts/` kept packaged. The
 * archive reader refuses paths that would leave the folder and skips links; an archive without
 * `Chart.yaml` is not a chart.
 */
export async function chartFiles(
  archive: Buffer,
  limits: ResolvedArtifactLimits,
): Promise<ArtifactFileInput[]> {
  let entries: Awaited<ReturnType<typeof readTarGz>>;
  try {
    entries = await readTarGz(once(archive), limits, 'the chart archive');
  } catch (error) {
    if (error instanceof RegistryError)
      throw new ChartArchiveProblem(`the chart archive is unusable: ${error.message}`);
    throw error;
  }
  const files: ArtifactFileInput[] = [];
  const seen = new Set<string>();
  for (const entry of entries.files) {
    const inChart = entry.path.split('/').slice(1);
    if (inChart.length === 0) continue;
    const path = inChart.join('/');
    if (seen.has(path)) continue;
    seen.add(path);
    files.push({ path, content: entry.content, executable: entry.executable });
  }
  if (!seen.has('Chart.yaml'))
    throw new ChartArchiveProblem('the archive has no Chart.yaml: it is not a Helm chart');
  return files;
}
