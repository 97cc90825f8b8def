DROP INDEX "runs_done_finished_idx";--> statement-breakpoint
DROP INDEX "runs_done_score_idx";--> statement-breakpoint
DROP INDEX "runs_done_kv_idx";--> statement-breakpoint
CREATE INDEX "runs_done_finished_page_idx" ON "runs" USING btree ("finished_at" DESC NULLS FIRST,"id","protocol") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX "runs_done_score_page_idx" ON "runs" USING btree ("primary_value","id","protocol") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX "runs_done_kv_page_idx" ON "runs" USING btree ("kv_bytes_per_token","id","protocol") WHERE "runs"."status" = 'succeeded';