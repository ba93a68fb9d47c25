// Whether an issue may run: all its blockers are resolved (done or cancelled, Decisions 6).

export const RESOLVED_ISSUE_STATUSES = ['done', 'cancelled'] as const;

export interface UnresolvedBlocker {
  id: string;
  identifier: string;
  title: string;
  status: string;
}

export interface IssueReadiness {
  isDependencyReady: boolean;
  unresolvedBlockerIssueIds: string[];
  unresolvedBlockerCount: number;
  unresolvedBlockers: UnresolvedBlocker[];
}
