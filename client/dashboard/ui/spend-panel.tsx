// The Spend panel: what the company's runs cost over the last 14 UTC days, per day and per agent, as
// CSS bars. Read in one query when it appears and again after a reconnect; never polled. A failure
// shows in the panel only: the page around it goes on.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { HeartbeatClient } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { useRecovered } from '../live/live-context.ts';
import { money } from './format.ts';

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

/** A bar's size as a share of the largest, never invisible when it is not zero. */
const barSize = (cents: number, largest: number) => (largest > 0 && cents > 0 ? `${Math.max(2, Math.round((cents / largest) * 100))}%` : '0');

const shortDay = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: 'UTC' });

function DayBars({ spend, days }: { spend: Spend; days: string[] }) {
  const byDay = new Map(spend.byDay.map((bucket) => [bucket.day, bucket]));
  const largest = Math.max(0, ...spend.byDay.map((bucket) => bucket.costCents));
  return (
    <div class="spend-days">
      <div class="day-bars" data-testid="spend-days">
        {days.map((day) => {
          const bucket = byDay.get(day);
          const cents = bucket?.costCents ?? 0;
          const runs = bucket?.runs ?? 0;
          return (
            <div key={day} class="day" title={`${day}: ${money(cents)} · ${runs} run${runs === 1 ? '' : 's'}`} data-day={day} data-cents={cents}>
              <span style={{ height: barSize(cents, largest) }} />
            </div>
          );
        })}
      </div>
      <div class="day-axis muted">
        <span>{shortDay(days[0])}</span>
        <span>{DAYS} days</span>
        <span>{shortDay(days.at(-1)!)}</span>
      </div>
    </div>
  );
}

function AgentBars({ spend }: { spend: Spend }) {
  const shown = spend.byAgent.slice(0, AGENTS_SHOWN);
  const rest = spend.byAgent.slice(AGENTS_SHOWN).reduce((cents, bucket) => cents + bucket.costCents, 0);
  const largest = Math.max(0, ...shown.map((bucket) => bucket.costCents));
  return (
    <ul class="agent-bars" data-testid="spend-agents">
      {shown.map((bucket) => {
        const name = bucket.agent?.name ?? 'unknown';
        return (
          <li key={bucket.agent?.id ?? name} title={`${name}: ${money(bucket.costCents)} · ${bucket.runs} run${bucket.runs === 1 ? '' : 's'}`}>
            <div class="agent-line">
              <span class="agent-name">{name}</span>
              <span class="amount">{money(bucket.costCents)}</span>
            </div>
            <div class="bar">
              <span style={{ width: barSize(bucket.costCents, largest) }} />
            </div>
          </li>
        );
      })}
      {rest > 0 ? <li class="muted">{`${spend.byAgent.length - AGENTS_SHOWN} more: ${money(rest)}`}</li> : null}
    </ul>
  );
}

export function SpendPanel() {
  const { client } = useConsole();
  const [state, setState] = useState<{ spend?: Spend; days?: string[]; error?: unknown }>({});
  const load = useCallback(() => {
    const days = lastDays();
    client.spend(new Date(`${days[0]}T00:00:00Z`)).then(
      (spend) => setState({ spend, days }),
      (error: unknown) => setState({ error }),
    );
  }, [client]);
  useEffect(load, [load]);
  useRecovered(load);

  const { spend, days, error } = state;
  const total = spend ? money(spend.byDay.reduce((sum, bucket) => sum + bucket.costCents, 0)) : '';
  return (
    <section class="panel spend" data-testid="spend" title={`The last ${DAYS} days (UTC)`}>
      <h2>
        Spend <span class="spend-total" data-testid="spend-total">{total}</span>
      </h2>
      {error ? (
        <div class="muted">Cannot load spend: {describeError(error)}</div>
      ) : !spend || !days ? (
        <div class="muted">Loading…</div>
      ) : spend.byDay.length === 0 ? (
        <div class="empty">No spend in the last {DAYS} days.</div>
      ) : (
        <div>
          <DayBars spend={spend} days={days} />
          <AgentBars spend={spend} />
        </div>
      )}
    </section>
  );
}
