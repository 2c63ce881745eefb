import { describe, expect, it } from 'vitest';
import {
  ClusterSecretGenerator,
  type ClusterSecretObject,
  normalizeClusterName,
  parseClusterSecret,
} from '../src/cluster-secrets.js';
import { KubeClient } from '../src/kube-client.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const TOKEN = 'eyJhbGciOi-very-secret-token';
const KEY = b64('-----BEGIN EC PRIVATE KEY-----\nsecret-key\n-----END EC PRIVATE KEY-----\n');

function secret(data: Record<string, string>, name = 'prod-eu'): ClusterSecretObject {
  return {
    metadata: {
      name,
      namespace: 'argocd',
      uid: 'u1',
      resourceVersion: '7',
      labels: { 'argocd.argoproj.io/secret-type': 'cluster', env: 'prod' },
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

describe('parseClusterSecret (Argo CD cluster Secrets as they are)', () => {
  it('turns name, server and a bearer token with a CA into a KubeConfig, with labels and values', () => {
    const cluster = parseClusterSecret(
      secret({
        name: 'Prod_EU',
        server: 'https://prod.example.com:6443',
        config: JSON.stringify({
          bearerToken: TOKEN,
          tlsClientConfig: { insecure: false, caData: b64('CA PEM') },
        }),
        namespaces: 'apps, web',
        clusterResources: 'true',
        project: 'platform',
      }),
    );
    expect(cluster.name).toBe('prod-eu');
    expect(cluster.labels).toMatchObject({ env: 'prod' });
    expect(cluster.values.variables).toEqual({
      CLUSTER_NAME: 'Prod_EU',
      CLUSTER_SERVER: 'https://prod.example.com:6443',
    });
    const kc = cluster.connection.kubeConfig;
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://prod.example.com:6443',
      caData: b64('CA PEM'),
      skipTLSVerify: false,
    });
    expect(kc.getCurrentUser()?.token).toBe(TOKEN);
    expect(cluster.connection.restrictions).toEqual({
      allowedNamespaces: ['apps', 'web'],
      allowClusterScoped: true,
    });
    expect(cluster.connection.project).toBe('platform');
    // The fingerprint follows the Secret's version, and never holds the token.
    expect(cluster.fingerprint).not.toContain(TOKEN);
  });

  it('prefers client certificates over a token (as Argo CD) and reads insecure and serverName', () => {
    const cluster = parseClusterSecret(
      secret({
        server: 'https://10.0.0.1',
        config: JSON.stringify({
          bearerToken: TOKEN,
          tlsClientConfig: {
            insecure: true,
            certData: b64('CERT'),
            keyData: KEY,
            serverName: 'api.internal',
          },
        }),
      }),
    );
    expect(cluster.name).toBe('prod-eu');
    const user = cluster.connection.kubeConfig.getCurrentUser();
    expect(user).toMatchObject({ certData: b64('CERT'), keyData: KEY });
    expect(user?.token).toBeUndefined();
    expect(cluster.connection.kubeConfig.getCurrentCluster()).toMatchObject({
      skipTLSVerify: true,
      tlsServerName: 'api.internal',
    });
    expect(cluster.connection.restrictions).toBeUndefined();
  });

  it('runs execProviderConfig only for allowed commands, and never puts a credential in an error', () => {
    const exec = secret({
      server: 'https://eks.example.com',
      config: JSON.stringify({
        execProviderConfig: {
          command: 'aws',
          args: ['eks', 'get-token'],
          env: { AWS_REGION: 'eu-west-1' },
          apiVersion: 'client.authentication.k8s.io/v1beta1',
        },
        tlsClientConfig: { caData: b64('CA') },
      }),
    });
    expect(() => parseClusterSecret(exec)).toThrow(/not allowed here \(allowExec\)/);
    const allowed = parseClusterSecret(exec, { allowExec: ['aws'] });
    expect(allowed.connection.kubeConfig.getCurrentUser()?.exec).toMatchObject({
      command: 'aws',
      args: ['eks', 'get-token'],
      env: [{ name: 'AWS_REGION', value: 'eu-west-1' }],
    });

    const broken = [
      secret({ server: 'https://x', config: `{"bearerToken":"${TOKEN}"` }),
      secret({
        server: 'https://x',
        config: JSON.stringify({ bearerToken: TOKEN, tlsClientConfig: { certData: KEY } }),
      }),
      secret({
        server: 'https://x',
        config: JSON.stringify({ bearerToken: TOKEN, awsAuthConfig: { clusterName: 'c' } }),
      }),
      secret({ server: 'not a url', config: JSON.stringify({ bearerToken: TOKEN }) }),
      secret({ config: JSON.stringify({ bearerToken: TOKEN }) }),
    ];
    for (const s of broken) {
      let message = '';
      try {
        parseClusterSecret(s);
      } catch (error) {
        message = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).cause ?? '')}`;
        expect((error as { code?: string }).code).toBe('FLEET_INVALID_CLUSTER');
      }
      expect(message).toContain('Secret argocd/prod-eu');
      expect(message).not.toContain(TOKEN);
      expect(message).not.toContain('secret-key');
    }
  });

  it('normalizes names as Argo CD nameNormalized', () => {
    expect(normalizeClusterName('My_Cluster@EU 1')).toBe('my-cluster-eu-1');
  });
});

describe('ClusterSecretGenerator', () => {
  it('lists cluster Secrets by label selector, leaves out and reports the unusable ones', async () => {
    const requests: { path: string; query: unknown }[] = [];
    const items = [
      secret(
        { name: 'good', server: 'https://good.example.com', config: JSON.stringify({ bearerToken: TOKEN }) },
        'good',
      ),
      secret({ name: 'bad', server: 'https://bad.example.com', config: `{"bearerToken":"${TOKEN}"` }, 'bad'),
    ];
    const client = new KubeClient(async (request) => {
      requests.push({ path: request.path, query: request.query });
      return { statusCode: 200, text: JSON.stringify({ kind: 'SecretList', items }) };
    });
    const invalid: string[] = [];
    const generator = new ClusterSecretGenerator({
      client,
      namespace: 'argocd',
      selector: { matchLabels: { env: 'prod' } },
      onInvalid: (name, error) => invalid.push(`${name}: ${error.code}: ${error.message}`),
    });
    const clusters = await generator.list(new AbortController().signal);
    expect(clusters.map((c) => c.name)).toEqual(['good']);
    expect(requests).toEqual([
      {
        path: '/api/v1/namespaces/argocd/secrets',
        query: { labelSelector: 'env=prod,argocd.argoproj.io/secret-type=cluster' },
      },
    ]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatch(
      /^argocd\/bad: FLEET_INVALID_CLUSTER: Secret argocd\/bad: data.config is not valid JSON/,
    );
    expect(invalid[0]).not.toContain(TOKEN);
  });

  it('fails the listing (so the fleet changes nothing) when the management cluster refuses', async () => {
    const client = new KubeClient(async () => ({
      statusCode: 403,
      text: JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'secrets is forbidden' }),
    }));
    const generator = new ClusterSecretGenerator({ client });
    await expect(generator.list(new AbortController().signal)).rejects.toMatchObject({
      code: 'FLEET_GENERATOR_FAILED',
      message: 'cannot list cluster Secrets in argocd: Forbidden: secrets is forbidden',
    });
  });
});
