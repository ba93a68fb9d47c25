// The `script` adapter: deterministic steps from its config, executed in-process. It powers the
// demo, the tests and the benchmarks without any external agent.
import { z } from 'zod';
import { badInput } from '../model/errors.ts';
import { SESSION_DISPLAY_ID_MAX, SESSION_PARAMS_MAX_BYTES } from '../rules/sessions.ts';
import { boundedSessionReport } from './cli-streams.ts';
import { formatPath, jsonObject, parseWith, type UnknownKeys } from './config.ts';
import { type Adapter, type AdapterExecution, type AdapterResult, ENGINE_EVENT_TYPES } from './types.ts';

export const MAX_STEPS = 1000;

// A script states its session report outright: a value the engine would cut or drop is refused.
const sessionParams = jsonObject.refine((params) => Buffer.byteLength(JSON.stringify(params), 'utf8') <= SESSION_PARAMS_MAX_BYTES, {
  error: `Expected at most ${SESSION_PARAMS_MAX_BYTES} bytes of JSON`,
});
const sessionReport = z.union(
  [
    z.strictObject({
      id: z.string().regex(/\S/, { error: 'Expected a non-empty id' }),
      params: sessionParams.optional(),
      displayId: z.string().min(1).max(SESSION_DISPLAY_ID_MAX).optional(),
    }),
    z.strictObject({ clear: z.literal(true) }),
  ],
  { error: 'Expected { id, params?, displayId? } to name the session, or { clear: true }' },
);

// One strict schema per step kind; the kind is the key that names it.
export const stepSchemas = {
  log: z.strictObject({ log: z.string(), stream: z.enum(['stdout', 'stderr']).optional() }),
  event: z.strictObject({
    event: z.strictObject({
      type: z
        .string()
        .min(1)
        .refine((type) => !ENGINE_EVENT_TYPES.includes(type), { error: `Expected a type of the agent's own, not one of the engine's (${ENGINE_EVENT_TYPES.join(', ')})` }),
      message: z.string().optional(),
      level: z.enum(['info', 'warn', 'error']).optional(),
      payload: z.unknown().optional(),
    }),
  }),
  sleepMs: z.strictObject({ sleepMs: z.number().int().min(0).max(600_000) }),
  comment: z.strictObject({ comment: z.string() }),
  document: z.strictObject({ document: z.strictObject({ key: z.string().min(1), body: z.string() }) }),
  result: z.strictObject({ result: jsonObject, summary: z.string().optional() }),
  usage: z.strictObject({ usage: jsonObject }),
  /** What the agent reports about its session (docs/engine.md §12.4); the last such step wins. */
  session: z.strictObject({ session: sessionReport }),
  exit: z.strictObject({ exit: z.number().int() }),
  fail: z.strictObject({
    fail: z.strictObject({
      message: z.string(),
      code: z.string().optional(),
      errorFamily: z.string().optional(),
      retryNotBefore: z.iso.datetime({ offset: true }).optional(),
    }),
  }),
  throw: z.strictObject({ throw: z.string() }),
};

type StepKind = keyof typeof stepSchemas;
export type ScriptStep = { [K in StepKind]: z.infer<(typeof stepSchemas)[K]> }[StepKind];
export interface ScriptConfig {
  steps: ScriptStep[];
}

const stepKinds = Object.keys(stepSchemas) as StepKind[];
const envelope = z.strictObject({ steps: z.array(z.looseObject({})).max(MAX_STEPS) });

function parseConfig(config: unknown, unknownKeys: UnknownKeys = 'refuse'): ScriptConfig {
  const { steps } = parseWith(envelope, config, 'adapterConfig', unknownKeys);
  return {
    steps: steps.map((step, index) => {
      const path = formatPath('adapterConfig.steps', [index]);
      const kinds = stepKinds.filter((kind) => kind in step);
      if (kinds.length !== 1) {
        const found = kinds.length === 0 ? 'none' : kinds.join(', ');
        throw badInput(`${path}: a step needs exactly one of ${stepKinds.join(', ')} (found ${found})`);
      }
      return parseWith(stepSchemas[kinds[0]] as z.ZodType<ScriptStep>, step, path, unknownKeys);
    }),
  };
}

/** Waits `ms`; resolves false early (and clears its timer) when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const cancelled: AdapterResult = { exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' };

async function execute(execution: AdapterExecution<ScriptConfig>): Promise<AdapterResult> {
  const { steps } = execution.config;
  execution.onMeta({ adapter: 'script', steps: steps.length });
  // Remembered result fields, reported however the script ends.
  const kept: AdapterResult = {};

  for (const step of steps) {
    if (execution.signal.aborted) return { ...kept, ...cancelled };
    if ('log' in step) execution.onLog(step.stream ?? 'stdout', step.log + '\n');
    else if ('event' in step) execution.onEvent({ ...step.event });
    else if ('sleepMs' in step) {
      if (!(await sleep(step.sleepMs, execution.signal))) return { ...kept, ...cancelled };
    } else if ('comment' in step || 'document' in step) {
      try {
        if ('comment' in step) await execution.issue.addComment(step.comment);
        else await execution.issue.putDocument(step.document.key, step.document.body);
      } catch (error) {
        // The run fails (e.g. it has no issue), but the adapter itself did not crash.
        const message = error instanceof Error ? error.message : String(error);
        return { ...kept, exitCode: 1, errorMessage: message, errorCode: 'adapter_failed' };
      }
    } else if ('result' in step) {
      kept.resultJson = step.result;
      if (step.summary !== undefined) kept.summary = step.summary;
    } else if ('usage' in step) kept.usage = step.usage;
    else if ('session' in step) kept.session = boundedSessionReport(step.session) ?? undefined;
    else if ('exit' in step) {
      const result: AdapterResult = { ...kept, exitCode: step.exit };
      if (step.exit !== 0) result.errorMessage = `Script exited with code ${step.exit}`;
      return result;
    } else if ('fail' in step) {
      const { message, code, errorFamily, retryNotBefore } = step.fail;
      const errorCode = code ?? 'adapter_failed';
      return { ...kept, exitCode: 1, errorMessage: message, errorCode, errorFamily, retryNotBefore };
    } else if ('throw' in step) throw new Error(step.throw);
  }
  return { ...kept, exitCode: 0 };
}

export const scriptAdapter: Adapter<ScriptConfig> = {
  type: 'script',
  localChild: false,
  parseConfig: (config) => parseConfig(config),
  readStoredConfig: (config) => parseConfig(config, 'ignore'),
  timeoutSec: () => 0,
  execute,
};
