import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The unit of `pnpm bench:units`, the one Flux's benchmark (flux-benchmark) gives each
 * Kustomization: a ServiceAccount, a Service, a Deployment and an Ingress, without namespaces (each
 * reconciler sets its own `targetNamespace`). The Service is headless: the test apiserver's service
 * range (a /24) has far fewer cluster IPs than 1,000 units need.
 */
export async function writeUnit(dir: string): Promise<void> {
  await writeFile(
    join(dir, 'unit.yaml'),
    `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  clusterIP: None
  selector:
    app: app
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels:
    app: app
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app
  template:
    metadata:
      labels:
        app: app
    spec:
      serviceAccountName: app
      containers:
        - name: main
          image: registry.example.com/app:1.0.0
          ports:
            - containerPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
spec:
  rules:
    - host: app.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: app
                port:
                  number: 80
`,
  );
}

/** One Namespace per unit (`unit-0` …), in one file for kubectl. */
export async function writeNamespaces(file: string, units: number): Promise<void> {
  const docs = Array.from(
    { length: units },
    (_, i) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: unit-${i}\n`,
  );
  await writeFile(file, docs.join('---\n'));
}
