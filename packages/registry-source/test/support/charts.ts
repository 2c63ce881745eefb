import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A dependency as `Chart.yaml` declares it. */
export interface ChartDependencySpec {
  name: string;
  version: string;
  repository: string;
  alias?: string;
  /** `import-values` entries in the map form: a child value to copy into the parent's values. */
  importValues?: { child: string; parent: string }[];
}

/** What {@link writeChart} writes. */
export interface ChartSpec {
  name: string;
  version: string;
  /** `kubeVersion` constraint of `Chart.yaml`. */
  kubeVersion?: string;
  dependencies?: ChartDependencySpec[];
  /** Extra files, path → content (templates, values files, Chart.lock). */
  files?: Record<string, string>;
}

/**
 * Writes a chart folder: `Chart.yaml`, `values.yaml` and a ConfigMap template that names the
 * release, the chart and its version (so a test sees which version rendered).
 */
export async function writeChart(parent: string, spec: ChartSpec): Promise<string> {
  const dir = join(parent, spec.name);
  const deps = spec.dependencies ?? [];
  const chartYaml = [
    'apiVersion: v2',
    `name: ${spec.name}`,
    `version: ${spec.version}`,
    ...(spec.kubeVersion ? [`kubeVersion: "${spec.kubeVersion}"`] : []),
    ...(deps.length > 0
      ? [
          'dependencies:',
          ...deps.flatMap((d) => [
            `  - name: ${d.name}`,
            `    version: "${d.version}"`,
            `    repository: "${d.repository}"`,
            ...(d.alias ? [`    alias: ${d.alias}`] : []),
            ...(d.importValues?.length
              ? [
                  '    import-values:',
                  ...d.importValues.flatMap((v) => [
                    `      - child: ${v.child}`,
                    `        parent: ${v.parent}`,
                  ]),
                ]
              : []),
          ]),
        ]
      : []),
    '',
  ].join('\n');
  const files: Record<string, string> = {
    'Chart.yaml': chartYaml,
    'values.yaml': 'greeting: hello\nsettings:\n  size: small\n',
    'templates/configmap.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-{{ .Chart.Name }}',
      'data:',
      '  chart: {{ .Chart.Name }}',
      '  version: {{ .Chart.Version | quote }}',
      '  greeting: {{ .Values.greeting | quote }}',
      '',
    ].join('\n'),
    ...spec.files,
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
