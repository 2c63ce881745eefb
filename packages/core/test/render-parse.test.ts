import { ErrorCodes, type Manifest, parseManifests, RenderError } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { assertNoDuplicates } from '../src/render/duplicates.js';

/** Runs `fn`, expecting a RenderError, and returns it. */
function renderError(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RenderError);
    return error as RenderError;
  }
  throw new Error('expected a RenderError');
}

describe('parseManifests: reading YAML like kubectl', () => {
  it('reads YAML 1.1 scalars: octal, booleans, hex; keeps timestamps and base-60 as strings', () => {
    const [m] = parseManifests(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: x}',
        'spec:',
        '  mode: 0644',
        '  quoted: "0644"',
        '  decimal: 644',
        '  hex: 0x1F',
        '  yes: yes',
        '  enabled: on',
        '  disabled: Off',
        '  short: y',
        '  sexagesimal: 1:20',
        '  date: 2001-12-14',
        '  stamp: 2001-12-14t21:59:43.10-05:00',
        '  float: 1.5',
        '  nothing: ~',
        '  blob: !!binary aGVsbG8=',
      ].join('\n'),
      'a.yaml',
    );
    expect(m?.object.spec).toEqual({
      mode: 420,
      quoted: '0644',
      decimal: 644,
      hex: 31,
      true: true,
      enabled: true,
      disabled: false,
      short: true,
      sexagesimal: '1:20',
      date: '2001-12-14',
      stamp: '2001-12-14t21:59:43.10-05:00',
      float: 1.5,
      nothing: null,
      blob: 'aGVsbG8=',
    });
  });

  it('supports merge keys and anchors within the alias limit', () => {
    const [, m] = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nbase: &d {a: "1"}\ndata:\n  <<: *d\n  b: "2"\n',
      'm.yaml',
    );
    expect(m?.object.data).toEqual({ a: '1', b: '2' });
  });

  it('splits documents, skips empty and comment-only ones, and records index and line', () => {
    const text = [
      '# leading comment', // 1
      '---', // 2
      '# only a comment', // 3
      '---', // 4
      'apiVersion: v1', // 5
      'kind: ConfigMap', // 6
      'metadata: {name: a}', // 7
      '---', // 8
      '---', // 9
      'null', // 10
      '---', // 11
      '', // 12
      '# about b', // 13
      'apiVersion: v1', // 14
      'kind: ConfigMap', // 15
      'metadata: {name: b}', // 16
    ].join('\n');
    const manifests = parseManifests(text, 'dir/file.yaml');
    expect(manifests.map((m) => [m.object.metadata.name, m.origin])).toEqual([
      ['a', { file: 'dir/file.yaml', documentIndex: 1, line: 5 }],
      ['b', { file: 'dir/file.yaml', documentIndex: 4, line: 14 }],
    ]);
  });

  it('returns nothing for an empty or comment-only file', () => {
    expect(parseManifests('', 'e.yaml')).toEqual([]);
    expect(parseManifests('# nothing\n\n', 'e.yaml')).toEqual([]);
  });

  it('flattens kind: List (and …List kinds) into items with their own lines', () => {
    const text = [
      'apiVersion: v1', // 1
      'kind: List', // 2
      'items:', // 3
      '- apiVersion: v1', // 4
      '  kind: ConfigMap', // 5
      '  metadata: {name: one}', // 6
      '- apiVersion: v1', // 7
      '  kind: Secret', // 8
      '  metadata: {name: two, namespace: ns}', // 9
      '---', // 10
      'apiVersion: v1', // 11
      'kind: ConfigMapList', // 12
      'items:', // 13
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: three}}', // 14
    ].join('\n');
    const manifests = parseManifests(text, 'l.yaml');
    expect(
      manifests.map((m) => [m.object.kind, m.object.metadata.name, m.origin.documentIndex, m.origin.line]),
    ).toEqual([
      ['ConfigMap', 'one', 0, 4],
      ['Secret', 'two', 0, 7],
      ['ConfigMap', 'three', 1, 14],
    ]);
  });

  it('reads JSON', () => {
    const [m] = parseManifests(
      '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}',
      'n.json',
    );
    expect(m?.object).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  });
});

describe('parseManifests: bad input', () => {
  it('reports malformed YAML with file, document and line', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n data: "x\n';
    const error = renderError(() => parseManifests(text, 'bad.yaml'));
    expect(error.code).toBe(ErrorCodes.RenderYamlInvalid);
    expect(error.location).toMatchObject({ file: 'bad.yaml', documentIndex: 1 });
    expect(error.location?.line).toBeGreaterThanOrEqual(8);
    expect(error.message).toMatch(/^bad\.yaml:\d+:\d+ \(document 1\): invalid YAML/);
  });

  it('does not echo the offending text (it may be a secret)', () => {
    const error = renderError(() =>
      parseManifests(
        'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: [hunter2-topsecret\n',
        's.yaml',
      ),
    );
    expect(error.code).toBe(ErrorCodes.RenderYamlInvalid);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses duplicate keys', () => {
    const error = renderError(() =>
      parseManifests('apiVersion: v1\nkind: A\nkind: B\nmetadata: {name: a}\n', 'd.yaml'),
    );
    expect(error.code).toBe(ErrorCodes.RenderYamlInvalid);
    expect(error.location?.line).toBe(3);
  });

  it.each([
    ['kind: ConfigMap\nmetadata: {name: a}\n', 'apiVersion'],
    ['apiVersion: v1\nmetadata: {name: a}\n', 'kind'],
    ['apiVersion: v1\nkind: ConfigMap\n', 'metadata.name'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n', 'metadata.name'],
  ])('names the missing field of %j', (text, field) => {
    const error = renderError(() => parseManifests(`# c\n---\n# c\n${text}`, 'm.yaml'));
    expect(error.code).toBe(ErrorCodes.RenderMissingField);
    expect(error.message).toContain(`object has no ${field}`);
    expect(error.location).toMatchObject({ file: 'm.yaml', documentIndex: 0, line: 4 });
  });

  it('refuses documents that are not objects, and wrongly typed metadata', () => {
    expect(renderError(() => parseManifests('- a\n- b\n', 'x.yaml')).code).toBe(
      ErrorCodes.RenderInvalidObject,
    );
    expect(renderError(() => parseManifests('just a string\n', 'x.yaml')).code).toBe(
      ErrorCodes.RenderInvalidObject,
    );
    const label = renderError(() =>
      parseManifests(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {enabled: true}\n',
        'x.yaml',
      ),
    );
    expect(label.code).toBe(ErrorCodes.RenderInvalidObject);
    expect(label.message).toContain('metadata.labels["enabled"] must be a string');
    expect(label.location?.object).toBe('v1 ConfigMap a');
    expect(
      renderError(() => parseManifests('apiVersion: v1\nkind: X\nmetadata: {name: 5}\n', 'x.yaml')).code,
    ).toBe(ErrorCodes.RenderInvalidObject);
  });

  it('refuses an alias bomb', () => {
    const lines = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: bomb}',
      'data:',
      '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ];
    let prev = 'a';
    for (const name of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']) {
      lines.push(
        `  ${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
      prev = name;
    }
    const error = renderError(() => parseManifests(`${lines.join('\n')}\n`, 'bomb.yaml'));
    expect(error.code).toBe(ErrorCodes.RenderAliasLimit);
    expect(error.location).toMatchObject({ file: 'bomb.yaml', documentIndex: 0, line: 1 });
    // The limit is configurable: a few aliases are fine under a small limit, too many are not.
    const small =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d {x: "1"}\nother: [*d, *d, *d]\n';
    expect(parseManifests(small, 's.yaml', { maxAliasCount: 10 })).toHaveLength(1);
    expect(renderError(() => parseManifests(small, 's.yaml', { maxAliasCount: 0 })).code).toBe(
      ErrorCodes.RenderAliasLimit,
    );
  });
});

describe('assertNoDuplicates', () => {
  const m = (apiVersion: string, kind: string, name: string, file: string, namespace?: string): Manifest => ({
    object: { apiVersion, kind, metadata: namespace ? { name, namespace } : { name } },
    origin: { file, documentIndex: 0, line: 1 },
  });

  it('names both places of the same object, whatever its version', () => {
    const error = renderError(() =>
      assertNoDuplicates([
        m('apps/v1', 'Deployment', 'web', 'a.yaml', 'shop'),
        m('apps/v1beta1', 'Deployment', 'web', 'b.yaml', 'shop'),
      ]),
    );
    expect(error.code).toBe(ErrorCodes.RenderDuplicateObject);
    expect(error.message).toContain('a.yaml:1 (document 0)');
    expect(error.message).toContain('b.yaml:1 (document 0)');
    expect(error.message).toContain('apps/v1beta1 Deployment shop/web');
  });

  it('accepts same names in other namespaces, kinds or groups', () => {
    expect(() =>
      assertNoDuplicates([
        m('v1', 'ConfigMap', 'x', 'a.yaml', 'one'),
        m('v1', 'ConfigMap', 'x', 'a.yaml', 'two'),
        m('v1', 'Secret', 'x', 'a.yaml', 'one'),
        m('example.com/v1', 'ConfigMap', 'x', 'a.yaml', 'one'),
      ]),
    ).not.toThrow();
  });
});
