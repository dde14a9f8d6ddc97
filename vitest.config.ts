import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

// One root config; `@sdmi/<pkg>` resolves to packages/<pkg>/src through the aliases below, so tests
// need no build step. Integration tests talk to real NATS, PostgreSQL, Docker and Open vSwitch, so the
// timeouts are generous and test files run in separate processes (a test may SIGKILL a child).
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sdmi\/([a-z-]+)\/internal$/, replacement: `${packages}$1/src/internal.ts` },
      { find: /^@sdmi\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/tests/**/*.test.ts', 'services/*/tests/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
