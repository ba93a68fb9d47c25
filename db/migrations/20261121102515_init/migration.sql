CREATE TYPE "actor_type" AS ENUM('user', 'agent', 'system');--> statement-breakpoint
CREATE TYPE "adapter_type" AS ENUM('process', 'http', 'script');--> statement-breakpoint
CREATE TYPE "agent_status" AS ENUM('active', 'idle', 'running', 'error', 'paused', 'terminated', 'pending_approval');--> statement-breakpoint
CREATE TYPE "api_key_role" AS ENUM('admin', 'operator', 'viewer');--> statement-breakpoint
CREATE TYPE "issue_comment_status" AS ENUM('not_applicable', 'satisfied', 'retry_queued', 'retry_exhausted');--> statement-breakpoint
CREATE TYPE "issue_priority" AS ENUM('critical', 'high', 'medium', 'low');--> statement-breakpoint
CREATE TYPE "issue_status" AS ENUM('backlog', 'todo', 'in_progress', 'in_review', 'blocked', 'done', 'cancelled');--> statement-breakpoint
CREATE TYPE "liveness_state" AS ENUM('completed', 'advanced', 'plan_only', 'empty_response', 'blocked', 'failed', 'needs_followup');--> statement-breakpoint
CREATE TYPE "run_status" AS ENUM('queued', 'scheduled_retry', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out');--> statement-breakpoint
CREATE TYPE "trigger_detail" AS ENUM('manual', 'ping', 'callback', 'system');--> statement-breakpoint
CREATE TYPE "wakeup_source" AS ENUM('timer', 'assignment', 'on_demand', 'automation');--> statement-breakpoint
CREATE TYPE "wakeup_status" AS ENUM('queued', 'deferred_issue_execution', 'claimed', 'coalesced', 'skipped', 'completed', 'failed', 'cancelled', 'timed_out');--> statement-breakpoint
CREATE TABLE "companies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL,
	"issue_prefix" text DEFAULT 'HB' NOT NULL,
	"issue_counter" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" "api_key_role" DEFAULT 'admin'::"api_key_role" NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp(3) with time zone,
	"revoked_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE TABLE "agent_runtime_state" (
	"agent_id" uuid PRIMARY KEY,
	"company_id" uuid NOT NULL,
	"adapter_type" "adapter_type",
	"session_id" text,
	"last_run_id" uuid,
	"last_run_status" "run_status",
	"last_error" text,
	"total_input_tokens" bigint DEFAULT 0 NOT NULL,
	"total_output_tokens" bigint DEFAULT 0 NOT NULL,
	"total_cached_input_tokens" bigint DEFAULT 0 NOT NULL,
	"total_cost_cents" bigint DEFAULT 0 NOT NULL,
	"total_runs" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" text DEFAULT 'general' NOT NULL,
	"status" "agent_status" DEFAULT 'idle'::"agent_status" NOT NULL,
	"adapter_type" "adapter_type" NOT NULL,
	"adapter_config" jsonb DEFAULT '{}' NOT NULL,
	"runtime_config" jsonb DEFAULT '{}' NOT NULL,
	"last_heartbeat_at" timestamp(3) with time zone,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_wakeup_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"source" "wakeup_source" NOT NULL,
	"trigger_detail" "trigger_detail",
	"reason" text,
	"payload" jsonb,
	"status" "wakeup_status" DEFAULT 'queued'::"wakeup_status" NOT NULL,
	"coalesced_count" integer DEFAULT 0 NOT NULL,
	"requested_by_actor_type" "actor_type",
	"requested_by_actor_id" text,
	"idempotency_key" text,
	"run_id" uuid,
	"requested_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp(3) with time zone,
	"finished_at" timestamp(3) with time zone,
	"error" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "heartbeat_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"issue_id" uuid,
	"invocation_source" "wakeup_source" DEFAULT 'on_demand'::"wakeup_source" NOT NULL,
	"trigger_detail" "trigger_detail",
	"status" "run_status" DEFAULT 'queued'::"run_status" NOT NULL,
	"started_at" timestamp(3) with time zone,
	"finished_at" timestamp(3) with time zone,
	"error" text,
	"error_code" text,
	"wakeup_request_id" uuid,
	"exit_code" integer,
	"signal" text,
	"usage_json" jsonb,
	"result_json" jsonb,
	"context_snapshot" jsonb DEFAULT '{}' NOT NULL,
	"session_id_before" text,
	"session_id_after" text,
	"log_store" text,
	"log_ref" text,
	"log_sha256" text,
	"log_bytes" bigint,
	"log_compressed" boolean DEFAULT false NOT NULL,
	"stdout_excerpt" text,
	"stderr_excerpt" text,
	"external_run_id" text,
	"process_pid" integer,
	"process_group_id" integer,
	"process_started_at" timestamp(3) with time zone,
	"last_output_at" timestamp(3) with time zone,
	"last_output_seq" integer DEFAULT 0 NOT NULL,
	"last_output_stream" text,
	"last_output_bytes" bigint,
	"retry_of_run_id" uuid,
	"process_loss_retry_count" integer DEFAULT 0 NOT NULL,
	"scheduled_retry_at" timestamp(3) with time zone,
	"scheduled_retry_attempt" integer DEFAULT 0 NOT NULL,
	"scheduled_retry_reason" text,
	"issue_comment_status" "issue_comment_status" DEFAULT 'not_applicable'::"issue_comment_status" NOT NULL,
	"issue_comment_satisfied_by_comment_id" uuid,
	"issue_comment_retry_queued_at" timestamp(3) with time zone,
	"liveness_state" "liveness_state",
	"liveness_reason" text,
	"next_action" text,
	"continuation_attempt" integer DEFAULT 0 NOT NULL,
	"last_useful_action_at" timestamp(3) with time zone,
	"owner_instance_id" uuid,
	"owner_host" text,
	"last_event_seq" integer DEFAULT 0 NOT NULL,
	"run_token_hash" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "heartbeat_run_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "heartbeat_run_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"company_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"event_type" text NOT NULL,
	"stream" text,
	"level" text,
	"color" text,
	"message" text,
	"payload" jsonb,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "issue_comments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"issue_id" uuid NOT NULL,
	"body" text NOT NULL,
	"author_agent_id" uuid,
	"author_user_id" text,
	"created_by_run_id" uuid,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "issue_document_revisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"document_id" uuid NOT NULL,
	"issue_id" uuid NOT NULL,
	"key" text NOT NULL,
	"revision" integer NOT NULL,
	"body" text NOT NULL,
	"created_by_run_id" uuid,
	"created_by_agent_id" uuid,
	"created_by_user_id" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "issue_documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"issue_id" uuid NOT NULL,
	"key" text NOT NULL,
	"body" text NOT NULL,
	"revision_count" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "issue_relations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"issue_id" uuid NOT NULL,
	"related_issue_id" uuid NOT NULL,
	"type" text DEFAULT 'blocks' NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "issue_relations_not_self" CHECK ("issue_id" <> "related_issue_id")
);
--> statement-breakpoint
CREATE TABLE "issues" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"identifier" text NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"status" "issue_status" DEFAULT 'todo'::"issue_status" NOT NULL,
	"priority" "issue_priority" DEFAULT 'medium'::"issue_priority" NOT NULL,
	"assignee_agent_id" uuid,
	"assignee_user_id" text,
	"checkout_run_id" uuid,
	"execution_run_id" uuid,
	"execution_agent_name_key" text,
	"execution_locked_at" timestamp(3) with time zone,
	"execution_state" jsonb,
	"origin_kind" text DEFAULT 'manual' NOT NULL,
	"project_id" uuid,
	"hidden_at" timestamp(3) with time zone,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "issues_single_assignee" CHECK ("assignee_agent_id" is null or "assignee_user_id" is null)
);
--> statement-breakpoint
CREATE TABLE "activity_log" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"actor_type" "actor_type" NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" uuid,
	"run_id" uuid,
	"agent_id" uuid,
	"details" jsonb,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_instances" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"version" text,
	"started_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"lease_expires_at" timestamp(3) with time zone NOT NULL,
	"stopped_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_uq" ON "api_keys" ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_company_idx" ON "api_keys" ("company_id");--> statement-breakpoint
CREATE INDEX "agents_company_idx" ON "agents" ("company_id","created_at");--> statement-breakpoint
CREATE INDEX "wakeups_company_agent_status_idx" ON "agent_wakeup_requests" ("company_id","agent_id","status");--> statement-breakpoint
CREATE INDEX "wakeups_company_requested_idx" ON "agent_wakeup_requests" ("company_id","requested_at");--> statement-breakpoint
CREATE INDEX "wakeups_agent_requested_idx" ON "agent_wakeup_requests" ("agent_id","requested_at");--> statement-breakpoint
CREATE INDEX "wakeups_payload_issue_idx" ON "agent_wakeup_requests" (("payload"->>'issueId'));--> statement-breakpoint
CREATE INDEX "wakeups_run_idx" ON "agent_wakeup_requests" ("run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "wakeups_idempotency_uq" ON "agent_wakeup_requests" ("company_id","agent_id","idempotency_key") WHERE "idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "runs_company_agent_started_idx" ON "heartbeat_runs" ("company_id","agent_id","started_at");--> statement-breakpoint
CREATE INDEX "runs_company_liveness_created_idx" ON "heartbeat_runs" ("company_id","liveness_state","created_at");--> statement-breakpoint
CREATE INDEX "runs_company_status_output_idx" ON "heartbeat_runs" ("company_id","status","last_output_at");--> statement-breakpoint
CREATE INDEX "runs_status_retry_due_idx" ON "heartbeat_runs" ("status","scheduled_retry_at");--> statement-breakpoint
CREATE INDEX "runs_agent_status_idx" ON "heartbeat_runs" ("agent_id","status");--> statement-breakpoint
CREATE INDEX "runs_company_created_idx" ON "heartbeat_runs" ("company_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_issue_created_idx" ON "heartbeat_runs" ("issue_id","created_at");--> statement-breakpoint
CREATE INDEX "runs_ctx_issue_idx" ON "heartbeat_runs" (("context_snapshot"->>'issueId'));--> statement-breakpoint
CREATE INDEX "runs_retry_of_idx" ON "heartbeat_runs" ("retry_of_run_id");--> statement-breakpoint
CREATE INDEX "runs_owner_status_idx" ON "heartbeat_runs" ("owner_instance_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "run_events_run_seq_uq" ON "heartbeat_run_events" ("run_id","seq");--> statement-breakpoint
CREATE INDEX "run_events_company_run_idx" ON "heartbeat_run_events" ("company_id","run_id");--> statement-breakpoint
CREATE INDEX "run_events_company_created_idx" ON "heartbeat_run_events" ("company_id","created_at");--> statement-breakpoint
CREATE INDEX "issue_comments_issue_created_idx" ON "issue_comments" ("issue_id","created_at");--> statement-breakpoint
CREATE INDEX "issue_comments_run_idx" ON "issue_comments" ("created_by_run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "issue_document_revisions_doc_rev_uq" ON "issue_document_revisions" ("document_id","revision");--> statement-breakpoint
CREATE INDEX "issue_document_revisions_run_idx" ON "issue_document_revisions" ("created_by_run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "issue_documents_issue_key_uq" ON "issue_documents" ("issue_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "issue_relations_uq" ON "issue_relations" ("issue_id","related_issue_id","type");--> statement-breakpoint
CREATE INDEX "issue_relations_related_idx" ON "issue_relations" ("related_issue_id","type");--> statement-breakpoint
CREATE UNIQUE INDEX "issues_company_identifier_uq" ON "issues" ("company_id","identifier");--> statement-breakpoint
CREATE INDEX "issues_company_status_idx" ON "issues" ("company_id","status");--> statement-breakpoint
CREATE INDEX "issues_assignee_agent_idx" ON "issues" ("assignee_agent_id");--> statement-breakpoint
CREATE INDEX "issues_execution_run_idx" ON "issues" ("execution_run_id");--> statement-breakpoint
CREATE INDEX "activity_run_idx" ON "activity_log" ("run_id");--> statement-breakpoint
CREATE INDEX "activity_entity_idx" ON "activity_log" ("company_id","entity_type","entity_id");--> statement-breakpoint
CREATE INDEX "engine_instances_lease_idx" ON "engine_instances" ("lease_expires_at");--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_runtime_state" ADD CONSTRAINT "agent_runtime_state_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_runtime_state" ADD CONSTRAINT "agent_runtime_state_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_wakeup_requests" ADD CONSTRAINT "agent_wakeup_requests_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_wakeup_requests" ADD CONSTRAINT "agent_wakeup_requests_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD CONSTRAINT "heartbeat_runs_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD CONSTRAINT "heartbeat_runs_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD CONSTRAINT "heartbeat_runs_issue_id_issues_id_fkey" FOREIGN KEY ("issue_id") REFERENCES "issues"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD CONSTRAINT "heartbeat_runs_retry_of_run_id_heartbeat_runs_id_fkey" FOREIGN KEY ("retry_of_run_id") REFERENCES "heartbeat_runs"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" ADD CONSTRAINT "heartbeat_run_events_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" ADD CONSTRAINT "heartbeat_run_events_run_id_heartbeat_runs_id_fkey" FOREIGN KEY ("run_id") REFERENCES "heartbeat_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" ADD CONSTRAINT "heartbeat_run_events_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_comments" ADD CONSTRAINT "issue_comments_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_comments" ADD CONSTRAINT "issue_comments_issue_id_issues_id_fkey" FOREIGN KEY ("issue_id") REFERENCES "issues"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_comments" ADD CONSTRAINT "issue_comments_author_agent_id_agents_id_fkey" FOREIGN KEY ("author_agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "issue_document_revisions" ADD CONSTRAINT "issue_document_revisions_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_document_revisions" ADD CONSTRAINT "issue_document_revisions_document_id_issue_documents_id_fkey" FOREIGN KEY ("document_id") REFERENCES "issue_documents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_document_revisions" ADD CONSTRAINT "issue_document_revisions_issue_id_issues_id_fkey" FOREIGN KEY ("issue_id") REFERENCES "issues"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_documents" ADD CONSTRAINT "issue_documents_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_documents" ADD CONSTRAINT "issue_documents_issue_id_issues_id_fkey" FOREIGN KEY ("issue_id") REFERENCES "issues"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_relations" ADD CONSTRAINT "issue_relations_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_relations" ADD CONSTRAINT "issue_relations_issue_id_issues_id_fkey" FOREIGN KEY ("issue_id") REFERENCES "issues"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issue_relations" ADD CONSTRAINT "issue_relations_related_issue_id_issues_id_fkey" FOREIGN KEY ("related_issue_id") REFERENCES "issues"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issues" ADD CONSTRAINT "issues_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "issues" ADD CONSTRAINT "issues_assignee_agent_id_agents_id_fkey" FOREIGN KEY ("assignee_agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "activity_log" ADD CONSTRAINT "activity_log_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;