// What the dashboard knows of a company's runs and agents, merged from queries and live updates.
// No DOM and no network here: the session feeds it and renders what it says changed.
import type { AgentsQuery, RunQuery } from '../generated/graphql.ts';
import type { Run } from '../index.ts';

export type Agent = AgentsQuery['agents']['edges'][number]['node'];
export type RunDetail = NonNullable<RunQuery['run']>;

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

export class RunStore {
  readonly runs = new Map<string, Run>();
  readonly agents = new Map<string, Agent>();
  /** What only a query tells (result, output excerpts), for runs opened in the detail pane. */
  readonly details = new Map<string, RunDetail>();
  /** Runs known to be running, per agent: the agent's busy/idle display follows them. */
  private readonly running = new Map<string, Set<string>>();

  /**
   * Keeps a run's latest state; says what it was before and whether its agent's running set changed.
   * Answers can arrive out of order (a mutation's answer after the live update of a change made
   * right after it): a state older than the one kept (by updatedAt) changes nothing.
   */
  putRun(run: Run): { previous: Run | undefined; kept: boolean; agentRunningChanged: boolean } {
    const previous = this.runs.get(run.id);
    if (previous && Date.parse(previous.updatedAt) > Date.parse(run.updatedAt)) return { previous, kept: false, agentRunningChanged: false };
    this.runs.set(run.id, run);
    const running = this.runningOf(run.agent.id);
    const wasRunning = running.has(run.id);
    if (run.status === 'RUNNING') running.add(run.id);
    else running.delete(run.id);
    return { previous, kept: true, agentRunningChanged: wasRunning !== running.has(run.id) };
  }

  /** Replaces the agents with a freshly loaded list. */
  setAgents(agents: readonly Agent[]): void {
    this.agents.clear();
    for (const agent of agents) {
      this.agents.set(agent.id, agent);
      const active = agent.activeRun?.id;
      // The agent's word on its active run, unless a live update said otherwise.
      if (active && (this.runs.get(active)?.status ?? 'RUNNING') === 'RUNNING') this.runningOf(agent.id).add(active);
    }
  }

  /** Ids of the agent's runs known to be running. */
  runningRunIds(agentId: string): string[] {
    return [...(this.running.get(agentId) ?? [])];
  }

  /** Drops a run that is no longer shown. */
  forget(runId: string): void {
    this.runs.delete(runId);
    this.details.delete(runId);
  }

  private runningOf(agentId: string): Set<string> {
    let set = this.running.get(agentId);
    if (!set) this.running.set(agentId, (set = new Set()));
    return set;
  }
}
