import { createHash } from 'node:crypto';
import type { ArtifactFileInput } from '@gitops-kit/core';
import { readTarGz, type TarLimits, TarProblem } from './tar.js';

/** Why a chart archive was refused; the caller names the chart and URL. */
export class ChartArchiveProblem extends Error {}

/** `sha256:<hex>` of some bytes. */
export function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The files of a packaged chart (`<name>-<version>.tgz`) with the chart's top folder removed, as
 * Helm's loader reads them: `Chart.yaml` at the root, subcharts in `charts/` kept packaged. Paths
 * that would leave the folder are refused; an archive without `Chart.yaml` is not a chart.
 */
export function chartFiles(archive: Buffer, limits: TarLimits): ArtifactFileInput[] {
  let entries: ReturnType<typeof readTarGz>;
  try {
    entries = readTarGz(archive, limits);
  } catch (error) {
    if (error instanceof TarProblem)
      throw new ChartArchiveProblem(`the chart archive is unusable: ${error.message}`);
    throw error;
  }
  const files: ArtifactFileInput[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const parts = entry.path.replace(/^\.\//, '').split('/');
    const inChart = parts.slice(1).filter((part) => part !== '' && part !== '.');
    if (inChart.length === 0) continue;
    if (entry.path.startsWith('/') || inChart.includes('..') || entry.path.includes('\\')) {
      throw new ChartArchiveProblem(`the chart archive holds an unsafe path "${entry.path}"`);
    }
    const path = inChart.join('/');
    if (seen.has(path)) continue; // Helm keeps the first of duplicated names too.
    seen.add(path);
    files.push({ path, content: entry.content, executable: entry.executable });
  }
  if (!seen.has('Chart.yaml'))
    throw new ChartArchiveProblem('the archive has no Chart.yaml: it is not a Helm chart');
  return files;
}
