import { type ObjectRef, ValidationError } from '@gitops-kit/core';
import {
  assertRestrictions,
  checkRestrictions,
  type RestrictedItem,
  type Restrictions,
  VALIDATION_RESTRICTED,
} from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { kindMatches } from '../src/restrictions.js';

const deployment: RestrictedItem = {
  ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'team-a', name: 'web' },
  namespaced: true,
  origin: { file: 'apps/web.yaml', documentIndex: 1, line: 24 },
};
const secret: RestrictedItem = {
  ref: { apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'db' },
  namespaced: true,
  origin: { file: 'apps/secret.yaml', documentIndex: 0, line: 1 },
};
const otherNs: RestrictedItem = {
  ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' },
  namespaced: true,
  origin: { file: 'system/coredns.yaml', documentIndex: 0, line: 3 },
};
const clusterRole: RestrictedItem = {
  ref: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'admin-all' },
  namespaced: false,
  origin: { file: 'rbac.yaml', documentIndex: 2, line: 40 },
};
const widget: RestrictedItem = {
  ref: { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'team-a', name: 'w' },
  namespaced: true,
};

interface Case {
  readonly name: string;
  readonly restrictions: Restrictions;
  readonly items: readonly RestrictedItem[];
  /** Names of the refused objects, in order. */
  readonly refused: readonly string[];
  readonly message?: RegExp;
}

const all = [deployment, secret, otherNs, clusterRole, widget];

const cases: Case[] = [
  { name: 'no restrictions allow everything', restrictions: {}, items: all, refused: [] },
  {
    name: 'allowed namespaces refuse other namespaces and, by default, cluster-scoped objects',
    restrictions: { allowedNamespaces: ['team-a'] },
    items: all,
    refused: ['coredns', 'admin-all'],
    message: /namespace "kube-system" is not allowed \(allowed namespaces: team-a\)/,
  },
  {
    name: 'a tenant held to its namespaces cannot write a ClusterRole unless explicitly allowed',
    restrictions: { allowedNamespaces: ['team-a'] },
    items: [clusterRole],
    refused: ['admin-all'],
    message: /cluster-scoped objects are not allowed while namespaces are restricted/,
  },
  {
    name: 'allowed namespaces with allowClusterScoped: true let cluster-scoped objects through',
    restrictions: { allowedNamespaces: ['team-a'], allowClusterScoped: true },
    items: all,
    refused: ['coredns'],
  },
  {
    name: 'an empty namespace list allows no namespaced object',
    restrictions: { allowedNamespaces: [], allowClusterScoped: true },
    items: [deployment, clusterRole],
    refused: ['web'],
    message: /allowed namespaces: none/,
  },
  {
    name: 'a namespaced object without a namespace is refused when namespaces are restricted',
    restrictions: { allowedNamespaces: ['team-a'] },
    items: [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'loose' }, namespaced: true }],
    refused: ['loose'],
    message: /no namespace set/,
  },
  {
    name: 'cluster-scoped objects refused when not allowed',
    restrictions: { allowClusterScoped: false },
    items: all,
    refused: ['admin-all'],
    message: /cluster-scoped objects are not allowed/,
  },
  {
    name: 'allowed kinds by bare Kind match any group',
    restrictions: { allowedKinds: ['Deployment', 'ConfigMap', 'Secret'] },
    items: all,
    refused: ['admin-all', 'w'],
    message: /kind ClusterRole is not allowed \(allowed kinds: Deployment, ConfigMap, Secret\)/,
  },
  {
    name: 'allowed kinds by group/Kind need the group to match',
    restrictions: { allowedKinds: ['apps/Deployment', 'extensions/Widget'] },
    items: [deployment, widget],
    refused: ['w'],
  },
  {
    name: 'group/* allows every kind of a group; /Kind names the core group',
    restrictions: { allowedKinds: ['example.com/*', '/Secret'] },
    items: all,
    refused: ['web', 'coredns', 'admin-all'],
  },
  {
    name: 'denied kinds refuse, and win over allowed kinds',
    restrictions: { allowedKinds: ['Secret', 'Deployment'], deniedKinds: ['Secret'] },
    items: [deployment, secret],
    refused: ['db'],
    message: /kind Secret is denied \(by "Secret"\)/,
  },
  {
    name: 'denied group/Kind does not touch the same kind of another group',
    restrictions: { deniedKinds: ['example.com/Widget', 'rbac.authorization.k8s.io/*'] },
    items: [...all, { ...widget, ref: { ...widget.ref, apiVersion: 'other.io/v1', name: 'w2' } }],
    refused: ['admin-all', 'w'],
  },
  {
    name: 'every rule is applied to every object',
    restrictions: { allowedNamespaces: ['team-a'], deniedKinds: ['Secret'], allowClusterScoped: false },
    items: all,
    refused: ['db', 'coredns', 'admin-all'],
  },
];

describe('checkRestrictions', () => {
  it.each(cases)('$name', ({ restrictions, items, refused, message }) => {
    const issues = checkRestrictions(items, restrictions);
    const names = issues.map((issue) => issue.location?.object?.split(/[ /]/).pop());
    expect(names).toEqual(refused);
    if (message) expect(issues[0]?.message).toMatch(message);
  });

  it('names the manifest file, document, line and object of each refusal', () => {
    const [issue] = checkRestrictions([clusterRole], { allowClusterScoped: false });
    expect(issue?.location).toEqual({
      file: 'rbac.yaml',
      line: 40,
      documentIndex: 2,
      object: 'rbac.authorization.k8s.io/v1 ClusterRole admin-all',
    });
  });

  it('still names the object when the origin is unknown', () => {
    const [issue] = checkRestrictions([widget], { deniedKinds: ['Widget'] });
    expect(issue?.location).toEqual({ object: 'example.com/v1 Widget team-a/w' });
  });
});

describe('assertRestrictions', () => {
  it('returns when everything is allowed', () => {
    expect(() =>
      assertRestrictions(all, { allowedNamespaces: ['team-a', 'kube-system'], allowClusterScoped: true }),
    ).not.toThrow();
  });

  it('throws one ValidationError listing every refusal with its file:line', () => {
    let error: unknown;
    try {
      assertRestrictions(all, { allowedNamespaces: ['team-a'], allowClusterScoped: false });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.code).toBe(VALIDATION_RESTRICTED);
    expect(validation.stage).toBe('validation');
    expect(validation.issues).toHaveLength(2);
    expect(validation.message).toContain('2 objects failed validation');
    expect(validation.message).toContain(
      'system/coredns.yaml:3 (document 0) v1 ConfigMap kube-system/coredns: refused by restrictions',
    );
    expect(validation.message).toContain(
      'rbac.yaml:40 (document 2) rbac.authorization.k8s.io/v1 ClusterRole',
    );
  });
});

describe('kindMatches', () => {
  const ref = (apiVersion: string, kind: string): ObjectRef => ({ apiVersion, kind, name: 'x' });
  it.each([
    ['Deployment', ref('apps/v1', 'Deployment'), true],
    ['Deployment', ref('extensions/v1beta1', 'Deployment'), true],
    ['apps/Deployment', ref('apps/v1', 'Deployment'), true],
    ['apps/Deployment', ref('extensions/v1beta1', 'Deployment'), false],
    ['apps/*', ref('apps/v1', 'StatefulSet'), true],
    ['apps/*', ref('v1', 'Pod'), false],
    ['/Secret', ref('v1', 'Secret'), true],
    ['/Secret', ref('example.com/v1', 'Secret'), false],
    ['deployment', ref('apps/v1', 'Deployment'), false],
  ])('%s matches %o: %s', (pattern, target, expected) => {
    expect(kindMatches(pattern, target)).toBe(expected);
  });
});
