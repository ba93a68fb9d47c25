#!/usr/bin/env node
// The `heartbeat` command. Its sources are TypeScript: it runs compiled ahead (bin/cli-bundle.js),
// which plain Node starts quickly, and from the sources through tsx when it cannot be compiled.
import { compiledCli } from './cli-bundle.js';

const bundle = await compiledCli();
if (bundle) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../server/cli.ts');
}
