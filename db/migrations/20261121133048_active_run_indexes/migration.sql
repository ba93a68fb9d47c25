DROP INDEX "runs_status_retry_due_idx";--> statement-breakpoint
CREATE INDEX "runs_status_retry_due_idx" ON "heartbeat_runs" ("status","scheduled_retry_at") WHERE "status" = 'scheduled_retry';--> statement-breakpoint
DROP INDEX "runs_agent_status_idx";--> statement-breakpoint
CREATE INDEX "runs_agent_status_idx" ON "heartbeat_runs" ("agent_id","status") WHERE "status" in ('queued', 'running', 'scheduled_retry');--> statement-breakpoint
DROP INDEX "runs_issue_created_idx";--> statement-breakpoint
CREATE INDEX "runs_issue_created_idx" ON "heartbeat_runs" ("issue_id","created_at") WHERE "issue_id" is not null;--> statement-breakpoint
DROP INDEX "runs_ctx_issue_idx";--> statement-breakpoint
CREATE INDEX "runs_ctx_issue_idx" ON "heartbeat_runs" (("context_snapshot"->>'issueId')) WHERE ("context_snapshot"->>'issueId') is not null;--> statement-breakpoint
DROP INDEX "runs_retry_of_idx";--> statement-breakpoint
CREATE INDEX "runs_retry_of_idx" ON "heartbeat_runs" ("retry_of_run_id") WHERE "retry_of_run_id" is not null;--> statement-breakpoint
DROP INDEX "runs_owner_status_idx";--> statement-breakpoint
CREATE INDEX "runs_owner_status_idx" ON "heartbeat_runs" ("owner_instance_id","status") WHERE "status" = 'running';--> statement-breakpoint
CREATE INDEX "runs_agent_queued_issue_idx" ON "heartbeat_runs" ("agent_id") WHERE "status" = 'queued' and "issue_id" is not null;--> statement-breakpoint
CREATE INDEX "runs_agent_queued_plain_idx" ON "heartbeat_runs" ("agent_id","created_at","id") WHERE "status" = 'queued' and "issue_id" is null;