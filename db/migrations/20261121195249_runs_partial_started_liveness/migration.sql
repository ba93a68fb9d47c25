DROP INDEX "runs_company_agent_started_idx";--> statement-breakpoint
CREATE INDEX "runs_company_agent_started_idx" ON "heartbeat_runs" ("company_id","agent_id","started_at") WHERE "started_at" is not null;--> statement-breakpoint
DROP INDEX "runs_company_liveness_created_idx";--> statement-breakpoint
CREATE INDEX "runs_company_liveness_created_idx" ON "heartbeat_runs" ("company_id","liveness_state","created_at") WHERE "liveness_state" is not null;