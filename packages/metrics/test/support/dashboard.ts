import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dashboardPath = fileURLToPath(new URL('../../dashboard/gitops-kit.json', import.meta.url));

/** Grafana's variables replaced as Grafana would for "All" over a one-hour range. */
export function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$(namespace|name|target)\b/g, '.*');
}

/** Every query of the dashboard, with its panel's title. */
export function dashboardQueries(): { title: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
}
