CREATE TABLE "heartbeat_run_log_chunks" (
	"run_id" uuid,
	"company_id" uuid NOT NULL,
	"log_offset" bigint,
	"stream" text NOT NULL,
	"stream_offset" bigint NOT NULL,
	"bytes" integer NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "run_log_chunks_pkey" PRIMARY KEY("run_id","log_offset")
);
--> statement-breakpoint
ALTER TABLE "heartbeat_runs" ADD COLUMN "log_expired_at" timestamp(3) with time zone;--> statement-breakpoint
CREATE INDEX "run_log_chunks_stream_idx" ON "heartbeat_run_log_chunks" ("run_id","stream","stream_offset");--> statement-breakpoint
CREATE INDEX "run_log_chunks_created_brin_idx" ON "heartbeat_run_log_chunks" USING brin ("created_at");--> statement-breakpoint
ALTER TABLE "heartbeat_run_log_chunks" ADD CONSTRAINT "heartbeat_run_log_chunks_run_id_heartbeat_runs_id_fkey" FOREIGN KEY ("run_id") REFERENCES "heartbeat_runs"("id") ON DELETE CASCADE;