// The adapters that ship with Heartbeat, by type. The engine may substitute its own (tests do).
import type { AdapterType } from '../../db/enums.ts';
import { badInput } from '../model/errors.ts';
import { claudeCodeAdapter } from './claude-code.ts';
import { codexAdapter } from './codex.ts';
import { httpAdapter } from './http.ts';
import { processAdapter } from './process.ts';
import { scriptAdapter } from './script.ts';
import type { Adapter } from './types.ts';

export { claudeCodeAdapter } from './claude-code.ts';
export { codexAdapter } from './codex.ts';
export { type CodingCliConfig } from './coding-cli.ts';
export { httpAdapter, type HttpConfig } from './http.ts';
export { processAdapter, type ProcessConfig } from './process.ts';
export { scriptAdapter, type ScriptConfig, type ScriptStep } from './script.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each adapter has its own config type
export type AnyAdapter = Adapter<any>;

export const builtInAdapters: Record<AdapterType, AnyAdapter> = {
  process: processAdapter,
  http: httpAdapter,
  script: scriptAdapter,
  claude_code: claudeCodeAdapter,
  codex: codexAdapter,
};

/** The adapter for `type`, `overrides` first. Throws BAD_USER_INPUT for an unknown type. */
export function adapterFor(
  type: AdapterType | (string & {}),
  overrides?: Partial<Record<AdapterType, AnyAdapter>>,
): AnyAdapter {
  const adapter =
    overrides && Object.hasOwn(overrides, type)
      ? overrides[type as AdapterType]
      : Object.hasOwn(builtInAdapters, type)
        ? builtInAdapters[type as AdapterType]
        : undefined;
  if (!adapter) throw badInput(`Unknown adapter type: ${type}`);
  return adapter;
}
