// The CLI's issue commands: `issues list|show|create|assign|comment`. An issue is given by its
// identifier (HB-12), id, UUID or short id (cli-ids.ts). Assigning an agent, and a person's comment
// on an issue assigned to one, wake that agent: the commands say what came of it.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveIssue, resolveProject, shortId } from './cli-ids.ts';
import { cut, integerBetween, oneOf, request, type CliKit } from './cli-kit.ts';
import { CliAssignIssueMutation, CliCommentIssueMutation, CliCreateIssueMutation, CliIssueQuery, CliIssuesQuery } from './cli-operations.ts';
import type { CliIssueFieldsFragment as Issue, CliIssueQuery as IssueResult, CliWakeFieldsFragment as Wake, IssuePriority, IssueStatus } from './generated/graphql.ts';
import { HeartbeatApiError } from './index.ts';

/** Every status and priority (the compiler checks the lists against the schema's). */
const STATUSES = Object.keys({ BACKLOG: 1, TODO: 1, IN_PROGRESS: 1, IN_REVIEW: 1, BLOCKED: 1, DONE: 1, CANCELLED: 1 } satisfies Record<IssueStatus, 1>) as IssueStatus[];
const PRIORITIES = Object.keys({ LOW: 1, MEDIUM: 1, HIGH: 1, CRITICAL: 1 } satisfies Record<IssuePriority, 1>) as IssuePriority[];
const lower = (values: string[]) => values.map((v) => v.toLowerCase().replace(/_/g, '-')).join(', ');
/** Comments `issues show` prints, the latest; --json has them all. */
const COMMENTS_SHOWN = 5;

const assignee = (issue: Issue) => issue.assigneeAgent?.name ?? (issue.assigneeUserId ? `user ${issue.assigneeUserId}` : null);

const issueRow = (issue: Issue) => ({
  id: shortId(issue.id),
  issue: issue.identifier,
  status: issue.status,
  priority: issue.priority,
  assignee: assignee(issue),
  title: cut(issue.title, 50),
  updated: issue.updatedAt,
});

/** What a change's wakeup of the assigned agent came to, in a line; undefined when there was none. */
export function describeWake(wakeup: Wake | null | undefined, agent: string | undefined): string | undefined {
  if (!wakeup) return undefined;
  const who = agent ? `agent ${agent}` : 'the agent';
  if (wakeup.run) return `woke ${who}: run ${shortId(wakeup.run.id)} ${wakeup.run.status} (${wakeup.outcome})`;
  const why = wakeup.wakeupRequest.error ?? wakeup.wakeupRequest.reason;
  return `${who} was not woken now: ${wakeup.outcome}${why ? ` (${why})` : ''}`;
}

/** An issue for people: its state, who has it, its runs and its latest comments. */
function describeIssue(issue: NonNullable<IssueResult['issue']>): string {
  const lines = [
    `issue    ${issue.identifier} ${issue.title}`,
    `id       ${issue.id} (${shortId(issue.id)})`,
    `status   ${issue.status}, priority ${issue.priority}`,
    `assignee ${assignee(issue) ?? 'nobody'}`,
  ];
  if (issue.project) lines.push(`project  ${issue.project.name}`);
  if (issue.blockers.length) lines.push(`blocked  by ${issue.blockers.map((b) => `${b.identifier} (${b.status})`).join(', ')}`);
  if (issue.executionRun) lines.push(`running  run ${shortId(issue.executionRun.id)} (${issue.executionRun.status})`);
  lines.push(`cost     $${(issue.cost.costCents / 100).toFixed(2)} over ${issue.cost.runs} run${issue.cost.runs === 1 ? '' : 's'}`);
  lines.push(`created  ${issue.createdAt}, updated ${issue.updatedAt}`);
  if (issue.description) lines.push('', ...issue.description.replace(/\n$/, '').split('\n').map((line) => `  ${line}`));
  if (issue.runs.totalCount) {
    lines.push('', `runs (${issue.runs.totalCount}, the latest first)`);
    for (const { node } of issue.runs.edges) lines.push(`  ${shortId(node.id)}  ${node.status.padEnd(15)}  ${node.agent.name}  ${node.createdAt}`);
  }
  if (issue.comments.length) {
    const shown = issue.comments.slice(-COMMENTS_SHOWN);
    lines.push('', `comments (${issue.comments.length}${issue.comments.length > shown.length ? `, the last ${shown.length}` : ''})`);
    for (const comment of shown) {
      const author = comment.authorAgent ? `agent ${comment.authorAgent.name}` : (comment.authorUserId ?? 'someone');
      lines.push(`  ${comment.createdAt} ${author}:`, ...comment.body.replace(/\n$/, '').split('\n').map((line) => `    ${line}`));
    }
  }
  return lines.join('\n');
}

interface ListOptions {
  status?: IssueStatus[];
  assignee?: string;
  limit: number;
}

export function registerIssueCommands(program: Command, kit: CliKit): void {
  const { withClient, print, table, resolveAgent } = kit;
  const collect = <T>(parse: (value: string) => T) => (value: string, previous: T[] = []) => [...previous, parse(value)];

  const issues = program.command('issues').description('issues: units of work agents are woken for (by identifier such as HB-12, id or short id)');
  issues
    .command('list')
    .description('issues, newest first')
    .option('--status <status...>', `only these statuses (${lower(STATUSES)})`, collect(oneOf(STATUSES)))
    .option('--assignee <agent>', 'only those assigned to this agent (id, short id or name)')
    .option('--limit <n>', 'how many (1-100)', integerBetween(1, 100), 20)
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, options: ListOptions) => {
        const agentId = options.assignee ? (await resolveAgent(client, options.assignee)).id : undefined;
        const filter = { status: options.status ?? null, assigneeAgentId: agentId ?? null };
        const shown = (await request(client, 'query', CliIssuesQuery, { first: options.limit, filter })).issues.edges.map((edge) => edge.node);
        print(json, shown, () => (shown.length ? table(shown.map(issueRow), ['id', 'issue', 'status', 'priority', 'assignee', 'title', 'updated']) : 'no issues'));
      }),
    );
  issues
    .command('show <issue>')
    .description('an issue: its state, assignee, description, latest runs and comments')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, issueArg: string) => {
        const { issue } = await request(client, 'query', CliIssueQuery, { id: await resolveIssue(client, issueArg) });
        if (!issue) throw new HeartbeatApiError(`no issue ${issueArg}`, 'NOT_FOUND');
        print(json, issue, () => describeIssue(issue));
      }),
    );
  issues
    .command('create <title>')
    .description('create an issue; assigning an agent wakes it')
    .option('--description <text>', 'what is to be done')
    .option('--priority <priority>', `${lower(PRIORITIES)} (default medium)`, oneOf(PRIORITIES))
    .option('--status <status>', `${lower(STATUSES)} (default todo)`, oneOf(STATUSES))
    .option('--assignee <agent>', 'the agent to assign (id, short id or name): it is woken')
    .option('--project <project>', 'the project it belongs to (id or name)')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, title: string, options: { description?: string; priority?: IssuePriority; status?: IssueStatus; assignee?: string; project?: string }) => {
        const agent = options.assignee ? await resolveAgent(client, options.assignee) : undefined;
        const project = options.project ? await resolveProject(client, options.project) : undefined;
        const { createIssue } = await request(client, 'mutation', CliCreateIssueMutation, {
          input: { title, description: options.description, priority: options.priority, status: options.status, assigneeAgentId: agent?.id, projectId: project?.id },
        });
        const { issue, wakeup } = createIssue;
        print(json, createIssue, () => [`created issue ${issue.identifier} (${shortId(issue.id)}): ${issue.title}`, describeWake(wakeup, agent?.name)].filter(Boolean).join('\n'));
      }),
    );
  issues
    .command('assign <issue> [agent]')
    .description('assign an issue to an agent (it is woken), to a person (--user), or to nobody (--unassign)')
    .option('--user <id>', 'a person to assign instead of an agent')
    .option('--unassign', 'assign it to nobody')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, issueArg: string, agentArg: string | undefined, options: { user?: string; unassign?: boolean }) => {
        const given = [agentArg !== undefined, options.user !== undefined, !!options.unassign].filter(Boolean).length;
        if (given !== 1) throw new HeartbeatApiError('give an agent, --user <id> or --unassign (one of them)', 'BAD_USER_INPUT');
        const issueId = await resolveIssue(client, issueArg);
        const agent = agentArg !== undefined ? await resolveAgent(client, agentArg) : undefined;
        const { assignIssue } = await request(client, 'mutation', CliAssignIssueMutation, { input: { issueId, agentId: agent?.id, userId: options.user } });
        const { issue, wakeup } = assignIssue;
        print(json, assignIssue, () => [`${issue.identifier} is assigned to ${assignee(issue) ?? 'nobody'}`, describeWake(wakeup, agent?.name)].filter(Boolean).join('\n'));
      }),
    );
  issues
    .command('comment <issue> <body>')
    .description("comment on an issue (`-` reads the comment from stdin); it wakes the issue's agent")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, issueArg: string, bodyArg: string) => {
        const body = bodyArg === '-' ? readFileSync(0, 'utf8') : bodyArg;
        const { addIssueComment } = await request(client, 'mutation', CliCommentIssueMutation, { input: { issueId: await resolveIssue(client, issueArg), body } });
        const { comment, wakeup } = addIssueComment;
        print(json, addIssueComment, () => [`commented on ${comment.issue.identifier}`, describeWake(wakeup, comment.issue.assigneeAgent?.name)].filter(Boolean).join('\n'));
      }),
    );
}
