CREATE TABLE "agent_task_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"adapter_type" "adapter_type" NOT NULL,
	"task_key" text NOT NULL,
	"session_params" jsonb NOT NULL,
	"session_display_id" text,
	"last_run_id" uuid,
	"last_error" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "agent_task_sessions_key_uq" ON "agent_task_sessions" ("company_id","agent_id","adapter_type","task_key");--> statement-breakpoint
CREATE INDEX "runs_agent_session_after_idx" ON "heartbeat_runs" ("agent_id","session_id_after","created_at") WHERE "session_id_after" is not null;--> statement-breakpoint
ALTER TABLE "agent_task_sessions" ADD CONSTRAINT "agent_task_sessions_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_task_sessions" ADD CONSTRAINT "agent_task_sessions_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;