import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  type Artifact,
  type KubeObject,
  type Manifest,
  RenderError,
  type Renderer,
  type RenderOptions,
} from '@gitops-kit/core';
import { TofuErrorCodes } from './errors.js';
import { HclScanError, scanBlocks } from './hcl-blocks.js';
import { MODULE_KIND, MODULE_NAME, type ModuleSpec, type ResourceSpec, TOFU_API_VERSION } from './model.js';

/**
 * Renders a folder of OpenTofu code (the root module's `.tf` and `.tf.json` files, plus whatever
 * else the folder holds) into manifests: one per resource block, one `Module` for the rest. Files
 * are read in sorted order, so the same artifact always gives the same manifests.
 */
export class TofuRenderer implements Renderer {
  readonly name = 'opentofu';

  /** Splits the root module into resource manifests and the module manifest. */
  async render(artifact: Artifact, { signal }: RenderOptions): Promise<Manifest[]> {
    signal.throwIfAborted();
    const paths = (await listFiles(artifact.dir)).sort();
    const resources: Manifest[] = [];
    const module: {
      hcl: ModuleSpec['hcl'][number][];
      json: ModuleSpec['json'][number][];
      files: Record<string, string>;
    } = {
      hcl: [],
      json: [],
      files: {},
    };
    for (const file of paths) {
      signal.throwIfAborted();
      const text = await readFile(join(artifact.dir, ...file.split('/')), 'utf8');
      const topLevel = !file.includes('/');
      if (topLevel && file.endsWith('.tf')) this.#hcl(file, text, resources, module.hcl);
      else if (topLevel && file.endsWith('.tf.json')) this.#json(file, text, resources, module.json);
      else module.files[file] = text;
    }
    const object: KubeObject = {
      apiVersion: TOFU_API_VERSION,
      kind: MODULE_KIND,
      metadata: { name: MODULE_NAME },
      spec: module,
    };
    const first = module.hcl[0] ?? { file: module.json[0]?.file ?? paths[0] ?? 'main.tf', line: 1 };
    return [{ object, origin: { file: first.file, documentIndex: 0, line: first.line } }, ...resources];
  }

  #hcl(file: string, text: string, resources: Manifest[], rest: ModuleSpec['hcl'][number][]): void {
    let blocks: ReturnType<typeof scanBlocks>;
    try {
      blocks = scanBlocks(text);
    } catch (error) {
      if (!(error instanceof HclScanError)) throw error;
      throw new RenderError(TofuErrorCodes.RenderInvalidModule, error.message, {
        location: { file, line: error.line },
      });
    }
    for (const [index, block] of blocks.entries()) {
      const [type, name] = block.labels;
      if (block.type === 'resource' && type && name && block.labels.length === 2) {
        const spec: ResourceSpec = { file, line: block.line, hcl: block.text };
        resources.push(resourceManifest(type, name, spec, { file, documentIndex: index, line: block.line }));
      } else {
        rest.push({ file, line: block.line, text: block.text });
      }
    }
  }

  #json(file: string, text: string, resources: Manifest[], rest: ModuleSpec['json'][number][]): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RenderError(TofuErrorCodes.RenderInvalidModule, `not JSON: ${(error as Error).message}`, {
        location: { file, line: 1 },
      });
    }
    if (!isRecord(value)) {
      throw new RenderError(TofuErrorCodes.RenderInvalidModule, 'a .tf.json file holds one object', {
        location: { file, line: 1 },
      });
    }
    const { resource, ...others } = value;
    let index = 0;
    for (const [type, byName] of Object.entries(isRecord(resource) ? resource : {})) {
      for (const [name, body] of Object.entries(isRecord(byName) ? byName : {})) {
        const line = lineOf(text, `"${name}"`);
        resources.push(
          resourceManifest(type, name, { file, line, json: body }, { file, documentIndex: index++, line }),
        );
      }
    }
    if (resource !== undefined && !isRecord(resource)) {
      throw new RenderError(TofuErrorCodes.RenderInvalidModule, '"resource" must be an object', {
        location: { file, line: 1 },
      });
    }
    rest.push({ file, value: others });
  }
}

function resourceManifest(
  type: string,
  name: string,
  spec: ResourceSpec,
  origin: Manifest['origin'],
): Manifest {
  return { object: { apiVersion: TOFU_API_VERSION, kind: type, metadata: { name }, spec }, origin };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one-based line where `needle` first appears (1 when it does not). */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 ? 1 : text.slice(0, at).split('\n').length;
}

/** Every file under `dir`, relative with `/`, leaving out hidden entries (`.terraform`, `.git`). */
async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push(relative(dir, path).split(sep).join('/'));
    }
  };
  await walk(dir);
  return found;
}
