// Protections for an exposed server: operation limits (graphql-armor), a per-key rate limit for
// mutations, and introspection off in production.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { Kind, NoSchemaIntrospectionCustomRule, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { HeartbeatError } from '../engine/errors.ts';
import type { HeartbeatContext } from '../schema/context.ts';
import { toGraphQLError } from './errors.ts';

export const OPERATION_LIMITS = { maxDepth: 12, maxAliases: 20, maxTokens: 4_000, maxDirectives: 20, maxCost: 20_000 } as const;

/** Depth, aliases, tokens, directives and cost of every operation are bounded before it runs. */
export function useOperationLimits(options: { production: boolean }): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: OPERATION_LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: OPERATION_LIMITS.maxAliases },
    maxTokens: { n: OPERATION_LIMITS.maxTokens },
    maxDirectives: { n: OPERATION_LIMITS.maxDirectives },
    costLimit: { maxCost: OPERATION_LIMITS.maxCost },
    // "Did you mean ...?" hints map the schema for an attacker; useful in development only.
    blockFieldSuggestion: { enabled: options.production },
  }) as Plugin;
}

export function useDisableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

const isMutation = (document: DocumentNode, operationName?: string | null) =>
  document.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation' && (!operationName || d.name?.value === operationName),
  );

/**
 * A token bucket per caller (API key or run token) for mutations: `ratePerSec` sustained, bursts
 * up to `burst`. Over it, RATE_LIMITED (HTTP 429) and nothing runs. Per instance, in memory.
 */
export function useMutationRateLimit(options: { ratePerSec: number; burst: number; now?: () => number }): Plugin<HeartbeatContext> {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (key: string): boolean => {
    const time = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, at: time };
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((time - bucket.at) / 1000) * options.ratePerSec);
    bucket.at = time;
    if (bucket.tokens < 1) {
      buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    buckets.set(key, bucket);
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!); // bounded memory
    return true;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const principal = args.contextValue.principal;
      if (!principal || !isMutation(args.document, args.operationName)) return;
      const key = principal.kind === 'apiKey' ? `key:${principal.keyId}` : `run:${principal.runId}`;
      if (take(key)) return;
      const error = toGraphQLError(new HeartbeatError('RATE_LIMITED', `Too many mutations: at most ${options.ratePerSec}/s (bursts of ${options.burst}); try again shortly`));
      (error.extensions as Record<string, unknown>).http = { status: 429, headers: { 'retry-after': '1' } };
      setResultAndStopExecution({ errors: [error] });
    },
  };
}
