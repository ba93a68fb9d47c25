#!/usr/bin/env node
// The `heartbeat` command. Sources are TypeScript, loaded through tsx's ESM hooks.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');
