import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships CJS (`main`) and ESM (`module`) builds. Node loads the CJS one for yoga and
    // Pothos; vite would pick the ESM one for our sources. Two copies break `instanceof
    // GraphQLError`, so tests load exactly the file Node does.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files run in parallel forks; each gets its own database cloned from a migrated template.
    pool: 'forks',
    maxWorkers: 2,
  },
});
