// What the CLI takes for a run, an agent or an issue: the API's global id, the bare UUID inside it,
// or its first characters (at least 4 hex digits; the console and the CLI's tables show 8). Agents
// also go by name, issues by identifier (HB-12). Several matches are an error listing them.
import { HeartbeatApiError, type HeartbeatClient } from './index.ts';
import { CliIssueSearchQuery } from './cli-operations.ts';
import { request } from './cli-kit.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** At least 4 hex digits, as they start a UUID (its dashes optional). */
const SHORT_ID = /^(?=(?:-?[0-9a-f]){4})[0-9a-f][0-9a-f-]{3,35}$/i;
/** Candidates listed in the error for a short id that matches several. */
const CANDIDATES_SHOWN = 5;

/** The API's global id of a `typename` with this UUID: base64 of "Type:uuid" (schema/global-id.ts). */
export const globalId = (typename: string, uuid: string) => Buffer.from(`${typename}:${uuid.toLowerCase()}`, 'utf8').toString('base64');

/** The UUID inside a global id (of `typename` when given); undefined for anything else. */
export function uuidOf(id: string, typename?: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(id)) return undefined;
  const [type, uuid, ...rest] = Buffer.from(id, 'base64').toString('utf8').split(':');
  if (rest.length || !uuid || !UUID.test(uuid) || (typename && type !== typename)) return undefined;
  return uuid.toLowerCase();
}

/** The first 8 characters of the UUID in a global id: how the console and the tables name things. */
export const shortId = (id: string) => (uuidOf(id) ?? id).slice(0, 8);

/** Whether `text` could be the start of a UUID someone copied (4 hex digits or more). */
export const isShortId = (text: string) => SHORT_ID.test(text);

/** The global id `text` is, or stands for (a bare UUID); undefined when it is neither. */
export function exactId(typename: string, text: string): string | undefined {
  if (UUID.test(text)) return globalId(typename, text);
  return uuidOf(text, typename) ? text : undefined;
}

/** Whether the UUID of global id `id` starts with the short id `short`, dashes or not. */
export const startsWithShortId = (id: string, short: string) =>
  (uuidOf(id) ?? '').replace(/-/g, '').startsWith(short.toLowerCase().replace(/-/g, ''));

/** The one of `matches` (found for `input`), or a clear error: none (NOT_FOUND), or several, listed (BAD_USER_INPUT). */
export function onlyMatch<T>(what: string, input: string, matches: T[], describe: (match: T) => string): T {
  if (matches.length === 1) return matches[0];
  if (!matches.length) throw new HeartbeatApiError(`no ${what} ${input}`, 'NOT_FOUND', { id: input });
  const shown = matches.slice(0, CANDIDATES_SHOWN).map(describe).join(', ');
  const more = matches.length > CANDIDATES_SHOWN ? ` and more` : '';
  throw new HeartbeatApiError(`${what} id ${input} is ambiguous: it starts ${shown}${more}; give more of it`, 'BAD_USER_INPUT', { id: input, candidates: matches.length });
}

/** Refuses what cannot be an id before asking the server. */
function notAnId(what: string, input: string, also = ''): HeartbeatApiError {
  const article = /^[aeiou]/.test(what) ? 'an' : 'a';
  return new HeartbeatApiError(`"${input}" is not ${article} ${what} id: give its id, its UUID or at least its first 4 characters${also}`, 'BAD_USER_INPUT', { id: input });
}

/** A run's global id, from its global id, UUID or short id (the API's `search` finds the last two). */
export async function resolveRun(client: HeartbeatClient, input: string): Promise<string> {
  const text = input.trim();
  const exact = exactId('HeartbeatRun', text);
  if (exact) return exact;
  if (!isShortId(text)) throw notAnId('run', input);
  const page = await client.runs({ first: CANDIDATES_SHOWN + 1, filter: { search: text } });
  const runs = page.edges.map((edge) => edge.node);
  return onlyMatch('run', input, runs, (run) => `${uuidOf(run.id)} (${run.status.toLowerCase()}, agent ${run.agent.name}, created ${run.createdAt})`).id;
}

/** An agent by global id, UUID, exact name or short id (names first: a name may look like hex). */
export async function resolveAgent(client: HeartbeatClient, input: string) {
  const text = input.trim();
  const agents = await client.agents();
  const exact = exactId('Agent', text);
  if (exact) return onlyMatch('agent', input, agents.filter((agent) => agent.id === exact), (agent) => agent.name);
  const named = agents.filter((agent) => agent.name === text);
  if (named.length > 1) throw new HeartbeatApiError(`more than one agent is named "${text}"; use its id`, 'BAD_USER_INPUT');
  if (named.length === 1) return named[0];
  if (!isShortId(text)) throw new HeartbeatApiError(`no agent "${text}"`, 'NOT_FOUND', { id: input });
  return onlyMatch('agent', input, agents.filter((agent) => startsWithShortId(agent.id, text)), (agent) => `${uuidOf(agent.id)} (${agent.name})`);
}

/**
 * An issue's global id, from its global id, UUID, identifier (HB-12, any case) or short id. The
 * API has no search of issues yet: identifiers and short ids are looked for page by page.
 */
export async function resolveIssue(client: HeartbeatClient, input: string): Promise<string> {
  const text = input.trim();
  const exact = exactId('Issue', text);
  if (exact) return exact;
  const identifier = /^[a-z][a-z0-9]*-\d+$/i.test(text) ? text.toUpperCase() : undefined;
  if (!identifier && !isShortId(text)) throw notAnId('issue', input, ', or its identifier such as HB-12');
  const matches: Array<{ id: string; identifier: string; title: string }> = [];
  let after: string | null | undefined;
  do {
    const { issues } = await request(client, 'query', CliIssueSearchQuery, { first: 100, after });
    for (const { node } of issues.edges) {
      if (identifier ? node.identifier === identifier : startsWithShortId(node.id, text)) matches.push(node);
    }
    after = issues.pageInfo.hasNextPage ? issues.pageInfo.endCursor : null;
  } while (after && !(identifier && matches.length));
  return onlyMatch('issue', input, matches, (issue) => `${uuidOf(issue.id)} (${issue.identifier})`).id;
}

/** A project by global id or exact name (projects are few: all of them are read). */
export async function resolveProject(client: HeartbeatClient, input: string) {
  const text = input.trim();
  const projects = await client.projects();
  const found = projects.find((project) => project.id === text || project.name === text);
  if (!found) throw new HeartbeatApiError(`no project "${text}"`, 'NOT_FOUND', { id: input });
  return found;
}
