// The Spend panel: what the company's runs cost over the last 14 UTC days, per day and per agent, as
// CSS bars. Read in one query whenever the session (re)loads its run list (at load, after a
// reconnect); never polled. A failure shows in the panel only: the runs and their banner go on.
import type { HeartbeatClient } from '../index.ts';
import { describeError, h, money } from './view.ts';

const DAYS = 14;
/** Agents with a bar of their own; the rest are summed in one line. */
const AGENTS_SHOWN = 5;
const DAY_MS = 86_400_000;

type Spend = Awaited<ReturnType<HeartbeatClient['spend']>>;

/** The last `DAYS` UTC days, oldest first, as YYYY-MM-DD (the API's day buckets). */
export function lastDays(now = Date.now()): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: DAYS }, (_, i) => new Date(today - (DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** A bar `share` (0..1) of the largest, never invisible when it is not zero. */
const barSize = (cents: number, largest: number) => (largest > 0 && cents > 0 ? `${Math.max(2, Math.round((cents / largest) * 100))}%` : '0');

function dayBars(spend: Spend, days: string[]): HTMLElement {
  const byDay = new Map(spend.byDay.map((bucket) => [bucket.day, bucket]));
  const largest = Math.max(0, ...spend.byDay.map((bucket) => bucket.costCents));
  const short = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: 'UTC' });
  return h(
    'div',
    { class: 'spend-days' },
    h(
      'div',
      { class: 'day-bars', 'data-testid': 'spend-days' },
      ...days.map((day) => {
        const bucket = byDay.get(day);
        const title = `${day}: ${money(bucket?.costCents ?? 0)} · ${bucket?.runs ?? 0} run${bucket?.runs === 1 ? '' : 's'}`;
        return h('div', { class: 'day', title, 'data-day': day, 'data-cents': bucket?.costCents ?? 0 }, h('span', { style: `height: ${barSize(bucket?.costCents ?? 0, largest)}` }));
      }),
    ),
    h('div', { class: 'day-axis muted' }, h('span', {}, short(days[0])), h('span', {}, `${DAYS} days`), h('span', {}, short(days.at(-1)!))),
  );
}

function agentBars(spend: Spend): HTMLElement {
  const shown = spend.byAgent.slice(0, AGENTS_SHOWN);
  const rest = spend.byAgent.slice(AGENTS_SHOWN).reduce((cents, bucket) => cents + bucket.costCents, 0);
  const largest = Math.max(0, ...shown.map((bucket) => bucket.costCents));
  return h(
    'ul',
    { class: 'agent-bars', 'data-testid': 'spend-agents' },
    ...shown.map((bucket) =>
      h(
        'li',
        { title: `${bucket.agent?.name ?? 'unknown'}: ${money(bucket.costCents)} · ${bucket.runs} run${bucket.runs === 1 ? '' : 's'}` },
        h('div', { class: 'agent-line' }, h('span', { class: 'agent-name' }, bucket.agent?.name ?? 'unknown'), h('span', { class: 'amount' }, money(bucket.costCents))),
        h('div', { class: 'bar' }, h('span', { style: `width: ${barSize(bucket.costCents, largest)}` })),
      ),
    ),
    rest > 0 ? h('li', { class: 'muted' }, `${spend.byAgent.length - AGENTS_SHOWN} more: ${money(rest)}`) : null,
  );
}

export class SpendPanel {
  private readonly body = h('div', { class: 'muted' }, 'Loading…');
  private readonly total = h('span', { class: 'spend-total', 'data-testid': 'spend-total' });
  readonly element = h('section', { class: 'panel spend', 'data-testid': 'spend', title: `The last ${DAYS} days (UTC)` }, h('h2', {}, 'Spend', this.total), this.body);
  private loading: Promise<void> | null = null;

  constructor(private readonly client: HeartbeatClient) {}

  /** Reads and shows the last 14 days (one read at a time: a second call while one is on its way shares it). */
  load(): Promise<void> {
    this.loading ??= this.read().finally(() => (this.loading = null));
    return this.loading;
  }

  private async read(): Promise<void> {
    const days = lastDays();
    try {
      const spend = await this.client.spend(new Date(`${days[0]}T00:00:00Z`));
      const cents = spend.byDay.reduce((sum, bucket) => sum + bucket.costCents, 0);
      this.total.textContent = money(cents);
      this.body.className = '';
      if (spend.byDay.length === 0) {
        this.body.className = 'empty';
        this.body.replaceChildren('No spend in the last 14 days.');
      } else {
        this.body.replaceChildren(dayBars(spend, days), agentBars(spend));
      }
    } catch (error) {
      this.body.className = 'muted';
      this.body.replaceChildren(`Cannot load spend: ${describeError(error)}`);
    }
  }
}
