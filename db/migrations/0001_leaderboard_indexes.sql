-- IF NOT EXISTS: an earlier draft of this migration (without the backend index) was applied to some dev databases.
CREATE INDEX IF NOT EXISTS "runs_done_finished_idx" ON "runs" USING btree ("finished_at") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "runs_done_score_idx" ON "runs" USING btree ("primary_value") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "runs_done_kv_idx" ON "runs" USING btree ("kv_bytes_per_token") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "runs_done_model_finished_idx" ON "runs" USING btree ("model","finished_at") WHERE "runs"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "runs_done_backend_idx" ON "runs" USING btree ("backend") WHERE "runs"."status" = 'succeeded';