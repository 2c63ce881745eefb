import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { issueCertificate, makeCa } from './certs.js';

/** A CA and one serving certificate signed by it, PEM files. */
export interface ServingPki {
  /** The CA certificate clients trust. */
  caCert: string;
  /** The CA's key, to issue more certificates (a token-signing one). */
  caKey: string;
  /** The serving certificate (for 127.0.0.1 and localhost) and its key. */
  cert: string;
  key: string;
}

/**
 * Makes a fresh CA and a serving certificate for `127.0.0.1` and `localhost` in `dir` with the
 * openssl CLI, for a test server of its own (a registry): a client that trusts `caCert` and
 * nothing else reaches it, one that trusts only the system roots is refused.
 */
export async function makeServingPki(dir: string, name: string): Promise<ServingPki> {
  await mkdir(dir, { recursive: true });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await makeCa(caKey, caCert, `/CN=${name}-ca`);
  await issueCertificate({
    dir,
    name: 'server',
    subject: `/CN=${name}`,
    caCert,
    caKey,
    extensions: [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  });
  return { caCert, caKey, cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}
