CREATE TABLE "benchmarks" (
	"name" text PRIMARY KEY NOT NULL,
	"protocol" text NOT NULL,
	"format" text,
	"data_hash" text,
	"items" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "layer_stats" (
	"run_id" text NOT NULL,
	"layer" integer NOT NULL,
	"tensor" text NOT NULL,
	"metric" text NOT NULL,
	"value" double precision NOT NULL,
	CONSTRAINT "layer_stats_run_id_layer_tensor_metric_pk" PRIMARY KEY("run_id","layer","tensor","metric")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"family" text,
	"architecture" text,
	"layers" integer,
	"kv_heads" integer,
	"head_dim" integer,
	"params" double precision,
	"weights_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_metrics" (
	"run_id" text NOT NULL,
	"name" text NOT NULL,
	"value" double precision NOT NULL,
	"stderr" double precision,
	CONSTRAINT "run_metrics_run_id_name_pk" PRIMARY KEY("run_id","name")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"config" jsonb NOT NULL,
	"model" text NOT NULL,
	"benchmark" text NOT NULL,
	"protocol" text NOT NULL,
	"key_bits" integer NOT NULL,
	"value_bits" integer NOT NULL,
	"backend" text,
	"key_group_size" integer,
	"value_group_size" integer,
	"key_axis" text,
	"value_axis" text,
	"residual_length" integer,
	"limit" integer NOT NULL,
	"provider" text NOT NULL,
	"device_class" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"error" text,
	"error_kind" text,
	"worker_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"queued_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"items_done" integer,
	"items_total" integer,
	"tokens_done" bigint,
	"tokens_per_second" double precision,
	"eta_seconds" double precision,
	"provider_used" text,
	"device" text,
	"versions" jsonb,
	"model_architecture" text,
	"weights_hash" text,
	"data_hash" text,
	"benchmark_items" integer,
	"primary_metric" text,
	"primary_value" double precision,
	"primary_stderr" double precision,
	"kv_bytes_per_token" double precision,
	"fp16_bytes_per_token" double precision,
	"ratio_to_fp16" double precision,
	"peak_rss_bytes" bigint,
	"wall_seconds" double precision,
	"non_finite" integer
);
--> statement-breakpoint
CREATE TABLE "samples" (
	"run_id" text NOT NULL,
	"index" integer NOT NULL,
	"prompt" text NOT NULL,
	"output" text,
	"reference" text,
	"correct" boolean,
	"nll" double precision,
	CONSTRAINT "samples_run_id_index_pk" PRIMARY KEY("run_id","index")
);
--> statement-breakpoint
CREATE TABLE "sweep_runs" (
	"sweep_id" text NOT NULL,
	"run_id" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "sweep_runs_sweep_id_run_id_pk" PRIMARY KEY("sweep_id","run_id")
);
--> statement-breakpoint
CREATE TABLE "sweeps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text,
	"spec" jsonb NOT NULL,
	"spec_hash" text NOT NULL,
	"cell_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sweeps_spec_hash_unique" UNIQUE("spec_hash")
);
--> statement-breakpoint
ALTER TABLE "layer_stats" ADD CONSTRAINT "layer_stats_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_metrics" ADD CONSTRAINT "run_metrics_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "samples" ADD CONSTRAINT "samples_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweep_runs" ADD CONSTRAINT "sweep_runs_sweep_id_sweeps_id_fk" FOREIGN KEY ("sweep_id") REFERENCES "public"."sweeps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweep_runs" ADD CONSTRAINT "sweep_runs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "runs_hash_unique" ON "runs" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "runs_status_idx" ON "runs" USING btree ("status");--> statement-breakpoint
CREATE INDEX "runs_board_idx" ON "runs" USING btree ("model","benchmark","key_bits","value_bits");--> statement-breakpoint
CREATE INDEX "runs_created_idx" ON "runs" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "sweep_runs_run_idx" ON "sweep_runs" USING btree ("run_id");