// What each adapter type is and what its adapterConfig takes, as JSON Schema, so that a console can
// render a create/edit form from it. Generated from the very zod schemas the adapters parse configs
// with: the form and the validation cannot drift apart.
import { z } from 'zod';
import { adapterTypeValues, type AdapterType } from '../../db/enums.ts';
import { claudeCode } from '../adapters/claude-code.ts';
import { codex } from '../adapters/codex.ts';
import { httpConfigSchema } from '../adapters/http.ts';
import { processConfigSchema } from '../adapters/process.ts';
import { MAX_STEPS, stepSchemas } from '../adapters/script.ts';

export interface AdapterTypeInfo {
  type: AdapterType;
  description: string;
  /** JSON Schema (draft 2020-12) of the adapterConfig a createAgent or updateAgent accepts. */
  configSchema: Record<string, unknown>;
}

// The script adapter reads each step by the one key that names its kind; as a schema, a step is
// any one of the kinds' shapes.
const scriptConfigSchema = z.object({
  steps: z.array(z.union(Object.values(stepSchemas) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])).max(MAX_STEPS),
});

const ADAPTERS: Record<AdapterType, { description: string; schema: z.ZodType }> = {
  process: {
    description: 'Spawns a command in its own process group; the run context arrives as JSON on stdin and as HEARTBEAT_* variables, stdout lines are its events and result.',
    schema: processConfigSchema,
  },
  http: {
    description: 'POSTs the run context as JSON to a URL and reads the answer as NDJSON lines (events, then a result).',
    schema: httpConfigSchema,
  },
  script: {
    description: 'Deterministic steps executed in-process (log, event, sleep, comment, document, result, fail, ...): for demos and tests.',
    schema: scriptConfigSchema,
  },
  claude_code: {
    description: "Runs Claude Code (claude -p --output-format stream-json) on the run's task.",
    schema: claudeCode.schema,
  },
  codex: {
    description: "Runs Codex (codex exec --json) on the run's task.",
    schema: codex.schema,
  },
};

/** A property no value satisfies (`{ not: {} }`, e.g. codex's refused maxTurns) is no field for a form. */
function withoutImpossibleProperties(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = schema.properties as Record<string, unknown> | undefined;
  if (!properties) return schema;
  const isImpossible = (value: unknown) => JSON.stringify(value) === '{"not":{}}';
  return { ...schema, properties: Object.fromEntries(Object.entries(properties).filter(([, value]) => !isImpossible(value))) };
}

/** The input side of the schema: a field with a default (claude_code's `command`) is optional. */
const jsonSchemaOf = (schema: z.ZodType) => withoutImpossibleProperties(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);

let infos: AdapterTypeInfo[] | undefined;

/** Every adapter type, once (the schemas never change while running: built on first use). */
export function adapterTypeInfos(): AdapterTypeInfo[] {
  infos ??= adapterTypeValues.map((type) => ({ type, description: ADAPTERS[type].description, configSchema: jsonSchemaOf(ADAPTERS[type].schema) }));
  return infos;
}
