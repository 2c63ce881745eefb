import { createHash, type KeyObject, sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A file to put into a test archive; a string is UTF-8 content with mode 0644. */
export type TarInput =
  | string
  | {
      readonly content: string | Buffer;
      readonly mode?: number;
      /** `0` file, `2` symbolic link, `5` folder, `x` pax header, `L` GNU long name. */
      readonly type?: '0' | '2' | '5' | 'x' | 'L';
      readonly link?: string;
    };

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function header(name: string, size: number, mode: number, type: string, link = ''): Buffer {
  const block = Buffer.alloc(512);
  const put = (text: string, at: number, length: number): void => {
    block.write(text.slice(0, length), at, 'utf8');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  if (Buffer.byteLength(name) > 100) throw new Error(`test tar: name too long: ${name}`);
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  block.fill(0x20, 148, 156);
  put(type, 156, 1);
  put(link, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** A tar+gzip archive of `files` (ustar; paths as given, so a test can write hostile ones). */
export function tarGz(files: Readonly<Record<string, TarInput>>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, input] of Object.entries(files)) {
    // Several header entries of one archive need distinct keys: `name#2` is written as `name`.
    const name = key.replace(/#\d+$/, '');
    const entry = typeof input === 'string' ? { content: input } : input;
    const type = entry.type ?? '0';
    const content =
      type === '0' || type === 'x' || type === 'L' ? Buffer.from(entry.content) : Buffer.alloc(0);
    parts.push(header(name, content.length, entry.mode ?? (type === '5' ? 0o755 : 0o644), type, entry.link));
    parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** The blobs and manifest of an artifact as `flux push artifact` writes it. */
export interface FluxArtifact {
  readonly config: Buffer;
  readonly layer: Buffer;
  /** The manifest bytes (exactly what is pushed and hashed). */
  readonly manifest: Buffer;
  readonly digest: string;
}

/** Builds a Flux-format artifact: config `…flux.config.v1+json`, one `…flux.content.v1.tar+gzip` layer, annotations. */
export function fluxArtifact(
  files: Readonly<Record<string, TarInput>>,
  annotations: Readonly<Record<string, string>> = {},
): FluxArtifact {
  const config = Buffer.from('{}');
  const layer = tarGz(files);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.cncf.flux.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
      annotations: {
        'org.opencontainers.image.created': '2026-12-01T10:00:00Z',
        ...annotations,
      },
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

/** The blobs and manifest of a cosign key signature (what `cosign sign --key` pushes). */
export interface CosignSignature {
  readonly payload: Buffer;
  readonly config: Buffer;
  readonly manifest: Buffer;
  /** The tag it goes under: `sha256-<hex>.sig`. */
  readonly tag: string;
}

/**
 * A cosign-style signature of `digest` made with `key` (node:crypto), for unit tests of the
 * verification logic; the integration tests sign with the real cosign. `payloadDigest` lets a test
 * sign a payload that names another artifact.
 */
export function cosignSignature(
  key: KeyObject,
  repository: string,
  digest: string,
  options: { payloadDigest?: string; signature?: string } = {},
): CosignSignature {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': options.payloadDigest ?? digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const signature = options.signature ?? sign('sha256', payload, key).toString('base64');
  const config = Buffer.from(
    '{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: config.length,
        digest: sha256(config),
      },
      layers: [
        {
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          size: payload.length,
          digest: sha256(payload),
          annotations: { 'dev.cosignproject.cosign/signature': signature },
        },
      ],
    }),
  );
  return { payload, config, manifest, tag: `${digest.replace(':', '-')}.sig` };
}
