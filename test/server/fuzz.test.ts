// A deterministic fuzz of the whole API surface: over 10,000 malformed or hostile requests over
// HTTP (keep-alive, 50 in flight), raw TCP and graphql-ws, against one server. Every answer must be
// a GraphQL error with a code or a clean 4xx, every WebSocket must end in a GraphQL error message
// or a protocol close code, nothing may leak a stack trace or SQL, and the server must keep serving.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { sql } from 'drizzle-orm';
import { Kind, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { schema } from '../../schema/index.ts';
import { collect, postGraphQL, wsClient } from '../support/graphql.ts';
import { gql, rawId, runFinished } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { type Message, openRaw, PROTOCOL_CLOSE_CODES, type RawSocket } from '../support/raw-ws.ts';

const SEED = 0x4842_2024;
const HTTP_CASES = 9_000;
const RAW_TCP_CASES = 60;
const WS_CASES = 1_200;
const HTTP_IN_FLIGHT = 50;
const WS_IN_FLIGHT = 25;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, good enough to spread a corpus; same seed, same corpus. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  bytes(n: number): Buffer {
    const buffer = Buffer.alloc(n);
    for (let i = 0; i < n; i++) buffer[i] = Math.floor(this.next() * 256);
    return buffer;
  }
  string(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
  /** Any UTF-16 code units, lone surrogates and NUL included. */
  unicode(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += String.fromCharCode(this.pick([0, 0x0a, 0x22, 0x5c, 0x7f, 0xd800, 0xdfff, 0xfeff, 0x202e, this.int(0x20, 0x7e), this.int(0, 0xffff)]));
    return out;
  }
  uuid(): string {
    const hex = this.string(32, '0123456789abcdef');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Corpus pieces
// ---------------------------------------------------------------------------------------------

const INJECTIONS = [
  "' OR 1=1 --",
  "'; DROP TABLE api_keys; --",
  '1; SELECT pg_sleep(10)',
  '" OR ""="',
  "admin'--",
  '$(reboot)',
  '`id`',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '%00',
  '\\u0000',
  '__proto__',
  'constructor',
  'prototype',
  '{"$gt": ""}',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0x7fffffff',
  '\u202eevil',
  'A'.repeat(10_000),
];

/** Objects that try prototype pollution through JSON. */
const POLLUTERS = [
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  '{"__proto__": null, "toString": 1, "valueOf": {}}',
];

interface Ids {
  agent: string;
  pausedAgent: string;
  issue: string;
  run: string;
  wakeup: string;
  company: string;
  otherAgent: string;
  otherIssue: string;
  otherRun: string;
  otherCompany: string;
}

interface Keys {
  admin: string;
  viewer: string;
  other: string;
}

type Call = { query: string; variables?: unknown; operationName?: unknown; extensions?: unknown };

/** A hostile or malformed operation, and whether a successful answer is acceptable for it. */
type Op = { call: Call; maySucceed: boolean; category: string };

function nestedDepth(rng: Rng, depth: number): string {
  // run -> agent -> activeRun -> agent ... with real fields; or unknown fields; or through fragments.
  const style = rng.int(0, 2);
  if (style === 0) {
    let inner = 'id';
    for (let level = depth; level >= 1; level--) inner = `${level % 2 === 0 ? 'agent' : 'activeRun'} { ${inner} }`;
    return `query($id: ID!) { run(id: $id) { ${inner} } }`;
  }
  if (style === 1) {
    let inner = 'x';
    for (let level = 0; level < depth; level++) inner = `${rng.string(rng.int(1, 6), 'abcdefgh')} { ${inner} }`;
    return `{ ${inner} }`;
  }
  // A chain of fragments, each one level deeper (flattened fragments still count).
  const fragments: string[] = [];
  for (let level = 0; level < depth; level++) {
    const type = level % 2 === 0 ? 'HeartbeatRun' : 'Agent';
    const field = level % 2 === 0 ? 'agent' : 'activeRun';
    fragments.push(level === depth - 1 ? `fragment F${level} on ${type} { id }` : `fragment F${level} on ${type} { ${field} { ...F${level + 1} } }`);
  }
  return `query($id: ID!) { run(id: $id) { ...F0 } } ${fragments.join(' ')}`;
}

function aliasBomb(rng: Rng, n: number): { query: string; maySucceed: boolean } {
  const style = rng.int(0, 3);
  if (style === 0) return { query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`, maySucceed: false };
  if (style === 1) return { query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: agents(first: 100) { edges { node { id } } }`).join(' ')} }`, maySucceed: false };
  // __typename aliases are not counted by the alias limit; a thousand of them is a cheap answer.
  if (style === 2) return { query: `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`, maySucceed: true };
  return { query: `mutation { ${Array.from({ length: Math.min(n, 100) }, (_, i) => `m${i}: createIssue(input: { title: "alias bomb" }) { issue { id } }`).join(' ')} }`, maySucceed: false };
}

function directiveFlood(rng: Rng, n: number): string {
  const directive = () => rng.pick(['@skip(if: false)', '@include(if: true)', '@deprecated', `@${rng.string(5, 'abcxyz')}`, '@skip(if: $x)', '@include']);
  const many = Array.from({ length: n }, directive).join(' ');
  return rng.pick([
    `query($x: Boolean = false) { viewer ${many} { name } }`,
    `query($x: Boolean = false) ${many} { viewer { name } }`,
    `query($x: Boolean = false) { viewer { name ${many} } }`,
    `query($x: Boolean = false) { ...on Query ${many} { viewer { name } } }`,
  ]);
}

function tokenFlood(rng: Rng): string {
  const n = rng.int(4_001, 20_000);
  return rng.pick([
    () => `{ viewer { ${'name '.repeat(n)}} }`,
    () => `{ runs(filter: { status: [${'QUEUED '.repeat(n)}] }) { edges { cursor } } }`,
    () => `{ ${'(((('.repeat(n / 4)} }`,
    () => `query(${Array.from({ length: n / 4 }, (_, i) => `$v${i}: Int`).join(' ')}) { viewer { name } }`,
    () => `{ viewer { name } } ${'fragment F on Company { name } '.repeat(n / 7)}`,
    () => `{ nodes(ids: [${Array.from({ length: n }, () => '"x"').join(' ')}]) { id } }`,
  ])();
}

function costBomb(rng: Rng): { query: string; maySucceed: boolean } {
  const f = () => rng.pick([100, 100, 1000, 2_147_483_647, 0, -1]);
  // Connections clamp `first` to 100; only a negative one is refused.
  const bounded = (n: number) => n >= 0;
  const first = f();
  const second = f();
  const third = rng.int(1, 1000);
  const variants: Array<[string, boolean]> = [
    [`{ agents(first: ${first}) { edges { node { runs(first: ${second}) { edges { node { events(first: ${third}) { seq } } } } } } } }`, bounded(first) && bounded(second)],
    [`{ issues(first: ${first}) { edges { node { runs(first: ${second}) { edges { node { agent { runs(first: ${third}) { edges { node { id } } } } } } } } } } }`, bounded(first) && bounded(second)],
    [`{ runs(first: ${first}) { edges { node { retry { retries { retry { retries { id } } } } events(first: ${third}) { seq } } } } }`, bounded(first)],
    [`{ a: agents(first: ${first}) { edges { node { id } } } b: issues(first: ${second}) { edges { node { id comments { id } documents { id } blockers { id } } } } }`, bounded(first) && bounded(second)],
  ];
  // Within the bounds the engine allows, a heavy-looking query may legitimately run.
  const [query, maySucceed] = rng.pick(variants);
  return { query, maySucceed };
}

function fragmentCycle(rng: Rng): string {
  return rng.pick([
    '{ viewer { ...A } } fragment A on Company { ...A }',
    '{ viewer { ...A } } fragment A on Company { name ...B } fragment B on Company { ...A }',
    '{ viewer { ...A } } fragment A on Company { ... on Company { ...B } } fragment B on Company { ...C } fragment C on Company { ...A }',
    '{ viewer { name } } fragment A on Company { ...B } fragment B on Company { ...A }',
    `query($id: ID!) { run(id: $id) { ...R } } fragment R on HeartbeatRun { agent { ...G } } fragment G on Agent { activeRun { ...R } }`,
    `{ viewer { ...${rng.string(4, 'XYZ')} } }`,
    '{ viewer { ...A ...A ...A } } fragment A on Company { ...A ...A }',
  ]);
}

function unknownField(rng: Rng): string {
  const name = rng.pick([rng.string(rng.int(1, 20)), '__proto__', 'constructor', 'toString', 'hasOwnProperty', '__schema2', 'password', 'keyHash', 'key_hash', 'apiKey', 'secret']);
  return rng.pick([
    `{ ${name} }`,
    `{ viewer { ${name} } }`,
    `{ agents(first: 1) { edges { node { ${name} } } } }`,
    `mutation { ${name}(input: {}) { id } }`,
    `subscription { ${name} }`,
    `{ viewer { name } agents(${name}: 1) { edges { cursor } } }`,
    `query($x: ${name}) { viewer { name } }`,
    `{ __type(name: "${name}") { name } }`,
  ]);
}

function hostileId(rng: Rng, ids: Ids, forNode = false): { id: unknown; valid: boolean } {
  const choice = rng.int(0, 13);
  switch (choice) {
    case 0:
      return { id: rng.bytes(rng.int(1, 60)).toString('base64'), valid: false };
    case 1:
      return { id: encodeGlobalId(rng.pick(['Agent', 'Issue', 'HeartbeatRun']), rng.string(rng.int(1, 40))), valid: false };
    case 2: {
      // A node type with an id that is not there answers null, like another company's id; an
      // unknown type is bad input. Either way nothing leaks.
      const type = rng.pick(['Company', 'IssueComment', 'WakeupRequest', 'ApiKey', 'Nope', '__proto__']);
      return { id: encodeGlobalId(type, rng.uuid()), valid: forNode && !['Nope', '__proto__'].includes(type) };
    }
    case 3:
      return { id: rng.pick([ids.otherAgent, ids.otherIssue, ids.otherRun, ids.otherCompany]), valid: true };
    case 4:
      return { id: rng.pick(INJECTIONS), valid: false };
    case 5:
      return { id: rng.unicode(rng.int(1, 30)), valid: false };
    case 6:
      return { id: '', valid: false };
    case 7:
      return { id: rng.bytes(5_000).toString('base64'), valid: false };
    case 8:
      return { id: Buffer.from(`Agent:${rng.uuid()}:${rng.uuid()}`).toString('base64'), valid: false };
    case 9:
      return { id: Buffer.from(` Agent:${rng.uuid()}`).toString('base64'), valid: false };
    case 10:
      return { id: rng.pick([ids.wakeup, ids.company]), valid: forNode }; // a real id: of a type the field does not take, unless it takes any node
    case 11: {
      const padded = encodeGlobalId('Agent', rng.uuid());
      return { id: padded.replace(/=+$/, ''), valid: !padded.endsWith('=') }; // unpadded base64; unchanged when there was no padding
    }
    case 12:
      return { id: rng.pick([42, 1.5, true, null, {}, [], ['x'], { id: ids.agent }]), valid: false };
    default:
      return { id: encodeGlobalId(rng.pick(['Agent', 'Issue', 'HeartbeatRun']), rng.uuid()), valid: true }; // well-formed, not there
  }
}

function wrongValue(rng: Rng): unknown {
  return rng.pick<() => unknown>([
    () => rng.int(-1e9, 1e9),
    () => 2 ** 53 + 1,
    () => -0,
    () => 1.5,
    () => 1e308,
    () => true,
    () => null,
    () => [],
    () => [1, 'two', null],
    () => ({}),
    () => ({ nested: { deeper: [1, { x: 'y' }] } }),
    () => rng.pick(INJECTIONS),
    () => rng.unicode(rng.int(0, 50)),
    () => 'NaN',
    () => 'Infinity',
    () => '2024-13-45T99:99:99Z',
  ])();
}

function deepJson(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}

/** Whether graphql-js itself accepts the document: the server may never run one it rejects. */
function documentValid(query: unknown): boolean {
  if (typeof query !== 'string' || query.length > 2_000_000) return false;
  try {
    return validate(schema, parse(query)).length === 0;
  } catch {
    return false;
  }
}

/** Whether every root field is introspection: the only thing anonymous callers may run. */
function introspectionOnly(query: unknown): boolean {
  if (typeof query !== 'string' || query.length > 2_000_000) return false;
  try {
    const operations = parse(query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    return operations.length === 1 && operations[0].selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
  } catch {
    return false;
  }
}

/** Hostile operations with variables: wrong types, hostile ids, injections, bad enums, huge or deep inputs. */
function hostileOperation(rng: Rng, ids: Ids): Op {
  const kind = rng.int(0, 20);
  const id = () => hostileId(rng, ids);
  switch (kind) {
    case 0: {
      const { id: value, valid } = id();
      const field = rng.pick(['agent', 'issue', 'run']);
      return { call: { query: `query($id: ID!) { ${field}(id: $id) { id } }`, variables: { id: value } }, maySucceed: valid, category: 'invalid-global-id' };
    }
    case 1: {
      const { id: value, valid } = hostileId(rng, ids, true);
      return { call: { query: 'query($id: ID!) { node(id: $id) { id __typename } }', variables: { id: value } }, maySucceed: valid, category: 'invalid-global-id' };
    }
    case 2: {
      const values = Array.from({ length: rng.int(1, 30) }, () => hostileId(rng, ids, true));
      return {
        call: { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: values.map((v) => v.id) } },
        maySucceed: values.every((v) => v.valid),
        category: 'invalid-global-id',
      };
    }
    case 3: {
      const { id: value, valid } = id();
      const mutation = rng.pick(['pauseAgent', 'resumeAgent', 'cancelRun', 'retryRun', 'revokeApiKey']);
      return { call: { query: `mutation($id: ID!) { ${mutation}(id: $id) { __typename } }`, variables: { id: value } }, maySucceed: false, category: 'invalid-global-id' };
    }
    case 4: {
      const agent = id();
      const issue = id();
      const [filter, maySucceed] = rng.pick<[Record<string, unknown>, boolean]>([
        [{ agentId: agent.id }, agent.valid],
        [{ issueId: issue.id }, issue.valid],
        [{ status: [rng.pick(['queued', 'QUEUD', 'DONE', '', 'SUCCEEDED; DROP', 42])] }, false],
        [{ livenessState: rng.pick(['NOPE', 'completed', 1, [1], { x: 1 }]) }, false],
        [{ createdAfter: rng.pick(['yesterday', '2024-02-30T00:00:00Z', '99999-01-01T00:00:00Z', '', 0, '1970-01-01T00:00:00+25:00']) }, false],
        [{ createdBefore: rng.pick([true, [], {}, 'Infinity', 1e308]) }, false],
        [{ [rng.pick(['constructor', 'companyId', 'company_id', 'toString'])]: ids.otherCompany }, false],
      ]);
      return { call: { query: 'query($f: RunFilter) { runs(first: 5, filter: $f) { edges { cursor } } }', variables: { f: filter } }, maySucceed, category: 'wrong-variable-type' };
    }
    case 5: {
      const args = rng.pick([
        { first: wrongValue(rng) },
        { first: rng.pick([-1, 0, 100_000, 2_147_483_647, 2_147_483_648]) },
        { after: rng.pick([...INJECTIONS, rng.bytes(20).toString('base64'), Buffer.from(`${rng.string(10)}`).toString('base64')]) },
        { before: rng.unicode(20), last: 3 },
        { first: 2, last: 2 },
      ]);
      const field = rng.pick(['agents', 'issues', 'runs', 'wakeupRequests']);
      return {
        call: { query: `query($first: Int, $last: Int, $after: String, $before: String) { ${field}(first: $first, last: $last, after: $after, before: $before) { edges { cursor } } }`, variables: args },
        // A lone non-negative Int `first` (or null) is fine: connections clamp it to 100. The rest is not.
        maySucceed: Object.keys(args).length === 1 && 'first' in args && (args.first === null || (Number.isInteger(args.first) && (args.first as number) >= 0 && (args.first as number) <= 2_147_483_647)),
        category: 'pagination',
      };
    }
    case 6:
      return {
        call: { query: 'query($n: Int, $s: String, $b: Boolean, $i: ID) { viewer { name } }', variables: { n: wrongValue(rng), s: wrongValue(rng), b: wrongValue(rng), i: wrongValue(rng) } },
        maySucceed: true, // unused variables of the right type may pass; wrong ones must be a clean error
        category: 'wrong-variable-type',
      };
    case 7: {
      const title = rng.pick([...INJECTIONS, rng.unicode(rng.int(1, 200))]);
      return {
        call: { query: 'mutation($i: CreateIssueInput!) { createIssue(input: $i) { issue { id title } } }', variables: { i: { title, description: rng.pick(INJECTIONS), priority: rng.pick(['LOW', 'HIGH', 'URGENT', 'low', 0]), status: rng.pick(['TODO', 'todo', 'WONTFIX', undefined]) } } },
        maySucceed: true,
        category: 'injection',
      };
    }
    case 8:
      return {
        call: { query: 'mutation($i: CreateAgentInput!) { createAgent(input: $i) { id } }', variables: { i: { name: rng.pick(INJECTIONS), adapterType: rng.pick(['SCRIPT', 'DOCKER', 'script', 'HTTP', 'PROCESS', 1]), adapterConfig: rng.pick<unknown>([{ steps: [] }, { steps: 'x' }, { steps: [{ fail: 1 }] }, { url: 'file:///etc/passwd' }, { command: 42 }, JSON.parse(rng.pick(POLLUTERS)), deepJson(rng.int(50, 2_500)), 'not an object', [1, 2]]), heartbeat: rng.pick([undefined, { intervalSec: -1 }, { maxConcurrentRuns: 0 }, { maxConcurrentRuns: 1e9 }, { intervalSec: 2_147_483_647, enabled: true }, { wakeOnDemand: 'yes' }]) } } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 9: {
      const payload = rng.pick<() => unknown>([
        () => ({ blob: 'x'.repeat(rng.int(70_000, 900_000)) }),
        () => deepJson(rng.int(100, 2_500)),
        () => JSON.parse(rng.pick(POLLUTERS)),
        () => Object.fromEntries(Array.from({ length: rng.int(1_000, 5_000) }, (_, i) => [`k${i}`, i])),
        () => rng.pick(['a string', 42, [1, 2, 3], true]),
        () => ({ text: rng.unicode(rng.int(1, 500)) }),
      ])();
      return {
        call: { query: 'mutation($i: EnqueueWakeupInput!) { enqueueWakeup(input: $i) { outcome } }', variables: { i: { agentId: rng.bool(0.7) ? ids.pausedAgent : id().id, payload, reason: rng.pick(INJECTIONS), idempotencyKey: rng.pick([...INJECTIONS, rng.unicode(300)]), source: rng.pick(['ON_DEMAND', 'TIMER', 'NOPE', null]), triggerDetail: rng.pick(['MANUAL', 'nope', 7]) } } },
        maySucceed: true, // a small, plain payload on the paused agent is a legitimate (skipped) wakeup
        category: 'hostile-mutation',
      };
    }
    case 10:
      return {
        call: { query: 'mutation($i: AddIssueCommentInput!) { addIssueComment(input: $i) { comment { id } } }', variables: { i: { issueId: rng.bool(0.6) ? ids.issue : id().id, body: rng.pick([...INJECTIONS, rng.unicode(rng.int(1, 2_000)), 'x'.repeat(rng.int(100_000, 800_000))]) } } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 11:
      return {
        call: { query: 'mutation($i: PutIssueDocumentInput!) { putIssueDocument(input: $i) { id } }', variables: { i: { issueId: rng.bool(0.6) ? ids.issue : id().id, key: rng.pick([...INJECTIONS, '', ' ', '../x', rng.unicode(10)]), body: rng.pick([...INJECTIONS, rng.unicode(100)]) } } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 12:
      return {
        call: { query: 'mutation($i: AssignIssueInput!) { assignIssue(input: $i) { issue { id } } }', variables: { i: { issueId: rng.bool(0.5) ? ids.issue : id().id, agentId: rng.bool(0.5) ? ids.otherAgent : id().id, userId: rng.pick(INJECTIONS) } } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 13:
      return {
        call: { query: 'mutation($i: AddIssueBlockerInput!) { addIssueBlocker(input: $i) { id } }', variables: { i: { issueId: rng.pick([ids.issue, ids.otherIssue, id().id]), blockerIssueId: rng.pick([ids.issue, ids.otherIssue, id().id]) } } },
        maySucceed: false,
        category: 'hostile-mutation',
      };
    case 14:
      return {
        call: { query: 'mutation($n: String!, $r: ApiKeyRole) { createApiKey(name: $n, role: $r) { keyPrefix } }', variables: { n: rng.pick([...INJECTIONS, '', '   ', rng.unicode(300)]), r: rng.pick(['VIEWER', 'SUPERADMIN', 'admin', 0, null]) } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 15:
      return {
        call: { query: 'mutation($i: UpdateAgentInput!) { updateAgent(input: $i) { id } }', variables: { i: { id: rng.bool(0.5) ? ids.pausedAgent : id().id, name: rng.pick(INJECTIONS), heartbeat: { maxConcurrentRuns: rng.pick([0, -5, 1e6, 1.5]), intervalSec: rng.pick([-1, 2 ** 31]) } } } },
        maySucceed: false,
        category: 'hostile-mutation',
      };
    case 16:
      return {
        call: { query: 'mutation($i: UpdateIssueInput!) { updateIssue(input: $i) { id } }', variables: { i: { id: rng.bool(0.5) ? ids.issue : id().id, title: rng.pick(['', 'x'.repeat(600), ...INJECTIONS]), status: rng.pick(['DONE', 'done', 'ARCHIVED', 3]), priority: rng.pick(['CRITICAL', 'P0']) } } },
        maySucceed: true,
        category: 'hostile-mutation',
      };
    case 17:
      return {
        call: { query: `query($id: ID!, $after: Int, $first: Int, $tail: Int) { run(id: $id) { events(afterSeq: $after, first: $first) { seq } log(tailBytes: $tail) } }`, variables: { id: rng.pick([ids.run, ids.otherRun, id().id]), after: rng.pick([-1, 2 ** 31 - 1, 0, 1.5]), first: rng.pick([0, -1, 1001, 100_000]), tail: rng.pick([-1, 0, 2 ** 31 - 1]) } },
        maySucceed: true,
        category: 'wrong-variable-type',
      };
    case 18: {
      const [variables, maySucceed] = rng.pick<[unknown, boolean]>([
        [{}, false],
        [{ id: ids.agent, extra: 1 }, true], // variables the operation does not declare are ignored
        [{ ID: ids.agent }, false],
        [{ __proto__: { id: ids.agent } }, false],
        [JSON.parse('{"__proto__": {"id": "x"}}'), false],
      ]);
      return { call: { query: 'query($id: ID!) { agent(id: $id) { id } }', variables }, maySucceed, category: 'wrong-variable-type' };
    }
    case 19:
      return {
        call: { query: 'query Q { viewer { name } } query R { viewer { id } }', operationName: rng.pick([undefined, null, 'S', '', 42, ['Q'], { name: 'Q' }, 'Q R', '__proto__']) },
        maySucceed: false,
        category: 'operation-name',
      };
    default:
      return {
        call: { query: `mutation { createIssue(input: { title: ${JSON.stringify(rng.pick(INJECTIONS))}, priority: ${rng.pick(['URGENT', 'low', '"HIGH"', '1', 'HIGH HIGH', 'true'])} }) { issue { id } } }` },
        maySucceed: false,
        category: 'bad-enum',
      };
  }
}

/** An operation that is broken or hostile in its document. */
function hostileDocument(rng: Rng, ids: Ids): Op {
  const kind = rng.int(0, 9);
  switch (kind) {
    case 0:
      return { call: { query: nestedDepth(rng, rng.pick([13, 20, 50, 50, 200])), variables: { id: ids.run } }, maySucceed: false, category: 'deep-nesting' };
    case 1: {
      const { query, maySucceed } = aliasBomb(rng, rng.pick([21, 100, 1_000]));
      return { call: { query }, maySucceed, category: 'alias-bomb' };
    }
    case 2:
      return { call: { query: directiveFlood(rng, rng.pick([21, 100, 500])) }, maySucceed: false, category: 'directive-flood' };
    case 3:
      return { call: { query: tokenFlood(rng) }, maySucceed: false, category: 'token-flood' };
    case 4: {
      const { query, maySucceed } = costBomb(rng);
      return { call: { query }, maySucceed, category: 'cost-bomb' };
    }
    case 5:
      return { call: { query: fragmentCycle(rng), variables: { id: ids.run } }, maySucceed: false, category: 'fragment-cycle' };
    case 6:
      const query = unknownField(rng);
      return { call: { query }, maySucceed: documentValid(query), category: 'unknown-field' }; // __type(name: "x") is valid and answers null
    case 7: {
      // A valid document cut at a random point, or with random bytes spliced in.
      const base = rng.pick(['{ viewer { id name } }', 'query($id: ID!) { agent(id: $id) { id name } }', 'mutation { createIssue(input: { title: "x" }) { issue { id } } }', 'subscription { runStatus { id } }']);
      const cut = rng.int(1, base.length - 1);
      const query = rng.bool() ? base.slice(0, cut) : base.slice(0, cut) + rng.unicode(rng.int(1, 5)) + base.slice(cut);
      return { call: { query, variables: { id: ids.agent } }, maySucceed: documentValid(query), category: 'syntax' }; // a splice can leave it valid
    }
    case 8: {
      const query = rng.pick(['', ' ', '#only a comment', '{}', '{ }', 'query', 'fragment F on Company { name }', '"string"', '42', 'type Query { x: Int }', 'schema { query: Query }', '{ viewer { name } } { viewer { id } }', '{ __schema { types { name } } __type(name: "x") { name } }']);
      return { call: { query }, maySucceed: documentValid(query), category: 'syntax' };
    }
    default: {
      // Huge strings where the document takes them.
      const big = 'x'.repeat(rng.int(50_000, 600_000));
      const variants: Array<[Call, boolean]> = [
        [{ query: `{ agents(after: "${big}") { edges { cursor } } }` }, false],
        [{ query: `{ viewer { name } } # ${big}` }, true], // a long comment is no token
        [{ query: `mutation { createIssue(input: { title: "${big}" }) { issue { id } } }` }, false],
        [{ query: `query { viewer { name } }`, operationName: big }, false],
        [{ query: `query($x: String) { viewer { name } }`, variables: { x: big, [big.slice(0, 10_000)]: 1 } }, true], // unknown variables are ignored
      ];
      const [call, maySucceed] = rng.pick(variants);
      return { call, maySucceed, category: 'huge-string' };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP corpus
// ---------------------------------------------------------------------------------------------

interface HttpCase {
  category: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  maySucceed: boolean;
}

function authorizationFor(rng: Rng, keys: Keys): { header: string | undefined; valid: boolean } {
  const choice = rng.int(0, 19);
  if (choice < 10) return { header: `Bearer ${keys.admin}`, valid: true };
  if (choice < 12) return { header: `Bearer ${keys.viewer}`, valid: true };
  if (choice === 12) return { header: `bearer   ${keys.admin}  `, valid: true };
  const garbage: Array<string | undefined> = [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    keys.admin,
    `Bearer ${keys.admin}x`,
    `Bearer ${keys.admin.slice(0, -1)}`,
    `Bearer ${keys.admin} ${keys.admin}`,
    `Bearer hbr_${rng.string(43)}`,
    `Bearer hb_${rng.string(43)}`,
    `Bearer ${rng.string(rng.int(1, 2_000), ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~')}`,
    `Bearer ${"' OR 1=1 --"}`,
    `Token ${keys.admin}`,
    `Bearer ${Buffer.from(rng.bytes(32)).toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, 'x')}`,
    `Bearer ${'A'.repeat(8_000)}`,
  ];
  return { header: rng.pick(garbage), valid: false };
}

function jsonBody(call: Call): string {
  return JSON.stringify(call);
}

/**
 * Whether a successful answer is acceptable: the case allows it, graphql-js accepts the document,
 * and the caller is authenticated (anonymous callers may only introspect; a wrong key never works).
 */
function successAllowed(op: Op, auth: { header: string | undefined; valid: boolean }): boolean {
  if (!op.maySucceed || !documentValid(op.call.query)) return false;
  // An empty Authorization header counts as none.
  return auth.valid || ((auth.header === undefined || auth.header === '') && introspectionOnly(op.call.query));
}

function buildHttpCorpus(rng: Rng, ids: Ids, keys: Keys, count: number): HttpCase[] {
  const cases: HttpCase[] = [];
  const base = (accept = rng.pick(['application/graphql-response+json', 'application/json', 'application/graphql-response+json, application/json;q=0.9', '*/*'])) => ({ accept });
  for (let i = 0; i < count; i++) {
    const kind = rng.int(0, 99);
    const auth = authorizationFor(rng, keys);
    const headers: Record<string, string> = { ...base(), 'content-type': 'application/json' };
    if (auth.header !== undefined) headers.authorization = auth.header;

    if (kind < 30) {
      const op = hostileOperation(rng, ids);
      cases.push({ category: op.category, method: 'POST', path: '/graphql', headers, body: jsonBody(op.call), maySucceed: successAllowed(op, auth) });
    } else if (kind < 55) {
      const op = hostileDocument(rng, ids);
      cases.push({ category: op.category, method: 'POST', path: '/graphql', headers, body: jsonBody(op.call), maySucceed: successAllowed(op, auth) });
    } else if (kind < 63) {
      // Broken JSON: a valid body cut short, bytes flipped, or JSON that is not an object.
      const valid = jsonBody({ query: '{ viewer { name } }', variables: { a: [1, 2, { b: 'c' }] } });
      const body = rng.pick<() => string>([
        () => valid.slice(0, rng.int(0, valid.length - 1)),
        () => {
          const chars = [...valid];
          for (let n = rng.int(1, 5); n > 0; n--) chars[rng.int(0, chars.length - 1)] = rng.pick(['"', '{', '}', ',', ':', '\\', '\u0000', 'x']);
          return chars.join('');
        },
        () => rng.pick(['null', 'true', '42', '"query"', '[]', '[{}]', '[{"query": "{ viewer { name } }"}]', '{"query": "{ viewer { name } }"}{}', '\ufeff{"query": "{ viewer { name } }"}', '{"query":"{ viewer { name } }","query":42}']),
        () => '{"a":'.repeat(rng.int(1_000, 50_000)),
        () => '['.repeat(rng.int(1_000, 100_000)),
        () => `{"query": "${'\\ud800'.repeat(10)}"}`,
      ])();
      // A flipped character can leave the JSON valid: then it is an ordinary request.
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const call = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Call) : undefined;
      const maySucceed = !!call && (call.variables === undefined || (typeof call.variables === 'object' && !Array.isArray(call.variables))) && successAllowed({ call, maySucceed: true, category: '' }, auth);
      cases.push({ category: 'broken-json', method: 'POST', path: '/graphql', headers, body, maySucceed });
    } else if (kind < 70) {
      // Wrong types for query, variables, operationName, extensions.
      const field = rng.pick(['query', 'variables', 'operationName', 'extensions']);
      const value = wrongValue(rng);
      const call: Record<string, unknown> = { query: '{ viewer { name } }', [field]: value };
      // null is "absent" for the optional members, and variables or extensions may be any object.
      const benign = field !== 'query' && (value === null || (field !== 'operationName' && typeof value === 'object' && !Array.isArray(value)));
      cases.push({ category: 'wrong-type', method: 'POST', path: '/graphql', headers, body: JSON.stringify(call), maySucceed: benign && auth.valid });
    } else if (kind < 75) {
      cases.push({ category: 'random-bytes', method: 'POST', path: '/graphql', headers: { ...headers, 'content-type': rng.pick(['application/json', 'application/octet-stream', 'application/graphql']) }, body: rng.bytes(rng.int(0, 4_096)), maySucceed: false });
    } else if (kind < 81) {
      // Odd content types with a perfectly good query.
      const query = '{ viewer { name } }';
      const type = rng.pick(['text/plain', 'application/xml', 'text/html', 'multipart/form-data; boundary=xyz', 'application/x-www-form-urlencoded', 'application/graphql', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx', '', 'application/json, text/plain', '*/*', 'application/graphql-response+json']);
      const body = type === 'application/x-www-form-urlencoded' ? `query=${encodeURIComponent(query)}` : type.startsWith('multipart') ? `--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query })}\r\n--xyz--\r\n` : type === 'application/graphql' ? query : jsonBody({ query });
      cases.push({ category: 'content-type', method: 'POST', path: '/graphql', headers: { ...headers, 'content-type': type }, body, maySucceed: auth.valid });
    } else if (kind < 85) {
      const method = rng.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'PURGE', 'LINK', 'SEARCH', 'REPORT', 'TRACE']);
      const hasBody = !['HEAD', 'TRACE'].includes(method) && rng.bool();
      cases.push({
        category: 'method',
        method,
        path: '/graphql',
        headers: method === 'OPTIONS' && rng.bool() ? { ...headers, origin: 'https://evil.example', 'access-control-request-method': 'POST' } : headers,
        body: hasBody ? jsonBody({ query: '{ viewer { name } }' }) : undefined,
        maySucceed: method === 'OPTIONS' || method === 'HEAD',
      });
    } else if (kind < 93) {
      // GET with hostile query strings.
      const op = rng.bool() ? hostileDocument(rng, ids) : hostileOperation(rng, ids);
      const params = new URLSearchParams();
      if (rng.bool(0.9)) params.set('query', String(op.call.query).slice(0, 6_000));
      if (op.call.variables !== undefined) params.set('variables', rng.bool(0.8) ? JSON.stringify(op.call.variables).slice(0, 3_000) : rng.pick(['{', 'null', '[]', '"x"', '{"a":']));
      if (rng.bool(0.2)) params.set('operationName', rng.pick(['', 'X', '__proto__']));
      if (rng.bool(0.1)) params.set('extensions', rng.pick(['{', '{"persistedQuery":{"sha256Hash":"x"}}']));
      const getHeaders = { ...headers };
      delete getHeaders['content-type'];
      // Parameters are cut and swapped here, so the case cannot say much: but a mutation over GET
      // never runs, an invalid document never runs, and neither does a wrong key.
      const sent = params.get('query');
      const readsOnly = !/^\s*mutation/.test(sent ?? '');
      cases.push({ category: `get:${op.category}`, method: 'GET', path: `/graphql?${params}`, headers: getHeaders, maySucceed: readsOnly && successAllowed({ call: { query: sent ?? '' }, maySucceed: true, category: '' }, auth) });
    } else if (kind < 96) {
      cases.push({
        category: 'batch',
        method: 'POST',
        path: '/graphql',
        headers,
        body: JSON.stringify(Array.from({ length: rng.int(1, 200) }, () => ({ query: '{ viewer { name } }' }))),
        maySucceed: false,
      });
    } else if (kind < 98) {
      // Bodies over the 1 MiB limit.
      cases.push({ category: 'body-too-large', method: 'POST', path: '/graphql', headers, body: jsonBody({ query: '{ viewer { name } }', variables: { x: 'x'.repeat(rng.int(1_100_000, 3_000_000)) } }), maySucceed: false });
    } else {
      const path = rng.pick(['/graphql/', '/GRAPHQL', '/graphql/../graphql', '/%00', '/graphq1', '/graphql;x', `/${rng.string(20)}`, '/graphql%2F', '/./graphql', '//graphql', '/graphql/' + rng.string(5)]);
      // Paths that URL normalisation turns into /graphql are /graphql.
      const normalised = ['/graphql/', '/graphql/../graphql', '/./graphql', '//graphql'].includes(path);
      cases.push({ category: 'path', method: 'POST', path, headers, body: jsonBody({ query: '{ viewer { name } }' }), maySucceed: normalised && auth.valid });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Raw TCP corpus: requests no HTTP client would send
// ---------------------------------------------------------------------------------------------

function buildRawCorpus(rng: Rng, count: number): string[] {
  const requests: string[] = [];
  const body = '{"query":"{ viewer { name } }"}';
  const templates = [
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n${body}`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\nConnection: close\r\n\r\n`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabcdef`,
    () => `GET /graphql HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n`,
    () => `GET /graphql HTTP/1.1\r\nHost: x\r\nBroken header line\r\nConnection: close\r\n\r\n`,
    () => `GET /graphql HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    () => `GET /graphql HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\nConnection: close\r\n\r\n`,
    () => `${rng.string(rng.int(1, 50), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*() ')}\r\n\r\n`,
    () => `GET ${'/a'.repeat(rng.int(5_000, 20_000))} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\n`,
    () => `GET /graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${rng.string(5)}\r\n\r\n`,
    () => `GET /graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    () => `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\nConnection: close\r\n\r\n${body}`,
  ];
  for (let i = 0; i < count; i++) requests.push(templates[i % templates.length]());
  return requests;
}

// ---------------------------------------------------------------------------------------------
// WebSocket corpus
// ---------------------------------------------------------------------------------------------

type WsStep =
  | { kind: 'init'; payload?: unknown }
  | { kind: 'waitAck' }
  | { kind: 'send'; data: string | Buffer; binary?: boolean }
  | { kind: 'live'; id: string } // subscribe to a subscription that stays open
  | { kind: 'terminate' }; // drop the TCP connection without a close frame

interface WsCase {
  category: string;
  protocols: string | string[];
  steps: WsStep[];
  /** Send an erroring probe at the end, so an open connection ends in a GraphQL error message. */
  probe: boolean;
}

function buildWsCorpus(rng: Rng, ids: Ids, keys: Keys, count: number): WsCase[] {
  const cases: WsCase[] = [];
  const json = (value: unknown): WsStep => ({ kind: 'send', data: JSON.stringify(value) });
  const init = (key = keys.admin): WsStep[] => [{ kind: 'init', payload: { authorization: `Bearer ${key}` } }, { kind: 'waitAck' }];
  const subscribe = (call: Call, id = `op${rng.int(0, 9)}`) => json({ id, type: 'subscribe', payload: call });
  for (let i = 0; i < count; i++) {
    const kind = rng.int(0, 99);
    const protocols = 'graphql-transport-ws';
    if (kind < 8) {
      // Garbage text frames, before or after connection_init.
      const garbage = rng.pick<() => string>([() => rng.unicode(rng.int(0, 200)), () => rng.string(rng.int(1, 100)), () => rng.pick(['null', '[]', '42', '"x"', '{}', '{"type":null}', '{"type":42}', '{"type":"subscribe"}']), () => '{"type":"ping"'.repeat(3)]);
      cases.push({ category: 'ws:garbage', protocols, steps: [...(rng.bool() ? init() : []), { kind: 'send', data: garbage() }], probe: true });
    } else if (kind < 14) {
      // Binary frames: random bytes, or a real message sent as binary.
      const data = rng.bool(0.7) ? rng.bytes(rng.int(1, 2_000)) : Buffer.from(JSON.stringify({ type: 'ping', payload: { binary: true } }));
      cases.push({ category: 'ws:binary', protocols, steps: [...(rng.bool() ? init() : []), { kind: 'send', data, binary: true }], probe: true });
    } else if (kind < 24) {
      // Messages before connection_init.
      const before = rng.pick<WsStep>([
        subscribe({ query: '{ viewer { name } }' }),
        json({ id: 'x', type: 'complete' }),
        json({ type: 'ping' }),
        json({ type: 'pong', payload: { x: 1 } }),
        json({ type: 'connection_ack' }),
        json({ id: '1', type: 'next', payload: { data: {} } }),
      ]);
      cases.push({ category: 'ws:before-init', protocols, steps: [before, ...(rng.bool(0.3) ? init() : [])], probe: true });
    } else if (kind < 30) {
      cases.push({ category: 'ws:second-init', protocols, steps: [...init(), { kind: 'init', payload: rng.pick([{ authorization: `Bearer ${keys.viewer}` }, {}, undefined]) }], probe: true });
    } else if (kind < 38) {
      // Unknown or malformed ids and types.
      const message = rng.pick<unknown>([
        { id: rng.int(0, 100), type: 'subscribe', payload: { query: '{ viewer { name } }' } },
        { id: '', type: 'subscribe', payload: { query: '{ viewer { name } }' } },
        { id: rng.string(rng.int(1_000, 50_000)), type: 'subscribe', payload: { query: '{ viewer { name } }' } },
        { id: '__proto__', type: 'subscribe', payload: { query: '{ viewer { name } }' } },
        { id: 'constructor', type: 'complete' },
        { id: rng.string(8), type: rng.pick(['start', 'stop', 'Subscribe', 'SUBSCRIBE', 'connection_terminate', 'data', 'ka', rng.string(6)]), payload: {} },
        { id: '1', type: 'subscribe' },
        { id: '1', type: 'subscribe', payload: { query: '{ viewer { name } }', variables: 'x' } },
        { id: '1', type: 'subscribe', payload: { query: '{ viewer { name } }', operationName: 7 } },
        { id: '1', type: 'subscribe', payload: { query: '{ viewer { name } }', extensions: [] } },
        { id: rng.string(4), type: 'complete' },
        { id: '1', type: 'error', payload: [{ message: 'x' }] },
      ]);
      cases.push({ category: 'ws:ids-types', protocols, steps: [...init(), json(message)], probe: true });
    } else if (kind < 44) {
      // connection_init with bad credentials or a bad payload.
      const payload = rng.pick<unknown>([
        undefined,
        {},
        { authorization: 'Bearer hb_wrong' },
        { authorization: keys.admin },
        { authorization: `Token ${keys.admin}` },
        { authorization: 42 },
        { authorization: { Bearer: keys.admin } },
        { authorization: [`Bearer ${keys.admin}`] },
        { Authorization: `Bearer ${keys.admin}` },
        { authorization: `Bearer ${rng.string(10_000)}` },
        'Bearer x',
        42,
        [1],
        JSON.parse('{"__proto__": {"authorization": "Bearer x"}}'),
      ]);
      cases.push({ category: 'ws:bad-init', protocols, steps: [{ kind: 'init', payload }, { kind: 'waitAck' }], probe: true });
    } else if (kind < 74) {
      // Hostile operations over an authenticated socket: documents, variables, subscriptions on foreign ids.
      const op = rng.pick<() => Op>([
        () => hostileDocument(rng, ids),
        () => hostileOperation(rng, ids),
        () => ({ call: { query: 'subscription($id: ID!) { runEvents(runId: $id) { seq } }', variables: { id: rng.pick([ids.otherRun, hostileId(rng, ids).id]) } }, maySucceed: false, category: 'foreign' }),
        () => ({ call: { query: 'subscription($r: ID, $a: ID, $i: ID) { runStatus(runId: $r, agentId: $a, issueId: $i) { id } }', variables: { r: rng.pick([ids.otherRun, undefined, hostileId(rng, ids).id]), a: rng.pick([ids.otherAgent, undefined]), i: rng.pick([ids.otherIssue, undefined, 42]) } }, maySucceed: false, category: 'foreign' }),
        () => ({ call: { query: 'subscription { runStatus { id } } subscription B { runEvents(runId: "x") { seq } }' }, maySucceed: false, category: 'multiple' }),
        () => ({ call: { query: 'subscription { a: runStatus { id } b: runStatus { id } }' }, maySucceed: false, category: 'two-root-fields' }),
      ])();
      const key = rng.bool(0.8) ? keys.admin : keys.viewer;
      const payload = op.call.query.length > 1_000_000 ? { query: '{ viewer { name } }' } : op.call;
      cases.push({ category: `ws:${op.category}`, protocols, steps: [...init(key), subscribe(payload as Call, rng.pick(['a', 'b', 'c']))], probe: true });
    } else if (kind < 78) {
      // Huge messages: over the limit (closed with 1009), or under it.
      const size = rng.bool(0.3) ? rng.int(1_100_000, 3_000_000) : rng.int(100_000, 900_000);
      cases.push({ category: 'ws:huge', protocols, steps: [...init(), subscribe({ query: '{ viewer { name } }', variables: { pad: 'x'.repeat(size) } })], probe: true });
    } else if (kind < 84) {
      const invalid = rng.pick(['{', '{"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { name } }"}', "{'type':'ping'}", '{"type":"ping"}}', `{"type":"ping","payload":${'['.repeat(rng.int(100, 5_000))}`, '\ufeff{"type":"ping"}', 'undefined', '']);
      cases.push({ category: 'ws:invalid-json', protocols, steps: [...(rng.bool() ? init() : []), { kind: 'send', data: invalid }], probe: true });
    } else if (kind < 88) {
      // The same id twice while the first subscription is live (4409), or after it completed.
      const id = 'dup';
      const steps: WsStep[] = [...init(), { kind: 'live', id }];
      if (rng.bool(0.3)) steps.push(json({ id, type: 'complete' }));
      steps.push(json({ id, type: 'subscribe', payload: { query: 'subscription { runStatus { id } }' } }));
      cases.push({ category: 'ws:duplicate-id', protocols, steps, probe: true });
    } else if (kind < 91) {
      cases.push({ category: 'ws:ping-flood', protocols, steps: [...(rng.bool() ? init() : []), ...Array.from({ length: rng.int(10, 300) }, () => json({ type: 'ping', payload: rng.bool() ? { n: rng.int(0, 1e6) } : undefined }))], probe: true });
    } else if (kind < 94) {
      // Live subscriptions dropped without complete or close frame: the server must clean up.
      cases.push({ category: 'ws:abandoned', protocols, steps: [...init(), { kind: 'live', id: 'left' }, ...(rng.bool() ? [json({ id: 'left', type: 'complete' }), json({ id: 'left', type: 'complete' })] : []), { kind: 'terminate' }], probe: false });
    } else if (kind < 97) {
      cases.push({ category: 'ws:subprotocol', protocols: rng.pick<string | string[]>([[], 'graphql-ws', ['graphql-ws', 'soap'], 'GRAPHQL-TRANSPORT-WS', 'graphql-transport-ws-x']), steps: [], probe: false });
    } else {
      // Never sends connection_init: closed with 4408 after the wait timeout.
      cases.push({ category: 'ws:no-init', protocols, steps: rng.bool() ? [json({ type: 'ping' })] : [], probe: false });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** What a stack trace, a server path or a database error looks like; injection inputs contain none of it. */
const LEAK = /(?:\\n|\n)\s*at (?:async )?[\w$.<>]+ \(|\.(?:ts|js|mjs|cjs):\d+:\d+|node_modules|\/work\/|file:\/\/|PostgresError|Failed query|syntax error at or near|violates .* constraint|invalid byte sequence|invalid input syntax|stack depth limit|drizzle/i;

type GraphQLErrorLike = { message?: unknown; extensions?: { code?: unknown } };

function checkErrors(errors: unknown, where: string): string | null {
  if (!Array.isArray(errors) || errors.length === 0) return `${where}: errors is not a non-empty list`;
  for (const error of errors as GraphQLErrorLike[]) {
    const code = error?.extensions?.code;
    if (typeof code !== 'string') return `${where}: an error without extensions.code: ${JSON.stringify(error).slice(0, 300)}`;
    if (code === 'INTERNAL_SERVER_ERROR' || error.message === 'Unexpected error.') return `${where}: INTERNAL_SERVER_ERROR: ${JSON.stringify(error).slice(0, 300)}`;
  }
  return null;
}

function checkHttp(c: HttpCase, status: number, text: string): string | null {
  const where = `${c.category} ${c.method} ${c.path.slice(0, 80)}`;
  if (status >= 500) return `${where}: HTTP ${status}: ${text.slice(0, 300)}`;
  if (LEAK.test(text)) return `${where}: leaks internals: ${text.slice(0, 300)}`;
  let json: { data?: unknown; errors?: unknown } | undefined;
  try {
    json = text ? (JSON.parse(text) as typeof json) : undefined;
  } catch {
    json = undefined;
  }
  if (status >= 400) return json?.errors !== undefined ? checkErrors(json.errors, `${where} (HTTP ${status})`) : null; // a clean 4xx
  if (status < 200 || status >= 300) return `${where}: unexpected HTTP ${status}`;
  if (c.method === 'HEAD' || c.method === 'OPTIONS') return null;
  if (!json || typeof json !== 'object') return `${where}: HTTP ${status} without a GraphQL body: ${text.slice(0, 200)}`;
  if (json.errors !== undefined) return checkErrors(json.errors, `${where} (HTTP ${status})`);
  if (!('data' in json)) return `${where}: HTTP ${status} with neither data nor errors`;
  return c.maySucceed ? null : `${where}: a hostile request was answered with data and no error: ${text.slice(0, 200)}`;
}

function checkWsMessage(message: Message, where: string): string | null {
  const text = JSON.stringify(message);
  if (LEAK.test(text)) return `${where}: message leaks internals: ${text.slice(0, 300)}`;
  if (message.type === 'error') return checkErrors(message.payload, `${where} error message`);
  if (message.type === 'next') {
    const payload = message.payload as { errors?: unknown };
    return payload?.errors !== undefined ? checkErrors(payload.errors, `${where} next message`) : null;
  }
  if (['connection_ack', 'pong', 'complete', 'ping'].includes(message.type)) return null;
  return `${where}: unexpected message ${text.slice(0, 200)}`;
}

// ---------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------

async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let index = next++; index < items.length; index = next++) await work(items[index], index);
    }),
  );
}

function httpSend(base: URL, agent: http.Agent, c: HttpCase): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body !== undefined) headers['content-length'] = String(Buffer.byteLength(c.body));
    const request = http.request({ host: base.hostname, port: base.port, method: c.method, path: c.path, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', reject);
    request.end(c.body);
  });
}

function rawSend(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(request, 'latin1');
  });
}

async function runWsCase(url: string, c: WsCase, index: number): Promise<string | null> {
  const where = `${c.category} #${index}`;
  let socket: RawSocket;
  try {
    socket = await openRaw(url, c.protocols);
  } catch (error) {
    // The server refused the handshake (e.g. no acceptable subprotocol): a refusal, not a crash.
    return c.category === 'ws:subprotocol' ? null : `${where}: handshake failed: ${(error as Error).message}`;
  }
  const deadline = c.category === 'ws:no-init' ? 8_000 : 10_000;
  try {
    for (const step of c.steps) {
      if (socket.isClosed()) break;
      if (step.kind === 'init') socket.send({ type: 'connection_init', ...(step.payload === undefined ? {} : { payload: step.payload }) });
      else if (step.kind === 'waitAck') await socket.next((m) => m.type === 'connection_ack', deadline).catch(() => undefined);
      else if (step.kind === 'send') socket.sendRaw(step.data, { binary: step.binary });
      else if (step.kind === 'live') socket.send({ id: step.id, type: 'subscribe', payload: { query: 'subscription { runStatus { id status } }' } });
      else if (step.kind === 'terminate') {
        socket.ws.terminate();
        await socket.closed;
      }
    }
    if (!socket.isClosed()) {
      if (c.probe) {
        socket.send({ id: 'probe', type: 'subscribe', payload: { query: '{ viewer { name } __probe }' } });
        await Promise.race([socket.next((m) => m.id === 'probe' && (m.type === 'error' || m.type === 'complete'), deadline).catch(() => undefined), socket.closed]);
      } else {
        await Promise.race([socket.closed, new Promise((resolve) => setTimeout(resolve, deadline))]);
      }
    }
    for (const message of socket.messages) {
      const failure = checkWsMessage(message, where);
      if (failure) return failure;
    }
    if (socket.isClosed()) {
      const { code, reason } = await socket.closed;
      if (c.category === 'ws:abandoned') return null; // the client dropped it (1006 on this side)
      if (!PROTOCOL_CLOSE_CODES.has(code)) return `${where}: closed with ${code} (${reason}); messages ${JSON.stringify(socket.messages).slice(0, 300)}`;
      return null;
    }
    // Still open: it must have ended in the probe's GraphQL error.
    const probe = socket.messages.find((m) => m.id === 'probe');
    if (!c.probe || probe?.type !== 'error') return `${where}: neither closed nor answered the probe with an error within ${deadline} ms; got ${JSON.stringify(socket.messages).slice(0, 300)}`;
    return null;
  } finally {
    await socket.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

describe('fuzz', () => {
  let server: TestServer;
  let ids: Ids;
  let keys: Keys;
  const failures: string[] = [];
  const stats = new Map<string, number>();
  let sent = 0;
  const count = (category: string) => {
    sent++;
    stats.set(category, (stats.get(category) ?? 0) + 1);
  };

  beforeAll(async () => {
    // Rate limiting would turn most mutations into RATE_LIMITED and hide what they do: it has its own test.
    server = await startTestServer({ env: { HEARTBEAT_MUTATION_RATE: '100000', HEARTBEAT_MUTATION_BURST: '100000' } });
    const { db } = server.database;
    const admin = server.adminKey;
    const viewer = (await gql(server, 'mutation { createApiKey(name: "fuzz viewer", role: VIEWER) { key } }')).createApiKey.key as string;
    const agent = (await gql(server, 'mutation { createAgent(input: { name: "fuzz", adapterType: SCRIPT, adapterConfig: { steps: [{ log: "x" }] } }) { id } }')).createAgent.id as string;
    const pausedAgent = (await gql(server, 'mutation { createAgent(input: { name: "paused", adapterType: SCRIPT, adapterConfig: { steps: [] } }) { id } }')).createAgent.id as string;
    await gql(server, 'mutation($id: ID!) { pauseAgent(id: $id) { id } }', { id: pausedAgent });
    const issue = (await gql(server, 'mutation { createIssue(input: { title: "fuzz issue" }) { issue { id } } }')).createIssue.issue.id as string;
    const wake = (await gql(server, 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a }) { wakeupRequest { id } run { id } } }', { a: agent })).enqueueWakeup;
    await runFinished(server, rawId(wake.run.id));

    const [other] = await db.insert(companies).values({ name: 'Other' }).returning();
    const otherKey = (await createApiKey(db, { companyId: other.id, name: 'other', role: 'admin' })).key;
    const otherAgent = (await gql(server, 'mutation { createAgent(input: { name: "theirs", adapterType: SCRIPT, adapterConfig: { steps: [] } }) { id } }', {}, otherKey)).createAgent.id as string;
    const otherIssue = (await gql(server, 'mutation { createIssue(input: { title: "theirs" }) { issue { id } } }', {}, otherKey)).createIssue.issue.id as string;
    const otherRun = (await gql(server, 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a }) { run { id } } }', { a: otherAgent }, otherKey)).enqueueWakeup.run.id as string;
    await runFinished(server, rawId(otherRun));

    ids = {
      agent,
      pausedAgent,
      issue,
      run: wake.run.id,
      wakeup: wake.wakeupRequest.id,
      company: encodeGlobalId('Company', server.companyId),
      otherAgent,
      otherIssue,
      otherRun,
      otherCompany: encodeGlobalId('Company', other.id),
    };
    keys = { admin, viewer, other: otherKey };
  }, 60_000);
  afterAll(() => server?.close());

  it(`answers ${HTTP_CASES} generated hostile HTTP requests with GraphQL errors or clean 4xx, never 5xx or internals`, async () => {
    const corpus = buildHttpCorpus(new Rng(SEED), ids, keys, HTTP_CASES);
    const base = new URL(server.app.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_IN_FLIGHT });
    try {
      await pool(corpus, HTTP_IN_FLIGHT, async (c) => {
        count(c.category);
        let answer: { status: number; text: string };
        try {
          answer = await httpSend(base, agent, c);
        } catch (error) {
          // A keep-alive socket the server closed just as it was reused: try once on a fresh one.
          try {
            answer = await httpSend(base, new http.Agent({ keepAlive: false }), c);
          } catch {
            failures.push(`${c.category} ${c.method} ${c.path.slice(0, 80)}: no answer: ${(error as Error).message}`);
            return;
          }
        }
        const failure = checkHttp(c, answer.status, answer.text);
        if (failure) failures.push(`${failure}\n    request: ${c.body === undefined ? decodeURIComponent(c.path).slice(0, 300) : String(c.body).slice(0, 300)}`);
      });
    } finally {
      agent.destroy();
    }
    // FUZZ_DUMP=<file> writes every failure with its request, for digging into a red run.
    if (process.env.FUZZ_DUMP) writeFileSync(process.env.FUZZ_DUMP, failures.join('\n'));
    expect(failures.slice(0, 25), `${failures.length} failures`).toEqual([]);
  }, 120_000);

  it(`answers ${RAW_TCP_CASES} malformed raw HTTP requests with a 4xx or a closed connection`, async () => {
    const corpus = buildRawCorpus(new Rng(SEED + 1), RAW_TCP_CASES);
    const local: string[] = [];
    await pool(corpus, 20, async (request) => {
      count('raw-tcp');
      const answer = await rawSend(server.app.port, request);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      if (status && Number(status) >= 500) local.push(`raw ${JSON.stringify(request.slice(0, 80))}: HTTP ${status}`);
      if (status && !['101', '400', '404', '405', '406', '411', '413', '414', '415', '426', '431'].includes(status)) {
        // Anything else must at least be a well-formed GraphQL answer.
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        if (LEAK.test(body)) local.push(`raw ${JSON.stringify(request.slice(0, 80))}: leaks internals`);
      }
    });
    failures.push(...local);
    expect(local, `${local.length} failures`).toEqual([]);
  }, 60_000);

  it(`ends every one of ${WS_CASES} generated hostile WebSocket sessions in a GraphQL error or a protocol close code`, async () => {
    const corpus = buildWsCorpus(new Rng(SEED + 2), ids, keys, WS_CASES);
    // The sessions that wait for the server's init timeout first, so their 3 s overlap the rest.
    const ordered = [...corpus.filter((c) => c.category === 'ws:no-init'), ...corpus.filter((c) => c.category !== 'ws:no-init')];
    const local: string[] = [];
    await pool(ordered, WS_IN_FLIGHT, async (c, index) => {
      count(c.category);
      const failure = await runWsCase(server.wsUrl, c, index).catch((error: unknown) => `${c.category} #${index}: ${(error as Error).message}`);
      if (failure) local.push(failure);
    });
    failures.push(...local);
    expect(local.slice(0, 25), `${local.length} failures`).toEqual([]);
  }, 120_000);

  it('sent at least 10,000 requests and sessions, across every category', () => {
    expect(sent).toBeGreaterThanOrEqual(10_000);
    for (const category of ['deep-nesting', 'alias-bomb', 'directive-flood', 'token-flood', 'cost-bomb', 'fragment-cycle', 'unknown-field', 'invalid-global-id', 'wrong-variable-type', 'injection', 'hostile-mutation', 'broken-json', 'wrong-type', 'random-bytes', 'content-type', 'method', 'batch', 'body-too-large', 'raw-tcp', 'ws:garbage', 'ws:binary', 'ws:before-init', 'ws:second-init', 'ws:ids-types', 'ws:bad-init', 'ws:huge', 'ws:invalid-json', 'ws:duplicate-id', 'ws:abandoned', 'ws:subprotocol', 'ws:no-init']) {
      expect(stats.get(category) ?? 0, category).toBeGreaterThan(0);
    }
  });

  it('keeps serving afterwards: a normal query over HTTP and WebSocket, /healthz and /readyz, and no subscription left behind', async () => {
    const { status, body } = await postGraphQL(server.graphqlUrl, '{ viewer { name } }', { key: server.adminKey });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { viewer: { name: 'Heartbeat' } } });
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${server.adminKey}` });
    try {
      expect(await collect(client, '{ viewer { name } }')).toEqual([{ data: { viewer: { name: 'Heartbeat' } } }]);
    } finally {
      await client.dispose();
    }
    expect((await fetch(`${server.app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.app.url}/readyz`)).status).toBe(200);
    await waitFor('every subscription of the fuzz to be released', () => server.app.hub.size === 0, { timeoutMs: 20_000 });
    // The database is intact: the fixtures are still there, nothing was dropped.
    const [{ n }] = await server.database.db.execute<{ n: number }>(sql`select count(*)::int as n from api_keys`);
    expect(n).toBeGreaterThanOrEqual(3);
  });
});
