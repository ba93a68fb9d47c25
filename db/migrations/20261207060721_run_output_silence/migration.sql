ALTER TABLE "heartbeat_runs" ADD COLUMN "output_silence_level" text;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD COLUMN "output_silence_snoozed_until" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD COLUMN "output_silence_dismissed_at" timestamp(3) with time zone;--> statement-breakpoint
CREATE INDEX "runs_running_silence_idx" ON "heartbeat_runs" ((coalesce("last_output_at", "started_at", "created_at"))) WHERE "status" = 'running';--> statement-breakpoint
CREATE INDEX "runs_running_silence_flagged_idx" ON "heartbeat_runs" ("id") WHERE "status" = 'running' and "output_silence_level" is not null;--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD CONSTRAINT "runs_output_silence_level" CHECK ("output_silence_level" in ('suspicious', 'critical', 'snoozed'));