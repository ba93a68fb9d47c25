// The follow-up steps the engine runs after a run that needs them (§6.4 steps 7-8): finalize.ts's
// core steps with the recovery ones plugged in (bounded retry, comment policy, issue release with
// immediate recovery, liveness continuation).
import { scheduleBoundedRetry } from './bounded-retry.ts';
import { applyIssueCommentPolicy } from './comment-policy.ts';
import { enqueueLivenessContinuation } from './continuation.ts';
import type { EngineDeps } from './deps.ts';
import { coreFinalizeSteps, type FinalizeSteps } from './finalize.ts';
import type { Wake } from './issues.ts';
import { immediateRecovery } from './issue-recovery.ts';
import { releaseIssueExecutionAndPromote } from './release.ts';
import { transientContract } from './retry-rules.ts';

/** Closes over nothing that changes per run: an engine builds it once. */
export function engineFinalizeSteps(deps: EngineDeps, wake: Wake): FinalizeSteps {
  return {
    ...coreFinalizeSteps(deps),
    scheduleTransientRetry: async (run) => {
      if (run.status === 'failed' && transientContract(run)) await scheduleBoundedRetry(deps, run.id);
    },
    applyIssueCommentPolicy: (run) => applyIssueCommentPolicy(deps, run),
    releaseIssueExecution: async (run) => (await releaseIssueExecutionAndPromote(deps, run, { immediateRecovery })).promoted,
    enqueueLivenessContinuation: (run) => enqueueLivenessContinuation(deps, wake, run),
  };
}
