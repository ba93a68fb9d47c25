DROP INDEX "wakeups_run_idx";--> statement-breakpoint
DROP INDEX "wakeups_payload_issue_idx";--> statement-breakpoint
CREATE INDEX "wakeups_payload_issue_idx" ON "agent_wakeup_requests" (("payload"->>'issueId')) WHERE ("payload"->>'issueId') is not null;