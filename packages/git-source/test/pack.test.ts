import { execFile, spawn } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPackDirect, fetchRequest, parseFetchResponse } from '../src/fetch-pack.js';
import { indexPack } from '../src/pack-index.js';
import { PackObjects } from '../src/pack-reader.js';
import { removeTempDirs, tempDir } from './support/helpers.js';

const exec = promisify(execFile);
afterAll(removeTempDirs);

/** Runs git in `cwd`, feeding `input`; returns stdout as bytes. */
function git(cwd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`git ${args[0]}: ${code}`)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A repository of three commits whose files delta well against each other, packed by git. */
let repo: string;
let packName: string;
const lines = (n: number, tag: string): string =>
  Array.from({ length: n }, (_, i) => `line ${i} of a file that stays mostly the same ${tag}\n`).join('');

beforeAll(async () => {
  repo = await tempDir('pack');
  const run = (...args: string[]) =>
    exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], { cwd: repo });
  await run('init', '--quiet', '--initial-branch=main');
  for (let c = 0; c < 3; c++) {
    for (let f = 0; f < 6; f++) {
      await mkdir(join(repo, `dir-${f % 2}`, 'sub'), { recursive: true });
      // Each commit appends a line to some files: new versions are near copies, so git deltas them.
      const tail = f <= c ? `changed at commit ${c}\n` : '';
      await writeFile(
        join(repo, `dir-${f % 2}`, 'sub', `file-${f}.txt`),
        `${lines(300, `file ${f}`)}${tail}`,
      );
    }
    if (c === 0) nodeFs.symlinkSync('dir-0/sub/file-0.txt', join(repo, 'link'));
    await run('add', '-A');
    await run('commit', '--quiet', '-m', `commit ${c}`);
  }
  // Offset deltas, as `git repack` writes them.
  await run('repack', '-adq', '--window=10', '--depth=5');
  const packDir = join(repo, '.git', 'objects', 'pack');
  packName = (await readdir(packDir)).find((n) => n.endsWith('.pack')) as string;
});

async function allObjects(): Promise<string[]> {
  const out = await git(repo, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname)']);
  return out.toString().trim().split('\n');
}

describe('indexPack', () => {
  it('writes the same .idx as git for a pack of offset deltas', async () => {
    const packDir = join(repo, '.git', 'objects', 'pack');
    const pack = await readFile(join(packDir, packName));
    const deltas = (await git(repo, ['verify-pack', '-v', join(packDir, packName)])).toString();
    expect(deltas).toMatch(/chain length = [1-9]/); // The test is about deltas: there must be some.
    const indexed = await indexPack(pack, async () => undefined);
    expect(indexed.checksum).toBe(packName.slice(5, -5));
    expect(indexed.count).toBe((await allObjects()).length);
    expect(indexed.idx.equals(await readFile(join(packDir, packName.replace(/\.pack$/, '.idx'))))).toBe(true);
  });

  it('resolves reference deltas, and a thin pack against the objects the repository has', async () => {
    // `git pack-objects` without --delta-base-offset writes reference deltas.
    const full = await git(repo, ['pack-objects', '--stdout', '--revs', '--window=10'], 'main\n');
    const dir = await tempDir('idx');
    await writeFile(join(dir, 'full.pack'), full);
    await git(dir, ['index-pack', 'full.pack']);
    const indexed = await indexPack(full, async () => undefined);
    expect(indexed.idx.equals(await readFile(join(dir, 'full.idx')))).toBe(true);

    const thin = await git(
      repo,
      ['pack-objects', '--stdout', '--revs', '--thin', '--window=10'],
      'main\n^main~1\n',
    );
    await expect(indexPack(thin, async () => undefined)).rejects.toThrow(/is not in the repository/);
    const packs = new PackObjects(join(repo, '.git'), nodeFs);
    const resolved = await packs.session((reader) => indexPack(thin, (oid) => reader.read(oid)));
    const wanted = (await git(repo, ['rev-list', '--objects', 'main', '^main~1'])).toString();
    const ids = new Set<string>();
    for (let i = 0; i < resolved.count; i++)
      ids.add(resolved.idx.toString('hex', 1032 + i * 20, 1032 + i * 20 + 20));
    for (const line of wanted.trim().split('\n')) expect(ids.has(line.slice(0, 40))).toBe(true);
  });

  it('refuses a damaged pack', async () => {
    const pack = Buffer.from(await readFile(join(repo, '.git', 'objects', 'pack', packName)));
    const flipped = Buffer.from(pack);
    flipped[200] = (flipped[200] as number) ^ 0xff;
    await expect(indexPack(flipped, async () => undefined)).rejects.toMatchObject({
      code: 'SOURCE_GIT_REPOSITORY_CORRUPT',
    });
    await expect(indexPack(pack.subarray(0, 100), async () => undefined)).rejects.toMatchObject({
      code: 'SOURCE_GIT_REPOSITORY_CORRUPT',
    });
  });
});

describe('PackObjects', () => {
  it('reads every object of the pack as git does: type and bytes', async () => {
    const packs = new PackObjects(join(repo, '.git'), nodeFs);
    const oids = await allObjects();
    await packs.session(async (reader) => {
      for (const oid of oids) {
        const object = await reader.read(oid);
        const type = (await git(repo, ['cat-file', '-t', oid])).toString().trim();
        expect(object?.type).toBe(type);
        expect(object?.content.equals(await git(repo, ['cat-file', type, oid]))).toBe(true);
      }
      expect(await reader.read('0'.repeat(40))).toBeUndefined();
    });
  });

  it('fails with SOURCE_GIT_REPOSITORY_CORRUPT when a packed object does not match its id', async () => {
    const copy = await tempDir('corrupt');
    await exec('cp', ['-R', join(repo, '.git'), join(copy, '.git')]);
    const packPath = join(copy, '.git', 'objects', 'pack', packName);
    nodeFs.chmodSync(packPath, 0o644);
    const bytes = await readFile(packPath);
    // A byte inside the first blob's compressed data (after the commits and trees): the inflate
    // fails or yields other bytes; either way the read must fail, never return wrong content.
    const oids = await allObjects();
    const packs = new PackObjects(join(copy, '.git'), nodeFs);
    const offsets = await packs.session(async (reader) =>
      oids.map((oid) => [oid, reader.offsetOf(oid) as number] as const),
    );
    const [victim, offset] = offsets.sort((a, b) => b[1] - a[1])[0] as readonly [string, number];
    bytes[offset + 8] = (bytes[offset + 8] as number) ^ 0x01;
    await writeFile(packPath, bytes);
    const fresh = new PackObjects(join(copy, '.git'), nodeFs);
    await expect(fresh.session((reader) => reader.read(victim))).rejects.toMatchObject({
      code: 'SOURCE_GIT_REPOSITORY_CORRUPT',
    });
  });
});

describe('fetch-pack', () => {
  const pkt = (data: string | Buffer): Buffer => {
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
  };

  it('asks for one commit at a depth with the shallow boundary and haves, thin only with haves', () => {
    const first = fetchRequest({ want: 'a'.repeat(40), depth: 1, haves: [], shallows: [] }).toString();
    expect(first).toContain('command=fetch');
    expect(first).toContain(`want ${'a'.repeat(40)}\n`);
    expect(first).toContain('deepen 1\n');
    expect(first).not.toContain('thin-pack');
    const next = fetchRequest({
      want: 'b'.repeat(40),
      depth: 1,
      haves: ['a'.repeat(40)],
      shallows: ['a'.repeat(40)],
    });
    expect(next.toString()).toContain(`shallow ${'a'.repeat(40)}\n`);
    expect(next.toString()).toContain(`have ${'a'.repeat(40)}\n`);
    expect(next.toString()).toContain('thin-pack\n');
    expect(next.toString().endsWith('0009done\n0000')).toBe(true);
  });

  it('parses shallow-info and the side-band packfile; reports server errors; refuses a v0 answer', () => {
    const body = Buffer.concat([
      pkt('shallow-info\n'),
      pkt(`shallow ${'c'.repeat(40)}\n`),
      pkt(`unshallow ${'d'.repeat(40)}\n`),
      Buffer.from('0001'),
      pkt('packfile\n'),
      pkt(Buffer.concat([Buffer.from([2]), Buffer.from('Counting objects\n')])),
      pkt(Buffer.concat([Buffer.from([1]), Buffer.from('PACK')])),
      pkt(Buffer.concat([Buffer.from([1]), Buffer.from('DATA')])),
      Buffer.from('0000'),
    ]);
    expect(parseFetchResponse(body)).toEqual({
      pack: Buffer.from('PACKDATA'),
      shallow: ['c'.repeat(40)],
      unshallow: ['d'.repeat(40)],
    });
    expect(() => parseFetchResponse(Buffer.concat([pkt('ERR upload-pack: not our ref\n')]))).toThrow(
      /not our ref/,
    );
    const failed = Buffer.concat([
      pkt('packfile\n'),
      pkt(Buffer.concat([Buffer.from([3]), Buffer.from('boom')])),
      Buffer.from('0000'),
    ]);
    expect(() => parseFetchResponse(failed)).toThrow(/boom/);
    expect(
      parseFetchResponse(Buffer.from(`${pkt(`${'e'.repeat(40)} refs/heads/main\0caps\n`)}0000`)),
    ).toBeUndefined();
    // Cut off before the final flush.
    expect(parseFetchResponse(body.subarray(0, body.length - 4))).toBeUndefined();
  });
  it('leaves a server that does not answer in kind to the fallback, and reports refused credentials', async () => {
    const answering = (statusCode: number, contentType: string, body = '') => ({
      request: async () => ({
        url: 'http://git.example/repo.git/git-upload-pack',
        method: 'POST',
        statusCode,
        statusMessage: '',
        headers: { 'content-type': contentType },
        body: (async function* () {
          yield Buffer.from(body);
        })(),
      }),
    });
    const request = { want: 'a'.repeat(40), depth: 1, haves: [], shallows: [] };
    const url = 'http://git.example/repo.git';
    // A v0 server answers the POST with its ref advertisement, or refuses it.
    expect(await fetchPackDirect(answering(200, 'text/plain'), url, request)).toBeUndefined();
    expect(
      await fetchPackDirect(answering(400, 'application/x-git-upload-pack-result'), url, request),
    ).toBeUndefined();
    const v0 = `${'e'.repeat(40)} refs/heads/main\0caps\n`;
    const advert = `${(v0.length + 4).toString(16).padStart(4, '0')}${v0}0000`;
    expect(
      await fetchPackDirect(answering(200, 'application/x-git-upload-pack-result', advert), url, request),
    ).toBeUndefined();
    await expect(fetchPackDirect(answering(401, 'text/plain'), url, request)).rejects.toMatchObject({
      kind: 'auth',
    });
  });
});
