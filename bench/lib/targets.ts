// The bars of the performance issue, checked against a full run's medians.
import { type MetricSummary, PEERS, type Results, type Target } from './results.ts';

const fmt = (value: number | undefined, digits = 2) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));

export function checkTargets(results: Results): Target[] {
  const targets: Target[] = [];
  const metric = (scenario: string, name: string): MetricSummary | undefined => results.find(scenario, name);

  const drain = metric('throughput', 'drain (peers with their batching on)');
  for (const [peer, bar] of [['graphile-worker', 1], ['pg-boss', 2]] as const) {
    const ratio = drain?.ratio[peer];
    targets.push({
      name: `throughput vs ${peer}`,
      bar: `>= ${bar}x`,
      measured:
        `${fmt(ratio)}x (${fmt(drain?.median.heartbeat, 0)} vs ${fmt(drain?.median[peer], 0)} jobs/s); ` +
        `Heartbeat's rows in bare SQL, no engine: ${fmt(drain?.median['bare-sql'], 0)} jobs/s`,
      met: ratio !== undefined && ratio >= bar,
    });
  }

  // The peers doing the same work: Heartbeat's drain against each peer whose handler writes the rows
  // Heartbeat keeps for a run, set-based (throughput.ts, lib/bookkeeping-peers.ts).
  const keeping = metric('throughput', "drain, peers writing Heartbeat's rows in their handler, set-based (batching on)");
  for (const peer of PEERS) {
    const own = drain?.median.heartbeat;
    const theirs = keeping?.median[peer];
    const ratio = own !== undefined && theirs ? own / theirs : undefined;
    targets.push({
      name: `throughput vs ${peer} writing Heartbeat's rows in its handler`,
      bar: '>= 1x',
      measured: `${fmt(ratio)}x (${fmt(own, 0)} vs ${fmt(theirs, 0)} jobs/s)`,
      met: ratio !== undefined && ratio >= 1,
    });
  }

  // Runs on issues against runs without, measured in the same rounds at the same size (issue-throughput.ts).
  const withIssues = metric('issue-throughput', 'drain, each run on its own issue');
  const withoutIssues = metric('issue-throughput', 'drain, runs without an issue (same rounds, same size)')?.median.heartbeat;
  const issueShare = withIssues?.median.heartbeat !== undefined && withoutIssues ? withIssues.median.heartbeat / withoutIssues : undefined;
  targets.push({
    name: 'drain with issues vs the drain without issues',
    bar: '>= 0.5x',
    measured:
      `${fmt(issueShare)}x (${fmt(withIssues?.median.heartbeat, 0)} vs ${fmt(withoutIssues, 0)} jobs/s); ` +
      `its rows in bare SQL, no engine: ${fmt(withIssues?.median['bare-sql'], 0)} jobs/s (${fmt(withIssues?.ratio['bare-sql'])}x of them)`,
    met: issueShare !== undefined && issueShare >= 0.5,
  });

  // Waking on issues through the API as fast as waking plainly (api-wakes.ts): the slowest issue way.
  const issueWays = ['createIssue with an assignee', 'assignIssue', 'addIssueComment by a person'].map((way) => ({
    way,
    ratio: metric('api-wakes', `${way}: end-to-end rate / enqueueWakeup's`)?.median.heartbeat,
  }));
  const slowest = issueWays.reduce((a, b) => ((b.ratio ?? -1) < (a.ratio ?? -1) ? b : a));
  targets.push({
    name: 'issue wakes through the API vs enqueueWakeup, end to end',
    bar: '>= 0.5x each',
    measured: issueWays.map(({ way, ratio }) => `${way} ${fmt(ratio)}x`).join(', ') + ` (slowest: ${slowest.way})`,
    met: issueWays.every(({ ratio }) => ratio !== undefined && ratio >= 0.5),
  });

  const started = metric('latency', 'enqueue -> started p50')?.median.heartbeat;
  targets.push({ name: 'enqueue -> run started p50', bar: '<= 5 ms', measured: `${fmt(started)} ms`, met: started !== undefined && started <= 5 });

  const held = metric('subscriptions', '10,000 subscribers: held')?.median.heartbeat;
  const p99 = metric('subscriptions', '10,000 subscribers @ 5 wakeups/s (200 messages/s): event -> client p99')?.median.heartbeat;
  targets.push({
    name: '10,000 subscribers, event -> client p99 (at 200 messages/s)',
    bar: 'all held, <= 50 ms',
    measured: `${fmt(held, 0)} held, p99 ${fmt(p99, 1)} ms`,
    met: held !== undefined && held >= 10_000 && p99 !== undefined && p99 <= 50,
  });

  const p99At800 = metric('subscriptions', '10,000 subscribers @ 20 wakeups/s (800 messages/s): event -> client p99')?.median.heartbeat;
  targets.push({
    name: '10,000 subscribers, event -> client p99 (at 800 messages/s)',
    bar: 'all held, <= 50 ms',
    measured: `${fmt(held, 0)} held, p99 ${fmt(p99At800, 1)} ms`,
    met: held !== undefined && held >= 10_000 && p99At800 !== undefined && p99At800 <= 50,
  });

  // Agent output at scale (agent-output.ts): 100 runs x 50 JSON lines/s, 10 runEvents subscribers each.
  const output = (name: string) => metric('agent-output', `1x: 100 runs x 50 lines/s, 1,000 subscribers: ${name}`)?.median.heartbeat;
  const outputP99 = output('line -> subscriber p99');
  const stored = output('lines stored / printed');
  const delivered = output('lines delivered / expected');
  targets.push({
    name: 'agent output at scale: line -> subscriber p99 (100 runs x 50 lines/s, 1,000 runEvents subscribers)',
    bar: '<= 100 ms, none lost',
    measured: `p99 ${fmt(outputP99, 0)} ms; stored ${fmt(stored, 3)}%, delivered ${fmt(delivered, 3)}%`,
    met: outputP99 !== undefined && outputP99 <= 100 && stored === 100 && delivered === 100,
  });

  const percent = (ratio: number | undefined) => fmt(ratio === undefined ? undefined : ratio * 100, 0);
  const queries = metric('queries', 'runs(first: 20): throughput');
  const executed = metric('queries', 'runs(first: 20), executed every time (response cache off): throughput');
  const share = queries?.ratio['bare-yoga'];
  targets.push({
    name: 'runs(first: 20) vs bare graphql-yoga',
    bar: '>= 50% of the ceiling',
    measured:
      `${percent(share)}% (${fmt(queries?.median.heartbeat, 0)} vs ${fmt(queries?.median['bare-yoga'], 0)} req/s); ` +
      `executed every time: ${percent(executed?.ratio['bare-yoga'])}% (${fmt(executed?.median.heartbeat, 0)} req/s)`,
    met: share !== undefined && share >= 0.5,
  });

  // What each capability a run can use costs, next to the drain (feature-costs.ts): shown, no bar.
  const capabilities = ['a session', 'usage (cost ledger)', 'five log lines', 'tracing on', 'everything (session, usage, logs)'].map((name) => ({
    name,
    ratio: metric('feature-costs', `drain, ${name}: rate / plain drain's`)?.median.heartbeat,
  }));
  targets.push({
    name: 'cost of each capability, as the drain rate of runs that use it / the plain drain',
    bar: 'each shown',
    measured: capabilities.map(({ name, ratio }) => `${name} ${fmt(ratio)}x`).join(', '),
    met: capabilities.every(({ ratio }) => ratio !== undefined),
  });
  return targets;
}
