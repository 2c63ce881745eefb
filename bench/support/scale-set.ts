import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The object set of `pnpm bench:scale`: `namespaces` Namespaces and, in each, `perKind` ConfigMaps,
 * Services and Deployments (99 per namespace gives 100 objects a namespace with its Namespace).
 * Block YAML, one file per namespace, the Namespaces in a file of their own.
 */
export interface ScaleSet {
  readonly namespaces: number;
  readonly perKind: number;
  /** Name prefix of the namespaces. */
  readonly prefix: string;
}

/** Writes the set into `dir`; returns the number of objects and the file the one-change pass edits. */
export async function writeScaleSet(
  dir: string,
  set: ScaleSet,
): Promise<{ objects: number; changeFile: string }> {
  const namespaceDocs: string[] = [];
  for (let n = 0; n < set.namespaces; n++) {
    const ns = `${set.prefix}-${n}`;
    namespaceDocs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
    const docs: string[] = [];
    for (let i = 0; i < set.perKind; i++) docs.push(configMap(ns, i), service(ns, i), deployment(ns, i));
    await writeFile(join(dir, `${ns}.yaml`), docs.join('---\n'));
  }
  await writeFile(join(dir, '00-namespaces.yaml'), namespaceDocs.join('---\n'));
  return {
    objects: set.namespaces * (1 + 3 * set.perKind),
    changeFile: join(dir, `${set.prefix}-${Math.min(3, set.namespaces - 1)}.yaml`),
  };
}

/** The head of a document: apiVersion, kind and metadata with the `app` label. */
function head(apiVersion: string, kind: string, name: string, ns: string, i: number): string {
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels:\n    app: app-${i}\n`;
}

function configMap(ns: string, i: number): string {
  return `${head('v1', 'ConfigMap', `app-${i}-config`, ns, i)}data:
  settings.json: '{"index":${i},"namespace":"${ns}","feature":"on"}'
  mode: production
`;
}

// Headless: the test apiserver's service range (a /24) holds far fewer cluster IPs than the set.
function service(ns: string, i: number): string {
  return `${head('v1', 'Service', `app-${i}`, ns, i)}spec:
  clusterIP: None
  selector:
    app: app-${i}
  ports:
    - name: http
      port: 80
      targetPort: 8080
`;
}

function deployment(ns: string, i: number): string {
  return `${head('apps/v1', 'Deployment', `app-${i}`, ns, i)}spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-${i}
  template:
    metadata:
      labels:
        app: app-${i}
    spec:
      containers:
        - name: main
          image: registry.example.com/app:1.0.0
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: "0.5"
              memory: 128Mi
          envFrom:
            - configMapRef:
                name: app-${i}-config
`;
}
