import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsHandler, ReconcilerMetrics, serveMetrics } from '@gitops-kit/metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

describe('/metrics over node:http', () => {
  it('serveMetrics answers GET /metrics with the text format, 404 elsewhere, 405 for POST', async () => {
    const registry = new Registry();
    new ReconcilerMetrics({ registry }).kubernetesRequests('t')({ verb: 'get', code: 200 });
    const server = await serveMetrics({ registry });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(server.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/plain');
      const text = await ok.text();
      expect(text).toContain('# TYPE gotk_reconcile_duration_seconds histogram');
      expect(text).toContain('gitops_kit_kubernetes_requests_total{target="t",verb="get",code="200"} 1');
      expect((await fetch(new URL('/other', server.url))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('metricsHandler mounts on a server of the program', async () => {
    const registry = new Registry();
    new ReconcilerMetrics({ registry });
    const handle = metricsHandler(registry);
    const server = createServer((req, res) =>
      req.url === '/internal/metrics' ? handle(req, res) : res.end('app'),
    );
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/internal/metrics`)).text();
      expect(text).toContain('# HELP gotk_reconcile_condition');
    } finally {
      server.close();
    }
  });
});
