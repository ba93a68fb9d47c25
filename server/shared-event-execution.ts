// One execution per subscription event, shared by the subscribers that would execute it alike.
//
// A subscription executes its selection over every item its source yields. The watchers of one
// run's events read their pages together (schema/shared-reads.ts) and so are handed the very same
// row objects: ten people watching a run executed each line ten times, the largest part of the
// server's CPU under agent output after the socket writes (bench `--only agent-output`). Here the
// result of executing an item is kept with the item (weakly, gone with it) under a key of
// everything else the execution depends on: the document, the operation, the variables and the
// caller. Each subscriber keeps its own source, so its replay from `afterSeq`, its position and
// its completion stay its own; only identical work on an identical item is done once.
import type { Plugin } from '@envelop/core';
import { execute } from '@graphql-tools/executor';
import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST, print } from 'graphql';
import type { HeartbeatContext } from '../schema/context.ts';

type Executed = ExecutionResult | Promise<ExecutionResult>;

/** Item -> execution key -> its result. */
const executions = new WeakMap<object, Map<string, Executed>>();
const printed = new WeakMap<DocumentNode, string>();

/** What an execution over an item depends on besides the item (null: nothing to share with). */
function executionKey(args: ExecutionArgs): string | null {
  const principal = (args.contextValue as HeartbeatContext | undefined)?.principal;
  if (!principal) return null;
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const caller = principal.kind === 'apiKey' ? `key:${principal.keyId}` : `run:${principal.runId}`;
  return `${caller}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
}

function executeOnce(item: unknown, key: string | null, args: ExecutionArgs): Executed {
  if (key === null || typeof item !== 'object' || item === null) return execute({ ...args, rootValue: item }) as Executed;
  let byKey = executions.get(item);
  if (!byKey) executions.set(item, (byKey = new Map()));
  let result = byKey.get(key);
  if (!result) byKey.set(key, (result = execute({ ...args, rootValue: item }) as Executed));
  return result;
}

/** An error from the source itself, as graphql-tools reports it: located at the operation. */
function sourceError(error: unknown, args: ExecutionArgs): GraphQLError {
  const operation = getOperationAST(args.document, args.operationName);
  return new GraphQLError(error instanceof Error ? error.message : String(error), {
    originalError: error instanceof Error ? error : undefined,
    nodes: operation ? [operation] : undefined,
  });
}

async function subscribeSharing(args: ExecutionArgs) {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() as AsyncGenerator<unknown>;
  const key = executionKey(args);
  const results: AsyncGenerator<ExecutionResult> = {
    async next() {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw sourceError(error, args);
      }
      if (step.done) return { value: undefined, done: true };
      return { value: await executeOnce(step.value, key, args), done: false };
    },
    async return() {
      await iterator.return?.(undefined);
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      await iterator.return?.(undefined);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  } as AsyncGenerator<ExecutionResult>;
  return results;
}

/** Subscriptions run through subscribeSharing instead of executing every item for every subscriber. */
export function useSharedEventExecution(): Plugin<HeartbeatContext> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribeSharing as never);
    },
  };
}
