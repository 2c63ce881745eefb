import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chartFiles } from '../src/helm/chart-archive.js';
import { repositoryFor } from '../src/helm/dependency-resolver.js';
import { lockDigest } from '../src/helm/lock-digest.js';
import { archiveUrl, IndexProblem, parseRepositoryIndex } from '../src/helm/repository-index.js';
import { isExactVersion, isValidConstraint, selectVersion, toRange } from '../src/helm/versions.js';

describe('Helm version constraints', () => {
  const versions = ['1.0.0', '1.4.0', '1.4.1-rc.1', '2.0.0', 'v2.1.0', 'not-semver'];
  it.each([
    ['^1.0', '1.4.0'],
    ['~1.4', '1.4.0'],
    ['>=1.0, <2.0', '1.4.0'],
    ['>=1.0.0 <3.0.0', '2.1.0'.replace(/^/, 'v')],
    ['1.4.x', '1.4.0'],
    [undefined, 'v2.1.0'],
    ['', 'v2.1.0'],
    ['1.4.0', '1.4.0'],
    ['=1.4.0', '1.4.0'],
    ['2.1.0', 'v2.1.0'],
    ['1.4.1-rc.1', '1.4.1-rc.1'],
    ['^3', undefined],
    ['1.9.9', undefined],
  ])('%s selects %s (newest stable in range, exact only itself)', (constraint, expected) => {
    expect(selectVersion(versions, constraint)).toBe(expected);
  });

  it('reads Helm (Masterminds) constraints', () => {
    expect(toRange('>=1.0, <2.0 || ^3')).toBe('>=1.0 <2.0 || ^3');
    expect(isExactVersion('1.2.3')).toBe(true);
    expect(isExactVersion('^1.2.3')).toBe(false);
    expect(isValidConstraint('>=1.0, <2.0')).toBe(true);
    expect(isValidConstraint('latest')).toBe(true);
    expect(isValidConstraint('one point two')).toBe(false);
  });
});

describe('Chart.lock digest', () => {
  it('is the digest helm dependency update wrote (Go JSON: field order, omitempty, escapes)', () => {
    const repository = 'http://127.0.0.1:33679/charts';
    // Chart.yaml and the Chart.lock written by helm v3.22 `dependency update` for it.
    const dependencies = [
      {
        name: 'redis',
        version: '>=1.0.0 <3.0.0',
        repository,
        condition: 'redis.enabled',
        tags: ['cache', 'a&b'],
        alias: 'store',
      },
      { name: 'common', version: '~2.0', repository },
    ];
    const locked = [
      { name: 'redis', version: '1.2.0', repository },
      { name: 'common', version: '2.0.1', repository },
    ];
    const helmDigest = 'sha256:840eda8f07f951dc455b2591bbd6cd0eb1b4f919f0989f44a91c4991b5be4277';
    expect(lockDigest(dependencies, locked)).toBe(helmDigest);
    expect(lockDigest(dependencies, [{ ...locked[0]!, version: '1.3.0' }, locked[1]!])).not.toBe(helmDigest);
    expect(lockDigest([{ ...dependencies[0]!, alias: 'other' }, dependencies[1]!], locked)).not.toBe(
      helmDigest,
    );
  });

  it('covers import-values as Helm does (maps with sorted keys, strings, an empty list left out)', () => {
    const repository = 'file://../child';
    // Chart.yaml and the Chart.lock written by helm v3.22 `dependency update` for it.
    const dependencies = [
      {
        name: 'child',
        version: '~0.1.0',
        repository,
        alias: 'kid',
        condition: 'kid.enabled',
        tags: ['front', 'a<b'],
        enabled: true,
        importValues: [
          { parent: 'childTag&x', child: 'image.tag' },
          'data',
          { child: 'nested', parent: 'deep' },
        ],
      },
      { name: 'child', version: '>=0.1.0', repository, importValues: [] },
    ];
    const locked = [
      { name: 'child', version: '0.1.0', repository },
      { name: 'child', version: '0.1.0', repository },
    ];
    const helmDigest = 'sha256:b2d3a4a1005b6ad1d9ec8acca5eeff94d87acc34f3b04b3c839821a34640e19c';
    expect(lockDigest(dependencies, locked)).toBe(helmDigest);
    const first = dependencies[0] as (typeof dependencies)[0];
    expect(lockDigest([{ ...first, importValues: ['data'] }, dependencies[1]!], locked)).not.toBe(helmDigest);
  });
});

describe('index.yaml', () => {
  it('reads entries, digests and URLs, relative ones resolved against the index', () => {
    const index = parseRepositoryIndex(
      'apiVersion: v1\nentries:\n  web:\n    - version: 1.0.0\n      digest: abc\n      urls: [web-1.0.0.tgz]\n    - version: 1.1\n      urls: ["https://cdn.example.com/web-1.1.tgz"]\n',
    );
    const web = index.get('web') ?? [];
    expect(web.map((e) => [e.version, e.digest])).toEqual([
      ['1.0.0', 'abc'],
      ['1.1', undefined],
    ]);
    expect(archiveUrl(web[0]!, 'https://charts.example.com/stable/index.yaml')).toBe(
      'https://charts.example.com/stable/web-1.0.0.tgz',
    );
    expect(archiveUrl(web[1]!, 'https://charts.example.com/stable/index.yaml')).toBe(
      'https://cdn.example.com/web-1.1.tgz',
    );
  });

  it.each(['entries: [', 'apiVersion: v1\n', '- a\n'])('refuses %j', (text) => {
    expect(() => parseRepositoryIndex(text)).toThrow(IndexProblem);
  });
});

/** A one-file ustar archive. */
function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, content] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(path, 0, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${Buffer.byteLength(content).toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const body = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512);
    body.write(content);
    blocks.push(header, body);
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const LIMITS = { maxFiles: 100, maxFileBytes: 1024, maxTotalBytes: 4096 };

describe('chart archives', () => {
  it('takes the files out of the chart folder', async () => {
    const files = await chartFiles(
      tarOf({ 'web/Chart.yaml': 'name: web\n', 'web/templates/a.yaml': 'x: 1\n' }),
      LIMITS,
    );
    expect(files.map((f) => f.path)).toEqual(['Chart.yaml', 'templates/a.yaml']);
  });

  it('refuses an archive without Chart.yaml, one that escapes, and one over the limits', async () => {
    await expect(chartFiles(tarOf({ 'web/values.yaml': 'a: 1\n' }), LIMITS)).rejects.toThrow(
      /no Chart\.yaml/,
    );
    await expect(
      chartFiles(tarOf({ 'web/../../etc/x': 'a\n', 'web/Chart.yaml': 'x' }), LIMITS),
    ).rejects.toThrow(/unusable/);
    await expect(chartFiles(tarOf({ 'web/Chart.yaml': 'x'.repeat(2000) }), LIMITS)).rejects.toThrow(
      /unusable/,
    );
    await expect(chartFiles(Buffer.from('not gzip'), LIMITS)).rejects.toThrow(/unusable/);
  });
});

describe('dependency repository credentials', () => {
  const repositories = [
    { url: 'https://charts.example.com', auth: { token: 'example-token' } },
    { url: 'https://charts.example.com/team/', auth: { token: 'team-token' } },
    { url: 'oci://Registry.Example.com:5000/charts', auth: { token: 'oci-token' } },
  ];
  const tokenFor = (url: string): string | undefined => {
    const auth = repositoryFor(repositories, url)?.auth;
    return auth && 'token' in auth ? auth.token : undefined;
  };

  it('go to the same scheme, host and port, on a path at or below the configured one', () => {
    expect(tokenFor('https://charts.example.com')).toBe('example-token');
    expect(tokenFor('https://charts.example.com/')).toBe('example-token');
    expect(tokenFor('https://charts.example.com/stable/')).toBe('example-token');
    expect(tokenFor('https://CHARTS.example.com:443/stable')).toBe('example-token');
    // The longest matching path wins, trailing slashes or not.
    expect(tokenFor('https://charts.example.com/team')).toBe('team-token');
    expect(tokenFor('https://charts.example.com/team/apps')).toBe('team-token');
    expect(tokenFor('oci://registry.example.com:5000/charts/')).toBe('oci-token');
    expect(tokenFor('oci://registry.example.com:5000/charts/sub')).toBe('oci-token');
  });

  it('never go to a host, port or path that only starts with the same characters', () => {
    for (const url of [
      'https://charts.example.com.attacker.io/',
      'https://charts.example.com.attacker.io/team/',
      'https://charts.example.com@attacker.io/',
      'https://charts.example.com:8443/',
      'http://charts.example.com/',
      'oci://registry.example.com:50000/charts',
      'oci://registry.example.com:5000/charts-evil',
      'oci://registry.example.com:5000/',
      'https://charts.example.com/teamevil/',
    ]) {
      // `/teamevil` is below `https://charts.example.com`, so it gets that repository's token, not the team's.
      expect(tokenFor(url), url).toBe(url.endsWith('/teamevil/') ? 'example-token' : undefined);
    }
  });
});
