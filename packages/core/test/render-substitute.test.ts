// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are substitution input, not templates
import {
  type Artifact,
  ErrorCodes,
  type Manifest,
  parseManifests,
  RenderError,
  type Renderer,
  withRenderCache,
  withSubstitution,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { substituteText, substituteVariables } from '../src/render/substitute.js';

const manifests = (text: string): Manifest[] => parseManifests(text, 'app.yaml');
const signal = new AbortController().signal;

describe('substituteText', () => {
  it('handles ${VAR}, defaults, escapes, and leaves other dollars alone', () => {
    const vars = { NAME: 'prod', EMPTY: '' };
    expect(substituteText('${NAME}', vars).text).toBe('prod');
    expect(substituteText('${MISSING:=fallback} ${EMPTY:=fallback} ${NAME:=x}', vars).text).toBe(
      'fallback fallback prod',
    );
    expect(substituteText('${MISSING:-a} ${EMPTY:-b}', vars).text).toBe('a b');
    expect(substituteText('${MISSING=a} ${EMPTY=b} ${MISSING-c}', vars).text).toBe('a  c');
    expect(substituteText('$${NAME} costs $5, $HOME, ${a.b}, ${ARR[@]}', vars).text).toBe(
      '${NAME} costs $5, $HOME, ${a.b}, ${ARR[@]}',
    );
    expect(substituteText('x${MISSING}y ${OTHER} ${MISSING}', vars)).toEqual({
      text: 'xy  ',
      undefinedNames: ['MISSING', 'OTHER'],
    });
  });
});

describe('substituteVariables', () => {
  const text = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web-${ENV}',
    '  namespace: ${NS:=default}',
    'spec:',
    '  replicas: ${REPLICAS}',
    '  paused: ${PAUSED:=false}',
    '  template:',
    '    metadata:',
    '      annotations:',
    '        script: |',
    '          echo $HOME $${ENV}',
    '        mode: "0644"',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: dashboards',
    '  annotations:',
    '    kustomize.toolkit.fluxcd.io/substitute: disabled',
    'data:',
    '  panel: ${datasource}',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: plain',
    'data:',
    '  v: "yes"',
  ].join('\n');

  it('substitutes in text so values take their YAML types, keeping origins', () => {
    const input = manifests(text);
    const out = substituteVariables(input, { variables: { ENV: 'prod', REPLICAS: '3' } });
    const deploy = out[0]!;
    expect(deploy.object.metadata).toEqual({
      name: 'web-prod',
      namespace: 'default',
    });
    expect(deploy.object.spec).toEqual({
      replicas: 3,
      paused: false,
      template: { metadata: { annotations: { script: 'echo $HOME ${ENV}\n', mode: '0644' } } },
    });
    expect(deploy.origin).toEqual(input[0]!.origin);
    // Opted out: untouched, even with an undefined variable.
    expect(out[1]).toBe(input[1]);
    // Nothing to substitute: the same object, not a copy.
    expect(out[2]).toBe(input[2]);
  });

  it('replaces undefined variables with nothing, unless strict mode names the object', () => {
    const input = manifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\ndata:\n  a: "${A}"\n  b: ${B}${C:=c}\n',
    );
    expect(substituteVariables(input, { variables: {} })[0]?.object.data).toEqual({ a: '', b: 'c' });
    let error: unknown;
    try {
      substituteVariables(input, { variables: { C: 'x' }, strict: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect(error).toMatchObject({ code: ErrorCodes.RenderUndefinedVariable });
    expect((error as RenderError).message).toBe(
      'app.yaml:1 (document 0) v1 ConfigMap shop/cfg: variables ${A}, ${B} not defined (strict substitution)',
    );
    // Defaults satisfy strict mode.
    expect(() =>
      substituteVariables(manifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${N:=x}\n'), {
        variables: {},
        strict: true,
      }),
    ).not.toThrow();
  });

  it('honours the opt-out as a label too, and reports objects broken by substitution', () => {
    const labelled = manifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  x: ${X}\n',
    );
    expect(substituteVariables(labelled, { variables: {}, strict: true })).toEqual(labelled);
    const broken = manifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${NAME}\n');
    expect(() => substituteVariables(broken, { variables: {} })).toThrow(
      /after variable substitution: object has no metadata.name/,
    );
    expect(() => substituteVariables(broken, { variables: { 'bad-name': 'x' } })).toThrow(
      /not a valid variable name/,
    );
  });

  it('keeps quoted values strings and reads plain ones again, also in List items and after the cache', async () => {
    const input = manifests(
      [
        'apiVersion: v1',
        'kind: List',
        'items:',
        '- apiVersion: v1',
        '  kind: ConfigMap',
        '  metadata: {name: cfg}',
        '  data:',
        '    PORT: "${PORT}"',
        "    SINGLE: '${PORT}'",
        '    BLOCK: |',
        '      ${PORT}',
        '    plainPort: ${PORT}',
        '    flag: ${FLAG}',
        '    image: nginx:${TAG:=1.27}',
        '    list:',
        '    - ${PORT}',
        '    - "${PORT}"',
      ].join('\n'),
    );
    const vars = { variables: { PORT: '8080', FLAG: 'yes' } };
    const expected = {
      PORT: '8080',
      SINGLE: '8080',
      BLOCK: '8080\n',
      plainPort: 8080,
      flag: true,
      image: 'nginx:1.27',
      list: [8080, '8080'],
    };
    expect(substituteVariables(input, vars)[0]?.object.data).toEqual(expected);
    const cached = withRenderCache({ name: 'x', render: async () => input, cacheKey: async () => 'k' });
    const artifact: Artifact = { revision: 'r', digest: 'd', dir: '/', meta: {} };
    await cached.render(artifact, { signal });
    const hit = await cached.render(artifact, { signal });
    expect(substituteVariables(hit, vars)[0]?.object.data).toEqual(expected);
  });

  it('wraps a renderer and keys its cache by the variables', async () => {
    const inner: Renderer = {
      name: 'inner',
      render: async () => manifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-${ENV}\n'),
      cacheKey: async () => 'inner-key',
    };
    const artifact: Artifact = { revision: 'r', digest: 'd', dir: '/', meta: {} };
    const a = withSubstitution(inner, { variables: { ENV: 'a' } });
    const b = withSubstitution(inner, { variables: { ENV: 'b' } });
    expect((await a.render(artifact, { signal }))[0]?.object.metadata.name).toBe('c-a');
    expect(await a.cacheKey?.({ signal })).toMatch(/^inner-key\|substitute:/);
    expect(await a.cacheKey?.({ signal })).not.toBe(await b.cacheKey?.({ signal }));
  });
});
