import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// Tests import the packages' sources, so `pnpm test:unit` needs no build step.
const alias = [
  { find: /^@gitops-kit\/core\/internal$/, replacement: here('./packages/core/src/internal.ts') },
  { find: /^@gitops-kit\/core\/conformance$/, replacement: here('./packages/core/src/conformance/index.ts') },
  { find: /^@gitops-kit\/core\/testing$/, replacement: here('./packages/core/src/testing/index.ts') },
  { find: /^@gitops-kit\/core$/, replacement: here('./packages/core/src/index.ts') },
  { find: /^@gitops-kit\/git-source$/, replacement: here('./packages/git-source/src/index.ts') },
  { find: /^@gitops-kit\/k8s-target$/, replacement: here('./packages/k8s-target/src/index.ts') },
  { find: /^@gitops-kit\/s3-source$/, replacement: here('./packages/s3-source/src/index.ts') },
  { find: /^@gitops-kit\/registry-source$/, replacement: here('./packages/registry-source/src/index.ts') },
  { find: /^@gitops-kit\/metrics$/, replacement: here('./packages/metrics/src/index.ts') },
  { find: /^@gitops-kit\/testenv$/, replacement: here('./testenv/src/index.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/*/test/**/*.int.test.ts',
            'testenv/test/**/*.int.test.ts',
            'examples/*/test/**/*.int.test.ts',
          ],
          globalSetup: ['testenv/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
