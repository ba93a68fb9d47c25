DROP INDEX "run_events_run_seq_uq";--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" DROP CONSTRAINT "heartbeat_run_events_pkey";--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" ADD CONSTRAINT "run_events_pkey" PRIMARY KEY("run_id","seq");--> statement-breakpoint
ALTER TABLE "heartbeat_run_events" DROP COLUMN "id";