// The CLI's cost commands: `costs` (the ledger summed per agent, issue, project, model, provider or
// day), `budgets list|set|delete` and `projects list|create`. Registered by cli.ts, with its helpers.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { resolveProject } from './cli-ids.ts';
import type { CliKit } from './cli-kit.ts';
import { type Budget, type CostBucket, type CostGroup, HeartbeatApiError, type HeartbeatClient } from './index.ts';

const GROUPS = ['agent', 'issue', 'project', 'model', 'provider', 'day'] as const;
const SCOPES = ['company', 'agent', 'project'] as const;
const PERIODS = ['month', 'all-time'] as const;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** `7d`, `24h` or `2w` ago, or a date (`2026-12-01`, UTC midnight) or an ISO instant. */
export function parseWhen(value: string, now = Date.now()): Date {
  const relative = /^(\d+)([hdw])$/.exec(value.trim());
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  const at = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected a time back like 7d, 24h or 2w, or a date like 2026-12-01');
  return new Date(at);
}

const dollars = (cents: number) => `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const count = (n: number) => n.toLocaleString('en-US');

/** What a bucket is the sum of, in the grouped columns. */
const GROUP_LABELS: Record<(typeof GROUPS)[number], (bucket: CostBucket) => string | null> = {
  agent: (bucket) => bucket.agent?.name ?? null,
  issue: (bucket) => bucket.issue?.identifier ?? null,
  project: (bucket) => bucket.project?.name ?? null,
  model: (bucket) => bucket.model ?? null,
  provider: (bucket) => bucket.provider ?? null,
  day: (bucket) => bucket.day ?? null,
};

const sums = (bucket: Pick<CostBucket, 'costCents' | 'inputTokens' | 'cachedInputTokens' | 'outputTokens' | 'runs'>) => ({
  cost: dollars(bucket.costCents),
  input: count(bucket.inputTokens),
  cached: count(bucket.cachedInputTokens),
  output: count(bucket.outputTokens),
  runs: bucket.runs,
});

/** A budget's scope for people: the company, or the agent's or project's name. */
function scopeName(budget: Budget, names: Map<string, string>): string {
  if (budget.scope === 'COMPANY') return 'company';
  return `${budget.scope.toLowerCase()} ${names.get(budget.scopeId ?? '') ?? budget.scopeId}`;
}

const budgetRow = (budget: Budget, names: Map<string, string>) => ({
  id: budget.id,
  scope: scopeName(budget, names),
  period: budget.period === 'ALL_TIME' ? 'all time' : 'month',
  limit: dollars(budget.limitCents),
  spent: dollars(budget.spentCents),
  used: budget.limitCents > 0 ? `${Math.floor((budget.spentCents * 100) / budget.limitCents)}%` : '-',
  warn: `${budget.warnPercent}%`,
  status: budget.status,
});
const BUDGET_COLUMNS = ['id', 'scope', 'period', 'limit', 'spent', 'used', 'warn', 'status'];

export function registerCostCommands(program: Command, kit: CliKit): void {
  const { withClient, print, table, resolveAgent } = kit;

  /** Names of the agents and projects budgets are set for, by global id (read only when there are such budgets). */
  const scopeNames = async (client: HeartbeatClient, budgets: Budget[]) => {
    const [agents, projects] = await Promise.all([
      budgets.some((b) => b.scope === 'AGENT') ? client.agents() : [],
      budgets.some((b) => b.scope === 'PROJECT') ? client.projects() : [],
    ]);
    return new Map([...agents, ...projects].map((named) => [named.id, named.name]));
  };

  program
    .command('costs')
    .description('what runs cost: summed per agent, issue, project, model, provider or UTC day, biggest first, with the total')
    .addOption(new Option('--by <group...>', 'sum per these (several: per combination)').choices(GROUPS))
    .option('--since <when>', 'from this time on: 7d, 24h, 2w back, or a date (2026-12-01, UTC) or ISO time', (value) => parseWhen(value))
    .option('--until <when>', 'before this time (same forms)', (value) => parseWhen(value))
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, options: { by?: Array<(typeof GROUPS)[number]>; since?: Date; until?: Date }) => {
        const groups = [...new Set(options.by ?? [])];
        const filter = { from: options.since?.toISOString(), to: options.until?.toISOString() };
        // The total is the ledger's own sum, not the shown buckets' (a summary stops at 1,000 buckets).
        const [buckets, [total]] = await Promise.all([
          groups.length ? client.costSummary({ filter, groupBy: groups.map((g) => g.toUpperCase() as CostGroup) }) : Promise.resolve([]),
          client.costSummary({ filter }),
        ]);
        // Days read best in order; anything else biggest first, as the API answers.
        if (groups.includes('day')) buckets.sort((a, b) => (a.day ?? '').localeCompare(b.day ?? ''));
        const empty = { costCents: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, runs: 0 };
        // The total's label goes in the first grouped column (without groups, one of its own, unnamed).
        const label = groups[0] ?? '';
        const rows = [
          ...buckets.map((bucket) => ({ ...Object.fromEntries(groups.map((g) => [g, GROUP_LABELS[g](bucket)])), ...sums(bucket) })),
          { [label]: 'total', ...sums(total ?? empty) },
        ];
        print(json, { buckets, total: total ?? empty }, () => table(rows, [...(groups.length ? groups : [label]), 'cost', 'input', 'cached', 'output', 'runs']));
      }),
    );

  const budgets = program.command('budgets').description('spending limits of the company, its agents and projects');
  budgets
    .command('list')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json) => {
        const list = await client.budgets();
        const names = await scopeNames(client, list);
        print(json, list, () => (list.length ? table(list.map((b) => budgetRow(b, names)), BUDGET_COLUMNS) : 'no budgets'));
      }),
    );
  budgets
    .command('set')
    .description('set the budget of a scope and period (replacing its limit); admin keys only')
    .addOption(new Option('--scope <scope>', 'what it limits').choices(SCOPES).makeOptionMandatory())
    .option('--id <id>', 'the agent or project (id or name); none for the company')
    .addOption(new Option('--period <period>', 'the calendar month (UTC) or all time').choices(PERIODS).makeOptionMandatory())
    .requiredOption('--limit-cents <n>', 'the limit in cents', integerAtLeast(0))
    .option('--warn-percent <p>', 'WARNING from this percentage of the limit (1-100, default 80)', integerAtLeast(1))
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, options: { scope: (typeof SCOPES)[number]; id?: string; period: (typeof PERIODS)[number]; limitCents: number; warnPercent?: number }) => {
        if (options.scope === 'company' && options.id) throw new HeartbeatApiError('a company budget takes no --id', 'BAD_USER_INPUT');
        if (options.scope !== 'company' && !options.id) throw new HeartbeatApiError(`${options.scope === 'agent' ? 'an agent' : 'a project'} budget needs --id`, 'BAD_USER_INPUT');
        const target = options.scope === 'agent' ? await resolveAgent(client, options.id!) : options.scope === 'project' ? await resolveProject(client, options.id!) : null;
        const budget = await client.setBudget({
          scope: options.scope.toUpperCase() as Budget['scope'],
          scopeId: target?.id,
          period: options.period === 'all-time' ? 'ALL_TIME' : 'MONTH',
          limitCents: options.limitCents,
          warnPercent: options.warnPercent,
        });
        const names = new Map(target ? [[target.id, target.name]] : []);
        print(json, budget, () => table([budgetRow(budget, names)], BUDGET_COLUMNS));
      }),
    );
  budgets
    .command('delete <id>')
    .description('delete a budget (its id from `budgets list`); admin keys only')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string) => {
        const deleted = await client.deleteBudget(id);
        print(json, { id, deleted }, () => `deleted budget ${id}`);
      }),
    );

  const projects = program.command('projects').description('projects: groups of issues that cost and budgets can be scoped to');
  projects
    .command('list')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json) => {
        const list = await client.projects();
        const rows = list.map((p) => ({ id: p.id, name: p.name, issues: p.issues.totalCount, cost: dollars(p.cost.costCents), runs: p.cost.runs }));
        print(json, list, () => (list.length ? table(rows, ['id', 'name', 'issues', 'cost', 'runs']) : 'no projects'));
      }),
    );
  projects
    .command('create <name>')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, name: string) => {
        const project = await client.createProject(name);
        print(json, project, () => `created project ${project.name} (${project.id})`);
      }),
    );
}

/** A commander parser for a whole number of at least `min` (the server checks the upper bounds). */
function integerAtLeast(min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number, ${min} or more`);
    return n;
  };
}
