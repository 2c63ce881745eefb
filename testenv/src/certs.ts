import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './process.js';

/** Files of the per-run PKI of the test control plane, all PEM. */
export interface ControlPlanePki {
  /** CA that signs the serving and client certificates (the apiserver's --client-ca-file). */
  caCert: string;
  /** kube-apiserver serving certificate for 127.0.0.1 and localhost, and its key. */
  servingCert: string;
  servingKey: string;
  /** Admin client certificate (CN=gitops-kit-admin, O=system:masters), and its key. */
  adminCert: string;
  adminKey: string;
  /** Service account signing key pair, shared by kube-apiserver and kube-controller-manager. */
  saKey: string;
  saPub: string;
  /** The CA's key: kube-controller-manager signs CertificateSigningRequests with the CA. */
  caKey: string;
  /** Client certificates of the living cluster's parts, when they were asked for. */
  components?: Record<ComponentUser, ClientCert>;
}

/** A client certificate and its key, PEM files. */
export interface ClientCert {
  cert: string;
  key: string;
}

/**
 * The identities of the living cluster's parts. The controller-manager and the scheduler use the
 * users Kubernetes' bootstrap RBAC roles are bound to; kwok plays every kubelet (it writes Node
 * and Pod status, Leases and Events of all fake Nodes), so it is an admin.
 */
const COMPONENT_SUBJECTS = {
  'kube-controller-manager': '/CN=system:kube-controller-manager',
  'kube-scheduler': '/CN=system:kube-scheduler',
  kwok: '/O=system:masters/CN=kwok',
} as const;

/** A part of the living cluster that talks to the API server with its own certificate. */
export type ComponentUser = keyof typeof COMPONENT_SUBJECTS;

const OPENSSL = 'openssl';
const EC_P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes a self-signed EC P-256 CA (valid 2 days) with openssl: its key and certificate files. */
export async function makeCa(keyFile: string, certFile: string, subject: string): Promise<void> {
  await run(OPENSSL, [
    'req',
    '-x509',
    ...EC_P256,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
}

/**
 * Issues `<dir>/<name>.crt` and its key `<dir>/<name>.key` (EC P-256, 2 days), signed by the CA,
 * with the openssl extension lines given (key usage, subjectAltName).
 */
export async function issueCertificate(options: {
  dir: string;
  name: string;
  subject: string;
  extensions: string;
  caCert: string;
  caKey: string;
}): Promise<void> {
  const path = (file: string): string => join(options.dir, file);
  const csr = path(`${options.name}.csr`);
  const ext = path(`${options.name}.ext`);
  await writeFile(ext, options.extensions);
  await run(OPENSSL, [
    'req',
    '-new',
    ...EC_P256,
    '-keyout',
    path(`${options.name}.key`),
    '-out',
    csr,
    '-subj',
    options.subject,
  ]);
  await run(OPENSSL, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    options.caCert,
    '-CAkey',
    options.caKey,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-out',
    path(`${options.name}.crt`),
    '-extfile',
    ext,
  ]);
}

/**
 * Makes a fresh CA, serving certificate, admin client certificate and service-account key
 * in `dir` with the openssl CLI (Node has no X.509 issuing API). EC P-256 keeps it fast.
 * With `components`, also a client certificate for each part of the living cluster.
 */
export async function makeControlPlanePki(
  dir: string,
  options: { components?: boolean } = {},
): Promise<ControlPlanePki> {
  const path = (name: string): string => join(dir, name);
  const pki: ControlPlanePki = {
    caCert: path('ca.crt'),
    servingCert: path('apiserver.crt'),
    servingKey: path('apiserver.key'),
    adminCert: path('admin.crt'),
    adminKey: path('admin.key'),
    saKey: path('sa.key'),
    saPub: path('sa.pub'),
    caKey: path('ca.key'),
  };
  const caKey = pki.caKey;
  await makeCa(caKey, pki.caCert, '/CN=gitops-kit-testenv-ca');
  const issue = (name: string, subject: string, extensions: string): Promise<void> =>
    issueCertificate({ dir, name, subject, extensions, caCert: pki.caCert, caKey });
  const clientExtensions = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n');
  const components = options.components
    ? (Object.keys(COMPONENT_SUBJECTS) as ComponentUser[])
    : ([] as ComponentUser[]);
  await Promise.all([
    ...components.map((user) => issue(user, COMPONENT_SUBJECTS[user], clientExtensions)),
    issue(
      'apiserver',
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1',
        '',
      ].join('\n'),
    ),
    issue('admin', '/O=system:masters/CN=gitops-kit-admin', clientExtensions),
    (async () => {
      await run(OPENSSL, [
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
        '-out',
        pki.saKey,
      ]);
      await run(OPENSSL, ['pkey', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
    })(),
  ]);
  if (components.length > 0) {
    pki.components = Object.fromEntries(
      components.map((user) => [user, { cert: path(`${user}.crt`), key: path(`${user}.key`) }]),
    ) as Record<ComponentUser, ClientCert>;
  }
  return pki;
}

/** A file's content, base64-encoded, for the `*-data` fields of a kubeconfig. */
export async function base64File(path: string): Promise<string> {
  return (await readFile(path)).toString('base64');
}
