// What a run token's mutation may read back: the object it wrote, its own scalar fields only. A
// selection that follows a relation (the issue, its blockers, the agent, its runs, the company)
// would read beyond the run's own issue, which SECURITY.md rules out ("no queries").
import {
  getNamedType,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isLeafType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Per allowed root field, the object fields that lead to the written object (then scalars only). */
type Reads = { [field: string]: Reads };

const RUN_TOKEN_READS: Reads = {
  // AddIssueCommentPayload: the comment written; not `wakeup` (a wakeup and its run reach further).
  addIssueComment: { comment: {} },
  // The IssueDocument written.
  putIssueDocument: {},
};

/**
 * Whether the chosen operation is a mutation whose root fields are all run-token mutations and
 * whose selections read only the written object's own leaf fields (through fragments too).
 */
export function runTokenMayRun(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: SelectionSetNode | undefined;
  let isMutation = false;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION && !operation && (!operationName || definition.name?.value === operationName)) {
      operation = definition.selectionSet;
      isMutation = definition.operation === 'mutation';
    }
  }
  const root = schema.getMutationType();
  if (!operation || !isMutation || !root) return false;

  const allowed = (set: SelectionSetNode, type: GraphQLNamedType, reads: Reads, seen: ReadonlySet<string>, atRoot = false): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const narrowed = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        return !!narrowed && allowed(selection.selectionSet, narrowed, reads, seen, atRoot);
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const narrowed = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !narrowed || seen.has(fragment.name.value)) return false;
        return allowed(fragment.selectionSet, narrowed, reads, new Set(seen).add(fragment.name.value), atRoot);
      }
      const name = selection.name.value;
      if (name === '__typename') return true;
      const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
      if (!field) return false;
      const fieldType = getNamedType(field.type);
      // Root fields: only the run-token mutations, whatever they return.
      if (isLeafType(fieldType) && !atRoot) return true;
      const next = Object.hasOwn(reads, name) ? reads[name] : undefined;
      return !!next && !!selection.selectionSet && allowed(selection.selectionSet, fieldType, next, seen);
    });
  return allowed(operation, root, RUN_TOKEN_READS, new Set(), true);
}
