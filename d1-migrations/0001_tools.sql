CREATE TABLE `tool_calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`request_id` text NOT NULL,
	`tool_name` text NOT NULL,
	`latency_ms` integer NOT NULL,
	`ok` integer NOT NULL,
	`error_code` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tool_calls_tenant_request` ON `tool_calls` (`tenant_id`,`request_id`);--> statement-breakpoint
CREATE INDEX `tool_calls_tenant_time` ON `tool_calls` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `tool_feedback` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`request_id` text NOT NULL,
	`rating` real NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tool_feedback_tenant_request` ON `tool_feedback` (`tenant_id`,`request_id`);--> statement-breakpoint
CREATE TABLE `tool_grants` (
	`tenant_id` text NOT NULL,
	`tool_name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `tool_name`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`tool_name`) REFERENCES `tools`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tool_stats` (
	`tenant_id` text NOT NULL,
	`tool_name` text NOT NULL,
	`calls` integer DEFAULT 0 NOT NULL,
	`success_ema` real DEFAULT 1 NOT NULL,
	`latency_ema` real DEFAULT 0 NOT NULL,
	`rating_ema` real DEFAULT 0 NOT NULL,
	`ratings` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `tool_name`)
);
--> statement-breakpoint
CREATE TABLE `tools` (
	`name` text PRIMARY KEY NOT NULL,
	`transport` text NOT NULL,
	`target` text NOT NULL,
	`manifest` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`public` integer DEFAULT true NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
