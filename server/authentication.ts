// Who is calling. HTTP: `Authorization: Bearer <key>`. WebSocket: `connectionParams.authorization`
// at connection_init. A missing key is allowed only for introspection (so GraphiQL can load the
// schema before a key is entered); a wrong key is always refused.
import { type DocumentNode, Kind, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import { authenticateApiKey, parseBearer } from '../engine/api-keys.ts';
import { unauthenticated } from '../engine/errors.ts';
import type { Principal } from '../engine/principal.ts';
import type { HeartbeatContext } from '../schema/context.ts';
import { toGraphQLError } from './errors.ts';

/** null when no credentials were sent; throws UNAUTHENTICATED for credentials that do not check out. */
export async function principalFromAuthorization(
  db: Database,
  authorization: unknown,
): Promise<Principal | null> {
  if (authorization === undefined || authorization === null || authorization === '') return null;
  const key = parseBearer(typeof authorization === 'string' ? authorization : null);
  const principal = key ? await authenticateApiKey(db, key) : null;
  if (!principal) throw unauthenticated('Invalid API key');
  return principal;
}

/** Whether every root field of the operation is introspection (`__schema`, `__type`, `__typename`). */
export function isIntrospectionOnly(document: DocumentNode, operationName?: string | null): boolean {
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
  const onlyIntrospection = (set: SelectionSetNode, seen: Set<string>): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value.startsWith('__');
      if (selection.kind === Kind.INLINE_FRAGMENT) return onlyIntrospection(selection.selectionSet, seen);
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) return !!fragment;
      return onlyIntrospection(fragment, new Set(seen).add(name));
    });
  return operation ? onlyIntrospection(operation, new Set()) : false;
}

/** Refuses anonymous operations before any resolver runs. */
export function useRequireAuthentication(): Plugin<HeartbeatContext> {
  const refusal = () => ({ errors: [toGraphQLError(unauthenticated())] });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (!args.contextValue.principal && !isIntrospectionOnly(args.document, args.operationName)) {
        setResultAndStopExecution(refusal());
      }
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (!args.contextValue.principal) setResultAndStopExecution(refusal());
    },
  };
}
