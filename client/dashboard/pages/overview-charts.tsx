// The overview's three charts: runs per minute by outcome and the p95 duration per minute (last hour,
// from runActivity), and spend per UTC day (last 14 days, from costSummary by day).
import { useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { money } from '../ui/index.ts';
import { durationText } from './agent-numbers.ts';
import { Chart } from './overview-chart.tsx';

export interface ActivityBucket {
  start: string;
  succeeded: number;
  failed: number;
  cancelled: number;
  timedOut: number;
  started: number;
  p95DurationMs: number | null;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const HALF_DAY_S = 43_200;

const OUTCOMES = [
  { key: 'succeeded', label: 'Succeeded', color: '#16a34a' },
  { key: 'failed', label: 'Failed', color: '#dc2626' },
  { key: 'timedOut', label: 'Timed out', color: '#ea580c' },
  { key: 'cancelled', label: 'Cancelled', color: '#94a3b8' },
] as const;

const axisStyle = { stroke: '#6b7385', grid: { stroke: '#eef0f4', width: 1 }, ticks: { stroke: '#e3e6ec', width: 1 } };

/** Runs that finished in each minute by outcome, and the runs that started in it, as lines. */
export function RunsPerMinuteChart({ buckets }: { buckets: readonly ActivityBucket[] }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [axisStyle, { ...axisStyle, size: 40, values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : '')) }],
      series: [
        {},
        ...OUTCOMES.map((outcome) => ({ label: outcome.label, stroke: outcome.color, width: 2, points: { show: false } })),
        { label: 'Started', stroke: '#2563eb', width: 1, dash: [4, 4], points: { show: false } },
      ],
    }),
    [],
  );
  const data = useMemo<uPlot.AlignedData>(
    () => [buckets.map((bucket) => seconds(bucket.start)), ...OUTCOMES.map((outcome) => buckets.map((bucket) => bucket[outcome.key])), buckets.map((bucket) => bucket.started)],
    [buckets],
  );
  return <Chart testId="chart-runs" options={options} data={data} />;
}

/** The 95th percentile of the durations of the runs that finished in each minute (gaps: none finished). */
export function P95DurationChart({ buckets }: { buckets: readonly ActivityBucket[] }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] } },
      axes: [axisStyle, { ...axisStyle, size: 68, values: (_u, ticks) => ticks.map((tick) => durationText(tick * 1000)) }],
      // Points as well as lines: a minute alone between quiet ones has no neighbour to draw a line to.
      series: [{}, { label: 'p95 duration', stroke: '#7c3aed', fill: 'rgba(124, 58, 237, 0.08)', width: 2, spanGaps: false, points: { show: true, size: 5 }, value: (_u, value) => durationText(value == null ? null : value * 1000) }],
    }),
    [],
  );
  const data = useMemo<uPlot.AlignedData>(
    () => [buckets.map((bucket) => seconds(bucket.start)), buckets.map((bucket) => (bucket.p95DurationMs === null ? null : bucket.p95DurationMs / 1000))],
    [buckets],
  );
  return <Chart testId="chart-p95" options={options} data={data} />;
}

/** Billed dollars per UTC day, as bars; `days` are YYYY-MM-DD, oldest first, each with its cents. */
export function SpendPerDayChart({ days }: { days: ReadonlyArray<{ day: string; costCents: number }> }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      // Half a day either side, so that the first and the last day's bars are whole.
      scales: { x: { time: true, range: (_u, min, max) => [min - HALF_DAY_S, max + HALF_DAY_S] }, y: { range: (_u, _min, max) => [0, Math.max(0.01, max)] } },
      axes: [axisStyle, { ...axisStyle, size: 60, values: (_u, ticks) => ticks.map((tick) => money(Math.round(tick * 100))) }],
      series: [
        { value: (_u, value) => (value == null ? '—' : new Date(value * 1000).toISOString().slice(0, 10)) },
        { label: 'Spend', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.55)', width: 1, paths: uPlot.paths.bars!({ size: [0.7, 48] }), points: { show: false }, value: (_u, value) => (value == null ? '—' : money(Math.round(value * 100))) },
      ],
    }),
    [],
  );
  const data = useMemo<uPlot.AlignedData>(() => [days.map((entry) => seconds(`${entry.day}T00:00:00Z`)), days.map((entry) => entry.costCents / 100)], [days]);
  return <Chart testId="chart-spend" options={options} data={data} />;
}
