CREATE TYPE "billing_type" AS ENUM('metered_api', 'subscription_included', 'subscription_overage', 'credits', 'fixed', 'unknown');--> statement-breakpoint
CREATE TYPE "budget_period" AS ENUM('month', 'all_time');--> statement-breakpoint
CREATE TYPE "budget_scope" AS ENUM('company', 'agent', 'project');--> statement-breakpoint
CREATE TABLE "budgets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"scope" "budget_scope" NOT NULL,
	"scope_id" uuid NOT NULL,
	"period" "budget_period" NOT NULL,
	"limit_cents" bigint NOT NULL,
	"warn_percent" integer DEFAULT 80 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budgets_limit_nonnegative" CHECK ("limit_cents" >= 0),
	CONSTRAINT "budgets_warn_percent" CHECK ("warn_percent" between 1 and 100)
);
--> statement-breakpoint
CREATE TABLE "cost_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"issue_id" uuid,
	"project_id" uuid,
	"provider" text,
	"biller" text NOT NULL,
	"billing_type" "billing_type" NOT NULL,
	"model" text,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"cached_input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision,
	"cost_cents" bigint DEFAULT 0 NOT NULL,
	"occurred_at" timestamp(3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"company_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "budgets_scope_period_uq" ON "budgets" ("company_id","scope","scope_id","period");--> statement-breakpoint
CREATE UNIQUE INDEX "cost_events_run_uq" ON "cost_events" ("run_id");--> statement-breakpoint
CREATE INDEX "cost_events_company_occurred_idx" ON "cost_events" ("company_id","occurred_at");--> statement-breakpoint
CREATE INDEX "cost_events_agent_occurred_idx" ON "cost_events" ("agent_id","occurred_at");--> statement-breakpoint
CREATE INDEX "cost_events_issue_idx" ON "cost_events" ("issue_id") WHERE "issue_id" is not null;--> statement-breakpoint
CREATE INDEX "cost_events_project_occurred_idx" ON "cost_events" ("project_id","occurred_at") WHERE "project_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "projects_company_name_uq" ON "projects" ("company_id","name");--> statement-breakpoint
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "cost_events" ADD CONSTRAINT "cost_events_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "cost_events" ADD CONSTRAINT "cost_events_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_company_id_companies_id_fkey" FOREIGN KEY ("company_id") REFERENCES "companies"("id") ON DELETE CASCADE;