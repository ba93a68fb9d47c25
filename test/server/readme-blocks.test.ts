// Every ```graphql block of README.md runs as pasted: it is one document that parses and validates
// against the schema, and each of its operations, sent to a real server in README order, answers
// without an error. Variables get what a reader would paste: the ids the blocks before created.
import { readFileSync } from 'node:fs';
import { type DocumentNode, Kind, type OperationDefinitionNode, parse, print, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../schema/index.ts';
import { gql } from '../support/api.ts';
import { postGraphQL, wsClient } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  text: string;
}

/** The ```graphql blocks of a Markdown text, list-indented ones too, without their indentation (pure). */
function graphqlBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```graphql\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(Math.min(indent, lines[j].search(/\S|$/))));
    if (j === lines.length) throw new Error(`README.md line ${i + 1}: a graphql block is never closed`);
    blocks.push({ line: i + 1, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

const operationsOf = (document: DocumentNode) =>
  document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);

/** Where each variable's value comes from: the last result that created one. */
const CREATED_IDS: Array<[variable: string, pick: (data: any) => string | undefined]> = [
  ['agent', (data) => data?.createAgent?.id],
  ['issue', (data) => data?.createIssue?.issue?.id],
  ['run', (data) => data?.enqueueWakeup?.run?.id ?? data?.createIssue?.wakeup?.run?.id],
];

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README graphql blocks', () => {
  const blocks = graphqlBlocks(README);
  let server: TestServer;
  beforeAll(async () => void (server = await startTestServer()), 60_000);
  afterAll(() => server?.close());

  it('finds the blocks, list-indented ones too', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    expect(blocks.some((block) => block.text.startsWith('query FirstSteps {\n  viewer'))).toBe(true);
  });

  it('are each one document that validates against the schema', () => {
    for (const block of blocks) {
      const document = parse(block.text);
      const errors = validate(schema, document).map((error) => error.message);
      expect({ line: block.line, errors }).toEqual({ line: block.line, errors: [] });
      expect(operationsOf(document).length, `README.md line ${block.line}: no operation`).toBeGreaterThan(0);
    }
  });

  it('run, in order, against a real server without an error', async () => {
    const bindings = new Map<string, string>();
    const socket = wsClient(server.wsUrl, { authorization: `Bearer ${server.adminKey}` });
    try {
      for (const block of blocks) {
        for (const operation of operationsOf(parse(block.text))) {
          const where = `README.md line ${block.line}, ${operation.name?.value ?? 'anonymous'} ${operation.operation}`;
          const variables: Record<string, unknown> = {};
          for (const definition of operation.variableDefinitions ?? []) {
            const name = definition.variable.name.value;
            if (bindings.has(name)) variables[name] = bindings.get(name);
            else if (definition.type.kind === Kind.NON_NULL_TYPE) throw new Error(`${where}: no earlier block created a value for $${name}`);
          }
          const document = print({ kind: Kind.DOCUMENT, definitions: [operation] });
          const data =
            operation.operation === 'subscription'
              ? await firstEvent(socket, { document, variables, where, wake: bindings.get('agent') })
              : await overHttp(document, variables, where);
          for (const [variable, pick] of CREATED_IDS) {
            const id = pick(data);
            if (id) bindings.set(variable, id);
          }
        }
      }
    } finally {
      await socket.dispose();
    }
  }, 120_000);

  async function overHttp(document: string, variables: Record<string, unknown>, where: string) {
    const { body } = await postGraphQL(server.graphqlUrl, document, { key: server.adminKey, variables });
    expect(body.errors, where).toBeUndefined();
    return body.data;
  }

  /**
   * The subscription's first event. Once it is listening, `wake` (the agent the blocks created
   * last) is woken, so a subscription that waits for a change gets one.
   */
  async function firstEvent(
    socket: ReturnType<typeof wsClient>,
    { document, variables, where, wake }: { document: string; variables: Record<string, unknown>; where: string; wake?: string },
  ) {
    const events: Array<{ data?: unknown; errors?: unknown }> = [];
    let failure: unknown;
    const subscribers = server.app.hub.size;
    const stop = socket.subscribe(
      { query: document, variables },
      { next: (event) => void events.push(event), error: (error) => void (failure = error), complete: () => undefined },
    );
    try {
      await waitFor(`${where} to listen`, () => failure !== undefined || events.length > 0 || server.app.hub.size > subscribers);
      if (events.length === 0 && failure === undefined && wake) {
        await gql(server, 'mutation($agent: ID!) { enqueueWakeup(input: { agentId: $agent, reason: "readme" }) { outcome } }', { agent: wake });
      }
      await waitFor(`${where}: a first event`, () => failure !== undefined || events.length > 0, { timeoutMs: 20_000 });
      expect(failure, where).toBeUndefined();
      expect(events[0].errors, where).toBeUndefined();
      return events[0].data;
    } finally {
      stop();
      // So that the next subscription's listening shows in the count.
      await waitFor(`${where} to stop listening`, () => server.app.hub.size <= subscribers);
    }
  }
});
