import { describe, expect, it, vi } from 'vitest';
import { HelmErrorCodes, HelmSourceError } from '../src/helm/errors.js';
import { HelmChartSource } from '../src/helm/helm-chart-source.js';
import type { OciChartSettings } from '../src/helm/oci-chart.js';

// What HelmChartSource builds its OCI repository with, seen without contacting a registry.
const built = vi.hoisted(() => [] as { url: string; chart: string; settings: OciChartSettings }[]);

vi.mock('../src/helm/oci-chart.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/helm/oci-chart.js')>();
  class RecordingOciChartRepository extends original.OciChartRepository {
    constructor(...args: ConstructorParameters<typeof original.OciChartRepository>) {
      built.push({ url: args[0], chart: args[1], settings: args[2] });
      super(...args);
    }
  }
  return { ...original, OciChartRepository: RecordingOciChartRepository };
});

describe('HelmChartSource with credentials in an oci:// URL', () => {
  it('takes them as its credentials and gives the repository the URL without them', () => {
    built.length = 0;
    const source = new HelmChartSource({
      url: 'oci://robot:s3cr%2Ft@registry.test:5000/charts/app',
      version: '^1.0',
      cacheDir: '/nonexistent/helm-cache',
    });
    expect(built).toHaveLength(1);
    expect(built[0]?.url).toBe('oci://registry.test:5000/charts');
    expect(built[0]?.chart).toBe('app');
    expect(built[0]?.settings.credentials).toEqual({ username: 'robot', password: 's3cr/t' });
    expect(source.description).toBe('helm oci://registry.test:5000/charts/app app@^1.0');
  });

  it('an invalid reference with credentials does not quote them', () => {
    let error: unknown;
    try {
      // Upper case is no OCI repository path.
      new HelmChartSource({ url: 'oci://robot:s3cret-pw@registry.test/Charts', chart: 'app' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(HelmSourceError);
    expect((error as HelmSourceError).code).toBe(HelmErrorCodes.InvalidOption);
    const texts = [JSON.stringify(error), String((error as Error).stack)];
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) texts.push(cause.message);
    for (const text of texts) expect(text).not.toContain('s3cret-pw');
    expect((error as Error).message).toContain('registry.test/Charts/app');
  });
});
