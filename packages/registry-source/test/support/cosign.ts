import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findAsset, type RegistryInfo } from '@gitops-kit/testenv';

/** A key pair made by the real `cosign generate-key-pair` (empty password). */
export interface CosignKeyPair {
  readonly privateKeyFile: string;
  /** The public key PEM (`cosign.pub`). */
  readonly publicKey: string;
}

/**
 * The real cosign, run with a scratch `DOCKER_CONFIG` holding the registry's credentials, a scratch
 * `TUF_ROOT`, the registry's CA as `SSL_CERT_FILE`, and no transparency log (nothing is reachable).
 */
export class Cosign {
  readonly binary = findAsset('cosign');

  private constructor(
    readonly dir: string,
    readonly registry: RegistryInfo,
  ) {}

  /** Prepares the scratch folders for `registry` in `dir`. */
  static async create(dir: string, registry: RegistryInfo): Promise<Cosign> {
    const docker = join(dir, 'docker');
    await mkdir(docker, { recursive: true });
    await mkdir(join(dir, 'tuf'), { recursive: true });
    const auths =
      registry.username && registry.password
        ? {
            [registry.host]: {
              auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64'),
            },
          }
        : {};
    await writeFile(join(docker, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
    return new Cosign(dir, registry);
  }

  #run(args: string[], cwd: string): Promise<string> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: this.dir,
      DOCKER_CONFIG: join(this.dir, 'docker'),
      TUF_ROOT: join(this.dir, 'tuf'),
      COSIGN_PASSWORD: '',
      COSIGN_YES: 'true',
      ...(this.registry.caFile ? { SSL_CERT_FILE: this.registry.caFile } : {}),
    };
    return new Promise((resolve, reject) => {
      execFile(this.binary, args, { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`cosign ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  /** `cosign generate-key-pair` in a folder of its own. */
  async generateKeyPair(name: string): Promise<CosignKeyPair> {
    const dir = join(this.dir, 'keys', name);
    await mkdir(dir, { recursive: true });
    await this.#run(['generate-key-pair'], dir);
    return {
      privateKeyFile: join(dir, 'cosign.key'),
      publicKey: await readFile(join(dir, 'cosign.pub'), 'utf8'),
    };
  }

  /** `cosign sign --key` of `repository@digest`, pushing the `sha256-<hex>.sig` tag. */
  async sign(key: CosignKeyPair, repository: string, digest: string): Promise<void> {
    const insecure = this.registry.plainHttp ? ['--allow-insecure-registry', '--allow-http-registry'] : [];
    await this.#run(
      [
        'sign',
        '--key',
        key.privateKeyFile,
        '--tlog-upload=false',
        ...insecure,
        '--yes',
        `${this.registry.host}/${repository}@${digest}`,
      ],
      this.dir,
    );
  }

  /** `cosign verify --key` (what a cosign user would run), resolving to true when it passes. */
  async verify(key: CosignKeyPair, repository: string, digest: string): Promise<boolean> {
    const dir = join(this.dir, 'verify');
    await mkdir(dir, { recursive: true });
    const pub = join(dir, `${Date.now()}.pub`);
    await writeFile(pub, key.publicKey);
    const insecure = this.registry.plainHttp ? ['--allow-insecure-registry', '--allow-http-registry'] : [];
    return this.#run(
      [
        'verify',
        '--key',
        pub,
        '--insecure-ignore-tlog=true',
        ...insecure,
        `${this.registry.host}/${repository}@${digest}`,
      ],
      this.dir,
    ).then(
      () => true,
      () => false,
    );
  }
}
