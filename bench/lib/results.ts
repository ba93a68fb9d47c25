// Collects every measurement of a bench run, reduces rounds to medians, computes Heartbeat / peer
// ratios, checks the targets, prints a Markdown table and writes bench/results/latest.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { median, round } from './stats.ts';

export const HEARTBEAT = 'heartbeat';
export const PEERS = ['graphile-worker', 'pg-boss'] as const;
/**
 * References that are not competitors: the database's own ceiling, a bare graphql-yoga server, and
 * Heartbeat's own rows written by bare SQL with no engine (bookkeeping-floor.ts).
 */
export const REFERENCES = ['postgres', 'bare-yoga', 'bare-sql'] as const;
export const SYSTEMS = [HEARTBEAT, ...PEERS, ...REFERENCES] as const;
export type System = (typeof SYSTEMS)[number];

export interface Metric {
  scenario: string;
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  /** One value per round, by system. */
  rounds: Partial<Record<System, number[]>>;
}

export interface MetricSummary extends Metric {
  median: Partial<Record<System, number>>;
  /** Heartbeat's median divided by each other system's median (for `lower` metrics too: <1 is better there). */
  ratio: Partial<Record<System, number>>;
}

export interface Target {
  name: string;
  bar: string;
  measured: string;
  met: boolean;
}

export class Results {
  private readonly metrics = new Map<string, Metric>();
  private readonly notes = new Map<string, string[]>();
  readonly startedAt = new Date();

  record(scenario: string, name: string, unit: string, better: Metric['better'], system: System, value: number): void {
    const key = `${scenario}\u0000${name}`;
    let metric = this.metrics.get(key);
    if (!metric) this.metrics.set(key, (metric = { scenario, name, unit, better, rounds: {} }));
    (metric.rounds[system] ??= []).push(value);
  }

  /** Free text about how a scenario was run (configs, sizes); printed under the table. */
  note(scenario: string, text: string): void {
    const list = this.notes.get(scenario) ?? [];
    if (!list.includes(text)) list.push(text);
    this.notes.set(scenario, list);
  }

  summaries(): MetricSummary[] {
    return [...this.metrics.values()].map((metric) => {
      const medians: MetricSummary['median'] = {};
      for (const [system, values] of Object.entries(metric.rounds) as [System, number[]][]) medians[system] = median(values);
      const ratio: MetricSummary['ratio'] = {};
      const own = medians.heartbeat;
      if (own !== undefined) {
        for (const [system, value] of Object.entries(medians) as [System, number][]) {
          if (system !== HEARTBEAT && value) ratio[system] = own / value;
        }
      }
      return { ...metric, median: medians, ratio };
    });
  }

  find(scenario: string, name: string): MetricSummary | undefined {
    return this.summaries().find((m) => m.scenario === scenario && m.name === name);
  }

  table(): string {
    const fmt = (value: number | undefined, unit: string) => {
      if (value === undefined || Number.isNaN(value)) return '';
      const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
      return `${round(value, digits).toLocaleString('en-US')}${unit === 'ms' ? ' ms' : ''}`;
    };
    const lines = [
      '| Scenario | Metric | Heartbeat | graphile-worker | pg-boss | Reference | Heartbeat / peer |',
      '|---|---|---:|---:|---:|---:|---|',
    ];
    for (const m of this.summaries()) {
      const reference = REFERENCES.filter((r) => m.median[r] !== undefined)
        .map((r) => `${fmt(m.median[r], m.unit)} (${r})`)
        .join(', ');
      const ratios = (Object.entries(m.ratio) as [System, number][])
        .map(([system, value]) => `${round(value, 2)}x ${system}`)
        .join(', ');
      const unit = m.unit === 'ms' ? '' : ` (${m.unit})`;
      lines.push(
        `| ${m.scenario} | ${m.name}${unit} | ${fmt(m.median.heartbeat, m.unit)} | ${fmt(m.median['graphile-worker'], m.unit)} | ${fmt(m.median['pg-boss'], m.unit)} | ${reference} | ${ratios} |`,
      );
    }
    return lines.join('\n');
  }

  notesText(): string {
    return [...this.notes.entries()].map(([scenario, list]) => list.map((text) => `- ${scenario}: ${text}`).join('\n')).join('\n');
  }

  async write(path: string, extra: { quick: boolean; targets: Target[]; postgres: Record<string, unknown>; durationMs: number }): Promise<void> {
    const cpu = cpus();
    const body = {
      startedAt: this.startedAt.toISOString(),
      durationMs: extra.durationMs,
      quick: extra.quick,
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? null,
        memoryMiB: Math.round(totalmem() / 2 ** 20),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      postgres: extra.postgres,
      metrics: this.summaries(),
      targets: extra.targets,
      notes: Object.fromEntries(this.notes),
    };
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
  }
}
