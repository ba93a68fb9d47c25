// Protections for an exposed server: operation limits (graphql-armor, and a cost that counts list
// sizes), a per-key rate limit for mutations, subscriptions over WebSocket only, introspection off
// in production, and a time bound on every query and mutation (HEARTBEAT_REQUEST_TIMEOUT_MS).
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  BREAK,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { createGraphQLError, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { badInput, HeartbeatError } from '../engine/index.ts';
import { currentRequestDeadline, RequestDeadline, RequestTimeoutError, runWithRequestDeadline } from '../engine/index.ts';
import type { HeartbeatContext } from '../schema/context.ts';
import { toGraphQLError } from './errors.ts';
import { rememberedOperationCost } from './operation-cost.ts';

export const OPERATION_LIMITS = { maxDepth: 12, maxAliases: 20, maxTokens: 4_000, maxDirectives: 20, maxCost: 20_000 } as const;

/**
 * graphql-armor throws its limits out of validate() as "Syntax Error: ..." GraphQLErrors: yoga then
 * answers 200 with GRAPHQL_PARSE_FAILED, and graphql-ws closes the socket with 4500. Reported to the
 * validation context instead, they are ordinary validation errors: GRAPHQL_VALIDATION_FAILED, HTTP
 * 400 (graphql-response+json), an `error` message over WebSocket.
 */
const asValidationError = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      if (!context) throw error;
      context.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
    },
  ],
};

/** Depth, aliases, tokens, directives and cost of every operation are bounded before it runs. */
export function useOperationLimits(options: { production: boolean }): Plugin {
  const armor = EnvelopArmorPlugin({
    maxDepth: { n: OPERATION_LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...asValidationError },
    maxAliases: { n: OPERATION_LIMITS.maxAliases, ...asValidationError },
    // Counted while parsing, so over the limit the document is refused as a parse failure.
    maxTokens: { n: OPERATION_LIMITS.maxTokens },
    maxDirectives: { n: OPERATION_LIMITS.maxDirectives, ...asValidationError },
    // A static cost cannot see list sizes: useOperationCost counts them, with the variables.
    costLimit: { enabled: false },
    // armor's suggestion filter misses enum values and variable errors; see useBlockSuggestions.
    blockFieldSuggestion: { enabled: false },
  }) as Plugin;
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(armor);
      // "Did you mean ...?" hints map the schema for an attacker; useful in development only.
      if (options.production) addPlugin(useBlockSuggestions());
    },
  };
}

type StopExecution = { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void };

/**
 * Refuses, before anything runs, an operation whose cost (server/operation-cost.ts: list sizes
 * multiplied, variables included) is over OPERATION_LIMITS.maxCost: GRAPHQL_VALIDATION_FAILED,
 * HTTP 400, like the other operation limits. Too many `nodes(ids:)` is BAD_USER_INPUT.
 */
export function useOperationCost(): Plugin {
  const check = ({ args, setResultAndStopExecution }: StopExecution) => {
    let cost: number | null;
    try {
      cost = rememberedOperationCost(args.schema, args.document, args.operationName, args.variableValues);
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      setResultAndStopExecution({ errors: [toGraphQLError(error)] });
      return;
    }
    if (cost === null || cost <= OPERATION_LIMITS.maxCost) return;
    const message = `Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded, found ${Math.ceil(cost)}: ask for smaller pages (first) or fewer nested lists.`;
    setResultAndStopExecution({ errors: [new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } })] });
  };
  return { onExecute: check, onSubscribe: check };
}

/**
 * Subscriptions are served over WebSocket (graphql-transport-ws) only, as documented. Over HTTP
 * (server-sent events) they would outlive a revoked key: only WebSockets are closed on revocation.
 */
export function useSubscriptionsOverWebSocketOnly(): Plugin<HeartbeatContext> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (args.contextValue.transport === 'websocket') return;
      const message = 'Subscriptions are served over WebSocket only (the graphql-transport-ws protocol, on this same URL)';
      setResultAndStopExecution({ errors: [new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } })] });
    },
  };
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** Removes graphql-js' "Did you mean ...?" hints (fields, arguments, types, enum values) from errors. */
function hideSuggestions(errors: readonly unknown[] | undefined): void {
  for (const error of errors ?? []) {
    if (error instanceof GraphQLError && error.message.includes('Did you mean')) {
      error.message = `${error.message.replace(SUGGESTION, '')} [Suggestion hidden]`;
    }
  }
}

/** Hides suggestions in validation errors, variable coercion errors and every result yoga sends. */
export function useBlockSuggestions(): Plugin {
  const scrubResult = (result: unknown) => {
    if (!isAsyncIterable(result)) hideSuggestions((result as { errors?: readonly unknown[] } | undefined)?.errors);
  };
  return {
    onValidate: () => ({ result }) => hideSuggestions(result),
    onExecute: () => ({ onExecuteDone: ({ result }) => scrubResult(result) }),
    onSubscribe: () => ({ onSubscribeResult: ({ result }) => scrubResult(result) }),
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) scrubResult(single);
    },
  };
}

export function useDisableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * The root fields of the chosen operation when it is a mutation (aliases counted, __typename not),
 * through fragments; 0 for any other operation.
 */
export function rootMutationFieldCount(document: DocumentNode, operationName?: string | null): number {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName));
  if (operation?.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'mutation') return 0;
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const count = (set: SelectionSetNode, seen: ReadonlySet<string>): number =>
    set.selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD) return sum + (selection.name.value === '__typename' ? 0 : 1);
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + count(selection.selectionSet, seen);
      const fragment = fragments.get(selection.name.value);
      return fragment && !seen.has(selection.name.value) ? sum + count(fragment, new Set(seen).add(selection.name.value)) : sum;
    }, 0);
  return count(operation.selectionSet, new Set());
}

/**
 * A token bucket per caller (API key or run token) for mutations: `ratePerSec` sustained, bursts
 * up to `burst`. Every root mutation field takes one token, so aliases count; a request that needs
 * more than are left gets RATE_LIMITED (HTTP 429) and none of its fields runs. Per instance, in memory.
 */
export function useMutationRateLimit(options: { ratePerSec: number; burst: number; now?: () => number }): Plugin<HeartbeatContext> {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (key: string, count: number): boolean => {
    const time = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, at: time };
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((time - bucket.at) / 1000) * options.ratePerSec);
    bucket.at = time;
    if (bucket.tokens < count) {
      buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= count;
    buckets.set(key, bucket);
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!); // bounded memory
    return true;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const principal = args.contextValue.principal;
      const fields = principal ? rootMutationFieldCount(args.document, args.operationName) : 0;
      if (!principal || fields === 0) return;
      const key = principal.kind === 'apiKey' ? `key:${principal.keyId}` : `run:${principal.runId}`;
      if (take(key, fields)) return;
      const error = toGraphQLError(
        new HeartbeatError('RATE_LIMITED', `Too many mutations: at most ${options.ratePerSec}/s (bursts of ${options.burst}); this request has ${fields}; try again shortly`),
      );
      (error.extensions as Record<string, unknown>).http = { status: 429, headers: { 'retry-after': '1' } };
      setResultAndStopExecution({ errors: [error] });
    },
  };
}

/** Whether a variable value holds a NUL character in a string or an object key, at any depth. */
function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null || depth > 100) return false;
  if (Array.isArray(value)) return value.some((item) => hasNul(item, depth + 1));
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || hasNul(item, depth + 1));
}

/**
 * Per document: yoga's parser cache hands out one DocumentNode per query text, and documents are
 * never changed, so a query sent again is not walked again.
 */
const documentsWithNul = new WeakMap<DocumentNode, boolean>();

function documentHasNul(document: DocumentNode): boolean {
  let found = documentsWithNul.get(document);
  if (found === undefined) documentsWithNul.set(document, (found = findNul(document)));
  return found;
}

function findNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    StringValue(node) {
      if (node.value.includes('\u0000')) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * PostgreSQL stores no NUL character, in text or in jsonb: such input would fail deep in a write
 * as an internal error. It is refused up front as BAD_USER_INPUT, before anything runs.
 */
export function useRejectNulCharacters(): Plugin {
  const refusal = () => ({ errors: [toGraphQLError(badInput('Strings may not contain NUL (\\u0000) characters'))] });
  const check = ({ args, setResultAndStopExecution }: { args: { document: DocumentNode; variableValues?: unknown }; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    if (hasNul(args.variableValues) || documentHasNul(args.document)) setResultAndStopExecution(refusal());
  };
  return { onExecute: check, onSubscribe: check };
}

/**
 * A request that is not a GraphQL request is HTTP 400, whatever the client accepts: invalid JSON,
 * an empty body, no query. yoga marks these `spec: true`, which under `accept: application/json`
 * makes them 200 (GraphQL over HTTP's legacy rule, meant for well-formed requests whose document
 * fails; those keep it). And yoga's GET parser JSON.parses the `variables` and `extensions`
 * parameters unguarded, so a malformed one was an HTTP 500 "Unexpected error.".
 */
export function useMalformedParamsAsBadRequest(): Plugin {
  const badRequest = (message: string) => createGraphQLError(message, { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser) {
        // No parser takes this content type (multipart uploads are off: no field takes a file).
        const type = request.headers.get('content-type')?.split(';')[0] || 'no content type';
        setRequestParser(() => {
          throw createGraphQLError(`Send GraphQL requests as application/json (or GET with query parameters), not ${type}.`, {
            extensions: { http: { status: 415 }, code: 'BAD_REQUEST' },
          });
        });
        return;
      }
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof SyntaxError) throw badRequest('The variables or extensions parameter is not valid JSON.');
          if (error instanceof GraphQLError && (error.extensions?.http as { spec?: boolean } | undefined)?.spec) throw badRequest(error.message);
          throw error;
        }
      });
    },
    // Before yoga's own check, which would answer the same with `spec: true`.
    onParams({ params }) {
      if (params.query === undefined || params.query === null) throw badRequest('Must provide query string.');
    },
  };
}

/**
 * Every operation is answered within `timeoutMs` of its first database work (HEARTBEAT_REQUEST_TIMEOUT_MS),
 * or refused: 503 SERVICE_UNAVAILABLE, and what it left running may no longer commit
 * (engine/store/request-deadline.ts). Over HTTP the deadline was set around the whole request by the
 * server (its clock starts when the key is checked); over WebSocket each query or mutation gets its
 * own here. Subscriptions have none: they last as long as the client wants.
 * Registered last, so that its race wraps every other plugin's execution (the response cache's too).
 */
export function useRequestDeadline(options: { timeoutMs: number }): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      const outer = currentRequestDeadline();
      const deadline = outer ?? new RequestDeadline(options.timeoutMs);
      setExecuteFn((executionArgs) => {
        const run = () => {
          deadline.arm();
          return deadline.race(Promise.resolve(executeFn(executionArgs)));
        };
        return (outer ? run() : runWithRequestDeadline(deadline, run)).then(
          (result) => {
            // Answered in time: what the operation handed on (a run it claimed, ...) is not bounded.
            deadline.release();
            return result;
          },
          (error: unknown) => {
            if (error instanceof RequestTimeoutError && deadline.isExpired) return { errors: [toGraphQLError(error)] };
            deadline.release();
            throw error;
          },
        );
      });
    },
  };
}
