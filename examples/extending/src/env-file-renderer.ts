import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Artifact,
  ErrorCodes,
  type KubeObject,
  type Manifest,
  RenderError,
  type Renderer,
  type RenderOptions,
} from '@gitops-kit/core';

/**
 * A custom Renderer: every `<name>.env` file at the artifact's top level (`KEY=value` lines,
 * `#` comments) becomes a ConfigMap `<name>` in `namespace`. Output is sorted by file name, so the
 * same artifact always renders the same manifests; each names its file and line.
 */

/** Options of {@link EnvFileRenderer}. */
export interface EnvFileRendererOptions {
  /** Namespace of the ConfigMaps. */
  readonly namespace: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Renders `.env` files into ConfigMaps. */
export class EnvFileRenderer implements Renderer {
  readonly name = 'env-file';
  readonly #namespace: string;

  /** @param options the namespace of the ConfigMaps. */
  constructor(options: EnvFileRendererOptions) {
    this.#namespace = options.namespace;
  }

  /** One ConfigMap per `.env` file; a line that is not `KEY=value` is a RenderError naming file and line. */
  async render(artifact: Artifact, { signal }: RenderOptions): Promise<Manifest[]> {
    signal.throwIfAborted();
    const files = (await readdir(artifact.dir)).filter((f) => f.endsWith('.env')).sort();
    const manifests: Manifest[] = [];
    for (const file of files) {
      signal.throwIfAborted();
      const data: Record<string, string> = {};
      const lines = (await readFile(join(artifact.dir, file), 'utf8')).split('\n');
      for (const [index, raw] of lines.entries()) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const eq = line.indexOf('=');
        const key = eq < 0 ? '' : line.slice(0, eq).trim();
        if (!KEY.test(key)) {
          throw new RenderError(ErrorCodes.RenderInvalidObject, 'expected KEY=value', {
            location: { file, line: index + 1 },
          });
        }
        data[key] = line.slice(eq + 1).trim();
      }
      const object: KubeObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: file.slice(0, -'.env'.length), namespace: this.#namespace },
        data,
      };
      manifests.push({ object, origin: { file, documentIndex: 0, line: 1 } });
    }
    return manifests;
  }

  /** The output depends on the namespace alone (and the artifact). */
  async cacheKey(): Promise<string> {
    return `env-file:${this.#namespace}`;
  }
}
