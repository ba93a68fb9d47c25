// Answers to queries, kept per API key and served again while the database has not changed.
//
// Every authenticated HTTP request learns the database snapshot (`pg_current_snapshot()`) in the
// statement that checks its key (engine/access/api-keys.ts). An answer is stored with the snapshot of the
// request that computed it. A later request with the same key, document, operation and variables
// gets the stored bytes back only when its own snapshot is identical: then no transaction has
// committed, on any instance, since the first request began, so executing again would read the
// same rows. Any write anywhere in the cluster changes the snapshot, so a stale answer is never
// served; the cache pays off while nothing is written, e.g. dashboards and scripts polling a quiet
// system, and costs one map lookup otherwise.
import { type DocumentNode, type ExecutionResult, getOperationAST, type GraphQLSchema, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { type HeartbeatContext, READS_OUTSIDE_DATABASE } from '../schema/context.ts';

/** What the cache may hold unless configured otherwise (HEARTBEAT_RESPONSE_CACHE_MB). */
export const DEFAULT_RESPONSE_CACHE_BYTES = 64 * 1024 * 1024;

/** yoga serializes a result with its own `stringify` when it has one: a stored answer is sent as stored. */
const serialized = (body: string): ExecutionResult & { stringify: () => string } => ({ stringify: () => body });

/** How a cacheable query was answered: stored bytes, another request's execution, or its own. */
export type ResponseCacheOutcome = 'hit' | 'shared' | 'executed';

interface StoredAnswer {
  snapshot: string;
  body: string;
}

/** Whether the chosen operation is a query whose every field (in any operation or fragment) reads only the database. */
function cacheableOperation(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): boolean {
  if (getOperationAST(document, operationName)?.operation !== 'query') return false;
  const typeInfo = new TypeInfo(schema);
  let readsOutside = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.[READS_OUTSIDE_DATABASE]) readsOutside = true;
      },
    }),
  );
  return !readsOutside;
}

/**
 * Serves repeated queries from memory while the database snapshot is unchanged. `maxBytes` bounds
 * the stored answers (least recently used go first); 0 turns the cache off.
 */
export function useResponseCache(options: { maxBytes: number; onLookup?: (outcome: ResponseCacheOutcome) => void }): Plugin<HeartbeatContext> {
  const counted = options.onLookup ?? (() => {});
  if (options.maxBytes <= 0) return {};
  const answers = new LRUCache<string, StoredAnswer>({
    maxSize: options.maxBytes,
    // An answer bigger than 1/16 of the cache would evict too much to be worth keeping.
    maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 16)),
    // UTF-16 code units: a close enough measure of a string's memory.
    sizeCalculation: (answer, key) => 2 * (answer.body.length + answer.snapshot.length + key.length),
  });
  // Per parsed document (yoga keeps one object per query text): an id for the keys, or null when
  // the document is not cacheable, per operation name.
  const documents = new WeakMap<DocumentNode, Map<string, string | null>>();
  let nextDocumentId = 0;
  const documentIdOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) => {
    let byOperation = documents.get(document);
    if (!byOperation) documents.set(document, (byOperation = new Map()));
    const name = operationName ?? '';
    let id = byOperation.get(name);
    if (id === undefined) {
      id = cacheableOperation(schema, document, operationName) ? `${nextDocumentId++}` : null;
      byOperation.set(name, id);
    }
    return id;
  };

  // Answers being computed, so that concurrent requests for one answer wait for a single execution;
  // null when it turned out not storable (errors), and each waiter executes on its own.
  const computing = new Map<string, { snapshot: string; body: Promise<string | null> }>();

  return {
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const { principal, readSnapshot } = args.contextValue;
      if (principal?.kind !== 'apiKey' || !readSnapshot) return;
      const documentId = documentIdOf(args.schema, args.document, args.operationName);
      if (documentId === null) return;
      const key = `${documentId}\u0000${principal.keyId}\u0000${JSON.stringify(args.variableValues ?? {})}`;
      const stored = answers.get(key);
      if (stored?.snapshot === readSnapshot) {
        counted('hit');
        setResultAndStopExecution(serialized(stored.body));
        return;
      }
      const pending = computing.get(key);
      if (pending?.snapshot === readSnapshot) {
        // The same answer is being computed for another request: wait for it instead of computing
        // it again (after a write, every concurrent repeat would otherwise miss at once).
        counted('shared');
        setExecuteFn(async (executionArgs) => {
          const body = await pending.body;
          return body === null ? executeFn(executionArgs) : serialized(body);
        });
        return;
      }
      counted('executed');
      let settle!: (body: string | null) => void;
      const own = { snapshot: readSnapshot, body: new Promise<string | null>((resolve) => (settle = resolve)) };
      computing.set(key, own);
      setExecuteFn(async (executionArgs) => {
        let body: string | null = null;
        try {
          const result = await executeFn(executionArgs);
          if (isAsyncIterable(result) || result.errors?.length || result.extensions) return result;
          // Serialized here once, and sent as these bytes (yoga uses a result's own `stringify`).
          const answer = JSON.stringify(result);
          answers.set(key, { snapshot: readSnapshot, body: answer });
          body = answer;
          return { ...result, stringify: () => answer };
        } finally {
          settle(body);
          if (computing.get(key) === own) computing.delete(key);
        }
      });
    },
  };
}
