import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { base64File } from './certs.js';

/** The TLS material of one API client: the cluster CA and a client certificate, PEM. */
export interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** An answer of the API server: HTTP status and body text. */
export interface ApiResponse {
  status: number;
  body: string;
}

/**
 * One HTTPS request to the API server with a client certificate; resolves with status and body.
 * testenv's own start-up talks to the server this way, before any kubeconfig exists.
 */
export function apiRequest(
  server: string,
  tls: Tls,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, server),
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout on ${method} ${path}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Writes a kubeconfig for one user (a client certificate) of the test cluster. */
export async function writeKubeconfig(
  path: string,
  server: string,
  files: { caCert: string; cert: string; key: string; user: string },
): Promise<void> {
  // JSON is YAML: kubectl, helm, client-node and the Kubernetes binaries all read it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'testenv', cluster: { server, 'certificate-authority-data': await base64File(files.caCert) } },
    ],
    users: [
      {
        name: files.user,
        user: {
          'client-certificate-data': await base64File(files.cert),
          'client-key-data': await base64File(files.key),
        },
      },
    ],
    contexts: [{ name: 'testenv', context: { cluster: 'testenv', user: files.user, namespace: 'default' } }],
    'current-context': 'testenv',
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
