// The agent sandbox (agent-sandbox.ts) as one run uses it: bound to the run's company (its user, as
// root), the server's data directory hidden, the company's own directory kept.
import { join, resolve } from 'node:path';
import type { AgentSpawnPlan, AgentSpawnRequest } from './agent-sandbox.ts';
import type { AgentSandbox } from './agent-sandbox-probe.ts';

/** What an adapter asks of the sandbox: the spawn it would do, and what the agent must own. */
export type RunSpawnRequest = Pick<AgentSpawnRequest, 'command' | 'args' | 'cwd' | 'env' | 'own'>;

export interface RunSandbox {
  /** The sandboxed spawn of `request`; throws AgentSandboxError when it cannot be made safely. */
  plan(request: RunSpawnRequest): AgentSpawnPlan;
}

export function runSandbox(sandbox: AgentSandbox, run: { companyId: string; companySlot: number; dataDir: string }): RunSandbox {
  const dataDir = resolve(run.dataDir);
  // agent-directory.ts's layout: <data dir>/agents/<company id>/<agent id>.
  const companyDir = join(dataDir, 'agents', run.companyId);
  return {
    plan: (request) => sandbox.plan({ ...request, companySlot: run.companySlot, hide: [dataDir], keep: [companyDir] }),
  };
}
