// Who is calling. HTTP: `Authorization: Bearer <key>`. WebSocket: `connectionParams.authorization`
// at connection_init. A missing key is allowed only for introspection (so GraphiQL can load the
// schema before a key is entered); a wrong key is always refused.
import { type DocumentNode, Kind, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import { type Authentication, authenticateBearer, parseBearer } from '../engine/index.ts';
import { forbidden, type HeartbeatError, unauthenticated } from '../engine/index.ts';
import type { HeartbeatContext } from '../schema/context.ts';
import { toGraphQLError } from './errors.ts';
import { runTokenMayRun } from './run-token-scope.ts';

/** null when no credentials were sent; throws UNAUTHENTICATED for credentials that do not check out. */
export async function authenticateAuthorization(db: Database, authorization: unknown): Promise<Authentication | null> {
  if (authorization === undefined || authorization === null || authorization === '') return null;
  const key = parseBearer(typeof authorization === 'string' ? authorization : null);
  const authentication = key ? await authenticateBearer(db, key) : null;
  if (!authentication) throw unauthenticated('Invalid API key or run token');
  return authentication;
}

/** Whether every root field of the operation is introspection (`__schema`, `__type`, `__typename`). */
export function isIntrospectionOnly(document: DocumentNode, operationName?: string | null): boolean {
  return rootFieldsOnly(document, operationName, (name) => name.startsWith('__'));
}

/** Whether every root field of the chosen operation (through fragments) satisfies `allowed`. */
function rootFieldsOnly(
  document: DocumentNode,
  operationName: string | null | undefined,
  allowed: (fieldName: string) => boolean,
): boolean {
  const fragments = new Map<string, SelectionSetNode>();
  let operation: SelectionSetNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition.selectionSet);
    } else if (definition.kind === Kind.OPERATION_DEFINITION) {
      if (!operationName || definition.name?.value === operationName) {
        operation ??= definition.selectionSet;
      }
    }
  }
  const allFieldsAllowed = (set: SelectionSetNode, seen: Set<string>): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return allowed(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return allFieldsAllowed(selection.selectionSet, seen);
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) return !!fragment;
      return allFieldsAllowed(fragment, new Set(seen).add(name));
    });
  return operation ? allFieldsAllowed(operation, new Set()) : false;
}

/**
 * Refuses, before any resolver runs, anonymous operations (other than introspection) and run-token
 * operations other than the two issue mutations a run may make (server/run-token-scope.ts).
 */
export function useRequireAuthentication(): Plugin<HeartbeatContext> {
  const refusal = (error: HeartbeatError) => ({ errors: [toGraphQLError(error)] });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const principal = args.contextValue.principal;
      if (!principal && !isIntrospectionOnly(args.document, args.operationName)) {
        setResultAndStopExecution(refusal(unauthenticated()));
      } else if (principal?.kind === 'runToken' && !runTokenMayRun(args.schema, args.document, args.operationName)) {
        setResultAndStopExecution(
          refusal(forbidden("A run token may only comment on and write documents of its own issue, and read back only the written object's own fields")),
        );
      }
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const principal = args.contextValue.principal;
      if (!principal) setResultAndStopExecution(refusal(unauthenticated()));
      else if (principal.kind === 'runToken') setResultAndStopExecution(refusal(forbidden('A run token cannot subscribe')));
    },
  };
}
