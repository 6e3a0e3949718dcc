CREATE TABLE `batch_parts` (
	`batch_id` text NOT NULL,
	`idx` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`start_byte` integer NOT NULL,
	`end_byte` integer NOT NULL,
	`first_line` integer NOT NULL,
	`requests` integer NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`completed` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`output_bytes` integer DEFAULT 0 NOT NULL,
	`error_bytes` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`batch_id`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`task_id` text NOT NULL,
	`key_id` text NOT NULL,
	`limits` text NOT NULL,
	`input_file_id` text NOT NULL,
	`endpoint` text NOT NULL,
	`completion_window` text NOT NULL,
	`status` text DEFAULT 'validating' NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`completed` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`parts_total` integer DEFAULT 0 NOT NULL,
	`parts_done` integer DEFAULT 0 NOT NULL,
	`output_file_id` text,
	`error_file_id` text,
	`errors` text,
	`metadata` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`in_progress_at` integer,
	`finalizing_at` integer,
	`completed_at` integer,
	`failed_at` integer,
	`cancelling_at` integer,
	`cancelled_at` integer,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `batches_tenant_created` ON `batches` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`filename` text NOT NULL,
	`purpose` text NOT NULL,
	`bytes` integer NOT NULL,
	`content_type` text,
	`r2_key` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `files_tenant_created` ON `files` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`params` text NOT NULL,
	`input_ref` text,
	`result_ref` text,
	`summary` text,
	`error` text,
	`session_id` text,
	`request_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`started_at` integer,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `tasks_tenant_created` ON `tasks` (`tenant_id`,`created_at`);