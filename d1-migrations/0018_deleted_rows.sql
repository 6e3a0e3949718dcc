CREATE TABLE `deleted_rows` (
	`table_name` text NOT NULL,
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`created_at` integer NOT NULL,
	`deleted_at` integer NOT NULL,
	PRIMARY KEY(`table_name`, `tenant_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `deleted_rows_deleted` ON `deleted_rows` (`deleted_at`);