ALTER TYPE "adapter_type" ADD VALUE 'claude_code';--> statement-breakpoint
ALTER TYPE "adapter_type" ADD VALUE 'codex';