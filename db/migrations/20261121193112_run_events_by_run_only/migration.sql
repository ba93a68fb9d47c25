DROP INDEX "run_events_company_run_idx";--> statement-breakpoint
DROP INDEX "run_events_company_created_idx";